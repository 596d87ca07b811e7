//! Single-step tests: feed one event to one node, assert the exact commands.
//!
//! The counting rules are those of Demers et al. 1987, §1.4 ("Complex
//! epidemics"): *feedback vs blind* decides which contacts count (only those
//! with a node that already knew, or all), *counter vs coin* how interest is
//! lost (after `k` counted contacts, or with probability `1/k` at each).

use super::*;
use crate::node::testkit::Harness;
use crate::node::{Command, Ctx};
use crate::rng::NodeRng;
use crate::time::{Dur, MS};
use std::sync::Arc;

const N: u32 = 10;
const P: u64 = 100 * MS;

/// Gossip's steps on the shared kit.
struct Step {
    h: Harness<Gossip>,
}

impl Step {
    fn new(cfg: &Arc<GossipConfig>) -> Step {
        Step {
            h: Harness::new((**cfg).clone(), N).with_rng(NodeRng::for_node(7, 0)),
        }
    }

    /// Runs `f` on `node` as node `id` at time `now`; returns the commands.
    fn run(
        &mut self,
        node: &mut Gossip,
        id: NodeId,
        now: u64,
        f: impl FnOnce(&mut Gossip, &mut Ctx<'_, Gossip>),
    ) -> Vec<Command<Gossip>> {
        self.h.step(node, id, now, f).0
    }

    fn tick(&mut self, node: &mut Gossip, id: NodeId, now: u64) -> Vec<Command<Gossip>> {
        self.run(node, id, now, |n, c| n.on_timer(c, GossipTimer::Round))
    }

    fn recv(
        &mut self,
        node: &mut Gossip,
        id: NodeId,
        now: u64,
        from: NodeId,
        m: GossipMsg,
    ) -> Vec<Command<Gossip>> {
        self.run(node, id, now, |n, c| n.on_message(c, from, m))
    }
}

fn cfg(f: impl FnOnce(&mut GossipConfig)) -> Arc<GossipConfig> {
    let mut c = GossipConfig::default();
    f(&mut c);
    c.validate(N).expect("test config is valid");
    Arc::new(c)
}

/// Node `id` at first boot (nodes `0..informed` start infective with `Entry::FIRST`).
fn boot(cfg: &Arc<GossipConfig>, id: NodeId) -> Gossip {
    Harness::new((**cfg).clone(), N).boot(id)
}

fn rumor_mongering(loss: InterestLoss, removal: Removal, k: u32) -> Arc<GossipConfig> {
    cfg(|c| {
        c.interest_loss = loss;
        c.removal = removal;
        c.k = k;
        c.informed = 2;
    })
}

/// The peer a single-send command went to.
fn sent_to(cmds: &[Command<Gossip>]) -> NodeId {
    let to: Vec<NodeId> = cmds
        .iter()
        .filter_map(|c| match c {
            Command::Send(to, _) => Some(*to),
            _ => None,
        })
        .collect();
    assert_eq!(to.len(), 1, "{cmds:?}");
    to[0]
}

fn fb(knew: bool) -> GossipMsg {
    GossipMsg::Feedback { version: 1, knew }
}

fn learned(e: Entry, hot: bool) -> Command<Gossip> {
    Command::Note(GossipNote::Learned {
        key: 0,
        version: e.version,
        value: e.value,
        hot,
    })
}

#[test]
fn infective_push_round_sends_one_rumor_and_rearms() {
    let c = rumor_mongering(InterestLoss::Feedback, Removal::Counter, 2);
    let mut s = Step::new(&c);
    let mut a = boot(&c, 0);
    assert_eq!(a.status(), Status::Infective);
    let cmds = s.tick(&mut a, 0, 0);
    let to = sent_to(&cmds);
    assert_ne!(to, 0, "a node never picks itself");
    assert_eq!(
        cmds,
        vec![
            Command::Send(
                to,
                GossipMsg::Rumor {
                    entry: Entry::FIRST,
                    reply: false
                }
            ),
            Command::SetTimer(GossipTimer::Round, P),
        ]
    );
}

#[test]
fn feedback_counter_stops_after_k_consecutive_unnecessary_contacts() {
    // Reference: §1.4, "Counter vs. coin": "we lose interest only after k unnecessary
    // contacts"; with feedback a contact is unnecessary when the recipient already
    // knew. The count restarts on a necessary contact: the traffic bound of §1.4
    // ("each unnecessary message was sent by a site that, within the last k cycles,
    // sent a necessary message, or newly discovered the update") rests on it.
    let c = rumor_mongering(InterestLoss::Feedback, Removal::Counter, 2);
    let mut s = Step::new(&c);
    let mut a = boot(&c, 0);
    assert_eq!(s.recv(&mut a, 0, 5 * MS, 3, fb(true)), vec![]);
    assert_eq!((a.status(), a.count()), (Status::Infective, 1));
    // A necessary contact: the count starts again.
    assert_eq!(s.recv(&mut a, 0, 105 * MS, 4, fb(false)), vec![]);
    assert_eq!((a.status(), a.count()), (Status::Infective, 0));
    s.recv(&mut a, 0, 205 * MS, 5, fb(true));
    assert_eq!((a.status(), a.count()), (Status::Infective, 1));
    // The second consecutive node that already knew: interest lost (k = 2).
    assert_eq!(s.recv(&mut a, 0, 305 * MS, 6, fb(true)), vec![]);
    assert_eq!(a.status(), Status::Removing);
    // Feedback for a stale version does not count.
    let mut b = boot(&c, 1);
    s.recv(
        &mut b,
        1,
        5 * MS,
        3,
        GossipMsg::Feedback {
            version: 9,
            knew: true,
        },
    );
    assert_eq!(b.count(), 0);
    // At the next tick it announces the removal and pushes no more.
    assert_eq!(
        s.tick(&mut a, 0, 400 * MS),
        vec![Command::Note(GossipNote::Removed { version: 1 })]
    );
    assert_eq!(a.status(), Status::Removed);
    assert_eq!(
        s.tick(&mut a, 0, 500 * MS),
        vec![],
        "the push timer stopped"
    );
}

#[test]
fn blind_counter_stops_after_k_contacts_whatever_the_recipient_knew() {
    // Reference: §1.4, "Blind vs. feedback": a blind node loses interest regardless
    // of the recipient; with a counter, after k contacts.
    let c = rumor_mongering(InterestLoss::Blind, Removal::Counter, 2);
    let mut s = Step::new(&c);
    let mut a = boot(&c, 0);
    let first = s.tick(&mut a, 0, 0);
    assert_eq!(first.len(), 2, "{first:?}");
    assert_eq!((a.status(), a.count()), (Status::Infective, 1));
    s.tick(&mut a, 0, P);
    assert_eq!(a.status(), Status::Removing, "k = 2 contacts made");
    assert_eq!(
        s.tick(&mut a, 0, 2 * P),
        vec![Command::Note(GossipNote::Removed { version: 1 })]
    );
    // Blind senders ask for no feedback: the recipient stays silent even if it knew.
    let mut b = boot(&c, 1);
    let cmds = s.recv(
        &mut b,
        1,
        5 * MS,
        0,
        GossipMsg::Rumor {
            entry: Entry::FIRST,
            reply: false,
        },
    );
    assert_eq!(cmds, vec![]);
}

#[test]
fn coin_with_k_1_always_loses_interest_at_the_first_counted_contact() {
    // Reference: §1.4: "loses interest with probability 1/k"; k = 1 is certain.
    let blind = rumor_mongering(InterestLoss::Blind, Removal::Coin, 1);
    let mut s = Step::new(&blind);
    let mut a = boot(&blind, 0);
    s.tick(&mut a, 0, 0);
    assert_eq!(a.status(), Status::Removing);
    let fbk = rumor_mongering(InterestLoss::Feedback, Removal::Coin, 1);
    s.h.cfg = (*fbk).clone();
    let mut b = boot(&fbk, 0);
    s.tick(&mut b, 0, 0);
    assert_eq!(
        b.status(),
        Status::Infective,
        "pushing is not an unnecessary contact"
    );
    s.recv(&mut b, 0, 5 * MS, 3, fb(true));
    assert_eq!(b.status(), Status::Removing);
}

#[test]
fn coin_loses_interest_about_once_in_k_counted_contacts() {
    let c = rumor_mongering(InterestLoss::Feedback, Removal::Coin, 4);
    let mut s = Step::new(&c);
    let trials = 4000;
    let mut lost = 0;
    for _ in 0..trials {
        let mut a = boot(&c, 0);
        s.recv(&mut a, 0, 5 * MS, 3, fb(true));
        lost += (a.status() == Status::Removing) as u32;
    }
    // Binomial(4000, 1/4): mean 1000, sd 27.
    assert!((880..1120).contains(&lost), "{lost} of {trials}");
}

#[test]
fn a_pushed_rumor_infects_a_susceptible_which_answers_for_the_counter() {
    let c = rumor_mongering(InterestLoss::Feedback, Removal::Counter, 2);
    let mut s = Step::new(&c);
    let mut b = boot(&c, 5);
    assert_eq!(b.status(), Status::Susceptible);
    let now = 1234 * MS;
    let cmds = s.recv(
        &mut b,
        5,
        now,
        0,
        GossipMsg::Rumor {
            entry: Entry::FIRST,
            reply: false,
        },
    );
    let mut store = Slot {
        entry: Entry::FIRST,
        status: Status::Fresh,
        ..Slot::default()
    };
    assert_eq!(
        cmds,
        vec![
            Command::Persist(Store::One(store)),
            learned(Entry::FIRST, true),
            // Synchronous rounds: first push at the next round boundary (1.3 s).
            Command::SetTimer(GossipTimer::Round, 66 * MS),
            // The counter needs to hear of necessary contacts too.
            Command::Send(0, fb(false)),
        ]
    );
    // Learned during this round: another push in the same round is still necessary
    // (rounds see the state at their start) ...
    assert_eq!(
        s.recv(
            &mut b,
            5,
            now + MS,
            2,
            GossipMsg::Rumor {
                entry: Entry::FIRST,
                reply: false
            }
        ),
        vec![Command::Send(2, fb(false))]
    );
    // ... and from its first tick on it is infective and knew.
    let tick = s.tick(&mut b, 5, 1300 * MS);
    assert_eq!(tick.len(), 2, "{tick:?}");
    store.status = Status::Infective;
    assert_eq!(b.store(), &Store::One(store));
    assert_eq!(
        s.recv(
            &mut b,
            5,
            1305 * MS,
            2,
            GossipMsg::Rumor {
                entry: Entry::FIRST,
                reply: false
            }
        ),
        vec![Command::Send(2, fb(true))]
    );
}

#[test]
fn coin_feedback_answers_only_unnecessary_contacts() {
    let c = rumor_mongering(InterestLoss::Feedback, Removal::Coin, 3);
    let mut s = Step::new(&c);
    let mut b = boot(&c, 5);
    let cmds = s.recv(
        &mut b,
        5,
        10 * MS,
        0,
        GossipMsg::Rumor {
            entry: Entry::FIRST,
            reply: false,
        },
    );
    assert!(
        !cmds.iter().any(|c| matches!(c, Command::Send(..))),
        "{cmds:?}"
    );
}

fn pull_request(entry: Entry) -> GossipMsg {
    GossipMsg::PullRequest { entry, push: false }
}

fn reply() -> GossipMsg {
    GossipMsg::Rumor {
        entry: Entry::FIRST,
        reply: true,
    }
}

/// Pull rumor mongering on `N` nodes, node 0 informed.
fn pulling(
    rule: PullRule,
    loss: InterestLoss,
    removal: Removal,
    k: u32,
    timing: Timing,
) -> Arc<GossipConfig> {
    cfg(|c| {
        c.direction = Direction::Pull;
        c.pull_rule = rule;
        c.interest_loss = loss;
        c.removal = removal;
        c.k = k;
        c.timing = timing;
    })
}

/// Whether a round tick's commands announce the removal.
fn announces_removal(cmds: &[Command<Gossip>]) -> bool {
    cmds.contains(&Command::Note(GossipNote::Removed { version: 1 }))
}

#[test]
fn paper_pull_answers_every_caller_and_moves_the_counter_once_per_cycle() {
    // Reference: Demers et al. 1987, §1.4, "Push vs. pull" and Table 3, whose
    // footnote says: "If more than one recipient pulls from a site in a single
    // cycle, then at the end of the cycle the effects on the counter are as
    // follows: if any recipient needed the update then the counter is reset; if
    // all recipients did not need the update then one is added to the counter."
    let c = pulling(
        PullRule::Paper,
        InterestLoss::Feedback,
        Removal::Counter,
        2,
        Timing::Sync,
    );
    let mut s = Step::new(&c);
    let mut a = boot(&c, 0);
    let knows = pull_request(Entry::FIRST);
    let lacks = pull_request(Entry::EMPTY);
    // Cycle 1: two callers that already had it; each still gets the update.
    s.tick(&mut a, 0, 0);
    assert_eq!(
        s.recv(&mut a, 0, 5 * MS, 3, knows.clone()),
        vec![Command::Send(3, reply())]
    );
    assert_eq!(
        s.recv(&mut a, 0, 6 * MS, 4, knows.clone()),
        vec![Command::Send(4, reply())]
    );
    assert_eq!(a.count(), 0, "the counter moves at the end of the cycle");
    s.tick(&mut a, 0, P);
    assert_eq!((a.status(), a.count()), (Status::Infective, 1), "one step");
    // Cycle 2: one caller needed it, another did not: the counter is reset.
    s.recv(&mut a, 0, P + 5 * MS, 5, knows.clone());
    s.recv(&mut a, 0, P + 6 * MS, 6, lacks.clone());
    s.recv(&mut a, 0, P + 7 * MS, 7, knows.clone());
    s.tick(&mut a, 0, 2 * P);
    assert_eq!(a.count(), 0, "reset");
    // Cycle 3: nobody pulled: no change.
    s.tick(&mut a, 0, 3 * P);
    assert_eq!(a.count(), 0);
    // Cycles 4 and 5: callers that knew, k = 2: removed at the end of cycle 5,
    // announced at once (its answers of the cycle have landed).
    s.recv(&mut a, 0, 3 * P + 5 * MS, 8, knows.clone());
    let cmds = s.tick(&mut a, 0, 4 * P);
    assert!(!announces_removal(&cmds));
    assert_eq!(a.count(), 1);
    s.recv(&mut a, 0, 4 * P + 5 * MS, 9, knows.clone());
    let cmds = s.tick(&mut a, 0, 5 * P);
    assert!(announces_removal(&cmds), "{cmds:?}");
    assert_eq!(a.status(), Status::Removed);
    // It still pulls (every node pulls every cycle) but answers nobody.
    assert!(
        matches!(
            cmds.as_slice(),
            [
                _,
                Command::Send(_, GossipMsg::PullRequest { .. }),
                Command::SetTimer(GossipTimer::Round, P)
            ]
        ),
        "{cmds:?}"
    );
    assert_eq!(s.recv(&mut a, 0, 5 * P + 5 * MS, 3, lacks), vec![]);
}

#[test]
fn paper_pull_blind_and_coin_count_one_contact_per_cycle() {
    // Blind: a cycle in which anybody pulled is one counted contact, however many.
    let c = pulling(
        PullRule::Paper,
        InterestLoss::Blind,
        Removal::Counter,
        2,
        Timing::Sync,
    );
    let mut s = Step::new(&c);
    let mut a = boot(&c, 0);
    for (i, from) in [3, 4, 5].into_iter().enumerate() {
        s.recv(
            &mut a,
            0,
            (5 + i as u64) * MS,
            from,
            pull_request(Entry::EMPTY),
        );
    }
    s.tick(&mut a, 0, P);
    assert_eq!((a.status(), a.count()), (Status::Infective, 1));
    // Coin with k = 1 and feedback: a cycle whose callers all knew removes it.
    let c = pulling(
        PullRule::Paper,
        InterestLoss::Feedback,
        Removal::Coin,
        1,
        Timing::Sync,
    );
    s.h.cfg = (*c).clone();
    let mut b = boot(&c, 0);
    s.recv(&mut b, 0, 5 * MS, 3, pull_request(Entry::FIRST));
    s.recv(&mut b, 0, 6 * MS, 4, pull_request(Entry::EMPTY));
    s.tick(&mut b, 0, P);
    assert_eq!(b.status(), Status::Infective, "someone needed it");
    s.recv(&mut b, 0, P + 5 * MS, 3, pull_request(Entry::FIRST));
    assert!(announces_removal(&s.tick(&mut b, 0, 2 * P)));
}

#[test]
fn versioned_pull_responder_counts_requesters_that_knew_and_answers_the_others() {
    // The optimization that is not the paper's model: the responder learns from
    // the request's version whether the requester knew, answers only those that
    // lack the update, and counts every request at once.
    let c = cfg(|c| {
        c.direction = Direction::Pull;
        c.pull_rule = PullRule::Versioned;
        c.removal = Removal::Counter;
        c.k = 2;
    });
    let mut s = Step::new(&c);
    let mut a = boot(&c, 0);
    // Every node pulls every round, informed or not.
    let cmds = s.tick(&mut a, 0, 0);
    let to = sent_to(&cmds);
    assert_eq!(
        cmds[0],
        Command::Send(
            to,
            GossipMsg::PullRequest {
                entry: Entry::FIRST,
                push: false
            }
        )
    );
    let knows = GossipMsg::PullRequest {
        entry: Entry::FIRST,
        push: false,
    };
    let lacks = GossipMsg::PullRequest {
        entry: Entry::EMPTY,
        push: false,
    };
    assert_eq!(s.recv(&mut a, 0, 5 * MS, 3, knows.clone()), vec![]);
    assert_eq!(a.count(), 1);
    assert_eq!(
        s.recv(&mut a, 0, 6 * MS, 4, lacks.clone()),
        vec![Command::Send(
            4,
            GossipMsg::Rumor {
                entry: Entry::FIRST,
                reply: true
            }
        )]
    );
    assert_eq!(a.count(), 0, "a necessary contact restarts the counter");
    s.recv(&mut a, 0, 7 * MS, 5, knows.clone());
    s.recv(&mut a, 0, 8 * MS, 6, knows);
    assert_eq!(a.status(), Status::Removing);
    // Interest is lost at the end of the round: it still serves this round's pulls.
    assert_eq!(
        s.recv(&mut a, 0, 9 * MS, 7, lacks.clone()),
        vec![Command::Send(
            7,
            GossipMsg::Rumor {
                entry: Entry::FIRST,
                reply: true
            }
        )]
    );
    // A susceptible node answers nothing.
    let mut z = boot(&c, 8);
    assert_eq!(s.recv(&mut z, 8, 9 * MS, 7, lacks), vec![]);
    // A pulled reply infects the requester (no feedback: the responder already counted).
    let cmds = s.recv(
        &mut z,
        8,
        10 * MS,
        0,
        GossipMsg::Rumor {
            entry: Entry::FIRST,
            reply: true,
        },
    );
    assert_eq!(cmds[1], learned(Entry::FIRST, true));
    assert!(
        !cmds.iter().any(|c| matches!(c, Command::Send(..))),
        "{cmds:?}"
    );
}

#[test]
fn blind_versioned_pull_counts_every_request() {
    let c = cfg(|c| {
        c.direction = Direction::Pull;
        c.pull_rule = PullRule::Versioned;
        c.interest_loss = InterestLoss::Blind;
        c.removal = Removal::Counter;
        c.k = 2;
    });
    let mut s = Step::new(&c);
    let mut a = boot(&c, 0);
    s.recv(
        &mut a,
        0,
        5 * MS,
        3,
        GossipMsg::PullRequest {
            entry: Entry::EMPTY,
            push: false,
        },
    );
    s.recv(
        &mut a,
        0,
        6 * MS,
        4,
        GossipMsg::PullRequest {
            entry: Entry::EMPTY,
            push: false,
        },
    );
    assert_eq!(a.status(), Status::Removing);
}

#[test]
fn push_pull_exchanges_both_ways_in_one_contact() {
    let c = cfg(|c| {
        c.direction = Direction::PushPull;
        c.removal = Removal::Counter;
        c.k = 3;
        c.informed = 2;
    });
    let mut s = Step::new(&c);
    let mut a = boot(&c, 0);
    let cmds = s.tick(&mut a, 0, 0);
    let to = sent_to(&cmds);
    assert_eq!(
        cmds[0],
        Command::Send(
            to,
            GossipMsg::PullRequest {
                entry: Entry::FIRST,
                push: true
            }
        )
    );
    // A susceptible callee takes the pushed update and tells the caller it was necessary.
    let mut b = boot(&c, 4);
    let cmds = s.recv(
        &mut b,
        4,
        5 * MS,
        0,
        GossipMsg::PullRequest {
            entry: Entry::FIRST,
            push: true,
        },
    );
    assert_eq!(cmds[1], learned(Entry::FIRST, true));
    assert_eq!(cmds.last(), Some(&Command::Send(0, fb(false))));
    // An infective callee answers a caller that lacks the update.
    let mut a2 = boot(&c, 1);
    let cmds = s.recv(
        &mut a2,
        1,
        5 * MS,
        9,
        GossipMsg::PullRequest {
            entry: Entry::EMPTY,
            push: false,
        },
    );
    assert_eq!(
        cmds,
        vec![Command::Send(
            9,
            GossipMsg::Rumor {
                entry: Entry::FIRST,
                reply: true
            }
        )]
    );
}

#[test]
fn removal_never_keeps_spreading_and_asks_no_feedback() {
    // Rumor spreading in Pittel's and Karp et al.'s sense: infective forever.
    let c = cfg(|c| c.informed = 2);
    let mut s = Step::new(&c);
    let mut a = boot(&c, 0);
    for r in 0..50 {
        assert_eq!(s.tick(&mut a, 0, r * P).len(), 2);
    }
    assert_eq!(a.status(), Status::Infective);
    let mut b = boot(&c, 1);
    assert_eq!(
        s.recv(
            &mut b,
            1,
            5 * MS,
            0,
            GossipMsg::Rumor {
                entry: Entry::FIRST,
                reply: false
            }
        ),
        vec![]
    );
}

#[test]
fn async_receipt_makes_a_node_infective_at_once() {
    // Sequential (asynchronous) contacts: a node knows the update as soon as it
    // receives it, so the next pusher hears that it already knew (the
    // deterministic model of §1.4 counts that contact as unnecessary).
    let c = cfg(|c| {
        c.removal = Removal::Counter;
        c.k = 2;
        c.timing = Timing::Async;
    });
    let mut s = Step::new(&c);
    let mut b = boot(&c, 5);
    let push = GossipMsg::Rumor {
        entry: Entry::FIRST,
        reply: false,
    };
    let cmds = s.recv(&mut b, 5, 1234 * MS, 0, push.clone());
    assert_eq!(b.status(), Status::Infective);
    assert_eq!(cmds.last(), Some(&Command::Send(0, fb(false))));
    assert_eq!(
        s.recv(&mut b, 5, 1235 * MS, 2, push),
        vec![Command::Send(2, fb(true))]
    );
    // With pull, it answers a caller at once.
    let c = pulling(
        PullRule::Paper,
        InterestLoss::Feedback,
        Removal::Counter,
        2,
        Timing::Async,
    );
    s.h.cfg = (*c).clone();
    let mut z = boot(&c, 8);
    s.recv(&mut z, 8, 10 * MS, 0, reply());
    assert_eq!(z.status(), Status::Infective);
    assert_eq!(
        s.recv(&mut z, 8, 11 * MS, 3, pull_request(Entry::EMPTY)),
        vec![Command::Send(3, reply())]
    );
}

#[test]
fn losing_interest_stops_answering_pulls_at_once_when_async_and_at_the_tick_when_sync() {
    // k = 1: one cycle whose callers all knew removes the node.
    for timing in [Timing::Async, Timing::Sync] {
        let c = pulling(
            PullRule::Paper,
            InterestLoss::Feedback,
            Removal::Counter,
            1,
            timing,
        );
        let mut s = Step::new(&c);
        let mut a = boot(&c, 0);
        s.recv(&mut a, 0, 5 * MS, 3, pull_request(Entry::FIRST));
        let cmds = s.tick(&mut a, 0, P);
        let late = s.recv(&mut a, 0, P + 5 * MS, 4, pull_request(Entry::EMPTY));
        assert_eq!(late, vec![], "{timing:?}: lost interest, answers no more");
        match timing {
            // An answer sent just before the tick may still be on its way: the
            // removal is announced at the next tick.
            Timing::Async => {
                assert!(!announces_removal(&cmds));
                assert_eq!(a.status(), Status::Removing);
                assert!(announces_removal(&s.tick(&mut a, 0, 2 * P)));
            }
            Timing::Sync => assert!(announces_removal(&cmds)),
        }
        assert_eq!(a.status(), Status::Removed);
    }
    // A pusher that loses interest on feedback, with synchronous rounds, still
    // answers the pulls of the current round (push-pull).
    let c = cfg(|c| {
        c.direction = Direction::PushPull;
        c.removal = Removal::Counter;
        c.k = 1;
    });
    let mut s = Step::new(&c);
    let mut a = boot(&c, 0);
    s.recv(&mut a, 0, 5 * MS, 3, fb(true));
    assert_eq!(a.status(), Status::Removing);
    assert_eq!(
        s.recv(&mut a, 0, 6 * MS, 4, pull_request(Entry::EMPTY)),
        vec![Command::Send(4, reply())]
    );
    let mut c2 = (*c).clone();
    c2.timing = Timing::Async;
    s.h.cfg = c2.clone();
    let c2 = Arc::new(c2);
    let mut b = boot(&c2, 0);
    s.recv(&mut b, 0, 5 * MS, 3, fb(true));
    assert_eq!(b.status(), Status::Removing);
    assert_eq!(
        s.recv(&mut b, 0, 6 * MS, 4, pull_request(Entry::EMPTY)),
        vec![]
    );
}

#[test]
fn async_rounds_start_at_a_random_phase_and_jitter() {
    let c = cfg(|c| {
        c.timing = Timing::Async;
        c.jitter = Dur::from_ms(10);
    });
    let mut s = Step::new(&c);
    let mut firsts = Vec::new();
    for _ in 0..200 {
        let mut a = boot(&c, 0);
        let cmds = s.run(&mut a, 0, 0, |n, c| n.on_start(c));
        let d = cmds
            .iter()
            .find_map(|c| match c {
                Command::SetTimer(GossipTimer::Round, d) => Some(*d),
                _ => None,
            })
            .expect("an informed pusher arms its round");
        assert!(d < P);
        firsts.push(d);
        let next = s.tick(&mut a, 0, d);
        let Some(Command::SetTimer(GossipTimer::Round, d2)) = next.last() else {
            panic!("{next:?}")
        };
        assert!((90 * MS..=110 * MS).contains(d2), "{d2}");
    }
    firsts.sort_unstable();
    firsts.dedup();
    assert!(firsts.len() > 150, "phases are spread");
}

#[test]
fn a_recovered_node_keeps_its_store_but_no_hot_rumor() {
    let c = rumor_mongering(InterestLoss::Feedback, Removal::Counter, 2);
    let durable = Store::One(Slot {
        entry: Entry {
            version: 3,
            value: 7,
        },
        status: Status::Infective,
        count: 1,
        pulled: Pulled::AllKnew,
        writes: 0,
    });
    let b: Gossip = Harness::new((*c).clone(), N).recover(6, &durable);
    assert_eq!(
        b.entry(0),
        Entry {
            version: 3,
            value: 7
        }
    );
    assert_eq!((b.status(), b.count()), (Status::Removed, 0));
    assert_eq!(
        b.store(),
        &Store::One(Slot {
            entry: b.entry(0),
            status: Status::Removed,
            ..Slot::default()
        })
    );
    // An initially informed node that recovers with its persisted store is not infective.
    let a0: Gossip = Harness::new((*c).clone(), N).recover(
        0,
        &Store::One(Slot {
            entry: Entry::FIRST,
            ..Slot::default()
        }),
    );
    assert_eq!(a0.status(), Status::Removed);
}

fn anti_entropy(keys: u32, dir: Direction) -> Arc<GossipConfig> {
    cfg(|c| {
        c.mode = Mode::AntiEntropy;
        c.keys = keys;
        c.direction = dir;
        c.informed = 0;
    })
}

fn keyed(key: u16, version: u32, value: u32) -> Keyed {
    Keyed {
        key,
        entry: Entry { version, value },
    }
}

#[test]
fn anti_entropy_push_pull_takes_newer_entries_and_returns_its_own() {
    // Reference: §1.3 — "resolve differences": the newer version of each key wins.
    let c = anti_entropy(3, Direction::PushPull);
    let mut s = Step::new(&c);
    let mut b = boot(&c, 2);
    let start = vec![keyed(0, 2, 5), keyed(1, 1, 3)];
    s.recv(
        &mut b,
        2,
        0,
        1,
        GossipMsg::State {
            reply: false,
            entries: Box::new(start),
        },
    );
    let offer = vec![keyed(0, 1, 9), keyed(1, 4, 1), keyed(2, 0, 0)];
    let cmds = s.recv(
        &mut b,
        2,
        MS,
        7,
        GossipMsg::State {
            reply: true,
            entries: Box::new(offer),
        },
    );
    assert_eq!(
        b.entry(0),
        Entry {
            version: 2,
            value: 5
        },
        "older version ignored"
    );
    assert_eq!(
        b.entry(1),
        Entry {
            version: 4,
            value: 1
        }
    );
    assert_eq!(
        cmds.last(),
        Some(&Command::Send(
            7,
            GossipMsg::State {
                reply: false,
                entries: Box::new(vec![keyed(0, 2, 5)])
            }
        ))
    );
    // A digest (pull) gets the newer entries and changes nothing here.
    let digest = vec![keyed(0, 2, 5), keyed(1, 3, 0), keyed(2, 0, 0)];
    let cmds = s.recv(
        &mut b,
        2,
        2 * MS,
        8,
        GossipMsg::Digest {
            entries: Box::new(digest),
        },
    );
    assert_eq!(
        cmds,
        vec![Command::Send(
            8,
            GossipMsg::State {
                reply: false,
                entries: Box::new(vec![keyed(1, 4, 1)])
            }
        )]
    );
    // Equal versions written concurrently: the larger value wins everywhere.
    s.recv(
        &mut b,
        2,
        3 * MS,
        1,
        GossipMsg::State {
            reply: false,
            entries: Box::new(vec![keyed(0, 2, 6)]),
        },
    );
    assert_eq!(
        b.entry(0),
        Entry {
            version: 2,
            value: 6
        }
    );
}

#[test]
fn anti_entropy_exchanges_a_window_of_keys() {
    let c = cfg(|c| {
        c.mode = Mode::AntiEntropy;
        c.keys = 8;
        c.keys_per_exchange = 3;
        c.direction = Direction::Pull;
        c.informed = 0;
    });
    let mut s = Step::new(&c);
    let mut a = boot(&c, 0);
    let cmds = s.tick(&mut a, 0, 0);
    let Command::Send(_, GossipMsg::Digest { entries }) = &cmds[0] else {
        panic!("{cmds:?}")
    };
    let keys: Vec<u16> = entries.iter().map(|k| k.key).collect();
    assert_eq!(keys.len(), 3);
    assert!(keys.windows(2).all(|w| w[1] == (w[0] + 1) % 8), "{keys:?}");
}

#[test]
fn writers_write_newer_versions_on_schedule() {
    let c = cfg(|c| {
        c.writers = 2;
        c.writes = 2;
        c.write_every = Dur::from_ms(500);
        c.informed = 0;
    });
    let mut s = Step::new(&c);
    let mut w = boot(&c, 1);
    let cmds = s.run(&mut w, 1, 0, |n, c| n.on_start(c));
    assert_eq!(cmds, vec![Command::SetTimer(GossipTimer::Write, 500 * MS)]);
    let cmds = s.run(&mut w, 1, 500 * MS, |n, c| {
        n.on_timer(c, GossipTimer::Write)
    });
    let e = w.entry(0);
    assert_eq!(e.version, 1);
    assert_eq!(e.value % 2, 1, "written values are odd");
    assert_eq!(w.status(), Status::Infective);
    assert_eq!(
        cmds[1..],
        [
            Command::Note(GossipNote::Wrote {
                key: 0,
                version: 1,
                value: e.value
            }),
            Command::SetTimer(GossipTimer::Round, 0),
            Command::SetTimer(GossipTimer::Write, 500 * MS),
        ]
    );
    let cmds = s.run(&mut w, 1, 1000 * MS, |n, c| {
        n.on_timer(c, GossipTimer::Write)
    });
    assert_eq!(w.entry(0).version, 2);
    assert!(
        !cmds
            .iter()
            .any(|c| matches!(c, Command::SetTimer(GossipTimer::Write, _))),
        "two writes done"
    );
    // Non-writers never arm the write timer.
    let mut r = boot(&c, 5);
    assert_eq!(s.run(&mut r, 5, 0, |n, c| n.on_start(c)), vec![]);
}

#[test]
fn broken_variants_invent_values_and_let_older_versions_win() {
    let invent = cfg(|c| c.variant = GossipVariant::Invent);
    let mut s = Step::new(&invent);
    let mut b = boot(&invent, 3);
    s.recv(
        &mut b,
        3,
        MS,
        0,
        GossipMsg::Rumor {
            entry: Entry::FIRST,
            reply: false,
        },
    );
    assert_eq!(
        b.entry(0),
        Entry {
            version: 1,
            value: !1
        }
    );
    let older = cfg(|c| {
        c.mode = Mode::AntiEntropy;
        c.variant = GossipVariant::OlderWins;
    });
    s.h.cfg = (*older).clone();
    let mut a = boot(&older, 0);
    s.recv(
        &mut a,
        0,
        MS,
        4,
        GossipMsg::State {
            reply: false,
            entries: Box::new(vec![keyed(0, 5, 1)]),
        },
    );
    s.recv(
        &mut a,
        0,
        2 * MS,
        4,
        GossipMsg::State {
            reply: false,
            entries: Box::new(vec![keyed(0, 2, 1)]),
        },
    );
    assert_eq!(
        a.entry(0).version,
        2,
        "the older version overwrote the newer"
    );
}

/// A node is 16 bytes (the pull cycle's state fits in the slot's padding).
#[test]
fn node_is_16_bytes() {
    assert_eq!(std::mem::size_of::<Gossip>(), 16);
}

/// A queued gossip message is 40 bytes: what bounds memory at a million nodes.
#[test]
fn queued_message_is_40_bytes() {
    assert_eq!(crate::engine::queued_message_size::<GossipMsg>(), 40);
}
