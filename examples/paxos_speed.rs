//! Multi-Paxos message deliveries per second of wall time, on one core,
//! tracing off, no faults.
//!
//! - one run: `--nodes N` nodes (every one an acceptor, a learner and a
//!   possible leader), a fixed latency of 2 ms (`--latency`, any latency
//!   spelling, e.g. `1ms..5ms`), clients submitting `--commands`
//!   commands to the leader as a Poisson process of `--rate` per second
//!   (no window: every command gets a slot at once, no batching);
//! - the run ends when every command is chosen and executed everywhere
//!   (`stop done`); it asserts that, and that no property was violated;
//! - prints one line with `deliveries_per_s=` and `ns_per_delivery=` (wall
//!   time), and the same per second of CPU time this process used
//!   (`deliveries_per_cpu_s=`: on a host shared with other work, wall time
//!   also counts the time others ran, CPU time does not).
//!
//! ```text
//! cargo run --release --example paxos_speed                    # 5 nodes
//! cargo run --release --example paxos_speed -- --nodes 101 --commands 10000
//! cargo run --release --example paxos_speed -- --latency 1ms..5ms
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
    #[arg(long, default_value = "2ms")]
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

/// CPU time this process used so far (user and system), in seconds.
#[cfg(unix)]
fn cpu_s() -> f64 {
    // SAFETY: getrusage writes into the struct it is given, nothing else.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    let t = |v: libc::timeval| v.tv_sec as f64 + v.tv_usec as f64 * 1e-6;
    t(u.ru_utime) + t(u.ru_stime)
}

#[cfg(not(unix))]
fn cpu_s() -> f64 {
    f64::NAN
}

fn main() {
    let a = Args::parse();
    let (mut delivered, mut events, mut secs, mut cpu) = (0u64, 0u64, 0.0f64, 0.0f64);
    for k in 0..a.runs {
        let sc = scenario(a.nodes, a.commands, a.rate, a.seed + k, &a.latency);
        let (started, cpu0) = (Instant::now(), cpu_s());
        let r = run_silent(&sc);
        secs += started.elapsed().as_secs_f64();
        cpu += cpu_s() - cpu0;
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
        "nodes={} latency={} commands={} runs={} deliveries={} events={} wall_s={:.3} deliveries_per_s={:.0} ns_per_delivery={:.1} cpu_s={:.3} deliveries_per_cpu_s={:.0}",
        a.nodes,
        a.latency,
        a.commands,
        a.runs,
        delivered,
        events,
        secs,
        delivered as f64 / secs,
        secs * 1e9 / delivered as f64,
        cpu,
        delivered as f64 / cpu
    );
}
