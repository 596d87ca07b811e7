//! Step tests of the jury, and its accuracy against the exact binomial
//! (Condorcet) within statistical tolerance.

use super::*;
use crate::engine::setup::AdversaryConfig;
use crate::node::testkit::Harness;
use crate::protocols::voting::majority_correct;
use crate::protocols::ProtocolConfig;
use crate::run::run_silent;
use crate::scenario::Scenario;
use crate::time::MS;

fn scenario(nodes: u32, cfg: JuryConfig, adversary: AdversaryConfig) -> Scenario {
    Scenario {
        nodes,
        protocol: ProtocolConfig::of::<JurySpec>(cfg),
        adversary,
        ..Scenario::default()
    }
}

/// Mean `correct` over `seeds` runs, and its standard error.
fn accuracy(nodes: u32, cfg: &JuryConfig, adversary: &AdversaryConfig, seeds: u64) -> (f64, f64) {
    let xs: Vec<f64> = (0..seeds)
        .map(|seed| {
            let mut sc = scenario(nodes, cfg.clone(), adversary.clone());
            sc.seed = seed;
            let r = run_silent(&sc);
            assert!(r.violations.is_empty(), "seed {seed}: {:?}", r.violations);
            r.metrics.get("correct").copied().expect("correct is reported")
        })
        .collect();
    let n = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / n;
    let var = xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (n - 1.0);
    (mean, (var / n).sqrt())
}

fn vote(juror: NodeId, value: Value) -> JuryMsg {
    JuryMsg::Vote {
        juror,
        value,
        signer: juror,
    }
}

#[test]
fn the_exact_accuracy_is_condorcets() {
    for n in [1, 3, 7, 21] {
        for p in [0.3, 0.55, 0.8] {
            assert!((exact_accuracy(n, p, 0.0, 0) - majority_correct(n, p)).abs() < 1e-15);
            // Everyone copying: the jury is the one shared draw.
            assert!((exact_accuracy(n, p, 1.0, 0) - p).abs() < 1e-12);
        }
    }
    // Byzantine jurors that always vote wrong: the honest ones must carry
    // a majority of all n.
    assert!((exact_accuracy(5, 0.7, 0.0, 2) - 0.343).abs() < 1e-12);
}

#[test]
fn a_juror_votes_its_draw_and_gives_the_majority_verdict() {
    let cfg = JuryConfig {
        p: 1.0,
        ..JuryConfig::default()
    };
    let mut h = Harness::<Jury>::new(cfg, 3);
    let mut j0 = h.boot(0);
    let s = h.start(&mut j0, 0, 0);
    assert_eq!(s.sends(), vec![(None, vote(0, 1))]);
    assert_eq!(s.persisted(), Some(JuryDurable { vote: Some(1) }));
    assert_eq!(
        s.notes(),
        vec![JuryNote::Voted {
            value: 1,
            copied: false
        }]
    );
    let s = h.deliver(&mut j0, 0, MS, 1, vote(1, 0));
    assert!(s.notes().is_empty());
    let s = h.deliver(&mut j0, 0, MS, 2, vote(2, 1));
    assert_eq!(s.notes(), vec![JuryNote::Verdict { value: 1 }]);
}

#[test]
fn copiers_wait_for_the_opinion_and_note_when_it_never_comes() {
    let cfg = JuryConfig {
        rho: 1.0,
        ..JuryConfig::default()
    };
    let mut h = Harness::<Jury>::new(cfg, 3);
    let mut j1 = h.boot(1);
    let s = h.start(&mut j1, 1, 0);
    assert!(s.sends().is_empty(), "a copier waits");
    let s = h.deliver(
        &mut j1,
        1,
        MS,
        0,
        JuryMsg::Opinion {
            value: 0,
            signer: 0,
        },
    );
    assert_eq!(s.sends(), vec![(None, vote(1, 0))]);
    let mut j2 = h.boot(2);
    h.start(&mut j2, 2, 0);
    // A forged opinion (signed by 1, not the source 0) is rejected.
    let s = h.deliver(
        &mut j2,
        2,
        MS,
        1,
        JuryMsg::Opinion {
            value: 0,
            signer: 1,
        },
    );
    assert_eq!(s.notes(), vec![JuryNote::Rejected { from: 1 }]);
    let s = h.fire(&mut j2, 2, 1000 * MS, JuryTimer::Deadline);
    assert_eq!(s.notes()[0], JuryNote::NoVote);
}

#[test]
fn independent_jurors_are_as_accurate_as_condorcet_says() {
    // Reference: Condorcet's jury theorem, n = 9, p = 0.6: 0.7334.
    let cfg = JuryConfig::default();
    let (acc, se) = accuracy(9, &cfg, &AdversaryConfig::default(), 1500);
    let exact = exact_accuracy(9, 0.6, 0.0, 0);
    assert!((exact - 0.7334).abs() < 1e-4, "{exact}");
    assert!((acc - exact).abs() < 4.0 * se, "{acc} ± {se} vs {exact}");
}

#[test]
fn correlated_jurors_are_as_accurate_as_the_mixture_says() {
    let cfg = JuryConfig {
        rho: 0.5,
        p: 0.7,
        ..JuryConfig::default()
    };
    let (acc, se) = accuracy(11, &cfg, &AdversaryConfig::default(), 1500);
    let exact = exact_accuracy(11, 0.7, 0.5, 0);
    assert!((acc - exact).abs() < 4.0 * se, "{acc} ± {se} vs {exact}");
    // Correlation costs accuracy: the independent jury does better.
    assert!(exact < exact_accuracy(11, 0.7, 0.0, 0) - 0.1);
}

#[test]
fn flipping_jurors_count_against_the_honest_majority() {
    let cfg = JuryConfig {
        p: 0.7,
        ..JuryConfig::default()
    };
    let adv = AdversaryConfig {
        count: 2,
        behaviour: Some("flip".parse().unwrap()),
        ..AdversaryConfig::default()
    };
    let (acc, se) = accuracy(9, &cfg, &adv, 1500);
    let exact = exact_accuracy(9, 0.7, 0.0, 2);
    assert!((acc - exact).abs() < 4.0 * se, "{acc} ± {se} vs {exact}");
}

#[test]
fn unsigned_forgers_sway_the_jury_signed_ones_cannot() {
    let adv = AdversaryConfig {
        count: 1,
        behaviour: Some("forge".parse().unwrap()),
        ..AdversaryConfig::default()
    };
    let signed = JuryConfig {
        p: 0.8,
        ..JuryConfig::default()
    };
    let unsigned = JuryConfig {
        signed: false,
        ..signed.clone()
    };
    let (a_signed, _) = accuracy(7, &signed, &adv, 300);
    let (a_unsigned, _) = accuracy(7, &unsigned, &adv, 300);
    assert!(a_signed > 0.85, "{a_signed}");
    assert!(a_unsigned < a_signed - 0.2, "{a_unsigned} vs {a_signed}");
}

#[test]
fn settings_out_of_range_name_the_field() {
    let bad = |cfg: JuryConfig, n: u32, field: &str| {
        let e = cfg.validate(n).unwrap_err();
        assert!(e.contains(field) && e.contains("accepted"), "{e}");
    };
    bad(
        JuryConfig {
            p: 1.5,
            ..JuryConfig::default()
        },
        5,
        "jury.p",
    );
    bad(
        JuryConfig {
            rho: -0.1,
            ..JuryConfig::default()
        },
        5,
        "jury.rho",
    );
    bad(
        JuryConfig {
            truth: 2,
            ..JuryConfig::default()
        },
        5,
        "jury.truth",
    );
    bad(
        JuryConfig {
            source: 5,
            ..JuryConfig::default()
        },
        5,
        "jury.source",
    );
    bad(
        JuryConfig {
            quorum: 6,
            ..JuryConfig::default()
        },
        5,
        "jury.quorum",
    );
}
