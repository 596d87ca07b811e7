//! The engine: virtual time, the event queue, seeded streams and the run loop.
//!
//! ```text
//!   EventQueue (time, seq) ──pop──► dispatch ──► P::on_*(node, ctx)
//!          ▲                                        │ commands (send, timer, note, persist)
//!          └────────── Network (links, faults) ◄────┘
//!   observers: trace + hash, property monitor, counters
//! ```
//!
//! Protocols are sans-IO state machines ([`Protocol`]). A node never touches
//! time, the network or a global RNG: it reacts to `on_start`, `on_message` and
//! `on_timer`, and acts only through its [`Ctx`], which records commands; the
//! engine applies them, in the order they were issued, after the callback
//! returns. A protocol step can therefore be tested by feeding one event and
//! looking at the commands it emitted ([`Ctx::detached`]).
//!
//! # Message ordering guarantees
//!
//! Events run in `(time, seq)` order, where `seq` is a global counter
//! incremented at every insertion into the queue: events at the same instant
//! run in the order they were scheduled, never by payload, node id or hash.
//! With per-link FIFO off, messages on one link reorder through their random
//! delays; with FIFO on, a message is never delivered before one sent earlier
//! on the same directed link (equal delivery times keep send order by `seq`).
//!
//! # Crash semantics
//!
//! A crash drops the node's volatile state, invalidates its pending timers and
//! drops every message that arrives while it is down (trace reason
//! `dst_down`). Recovery rebuilds the node with [`Protocol::init`] from the last
//! value it passed to [`Ctx::persist`] and calls `on_start`.

pub mod queue;
pub mod sim;

use crate::net::topology::{Graph, NodeId, Peers};
use crate::rng::{NodeRng, NodeStreams};
use crate::time::SimTime;
use serde::Serialize;
use std::fmt::Debug;
use std::hash::Hash;

pub use sim::{RunReport, Simulation, StopReason, Undecided};

/// A protocol message: a noun from the paper (`RequestVote`, `Prepare`, ...).
pub trait Message: Clone + Debug + Hash + Serialize {
    /// Names of the message kinds, indexed by [`Message::kind`].
    const KINDS: &'static [&'static str];
    /// Index of this message's kind in [`Message::KINDS`].
    fn kind(&self) -> usize;
}

/// A timer tag. Each node has one slot per tag: setting a tag re-arms it.
pub trait TimerTag: Copy + Debug + Eq {
    /// Names of the tags, indexed by [`TimerTag::index`].
    const NAMES: &'static [&'static str];
    fn index(self) -> usize;
    fn from_index(i: usize) -> Self;
}

/// A protocol fact for the trace, the checkers and the metrics
/// ("became leader in term 7", "decided v").
pub trait Note: Clone + Debug + Hash + Serialize {
    /// `Some(true)` if this note says the node now leads, `Some(false)` if it says
    /// it stopped leading, `None` otherwise. Used by "crash the current leader".
    fn leadership(&self) -> Option<bool> {
        None
    }
}

/// How a property is judged (stateright's classification).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PropertyKind {
    /// Safety: must hold at every instant of the run.
    Always,
    /// Liveness: must hold within a bound once faults have healed.
    Eventually,
    /// Reachability: a run where it never happens did not exercise the case.
    Sometimes,
}

/// A named property, named for humans; the name appears verbatim in reports.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Property {
    pub name: &'static str,
    pub kind: PropertyKind,
    pub description: &'static str,
}

/// A sans-IO protocol node.
pub trait Protocol: Sized + 'static {
    /// Protocol parameters (election timeouts, fanout, ...), validated before a run.
    type Config: Clone + Debug;
    type Msg: Message;
    type Timer: TimerTag;
    type Note: Note;
    /// The state that survives a crash.
    type Durable: Clone + Debug + Default + Hash;

    /// Builds node `id` at first boot (`durable` is the default) or on recovery
    /// (`durable` is what it last persisted).
    fn init(id: NodeId, nodes: u32, cfg: &Self::Config, durable: &Self::Durable) -> Self;
    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>);
    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Self::Msg);
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Self::Timer);
}

/// What a node asked for during one callback, in issue order.
pub enum Command<P: Protocol> {
    Send(NodeId, P::Msg),
    Broadcast(P::Msg),
    SetTimer(P::Timer, u64),
    CancelTimer(P::Timer),
    Persist(P::Durable),
    Note(P::Note),
}

impl<P: Protocol> Debug for Command<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Command::Send(to, m) => write!(f, "Send({to}, {m:?})"),
            Command::Broadcast(m) => write!(f, "Broadcast({m:?})"),
            Command::SetTimer(t, d) => write!(f, "SetTimer({t:?}, {d})"),
            Command::CancelTimer(t) => write!(f, "CancelTimer({t:?})"),
            Command::Persist(d) => write!(f, "Persist({d:?})"),
            Command::Note(n) => write!(f, "Note({n:?})"),
        }
    }
}

impl<P: Protocol> PartialEq for Command<P>
where
    P::Msg: PartialEq,
    P::Note: PartialEq,
    P::Durable: PartialEq,
{
    fn eq(&self, other: &Self) -> bool {
        use Command::*;
        match (self, other) {
            (Send(a, m), Send(b, n)) => a == b && m == n,
            (Broadcast(m), Broadcast(n)) => m == n,
            (SetTimer(a, x), SetTimer(b, y)) => a == b && x == y,
            (CancelTimer(a), CancelTimer(b)) => a == b,
            (Persist(a), Persist(b)) => a == b,
            (Note(a), Note(b)) => a == b,
            _ => false,
        }
    }
}

/// The commands of one callback, reused across callbacks (no allocation per event).
pub struct Commands<P: Protocol> {
    pub(crate) list: Vec<Command<P>>,
}

impl<P: Protocol> Default for Commands<P> {
    fn default() -> Self {
        Commands { list: Vec::new() }
    }
}

impl<P: Protocol> Commands<P> {
    /// The recorded commands, for unit tests of a single protocol step.
    pub fn as_slice(&self) -> &[Command<P>] {
        &self.list
    }
    pub fn clear(&mut self) {
        self.list.clear();
    }
}

enum RngSource<'a> {
    /// The engine's per-node generators.
    Node(&'a mut NodeStreams),
    /// A generator owned by the caller (unit tests).
    Owned(&'a mut NodeRng),
}

/// A node's only window on the world during a callback.
pub struct Ctx<'a, P: Protocol> {
    config: &'a P::Config,
    id: NodeId,
    now: SimTime,
    nodes: u32,
    graph: &'a Graph,
    rng: RngSource<'a>,
    out: &'a mut Commands<P>,
}

impl<'a, P: Protocol> Ctx<'a, P> {
    pub(crate) fn new(
        config: &'a P::Config,
        id: NodeId,
        now: SimTime,
        nodes: u32,
        graph: &'a Graph,
        streams: &'a mut NodeStreams,
        out: &'a mut Commands<P>,
    ) -> Self {
        Ctx {
            config,
            id,
            now,
            nodes,
            graph,
            rng: RngSource::Node(streams),
            out,
        }
    }

    /// A context outside any simulation, for unit-testing one protocol step.
    pub fn detached(
        config: &'a P::Config,
        id: NodeId,
        now: SimTime,
        nodes: u32,
        graph: &'a Graph,
        rng: &'a mut NodeRng,
        out: &'a mut Commands<P>,
    ) -> Self {
        Ctx {
            config,
            id,
            now,
            nodes,
            graph,
            rng: RngSource::Owned(rng),
            out,
        }
    }

    /// The protocol's configuration (shared by every node: a node need not
    /// keep a copy).
    #[inline]
    pub fn config(&self) -> &'a P::Config {
        self.config
    }
    /// This node's id.
    #[inline]
    pub fn id(&self) -> NodeId {
        self.id
    }
    /// Current virtual time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
    }
    /// Number of nodes in the system.
    #[inline]
    pub fn nodes(&self) -> u32 {
        self.nodes
    }
    /// This node's neighbours in the topology (every other node on the complete graph).
    #[inline]
    pub fn peers(&self) -> Peers<'a> {
        self.graph.peers(self.id)
    }
    /// Sends `msg` to `to`, which must be a neighbour (otherwise it is dropped as
    /// `no_route`) or this node itself (loopback, through the link model like any message).
    #[inline]
    pub fn send(&mut self, to: NodeId, msg: P::Msg) {
        self.out.list.push(Command::Send(to, msg));
    }
    /// Sends `msg` to every neighbour.
    #[inline]
    pub fn broadcast(&mut self, msg: P::Msg) {
        self.out.list.push(Command::Broadcast(msg));
    }
    /// Arms `tag` to fire after `after_ns` of this node's local clock; re-arms it if already set.
    #[inline]
    pub fn set_timer(&mut self, tag: P::Timer, after_ns: u64) {
        self.out.list.push(Command::SetTimer(tag, after_ns));
    }
    /// Disarms `tag` (no effect if not set).
    #[inline]
    pub fn cancel_timer(&mut self, tag: P::Timer) {
        self.out.list.push(Command::CancelTimer(tag));
    }
    /// Stores the state that survives a crash.
    #[inline]
    pub fn persist(&mut self, durable: P::Durable) {
        self.out.list.push(Command::Persist(durable));
    }
    /// Records a protocol fact for the trace, the checkers and the metrics.
    #[inline]
    pub fn note(&mut self, note: P::Note) {
        self.out.list.push(Command::Note(note));
    }
    /// This node's own random stream.
    #[inline]
    pub fn rng(&mut self) -> &mut NodeRng {
        match &mut self.rng {
            RngSource::Node(streams) => streams.get(self.id),
            RngSource::Owned(r) => r,
        }
    }
}

/// A hint to the CPU to start loading `p`'s cache line; never dereferences it.
#[inline(always)]
pub fn prefetch<T>(p: *const T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: prefetching is only a hint; it never faults, even on an
    // address outside any allocation, and reads nothing.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p as *const i8);
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}
