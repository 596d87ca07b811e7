//! Property monitors: each protocol's named properties, checked while the run
//! goes, and the metrics they collect from notes.
//!
//! A violation is a value (time, property, one-line detail), never a panic, so
//! sweeps go on and report it; the caller adds the seed and a command that
//! reproduces it.

use crate::engine::{Property, PropertyKind, Protocol};
use crate::net::topology::{Graph, NodeId};
use crate::net::{NetConfig, Partitions};
use crate::scenario::Scenario;
use crate::time::SimTime;
use litemap::LiteMap;
use serde::Serialize;
use std::borrow::Cow;

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
    pub now: SimTime,
    pub alive: &'a [bool],
    pub nodes: u32,
    pub(crate) graph: &'a Graph,
    pub(crate) parts: &'a Partitions,
    pub(crate) net: &'a NetConfig,
}

impl World<'_> {
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
    pub t_ns: SimTime,
    pub property: &'static str,
    pub kind: PropertyKind,
    pub detail: String,
}

impl Violation {
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

/// Watches one run of protocol `P`.
pub trait Monitor<P: Protocol>: Sized {
    /// The properties this monitor checks, named for humans.
    fn properties() -> &'static [Property];
    fn new(sc: &Scenario, cfg: &P::Config) -> Self;
    fn on_note(&mut self, w: &World, node: NodeId, note: &P::Note, out: &mut Vec<Violation>);
    /// A hint: an event for `node` comes soon, so its per-node state may be
    /// worth loading into cache ([`crate::engine::prefetch`]). Changes nothing.
    #[inline]
    fn prefetch(&self, _node: NodeId) {}
    fn on_crash(&mut self, _w: &World, _node: NodeId) {}
    fn on_recover(&mut self, _w: &World, _node: NodeId) {}
    /// No fault happens after now: the liveness clock starts.
    fn on_quiet(&mut self, _w: &World, _out: &mut Vec<Violation>) {}
    /// The liveness bound has passed since the quiet time.
    fn on_deadline(&mut self, _w: &World, _out: &mut Vec<Violation>) {}
    /// Every `eventually` property holds and nothing more is expected: the run may stop.
    fn done(&self) -> bool;
    fn finish(&mut self, w: &World, out: &mut Vec<Violation>) -> Outcome;
}

/// Looks up a property by name in a monitor's list (panics on a typo: a programming error).
pub fn property<P: Protocol, M: Monitor<P>>(name: &str) -> &'static Property {
    M::properties()
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no property named {name:?}"))
}

/// Counts of what the network did.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Counters {
    pub sent: u64,
    pub delivered: u64,
    pub duplicated: u64,
    #[serde(serialize_with = "as_map")]
    pub dropped: CountMap,
    pub timers: u64,
    pub crashes: u64,
    pub recoveries: u64,
    /// Messages sent, by kind.
    #[serde(serialize_with = "as_map")]
    pub by_kind: CountMap,
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
