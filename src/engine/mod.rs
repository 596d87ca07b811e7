//! The engine: virtual time, the event queue and the run loop.
//!
//! ```text
//!   EventQueue (time, seq) ──pop──► dispatch ──► P::on_*(node, ctx)
//!          ▲                                        │ commands (send, timer, note, persist)
//!          └────────── Network (links, faults) ◄────┘
//!   observers: trace + hash, property monitor, counters
//! ```
//!
//! The engine knows protocols only through the [`Protocol`](crate::node::Protocol)
//! trait and takes a [`Setup`] with no protocol in it. A run is one
//! [`Simulation<P, M>`](Simulation): monomorphic in the protocol and its
//! monitor, so the hot loop has no dynamic dispatch.
//!
//! # Message ordering guarantees
//!
//! Events run in `(time, seq)` order, where `seq` is a global counter
//! incremented at every insertion into the queue: events at the same instant
//! run in the order they were scheduled, never by payload, node id or hash.
//! With per-link FIFO off, messages on one link reorder through their random
//! delays; with FIFO on, a message is never delivered before one sent earlier
//! on the same directed link (equal delivery times keep send order by `seq`).
//!
//! # Crash semantics
//!
//! A crash drops the node's volatile state, invalidates its pending timers,
//! loses its storage writes in progress (and the messages they held) and
//! drops every message that arrives while it is down (trace reason
//! `dst_down`). Recovery rebuilds the node with `Protocol::init` from the last
//! durable state it wrote and calls `on_start`.

pub mod limits;
pub mod queue;
pub mod setup;
mod sim;

pub use setup::Setup;
pub use sim::{queued_message_size, RunReport, Simulation, StopReason, Undecided};

/// A hint to the CPU to start loading `p`'s cache line; never dereferences it.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is only a hint; it never faults, even on an
    // address outside any allocation, and reads nothing.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
