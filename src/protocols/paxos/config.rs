//! Paxos settings: one validated [`PaxosConfig`] per run, the `[protocol]`
//! table of a scenario (`name = "paxos"`) or flags (`agentsim run paxos --help`).
//!
//! **Roles.** Acceptors are nodes `0..acceptors`, proposers nodes
//! `0..proposers`, learners nodes `0..learners` and every proposer (a proposer
//! learns what was chosen, to know when its proposal is done); 0 means every
//! node. With the defaults every node plays every role.

use crate::time::{Dur, DurRange};
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// Most commands one slot may carry (`batch_max`).
pub const BATCH_MAX: u32 = 4096;
/// Most slots a leader may have open at once (`window`).
pub const WINDOW_MAX: u32 = 1_000_000;

/// Which Paxos.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Single-decree Paxos (*Paxos Made Simple* §2): every slot is its own
    /// instance; a proposer runs both phases for it. Without commands, the
    /// proposers each propose their own value for slot 0.
    #[default]
    Single,
    /// Multi-Paxos: a leader elected through ballots and kept by heartbeats
    /// runs phase 1 once for every open slot, then phase 2 per slot.
    Multi,
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "single" => Ok(Mode::Single),
            "multi" => Ok(Mode::Multi),
            _ => Err(format!(
                "paxos.mode '{s}' unknown (accepted: single, multi)"
            )),
        }
    }
}

/// Deliberately broken behaviours, to see the checkers catch them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PaxosVariant {
    /// The protocol as the paper states it.
    #[default]
    Correct,
    /// An acceptor answers a Prepare without persisting its promise: after a
    /// crash it has forgotten it.
    ForgetPromise,
    /// A proposer proposes its own value even when a Promise reported an
    /// accepted one (breaks §2.2's phase-2 rule).
    IgnoreAccepted,
    /// An acceptor accepts a proposal below the ballot it promised.
    AcceptBelowPromise,
}

impl PaxosVariant {
    /// Every variant with its name.
    pub const ALL: [(&'static str, PaxosVariant); 4] = [
        ("correct", PaxosVariant::Correct),
        ("forget-promise", PaxosVariant::ForgetPromise),
        ("ignore-accepted", PaxosVariant::IgnoreAccepted),
        ("accept-below-promise", PaxosVariant::AcceptBelowPromise),
    ];
}

impl FromStr for PaxosVariant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                format!(
                    "paxos variant '{s}' unknown (accepted: correct, forget-promise, ignore-accepted, accept-below-promise)"
                )
            })
    }
}

/// Paxos settings.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PaxosConfig {
    /// Single-decree or Multi-Paxos.
    pub mode: Mode,
    /// Proposers are nodes `0..proposers` (0: every node).
    pub proposers: u32,
    /// Acceptors are nodes `0..acceptors` (0: every node).
    pub acceptors: u32,
    /// Learners are nodes `0..learners` and every proposer (0: every node).
    pub learners: u32,
    /// Single: each proposer proposes its own value for slot 0 at start
    /// (the single decree); client commands go to the following slots.
    pub own_value: bool,
    /// Single: when each proposer starts its first attempt, drawn per proposer.
    pub start: DurRange,
    /// Single: a proposer that has not seen its slot chosen this long after
    /// starting an attempt gives the attempt up (then backs off and retries).
    pub retry_timeout: Dur,
    /// Single: the wait before a preempted or timed-out proposer retries with
    /// a higher ballot, drawn uniformly from this range (`0ms..0ms`: at once).
    pub backoff: DurRange,
    /// Acceptors tell a proposer it was preempted (NACKs): in answer to a
    /// Prepare or Accept below their promise, and to the proposer of the
    /// ballot a higher promise displaces.
    pub nacks: bool,
    /// Multi: a proposer that hears no leader this long starts phase 1,
    /// drawn anew from this range each time.
    pub election_timeout: DurRange,
    /// Multi: the leader's heartbeat interval; the leader also resends then
    /// the Accepts of slots not chosen.
    pub heartbeat: Dur,
    /// Multi: most slots the leader has proposed and not yet seen chosen (0:
    /// no limit); further commands wait at the leader.
    pub window: u32,
    /// Multi: most commands in one slot (1: no batching). A leader whose
    /// window is full queues commands and proposes up to this many per slot
    /// when a slot frees up.
    pub batch_max: u32,
    /// A client (its proxy node) resends a command not answered this long
    /// after it last sent it.
    pub client_retry: Dur,
    /// A deliberately broken variant.
    pub variant: PaxosVariant,
}

impl Default for PaxosConfig {
    fn default() -> Self {
        PaxosConfig {
            mode: Mode::Single,
            proposers: 0,
            acceptors: 0,
            learners: 0,
            own_value: true,
            start: DurRange::new(Dur::ZERO, Dur::ZERO),
            retry_timeout: Dur::from_ms(100),
            backoff: DurRange::new(Dur::ZERO, Dur::from_ms(20)),
            nacks: true,
            election_timeout: DurRange::new(Dur::from_ms(150), Dur::from_ms(300)),
            heartbeat: Dur::from_ms(50),
            window: 32,
            batch_max: 1,
            client_retry: Dur::from_ms(500),
            variant: PaxosVariant::Correct,
        }
    }
}

impl PaxosConfig {
    /// Checks the settings for `nodes` nodes; the error names the field and
    /// the accepted range.
    pub fn validate(&self, nodes: u32) -> Result<(), String> {
        for (name, v) in [
            ("proposers", self.proposers),
            ("acceptors", self.acceptors),
            ("learners", self.learners),
        ] {
            if v > nodes {
                return Err(format!(
                    "paxos.{name} = {v} out of range (accepted: 0..={nodes}, 0 meaning every node)"
                ));
            }
        }
        if self.retry_timeout.0 == 0 {
            return Err("paxos.retry_timeout must be above 0 (accepted: e.g. 100ms)".into());
        }
        if self.client_retry.0 == 0 {
            return Err("paxos.client_retry must be above 0 (accepted: e.g. 500ms)".into());
        }
        if self.election_timeout.lo.0 == 0 {
            return Err(
                "paxos.election_timeout must be above 0 (accepted: e.g. 150ms..300ms)".into(),
            );
        }
        if self.heartbeat.0 == 0 || self.heartbeat >= self.election_timeout.lo {
            return Err(format!(
                "paxos.heartbeat = {} out of range (accepted: above 0 and below the minimum election timeout {})",
                self.heartbeat, self.election_timeout.lo
            ));
        }
        if self.window > WINDOW_MAX {
            return Err(format!(
                "paxos.window = {} out of range (accepted: 0..={WINDOW_MAX}, 0 meaning no limit)",
                self.window
            ));
        }
        if !(1..=BATCH_MAX).contains(&self.batch_max) {
            return Err(format!(
                "paxos.batch_max = {} out of range (accepted: 1..={BATCH_MAX}, 1 meaning no batching)",
                self.batch_max
            ));
        }
        Ok(())
    }

    /// The number of acceptors of a run of `nodes` nodes.
    pub fn acceptor_count(&self, nodes: u32) -> u32 {
        if self.acceptors == 0 {
            nodes
        } else {
            self.acceptors
        }
    }

    /// The number of proposers of a run of `nodes` nodes.
    pub fn proposer_count(&self, nodes: u32) -> u32 {
        if self.proposers == 0 {
            nodes
        } else {
            self.proposers
        }
    }

    /// Whether node `id` learns (a learner, or a proposer).
    pub fn is_learner(&self, id: u32, nodes: u32) -> bool {
        self.learners == 0 || id < self.learners || id < self.proposer_count(nodes)
    }
}
