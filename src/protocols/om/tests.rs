//! Step tests of OM and SM: one event to one general, the exact commands out;
//! and a few whole runs that pin the paper's examples.

use super::*;
use crate::engine::setup::AdversaryConfig;
use crate::node::testkit::Harness;
use crate::node::{Adversary, Behaviour, Command};
use crate::protocols::ProtocolConfig;
use crate::run::run_silent;
use crate::scenario::Scenario;
use crate::time::MS;

fn order(path: &[NodeId], value: u8) -> OmMsg {
    let mut p = Path::root(path[0]);
    for &id in &path[1..] {
        p = p.with(id);
    }
    OmMsg::Order {
        path: p,
        value,
        sig: value,
    }
}

fn decided(notes: &[OmNote]) -> Option<u8> {
    notes.iter().find_map(|n| match n {
        OmNote::Decided { value } => Some(*value),
        _ => None,
    })
}

fn scenario(nodes: u32, cfg: OmConfig, byz: &[&str]) -> Scenario {
    Scenario {
        nodes,
        protocol: ProtocolConfig::of::<OmSpec>(cfg),
        adversary: AdversaryConfig {
            nodes: byz.iter().map(|s| s.parse().unwrap()).collect(),
            ..AdversaryConfig::default()
        },
        ..Scenario::default()
    }
}

#[test]
fn a_lieutenant_relays_what_it_heard_to_the_lieutenants_not_on_the_path() {
    // Reference: §3, OM(m) step (2): lieutenant i sends v_i to the n − 2 others.
    let mut h = Harness::<Om>::new(OmConfig::default(), 4);
    let mut l1 = h.boot(1);
    let start = h.start(&mut l1, 1, 0);
    assert_eq!(start.timers(), vec![(OmTimer::Decide, 200 * MS)]);
    let s = h.deliver(&mut l1, 1, 3 * MS, 0, order(&[0], ATTACK));
    let sent: Vec<(Option<NodeId>, OmMsg)> = s.sends();
    assert_eq!(
        sent,
        vec![
            (Some(2), order(&[0, 1], ATTACK)),
            (Some(3), order(&[0, 1], ATTACK))
        ]
    );
    // A relay of round 2 (m = 1) is the last: not relayed again.
    let s = h.deliver(&mut l1, 1, 5 * MS, 2, order(&[0, 2], ATTACK));
    assert!(s.sends().is_empty());
}

#[test]
fn om1_with_four_generals_outvotes_a_lying_lieutenant() {
    // Reference: §3, Fig. 3: the traitor L3 tells L1 "retreat"; L1 has
    // attack (commander), attack (L2), retreat (L3) and obeys attack.
    let mut h = Harness::<Om>::new(OmConfig::default(), 4);
    let mut l1 = h.boot(1);
    h.start(&mut l1, 1, 0);
    h.deliver(&mut l1, 1, MS, 0, order(&[0], ATTACK));
    h.deliver(&mut l1, 1, 2 * MS, 2, order(&[0, 2], ATTACK));
    h.deliver(&mut l1, 1, 2 * MS, 3, order(&[0, 3], RETREAT));
    let s = h.fire(&mut l1, 1, 200 * MS, OmTimer::Decide);
    assert_eq!(decided(&s.notes()), Some(ATTACK));
}

#[test]
fn om1_with_three_generals_cannot_tell_a_lying_lieutenant_from_a_lying_commander() {
    // Reference: §2, Fig. 1: the commander says attack, the traitor L2 says
    // "he said retreat": L1 holds attack and retreat, no majority: RETREAT.
    let mut h = Harness::<Om>::new(OmConfig::default(), 3);
    let mut l1 = h.boot(1);
    h.start(&mut l1, 1, 0);
    h.deliver(&mut l1, 1, MS, 0, order(&[0], ATTACK));
    let relay = h.deliver(&mut l1, 1, 2 * MS, 2, order(&[0, 2], RETREAT));
    assert_eq!(relay.notes(), vec![OmNote::EquivocationSeen { proof: false }]);
    let s = h.fire(&mut l1, 1, 200 * MS, OmTimer::Decide);
    assert_eq!(decided(&s.notes()), Some(RETREAT));
}

#[test]
fn a_missing_message_counts_as_retreat_and_a_late_one_is_missing() {
    // A3: the absence of a message is detected; OM's default is RETREAT.
    let mut h = Harness::<Om>::new(OmConfig::default(), 4);
    let mut l1 = h.boot(1);
    h.start(&mut l1, 1, 0);
    h.deliver(&mut l1, 1, MS, 0, order(&[0], ATTACK));
    // L2's relay arrives after round 2 (200 ms): ignored and counted late.
    let late = h.deliver(&mut l1, 1, 200 * MS + 1, 2, order(&[0, 2], ATTACK));
    assert_eq!(late.counts(), vec![(counter::LATE, 1.0)]);
    // attack, missing (retreat), missing (retreat).
    let s = h.fire(&mut l1, 1, 200 * MS, OmTimer::Decide);
    assert_eq!(decided(&s.notes()), Some(RETREAT));
}

#[test]
fn malformed_paths_are_ignored() {
    let mut h = Harness::<Om>::new(OmConfig::default(), 4);
    let mut l1 = h.boot(1);
    h.start(&mut l1, 1, 0);
    // Not from the last general of its path (A2), not from the commander,
    // naming us, too long.
    for (from, m) in [
        (3, order(&[0, 2], RETREAT)),
        (2, order(&[2], RETREAT)),
        (2, order(&[0, 1, 2], RETREAT)),
        (3, order(&[0, 2, 3], RETREAT)),
    ] {
        let s = h.deliver(&mut l1, 1, MS, from, m);
        assert!(s.commands().is_empty(), "{:?}", s);
    }
}

#[test]
fn signed_relays_that_change_the_value_are_rejected() {
    // Reference: §4, SM(m): a lieutenant cannot alter a signed order.
    let cfg = OmConfig {
        signed: true,
        ..OmConfig::default()
    };
    let mut h = Harness::<Om>::new(cfg, 3);
    let mut l1 = h.boot(1);
    h.start(&mut l1, 1, 0);
    h.deliver(&mut l1, 1, MS, 0, order(&[0], ATTACK));
    let forged = OmMsg::Order {
        path: Path::root(0).with(2),
        value: RETREAT,
        sig: ATTACK,
    };
    let s = h.deliver(&mut l1, 1, 2 * MS, 2, forged);
    assert_eq!(s.counts(), vec![(counter::REJECTED, 1.0)]);
    assert!(matches!(s.notes()[0], OmNote::Rejected { value: RETREAT, .. }));
    // V = {attack}: choice(V) = attack, with three generals and one traitor.
    let s = h.fire(&mut l1, 1, 200 * MS, OmTimer::Decide);
    assert_eq!(decided(&s.notes()), Some(ATTACK));
}

#[test]
fn signed_relays_each_new_value_once_and_two_values_prove_equivocation() {
    let cfg = OmConfig {
        signed: true,
        m: 1,
        ..OmConfig::default()
    };
    let mut h = Harness::<Om>::new(cfg, 4);
    let mut l1 = h.boot(1);
    h.start(&mut l1, 1, 0);
    let s = h.deliver(&mut l1, 1, MS, 0, order(&[0], ATTACK));
    assert_eq!(s.sends().len(), 2);
    // The same value again (through L2): not relayed again.
    let s = h.deliver(&mut l1, 1, 2 * MS, 2, order(&[0, 2], ATTACK));
    assert!(s.sends().is_empty());
    // A second value, validly signed by the commander: proof.
    let s = h.deliver(&mut l1, 1, 2 * MS, 3, order(&[0, 3], RETREAT));
    assert!(s.sends().is_empty(), "path of length m + 1 is not relayed");
    assert_eq!(s.notes(), vec![OmNote::EquivocationSeen { proof: true }]);
    // choice({attack, retreat}) = RETREAT.
    let s = h.fire(&mut l1, 1, 200 * MS, OmTimer::Decide);
    assert_eq!(decided(&s.notes()), Some(RETREAT));
}

#[test]
fn a_traitor_marks_what_it_changed() {
    let adv = Adversary::new(vec![None, None, Some(Behaviour::Forge), None], vec![]);
    let mut h = Harness::<Om>::new(OmConfig::default(), 4).with_adversary(adv);
    let mut l2 = h.boot(2);
    h.start(&mut l2, 2, 0);
    let s = h.deliver(&mut l2, 2, MS, 0, order(&[0], ATTACK));
    assert_eq!(
        s.sends(),
        vec![
            (Some(1), order_sig(&[0, 2], RETREAT, ATTACK)),
            (Some(3), order_sig(&[0, 2], RETREAT, ATTACK))
        ]
    );
    let notes = s.notes();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0].tag(), Some("adversary"));
    // A traitor does not decide.
    let s = h.fire(&mut l2, 2, 200 * MS, OmTimer::Decide);
    assert!(s.notes().is_empty());
}

fn order_sig(path: &[NodeId], value: u8, sig: u8) -> OmMsg {
    let OmMsg::Order { path, .. } = order(path, value);
    OmMsg::Order { path, value, sig }
}

#[test]
fn a_delaying_traitor_sends_just_before_the_round_ends() {
    let adv = Adversary::new(vec![Some(Behaviour::Delay), None, None, None], vec![]);
    let mut h = Harness::<Om>::new(OmConfig::default(), 4).with_adversary(adv);
    let mut c = h.boot(0);
    let s = h.start(&mut c, 0, 0);
    assert!(s.sends().is_empty());
    assert_eq!(s.timers(), vec![(OmTimer::Flush, 90 * MS)]);
    let s = h.fire(&mut c, 0, 90 * MS, OmTimer::Flush);
    assert_eq!(s.sends().len(), 3);
    assert!(s.commands().iter().all(|c| matches!(c, Command::Send(..))));
}

#[test]
fn a_recovered_general_takes_no_part() {
    let mut h = Harness::<Om>::new(OmConfig::default(), 4);
    let mut l1 = h.boot(1);
    let s = h.start(&mut l1, 1, 50 * MS);
    assert!(s.commands().is_empty());
    let s = h.deliver(&mut l1, 1, 60 * MS, 2, order(&[0, 2], ATTACK));
    assert!(s.commands().is_empty());
}

#[test]
fn message_counts_grow_as_the_paper_says() {
    // OM(m) sends (n−1) + (n−1)(n−2) + ... + (n−1)…(n−m−1) messages.
    for (n, m, want) in [(4, 1, 9), (3, 1, 4), (7, 2, 156), (5, 0, 4)] {
        assert_eq!(unsigned_messages(n, m), want);
        let cfg = OmConfig {
            m,
            ..OmConfig::default()
        };
        let r = run_silent(&scenario(n, cfg, &[]));
        assert_eq!(r.counts.sent, want, "n={n} m={m}");
        assert!(r.violations.is_empty(), "{:?}", r.violations);
        assert_eq!(r.metrics.get("attack_ratio"), Some(&1.0));
        assert_eq!(r.stop.as_str(), "done");
    }
}

#[test]
fn om2_with_seven_generals_survives_two_traitors() {
    for b in ["flip", "forge", "split", "equivocate", "silent"] {
        for byz in [format!("0,3:{b}"), format!("2,5:{b}")] {
            for seed in 0..20 {
                let cfg = OmConfig {
                    m: 2,
                    ..OmConfig::default()
                };
                let mut sc = scenario(7, cfg, &[&byz]);
                sc.seed = seed;
                let r = run_silent(&sc);
                assert!(
                    r.violations.iter().all(|v| v.kind == PropertyKind::Sometimes),
                    "{byz} seed {seed}: {:?}",
                    r.violations
                );
            }
        }
    }
}

use crate::observe::PropertyKind;

#[test]
fn settings_out_of_range_name_the_field() {
    let bad = |cfg: OmConfig, n: u32, field: &str| {
        let e = cfg.validate(n).unwrap_err();
        assert!(e.contains(field) && e.contains("accepted"), "{e}");
    };
    bad(OmConfig::default(), 1, "nodes");
    bad(
        OmConfig {
            commander: 4,
            ..OmConfig::default()
        },
        4,
        "om.commander",
    );
    bad(
        OmConfig {
            m: 3,
            ..OmConfig::default()
        },
        4,
        "om.m",
    );
    bad(
        OmConfig {
            delay_slack: Dur::from_ms(100),
            ..OmConfig::default()
        },
        4,
        "om.delay_slack",
    );
    bad(
        OmConfig {
            m: 4,
            ..OmConfig::default()
        },
        40,
        "om.m",
    );
    assert!(OmConfig {
        m: 4,
        signed: true,
        ..OmConfig::default()
    }
    .validate(40)
    .is_ok());
}
