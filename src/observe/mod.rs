//! Everything that watches a run: each protocol's named properties, checked
//! while the run goes by its [`Monitor`], the metrics monitors collect, the
//! network's counters, the [`trace`] (format and run hash), and tools that
//! read a finished trace back ([`records`]): [`diff`] and [`export`].
//!
//! A violation is a value (time, property, one-line detail), never a panic, so
//! sweeps go on and report it; the caller adds the seed and a command that
//! reproduces it.

pub mod diff;
pub mod export;
pub mod records;
pub mod trace;
pub mod view;

use crate::net::{NetConfig, Partitions};
use crate::node::{Adversary, Graph, MetricDef, NodeId, Protocol};
use crate::time::SimTime;
use litemap::LiteMap;
use serde::Serialize;
use std::borrow::Cow;

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

impl PropertyKind {
    /// `always`, `eventually` or `sometimes`.
    pub fn as_str(self) -> &'static str {
        match self {
            PropertyKind::Always => "always",
            PropertyKind::Eventually => "eventually",
            PropertyKind::Sometimes => "sometimes",
        }
    }
}

/// A named property, named for humans; the name appears verbatim in reports.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct Property {
    /// The name, as reports print it (`election safety`).
    pub name: &'static str,
    /// How it is judged.
    pub kind: PropertyKind,
    /// What it requires, in one line.
    pub description: &'static str,
}

/// A series a monitor reports per run: an array of numbers in a fact of the
/// same name (gossip's `coverage`), declared with its unit and meaning.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct SeriesDef {
    /// The fact's name.
    pub name: &'static str,
    /// The unit of its values.
    pub unit: &'static str,
    /// What value `i` is.
    pub definition: &'static str,
}

/// A metric's or fact's name: usually a `&'static str` (no allocation per
/// run), owned when computed.
pub type Name = Cow<'static, str>;

/// Named values of a run, sorted by name: a flat sorted `Vec` ([`LiteMap`]),
/// one allocation for a run's handful of entries where a `BTreeMap` made a
/// node and compared keys on every insert. Serialized as a JSON object.
pub type NameMap<V> = LiteMap<Name, V>;

/// Counts by a static name (drop reasons, message kinds), sorted by name.
pub type CountMap = LiteMap<&'static str, u64>;

/// Serializes a [`LiteMap`] as a map, empty or not: its own `Serialize`
/// writes an empty map as `[]` in human-readable formats (it cannot tell
/// whether the keys would make valid object keys), which would turn `{}`
/// into `[]` in traces and `--json` output. For `#[serde(serialize_with)]`.
pub fn as_map<K: Serialize, V: Serialize, S: serde::Serializer>(
    m: &LiteMap<K, V>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_map(m.iter())
}

/// A read-only view of the run for monitors.
pub struct World<'a> {
    /// The current virtual time.
    pub now: SimTime,
    /// Which nodes are up.
    pub alive: &'a [bool],
    /// Number of nodes.
    pub nodes: u32,
    /// The topology.
    pub graph: &'a Graph,
    pub(crate) parts: &'a Partitions,
    pub(crate) net: &'a NetConfig,
    /// What the network did so far (`by_kind` is filled only at the end: see
    /// [`World::sent_by_kind`]).
    pub counts: &'a Counters,
    /// Messages sent so far, by kind index ([`crate::node::Message::KINDS`]).
    pub sent_by_kind: &'a [u64],
    /// The Byzantine marks of the run.
    pub adversary: &'a Adversary,
    /// No more workload submission will arrive (always true without a workload).
    pub workload_over: bool,
}

impl World<'_> {
    /// How many nodes are up.
    pub fn live_count(&self) -> usize {
        self.alive.iter().filter(|&&a| a).count()
    }

    /// Whether a message from `from` can reach `to` right now: an edge of the
    /// topology joins them, no partition or cut blocks it, and the link does
    /// not lose everything. (Whether `to` is up is [`World::alive`]'s part.)
    pub fn link_up(&self, from: NodeId, to: NodeId) -> bool {
        from == to
            || (self.graph.has_edge(from, to)
                && !self.parts.blocked(from, to)
                && self.net.link(from, to).loss_ratio < 1.0)
    }

    /// Whether `a` and `b` can exchange messages both ways right now.
    pub fn linked(&self, a: NodeId, b: NodeId) -> bool {
        self.link_up(a, b) && self.link_up(b, a)
    }
}

/// A property that did not hold.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Violation {
    /// When it was found.
    pub t_ns: SimTime,
    /// The property's name.
    pub property: &'static str,
    /// How the property is judged.
    pub kind: PropertyKind,
    /// What happened, in one line.
    pub detail: String,
}

impl Violation {
    /// A violation of `p` at `t_ns`.
    pub fn new(t_ns: SimTime, p: &Property, detail: String) -> Violation {
        Violation {
            t_ns,
            property: p.name,
            kind: p.kind,
            detail,
        }
    }
}

/// What a monitor reports at the end of a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Outcome {
    /// Numeric metrics (names carry their unit: `first_leader_ms`).
    #[serde(serialize_with = "as_map")]
    pub metrics: NameMap<f64>,
    /// Protocol facts for humans (`leader`, `term`).
    #[serde(serialize_with = "as_map")]
    pub facts: NameMap<serde_json::Value>,
}

impl Outcome {
    /// Room for this many metrics and facts (one allocation each).
    pub fn with_capacity(metrics: usize, facts: usize) -> Outcome {
        Outcome {
            metrics: NameMap::with_capacity(metrics),
            facts: NameMap::with_capacity(facts),
        }
    }
}

/// What a monitor is built from.
pub struct MonitorInit<'a, P: Protocol> {
    /// The run's seed.
    pub seed: u64,
    /// Number of nodes.
    pub nodes: u32,
    /// The protocol's configuration.
    pub config: &'a P::Config,
    /// The Byzantine marks (properties judge honest nodes only).
    pub adversary: &'a Adversary,
}

/// Watches one run of protocol `P`: checks its named properties while the run
/// goes and reports its metrics at the end.
///
/// A monitor that reads only notes can serve every protocol with the same
/// note type: implement it for `impl<P: Protocol<Note = MyNote>> Monitor<P>`
/// (as Raft's does), and a hosted implementation that reports the same notes
/// is checked by the same properties.
pub trait Monitor<P: Protocol>: Sized {
    /// The properties this monitor checks, named for humans.
    fn properties() -> &'static [Property];
    /// The metrics [`Monitor::finish`] reports, declared once with units and
    /// definitions (a test checks that every reported metric is declared).
    fn metrics() -> &'static [MetricDef] {
        &[]
    }
    /// The series facts [`Monitor::finish`] reports.
    fn series() -> &'static [SeriesDef] {
        &[]
    }
    /// A monitor for one run.
    fn new(init: &MonitorInit<'_, P>) -> Self;
    /// A node reported a fact.
    fn on_note(&mut self, w: &World, node: NodeId, note: &P::Note, out: &mut Vec<Violation>);
    /// A message was delivered to a live node (before its handler runs).
    #[inline]
    fn on_deliver(&mut self, _w: &World, _from: NodeId, _to: NodeId, _msg: &P::Msg) {}
    /// A hint: an event for `node` comes soon, so its per-node state may be
    /// worth loading into cache ([`crate::engine::prefetch`]). Changes nothing.
    #[inline]
    fn prefetch(&self, _node: NodeId) {}
    /// A hint, with [`Protocol::PREFETCH`] set: `msg` will reach `to` some
    /// events from now, so the state its checks will touch may be worth
    /// loading into cache. Called twice per message, first with `far` (twice
    /// as many events ahead), so that a chain of two loads can be prefetched
    /// (the first on the far call, the second on the near one, reading what
    /// the first loaded). Changes nothing.
    #[inline]
    fn prefetch_msg(&self, _to: NodeId, _msg: &P::Msg, _far: bool) {}
    /// A node crashed.
    fn on_crash(&mut self, _w: &World, _node: NodeId) {}
    /// A node recovered (before its `on_start`).
    fn on_recover(&mut self, _w: &World, _node: NodeId) {}
    /// No fault happens after now: the liveness clock starts.
    fn on_quiet(&mut self, _w: &World, _out: &mut Vec<Violation>) {}
    /// The liveness bound has passed since the quiet time.
    fn on_deadline(&mut self, _w: &World, _out: &mut Vec<Violation>) {}
    /// Every `eventually` property holds and nothing more is expected: the run may stop.
    fn done(&self) -> bool;
    /// The run ended: its metrics and facts, and violations found only now.
    /// Metrics that need the network's counters read them from `w`.
    fn finish(&mut self, w: &World, out: &mut Vec<Violation>) -> Outcome;
}

/// A monitor that checks nothing and reports nothing. It never declares the
/// run done, so a run goes on until it is quiescent or a limit stops it.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoMonitor;

impl<P: Protocol> Monitor<P> for NoMonitor {
    fn properties() -> &'static [Property] {
        &[]
    }
    fn new(_: &MonitorInit<'_, P>) -> Self {
        NoMonitor
    }
    fn on_note(&mut self, _: &World, _: NodeId, _: &P::Note, _: &mut Vec<Violation>) {}
    fn done(&self) -> bool {
        false
    }
    fn finish(&mut self, _: &World, _: &mut Vec<Violation>) -> Outcome {
        Outcome::default()
    }
}

/// Looks up a property by name in a list (panics on a typo: a programming error).
pub fn property(list: &'static [Property], name: &str) -> &'static Property {
    list.iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no property named {name:?}"))
}

/// Counts of what the network did.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Counters {
    /// Messages sent (each copy of a broadcast counts).
    pub sent: u64,
    /// Messages delivered to a live node.
    pub delivered: u64,
    /// Messages the network duplicated.
    pub duplicated: u64,
    /// Messages not delivered, by reason.
    #[serde(serialize_with = "as_map")]
    pub dropped: CountMap,
    /// Timers that fired.
    pub timers: u64,
    /// Node crashes.
    pub crashes: u64,
    /// Node recoveries.
    pub recoveries: u64,
    /// Workload submissions that reached a live node (only with a workload).
    #[serde(skip_serializing_if = "is_zero")]
    pub submitted: u64,
    /// Workload submissions whose target node was down (only with a workload).
    #[serde(skip_serializing_if = "is_zero")]
    pub submissions_lost: u64,
    /// Storage writes completed (only with a storage delay).
    #[serde(skip_serializing_if = "is_zero")]
    pub writes: u64,
    /// Storage writes lost to a crash (only with a storage delay).
    #[serde(skip_serializing_if = "is_zero")]
    pub writes_lost: u64,
    /// Messages sent, by kind.
    #[serde(serialize_with = "as_map")]
    pub by_kind: CountMap,
}

fn is_zero(v: &u64) -> bool {
    *v == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_serialize_as_objects_even_when_empty() {
        let c = serde_json::to_value(Counters::default()).unwrap();
        assert_eq!(c["dropped"], serde_json::json!({}));
        assert_eq!(c["by_kind"], serde_json::json!({}));
        let mut o = Outcome::default();
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"metrics":{},"facts":{}}"#
        );
        o.metrics.insert("b".into(), 2.0);
        o.metrics.insert("a".into(), 1.0);
        assert_eq!(
            serde_json::to_string(&o).unwrap(),
            r#"{"metrics":{"a":1.0,"b":2.0},"facts":{}}"#
        );
    }
}
