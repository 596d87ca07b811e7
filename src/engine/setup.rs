//! What the engine takes: a run's settings with no protocol in them, and the
//! settings of the three hooks every protocol may use (a client workload,
//! a storage write delay behind `persist`, and Byzantine marks).
//!
//! Each hook is off by default, draws nothing when off, and then leaves every
//! run (and its hash) exactly as it was without it.

use crate::net::faults::FaultConfig;
use crate::net::latency::Latency;
use crate::net::NetConfig;
use crate::node::{BehaviourKind, NodeId};
use crate::time::{Dur, SimTime};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// One run's settings, as the engine sees them (borrowed from a scenario).
#[derive(Clone, Copy, Debug)]
pub struct Setup<'a> {
    /// The seed of every random choice.
    pub seed: u64,
    /// Number of nodes.
    pub nodes: u32,
    /// The run stops at this virtual time.
    pub time_max: SimTime,
    /// The run stops after this many events.
    pub events_max: u64,
    /// Stop once every `eventually` property holds after the last fault.
    pub stop_when_done: bool,
    /// How long after the last fault `eventually` properties may take.
    pub liveness_bound: SimTime,
    /// Links and topology.
    pub net: &'a NetConfig,
    /// Crashes, partitions, drift.
    pub faults: &'a FaultConfig,
    /// Client submissions.
    pub workload: &'a WorkloadConfig,
    /// The storage write delay behind `persist`.
    pub storage: &'a StorageConfig,
    /// Byzantine nodes.
    pub adversary: &'a AdversaryConfig,
}

/// Events a run may hold pending at once, whatever its size.
pub const PENDING_MIN: usize = 1 << 20;
/// Events a run may hold pending at once, per node, above [`PENDING_MIN`].
pub const PENDING_PER_NODE: usize = 16;

/// Most events a run of `nodes` nodes may hold pending at once:
/// `max(PENDING_MIN, PENDING_PER_NODE × nodes)`. A run that schedules more
/// (every node broadcasting to every other at once, say) stops with
/// `pending_max`, so its memory stays bounded; the bound depends on the
/// scenario only, so runs stay deterministic on any machine.
pub fn pending_max(nodes: u32) -> usize {
    PENDING_MIN.max(PENDING_PER_NODE * nodes as usize)
}

// ---------------------------------------------------------------- workload

/// How submissions arrive.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Arrivals {
    /// No workload.
    #[default]
    None,
    /// A Poisson process of this many submissions per second.
    Poisson {
        /// Submissions per second of virtual time.
        rate: f64,
    },
    /// One submission every `Dur`.
    Every(Dur),
}

impl FromStr for Arrivals {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || {
            format!(
                "workload arrivals '{s}' (accepted: none, poisson:rate=R (per second), every:DUR)"
            )
        };
        let s = s.trim();
        if s == "none" {
            return Ok(Arrivals::None);
        }
        let (kind, arg) = s.split_once(':').ok_or_else(bad)?;
        match kind {
            "poisson" => {
                let r = arg.strip_prefix("rate=").ok_or_else(bad)?;
                let rate: f64 = r.parse().map_err(|_| bad())?;
                if !(rate.is_finite() && rate > 0.0 && rate <= 1e9) {
                    return Err(format!(
                        "workload arrivals '{s}': rate {rate} out of range (accepted: above 0, at most 1e9 per second)"
                    ));
                }
                Ok(Arrivals::Poisson { rate })
            }
            "every" => {
                let d: Dur = arg
                    .parse()
                    .map_err(|e| format!("workload arrivals '{s}': {e}"))?;
                if d.0 == 0 {
                    return Err(format!(
                        "workload arrivals '{s}': the interval must be above 0"
                    ));
                }
                Ok(Arrivals::Every(d))
            }
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for Arrivals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Arrivals::None => f.write_str("none"),
            Arrivals::Poisson { rate } => write!(f, "poisson:rate={rate}"),
            Arrivals::Every(d) => write!(f, "every:{d}"),
        }
    }
}

/// Which node a submission goes to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Target {
    /// A node drawn uniformly from the workload stream.
    #[default]
    Random,
    /// Nodes 0, 1, 2, ... in turn.
    RoundRobin,
    /// The node whose latest note says it leads; a random node if none does.
    Leader,
    /// Always this node.
    Node(NodeId),
}

impl FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "random" => Ok(Target::Random),
            "round-robin" => Ok(Target::RoundRobin),
            "leader" => Ok(Target::Leader),
            other => match other.strip_prefix("node:").map(str::parse) {
                Some(Ok(n)) => Ok(Target::Node(n)),
                _ => Err(format!(
                    "workload target '{s}' unknown (accepted: random, round-robin, leader, node:N)"
                )),
            },
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Random => f.write_str("random"),
            Target::RoundRobin => f.write_str("round-robin"),
            Target::Leader => f.write_str("leader"),
            Target::Node(n) => write!(f, "node:{n}"),
        }
    }
}

macro_rules! serde_by_str {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d)?
                    .parse()
                    .map_err(serde::de::Error::custom)
            }
        }
    };
}
serde_by_str!(Arrivals);
serde_by_str!(Target);

/// Client submissions to nodes, from the workload stream ([`crate::node::Protocol::on_submit`]).
///
/// Submission `i` comes from client `i mod clients`; its target and its
/// content draw ([`crate::node::Submission::draw`]) come from the workload stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WorkloadConfig {
    /// `none`, `poisson:rate=R` (per second) or `every:DUR`.
    pub arrivals: Arrivals,
    /// At most this many submissions (0: no limit but `stop`).
    pub count: u64,
    /// The first arrival is at or after this time.
    pub start: Dur,
    /// No arrival after this time (none: until the run ends).
    pub stop: Option<Dur>,
    /// Number of clients the submissions come from.
    pub clients: u32,
    /// Which node each submission goes to.
    pub target: Target,
}

impl Default for WorkloadConfig {
    fn default() -> Self {
        WorkloadConfig {
            arrivals: Arrivals::None,
            count: 0,
            start: Dur::ZERO,
            stop: None,
            clients: 1,
            target: Target::Random,
        }
    }
}

impl WorkloadConfig {
    /// Whether any submission can arrive.
    pub fn is_on(&self) -> bool {
        self.arrivals != Arrivals::None
    }

    /// Checks the settings; the error names the field and the accepted range.
    pub fn validate(&self, nodes: u32) -> Result<(), String> {
        if self.clients == 0 {
            return Err("workload.clients must be above 0 (accepted: 1..)".into());
        }
        if let Target::Node(n) = self.target {
            if n >= nodes {
                return Err(format!(
                    "workload.target = node:{n} out of range (accepted: node:0..node:{})",
                    nodes - 1
                ));
            }
        }
        if let Some(stop) = self.stop {
            if stop <= self.start {
                return Err(format!(
                    "workload.stop = {stop} out of range (accepted: after workload.start = {})",
                    self.start
                ));
            }
        }
        if !self.is_on() && (self.count > 0 || self.stop.is_some()) {
            return Err(
                "workload.count and workload.stop need workload.arrivals (accepted: poisson:rate=R or every:DUR)"
                    .into(),
            );
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- storage

/// One node's own storage delay.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StorageOverride {
    /// The node.
    pub node: NodeId,
    /// Its write delay.
    pub delay: Latency,
}

/// The delay of a storage write behind [`crate::node::Ctx::persist`].
///
/// With a delay, a persist starts a write that completes later (writes of
/// one node complete in order); what the callback that persisted made
/// visible, its messages and notes, is held until the write completes;
/// messages that arrive meanwhile are handled as usual, but what their
/// callbacks make visible also waits for the write in progress (it was
/// computed from state not yet durable: a node's output leaves in the order
/// it was produced); a crash before
/// completion loses the write and what it held, and recovery starts from the
/// previous durable state. Delays are
/// drawn from the storage stream. Without a delay (the default) a persist is
/// durable at once and nothing is drawn.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StorageConfig {
    /// The write delay of every node (a latency spelling: `5ms`,
    /// `2ms..8ms`, `exp:floor=1ms,mean=4ms`, ...); none: writes are instant.
    pub delay: Option<Latency>,
    /// Per-node delays, overriding `delay`.
    pub nodes: Vec<StorageOverride>,
}

impl StorageConfig {
    /// Whether writes take time.
    pub fn is_on(&self) -> bool {
        self.delay.is_some() || !self.nodes.is_empty()
    }

    /// The delay of `node`'s writes, if they take time.
    pub fn delay_of(&self, node: NodeId) -> Option<&Latency> {
        self.nodes
            .iter()
            .find(|o| o.node == node)
            .map(|o| &o.delay)
            .or(self.delay.as_ref())
    }

    /// Checks the settings; the error names the field and the accepted range.
    pub fn validate(&self, nodes: u32) -> Result<(), String> {
        if let Some(d) = &self.delay {
            d.validate().map_err(|e| format!("storage.delay: {e}"))?;
        }
        for (i, o) in self.nodes.iter().enumerate() {
            if o.node >= nodes {
                return Err(format!(
                    "storage.nodes[{i}].node = {} out of range (accepted: 0..{nodes})",
                    o.node
                ));
            }
            if self.nodes[..i].iter().any(|p| p.node == o.node) {
                return Err(format!("storage.nodes[{i}]: node {} listed twice", o.node));
            }
            o.delay
                .validate()
                .map_err(|e| format!("storage.nodes[{i}].delay: {e}"))?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- adversary

/// A behaviour with its parameters as written: `equivocate`,
/// `selective=1,2` (the nodes it omits; drawn from the fault stream when
/// none are given).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BehaviourSpec {
    /// The behaviour.
    pub kind: BehaviourKind,
    /// For `selective`: the nodes omitted (empty: half the others, drawn).
    pub targets: Vec<NodeId>,
}

impl FromStr for BehaviourSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, targets) = match s.split_once('=') {
            Some((n, t)) => (n.trim(), Some(t)),
            None => (s.trim(), None),
        };
        let kind = BehaviourKind::parse(name)?;
        let targets = match targets {
            None => Vec::new(),
            Some(_) if kind != BehaviourKind::Selective => {
                return Err(format!(
                    "behaviour '{s}': only selective takes nodes (selective=1,2)"
                ))
            }
            Some(t) => {
                let mut v = t
                    .split(',')
                    .map(|x| {
                        x.trim()
                            .parse::<NodeId>()
                            .map_err(|_| format!("behaviour '{s}': '{x}' is not a node id"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                v.sort_unstable();
                v.dedup();
                v
            }
        };
        Ok(BehaviourSpec { kind, targets })
    }
}

impl fmt::Display for BehaviourSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.kind.name())?;
        if !self.targets.is_empty() {
            let t: Vec<String> = self.targets.iter().map(|n| n.to_string()).collect();
            write!(f, "={}", t.join(","))?;
        }
        Ok(())
    }
}

/// Nodes and their behaviour: `0,3:equivocate`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ByzantineSpec {
    /// The nodes marked.
    pub nodes: Vec<NodeId>,
    /// How they behave.
    pub behaviour: BehaviourSpec,
}

impl FromStr for ByzantineSpec {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (nodes, b) = s.split_once(':').ok_or_else(|| {
            format!("byzantine '{s}': expected NODES:BEHAVIOUR, e.g. 0,3:equivocate")
        })?;
        let nodes = nodes
            .split(',')
            .map(|x| {
                x.trim()
                    .parse::<NodeId>()
                    .map_err(|_| format!("byzantine '{s}': '{x}' is not a node id"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ByzantineSpec {
            nodes,
            behaviour: b.parse().map_err(|e| format!("byzantine '{s}': {e}"))?,
        })
    }
}

impl fmt::Display for ByzantineSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n: Vec<String> = self.nodes.iter().map(|n| n.to_string()).collect();
        write!(f, "{}:{}", n.join(","), self.behaviour)
    }
}

serde_by_str!(BehaviourSpec);
serde_by_str!(ByzantineSpec);

/// Which nodes are Byzantine: named ones, plus `count` drawn from the fault
/// stream with `behaviour`. The protocol must implement every behaviour used.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdversaryConfig {
    /// Named nodes: `["0,3:equivocate", "5:selective=1,2"]`.
    pub nodes: Vec<ByzantineSpec>,
    /// This many more nodes, drawn from the fault stream among the others.
    pub count: u32,
    /// The behaviour of the drawn nodes.
    pub behaviour: Option<BehaviourSpec>,
}

impl AdversaryConfig {
    /// Whether any node is Byzantine.
    pub fn is_on(&self) -> bool {
        !self.nodes.is_empty() || self.count > 0
    }

    /// The behaviours used.
    pub fn kinds(&self) -> impl Iterator<Item = BehaviourKind> + '_ {
        self.nodes.iter().map(|s| s.behaviour.kind).chain(
            self.behaviour
                .iter()
                .map(|b| b.kind)
                .filter(|_| self.count > 0),
        )
    }

    /// Checks the settings against `nodes` and the behaviours the protocol
    /// implements; the error names the field and the accepted values.
    pub fn validate(
        &self,
        nodes: u32,
        protocol: &str,
        implemented: &[BehaviourKind],
    ) -> Result<(), String> {
        if !self.is_on() {
            if self.behaviour.is_some() {
                return Err(
                    "adversary.behaviour needs adversary.count (accepted: --byzantine-count F)"
                        .into(),
                );
            }
            return Ok(());
        }
        if implemented.is_empty() {
            return Err(format!(
                "adversary: protocol '{protocol}' defines no Byzantine behaviours (accepted: no --byzantine or --byzantine-count for it)"
            ));
        }
        let names = || {
            implemented
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut marked = vec![false; nodes as usize];
        for (i, s) in self.nodes.iter().enumerate() {
            if !implemented.contains(&s.behaviour.kind) {
                return Err(format!(
                    "adversary.nodes[{i}] '{s}': protocol '{protocol}' does not implement {} (accepted: {})",
                    s.behaviour.kind.name(),
                    names()
                ));
            }
            for &n in s.nodes.iter().chain(&s.behaviour.targets) {
                if n >= nodes {
                    return Err(format!(
                        "adversary.nodes[{i}] '{s}': node {n} out of range (accepted: 0..{nodes})"
                    ));
                }
            }
            for &n in &s.nodes {
                if std::mem::replace(&mut marked[n as usize], true) {
                    return Err(format!(
                        "adversary.nodes[{i}] '{s}': node {n} is marked twice"
                    ));
                }
            }
        }
        if self.count > 0 {
            let Some(b) = &self.behaviour else {
                return Err(format!(
                    "adversary.count = {} needs adversary.behaviour (accepted: {})",
                    self.count,
                    names()
                ));
            };
            if !implemented.contains(&b.kind) {
                return Err(format!(
                    "adversary.behaviour = {b}: protocol '{protocol}' does not implement it (accepted: {})",
                    names()
                ));
            }
            if let Some(&n) = b.targets.iter().find(|&&n| n >= nodes) {
                return Err(format!(
                    "adversary.behaviour = {b}: node {n} out of range (accepted: 0..{nodes})"
                ));
            }
            let free = marked.iter().filter(|m| !**m).count() as u32;
            if self.count > free {
                return Err(format!(
                    "adversary.count = {} out of range (accepted: 0..={free}, the nodes not named Byzantine)",
                    self.count
                ));
            }
        }
        Ok(())
    }
}
