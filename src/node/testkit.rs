//! A step-test kit shared by every protocol: feed one event to one node and
//! look at the exact commands it issued.
//!
//! ```
//! use agentsim::prelude::*;
//! use agentsim::node::testkit::Harness;
//!
//! #[derive(Clone, Debug, Hash, serde::Serialize, Message)]
//! struct Ping(u32);
//!
//! struct Echo;
//! impl Protocol for Echo {
//!     type Config = ();
//!     type Msg = Ping;
//!     type Timer = NoTimer;
//!     type Note = NoNote;
//!     type Durable = ();
//!     fn init(_: &mut Init<'_, Self>, _: &()) -> Self { Echo }
//!     fn on_start(&mut self, _: &mut Ctx<'_, Self>) {}
//!     fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, m: Ping) {
//!         ctx.send(from, Ping(m.0 + 1));
//!     }
//!     fn on_timer(&mut self, _: &mut Ctx<'_, Self>, t: NoTimer) { match t {} }
//! }
//!
//! let mut h = Harness::<Echo>::new((), 3);
//! let mut n = h.boot(1);
//! let step = h.deliver(&mut n, 1, 0, 2, Ping(7));
//! assert_eq!(step.sends().len(), 1);
//! assert_eq!(step.sends()[0].0, Some(2));
//! ```

use super::{
    Adversary, Command, Commands, Ctx, Graph, Init, NodeId, Protocol, Submission, NO_ADVERSARY,
};
use crate::rng::NodeRng;
use crate::time::SimTime;

/// Drives single steps of nodes of protocol `P` outside any simulation.
///
/// Every node it drives draws from one generator ([`Harness::with_rng`]),
/// seeded for node 0 of seed 0 by default.
pub struct Harness<P: Protocol> {
    /// The configuration the contexts hand out.
    pub cfg: P::Config,
    /// The topology (complete by default).
    pub graph: Graph,
    /// Number of nodes.
    pub nodes: u32,
    /// The generator every step draws from.
    pub rng: NodeRng,
    adversary: Option<Adversary>,
    out: Commands<P>,
}

impl<P: Protocol> Harness<P> {
    /// A harness for `nodes` nodes on the complete graph.
    pub fn new(cfg: P::Config, nodes: u32) -> Self {
        Harness {
            cfg,
            graph: Graph::Complete { n: nodes },
            nodes,
            rng: NodeRng::for_node(0, 0),
            adversary: None,
            out: Commands::default(),
        }
    }

    /// The same harness drawing from `rng`.
    pub fn with_rng(mut self, rng: NodeRng) -> Self {
        self.rng = rng;
        self
    }

    /// The same harness on another topology.
    pub fn with_graph(mut self, graph: Graph) -> Self {
        self.graph = graph;
        self
    }

    /// The same harness with Byzantine marks.
    pub fn with_adversary(mut self, adversary: Adversary) -> Self {
        self.adversary = Some(adversary);
        self
    }

    /// Node `id` at first boot (default durable state). `on_start` is not called.
    pub fn boot(&mut self, id: NodeId) -> P {
        self.recover(id, &P::Durable::default())
    }

    /// Node `id` rebuilt from `durable`. `on_start` is not called.
    pub fn recover(&mut self, id: NodeId, durable: &P::Durable) -> P {
        let adversary = self.adversary.as_ref().unwrap_or(&NO_ADVERSARY);
        let mut init = Init::detached(&self.cfg, id, self.nodes, &self.graph, &mut self.rng)
            .with_adversary(adversary);
        P::init(&mut init, durable)
    }

    /// Runs `f` on `node` as node `id` at time `now`; returns its commands.
    pub fn step(
        &mut self,
        node: &mut P,
        id: NodeId,
        now: SimTime,
        f: impl FnOnce(&mut P, &mut Ctx<'_, P>),
    ) -> Step<P> {
        self.out.clear();
        let adversary = self.adversary.as_ref().unwrap_or(&NO_ADVERSARY);
        let mut ctx = Ctx::detached(
            &self.cfg,
            id,
            now,
            self.nodes,
            &self.graph,
            &mut self.rng,
            &mut self.out,
        )
        .with_adversary(adversary);
        f(node, &mut ctx);
        Step(self.out.take())
    }

    /// `on_start` of `node` (id `id`) at `now`.
    pub fn start(&mut self, node: &mut P, id: NodeId, now: SimTime) -> Step<P> {
        self.step(node, id, now, |n, c| n.on_start(c))
    }

    /// `on_message` of `node` (id `id`) at `now`: `msg` from `from`.
    pub fn deliver(
        &mut self,
        node: &mut P,
        id: NodeId,
        now: SimTime,
        from: NodeId,
        msg: P::Msg,
    ) -> Step<P> {
        self.step(node, id, now, |n, c| n.on_message(c, from, msg))
    }

    /// `on_timer` of `node` (id `id`) at `now`.
    pub fn fire(&mut self, node: &mut P, id: NodeId, now: SimTime, timer: P::Timer) -> Step<P> {
        self.step(node, id, now, |n, c| n.on_timer(c, timer))
    }

    /// `on_submit` of `node` (id `id`) at `now`.
    pub fn submit(&mut self, node: &mut P, id: NodeId, now: SimTime, sub: Submission) -> Step<P> {
        self.step(node, id, now, |n, c| n.on_submit(c, sub))
    }
}

/// The commands one step issued, in issue order, with views by kind.
pub struct Step<P: Protocol>(pub Vec<Command<P>>);

impl<P: Protocol> std::fmt::Debug for Step<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.0).finish()
    }
}

impl<P: Protocol> Step<P> {
    /// Every command.
    pub fn commands(&self) -> &[Command<P>] {
        &self.0
    }
    /// Messages sent: `(Some(to), msg)`, or `(None, msg)` for a broadcast.
    pub fn sends(&self) -> Vec<(Option<NodeId>, P::Msg)> {
        self.0
            .iter()
            .filter_map(|c| match c {
                Command::Send(to, m) => Some((Some(*to), m.clone())),
                Command::Broadcast(m) => Some((None, m.clone())),
                _ => None,
            })
            .collect()
    }
    /// Notes reported.
    pub fn notes(&self) -> Vec<P::Note> {
        self.0
            .iter()
            .filter_map(|c| match c {
                Command::Note(n) => Some(n.clone()),
                _ => None,
            })
            .collect()
    }
    /// The last durable state persisted, if any.
    pub fn persisted(&self) -> Option<P::Durable> {
        self.0.iter().rev().find_map(|c| match c {
            Command::Persist(d) => Some(d.clone()),
            _ => None,
        })
    }
    /// Timers armed: `(tag, after_ns)`.
    pub fn timers(&self) -> Vec<(P::Timer, u64)> {
        self.0
            .iter()
            .filter_map(|c| match c {
                Command::SetTimer(t, d) => Some((*t, *d)),
                _ => None,
            })
            .collect()
    }
    /// Timers cancelled.
    pub fn cancelled(&self) -> Vec<P::Timer> {
        self.0
            .iter()
            .filter_map(|c| match c {
                Command::CancelTimer(t) => Some(*t),
                _ => None,
            })
            .collect()
    }
    /// Counter increments: `(counter, by)`.
    pub fn counts(&self) -> Vec<(usize, f64)> {
        self.0
            .iter()
            .filter_map(|c| match c {
                Command::Count(i, v) => Some((*i, *v)),
                _ => None,
            })
            .collect()
    }
}
