//! PBFT and Bracha benchmarks: whole fault-free runs with tracing off.
//!
//! ```text
//! cargo bench --bench pbft
//! ```
//!
//! - `pbft/n`: n replicas, 20 requests one every 50 ms (latency 1–5 ms):
//!   about 2n² messages per request, 2·10^4 at n = 100;
//! - `bracha/n`: one broadcast among n nodes, (n − 1)(2n + 1) messages.
//!
//! Each iteration is a whole run (setup included) with the same seed; the
//! throughput criterion prints is message deliveries per second.

use agentsim::protocols::bracha::{BrachaConfig, BrachaSpec};
use agentsim::protocols::pbft::{PbftConfig, PbftSpec};
use agentsim::protocols::ProtocolConfig;
use agentsim::run::run_silent;
use agentsim::scenario::Scenario;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

fn pbft_scenario(nodes: u32) -> Scenario {
    let mut sc = Scenario {
        seed: 1,
        nodes,
        events_max: u64::MAX,
        protocol: ProtocolConfig::of::<PbftSpec>(PbftConfig::default()),
        ..Scenario::default()
    };
    sc.net.latency = "1ms..5ms".parse().expect("latency spelling");
    sc.workload.arrivals = "every:50ms".parse().expect("arrivals spelling");
    sc.workload.count = 20;
    sc.validate().expect("bench scenario is valid");
    sc
}

fn bracha_scenario(nodes: u32) -> Scenario {
    let mut sc = Scenario {
        seed: 1,
        nodes,
        events_max: u64::MAX,
        protocol: ProtocolConfig::of::<BrachaSpec>(BrachaConfig::default()),
        ..Scenario::default()
    };
    sc.net.latency = "1ms..5ms".parse().expect("latency spelling");
    sc.validate().expect("bench scenario is valid");
    sc
}

fn bench(c: &mut Criterion, group: &str, cases: Vec<(u32, Scenario)>, done: &'static str) {
    let mut g = c.benchmark_group(group);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5));
    for (nodes, sc) in cases {
        let r = run_silent(&sc);
        assert!(
            !r.safety_violated() && !r.liveness_violated(),
            "{:?}",
            r.violations
        );
        g.throughput(Throughput::Elements(r.counts.delivered));
        g.bench_with_input(BenchmarkId::from_parameter(nodes), &sc, |b, sc| {
            b.iter(|| {
                let r = run_silent(black_box(sc));
                assert!(r.metrics.get(done).is_some());
                r
            })
        });
    }
    g.finish();
}

fn pbft(c: &mut Criterion) {
    let cases = [4, 16, 100].map(|n| (n, pbft_scenario(n))).to_vec();
    bench(c, "pbft", cases, "completed");
}

fn bracha(c: &mut Criterion) {
    let cases = [16, 100, 300].map(|n| (n, bracha_scenario(n))).to_vec();
    bench(c, "bracha", cases, "delivery_ms");
}

criterion_group!(benches, pbft, bracha);
criterion_main!(benches);
