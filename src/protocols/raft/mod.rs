//! Raft leader election (Ongaro & Ousterhout 2014, Figure 2, §5.2 and §5.4.1),
//! with Pre-Vote and CheckQuorum from the Raft thesis (§9.6, §6.2).
//!
//! ```text
//!            timeout, start election           majority of votes
//!  Follower ───────────────────────► Candidate ─────────────────► Leader
//!     ▲  ▲  (pre-vote: PreCandidate first)  │ timeout: new term      │
//!     │  └──────────────────────────────────┘                        │
//!     └──────────── higher term seen / CheckQuorum lost ─────────────┘
//! ```
//!
//! Rules kept from Figure 2: a higher term in any request or response makes a
//! node adopt it and become follower; a node votes at most once per term
//! (`votedFor`, persisted with `currentTerm` before the vote is sent); a vote is
//! granted only to a candidate whose log is at least as up-to-date (§5.4.1:
//! later last term wins, equal terms compare length); the election timeout is
//! drawn anew from the configured range at every reset.
//!
//! **Log model.** Leader election only needs each node's log *position*
//! (last index, last term), not the entries. A leader appends
//! `entries_per_heartbeat` entries in its term at every heartbeat; a follower
//! that accepts an AppendEntries adopts the leader's position (the state the
//! log-matching repair of §5.3 converges to). Nodes that miss entries through
//! loss, partitions or crashes fall behind and become ineligible (§5.4.1).
//! The log position is durable, like the log itself.
//!
//! **Broken variants** (`variant`), for seeing the checkers catch bugs:
//! `forget-voted-for` does not restore `votedFor` after a crash;
//! `double-vote` grants a vote to every up-to-date candidate of a term.

#[cfg(feature = "cli")]
mod flags;
pub mod monitor;
mod spec;

use super::quorum::{is_majority, VoteSet};
use crate::node::{Ctx, Init, NodeId, Note, Protocol};
use crate::time::{Dur, DurRange, SimTime};
use serde::{Deserialize, Serialize};

#[cfg(feature = "cli")]
pub use flags::RaftFlags;
pub use monitor::RaftMonitor;
pub use spec::RaftSpec;

/// Deliberately broken behaviours, selected by `variant`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RaftVariant {
    /// The protocol as the paper states it.
    #[default]
    Correct,
    /// Forgets `votedFor` on restart (persists only `currentTerm`).
    ForgetVotedFor,
    /// Grants a vote to any up-to-date candidate, even twice in one term.
    DoubleVote,
}

impl RaftVariant {
    /// Every variant with its name, as `variant` spells it.
    pub const ALL: [(&'static str, RaftVariant); 3] = [
        ("correct", RaftVariant::Correct),
        ("forget-voted-for", RaftVariant::ForgetVotedFor),
        ("double-vote", RaftVariant::DoubleVote),
    ];
}

impl std::str::FromStr for RaftVariant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, v)| *v)
            .ok_or_else(|| {
                format!(
                    "raft variant '{s}' unknown (accepted: correct, forget-voted-for, double-vote)"
                )
            })
    }
}

/// Settings of a Raft server (the `[protocol]` table of a scenario).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RaftConfig {
    /// Election timeout, drawn uniformly from this range at every reset.
    pub election_timeout: DurRange,
    /// Leader heartbeat interval (AppendEntries with no new entries when idle).
    pub heartbeat: Dur,
    /// Pre-Vote (thesis §9.6): ask for votes before incrementing the term.
    pub pre_vote: bool,
    /// CheckQuorum (thesis §6.2): a leader steps down without a majority of
    /// responses within an election timeout; followers that heard from a leader
    /// within the minimum election timeout ignore vote requests.
    pub check_quorum: bool,
    /// Log entries a leader appends per heartbeat interval (0: heartbeats only).
    pub entries_per_heartbeat: u32,
    /// The last this many servers (ids `n-1`, `n-2`, ...) keep their logs one
    /// entry behind their leader's, so that while a leader of the others
    /// lives they cannot win an election against an up-to-date server
    /// (§5.4.1): the Raft paper's §9.3 benchmark made two of the four
    /// surviving servers ineligible this way ("different log lengths").
    pub ineligible: u32,
    /// A deliberately broken behaviour, or `correct` (the default).
    pub variant: RaftVariant,
}

impl Default for RaftConfig {
    fn default() -> Self {
        RaftConfig {
            election_timeout: DurRange::new(Dur::from_ms(150), Dur::from_ms(300)),
            heartbeat: Dur::from_ms(50),
            pre_vote: false,
            check_quorum: false,
            entries_per_heartbeat: 1,
            ineligible: 0,
            variant: RaftVariant::Correct,
        }
    }
}

impl RaftConfig {
    /// Checks the timeouts; the error names the setting and the accepted range.
    pub fn validate(&self) -> Result<(), String> {
        if self.election_timeout.lo.0 == 0 {
            return Err(
                "raft.election_timeout must be above 0 (accepted: e.g. 150ms..300ms)".into(),
            );
        }
        if self.heartbeat.0 == 0 || self.heartbeat >= self.election_timeout.lo {
            return Err(format!(
                "raft.heartbeat = {} out of range (accepted: above 0 and below the minimum election timeout {})",
                self.heartbeat, self.election_timeout.lo
            ));
        }
        Ok(())
    }
}

/// A log position: the index and term of the last entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct LogPos {
    /// Term of the last entry (0: empty log).
    pub term: u64,
    /// Index of the last entry, from 1 (0: empty log).
    pub index: u64,
}

impl LogPos {
    /// §5.4.1: "If the logs have last entries with different terms, then the log
    /// with the later term is more up-to-date. If the logs end with the same term,
    /// then whichever log is longer is more up-to-date."
    #[inline]
    pub fn at_least_as_up_to_date_as(self, other: LogPos) -> bool {
        (self.term, self.index) >= (other.term, other.index)
    }
}

/// Messages, named as in the paper.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, agentsim_macros::Message)]
#[serde(tag = "rpc")]
pub enum RaftMsg {
    /// A candidate asks for a vote (§5.2).
    RequestVote {
        /// The candidate's term.
        term: u64,
        /// The candidate's log position.
        last_log: LogPos,
    },
    /// The answer to a [`RaftMsg::RequestVote`].
    RequestVoteResponse {
        /// The voter's current term.
        term: u64,
        /// Whether the vote was granted.
        granted: bool,
    },
    /// A pre-candidate asks whether it could win (thesis §9.6); the receiver changes nothing.
    PreVote {
        /// The term it would campaign in (its own plus one).
        term: u64,
        /// The pre-candidate's log position.
        last_log: LogPos,
    },
    /// The answer to a [`RaftMsg::PreVote`].
    PreVoteResponse {
        /// The term asked about if granted, else the voter's current term.
        term: u64,
        /// Whether the pre-vote was granted.
        granted: bool,
    },
    /// A leader's heartbeat, with the entries it appended since the last one.
    AppendEntries {
        /// The leader's term.
        term: u64,
        /// The leader's log position, after the new entries.
        last_log: LogPos,
        /// Entries appended since the previous AppendEntries (0: heartbeat only).
        entries: u32,
    },
    /// The answer to a [`RaftMsg::AppendEntries`].
    AppendEntriesResponse {
        /// The receiver's current term.
        term: u64,
        /// False when the leader's term is stale (or the receiver leads the same term).
        success: bool,
    },
}

/// Raft's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, agentsim_macros::TimerTag)]
pub enum RaftTimer {
    /// Election timeout (drawn from `election_timeout`): a follower or candidate
    /// starts an election, or a pre-vote.
    Election,
    /// Every `heartbeat`, a leader broadcasts AppendEntries.
    Heartbeat,
    /// Every minimum election timeout, a leader steps down unless a majority
    /// (itself included) answered since the last tick (CheckQuorum).
    CheckQuorum,
}

/// Protocol facts for the trace, the checkers and the metrics.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum RaftNote {
    /// Started a pre-vote round for `term` (the term it would campaign in).
    PreCandidate {
        /// Its term plus one.
        term: u64,
    },
    /// Started an election in `term`.
    Candidate {
        /// The new term.
        term: u64,
    },
    /// Won the election of `term`.
    Leader {
        /// The term won.
        term: u64,
    },
    /// Stopped leading (higher term seen or CheckQuorum lost).
    SteppedDown {
        /// The node's term when it stepped down (the higher term seen, if any).
        term: u64,
    },
    /// Accepted `leader`'s AppendEntries for `term` (first time in that term).
    Following {
        /// The leader's term.
        term: u64,
        /// The leader.
        leader: NodeId,
    },
}

impl Note for RaftNote {
    fn leadership(&self) -> Option<bool> {
        match self {
            RaftNote::Leader { .. } => Some(true),
            RaftNote::SteppedDown { .. } => Some(false),
            _ => None,
        }
    }
    fn believes(&self) -> Option<Option<NodeId>> {
        match self {
            RaftNote::PreCandidate { .. } | RaftNote::Candidate { .. } => Some(None),
            RaftNote::Following { leader, .. } => Some(Some(*leader)),
            RaftNote::Leader { .. } | RaftNote::SteppedDown { .. } => None,
        }
    }
    fn tag(&self) -> Option<&'static str> {
        Some(match self {
            RaftNote::PreCandidate { .. } => "pre_candidate",
            RaftNote::Candidate { .. } => "candidate",
            RaftNote::Leader { .. } => "leader",
            RaftNote::SteppedDown { .. } => "stepped_down",
            RaftNote::Following { .. } => "following",
        })
    }
}

/// What survives a crash: Figure 2's persistent state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RaftDurable {
    /// The latest term seen (`currentTerm`).
    pub current_term: u64,
    /// The candidate voted for in `current_term` (`votedFor`); `None`: no vote yet.
    pub voted_for: Option<NodeId>,
    /// The log's last position.
    pub log: LogPos,
}

/// A server's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Follows the leader it last accepted AppendEntries from, if any.
    Follower,
    /// Asks for pre-votes; its term is unchanged until it wins them.
    PreCandidate,
    /// Asks for votes in a new term.
    Candidate,
    /// Sends AppendEntries: heartbeats and new entries.
    Leader,
}

/// One Raft server.
#[derive(Clone, Debug)]
pub struct Raft {
    cfg: RaftConfig,
    n: u32,
    term: u64,
    voted_for: Option<NodeId>,
    log: LogPos,
    role: Role,
    leader: Option<NodeId>,
    votes: VoteSet,
    /// Followers that answered since the last CheckQuorum tick.
    active: VoteSet,
    /// Last time an AppendEntries from the current leader was accepted.
    last_leader_contact: Option<SimTime>,
}

impl Raft {
    /// The current role.
    pub fn role(&self) -> Role {
        self.role
    }
    /// The current term (`currentTerm`).
    pub fn term(&self) -> u64 {
        self.term
    }

    fn durable(&self) -> RaftDurable {
        RaftDurable {
            current_term: self.term,
            voted_for: self.voted_for,
            log: self.log,
        }
    }

    fn persist(&self, ctx: &mut Ctx<'_, Self>) {
        ctx.persist(self.durable());
    }

    fn reset_election_timer(&self, ctx: &mut Ctx<'_, Self>) {
        let r = self.cfg.election_timeout;
        let after = ctx.rng().range_inclusive(r.lo.0, r.hi.0);
        ctx.set_timer(RaftTimer::Election, after);
    }

    /// "If RPC request or response contains term T > currentTerm: set currentTerm = T,
    /// convert to follower" (Figure 2, rules for all servers).
    fn observe_term(&mut self, ctx: &mut Ctx<'_, Self>, term: u64) {
        if term > self.term {
            let was_leader = self.role == Role::Leader;
            self.term = term;
            self.voted_for = None;
            self.leader = None;
            self.role = Role::Follower;
            self.persist(ctx);
            if was_leader {
                ctx.note(RaftNote::SteppedDown { term });
                ctx.cancel_timer(RaftTimer::Heartbeat);
                ctx.cancel_timer(RaftTimer::CheckQuorum);
                self.reset_election_timer(ctx);
            }
        }
    }

    /// Within the minimum election timeout of hearing from a leader (thesis §4.2.3, §9.6).
    fn leader_lease_holds(&self, now: SimTime) -> bool {
        self.leader.is_some()
            && self
                .last_leader_contact
                .is_some_and(|t| now.saturating_sub(t) < self.cfg.election_timeout.lo.0)
    }

    fn start_pre_vote(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.role = Role::PreCandidate;
        self.leader = None;
        self.votes.clear();
        self.votes.insert(ctx.id());
        ctx.note(RaftNote::PreCandidate {
            term: self.term + 1,
        });
        self.reset_election_timer(ctx);
        if is_majority(self.votes.len(), self.n) {
            return self.start_election(ctx);
        }
        ctx.broadcast(RaftMsg::PreVote {
            term: self.term + 1,
            last_log: self.log,
        });
    }

    /// "On conversion to candidate, start election: increment currentTerm, vote for
    /// self, reset election timer, send RequestVote RPCs to all other servers."
    fn start_election(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.term += 1;
        self.role = Role::Candidate;
        self.leader = None;
        self.voted_for = Some(ctx.id());
        self.persist(ctx);
        self.votes.clear();
        self.votes.insert(ctx.id());
        ctx.note(RaftNote::Candidate { term: self.term });
        self.reset_election_timer(ctx);
        if is_majority(self.votes.len(), self.n) {
            return self.become_leader(ctx);
        }
        ctx.broadcast(RaftMsg::RequestVote {
            term: self.term,
            last_log: self.log,
        });
    }

    fn become_leader(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.role = Role::Leader;
        self.leader = Some(ctx.id());
        ctx.note(RaftNote::Leader { term: self.term });
        ctx.cancel_timer(RaftTimer::Election);
        self.active.clear();
        if self.cfg.check_quorum {
            ctx.set_timer(RaftTimer::CheckQuorum, self.cfg.election_timeout.lo.0);
        }
        // "Upon election: send initial empty AppendEntries RPCs (heartbeat) to each server."
        self.broadcast_append(ctx, 0);
    }

    fn broadcast_append(&mut self, ctx: &mut Ctx<'_, Self>, entries: u32) {
        if entries > 0 {
            self.log = LogPos {
                term: self.term,
                index: self.log.index + entries as u64,
            };
            self.persist(ctx);
        }
        ctx.broadcast(RaftMsg::AppendEntries {
            term: self.term,
            last_log: self.log,
            entries,
        });
        ctx.set_timer(RaftTimer::Heartbeat, self.cfg.heartbeat.0);
    }

    fn on_request_vote(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        term: u64,
        last_log: LogPos,
    ) {
        if self.cfg.check_quorum && term > self.term && self.leader_lease_holds(ctx.now()) {
            return; // a disruptive server: ignore without adopting its term
        }
        self.observe_term(ctx, term);
        let up_to_date = last_log.at_least_as_up_to_date_as(self.log);
        let free = match self.cfg.variant {
            RaftVariant::DoubleVote => true,
            _ => self.voted_for.is_none() || self.voted_for == Some(from),
        };
        let granted = term == self.term && free && up_to_date;
        if granted {
            self.voted_for = Some(from);
            self.persist(ctx);
            self.reset_election_timer(ctx);
        }
        ctx.send(
            from,
            RaftMsg::RequestVoteResponse {
                term: self.term,
                granted,
            },
        );
    }

    fn on_pre_vote(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, term: u64, last_log: LogPos) {
        // Pre-votes never change the receiver's term or vote.
        let granted = term > self.term
            && last_log.at_least_as_up_to_date_as(self.log)
            && !self.leader_lease_holds(ctx.now());
        let reply_term = if granted { term } else { self.term };
        ctx.send(
            from,
            RaftMsg::PreVoteResponse {
                term: reply_term,
                granted,
            },
        );
    }

    fn on_append_entries(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        term: u64,
        last_log: LogPos,
    ) {
        if term < self.term {
            return ctx.send(
                from,
                RaftMsg::AppendEntriesResponse {
                    term: self.term,
                    success: false,
                },
            );
        }
        self.observe_term(ctx, term);
        if self.role == Role::Leader {
            // Another leader in our own term: impossible unless safety is broken.
            return ctx.send(
                from,
                RaftMsg::AppendEntriesResponse {
                    term: self.term,
                    success: false,
                },
            );
        }
        // "If AppendEntries RPC received from new leader: convert to follower."
        self.role = Role::Follower;
        let same_leader = self.leader == Some(from);
        if !same_leader {
            self.leader = Some(from);
            ctx.note(RaftNote::Following { term, leader: from });
        }
        self.last_leader_contact = Some(ctx.now());
        // Figure 2, AppendEntries rule 3: an entry is deleted only when a new
        // one conflicts with it. Within its term a leader's log only grows,
        // so a late or duplicated AppendEntries of the leader already
        // followed shortens nothing; a new leader's log replaces ours (its
        // entries overwrite the ones that conflict).
        // An ineligible server stays one entry behind (see `ineligible`).
        let last_log = if ctx.id() + self.cfg.ineligible >= self.n && last_log.index > 0 {
            LogPos {
                term: last_log.term,
                index: last_log.index - 1,
            }
        } else {
            last_log
        };
        let log = if same_leader {
            self.log.max(last_log)
        } else {
            last_log
        };
        if self.log != log {
            self.log = log;
            self.persist(ctx);
        }
        self.reset_election_timer(ctx);
        ctx.send(
            from,
            RaftMsg::AppendEntriesResponse {
                term: self.term,
                success: true,
            },
        );
    }
}

impl Protocol for Raft {
    type Config = RaftConfig;
    type Msg = RaftMsg;
    type Timer = RaftTimer;
    type Note = RaftNote;
    type Durable = RaftDurable;

    fn init(ctx: &mut Init<'_, Self>, d: &RaftDurable) -> Self {
        let (cfg, nodes) = (ctx.config(), ctx.nodes());
        let voted_for = match cfg.variant {
            RaftVariant::ForgetVotedFor => None,
            _ => d.voted_for,
        };
        Raft {
            cfg: *cfg,
            n: nodes,
            term: d.current_term,
            voted_for,
            log: d.log,
            role: Role::Follower,
            leader: None,
            votes: VoteSet::new(nodes),
            active: VoteSet::new(nodes),
            last_leader_contact: None,
        }
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.reset_election_timer(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: RaftMsg) {
        match msg {
            RaftMsg::RequestVote { term, last_log } => {
                self.on_request_vote(ctx, from, term, last_log)
            }
            RaftMsg::PreVote { term, last_log } => self.on_pre_vote(ctx, from, term, last_log),
            RaftMsg::AppendEntries { term, last_log, .. } => {
                self.on_append_entries(ctx, from, term, last_log)
            }
            RaftMsg::RequestVoteResponse { term, granted } => {
                self.observe_term(ctx, term);
                if self.role == Role::Candidate && term == self.term && granted {
                    self.votes.insert(from);
                    if is_majority(self.votes.len(), self.n) {
                        self.become_leader(ctx);
                    }
                }
            }
            RaftMsg::PreVoteResponse { term, granted } => {
                if !granted {
                    // A rejection carries the voter's term: adopt it if higher.
                    self.observe_term(ctx, term);
                } else if self.role == Role::PreCandidate && term == self.term + 1 {
                    self.votes.insert(from);
                    if is_majority(self.votes.len(), self.n) {
                        self.start_election(ctx);
                    }
                }
            }
            RaftMsg::AppendEntriesResponse { term, .. } => {
                self.observe_term(ctx, term);
                if self.role == Role::Leader && term == self.term {
                    self.active.insert(from);
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: RaftTimer) {
        match timer {
            RaftTimer::Election => {
                if self.role == Role::Leader {
                    return;
                }
                if self.cfg.pre_vote {
                    self.start_pre_vote(ctx);
                } else {
                    self.start_election(ctx);
                }
            }
            RaftTimer::Heartbeat => {
                if self.role == Role::Leader {
                    self.broadcast_append(ctx, self.cfg.entries_per_heartbeat);
                }
            }
            RaftTimer::CheckQuorum => {
                if self.role != Role::Leader {
                    return;
                }
                self.active.insert(ctx.id());
                if is_majority(self.active.len(), self.n) {
                    self.active.clear();
                    ctx.set_timer(RaftTimer::CheckQuorum, self.cfg.election_timeout.lo.0);
                } else {
                    self.role = Role::Follower;
                    self.leader = None;
                    ctx.note(RaftNote::SteppedDown { term: self.term });
                    ctx.cancel_timer(RaftTimer::Heartbeat);
                    self.reset_election_timer(ctx);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
