//! OM's properties, as the paper states them, judged on loyal generals only.
//!
//! - **IC1** (always): all loyal lieutenants obey the same order.
//! - **IC2** (always): if the commander is loyal, every loyal lieutenant
//!   obeys the order it sends.
//! - **decision** (eventually): every loyal lieutenant that did not crash
//!   before the decision time obeys an order.
//! - **equivocation detected** (sometimes): a loyal lieutenant held two
//!   different values attributed to the commander. Judged only in runs with
//!   a traitor that can cause it: a commander that equivocates or splits,
//!   or, unsigned, a lieutenant that lies in its relays (equivocate, flip,
//!   forge, split).
//!
//! A general that crashes before the decision time is faulty, as in the
//! paper's model: it takes no further part and is not judged.
//!
//! Metrics: `rounds` (`m + 1`), `messages` (all sent), `decision_ms`
//! (when the loyal lieutenants decided, mean), `attack_ratio` (loyal
//! lieutenants that obey attack, over those that decided), and
//! `agreement_violated` (1 if IC1 or IC2 was violated, else 0: its mean
//! over runs is the ratio of runs that broke interactive consistency).

use super::{value_name, OmConfig, OmNote, ATTACK};
use crate::node::{BehaviourKind, MetricDef, NodeId, Protocol};
use crate::observe::{
    property, Monitor, MonitorInit, Outcome, Property, PropertyKind, Violation, World,
};
use crate::time::{SimTime, MS};

/// IC1.
pub const IC1: &str = "IC1";
/// IC2.
pub const IC2: &str = "IC2";
/// Termination.
pub const DECISION: &str = "decision";
/// The reachability property.
pub const EQUIVOCATION_DETECTED: &str = "equivocation detected";

static PROPERTIES: [Property; 4] = [
    Property {
        name: IC1,
        kind: PropertyKind::Always,
        description: "all loyal lieutenants obey the same order",
    },
    Property {
        name: IC2,
        kind: PropertyKind::Always,
        description: "if the commander is loyal, every loyal lieutenant obeys the order it sends",
    },
    Property {
        name: DECISION,
        kind: PropertyKind::Eventually,
        description: "every loyal lieutenant that did not crash before the decision time obeys an order",
    },
    Property {
        name: EQUIVOCATION_DETECTED,
        kind: PropertyKind::Sometimes,
        description: "a loyal lieutenant held two different values attributed to the commander (judged when a traitor can cause it)",
    },
];

static METRICS: [MetricDef; 5] = [
    MetricDef {
        name: "rounds",
        unit: "rounds",
        definition: "rounds of messages: m + 1",
    },
    MetricDef {
        name: "messages",
        unit: "count",
        definition: "messages sent (every copy), all kinds",
    },
    MetricDef {
        name: "decision_ms",
        unit: "ms",
        definition: "mean time at which the loyal lieutenants decided",
    },
    MetricDef {
        name: "attack_ratio",
        unit: "ratio",
        definition: "loyal lieutenants that obey attack, over the loyal lieutenants that decided",
    },
    MetricDef {
        name: "agreement_violated",
        unit: "ratio",
        definition: "1 if IC1 or IC2 was violated in the run, else 0 (its mean is the ratio of runs that broke interactive consistency)",
    },
];

/// OM's monitor: reads only [`OmNote`]s.
pub struct OmMonitor {
    commander: NodeId,
    order: u8,
    decision_time: SimTime,
    rounds: u32,
    /// Whether each general is honest.
    honest: Vec<bool>,
    /// Whether each general crashed before the decision time.
    faulty: Vec<bool>,
    /// Each lieutenant's decision.
    decided: Vec<Option<u8>>,
    first: Option<(NodeId, u8)>,
    decisions: u32,
    attack: u32,
    decision_t_sum: u128,
    violated: bool,
    detected: bool,
    liars: bool,
    quiet: bool,
}

impl OmMonitor {
    /// Loyal lieutenants still expected to decide.
    fn expected<'a>(&'a self, w: &'a World) -> impl Iterator<Item = NodeId> + 'a {
        let adv = w.adversary;
        (0..self.faulty.len() as NodeId).filter(move |&n| {
            n != self.commander && adv.is_honest(n) && !self.faulty[n as usize]
        })
    }
}

impl<P: Protocol<Note = OmNote, Config = OmConfig>> Monitor<P> for OmMonitor {
    fn properties() -> &'static [Property] {
        &PROPERTIES
    }

    fn metrics() -> &'static [MetricDef] {
        &METRICS
    }

    fn new(init: &MonitorInit<'_, P>) -> Self {
        let cfg = init.config;
        // Who can make a loyal lieutenant hold two values for the commander's
        // order: a commander that tells lieutenants different orders, or
        // (unsigned only: signed relays cannot change a value) a lieutenant
        // that relays a value it did not hear.
        let liars = init.adversary.iter().any(|(node, b)| {
            let k = b.kind();
            if node == cfg.commander {
                matches!(k, BehaviourKind::Equivocate | BehaviourKind::Split)
            } else {
                !cfg.signed
                    && matches!(
                        k,
                        BehaviourKind::Equivocate
                            | BehaviourKind::Flip
                            | BehaviourKind::Forge
                            | BehaviourKind::Split
                    )
            }
        });
        OmMonitor {
            commander: cfg.commander,
            order: cfg.order.value(),
            decision_time: cfg.decision_time(),
            rounds: cfg.m + 1,
            honest: (0..init.nodes).map(|n| init.adversary.is_honest(n)).collect(),
            faulty: vec![false; init.nodes as usize],
            decided: vec![None; init.nodes as usize],
            first: None,
            decisions: 0,
            attack: 0,
            decision_t_sum: 0,
            violated: false,
            detected: false,
            liars,
            quiet: false,
        }
    }

    fn on_note(&mut self, w: &World, node: NodeId, note: &OmNote, out: &mut Vec<Violation>) {
        if !w.adversary.is_honest(node) {
            return;
        }
        match *note {
            OmNote::Decided { value } => {
                if self.faulty[node as usize] || self.decided[node as usize].is_some() {
                    return;
                }
                self.decided[node as usize] = Some(value);
                self.decisions += 1;
                self.attack += (value == ATTACK) as u32;
                self.decision_t_sum += w.now as u128;
                match self.first {
                    None => self.first = Some((node, value)),
                    Some((other, v)) if v != value => {
                        self.violated = true;
                        out.push(Violation::new(
                            w.now,
                            property(&PROPERTIES, IC1),
                            format!(
                                "loyal lieutenants {other} and {node} obey different orders ({} and {})",
                                value_name(v),
                                value_name(value)
                            ),
                        ));
                    }
                    Some(_) => {}
                }
                if w.adversary.is_honest(self.commander) && value != self.order {
                    self.violated = true;
                    out.push(Violation::new(
                        w.now,
                        property(&PROPERTIES, IC2),
                        format!(
                            "the loyal commander {} ordered {}, but loyal lieutenant {node} obeys {}",
                            self.commander,
                            value_name(self.order),
                            value_name(value)
                        ),
                    ));
                }
            }
            OmNote::EquivocationSeen { .. } => self.detected = true,
            _ => {}
        }
    }

    fn on_crash(&mut self, w: &World, node: NodeId) {
        if w.now < self.decision_time && self.decided[node as usize].is_none() {
            self.faulty[node as usize] = true;
        }
    }

    fn on_quiet(&mut self, _w: &World, _out: &mut Vec<Violation>) {
        self.quiet = true;
    }

    fn on_deadline(&mut self, w: &World, out: &mut Vec<Violation>) {
        let missing: Vec<String> = self
            .expected(w)
            .filter(|&n| self.decided[n as usize].is_none())
            .map(|n| n.to_string())
            .collect();
        if !missing.is_empty() {
            out.push(Violation::new(
                w.now,
                property(&PROPERTIES, DECISION),
                format!(
                    "loyal lieutenants [{}] obey no order by the deadline",
                    missing.join(", ")
                ),
            ));
        }
    }

    fn done(&self) -> bool {
        // Every loyal lieutenant decides at the decision time or never:
        // after it, nothing more is expected.
        self.quiet
            && self.decided.iter().enumerate().all(|(n, d)| {
                d.is_some() || n as NodeId == self.commander || self.faulty[n] || !self.honest[n]
            })
    }

    fn finish(&mut self, w: &World, out: &mut Vec<Violation>) -> Outcome {
        let mut o = Outcome::with_capacity(5, 3);
        o.metrics.insert("rounds".into(), self.rounds as f64);
        o.metrics.insert("messages".into(), w.counts.sent as f64);
        if self.decisions > 0 {
            let mean = self.decision_t_sum as f64 / self.decisions as f64;
            o.metrics.insert("decision_ms".into(), mean / MS as f64);
            o.metrics.insert(
                "attack_ratio".into(),
                self.attack as f64 / self.decisions as f64,
            );
        }
        o.metrics
            .insert("agreement_violated".into(), self.violated as u32 as f64);
        let obey = |v: u8| -> u32 { self.decided.iter().filter(|d| **d == Some(v)).count() as u32 };
        o.facts.insert("attack".into(), obey(ATTACK).into());
        o.facts.insert("retreat".into(), obey(1 - ATTACK).into());
        o.facts.insert(
            "loyal_commander".into(),
            w.adversary.is_honest(self.commander).into(),
        );
        if self.liars && !self.detected {
            out.push(Violation::new(
                w.now,
                property(&PROPERTIES, EQUIVOCATION_DETECTED),
                "not reached: no loyal lieutenant held two values attributed to the commander"
                    .into(),
            ));
        }
        o
    }
}

