//! Single-step tests: feed one event to one node, assert the exact commands.
//! References are to FIPA SC00029H ("Contract Net Interaction Protocol
//! Specification") and Smith (1980).

use super::lease::Lease;
use super::messages::{FailureReason, RefuseReason, Release, Why};
use super::task::TaskSpec;
use super::*;
use crate::node::testkit::{Harness, Step};
use crate::node::Command;
use crate::time::{Dur, MS};

/// One manager (node 0) and `n - 1` contractors.
fn harness(cfg: ContractNetConfig, n: u32) -> Harness<ContractNet> {
    Harness::new(cfg, n)
}

fn sub(index: u64) -> Submission {
    Submission {
        index,
        client: 0,
        draw: 0x1234_5678_9abc_def0 ^ index,
    }
}

fn t(seq: u32) -> TaskId {
    TaskId { manager: 0, seq }
}

/// The first round's epoch of a manager at its first boot.
const E0: u64 = 1 << 32;

/// The calls a step sent, a broadcast (from manager 0) spelled out.
fn cfp_of(h: &Harness<ContractNet>, step: &Step<ContractNet>) -> Vec<(NodeId, CnetMsg)> {
    step.sends()
        .into_iter()
        .filter(|(_, m)| matches!(m, CnetMsg::Cfp { .. }))
        .flat_map(|(to, m)| match to {
            Some(to) => vec![(to, m)],
            None => (1..h.nodes).map(|to| (to, m.clone())).collect(),
        })
        .collect()
}

/// The number of the first proposal a step sent.
fn bid_of(step: &Step<ContractNet>) -> u32 {
    step.sends()
        .into_iter()
        .find_map(|(_, m)| match m {
            CnetMsg::Propose { bid, .. } => Some(bid),
            _ => None,
        })
        .expect("a proposal")
}

fn booted(h: &mut Harness<ContractNet>, id: NodeId) -> ContractNet {
    let mut n = h.boot(id);
    h.start(&mut n, id, 0);
    n
}

#[test]
fn a_submission_is_persisted_then_called_for_to_every_eligible_contractor() {
    // Reference: FIPA SC00029H §2 — the Initiator solicits proposals with a cfp.
    let mut h = harness(ContractNetConfig::default(), 4);
    let mut m = booted(&mut h, 0);
    let s = h.submit(&mut m, 0, 5 * MS, sub(0));
    let cmds = s.commands();
    let persist = cmds
        .iter()
        .position(|c| matches!(c, Command::Persist(_)))
        .expect("the task is persisted");
    let first_send = cmds
        .iter()
        .position(|c| matches!(c, Command::Send(..) | Command::Broadcast(..)))
        .expect("calls sent");
    assert!(persist < first_send, "persist before any message: {s:?}");
    let d = s.persisted().unwrap();
    assert_eq!((d.next_seq, d.tasks.len(), d.incarnation), (1, 1, 1));
    let calls = cfp_of(&h, &s);
    assert_eq!(calls.iter().map(|c| c.0).collect::<Vec<_>>(), vec![1, 2, 3]);
    let spec = TaskSpec::draw(&ContractNetConfig::default(), &sub(0));
    assert_eq!(
        calls[0].1,
        CnetMsg::Cfp {
            task: t(0),
            epoch: E0,
            size_ns: spec.size_ns,
            caps: 0
        }
    );
    assert!(s.notes().iter().any(|n| matches!(
        n,
        CnetNote::Submitted { task, version: 2, .. } if *task == t(0)
    )));
    assert!(s
        .timers()
        .iter()
        .any(|&(tm, d)| tm == CnetTimer::Agenda && d == 20 * MS));
}

#[test]
fn a_contractor_bids_its_expected_completion_time_or_refuses() {
    // Reference: FIPA SC00029H §2 — each Participant answers propose or refuse;
    // the default cost: queued work plus the task, over the speed.
    let cfg = ContractNetConfig {
        speeds: vec![2.0],
        contractor_capacity: 2,
        capabilities: 2,
        caps_per_contractor: 1,
        ..Default::default()
    };
    let mut h = harness(cfg, 3);
    // Node 1 is contractor 0: capability kind 0 only.
    let mut c = booted(&mut h, 1);
    let call = |seq, caps| CnetMsg::Cfp {
        task: t(seq),
        epoch: E0,
        size_ns: 400 * MS,
        caps,
    };
    let s = h.deliver(&mut c, 1, 0, 0, call(0, 0b10));
    assert_eq!(
        s.sends(),
        vec![(
            Some(0),
            CnetMsg::Refuse {
                task: t(0),
                epoch: E0,
                reason: RefuseReason::Incapable
            }
        )]
    );
    let s = h.deliver(&mut c, 1, 0, 0, call(1, 0b01));
    let b1 = bid_of(&s);
    assert_eq!(
        s.sends(),
        vec![(
            Some(0),
            CnetMsg::Propose {
                task: t(1),
                epoch: E0,
                cost: 200 * MS, // 400 ms of work at speed 2
                bid: b1,
            }
        )]
    );
    assert_eq!(s.timers(), vec![(CnetTimer::Tick, 100 * MS)], "the lease clock starts");
    // The proposal reserved its work: the next bid includes it.
    let s = h.deliver(&mut c, 1, MS, 0, call(2, 0b01));
    assert!(matches!(s.sends()[0].1, CnetMsg::Propose { cost, .. } if cost == 400 * MS));
    // Two reserved: full.
    let s = h.deliver(&mut c, 1, MS, 0, call(3, 0b01));
    assert!(matches!(
        s.sends()[0].1,
        CnetMsg::Refuse {
            reason: RefuseReason::Full,
            ..
        }
    ));
    // A rejection frees the reservation.
    h.deliver(
        &mut c,
        1,
        2 * MS,
        0,
        CnetMsg::RejectProposal {
            task: t(1),
            epoch: E0,
            bid: b1,
            late: false,
        },
    );
    let s = h.deliver(&mut c, 1, 2 * MS, 0, call(4, 0b01));
    assert!(matches!(s.sends()[0].1, CnetMsg::Propose { cost, .. } if cost == 400 * MS));
}

#[test]
fn bids_that_do_not_reserve_leave_room_and_an_award_past_capacity_fails() {
    let cfg = ContractNetConfig {
        reserve: false,
        contractor_capacity: 1,
        ..Default::default()
    };
    let mut h = harness(cfg.clone(), 2);
    let mut c = booted(&mut h, 1);
    let mut bids = Vec::new();
    for seq in 0..2 {
        let s = h.deliver(
            &mut c,
            1,
            0,
            0,
            CnetMsg::Cfp {
                task: t(seq),
                epoch: E0,
                size_ns: 100 * MS,
                caps: 0,
            },
        );
        assert!(matches!(s.sends()[0].1, CnetMsg::Propose { .. }), "{s:?}");
        bids.push(bid_of(&s));
    }
    // Proposals are numbered in order.
    assert_eq!(bids[1], bids[0].wrapping_add(1));
    let award = |seq: u32| CnetMsg::AcceptProposal {
        task: t(seq),
        epoch: E0,
        bid: bids[seq as usize],
    };
    let s = h.deliver(&mut c, 1, MS, 0, award(0));
    assert_eq!(
        s.notes(),
        vec![
            CnetNote::Holding {
                task: t(0),
                epoch: E0
            },
            CnetNote::Started {
                task: t(0),
                epoch: E0
            }
        ]
    );
    assert_eq!(s.timers(), vec![(CnetTimer::Work, 100 * MS)]);
    let s = h.deliver(&mut c, 1, MS, 0, award(1));
    assert_eq!(
        s.sends(),
        vec![(
            Some(0),
            CnetMsg::Failure {
                task: t(1),
                epoch: E0,
                reason: FailureReason::Full
            }
        )]
    );
    // The broken variant takes it anyway.
    let mut h = harness(
        ContractNetConfig {
            variant: Variant::OverCapacity,
            ..cfg
        },
        2,
    );
    let mut c = booted(&mut h, 1);
    for seq in 0..2 {
        let s = h.deliver(
            &mut c,
            1,
            0,
            0,
            CnetMsg::Cfp {
                task: t(seq),
                epoch: E0,
                size_ns: 100 * MS,
                caps: 0,
            },
        );
        let bid = bid_of(&s);
        h.deliver(
            &mut c,
            1,
            MS,
            0,
            CnetMsg::AcceptProposal {
                task: t(seq),
                epoch: E0,
                bid,
            },
        );
    }
    assert_eq!(c.contractor().unwrap().held(), 2);
}

#[test]
fn an_award_names_its_proposal_so_a_copy_cannot_take_a_later_one() {
    // Seen under duplication: the proposal is answered (here rejected), a
    // copy of the call makes a new proposal of the same round, and a copy
    // of the old award arrives. The old award must not start a lease.
    let mut h = harness(ContractNetConfig::default(), 2);
    let mut c = booted(&mut h, 1);
    let call = CnetMsg::Cfp {
        task: t(0),
        epoch: E0,
        size_ns: MS,
        caps: 0,
    };
    let b0 = bid_of(&h.deliver(&mut c, 1, 0, 0, call.clone()));
    // A copy of the call while the proposal is open: not answered twice.
    assert!(h.deliver(&mut c, 1, 0, 0, call.clone()).sends().is_empty());
    h.deliver(
        &mut c,
        1,
        MS,
        0,
        CnetMsg::RejectProposal {
            task: t(0),
            epoch: E0,
            bid: b0,
            late: true,
        },
    );
    let b1 = bid_of(&h.deliver(&mut c, 1, 2 * MS, 0, call));
    assert_ne!(b0, b1);
    let s = h.deliver(
        &mut c,
        1,
        3 * MS,
        0,
        CnetMsg::AcceptProposal {
            task: t(0),
            epoch: E0,
            bid: b0,
        },
    );
    assert_eq!(
        s.sends(),
        vec![(
            Some(0),
            CnetMsg::Failure {
                task: t(0),
                epoch: E0,
                reason: FailureReason::Unknown
            }
        )]
    );
    assert!(s.notes().is_empty(), "no lease from a stale award: {s:?}");
}

#[test]
fn a_copy_of_the_winning_proposal_is_not_rejected_as_late() {
    let (mut h, mut m) = announced(ContractNetConfig::default(), 2);
    let (f, msg) = propose(1, 5);
    let s = h.deliver(&mut m, 0, MS, f, msg.clone());
    assert!(matches!(s.notes()[..], [CnetNote::Awarded { to: 1, .. }]));
    let s = h.deliver(&mut m, 0, 2 * MS, f, msg);
    assert!(s.commands().is_empty(), "{s:?}");
}

/// A manager with one task announced to contractors 1..n.
fn announced(cfg: ContractNetConfig, n: u32) -> (Harness<ContractNet>, ContractNet) {
    let mut h = harness(cfg, n);
    let mut m = booted(&mut h, 0);
    h.submit(&mut m, 0, 0, sub(0));
    (h, m)
}

/// Contractor `from`'s proposal (numbered `from`) for task 0's first round.
fn propose(from: NodeId, cost: u64) -> (NodeId, CnetMsg) {
    (
        from,
        CnetMsg::Propose {
            task: t(0),
            epoch: E0,
            cost,
            bid: from,
        },
    )
}

#[test]
fn the_lowest_cost_wins_at_the_deadline_ties_by_rotation() {
    // Reference: FIPA SC00029H §2 — after the deadline the Initiator evaluates
    // the proposals, accept-proposal to the chosen, reject-proposal to the rest.
    let cfg = ContractNetConfig {
        early_award: false,
        ..Default::default()
    };
    let (mut h, mut m) = announced(cfg, 5);
    let mut rejected = Vec::new();
    for (from, cost) in [(3, 50), (2, 40), (4, 40), (1, 70)] {
        let (f, msg) = propose(from, cost);
        let s = h.deliver(&mut m, 0, MS, f, msg);
        for (to, msg) in s.sends() {
            assert!(matches!(msg, CnetMsg::RejectProposal { late: false, .. }));
            rejected.push(to.unwrap());
        }
        assert!(s.notes().is_empty(), "no award before the deadline");
    }
    // Task 0: ties go to the lowest id. Kept: 2 (40) and 4 (40, a higher
    // id); 3 was pushed out by 4, 1 never in.
    assert_eq!(rejected, vec![3, 1]);
    let s = h.fire(&mut m, 0, 20 * MS, CnetTimer::Agenda);
    assert_eq!(
        s.sends(),
        vec![
            (
                Some(2),
                CnetMsg::AcceptProposal {
                    task: t(0),
                    epoch: E0,
                    bid: 2
                }
            ),
            (
                Some(4),
                CnetMsg::RejectProposal {
                    task: t(0),
                    epoch: E0,
                    bid: 4,
                    late: false
                }
            ),
        ]
    );
    assert_eq!(
        s.notes(),
        vec![CnetNote::Awarded {
            task: t(0),
            epoch: E0,
            to: 2,
            bids: 4
        }]
    );
    // A proposal after the deadline is rejected as late.
    let (f, msg) = propose(3, 1);
    let s = h.deliver(&mut m, 0, 21 * MS, f, msg);
    assert_eq!(
        s.sends(),
        vec![(
            Some(3),
            CnetMsg::RejectProposal {
                task: t(0),
                epoch: E0,
                bid: 3,
                late: true
            }
        )]
    );
    assert_eq!(
        s.notes(),
        vec![CnetNote::Late {
            task: t(0),
            epoch: E0,
            from: 3
        }]
    );
}

#[test]
fn ties_rotate_with_the_task_number() {
    // Equal bids (idle contractors bid alike): task k prefers contractor
    // k mod 4 (node 1 + k mod 4), then the next ones.
    let mut h = harness(ContractNetConfig::default(), 5);
    let mut m = booted(&mut h, 0);
    for k in 0..6u32 {
        h.submit(&mut m, 0, 0, sub(k as u64));
        let mut winner = None;
        for from in 1..5 {
            let s = h.deliver(
                &mut m,
                0,
                MS,
                from,
                CnetMsg::Propose {
                    task: t(k),
                    epoch: E0 + k as u64,
                    cost: 7,
                    bid: 0,
                },
            );
            for n in s.notes() {
                if let CnetNote::Awarded { to, .. } = n {
                    winner = Some(to);
                }
            }
        }
        assert_eq!(winner, Some(1 + k % 4), "task {k}");
    }
}

#[test]
fn the_award_comes_early_once_every_invitee_answered() {
    // JADE's ContractNetInitiator: all responses in, or the deadline.
    let (mut h, mut m) = announced(ContractNetConfig::default(), 3);
    let (f, msg) = propose(1, 9);
    assert!(h.deliver(&mut m, 0, MS, f, msg).notes().is_empty());
    let s = h.deliver(
        &mut m,
        0,
        2 * MS,
        2,
        CnetMsg::Refuse {
            task: t(0),
            epoch: E0,
            reason: RefuseReason::Full,
        },
    );
    assert!(matches!(s.notes()[..], [CnetNote::Awarded { to: 1, .. }]));
}

#[test]
fn no_bid_means_a_retry_and_a_reannouncement_note() {
    // Iterated contract net: a task nobody bid on is announced again.
    let (mut h, mut m) = announced(ContractNetConfig::default(), 2);
    let s = h.deliver(
        &mut m,
        0,
        MS,
        1,
        CnetMsg::Refuse {
            task: t(0),
            epoch: E0,
            reason: RefuseReason::Full,
        },
    );
    assert_eq!(
        s.notes(),
        vec![CnetNote::Reannounced {
            task: t(0),
            why: Why::NoBid
        }]
    );
    assert!(s.sends().is_empty());
    // The retry fires (20 ms later); the agenda first fires for the deadline
    // of the closed round, which does nothing.
    let s = h.fire(&mut m, 0, 20 * MS, CnetTimer::Agenda);
    assert!(cfp_of(&h, &s).is_empty(), "{s:?}");
    let s = h.fire(&mut m, 0, 21 * MS, CnetTimer::Agenda);
    let calls = cfp_of(&h, &s);
    assert_eq!(calls.len(), 1);
    assert!(matches!(calls[0].1, CnetMsg::Cfp { epoch, .. } if epoch == E0 + 1));
}

#[test]
fn double_award_variant_accepts_the_two_best() {
    let cfg = ContractNetConfig {
        variant: Variant::DoubleAward,
        ..Default::default()
    };
    let (mut h, mut m) = announced(cfg, 3);
    let (f, msg) = propose(2, 5);
    h.deliver(&mut m, 0, MS, f, msg);
    let (f, msg) = propose(1, 6);
    let s = h.deliver(&mut m, 0, MS, f, msg);
    let accepted: Vec<NodeId> = s
        .sends()
        .into_iter()
        .filter(|(_, m)| matches!(m, CnetMsg::AcceptProposal { .. }))
        .map(|(to, _)| to.unwrap())
        .collect();
    assert_eq!(accepted, vec![2, 1]);
}

/// A contractor holding task 0 (proposed at its tick 0).
fn holding(cfg: ContractNetConfig) -> (Harness<ContractNet>, ContractNet) {
    let mut h = harness(cfg, 2);
    let mut c = booted(&mut h, 1);
    let s = h.deliver(
        &mut c,
        1,
        0,
        0,
        CnetMsg::Cfp {
            task: t(0),
            epoch: E0,
            size_ns: 10_000 * MS,
            caps: 0,
        },
    );
    let bid = bid_of(&s);
    let s = h.deliver(
        &mut c,
        1,
        MS,
        0,
        CnetMsg::AcceptProposal {
            task: t(0),
            epoch: E0,
            bid,
        },
    );
    assert!(matches!(s.notes()[0], CnetNote::Holding { .. }));
    (h, c)
}

#[test]
fn a_contractor_reports_every_tick_and_drops_the_task_when_its_lease_lapses() {
    // Default: lease 1 s on ticks of 100 ms: K = 10 ticks from the proposal.
    let (mut h, mut c) = holding(ContractNetConfig::default());
    for tick in 1..10u32 {
        let s = h.fire(&mut c, 1, tick as u64 * 100 * MS, CnetTimer::Tick);
        assert_eq!(
            s.sends(),
            vec![(
                Some(0),
                CnetMsg::Progress {
                    task: t(0),
                    epoch: E0,
                    tick
                }
            )],
            "tick {tick}"
        );
        assert!(s.notes().is_empty());
    }
    let s = h.fire(&mut c, 1, 1000 * MS, CnetTimer::Tick);
    assert_eq!(
        s.notes(),
        vec![CnetNote::Released {
            task: t(0),
            epoch: E0,
            why: Release::Expired
        }]
    );
    assert!(s.sends().is_empty());
    assert!(s.timers().is_empty(), "nothing left to count: the clock stops");
    assert_eq!(s.cancelled(), vec![CnetTimer::Work], "the work stops");
}

#[test]
fn a_renewal_counts_from_the_report_it_answers() {
    let (mut h, mut c) = holding(ContractNetConfig::default());
    for tick in 1..=6u64 {
        h.fire(&mut c, 1, tick * 100 * MS, CnetTimer::Tick);
    }
    // The renewal of the report of tick 4 arrives (late) at tick 6.
    h.deliver(
        &mut c,
        1,
        650 * MS,
        0,
        CnetMsg::Renew {
            task: t(0),
            epoch: E0,
            tick: 4,
        },
    );
    // Held through tick 13, dropped at 14 = 4 + K.
    for tick in 7..=13u64 {
        let s = h.fire(&mut c, 1, tick * 100 * MS, CnetTimer::Tick);
        assert!(s.notes().is_empty(), "tick {tick}");
    }
    let s = h.fire(&mut c, 1, 1400 * MS, CnetTimer::Tick);
    assert!(matches!(
        s.notes()[..],
        [CnetNote::Released {
            why: Release::Expired,
            ..
        }]
    ));
}

#[test]
fn the_manager_waits_its_side_of_the_lease_then_reannounces() {
    // Lease 1 s, ticks 100 ms, drift bound 1000 ppm: W = 13 ticks after the
    // tick at which the winning proposal arrived.
    let cfg = ContractNetConfig::default();
    assert_eq!(Lease::of(&cfg).grantor_ticks, 13);
    let (mut h, mut m) = announced(cfg, 2);
    let (f, msg) = propose(1, 5);
    h.deliver(&mut m, 0, MS, f, msg); // manager tick 0: award, over at 13
    for tick in 1..13u64 {
        let s = h.fire(&mut m, 0, tick * 100 * MS, CnetTimer::Tick);
        assert!(s.notes().is_empty() && s.sends().is_empty(), "tick {tick}");
    }
    let s = h.fire(&mut m, 0, 1300 * MS, CnetTimer::Tick);
    assert_eq!(
        s.notes()[0],
        CnetNote::Reannounced {
            task: t(0),
            why: Why::Silent
        }
    );
    assert_eq!(cfp_of(&h, &s).len(), 1);
}

#[test]
fn progress_renews_the_lease_and_is_answered() {
    let (mut h, mut m) = announced(ContractNetConfig::default(), 2);
    let (f, msg) = propose(1, 5);
    h.deliver(&mut m, 0, MS, f, msg);
    for tick in 1..=10u64 {
        h.fire(&mut m, 0, tick * 100 * MS, CnetTimer::Tick);
    }
    let s = h.deliver(
        &mut m,
        0,
        1050 * MS,
        1,
        CnetMsg::Progress {
            task: t(0),
            epoch: E0,
            tick: 9,
        },
    );
    assert_eq!(
        s.sends(),
        vec![(
            Some(1),
            CnetMsg::Renew {
                task: t(0),
                epoch: E0,
                tick: 9
            }
        )]
    );
    // Now over at 10 + 13 = 23, not 13.
    for tick in 11..23u64 {
        let s = h.fire(&mut m, 0, tick * 100 * MS, CnetTimer::Tick);
        assert!(s.notes().is_empty(), "tick {tick}");
    }
    let s = h.fire(&mut m, 0, 2300 * MS, CnetTimer::Tick);
    assert!(matches!(s.notes()[0], CnetNote::Reannounced { .. }));
    // A report from someone who does not hold it is not answered.
    let s = h.deliver(
        &mut m,
        0,
        2350 * MS,
        1,
        CnetMsg::Progress {
            task: t(0),
            epoch: E0,
            tick: 20,
        },
    );
    assert!(s.sends().is_empty());
}

#[test]
fn a_result_is_accepted_once_and_a_later_holder_is_cancelled() {
    let (mut h, mut m) = announced(ContractNetConfig::default(), 3);
    let (f, msg) = propose(1, 5);
    h.deliver(&mut m, 0, MS, f, msg); // invited 2: not yet
    let (f, msg) = propose(2, 7);
    h.deliver(&mut m, 0, MS, f, msg); // awarded to 1
    for tick in 1..=13u64 {
        h.fire(&mut m, 0, tick * 100 * MS, CnetTimer::Tick);
    }
    // Re-announced (round E0 + 1); 2 wins it.
    h.deliver(
        &mut m,
        0,
        1301 * MS,
        1,
        CnetMsg::Refuse {
            task: t(0),
            epoch: E0 + 1,
            reason: RefuseReason::Full,
        },
    );
    let s = h.deliver(
        &mut m,
        0,
        1302 * MS,
        2,
        CnetMsg::Propose {
            task: t(0),
            epoch: E0 + 1,
            cost: 1,
            bid: 2,
        },
    );
    assert!(matches!(s.notes()[..], [CnetNote::Awarded { to: 2, .. }]));
    // Then 1's result (of round E0) arrives: accepted, 2 cancelled.
    let done = CnetMsg::InformDone {
        task: t(0),
        epoch: E0,
    };
    let s = h.deliver(&mut m, 0, 1400 * MS, 1, done.clone());
    assert_eq!(
        s.sends(),
        vec![(
            Some(2),
            CnetMsg::Cancel {
                task: t(0),
                epoch: E0 + 1
            }
        )]
    );
    assert!(matches!(
        s.notes()[..],
        [CnetNote::Completed { by: 1, .. }]
    ));
    assert_eq!(s.persisted().unwrap().tasks.len(), 0);
    assert_eq!(m.manager().unwrap().pending(), 0);
    // A duplicate, and 2's result: ignored.
    assert!(h.deliver(&mut m, 0, 1401 * MS, 1, done).commands().is_empty());
    let s = h.deliver(
        &mut m,
        0,
        1402 * MS,
        2,
        CnetMsg::InformDone {
            task: t(0),
            epoch: E0 + 1,
        },
    );
    assert!(s.commands().is_empty());
}

#[test]
fn failure_reannounces_at_once() {
    let (mut h, mut m) = announced(ContractNetConfig::default(), 2);
    let (f, msg) = propose(1, 5);
    h.deliver(&mut m, 0, MS, f, msg);
    let s = h.deliver(
        &mut m,
        0,
        5 * MS,
        1,
        CnetMsg::Failure {
            task: t(0),
            epoch: E0,
            reason: FailureReason::Failed,
        },
    );
    assert_eq!(
        s.notes()[0],
        CnetNote::Reannounced {
            task: t(0),
            why: Why::Failure
        }
    );
    assert_eq!(cfp_of(&h, &s).len(), 1);
}

#[test]
fn a_restarted_manager_waits_a_whole_lease_and_uses_new_epochs() {
    // Persisted: pending tasks, next number, incarnation; awards are not.
    let (mut h, mut m) = announced(ContractNetConfig::default(), 2);
    let (f, msg) = propose(1, 5);
    let s = h.deliver(&mut m, 0, MS, f, msg);
    assert!(s.persisted().is_none(), "an award is not persisted");
    let d = {
        // What it wrote at submission.
        let mut h2 = harness(ContractNetConfig::default(), 2);
        let mut m2 = booted(&mut h2, 0);
        h2.submit(&mut m2, 0, 0, sub(0)).persisted().unwrap()
    };
    let mut r = h.recover(0, &d);
    let s = h.start(&mut r, 0, 0);
    assert_eq!(
        s.notes(),
        vec![CnetNote::Restarted {
            version: d.version,
            next_seq: 1
        }]
    );
    assert_eq!(s.persisted().unwrap().incarnation, 2);
    // The holder's report adopts it...
    let s = h.deliver(
        &mut r,
        0,
        50 * MS,
        1,
        CnetMsg::Progress {
            task: t(0),
            epoch: E0,
            tick: 3,
        },
    );
    assert_eq!(s.sends().len(), 1, "renewed: {s:?}");
    // ...and without news for a lease it is announced again, in a new epoch.
    let mut r = h.recover(0, &d);
    h.start(&mut r, 0, 0);
    for tick in 1..13u64 {
        let s = h.fire(&mut r, 0, tick * 100 * MS, CnetTimer::Tick);
        assert!(s.sends().is_empty(), "tick {tick}");
    }
    let s = h.fire(&mut r, 0, 1300 * MS, CnetTimer::Tick);
    assert!(matches!(cfp_of(&h, &s)[0].1, CnetMsg::Cfp { epoch, .. } if epoch == 2 << 32));
}

#[test]
fn a_result_from_an_earlier_life_is_not_taken_for_a_new_task_of_that_number() {
    // Task 0 is announced before the write recording it completes (a later
    // callback may), then the manager crashes and the write is lost: after
    // the restart, number 0 goes to another task. The old round's result
    // (epoch of incarnation 1) must not complete the new task.
    let mut h = harness(ContractNetConfig::default(), 3);
    let mut m = h.boot(0);
    let booted = h.start(&mut m, 0, 0).persisted().unwrap();
    h.submit(&mut m, 0, 0, sub(0));
    let mut r = h.recover(0, &booted);
    h.start(&mut r, 0, 0);
    h.submit(&mut r, 0, MS, sub(1));
    let done = |epoch| CnetMsg::InformDone { task: t(0), epoch };
    let s = h.deliver(&mut r, 0, 2 * MS, 1, done(E0));
    assert!(s.notes().is_empty() && s.persisted().is_none(), "{s:?}");
    let s = h.deliver(&mut r, 0, 3 * MS, 2, done(2 << 32));
    assert!(
        matches!(s.notes()[..], [CnetNote::Completed { by: 2, .. }]),
        "{s:?}"
    );
}

#[test]
fn baselines_invite_one_or_two_contractors() {
    let n = 6; // contractors 1..=5
    for (strategy, want) in [
        (Strategy::RoundRobin, 1),
        (Strategy::Random, 1),
        (Strategy::PowerOfTwo, 2),
        (Strategy::LeastLoaded, 1),
        (Strategy::Oracle, 1),
    ] {
        let cfg = ContractNetConfig {
            strategy,
            ..Default::default()
        };
        let mut h = harness(cfg, n);
        let mut cs: Vec<ContractNet> = (1..n).map(|i| booted(&mut h, i)).collect();
        let mut m = booted(&mut h, 0);
        let mut seen = Vec::new();
        for i in 0..5 {
            let s = h.submit(&mut m, 0, i * MS, sub(i));
            let calls = cfp_of(&h, &s);
            assert_eq!(calls.len(), want, "{strategy:?}");
            seen.push(calls[0].0);
        }
        if strategy == Strategy::RoundRobin {
            assert_eq!(seen, vec![1, 2, 3, 4, 5]);
        }
        let _ = &mut cs;
    }
}

#[test]
fn least_loaded_picks_the_lowest_report_and_queues_when_all_are_full() {
    let cfg = ContractNetConfig {
        strategy: Strategy::LeastLoaded,
        contractor_capacity: 2,
        ..Default::default()
    };
    let mut h = harness(cfg, 4);
    let mut m = booted(&mut h, 0);
    for (c, load) in [(1, 2), (2, 1), (3, 2)] {
        h.deliver(&mut m, 0, 0, c, CnetMsg::LoadReport { load, seq: 1 });
    }
    let s = h.submit(&mut m, 0, MS, sub(0));
    assert_eq!(cfp_of(&h, &s)[0].0, 2);
    // Now 2 counts as full too (the offer is counted at once): queued.
    let s = h.submit(&mut m, 0, 2 * MS, sub(1));
    assert!(cfp_of(&h, &s).is_empty());
    // A report of room sends it out.
    let s = h.deliver(&mut m, 0, 3 * MS, 3, CnetMsg::LoadReport { load: 0, seq: 2 });
    assert_eq!(cfp_of(&h, &s)[0].0, 3);
}

#[test]
fn the_oracle_reads_true_loads() {
    let cfg = ContractNetConfig {
        strategy: Strategy::Oracle,
        contractor_capacity: 1,
        ..Default::default()
    };
    let mut h = harness(cfg, 3);
    let mut c1 = booted(&mut h, 1);
    let _c2 = booted(&mut h, 2);
    let mut m = booted(&mut h, 0);
    // Contractor 1 holds a task: the oracle sees it without a message.
    h.deliver(
        &mut c1,
        1,
        0,
        0,
        CnetMsg::Cfp {
            task: t(9),
            epoch: 7,
            size_ns: MS,
            caps: 0,
        },
    );
    let s = h.submit(&mut m, 0, MS, sub(0));
    assert_eq!(cfp_of(&h, &s)[0].0, 2);
    let s = h.submit(&mut m, 0, MS, sub(1));
    assert!(cfp_of(&h, &s).is_empty(), "everyone is busy: the task waits");
}

#[test]
fn the_directory_filter_and_fanout_limit_who_is_called() {
    let cfg = ContractNetConfig {
        capabilities: 4,
        caps_per_contractor: 1,
        task_caps: 1,
        ..Default::default()
    };
    let n = 9; // contractors 1..=8: contractor j has kind j mod 4
    let mut h = harness(cfg.clone(), n);
    let mut m = booted(&mut h, 0);
    let s = h.submit(&mut m, 0, 0, sub(3));
    let spec = TaskSpec::draw(&cfg, &sub(3));
    let kind = spec.caps.trailing_zeros();
    let called: Vec<NodeId> = cfp_of(&h, &s).iter().map(|c| c.0).collect();
    assert_eq!(called, vec![1 + kind, 5 + kind]);
    // Without the filter every contractor is called.
    let mut h = harness(
        ContractNetConfig {
            filter: Filter::None,
            ..cfg.clone()
        },
        n,
    );
    let mut m = booted(&mut h, 0);
    let s = h.submit(&mut m, 0, 0, sub(3));
    assert_eq!(cfp_of(&h, &s).len(), 8);
    // Fanout: 3 of the 8, distinct.
    let mut h = harness(
        ContractNetConfig {
            filter: Filter::None,
            fanout: 3,
            ..cfg
        },
        n,
    );
    let mut m = booted(&mut h, 0);
    let s = h.submit(&mut m, 0, 0, sub(3));
    let mut called: Vec<NodeId> = cfp_of(&h, &s)
        .iter()
        .map(|c| c.0)
        .collect();
    called.sort_unstable();
    called.dedup();
    assert_eq!(called.len(), 3);
}

#[test]
fn a_submission_reaching_a_contractor_goes_to_a_manager() {
    let cfg = ContractNetConfig {
        managers: 3,
        ..Default::default()
    };
    let mut h = harness(cfg, 6);
    let mut c = booted(&mut h, 4);
    let s = h.submit(&mut c, 4, 0, sub(7));
    assert_eq!(
        s.sends(),
        vec![(
            Some(1), // 7 mod 3
            CnetMsg::Request {
                index: 7,
                client: 0,
                draw: sub(7).draw
            }
        )]
    );
}

#[test]
fn validation_names_the_field() {
    let bad = [
        (
            ContractNetConfig {
                managers: 5,
                ..Default::default()
            },
            "contract-net.managers",
        ),
        (
            ContractNetConfig {
                contractor_capacity: 0,
                ..Default::default()
            },
            "contract-net.contractor_capacity",
        ),
        (
            ContractNetConfig {
                speeds: vec![1.0, 0.0],
                ..Default::default()
            },
            "contract-net.speeds",
        ),
        (
            ContractNetConfig {
                lease: Dur::from_ms(150),
                ..Default::default()
            },
            "contract-net.lease",
        ),
        (
            ContractNetConfig {
                size: SizeDist::Pareto,
                size_alpha: 1.0,
                ..Default::default()
            },
            "contract-net.size_alpha",
        ),
        (
            ContractNetConfig {
                capabilities: 33,
                ..Default::default()
            },
            "contract-net.capabilities",
        ),
        (
            ContractNetConfig {
                failure_ratio: 1.0,
                ..Default::default()
            },
            "contract-net.failure_ratio",
        ),
    ];
    for (cfg, field) in bad {
        let e = cfg.validate(5).unwrap_err();
        assert!(e.starts_with(field) && e.contains("accepted"), "{e}");
    }
    // Every task must be runnable: 8 kinds, 2 contractors with 2 kinds each.
    let cfg = ContractNetConfig {
        capabilities: 8,
        caps_per_contractor: 2,
        ..Default::default()
    };
    let e = <ContractNetSpec as crate::protocols::Spec>::validate(&cfg, 3).unwrap_err();
    assert!(e.starts_with("contract-net.capabilities"), "{e}");
    assert!(ContractNetConfig::default().validate(2).is_ok());
}

#[cfg(feature = "cli")]
#[test]
fn flags_do_not_shadow_the_common_ones() {
    // Two flags of one name: clap keeps one silently in release builds
    // (its check is a debug assertion), so a protocol flag named like a
    // network flag would change the network.
    let cmd = crate::cli::command(&crate::protocols::Registry::builtin());
    let run = cmd.find_subcommand("run").unwrap();
    let sub = run.find_subcommand("contract-net").unwrap();
    let mut longs: Vec<&str> = sub.get_arguments().filter_map(|a| a.get_long()).collect();
    let n = longs.len();
    longs.sort_unstable();
    longs.dedup();
    assert_eq!(longs.len(), n, "a flag name is used twice");
    assert!(longs.contains(&"contractor-capacity") && longs.contains(&"capacity"));
}
