//! A message bus: client agents publish, subscribe and unsubscribe at run
//! time, send direct, broadcast and request-reply messages; brokers route
//! them, or clients route their own (brokerless peer mode); delivery
//! guarantees are set per topic and may be overridden per message.
//!
//! ```text
//!  workload ─submit─► publisher ──Publish──► broker ──Deliver──► subscriber ─► application
//!                        ▲  (outbox, retries)  │ (store, queue,    │ (dedup window,
//!                        └──────PubAck─────────┘  retries, DLQ) ◄──Ack── reorder buffer)
//! ```
//!
//! # Roles (node ids)
//!
//! With `brokers = B > 0`, nodes `0..B` are brokers and nodes `B..n` are
//! clients (client `c` is node `B + c`); topic `t` is served by broker
//! `t mod B`, direct messages and replies to node `x` by broker `x mod B`,
//! a broadcast by broker `publisher mod B`. With `brokers = 0` (peer mode)
//! every node is a client and routes its own messages straight to their
//! recipients, with the same acks, retries and dead-letter queue. Every node
//! can originate messages: a workload submission that lands on a broker is
//! published by the broker itself, to the router of its destination, like a
//! client's (over loopback when it routes the topic itself: every message
//! crosses two links in broker mode).
//!
//! Initial subscriptions are static: topic `t`'s subscribers are clients
//! `(t × S + j) mod C` for `j < S` (`S = subscribers_per_topic`, `C`
//! clients), plus the last `wildcard_subscribers` clients, which subscribe
//! to every topic. Churn submissions then subscribe and unsubscribe at run
//! time (broker mode): the client stores its intent, sends `Subscribe` or
//! `Unsubscribe` (numbered, so that a broker never applies an older change
//! after a newer one) to the topic's broker and retries until the broker,
//! which stores the change, acknowledges it. A subscription counts from its
//! acknowledgement; an unsubscription from the client's decision.
//!
//! # Workload
//!
//! Everything starts from the engine's workload ([`crate::engine::setup::WorkloadConfig`]:
//! `--arrivals`, `--submissions`, `--clients`, `--target`). Each submission
//! draws, from [`Submission::rng`] only (never the node's stream), its
//! pattern (`mix` weights), its topic (`topic_skew`: uniform or Zipf), its
//! payload, whether it overrides its topic's guarantee (`override_ratio`),
//! and the client a direct message or request goes to. Per-publisher rates
//! come from the workload: Poisson arrivals at rate `R` spread uniformly
//! over `n` nodes (`--target random`) are a Poisson process of rate `R / n`
//! at each node; `every:D` with `--target round-robin` has each node
//! publish every `n × D`. Slow consumers (`slow_consumers`,
//! `slow_consume_time`) are clients that take longer to process each
//! delivery; they acknowledge once done.
//!
//! # Guarantees
//!
//! - **at-most-once**: one attempt, no ack. The receiver drops a copy whose id
//!   is in its dedup window, or that was published before its floor (the
//!   time it last booted, and any evicted id's publication time): copies too
//!   old to tell apart are lost, never delivered twice.
//! - **at-least-once**: the publisher keeps the message in a durable outbox
//!   and retries until the router acknowledges it; the router stores it
//!   (persists) before acknowledging, then retries each recipient until it
//!   acknowledges. Waits follow exponential backoff with jitter
//!   ([`schedule`]); after `max_attempts` the message goes to the
//!   dead-letter queue with its reason (noted). Every copy is delivered.
//! - **exactly-once**: at-least-once plus deduplication by message id in a
//!   bounded window (`dedup_window` ids). With `dedup_durable`, the delivery
//!   and its window entry are one storage write (a transactional consumer):
//!   a crash during it undoes both and the retry delivers it once. Without
//!   it the window is lost in a crash, and a retry after the crash is
//!   delivered again: there exactly-once breaks (as it does when a retry
//!   arrives after its id left a window too small).
//! - **FIFO** (`fifo`): per publisher incarnation and topic, publications
//!   carry sequence numbers; a receiver delivers in order, buffering up to
//!   `reorder_max` early ones; a gap is skipped after `gap_timeout` (or at
//!   once when the buffer is full) and counted; an acked message that
//!   arrives behind a skipped gap is rejected, and its router dead-letters
//!   it (`out-of-order`). A new stream starts at sequence 0, so a late
//!   subscriber waits one gap timeout before its first message.
//!
//! # Crash semantics
//!
//! What survives a crash ([`BusDurable`]): a publisher's outbox; a
//! router's stored messages with each recipient's attempts, its recently
//! completed ids and its subscription table; a client's subscription
//! intents; a receiver's FIFO positions and, with `dedup_durable`, its dedup
//! window. A node persists at the end of any callback that changed durable
//! state its messages depend on; with a storage delay the engine holds that
//! callback's messages until the write completes. Everything else (queues,
//! reorder buffers, consumers' inboxes, pending requests, timers) is lost.
//! A recovered node resumes every pending retry no sooner than the schedule
//! allows after the last attempt it stored. Facts noted in a persisting
//! callback carry the write's number; a recovered node notes the number of
//! its last surviving write, and the monitor takes back the facts of the
//! lost ones.
//!
//! # Backpressure
//!
//! A broker sends one delivery per `service_time` and at most `prefetch`
//! unacknowledged deliveries per subscriber (acked guarantees); the rest
//! wait in its queue of `queue_capacity` deliveries. When the queue is full,
//! `queue_policy` drops the newest or the oldest delivery (an acked one goes
//! to the dead-letter queue, `queue-full`), or refuses the publication with
//! an error to the publisher, which retries it with backoff.
//!
//! # Request-reply
//!
//! A request goes to one client; the responder answers on delivery with a
//! reply whose id is the request's with the top bit set (the correlation
//! id), under the request's guarantee. A request unanswered after
//! `request_timeout` times out; a reply that comes later is discarded and
//! counted.
//!
//! **Broken variants** (`variant`), for seeing the checkers catch bugs:
//! `forget-dedup` (receivers keep no dedup window), `ack-before-store`
//! (brokers acknowledge before the callback that stores), `no-backoff`
//! (retries every `retry_base`).

/// The durable state, for writing: shared with the last persisted copy
/// until the first change after a persist (then copied once), so that a
/// run whose durable copies are not kept never copies it.
macro_rules! dm {
    ($s:expr) => {
        std::sync::Arc::make_mut(&mut $s.d)
    };
}

mod arena;
mod alarm;
pub mod config;
mod endpoint;
#[cfg(feature = "cli")]
mod flags;
pub mod monitor;
pub mod msg;
mod receiver;
mod router;
pub mod schedule;
mod spec;
pub mod window;

pub use config::{
    BusConfig, BusVariant, Guarantee, Mix, Pattern, QueuePolicy, SubKey, TopicFilter, TopicSkew,
};
#[cfg(feature = "cli")]
pub use flags::BusFlags;
pub use monitor::BusMonitor;
pub use msg::{BusMsg, BusNote, BusTimer, Dest, DlqReason, Envelope, MsgId, PubStatus, REPLY_BIT};
pub use spec::BusSpec;

use crate::node::{Ctx, Init, MetricDef, NodeId, Protocol, Submission};
use crate::time::SimTime;
use alarm::Alarm;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::rc::Rc;

/// A hasher for message ids in lookup-only sets and maps: one multiply
/// (ids are already well spread: submission indices). Never iterated, so
/// its order cannot reach a run.
#[derive(Clone, Copy, Debug, Default)]
pub struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64);
    }
}

/// A set of message ids (lookups only).
pub type IdSet = HashSet<MsgId, std::hash::BuildHasherDefault<IdHasher>>;
/// A map keyed by message id (lookups only).
pub type IdMap<V> = HashMap<MsgId, V, std::hash::BuildHasherDefault<IdHasher>>;

/// A node's role (see the module docs for which ids get which).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Routes the topics `t` with `t mod brokers == index`.
    Broker {
        /// Its index (its node id).
        index: u32,
    },
    /// A client agent: publishes, subscribes, receives.
    Client {
        /// Its index among the clients.
        index: u32,
    },
}

impl Role {
    /// The role of `node` under `cfg`.
    pub fn of(cfg: &BusConfig, node: NodeId) -> Role {
        if node < cfg.brokers {
            Role::Broker { index: node }
        } else {
            Role::Client {
                index: node - cfg.brokers,
            }
        }
    }
}

/// A FIFO stream: one publisher incarnation's publications to one topic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamKey {
    /// The publisher.
    pub publisher: NodeId,
    /// Its incarnation ([`Envelope::epoch`]).
    pub epoch: u64,
    /// The topic.
    pub topic: u32,
}

/// A receiver's place in a FIFO stream.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StreamPos {
    /// The next sequence number to deliver.
    pub next: u32,
    /// Sequence numbers skipped, as half-open ranges `[a, b)`, ascending.
    pub skipped: Vec<(u32, u32)>,
}

impl StreamPos {
    fn was_skipped(&self, s: u32) -> bool {
        self.skipped.iter().any(|&(a, b)| a <= s && s < b)
    }
    fn skip(&mut self, to: u32) {
        if to <= self.next {
            return;
        }
        match self.skipped.last_mut() {
            Some(last) if last.1 == self.next => last.1 = to,
            _ => self.skipped.push((self.next, to)),
        }
        self.next = to;
    }
}

/// A message in a publisher's outbox, awaiting its router's ack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    /// The message.
    pub env: Envelope,
    /// Attempts made.
    pub attempts: u8,
    /// When the last one was made.
    pub last_at: SimTime,
    /// The router's last answer was a refusal.
    pub refused: bool,
}

/// One recipient of a stored message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pair {
    /// The recipient.
    pub to: NodeId,
    /// Attempts made (0: still queued).
    pub attempts: u8,
    /// When the last one was made.
    pub last_at: SimTime,
    /// Acknowledged or dead-lettered.
    pub done: bool,
}

/// A message a router stored (acked guarantees).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredMsg {
    /// The message.
    pub env: Envelope,
    /// Its recipients at the time it was stored, sorted by node id.
    pub pairs: Vec<Pair>,
    /// Recipients not done yet.
    pub open: u32,
}

/// What survives a crash (see "Crash semantics" in the module docs).
///
/// The dedup window comes first (`repr(C)` keeps the order): a delivery
/// reads it and the reference counts before it, at a node whose state is
/// not in cache, so they share a cache line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct BusDurable {
    /// Receiver: the dedup window. Kept across a crash only with `dedup_durable`.
    pub window: window::DedupWindow,
    /// This state has been initialised (false: first boot).
    pub booted: bool,
    /// The number of the storage write that holds this state.
    pub write: u32,
    /// Publisher: messages awaiting the router's ack.
    pub outbox: Vec<Outgoing>,
    /// Router: stored messages (completed ones are compacted away).
    pub stored: Vec<StoredMsg>,
    /// Router: ids completed recently, with when (a late retry of one is
    /// acknowledged, not routed again); kept for `settle_ns`.
    pub recent: VecDeque<(MsgId, SimTime)>,
    /// Router: the subscribers of each topic it routes, sorted.
    pub subs: Vec<Vec<NodeId>>,
    /// Router: the last change number applied per (subscription key, client).
    pub sub_versions: BTreeMap<(u32, NodeId), u32>,
    /// Router, with patterns only: the subscription keys each client holds
    /// here ([`SubKey`]: its topics and patterns); `subs` lists, per topic,
    /// the clients with a key that covers it.
    pub held: BTreeSet<(NodeId, u32)>,
    /// Client: whether it means to be subscribed, per subscription key
    /// (the topics, then the patterns: [`SubKey`]).
    pub intents: Vec<bool>,
    /// Client: its change number per subscription key.
    pub intent_versions: Vec<u32>,
    /// Client: subscription changes not acknowledged yet: (key, subscribe, version).
    pub intents_pending: Vec<(u32, bool, u32)>,
    /// Receiver: FIFO positions.
    pub streams: BTreeMap<StreamKey, StreamPos>,
    /// Responder: requests answered recently (a duplicate is not answered again).
    pub replied: VecDeque<MsgId>,
}

/// What a retry deadline is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum RetryKey {
    /// The publisher's attempt `.1` of message `.0` to its router.
    Outbox(MsgId, u8),
    /// The router's attempt `.2` of message `.0` to recipient `.1`.
    Pair(MsgId, NodeId, u8),
    /// A client's subscription change of topic `.0`, attempt `.1`.
    Sub(u32, u8),
}

/// A delivery waiting in a broker's queue.
#[derive(Clone, Copy, Debug)]
struct Queued {
    env: Envelope,
    to: NodeId,
}

/// Early arrivals of one FIFO stream, and when its gap is skipped.
#[derive(Clone, Debug, Default)]
struct Reorder {
    waiting: BTreeMap<u32, (NodeId, Envelope)>,
    deadline: SimTime,
}

/// The protocol's own counters ([`Protocol::COUNTERS`]), by index.
mod counter {
    pub const GAP_SKIPS: usize = 0;
    pub const TOO_OLD: usize = 1;
    pub const DUP_SUPPRESSED: usize = 2;
    pub const QUEUE_DROPPED: usize = 3;
    pub const REFUSED: usize = 4;
    pub const REJECTED: usize = 5;
    pub const IGNORED: usize = 6;
}

static COUNTERS: [MetricDef; 7] = [
    MetricDef {
        name: "gap_skips",
        unit: "count",
        definition: "FIFO sequence numbers skipped by receivers after the gap timeout or with a full reorder buffer",
    },
    MetricDef {
        name: "too_old_dropped",
        unit: "count",
        definition: "at-most-once copies dropped as published before the receiver's floor (its boot, or an evicted id's publication time)",
    },
    MetricDef {
        name: "dup_suppressed",
        unit: "count",
        definition: "copies a receiver did not deliver because its dedup window or FIFO position showed it had delivered them",
    },
    MetricDef {
        name: "queue_dropped",
        unit: "count",
        definition: "deliveries dropped by a full broker queue (drop-newest, drop-oldest)",
    },
    MetricDef {
        name: "refused",
        unit: "count",
        definition: "publications a broker refused because its queue was full (refuse policy)",
    },
    MetricDef {
        name: "rejected_out_of_order",
        unit: "count",
        definition: "acked copies rejected because they arrived behind a FIFO gap already skipped",
    },
    MetricDef {
        name: "submissions_ignored",
        unit: "count",
        definition: "submissions with nothing to do: churn at a broker, a direct message or request with no other client",
    },
];

/// One bus node: a broker or a client (see the module docs).
///
/// The fields a delivery touches come first (`repr(C)` keeps the order),
/// from a cache-line boundary: at a thousand nodes every delivery lands on
/// a node whose state is not in cache, so the fewer cache lines it reads,
/// the faster.
#[derive(Debug)]
#[repr(C, align(64))]
pub struct Bus {
    /// This node's id and the number of nodes.
    id: NodeId,
    n: u32,
    /// The write this callback will make, once something needs storing.
    cb_write: Option<u32>,
    /// The number of the last storage write issued.
    writes: u32,
    /// The queue length last noted.
    noted_queue: u32,
    /// At-most-once copies published before this are dropped.
    floor: SimTime,
    d: Arc<BusDurable>,
    /// Where the dedup window's sets were at the last insertion, for
    /// [`Protocol::prefetch`] (which may read only this first cache line).
    hint: window::Hint,
    /// This incarnation's boot time.
    epoch: u64,
    queue: VecDeque<Queued>,
    role: Role,
    /// Sending a delivery (`service_time`).
    busy: bool,
    consuming: bool,

    // Publisher.
    /// Next FIFO sequence number per topic, this incarnation.
    fifo_next: Vec<u32>,
    /// Cumulative topic weights (Zipf), built at the first submission.
    zipf: Option<Vec<f64>>,

    // Router.
    /// Stored message id to its place in `d.stored`.
    index: IdMap<u32>,
    /// Stored messages done (compacted away from time to time).
    done_msgs: u32,
    /// Ids in `d.recent` (lookups only).
    recent_set: IdSet,
    /// Unacknowledged deliveries per recipient (only with `prefetch`).
    unacked: Vec<u32>,
    /// `ack-before-store`: acknowledged, not stored yet.
    unstored: Vec<Envelope>,
    /// The envelope of the last delivery sent, shared by the copies that
    /// follow while they carry the same one (volatile: only a cache).
    last_sent: Option<Rc<Envelope>>,

    // Receiver.
    reorder: BTreeMap<StreamKey, Reorder>,
    inbox: VecDeque<(NodeId, Envelope)>,

    // Requester.
    /// Pending requests and their deadlines.
    requests: BTreeMap<MsgId, SimTime>,
    timed_out: BTreeSet<MsgId>,

    retry: Alarm<RetryKey>,
    gap: Alarm<StreamKey>,
    request: Alarm<MsgId>,
}

impl Bus {
    /// This node's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The durable state as it stands (not necessarily persisted yet).
    pub fn durable(&self) -> &BusDurable {
        &self.d
    }

    /// The dedup window.
    pub fn window(&self) -> &window::DedupWindow {
        &self.d.window
    }

    /// Deliveries waiting in this broker's queue.
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// Requests waiting for their reply.
    pub fn pending_requests(&self) -> usize {
        self.requests.len()
    }

    /// This callback changes durable state its messages depend on: it will
    /// persist at its end. Returns the write's number.
    fn write(&mut self) -> u32 {
        *self.cb_write.get_or_insert(self.writes + 1)
    }

    /// Notes a fact, with the number of this callback's storage write if it
    /// has one. Facts whose truth depends on the write (a publication, a
    /// store, an attempt, a durable delivery) come after [`Bus::write`].
    #[inline]
    fn fact(&self, ctx: &mut Ctx<'_, Self>, mut note: BusNote) {
        match &mut note {
            BusNote::Published { write, .. }
            | BusNote::Stored { write, .. }
            | BusNote::Attempt { write, .. }
            | BusNote::Delivered { write, .. }
            | BusNote::DeadLettered { write, .. } => *write = self.cb_write,
            _ => {}
        }
        if let BusNote::Attempt { at, .. } = &mut note {
            *at = ctx.now();
        }
        ctx.note(note);
    }

    /// Ends a callback: persists if it must, and notes the queue length if
    /// it changed.
    fn end(&mut self, ctx: &mut Ctx<'_, Self>) {
        if let Some(w) = self.cb_write.take() {
            self.writes = w;
            dm!(self).write = w;
            ctx.persist(Arc::clone(&self.d));
        }
        let q = self.queue.len() as u32;
        if q != self.noted_queue {
            self.noted_queue = q;
            ctx.note(BusNote::QueueLen { len: q });
        }
    }

    /// The node that routes `env`: the broker of its destination, or its
    /// publisher in peer mode.
    fn router_of(cfg: &BusConfig, env: &Envelope) -> NodeId {
        if cfg.peer() {
            return env.publisher;
        }
        let b = cfg.brokers;
        match env.dest {
            Dest::Topic(t) => t % b,
            Dest::Client(c) => c % b,
            Dest::All => env.publisher % b,
        }
    }
}

impl Protocol for Bus {
    type Config = BusConfig;
    type Msg = BusMsg;
    type Timer = BusTimer;
    type Note = BusNote;
    /// Shared: a persist hands the engine a pointer, not a copy (a broker
    /// persists at every attempt, and its state holds every message it
    /// stores); the node copies it at its next change only if the engine
    /// kept it (when a crash is possible).
    type Durable = Arc<BusDurable>;

    const COUNTERS: &'static [MetricDef] = &COUNTERS;
    /// At a thousand receivers their dedup windows (16 KiB each by
    /// default) do not fit in cache: a delivery's window lookup would wait
    /// for memory.
    const PREFETCH: bool = true;

    /// A delivery's lines: the rest of this struct (its queue, read at
    /// every callback's end), the durable state's start (the window, and the
    /// reference counts that `Arc::make_mut` reads, two words before it in
    /// std's `Arc`: a wrong guess only wastes a prefetch), and the id's
    /// window set.
    #[inline]
    fn prefetch(&self, msg: &BusMsg) {
        if let BusMsg::Deliver(env) = msg {
            let me = self as *const Bus as *const u8;
            crate::engine::prefetch(me.wrapping_add(64));
            let d = Arc::as_ptr(&self.d) as *const u8;
            crate::engine::prefetch(d.wrapping_sub(2 * std::mem::size_of::<usize>()));
            crate::engine::prefetch(d.wrapping_add(std::mem::size_of::<window::DedupWindow>() - 1));
            self.hint.prefetch(env.id);
        }
    }

    fn init(ctx: &mut Init<'_, Self>, durable: &Arc<BusDurable>) -> Self {
        let cfg = ctx.config();
        let (id, n) = (ctx.id(), ctx.nodes());
        let role = Role::of(cfg, id);
        let mut shared = Arc::clone(durable);
        let d = Arc::make_mut(&mut shared);
        if !d.booted {
            d.booted = true;
            d.intents = vec![false; cfg.sub_keys() as usize];
            d.intent_versions = vec![0; cfg.sub_keys() as usize];
            d.subs = vec![Vec::new(); cfg.topics as usize];
            for t in 0..cfg.topics {
                if cfg.is_initial_subscriber(n, t, id) {
                    d.intents[t as usize] = true;
                }
                let routes = cfg.peer() || (id < cfg.brokers && t % cfg.brokers == id);
                if routes {
                    d.subs[t as usize] = cfg.initial_subscribers(n, t);
                    if cfg.pattern_mode() {
                        d.held.extend(d.subs[t as usize].iter().map(|&c| (c, t)));
                    }
                }
            }
        }
        if !cfg.dedup_durable {
            d.window.clear();
        }
        let recent_set = d.recent.iter().map(|e| e.0).collect();
        let index = d
            .stored
            .iter()
            .enumerate()
            .map(|(i, m)| (m.env.id, i as u32))
            .collect();
        let done_msgs = d.stored.iter().filter(|m| m.open == 0).count() as u32;
        let mut unacked = Vec::new();
        if cfg.prefetch > 0 && (cfg.peer() || id < cfg.brokers) {
            unacked = vec![0; n as usize];
            for m in &d.stored {
                for p in m.pairs.iter().filter(|p| !p.done && p.attempts > 0) {
                    unacked[p.to as usize] += 1;
                }
            }
        }
        Bus {
            role,
            id,
            n,
            hint: d.window.hint(),
            epoch: 0,
            writes: d.write,
            cb_write: None,
            fifo_next: Vec::new(),
            zipf: None,
            index,
            done_msgs,
            recent_set,
            queue: VecDeque::new(),
            busy: false,
            unacked,
            noted_queue: 0,
            last_sent: None,
            unstored: Vec::new(),
            floor: 0,
            reorder: BTreeMap::new(),
            inbox: VecDeque::new(),
            consuming: false,
            requests: BTreeMap::new(),
            timed_out: BTreeSet::new(),
            retry: Alarm::new(BusTimer::Retry),
            gap: Alarm::new(BusTimer::Gap),
            request: Alarm::new(BusTimer::Request),
            d: shared,
        }
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        let now = ctx.now();
        self.epoch = now;
        self.floor = now;
        ctx.note(BusNote::Boot { write: self.writes });
        self.resume_outbox(ctx);
        self.resume_intents(ctx);
        self.resume_routing(ctx);
        self.end(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: BusMsg) {
        match msg {
            BusMsg::Publish(env) => {
                let e = *env;
                // Its first copies to subscribers carry the same envelope
                // (first attempts): they share the publisher's.
                self.last_sent = Some(env);
                self.on_publish(ctx, from, e)
            }
            BusMsg::PubAck { id, status } => self.on_pub_ack(id, status),
            BusMsg::Deliver(env) => self.on_deliver(ctx, from, *env),
            BusMsg::Ack { id, reject } => self.on_ack(ctx, from, id, reject),
            BusMsg::Subscribe { topic, version } => {
                self.on_subscribe(ctx, from, topic, true, version)
            }
            BusMsg::Unsubscribe { topic, version } => {
                self.on_subscribe(ctx, from, topic, false, version)
            }
            BusMsg::SubAck { topic, on, version } => self.on_sub_ack(ctx, topic, on, version),
        }
        self.end(ctx);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: BusTimer) {
        let now = ctx.now();
        match timer {
            BusTimer::Retry => {
                self.retry.fired();
                while let Some(k) = self.retry.pop_due(now) {
                    self.on_retry_due(ctx, k);
                }
                self.retry.rearm(ctx);
            }
            BusTimer::Gap => {
                self.gap.fired();
                while let Some(k) = self.gap.pop_due(now) {
                    self.on_gap_due(ctx, k);
                }
                self.gap.rearm(ctx);
            }
            BusTimer::Request => {
                self.request.fired();
                while let Some(id) = self.request.pop_due(now) {
                    if self.requests.remove(&id).is_some() {
                        self.timed_out.insert(id);
                        self.fact(ctx, BusNote::RequestTimedOut { id });
                    }
                }
                self.request.rearm(ctx);
            }
            BusTimer::Consume => self.on_consumed(ctx),
            BusTimer::Service => {
                self.busy = false;
                self.pump(ctx);
            }
            BusTimer::Flush => self.on_flush(ctx),
        }
        self.end(ctx);
    }

    fn on_submit(&mut self, ctx: &mut Ctx<'_, Self>, sub: Submission) {
        self.submit(ctx, sub);
        self.end(ctx);
    }
}

#[cfg(test)]
mod tests;
