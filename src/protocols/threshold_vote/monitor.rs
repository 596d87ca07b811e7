//! Threshold consensus's properties, judged on honest nodes only.
//!
//! - **agreement** (always): no two honest nodes commit different values.
//! - **validity** (always): every value an honest node commits was proposed
//!   by an honest node (so when every honest node proposes `v`, only `v`
//!   is committed).
//! - **termination** (eventually): every honest node that is up decides:
//!   it commits, or gives up at its deadline (missing votes counted as
//!   declared). A commit itself is guaranteed only when at least `n − f`
//!   honest nodes propose the same value and their votes arrive before the
//!   deadline; `committed_ratio` says how often honest nodes committed.
//!
//! Metrics: `messages`; `committed_ratio` (honest nodes that committed,
//! over honest nodes); `decision_ms`, `decision_ms_max` (commit times of
//! honest nodes); `agreement_violated` (1 if agreement was violated in the
//! run, else 0: its mean over runs is the ratio of runs that broke it);
//! `byzantine_ratio` (nodes marked Byzantine over all nodes, `f/n`).

use super::ThresholdNote;
use crate::node::{MetricDef, NodeId, Protocol};
use crate::observe::{
    property, Monitor, MonitorInit, Outcome, Property, PropertyKind, Violation, World,
};
use crate::protocols::voting::Value;
use crate::time::{SimTime, MS};

/// The safety property.
pub const AGREEMENT: &str = "agreement";
/// The other safety property.
pub const VALIDITY: &str = "validity";
/// The liveness property.
pub const TERMINATION: &str = "termination";

static PROPERTIES: [Property; 3] = [
    Property {
        name: AGREEMENT,
        kind: PropertyKind::Always,
        description: "no two honest nodes commit different values",
    },
    Property {
        name: VALIDITY,
        kind: PropertyKind::Always,
        description: "every value an honest node commits was proposed by an honest node",
    },
    Property {
        name: TERMINATION,
        kind: PropertyKind::Eventually,
        description: "every honest node that is up decides: it commits, or gives up at its deadline",
    },
];

static METRICS: [MetricDef; 6] = [
    MetricDef {
        name: "messages",
        unit: "count",
        definition: "messages sent (every copy), all kinds",
    },
    MetricDef {
        name: "committed_ratio",
        unit: "ratio",
        definition: "honest nodes that committed a value, over honest nodes",
    },
    MetricDef {
        name: "decision_ms",
        unit: "ms",
        definition: "mean time of the honest nodes' commits",
    },
    MetricDef {
        name: "decision_ms_max",
        unit: "ms",
        definition: "time of the last honest commit",
    },
    MetricDef {
        name: "agreement_violated",
        unit: "ratio",
        definition: "1 if two honest nodes committed different values in the run, else 0 (its mean is the ratio of runs that broke agreement)",
    },
    MetricDef {
        name: "byzantine_ratio",
        unit: "ratio",
        definition: "nodes marked Byzantine over all nodes (f/n)",
    },
];

/// Threshold consensus's monitor: reads only [`ThresholdNote`]s.
pub struct ThresholdMonitor {
    /// Values honest nodes proposed, sorted.
    proposals: Vec<Value>,
    /// Each node's decision: `Some(Some(v))` committed, `Some(None)` gave up.
    decided: Vec<Option<Option<Value>>>,
    first: Option<(NodeId, Value)>,
    commits: u32,
    commit_t_sum: u128,
    commit_t_max: SimTime,
    disagreed: bool,
    honest: u32,
    byzantine: u32,
    /// Honest and up: expected to decide.
    judged: Vec<bool>,
    quiet: bool,
}

impl<P: Protocol<Note = ThresholdNote>> Monitor<P> for ThresholdMonitor {
    fn properties() -> &'static [Property] {
        &PROPERTIES
    }

    fn metrics() -> &'static [MetricDef] {
        &METRICS
    }

    fn new(init: &MonitorInit<'_, P>) -> Self {
        let n = init.nodes;
        let byzantine = init.adversary.count();
        ThresholdMonitor {
            proposals: Vec::new(),
            decided: vec![None; n as usize],
            first: None,
            commits: 0,
            commit_t_sum: 0,
            commit_t_max: 0,
            disagreed: false,
            honest: n - byzantine,
            byzantine,
            judged: (0..n).map(|x| init.adversary.is_honest(x)).collect(),
            quiet: false,
        }
    }

    fn on_note(&mut self, w: &World, node: NodeId, note: &ThresholdNote, out: &mut Vec<Violation>) {
        if !w.adversary.is_honest(node) {
            return;
        }
        let i = node as usize;
        match *note {
            ThresholdNote::Proposed { value } => {
                if let Err(k) = self.proposals.binary_search(&value) {
                    self.proposals.insert(k, value);
                }
            }
            ThresholdNote::Committed { value } => {
                if self.decided[i] == Some(Some(value)) {
                    return;
                }
                self.decided[i] = Some(Some(value));
                self.commits += 1;
                self.commit_t_sum += w.now as u128;
                self.commit_t_max = self.commit_t_max.max(w.now);
                match self.first {
                    None => self.first = Some((node, value)),
                    Some((other, v)) if v != value => {
                        self.disagreed = true;
                        out.push(Violation::new(
                            w.now,
                            property(&PROPERTIES, AGREEMENT),
                            format!("honest nodes {other} and {node} committed {v} and {value}"),
                        ));
                    }
                    Some(_) => {}
                }
                if self.proposals.binary_search(&value).is_err() {
                    out.push(Violation::new(
                        w.now,
                        property(&PROPERTIES, VALIDITY),
                        format!(
                            "honest node {node} committed {value}, which no honest node proposed (proposals: {:?})",
                            self.proposals
                        ),
                    ));
                }
            }
            ThresholdNote::GaveUp { .. } if self.decided[i].is_none() => {
                self.decided[i] = Some(None);
            }
            _ => {}
        }
    }

    fn on_quiet(&mut self, _w: &World, _out: &mut Vec<Violation>) {
        self.quiet = true;
    }

    fn on_deadline(&mut self, w: &World, out: &mut Vec<Violation>) {
        let undecided: Vec<String> = (0..w.nodes)
            .filter(|&n| {
                w.adversary.is_honest(n) && w.alive[n as usize] && self.decided[n as usize].is_none()
            })
            .map(|n| n.to_string())
            .collect();
        if !undecided.is_empty() {
            out.push(Violation::new(
                w.now,
                property(&PROPERTIES, TERMINATION),
                format!(
                    "honest nodes [{}] neither committed nor gave up by the deadline",
                    undecided.join(", ")
                ),
            ));
        }
    }

    fn done(&self) -> bool {
        self.quiet
            && self
                .decided
                .iter()
                .zip(&self.judged)
                .all(|(d, &judged)| d.is_some() || !judged)
    }

    fn on_crash(&mut self, _w: &World, node: NodeId) {
        self.judged[node as usize] = false;
    }

    fn on_recover(&mut self, w: &World, node: NodeId) {
        self.judged[node as usize] = w.adversary.is_honest(node);
    }

    fn finish(&mut self, w: &World, _out: &mut Vec<Violation>) -> Outcome {
        let mut o = Outcome::with_capacity(6, 3);
        let m = &mut o.metrics;
        m.insert("messages".into(), w.counts.sent as f64);
        if self.honest > 0 {
            m.insert(
                "committed_ratio".into(),
                self.commits as f64 / self.honest as f64,
            );
        }
        if self.commits > 0 {
            let mean = self.commit_t_sum as f64 / self.commits as f64;
            m.insert("decision_ms".into(), mean / MS as f64);
            m.insert(
                "decision_ms_max".into(),
                self.commit_t_max as f64 / MS as f64,
            );
        }
        m.insert(
            "agreement_violated".into(),
            self.disagreed as u32 as f64,
        );
        m.insert(
            "byzantine_ratio".into(),
            self.byzantine as f64 / w.nodes as f64,
        );
        let mut committed: Vec<(Value, u32)> = Vec::new();
        for v in self.decided.iter().flatten().flatten() {
            match committed.iter_mut().find(|c| c.0 == *v) {
                Some(c) => c.1 += 1,
                None => committed.push((*v, 1)),
            }
        }
        committed.sort_unstable();
        let gave_up = self.decided.iter().filter(|d| **d == Some(None)).count();
        o.facts.insert(
            "committed".into(),
            serde_json::Value::Object(
                committed
                    .iter()
                    .map(|(v, c)| (v.to_string(), (*c).into()))
                    .collect(),
            ),
        );
        o.facts.insert("gave_up".into(), gave_up.into());
        o.facts.insert("proposals".into(), self.proposals.clone().into());
        o
    }
}

