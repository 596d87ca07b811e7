//! Threshold consensus as agent systems write it: every node votes for its
//! proposal once, and commits a value when at least `n − f` votes agree
//! (or by any other rule of the shared [voting rules](super::voting)).
//!
//! ```text
//!  t = 0: each node persists its proposal, broadcasts Vote(voter, value)
//!  on each vote: record it (one per voter) ──► rule certain? ──► commit v
//!  every `resend`: vote again (lost votes are sent again until the deadline)
//!  at the deadline: missing votes count as declared ──► commit v, or give up
//! ```
//!
//! **Why `n − f`, and where it breaks.** Two sets of `n − f` voters share
//! at least `n − 2f` voters, of which at most `f` are Byzantine: with
//! `n ≥ 3f + 1` they share an honest voter, who voted once, so no two
//! honest nodes commit different values (agreement). With `f ≥ n/3` the
//! shared voters may all be Byzantine: split adversaries tell one half of
//! the honest nodes one value and the other half the other, and both
//! halves reach `n − f` (`results/byzantine-threshold-vote`). A commit needs
//! `n − f > f` votes, more than the Byzantine nodes alone: the value was
//! proposed by an honest node (validity).
//!
//! **Termination.** A node commits as soon as the outcome is certain
//! (`n − f` matching votes with the default rule), and decides at the
//! latest at its deadline: there the missing votes count as the rule
//! declares (`missing`), and the node commits if the rule is met, or
//! **gives up** (noted `gave_up`, with the reason) if not: when fewer than
//! `n − f` honest nodes propose the same value, or their votes do not
//! arrive in time (loss without `resend`, a partition that outlasts the
//! deadline, a crash), no value is committed and nothing wrong is
//! committed either. `committed_ratio` measures how often that happens.
//!
//! **Signatures** (`signed`, on by default). A vote names its voter; a
//! signed vote whose signature is not the voter's (a node can sign only as
//! itself) is rejected. Unsigned, a vote is believed as claimed: a `forge`
//! traitor votes in the name of other nodes, and the first vote received
//! for a voter counts (a later different one is a conflict, noted).
//!
//! **Crashes.** The proposal and the commit are persisted before the vote
//! goes out; a recovered node votes again for the same proposal (never
//! another: that would be equivocation) and, past its deadline, decides at
//! once. Byzantine behaviours: see [`adversary`].
//!
//! **Broken variant** (`variant = "count-duplicates"`): every vote message
//! counts, not every voter once, so a resent or duplicated vote counts
//! again: caught by `check` with `--dup` and `resend`.

pub mod adversary;
mod config;
#[cfg(feature = "cli")]
mod flags;
pub mod monitor;
mod spec;

use super::voting::{Ballot, Counts, NoDecision, Outcome, Recorded, Rule, Tally, Value};
use crate::node::{BehaviourKind, Ctx, Decision, Init, MetricDef, NodeId, Note, Protocol};
use crate::time::SimTime;
use serde::Serialize;

pub use config::{FaultBound, Inputs, ThresholdConfig, ThresholdVariant, VoteThreshold};
#[cfg(feature = "cli")]
pub use flags::ThresholdFlags;
pub use monitor::ThresholdMonitor;
pub use spec::ThresholdSpec;

/// The one message: a vote.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, agentsim_macros::Message)]
pub enum ThresholdMsg {
    /// "`voter` votes `value`", signed by `signer` (a node signs only as itself).
    Vote {
        /// The voter claimed.
        voter: NodeId,
        /// The value.
        value: Value,
        /// Who signed it (ignored when votes are unsigned).
        signer: NodeId,
    },
}

/// Threshold consensus timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, agentsim_macros::TimerTag)]
pub enum ThresholdTimer {
    /// The tally closes.
    Deadline,
    /// Vote again.
    Resend,
    /// A `delay` traitor's vote is due.
    Flush,
}

/// What a Byzantine node changed in its votes (trace tag `adversary`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// No vote to these nodes (silent, selective).
    Withheld {
        /// The nodes that got no vote.
        to: Vec<NodeId>,
    },
    /// Other values than its proposal (equivocate, flip, split): each
    /// `(value, nodes told it)`.
    Altered {
        /// Its proposal.
        honest: Value,
        /// Values sent, with the nodes told each.
        sent: Vec<(Value, Vec<NodeId>)>,
    },
    /// Votes in the name of `voters` other nodes, each for `value` (forge).
    Forged {
        /// How many voters it impersonates.
        voters: u32,
        /// The value it claims they vote.
        value: Value,
    },
    /// Its vote leaves at `until_ns`, just before the deadline (delay).
    Delayed {
        /// When.
        until_ns: SimTime,
    },
}

/// Facts of threshold consensus.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum ThresholdNote {
    /// An honest node proposes `value` (its vote).
    Proposed {
        /// Its proposal.
        value: Value,
    },
    /// Committed `value`.
    Committed {
        /// The value.
        value: Value,
    },
    /// Decided nothing at the deadline.
    GaveUp {
        /// Why.
        reason: NoDecision,
    },
    /// A signed vote with another signer than its voter was rejected.
    Rejected {
        /// The voter claimed.
        voter: NodeId,
        /// Who sent it.
        from: NodeId,
    },
    /// A second, different vote for a voter already counted (ignored).
    Conflict {
        /// The voter.
        voter: NodeId,
    },
    /// A Byzantine node's change to its votes.
    Adversary {
        /// Its behaviour.
        behaviour: BehaviourKind,
        /// What it changed.
        #[serde(flatten)]
        change: Change,
    },
}

impl Note for ThresholdNote {
    fn decided(&self) -> Option<Decision> {
        match self {
            ThresholdNote::Committed { value } => Some(Decision {
                instance: 0,
                value: value.to_string(),
            }),
            _ => None,
        }
    }
    fn tag(&self) -> Option<&'static str> {
        Some(match self {
            ThresholdNote::Proposed { .. } => "proposed",
            ThresholdNote::Committed { .. } => "committed",
            ThresholdNote::GaveUp { .. } => "gave_up",
            ThresholdNote::Rejected { .. } => "rejected",
            ThresholdNote::Conflict { .. } => "conflict",
            ThresholdNote::Adversary { .. } => "adversary",
        })
    }
}

/// What survives a crash: the proposal (a node never votes two values) and
/// the commit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ThresholdDurable {
    /// The proposal, once drawn.
    pub input: Option<Value>,
    /// The committed value.
    pub committed: Option<Value>,
}

/// Counter indices.
pub mod counter {
    /// `rejected_votes`.
    pub const REJECTED: usize = 0;
    /// `conflicting_votes`.
    pub const CONFLICTS: usize = 1;
}

/// One voter.
#[derive(Clone, Debug)]
pub struct ThresholdVote {
    input: Value,
    rule: Rule,
    tally: Tally,
    /// `count-duplicates`: every message counted.
    every_message: Counts,
    committed: Option<Value>,
    decided: bool,
    byz: adversary::State,
}

impl ThresholdVote {
    /// The proposal.
    pub fn input(&self) -> Value {
        self.input
    }

    /// The committed value, if any.
    pub fn committed(&self) -> Option<Value> {
        self.committed
    }

    fn durable(&self) -> ThresholdDurable {
        ThresholdDurable {
            input: Some(self.input),
            committed: self.committed,
        }
    }

    fn vote(&mut self, ctx: &mut Ctx<'_, Self>) {
        if ctx.behaviour().is_some() {
            return adversary::vote(self, ctx);
        }
        let me = ctx.id();
        ctx.broadcast(ThresholdMsg::Vote {
            voter: me,
            value: self.input,
            signer: me,
        });
    }

    /// Evaluates the tally: commits when certain (or, `closed`, when met);
    /// gives up when closed without a decision.
    fn evaluate(&mut self, ctx: &mut Ctx<'_, Self>, closed: bool) {
        if self.decided {
            return;
        }
        let n = ctx.nodes();
        let outcome = match ctx.config().variant {
            ThresholdVariant::CountDuplicates => self.rule.decide(&self.every_message, n, closed),
            ThresholdVariant::Correct => self.tally.outcome(&self.rule, closed),
        };
        match outcome {
            Outcome::Decided(v) => {
                self.decided = true;
                self.committed = Some(v);
                ctx.persist(self.durable());
                if ctx.behaviour().is_none() {
                    ctx.note(ThresholdNote::Committed { value: v });
                }
            }
            Outcome::None(reason) if closed => {
                self.decided = true;
                if ctx.behaviour().is_none() {
                    ctx.note(ThresholdNote::GaveUp { reason });
                }
            }
            _ => {}
        }
    }
}

impl Protocol for ThresholdVote {
    type Config = ThresholdConfig;
    type Msg = ThresholdMsg;
    type Timer = ThresholdTimer;
    type Note = ThresholdNote;
    type Durable = ThresholdDurable;

    const COUNTERS: &'static [MetricDef] = &[
        MetricDef {
            name: "rejected_votes",
            unit: "count",
            definition: "signed votes rejected because another node than the voter signed them",
        },
        MetricDef {
            name: "conflicting_votes",
            unit: "count",
            definition: "votes that differed from the vote already counted for their voter (ignored)",
        },
    ];
    const BEHAVIOURS: &'static [BehaviourKind] = &BehaviourKind::ALL;

    fn init(ctx: &mut Init<'_, Self>, d: &ThresholdDurable) -> Self {
        let cfg = ctx.config();
        let n = ctx.nodes();
        let input = d.input.unwrap_or_else(|| match cfg.inputs {
            Inputs::Same(v) => v,
            Inputs::Split => (ctx.id() % 2) as Value,
            Inputs::Random(p) => ctx.rng().chance(p) as Value,
        });
        let f = cfg.f.resolve(n, ctx.adversary().count());
        let byz = adversary::State::new(ctx, input);
        ThresholdVote {
            input,
            rule: cfg.rule(n, f),
            tally: Tally::new(n),
            every_message: Counts::new(),
            committed: d.committed,
            decided: d.committed.is_some(),
            byz,
        }
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        let cfg = ctx.config();
        let me = ctx.id();
        // Persist the proposal before voting: a recovered node votes the same.
        ctx.persist(self.durable());
        if ctx.behaviour().is_none() {
            if ctx.now() == 0 {
                ctx.note(ThresholdNote::Proposed { value: self.input });
            }
            self.tally.record(me, Ballot::Vote(self.input));
            self.every_message.add(Ballot::Vote(self.input));
        }
        self.vote(ctx);
        let now = ctx.now();
        if now < cfg.deadline.0 {
            ctx.set_timer(ThresholdTimer::Deadline, cfg.deadline.0 - now);
            if cfg.resend.0 > 0 {
                ctx.set_timer(ThresholdTimer::Resend, cfg.resend.0);
            }
            self.evaluate(ctx, false);
        } else {
            self.evaluate(ctx, true);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: ThresholdMsg) {
        let ThresholdMsg::Vote {
            voter,
            value,
            signer,
        } = msg;
        if ctx.config().signed && signer != voter {
            ctx.count(counter::REJECTED, 1.0);
            if ctx.behaviour().is_none() {
                ctx.note(ThresholdNote::Rejected { voter, from });
            }
            return;
        }
        if voter >= ctx.nodes() {
            return;
        }
        let count_every_message = ctx.config().variant == ThresholdVariant::CountDuplicates;
        if count_every_message {
            self.every_message.add(Ballot::Vote(value));
        }
        match self.tally.record(voter, Ballot::Vote(value)) {
            Recorded::New => {}
            Recorded::Repeat if !count_every_message => return,
            Recorded::Repeat => {}
            Recorded::Conflict { .. } => {
                ctx.count(counter::CONFLICTS, 1.0);
                if ctx.behaviour().is_none() {
                    ctx.note(ThresholdNote::Conflict { voter });
                }
                if !count_every_message {
                    return;
                }
            }
        }
        self.evaluate(ctx, false);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: ThresholdTimer) {
        match timer {
            ThresholdTimer::Deadline => {
                ctx.cancel_timer(ThresholdTimer::Resend);
                self.evaluate(ctx, true);
            }
            ThresholdTimer::Resend => {
                self.vote(ctx);
                ctx.set_timer(ThresholdTimer::Resend, ctx.config().resend.0);
            }
            ThresholdTimer::Flush => adversary::flush(self, ctx),
        }
    }
}

#[cfg(test)]
mod tests;
