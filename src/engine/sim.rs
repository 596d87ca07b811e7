//! The run loop of one simulation: one thread, one seed, bounded by
//! `time_max` and `events_max`.

use super::prefetch;
use super::queue::EventQueue;
use super::setup::{Arrivals, Setup, StorageConfig, Target, WorkloadConfig};
use crate::net::faults::{FaultAction, FaultConfig};
use crate::net::link::{Fate, Network};
use crate::net::process::FaultProcesses;
use crate::net::{DropReason, Partitions};
use crate::node::{
    Adversary, Behaviour, BehaviourKind, Command, Commands, Ctx, Graph, Init, Message, NodeId,
    Note, Protocol, Submission, TimerTag,
};
use crate::observe::trace::Tracer;
use crate::observe::{
    Counters, Monitor, MonitorInit, NameMap, Outcome, PropertyKind, Violation, World,
};
use crate::rng::{stream, NodeStreams, SimRng};
use crate::time::SimTime;
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Arc;

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
            net: $sim.network.config(),
            counts: &$sim.counts,
            sent_by_kind: &$sim.by_kind,
            adversary: &$sim.adversary,
            workload_over: $sim.workload.as_ref().is_none_or(|w| w.finished),
        }
    };
}

/// What stopped a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)] // each variant is documented by its `as_str` spelling
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
    /// More events were pending than [`super::setup::pending_max`] allows
    /// (a broadcast storm): the run's memory stays bounded.
    PendingMax,
}

impl StopReason {
    /// The reason as reports spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Quiescent => "quiescent",
            StopReason::TimeMax => "time_max",
            StopReason::EventsMax => "events_max",
            StopReason::Violation => "violation",
            StopReason::Done => "done",
            StopReason::PendingMax => "pending_max",
        }
    }
}

/// The result of one run.
#[derive(Clone, Debug, Serialize)]
pub struct RunReport {
    /// The run's seed.
    pub seed: u64,
    /// What stopped it.
    pub stop: StopReason,
    /// The virtual time it stopped at.
    pub t_ns: SimTime,
    /// Events processed (cancelled timers are not events).
    pub events: u64,
    /// What the network did.
    pub counts: Counters,
    /// The monitor's metrics and the protocol's counters.
    #[serde(serialize_with = "crate::observe::as_map")]
    pub metrics: NameMap<f64>,
    /// The monitor's facts.
    #[serde(serialize_with = "crate::observe::as_map")]
    pub facts: NameMap<serde_json::Value>,
    /// Properties that did not hold.
    pub violations: Vec<Violation>,
    /// Set when the run stopped (at `time_max`, `events_max` or for lack of
    /// events) before its `eventually` properties could be judged: they had
    /// neither held since the last fault nor reached their deadline.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undecided: Option<Undecided>,
    /// The run hash as 16 hex digits (see [`crate::observe::trace`]).
    pub hash: String,
}

/// `eventually` properties a run stopped too early to judge.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Undecided {
    /// Their names.
    pub properties: Vec<&'static str>,
    /// When they would have been judged: the last fault plus the liveness bound.
    pub deadline_ns: SimTime,
}

impl RunReport {
    /// Whether an `always` property was violated.
    pub fn safety_violated(&self) -> bool {
        self.violations
            .iter()
            .any(|v| v.kind == PropertyKind::Always)
    }
    /// Whether an `eventually` property was violated.
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
    /// The next workload submission arrives.
    Submit,
    /// A storage write of `node` completes (stale if `gen` is not the
    /// node's current write generation: a crash lost it).
    WriteDone {
        node: NodeId,
        gen: u32,
    },
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
/// How many sends ahead a fan-out's copy starts loading the place its event
/// goes to ([`Simulation::apply_pipelined`]). In the bus bench, interleaved
/// runs gave 0.97–0.98 of the time without for 2 and 3; 1 was too close.
const PLACE_AHEAD: usize = 2;
/// Below this many nodes their state stays in cache: no prefetching.
const PREFETCH_MIN_NODES: u32 = 4096;
/// How many events ahead [`Protocol::prefetch`] is called (with
/// [`Protocol::PREFETCH`]); the node's first cache line is loaded twice as
/// far ahead, so that the hook finds it in cache.
const HOOK_AHEAD: usize = 2;
// The queue shows this far ahead across its buckets' ends.
const _: () = assert!(
    PREFETCH_AHEAD <= super::queue::PEEK_AHEAD && 2 * HOOK_AHEAD <= super::queue::PEEK_AHEAD
);

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
    cfg: Arc<P::Config>,
    faults: FaultConfig,
    time_max: SimTime,
    events_max: u64,
    /// Most events pending at once ([`super::setup::pending_max`]).
    pending_max: usize,
    stop_when_done: bool,
    liveness_bound: SimTime,

    now: SimTime,
    seq: u64,
    events: u64,
    queue: EventQueue<Event<P::Msg>>,
    /// Fan-outs decide their fates ahead ([`Simulation::apply_pipelined`]).
    pipeline: bool,
    /// [`Simulation::apply_pipelined`]'s fates (kept for their buffer).
    fates: Vec<Fate>,
    nodes: Vec<P>,
    alive: Vec<bool>,
    down: u32,
    durable: Vec<P::Durable>,
    timer_gen: Vec<u32>,
    drift_ppm: Vec<i32>,
    streams: NodeStreams,
    network: Network,
    processes: FaultProcesses,
    graph: Graph,
    parts: Partitions,
    adversary: Adversary,
    out: Commands<P>,
    /// Nodes whose latest note says they lead, with that note's `(time,
    /// seq)`; kept only if a fault crashes "the current leader" or the
    /// workload targets it.
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
    /// The protocol's own counters ([`Protocol::COUNTERS`]).
    counters: Vec<f64>,

    workload: Option<Workload>,
    storage: Option<Storage<P>>,

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

/// The workload's state during a run (only when it is on).
struct Workload {
    cfg: WorkloadConfig,
    rng: SimRng,
    /// Submissions that arrived so far.
    next: u64,
    /// The last arrival is past (count reached, or beyond `stop`).
    finished: bool,
}

impl Workload {
    /// The time of the next arrival after one at `now`, if any.
    fn next_at(&mut self, now: SimTime) -> Option<SimTime> {
        if self.cfg.count > 0 && self.next >= self.cfg.count {
            self.finished = true;
            return None;
        }
        let gap = match self.cfg.arrivals {
            Arrivals::None => return None,
            Arrivals::Poisson { rate } => self.rng.exp(1e9 / rate) as u64,
            Arrivals::Every(d) => d.0,
        };
        let at = now.saturating_add(gap);
        if self.cfg.stop.is_some_and(|s| at > s.0) {
            self.finished = true;
            return None;
        }
        Some(at)
    }
}

/// The storage model's state during a run (only with a write delay).
struct Storage<P: Protocol> {
    cfg: StorageConfig,
    rng: SimRng,
    /// Writes in progress per node, oldest first.
    pending: Vec<VecDeque<Write<P>>>,
    /// A node's write generation: bumped by a crash, so that completions of
    /// lost writes are recognised.
    gen: Vec<u32>,
    /// When each node's last write completes (writes complete in order).
    last_done: Vec<SimTime>,
}

/// A write in progress and what its callback made visible, held until it completes.
struct Write<P: Protocol> {
    durable: P::Durable,
    /// The callback's messages and notes, in issue order.
    held: Vec<Held<P>>,
}

/// Something a persisting callback made visible: a message (`Some(to)`, or
/// `None` for a broadcast) or a note.
enum Held<P: Protocol> {
    Msg(Option<NodeId>, P::Msg),
    Note(P::Note),
}

const TIMERS_MAX: usize = u16::MAX as usize;

impl<P: Protocol, M: Monitor<P>> Simulation<P, M> {
    /// Builds a simulation from a validated setup and the protocol's configuration.
    pub fn new(setup: &Setup<'_>, cfg: Arc<P::Config>, tracer: Tracer) -> Self {
        let n = setup.nodes;
        let timers = P::Timer::NAMES.len();
        assert!(timers <= TIMERS_MAX);
        let mut processes = FaultProcesses::new(setup.seed);
        let drift_ppm = processes.drifts(setup.faults, n);
        let adversary = resolve_adversary(setup, &mut processes);
        let graph = setup.net.topology.build(n, setup.seed);
        let mut streams = NodeStreams::new(setup.seed, n as usize);
        // Durable state is read only when a node recovers: a run that can
        // never crash a node keeps none (16 MB at a million gossip nodes).
        let blank = P::Durable::default();
        let nodes = (0..n)
            .map(|i| {
                let mut init = Init::new(&*cfg, i, n, &graph, &adversary, &mut streams);
                P::init(&mut init, &blank)
            })
            .collect();
        let durable = if setup.faults.can_crash() {
            vec![blank; n as usize]
        } else {
            Vec::new()
        };
        let monitor = M::new(&MonitorInit {
            seed: setup.seed,
            nodes: n,
            config: &*cfg,
            adversary: &adversary,
        });
        let workload = setup.workload.is_on().then(|| Workload {
            cfg: setup.workload.clone(),
            rng: SimRng::new(setup.seed, stream::WORKLOAD),
            next: 0,
            finished: false,
        });
        let storage = setup.storage.is_on().then(|| Storage {
            cfg: setup.storage.clone(),
            rng: SimRng::new(setup.seed, stream::STORAGE),
            pending: (0..n).map(|_| VecDeque::new()).collect(),
            gen: vec![0; n as usize],
            last_done: vec![0; n as usize],
        });
        let track_leaders = setup.faults.crashes_leader()
            || (setup.workload.is_on() && setup.workload.target == Target::Leader);
        Simulation {
            seed: setup.seed,
            n,
            faults: setup.faults.clone(),
            time_max: setup.time_max,
            events_max: setup.events_max,
            pending_max: super::setup::pending_max(n),
            stop_when_done: setup.stop_when_done,
            liveness_bound: setup.liveness_bound,
            now: 0,
            seq: 0,
            events: 0,
            pipeline: n >= PREFETCH_MIN_NODES || P::PREFETCH,
            fates: Vec::new(),
            // The look-ahead below reads past a bucket's end where it runs.
            queue: if n >= PREFETCH_MIN_NODES || P::PREFETCH {
                EventQueue::with_look_ahead()
            } else {
                EventQueue::new()
            },
            nodes,
            alive: vec![true; n as usize],
            down: 0,
            durable,
            timer_gen: vec![0; n as usize * timers],
            drift_ppm,
            streams,
            network: Network::new(setup.net, setup.seed),
            processes,
            graph,
            parts: Partitions::default(),
            adversary,
            out: Commands::default(),
            leaders: Vec::new(),
            track_leaders,
            heal_time: setup.faults.heal_time(setup.time_max),
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
            counters: vec![0.0; P::COUNTERS.len()],
            cfg,
            workload,
            storage,
            batches: Vec::new(),
            free_batches: Vec::new(),
            batch_pool: Vec::new(),
            open_batches: Vec::new(),
            last_timer: (SimTime::MAX, u16::MAX),
            active: None,
        }
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
                    let at = self.processes.exp(mttf.0);
                    if at < heal {
                        self.queue.push(at, Event::Fault(FaultEv::ProcCrash(i)));
                    }
                }
            }
            if let Some(mtbf) = self.faults.partition_mtbf {
                let at = self.processes.exp(mtbf.0);
                if at < heal {
                    self.queue.push(at, Event::Fault(FaultEv::PartStart));
                }
            }
            self.queue.push(heal, Event::Fault(FaultEv::HealAll));
        }
        if let Some(lc) = self.faults.leader_crashes.clone() {
            if lc.count > 0 {
                let at = lc.first.0 + self.processes.jitter(lc.jitter.0);
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
        if let Some(w) = &mut self.workload {
            let start = w.cfg.start.0;
            let first = match w.cfg.arrivals {
                Arrivals::Poisson { .. } => w.next_at(start),
                _ => Some(start),
            };
            match first {
                Some(at) => {
                    self.queue.push(at, Event::Submit);
                }
                None => w.finished = true,
            }
        }
    }

    /// Runs to a stop and reports.
    pub fn run(mut self) -> (RunReport, Tracer) {
        self.schedule_initial();
        for (node, b) in self.adversary.iter() {
            self.tracer.byzantine(0, node, &behaviour_text(b));
        }
        let stop = self.run_starts().unwrap_or_else(|| self.run_events());
        let cut_short = matches!(
            stop,
            StopReason::TimeMax
                | StopReason::EventsMax
                | StopReason::Quiescent
                | StopReason::PendingMax
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
        let mut metrics = outcome.metrics;
        for (def, &v) in P::COUNTERS.iter().zip(&self.counters) {
            metrics.insert(def.name.into(), v);
        }
        let report = RunReport {
            seed: self.seed,
            stop,
            t_ns: self.now,
            events: self.events,
            counts: self.counts,
            metrics,
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
        if P::PREFETCH {
            self.prefetch_hook();
        }
        self.handle(event);
        self.stop_now()
    }

    #[inline]
    fn stop_now(&mut self) -> Option<StopReason> {
        if !self.violations.is_empty() {
            return Some(StopReason::Violation);
        }
        if self.queue.len() > self.pending_max {
            return Some(StopReason::PendingMax);
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

    /// The protocol's look-ahead ([`Protocol::PREFETCH`]): loads the first
    /// cache line of the node that a message `2 × HOOK_AHEAD` events ahead
    /// goes to, and asks the node of the message [`HOOK_AHEAD`] events ahead
    /// (whose line was loaded so) to load what handling it will touch; the
    /// monitor is told of both ([`Monitor::prefetch_msg`]).
    #[inline]
    fn prefetch_hook(&self) {
        if let Some(Event::Deliver { to, msg, .. }) = self.queue.peek_ahead(2 * HOOK_AHEAD) {
            prefetch(self.nodes.as_ptr().wrapping_add(*to as usize));
            self.monitor.prefetch_msg(*to, msg, true);
        }
        if let Some(Event::Deliver { to, msg, .. }) = self.queue.peek_ahead(HOOK_AHEAD) {
            if let Some(node) = self.nodes.get(*to as usize) {
                node.prefetch(msg);
            }
            self.monitor.prefetch_msg(*to, msg, false);
        }
    }

    #[inline]
    fn handle(&mut self, ev: Event<P::Msg>) {
        match ev {
            Event::Deliver { from, to, msg } => {
                let id = self.seq;
                self.events += 1;
                self.network.arrived(from, to);
                if !self.alive[to as usize] {
                    self.drop_msg(id, from, to, &msg, DropReason::DstDown);
                } else if self.parts.blocked(from, to) {
                    self.drop_msg(id, from, to, &msg, DropReason::Partition);
                } else {
                    self.counts.delivered += 1;
                    self.tracer.deliver(self.now, self.seq, id, from, to, &msg);
                    let w = world!(self);
                    self.monitor.on_deliver(&w, from, to, &msg);
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
            Event::Submit => {
                self.events += 1;
                self.submit();
            }
            Event::WriteDone { node, gen } => self.write_done(node, gen),
            Event::Batch(_) => unreachable!("next_event drains batches"),
        }
    }

    /// Runs one callback of `node` and applies its commands in issue order.
    #[inline]
    fn dispatch(&mut self, node: NodeId, f: impl FnOnce(&mut P, &mut Ctx<'_, P>)) {
        let mut out = std::mem::take(&mut self.out);
        {
            let mut ctx = Ctx::new(
                &*self.cfg,
                node,
                self.now,
                self.n,
                &self.graph,
                &self.adversary,
                &mut self.streams,
                &mut out,
            );
            f(&mut self.nodes[node as usize], &mut ctx);
        }
        if self.storage.as_ref().is_some_and(|st| {
            !st.pending[node as usize].is_empty()
                || out.list.iter().any(|c| matches!(c, Command::Persist(_)))
        }) {
            self.apply_with_write(node, &mut out.list);
        } else if self.pipeline && out.list.len() > PLACE_AHEAD {
            self.apply_pipelined(node, &mut out.list);
        } else {
            for cmd in out.list.drain(..) {
                self.apply(node, cmd);
            }
        }
        self.out = out;
    }

    /// Applies `list` like [`Simulation::apply`] one by one, but first
    /// decides the network's fate of every send before the first broadcast
    /// (a fan-out's copies), so that the queue bucket each copy goes to can
    /// be loaded before it is pushed. The fates are drawn in the same order
    /// from the same stream: only sends draw from it or change the network's
    /// state (a broadcast's sends would come between, hence the stop), and
    /// nothing a send does besides (its id, its trace record, its push)
    /// reads that state.
    fn apply_pipelined(&mut self, node: NodeId, list: &mut Vec<Command<P>>) {
        let mut fates = std::mem::take(&mut self.fates);
        fates.clear();
        for cmd in list.iter() {
            match cmd {
                Command::Send(to, _) => {
                    let f = self.decide(node, *to);
                    if let Fate::Deliver { at, .. } = f {
                        self.queue.prefetch_push(at);
                    }
                    fates.push(f);
                }
                Command::Broadcast(_) => break,
                _ => {}
            }
        }
        let mut k = 0;
        for cmd in list.drain(..) {
            match cmd {
                Command::Send(to, msg) if k < fates.len() => {
                    if let Some(Fate::Deliver { at, .. }) = fates.get(k + PLACE_AHEAD) {
                        self.queue.prefetch_push_place(*at);
                    }
                    self.send_with(node, to, msg, fates[k]);
                    k += 1;
                }
                other => self.apply(node, other),
            }
        }
        self.fates = fates;
    }

    #[inline]
    fn apply(&mut self, node: NodeId, cmd: Command<P>) {
        match cmd {
            Command::Send(to, msg) => self.send(node, to, msg),
            Command::Broadcast(msg) => self.broadcast(node, msg),
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
            Command::Count(i, v) => {
                if let Some(c) = self.counters.get_mut(i) {
                    *c += v;
                }
            }
        }
    }

    fn broadcast(&mut self, node: NodeId, msg: P::Msg) {
        let k = self.graph.peers(node).len();
        for i in 0..k {
            let to = self.graph.peers(node).get(i);
            self.send(node, to, msg.clone());
        }
    }

    /// Applies the commands of a callback that persisted, or that ran while
    /// a write of its node was still in progress, with a storage delay.
    ///
    /// A callback that persisted starts a write of its last persisted state;
    /// what it made visible (its messages and notes) is held until the write
    /// completes. A callback that did not persist but ran while a write was
    /// in progress computed from state that is not durable yet (a vote not
    /// yet on disk, say), so what it made visible waits for that write too:
    /// a node's output leaves in the order it was produced, never ahead of
    /// a write it followed. Timers and counters apply now, in issue order. A
    /// crash before the write completes loses all of it: for the rest of the
    /// run, those transitions never happened.
    #[cold]
    fn apply_with_write(&mut self, node: NodeId, list: &mut Vec<Command<P>>) {
        let mut durable = None;
        let mut held = Vec::new();
        for cmd in list.drain(..) {
            match cmd {
                Command::Persist(d) => durable = Some(d),
                Command::Send(to, m) => held.push(Held::Msg(Some(to), m)),
                Command::Broadcast(m) => held.push(Held::Msg(None, m)),
                Command::Note(n) => held.push(Held::Note(n)),
                other => self.apply(node, other),
            }
        }
        let st = self.storage.as_mut().expect("storage is on");
        let Some(durable) = durable else {
            // No write of its own: the output follows the node's last write.
            if let Some(last) = st.pending[node as usize].back_mut() {
                last.held.append(&mut held);
            }
            return;
        };
        let delay = match st.cfg.delay_of(node) {
            Some(l) => l.sample(&mut st.rng),
            None => 0,
        };
        let i = node as usize;
        // Writes of one node complete in order.
        let done = self.now.saturating_add(delay).max(st.last_done[i]);
        st.last_done[i] = done;
        st.pending[i].push_back(Write { durable, held });
        let gen = st.gen[i];
        self.tracer.persist(self.now, self.seq, node, done);
        self.queue.push(done, Event::WriteDone { node, gen });
    }

    /// A storage write of `node` completes: its state becomes durable and
    /// the messages it held go out.
    fn write_done(&mut self, node: NodeId, gen: u32) {
        let st = self.storage.as_mut().expect("storage is on");
        let i = node as usize;
        if st.gen[i] != gen {
            return; // lost to a crash: not an event
        }
        let Some(w) = st.pending[i].pop_front() else {
            return;
        };
        self.events += 1;
        self.counts.writes += 1;
        if let Some(slot) = self.durable.get_mut(i) {
            *slot = w.durable;
        }
        self.tracer
            .write_done(self.now, self.seq, node, w.held.len() as u64);
        for h in w.held {
            match h {
                Held::Msg(Some(to), msg) => self.send(node, to, msg),
                Held::Msg(None, msg) => self.broadcast(node, msg),
                Held::Note(n) => self.note(node, n),
            }
        }
    }

    /// The next workload submission arrives: it goes to its target node, and
    /// the one after it is scheduled.
    fn submit(&mut self) {
        let leader = if self
            .workload
            .as_ref()
            .is_some_and(|w| w.cfg.target == Target::Leader)
        {
            self.current_leader()
        } else {
            None
        };
        let n = self.n;
        let w = self.workload.as_mut().expect("a workload is on");
        let index = w.next;
        w.next += 1;
        let client = (index % w.cfg.clients as u64) as u32;
        let node = match w.cfg.target {
            Target::Random => w.rng.below(n as u64) as NodeId,
            Target::RoundRobin => (index % n as u64) as NodeId,
            Target::Node(k) => k,
            Target::Leader => match leader {
                Some(l) => l,
                None => w.rng.below(n as u64) as NodeId,
            },
        };
        let draw = w.rng.next_u64();
        if let Some(at) = w.next_at(self.now) {
            self.queue.push(at, Event::Submit);
        }
        let lost = !self.alive[node as usize];
        self.tracer
            .submit(self.now, self.seq, node, index, client, lost);
        if lost {
            self.counts.submissions_lost += 1;
            return;
        }
        self.counts.submitted += 1;
        let sub = Submission {
            index,
            client,
            draw,
        };
        self.dispatch(node, |p, ctx| p.on_submit(ctx, sub));
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
        let fate = self.decide(from, to);
        self.send_with(from, to, msg, fate);
    }

    /// What the network does with a message `from -> to` sent now.
    #[inline]
    fn decide(&mut self, from: NodeId, to: NodeId) -> Fate {
        self.network
            .decide(self.now, from, to, &self.graph, &self.parts)
    }

    /// Sends `msg`, whose fate the network has decided.
    #[inline]
    fn send_with(&mut self, from: NodeId, to: NodeId, msg: P::Msg, fate: Fate) {
        let id = self.queue.next_seq();
        self.counts.sent += 1;
        self.by_kind[msg.kind()] += 1;
        self.tracer.send(self.now, self.seq, id, from, to, &msg);
        match fate {
            Fate::Drop(why) => {
                self.queue.take_seq();
                self.drop_msg(id, from, to, &msg, why);
            }
            Fate::Deliver { at, dup: None } => {
                self.queue.push(at, Event::Deliver { from, to, msg });
            }
            Fate::Deliver { at, dup: Some(at2) } => {
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
            }
        }
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
        if let Some(st) = &mut self.storage {
            let i = node as usize;
            st.gen[i] = st.gen[i].wrapping_add(1);
            st.last_done[i] = 0;
            let writes = st.pending[i].len() as u64;
            if writes > 0 {
                let held: usize = st.pending[i].iter().map(|w| w.held.len()).sum();
                st.pending[i].clear();
                self.counts.writes_lost += writes;
                self.tracer
                    .write_lost(self.now, self.seq, node, writes, held as u64);
            }
        }
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
        let mut init = Init::new(
            &*self.cfg,
            node,
            self.n,
            &self.graph,
            &self.adversary,
            &mut self.streams,
        );
        self.nodes[node as usize] = P::init(&mut init, &self.durable[node as usize]);
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
                    let d = self.processes.exp(self.faults.crash_mttr.0);
                    self.push_fault(self.now + d, FaultEv::ProcRecover(n));
                } else {
                    let d = self
                        .processes
                        .exp(self.faults.crash_mttf.map_or(0, |d| d.0));
                    self.push_fault(self.now + d, FaultEv::ProcCrash(n));
                }
            }
            FaultEv::ProcRecover(n) => {
                self.recover(n);
                if self.before_heal() {
                    let d = self
                        .processes
                        .exp(self.faults.crash_mttf.map_or(0, |d| d.0));
                    self.push_fault(self.now + d, FaultEv::ProcCrash(n));
                }
            }
            FaultEv::PartStart => {
                if !self.before_heal() {
                    return;
                }
                let minority = self.processes.minority(self.n);
                self.parts.split(self.n, std::slice::from_ref(&minority));
                let list: Vec<String> = minority.iter().map(|x| x.to_string()).collect();
                self.net_change(&format!("partition:{}|rest", list.join(",")));
                let d = self.processes.exp(self.faults.partition_mttr.0);
                self.push_fault(self.now + d, FaultEv::PartEnd);
            }
            FaultEv::PartEnd => {
                self.parts.heal();
                self.net_change("heal");
                if self.before_heal() {
                    let d = self
                        .processes
                        .exp(self.faults.partition_mtbf.map_or(0, |d| d.0));
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
                        + self.processes.jitter(lc.jitter.0);
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

/// Resolves the scenario's Byzantine marks: named nodes, then `count`
/// nodes drawn from the fault stream among the others; selective targets
/// not given are drawn (half of the other nodes); a split plan (which side
/// each node is told) is drawn when a node splits. Nothing is drawn when no
/// node is Byzantine.
fn resolve_adversary(setup: &Setup<'_>, processes: &mut FaultProcesses) -> Adversary {
    let a = setup.adversary;
    if !a.is_on() {
        return Adversary::none();
    }
    let n = setup.nodes;
    let mut specs: Vec<Option<&super::setup::BehaviourSpec>> = vec![None; n as usize];
    for s in &a.nodes {
        for &node in &s.nodes {
            specs[node as usize] = Some(&s.behaviour);
        }
    }
    if a.count > 0 {
        if let Some(b) = &a.behaviour {
            let picked = processes.pick(n, a.count, |x| specs[x as usize].is_none());
            for node in picked {
                specs[node as usize] = Some(b);
            }
        }
    }
    let mut marks: Vec<Option<Behaviour>> = Vec::with_capacity(n as usize);
    for node in 0..n {
        let b = specs[node as usize].map(|s| match s.kind {
            BehaviourKind::Silent => Behaviour::Silent,
            BehaviourKind::Equivocate => Behaviour::Equivocate,
            BehaviourKind::Flip => Behaviour::Flip,
            BehaviourKind::Forge => Behaviour::Forge,
            BehaviourKind::Delay => Behaviour::Delay,
            BehaviourKind::Split => Behaviour::Split,
            BehaviourKind::Selective if !s.targets.is_empty() => {
                Behaviour::Selective(s.targets.clone())
            }
            BehaviourKind::Selective => {
                Behaviour::Selective(processes.pick(n, n.saturating_sub(1) / 2, |x| x != node))
            }
        });
        marks.push(b);
    }
    let split = if marks.iter().any(|m| matches!(m, Some(Behaviour::Split))) {
        let mut side = vec![false; n as usize];
        let honest = processes.pick(n, n, |x| marks[x as usize].is_none());
        // `pick` sorts; shuffle again for the plan's halves.
        let mut order = honest;
        processes.rng().shuffle(&mut order);
        for &x in &order[order.len() / 2..] {
            side[x as usize] = true;
        }
        side
    } else {
        Vec::new()
    };
    Adversary::new(marks, split)
}

/// A behaviour as the trace writes it: `equivocate`, `selective=1,2`.
fn behaviour_text(b: &Behaviour) -> String {
    match b {
        Behaviour::Selective(t) => {
            let t: Vec<String> = t.iter().map(|x| x.to_string()).collect();
            format!("selective={}", t.join(","))
        }
        other => other.kind().name().to_string(),
    }
}

/// The size of a queued message event of message type `M`: what bounds the
/// memory of a run with many messages in flight (protocols pin theirs in tests).
pub fn queued_message_size<M>() -> usize {
    std::mem::size_of::<super::queue::Scheduled<Event<M>>>()
}

#[cfg(test)]
mod tests {
    use super::{queued_message_size, BatchItem, NodeId, Setup, Simulation, Tracer};
    use std::mem::size_of;

    /// Runs `text` on `seeds` with the fates of fan-outs decided ahead
    /// ([`Simulation::apply_pipelined`], forced on) and with every command
    /// applied one by one: the hashes and reports must be the same. Returns
    /// the messages sent and duplicated, to show the faults were on.
    fn both_ways<S: crate::protocols::Spec>(text: &str, seeds: std::ops::Range<u64>) -> (u64, u64) {
        use crate::scenario::Scenario;
        use std::sync::Arc;
        let base = Scenario::from_toml_str(text).expect("a valid scenario");
        let (mut sent, mut duplicated) = (0, 0);
        for seed in seeds {
            let sc = Scenario {
                seed,
                ..base.clone()
            };
            let cfg: Arc<_> = sc.protocol.arc::<S>().expect("a configuration of S");
            let run = |pipeline: bool| {
                let mut sim = Simulation::<S::Node, S::Monitor>::new(
                    &sc.setup(),
                    Arc::clone(&cfg),
                    Tracer::hash_only(),
                );
                sim.pipeline = pipeline;
                sim.run().0
            };
            let (ahead, plain) = (run(true), run(false));
            assert_eq!(ahead.hash, plain.hash, "{}, seed {seed}", S::NAME);
            assert_eq!(
                format!("{ahead:?}"),
                format!("{plain:?}"),
                "{}, seed {seed}",
                S::NAME
            );
            sent += ahead.counts.sent;
            duplicated += ahead.counts.duplicated;
        }
        (sent, duplicated)
    }

    /// Deciding a fan-out's fates ahead changes nothing a run does: with
    /// loss, duplication, link capacity, per-link FIFO, crashes, partitions
    /// and storage delays (the bus, whose brokers fan out), and with sends
    /// and broadcasts in one callback (a Byzantine Bracha sender; Raft).
    #[test]
    fn fates_decided_ahead_change_nothing() {
        let faults = r#"
[faults]
crash_mttf = "800ms"
crash_mttr = "100ms"
partition_mtbf = "700ms"
partition_mttr = "200ms"
heal_at = "3s"
"#;
        for (g, net) in [
            ("at-most-once", ""),
            ("at-least-once", "capacity = 6\nfifo = true"),
            (
                "exactly-once",
                "fifo = true\n[storage]\ndelay = \"1ms..5ms\"",
            ),
        ] {
            let text = format!(
                r#"
nodes = 24
time_max = "20s"
[net]
latency = "1ms..20ms"
loss_ratio = 0.1
dup_ratio = 0.1
{net}
{faults}
[workload]
arrivals = "poisson:rate=200"
count = 300
[protocol]
name = "bus"
brokers = 2
topics = 3
subscribers_per_topic = 12
guarantee = "{g}"
mix = "publish=6,request=1,direct=1,broadcast=1,churn=1"
"#
            );
            let (sent, duplicated) = both_ways::<crate::protocols::bus::BusSpec>(&text, 0..6);
            assert!(
                sent > 6000 && duplicated > 0,
                "{g}: {sent} sent, {duplicated} duplicated"
            );
        }
        for b in ["equivocate", "split"] {
            let text = format!(
                r#"
nodes = 7
time_max = "15s"
[net]
latency = "1ms..5ms"
loss_ratio = 0.1
dup_ratio = 0.05
{faults}
[adversary]
nodes = ["0:{b}"]
[protocol]
name = "bracha"
"#
            );
            let (sent, duplicated) = both_ways::<crate::protocols::bracha::BrachaSpec>(&text, 0..6);
            assert!(
                sent > 500 && duplicated > 0,
                "{b}: {sent} sent, {duplicated} duplicated"
            );
        }
        let raft = format!(
            "nodes = 5\ntime_max = \"5s\"\n[net]\nlatency = \"1ms..5ms\"\nloss_ratio = 0.1\ndup_ratio = 0.05\n{faults}\n[protocol]\nname = \"raft\"\n"
        );
        let (sent, duplicated) = both_ways::<crate::protocols::raft::RaftSpec>(&raft, 0..6);
        assert!(
            sent > 500 && duplicated > 0,
            "raft: {sent} sent, {duplicated} duplicated"
        );
    }

    /// A token passer whose callbacks mix sends and broadcasts: a send,
    /// a broadcast, then two more sends, of the token one hop further.
    #[derive(Clone, Copy, Debug, Hash, serde::Serialize, agentsim_macros::Message)]
    struct Token(u8);

    struct Mixer;

    impl crate::node::Protocol for Mixer {
        type Config = ();
        type Msg = Token;
        type Timer = crate::node::NoTimer;
        type Note = crate::node::NoNote;
        type Durable = ();
        fn init(_: &mut crate::node::Init<'_, Self>, _: &()) -> Self {
            Mixer
        }
        fn on_start(&mut self, ctx: &mut crate::node::Ctx<'_, Self>) {
            if ctx.id() == 0 {
                ctx.send(1, Token(0));
            }
        }
        fn on_message(&mut self, ctx: &mut crate::node::Ctx<'_, Self>, _: NodeId, m: Token) {
            if m.0 >= 4 {
                return;
            }
            let n = ctx.nodes() as u64;
            let next = Token(m.0 + 1);
            let to = ctx.rng().below(n) as NodeId;
            ctx.send(to, next);
            ctx.broadcast(next);
            for _ in 0..2 {
                let to = ctx.rng().below(n) as NodeId;
                ctx.send(to, next);
            }
        }
        fn on_timer(&mut self, _: &mut crate::node::Ctx<'_, Self>, t: crate::node::NoTimer) {
            match t {}
        }
    }

    /// Sends after a broadcast in one callback keep their fates' order: the
    /// broadcast's sends draw first, as when applied one by one.
    #[test]
    fn sends_after_a_broadcast_draw_after_it() {
        use crate::engine::setup::{AdversaryConfig, StorageConfig, WorkloadConfig};
        use crate::net::faults::FaultConfig;
        use crate::net::NetConfig;
        use crate::observe::NoMonitor;
        use std::sync::Arc;
        let net = NetConfig {
            latency: "1ms..9ms".parse().expect("valid latency"),
            loss_ratio: 0.1,
            dup_ratio: 0.1,
            fifo: true,
            ..Default::default()
        };
        for seed in 0..4 {
            let setup = Setup {
                seed,
                nodes: 6,
                time_max: u64::MAX / 2,
                events_max: 1_000_000,
                stop_when_done: false,
                liveness_bound: crate::time::SEC,
                net: &net,
                faults: &FaultConfig::default(),
                workload: &WorkloadConfig::default(),
                storage: &StorageConfig::default(),
                adversary: &AdversaryConfig::default(),
            };
            let run = |pipeline: bool| {
                let mut sim =
                    Simulation::<Mixer, NoMonitor>::new(&setup, Arc::new(()), Tracer::hash_only());
                sim.pipeline = pipeline;
                sim.run().0
            };
            let (ahead, plain) = (run(true), run(false));
            assert!(ahead.counts.sent > 1000 && ahead.counts.duplicated > 0);
            assert_eq!(ahead.hash, plain.hash, "seed {seed}");
            assert_eq!(format!("{ahead:?}"), format!("{plain:?}"), "seed {seed}");
        }
    }

    /// Memory per pending event is what bounds a million-node run: the
    /// queue's own cost per message is 32 bytes (a payload-free message), a
    /// batched timer 12. Protocols pin their messages' sizes in their tests.
    #[test]
    fn pending_event_sizes() {
        assert_eq!(queued_message_size::<()>(), 32);
        assert_eq!(size_of::<BatchItem>(), 12);
    }
}
