//! PHOLD through the agentsim engine, for timing side by side with other simulators.
//!
//! - `processes` nodes, each starting with one event; every event schedules one
//!   new event `1ms + Exp(1ms)` later, remote with probability 0.25 (ROSS defaults);
//! - runs until `events` events have been processed, tracing off;
//! - prints one line with `events_per_s=`.
//!
//! ```text
//! cargo run --release --example phold -- --processes 100000 --events 10000000 --seed 1
//! ```

use agentsim::protocols::phold::{run_phold, PholdConfig};
use clap::Parser;
use std::time::Instant;

#[derive(Parser)]
struct Args {
    /// Number of processes (= pending events).
    #[arg(long, default_value_t = 1000)]
    processes: u32,
    /// Events to process.
    #[arg(long, default_value_t = 10_000_000)]
    events: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() {
    let a = Args::parse();
    let started = Instant::now();
    let r = run_phold(a.processes, a.events, a.seed, PholdConfig::default());
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(r.events, a.events, "PHOLD never runs dry");
    println!(
        "processes={} events={} seed={} wall_s={:.3} events_per_s={:.0} hash={}",
        a.processes,
        r.events,
        a.seed,
        secs,
        r.events as f64 / secs,
        r.hash
    );
}
