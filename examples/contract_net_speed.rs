//! Message deliveries per second of contract net on one core, tracing off.
//!
//! - one manager calls for proposals to every contractor (`filter = none`,
//!   no capabilities), bids are the expected completion time and do not
//!   reserve capacity; tasks arrive as a Poisson process at `rate` per
//!   second with exponential sizes of mean 0.5 s (offered load 0.5 at the
//!   default rate of one task per second per contractor);
//! - runs until every task is completed (`stop done`) and asserts it;
//! - prints one line: deliveries, wall time, `deliveries_per_s=`.
//!
//! ```text
//! cargo run --release --example contract_net_speed -- --contractors 1000 --tasks 100000
//! ```

use agentsim::protocols::contract_net::{ContractNetConfig, ContractNetSpec, Filter};
use agentsim::protocols::ProtocolConfig;
use agentsim::run::run_silent;
use agentsim::scenario::Scenario;
use clap::Parser;
use std::time::Instant;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 1000)]
    contractors: u32,
    #[arg(long, default_value_t = 10_000)]
    tasks: u64,
    /// Tasks per second [default: one per contractor].
    #[arg(long)]
    rate: Option<f64>,
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() {
    let a = Args::parse();
    let rate = a.rate.unwrap_or(a.contractors as f64);
    let mut sc = Scenario {
        seed: a.seed,
        nodes: a.contractors + 1,
        time_max: agentsim::time::Dur(u64::MAX / 2),
        liveness_bound: agentsim::time::Dur(u64::MAX / 4),
        events_max: u64::MAX,
        protocol: ProtocolConfig::of::<ContractNetSpec>(ContractNetConfig {
            filter: Filter::None,
            reserve: false,
            size_mean: 0.5,
            ..ContractNetConfig::default()
        }),
        ..Scenario::default()
    };
    sc.workload.arrivals = format!("poisson:rate={rate}").parse().expect("arrivals");
    sc.workload.count = a.tasks;
    sc.workload.target = "node:0".parse().expect("target");
    sc.validate().expect("a valid scenario");
    let started = Instant::now();
    let r = run_silent(&sc);
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(r.stop.as_str(), "done", "{:?}", r.violations);
    assert_eq!(
        r.metrics.get("tasks_completed").copied(),
        Some(a.tasks as f64)
    );
    let d = r.counts.delivered;
    println!(
        "contractors={} tasks={} deliveries={} events={} wall_s={:.3} deliveries_per_s={:.0} msgs_per_task={:.1}",
        a.contractors,
        a.tasks,
        d,
        r.events,
        secs,
        d as f64 / secs,
        r.metrics.get("msgs_per_task").copied().unwrap_or(0.0)
    );
}
