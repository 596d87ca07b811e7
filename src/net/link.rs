//! The fate of one message: the per-message link decision (route,
//! partition, loss, capacity, latency, FIFO, duplication), drawn from the
//! network stream in a fixed order.

use super::{DropReason, NetConfig, Partitions};
use crate::node::{Graph, NodeId};
use crate::rng::{stream, SimRng};
use crate::time::SimTime;
use std::collections::HashMap;

/// What the network does with one message sent now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fate {
    /// Not delivered, for this reason (known at the send).
    Drop(DropReason),
    /// Delivered at `at`, and a second copy at `dup` if the link duplicates it.
    Deliver {
        /// When the message arrives.
        at: SimTime,
        /// When its duplicate arrives, if any.
        dup: Option<SimTime>,
    },
}

/// The network's state during a run: the link model, its random stream,
/// the messages in flight per link (capacity) and the last arrival per link (FIFO).
///
/// The order of draws is part of the determinism contract: a loss draw (when
/// the link loses), then the latency, then a duplication draw (when the link
/// duplicates), then the duplicate's latency.
pub struct Network {
    cfg: NetConfig,
    rng: SimRng,
    /// Looked up only, never iterated.
    in_flight: HashMap<(NodeId, NodeId), u32>,
    /// Looked up only, never iterated.
    fifo_last: HashMap<(NodeId, NodeId), SimTime>,
}

impl Network {
    /// The network of a run with `seed`.
    pub fn new(cfg: &NetConfig, seed: u64) -> Network {
        Network {
            cfg: cfg.clone(),
            rng: SimRng::new(seed, stream::NETWORK),
            in_flight: HashMap::new(),
            fifo_last: HashMap::new(),
        }
    }

    /// The link model.
    #[inline]
    pub fn config(&self) -> &NetConfig {
        &self.cfg
    }

    /// Decides the fate of a message `from -> to` sent at `now`.
    #[inline(always)]
    pub fn decide(
        &mut self,
        now: SimTime,
        from: NodeId,
        to: NodeId,
        graph: &Graph,
        parts: &Partitions,
    ) -> Fate {
        if to != from && !graph.has_edge(from, to) {
            return Fate::Drop(DropReason::NoRoute);
        }
        if parts.blocked(from, to) {
            return Fate::Drop(DropReason::Partition);
        }
        let loss = self.cfg.link(from, to).loss_ratio;
        if loss > 0.0 && self.rng.chance(loss) {
            return Fate::Drop(DropReason::Loss);
        }
        if !self.reserve(from, to) {
            return Fate::Drop(DropReason::Capacity);
        }
        let dup = self.cfg.link(from, to).dup_ratio;
        let at = self.arrival(now, from, to);
        let dup = if dup > 0.0 && self.rng.chance(dup) && self.reserve(from, to) {
            Some(self.arrival(now, from, to))
        } else {
            None
        };
        Fate::Deliver { at, dup }
    }

    /// A message `from -> to` left the link (delivered or dropped on arrival).
    #[inline]
    pub fn arrived(&mut self, from: NodeId, to: NodeId) {
        if self.cfg.capacity > 0 {
            if let Some(c) = self.in_flight.get_mut(&(from, to)) {
                *c -= 1;
            }
        }
    }

    /// Takes one slot of the link's capacity; false if it is full.
    #[inline]
    fn reserve(&mut self, from: NodeId, to: NodeId) -> bool {
        if self.cfg.capacity == 0 {
            return true;
        }
        let c = self.in_flight.entry((from, to)).or_insert(0);
        if *c >= self.cfg.capacity {
            return false;
        }
        *c += 1;
        true
    }

    /// Draws a delivery time, keeping per-link FIFO order if asked.
    #[inline(always)]
    fn arrival(&mut self, now: SimTime, from: NodeId, to: NodeId) -> SimTime {
        let delay = self.cfg.link(from, to).latency.sample(&mut self.rng);
        let mut at = now.saturating_add(delay);
        if self.cfg.fifo {
            let last = self.fifo_last.entry((from, to)).or_insert(0);
            at = at.max(*last);
            *last = at;
        }
        at
    }
}
