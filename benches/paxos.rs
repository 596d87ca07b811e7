//! Paxos benchmarks: Multi-Paxos with no faults (a fixed latency of 2 ms,
//! or uniform 1–5 ms; commands submitted to the leader as a Poisson process
//! of 50,000 per second, no window, no batching, tracing off), run until
//! every command is chosen and executed everywhere, with 5 and 101
//! acceptors; and one single-decree decision among 5 dueling proposers.
//!
//! ```text
//! cargo bench --bench paxos
//! cargo bench --bench paxos -- 'paxos::multi/'
//! ```
//!
//! Each iteration is a whole run (setup included) with the same seed; the
//! throughput criterion prints is message deliveries per second, the
//! figure the issue sets (4 million at 5 nodes; at 101 acceptors the time per
//! delivery within 1.5 times that).

use agentsim::engine::setup::{Arrivals, Target};
use agentsim::protocols::paxos::{Mode, PaxosConfig, PaxosSpec};
use agentsim::protocols::ProtocolConfig;
use agentsim::run::run_silent;
use agentsim::scenario::Scenario;
use agentsim::time::{Dur, SEC};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

fn multi(nodes: u32, commands: u64, latency: &str) -> Scenario {
    let mut sc = Scenario {
        seed: 1,
        nodes,
        time_max: Dur(3600 * SEC),
        liveness_bound: Dur(3600 * SEC),
        events_max: u64::MAX,
        protocol: ProtocolConfig::of::<PaxosSpec>(PaxosConfig {
            mode: Mode::Multi,
            window: 0,
            ..PaxosConfig::default()
        }),
        ..Scenario::default()
    };
    sc.net.latency = latency.parse().expect("latency spelling");
    sc.workload.arrivals = Arrivals::Poisson { rate: 50_000.0 };
    sc.workload.count = commands;
    sc.workload.clients = 10;
    sc.workload.target = Target::Leader;
    sc.workload.start = Dur::from_ms(500);
    sc.validate().expect("bench scenario is valid");
    sc
}

fn bench_multi(c: &mut Criterion) {
    let mut g = c.benchmark_group("paxos::multi");
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(8));
    // About 140,000 deliveries each: 10,000 commands at 5 nodes, 470 at 101.
    for (latency, name) in [("2ms", "fixed_2ms"), ("1ms..5ms", "uniform_1_5ms")] {
        for (nodes, commands) in [(5, 10_000), (101, 470)] {
            let sc = multi(nodes, commands, latency);
            let r = run_silent(&sc);
            assert_eq!(r.stop.as_str(), "done");
            g.throughput(Throughput::Elements(r.counts.delivered));
            g.bench_with_input(BenchmarkId::new(name, nodes), &sc, |b, sc| {
                b.iter(|| {
                    let r = run_silent(black_box(sc));
                    assert!(r.violations.is_empty());
                    r
                })
            });
        }
    }
    g.finish();
}

fn bench_single(c: &mut Criterion) {
    let mut g = c.benchmark_group("paxos::single");
    g.sample_size(20);
    let mut sc = Scenario {
        seed: 1,
        ..Scenario::for_protocol(
            agentsim::protocols::registry()
                .get("paxos")
                .expect("paxos is registered"),
        )
    };
    sc.validate().expect("bench scenario is valid");
    g.bench_function("decision/5_proposers", |b| {
        b.iter(|| {
            sc.seed = sc.seed.wrapping_add(1);
            let r = run_silent(black_box(&sc));
            assert_eq!(r.stop.as_str(), "done");
            r
        })
    });
    g.finish();
}

criterion_group!(benches, bench_multi, bench_single);
criterion_main!(benches);
