//! Gossip's named properties and metrics, computed from notes in O(1) per note
//! (O(keys) per crash), with 4 bytes per node and key, so a million-node run
//! stays cheap.
//!
//! - **no invention** (always): a node only holds values some writer wrote. Every
//!   write is logged from its `Wrote` note (and the first update from the
//!   configuration); a `Learned` note of an unlogged `(key, version, value)` is a
//!   violation.
//! - **convergence** (eventually): after faults heal, every live node connected
//!   to a writer holds the latest version of every key. Judged at the liveness
//!   deadline, against, for each key, the newest version written at or before the
//!   quiet time that still exists (its writer is live or a live node holds it);
//!   a node may hold a newer one. Nodes in a live component of the topology that
//!   holds no copy of it and no live writer of it are not judged. Applies to
//!   anti-entropy, to rumor mongering with `removal = never`, and to rumor
//!   mongering with backup anti-entropy; plain rumor mongering may leave a
//!   residue by design.
//! - **a node missed the rumor** (sometimes): rumor mongering died out (no
//!   infective node left) while some live node had not heard the first update.
//!   A run where the rumor died after reaching everyone reports it as not reached.
//!
//! Metrics (rounds are `period` long; a receipt at time `t` is in round
//! `floor(t / period) + 1`): `rounds_to_full`, `time_to_full_ms` (until every
//! live node held the first update); `rounds_to_death`, `time_to_death_ms`
//! (until no infective node was left, rumor mongering); `receipt_round_mean`,
//! `receipt_round_last` (of the nodes informed by a message; the paper's
//! `t_ave`, `t_last`); `residue_ratio` (nodes never informed, over all nodes,
//! when the rumor died, or at the end); `informed_ratio`;
//! `necessary_msgs_per_node` (messages that first informed a node);
//! `converged_ms`, `converge_after_heal_ms` (when every live node last came to
//! hold the newest version of every key, and that time after the later of the
//! quiet time and the last write). Facts: `coverage`, the fraction of nodes
//! informed after each round (index 0: at time 0).

use super::{kind, Entry, Gossip, GossipMsg, GossipNote, Mode, Removal};
use crate::node::{Graph, Message, MetricDef, NodeId};
use crate::observe::{
    property, Monitor, MonitorInit, Outcome, Property, PropertyKind, SeriesDef, Violation, World,
};
use crate::time::{Dur, SimTime, MS};
use std::collections::BTreeMap;

/// The safety property.
pub const NO_INVENTION: &str = "no invention";
/// The liveness property.
pub const CONVERGENCE: &str = "convergence";
/// The reachability property.
pub const MISSED_RUMOR: &str = "a node missed the rumor";

static METRICS: [MetricDef; 15] = [
    MetricDef { name: "time_to_full_ms", unit: "ms", definition: "from time 0 until every live node held the first update" },
    MetricDef { name: "rounds_to_full", unit: "rounds", definition: "the round (period-long, round r ends at r × period) by which every live node held the first update; 0 if all held it at time 0" },
    MetricDef { name: "time_to_death_ms", unit: "ms", definition: "rumor mongering: from time 0 until no infective node was left" },
    MetricDef { name: "rounds_to_death", unit: "rounds", definition: "rumor mongering: time_to_death_ms in rounds, rounded up" },
    MetricDef { name: "receipt_round_mean", unit: "rounds", definition: "mean round in which nodes informed by a message received the first update (Demers et al.'s t_ave)" },
    MetricDef { name: "receipt_round_last", unit: "rounds", definition: "the last such round (Demers et al.'s t_last)" },
    MetricDef { name: "residue_ratio", unit: "ratio", definition: "rumor mongering: nodes never informed over all nodes, when the rumor died (or at the end)" },
    MetricDef { name: "informed_ratio", unit: "ratio", definition: "rumor mongering: nodes informed over all nodes at the end" },
    MetricDef { name: "necessary_msgs_per_node", unit: "messages/node", definition: "messages that first informed a node, over all nodes" },
    MetricDef { name: "writes", unit: "count", definition: "writes made by writers" },
    MetricDef { name: "converged_ms", unit: "ms", definition: "when every live node last came to hold the newest version of every key" },
    MetricDef { name: "converge_after_heal_ms", unit: "ms", definition: "converged_ms after the later of the quiet time (last fault) and the last write" },
    MetricDef { name: "msgs_per_node", unit: "messages/node", definition: "messages sent (every kind) over all nodes" },
    MetricDef { name: "update_msgs_per_node", unit: "messages/node", definition: "messages carrying an update (Rumor, State) over all nodes: the paper's traffic m" },
    MetricDef { name: "unnecessary_msgs_per_node", unit: "messages/node", definition: "update_msgs_per_node minus necessary_msgs_per_node" },
];

static SERIES: [SeriesDef; 1] = [SeriesDef {
    name: "coverage",
    unit: "ratio",
    definition: "value i: the fraction of nodes informed by the end of round i (i × period); value 0 at time 0",
}];

static PROPERTIES: [Property; 3] = [
    Property {
        name: NO_INVENTION,
        kind: PropertyKind::Always,
        description: "a node only holds values some writer wrote",
    },
    Property {
        name: CONVERGENCE,
        kind: PropertyKind::Eventually,
        description: "after faults heal, every live node connected to a writer holds the latest version of every key (anti-entropy, rumor spreading without removal, or with backup anti-entropy)",
    },
    Property {
        name: MISSED_RUMOR,
        kind: PropertyKind::Sometimes,
        description: "rumor mongering died out while a live node had not heard the rumor (a residue)",
    },
];

/// Low bits of a `held` word: the index of the write the node holds.
const IDX: u32 = 0x3FFF_FFFF;
/// Flag (in the key-0 word of a node): it has held the first update.
const INFORMED: u32 = 1 << 31;
/// Flag (in the key-0 word of a node): it is infective (including a pending removal).
const INFECTIVE: u32 = 1 << 30;

/// What the run is expected to do, which decides the properties judged and when it is done.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    AntiEntropy,
    /// Rumor mongering with `removal = never`: spreads to everyone.
    Spreading,
    /// Rumor mongering that dies out, without backup.
    Mongering,
    /// Rumor mongering with backup anti-entropy.
    MongeringBackup,
}

#[derive(Clone, Debug)]
struct Write {
    key: u32,
    entry: Entry,
    /// `None` for the first update of the configuration.
    writer: Option<NodeId>,
    t: SimTime,
}

/// Gossip's monitor: the properties and metrics of the module docs, from [`GossipNote`]s.
pub struct GossipMonitor {
    kind: Kind,
    n: u32,
    keys: u32,
    period: u64,
    /// The write log; index 0 is the empty entry of every key.
    writes: Vec<Write>,
    index: BTreeMap<(u32, Entry), u32>,
    /// Per key, the index of the newest write.
    newest: Vec<u32>,
    /// Per node and key, the index of the write it holds (and flags, on key 0).
    held: Vec<u32>,
    /// Per key, live nodes not holding the newest write.
    behind_by_key: Vec<u64>,
    behind: u64,
    live: u64,
    infective: u64,
    /// The first update (key, entry): the rumor whose coverage is measured.
    rumor: Option<(u32, Entry)>,
    informed: u64,
    informed_live: u64,
    /// Nodes informed by a message, by 0-based round.
    new_by_round: Vec<u64>,
    initially_informed: u64,
    receipts: u64,
    receipt_round_sum: u64,
    receipt_round_last: u64,
    full_at: Option<SimTime>,
    died_at: Option<SimTime>,
    residue_at_death: Option<f64>,
    missed: bool,
    writes_expected: u64,
    writes_seen: u64,
    last_write_t: SimTime,
    quiet_at: Option<SimTime>,
    converged_at: Option<SimTime>,
}

impl GossipMonitor {
    #[inline]
    fn word(&self, node: NodeId, key: u32) -> usize {
        node as usize * self.keys as usize + key as usize
    }

    #[inline]
    fn flag(&self, node: NodeId, f: u32) -> bool {
        self.held[self.word(node, 0)] & f != 0
    }

    #[inline]
    fn set_flag(&mut self, node: NodeId, f: u32, on: bool) {
        let w = self.word(node, 0);
        if on {
            self.held[w] |= f;
        } else {
            self.held[w] &= !f;
        }
    }

    /// Logs a write (or finds it) and returns its index.
    fn log_write(&mut self, key: u32, entry: Entry, writer: Option<NodeId>, t: SimTime) -> u32 {
        if let Some(&i) = self.index.get(&(key, entry)) {
            return i;
        }
        let i = self.writes.len() as u32;
        assert!(i <= IDX, "write log overflow");
        self.writes.push(Write {
            key,
            entry,
            writer,
            t,
        });
        self.index.insert((key, entry), i);
        let k = key as usize;
        if entry > self.writes[self.newest[k] as usize].entry {
            // Nobody holds it yet: every live node is behind on this key.
            self.newest[k] = i;
            self.behind = self.behind - self.behind_by_key[k] + self.live;
            self.behind_by_key[k] = self.live;
        }
        i
    }

    /// Node `node` (live) now holds write `idx` of `key`.
    fn hold(&mut self, node: NodeId, key: u32, idx: u32, now: SimTime) {
        let w = self.word(node, key);
        let old = self.held[w] & IDX;
        if old == idx {
            return;
        }
        self.held[w] = (self.held[w] & !IDX) | idx;
        let newest = self.newest[key as usize];
        let k = key as usize;
        if old == newest {
            self.behind_by_key[k] += 1;
            self.behind += 1;
        } else if idx == newest {
            self.behind_by_key[k] -= 1;
            self.behind -= 1;
            if self.behind == 0 {
                self.converged_at = Some(now);
            }
        }
    }

    /// Marks `node` informed if it now holds the first update (or newer).
    fn check_informed(&mut self, node: NodeId, key: u32, entry: Entry, now: SimTime) {
        let Some((rk, re)) = self.rumor else { return };
        if key != rk || entry < re || self.flag(node, INFORMED) {
            return;
        }
        self.set_flag(node, INFORMED, true);
        self.informed += 1;
        self.informed_live += 1;
        let r = now / self.period;
        if r as usize >= self.new_by_round.len() {
            self.new_by_round.resize(r as usize + 1, 0);
        }
        self.new_by_round[r as usize] += 1;
        self.receipts += 1;
        self.receipt_round_sum += r + 1;
        self.receipt_round_last = self.receipt_round_last.max(r + 1);
        self.check_full(now);
    }

    fn check_full(&mut self, now: SimTime) {
        if self.full_at.is_none() && self.rumor.is_some() && self.informed_live >= self.live {
            self.full_at = Some(now);
        }
    }

    fn set_infective(&mut self, node: NodeId, on: bool, now: SimTime) {
        if self.kind == Kind::AntiEntropy || self.flag(node, INFECTIVE) == on {
            return;
        }
        self.set_flag(node, INFECTIVE, on);
        if on {
            self.infective += 1;
        } else {
            self.infective -= 1;
            if self.infective == 0 {
                self.rumor_died(now);
            }
        }
    }

    /// No infective node is left.
    fn rumor_died(&mut self, now: SimTime) {
        if !matches!(self.kind, Kind::Mongering | Kind::MongeringBackup) || self.rumor.is_none() {
            return;
        }
        if self.informed_live < self.live {
            self.missed = true;
        }
        if self.died_at.is_none() {
            self.died_at = Some(now);
            self.residue_at_death = Some(1.0 - self.informed as f64 / self.n as f64);
        }
    }

    fn judges_convergence(&self) -> bool {
        self.kind != Kind::Mongering
    }

    /// The convergence judgement at the deadline: `(key, lacking, live judged, target, example)`.
    fn lagging(&self, w: &World) -> Option<(u32, u64, u64, u32, NodeId)> {
        let quiet = self.quiet_at.unwrap_or(0);
        let graph: Option<&Graph> = match w.graph {
            Graph::Complete { .. } => None,
            g => Some(g),
        };
        for key in 0..self.keys {
            // The newest version written by the quiet time that still exists.
            let mut target: u32 = 0;
            let better =
                |i: u32, t: u32| self.writes[i as usize].entry > self.writes[t as usize].entry;
            for (i, wr) in self.writes.iter().enumerate().skip(1) {
                if wr.key == key
                    && wr.t <= quiet
                    && wr.writer.is_some_and(|n| w.alive[n as usize])
                    && better(i as u32, target)
                {
                    target = i as u32;
                }
            }
            for node in 0..self.n {
                let i = self.held[self.word(node, key)] & IDX;
                if w.alive[node as usize] && self.writes[i as usize].t <= quiet && better(i, target)
                {
                    target = i;
                }
            }
            if target == 0 {
                continue;
            }
            let te = self.writes[target as usize].entry;
            let holds = |node: NodeId| {
                self.writes[(self.held[self.word(node, key)] & IDX) as usize].entry >= te
            };
            // Which live nodes can get it: those connected to a live copy or its live writer.
            let reach: Option<Vec<bool>> = graph.as_ref().map(|g| {
                let mut seen = vec![false; self.n as usize];
                let mut stack: Vec<NodeId> = (0..self.n)
                    .filter(|&v| {
                        w.alive[v as usize]
                            && (holds(v) || self.writes[target as usize].writer == Some(v))
                    })
                    .collect();
                for &v in &stack {
                    seen[v as usize] = true;
                }
                while let Some(v) = stack.pop() {
                    for u in g.peers(v).iter() {
                        if !seen[u as usize] && w.alive[u as usize] {
                            seen[u as usize] = true;
                            stack.push(u);
                        }
                    }
                }
                seen
            });
            let judged =
                |v: NodeId| w.alive[v as usize] && reach.as_ref().is_none_or(|r| r[v as usize]);
            let lacking: Vec<NodeId> = (0..self.n).filter(|&v| judged(v) && !holds(v)).collect();
            if let Some(&example) = lacking.first() {
                let live = (0..self.n).filter(|&v| judged(v)).count() as u64;
                return Some((key, lacking.len() as u64, live, target, example));
            }
        }
        None
    }
}

impl Monitor<Gossip> for GossipMonitor {
    fn metrics() -> &'static [MetricDef] {
        &METRICS
    }

    fn series() -> &'static [SeriesDef] {
        &SERIES
    }

    fn properties() -> &'static [Property] {
        &PROPERTIES
    }

    #[inline]
    fn prefetch(&self, node: NodeId) {
        crate::engine::prefetch(self.held.as_ptr().wrapping_add(self.word(node, 0)));
    }

    fn new(init: &MonitorInit<'_, Gossip>) -> Self {
        let cfg = init.config;
        let kind = match (cfg.mode, cfg.removal, cfg.backup_period.0 > 0) {
            (Mode::AntiEntropy, _, _) => Kind::AntiEntropy,
            (Mode::Rumor, Removal::Never, _) => Kind::Spreading,
            (Mode::Rumor, _, false) => Kind::Mongering,
            (Mode::Rumor, _, true) => Kind::MongeringBackup,
        };
        let n = init.nodes;
        let keys = cfg.keys;
        let mut m = GossipMonitor {
            kind,
            n,
            keys,
            period: cfg.period.0.max(1),
            writes: vec![Write {
                key: 0,
                entry: Entry::EMPTY,
                writer: None,
                t: 0,
            }],
            index: BTreeMap::new(),
            newest: vec![0; keys as usize],
            held: vec![0; n as usize * keys as usize],
            behind_by_key: vec![0; keys as usize],
            behind: 0,
            live: n as u64,
            infective: 0,
            rumor: None,
            informed: 0,
            informed_live: 0,
            new_by_round: Vec::new(),
            initially_informed: 0,
            receipts: 0,
            receipt_round_sum: 0,
            receipt_round_last: 0,
            full_at: None,
            died_at: None,
            residue_at_death: None,
            missed: false,
            writes_expected: cfg.writes_expected(),
            writes_seen: 0,
            last_write_t: 0,
            quiet_at: None,
            converged_at: None,
        };
        for k in 0..keys {
            m.index.insert((k, Entry::EMPTY), 0);
        }
        let informed = cfg.informed.min(n);
        if informed > 0 {
            // Mirrors `Gossip::init`: nodes 0..informed hold the first update.
            let i = m.log_write(0, Entry::FIRST, None, 0);
            m.rumor = Some((0, Entry::FIRST));
            for node in 0..informed {
                m.hold(node, 0, i, 0);
                m.set_flag(node, INFORMED, true);
                if cfg.mode == Mode::Rumor {
                    m.set_flag(node, INFECTIVE, true);
                }
            }
            m.informed = informed as u64;
            m.informed_live = informed as u64;
            m.initially_informed = informed as u64;
            if cfg.mode == Mode::Rumor {
                m.infective = informed as u64;
            }
            m.check_full(0);
        }
        m
    }

    fn on_note(&mut self, w: &World, node: NodeId, note: &GossipNote, out: &mut Vec<Violation>) {
        let now = w.now;
        match *note {
            GossipNote::Wrote {
                key,
                version,
                value,
            } => {
                let entry = Entry { version, value };
                let i = self.log_write(key, entry, Some(node), now);
                self.writes_seen += 1;
                self.last_write_t = now;
                self.hold(node, key, i, now);
                if self.rumor.is_none() {
                    // The first write is the rumor; its writer is its origin.
                    self.rumor = Some((key, entry));
                    self.set_flag(node, INFORMED, true);
                    self.informed = 1;
                    self.informed_live = 1;
                    self.initially_informed = 1;
                    self.check_full(now);
                } else {
                    self.check_informed(node, key, entry, now);
                }
                self.set_infective(node, true, now);
            }
            GossipNote::Learned {
                key,
                version,
                value,
                hot,
            } => {
                let entry = Entry { version, value };
                let Some(&i) = self.index.get(&(key, entry)) else {
                    out.push(Violation::new(
                        now,
                        property(&PROPERTIES, NO_INVENTION),
                        format!(
                            "node {node} holds key {key} version {version} value {value:#x}, which no writer wrote"
                        ),
                    ));
                    return;
                };
                self.hold(node, key, i, now);
                self.check_informed(node, key, entry, now);
                self.set_infective(node, hot, now);
            }
            GossipNote::Removed { .. } => self.set_infective(node, false, now),
        }
    }

    fn on_crash(&mut self, w: &World, node: NodeId) {
        self.live -= 1;
        for key in 0..self.keys {
            if self.held[self.word(node, key)] & IDX != self.newest[key as usize] {
                self.behind_by_key[key as usize] -= 1;
                self.behind -= 1;
            }
        }
        if self.behind == 0 {
            self.converged_at = Some(w.now);
        }
        if self.flag(node, INFORMED) {
            self.informed_live -= 1;
        }
        self.set_infective(node, false, w.now);
        self.check_full(w.now);
    }

    fn on_recover(&mut self, w: &World, node: NodeId) {
        // The store is durable: the node holds what it held. It forgot its hot
        // rumor, except in the simple epidemic, where knowing is being infective.
        self.live += 1;
        if self.kind == Kind::Spreading && self.held[self.word(node, 0)] & IDX != 0 {
            self.set_infective(node, true, w.now);
        }
        for key in 0..self.keys {
            if self.held[self.word(node, key)] & IDX != self.newest[key as usize] {
                self.behind_by_key[key as usize] += 1;
                self.behind += 1;
            }
        }
        if self.flag(node, INFORMED) {
            self.informed_live += 1;
        }
    }

    fn on_quiet(&mut self, w: &World, _out: &mut Vec<Violation>) {
        self.quiet_at = Some(w.now);
    }

    fn on_deadline(&mut self, w: &World, out: &mut Vec<Violation>) {
        if !self.judges_convergence() {
            return;
        }
        if let Some((key, lacking, live, target, example)) = self.lagging(w) {
            let t = &self.writes[target as usize];
            let by = match t.writer {
                Some(n) => format!("node {n} at {}", Dur(t.t).human()),
                None => "the initial configuration".into(),
            };
            let has = self.writes[(self.held[self.word(example, key)] & IDX) as usize].entry;
            out.push(Violation::new(
                w.now,
                property(&PROPERTIES, CONVERGENCE),
                format!(
                    "{lacking} of {live} live nodes lack key {key} version {} (written by {by}); e.g. node {example} holds version {}",
                    t.entry.version, has.version
                ),
            ));
        }
    }

    fn done(&self) -> bool {
        if self.writes_seen < self.writes_expected {
            return false;
        }
        match self.kind {
            Kind::AntiEntropy | Kind::Spreading => self.behind == 0,
            Kind::Mongering => self.infective == 0,
            Kind::MongeringBackup => self.infective == 0 && self.behind == 0,
        }
    }

    fn finish(&mut self, w: &World, out: &mut Vec<Violation>) -> Outcome {
        let mut o = Outcome::default();
        let ms = |t: SimTime| t as f64 / MS as f64;
        let p = self.period;
        let n = self.n.max(1) as f64;
        let m = &mut o.metrics;
        if let Some(t) = self.full_at {
            m.insert("time_to_full_ms".into(), ms(t));
            let rounds = if t == 0 { 0 } else { t / p + 1 };
            m.insert("rounds_to_full".into(), rounds as f64);
        }
        if let Some(t) = self.died_at {
            m.insert("time_to_death_ms".into(), ms(t));
            m.insert("rounds_to_death".into(), t.div_ceil(p) as f64);
        }
        if self.receipts > 0 {
            m.insert(
                "receipt_round_mean".into(),
                self.receipt_round_sum as f64 / self.receipts as f64,
            );
            m.insert("receipt_round_last".into(), self.receipt_round_last as f64);
        }
        let residue = self
            .residue_at_death
            .unwrap_or(1.0 - self.informed as f64 / n);
        if self.rumor.is_some() {
            m.insert("residue_ratio".into(), residue);
            m.insert("informed_ratio".into(), self.informed as f64 / n);
        }
        m.insert("necessary_msgs_per_node".into(), self.receipts as f64 / n);
        m.insert("writes".into(), self.writes_seen as f64);
        if self.behind == 0 {
            if let Some(t) = self.converged_at.or(Some(0)) {
                m.insert("converged_ms".into(), ms(t));
                let from = self.quiet_at.unwrap_or(0).max(self.last_write_t);
                m.insert("converge_after_heal_ms".into(), ms(t.saturating_sub(from)));
            }
        }
        // Coverage after each round: index r is the fraction informed by time r * period.
        let rounds = self.new_by_round.len();
        let mut cov = Vec::with_capacity(rounds + 1);
        let mut c = self.initially_informed;
        cov.push(c as f64 / n);
        for &k in &self.new_by_round {
            c += k;
            cov.push(c as f64 / n);
        }
        o.facts.insert("coverage".into(), serde_json::json!(cov));
        // Traffic, from the network's counters.
        let sent_kind = |k: usize| w.sent_by_kind[k] as f64;
        let updates = sent_kind(kind::RUMOR) + sent_kind(kind::STATE);
        // As `necessary_msgs_per_node` times n, to the same bits.
        let necessary = (self.receipts as f64 / n) * n;
        let m = &mut o.metrics;
        m.insert("msgs_per_node".into(), w.counts.sent as f64 / n);
        m.insert("update_msgs_per_node".into(), updates / n);
        m.insert(
            "unnecessary_msgs_per_node".into(),
            (updates - necessary).max(0.0) / n,
        );
        debug_assert_eq!(GossipMsg::KINDS.len(), w.sent_by_kind.len());
        o.facts.insert("informed".into(), self.informed.into());
        o.facts.insert("live".into(), self.live.into());
        if matches!(self.kind, Kind::Mongering | Kind::MongeringBackup)
            && self.died_at.is_some()
            && !self.missed
        {
            out.push(Violation::new(
                w.now,
                property(&PROPERTIES, MISSED_RUMOR),
                "not reached: the rumor died only after reaching every live node (no residue)"
                    .into(),
            ));
        }
        o
    }
}
