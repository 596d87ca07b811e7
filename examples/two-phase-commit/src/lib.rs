//! Two-phase commit (Gray 1978; Bernstein, Hadzilacos and Goodman 1987,
//! ch. 7) as an agentsim protocol written outside the agentsim crate: the
//! example of the README's "Write your own protocol".
//!
//! Node 0 coordinates; nodes 1.. are participants. Transactions arrive from
//! the scenario's workload at the coordinator, which logs their start,
//! sends `Prepare`, and decides: commit if every participant votes yes,
//! abort on a no or when the votes time out. A participant logs its vote
//! before sending it; one that voted yes is uncertain until it hears the
//! decision, and asks for it. Decisions are logged before they are sent and
//! resent until acknowledged. A coordinator that recovers aborts the
//! transactions it started but had not decided (presumed abort).
//!
//! Every answer that repeats logged state (a decision, a vote) is sent from
//! a callback that writes the log again: with a storage delay, writes
//! complete in order, so the answer leaves only once the state it repeats
//! is durable. Answering from a write still in flight is a real bug that
//! the storage model finds (a commit sent, then lost in a crash, then
//! presumed aborted).
//!
//! Properties: *atomicity* (no two nodes decide a transaction differently)
//! and *commit validity* (a commit only after every participant voted yes),
//! always; *decision* (every started transaction is decided by the
//! coordinator and by every participant that voted on it), eventually.
//! The broken setting `commit_on_timeout` commits when votes time out.

use agentsim::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The settings (`[protocol]` table, or `--param KEY=VALUE`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Probability that a participant votes no.
    pub no_ratio: f64,
    /// How long the coordinator waits for the votes before it aborts.
    pub vote_timeout: Dur,
    /// How often decisions are resent and uncertain participants ask.
    pub retry: Dur,
    /// Deliberately broken: commit when the votes time out.
    pub commit_on_timeout: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            no_ratio: 0.1,
            vote_timeout: Dur::from_ms(50),
            retry: Dur::from_ms(20),
            commit_on_timeout: false,
        }
    }
}

/// The messages.
#[derive(Clone, Debug, Hash, Serialize, Message)]
pub enum TxMsg {
    /// Coordinator: vote on transaction `t`.
    Prepare { t: u64 },
    /// Participant: its vote.
    Vote { t: u64, yes: bool },
    /// Coordinator: the outcome.
    Decision { t: u64, commit: bool },
    /// Participant: the decision is logged.
    Ack { t: u64 },
    /// An uncertain participant asks for the outcome.
    Query { t: u64 },
}

/// The one timer: resends, questions and vote deadlines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, TimerTag)]
pub enum TxTimer {
    /// Every `retry`.
    Tick,
}

/// The facts nodes report.
#[derive(Clone, Debug, Hash, Serialize, PartialEq)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum TxNote {
    /// The coordinator started `t`.
    Started { t: u64 },
    /// A participant voted.
    Voted { t: u64, yes: bool },
    /// A node decided.
    Decided { t: u64, commit: bool },
}

impl Note for TxNote {
    fn decided(&self) -> Option<Decision> {
        match self {
            TxNote::Decided { t, commit } => Some(Decision {
                instance: *t,
                value: if *commit { "commit" } else { "abort" }.into(),
            }),
            _ => None,
        }
    }
    fn tag(&self) -> Option<&'static str> {
        Some(match self {
            TxNote::Started { .. } => "started",
            TxNote::Voted { .. } => "voted",
            TxNote::Decided { .. } => "decided",
        })
    }
}

/// What survives a crash: the log.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Log {
    started: Vec<u64>,
    voted: BTreeMap<u64, bool>,
    decided: BTreeMap<u64, bool>,
}

/// A vote being collected by the coordinator.
struct Pending {
    yes: Vec<bool>,
    deadline: SimTime,
}

/// One node.
pub struct TwoPc {
    log: Log,
    pending: BTreeMap<u64, Pending>,
    /// Coordinator: participants that have not acknowledged a decision.
    unacked: BTreeMap<u64, Vec<NodeId>>,
    ticking: bool,
}

const COORDINATOR: NodeId = 0;

impl TwoPc {
    fn participants(ctx: &Ctx<'_, Self>) -> impl Iterator<Item = NodeId> {
        1..ctx.nodes()
    }

    fn tick_soon(&mut self, ctx: &mut Ctx<'_, Self>) {
        if !self.ticking {
            self.ticking = true;
            ctx.set_timer(TxTimer::Tick, ctx.config().retry.0);
        }
    }

    /// Coordinator: log and send the decision (once per transaction).
    fn decide(&mut self, ctx: &mut Ctx<'_, Self>, t: u64, commit: bool) {
        if self.log.decided.contains_key(&t) {
            return;
        }
        self.pending.remove(&t);
        self.log.decided.insert(t, commit);
        ctx.persist(self.log.clone());
        ctx.note(TxNote::Decided { t, commit });
        let all: Vec<NodeId> = Self::participants(ctx).collect();
        for &p in &all {
            ctx.send(p, TxMsg::Decision { t, commit });
        }
        self.unacked.insert(t, all);
        self.tick_soon(ctx);
    }

    fn coordinator_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: TxMsg) {
        match msg {
            TxMsg::Vote { t, yes } => {
                if let Some(&commit) = self.log.decided.get(&t) {
                    ctx.persist(self.log.clone());
                    ctx.send(from, TxMsg::Decision { t, commit });
                } else if !yes {
                    self.decide(ctx, t, false);
                } else if let Some(p) = self.pending.get_mut(&t) {
                    p.yes[from as usize] = true;
                    if p.yes[1..].iter().all(|&y| y) {
                        self.decide(ctx, t, true);
                    }
                }
            }
            TxMsg::Ack { t } => {
                if let Some(u) = self.unacked.get_mut(&t) {
                    u.retain(|&p| p != from);
                    if u.is_empty() {
                        self.unacked.remove(&t);
                    }
                }
            }
            TxMsg::Query { t } => match self.log.decided.get(&t) {
                Some(&commit) => {
                    ctx.persist(self.log.clone());
                    ctx.send(from, TxMsg::Decision { t, commit })
                }
                None if !self.pending.contains_key(&t) => self.decide(ctx, t, false),
                None => {}
            },
            TxMsg::Prepare { .. } | TxMsg::Decision { .. } => {}
        }
    }

    fn participant_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: TxMsg) {
        match msg {
            TxMsg::Prepare { t } => {
                let yes = match self.log.voted.get(&t) {
                    Some(&v) => {
                        ctx.persist(self.log.clone());
                        v
                    }
                    None => {
                        let no = ctx.config().no_ratio;
                        let yes = !ctx.rng().chance(no);
                        self.log.voted.insert(t, yes);
                        if !yes {
                            // A no vote aborts at once: nothing can commit.
                            self.log.decided.insert(t, false);
                        }
                        ctx.persist(self.log.clone());
                        ctx.note(TxNote::Voted { t, yes });
                        if !yes {
                            ctx.note(TxNote::Decided { t, commit: false });
                        }
                        yes
                    }
                };
                ctx.send(from, TxMsg::Vote { t, yes });
                if yes {
                    self.tick_soon(ctx);
                }
            }
            TxMsg::Decision { t, commit } => {
                if let std::collections::btree_map::Entry::Vacant(e) = self.log.decided.entry(t) {
                    e.insert(commit);
                    ctx.note(TxNote::Decided { t, commit });
                }
                ctx.persist(self.log.clone());
                ctx.send(from, TxMsg::Ack { t });
            }
            TxMsg::Vote { .. } | TxMsg::Ack { .. } | TxMsg::Query { .. } => {}
        }
    }
}

impl Protocol for TwoPc {
    type Config = Config;
    type Msg = TxMsg;
    type Timer = TxTimer;
    type Note = TxNote;
    type Durable = Log;

    fn init(_ctx: &mut Init<'_, Self>, log: &Log) -> Self {
        TwoPc {
            log: log.clone(),
            pending: BTreeMap::new(),
            unacked: BTreeMap::new(),
            ticking: false,
        }
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        if ctx.id() == COORDINATOR {
            // Presumed abort: what was started and not decided is aborted;
            // what was decided is resent (the acknowledgements were volatile).
            let open: Vec<u64> = self
                .log
                .started
                .iter()
                .copied()
                .filter(|t| !self.log.decided.contains_key(t))
                .collect();
            for t in open {
                self.decide(ctx, t, false);
            }
            let all: Vec<NodeId> = Self::participants(ctx).collect();
            for &t in self.log.decided.keys() {
                self.unacked.insert(t, all.clone());
            }
        }
        if !self.unacked.is_empty() || self.log.voted.len() > self.log.decided.len() {
            self.tick_soon(ctx);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: TxMsg) {
        if ctx.id() == COORDINATOR {
            self.coordinator_message(ctx, from, msg)
        } else {
            self.participant_message(ctx, from, msg)
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, _t: TxTimer) {
        self.ticking = false;
        if ctx.id() == COORDINATOR {
            let late: Vec<u64> = self
                .pending
                .iter()
                .filter(|(_, p)| p.deadline <= ctx.now())
                .map(|(&t, _)| t)
                .collect();
            for t in late {
                let commit = ctx.config().commit_on_timeout;
                self.decide(ctx, t, commit);
            }
            if !self.unacked.is_empty() {
                ctx.persist(self.log.clone());
            }
            for (&t, ps) in &self.unacked {
                let commit = self.log.decided[&t];
                for &p in ps {
                    ctx.send(p, TxMsg::Decision { t, commit });
                }
            }
            if !self.unacked.is_empty() || !self.pending.is_empty() {
                self.tick_soon(ctx);
            }
        } else {
            let uncertain: Vec<u64> = self
                .log
                .voted
                .keys()
                .copied()
                .filter(|t| !self.log.decided.contains_key(t))
                .collect();
            for &t in &uncertain {
                ctx.send(COORDINATOR, TxMsg::Query { t });
            }
            if !uncertain.is_empty() {
                self.tick_soon(ctx);
            }
        }
    }

    fn on_submit(&mut self, ctx: &mut Ctx<'_, Self>, sub: Submission) {
        if ctx.id() != COORDINATOR {
            return; // the workload targets the coordinator (`--target node:0`)
        }
        let t = sub.index;
        self.log.started.push(t);
        ctx.persist(self.log.clone());
        ctx.note(TxNote::Started { t });
        self.pending.insert(
            t,
            Pending {
                yes: vec![false; ctx.nodes() as usize],
                deadline: ctx.now() + ctx.config().vote_timeout.0,
            },
        );
        for p in Self::participants(ctx) {
            ctx.send(p, TxMsg::Prepare { t });
        }
        self.tick_soon(ctx);
    }
}

/// The properties' names.
pub const ATOMICITY: &str = "atomicity";
/// See [`ATOMICITY`].
pub const COMMIT_VALIDITY: &str = "commit validity";
/// See [`ATOMICITY`].
pub const DECISION: &str = "decision";

static PROPERTIES: [Property; 3] = [
    Property {
        name: ATOMICITY,
        kind: PropertyKind::Always,
        description: "no two nodes decide a transaction differently",
    },
    Property {
        name: COMMIT_VALIDITY,
        kind: PropertyKind::Always,
        description: "a transaction commits only after every participant voted yes",
    },
    Property {
        name: DECISION,
        kind: PropertyKind::Eventually,
        description: "after faults heal, every started transaction is decided by the coordinator and by every participant that voted on it",
    },
];

static METRICS: [MetricDef; 3] = [
    MetricDef {
        name: "committed",
        unit: "count",
        definition: "transactions the coordinator decided to commit",
    },
    MetricDef {
        name: "aborted",
        unit: "count",
        definition: "transactions the coordinator decided to abort",
    },
    MetricDef {
        name: "decision_ms_mean",
        unit: "ms",
        definition: "mean time from a transaction's start to the coordinator's decision",
    },
];

/// What the monitor knows of one transaction.
#[derive(Default)]
struct Tx {
    started: Option<SimTime>,
    yes: Vec<NodeId>,
    voters: Vec<NodeId>,
    decisions: Vec<(NodeId, bool)>,
    coordinator_at: Option<SimTime>,
}

/// Checks the properties from notes only, so any protocol reporting
/// [`TxNote`]s (another 2PC implementation) is checked the same way.
pub struct TxMonitor {
    nodes: u32,
    txs: BTreeMap<u64, Tx>,
    quiet: bool,
}

impl TxMonitor {
    fn all_decided(&self) -> bool {
        self.txs.values().all(|tx| {
            tx.started.is_none()
                || (tx.coordinator_at.is_some()
                    && tx
                        .voters
                        .iter()
                        .all(|v| tx.decisions.iter().any(|d| d.0 == *v)))
        })
    }
}

impl<P: Protocol<Note = TxNote>> Monitor<P> for TxMonitor {
    fn properties() -> &'static [Property] {
        &PROPERTIES
    }
    fn metrics() -> &'static [MetricDef] {
        &METRICS
    }
    fn new(init: &MonitorInit<'_, P>) -> Self {
        TxMonitor {
            nodes: init.nodes,
            txs: BTreeMap::new(),
            quiet: false,
        }
    }
    fn on_note(&mut self, w: &World, node: NodeId, note: &TxNote, out: &mut Vec<Violation>) {
        match *note {
            TxNote::Started { t } => {
                self.txs.entry(t).or_default().started.get_or_insert(w.now);
            }
            TxNote::Voted { t, yes } => {
                let tx = self.txs.entry(t).or_default();
                tx.voters.push(node);
                if yes {
                    tx.yes.push(node);
                }
            }
            TxNote::Decided { t, commit } => {
                let nodes = self.nodes;
                let tx = self.txs.entry(t).or_default();
                if let Some(&(other, c)) = tx.decisions.iter().find(|d| d.1 != commit) {
                    out.push(Violation::new(
                        w.now,
                        property(&PROPERTIES, ATOMICITY),
                        format!("transaction {t}: node {other} decided {c}, node {node} decided {commit} (true: commit)"),
                    ));
                }
                if commit && (1..nodes).any(|p| !tx.yes.contains(&p)) {
                    out.push(Violation::new(
                        w.now,
                        property(&PROPERTIES, COMMIT_VALIDITY),
                        format!(
                            "transaction {t} committed at node {node} with yes votes from only {:?} of participants 1..{nodes}",
                            tx.yes
                        ),
                    ));
                }
                tx.decisions.push((node, commit));
                if node == COORDINATOR {
                    tx.coordinator_at.get_or_insert(w.now);
                }
            }
        }
    }
    fn on_quiet(&mut self, _w: &World, _out: &mut Vec<Violation>) {
        self.quiet = true;
    }
    fn on_deadline(&mut self, w: &World, out: &mut Vec<Violation>) {
        if !self.all_decided() {
            let open: Vec<u64> = self
                .txs
                .iter()
                .filter(|(_, tx)| tx.started.is_some() && tx.coordinator_at.is_none())
                .map(|(&t, _)| t)
                .collect();
            out.push(Violation::new(
                w.now,
                property(&PROPERTIES, DECISION),
                format!("undecided at the deadline (coordinator): {open:?}"),
            ));
        }
    }
    fn done(&self) -> bool {
        // Done once faults are over; the workload's end is judged at the deadline.
        self.quiet && self.all_decided() && !self.txs.is_empty()
    }
    fn finish(&mut self, _w: &World, _out: &mut Vec<Violation>) -> Outcome {
        let mut o = Outcome::default();
        let coordinator = |tx: &Tx| {
            tx.decisions
                .iter()
                .find(|d| d.0 == COORDINATOR)
                .map(|d| d.1)
        };
        let committed = self
            .txs
            .values()
            .filter(|tx| coordinator(tx) == Some(true))
            .count();
        let aborted = self
            .txs
            .values()
            .filter(|tx| coordinator(tx) == Some(false))
            .count();
        o.metrics.insert("committed".into(), committed as f64);
        o.metrics.insert("aborted".into(), aborted as f64);
        let times: Vec<u64> = self
            .txs
            .values()
            .filter_map(|tx| Some(tx.coordinator_at? - tx.started?))
            .collect();
        if !times.is_empty() {
            let mean = times.iter().sum::<u64>() as f64 / times.len() as f64;
            o.metrics
                .insert("decision_ms_mean".into(), mean / MS as f64);
        }
        o
    }
}

/// The registration: what `Registry::with::<TwoPcSpec>()` adds.
pub struct TwoPcSpec;

impl Spec for TwoPcSpec {
    const NAME: &'static str = "2pc";
    const SUMMARY: &'static str =
        "Two-phase commit with presumed abort (an out-of-tree example protocol)";
    type Node = TwoPc;
    type Config = Config;
    type Monitor = TxMonitor;
    type Flags = NoFlags;

    fn validate(cfg: &Config, nodes: u32) -> Result<(), String> {
        if nodes < 2 {
            return Err(format!("nodes = {nodes} out of range (accepted: 2.. for 2pc, a coordinator and participants)"));
        }
        if !(0.0..=1.0).contains(&cfg.no_ratio) {
            return Err(format!(
                "2pc.no_ratio = {} out of range (accepted: 0..=1)",
                cfg.no_ratio
            ));
        }
        if cfg.retry.0 == 0 || cfg.vote_timeout.0 == 0 {
            return Err(
                "2pc.retry and 2pc.vote_timeout must be above 0 (accepted: a positive duration)"
                    .into(),
            );
        }
        Ok(())
    }
}
