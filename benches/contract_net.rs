//! Contract net benchmarks: whole runs (setup included, tracing off) of one
//! manager and N contractors, every call to every contractor, until every
//! task is completed; the throughput criterion prints is message
//! deliveries per second.
//!
//! ```text
//! cargo bench --bench contract_net
//! cargo bench --bench contract_net -- 'contract_net::bidding/'
//! ```
//!
//! - `contract_net::bidding/N`: contract net, N contractors, 20,000 calls
//!   (20000 / N tasks at one task per second per contractor, offered load 0.5);
//! - `contract_net::directory/1000`: the same at 1000 contractors with 4
//!   capability kinds, calls through the directory (a quarter called);
//! - `contract_net::least_loaded/1000`: the least-loaded baseline.

use agentsim::protocols::contract_net::{ContractNetConfig, ContractNetSpec, Filter, Strategy};
use agentsim::protocols::ProtocolConfig;
use agentsim::run::run_silent;
use agentsim::scenario::Scenario;
use agentsim::time::Dur;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

fn scenario(contractors: u32, tasks: u64, cfg: ContractNetConfig) -> Scenario {
    let mut sc = Scenario {
        seed: 1,
        nodes: contractors + 1,
        time_max: Dur(u64::MAX / 2),
        liveness_bound: Dur(u64::MAX / 4),
        events_max: u64::MAX,
        protocol: ProtocolConfig::of::<ContractNetSpec>(ContractNetConfig {
            reserve: false,
            size_mean: 0.5,
            ..cfg
        }),
        ..Scenario::default()
    };
    sc.workload.arrivals = format!("poisson:rate={contractors}")
        .parse()
        .expect("arrivals");
    sc.workload.count = tasks;
    sc.workload.target = "node:0".parse().expect("target");
    sc.validate().expect("bench scenario is valid");
    sc
}

fn bench(c: &mut Criterion, group: &str, cases: &[(u32, Scenario)]) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    for (n, sc) in cases {
        let r = run_silent(sc);
        assert_eq!(r.stop.as_str(), "done");
        g.throughput(Throughput::Elements(r.counts.delivered));
        g.bench_with_input(BenchmarkId::from_parameter(n), sc, |b, sc| {
            b.iter(|| run_silent(black_box(sc)))
        });
    }
    g.finish();
}

fn bidding(c: &mut Criterion) {
    let all = ContractNetConfig {
        filter: Filter::None,
        ..ContractNetConfig::default()
    };
    let cases: Vec<(u32, Scenario)> = [10u32, 100, 1000]
        .iter()
        .map(|&n| (n, scenario(n, 20_000 / n as u64, all.clone())))
        .collect();
    bench(c, "contract_net::bidding", &cases);
}

fn directory(c: &mut Criterion) {
    let cfg = ContractNetConfig {
        capabilities: 4,
        task_caps: 1,
        ..ContractNetConfig::default()
    };
    bench(
        c,
        "contract_net::directory",
        &[(1000, scenario(1000, 80, cfg))],
    );
}

fn least_loaded(c: &mut Criterion) {
    let cfg = ContractNetConfig {
        strategy: Strategy::LeastLoaded,
        ..ContractNetConfig::default()
    };
    bench(
        c,
        "contract_net::least_loaded",
        &[(1000, scenario(1000, 5000, cfg))],
    );
}

criterion_group!(benches, bidding, directory, least_loaded);
criterion_main!(benches);
