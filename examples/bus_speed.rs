//! Message-bus deliveries per second of wall time, on one core, tracing
//! off, no faults: the criterion bench's scenario (`benches/bus.rs`) as one
//! command, for profiling and quick comparisons.
//!
//! - one run: node 0 is the broker, nodes 1..=`--clients` the clients;
//!   `--topics` topics of `--subscribers` subscribers each; `--publications`
//!   publications arrive at 100,000 per second on random clients (uniform
//!   topics); latency 1–5 ms; no loss; the run goes on until nothing is in
//!   flight;
//! - prints one line per guarantee with the deliveries to applications
//!   (`deliveries=`, the bench's figure) and their rate per second of wall
//!   time and of CPU time (`per_cpu_s`: on a shared host wall time also
//!   counts the time others ran), and the network deliveries (messages
//!   the engine delivered, acks included) per second, and each run's hash
//!   (a faster build must print the same).
//!
//! ```text
//! cargo run --release --example bus_speed                          # every guarantee
//! cargo run --release --example bus_speed -- --guarantee at-most-once --runs 3
//! ```

use agentsim::observe::PropertyKind;
use agentsim::protocols::bus::{BusConfig, BusSpec, Guarantee};
use agentsim::protocols::ProtocolConfig;
use agentsim::run::run_silent;
use agentsim::scenario::Scenario;
use clap::Parser;
use std::time::Instant;

#[derive(Parser)]
struct Args {
    /// One guarantee (default: each in turn).
    #[arg(long)]
    guarantee: Option<Guarantee>,
    #[arg(long, default_value_t = 1000)]
    clients: u32,
    #[arg(long, default_value_t = 10)]
    topics: u32,
    #[arg(long, default_value_t = 100)]
    subscribers: u32,
    #[arg(long, default_value_t = 5_000)]
    publications: u64,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Runs per guarantee (the figure is over all of them).
    #[arg(long, default_value_t = 1)]
    runs: u64,
}

/// The bench's scenario.
fn scenario(a: &Args, g: Guarantee, seed: u64) -> Scenario {
    let cfg = BusConfig {
        brokers: 1,
        topics: a.topics,
        subscribers_per_topic: a.subscribers,
        guarantee: g,
        ..BusConfig::default()
    };
    let mut sc = Scenario {
        seed,
        nodes: a.clients + 1,
        events_max: u64::MAX,
        stop_when_done: false,
        protocol: ProtocolConfig::of::<BusSpec>(cfg),
        ..Scenario::default()
    };
    sc.net.latency = "1ms..5ms".parse().expect("latency spelling");
    sc.workload.arrivals = "poisson:rate=100000".parse().expect("arrivals spelling");
    sc.workload.count = a.publications;
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
    let gs: Vec<Guarantee> = match a.guarantee {
        Some(g) => vec![g],
        None => Guarantee::ALL.to_vec(),
    };
    for g in gs {
        let (mut apps, mut net, mut secs, mut cpu) = (0u64, 0u64, 0.0f64, 0.0f64);
        let mut hashes = Vec::new();
        for k in 0..a.runs {
            let sc = scenario(&a, g, a.seed + k);
            let (started, cpu0) = (Instant::now(), cpu_s());
            let r = run_silent(&sc);
            secs += started.elapsed().as_secs_f64();
            cpu += cpu_s() - cpu0;
            // A run without faults reaches no "sometimes" property: not a failure.
            let failed: Vec<_> = r
                .violations
                .iter()
                .filter(|v| v.kind != PropertyKind::Sometimes)
                .collect();
            assert!(failed.is_empty(), "{failed:?}");
            apps += *r.metrics.get("deliveries").expect("deliveries reported") as u64;
            net += r.counts.delivered;
            hashes.push(r.hash);
        }
        println!(
            "guarantee={g} clients={} runs={} deliveries={apps} deliveries_per_s={:.0} deliveries_per_cpu_s={:.0} ns_per_delivery={:.1} net_deliveries={net} net_per_s={:.0} wall_s={secs:.3} hash={}",
            a.clients,
            a.runs,
            apps as f64 / secs,
            apps as f64 / cpu,
            secs * 1e9 / apps as f64,
            net as f64 / secs,
            hashes.join(","),
        );
    }
}
