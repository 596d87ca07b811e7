//! The node API: what a protocol is made of, and its only window on the world.
//!
//! This is the bottom layer of the crate: it names no protocol, no engine and
//! no network. A protocol node is a sans-IO state machine ([`Protocol`]): it
//! never touches time, the network or a global random generator. It reacts to
//! `on_start`, `on_message`, `on_timer` (and `on_submit` when a workload is
//! on) and acts only through its [`Ctx`], which records [`Command`]s; the
//! engine applies them, in issue order, after the callback returns. A
//! protocol step can therefore be tested by feeding one event and looking at
//! the commands it emitted ([`testkit`]).
//!
//! # Crash semantics
//!
//! A crash drops the node's volatile state, its pending timers and every
//! message that arrives while it is down. Recovery rebuilds the node with
//! [`Protocol::init`] from the last value it passed to [`Ctx::persist`] (once
//! that write completed, when a storage delay is modelled) and calls
//! `on_start`.
//!
//! # Deriving the lists
//!
//! Message kinds and timer names come from the types:
//!
//! ```
//! use agentsim::prelude::*;
//!
//! #[derive(Clone, Debug, Hash, serde::Serialize, Message)]
//! enum Msg { Ping { n: u32 }, Pong { n: u32 } }
//!
//! #[derive(Clone, Copy, Debug, PartialEq, Eq, TimerTag)]
//! enum Timer { Retry, CheckQuorum }
//!
//! assert_eq!(Msg::KINDS, &["Ping", "Pong"]);
//! assert_eq!(Msg::Pong { n: 1 }.kind(), 1);
//! assert_eq!(Timer::NAMES, &["retry", "check_quorum"]);
//! ```

mod adversary;
mod peers;
pub mod testkit;

pub use adversary::{Adversary, Behaviour, BehaviourKind};
pub use peers::{Graph, NodeId, Peers};

use crate::hash::RunHasher;
use crate::rng::{NodeRng, NodeStreams};
use crate::time::SimTime;
use serde::Serialize;
use std::fmt::Debug;
use std::hash::Hash;

/// A protocol message: a noun from the paper (`RequestVote`, `Prepare`, ...).
///
/// Derive it (`#[derive(Message)]`): the kinds are the enum's variants in
/// declaration order.
pub trait Message: Clone + Debug + Serialize + 'static {
    /// Names of the message kinds, indexed by [`Message::kind`].
    const KINDS: &'static [&'static str];
    /// Index of this message's kind in [`Message::KINDS`].
    fn kind(&self) -> usize;
    /// Feeds the message's content into the run hash. The derive uses
    /// `std::hash::Hash`, or the serde form with `#[message(hash = "serde")]`
    /// ([`crate::hash::hash_serialized`]); a foreign type may feed its own
    /// encoding (`h.write(&bytes)`, see `std::hash::Hasher`).
    fn hash_into(&self, h: &mut RunHasher);
}

/// A timer tag. Each node has one slot per tag: setting a tag re-arms it.
///
/// Derive it (`#[derive(TimerTag)]`) on an enum of unit variants: the names
/// are the variants' in snake_case.
pub trait TimerTag: Copy + Debug + Eq + 'static {
    /// Names of the tags, indexed by [`TimerTag::index`].
    const NAMES: &'static [&'static str];
    /// This tag's index in [`TimerTag::NAMES`].
    fn index(self) -> usize;
    /// The tag at `i` (`i < NAMES.len()`).
    fn from_index(i: usize) -> Self;
}

/// A value a node decided, as the trace and generic tools see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Decision {
    /// Which decision: a log slot, a consensus instance, a task (0 when the
    /// protocol decides once).
    pub instance: u64,
    /// The value, as text for humans and tools.
    pub value: String,
}

/// A protocol fact for the trace, the checkers and the metrics
/// ("became leader in term 7", "decided v").
///
/// The methods below give generic tools (the leader timeline, space-time
/// diagrams, "crash the current leader") the facts they need without
/// knowing the protocol. They go into the trace's `note` records as the
/// fields `leads`, `believes`, `decided` and `tag`; they are derived from the note, so
/// they do not enter the run hash a second time.
pub trait Note: Clone + Debug + Hash + Serialize + 'static {
    /// `Some(true)` if this note says the node now leads, `Some(false)` if it
    /// says it stopped leading, `None` otherwise.
    fn leadership(&self) -> Option<bool> {
        None
    }
    /// Whom the node now believes leads, if the note says: `Some(Some(n))`
    /// (node `n`), `Some(None)` (no leader known). A note whose
    /// [`Note::leadership`] is `Some(true)` need not say it believes itself.
    fn believes(&self) -> Option<Option<NodeId>> {
        None
    }
    /// The value this note says the node decided, if it says so.
    fn decided(&self) -> Option<Decision> {
        None
    }
    /// A short protocol-defined label of the fact (`"candidate"`,
    /// `"preempted"`), for diagrams and filters.
    fn tag(&self) -> Option<&'static str> {
        None
    }
}

/// A metric declared once, with its unit and exact definition (shown by
/// `agentsim list`, validated in experiment files).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct MetricDef {
    /// The column name (`first_leader_ms`).
    pub name: &'static str,
    /// The unit (`ms`, `count`, `ratio`, `messages/node`, ...).
    pub unit: &'static str,
    /// What exactly it measures, in one line.
    pub definition: &'static str,
}

/// A client submission from the scenario's workload (see the engine's
/// `WorkloadConfig`): the `index`-th arrival, from `client`, at the node the
/// workload chose.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Submission {
    /// 0, 1, 2, ... in arrival order across the run.
    pub index: u64,
    /// The client it comes from (`0..workload.clients`).
    pub client: u32,
    /// A random word from the workload stream: what the protocol draws the
    /// submission's content from (task size, topic, ...) through
    /// [`Submission::rng`], so that content never shifts a node's stream.
    pub draw: u64,
}

impl Submission {
    /// A generator for this submission's content, from its workload draw.
    pub fn rng(&self) -> NodeRng {
        NodeRng::from_words(self.draw, self.index)
    }
}

/// A sans-IO protocol node.
pub trait Protocol: Sized + 'static {
    /// Protocol parameters (election timeouts, fanout, ...), validated before a run.
    type Config: Clone + Debug + Send + Sync + 'static;
    /// The messages nodes exchange.
    type Msg: Message;
    /// The timers a node arms.
    type Timer: TimerTag;
    /// The facts a node reports.
    type Note: Note;
    /// The state that survives a crash.
    type Durable: Clone + Debug + Default;

    /// The protocol's own counters, reported as metrics summed over nodes
    /// (`ctx.count(i, by)` adds to the `i`-th). Empty by default.
    const COUNTERS: &'static [MetricDef] = &[];
    /// The Byzantine behaviours this protocol implements (the scenario may
    /// mark nodes with these only). Empty by default: `--byzantine` is refused.
    const BEHAVIOURS: &'static [BehaviourKind] = &[];
    /// Whether the engine calls [`Protocol::prefetch`] (off by default: the
    /// look-ahead costs a few instructions per event, worth it only where
    /// handling a message misses the cache).
    const PREFETCH: bool = false;

    /// Builds a node at first boot (`durable` is the default) or on recovery
    /// (`durable` is what it last persisted).
    fn init(ctx: &mut Init<'_, Self>, durable: &Self::Durable) -> Self;
    /// The node boots (time 0) or recovers.
    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>);
    /// A message from `from` arrived.
    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Self::Msg);
    /// Timer `timer` fired.
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: Self::Timer);
    /// A workload submission arrived at this node (only when the scenario
    /// has a workload). Ignored by default.
    fn on_submit(&mut self, _ctx: &mut Ctx<'_, Self>, _sub: Submission) {}
    /// A hint, called only with [`Protocol::PREFETCH`] set: `msg` will reach
    /// this node a few events from now, so what handling it touches may be
    /// worth loading into cache ([`crate::engine::prefetch`]). The engine
    /// loaded the first cache line of `self` some events earlier: read only
    /// that line (anything else may miss, and the point is not to wait), and
    /// change nothing (a hint never alters a run).
    #[inline]
    fn prefetch(&self, _msg: &Self::Msg) {}
}

/// What a node asked for during one callback, in issue order.
pub enum Command<P: Protocol> {
    /// Send a message to one node.
    Send(NodeId, P::Msg),
    /// Send a message to every neighbour.
    Broadcast(P::Msg),
    /// Arm (or re-arm) a timer to fire after this many ns of local time.
    SetTimer(P::Timer, u64),
    /// Disarm a timer.
    CancelTimer(P::Timer),
    /// Write the durable state.
    Persist(P::Durable),
    /// Report a fact.
    Note(P::Note),
    /// Add to the protocol's counter `.0` ([`Protocol::COUNTERS`]).
    Count(usize, f64),
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
            Command::Count(i, v) => write!(f, "Count({i}, {v})"),
        }
    }
}

impl<P: Protocol> Clone for Command<P> {
    fn clone(&self) -> Self {
        match self {
            Command::Send(to, m) => Command::Send(*to, m.clone()),
            Command::Broadcast(m) => Command::Broadcast(m.clone()),
            Command::SetTimer(t, d) => Command::SetTimer(*t, *d),
            Command::CancelTimer(t) => Command::CancelTimer(*t),
            Command::Persist(d) => Command::Persist(d.clone()),
            Command::Note(n) => Command::Note(n.clone()),
            Command::Count(i, v) => Command::Count(*i, *v),
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
            (Count(a, x), Count(b, y)) => a == b && x == y,
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
    /// Forgets the recorded commands.
    pub fn clear(&mut self) {
        self.list.clear();
    }
    /// Takes the recorded commands out.
    pub fn take(&mut self) -> Vec<Command<P>> {
        std::mem::take(&mut self.list)
    }
}

/// Where a context draws random numbers from.
enum RngSource<'a> {
    /// The engine's per-node generators.
    Node(&'a mut NodeStreams),
    /// A generator owned by the caller (unit tests).
    Owned(&'a mut NodeRng),
}

impl RngSource<'_> {
    #[inline]
    fn get(&mut self, id: NodeId) -> &mut NodeRng {
        match self {
            RngSource::Node(streams) => streams.get(id),
            RngSource::Owned(r) => r,
        }
    }
}

/// What a node may read of the run: the same for [`Init`] and [`Ctx`].
struct View<'a, P: Protocol> {
    config: &'a P::Config,
    id: NodeId,
    nodes: u32,
    graph: &'a Graph,
    adversary: &'a Adversary,
    rng: RngSource<'a>,
}

/// The context of [`Protocol::init`]: who the node is, the configuration,
/// and its own random stream (so a node built with randomness, such as a
/// hosted library that draws at construction, stays reproducible).
pub struct Init<'a, P: Protocol> {
    v: View<'a, P>,
}

/// A node's only window on the world during a callback.
pub struct Ctx<'a, P: Protocol> {
    v: View<'a, P>,
    now: SimTime,
    out: &'a mut Commands<P>,
}

/// The empty adversary (no Byzantine node), for contexts outside a run.
pub static NO_ADVERSARY: Adversary = Adversary::none();

macro_rules! view_accessors {
    () => {
        /// The protocol's configuration (shared by every node: a node need not
        /// keep a copy).
        #[inline]
        pub fn config(&self) -> &'a P::Config {
            self.v.config
        }
        /// This node's id.
        #[inline]
        pub fn id(&self) -> NodeId {
            self.v.id
        }
        /// Number of nodes in the system.
        #[inline]
        pub fn nodes(&self) -> u32 {
            self.v.nodes
        }
        /// This node's neighbours in the topology (every other node on the complete graph).
        #[inline]
        pub fn peers(&self) -> Peers<'a> {
            self.v.graph.peers(self.v.id)
        }
        /// This node's own random stream.
        #[inline]
        pub fn rng(&mut self) -> &mut NodeRng {
            self.v.rng.get(self.v.id)
        }
        /// Which nodes the scenario marks Byzantine, and how (empty in most runs).
        #[inline]
        pub fn adversary(&self) -> &'a Adversary {
            self.v.adversary
        }
        /// This node's Byzantine behaviour, if the scenario marks it.
        #[inline]
        pub fn behaviour(&self) -> Option<&'a Behaviour> {
            self.v.adversary.behaviour(self.v.id)
        }
    };
}

impl<'a, P: Protocol> Init<'a, P> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        config: &'a P::Config,
        id: NodeId,
        nodes: u32,
        graph: &'a Graph,
        adversary: &'a Adversary,
        streams: &'a mut NodeStreams,
    ) -> Self {
        Init {
            v: View {
                config,
                id,
                nodes,
                graph,
                adversary,
                rng: RngSource::Node(streams),
            },
        }
    }

    /// A context outside any simulation, for unit tests.
    pub fn detached(
        config: &'a P::Config,
        id: NodeId,
        nodes: u32,
        graph: &'a Graph,
        rng: &'a mut NodeRng,
    ) -> Self {
        Init {
            v: View {
                config,
                id,
                nodes,
                graph,
                adversary: &NO_ADVERSARY,
                rng: RngSource::Owned(rng),
            },
        }
    }

    /// The same context with another adversary view (unit tests of Byzantine nodes).
    pub fn with_adversary(mut self, adversary: &'a Adversary) -> Self {
        self.v.adversary = adversary;
        self
    }

    view_accessors!();
}

impl<'a, P: Protocol> Ctx<'a, P> {
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub(crate) fn new(
        config: &'a P::Config,
        id: NodeId,
        now: SimTime,
        nodes: u32,
        graph: &'a Graph,
        adversary: &'a Adversary,
        streams: &'a mut NodeStreams,
        out: &'a mut Commands<P>,
    ) -> Self {
        Ctx {
            v: View {
                config,
                id,
                nodes,
                graph,
                adversary,
                rng: RngSource::Node(streams),
            },
            now,
            out,
        }
    }

    /// A context outside any simulation, for unit-testing one protocol step
    /// (see [`testkit`] for a harness around it).
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
            v: View {
                config,
                id,
                nodes,
                graph,
                adversary: &NO_ADVERSARY,
                rng: RngSource::Owned(rng),
            },
            now,
            out,
        }
    }

    /// The same context with another adversary view (unit tests of Byzantine nodes).
    pub fn with_adversary(mut self, adversary: &'a Adversary) -> Self {
        self.v.adversary = adversary;
        self
    }

    view_accessors!();

    /// Current virtual time.
    #[inline]
    pub fn now(&self) -> SimTime {
        self.now
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
    /// Stores the state that survives a crash. With a storage delay in the
    /// scenario the write takes time: the messages this callback sends and
    /// the notes it reports are held until it completes, and a crash before
    /// then loses them with the write.
    #[inline]
    pub fn persist(&mut self, durable: P::Durable) {
        self.out.list.push(Command::Persist(durable));
    }
    /// Records a protocol fact for the trace, the checkers and the metrics.
    #[inline]
    pub fn note(&mut self, note: P::Note) {
        self.out.list.push(Command::Note(note));
    }
    /// Adds `by` to the protocol's counter `counter` (an index into
    /// [`Protocol::COUNTERS`]), reported as a metric at the end of the run.
    #[inline]
    pub fn count(&mut self, counter: usize, by: f64) {
        self.out.list.push(Command::Count(counter, by));
    }
}

/// A timer type for protocols without timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoTimer {}

impl TimerTag for NoTimer {
    const NAMES: &'static [&'static str] = &[];
    fn index(self) -> usize {
        match self {}
    }
    fn from_index(i: usize) -> Self {
        unreachable!("no timer has index {i}")
    }
}

/// A note type for protocols that report no facts.
#[derive(Clone, Copy, Debug, Hash, Serialize)]
pub enum NoNote {}

impl Note for NoNote {}
