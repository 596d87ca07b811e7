//! The bus's named properties, metrics and series, computed from notes.
//!
//! - **no invention** (always): every message delivered to an application
//!   was published, with the content it was published with; with
//!   patterns, a topic's message reaches only a node that held (initially)
//!   or asked for a subscription key (topic or pattern) covering the topic.
//! - **no duplicates** (always): an at-most-once or exactly-once message is
//!   delivered at most once to each node.
//! - **fifo order** (always, with `fifo`): each node delivers each FIFO
//!   stream (publisher incarnation, topic) in increasing sequence order.
//! - **retries within their schedule** (always): no message is attempted
//!   more than `max_attempts` times on a hop (publisher to router, router to
//!   a recipient), and no attempt `k + 1` comes sooner after attempt `k`
//!   than the schedule's minimum gap ([`super::schedule::min_gap`]).
//! - **delivered or dead-lettered** (eventually): at the liveness deadline,
//!   every at-least-once and exactly-once message published at least
//!   [`BusConfig::settle_ns`] before it has reached every expected
//!   recipient, or is in a dead-letter queue for it (or for all). Expected:
//!   subscribed when it was published and still subscribed (its subscription
//!   in place, acknowledged by its broker, since before), every client but
//!   the publisher for a broadcast, the one client of a direct message,
//!   request or reply. Not waited for: a recipient that is down, a message
//!   whose router is down, or whose publisher is down before the router
//!   stored it (after the last fault, down is down for good).
//! - **a retry succeeded** (sometimes): a message got through on an attempt
//!   after the first (stored by its router, or first delivered to a recipient).
//! - **a request timed out** (sometimes).
//!
//! Series: `queue_len` (deliveries queued at all brokers, sampled at
//! `i × sample_every`), `retry_traffic` (retries per sampling interval),
//! `latency_cdf` (see [`SERIES`]).
//!
//! A fact noted with a storage write ([`BusNote`]) that the node's next
//! `Boot` shows lost is taken back: nothing of that callback left the node.
//!
//! Metrics count (message, expected recipient) pairs of messages that were
//! not taken back; at-most-once messages published in the run's last
//! `cdf_step × cdf_points` are left out (their copies may still be in
//! flight when a run stops).

use super::config::{BusConfig, Guarantee, Pattern};
use super::msg::{BusNote, Dest, Envelope, MsgId, REPLY_BIT};
use super::{schedule, Bus};
use crate::node::{MetricDef, NodeId};
use crate::observe::{
    property, Monitor, MonitorInit, Outcome, Property, PropertyKind, SeriesDef, Violation, World,
};
use crate::time::{Dur, SimTime, MS, US};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// A map the monitor only looks up (never iterates, so its order cannot
/// reach a result), hashed with the bus's one-multiply hasher: SipHash on
/// the attempt map was a tenth of an acked run's instructions.
type FastMap<K, V> = HashMap<K, V, std::hash::BuildHasherDefault<super::IdHasher>>;

/// Safety: only published messages are delivered.
pub const NO_INVENTION: &str = "no invention";
/// Safety: at-most-once and exactly-once deliver no duplicates.
pub const NO_DUPLICATES: &str = "no duplicates";
/// Safety: FIFO streams are delivered in order.
pub const FIFO_ORDER: &str = "fifo order";
/// Safety: attempts bounded and spaced by the backoff schedule.
pub const RETRIES: &str = "retries within their schedule";
/// Liveness: acked messages delivered or dead-lettered.
pub const DELIVERED: &str = "delivered or dead-lettered";
/// Reachability: a retry got a message through.
pub const RETRY_SUCCEEDED: &str = "a retry succeeded";
/// Reachability: a request timed out.
pub const REQUEST_TIMED_OUT: &str = "a request timed out";

static PROPERTIES: [Property; 7] = [
    Property {
        name: NO_INVENTION,
        kind: PropertyKind::Always,
        description: "every message delivered to an application was published, with that content (and, with patterns, to a node that held or asked for a subscription covering its topic)",
    },
    Property {
        name: NO_DUPLICATES,
        kind: PropertyKind::Always,
        description: "an at-most-once or exactly-once message is delivered at most once to each node",
    },
    Property {
        name: FIFO_ORDER,
        kind: PropertyKind::Always,
        description: "with fifo, each node delivers each stream (publisher incarnation, topic) in sequence order",
    },
    Property {
        name: RETRIES,
        kind: PropertyKind::Always,
        description: "no message is attempted more than max_attempts times on a hop, nor sooner after its previous attempt than the backoff schedule's minimum gap",
    },
    Property {
        name: DELIVERED,
        kind: PropertyKind::Eventually,
        description: "after faults heal, every at-least-once and exactly-once message has reached every recipient subscribed when it was published and still subscribed, or is in a dead-letter queue with its reason",
    },
    Property {
        name: RETRY_SUCCEEDED,
        kind: PropertyKind::Sometimes,
        description: "a message got through on an attempt after its first",
    },
    Property {
        name: REQUEST_TIMED_OUT,
        kind: PropertyKind::Sometimes,
        description: "a request was not answered within request_timeout",
    },
];

static METRICS: [MetricDef; 29] = [
    MetricDef { name: "published", unit: "count", definition: "messages published (requests and replies included), not taken back" },
    MetricDef { name: "deliveries", unit: "count", definition: "deliveries to applications, duplicates included" },
    MetricDef { name: "delivery_ratio", unit: "ratio", definition: "(message, expected recipient) pairs delivered at least once, over expected pairs, every guarantee" },
    MetricDef { name: "duplicates", unit: "copies/pair", definition: "deliveries beyond a recipient's first, over expected pairs, every guarantee" },
    MetricDef { name: "delivery_ratio_at_most_once", unit: "ratio", definition: "delivery_ratio of at-most-once messages" },
    MetricDef { name: "delivery_ratio_at_least_once", unit: "ratio", definition: "delivery_ratio of at-least-once messages" },
    MetricDef { name: "delivery_ratio_exactly_once", unit: "ratio", definition: "delivery_ratio of exactly-once messages" },
    MetricDef { name: "duplicates_at_most_once", unit: "copies/pair", definition: "duplicates of at-most-once messages" },
    MetricDef { name: "duplicates_at_least_once", unit: "copies/pair", definition: "duplicates of at-least-once messages" },
    MetricDef { name: "duplicates_exactly_once", unit: "copies/pair", definition: "duplicates of exactly-once messages" },
    MetricDef { name: "latency_ms_mean", unit: "ms", definition: "mean time from publication to a recipient's first delivery, over delivered expected pairs" },
    MetricDef { name: "latency_ms_p50", unit: "ms", definition: "median of that latency" },
    MetricDef { name: "latency_ms_p90", unit: "ms", definition: "90th percentile of that latency (nearest rank)" },
    MetricDef { name: "latency_ms_p99", unit: "ms", definition: "99th percentile of that latency (nearest rank)" },
    MetricDef { name: "latency_ms_max", unit: "ms", definition: "the longest such latency" },
    MetricDef { name: "attempts_mean", unit: "attempts/pair", definition: "router-to-recipient attempts per attempted (acked message, recipient) pair" },
    MetricDef { name: "publish_attempts_mean", unit: "attempts/message", definition: "publisher-to-router attempts per acked message (broker mode)" },
    MetricDef { name: "retries", unit: "count", definition: "attempts after the first, both hops" },
    MetricDef { name: "dead_lettered", unit: "count", definition: "dead-letter entries: (message, recipient) pairs, or whole messages the publisher gave up on" },
    MetricDef { name: "unresolved", unit: "count", definition: "acked expected pairs neither delivered nor dead-lettered at the end" },
    MetricDef { name: "requests", unit: "count", definition: "requests sent" },
    MetricDef { name: "request_timeouts", unit: "count", definition: "requests not answered within request_timeout" },
    MetricDef { name: "late_replies", unit: "count", definition: "replies that came after their request timed out (discarded)" },
    MetricDef { name: "request_rtt_ms_mean", unit: "ms", definition: "mean time from a request to its reply, over requests answered in time" },
    MetricDef { name: "queue_len_max", unit: "deliveries", definition: "the most deliveries queued at all brokers at once" },
    MetricDef { name: "queue_len_mean", unit: "deliveries", definition: "deliveries queued at all brokers, averaged over time from 0 to the end" },
    MetricDef { name: "subscription_changes", unit: "count", definition: "subscriptions and unsubscriptions put in place at run time" },
    MetricDef { name: "taken_back", unit: "count", definition: "facts taken back because their storage write was lost to a crash" },
    MetricDef { name: "end_ms", unit: "ms", definition: "when the run ended (the series' last sample is at or before it)" },
];

/// The series facts a run reports.
pub static SERIES: [SeriesDef; 3] = [
    SeriesDef {
        name: "queue_len",
        unit: "deliveries",
        definition: "value i: deliveries queued at all brokers at time i × sample_every (after every event at or before it); i from 0 to ⌊end / sample_every⌋",
    },
    SeriesDef {
        name: "retry_traffic",
        unit: "count",
        definition: "value i: attempts after the first (both hops) made in [i × sample_every, (i + 1) × sample_every)",
    },
    SeriesDef {
        name: "latency_cdf",
        unit: "ratio",
        definition: "value i: the fraction of expected (message, recipient) pairs first delivered within i × cdf_step of publication; i from 0 to cdf_points, or to the first i that counts every delivered pair",
    },
];

/// Who a message is meant for, as the monitor lists them (sorted).
#[derive(Clone, Copy, Debug)]
enum Recips {
    /// A snapshot of a topic's subscribers.
    Snap(u32),
    /// One node.
    One(NodeId),
    /// Every client but the publisher.
    AllBut(NodeId),
}

/// The largest `topics × nodes` for which the monitor keeps positions in
/// the current snapshots (`BusMonitor::dense`): 4 MiB.
const DENSE_MAX: u64 = 1 << 20;

/// A published message.
#[derive(Clone, Debug)]
struct Rec {
    env: Envelope,
    retracted: bool,
    stored: bool,
    dlq_all: bool,
    recips: Recips,
    /// Its pairs are `pairs[base..base + len]`.
    base: u32,
    len: u32,
    /// Unresolved pairs (acked messages only).
    open: u32,
    /// How many times a router stored it again after forgetting it.
    routing: u32,
}

/// One (message, recipient) pair.
#[derive(Clone, Copy, Debug, Default)]
struct PairRec {
    /// 0: not delivered; else the first delivery's latency in µs, plus 1.
    first: u32,
    /// Deliveries (not taken back).
    copies: u16,
    dlq: bool,
    /// Not waited for (the publisher of a broadcast, an unsubscribed or
    /// down recipient).
    excused: bool,
}

impl PairRec {
    fn resolved(&self) -> bool {
        self.copies > 0 || self.dlq || self.excused
    }
}

/// (message, node, leg, routing): the attempts of one hop of one routing.
type AttemptKey = (MsgId, NodeId, u8, u32);

/// (receiver, publisher, publisher incarnation, topic): one node's place in
/// one FIFO stream.
type FifoKey = (NodeId, NodeId, u64, u32);

/// How to take back a fact.
#[derive(Clone, Debug)]
enum Undo {
    Published(u32),
    Stored(u32),
    Attempt {
        key: AttemptKey,
        prev: Option<(u8, SimTime)>,
    },
    Delivered {
        rec: u32,
        node: NodeId,
        /// The pair's index if expected.
        pair: Option<u32>,
        /// The FIFO position it moved, and the one before.
        fifo: Option<(FifoKey, Option<u32>)>,
    },
    DeadLettered {
        rec: u32,
        pair: Option<u32>,
        all: bool,
        prev: bool,
    },
}

/// The bus monitor (see the module docs).
pub struct BusMonitor {
    cfg: BusConfig,
    n: u32,
    settle: u64,
    grace: u64,
    // Subscriptions: per topic, subscriber -> since; snapshots of the lists.
    subs: Vec<BTreeMap<NodeId, SimTime>>,
    snaps: Vec<Vec<NodeId>>,
    snap_of: Vec<u32>,
    /// With `topics × n` at most [`DENSE_MAX`]: at `t × n + node`, the
    /// node's place in topic `t`'s current snapshot plus one (0: not in
    /// it), so that a delivery finds its pair in one load rather than a
    /// binary search. Empty otherwise.
    dense: Vec<u32>,
    recs: Vec<Rec>,
    /// Submission index -> record.
    by_index: Vec<u32>,
    replies: FastMap<MsgId, u32>,
    pairs: Vec<PairRec>,
    /// Copies delivered to nodes that were not expected, by (record, node).
    unexpected: FastMap<(u32, NodeId), u32>,
    /// Acked records that may have unresolved pairs (cleaned lazily).
    pending: Vec<u32>,
    open: u64,
    /// Per (message, node, leg, routing): attempts seen and when the last was.
    attempts: FastMap<AttemptKey, (u8, SimTime)>,
    /// Per (recipient, publisher, epoch, topic): the last sequence delivered.
    fifo_last: FastMap<(NodeId, NodeId, u64, u32), u32>,
    tentative: Vec<Vec<(u32, Undo)>>,
    /// Requests waiting: id -> (requester, sent at).
    requests: BTreeMap<MsgId, (NodeId, SimTime)>,
    requests_total: u64,
    timeouts: u64,
    late: u64,
    rtt_sum: u64,
    rtt_n: u64,
    copies: [u64; 3],
    /// Copies beyond the first delivered to nodes that were not expected.
    extra_unexpected: [u64; 3],
    dead_lettered: u64,
    sub_changes: u64,
    taken_back: u64,
    retry_succeeded: bool,
    // Queue series.
    queue: Vec<u32>,
    queue_total: u64,
    queue_max: u64,
    queue_area: u128,
    queue_t: SimTime,
    queue_series: Vec<f64>,
    retries_series: Vec<f64>,
    retries: u64,
    /// Attempts, and (message, node) keys attempted, per leg.
    leg_attempts: [u64; 2],
    leg_keys: [u64; 2],
    quiet: bool,
    /// With patterns: the subscription keys each client holds (initial
    /// topics, acknowledged keys, until it decides to drop one); `subs`
    /// lists, per topic, the clients with a held key that covers it.
    held: BTreeSet<(NodeId, u32)>,
    /// With patterns: every key each client asked for, held or not.
    asked: BTreeSet<(NodeId, u32)>,
    workload_over: bool,
}

/// A violation of property `name`.
fn violation(now: SimTime, name: &str, detail: String) -> Violation {
    Violation::new(now, property(&PROPERTIES, name), detail)
}

fn g_name(g: Guarantee) -> &'static str {
    g.as_str()
}

impl BusMonitor {
    fn rec_of(&self, id: MsgId) -> Option<u32> {
        if id & REPLY_BIT != 0 {
            return self.replies.get(&id).copied();
        }
        self.by_index
            .get(id as usize)
            .copied()
            .filter(|&r| r != u32::MAX)
    }

    /// Position of `node` among `rec`'s expected recipients.
    #[inline]
    fn position(&self, rec: &Rec, node: NodeId) -> Option<u32> {
        match rec.recips {
            Recips::Snap(s) => match rec.env.dest {
                Dest::Topic(t) => self.snap_position(t, s, node),
                _ => self.search(s, node),
            },
            Recips::One(c) => (c == node).then_some(0),
            Recips::AllBut(_) => (node >= self.cfg.brokers && node < self.n)
                .then(|| node - self.cfg.brokers),
        }
    }

    /// Position of `node` in snapshot `s` of topic `t`: looked up if `s`
    /// is the topic's current one, else searched.
    #[inline]
    fn snap_position(&self, t: u32, s: u32, node: NodeId) -> Option<u32> {
        if !self.dense.is_empty() && self.snap_of[t as usize] == s && node < self.n {
            return self.dense[t as usize * self.n as usize + node as usize].checked_sub(1);
        }
        self.search(s, node)
    }

    /// Whether positions are looked up, and every node's in every topic's
    /// current snapshot is the one a search finds.
    #[cfg(test)]
    pub(super) fn lookups_agree(&self) -> bool {
        !self.dense.is_empty()
            && (0..self.cfg.topics).all(|t| {
                let s = self.snap_of[t as usize];
                (0..self.n + 1).all(|node| self.snap_position(t, s, node) == self.search(s, node))
            })
    }

    /// Position of `node` in snapshot `s`, searched.
    fn search(&self, s: u32, node: NodeId) -> Option<u32> {
        self.snaps[s as usize]
            .binary_search(&node)
            .ok()
            .map(|p| p as u32)
    }

    /// Writes topic `t`'s current snapshot into [`BusMonitor::dense`]
    /// (`fill`), or erases it.
    fn dense_row(&mut self, t: u32, fill: bool) {
        let row = t as usize * self.n as usize;
        let s = self.snap_of[t as usize] as usize;
        for (p, &node) in self.snaps[s].iter().enumerate() {
            if let Some(slot) = self.dense.get_mut(row + node as usize) {
                *slot = if fill { p as u32 + 1 } else { 0 };
            }
        }
    }

    /// The recipient at `pos` of `rec`.
    fn recipient(&self, rec: &Rec, pos: u32) -> NodeId {
        match rec.recips {
            Recips::Snap(s) => self.snaps[s as usize][pos as usize],
            Recips::One(c) => c,
            Recips::AllBut(_) => self.cfg.brokers + pos,
        }
    }

    fn tracks_open(rec: &Rec) -> bool {
        rec.env.guarantee.acked() && !rec.retracted && !rec.dlq_all
    }

    /// Recounts `rec`'s unresolved pairs.
    fn recount(&mut self, r: u32) {
        let rec = &self.recs[r as usize];
        let now_open = if Self::tracks_open(rec) {
            self.pairs[rec.base as usize..(rec.base + rec.len) as usize]
                .iter()
                .filter(|p| !p.resolved())
                .count() as u32
        } else {
            0
        };
        let rec = &mut self.recs[r as usize];
        self.open = self.open + now_open as u64 - rec.open as u64;
        if now_open > 0 && rec.open == 0 {
            self.pending.push(r);
        }
        rec.open = now_open;
    }

    /// Changes pair `p` of record `r` with `f`, keeping the open counts.
    fn set_pair(&mut self, r: u32, p: u32, f: impl FnOnce(&mut PairRec)) {
        let rec = &self.recs[r as usize];
        let i = (rec.base + p) as usize;
        let track = Self::tracks_open(rec);
        let before = self.pairs[i].resolved();
        f(&mut self.pairs[i]);
        let after = self.pairs[i].resolved();
        if track && before != after {
            let rec = &mut self.recs[r as usize];
            if after {
                rec.open -= 1;
                self.open -= 1;
            } else {
                if rec.open == 0 {
                    self.pending.push(r);
                }
                rec.open += 1;
                self.open += 1;
            }
        }
    }

    fn router_of(&self, env: &Envelope) -> NodeId {
        Bus::router_of(&self.cfg, env)
    }

    /// Whether `rec`'s pair to `to` is not waited for because a node is
    /// down for good (judged after the last fault).
    fn down_excuse(&self, w: &World, rec: &Rec, to: NodeId) -> bool {
        !w.alive[to as usize]
            || !w.alive[self.router_of(&rec.env) as usize]
            || (!rec.stored && !w.alive[rec.env.publisher as usize])
    }

    /// Whether `to` is still subscribed to `rec`'s topic since before it was published.
    fn still_expected(&self, rec: &Rec, to: NodeId) -> bool {
        match rec.env.dest {
            Dest::Topic(t) => self.subs[t as usize]
                .get(&to)
                .is_some_and(|&since| since <= rec.env.at),
            _ => true,
        }
    }

    fn new_snapshot(&mut self, t: u32) {
        let list: Vec<NodeId> = self.subs[t as usize].keys().copied().collect();
        if !self.dense.is_empty() {
            self.dense_row(t, false);
        }
        self.snaps.push(list);
        self.snap_of[t as usize] = self.snaps.len() as u32 - 1;
        if !self.dense.is_empty() {
            self.dense_row(t, true);
        }
    }

    /// Fills the queue series up to (not including) instant `t`, then
    /// accumulates the time-weighted length.
    fn queue_advance(&mut self, t: SimTime) {
        let every = self.cfg.sample_every.0;
        while (self.queue_series.len() as u64) * every < t {
            self.queue_series.push(self.queue_total as f64);
        }
        if t > self.queue_t {
            self.queue_area += self.queue_total as u128 * (t - self.queue_t) as u128;
            self.queue_t = t;
        }
    }

    fn set_queue(&mut self, now: SimTime, broker: NodeId, len: u32) {
        self.queue_advance(now);
        let b = broker as usize;
        if b >= self.queue.len() {
            return;
        }
        self.queue_total = self.queue_total + len as u64 - self.queue[b] as u64;
        self.queue[b] = len;
        self.queue_max = self.queue_max.max(self.queue_total);
    }

    fn on_published(&mut self, w: &World, node: NodeId, env: &Envelope) -> Option<Undo> {
        let id = env.id;
        if let Some(r) = self.rec_of(id) {
            if !self.recs[r as usize].retracted {
                // Republished (a reply answered again): attempts start over.
                self.attempts.remove(&(id, self.router_of(env), 0, 0));
                return None;
            }
        }
        let recips = match env.dest {
            Dest::Topic(t) => Recips::Snap(self.snap_of[t as usize]),
            Dest::Client(c) => Recips::One(c),
            Dest::All => Recips::AllBut(env.publisher),
        };
        let len = match recips {
            Recips::Snap(s) => self.snaps[s as usize].len() as u32,
            Recips::One(_) => 1,
            Recips::AllBut(_) => self.cfg.clients(self.n),
        };
        let base = self.pairs.len() as u32;
        self.pairs
            .resize(self.pairs.len() + len as usize, PairRec::default());
        let r = self.recs.len() as u32;
        self.recs.push(Rec {
            env: *env,
            retracted: false,
            stored: false,
            dlq_all: false,
            recips,
            base,
            len,
            open: 0,
            routing: 0,
        });
        if id & REPLY_BIT != 0 {
            self.replies.insert(id, r);
        } else {
            let i = id as usize;
            if i >= self.by_index.len() {
                self.by_index.resize(i + 1, u32::MAX);
            }
            self.by_index[i] = r;
        }
        if let Recips::AllBut(p) = recips {
            if let Some(pos) = self.position(&self.recs[r as usize], p) {
                self.pairs[(base + pos) as usize].excused = true;
            }
        }
        if self.quiet {
            for pos in 0..len {
                let rec = &self.recs[r as usize];
                let to = self.recipient(rec, pos);
                if self.down_excuse(w, rec, to) {
                    self.pairs[(base + pos) as usize].excused = true;
                }
            }
        }
        self.recount(r);
        if env.pattern == Pattern::Request {
            self.requests.insert(id, (node, w.now));
            self.requests_total += 1;
        }
        Some(Undo::Published(r))
    }

    fn on_delivered(
        &mut self,
        w: &World,
        node: NodeId,
        env: &Envelope,
        out: &mut Vec<Violation>,
    ) -> Option<Undo> {
        let now = w.now;
        let Some(r) = self.rec_of(env.id).filter(|&r| !self.recs[r as usize].retracted) else {
            out.push(violation(
                now,
                NO_INVENTION,
                format!(
                    "node {node} delivered message {} (from node {}), which was never published",
                    env.id & !REPLY_BIT,
                    env.publisher
                ),
            ));
            return None;
        };
        let rec = &self.recs[r as usize];
        let p = &rec.env;
        let same = p.publisher == env.publisher
            && p.dest == env.dest
            && p.payload == env.payload
            && p.pattern == env.pattern
            && p.guarantee == env.guarantee
            && (p.pattern == Pattern::Reply
                || (p.at == env.at && p.epoch == env.epoch && p.fifo_seq == env.fifo_seq));
        if !same {
            out.push(violation(
                now,
                NO_INVENTION,
                format!(
                    "node {node} delivered message {} with content other than published: {env:?} vs {p:?}",
                    env.id
                ),
            ));
            return None;
        }
        if let (true, Pattern::Publish, Dest::Topic(t)) = (self.cfg.pattern_mode(), env.pattern, env.dest) {
            if !self.may_route(node, t) {
                out.push(violation(
                    now,
                    NO_INVENTION,
                    format!(
                        "node {node} delivered message {} of topic {} ({}), which no subscription it held or asked for covers",
                        env.id,
                        t,
                        self.cfg.topic_name(t)
                    ),
                ));
                return None;
            }
        }
        let g = env.guarantee;
        // FIFO.
        let mut fifo = None;
        if let (true, Pattern::Publish, Dest::Topic(t)) = (self.cfg.fifo, env.pattern, env.dest) {
            let key = (node, env.publisher, env.epoch, t);
            let prev = self.fifo_last.get(&key).copied();
            if let Some(last) = prev {
                if env.fifo_seq <= last {
                    out.push(violation(
                        now,
                        FIFO_ORDER,
                        format!(
                            "node {node} delivered sequence {} of node {}'s topic {t} after sequence {last}",
                            env.fifo_seq, env.publisher
                        ),
                    ));
                }
            }
            self.fifo_last.insert(key, env.fifo_seq);
            fifo = Some((key, prev));
        }
        self.copies[g.index()] += 1;
        let no_dups = g != Guarantee::AtLeastOnce;
        let dup = |out: &mut Vec<Violation>| {
            out.push(violation(
                now,
                NO_DUPLICATES,
                format!(
                    "node {node} delivered {} message {} (from node {}) a second time",
                    g_name(g),
                    env.id & !REPLY_BIT,
                    env.publisher
                ),
            ))
        };
        let pos = self.position(rec, node).filter(|&pos| {
            !matches!(rec.recips, Recips::AllBut(pb) if pb == node) && pos < rec.len
        });
        match pos {
            Some(pos) => {
                let i = (rec.base + pos) as usize;
                if self.pairs[i].copies > 0 {
                    if no_dups {
                        dup(out);
                    }
                    let p = &mut self.pairs[i];
                    p.copies = p.copies.saturating_add(1);
                } else {
                    let lat = (now.saturating_sub(rec.env.at) / US).min(u32::MAX as u64 - 1) as u32;
                    if env.attempt >= 2 {
                        self.retry_succeeded = true;
                    }
                    self.set_pair(r, pos, |p| {
                        p.first = lat + 1;
                        p.copies = 1;
                    });
                }
            }
            None => {
                let c = self.unexpected.entry((r, node)).or_insert(0);
                *c += 1;
                if *c > 1 {
                    self.extra_unexpected[g.index()] += 1;
                    if no_dups {
                        dup(out);
                    }
                }
            }
        }
        Some(Undo::Delivered {
            rec: r,
            node,
            pair: pos,
            fifo,
        })
    }

    /// An attempt seen at `now`, made at `at` (earlier, by a storage delay).
    fn on_attempt(
        &mut self,
        now: SimTime,
        at: SimTime,
        id: MsgId,
        to: NodeId,
        leg: u8,
        out: &mut Vec<Violation>,
    ) -> Undo {
        let routing = match (leg, self.rec_of(id)) {
            (1, Some(r)) => self.recs[r as usize].routing,
            _ => 0,
        };
        let key = (id, to, leg, routing);
        let prev = self.attempts.get(&key).copied();
        let (count, last) = prev.unwrap_or((0, 0));
        let count = count.saturating_add(1);
        let hop = if leg == 0 { "to its router" } else { "to" };
        if count as u32 > self.cfg.max_attempts {
            out.push(violation(
                now,
                RETRIES,
                format!(
                    "message {} attempted {count} times {hop} node {to}, more than max_attempts = {}",
                    id & !REPLY_BIT,
                    self.cfg.max_attempts
                ),
            ));
        } else if count >= 2 {
            let gap = at.saturating_sub(last);
            let min = schedule::min_gap(&self.cfg, count as u32 - 1);
            if gap < min {
                out.push(violation(
                    now,
                    RETRIES,
                    format!(
                        "message {} attempt {count} {hop} node {to} came {} after attempt {}; the schedule's minimum gap is {}",
                        id & !REPLY_BIT,
                        Dur(gap).human(),
                        count - 1,
                        Dur(min).human()
                    ),
                ));
            }
        }
        if count >= 2 {
            self.retries += 1;
            let bin = (now / self.cfg.sample_every.0) as usize;
            if bin >= self.retries_series.len() {
                self.retries_series.resize(bin + 1, 0.0);
            }
            self.retries_series[bin] += 1.0;
        }
        self.attempts.insert(key, (count, at));
        let l = (leg as usize).min(1);
        self.leg_attempts[l] += 1;
        self.leg_keys[l] += (count == 1) as u64;
        Undo::Attempt { key, prev }
    }

    fn on_dead_lettered(&mut self, id: MsgId, to: Option<NodeId>) -> Option<Undo> {
        let r = self.rec_of(id)?;
        self.dead_lettered += 1;
        match to {
            None => {
                let prev = self.recs[r as usize].dlq_all;
                self.recs[r as usize].dlq_all = true;
                self.recount(r);
                Some(Undo::DeadLettered {
                    rec: r,
                    pair: None,
                    all: true,
                    prev,
                })
            }
            Some(to) => {
                let rec = &self.recs[r as usize];
                let pos = self.position(rec, to).filter(|&p| p < rec.len)?;
                let prev = self.pairs[(rec.base + pos) as usize].dlq;
                self.set_pair(r, pos, |p| p.dlq = true);
                Some(Undo::DeadLettered {
                    rec: r,
                    pair: Some(pos),
                    all: false,
                    prev,
                })
            }
        }
    }

    /// Takes back the facts of `node`'s writes after `write`.
    fn take_back(&mut self, w: &World, node: NodeId, write: u32) {
        let mut list = std::mem::take(&mut self.tentative[node as usize]);
        while let Some((wn, undo)) = list.pop() {
            if wn <= write {
                break;
            }
            self.taken_back += 1;
            let reopened = self.undo(undo);
            if let Some((r, pos)) = reopened {
                // Pairs open again that are no longer waited for.
                let range = match pos {
                    Some(p) => p..p + 1,
                    None => 0..self.recs[r as usize].len,
                };
                for pos in range {
                    let rec = &self.recs[r as usize];
                    let to = self.recipient(rec, pos);
                    if !self.still_expected(rec, to)
                        || (self.quiet && self.down_excuse(w, rec, to))
                    {
                        self.set_pair(r, pos, |p| p.excused = true);
                    }
                }
            }
        }
        // Every fact left is confirmed: the node goes on from `write`.
    }

    /// Takes back one fact; returns the pair it may have opened again
    /// (`None`: every pair of the record).
    fn undo(&mut self, undo: Undo) -> Option<(u32, Option<u32>)> {
        match undo {
            Undo::Published(r) => {
                let rec = &mut self.recs[r as usize];
                rec.retracted = true;
                let id = rec.env.id;
                self.recount(r);
                self.requests.remove(&id);
            }
            Undo::Stored(r) => self.recs[r as usize].stored = false,
            Undo::Attempt { key, prev } => {
                let l = (key.2 as usize).min(1);
                self.leg_attempts[l] -= 1;
                match prev {
                    Some(p) => {
                        self.attempts.insert(key, p);
                    }
                    None => {
                        self.leg_keys[l] -= 1;
                        self.attempts.remove(&key);
                    }
                }
            }
            Undo::Delivered {
                rec,
                node,
                pair,
                fifo,
            } => {
                if let Some((key, prev)) = fifo {
                    match prev {
                        Some(s) => {
                            self.fifo_last.insert(key, s);
                        }
                        None => {
                            self.fifo_last.remove(&key);
                        }
                    }
                }
                let g = self.recs[rec as usize].env.guarantee.index();
                self.copies[g] -= 1;
                match pair {
                    Some(pos) => {
                        let i = (self.recs[rec as usize].base + pos) as usize;
                        if self.pairs[i].copies > 1 {
                            self.pairs[i].copies -= 1;
                        } else {
                            self.set_pair(rec, pos, |p| {
                                p.first = 0;
                                p.copies = 0;
                            });
                            return Some((rec, Some(pos)));
                        }
                    }
                    None => {
                        if let Some(c) = self.unexpected.get_mut(&(rec, node)) {
                            if *c > 1 {
                                self.extra_unexpected[g] -= 1;
                            }
                            *c -= 1;
                        }
                    }
                }
            }
            Undo::DeadLettered {
                rec,
                pair,
                all,
                prev,
            } => {
                self.dead_lettered -= 1;
                if all {
                    self.recs[rec as usize].dlq_all = prev;
                    self.recount(rec);
                    return Some((rec, None));
                } else if let Some(pos) = pair {
                    self.set_pair(rec, pos, |p| p.dlq = prev);
                    return Some((rec, Some(pos)));
                }
            }
        }
        None
    }

    /// With patterns: `node` now holds (or no longer holds) subscription key
    /// `key`; each topic the key covers expects `node` (since now) while a
    /// key it holds covers the topic.
    pub(super) fn key_change(&mut self, now: SimTime, node: NodeId, key: u32, on: bool) {
        let changed = if on {
            self.held.insert((node, key))
        } else {
            self.held.remove(&(node, key))
        };
        if !changed || key >= self.cfg.sub_keys() {
            return;
        }
        self.sub_changes += 1;
        for t in 0..self.cfg.topics {
            if !self.cfg.key_covers(key, t) {
                continue;
            }
            let covered = self
                .held
                .range((node, 0)..(node + 1, 0))
                .any(|&(_, k)| self.cfg.key_covers(k, t));
            let listed = self.subs[t as usize].contains_key(&node);
            if covered && !listed {
                self.subs[t as usize].insert(node, now);
                self.new_snapshot(t);
            } else if !covered && listed {
                self.subs[t as usize].remove(&node);
                self.new_snapshot(t);
                self.excuse_unsubscribed(t, node);
            }
        }
    }

    /// With patterns: `node` asked for subscription key `key`.
    pub(super) fn asked_for(&mut self, node: NodeId, key: u32) {
        self.asked.insert((node, key));
    }

    /// The nodes topic `t`'s messages are expected at now.
    #[cfg(test)]
    pub(super) fn expected_on(&self, t: u32) -> Vec<NodeId> {
        self.subs[t as usize].keys().copied().collect()
    }

    /// With patterns: whether a subscription `node` held at the start, or
    /// asked for since, covers topic `t` (a broker may route `t` to it only then).
    pub(super) fn may_route(&self, node: NodeId, t: u32) -> bool {
        self.cfg.is_initial_subscriber(self.n, t, node)
            || self
                .asked
                .range((node, 0)..(node + 1, 0))
                .any(|&(_, k)| self.cfg.key_covers(k, t))
    }

    /// Pairs of `topic` to `node` are no longer waited for (it unsubscribed).
    fn excuse_unsubscribed(&mut self, topic: u32, node: NodeId) {
        let pending = std::mem::take(&mut self.pending);
        for &r in &pending {
            let rec = &self.recs[r as usize];
            if rec.open == 0 || rec.env.dest != Dest::Topic(topic) {
                continue;
            }
            if let Some(pos) = self.position(rec, node).filter(|&p| p < rec.len) {
                self.set_pair(r, pos, |p| p.excused = true);
            }
        }
        self.pending.extend(pending);
        self.clean_pending();
    }

    fn clean_pending(&mut self) {
        let recs = &self.recs;
        self.pending.retain(|&r| recs[r as usize].open > 0);
        self.pending.sort_unstable();
        self.pending.dedup();
    }

    /// The unresolved pairs the deadline judges: (count, an example).
    fn unresolved_judged(&self, w: &World) -> (u64, Option<String>) {
        let cut = w.now.saturating_sub(self.settle);
        let mut count = 0;
        let mut example = None;
        for &r in &self.pending {
            let rec = &self.recs[r as usize];
            if rec.open == 0 || rec.env.at > cut || !Self::tracks_open(rec) {
                continue;
            }
            for pos in 0..rec.len {
                let p = self.pairs[(rec.base + pos) as usize];
                let to = self.recipient(rec, pos);
                if p.resolved() || !self.still_expected(rec, to) || self.down_excuse(w, rec, to) {
                    continue;
                }
                count += 1;
                if example.is_none() {
                    example = Some(format!(
                        "{} message {} published by node {} at {} to node {} (router {})",
                        g_name(rec.env.guarantee),
                        rec.env.id & !REPLY_BIT,
                        rec.env.publisher,
                        Dur(rec.env.at).human(),
                        to,
                        self.router_of(&rec.env),
                    ));
                }
            }
        }
        (count, example)
    }

    fn track_world(&mut self, w: &World) {
        self.workload_over = w.workload_over;
    }
}

/// Latencies of delivered pairs (µs) for the end-of-run statistics: counted
/// per value below [`Latencies::COUNTED`] (a bus's usual milliseconds), the
/// rest (retries, long partitions) kept as they are. Exact: the nearest
/// ranks, the sum and the maximum are those of the list of every value, at
/// the cost of one count per pair rather than a list, its selections and
/// a division per pair for the CDF.
#[derive(Default)]
pub(super) struct Latencies {
    counts: Vec<u32>,
    counted: u64,
    rest: Vec<u32>,
}

impl Latencies {
    /// Values below this are counted (65.5 ms; at most 256 KiB of counts).
    pub(super) const COUNTED: u32 = 1 << 16;

    #[inline]
    pub(super) fn add(&mut self, l: u32) {
        if l < Self::COUNTED {
            let i = l as usize;
            if i >= self.counts.len() {
                self.counts.resize(i + 1, 0);
            }
            self.counts[i] += 1;
            self.counted += 1;
        } else {
            self.rest.push(l);
        }
    }

    pub(super) fn len(&self) -> u64 {
        self.counted + self.rest.len() as u64
    }

    pub(super) fn max(&self) -> Option<u32> {
        self.rest
            .iter()
            .copied()
            .max()
            .or_else(|| self.counts.iter().rposition(|&c| c > 0).map(|i| i as u32))
    }

    pub(super) fn sum(&self) -> u64 {
        let counted: u64 = self.counts.iter().enumerate().map(|(v, &c)| v as u64 * c as u64).sum();
        counted + self.rest.iter().map(|&l| l as u64).sum::<u64>()
    }

    /// Every value with how often it occurs (counted ones once each).
    pub(super) fn each(&self) -> impl Iterator<Item = (u32, u64)> + '_ {
        let counted = self
            .counts
            .iter()
            .enumerate()
            .filter(|(_, &c)| c > 0)
            .map(|(v, &c)| (v as u32, c as u64));
        counted.chain(self.rest.iter().map(|&l| (l, 1)))
    }

    /// The nearest-rank quantiles `qs` (ascending), as a sort of every
    /// value would give them; not empty. Ranks among the counted values
    /// walk the counts once; ranks past them are selected in the rest, each
    /// among the values at and above the previous one.
    pub(super) fn nearest_ranks<const K: usize>(&mut self, qs: [f64; K]) -> [u32; K] {
        let len = self.len();
        let (mut v, mut below, mut from) = (0usize, 0u64, 0usize);
        qs.map(|q| {
            // 1-based.
            let k = (libm::ceil(q * len as f64) as u64).clamp(1, len);
            if k <= self.counted {
                while below + (self.counts[v] as u64) < k {
                    below += self.counts[v] as u64;
                    v += 1;
                }
                v as u32
            } else {
                let i = ((k - self.counted - 1) as usize).max(from);
                let x = *self.rest[from..].select_nth_unstable(i - from).1;
                from = i;
                x
            }
        })
    }
}

impl Monitor<Bus> for BusMonitor {
    fn properties() -> &'static [Property] {
        &PROPERTIES
    }

    fn metrics() -> &'static [MetricDef] {
        &METRICS
    }

    fn series() -> &'static [SeriesDef] {
        &SERIES
    }

    fn new(init: &MonitorInit<'_, Bus>) -> Self {
        let cfg = init.config.clone();
        let n = init.nodes;
        let topics = cfg.topics;
        let mut subs = Vec::with_capacity(topics as usize);
        for t in 0..topics {
            subs.push(
                cfg.initial_subscribers(n, t)
                    .into_iter()
                    .map(|s| (s, 0))
                    .collect::<BTreeMap<_, _>>(),
            );
        }
        let mut m = BusMonitor {
            settle: cfg.settle_ns(),
            grace: cfg.cdf_step.0.saturating_mul(cfg.cdf_points as u64),
            n,
            subs,
            snaps: Vec::new(),
            snap_of: vec![0; topics as usize],
            dense: Vec::new(),
            recs: Vec::new(),
            by_index: Vec::new(),
            replies: FastMap::default(),
            pairs: Vec::new(),
            unexpected: FastMap::default(),
            pending: Vec::new(),
            open: 0,
            attempts: FastMap::default(),
            fifo_last: FastMap::default(),
            tentative: vec![Vec::new(); n as usize],
            requests: BTreeMap::new(),
            requests_total: 0,
            timeouts: 0,
            late: 0,
            rtt_sum: 0,
            rtt_n: 0,
            copies: [0; 3],
            extra_unexpected: [0; 3],
            dead_lettered: 0,
            sub_changes: 0,
            taken_back: 0,
            retry_succeeded: false,
            queue: vec![0; cfg.brokers.max(if cfg.peer() { n } else { 0 }) as usize],
            queue_total: 0,
            queue_max: 0,
            queue_area: 0,
            queue_t: 0,
            queue_series: Vec::new(),
            retries_series: Vec::new(),
            retries: 0,
            leg_attempts: [0; 2],
            leg_keys: [0; 2],
            quiet: false,
            held: BTreeSet::new(),
            asked: BTreeSet::new(),
            workload_over: false,
            cfg,
        };
        if m.cfg.pattern_mode() {
            for (t, list) in m.subs.iter().enumerate() {
                m.held.extend(list.keys().map(|&c| (c, t as u32)));
            }
        }
        for t in 0..topics {
            m.new_snapshot(t);
        }
        if topics as u64 * n as u64 <= DENSE_MAX {
            m.dense = vec![0; topics as usize * n as usize];
            for t in 0..topics {
                m.dense_row(t, true);
            }
        }
        m
    }

    fn on_note(&mut self, w: &World, node: NodeId, note: &BusNote, out: &mut Vec<Violation>) {
        self.track_world(w);
        if !w.adversary.is_honest(node) {
            return;
        }
        let (undo, write) = match *note {
            BusNote::Boot { write } => {
                self.take_back(w, node, write);
                return;
            }
            BusNote::Published { ref env, write } => (self.on_published(w, node, env), write),
            BusNote::Stored { id, attempt, write } => {
                let Some(r) = self.rec_of(id) else { return };
                if attempt >= 2 {
                    self.retry_succeeded = true;
                }
                if self.recs[r as usize].stored {
                    // Stored again by a router that had completed and
                    // forgotten it (a retry later than its recent list):
                    // a new routing, whose attempts count anew.
                    self.recs[r as usize].routing += 1;
                }
                self.recs[r as usize].stored = true;
                (Some(Undo::Stored(r)), write)
            }
            BusNote::Attempt {
                id,
                to,
                leg,
                at,
                write,
                ..
            } => (Some(self.on_attempt(w.now, at, id, to, leg, out)), write),
            BusNote::Delivered { ref env, write } => (self.on_delivered(w, node, env, out), write),
            BusNote::DeadLettered { id, to, write, .. } => (self.on_dead_lettered(id, to), write),
            BusNote::Subscribing { key } => {
                self.asked_for(node, key);
                return;
            }
            BusNote::Subscribed { topic } if self.cfg.pattern_mode() => {
                self.key_change(w.now, node, topic, true);
                return;
            }
            BusNote::Unsubscribed { topic } if self.cfg.pattern_mode() => {
                self.key_change(w.now, node, topic, false);
                return;
            }
            BusNote::Subscribed { topic } => {
                let t = topic as usize;
                if let std::collections::btree_map::Entry::Vacant(e) = self.subs[t].entry(node) {
                    e.insert(w.now);
                    self.new_snapshot(topic);
                    self.sub_changes += 1;
                }
                return;
            }
            BusNote::Unsubscribed { topic } => {
                if self.subs[topic as usize].remove(&node).is_some() {
                    self.new_snapshot(topic);
                    self.sub_changes += 1;
                    self.excuse_unsubscribed(topic, node);
                }
                return;
            }
            BusNote::RequestDone { id } => {
                if let Some((_, at)) = self.requests.remove(&id) {
                    self.rtt_sum += w.now - at;
                    self.rtt_n += 1;
                }
                return;
            }
            BusNote::RequestTimedOut { id } => {
                self.requests.remove(&id);
                self.timeouts += 1;
                return;
            }
            BusNote::LateReply { .. } => {
                self.late += 1;
                return;
            }
            BusNote::QueueLen { len } => {
                self.set_queue(w.now, node, len);
                return;
            }
        };
        if let (Some(undo), Some(wn)) = (undo, write) {
            self.tentative[node as usize].push((wn, undo));
        }
    }

    /// A delivery's message record (far) and pair record (near): at a
    /// thousand recipients, the records of the messages in flight do not
    /// stay in cache beside the receivers' dedup windows.
    #[inline]
    fn prefetch_msg(&self, to: NodeId, msg: &super::BusMsg, far: bool) {
        if let super::BusMsg::Deliver(env) = msg {
            let Some(&r) = self.by_index.get(env.id as usize) else {
                return;
            };
            if far {
                crate::engine::prefetch(self.recs.as_ptr().wrapping_add(r as usize));
                return;
            }
            let Some(rec) = self.recs.get(r as usize) else {
                return;
            };
            if let Some(pos) = self.position(rec, to) {
                let i = rec.base as usize + pos as usize;
                crate::engine::prefetch(self.pairs.as_ptr().wrapping_add(i));
            }
        }
    }

    #[inline]
    fn on_deliver(&mut self, w: &World, _from: NodeId, _to: NodeId, _msg: &super::BusMsg) {
        self.workload_over = w.workload_over;
    }

    fn on_crash(&mut self, w: &World, node: NodeId) {
        self.track_world(w);
        if (node as usize) < self.queue.len() {
            self.set_queue(w.now, node, 0);
        }
        self.requests.retain(|_, (req, _)| *req != node);
    }

    fn on_quiet(&mut self, w: &World, _out: &mut Vec<Violation>) {
        self.track_world(w);
        self.quiet = true;
        self.clean_pending();
        let pending = self.pending.clone();
        for r in pending {
            let rec = &self.recs[r as usize];
            for pos in 0..rec.len {
                let rec = &self.recs[r as usize];
                let to = self.recipient(rec, pos);
                if self.down_excuse(w, rec, to) {
                    self.set_pair(r, pos, |p| p.excused = true);
                }
            }
        }
        self.clean_pending();
    }

    fn on_deadline(&mut self, w: &World, out: &mut Vec<Violation>) {
        self.clean_pending();
        let (count, example) = self.unresolved_judged(w);
        if let Some(e) = example {
            out.push(violation(
                w.now,
                DELIVERED,
                format!(
                    "{count} (message, recipient) pairs neither delivered nor dead-lettered by the deadline, published at least {} before it; e.g. {e}",
                    Dur(self.settle).human()
                ),
            ));
        }
    }

    fn done(&self) -> bool {
        self.quiet && self.workload_over && self.open == 0 && self.requests.is_empty()
    }

    fn finish(&mut self, w: &World, out: &mut Vec<Violation>) -> Outcome {
        let end = w.now;
        self.queue_advance(end);
        let every = self.cfg.sample_every.0;
        while (self.queue_series.len() as u64) * every <= end {
            self.queue_series.push(self.queue_total as f64);
        }
        let samples = self.queue_series.len();
        self.retries_series.resize(samples, 0.0);
        let cut = end.saturating_sub(self.grace);
        // Expected pairs and their latencies.
        let mut expected = [0u64; 3];
        let mut delivered = [0u64; 3];
        let mut extra = self.extra_unexpected;
        let mut unresolved = 0u64;
        let mut lat = Latencies::default();
        let (mut pub_attempts, mut pub_msgs) = (0u64, 0u64);
        for rec in &self.recs {
            if rec.retracted {
                continue;
            }
            let g = rec.env.guarantee;
            if g == Guarantee::AtMostOnce && rec.env.at > cut {
                continue;
            }
            // A topic's snapshot still current: its members are all still
            // subscribed, since before the publication (no lookups).
            let current = match (rec.recips, rec.env.dest) {
                (Recips::Snap(s), Dest::Topic(t)) => self.snap_of[t as usize] == s,
                _ => false,
            };
            for pos in 0..rec.len {
                let p = self.pairs[(rec.base + pos) as usize];
                if matches!(rec.recips, Recips::AllBut(pb) if self.recipient(rec, pos) == pb) {
                    continue;
                }
                let to = self.recipient(rec, pos);
                if !current && !self.still_expected(rec, to) {
                    continue;
                }
                expected[g.index()] += 1;
                if p.copies > 0 {
                    delivered[g.index()] += 1;
                    extra[g.index()] += p.copies as u64 - 1;
                    lat.add(p.first - 1);
                } else if g.acked() && !p.dlq && !rec.dlq_all {
                    unresolved += 1;
                }
            }
            if g.acked() && !self.cfg.peer() {
                if let Some(&(c, _)) = self.attempts.get(&(rec.env.id, self.router_of(&rec.env), 0, 0)) {
                    pub_attempts += c as u64;
                    pub_msgs += 1;
                }
            }
        }
        let (pair_attempts, pairs_attempted) = (self.leg_attempts[1], self.leg_keys[1]);
        let mut o = Outcome::with_capacity(METRICS.len(), SERIES.len());
        let m = &mut o.metrics;
        let published = self.recs.iter().filter(|r| !r.retracted).count();
        m.insert("published".into(), published as f64);
        m.insert("deliveries".into(), self.copies.iter().sum::<u64>() as f64);
        let all_exp: u64 = expected.iter().sum();
        if all_exp > 0 {
            m.insert(
                "delivery_ratio".into(),
                delivered.iter().sum::<u64>() as f64 / all_exp as f64,
            );
            m.insert(
                "duplicates".into(),
                extra.iter().sum::<u64>() as f64 / all_exp as f64,
            );
        }
        const RATIO: [&str; 3] = [
            "delivery_ratio_at_most_once",
            "delivery_ratio_at_least_once",
            "delivery_ratio_exactly_once",
        ];
        const DUPS: [&str; 3] = [
            "duplicates_at_most_once",
            "duplicates_at_least_once",
            "duplicates_exactly_once",
        ];
        for g in 0..3 {
            if expected[g] > 0 {
                m.insert(RATIO[g].into(), delivered[g] as f64 / expected[g] as f64);
                m.insert(DUPS[g].into(), extra[g] as f64 / expected[g] as f64);
            }
        }
        // Nearest ranks by selection, not a sort (a sort of every pair's
        // latency was a tenth of the monitor's time on a large run).
        let lat_max = lat.max();
        if let Some(lat_max) = lat_max {
            let ms = |us: u32| us as f64 / 1000.0;
            let [p50, p90, p99] = lat.nearest_ranks([0.5, 0.9, 0.99]);
            m.insert(
                "latency_ms_mean".into(),
                lat.sum() as f64 / lat.len() as f64 / 1000.0,
            );
            m.insert("latency_ms_p50".into(), ms(p50));
            m.insert("latency_ms_p90".into(), ms(p90));
            m.insert("latency_ms_p99".into(), ms(p99));
            m.insert("latency_ms_max".into(), ms(lat_max));
        }
        if pairs_attempted > 0 {
            m.insert(
                "attempts_mean".into(),
                pair_attempts as f64 / pairs_attempted as f64,
            );
        }
        if pub_msgs > 0 {
            m.insert(
                "publish_attempts_mean".into(),
                pub_attempts as f64 / pub_msgs as f64,
            );
        }
        m.insert("retries".into(), self.retries as f64);
        m.insert("dead_lettered".into(), self.dead_lettered as f64);
        m.insert("unresolved".into(), unresolved as f64);
        m.insert("requests".into(), self.requests_total as f64);
        m.insert("request_timeouts".into(), self.timeouts as f64);
        m.insert("late_replies".into(), self.late as f64);
        if self.rtt_n > 0 {
            m.insert(
                "request_rtt_ms_mean".into(),
                self.rtt_sum as f64 / self.rtt_n as f64 / MS as f64,
            );
        }
        m.insert("queue_len_max".into(), self.queue_max as f64);
        let mean_q = if end > 0 {
            self.queue_area as f64 / end as f64
        } else {
            self.queue_total as f64
        };
        m.insert("queue_len_mean".into(), mean_q);
        m.insert("subscription_changes".into(), self.sub_changes as f64);
        m.insert("taken_back".into(), self.taken_back as f64);
        m.insert("end_ms".into(), end as f64 / MS as f64);
        // Series.
        let step = self.cfg.cdf_step.0 / US;
        let points = self.cfg.cdf_points as usize;
        // Up to the first point that counts every delivered pair: the rest
        // would repeat it (series plots carry a run's last value on).
        let last = lat_max.map_or(0, |l| if step == 0 { 0 } else { (l as u64).div_ceil(step) as usize });
        let mut cdf = vec![0u64; points.min(last) + 1];
        let points = cdf.len() - 1;
        for (l, n) in lat.each() {
            // The first i with l <= i * step (in µs).
            let i = if step == 0 {
                0
            } else {
                (l as u64).div_ceil(step) as usize
            };
            if i <= points {
                cdf[i] += n;
            }
        }
        let mut acc = 0u64;
        let cdf: Vec<f64> = cdf
            .iter()
            .map(|&c| {
                acc += c;
                if all_exp > 0 {
                    acc as f64 / all_exp as f64
                } else {
                    0.0
                }
            })
            .collect();
        o.facts.insert(
            "queue_len".into(),
            serde_json::json!(std::mem::take(&mut self.queue_series)),
        );
        o.facts.insert(
            "retry_traffic".into(),
            serde_json::json!(std::mem::take(&mut self.retries_series)),
        );
        o.facts.insert("latency_cdf".into(), serde_json::json!(cdf));
        if !self.retry_succeeded {
            out.push(violation(
                end,
                RETRY_SUCCEEDED,
                "not reached: no message got through on an attempt after its first".into(),
            ));
        }
        if self.timeouts == 0 {
            out.push(violation(
                end,
                REQUEST_TIMED_OUT,
                "not reached: no request timed out".into(),
            ));
        }
        o
    }
}
