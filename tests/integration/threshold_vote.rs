//! Threshold consensus: agreement and validity at n = 3f + 1 with every
//! behaviour and network faults, broken by split adversaries beyond the
//! bound and by unsigned forgeries, the broken variant caught, and the
//! experiment's exact reference curves.

use crate::common::{agentsim, stderr, stdout};
use agentsim::engine::setup::AdversaryConfig;
use agentsim::node::BehaviourKind;
use agentsim::protocols::threshold_vote::{Inputs, ThresholdConfig, ThresholdSpec};
use agentsim::protocols::voting::binomial_pmf;
use agentsim::protocols::ProtocolConfig;
use agentsim::run::check::check_seeds;
use agentsim::run::run_silent;
use agentsim::scenario::Scenario;

fn scenario(nodes: u32, cfg: ThresholdConfig, adversary: AdversaryConfig) -> Scenario {
    let sc = Scenario {
        nodes,
        protocol: ProtocolConfig::of::<ThresholdSpec>(cfg),
        adversary,
        ..Scenario::default()
    };
    sc.validate().expect("a valid threshold-vote scenario");
    sc
}

fn drawn(count: u32, b: BehaviourKind) -> AdversaryConfig {
    AdversaryConfig {
        count,
        behaviour: Some(b.name().parse().unwrap()),
        ..AdversaryConfig::default()
    }
}

fn random_inputs() -> ThresholdConfig {
    ThresholdConfig {
        inputs: Inputs::Random(0.5),
        ..ThresholdConfig::default()
    }
}

#[test]
fn agreement_validity_and_termination_hold_at_the_bound_under_network_faults() {
    // n = 3f + 1, f adversaries of every behaviour, with loss, duplication,
    // reordering, crashes and partitions; votes are resent until the deadline.
    let cfg = ThresholdConfig {
        resend: "50ms".parse().unwrap(),
        ..random_inputs()
    };
    for (n, f) in [(4, 1), (7, 2)] {
        for b in BehaviourKind::ALL {
            let mut sc = scenario(n, cfg.clone(), drawn(f, b));
            sc.net.loss_ratio = 0.1;
            sc.net.dup_ratio = 0.1;
            sc.faults.crash_mttf = Some("400ms".parse().unwrap());
            sc.faults.crash_mttr = "100ms".parse().unwrap();
            sc.faults.partition_mtbf = Some("300ms".parse().unwrap());
            sc.faults.heal_at = Some("700ms".parse().unwrap());
            let s = check_seeds(&sc, 0..150, None).unwrap();
            assert!(
                s.failures.is_empty(),
                "n={n} {}: {:#?}",
                b.name(),
                s.failures
            );
            assert!(s.undecided.is_empty(), "n={n} {}", b.name());
        }
    }
}

#[test]
fn check_finds_split_adversaries_beyond_the_bound_and_reproduces_the_run() {
    // f = 3 split adversaries against thresholds computed for f = 2 (n = 7).
    let out = agentsim(&[
        "check",
        "threshold-vote",
        "--nodes",
        "7",
        "--f",
        "2",
        "--inputs",
        "split",
        "--byzantine-count",
        "3",
        "--byzantine-behaviour",
        "split",
        "--seeds",
        "0..100",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{text}{}", stderr(&out));
    assert!(text.contains("  FAIL  agreement (Always)"), "{text}");
    assert!(text.contains("  ok    validity (Always)"), "{text}");
    let cmd = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("reproduce: "))
        .unwrap();
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let again = agentsim(&words[1..]);
    assert_eq!(again.status.code(), Some(3));
    assert!(stdout(&again).contains("VIOLATION agreement"));
    // The same adversaries against thresholds for f = 3 (n = 10 = 3f + 1): none.
    let out = agentsim(&[
        "check",
        "threshold-vote",
        "--nodes",
        "10",
        "--f",
        "3",
        "--inputs",
        "split",
        "--byzantine-count",
        "3",
        "--byzantine-behaviour",
        "split",
        "--seeds",
        "0..100",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

#[test]
fn unsigned_votes_let_a_single_forger_break_agreement() {
    let unsigned = ThresholdConfig {
        signed: false,
        ..random_inputs()
    };
    let s = check_seeds(
        &scenario(4, unsigned, drawn(1, BehaviourKind::Forge)),
        0..300,
        None,
    )
    .unwrap();
    assert!(s.safety_failed(), "{:#?}", s.failures);
    let s = check_seeds(
        &scenario(4, random_inputs(), drawn(1, BehaviourKind::Forge)),
        0..300,
        None,
    )
    .unwrap();
    assert!(s.failures.is_empty(), "{:#?}", s.failures);
}

#[test]
fn the_count_duplicates_variant_is_caught() {
    let out = agentsim(&[
        "check",
        "threshold-vote",
        "--nodes",
        "4",
        "--inputs",
        "split",
        "--resend",
        "20ms",
        "--variant",
        "count-duplicates",
        "--seeds",
        "0..50",
    ]);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("  FAIL  agreement (Always)"), "{text}");
}

#[test]
fn without_enough_agreeing_honest_votes_nodes_give_up_at_the_deadline() {
    // Split proposals, no adversary: 2 + 2 never reaches 3 of 4.
    let cfg = ThresholdConfig {
        inputs: Inputs::Split,
        ..ThresholdConfig::default()
    };
    let r = run_silent(&scenario(4, cfg, AdversaryConfig::default()));
    assert!(r.violations.is_empty(), "{:?}", r.violations);
    assert_eq!(r.metrics.get("committed_ratio"), Some(&0.0));
    assert_eq!(r.facts.get("gave_up"), Some(&serde_json::json!(4)));
    assert_eq!(r.stop.as_str(), "done");
}

/// `P(lo ≤ Z ≤ hi)`, `Z ~ Binomial(h, 1/2)`.
fn window(h: u32, lo: i64, hi: i64) -> f64 {
    (lo.max(0)..=hi.min(h as i64))
        .map(|z| binomial_pmf(h, 0.5, z as u32))
        .sum()
}

#[test]
fn byzantine_threshold_vote_experiment_references_are_exact() {
    // The experiment's dashed curves: with threshold T and f split
    // adversaries among n = 100, agreement breaks iff T − f ≤ Z ≤ n − T,
    // Z ~ Binomial(n − f, 1/2) the honest zeros.
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("experiments/byzantine-threshold-vote.toml"),
    )
    .unwrap();
    let exp: toml::Table = text.parse().unwrap();
    let refs = exp["plot"][0]["reference"].as_array().unwrap();
    let n = 100i64;
    for r in refs {
        let label = r["label"].as_str().unwrap();
        let t_of = |f: i64| -> Option<i64> {
            if label.ends_with("n − f") {
                Some(n - f)
            } else if label.ends_with("n − 33") {
                Some(n - 33)
            } else {
                None
            }
        };
        for pt in r["points"].as_array().unwrap() {
            let f = pt[0]
                .as_float()
                .unwrap_or_else(|| pt[0].as_integer().unwrap() as f64);
            let y = pt[1].as_float().unwrap();
            let Some(t) = t_of(f as i64) else { continue };
            let f = f as i64;
            let exact = window((n - f) as u32, t - f, n - t);
            assert!((y - exact).abs() < 1e-6, "{label} f={f}: {y} vs {exact}");
        }
    }
    // And the simulation agrees with them (the committed results).
    let summary = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("results/byzantine-threshold-vote/summary.csv"),
    )
    .unwrap();
    let mut header: Vec<&str> = Vec::new();
    let mut checked = 0;
    for (i, line) in summary.lines().enumerate() {
        let cols: Vec<&str> = line.split(',').collect();
        if i == 0 {
            header = cols;
            continue;
        }
        let col = |name: &str| cols[header.iter().position(|h| *h == name).unwrap()];
        if col("metric") != "agreement_violated" {
            continue;
        }
        let f: i64 = col("adversary.count").parse().unwrap();
        let t = if col("protocol.f") == "marked" {
            n - f
        } else {
            n - 33
        };
        let exact = window((n - f) as u32, t - f, n - t);
        let mean: f64 = col("mean").parse().unwrap();
        let runs: f64 = col("count").parse().unwrap();
        let se = (exact * (1.0 - exact) / runs).sqrt().max(1.0 / runs);
        assert!(
            (mean - exact).abs() <= 4.0 * se,
            "f={f} T={t}: {mean} vs exact {exact}"
        );
        checked += 1;
    }
    assert_eq!(checked, 32);
}

#[test]
fn runs_are_pinned_by_their_hash() {
    // A change that moves this says so in its commit message (the same run:
    // `agentsim run threshold-vote --nodes 10 --inputs random:0.5
    // --byzantine-count 3 --byzantine-behaviour split --seed 5`).
    let mut sc = scenario(10, random_inputs(), drawn(3, BehaviourKind::Split));
    sc.seed = 5;
    let r = run_silent(&sc);
    assert_eq!(r.hash, run_silent(&sc).hash);
    crate::common::assert_golden("threshold-vote", &[r.hash], (GOLDEN_MODEL, &GOLDEN));
}

/// The model version the pin below was recorded under.
const GOLDEN_MODEL: u32 = 3;
const GOLDEN: [&str; 1] = ["cad966e7e93e73f2"];
