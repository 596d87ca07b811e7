//! Complete 5-node Raft elections per second on one core, tracing off.
//!
//! - each election is one whole run: build the cluster, run until a leader is
//!   elected and every node follows it (`stop done`);
//! - prints one line with `elections_per_s=`.
//!
//! ```text
//! cargo run --release --example elections -- --runs 200000
//! ```

use agentsim::run::run_silent;
use agentsim::scenario::Scenario;
use clap::Parser;
use std::time::Instant;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 200_000)]
    runs: u64,
    #[arg(long, default_value_t = 5)]
    nodes: u32,
}

fn main() {
    let a = Args::parse();
    let base = Scenario {
        nodes: a.nodes,
        ..Scenario::default()
    };
    let started = Instant::now();
    let mut events = 0;
    for seed in 0..a.runs {
        let r = run_silent(&Scenario {
            seed,
            ..base.clone()
        });
        assert!(r.violations.is_empty() && r.stop.as_str() == "done");
        events += r.events;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "runs={} nodes={} wall_s={:.3} elections_per_s={:.0} events_per_election={:.1}",
        a.runs,
        a.nodes,
        secs,
        a.runs as f64 / secs,
        events as f64 / a.runs as f64
    );
}
