//! Engine benchmarks: PHOLD through the real engine, complete Raft elections,
//! and the cost of writing a trace.
//!
//! ```text
//! cargo bench --bench engine
//! ```

use agentsim::observe::trace::TraceLevel;
use agentsim::protocols::phold::{run_phold, PholdConfig};
use agentsim::run::{run_silent, run_to_writer};
use agentsim::scenario::Scenario;
use agentsim::time::{Dur, SEC};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

/// PHOLD, ROSS defaults, one event per process: pending events = processes.
/// Each iteration is a whole run (setup included) of `events` events.
fn phold(c: &mut Criterion) {
    let mut g = c.benchmark_group("engine::phold");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(8));
    for (processes, events) in [
        (1_000u32, 2_000_000u64),
        (100_000, 4_000_000),
        (1_000_000, 8_000_000),
    ] {
        g.throughput(Throughput::Elements(events));
        g.bench_with_input(
            BenchmarkId::from_parameter(processes),
            &processes,
            |b, &p| {
                let mut seed = 0;
                b.iter(|| {
                    seed += 1;
                    black_box(run_phold(p, events, seed, PholdConfig::default()))
                })
            },
        );
    }
    g.finish();
}

/// One complete 5-node election: start, elect, every node follows (`stop done`).
fn raft_election(c: &mut Criterion) {
    let mut g = c.benchmark_group("raft::election");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Elements(1));
    for nodes in [5u32, 9] {
        let base = Scenario {
            nodes,
            ..Scenario::default()
        };
        g.bench_with_input(BenchmarkId::new("nodes", nodes), &base, |b, base| {
            let mut seed = 0;
            b.iter(|| {
                seed += 1;
                black_box(run_silent(&Scenario {
                    seed,
                    ..base.clone()
                }))
            })
        });
    }
    g.finish();
}

/// A 10 s run of a 5-node cluster (election, then heartbeats; ~1,800 events)
/// untraced and with the trace formatted into a discarding writer.
fn trace_cost(c: &mut Criterion) {
    let mut g = c.benchmark_group("raft::trace_10s");
    g.sample_size(20).measurement_time(Duration::from_secs(4));
    let base = Scenario {
        time_max: Dur(10 * SEC),
        stop_when_done: false,
        ..Scenario::default()
    };
    for level in [
        TraceLevel::Off,
        TraceLevel::Notes,
        TraceLevel::Events,
        TraceLevel::Full,
    ] {
        g.bench_with_input(BenchmarkId::from_parameter(level), &level, |b, &level| {
            let mut seed = 0;
            b.iter(|| {
                seed += 1;
                let sc = Scenario {
                    seed,
                    ..base.clone()
                };
                if level == TraceLevel::Off {
                    black_box(run_silent(&sc));
                } else {
                    black_box(run_to_writer(&sc, level, Box::new(std::io::sink())).0);
                }
            })
        });
    }
    g.finish();
}

criterion_group!(benches, phold, raft_election, trace_cost);
criterion_main!(benches);
