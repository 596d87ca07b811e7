//! Bracha's properties, as the paper states them (Bracha 1987, §2: "if the
//! sender is correct, all correct processes accept its value; if a correct
//! process accepts v, all correct processes accept v; each correct process
//! accepts at most once"), judged on honest nodes only:
//!
//! - **validity** (always): if the sender is honest, an honest node delivers
//!   only the sender's value.
//! - **agreement** (always): no two honest nodes deliver different values.
//! - **integrity** (always): an honest node delivers at most once.
//! - **totality** (eventually): if an honest node delivered, every live
//!   honest node delivers, after the last fault, within the liveness bound.
//! - **termination** (eventually): if the sender is honest and up, every
//!   live honest node delivers, likewise. With a Byzantine sender nothing
//!   need be delivered.
//! - **equivocation detected** (sometimes): an honest node received two
//!   different values for the one broadcast.
//!
//! Metrics: deliveries, latency, causal rounds, messages by kind.

use super::{BrachaConfig, BrachaMsg, BrachaNote};
use crate::node::{Message, MetricDef, NodeId, Protocol};
use crate::observe::{
    property, Monitor, MonitorInit, Outcome, Property, PropertyKind, Violation, World,
};
use crate::time::SimTime;

/// Property names.
pub const VALIDITY: &str = "validity";
/// Property names.
pub const AGREEMENT: &str = "agreement";
/// Property names.
pub const INTEGRITY: &str = "integrity";
/// Property names.
pub const TOTALITY: &str = "totality";
/// Property names.
pub const TERMINATION: &str = "termination";
/// Property names.
pub const EQUIVOCATION: &str = "equivocation detected";

static PROPERTIES: [Property; 6] = [
    Property {
        name: VALIDITY,
        kind: PropertyKind::Always,
        description: "if the sender is honest, honest nodes deliver only its value",
    },
    Property {
        name: AGREEMENT,
        kind: PropertyKind::Always,
        description: "no two honest nodes deliver different values",
    },
    Property {
        name: INTEGRITY,
        kind: PropertyKind::Always,
        description: "an honest node delivers at most once",
    },
    Property {
        name: TOTALITY,
        kind: PropertyKind::Eventually,
        description: "if an honest node delivered, every live honest node delivers, after the last fault within the liveness bound",
    },
    Property {
        name: TERMINATION,
        kind: PropertyKind::Eventually,
        description: "if the sender is honest and up, every live honest node delivers, after the last fault within the liveness bound",
    },
    Property {
        name: EQUIVOCATION,
        kind: PropertyKind::Sometimes,
        description: "an honest node received two different values for the one broadcast (the sender or another node lied)",
    },
];

static METRICS: [MetricDef; 12] = [
    MetricDef {
        name: "delivered_ratio",
        unit: "ratio",
        definition: "honest nodes that delivered, over the honest nodes",
    },
    MetricDef {
        name: "first_delivery_ms",
        unit: "ms",
        definition: "time from 0 until the first honest node delivered",
    },
    MetricDef {
        name: "delivery_ms",
        unit: "ms",
        definition: "time from 0 until the last honest node delivered, when every honest node did (the broadcast's latency)",
    },
    MetricDef {
        name: "rounds",
        unit: "rounds",
        definition: "largest causal depth of the ready that made an honest node deliver (Initial = 1; 3 in a fault-free run)",
    },
    MetricDef {
        name: "safety_violated",
        unit: "0/1",
        definition: "1 if validity, agreement or integrity was violated in the run",
    },
    MetricDef {
        name: "conflicts",
        unit: "count",
        definition: "honest nodes that received two different values (equivocation detected)",
    },
    MetricDef {
        name: "msgs_total",
        unit: "messages",
        definition: "messages sent, every kind, each copy of a broadcast counted",
    },
    MetricDef {
        name: "msgs_initial",
        unit: "messages",
        definition: "Initial messages sent",
    },
    MetricDef {
        name: "msgs_echo",
        unit: "messages",
        definition: "Echo messages sent",
    },
    MetricDef {
        name: "msgs_ready",
        unit: "messages",
        definition: "Ready messages sent",
    },
    MetricDef {
        name: "msgs_pull",
        unit: "messages",
        definition: "Pull (resend request) messages sent",
    },
    MetricDef {
        name: "msgs_per_node",
        unit: "messages/node",
        definition: "msgs_total over the number of nodes",
    },
];

/// Bracha's monitor.
pub struct BrachaMonitor {
    sender: NodeId,
    value: u64,
    sender_honest: bool,
    honest: Vec<bool>,
    honest_count: u32,
    alive: Vec<bool>,
    delivered: Vec<Option<u64>>,
    delivered_count: u32,
    first_value: Option<(u64, NodeId)>,
    first_delivery: Option<SimTime>,
    last_delivery: SimTime,
    rounds: u16,
    conflicts: u32,
    safety_violated: bool,
    quiet: bool,
    deadline_passed: bool,
}

impl BrachaMonitor {
    /// Every live honest node delivered.
    fn all_delivered(&self) -> bool {
        (0..self.honest.len())
            .all(|i| !self.honest[i] || !self.alive[i] || self.delivered[i].is_some())
    }

    /// Whether a delivery is still required of the live honest nodes.
    fn delivery_required(&self) -> bool {
        self.delivered_count > 0 || (self.sender_honest && self.alive[self.sender as usize])
    }

    fn safety(&mut self, w: &World, name: &str, detail: String, out: &mut Vec<Violation>) {
        self.safety_violated = true;
        out.push(Violation::new(w.now, property(&PROPERTIES, name), detail));
    }
}

impl<P: Protocol<Note = BrachaNote, Config = BrachaConfig, Msg = BrachaMsg>> Monitor<P>
    for BrachaMonitor
{
    fn properties() -> &'static [Property] {
        &PROPERTIES
    }

    fn metrics() -> &'static [MetricDef] {
        &METRICS
    }

    fn new(init: &MonitorInit<'_, P>) -> Self {
        let n = init.nodes as usize;
        let honest: Vec<bool> = (0..init.nodes).map(|i| init.adversary.is_honest(i)).collect();
        BrachaMonitor {
            sender: init.config.sender,
            value: init.config.value,
            sender_honest: init.adversary.is_honest(init.config.sender),
            honest_count: honest.iter().filter(|h| **h).count() as u32,
            honest,
            alive: vec![true; n],
            delivered: vec![None; n],
            delivered_count: 0,
            first_value: None,
            first_delivery: None,
            last_delivery: 0,
            rounds: 0,
            conflicts: 0,
            safety_violated: false,
            quiet: false,
            deadline_passed: false,
        }
    }

    fn on_note(&mut self, w: &World, node: NodeId, note: &BrachaNote, out: &mut Vec<Violation>) {
        let i = node as usize;
        if !self.honest[i] {
            return;
        }
        match *note {
            BrachaNote::Deliver { value, round } => {
                if let Some(before) = self.delivered[i] {
                    let d = format!("node {node} delivered {value} after delivering {before}");
                    self.safety(w, INTEGRITY, d, out);
                    return;
                }
                self.delivered[i] = Some(value);
                self.delivered_count += 1;
                self.first_delivery.get_or_insert(w.now);
                self.last_delivery = w.now;
                self.rounds = self.rounds.max(round);
                if self.sender_honest && value != self.value {
                    let d = format!(
                        "node {node} delivered {value}, but the honest sender {} sent {}",
                        self.sender, self.value
                    );
                    self.safety(w, VALIDITY, d, out);
                }
                match self.first_value {
                    None => self.first_value = Some((value, node)),
                    Some((v, by)) if v != value => {
                        let d = format!("node {by} delivered {v} and node {node} delivered {value}");
                        self.safety(w, AGREEMENT, d, out);
                    }
                    _ => {}
                }
            }
            BrachaNote::Conflict { .. } => self.conflicts += 1,
            _ => {}
        }
    }

    fn on_crash(&mut self, _w: &World, node: NodeId) {
        self.alive[node as usize] = false;
    }

    fn on_recover(&mut self, _w: &World, node: NodeId) {
        self.alive[node as usize] = true;
    }

    fn on_quiet(&mut self, _w: &World, _out: &mut Vec<Violation>) {
        self.quiet = true;
    }

    fn on_deadline(&mut self, w: &World, out: &mut Vec<Violation>) {
        self.deadline_passed = true;
        if !self.delivery_required() || self.all_delivered() {
            return;
        }
        let missing: Vec<String> = (0..w.nodes as usize)
            .filter(|&i| self.honest[i] && self.alive[i] && self.delivered[i].is_none())
            .map(|i| i.to_string())
            .collect();
        let (name, why) = if self.delivered_count > 0 {
            (TOTALITY, format!("{} honest nodes delivered", self.delivered_count))
        } else {
            (TERMINATION, format!("the sender {} is honest", self.sender))
        };
        out.push(Violation::new(
            w.now,
            property(&PROPERTIES, name),
            format!(
                "{why}, but live honest nodes [{}] had not delivered by the deadline",
                missing.join(", ")
            ),
        ));
    }

    fn done(&self) -> bool {
        // With nothing delivered and a Byzantine sender, something may still
        // come: wait for the deadline.
        self.quiet && ((self.delivery_required() && self.all_delivered()) || self.deadline_passed)
    }

    fn finish(&mut self, w: &World, out: &mut Vec<Violation>) -> Outcome {
        let mut o = Outcome::with_capacity(METRICS.len(), 1);
        let m = &mut o.metrics;
        m.insert(
            "delivered_ratio".into(),
            self.delivered_count as f64 / self.honest_count.max(1) as f64,
        );
        if let Some(t) = self.first_delivery {
            m.insert("first_delivery_ms".into(), super::ms(t));
            m.insert("rounds".into(), self.rounds as f64);
        }
        if self.delivered_count == self.honest_count && self.honest_count > 0 {
            m.insert("delivery_ms".into(), super::ms(self.last_delivery));
        }
        m.insert(
            "safety_violated".into(),
            if self.safety_violated { 1.0 } else { 0.0 },
        );
        m.insert("conflicts".into(), self.conflicts as f64);
        let kind = |name: &str| -> f64 {
            let i = BrachaMsg::KINDS
                .iter()
                .position(|k| *k == name)
                .expect("a kind of BrachaMsg");
            w.sent_by_kind.get(i).copied().unwrap_or(0) as f64
        };
        m.insert("msgs_total".into(), w.counts.sent as f64);
        m.insert("msgs_initial".into(), kind("Initial"));
        m.insert("msgs_echo".into(), kind("Echo"));
        m.insert("msgs_ready".into(), kind("Ready"));
        m.insert("msgs_pull".into(), kind("Pull"));
        m.insert(
            "msgs_per_node".into(),
            w.counts.sent as f64 / w.nodes.max(1) as f64,
        );
        let delivered = self.first_value.map(|(v, _)| serde_json::Value::from(v));
        o.facts.insert(
            "delivered".into(),
            delivered.unwrap_or(serde_json::Value::Null),
        );
        if self.conflicts == 0 {
            out.push(Violation::new(
                w.now,
                property(&PROPERTIES, EQUIVOCATION),
                "not reached: no honest node received two different values".into(),
            ));
        }
        o
    }
}
