//! PLACEHOLDER (binary heap) until the calendar queue lands.
use crate::time::SimTime;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;

pub struct Scheduled<E> {
    pub time: SimTime,
    pub seq: u64,
    pub event: E,
}
impl<E> PartialEq for Scheduled<E> {
    fn eq(&self, o: &Self) -> bool {
        (self.time, self.seq) == (o.time, o.seq)
    }
}
impl<E> Eq for Scheduled<E> {}
impl<E> PartialOrd for Scheduled<E> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl<E> Ord for Scheduled<E> {
    fn cmp(&self, o: &Self) -> Ordering {
        (self.time, self.seq).cmp(&(o.time, o.seq))
    }
}
pub struct EventQueue<E> {
    heap: BinaryHeap<Reverse<Scheduled<E>>>,
    seq: u64,
}
impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}
impl<E> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
    pub fn push(&mut self, time: SimTime, event: E) -> u64 {
        let seq = self.seq;
        self.seq += 1;
        self.heap.push(Reverse(Scheduled { time, seq, event }));
        seq
    }
    pub fn pop(&mut self) -> Option<Scheduled<E>> {
        self.heap.pop().map(|r| r.0)
    }
    pub fn peek_time(&mut self) -> Option<SimTime> {
        self.heap.peek().map(|r| r.0.time)
    }
    pub fn len(&self) -> usize {
        self.heap.len()
    }
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
    pub fn next_seq(&self) -> u64 {
        self.seq
    }
}
