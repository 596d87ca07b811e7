//! Message-bus benchmarks: deliveries per second through one broker with
//! 1,000 clients (the issue's figure), tracing off.
//!
//! ```text
//! cargo bench --bench bus                          # every guarantee
//! cargo bench --bench bus -- 'bus::fanout/at-most-once'
//! ```
//!
//! Each iteration is a whole run (setup included): node 0 is the broker,
//! nodes 1..=1000 the clients; 10 topics of 100 subscribers each; 5,000
//! publications arrive at 100,000 per second on random clients (uniform
//! topics); latency 1–5 ms; no loss. A publication is one message to the
//! broker and 100 deliveries, each a fact checked by the monitor (no
//! invention, no duplicates, latency); a run goes on until nothing is left
//! in flight. The throughput criterion prints is
//! deliveries to applications per second of wall time.

use agentsim::protocols::bus::{BusConfig, BusSpec, Guarantee};
use agentsim::protocols::ProtocolConfig;
use agentsim::run::run_silent;
use agentsim::scenario::Scenario;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

/// One broker, 1,000 clients, 10 topics of 100 subscribers.
fn fanout_scenario(g: Guarantee) -> Scenario {
    let cfg = BusConfig {
        brokers: 1,
        topics: 10,
        subscribers_per_topic: 100,
        guarantee: g,
        ..BusConfig::default()
    };
    let mut sc = Scenario {
        seed: 1,
        nodes: 1001,
        events_max: u64::MAX,
        // Until every copy in flight has landed (an at-most-once run is
        // otherwise done when the last publication is).
        stop_when_done: false,
        protocol: ProtocolConfig::of::<BusSpec>(cfg),
        ..Scenario::default()
    };
    sc.net.latency = "1ms..5ms".parse().expect("latency spelling");
    sc.workload.arrivals = "poisson:rate=100000".parse().expect("arrivals spelling");
    sc.workload.count = 5_000;
    sc.validate().expect("bench scenario is valid");
    sc
}

fn fanout(c: &mut Criterion) {
    let mut group = c.benchmark_group("bus::fanout");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(8));
    for g in Guarantee::ALL {
        let sc = fanout_scenario(g);
        let r = run_silent(&sc);
        let deliveries = *r.metrics.get("deliveries").expect("deliveries reported") as u64;
        assert!(deliveries > 450_000, "{g}: {deliveries} deliveries");
        group.throughput(Throughput::Elements(deliveries));
        group.bench_with_input(BenchmarkId::from_parameter(g.as_str()), &sc, |b, sc| {
            b.iter(|| {
                let r = run_silent(black_box(sc));
                assert_eq!(
                    *r.metrics.get("deliveries").expect("deliveries reported") as u64,
                    deliveries
                );
                r
            })
        });
    }
    group.finish();
}

criterion_group!(benches, fanout);
criterion_main!(benches);
