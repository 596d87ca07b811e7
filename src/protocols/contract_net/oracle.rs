//! The oracle baseline's view of every contractor's true load.
//!
//! Not a protocol: no deployed dispatcher can read other machines' queues
//! at no cost and with no delay. It is here as a bound on what a
//! least-loaded dispatcher could do. Contractors write their load (tasks
//! held and reserved) on every change; the oracle reads it when it
//! dispatches, and adds the offers it has made whose rounds are still open
//! (which the contractor may not have seen yet).
//!
//! The table is per thread: a run is single-threaded and runs one at a time
//! on its thread (`check` and `sweep` give each worker its own runs), and
//! every contractor writes its entry when it is built (at the start of a
//! run, and again when it recovers from a crash, with load 0), so nothing
//! of an earlier run on the same thread is read. A crashed contractor keeps
//! its last load until it recovers (the oracle does not know who is down;
//! the lease recovers the tasks offered to it).

use crate::node::NodeId;
use std::cell::RefCell;

thread_local! {
    static LOADS: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
}

/// Records `load` as node `id`'s true load.
pub fn set(id: NodeId, load: u32) {
    LOADS.with(|l| {
        let mut l = l.borrow_mut();
        let i = id as usize;
        if l.len() <= i {
            l.resize(i + 1, 0);
        }
        l[i] = load;
    });
}

/// Runs `f` on the true loads, indexed by node id.
pub fn with<R>(f: impl FnOnce(&[u32]) -> R) -> R {
    LOADS.with(|l| f(&l.borrow()))
}
