//! Sweep throughput: runs per second of the `raft-election-timeouts`
//! experiment (its 11 configurations, fewer seeds), on one and on two
//! threads. The speed-up from 1 to 2 threads is the ratio of the two.
//!
//! `cargo bench --bench sweep`

use agentsim::experiment::{sweep, Experiment, SweepOptions};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::time::Duration;

fn experiment(seeds: u32) -> Experiment {
    let text = include_str!("../experiments/raft-election-timeouts.toml")
        .replace("seeds = \"0..1000\"", &format!("seeds = \"0..{seeds}\""));
    Experiment::parse(
        &text,
        "raft-election-timeouts",
        "raft-election-timeouts.toml",
    )
    .expect("the shipped experiment parses")
}

fn sweep_throughput(c: &mut Criterion) {
    let exp = experiment(40);
    let mut g = c.benchmark_group("sweep");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(20))
        .throughput(Throughput::Elements(exp.runs()));
    for jobs in [1usize, 2] {
        g.bench_with_input(
            BenchmarkId::new("raft-election-timeouts(440 runs)", format!("jobs={jobs}")),
            &jobs,
            |b, &jobs| {
                b.iter_batched(
                    || tempfile::tempdir().expect("a temporary folder"),
                    |dir| {
                        let opts = SweepOptions {
                            out: dir.path().to_path_buf(),
                            jobs: Some(jobs),
                            ..SweepOptions::default()
                        };
                        sweep(&exp, &opts).expect("the sweep runs")
                    },
                    criterion::BatchSize::PerIteration,
                )
            },
        );
    }
    g.finish();
}

criterion_group!(benches, sweep_throughput);
criterion_main!(benches);
