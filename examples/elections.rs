//! Complete 5-node Raft elections per second on one core, tracing off.
//!
//! - each election is one whole run: build the cluster, run until a leader is
//!   elected and every node follows it (`stop done`);
//! - prints one line with `elections_per_s=`.
//!
//! ```text
//! cargo run --release --example elections -- --runs 200000
//! ```

use agentsim::observe::trace::TraceLevel;
use agentsim::run::{run_silent, run_to_writer};
use agentsim::scenario::Scenario;
use clap::Parser;
use std::time::Instant;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 200_000)]
    runs: u64,
    #[arg(long, default_value_t = 5)]
    nodes: u32,
    /// Keep running to this virtual time after the election (heartbeats), e.g. 10s.
    #[arg(long)]
    until: Option<agentsim::time::Dur>,
    /// Also format the trace at this level (into a discarding writer).
    #[arg(long, default_value = "off")]
    trace_level: TraceLevel,
}

fn main() {
    let a = Args::parse();
    let mut base = Scenario {
        nodes: a.nodes,
        ..Scenario::default()
    };
    if let Some(t) = a.until {
        base.time_max = t;
        base.stop_when_done = false;
    }
    let started = Instant::now();
    let mut events = 0;
    for seed in 0..a.runs {
        let sc = Scenario {
            seed,
            ..base.clone()
        };
        let r = if a.trace_level == TraceLevel::Off {
            run_silent(&sc)
        } else {
            run_to_writer(&sc, a.trace_level, Box::new(std::io::sink())).0
        };
        assert!(r.violations.is_empty());
        assert!(a.until.is_some() || r.stop.as_str() == "done");
        events += r.events;
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "runs={} nodes={} trace_level={} wall_s={:.3} elections_per_s={:.0} events_per_election={:.1}",
        a.runs,
        a.nodes,
        a.trace_level,
        secs,
        a.runs as f64 / secs,
        events as f64 / a.runs as f64
    );
}
