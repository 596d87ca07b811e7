//! Contract net's messages (the FIPA SC00029H communicative acts, plus the
//! lease's progress reports and renewals), timers and notes.

use crate::node::{Decision, NodeId, Note};
use serde::Serialize;
use std::fmt;

/// A task: the manager that owns it and its number there (0, 1, 2, ...).
/// It enters the run hash as one word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct TaskId {
    /// The manager the task was submitted to.
    pub manager: NodeId,
    /// Its number at that manager, in submission order.
    pub seq: u32,
}

impl std::hash::Hash for TaskId {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        h.write_u64(((self.manager as u64) << 32) | self.seq as u64);
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.manager, self.seq)
    }
}

/// An announcement round of a task: `(incarnation << 32) | round`, unique
/// per manager across crashes (the incarnation is persisted).
pub type Epoch = u64;

/// Why a contractor refuses a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RefuseReason {
    /// It lacks a capability the task needs.
    Incapable,
    /// It holds (and has reserved) its capacity.
    Full,
}

/// Why a contractor reports failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// The task failed while running (`failure_ratio`).
    Failed,
    /// An award came when the contractor was full (bids that do not
    /// reserve capacity).
    Full,
    /// An award came for a proposal the contractor no longer has (it lapsed
    /// after a lease, or the contractor restarted since).
    Unknown,
}

/// Messages, named after the FIPA communicative acts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, agentsim_macros::Message)]
#[serde(tag = "act", rename_all = "snake_case")]
pub enum CnetMsg {
    /// A client's task handed to its manager by the contractor the workload
    /// delivered it to (submissions are remapped to managers).
    Request {
        /// The submission's index.
        index: u64,
        /// Its client.
        client: u32,
        /// Its content draw ([`crate::node::Submission::draw`]).
        draw: u64,
    },
    /// `cfp`: the task, for proposals.
    Cfp {
        /// The task.
        task: TaskId,
        /// The announcement round.
        epoch: Epoch,
        /// Its size: ns of work at speed 1.
        size_ns: u64,
        /// The capabilities it needs (a mask).
        caps: u32,
    },
    /// `propose`: the contractor's cost.
    Propose {
        /// The task.
        task: TaskId,
        /// The round answered.
        epoch: Epoch,
        /// The bid (see [`super::Cost`]); lower wins.
        cost: u64,
        /// The proposal's number at the contractor: an answer names it, so
        /// that a duplicated award cannot take a later proposal of the same
        /// round (made for a duplicated call).
        bid: u32,
    },
    /// `refuse`.
    Refuse {
        /// The task.
        task: TaskId,
        /// The round answered.
        epoch: Epoch,
        /// Why.
        reason: RefuseReason,
    },
    /// `accept-proposal`: the award, with a lease.
    AcceptProposal {
        /// The task.
        task: TaskId,
        /// The round awarded.
        epoch: Epoch,
        /// The proposal accepted.
        bid: u32,
    },
    /// `reject-proposal`.
    RejectProposal {
        /// The task.
        task: TaskId,
        /// The round.
        epoch: Epoch,
        /// The proposal rejected.
        bid: u32,
        /// The proposal came after the round closed.
        late: bool,
    },
    /// `inform-done`: the result.
    InformDone {
        /// The task.
        task: TaskId,
        /// The round it was awarded in.
        epoch: Epoch,
    },
    /// `failure`.
    Failure {
        /// The task.
        task: TaskId,
        /// The round it was awarded in.
        epoch: Epoch,
        /// Why.
        reason: FailureReason,
    },
    /// A progress report, which asks for the lease to be renewed.
    Progress {
        /// The task.
        task: TaskId,
        /// The round it was awarded in.
        epoch: Epoch,
        /// The contractor's tick when it sent this.
        tick: u32,
    },
    /// The lease renewed, from the tick of the report answered.
    Renew {
        /// The task.
        task: TaskId,
        /// The round it was awarded in.
        epoch: Epoch,
        /// The tick of the report this answers.
        tick: u32,
    },
    /// `cancel`: drop the task (its result came from an earlier holder).
    Cancel {
        /// The task.
        task: TaskId,
        /// The round it was awarded in.
        epoch: Epoch,
    },
    /// A contractor's load (tasks held and reserved), sent to every
    /// manager on every change (least-loaded baseline only).
    LoadReport {
        /// Tasks held and reserved.
        load: u32,
        /// The contractor's report number: a reordered older report is ignored.
        seq: u32,
    },
}

/// Contract net's timers (one slot each per node).
#[derive(Clone, Copy, Debug, PartialEq, Eq, agentsim_macros::TimerTag)]
pub enum CnetTimer {
    /// The lease clock: every `report_every` while the node counts a lease
    /// (contractors also report progress then).
    Tick,
    /// A manager's next deadline, retry or central-queue poll.
    Agenda,
    /// A contractor's running task ends.
    Work,
}

/// Why a manager announces a task again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Why {
    /// No proposal came by the deadline (every invitee refused or was silent).
    NoBid,
    /// The winner reported failure (or could not take the award).
    Failure,
    /// The winner went silent past its lease.
    Silent,
}

/// Why a contractor stops holding a task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Release {
    /// It finished and sent `inform-done`.
    Done,
    /// It finished and sent `failure`.
    Failed,
    /// Its lease ran out (no renewal within the lease).
    Expired,
    /// The manager cancelled it.
    Cancelled,
}

/// Protocol facts for the trace, the checkers and the metrics.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum CnetNote {
    /// A manager took a task (persisted before it is announced).
    Submitted {
        /// The task.
        task: TaskId,
        /// The workload submission's index.
        index: u64,
        /// Its size: ns of work at speed 1.
        size_ns: u64,
        /// The capabilities it needs.
        caps: u32,
        /// The version of the write that holds it (lost if a crash comes
        /// before the write completes: see [`CnetNote::Restarted`]).
        version: u64,
    },
    /// A manager restarted from the durable state of `version`: facts
    /// noted with a later version were never durable, and are undone.
    Restarted {
        /// The version recovered.
        version: u64,
        /// Its next task number (tasks from here on were lost).
        next_seq: u32,
    },
    /// A manager sent a call for proposals (or its baseline's offer).
    Announced {
        /// The task.
        task: TaskId,
        /// The round.
        epoch: Epoch,
        /// Contractors invited.
        invited: u32,
    },
    /// A manager awarded a round (sent `accept-proposal`).
    Awarded {
        /// The task.
        task: TaskId,
        /// The round.
        epoch: Epoch,
        /// The winner.
        to: NodeId,
        /// Proposals received in the round by then.
        bids: u32,
    },
    /// A proposal came after its round closed.
    Late {
        /// The task.
        task: TaskId,
        /// The round it answered.
        epoch: Epoch,
        /// The contractor.
        from: NodeId,
    },
    /// A manager will announce a task again.
    Reannounced {
        /// The task.
        task: TaskId,
        /// Why.
        why: Why,
    },
    /// A manager accepted a task's result.
    Completed {
        /// The task.
        task: TaskId,
        /// Who ran it.
        by: NodeId,
        /// The round it was awarded in.
        epoch: Epoch,
        /// The version of the write that records it.
        version: u64,
    },
    /// A contractor took an award: its lease on the task starts.
    Holding {
        /// The task.
        task: TaskId,
        /// The round.
        epoch: Epoch,
    },
    /// A contractor started running a task it holds.
    Started {
        /// The task.
        task: TaskId,
        /// The round.
        epoch: Epoch,
    },
    /// A contractor stopped holding a task.
    Released {
        /// The task.
        task: TaskId,
        /// The round.
        epoch: Epoch,
        /// Why.
        why: Release,
    },
}

impl Note for CnetNote {
    fn decided(&self) -> Option<Decision> {
        match self {
            CnetNote::Completed { task, by, .. } => Some(Decision {
                instance: ((task.manager as u64) << 32) | task.seq as u64,
                value: format!("done by {by}"),
            }),
            _ => None,
        }
    }
    fn tag(&self) -> Option<&'static str> {
        Some(match self {
            CnetNote::Submitted { .. } => "submitted",
            CnetNote::Restarted { .. } => "restarted",
            CnetNote::Announced { .. } => "announced",
            CnetNote::Awarded { .. } => "awarded",
            CnetNote::Late { .. } => "late",
            CnetNote::Reannounced { .. } => "reannounced",
            CnetNote::Completed { .. } => "completed",
            CnetNote::Holding { .. } => "holding",
            CnetNote::Started { .. } => "started",
            CnetNote::Released { .. } => "released",
        })
    }
}
