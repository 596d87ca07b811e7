//! Step tests of threshold consensus, and whole runs at the `n = 3f + 1`
//! bound and past it.

use super::*;
use crate::engine::setup::AdversaryConfig;
use crate::node::testkit::Harness;
use crate::node::{Adversary, Behaviour};
use crate::observe::PropertyKind;
use crate::protocols::voting::{Missing, Threshold};
use crate::protocols::ProtocolConfig;
use crate::run::run_silent;
use crate::scenario::Scenario;
use crate::time::{Dur, MS};

fn vote(voter: NodeId, value: Value) -> ThresholdMsg {
    ThresholdMsg::Vote {
        voter,
        value,
        signer: voter,
    }
}

fn committed(notes: &[ThresholdNote]) -> Option<Value> {
    notes.iter().find_map(|n| match n {
        ThresholdNote::Committed { value } => Some(*value),
        _ => None,
    })
}

fn scenario(nodes: u32, cfg: ThresholdConfig, adversary: AdversaryConfig) -> Scenario {
    Scenario {
        nodes,
        protocol: ProtocolConfig::of::<ThresholdSpec>(cfg),
        adversary,
        ..Scenario::default()
    }
}

fn drawn(count: u32, behaviour: &str) -> AdversaryConfig {
    AdversaryConfig {
        count,
        behaviour: Some(behaviour.parse().unwrap()),
        ..AdversaryConfig::default()
    }
}

#[test]
fn commits_once_n_minus_f_votes_agree_before_the_last_arrives() {
    let mut h = Harness::<ThresholdVote>::new(ThresholdConfig::default(), 4);
    let mut n0 = h.boot(0);
    let s = h.start(&mut n0, 0, 0);
    assert_eq!(s.persisted().unwrap().input, Some(1));
    assert_eq!(s.sends(), vec![(None, vote(0, 1))]);
    assert_eq!(s.timers(), vec![(ThresholdTimer::Deadline, 1000 * MS)]);
    assert!(committed(&h.deliver(&mut n0, 0, MS, 1, vote(1, 1)).notes()).is_none());
    // The third agreeing vote: 3 = n − f of 4; the fourth cannot change it.
    let s = h.deliver(&mut n0, 0, 2 * MS, 2, vote(2, 1));
    assert_eq!(committed(&s.notes()), Some(1));
    assert_eq!(s.persisted().unwrap().committed, Some(1));
    // A later vote changes nothing.
    assert!(h.deliver(&mut n0, 0, 3 * MS, 3, vote(3, 0)).notes().is_empty());
}

#[test]
fn at_the_deadline_missing_votes_count_as_declared() {
    // Two of four votes for 1: no commit; at the deadline it gives up...
    let mut h = Harness::<ThresholdVote>::new(ThresholdConfig::default(), 4);
    let mut n0 = h.boot(0);
    h.start(&mut n0, 0, 0);
    h.deliver(&mut n0, 0, MS, 1, vote(1, 1));
    let s = h.fire(&mut n0, 0, 1000 * MS, ThresholdTimer::Deadline);
    assert_eq!(
        s.notes(),
        vec![ThresholdNote::GaveUp {
            reason: crate::protocols::voting::NoDecision::NoWinner
        }]
    );
    // ... unless missing votes count as votes for 1 ("silence is consent").
    let cfg = ThresholdConfig {
        missing: Missing::Vote(1),
        ..ThresholdConfig::default()
    };
    let mut h = Harness::<ThresholdVote>::new(cfg, 4);
    let mut n0 = h.boot(0);
    h.start(&mut n0, 0, 0);
    h.deliver(&mut n0, 0, MS, 1, vote(1, 1));
    let s = h.fire(&mut n0, 0, 1000 * MS, ThresholdTimer::Deadline);
    assert_eq!(committed(&s.notes()), Some(1));
}

#[test]
fn signed_votes_in_another_voters_name_are_rejected_unsigned_ones_believed() {
    let forged = ThresholdMsg::Vote {
        voter: 2,
        value: 0,
        signer: 3,
    };
    let mut h = Harness::<ThresholdVote>::new(ThresholdConfig::default(), 4);
    let mut n0 = h.boot(0);
    h.start(&mut n0, 0, 0);
    let s = h.deliver(&mut n0, 0, MS, 3, forged.clone());
    assert_eq!(s.counts(), vec![(counter::REJECTED, 1.0)]);
    assert_eq!(s.notes(), vec![ThresholdNote::Rejected { voter: 2, from: 3 }]);
    // Node 2's real vote still counts.
    h.deliver(&mut n0, 0, 2 * MS, 2, vote(2, 1));
    let s = h.deliver(&mut n0, 0, 2 * MS, 1, vote(1, 1));
    assert_eq!(committed(&s.notes()), Some(1));

    let cfg = ThresholdConfig {
        signed: false,
        ..ThresholdConfig::default()
    };
    let mut h = Harness::<ThresholdVote>::new(cfg, 4);
    let mut n0 = h.boot(0);
    h.start(&mut n0, 0, 0);
    assert!(h.deliver(&mut n0, 0, MS, 3, forged).notes().is_empty());
    // The forgery came first: node 2's real vote is a conflict, ignored.
    let s = h.deliver(&mut n0, 0, 2 * MS, 2, vote(2, 1));
    assert_eq!(s.notes(), vec![ThresholdNote::Conflict { voter: 2 }]);
    assert_eq!(s.counts(), vec![(counter::CONFLICTS, 1.0)]);
}

#[test]
fn a_recovered_node_votes_its_persisted_proposal_again() {
    let cfg = ThresholdConfig {
        inputs: Inputs::Random(0.5),
        ..ThresholdConfig::default()
    };
    let mut h = Harness::<ThresholdVote>::new(cfg, 4);
    let durable = ThresholdDurable {
        input: Some(7),
        committed: None,
    };
    let mut n1 = h.recover(1, &durable);
    let s = h.start(&mut n1, 1, 400 * MS);
    assert_eq!(s.sends(), vec![(None, vote(1, 7))]);
    assert_eq!(s.timers(), vec![(ThresholdTimer::Deadline, 600 * MS)]);
    // Past the deadline it decides at once (here: gives up).
    let mut n1 = h.recover(1, &durable);
    let s = h.start(&mut n1, 1, 2000 * MS);
    assert!(matches!(s.notes()[0], ThresholdNote::GaveUp { .. }));
}

#[test]
fn a_traitor_marks_its_altered_votes() {
    let adv = Adversary::new(vec![None, None, None, Some(Behaviour::Flip)], vec![]);
    let mut h = Harness::<ThresholdVote>::new(ThresholdConfig::default(), 4).with_adversary(adv);
    let mut n3 = h.boot(3);
    let s = h.start(&mut n3, 3, 0);
    assert_eq!(s.sends().len(), 3);
    assert!(s.sends().iter().all(|(_, m)| *m
        == ThresholdMsg::Vote {
            voter: 3,
            value: 0,
            signer: 3
        }));
    let notes = s.notes();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].tag(), Some("adversary"));
}

#[test]
fn agreement_and_validity_hold_at_n_3f_plus_1_with_every_behaviour() {
    // Reference: quorum intersection: two sets of n − f share n − 2f ≥ f + 1.
    for (n, f) in [(4, 1), (7, 2), (10, 3)] {
        for b in crate::node::BehaviourKind::ALL {
            let cfg = ThresholdConfig {
                inputs: Inputs::Random(0.5),
                ..ThresholdConfig::default()
            };
            for seed in 0..40 {
                let mut sc = scenario(n, cfg.clone(), drawn(f, b.name()));
                sc.seed = seed;
                let r = run_silent(&sc);
                assert!(
                    !r.safety_violated() && !r.liveness_violated(),
                    "n={n} f={f} {} seed {seed}: {:?}",
                    b.name(),
                    r.violations
                );
            }
        }
    }
}

#[test]
fn split_adversaries_beyond_the_bound_break_agreement() {
    // f split adversaries against the threshold of n = 3(f − 1) + 1 nodes.
    for (n, f) in [(4, 2), (7, 3), (10, 4)] {
        let cfg = ThresholdConfig {
            inputs: Inputs::Split,
            f: FaultBound::Fixed(f - 1),
            ..ThresholdConfig::default()
        };
        let broken = (0..40)
            .filter(|&seed| {
                let mut sc = scenario(n, cfg.clone(), drawn(f, "split"));
                sc.seed = seed;
                let r = run_silent(&sc);
                r.violations.iter().any(|v| v.property == "agreement")
            })
            .count();
        assert!(broken > 0, "n={n} f={f}: agreement never broken");
    }
}

#[test]
fn weaker_rules_than_n_minus_f_commit_values_no_honest_node_proposed() {
    // A majority of the votes cast, missing votes absent: with half the
    // honest votes lost, flipping traitors can outvote them.
    let cfg = ThresholdConfig {
        threshold: VoteThreshold::Rule(Threshold::Majority),
        inputs: Inputs::Same(1),
        ..ThresholdConfig::default()
    };
    let broken = (0..40)
        .filter(|&seed| {
            let mut sc = scenario(7, cfg.clone(), drawn(3, "flip"));
            sc.net.loss_ratio = 0.5;
            sc.seed = seed;
            let r = run_silent(&sc);
            r.violations.iter().any(|v| v.property == "validity")
        })
        .count();
    assert!(broken > 0);
}

#[test]
fn settings_out_of_range_name_the_field() {
    let bad = |cfg: ThresholdConfig, n: u32, field: &str| {
        let e = cfg.validate(n).unwrap_err();
        assert!(e.contains(field) && e.contains("accepted"), "{e}");
    };
    bad(
        ThresholdConfig {
            f: FaultBound::Fixed(4),
            ..ThresholdConfig::default()
        },
        4,
        "threshold-vote.f",
    );
    bad(
        ThresholdConfig {
            quorum: 9,
            ..ThresholdConfig::default()
        },
        4,
        "threshold-vote.quorum",
    );
    bad(
        ThresholdConfig {
            deadline: Dur::ZERO,
            ..ThresholdConfig::default()
        },
        4,
        "threshold-vote.deadline",
    );
    assert!("max".parse::<FaultBound>().is_ok());
    assert!("x".parse::<FaultBound>().unwrap_err().contains("accepted"));
    let f: FaultBound = serde_json::from_str("2").unwrap();
    assert_eq!(f, FaultBound::Fixed(2));
    let f: FaultBound = serde_json::from_str("\"marked\"").unwrap();
    assert_eq!(f, FaultBound::Marked);
    assert_eq!(serde_json::to_string(&FaultBound::Fixed(3)).unwrap(), "3");
    assert!("random:1.5".parse::<Inputs>().is_err());
    assert_eq!(
        "supermajority:2/3".parse::<VoteThreshold>().unwrap().to_string(),
        "supermajority:2/3"
    );
    // Sometimes-properties are not declared: every violation kind is judged.
    assert!(<ThresholdMonitor as crate::observe::Monitor<ThresholdVote>>::properties()
        .iter()
        .all(|p| p.kind != PropertyKind::Sometimes));
}
