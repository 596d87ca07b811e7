//! Single-step tests of Bracha's broadcast (Bracha 1987, Fig. 1).

use super::*;
use crate::node::testkit::{Harness, Step};
use crate::node::{Adversary, Behaviour, Command};

fn harness(n: u32) -> Harness<Bracha> {
    Harness::new(BrachaConfig::default(), n)
}

fn vote(kind: Kind, value: u64, origin: NodeId) -> BrachaMsg {
    kind.msg(value, origin, 1)
}

/// The broadcasts of a step, as (kind, value, origin).
fn broadcasts(s: &Step<Bracha>) -> Vec<(Kind, u64, NodeId)> {
    s.sends()
        .into_iter()
        .filter(|(to, _)| to.is_none())
        .filter_map(|(_, m)| match m {
            BrachaMsg::Initial { value, origin, .. } => Some((Kind::Initial, value, origin)),
            BrachaMsg::Echo { value, origin, .. } => Some((Kind::Echo, value, origin)),
            BrachaMsg::Ready { value, origin, .. } => Some((Kind::Ready, value, origin)),
            BrachaMsg::Pull => None,
        })
        .collect()
}

fn delivered(s: &Step<Bracha>) -> Option<u64> {
    s.notes().into_iter().find_map(|n| match n {
        BrachaNote::Deliver { value, .. } => Some(value),
        _ => None,
    })
}

#[test]
fn thresholds_follow_the_paper() {
    // Fig. 1 with "more than (n+t)/2" echoes (Lemma 1's proof), t+1 and 2t+1 readys.
    for (n, t, echo, amplify, deliver) in [
        (4, 1, 3, 2, 3),
        (5, 1, 4, 2, 3),
        (7, 2, 5, 3, 5),
        (10, 3, 7, 4, 7),
        (12, 3, 8, 4, 7),
        (13, 4, 9, 5, 9),
        (100, 33, 67, 34, 67),
    ] {
        let th = Thresholds::new(n, None);
        assert_eq!((th.t, th.echo, th.amplify, th.deliver), (t, echo, amplify, deliver), "n={n}");
        // Two echo quorums meet in more than t nodes: one is honest.
        assert!(2 * th.echo - n > t, "n={n}");
    }
    // Thresholds computed for one fault fewer: at n = 3f+1, f readys alone
    // reach the amplification threshold.
    let th = Thresholds::new(10, Some(2));
    assert_eq!((th.echo, th.amplify, th.deliver), (7, 3, 5));
}

#[test]
fn the_sender_broadcasts_its_initial_and_echoes_it() {
    // Step 1: send (initial, v) to all; its own Initial makes it echo.
    let mut h = harness(4);
    let mut s = h.boot(0);
    let step = h.start(&mut s, 0, 0);
    let b = broadcasts(&step);
    assert_eq!(b[0], (Kind::Initial, 1, 0));
    assert!(b.contains(&(Kind::Echo, 1, 0)));
    // The echo is persisted before it is sent.
    let persist = step
        .commands()
        .iter()
        .position(|c| matches!(c, Command::Persist(_)))
        .unwrap();
    let echo = step
        .commands()
        .iter()
        .position(|c| matches!(c, Command::Broadcast(BrachaMsg::Echo { .. })))
        .unwrap();
    assert!(persist < echo);
    assert_eq!(step.persisted().unwrap().echoed, Some((1, 2)));
}

#[test]
fn only_the_senders_initial_is_echoed() {
    let mut h = harness(4);
    let mut n = h.boot(1);
    let step = h.deliver(&mut n, 1, 0, 2, vote(Kind::Initial, 9, 2));
    assert!(broadcasts(&step).is_empty(), "{step:?}");
    let step = h.deliver(&mut n, 1, 0, 0, vote(Kind::Initial, 9, 0));
    assert_eq!(broadcasts(&step), vec![(Kind::Echo, 9, 1)]);
    // A second Initial of the sender changes nothing, but is seen.
    let step = h.deliver(&mut n, 1, 0, 0, vote(Kind::Initial, 8, 0));
    assert!(broadcasts(&step).is_empty());
    assert!(matches!(
        step.notes()[..],
        [BrachaNote::Conflict { first: 9, second: 8, .. }]
    ));
}

#[test]
fn echo_quorum_makes_ready_and_2t_plus_1_readys_deliver_once() {
    // n = 4, t = 1: 3 echoes → ready; 3 readys → deliver.
    let mut h = harness(4);
    let mut n = h.boot(1);
    h.deliver(&mut n, 1, 0, 0, vote(Kind::Initial, 5, 0));
    let s = h.deliver(&mut n, 1, 0, 0, vote(Kind::Echo, 5, 0));
    assert!(broadcasts(&s).is_empty());
    let s = h.deliver(&mut n, 1, 0, 2, vote(Kind::Echo, 5, 2));
    assert_eq!(broadcasts(&s), vec![(Kind::Ready, 5, 1)]);
    let s = h.deliver(&mut n, 1, 0, 0, vote(Kind::Ready, 5, 0));
    assert_eq!(delivered(&s), None);
    let s = h.deliver(&mut n, 1, 0, 3, vote(Kind::Ready, 5, 3));
    assert_eq!(delivered(&s), Some(5));
    assert_eq!(s.persisted().unwrap().delivered, Some(5));
    assert_eq!(n.delivered(), Some(5));
    // Integrity: more readys deliver nothing more.
    let s = h.deliver(&mut n, 1, 0, 2, vote(Kind::Ready, 5, 2));
    assert_eq!(delivered(&s), None);
}

#[test]
fn t_plus_1_readys_make_a_node_echo_and_ready_without_the_initial() {
    // Fig. 1 steps 2 and 3: "(t+1) (ready, v) messages" suffice.
    let mut h = harness(7);
    let mut n = h.boot(4);
    h.deliver(&mut n, 4, 0, 1, vote(Kind::Ready, 3, 1));
    h.deliver(&mut n, 4, 0, 2, vote(Kind::Ready, 3, 2));
    let s = h.deliver(&mut n, 4, 0, 3, vote(Kind::Ready, 3, 3));
    let b = broadcasts(&s);
    assert!(b.contains(&(Kind::Echo, 3, 4)) && b.contains(&(Kind::Ready, 3, 4)), "{b:?}");
}

#[test]
fn each_origin_counts_once_and_a_second_value_is_an_equivocation() {
    let mut h = harness(4);
    let mut n = h.boot(1);
    h.deliver(&mut n, 1, 0, 2, vote(Kind::Echo, 5, 2));
    // The same echo again (a duplicate) counts once.
    h.deliver(&mut n, 1, 0, 2, vote(Kind::Echo, 5, 2));
    let s = h.deliver(&mut n, 1, 0, 2, vote(Kind::Echo, 6, 2));
    assert!(broadcasts(&s).is_empty(), "one echo from node 2, not three");
    assert!(matches!(
        s.notes()[..],
        [BrachaNote::Conflict { first: 5, second: 6, origin: 2, .. }]
    ));
}

#[test]
fn signatures_reject_a_forged_origin_and_without_them_it_is_believed() {
    let mut h = harness(4);
    let mut n = h.boot(1);
    let s = h.deliver(&mut n, 1, 0, 3, vote(Kind::Initial, 7, 0));
    assert!(broadcasts(&s).is_empty());
    assert_eq!(s.counts(), vec![(0, 1.0)]);
    assert!(matches!(
        s.notes()[..],
        [BrachaNote::Rejected { claimed: 0, by: 3, .. }]
    ));
    h.cfg.signatures = false;
    let mut n = h.boot(1);
    let s = h.deliver(&mut n, 1, 0, 3, vote(Kind::Initial, 7, 0));
    assert_eq!(broadcasts(&s), vec![(Kind::Echo, 7, 1)]);
}

#[test]
fn a_recovered_node_keeps_its_votes_and_never_sends_another() {
    let mut h = harness(4);
    let d = BrachaDurable {
        echoed: Some((5, 2)),
        readied: None,
        delivered: None,
    };
    let mut n = h.recover(1, &d);
    // Its own echo counts: two more make the quorum of 3.
    h.deliver(&mut n, 1, 0, 0, vote(Kind::Echo, 5, 0));
    let s = h.deliver(&mut n, 1, 0, 2, vote(Kind::Echo, 5, 2));
    assert_eq!(broadcasts(&s), vec![(Kind::Ready, 5, 1)]);
    // An Initial for another value finds it echoed already.
    let mut n = h.recover(1, &d);
    let s = h.deliver(&mut n, 1, 0, 0, vote(Kind::Initial, 6, 0));
    assert!(broadcasts(&s).is_empty());
}

#[test]
fn a_node_that_has_not_delivered_pulls_and_peers_resend() {
    let mut h = harness(4);
    let mut n = h.boot(1);
    let s = h.start(&mut n, 1, 0);
    assert_eq!(s.timers(), vec![(BrachaTimer::Pull, 200 * MS)]);
    let s = h.fire(&mut n, 1, 200 * MS, BrachaTimer::Pull);
    assert_eq!(s.sends(), vec![(None, BrachaMsg::Pull)]);
    // A peer answers with what it sent, to the puller only.
    let mut m = h.boot(2);
    h.deliver(&mut m, 2, 0, 0, vote(Kind::Initial, 5, 0));
    let s = h.deliver(&mut m, 2, 0, 1, BrachaMsg::Pull);
    assert_eq!(
        s.sends(),
        vec![(Some(1), BrachaMsg::Echo { value: 5, origin: 2, round: 2 })]
    );
}

fn marked(n: u32, who: &[(NodeId, Behaviour)], split: Vec<bool>) -> Adversary {
    let mut marks = vec![None; n as usize];
    for (i, b) in who {
        marks[*i as usize] = Some(b.clone());
    }
    Adversary::new(marks, split)
}

#[test]
fn split_nodes_tell_each_side_its_value_at_once() {
    // Node 0 (the sender) splits; nodes 2 and 3 are on side `true`.
    let adv = marked(
        4,
        &[(0, Behaviour::Split)],
        vec![false, false, true, true],
    );
    let mut h = harness(4).with_adversary(adv);
    let mut s = h.boot(0);
    let step = h.start(&mut s, 0, 0);
    let sent = step.sends();
    let to = |p: NodeId, kind: &str| -> u64 {
        sent.iter()
            .find_map(|(t, m)| match (t, m) {
                (Some(x), BrachaMsg::Initial { value, .. }) if *x == p && kind == "i" => Some(*value),
                (Some(x), BrachaMsg::Ready { value, .. }) if *x == p && kind == "r" => Some(*value),
                _ => None,
            })
            .unwrap()
    };
    assert_eq!((to(1, "i"), to(2, "i"), to(3, "i")), (1, 0, 0));
    assert_eq!((to(1, "r"), to(2, "r"), to(3, "r")), (1, 0, 0));
    assert!(step
        .notes()
        .iter()
        .any(|n| matches!(n, BrachaNote::Adversary(a) if a.behaviour == "split" && a.changed == 2)));
}

#[test]
fn equivocating_and_silent_nodes() {
    let adv = marked(4, &[(0, Behaviour::Equivocate), (3, Behaviour::Silent)], vec![]);
    let mut h = harness(4).with_adversary(adv);
    let mut s = h.boot(0);
    let step = h.start(&mut s, 0, 0);
    let initials: Vec<(NodeId, u64)> = step
        .sends()
        .iter()
        .filter_map(|(t, m)| match m {
            BrachaMsg::Initial { value, .. } => Some((t.unwrap(), *value)),
            _ => None,
        })
        .collect();
    assert_eq!(initials, vec![(1, 0), (2, 1), (3, 0)]);
    // A silent node answers no Pull and sends nothing.
    let mut q = h.boot(3);
    let s = h.deliver(&mut q, 3, 0, 0, vote(Kind::Initial, 1, 0));
    assert!(s.sends().is_empty());
    let s = h.deliver(&mut q, 3, 0, 1, BrachaMsg::Pull);
    assert!(s.sends().is_empty());
}
