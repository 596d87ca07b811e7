//! Benchmarks of the voting protocols: the shared voting rule alone, and
//! whole runs of `om`, `threshold-vote` and `jury` (setup included, tracing
//! off, the same seed every iteration).
//!
//! ```text
//! cargo bench --bench voting                        # everything
//! cargo bench --bench voting -- 'threshold_vote::'  # one protocol
//! ```
//!
//! Whole-run groups report throughput in messages delivered, so criterion's
//! `thrpt` is deliveries per second of wall time.

use agentsim::engine::setup::AdversaryConfig;
use agentsim::protocols::jury::{JuryConfig, JurySpec};
use agentsim::protocols::om::{OmConfig, OmSpec};
use agentsim::protocols::threshold_vote::{Inputs, ThresholdConfig, ThresholdSpec};
use agentsim::protocols::voting::{Ballot, Rule, Tally, Threshold};
use agentsim::protocols::ProtocolConfig;
use agentsim::run::run_silent;
use agentsim::scenario::Scenario;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;

fn scenario(nodes: u32, protocol: ProtocolConfig, adversary: AdversaryConfig) -> Scenario {
    let sc = Scenario {
        seed: 1,
        nodes,
        events_max: u64::MAX,
        protocol,
        adversary,
        ..Scenario::default()
    };
    sc.validate().expect("bench scenario is valid");
    sc
}

fn runs(c: &mut Criterion, group: &str, cases: Vec<(String, Scenario)>) {
    let mut g = c.benchmark_group(group);
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    for (name, sc) in cases {
        let delivered = run_silent(&sc).counts.delivered;
        g.throughput(Throughput::Elements(delivered));
        g.bench_with_input(BenchmarkId::from_parameter(name), &sc, |b, sc| {
            b.iter(|| run_silent(black_box(sc)))
        });
    }
    g.finish();
}

fn rule(c: &mut Criterion) {
    // A 100-voter tally, evaluated open after every ballot: the work a node
    // of threshold-vote does per vote.
    let rule = Rule::with(Threshold::AtLeast(67));
    c.bench_function("voting::tally_and_decide/100", |b| {
        b.iter(|| {
            let mut t = Tally::new(100);
            let mut decided = None;
            for v in 0..100u32 {
                t.record(v, Ballot::Vote((v % 3 == 0) as u64));
                if decided.is_none() {
                    decided = Some(t.outcome(black_box(&rule), false));
                }
            }
            t.outcome(&rule, true)
        })
    });
}

fn om(c: &mut Criterion) {
    let cases = [(4, 1), (7, 2), (10, 3)]
        .into_iter()
        .map(|(n, m)| {
            let cfg = OmConfig {
                m,
                ..OmConfig::default()
            };
            let adv = AdversaryConfig {
                count: m,
                behaviour: Some("equivocate".parse().unwrap()),
                ..AdversaryConfig::default()
            };
            (
                format!("n{n}_m{m}"),
                scenario(n, ProtocolConfig::of::<OmSpec>(cfg), adv),
            )
        })
        .collect();
    runs(c, "om::run", cases);
}

fn threshold_vote(c: &mut Criterion) {
    let cases = [10, 100, 300]
        .into_iter()
        .map(|n| {
            let cfg = ThresholdConfig {
                inputs: Inputs::Random(0.5),
                ..ThresholdConfig::default()
            };
            let adv = AdversaryConfig {
                count: (n - 1) / 3,
                behaviour: Some("split".parse().unwrap()),
                ..AdversaryConfig::default()
            };
            (
                n.to_string(),
                scenario(n, ProtocolConfig::of::<ThresholdSpec>(cfg), adv),
            )
        })
        .collect();
    runs(c, "threshold_vote::run", cases);
}

fn jury(c: &mut Criterion) {
    let cases = [11, 51, 201]
        .into_iter()
        .map(|n| {
            let cfg = JuryConfig {
                rho: 0.3,
                ..JuryConfig::default()
            };
            (
                n.to_string(),
                scenario(
                    n,
                    ProtocolConfig::of::<JurySpec>(cfg),
                    AdversaryConfig::default(),
                ),
            )
        })
        .collect();
    runs(c, "jury::run", cases);
}

criterion_group!(benches, rule, om, threshold_vote, jury);
criterion_main!(benches);
