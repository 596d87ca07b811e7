//! Gossip benchmarks: push rumor spreading (fanout 1, period 100 ms, latency
//! 5–15 ms, synchronous rounds, tracing off) from one informed node to full
//! coverage on the complete graph, at 10^4, 10^5 and 10^6 nodes.
//!
//! ```text
//! cargo bench --bench gossip                 # all sizes
//! cargo bench --bench gossip -- 'gossip::push/'    # 10^4 and 10^5 only
//! ```
//!
//! Each iteration is a whole run (setup included) with the same seed, so the
//! throughput figure criterion prints is events per second. The 10^6 case is
//! its own group with the minimum sample size.

use agentsim::protocols::gossip::GossipConfig;
use agentsim::protocols::ProtocolConfig;
use agentsim::run::run_silent;
use agentsim::scenario::Scenario;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

fn push_scenario(nodes: u32) -> Scenario {
    let mut sc = Scenario {
        seed: 1,
        nodes,
        events_max: u64::MAX,
        protocol: ProtocolConfig::of::<agentsim::protocols::gossip::GossipSpec>(
            GossipConfig::default(),
        ),
        ..Scenario::default()
    };
    sc.net.latency = "5ms..15ms".parse().expect("latency spelling");
    sc.validate().expect("bench scenario is valid");
    sc
}

fn bench_sizes(c: &mut Criterion, group: &str, sizes: &[u32], measure: Duration) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(measure);
    for &nodes in sizes {
        let sc = push_scenario(nodes);
        let events = run_silent(&sc).events;
        g.throughput(Throughput::Elements(events));
        g.bench_with_input(BenchmarkId::from_parameter(nodes), &sc, |b, sc| {
            b.iter(|| {
                let r = run_silent(black_box(sc));
                assert_eq!(r.metrics.get("informed_ratio"), Some(&1.0));
                r
            })
        });
    }
    g.finish();
}

fn push(c: &mut Criterion) {
    bench_sizes(
        c,
        "gossip::push",
        &[10_000, 100_000],
        Duration::from_secs(5),
    );
}

fn push_million(c: &mut Criterion) {
    bench_sizes(c, "gossip::push_1e6", &[1_000_000], Duration::from_secs(30));
}

criterion_group!(benches, push, push_million);
criterion_main!(benches);
