//! Property monitors: each protocol's named properties, checked while the run
//! goes, and the metrics they collect from notes.
//!
//! A violation is a value (time, property, one-line detail), never a panic, so
//! sweeps go on and report it; the caller adds the seed and a command that
//! reproduces it.

use crate::engine::{Property, PropertyKind, Protocol};
use crate::net::topology::NodeId;
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

/// A read-only view of the run for monitors.
pub struct World<'a> {
    pub now: SimTime,
    pub alive: &'a [bool],
    pub nodes: u32,
}

impl World<'_> {
    pub fn live_count(&self) -> usize {
        self.alive.iter().filter(|&&a| a).count()
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
    pub metrics: NameMap<f64>,
    /// Protocol facts for humans (`leader`, `term`).
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
    pub dropped: CountMap,
    pub timers: u64,
    pub crashes: u64,
    pub recoveries: u64,
    /// Messages sent, by kind.
    pub by_kind: CountMap,
}
