//! Many deadlines behind one timer: a node keeps one timer slot per tag, so
//! each tag's deadlines (every retry of every message, every FIFO gap,
//! every request) wait in a min-heap and the slot is armed for the earliest.
//!
//! Ties are broken by insertion order (a sequence number), so the order of
//! due items never depends on their content. Entries are never removed
//! early: the owner checks, when one comes due, whether it still applies.
//! The timer fires on the node's local clock; an early firing (clock
//! drift) leaves the items not yet due waiting, and re-arms.

use super::msg::BusTimer;
use super::Bus;
use crate::node::Ctx;
use crate::time::SimTime;
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Deadlines of one timer tag.
#[derive(Clone, Debug)]
pub struct Alarm<T: Ord> {
    tag: BusTimer,
    heap: BinaryHeap<Reverse<(SimTime, u64, T)>>,
    seq: u64,
    /// The deadline the timer is armed for.
    armed: Option<SimTime>,
    /// The deadline the timer was armed for when it last fired.
    fired_for: Option<SimTime>,
}

impl<T: Ord + Copy> Alarm<T> {
    /// No deadline, behind timer `tag`.
    pub fn new(tag: BusTimer) -> Self {
        Alarm {
            tag,
            heap: BinaryHeap::new(),
            seq: 0,
            armed: None,
            fired_for: None,
        }
    }

    /// `item` is due at `at`; arms the timer if it comes first.
    pub fn add(&mut self, ctx: &mut Ctx<'_, Bus>, at: SimTime, item: T) {
        self.heap.push(Reverse((at, self.seq, item)));
        self.seq += 1;
        if self.armed.is_none_or(|a| at < a) {
            self.armed = Some(at);
            ctx.set_timer(self.tag, at.saturating_sub(ctx.now()));
        }
    }

    /// The timer fired: it is no longer armed.
    pub fn fired(&mut self) {
        self.fired_for = self.armed.take();
    }

    /// The next item due at or before `now`, if any.
    pub fn pop_due(&mut self, now: SimTime) -> Option<T> {
        match self.heap.peek() {
            Some(Reverse((at, _, _))) if *at <= now => self.heap.pop().map(|Reverse(e)| e.2),
            _ => None,
        }
    }

    /// Arms the timer for the earliest deadline left (after a firing). A
    /// deadline whose timer fired early (a fast local clock) is re-armed
    /// 1 ns later than it is due, so that it cannot fire at the same instant
    /// forever.
    pub fn rearm(&mut self, ctx: &mut Ctx<'_, Bus>) {
        if let Some(Reverse((at, _, _))) = self.heap.peek() {
            let at = *at;
            if self.armed != Some(at) {
                let early = self.fired_for == Some(at);
                self.armed = Some(at);
                ctx.set_timer(self.tag, at.saturating_sub(ctx.now()) + early as u64);
            }
        }
    }
}
