//! One integration-test binary (fast to build, easy to scan). Modules:
//!
//! - `common`: helpers shared by the modules (scenario builders, the binary's path).
mod common;
