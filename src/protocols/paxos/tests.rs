//! Step tests: feed one event to one node, assert the exact commands; and a
//! small synchronous router for whole decisions without the engine.

use super::*;
use crate::node::testkit::{Harness, Step};
use crate::node::{Command, Message};
use crate::time::{Dur, MS};
use std::collections::VecDeque;

const N: u32 = 5;

fn b(round: u32, node: u32) -> Ballot {
    Ballot { round, node }
}

fn cfg() -> PaxosConfig {
    PaxosConfig::default()
}

fn multi() -> PaxosConfig {
    PaxosConfig {
        mode: Mode::Multi,
        ..PaxosConfig::default()
    }
}

fn cmd(seq: u64) -> Cmd {
    Cmd {
        client: 0,
        proxy: 1,
        seq,
    }
}

/// The messages of a step, addressed.
fn sends(s: &Step<Paxos>) -> Vec<(NodeId, PaxosMsg)> {
    s.sends()
        .into_iter()
        .map(|(to, m)| (to.expect("paxos sends to named nodes"), m))
        .collect()
}

/// Whether the step persisted before its first send (the order commands
/// are issued in: with a storage delay, the sends wait for the write).
fn persisted_before_sending(s: &Step<Paxos>) -> bool {
    let first_send = s
        .commands()
        .iter()
        .position(|c| matches!(c, Command::Send(..)));
    let persist = s
        .commands()
        .iter()
        .position(|c| matches!(c, Command::Persist(_)));
    matches!((persist, first_send), (Some(p), Some(f)) if p < f)
}

// ------------------------------------------------------------------ acceptor

#[test]
fn an_acceptor_persists_its_promise_then_promises_with_its_accepted_proposal() {
    // Reference: §2.2, phase 1 (b).
    let mut h = Harness::<Paxos>::new(cfg(), N);
    let mut a = h.boot(2);
    let s = h.deliver(
        &mut a,
        2,
        0,
        0,
        PaxosMsg::Accept {
            ballot: b(1, 0),
            slot: 0,
            value: Value::Own(0),
        },
    );
    assert!(persisted_before_sending(&s));
    let s = h.deliver(
        &mut a,
        2,
        0,
        3,
        PaxosMsg::Prepare {
            ballot: b(2, 3),
            slot: 0,
        },
    );
    assert!(persisted_before_sending(&s), "{s:?}");
    let d = s.persisted().unwrap();
    assert_eq!(
        d.records().last(),
        Some(&Rec::Promise {
            slot: Some(0),
            ballot: b(2, 3)
        })
    );
    let out = sends(&s);
    // The displaced ballot (1, 0) is told it was preempted; the promise
    // carries the proposal accepted in (1, 0).
    assert_eq!(
        out,
        vec![
            (
                0,
                PaxosMsg::Nack {
                    ballot: b(1, 0),
                    slot: 0,
                    promised: b(2, 3)
                }
            ),
            (
                3,
                PaxosMsg::Promise {
                    ballot: b(2, 3),
                    slot: 0,
                    accepted: vec![Entry {
                        slot: 0,
                        ballot: b(1, 0),
                        value: Value::Own(0)
                    }]
                }
            ),
        ]
    );
    // A lower Prepare is refused with the promise, and changes nothing.
    let s = h.deliver(
        &mut a,
        2,
        0,
        1,
        PaxosMsg::Prepare {
            ballot: b(1, 4),
            slot: 0,
        },
    );
    assert_eq!(s.persisted(), None);
    assert_eq!(
        sends(&s),
        vec![(
            1,
            PaxosMsg::Nack {
                ballot: b(1, 4),
                slot: 0,
                promised: b(2, 3)
            }
        )]
    );
}

#[test]
fn an_acceptor_refuses_an_accept_below_its_promise_even_after_a_crash() {
    // Reference: §2.2, phase 2 (b); the promise is stable storage (§2.2, last paragraph).
    let mut h = Harness::<Paxos>::new(cfg(), N);
    let mut a = h.boot(1);
    let s = h.deliver(
        &mut a,
        1,
        0,
        3,
        PaxosMsg::Prepare {
            ballot: b(3, 3),
            slot: 0,
        },
    );
    let d = s.persisted().unwrap();
    let mut a = h.recover(1, &d);
    let s = h.deliver(
        &mut a,
        1,
        0,
        2,
        PaxosMsg::Accept {
            ballot: b(2, 2),
            slot: 0,
            value: Value::Own(2),
        },
    );
    assert!(s.persisted().is_none());
    assert_eq!(
        sends(&s),
        vec![(
            2,
            PaxosMsg::Nack {
                ballot: b(2, 2),
                slot: 0,
                promised: b(3, 3)
            }
        )]
    );
    // At or above the promise: accepted, journaled, persisted, and sent to
    // every learner (itself included).
    let s = h.deliver(
        &mut a,
        1,
        0,
        3,
        PaxosMsg::Accept {
            ballot: b(3, 3),
            slot: 0,
            value: Value::Own(3),
        },
    );
    assert!(persisted_before_sending(&s));
    let out = sends(&s);
    assert_eq!(out.len(), N as usize);
    assert!(out.iter().enumerate().all(|(i, (to, m))| *to == i as u32
        && *m
            == PaxosMsg::Accepted {
                ballot: b(3, 3),
                slot: 0,
                value: Value::Own(3)
            }));
}

#[test]
fn forget_promise_loses_the_promise_in_a_crash() {
    let bad = PaxosConfig {
        variant: PaxosVariant::ForgetPromise,
        ..cfg()
    };
    let mut h = Harness::<Paxos>::new(bad, N);
    let mut a = h.boot(1);
    let s = h.deliver(
        &mut a,
        1,
        0,
        3,
        PaxosMsg::Prepare {
            ballot: b(3, 3),
            slot: 0,
        },
    );
    // It promises without persisting: after a crash the promise is gone.
    assert!(s.persisted().is_none());
    assert!(matches!(sends(&s)[..], [(3, PaxosMsg::Promise { .. })]));
    let mut a = h.recover(1, &PaxosDurable::default());
    let s = h.deliver(
        &mut a,
        1,
        0,
        2,
        PaxosMsg::Accept {
            ballot: b(2, 2),
            slot: 0,
            value: Value::Own(2),
        },
    );
    assert!(
        sends(&s)
            .iter()
            .any(|(_, m)| matches!(m, PaxosMsg::Accepted { .. })),
        "accepted below the forgotten promise"
    );
}

#[test]
fn accept_below_promise_accepts_what_it_promised_not_to() {
    let bad = PaxosConfig {
        variant: PaxosVariant::AcceptBelowPromise,
        ..cfg()
    };
    let mut h = Harness::<Paxos>::new(bad, N);
    let mut a = h.boot(1);
    h.deliver(
        &mut a,
        1,
        0,
        3,
        PaxosMsg::Prepare {
            ballot: b(3, 3),
            slot: 0,
        },
    );
    let s = h.deliver(
        &mut a,
        1,
        0,
        2,
        PaxosMsg::Accept {
            ballot: b(2, 2),
            slot: 0,
            value: Value::Own(2),
        },
    );
    assert!(matches!(
        sends(&s)[0].1,
        PaxosMsg::Accepted { ballot, .. } if ballot == b(2, 2)
    ));
}

#[test]
fn the_journal_drops_records_a_crash_lost() {
    let mut h = Harness::<Paxos>::new(cfg(), N);
    let mut a = h.boot(1);
    let s = h.deliver(
        &mut a,
        1,
        0,
        3,
        PaxosMsg::Prepare {
            ballot: b(3, 3),
            slot: 0,
        },
    );
    let durable = s.persisted().unwrap();
    // A second promise whose write a crash lost: not in the durable prefix.
    let s = h.deliver(
        &mut a,
        1,
        0,
        4,
        PaxosMsg::Prepare {
            ballot: b(4, 4),
            slot: 0,
        },
    );
    assert_eq!(s.persisted().unwrap().len(), 2);
    let mut a = h.recover(1, &durable);
    assert_eq!(durable.records().len(), 1);
    // Recovered from (3, 3): the (4, 4) promise never happened.
    let s = h.deliver(
        &mut a,
        1,
        0,
        2,
        PaxosMsg::Prepare {
            ballot: b(4, 2),
            slot: 0,
        },
    );
    assert!(matches!(sends(&s)[..], [(3, PaxosMsg::Nack { .. }), (2, PaxosMsg::Promise { .. })]));
}

// ------------------------------------------------------------------ proposer

/// A proposer (node 0) past phase 1a of slot 0 with ballot (1, 0).
fn proposer(c: PaxosConfig) -> (Harness<Paxos>, Paxos) {
    let mut h = Harness::<Paxos>::new(c, N);
    let mut p = h.boot(0);
    let s = h.start(&mut p, 0, 0);
    // §2.2: the round is journaled before a Prepare carries it.
    assert!(persisted_before_sending(&s));
    assert_eq!(s.persisted().unwrap().records(), vec![Rec::Round(1)]);
    let out = sends(&s);
    assert_eq!(out.len(), N as usize);
    for (i, (to, m)) in out.iter().enumerate() {
        assert_eq!(*to, i as u32);
        assert_eq!(
            *m,
            PaxosMsg::Prepare {
                ballot: b(1, 0),
                slot: 0
            }
        );
    }
    assert_eq!(s.notes(), vec![PaxosNote::Attempt { slot: 0, ballot: b(1, 0) }]);
    (h, p)
}

fn promise(accepted: Vec<Entry>) -> PaxosMsg {
    PaxosMsg::Promise {
        ballot: b(1, 0),
        slot: 0,
        accepted,
    }
}

#[test]
fn a_proposer_proposes_the_value_of_the_highest_numbered_accepted_proposal() {
    // Reference: §2.2, phase 2 (a).
    let (mut h, mut p) = proposer(cfg());
    let e = |round, node, v| Entry {
        slot: 0,
        ballot: b(round, node),
        value: Value::Own(v),
    };
    assert!(sends(&h.deliver(&mut p, 0, 0, 1, promise(vec![e(0, 2, 2)]))).is_empty());
    assert!(sends(&h.deliver(&mut p, 0, 0, 2, promise(vec![]))).is_empty());
    // A duplicate promise does not count twice.
    assert!(sends(&h.deliver(&mut p, 0, 0, 2, promise(vec![]))).is_empty());
    let s = h.deliver(&mut p, 0, 0, 3, promise(vec![e(0, 4, 4)]));
    let want = PaxosMsg::Accept {
        ballot: b(1, 0),
        slot: 0,
        value: Value::Own(4),
    };
    assert!(sends(&s).iter().all(|(_, m)| *m == want));
    assert_eq!(sends(&s).len(), N as usize);
    assert_eq!(
        s.notes(),
        vec![PaxosNote::Proposed {
            slot: 0,
            ballot: b(1, 0),
            value: Value::Own(4),
            recovered: Some(b(0, 4))
        }]
    );
}

#[test]
fn ignore_accepted_proposes_its_own_value() {
    let bad = PaxosConfig {
        variant: PaxosVariant::IgnoreAccepted,
        ..cfg()
    };
    let (mut h, mut p) = proposer(bad);
    let e = Entry {
        slot: 0,
        ballot: b(0, 4),
        value: Value::Own(4),
    };
    h.deliver(&mut p, 0, 0, 1, promise(vec![e]));
    h.deliver(&mut p, 0, 0, 2, promise(vec![]));
    let s = h.deliver(&mut p, 0, 0, 3, promise(vec![]));
    assert!(matches!(
        &sends(&s)[0].1,
        PaxosMsg::Accept { value: Value::Own(0), .. }
    ));
}

#[test]
fn a_preempted_proposer_retries_at_once_without_backoff_and_later_with_it() {
    let nack = PaxosMsg::Nack {
        ballot: b(1, 0),
        slot: 0,
        promised: b(3, 2),
    };
    // Backoff 0..0: a new Prepare above the preempting ballot, in the same step.
    let (mut h, mut p) = proposer(PaxosConfig {
        backoff: DurRange::new(Dur::ZERO, Dur::ZERO),
        ..cfg()
    });
    let s = h.deliver(&mut p, 0, MS, 2, nack.clone());
    assert_eq!(
        s.notes(),
        vec![
            PaxosNote::Preempted {
                slot: 0,
                ballot: b(1, 0),
                by: b(3, 2)
            },
            PaxosNote::Attempt {
                slot: 0,
                ballot: b(4, 0)
            }
        ]
    );
    assert_eq!(sends(&s).len(), N as usize);
    // A second NACK of the abandoned ballot changes nothing.
    assert!(h.deliver(&mut p, 0, MS, 3, nack.clone()).commands().is_empty());
    // Backoff 5..10ms: a timer in that range, no message yet.
    let (mut h, mut p) = proposer(PaxosConfig {
        backoff: DurRange::new(Dur::from_ms(5), Dur::from_ms(10)),
        ..cfg()
    });
    let s = h.deliver(&mut p, 0, MS, 2, nack);
    assert!(sends(&s).is_empty());
    let t = s.timers();
    assert!(matches!(t[..], [(PaxosTimer::Retry, d)] if (5 * MS..=10 * MS).contains(&d)), "{t:?}");
    let s = h.fire(&mut p, 0, 10 * MS, PaxosTimer::Retry);
    assert!(matches!(
        s.notes()[..],
        [PaxosNote::Attempt { ballot, .. }] if ballot == b(4, 0)
    ));
}

// ------------------------------------------------------------------- learner

fn accepted(round: u32, node: u32, v: u32) -> PaxosMsg {
    PaxosMsg::Accepted {
        ballot: b(round, node),
        slot: 0,
        value: Value::Own(v),
    }
}

#[test]
fn a_learner_learns_only_from_a_majority_in_one_ballot() {
    // Reference: §2.3, "a learner must find out that a proposal has been
    // accepted by a majority of acceptors".
    let mut h = Harness::<Paxos>::new(cfg(), N);
    let mut l = h.boot(4);
    h.deliver(&mut l, 4, 0, 0, accepted(1, 1, 1));
    h.deliver(&mut l, 4, 0, 1, accepted(1, 1, 1));
    h.deliver(&mut l, 4, 0, 1, accepted(1, 1, 1));
    // Two in (1, 1), one in (2, 3): no majority in one ballot.
    let s = h.deliver(&mut l, 4, 0, 2, accepted(2, 3, 1));
    assert!(s.notes().is_empty());
    let s = h.deliver(&mut l, 4, 0, 3, accepted(1, 1, 1));
    assert_eq!(
        s.notes(),
        vec![PaxosNote::Learned {
            slot: 0,
            value: Value::Own(1),
            ballot: Some(b(1, 1)),
            applied: 1,
            digest: 0
        }]
    );
    assert!(persisted_before_sending(&s) || sends(&s).is_empty());
    assert!(s.persisted().is_some(), "a replica's log is durable");
    assert!(h.deliver(&mut l, 4, 0, 4, accepted(1, 1, 1)).notes().is_empty());
}

#[test]
fn a_replica_executes_a_retried_command_once() {
    let mut h = Harness::<Paxos>::new(multi(), N);
    let mut l = h.boot(3);
    let chosen = |slot, v| PaxosMsg::Chosen { slot, value: v };
    let applied = |s: &Step<Paxos>| -> Vec<(u64, u64)> {
        s.notes()
            .into_iter()
            .filter_map(|n| match n {
                PaxosNote::Learned {
                    applied, digest, ..
                } => Some((applied, digest)),
                _ => None,
            })
            .collect()
    };
    let s = h.deliver(&mut l, 3, 0, 0, chosen(1, Value::Cmd(cmd(7))));
    // Slot 0 missing: nothing executes yet.
    assert_eq!(applied(&s), vec![(0, 0)]);
    let s = h.deliver(&mut l, 3, 0, 0, chosen(0, Value::Cmd(cmd(7))));
    let once = types::fold_digest(0, &cmd(7));
    assert_eq!(applied(&s), vec![(2, once)]);
    let s = h.deliver(
        &mut l,
        3,
        0,
        0,
        chosen(2, Value::Batch(vec![cmd(8), cmd(7)].into())),
    );
    assert_eq!(applied(&s), vec![(3, types::fold_digest(once, &cmd(8)))]);
}

// ------------------------------------------------------------- multi-paxos

#[test]
fn a_new_leader_proposes_recovered_values_and_fills_gaps_with_no_ops() {
    // Phase 1 once for every open slot (Paxos Made Simple §3).
    let mut h = Harness::<Paxos>::new(multi(), N);
    let mut p = h.boot(2);
    h.start(&mut p, 2, 0);
    let s = h.fire(&mut p, 2, 300 * MS, PaxosTimer::Election);
    assert_eq!(
        s.notes(),
        vec![PaxosNote::Attempt {
            slot: 0,
            ballot: b(1, 2)
        }]
    );
    let entry = |slot, round, node, v| Entry {
        slot,
        ballot: b(round, node),
        value: Value::Cmd(cmd(v)),
    };
    let promise = |accepted| PaxosMsg::Promise {
        ballot: b(1, 2),
        slot: 0,
        accepted,
    };
    h.deliver(&mut p, 2, 0, 0, promise(vec![entry(0, 0, 1, 10), entry(3, 0, 1, 13)]));
    h.deliver(&mut p, 2, 0, 1, promise(vec![entry(0, 0, 4, 11)]));
    let s = h.deliver(&mut p, 2, 0, 3, promise(vec![]));
    let proposed: Vec<(u64, Value, Option<Ballot>)> = s
        .notes()
        .into_iter()
        .filter_map(|n| match n {
            PaxosNote::Proposed {
                slot,
                value,
                recovered,
                ..
            } => Some((slot, value, recovered)),
            _ => None,
        })
        .collect();
    assert_eq!(
        proposed,
        vec![
            (0, Value::Cmd(cmd(11)), Some(b(0, 4))),
            (1, Value::Noop, None),
            (2, Value::Noop, None),
            (3, Value::Cmd(cmd(13)), Some(b(0, 1))),
        ]
    );
    assert!(s.notes().contains(&PaxosNote::Leader { ballot: b(1, 2) }));
    // Heartbeats to every other node.
    let hb = sends(&s)
        .iter()
        .filter(|(_, m)| matches!(m, PaxosMsg::Heartbeat { .. }))
        .count();
    assert_eq!(hb, N as usize - 1);
}

#[test]
fn a_leader_steps_down_when_it_sees_a_higher_ballot() {
    let mut h = Harness::<Paxos>::new(multi(), N);
    let mut p = h.boot(2);
    h.start(&mut p, 2, 0);
    h.fire(&mut p, 2, 300 * MS, PaxosTimer::Election);
    for from in [0, 1, 3] {
        h.deliver(
            &mut p,
            2,
            0,
            from,
            PaxosMsg::Promise {
                ballot: b(1, 2),
                slot: 0,
                accepted: vec![],
            },
        );
    }
    assert!(p.is_leader());
    let s = h.deliver(
        &mut p,
        2,
        0,
        4,
        PaxosMsg::Nack {
            ballot: b(1, 2),
            slot: 0,
            promised: b(2, 4),
        },
    );
    assert!(!p.is_leader());
    assert!(s.notes().contains(&PaxosNote::SteppedDown { ballot: b(1, 2) }));
    assert_eq!(p.seen(), b(2, 4));
}

// ------------------------------------------------- one decision, end to end

/// Runs one single-decree decision among harness nodes, delivering every
/// message at once in send order, with no timer firing: returns the messages
/// sent by kind (copies to oneself included) and how many went to oneself.
fn one_decision(c: PaxosConfig, n: u32) -> (Vec<u64>, u64, Vec<Paxos>) {
    let mut h = Harness::<Paxos>::new(c, n);
    let mut nodes: Vec<Paxos> = (0..n).map(|i| h.boot(i)).collect();
    let mut q: VecDeque<(NodeId, NodeId, PaxosMsg)> = VecDeque::new();
    let mut by_kind = vec![0u64; PaxosMsg::KINDS.len()];
    let mut to_self = 0;
    for i in 0..n {
        let s = h.start(&mut nodes[i as usize], i, 0);
        q.extend(sends(&s).into_iter().map(|(to, m)| (i, to, m)));
    }
    while let Some((from, to, m)) = q.pop_front() {
        by_kind[m.kind()] += 1;
        to_self += (from == to) as u64;
        let s = h.deliver(&mut nodes[to as usize], to, 0, from, m);
        q.extend(sends(&s).into_iter().map(|(t, m)| (to, t, m)));
    }
    (by_kind, to_self, nodes)
}

#[test]
fn one_decision_costs_4n_messages_for_one_proposer_and_n_acceptors() {
    // Paxos Made Simple §2.2-2.3, one proposer, N acceptors, no faults: the
    // proposer sends a prepare request to each acceptor (N), each answers
    // with a promise (N), it sends an accept request to each (N), and each
    // acceptor that accepts tells the learner (N, one distinguished learner,
    // here the proposer). 4N messages. Node 0 plays all three roles, and its
    // messages to itself count (they go through the network like any other):
    // 4 of the 4N; 4(N - 1) without them.
    for n in [1, 3, 5, 7, 101] {
        let c = PaxosConfig {
            proposers: 1,
            learners: 1,
            ..cfg()
        };
        let (k, to_self, nodes) = one_decision(c, n);
        let n64 = n as u64;
        assert_eq!(k[0], n64, "Prepare, n = {n}");
        assert_eq!(k[1], n64, "Promise");
        assert_eq!(k[2], n64, "Accept");
        assert_eq!(k[3], n64, "Accepted");
        assert_eq!(k.iter().sum::<u64>(), 4 * n64, "total, n = {n}");
        assert_eq!(to_self, 4);
        assert_eq!(nodes[0].learned(0), Some(&Value::Own(0)));
    }
    // With every node a learner (the default), each acceptance goes to all N
    // learners (§2.3's first method): 3N + N².
    let c = PaxosConfig {
        proposers: 1,
        ..cfg()
    };
    let (k, to_self, nodes) = one_decision(c, N);
    assert_eq!(k.iter().sum::<u64>(), 3 * 5 + 25);
    assert_eq!(to_self, 3 + 5);
    assert!(nodes.iter().all(|x| x.learned(0) == Some(&Value::Own(0))));
}

#[test]
fn bad_settings_name_the_field_and_the_range() {
    let bad = |c: PaxosConfig| c.validate(5).unwrap_err();
    assert!(bad(PaxosConfig { acceptors: 6, ..cfg() }).contains("paxos.acceptors = 6"));
    assert!(bad(PaxosConfig { batch_max: 0, ..cfg() }).contains("paxos.batch_max"));
    assert!(bad(PaxosConfig {
        heartbeat: Dur::from_ms(150),
        ..cfg()
    })
    .contains("paxos.heartbeat"));
    assert!(bad(PaxosConfig {
        retry_timeout: Dur::ZERO,
        ..cfg()
    })
    .contains("paxos.retry_timeout"));
    assert!("nope".parse::<PaxosVariant>().unwrap_err().contains("accepted: correct"));
    assert!("both".parse::<Mode>().unwrap_err().contains("single, multi"));
    assert!(cfg().validate(5).is_ok());
}

