//! Single-step tests of PBFT (Castro & Liskov 1999, §4).

use super::view_change::{compute_o, invalid};
use super::*;
use crate::node::testkit::{Harness, Step};
use crate::node::{Adversary, Behaviour, Message};
use crate::time::MS;

const N: u32 = 4;

fn harness() -> Harness<Pbft> {
    Harness::new(PbftConfig::default(), N)
}

fn req(id: u64, proxy: NodeId) -> Req {
    Req {
        id,
        client: 0,
        proxy,
    }
}

fn sub(index: u64) -> Submission {
    Submission {
        index,
        client: 0,
        draw: 0,
    }
}

fn kinds(s: &Step<Pbft>) -> Vec<&'static str> {
    s.sends()
        .iter()
        .map(|(_, m)| PbftMsg::KINDS[m.kind()])
        .collect()
}

fn executed(s: &Step<Pbft>) -> Vec<(u64, u64)> {
    s.notes()
        .into_iter()
        .filter_map(|n| match n {
            PbftNote::Executed { seq, id } => Some((seq, id)),
            _ => None,
        })
        .collect()
}

#[test]
fn thresholds() {
    // n = 3f+1: quorum 2f+1, weak f+1 (§4); other n: ⌈(n+f+1)/2⌉.
    for (n, f, q) in [(4, 1, 3), (5, 1, 4), (6, 1, 4), (7, 2, 5), (10, 3, 7), (13, 4, 9), (100, 33, 67)] {
        let th = Thresholds::new(n, None);
        assert_eq!((th.f, th.quorum, th.weak), (f, q, f + 1), "n={n}");
        // Two quorums meet in f+1 replicas, one of them honest.
        assert!(2 * q - n > f, "n={n}");
        // The honest replicas alone make a quorum (liveness).
        assert!(n - f >= q, "n={n}");
    }
    // assumed_f = a: the paper's 2a+1 and a+1.
    let th = Thresholds::new(10, Some(2));
    assert_eq!((th.f, th.quorum, th.weak), (2, 5, 3));
}

#[test]
fn messages_stay_small() {
    // 2·10^4 of them per request at n = 100: a queued one is 48 bytes.
    assert_eq!(std::mem::size_of::<PbftMsg>(), 24);
    assert_eq!(crate::engine::queued_message_size::<PbftMsg>(), 48);
}

#[test]
fn a_request_at_the_primary_is_pre_prepared_and_a_backup_prepares_it() {
    // §4.2: the primary assigns n and multicasts PRE-PREPARE; a backup
    // accepting it multicasts PREPARE.
    let mut h = harness();
    let mut primary = h.boot(0);
    let s = h.submit(&mut primary, 0, 0, sub(7));
    assert!(matches!(s.notes()[0], PbftNote::Submitted { id: 7, .. }));
    let pp = s
        .sends()
        .into_iter()
        .find_map(|(to, m)| matches!(m, PbftMsg::PrePrepare(_)).then_some((to, m)))
        .expect("a PrePrepare");
    assert_eq!(pp.0, None, "multicast");
    let PbftMsg::PrePrepare(p) = &pp.1 else { unreachable!() };
    assert_eq!((p.view, p.seq, p.req.id, p.origin), (0, 1, 7, 0));
    assert_eq!(s.persisted().unwrap().0.slots[0].pre_prepare, Some((0, req(7, 0))));

    let mut b = h.boot(1);
    let s = h.deliver(&mut b, 1, 0, 0, pp.1.clone());
    assert_eq!(s.sends(), vec![(None, PbftMsg::prepare(0, 1, 7, 1, false))]);
    assert_eq!(s.timers(), vec![(PbftTimer::ViewChange, 500 * MS), (PbftTimer::Resend, 50 * MS)]);
    // A PrePrepare not from the view's primary is ignored.
    let mut c = h.boot(2);
    let s = h.deliver(&mut c, 2, 0, 3, PbftMsg::pre_prepare(0, 1, req(7, 0), 3, false));
    assert!(s.sends().is_empty());
}

#[test]
fn prepared_then_committed_local_then_executed_in_order_with_a_reply() {
    // n = 4: prepared = PrePrepare + 2 Prepares (own included); committed = 3 Commits.
    let mut h = harness();
    let mut b = h.boot(1);
    h.deliver(&mut b, 1, 0, 0, PbftMsg::pre_prepare(0, 1, req(7, 2), 0, false));
    // A Prepare from the primary does not count.
    let s = h.deliver(&mut b, 1, 0, 0, PbftMsg::prepare(0, 1, 7, 0, false));
    assert!(s.sends().is_empty());
    let s = h.deliver(&mut b, 1, 0, 3, PbftMsg::prepare(0, 1, 7, 3, false));
    assert_eq!(s.sends(), vec![(None, PbftMsg::commit(0, 1, 7, 1, false))]);
    let p = s.persisted().unwrap();
    assert_eq!(p.0.slots[0].prepared, Some((0, req(7, 2))));
    let s = h.deliver(&mut b, 1, 0, 0, PbftMsg::commit(0, 1, 7, 0, false));
    assert!(executed(&s).is_empty());
    let s = h.deliver(&mut b, 1, 0, 3, PbftMsg::commit(0, 1, 7, 3, false));
    assert_eq!(executed(&s), vec![(1, 7)]);
    // The reply goes to the client's proxy, with the result.
    assert!(s.sends().iter().any(|(to, m)| *to == Some(2)
        && matches!(m, PbftMsg::Reply { id: 7, result: 1, origin: 1, .. })));
    assert_eq!(b.last_executed(), 1);
    // Sequence number 3 committed before 2 waits for it.
    for (seq, id) in [(3u64, 9u64), (2, 8)] {
        h.deliver(&mut b, 1, 0, 0, PbftMsg::pre_prepare(0, seq, req(id, 2), 0, false));
        h.deliver(&mut b, 1, 0, 3, PbftMsg::prepare(0, seq, id, 3, false));
        h.deliver(&mut b, 1, 0, 0, PbftMsg::commit(0, seq, id, 0, false));
        let s = h.deliver(&mut b, 1, 0, 3, PbftMsg::commit(0, seq, id, 3, false));
        if seq == 3 {
            assert!(executed(&s).is_empty());
        } else {
            assert_eq!(executed(&s), vec![(2, 8), (3, 9)]);
        }
    }
}

#[test]
fn a_contradicting_message_is_an_equivocation_seen_and_not_counted() {
    let mut h = harness();
    let mut b = h.boot(1);
    h.deliver(&mut b, 1, 0, 0, PbftMsg::pre_prepare(0, 1, req(7, 2), 0, false));
    let s = h.deliver(&mut b, 1, 0, 0, PbftMsg::pre_prepare(0, 1, req(8, 2), 0, false));
    assert!(s.sends().is_empty(), "one PrePrepare per view and sequence number");
    assert!(matches!(
        s.notes()[..],
        [PbftNote::Conflict { kind: "PrePrepare", accepted: 7, other: 8, .. }]
    ));
    // A Prepare for another digest does not prepare 7.
    let s = h.deliver(&mut b, 1, 0, 3, PbftMsg::prepare(0, 1, 8, 3, false));
    assert!(s.sends().is_empty());
}

#[test]
fn forged_messages_are_rejected_with_signatures_and_believed_without() {
    let mut h = harness();
    let mut b = h.boot(1);
    // Node 3 claims the primary's PrePrepare.
    let forged = PbftMsg::pre_prepare(0, 1, Req::NULL, 0, true);
    let s = h.deliver(&mut b, 1, 0, 3, forged.clone());
    assert!(s.sends().is_empty());
    assert_eq!(s.counts(), vec![(0, 1.0)]);
    h.cfg.signatures = false;
    let mut b = h.boot(1);
    let s = h.deliver(&mut b, 1, 0, 3, forged);
    assert_eq!(kinds(&s), vec!["Prepare"]);
}

#[test]
fn a_waiting_request_times_out_into_a_view_change_with_the_prepared_certificates() {
    // §4.4: the timer expires in view v: VIEW-CHANGE for v+1 with P.
    let mut h = harness();
    let mut b = h.boot(1);
    h.deliver(&mut b, 1, 0, 0, PbftMsg::pre_prepare(0, 1, req(7, 2), 0, false));
    h.deliver(&mut b, 1, 0, 3, PbftMsg::prepare(0, 1, 7, 3, false));
    let s = h.fire(&mut b, 1, 500 * MS, PbftTimer::ViewChange);
    let vc = s
        .sends()
        .into_iter()
        .find_map(|(_, m)| match m {
            PbftMsg::ViewChange(vc) => Some(vc),
            _ => None,
        })
        .expect("a ViewChange");
    assert_eq!((vc.view, vc.origin), (1, 1));
    assert_eq!(vc.prepared, vec![Cert { seq: 1, view: 0, req: req(7, 2) }]);
    assert_eq!(b.changing(), Some(1));
    // Its timer waits for a quorum of ViewChanges (§4.5.2): not yet.
    assert!(s.timers().iter().all(|(t, _)| *t != PbftTimer::ViewChange));
    // It takes no part in view 0 any more.
    let s = h.deliver(&mut b, 1, 0, 3, PbftMsg::commit(0, 1, 7, 3, false));
    assert!(s.sends().is_empty());
}

fn view_change(view: u64, origin: NodeId, prepared: Vec<Cert>) -> Shared<ViewChange> {
    Shared(Rc::new(ViewChange {
        view,
        origin,
        prepared,
        forged: false,
    }))
}

#[test]
fn o_takes_the_highest_view_certificate_and_fills_gaps_with_null() {
    let a = req(5, 0);
    let b = req(6, 0);
    let v = vec![
        view_change(3, 0, vec![Cert { seq: 1, view: 0, req: a }, Cert { seq: 3, view: 1, req: a }]),
        view_change(3, 1, vec![Cert { seq: 3, view: 2, req: b }]),
        view_change(3, 2, vec![]),
    ];
    assert_eq!(compute_o(&v), vec![(1, a), (2, Req::NULL), (3, b)]);
    let nv = NewView {
        view: 3,
        origin: 3,
        view_changes: v.clone(),
        pre_prepares: compute_o(&v),
        forged: false,
    };
    assert_eq!(invalid(&nv, 4, 3, true), None);
    let bad_o = NewView {
        pre_prepares: vec![(1, a)],
        ..nv.clone()
    };
    assert!(invalid(&bad_o, 4, 3, true).is_some());
    let few = NewView {
        view_changes: v[..2].to_vec(),
        pre_prepares: compute_o(&v[..2]),
        ..nv.clone()
    };
    assert!(invalid(&few, 4, 3, true).is_some());
    let mut forged_vc = v.clone();
    forged_vc[2] = Shared(Rc::new(ViewChange {
        forged: true,
        ..(*v[2]).clone()
    }));
    let forged = NewView {
        view_changes: forged_vc,
        ..nv.clone()
    };
    assert!(invalid(&forged, 4, 3, true).is_some());
    assert_eq!(invalid(&forged, 4, 3, false), None);
}

#[test]
fn the_new_primary_sends_a_new_view_and_backups_prepare_o() {
    let mut h = harness();
    let mut p1 = h.boot(1);
    // Replica 1 is view 1's primary; it times out too.
    h.fire(&mut p1, 1, 0, PbftTimer::ViewChange);
    let cert = Cert { seq: 1, view: 0, req: req(7, 2) };
    h.deliver(&mut p1, 1, 0, 2, PbftMsg::ViewChange(view_change(1, 2, vec![cert])));
    let s = h.deliver(&mut p1, 1, 0, 3, PbftMsg::ViewChange(view_change(1, 3, vec![])));
    let nv = s
        .sends()
        .into_iter()
        .find_map(|(_, m)| match m {
            PbftMsg::NewView(nv) => Some(nv),
            _ => None,
        })
        .expect("a NewView");
    assert_eq!(nv.pre_prepares, vec![(1, req(7, 2))]);
    assert_eq!(p1.view(), 1);
    assert!(s.notes().iter().any(|n| matches!(n, PbftNote::NewView { view: 1, leads: true, .. })));
    // A backup accepts it and prepares O.
    let mut b = h.boot(2);
    let s = h.deliver(&mut b, 2, 0, 1, PbftMsg::NewView(nv));
    assert_eq!(b.view(), 1);
    assert!(s.sends().contains(&(None, PbftMsg::prepare(1, 1, 7, 2, false))));
}

#[test]
fn f_plus_1_view_changes_for_a_later_view_make_a_replica_join() {
    // §4.5.2, n = 4, f = 1: two ViewChanges for view 2 make replica 3 join view 2.
    let mut h = harness();
    let mut r = h.boot(3);
    let s = h.deliver(&mut r, 3, 0, 0, PbftMsg::ViewChange(view_change(2, 0, vec![])));
    assert!(s.sends().is_empty());
    let s = h.deliver(&mut r, 3, 0, 1, PbftMsg::ViewChange(view_change(2, 1, vec![])));
    assert!(matches!(s.notes()[0], PbftNote::ViewChange { view: 2, .. }));
    assert_eq!(r.changing(), Some(2));
}

#[test]
fn f_plus_1_decided_claims_stand_in_for_the_missing_messages() {
    let mut h = harness();
    let mut r = h.boot(3);
    let claim = |o: NodeId| PbftMsg::Decided { seq: 1, digest: 7, origin: o, forged: false };
    let s = h.deliver(&mut r, 3, 0, 0, claim(0));
    assert!(executed(&s).is_empty());
    let s = h.deliver(&mut r, 3, 0, 1, claim(1));
    assert_eq!(executed(&s), vec![(1, 7)]);
}

#[test]
fn byzantine_primaries_and_backups_change_what_they_send() {
    let marks = |b: Behaviour| {
        let mut m = vec![None; N as usize];
        m[0] = Some(b);
        Adversary::new(m, vec![false, false, true, true])
    };
    let pre_prepares = |s: &Step<Pbft>| -> Vec<(NodeId, u64)> {
        s.sends()
            .into_iter()
            .filter_map(|(to, m)| match m {
                PbftMsg::PrePrepare(p) => Some((to.unwrap(), p.req.id)),
                _ => None,
            })
            .collect()
    };
    let mut h = harness().with_adversary(marks(Behaviour::Equivocate));
    let mut p = h.boot(0);
    let s = h.submit(&mut p, 0, 0, sub(7));
    assert_eq!(pre_prepares(&s), vec![(1, NULL), (2, 7), (3, NULL)]);
    assert!(s.notes().iter().any(|n| matches!(n, PbftNote::Adversary(a) if a.changed == 2)));
    let mut h = harness().with_adversary(marks(Behaviour::Split));
    let mut p = h.boot(0);
    let s = h.submit(&mut p, 0, 0, sub(7));
    assert_eq!(pre_prepares(&s), vec![(1, 7), (2, NULL), (3, NULL)]);
    let mut h = harness().with_adversary(marks(Behaviour::Silent));
    let mut p = h.boot(0);
    assert!(h.start(&mut p, 0, 0).sends().is_empty());
    let s = h.submit(&mut p, 0, 0, sub(7));
    assert!(s.sends().is_empty());
}

#[test]
fn a_made_up_digest_decided_by_f_plus_1_is_executed_without_harm() {
    // Beyond the bound (f+1 Byzantine replicas) a digest no request has can
    // be executed: it is recorded, not used as an index.
    let mut h = harness();
    let mut r = h.boot(3);
    let far = NULL - 1;
    let claim = |o: NodeId| PbftMsg::Decided { seq: 1, digest: far, origin: o, forged: false };
    h.deliver(&mut r, 3, 0, 0, claim(0));
    let s = h.deliver(&mut r, 3, 0, 1, claim(1));
    assert_eq!(executed(&s), vec![(1, far)]);
    assert_eq!(r.last_executed(), 1);
}

#[test]
fn a_recovered_replica_still_relays_its_views_new_view() {
    // Replica 2 enters view 1 by a NewView, crashes and recovers; replica 3,
    // still asking for view 1, gets that NewView from it.
    let mut h = harness();
    let vcs: Vec<_> = [1, 2, 3]
        .iter()
        .map(|&o| view_change(1, o, vec![]))
        .collect();
    let nv = Shared(Rc::new(NewView {
        view: 1,
        origin: 1,
        pre_prepares: compute_o(&vcs),
        view_changes: vcs,
        forged: false,
    }));
    let mut b = h.boot(2);
    let s = h.deliver(&mut b, 2, 0, 1, PbftMsg::NewView(nv.clone()));
    let durable = s.persisted().expect("the view is persisted");
    let mut b = h.recover(2, &durable);
    assert_eq!(b.view(), 1);
    let s = h.deliver(&mut b, 2, 0, 3, PbftMsg::ViewChange(view_change(1, 3, vec![])));
    assert_eq!(s.sends(), vec![(Some(3), PbftMsg::NewView(nv))]);
}
