//! The noisy jury: every behaviour under network faults, and the
//! byzantine-jury experiment against Condorcet's exact curves.

use agentsim::engine::setup::AdversaryConfig;
use agentsim::node::BehaviourKind;
use agentsim::protocols::jury::{exact_accuracy, JuryConfig, JurySpec};
use agentsim::protocols::ProtocolConfig;
use agentsim::run::check::check_seeds;
use agentsim::run::run_silent;
use agentsim::scenario::Scenario;
use std::path::Path;

fn manifest(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)).unwrap()
}

#[test]
fn every_behaviour_runs_under_network_faults_and_every_honest_juror_decides() {
    for b in BehaviourKind::ALL {
        for rho in [0.0, 0.5] {
            let sc = Scenario {
                nodes: 9,
                protocol: ProtocolConfig::of::<JurySpec>(JuryConfig {
                    rho,
                    ..JuryConfig::default()
                }),
                adversary: AdversaryConfig {
                    count: 2,
                    behaviour: Some(b.name().parse().unwrap()),
                    ..AdversaryConfig::default()
                },
                net: agentsim::net::NetConfig {
                    loss_ratio: 0.1,
                    dup_ratio: 0.1,
                    ..Default::default()
                },
                faults: agentsim::net::faults::FaultConfig {
                    crash_mttf: Some("300ms".parse().unwrap()),
                    crash_mttr: "100ms".parse().unwrap(),
                    partition_mtbf: Some("300ms".parse().unwrap()),
                    heal_at: Some("800ms".parse().unwrap()),
                    ..Default::default()
                },
                ..Scenario::default()
            };
            sc.validate().unwrap();
            let s = check_seeds(&sc, 0..100, None).unwrap();
            assert!(
                s.failures.is_empty(),
                "{} rho {rho}: {:#?}",
                b.name(),
                s.failures
            );
            assert!(s.undecided.is_empty(), "{} rho {rho}", b.name());
            assert_eq!(s.stops.get("done"), Some(&100), "{:?}", s.stops);
        }
    }
}

/// The exact accuracy a reference label names (`exact, p = 0.55`,
/// `exact, rho = 0.3` at p = 0.65, `exact, 2 Byzantine` at p = 0.65).
fn exact_for(label: &str, n: u32) -> f64 {
    let v = label.trim_start_matches("exact, ");
    if let Some(p) = v.strip_prefix("p = ") {
        exact_accuracy(n, p.parse().unwrap(), 0.0, 0)
    } else if let Some(rho) = v.strip_prefix("rho = ") {
        exact_accuracy(n, 0.65, rho.parse().unwrap(), 0)
    } else {
        let k: u32 = v.trim_end_matches(" Byzantine").parse().unwrap();
        exact_accuracy(n, 0.65, 0.0, k)
    }
}

#[test]
fn byzantine_jury_experiment_references_are_exact() {
    let exp: toml::Table = manifest("experiments/byzantine-jury.toml").parse().unwrap();
    let mut points = 0;
    for plot in exp["plot"].as_array().unwrap() {
        for r in plot["reference"].as_array().unwrap() {
            let label = r["label"].as_str().unwrap();
            for pt in r["points"].as_array().unwrap() {
                let n = pt[0].as_integer().unwrap() as u32;
                let y = pt[1].as_float().unwrap();
                let exact = exact_for(label, n);
                assert!((y - exact).abs() < 1e-6, "{label} n={n}: {y} vs {exact}");
                points += 1;
            }
        }
    }
    assert_eq!(points, 4 * 26 + 3 * 26 + 3 * 24);
}

#[test]
fn byzantine_jury_results_agree_with_condorcet() {
    // Every point of the committed results within 4 binomial standard
    // errors of the exact accuracy (a point failing by chance: ~1 in 16000).
    let summary = manifest("results/byzantine-jury/summary.csv");
    let mut lines = summary.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let mut checked = 0;
    for line in lines {
        let cols: Vec<&str> = line.split(',').collect();
        let col = |name: &str| cols[header.iter().position(|h| *h == name).unwrap()];
        if col("metric") != "correct" {
            continue;
        }
        let n: u32 = col("nodes").parse().unwrap();
        let p: f64 = col("protocol.p").parse().unwrap();
        let rho: f64 = col("protocol.rho").parse().unwrap_or(0.0);
        let k: u32 = col("adversary.count").parse().unwrap_or(0);
        let exact = exact_accuracy(n, p, rho, k);
        let mean: f64 = col("mean").parse().unwrap();
        let runs: f64 = col("count").parse().unwrap();
        let se = (exact * (1.0 - exact) / runs).sqrt().max(1.0 / runs);
        assert!(
            (mean - exact).abs() <= 4.0 * se,
            "n={n} p={p} rho={rho} k={k}: {mean} vs exact {exact}"
        );
        checked += 1;
    }
    assert_eq!(checked, 40 + 30 + 24);
}

#[test]
fn runs_are_pinned_by_their_hash() {
    // A change that moves this says so in its commit message (the same run:
    // `agentsim run jury --nodes 11 --rho 0.3 --byzantine-count 2
    // --byzantine-behaviour equivocate --seed 5`).
    let sc = Scenario {
        seed: 5,
        nodes: 11,
        protocol: ProtocolConfig::of::<JurySpec>(JuryConfig {
            rho: 0.3,
            ..JuryConfig::default()
        }),
        adversary: AdversaryConfig {
            count: 2,
            behaviour: Some("equivocate".parse().unwrap()),
            ..AdversaryConfig::default()
        },
        ..Scenario::default()
    };
    let r = run_silent(&sc);
    assert_eq!(r.hash, run_silent(&sc).hash);
    crate::common::assert_golden("jury", &[r.hash], (GOLDEN_MODEL, &GOLDEN));
}

/// The model version the pin below was recorded under.
const GOLDEN_MODEL: u32 = 3;
const GOLDEN: [&str; 1] = ["34f5a438f07816c6"];
