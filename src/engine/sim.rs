//! The run loop of one simulation: one thread, one seed, bounded by
//! `time_max` and `events_max`.

use super::queue::EventQueue;
use super::{prefetch, Command, Commands, Ctx, Message, Note, PropertyKind, Protocol, TimerTag};
use crate::net::faults::{FaultAction, FaultConfig};
use crate::net::topology::{Graph, NodeId};
use crate::net::{DropReason, NetConfig, Partitions};
use crate::observe::{Counters, Monitor, NameMap, Outcome, Violation, World};
use crate::rng::{stream, NodeStreams, SimRng};
use crate::scenario::Scenario;
use crate::time::SimTime;
use crate::trace::Tracer;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};

/// The monitors' view of `$sim`, borrowing its fields one by one (so the
/// monitor, another field, can be borrowed mutably beside it).
macro_rules! world {
    ($sim:ident) => {
        World {
            now: $sim.now,
            alive: &$sim.alive,
            nodes: $sim.n,
            graph: &$sim.graph,
            parts: &$sim.parts,
            net: &$sim.net,
        }
    };
}

/// What stopped a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// No event left.
    Quiescent,
    /// The next event lay beyond `time_max`.
    TimeMax,
    /// `events_max` events were processed.
    EventsMax,
    /// A property was violated.
    Violation,
    /// Every `eventually` property held after the last fault (`stop_when_done`).
    Done,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Quiescent => "quiescent",
            StopReason::TimeMax => "time_max",
            StopReason::EventsMax => "events_max",
            StopReason::Violation => "violation",
            StopReason::Done => "done",
        }
    }
}

/// The result of one run.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    pub seed: u64,
    pub stop: StopReason,
    pub t_ns: SimTime,
    /// Events processed (cancelled timers are not events).
    pub events: u64,
    pub counts: Counters,
    #[serde(serialize_with = "crate::observe::as_map")]
    pub metrics: NameMap<f64>,
    #[serde(serialize_with = "crate::observe::as_map")]
    pub facts: NameMap<serde_json::Value>,
    pub violations: Vec<Violation>,
    /// Set when the run stopped (at `time_max`, `events_max` or for lack of
    /// events) before its `eventually` properties could be judged: they had
    /// neither held since the last fault nor reached their deadline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undecided: Option<Undecided>,
    /// The run hash as 16 hex digits (see [`crate::trace`]).
    pub hash: String,
}

/// `eventually` properties a run stopped too early to judge.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Undecided {
    pub properties: Vec<&'static str>,
    /// When they would have been judged: the last fault plus the liveness bound.
    pub deadline_ns: SimTime,
}

impl RunReport {
    pub fn safety_violated(&self) -> bool {
        self.violations
            .iter()
            .any(|v| v.kind == PropertyKind::Always)
    }
    pub fn liveness_violated(&self) -> bool {
        self.violations
            .iter()
            .any(|v| v.kind == PropertyKind::Eventually)
    }
}

/// What can happen at an instant. (Node starts are not queued: they are the
/// first `n` seqs at time 0, run in node order before anything else.)
pub(crate) enum Event<M> {
    /// A message's delivery; the message's id is this event's seq.
    Deliver {
        from: NodeId,
        to: NodeId,
        msg: M,
    },
    Timer {
        node: NodeId,
        tag: u16,
        gen: u32,
    },
    Fault(FaultEv),
    /// The next timer of [`Batch`] `id` is due.
    Batch(u32),
}

/// Timers armed for one instant with one tag, kept out of the event queue in
/// arming (seq) order: 12 bytes a timer instead of a queue entry of 40 or more.
/// Synchronous rounds arm a timer per node for the same instant, a million of
/// them at a million nodes. The queue holds one entry for the batch, keyed by
/// its next timer's `(time, seq)`; the run loop takes the batch's timers one by
/// one as long as nothing in the queue comes first, and otherwise puts the batch
/// back under its next timer's key. The order of events is exactly that of one
/// queue entry per timer.
struct Batch {
    at: SimTime,
    tag: u16,
    /// Seq of the first timer; timer seqs are `base + off`.
    base: u64,
    /// The timers in chunks of [`BATCH_CHUNK`], oldest first; drained chunks go
    /// back to the pool at once, so a batch filling while another drains (one
    /// round's timers arming the next round's) reuses its memory.
    chunks: VecDeque<Vec<BatchItem>>,
    /// Index of the next timer due in the front chunk.
    head: usize,
}

/// Timers per batch chunk (12 KiB).
const BATCH_CHUNK: usize = 1024;

#[derive(Clone, Copy)]
struct BatchItem {
    off: u32,
    node: NodeId,
    gen: u32,
}

/// How many events ahead `prefetch_next` looks.
const PREFETCH_AHEAD: usize = 4;
/// Below this many nodes their state stays in cache: no prefetching.
const PREFETCH_MIN_NODES: u32 = 4096;

/// Batches open for more timers, at most this many (oldest dropped first).
const OPEN_BATCHES: usize = 4;

#[derive(Clone, Copy, Debug)]
pub(crate) enum FaultEv {
    Scheduled(u32),
    ProcCrash(NodeId),
    ProcRecover(NodeId),
    PartStart,
    PartEnd,
    LeaderCrash(u32),
    LeaderRecover(NodeId),
    HealAll,
    Quiet,
    Deadline,
}

/// One simulation of protocol `P` watched by monitor `M`.
pub struct Simulation<P: Protocol, M: Monitor<P>> {
    seed: u64,
    n: u32,
    cfg: P::Config,
    net: NetConfig,
    faults: FaultConfig,
    time_max: SimTime,
    events_max: u64,
    stop_when_done: bool,
    liveness_bound: SimTime,

    now: SimTime,
    seq: u64,
    events: u64,
    queue: EventQueue<Event<P::Msg>>,
    nodes: Vec<P>,
    alive: Vec<bool>,
    down: u32,
    durable: Vec<P::Durable>,
    timer_gen: Vec<u32>,
    drift_ppm: Vec<i32>,
    streams: NodeStreams,
    net_rng: SimRng,
    /// Created on first use: most runs draw nothing from it.
    fault_rng: Option<SimRng>,
    graph: Graph,
    parts: Partitions,
    in_flight: HashMap<(NodeId, NodeId), u32>,
    fifo_last: HashMap<(NodeId, NodeId), SimTime>,
    out: Commands<P>,
    /// Nodes whose latest note says they lead, with that note's `(time,
    /// seq)`; kept only if a fault crashes "the current leader".
    leaders: Vec<(NodeId, SimTime, u64)>,
    track_leaders: bool,
    heal_time: Option<SimTime>,
    /// When faults stop: every fault lies at or before it.
    quiet_at: SimTime,
    /// A fault the run scheduled lies at `quiet_at` (see [`Self::push_fault`]).
    fault_at_quiet: bool,
    quiet: bool,
    /// When `eventually` properties are judged: `quiet_at` plus the bound.
    deadline: SimTime,
    deadline_passed: bool,

    tracer: Tracer,
    monitor: M,
    violations: Vec<Violation>,
    counts: Counters,
    by_kind: Vec<u64>,

    batches: Vec<Batch>,
    free_batches: Vec<u32>,
    /// Empty batch chunks, for reuse.
    batch_pool: Vec<Vec<BatchItem>>,
    /// Batches that more timers may join: `(at, tag, id)`.
    open_batches: Vec<(SimTime, u16, u32)>,
    /// `(at, tag)` of the last timer queued on its own: a second one for the
    /// same instant and tag opens a batch.
    last_timer: (SimTime, u16),
    /// The batch being drained, if any.
    active: Option<u32>,
}

const TIMERS_MAX: usize = u16::MAX as usize;

impl<P: Protocol, M: Monitor<P>> Simulation<P, M> {
    /// Builds a simulation from a validated scenario.
    pub fn new(sc: &Scenario, cfg: P::Config, tracer: Tracer) -> Self {
        let n = sc.nodes;
        let timers = P::Timer::NAMES.len();
        assert!(timers <= TIMERS_MAX);
        // Durable state is read only when a node recovers: a run that can
        // never crash a node keeps none (16 MB at a million gossip nodes).
        let blank = P::Durable::default();
        let nodes = (0..n).map(|i| P::init(i, n, &cfg, &blank)).collect();
        let durable = if sc.faults.can_crash() {
            vec![blank; n as usize]
        } else {
            Vec::new()
        };
        let mut fault_rng = None;
        let mut drift_ppm = Vec::new();
        if sc.faults.drift_ppm_max > 0 || !sc.faults.drift.is_empty() {
            let m = sc.faults.drift_ppm_max as i64;
            let fault_rng = fault_rng.get_or_insert_with(|| SimRng::new(sc.seed, stream::FAULTS));
            drift_ppm = (0..n)
                .map(|_| {
                    if m > 0 {
                        (fault_rng.below(2 * m as u64 + 1) as i64 - m) as i32
                    } else {
                        0
                    }
                })
                .collect();
            for d in &sc.faults.drift {
                drift_ppm[d.node as usize] = d.ppm;
            }
        }
        let monitor = M::new(sc, &cfg);
        Simulation {
            seed: sc.seed,
            n,
            net: sc.net.clone(),
            faults: sc.faults.clone(),
            time_max: sc.time_max.0,
            events_max: sc.events_max,
            stop_when_done: sc.stop_when_done,
            liveness_bound: sc.liveness_bound.0,
            now: 0,
            seq: 0,
            events: 0,
            queue: EventQueue::new(),
            nodes,
            alive: vec![true; n as usize],
            down: 0,
            durable,
            timer_gen: vec![0; n as usize * timers],
            drift_ppm,
            streams: NodeStreams::new(sc.seed, n as usize),
            net_rng: SimRng::new(sc.seed, stream::NETWORK),
            fault_rng,
            graph: sc.net.topology.build(n, sc.seed),
            parts: Partitions::default(),
            in_flight: HashMap::new(),
            fifo_last: HashMap::new(),
            out: Commands::default(),
            leaders: Vec::new(),
            track_leaders: sc.faults.crashes_leader(),
            heal_time: sc.faults.heal_time(sc.time_max.0),
            quiet_at: 0,
            fault_at_quiet: false,
            quiet: false,
            deadline: 0,
            deadline_passed: false,
            tracer,
            monitor,
            violations: Vec::new(),
            counts: Counters::default(),
            by_kind: vec![0; P::Msg::KINDS.len()],
            cfg,
            batches: Vec::new(),
            free_batches: Vec::new(),
            batch_pool: Vec::new(),
            open_batches: Vec::new(),
            last_timer: (SimTime::MAX, u16::MAX),
            active: None,
        }
    }

    fn fault_rng(&mut self) -> &mut SimRng {
        let seed = self.seed;
        self.fault_rng
            .get_or_insert_with(|| SimRng::new(seed, stream::FAULTS))
    }

    fn schedule_initial(&mut self) {
        // Node starts: seqs 0..n at time 0, run by `run` before the queue.
        self.queue.take_seqs(self.n as u64);
        for (i, e) in self.faults.schedule.iter().enumerate() {
            self.queue
                .push(e.at.0, Event::Fault(FaultEv::Scheduled(i as u32)));
        }
        if let Some(heal) = self.heal_time {
            if let Some(mttf) = self.faults.crash_mttf {
                for i in 0..self.n {
                    let at = self.fault_rng().exp(mttf.0 as f64) as u64;
                    if at < heal {
                        self.queue.push(at, Event::Fault(FaultEv::ProcCrash(i)));
                    }
                }
            }
            if let Some(mtbf) = self.faults.partition_mtbf {
                let at = self.fault_rng().exp(mtbf.0 as f64) as u64;
                if at < heal {
                    self.queue.push(at, Event::Fault(FaultEv::PartStart));
                }
            }
            self.queue.push(heal, Event::Fault(FaultEv::HealAll));
        }
        if let Some(lc) = self.faults.leader_crashes.clone() {
            if lc.count > 0 {
                let at = lc.first.0 + self.fault_rng().range_inclusive(0, lc.jitter.0);
                self.queue.push(at, Event::Fault(FaultEv::LeaderCrash(0)));
            }
        }
        let quiet = self.faults.quiet_time(self.time_max);
        self.quiet_at = quiet;
        self.queue.push(quiet, Event::Fault(FaultEv::Quiet));
        let deadline = quiet.saturating_add(self.liveness_bound);
        self.deadline = deadline;
        if deadline <= self.time_max {
            self.queue.push(deadline, Event::Fault(FaultEv::Deadline));
        }
    }

    /// Runs to a stop and reports.
    pub fn run(mut self) -> (RunReport, Tracer) {
        self.schedule_initial();
        let stop = self.run_starts().unwrap_or_else(|| self.run_events());
        let cut_short = matches!(
            stop,
            StopReason::TimeMax | StopReason::EventsMax | StopReason::Quiescent
        ) && !self.deadline_passed
            && !(self.quiet && self.monitor.done());
        let outcome = {
            let w = world!(self);
            let mut late = Vec::new();
            let o: Outcome = self.monitor.finish(&w, &mut late);
            for v in late {
                self.record_violation(v);
            }
            o
        };
        let kinds = self.by_kind.iter().filter(|&&c| c > 0).count();
        self.counts.by_kind.reserve(kinds);
        for (i, &c) in self.by_kind.iter().enumerate() {
            if c > 0 {
                self.counts.by_kind.insert(P::Msg::KINDS[i], c);
            }
        }
        let undecided = cut_short.then(|| Undecided {
            properties: M::properties()
                .iter()
                .filter(|p| p.kind == PropertyKind::Eventually)
                .filter(|p| !self.violations.iter().any(|v| v.property == p.name))
                .map(|p| p.name)
                .collect(),
            deadline_ns: self.deadline,
        });
        let undecided = undecided.filter(|u| !u.properties.is_empty());
        let report = RunReport {
            seed: self.seed,
            stop,
            t_ns: self.now,
            events: self.events,
            counts: self.counts,
            metrics: outcome.metrics,
            facts: outcome.facts,
            violations: self.violations,
            undecided,
            hash: format!("{:016x}", self.tracer.hash()),
        };
        (report, self.tracer)
    }

    /// Starts every node in node order: the events `(0, 0..n)`, first of all.
    fn run_starts(&mut self) -> Option<StopReason> {
        for node in 0..self.n {
            if self.events >= self.events_max {
                return Some(StopReason::EventsMax);
            }
            self.now = 0;
            self.seq = node as u64;
            self.events += 1;
            self.tracer.start(self.now, self.seq, node);
            self.dispatch(node, |p, ctx| p.on_start(ctx));
            if let Some(stop) = self.stop_now() {
                return Some(stop);
            }
        }
        None
    }

    /// Runs events until something stops the run.
    ///
    /// The event with the smallest `(time, seq)` is the queue's, or the active
    /// batch's next timer. Each goes straight from where it was taken to
    /// [`Simulation::step`]: passing it through a shared return value (an
    /// `Option` of a tuple, re-wrapped on the way) made the compiler copy the
    /// event several times in pieces, and each copy stalled store-to-load
    /// forwarding (about 10% of a 5-node election).
    fn run_events(&mut self) -> StopReason {
        loop {
            let stop = if let Some(id) = self.active {
                let b = &self.batches[id as usize];
                let (at, tag, item) = (b.at, b.tag, b.chunks[0][b.head]);
                let seq = b.base + item.off as u64;
                let preempted = matches!(self.queue.peek_key(), Some(k) if k < (at, seq));
                if preempted {
                    // An event in the queue comes first: put the batch back
                    // under its next timer's key.
                    self.active = None;
                    self.queue.push_with_seq(at, seq, Event::Batch(id));
                    continue;
                }
                self.batch_advance(id);
                let ev = Event::Timer {
                    node: item.node,
                    tag,
                    gen: item.gen,
                };
                self.step(at, seq, ev)
            } else {
                let Some(e) = self.queue.pop() else {
                    return StopReason::Quiescent;
                };
                if let Event::Batch(id) = e.event {
                    // Due now: no more timers join it.
                    self.open_batches.retain(|o| o.2 != id);
                    self.active = Some(id);
                    continue;
                }
                self.step(e.time, e.seq, e.event)
            };
            if let Some(stop) = stop {
                return stop;
            }
        }
    }

    /// Handles the event at `(time, seq)` unless a bound stops the run first.
    #[inline(always)]
    fn step(&mut self, time: SimTime, seq: u64, event: Event<P::Msg>) -> Option<StopReason> {
        if time > self.time_max {
            self.now = self.time_max;
            return Some(StopReason::TimeMax);
        }
        if self.events >= self.events_max {
            return Some(StopReason::EventsMax);
        }
        self.now = time;
        self.seq = seq;
        if self.n >= PREFETCH_MIN_NODES {
            self.prefetch_next();
        }
        self.handle(event);
        self.stop_now()
    }

    #[inline]
    fn stop_now(&mut self) -> Option<StopReason> {
        if !self.violations.is_empty() {
            return Some(StopReason::Violation);
        }
        if self.stop_when_done && self.quiet && self.monitor.done() {
            return Some(StopReason::Done);
        }
        None
    }

    /// Steps the active batch past its next timer; drained chunks and batches
    /// are recycled.
    #[inline]
    fn batch_advance(&mut self, id: u32) {
        let b = &mut self.batches[id as usize];
        b.head += 1;
        if b.head == b.chunks[0].len() {
            let mut chunk = b.chunks.pop_front().expect("a batch has a chunk");
            b.head = 0;
            chunk.clear();
            self.batch_pool.push(chunk);
            if b.chunks.is_empty() {
                self.free_batches.push(id);
                self.active = None;
            }
        }
    }

    /// Appends a timer to batch `id`.
    #[inline]
    fn batch_push(&mut self, id: u32, item: BatchItem) {
        let b = &mut self.batches[id as usize];
        match b.chunks.back_mut() {
            Some(last) if last.len() < BATCH_CHUNK => last.push(item),
            _ => {
                let mut chunk = self
                    .batch_pool
                    .pop()
                    .unwrap_or_else(|| Vec::with_capacity(BATCH_CHUNK));
                chunk.push(item);
                b.chunks.push_back(chunk);
            }
        }
    }

    /// Queues timer `tag` of `node` at `at`: in a batch if one is open for
    /// that instant and tag, else as its own queue entry.
    #[inline]
    fn push_timer(&mut self, at: SimTime, node: NodeId, tag: u16, gen: u32) {
        if let Some(&(_, _, id)) = self.open_batches.iter().find(|o| o.0 == at && o.1 == tag) {
            let seq = self.queue.next_seq();
            if let Ok(off) = u32::try_from(seq - self.batches[id as usize].base) {
                self.queue.take_seq();
                self.batch_push(id, BatchItem { off, node, gen });
                return;
            }
            // Too far from the batch's first seq: start another.
            self.open_batches.retain(|o| o.2 != id);
        } else if self.last_timer != (at, tag) {
            self.last_timer = (at, tag);
            self.queue.push(at, Event::Timer { node, tag, gen });
            return;
        }
        // A second timer for this instant and tag: open a batch.
        let id = self.free_batches.pop().unwrap_or_else(|| {
            self.batches.push(Batch {
                at,
                tag,
                base: 0,
                chunks: VecDeque::new(),
                head: 0,
            });
            (self.batches.len() - 1) as u32
        });
        let base = self.queue.push(at, Event::Batch(id));
        let b = &mut self.batches[id as usize];
        (b.at, b.tag, b.base) = (at, tag, base);
        self.batch_push(id, BatchItem { off: 0, node, gen });
        if self.open_batches.len() == OPEN_BATCHES {
            self.open_batches.remove(0);
        }
        self.open_batches.push((at, tag, id));
    }

    /// Starts loading the state that an event a few places ahead will touch
    /// (its node, generator, timer slots, liveness) while this one is handled:
    /// at a million nodes every event lands on a random node, and these loads
    /// would otherwise be back-to-back cache misses. Looking [`PREFETCH_AHEAD`]
    /// events ahead rather than one keeps several misses in flight at once.
    #[inline]
    fn prefetch_next(&mut self) {
        let node = if let Some(id) = self.active {
            let b = &self.batches[id as usize];
            let chunk = &b.chunks[0];
            match chunk.get(b.head + PREFETCH_AHEAD) {
                Some(item) => item.node,
                None => return,
            }
        } else {
            match self.queue.peek_ahead(PREFETCH_AHEAD) {
                Some(next) => match next {
                    Event::Deliver { to, .. } => *to,
                    Event::Timer { node, .. } => *node,
                    _ => return,
                },
                None => return,
            }
        } as usize;
        if node >= self.nodes.len() {
            return;
        }
        prefetch(self.nodes.as_ptr().wrapping_add(node));
        prefetch(self.streams.slot_ptr(node));
        prefetch(self.alive.as_ptr().wrapping_add(node));
        prefetch(
            self.timer_gen
                .as_ptr()
                .wrapping_add(node * P::Timer::NAMES.len()),
        );
        self.monitor.prefetch(node as NodeId);
    }

    #[inline]
    fn handle(&mut self, ev: Event<P::Msg>) {
        match ev {
            Event::Deliver { from, to, msg } => {
                let id = self.seq;
                self.events += 1;
                if self.net.capacity > 0 {
                    if let Some(c) = self.in_flight.get_mut(&(from, to)) {
                        *c -= 1;
                    }
                }
                if !self.alive[to as usize] {
                    self.drop_msg(id, from, to, &msg, DropReason::DstDown);
                } else if self.parts.blocked(from, to) {
                    self.drop_msg(id, from, to, &msg, DropReason::Partition);
                } else {
                    self.counts.delivered += 1;
                    self.tracer.deliver(self.now, self.seq, id, from, to, &msg);
                    self.dispatch(to, |p, ctx| p.on_message(ctx, from, msg));
                }
            }
            Event::Timer { node, tag, gen } => {
                let slot = node as usize * P::Timer::NAMES.len() + tag as usize;
                if !self.alive[node as usize] || self.timer_gen[slot] != gen {
                    return; // cancelled or re-armed: not an event
                }
                self.events += 1;
                self.counts.timers += 1;
                let t = tag as usize;
                self.tracer
                    .timer(self.now, self.seq, node, t, P::Timer::NAMES[t]);
                let timer = P::Timer::from_index(t);
                self.dispatch(node, |p, ctx| p.on_timer(ctx, timer));
            }
            Event::Fault(f) => {
                self.events += 1;
                self.fault(f);
            }
            Event::Batch(_) => unreachable!("next_event drains batches"),
        }
    }

    /// Runs one callback of `node` and applies its commands in issue order.
    #[inline]
    fn dispatch(&mut self, node: NodeId, f: impl FnOnce(&mut P, &mut Ctx<'_, P>)) {
        let mut out = std::mem::take(&mut self.out);
        {
            let mut ctx = Ctx::new(
                &self.cfg,
                node,
                self.now,
                self.n,
                &self.graph,
                &mut self.streams,
                &mut out,
            );
            f(&mut self.nodes[node as usize], &mut ctx);
        }
        for cmd in out.list.drain(..) {
            self.apply(node, cmd);
        }
        self.out = out;
    }

    #[inline]
    fn apply(&mut self, node: NodeId, cmd: Command<P>) {
        match cmd {
            Command::Send(to, msg) => self.send(node, to, msg),
            Command::Broadcast(msg) => {
                let k = self.graph.peers(node).len();
                for i in 0..k {
                    let to = self.graph.peers(node).get(i);
                    self.send(node, to, msg.clone());
                }
            }
            Command::SetTimer(tag, after) => {
                let t = tag.index();
                let slot = node as usize * P::Timer::NAMES.len() + t;
                self.timer_gen[slot] = self.timer_gen[slot].wrapping_add(1);
                let after = self.local_to_true(node, after);
                let gen = self.timer_gen[slot];
                self.push_timer(self.now.saturating_add(after), node, t as u16, gen);
            }
            Command::CancelTimer(tag) => {
                let slot = node as usize * P::Timer::NAMES.len() + tag.index();
                self.timer_gen[slot] = self.timer_gen[slot].wrapping_add(1);
            }
            Command::Persist(d) => {
                if let Some(slot) = self.durable.get_mut(node as usize) {
                    *slot = d;
                }
            }
            Command::Note(note) => self.note(node, note),
        }
    }

    #[inline]
    fn local_to_true(&self, node: NodeId, after: u64) -> u64 {
        if self.drift_ppm.is_empty() {
            return after;
        }
        let ppm = self.drift_ppm[node as usize] as i128;
        ((after as i128 * 1_000_000) / (1_000_000 + ppm)) as u64
    }

    /// Sends `msg`. Its id is the seq of its delivery event, handed out
    /// now even if the network drops it, so ids are unique and every `send`
    /// record links to one `deliver` or `drop`.
    fn send(&mut self, from: NodeId, to: NodeId, msg: P::Msg) {
        let id = self.queue.next_seq();
        self.counts.sent += 1;
        self.by_kind[msg.kind()] += 1;
        self.tracer.send(self.now, self.seq, id, from, to, &msg);
        let dropped = if to != from && !self.graph.has_edge(from, to) {
            Some(DropReason::NoRoute)
        } else if self.parts.blocked(from, to) {
            Some(DropReason::Partition)
        } else {
            let link = self.net.link(from, to);
            let loss = link.loss_ratio;
            if loss > 0.0 && self.net_rng.chance(loss) {
                Some(DropReason::Loss)
            } else if !self.reserve(from, to) {
                Some(DropReason::Capacity)
            } else {
                None
            }
        };
        if let Some(why) = dropped {
            self.queue.take_seq();
            return self.drop_msg(id, from, to, &msg, why);
        }
        let dup = self.net.link(from, to).dup_ratio;
        let at = self.arrival(from, to);
        if dup > 0.0 && self.net_rng.chance(dup) && self.reserve(from, to) {
            let at2 = self.arrival(from, to);
            self.queue.push(
                at,
                Event::Deliver {
                    from,
                    to,
                    msg: msg.clone(),
                },
            );
            let copy = self.queue.push(at2, Event::Deliver { from, to, msg });
            self.counts.duplicated += 1;
            self.tracer
                .duplicate(self.now, self.seq, copy, id, from, to);
        } else {
            self.queue.push(at, Event::Deliver { from, to, msg });
        }
    }

    /// Takes one slot of the link's capacity; false if it is full.
    #[inline]
    fn reserve(&mut self, from: NodeId, to: NodeId) -> bool {
        if self.net.capacity == 0 {
            return true;
        }
        let c = self.in_flight.entry((from, to)).or_insert(0);
        if *c >= self.net.capacity {
            return false;
        }
        *c += 1;
        true
    }

    /// Draws a delivery time, keeping per-link FIFO order if asked.
    #[inline]
    fn arrival(&mut self, from: NodeId, to: NodeId) -> SimTime {
        let delay = self.net.link(from, to).latency.sample(&mut self.net_rng);
        let mut at = self.now.saturating_add(delay);
        if self.net.fifo {
            let last = self.fifo_last.entry((from, to)).or_insert(0);
            at = at.max(*last);
            *last = at;
        }
        at
    }

    fn drop_msg(&mut self, id: u64, from: NodeId, to: NodeId, msg: &P::Msg, why: DropReason) {
        *self.counts.dropped.entry(why.as_str()).or_insert(0) += 1;
        self.tracer
            .drop_msg(self.now, self.seq, id, from, to, msg, why.as_str());
    }

    fn note(&mut self, node: NodeId, note: P::Note) {
        self.tracer.note(self.now, self.seq, node, &note);
        if self.track_leaders {
            match note.leadership() {
                Some(true) => {
                    self.leaders.retain(|l| l.0 != node);
                    self.leaders.push((node, self.now, self.seq));
                }
                Some(false) => self.leaders.retain(|l| l.0 != node),
                None => {}
            }
        }
        let w = world!(self);
        let mut found = Vec::new();
        self.monitor.on_note(&w, node, &note, &mut found);
        for v in found {
            self.record_violation(v);
        }
    }

    fn record_violation(&mut self, v: Violation) {
        let kind = match v.kind {
            PropertyKind::Always => "always",
            PropertyKind::Eventually => "eventually",
            PropertyKind::Sometimes => "sometimes",
        };
        self.tracer
            .violation(v.t_ns, self.seq, v.property, kind, &v.detail);
        self.violations.push(v);
    }

    /// The live node whose latest note says it leads (latest claim wins).
    fn current_leader(&self) -> Option<NodeId> {
        self.leaders
            .iter()
            .filter(|l| self.alive[l.0 as usize])
            .max_by_key(|l| (l.1, l.2))
            .map(|l| l.0)
    }

    fn crash(&mut self, node: NodeId, cause: &str) {
        if !self.alive[node as usize] {
            return;
        }
        self.alive[node as usize] = false;
        self.down += 1;
        self.counts.crashes += 1;
        let t = P::Timer::NAMES.len();
        for g in &mut self.timer_gen[node as usize * t..(node as usize + 1) * t] {
            *g = g.wrapping_add(1);
        }
        self.leaders.retain(|l| l.0 != node);
        self.tracer.crash(self.now, self.seq, node, cause);
        let w = world!(self);
        self.monitor.on_crash(&w, node);
    }

    fn recover(&mut self, node: NodeId) {
        if self.alive[node as usize] {
            return;
        }
        self.alive[node as usize] = true;
        self.down -= 1;
        self.counts.recoveries += 1;
        self.nodes[node as usize] = P::init(node, self.n, &self.cfg, &self.durable[node as usize]);
        self.tracer.recover(self.now, self.seq, node);
        let w = world!(self);
        self.monitor.on_recover(&w, node);
        self.dispatch(node, |p, ctx| p.on_start(ctx));
    }

    fn before_heal(&self) -> bool {
        self.heal_time.is_some_and(|h| self.now < h)
    }

    /// Queues a fault that the run itself scheduled (a recovery, the next
    /// crash of a process). One at the instant faults stop is noted: it was
    /// queued after the `Quiet` event and must run before it.
    fn push_fault(&mut self, at: SimTime, ev: FaultEv) {
        self.fault_at_quiet |= at == self.quiet_at;
        self.queue.push(at, Event::Fault(ev));
    }

    fn fault(&mut self, f: FaultEv) {
        match f {
            FaultEv::Scheduled(i) => {
                let entry = self.faults.schedule[i as usize].clone();
                match entry.action {
                    FaultAction::Crash(n) => self.crash(n, "schedule"),
                    FaultAction::Recover(n) => self.recover(n),
                    FaultAction::Partition(ref groups) => {
                        self.parts.split(self.n, groups);
                        let s = entry.to_string();
                        self.net_change(s.split('@').next().unwrap_or(""));
                    }
                    FaultAction::Cut(a, b) => {
                        self.parts.cut(a, b);
                        self.net_change(&format!("cut:{a}>{b}"));
                    }
                    FaultAction::Isolate(n) => {
                        self.parts.isolate(self.n, n);
                        self.net_change(&format!("isolate:{n}"));
                    }
                    FaultAction::Heal => {
                        self.parts.heal();
                        self.net_change("heal");
                    }
                    FaultAction::CrashLeader { down } => {
                        if let Some(l) = self.current_leader() {
                            self.crash(l, "leader");
                            if let Some(d) = down {
                                self.push_fault(self.now + d.0, FaultEv::LeaderRecover(l));
                            }
                        }
                    }
                }
            }
            FaultEv::ProcCrash(n) => {
                if !self.before_heal() {
                    return;
                }
                let max_down = self.faults.crash_max_down.unwrap_or(u32::MAX);
                if self.alive[n as usize] && self.down < max_down {
                    self.crash(n, "process");
                    let mttr = self.faults.crash_mttr.0 as f64;
                    let d = self.fault_rng().exp(mttr) as u64;
                    self.push_fault(self.now + d, FaultEv::ProcRecover(n));
                } else {
                    let mttf = self.faults.crash_mttf.map_or(0, |d| d.0);
                    let d = self.fault_rng().exp(mttf as f64) as u64;
                    self.push_fault(self.now + d, FaultEv::ProcCrash(n));
                }
            }
            FaultEv::ProcRecover(n) => {
                self.recover(n);
                if self.before_heal() {
                    let mttf = self.faults.crash_mttf.map_or(0, |d| d.0);
                    let d = self.fault_rng().exp(mttf as f64) as u64;
                    self.push_fault(self.now + d, FaultEv::ProcCrash(n));
                }
            }
            FaultEv::PartStart => {
                if !self.before_heal() {
                    return;
                }
                let mut all: Vec<NodeId> = (0..self.n).collect();
                self.fault_rng().shuffle(&mut all);
                let half = (self.n as u64 / 2).max(1);
                let k = 1 + self.fault_rng().below(half) as usize;
                let mut minority = all[..k.min(all.len())].to_vec();
                minority.sort_unstable();
                self.parts.split(self.n, &[minority.clone()]);
                let list: Vec<String> = minority.iter().map(|x| x.to_string()).collect();
                self.net_change(&format!("partition:{}|rest", list.join(",")));
                let mttr = self.faults.partition_mttr.0 as f64;
                let d = self.fault_rng().exp(mttr) as u64;
                self.push_fault(self.now + d, FaultEv::PartEnd);
            }
            FaultEv::PartEnd => {
                self.parts.heal();
                self.net_change("heal");
                if self.before_heal() {
                    let mtbf = self.faults.partition_mtbf.map_or(0, |d| d.0);
                    let d = self.fault_rng().exp(mtbf as f64) as u64;
                    self.push_fault(self.now + d, FaultEv::PartStart);
                }
            }
            FaultEv::LeaderCrash(k) => {
                let Some(lc) = self.faults.leader_crashes.clone() else {
                    return;
                };
                if let Some(l) = self.current_leader() {
                    self.crash(l, "leader");
                    self.push_fault(self.now + lc.down.0, FaultEv::LeaderRecover(l));
                }
                if k + 1 < lc.count {
                    let at = lc.first.0
                        + (k as u64 + 1) * lc.every.0
                        + self.fault_rng().range_inclusive(0, lc.jitter.0);
                    self.push_fault(at.max(self.now), FaultEv::LeaderCrash(k + 1));
                }
            }
            FaultEv::LeaderRecover(n) => self.recover(n),
            FaultEv::HealAll => {
                if !self.parts.is_healed() {
                    self.parts.heal();
                    self.net_change("heal");
                }
                for n in 0..self.n {
                    self.recover(n);
                }
            }
            FaultEv::Quiet => {
                if std::mem::take(&mut self.fault_at_quiet) {
                    // A fault the run scheduled for this instant (say, the
                    // recovery of the last crashed leader) is still queued:
                    // faults stop after it.
                    self.queue.push(self.now, Event::Fault(FaultEv::Quiet));
                    return;
                }
                self.quiet = true;
                let w = world!(self);
                let mut found = Vec::new();
                self.monitor.on_quiet(&w, &mut found);
                for v in found {
                    self.record_violation(v);
                }
            }
            FaultEv::Deadline => {
                self.deadline_passed = true;
                let w = world!(self);
                let mut found = Vec::new();
                self.monitor.on_deadline(&w, &mut found);
                for v in found {
                    self.record_violation(v);
                }
            }
        }
    }

    fn net_change(&mut self, change: &str) {
        self.tracer.net_change(self.now, self.seq, change);
    }
}

#[cfg(test)]
mod tests {
    use super::{BatchItem, Event};
    use crate::engine::queue::Scheduled;
    use crate::protocols::gossip::GossipMsg;
    use crate::protocols::raft::RaftMsg;
    use std::mem::size_of;

    /// Memory per pending event is what bounds a million-node run: a queued
    /// gossip message takes 40 bytes, a batched timer 12.
    #[test]
    fn pending_event_sizes() {
        assert_eq!(size_of::<Scheduled<Event<GossipMsg>>>(), 40);
        assert_eq!(size_of::<Scheduled<Event<RaftMsg>>>(), 56);
        assert_eq!(size_of::<BatchItem>(), 12);
    }
}
