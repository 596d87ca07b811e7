//! # agentsim
//!
//! A deterministic discrete-event simulator for agent and distributed protocols.
//!
//! One thread runs one simulation: an event queue in virtual time
//! ([`engine`]), a simulated network that delays, loses, duplicates and
//! reorders messages, partitions links and crashes nodes ([`net`]), and
//! protocol nodes that are pure state machines ([`node`], [`protocols`]).
//! Monitors check named properties while the run goes ([`observe`]); a
//! trace records it ([`observe::trace`]).
//!
//! ## Layers
//!
//! Arrows run down; nothing points up:
//!
//! ```text
//!  cli ──► plot ──► experiment ──► run ──► scenario ──► protocols ──► engine ──► observe ──► net ──► node
//!                                                                                  time, rng, hash (under all)
//! ```
//!
//! A protocol is a folder under `protocols/` and one registration line;
//! out-of-tree protocols plug in through [`protocols::Registry`] and get the
//! whole command line from [`cli::main_with`] (see the README's "Write your
//! own protocol" and [`prelude`]).
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
//!   ([`hash::RunHasher`]) is the same at every trace level.
//!
//! Runs are single-threaded; `check` (and sweeps) run many seeds in parallel,
//! one run per thread at a time, and sort results by seed, so their output
//! does not depend on the number of threads.
//!
//! ## Features
//!
//! `cli` (default) builds the command line and enables `plot`; `plot` builds
//! the figures. Without them (`default-features = false`) the library is the
//! engine, the protocols, runs, checks and sweeps, without clap, plotters,
//! the PNG and font stack, the progress bar or the formula parser.

#![warn(missing_docs)]

// The derive macros name `::agentsim::...`; inside this crate that is us.
extern crate self as agentsim;

#[cfg(feature = "cli")]
pub mod cli;
pub mod engine;
pub mod experiment;
pub mod hash;
pub mod net;
pub mod node;
pub mod observe;
#[cfg(feature = "plot")]
pub mod plot;
pub mod protocols;
pub mod rng;
pub mod run;
pub mod scenario;
pub mod time;

/// What a protocol author needs, in one import: `use agentsim::prelude::*;`.
pub mod prelude {
    pub use crate::engine::{RunReport, StopReason};
    pub use crate::hash::RunHasher;
    pub use crate::node::{
        Adversary, Behaviour, BehaviourKind, Command, Ctx, Decision, Init, Message, MetricDef,
        NoNote, NoTimer, NodeId, Note, Protocol, Submission, TimerTag,
    };
    pub use crate::observe::{
        property, Monitor, MonitorInit, NoMonitor, Outcome, Property, PropertyKind, SeriesDef,
        Violation, World,
    };
    #[cfg(feature = "cli")]
    pub use crate::protocols::{Flags, NoFlags};
    pub use crate::protocols::{ProtocolConfig, Registry, Spec};
    pub use crate::scenario::Scenario;
    pub use crate::time::{Dur, SimTime, MS, SEC, US};
    pub use agentsim_macros::{Message, TimerTag};
}
