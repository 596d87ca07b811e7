//! Messages, timers and notes, named as in *Paxos Made Simple*.

use super::types::{Ballot, Cmd, Entry, Value};
use crate::node::{Decision, NodeId, Note};
use serde::Serialize;

/// Paxos messages. The first four are the paper's (§2.2: "prepare request",
/// "promise", "accept request", and the acceptance sent to learners, §2.3);
/// the rest are the optional NACK and what Multi-Paxos and clients need.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, agentsim_macros::Message)]
#[serde(tag = "msg")]
pub enum PaxosMsg {
    /// Phase 1a: promise me not to accept below `ballot`. Single: for `slot`;
    /// Multi: for every slot from `slot` on.
    Prepare {
        /// The proposer's ballot.
        ballot: Ballot,
        /// The slot (Multi: the first slot of the range).
        slot: u64,
    },
    /// Phase 1b: the promise, with what the acceptor accepted in those slots
    /// (for each, the highest-numbered proposal it accepted).
    Promise {
        /// The ballot promised.
        ballot: Ballot,
        /// As in the Prepare.
        slot: u64,
        /// The acceptor's accepted proposals in the slots asked about.
        accepted: Vec<Entry>,
    },
    /// Phase 2a: accept `value` in `slot` at `ballot`.
    Accept {
        /// The proposer's ballot.
        ballot: Ballot,
        /// The slot.
        slot: u64,
        /// The value proposed.
        value: Value,
    },
    /// Phase 2b: the acceptor accepted it (to the learners in Single; to the
    /// leader, the distinguished learner, in Multi).
    Accepted {
        /// The ballot accepted.
        ballot: Ballot,
        /// The slot.
        slot: u64,
        /// The value accepted.
        value: Value,
    },
    /// The optional NACK: `ballot` (in `slot`) was preempted by `promised`.
    Nack {
        /// The ballot refused or displaced.
        ballot: Ballot,
        /// The slot (Multi: the slot of the refused message, 0 for phase 1).
        slot: u64,
        /// The acceptor's promise.
        promised: Ballot,
    },
    /// Multi: the leader tells the other learners a value was chosen (§2.3:
    /// "the distinguished learner informs the other learners").
    Chosen {
        /// The slot.
        slot: u64,
        /// The value chosen.
        value: Value,
    },
    /// Multi: the leader is alive; every slot below `commit` is chosen.
    Heartbeat {
        /// The leader's ballot.
        ballot: Ballot,
        /// The leader's count of chosen slots in a row from 0.
        commit: u64,
    },
    /// A lagging or recovered learner asks for the chosen values from `from`.
    CatchUp {
        /// The first slot it lacks.
        from: u64,
    },
    /// Chosen values of slots `from`, `from + 1`, ...
    CatchUpReply {
        /// The slot of the first value.
        from: u64,
        /// The values, in slot order.
        values: Vec<Value>,
    },
    /// A command on its way to a proposer (the leader in Multi).
    Request {
        /// The command.
        cmd: Cmd,
    },
    /// The answer to a command's proxy: it was chosen and executed.
    Reply {
        /// The client.
        client: u32,
        /// Its sequence number.
        seq: u64,
    },
}

/// Paxos timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, agentsim_macros::TimerTag)]
pub enum PaxosTimer {
    /// Single: a proposer's first attempt.
    Start,
    /// Single: an attempt timed out, or a backoff ended.
    Retry,
    /// Multi: no leader heard for an election timeout.
    Election,
    /// Multi: the leader's heartbeat.
    Heartbeat,
    /// A learner that knows of chosen slots it lacks asks for them.
    CatchUp,
    /// A proxy resends unanswered commands.
    ClientRetry,
}

/// Protocol facts for the trace, the checkers and the metrics.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum PaxosNote {
    /// A proposer started phase 1 with `ballot` (Single: for `slot`; Multi:
    /// a candidacy for every slot from `slot` on).
    Attempt {
        /// The slot (first slot).
        slot: u64,
        /// The new ballot.
        ballot: Ballot,
    },
    /// A proposer gave `ballot` up: an acceptor promised `by`.
    Preempted {
        /// The slot (0 for a Multi-Paxos candidacy or leadership).
        slot: u64,
        /// The ballot given up.
        ballot: Ballot,
        /// The higher ballot.
        by: Ballot,
    },
    /// A proposer started phase 2: `value` in `slot` at `ballot`. `recovered`
    /// is the ballot of the accepted proposal whose value it adopted (§2.2's
    /// rule), `None` for its own value or a no-op fill.
    Proposed {
        /// The slot.
        slot: u64,
        /// The proposer's ballot.
        ballot: Ballot,
        /// The value proposed.
        value: Value,
        /// The ballot of the accepted proposal adopted, if any.
        recovered: Option<Ballot>,
    },
    /// A learner learned that `value` is chosen in `slot` (from a majority
    /// of acceptances in `ballot`, or, with no ballot, from the leader or a
    /// catch-up), and then had executed every slot below `applied`, with
    /// the execution digest `digest` (see `Applied`).
    Learned {
        /// The slot.
        slot: u64,
        /// The value.
        value: Value,
        /// The ballot of the majority it saw, if it saw one.
        ballot: Option<Ballot>,
        /// Slots executed, after this one was learned.
        applied: u64,
        /// The execution's digest then.
        digest: u64,
    },
    /// A recovered learner executed every slot below `upto` of its durable
    /// log; `digest` folds the commands it executed, in order, duplicates
    /// skipped.
    Applied {
        /// Slots executed.
        upto: u64,
        /// The execution's digest.
        digest: u64,
    },
    /// Multi: won phase 1 with `ballot`: now the leader.
    Leader {
        /// The leader's ballot.
        ballot: Ballot,
    },
    /// Multi: stopped leading (a higher ballot was seen).
    SteppedDown {
        /// The ballot it led with.
        ballot: Ballot,
    },
    /// Multi: now follows `leader` (heard its heartbeat in `ballot`).
    Following {
        /// The leader.
        leader: NodeId,
        /// Its ballot.
        ballot: Ballot,
    },
    /// A client submitted command `seq` to this node (its proxy).
    Submitted {
        /// The client.
        client: u32,
        /// The sequence number.
        seq: u64,
    },
    /// The proxy received the answer to command `seq`.
    Answered {
        /// The client.
        client: u32,
        /// The sequence number.
        seq: u64,
    },
}

impl Note for PaxosNote {
    fn leadership(&self) -> Option<bool> {
        match self {
            PaxosNote::Leader { .. } => Some(true),
            PaxosNote::SteppedDown { .. } => Some(false),
            _ => None,
        }
    }
    fn believes(&self) -> Option<Option<NodeId>> {
        match self {
            PaxosNote::Following { leader, .. } => Some(Some(*leader)),
            _ => None,
        }
    }
    fn decided(&self) -> Option<Decision> {
        match self {
            PaxosNote::Learned { slot, value, .. } => Some(Decision {
                instance: *slot,
                value: value.to_string(),
            }),
            _ => None,
        }
    }
    fn tag(&self) -> Option<&'static str> {
        Some(match self {
            PaxosNote::Attempt { .. } => "attempt",
            PaxosNote::Preempted { .. } => "preempted",
            PaxosNote::Proposed { .. } => "proposed",
            PaxosNote::Learned { .. } => "learned",
            PaxosNote::Applied { .. } => "applied",
            PaxosNote::Leader { .. } => "leader",
            PaxosNote::SteppedDown { .. } => "stepped_down",
            PaxosNote::Following { .. } => "following",
            PaxosNote::Submitted { .. } => "submitted",
            PaxosNote::Answered { .. } => "answered",
        })
    }
}
