//! Single-step tests: feed one event to one bus node, assert the exact
//! commands (sends, persists, timers, facts, counters).

use super::*;
use crate::node::testkit::{Harness, Step};
use crate::time::{Dur, MS};

/// Five nodes: broker 0, clients 1..=4; topic 0's subscribers are 1 and 2.
const N: u32 = 5;

fn harness(cfg: BusConfig) -> Harness<Bus> {
    Harness::new(cfg, N)
}

/// Node `id` booted and started at time 0.
fn started(h: &mut Harness<Bus>, id: NodeId) -> Bus {
    let mut b = h.boot(id);
    h.start(&mut b, id, 0);
    b
}

fn env(id: MsgId, g: Guarantee) -> Envelope {
    Envelope {
        id,
        epoch: 0,
        at: 0,
        publisher: 3,
        dest: Dest::Topic(0),
        fifo_seq: 0,
        payload: 42,
        guarantee: g,
        pattern: Pattern::Publish,
        attempt: 1,
    }
}

fn delivered(s: &Step<Bus>) -> Vec<MsgId> {
    s.notes()
        .iter()
        .filter_map(|n| match n {
            BusNote::Delivered { env, .. } => Some(env.id),
            _ => None,
        })
        .collect()
}

fn acks(s: &Step<Bus>) -> Vec<(NodeId, MsgId)> {
    s.sends()
        .iter()
        .filter_map(|(to, m)| match m {
            BusMsg::Ack { id, reject: None } => Some((to.unwrap(), *id)),
            _ => None,
        })
        .collect()
}

fn count(s: &Step<Bus>, c: usize) -> f64 {
    s.counts().iter().filter(|x| x.0 == c).map(|x| x.1).sum()
}

fn retry_after(s: &Step<Bus>) -> u64 {
    s.timers()
        .iter()
        .find(|t| t.0 == BusTimer::Retry)
        .map(|t| t.1)
        .expect("a retry timer armed")
}

#[test]
fn broker_stores_an_acked_publication_before_acking_and_fans_it_out() {
    let mut h = harness(BusConfig::default());
    let mut b = started(&mut h, 0);
    let s = h.deliver(&mut b, 0, MS, 3, BusMsg::Publish(env(7, Guarantee::AtLeastOnce).into()));
    let d = s.persisted().expect("the store is persisted");
    assert_eq!(d.stored.len(), 1);
    assert_eq!(d.stored[0].env.id, 7);
    let sends = s.sends();
    assert!(sends.contains(&(
        Some(3),
        BusMsg::PubAck {
            id: 7,
            status: PubStatus::Stored
        }
    )));
    let to: Vec<NodeId> = sends
        .iter()
        .filter(|(_, m)| matches!(m, BusMsg::Deliver(_)))
        .map(|(t, _)| t.unwrap())
        .collect();
    assert_eq!(to, vec![1, 2]);
    // The store and both first attempts carry the write's number.
    let w = d.write;
    assert!(s.notes().iter().any(|n| matches!(n, BusNote::Stored { id: 7, write: Some(x), .. } if *x == w)));
    let attempts = s
        .notes()
        .iter()
        .filter(|n| matches!(n, BusNote::Attempt { id: 7, leg: 1, n: 1, write: Some(x), .. } if *x == w))
        .count();
    assert_eq!(attempts, 2);
    // A retried copy is acknowledged again, not routed again.
    let s = h.deliver(&mut b, 0, 2 * MS, 3, BusMsg::Publish(env(7, Guarantee::AtLeastOnce).into()));
    assert_eq!(s.sends().len(), 1, "{s:?}");
}

#[test]
fn ack_before_store_acks_in_a_callback_that_stores_nothing() {
    let cfg = BusConfig {
        variant: BusVariant::AckBeforeStore,
        ..BusConfig::default()
    };
    let mut h = harness(cfg);
    let mut b = started(&mut h, 0);
    let s = h.deliver(&mut b, 0, MS, 3, BusMsg::Publish(env(7, Guarantee::AtLeastOnce).into()));
    assert!(s.persisted().is_none());
    assert!(s.sends().iter().any(|(_, m)| matches!(m, BusMsg::PubAck { id: 7, .. })));
    assert!(s.timers().contains(&(BusTimer::Flush, 0)));
    let s = h.fire(&mut b, 0, MS, BusTimer::Flush);
    assert_eq!(s.persisted().unwrap().stored.len(), 1);
}

#[test]
fn exactly_once_receiver_delivers_once_and_acks_every_copy() {
    let cfg = BusConfig::default();
    let mut h = harness(cfg);
    let mut r = started(&mut h, 1);
    let e = env(9, Guarantee::ExactlyOnce);
    let s = h.deliver(&mut r, 1, MS, 0, BusMsg::Deliver(e.into()));
    assert_eq!(delivered(&s), vec![9]);
    assert_eq!(acks(&s), vec![(0, 9)]);
    // Delivery and window entry are one write (dedup_durable).
    let d = s.persisted().expect("the window entry is persisted");
    assert!(d.window.contains(9));
    let s = h.deliver(&mut r, 1, 2 * MS, 0, BusMsg::Deliver(e.into()));
    assert!(delivered(&s).is_empty());
    assert_eq!(acks(&s), vec![(0, 9)]);
    assert_eq!(count(&s, counter::DUP_SUPPRESSED), 1.0);
    // The window survives a crash: a retry after recovery is not delivered.
    let mut r2 = h.recover(1, &d);
    h.start(&mut r2, 1, 10 * MS);
    let s = h.deliver(&mut r2, 1, 11 * MS, 0, BusMsg::Deliver(e.into()));
    assert!(delivered(&s).is_empty());
    assert_eq!(acks(&s), vec![(0, 9)]);
}

#[test]
fn a_window_lost_in_a_crash_breaks_exactly_once() {
    let cfg = BusConfig {
        dedup_durable: false,
        ..BusConfig::default()
    };
    let mut h = harness(cfg);
    let mut r = started(&mut h, 1);
    let e = env(9, Guarantee::ExactlyOnce);
    let s = h.deliver(&mut r, 1, MS, 0, BusMsg::Deliver(e.into()));
    assert_eq!(delivered(&s), vec![9]);
    assert!(s.persisted().is_none(), "nothing durable to write");
    let mut r2 = h.recover(1, &Default::default());
    h.start(&mut r2, 1, 10 * MS);
    let s = h.deliver(&mut r2, 1, 11 * MS, 0, BusMsg::Deliver(e.into()));
    assert_eq!(delivered(&s), vec![9], "the retry is delivered a second time");
}

#[test]
fn at_most_once_receiver_drops_copies_and_never_acks() {
    let mut h = harness(BusConfig::default());
    let mut r = started(&mut h, 1);
    let mut e = env(5, Guarantee::AtMostOnce);
    e.at = MS;
    let s = h.deliver(&mut r, 1, 2 * MS, 0, BusMsg::Deliver(e.into()));
    assert_eq!(delivered(&s), vec![5]);
    assert!(s.sends().is_empty());
    let s = h.deliver(&mut r, 1, 3 * MS, 0, BusMsg::Deliver(e.into()));
    assert!(delivered(&s).is_empty());
    assert_eq!(count(&s, counter::DUP_SUPPRESSED), 1.0);
    // After a restart, a copy published before the boot is too old to
    // tell apart: dropped.
    let mut r2 = h.recover(1, &Default::default());
    h.start(&mut r2, 1, 10 * MS);
    let s = h.deliver(&mut r2, 1, 11 * MS, 0, BusMsg::Deliver(e.into()));
    assert!(delivered(&s).is_empty());
    assert_eq!(count(&s, counter::TOO_OLD), 1.0);
}

#[test]
fn forget_dedup_variant_delivers_a_copy_twice() {
    let cfg = BusConfig {
        variant: BusVariant::ForgetDedup,
        ..BusConfig::default()
    };
    let mut h = harness(cfg);
    let mut r = started(&mut h, 1);
    let e = env(9, Guarantee::ExactlyOnce);
    let s = h.deliver(&mut r, 1, MS, 0, BusMsg::Deliver(e.into()));
    assert_eq!(delivered(&s), vec![9]);
    let s = h.deliver(&mut r, 1, 2 * MS, 0, BusMsg::Deliver(e.into()));
    assert_eq!(delivered(&s), vec![9]);
}

#[test]
fn publisher_retries_on_the_backoff_schedule_then_dead_letters() {
    let cfg = BusConfig::default();
    let mut h = harness(cfg.clone());
    let mut p = started(&mut h, 3);
    let e = env(4, Guarantee::AtLeastOnce);
    let s = h.step(&mut p, 3, 0, |n, c| {
        n.publish(c, e);
        n.end(c);
    });
    assert!(s.persisted().unwrap().outbox.iter().any(|o| o.env.id == 4));
    assert!(s.sends().contains(&(Some(0), BusMsg::Publish(e.into()))));
    let mut now = 0;
    let mut wait = retry_after(&s);
    for k in 1..cfg.max_attempts {
        let (lo, hi) = (schedule::min_gap(&cfg, k), schedule::max_gap(&cfg, k));
        assert!((lo..=hi).contains(&wait), "attempt {k}: wait {wait} not in {lo}..={hi}");
        now += wait;
        let s = h.fire(&mut p, 3, now, BusTimer::Retry);
        let sent: Vec<u8> = s
            .sends()
            .iter()
            .filter_map(|(_, m)| match m {
                BusMsg::Publish(x) => Some(x.attempt),
                _ => None,
            })
            .collect();
        assert_eq!(sent, vec![k as u8 + 1]);
        assert!(s.persisted().is_some(), "each attempt is stored");
        wait = retry_after(&s);
    }
    // After the last attempt, one last wait for its ack, then the DLQ.
    assert_eq!(wait, schedule::last_wait(&cfg));
    let s = h.fire(&mut p, 3, now + wait, BusTimer::Retry);
    assert!(s.sends().is_empty());
    assert!(s.notes().iter().any(|n| matches!(
        n,
        BusNote::DeadLettered {
            id: 4,
            to: None,
            reason: DlqReason::MaxAttempts,
            ..
        }
    )));
    // An ack of a message no longer waited for changes nothing.
    let s = h.deliver(&mut p, 3, now + wait + 1, 0, BusMsg::PubAck { id: 4, status: PubStatus::Stored });
    assert!(s.sends().is_empty() && s.persisted().is_none());
}

#[test]
fn no_backoff_variant_retries_every_base() {
    let cfg = BusConfig {
        variant: BusVariant::NoBackoff,
        ..BusConfig::default()
    };
    let mut h = harness(cfg.clone());
    let mut p = started(&mut h, 3);
    let s = h.step(&mut p, 3, 0, |n, c| n.publish(c, env(4, Guarantee::AtLeastOnce)));
    assert_eq!(retry_after(&s), cfg.retry_base.0);
    let s = h.fire(&mut p, 3, cfg.retry_base.0, BusTimer::Retry);
    assert_eq!(retry_after(&s), cfg.retry_base.0);
    assert!(cfg.retry_base.0 < schedule::min_gap(&cfg, 2));
}

#[test]
fn request_times_out_and_a_late_reply_is_discarded_and_counted() {
    let cfg = BusConfig {
        mix: "request=1".parse().unwrap(),
        ..BusConfig::default()
    };
    let mut h = harness(cfg.clone());
    let mut p = started(&mut h, 3);
    let sub = Submission {
        index: 11,
        client: 0,
        draw: 12345,
    };
    let s = h.submit(&mut p, 3, 0, sub);
    let req = s
        .sends()
        .iter()
        .find_map(|(_, m)| match m {
            BusMsg::Publish(e) => Some(**e),
            _ => None,
        })
        .expect("the request goes to the broker");
    assert_eq!(req.pattern, Pattern::Request);
    assert!(s.timers().contains(&(BusTimer::Request, cfg.request_timeout.0)));
    assert_eq!(p.pending_requests(), 1);
    let t = cfg.request_timeout.0;
    let s = h.fire(&mut p, 3, t, BusTimer::Request);
    assert!(s.notes().contains(&BusNote::RequestTimedOut { id: 11 }));
    assert_eq!(p.pending_requests(), 0);
    let mut reply = req;
    reply.id = 11 | REPLY_BIT;
    reply.pattern = Pattern::Reply;
    reply.publisher = req.dest_client();
    reply.dest = Dest::Client(3);
    let s = h.deliver(&mut p, 3, t + MS, 0, BusMsg::Deliver(reply.into()));
    assert!(s.notes().contains(&BusNote::LateReply { id: 11 }));
}

impl Envelope {
    fn dest_client(&self) -> NodeId {
        match self.dest {
            Dest::Client(c) => c,
            _ => panic!("not to a client"),
        }
    }
}

#[test]
fn fifo_buffers_early_messages_and_skips_a_gap_after_its_timeout() {
    let cfg = BusConfig {
        fifo: true,
        guarantee: Guarantee::AtMostOnce,
        ..BusConfig::default()
    };
    let mut h = harness(cfg.clone());
    let mut r = started(&mut h, 1);
    let seq = |id: MsgId, s: u32| Envelope {
        fifo_seq: s,
        ..env(id, Guarantee::AtMostOnce)
    };
    // 1 before 0: held, then both in order.
    let s = h.deliver(&mut r, 1, MS, 0, BusMsg::Deliver(seq(21, 1).into()));
    assert!(delivered(&s).is_empty());
    assert!(s.timers().contains(&(BusTimer::Gap, cfg.gap_timeout.0)));
    let s = h.deliver(&mut r, 1, 2 * MS, 0, BusMsg::Deliver(seq(20, 0).into()));
    assert_eq!(delivered(&s), vec![20, 21]);
    // 3 without 2: the gap is skipped after its timeout, and counted.
    let s = h.deliver(&mut r, 1, 3 * MS, 0, BusMsg::Deliver(seq(23, 3).into()));
    assert!(delivered(&s).is_empty());
    let s = h.fire(&mut r, 1, 3 * MS + cfg.gap_timeout.0, BusTimer::Gap);
    assert_eq!(delivered(&s), vec![23]);
    assert_eq!(count(&s, counter::GAP_SKIPS), 1.0);
    // 2, late, is not delivered after 3.
    let s = h.deliver(&mut r, 1, 200 * MS, 0, BusMsg::Deliver(seq(22, 2).into()));
    assert!(delivered(&s).is_empty());
}

#[test]
fn full_queue_drops_newest_or_refuses_the_publisher() {
    for policy in [QueuePolicy::DropNewest, QueuePolicy::Refuse] {
        let cfg = BusConfig {
            queue_capacity: 1,
            queue_policy: policy,
            service_time: Dur(MS),
            guarantee: Guarantee::AtMostOnce,
            ..BusConfig::default()
        };
        let mut h = harness(cfg);
        let mut b = started(&mut h, 0);
        // Two recipients: one sent now, one queued; the queue is full.
        let s = h.deliver(&mut b, 0, MS, 3, BusMsg::Publish(env(1, Guarantee::AtMostOnce).into()));
        assert_eq!(s.sends().len(), 1, "{policy}: {s:?}");
        assert_eq!(b.queue_len(), 1);
        let s = h.deliver(&mut b, 0, MS, 3, BusMsg::Publish(env(2, Guarantee::AtMostOnce).into()));
        match policy {
            QueuePolicy::Refuse => {
                assert_eq!(
                    s.sends(),
                    vec![(
                        Some(3),
                        BusMsg::PubAck {
                            id: 2,
                            status: PubStatus::Refused
                        }
                    )]
                );
                assert_eq!(count(&s, counter::REFUSED), 1.0);
            }
            _ => {
                assert!(s.sends().is_empty());
                assert_eq!(count(&s, counter::QUEUE_DROPPED), 2.0);
            }
        }
        assert_eq!(b.queue_len(), 1);
    }
}

/// The times of a publisher's attempts of one message nobody acknowledges,
/// and when it dead-letters it.
fn unacked_attempts(cfg: BusConfig) -> (Vec<u64>, u64) {
    let mut h = harness(cfg);
    let mut p = started(&mut h, 3);
    let s = h.step(&mut p, 3, 0, |n, c| n.publish(c, env(4, Guarantee::AtLeastOnce)));
    let (mut times, mut now, mut wait) = (vec![0], 0, retry_after(&s));
    loop {
        now += wait;
        let s = h.fire(&mut p, 3, now, BusTimer::Retry);
        if s.notes().iter().any(|n| matches!(n, BusNote::DeadLettered { .. })) {
            return (times, now);
        }
        times.push(now);
        wait = retry_after(&s);
    }
}

#[test]
fn no_backoff_sends_its_attempts_in_a_burst() {
    // The traffic of the no-backoff variant: during an outage its five
    // attempts go out within 200 ms and it gives up at 250 ms; the correct
    // schedule spreads them over at least 40 + 80 + 160 + 320 = 600 ms and
    // waits for the last ack up to 800 ms more.
    let (burst, gave_up) = unacked_attempts(BusConfig {
        variant: BusVariant::NoBackoff,
        ..BusConfig::default()
    });
    assert_eq!(burst, vec![0, 50 * MS, 100 * MS, 150 * MS, 200 * MS]);
    assert_eq!(gave_up, 250 * MS);
    let (spread, gave_up) = unacked_attempts(BusConfig::default());
    assert_eq!(spread.len(), 5);
    assert!(spread[4] >= 600 * MS, "{spread:?}");
    assert!(gave_up >= spread[4] + 800 * MS, "{gave_up}");
}

/// Topics `a/b` with `a < 2`, `b < 4` (topic `4a + b`), no initial subscribers.
fn tree(patterns: &[&str]) -> BusConfig {
    BusConfig {
        topics: 8,
        topic_levels: vec![2, 4],
        subscribers_per_topic: 0,
        patterns: patterns.iter().map(|p| p.parse().unwrap()).collect(),
        guarantee: Guarantee::AtMostOnce,
        ..BusConfig::default()
    }
}

#[test]
fn filters_match_topic_names_level_by_level() {
    let cfg = tree(&[]);
    let radix = cfg.radix();
    assert_eq!(cfg.topic_name(6), "1/2");
    let matching = |f: &str| -> Vec<u32> {
        let f: TopicFilter = f.parse().unwrap();
        (0..8).filter(|&t| f.matches(radix, t)).collect()
    };
    assert_eq!(matching("1/+"), vec![4, 5, 6, 7]);
    assert_eq!(matching("+/2"), vec![2, 6]);
    assert_eq!(matching("0/#"), vec![0, 1, 2, 3]);
    assert_eq!(matching("#"), (0..8).collect::<Vec<_>>());
    assert_eq!(matching("1/3"), vec![7]);
    // Too few levels without # matches nothing (MQTT: `1` is not `1/3`).
    assert_eq!(matching("1"), Vec::<u32>::new());
    assert_eq!("1/+/#".parse::<TopicFilter>().unwrap().to_string(), "1/+/#");
    // One level (no topic_levels): a filter is a topic number, + or #.
    let flat = BusConfig::default();
    let f: TopicFilter = "3".parse().unwrap();
    assert!(f.matches(flat.radix(), 3) && !f.matches(flat.radix(), 2));
    // Spelling and validation errors name the field and what is accepted.
    for bad in ["a/1", "#/1", "1/x"] {
        let e = bad.parse::<TopicFilter>().unwrap_err();
        assert!(e.starts_with("bus.patterns") && e.contains("accepted") || e.contains("e.g."), "{e}");
    }
    let e = tree(&["2/+"]).validate(5).unwrap_err();
    assert!(e.contains("bus.patterns[0]") && e.contains("digit 2"), "{e}");
    let e = tree(&["1/+/1"]).validate(5).unwrap_err();
    assert!(e.contains("3 levels"), "{e}");
    let e = BusConfig {
        topic_levels: vec![2, 3],
        ..tree(&[])
    }
    .validate(5)
    .unwrap_err();
    assert!(e.contains("bus.topic_levels") && e.contains("product"), "{e}");
    let e = BusConfig {
        pattern_ratio: 0.5,
        ..tree(&[])
    }
    .validate(5)
    .unwrap_err();
    assert!(e.contains("bus.pattern_ratio"), "{e}");
}

#[test]
fn initial_subscriber_test_agrees_with_the_list() {
    for (nodes, brokers, s, w) in [(5, 1, 2, 0), (12, 2, 3, 1), (9, 0, 4, 2), (7, 1, 6, 6)] {
        let cfg = BusConfig {
            brokers,
            topics: 9,
            subscribers_per_topic: s,
            wildcard_subscribers: w,
            ..BusConfig::default()
        };
        for t in 0..cfg.topics {
            let list = cfg.initial_subscribers(nodes, t);
            for node in 0..nodes + 1 {
                assert_eq!(
                    cfg.is_initial_subscriber(nodes, t, node),
                    list.contains(&node),
                    "nodes {nodes} brokers {brokers} s {s} w {w} topic {t} node {node}"
                );
            }
        }
    }
}

/// The clients broker `b` sends a publication to topic `t` to.
fn fanout(h: &mut Harness<Bus>, b: &mut Bus, at: u64, id: MsgId, t: u32) -> Vec<NodeId> {
    let mut e = env(id, Guarantee::AtMostOnce);
    e.dest = Dest::Topic(t);
    let s = h.deliver(b, 0, at, 3, BusMsg::Publish(e.into()));
    s.sends()
        .iter()
        .filter(|(_, m)| matches!(m, BusMsg::Deliver(_)))
        .map(|(to, _)| to.unwrap())
        .collect()
}

#[test]
fn broker_routes_a_pattern_to_every_topic_it_covers_until_unsubscribed() {
    let cfg = tree(&["1/+", "+/1"]);
    let (p0, p1) = (cfg.pattern_key(0, 0), cfg.pattern_key(1, 0));
    assert_eq!((p0, p1), (8, 9));
    let mut h = harness(cfg);
    let mut b = started(&mut h, 0);
    assert!(fanout(&mut h, &mut b, MS, 1, 5).is_empty());
    // Node 2 subscribes to 1/+: stored (persisted), then acknowledged.
    let sub = BusMsg::Subscribe { topic: p0, version: 1 };
    let s = h.deliver(&mut b, 0, 2 * MS, 2, sub);
    assert!(s.persisted().is_some());
    assert!(s.sends().contains(&(Some(2), BusMsg::SubAck { topic: p0, on: true, version: 1 })));
    assert_eq!(b.durable().subs[5], vec![2]);
    assert_eq!(fanout(&mut h, &mut b, 3 * MS, 2, 5), vec![2]);
    assert_eq!(fanout(&mut h, &mut b, 3 * MS, 3, 7), vec![2]);
    assert!(fanout(&mut h, &mut b, 3 * MS, 4, 1).is_empty());
    // Node 4 holds +/1 and topic 6 (exactly): 1/1 goes to both, once each.
    h.deliver(&mut b, 0, 4 * MS, 4, BusMsg::Subscribe { topic: p1, version: 1 });
    h.deliver(&mut b, 0, 4 * MS, 4, BusMsg::Subscribe { topic: 6, version: 1 });
    assert_eq!(fanout(&mut h, &mut b, 5 * MS, 5, 5), vec![2, 4]);
    assert_eq!(fanout(&mut h, &mut b, 5 * MS, 6, 1), vec![4]);
    // Node 2 drops 1/+, node 4 drops +/1: topic 6 still reaches node 4
    // (its own subscription), 1/1 reaches nobody.
    h.deliver(&mut b, 0, 6 * MS, 2, BusMsg::Unsubscribe { topic: p0, version: 2 });
    h.deliver(&mut b, 0, 6 * MS, 4, BusMsg::Unsubscribe { topic: p1, version: 2 });
    assert!(fanout(&mut h, &mut b, 7 * MS, 7, 5).is_empty());
    assert_eq!(fanout(&mut h, &mut b, 7 * MS, 8, 6), vec![4]);
    // An older change that arrives late is acknowledged, not applied.
    let s = h.deliver(&mut b, 0, 8 * MS, 2, BusMsg::Subscribe { topic: p0, version: 1 });
    assert!(s.sends().contains(&(Some(2), BusMsg::SubAck { topic: p0, on: true, version: 1 })));
    assert!(fanout(&mut h, &mut b, 9 * MS, 9, 4).is_empty());
}

#[test]
fn a_pattern_churn_asks_every_broker_for_its_topics() {
    let cfg = BusConfig {
        brokers: 2,
        mix: "churn=1".parse().unwrap(),
        pattern_ratio: 1.0,
        ..tree(&["+/1"])
    };
    let keys = [cfg.pattern_key(0, 0), cfg.pattern_key(0, 1)];
    assert_eq!(keys, [8, 9]);
    // +/1 is topics 1 and 5, both on broker 1: key 9 covers them, key 8 nothing.
    assert!(cfg.key_covers(9, 5) && cfg.key_covers(9, 1) && !cfg.key_covers(9, 2));
    assert!((0..8).all(|t| !cfg.key_covers(8, t)));
    let mut h: Harness<Bus> = Harness::new(cfg.clone(), 6);
    let mut c = h.boot(3);
    h.start(&mut c, 3, 0);
    let sub = Submission {
        index: 0,
        client: 0,
        draw: 99,
    };
    let s = h.submit(&mut c, 3, MS, sub);
    let asks: Vec<_> = s
        .sends()
        .into_iter()
        .filter(|(_, m)| matches!(m, BusMsg::Subscribe { .. }))
        .collect();
    assert_eq!(
        asks,
        vec![
            (Some(0), BusMsg::Subscribe { topic: 8, version: 1 }),
            (Some(1), BusMsg::Subscribe { topic: 9, version: 1 }),
        ]
    );
    assert!(s.notes().contains(&BusNote::Subscribing { key: 8 }));
    assert!(s
        .persisted()
        .is_some_and(|d: Arc<BusDurable>| d.intents[8] && d.intents[9]));
    // The next churn submission drawing the pattern drops it at both.
    let s = h.submit(&mut c, 3, 2 * MS, Submission { index: 1, client: 0, draw: 7 });
    assert!(s.notes().contains(&BusNote::Unsubscribed { topic: 8 }));
    assert!(s.notes().contains(&BusNote::Unsubscribed { topic: 9 }));
}

#[test]
fn monitor_expects_pattern_subscribers_and_allows_only_covered_deliveries() {
    use crate::observe::{Monitor, MonitorInit};
    let cfg = BusConfig {
        subscribers_per_topic: 1,
        ..tree(&["1/+"])
    };
    // Initially topic t's subscriber is client t mod 4 (node 1 + t mod 4).
    let init = MonitorInit {
        seed: 0,
        nodes: N,
        config: &cfg,
        adversary: &crate::node::NO_ADVERSARY,
    };
    let mut m = BusMonitor::new(&init);
    let p = cfg.pattern_key(0, 0);
    assert!(m.may_route(2, 1) && m.may_route(2, 5) && !m.may_route(2, 6));
    // Asked for 1/+: every 1/x may now reach node 2, nothing else new.
    m.asked_for(3, p);
    assert!((4..8).all(|t| m.may_route(3, t)));
    assert!(m.may_route(3, 2) && !m.may_route(3, 1) && !m.may_route(3, 3));
    // Held once acknowledged: node 3 is expected on topics 4..8 from then
    // on; dropping the pattern keeps it on topic 6 (its own) only.
    m.key_change(5 * MS, 3, p, true);
    assert_eq!(m.expected_on(4), vec![1, 3]);
    assert_eq!(m.expected_on(6), vec![3]);
    m.key_change(9 * MS, 3, p, false);
    assert_eq!(m.expected_on(4), vec![1]);
    assert_eq!(m.expected_on(6), vec![3]);
    // Each change made new snapshots: the positions looked up follow them.
    assert!(m.lookups_agree());
}

#[test]
fn monitor_looks_up_positions_that_follow_subscription_changes() {
    use crate::observe::{Monitor, MonitorInit};
    let cfg = BusConfig {
        subscribers_per_topic: 2,
        ..tree(&["1/+", "+/0", "#"])
    };
    let nodes = 12;
    let init = MonitorInit {
        seed: 0,
        nodes,
        config: &cfg,
        adversary: &crate::node::NO_ADVERSARY,
    };
    let mut m = BusMonitor::new(&init);
    assert!(m.lookups_agree());
    // Subscribe and unsubscribe patterns in a scrambled order: members join
    // and leave the middle, the front and the back of the lists.
    for (k, node) in [7u32, 2, 11, 4, 9, 1, 5].into_iter().enumerate() {
        let key = cfg.pattern_key(k as u32 % 3, 0);
        m.key_change(k as u64 * MS, node, key, true);
        assert!(m.lookups_agree());
    }
    for (k, node) in [2u32, 9, 7].into_iter().enumerate() {
        let key = cfg.pattern_key((k as u32 + 1) % 3, 0);
        m.key_change(20 * MS + k as u64 * MS, node, key, false);
        assert!(m.lookups_agree());
    }
}

proptest::proptest! {
    /// The latency statistics from counts (and the values past them, by
    /// nested selection) are those of the list of every value: the nearest
    /// ranks a sort gives, the sum, the maximum, each value's multiplicity,
    /// whatever the values, ties and quantiles.
    #[test]
    fn latency_statistics_are_those_of_the_list(
        v in proptest::collection::vec(
            proptest::prop_oneof![
                0u32..50,
                (super::monitor::Latencies::COUNTED - 3)..(super::monitor::Latencies::COUNTED + 40),
            ],
            1..300,
        ),
        mut qs in proptest::array::uniform3(0.0f64..=1.0),
    ) {
        qs.sort_by(f64::total_cmp);
        let mut lat = super::monitor::Latencies::default();
        for &l in &v {
            lat.add(l);
        }
        let mut sorted = v.clone();
        sorted.sort_unstable();
        let want = qs.map(|q| {
            let k = (libm::ceil(q * v.len() as f64) as usize).clamp(1, v.len());
            sorted[k - 1]
        });
        proptest::prop_assert_eq!(lat.len(), v.len() as u64);
        proptest::prop_assert_eq!(lat.max(), sorted.last().copied());
        proptest::prop_assert_eq!(lat.sum(), v.iter().map(|&l| l as u64).sum::<u64>());
        let mut each: Vec<u32> = lat
            .each()
            .flat_map(|(l, n)| std::iter::repeat_n(l, n as usize))
            .collect();
        each.sort_unstable();
        proptest::prop_assert_eq!(&each, &sorted);
        proptest::prop_assert_eq!(lat.nearest_ranks(qs), want);
    }
}
