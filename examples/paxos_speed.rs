//! Multi-Paxos message deliveries per second of wall time, on one core,
//! tracing off, no faults.
//!
//! - one run: `--nodes N` nodes (every one an acceptor, a learner and a
//!   possible leader), latency 1–5 ms, clients submitting `--commands`
//!   commands to the leader as a Poisson process of `--rate` per second
//!   (no window: every command gets a slot at once, no batching);
//! - the run ends when every command is chosen and executed everywhere
//!   (`stop done`); it asserts that, and that no property was violated;
//! - prints one line with `deliveries_per_s=` and `ns_per_delivery=`.
//!
//! ```text
//! cargo run --release --example paxos_speed                    # 5 nodes
//! cargo run --release --example paxos_speed -- --nodes 101 --commands 10000
//! ```

use agentsim::engine::setup::{Arrivals, Target};
use agentsim::protocols::paxos::{Mode, PaxosConfig, PaxosSpec};
use agentsim::protocols::ProtocolConfig;
use agentsim::run::run_silent;
use agentsim::scenario::Scenario;
use clap::Parser;
use std::time::Instant;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 5)]
    nodes: u32,
    #[arg(long, default_value_t = 200_000)]
    commands: u64,
    /// Submissions per second of virtual time.
    #[arg(long, default_value_t = 50_000.0)]
    rate: f64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Runs (the figure is over all of them).
    #[arg(long, default_value_t = 1)]
    runs: u64,
    /// One-way message latency (a latency spelling).
    #[arg(long, default_value = "1ms..5ms")]
    latency: String,
}

/// The scenario the example and the criterion bench measure.
fn scenario(nodes: u32, commands: u64, rate: f64, seed: u64, latency: &str) -> Scenario {
    let mut sc = Scenario {
        seed,
        nodes,
        time_max: agentsim::time::Dur(3600 * agentsim::time::SEC),
        liveness_bound: agentsim::time::Dur(3600 * agentsim::time::SEC),
        events_max: u64::MAX,
        protocol: ProtocolConfig::of::<PaxosSpec>(PaxosConfig {
            mode: Mode::Multi,
            window: 0,
            ..PaxosConfig::default()
        }),
        ..Scenario::default()
    };
    sc.net.latency = latency.parse().expect("latency spelling");
    sc.workload.arrivals = Arrivals::Poisson { rate };
    sc.workload.count = commands;
    sc.workload.clients = 10;
    sc.workload.target = Target::Leader;
    sc.workload.start = agentsim::time::Dur::from_ms(500);
    sc.validate().expect("a valid scenario");
    sc
}

fn main() {
    let a = Args::parse();
    let (mut delivered, mut events, mut secs) = (0u64, 0u64, 0.0f64);
    for k in 0..a.runs {
        let sc = scenario(a.nodes, a.commands, a.rate, a.seed + k, &a.latency);
        let started = Instant::now();
        let r = run_silent(&sc);
        secs += started.elapsed().as_secs_f64();
        assert!(r.violations.is_empty(), "{:?}", r.violations);
        assert_eq!(r.stop.as_str(), "done");
        assert_eq!(
            r.metrics.get("commands_chosen").copied(),
            Some(a.commands as f64)
        );
        delivered += r.counts.delivered;
        events += r.events;
    }
    println!(
        "nodes={} commands={} runs={} deliveries={} events={} wall_s={:.3} deliveries_per_s={:.0} ns_per_delivery={:.1}",
        a.nodes,
        a.commands,
        a.runs,
        delivered,
        events,
        secs,
        delivered as f64 / secs,
        secs * 1e9 / delivered as f64
    );
}
