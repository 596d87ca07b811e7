//! One integration-test binary (fast to build, easy to scan). Modules:
//!
//! - `common`: helpers shared by the modules (scenario builders, the binary's path).
//! - `cli`, `determinism`, `raft`, `sweep`, `plot`: see each module's first line below.
mod common;
// The command line: outputs, exit codes, bad input.
mod cli;
// Same seed same bytes, different seed different hash, replay, golden hashes.
mod determinism;
// Raft election safety and liveness under faults; broken variants caught.
mod raft;
// Sweeps: identical files whatever --jobs, shards or resumes; summaries; bad experiment files.
mod sweep;
// Plots: valid PNG and SVG of the requested size, from results and from traces.
mod plot;
