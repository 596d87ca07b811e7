//! A replica's log: what it accepted, sent, prepared and executed, per
//! sequence number, and everything else that survives a crash.
//!
//! The log lives behind an `Rc`: persisting hands the engine a copy of the
//! pointer, and the next change copies the log only if the engine kept that
//! copy (it keeps one only when a fault can crash a node).

use super::{ClientReq, Cert, NewView, Pbft, Req, Shared, Tally};
use crate::node::NodeId;
use std::collections::BTreeMap;
use std::rc::Rc;

/// One sequence number of the log.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Slot {
    /// The PrePrepare accepted (or, at the primary, sent): its view and request.
    pub pre_prepare: Option<(u64, Req)>,
    /// The Prepare sent: view and digest.
    pub prepare_sent: Option<(u64, u64)>,
    /// The Commit sent (so prepared in that view): view and digest.
    pub commit_sent: Option<(u64, u64)>,
    /// The prepared certificate of the highest view.
    pub prepared: Option<(u64, Req)>,
    /// Committed-local in this view (volatile in spirit: recomputed from votes).
    pub committed: Option<(u64, Req)>,
    /// The digest executed at this sequence number.
    pub executed: Option<u64>,
}

/// Request ids below this are kept in a vector indexed by id (workload
/// submissions are numbered from 0).
pub const DENSE_IDS: u64 = 1 << 32;

/// Everything a replica persists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Core {
    /// The current view.
    pub view: u64,
    /// The view a view change under way moves to.
    pub changing: Option<u64>,
    /// View changes since the last fresh execution (the timeout doubles with each).
    pub backoff: u32,
    /// The log, index `seq − 1`.
    pub slots: Vec<Slot>,
    /// The last executed sequence number.
    pub last_exec: u64,
    /// The primary's next sequence number.
    pub next_seq: u64,
    /// By request id: 1 + the sequence number it executed at, or 0.
    pub exec_seq: Vec<u64>,
    /// The same for ids beyond [`DENSE_IDS`] (only a Byzantine replica's
    /// made-up digests, executed with `f + 1` Byzantine replicas or more).
    pub exec_far: BTreeMap<u64, u64>,
    /// The requests this replica proxies, waiting for replies.
    pub clients: Vec<ClientReq>,
    /// The NewView of the current view (none in view 0): kept so that a
    /// replica back from a crash can still relay it to one that missed it.
    pub new_view: Option<Shared<NewView>>,
}

impl Core {
    /// The slot of `seq` (1-based), created if needed.
    #[inline]
    pub fn slot_mut(&mut self, seq: u64) -> &mut Slot {
        let i = (seq - 1) as usize;
        if i >= self.slots.len() {
            self.slots.resize_with(i + 1, Slot::default);
        }
        &mut self.slots[i]
    }

    /// The sequence number request `id` executed at.
    #[inline]
    pub fn executed_at(&self, id: u64) -> Option<u64> {
        if id >= DENSE_IDS {
            return self.exec_far.get(&id).copied();
        }
        match self.exec_seq.get(id as usize) {
            Some(&s) if s > 0 => Some(s - 1),
            _ => None,
        }
    }

    /// Records that request `id` executed at `seq`.
    pub fn set_executed(&mut self, id: u64, seq: u64) {
        if id >= DENSE_IDS {
            self.exec_far.insert(id, seq);
            return;
        }
        let i = id as usize;
        if i >= self.exec_seq.len() {
            self.exec_seq.resize(i + 1, 0);
        }
        self.exec_seq[i] = seq + 1;
    }

    /// This replica's prepared certificates (what its ViewChange carries).
    pub fn certificates(&self) -> Vec<Cert> {
        self.slots
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.prepared.map(|(view, req)| Cert {
                    seq: i as u64 + 1,
                    view,
                    req,
                })
            })
            .collect()
    }
}

/// What survives a crash: the log (see `Core`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PbftDurable(pub Rc<Core>);

impl Pbft {
    /// Rebuilds the volatile state from the log after a recovery: its own
    /// votes count again, requests pre-prepared and not executed wait again.
    pub(super) fn restore(&mut self, me: NodeId) {
        let core = self.core.clone();
        let n = self.n;
        let view = core.view;
        self.new_view = core.new_view.clone().filter(|nv| nv.view == view);
        self.votes = vec![(Tally::default(), Tally::default()); core.slots.len()];
        for (i, s) in core.slots.iter().enumerate() {
            if let Some((v, d)) = s.prepare_sent {
                self.votes[i].0.add(n, v, d, me);
            }
            if let Some((v, d)) = s.commit_sent {
                self.votes[i].1.add(n, v, d, me);
            }
            if let Some((v, req)) = s.pre_prepare {
                if !req.is_null() && core.executed_at(req.id).is_none() {
                    self.pending.insert(req.id, req);
                }
                if v == view && self.primary(view) == me && !req.is_null() {
                    self.assigned.insert(req.id);
                }
            }
        }
        for c in &core.clients {
            if core.executed_at(c.req.id).is_none() {
                self.pending.insert(c.req.id, c.req);
            }
        }
    }

    /// The votes of `seq`, created if needed.
    #[inline]
    pub(super) fn votes_mut(&mut self, seq: u64) -> &mut (Tally, Tally) {
        let i = (seq - 1) as usize;
        if i >= self.votes.len() {
            self.votes.resize_with(i + 1, Default::default);
        }
        &mut self.votes[i]
    }
}
