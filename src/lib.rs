//! # agentsim
//!
//! A deterministic discrete-event simulator for agent and distributed protocols.
//!
//! One thread runs one simulation: an event queue in virtual time
//! ([`engine`]), a simulated network that delays, loses, duplicates and
//! reorders messages, partitions links and crashes nodes ([`net`]), and
//! protocol nodes that are pure state machines ([`protocols`]). Monitors check
//! named properties while the run goes ([`observe`]); a [`trace`] records it.
//!
//! ## The determinism contract
//!
//! The same seed, scenario and program version give the same trace, byte for
//! byte, on any machine:
//!
//! - time is an integer count of nanoseconds ([`time::SimTime`]); no wall clock
//!   is read inside a run;
//! - the queue is ordered by `(time, seq)`, `seq` being a global insertion
//!   counter: same-time events run in the order they were scheduled;
//! - all randomness comes from one `u64` seed, through one ChaCha8 stream per
//!   consumer ([`rng`]); sampling methods are our own and transcendental math
//!   goes through the pure-Rust `libm`; `rand_chacha`, `rand_core` and `libm`
//!   are pinned to exact versions;
//! - simulation state that is iterated lives in `Vec`s and `BTreeMap`s; hash
//!   maps are used for lookups only;
//! - writing a trace never changes the run, and the run hash
//!   ([`trace::RunHasher`]) is the same at every trace level.
//!
//! Runs are single-threaded; `check` (and sweeps) run many seeds in parallel,
//! one run per thread at a time, and sort results by seed, so their output
//! does not depend on the number of threads.

pub mod check;
pub mod cli;
pub mod engine;
pub mod experiment;
pub mod net;
pub mod observe;
pub mod plot;
pub mod protocols;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod time;
pub mod trace;
