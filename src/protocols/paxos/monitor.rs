//! Paxos's named properties and metrics, computed from notes.
//!
//! A value is *chosen* in a slot when a learner learns it (from a majority of
//! acceptances in one ballot, or from a learner that did); the ballot of the
//! first majority seen is the slot's *chosen ballot*.
//!
//! - **agreement** (always): no two learners learn different values for a slot.
//! - **validity** (always): a chosen value was proposed for its slot, and each
//!   command in it was submitted by a client.
//! - **learner consistency** (always): a learner never learns two values for
//!   one slot (across its crashes too).
//! - **chosen value stable** (always): once a value is chosen in a slot, every
//!   acceptance of that slot in the chosen ballot or a higher one carries it
//!   (§2.2's P2b), so no later majority can choose another. Acceptances are
//!   seen as their Accepted messages are delivered (sent once the acceptance
//!   is durable); one found at a delivery is reported with the next note.
//! - **commands chosen and executed** (eventually): after the last fault,
//!   within the liveness bound, once the workload is over: every command
//!   submitted whose proxy did not crash before it was chosen is chosen (and,
//!   single-decree with `own_value`, slot 0 is chosen); the chosen slots have
//!   no gap; in Multi-Paxos a live leader linked to a majority of acceptors is
//!   followed by every live node linked to it; and every live learner linked
//!   to a majority of acceptors has executed every chosen slot, in order,
//!   with the same digest.
//! - **proposers duel** (sometimes): two proposers preempt each other.
//! - **new leader finishes an open slot** (sometimes): a proposer adopts a
//!   value another proposer's ballot left accepted in a slot not yet chosen,
//!   and the slot is then chosen.
//!
//! A `sometimes` property is reported unreached only by a run where the case
//! could arise: *proposers duel* where two proposers were each preempted
//! twice or more, *new leader finishes an open slot* where some ballot was
//! preempted after it proposed (in phase 2).

use super::config::{Mode, PaxosConfig};
use super::msg::PaxosNote;
use super::types::{fold_digest, Ballot, SeqSet, Value};
use super::{Paxos, PaxosMsg};
use crate::node::{Message, MetricDef, NodeId};
use crate::observe::{
    property, Monitor, MonitorInit, Outcome, Property, PropertyKind, Violation, World,
};
use crate::protocols::quorum::majority;
use crate::time::{SimTime, MS, SEC};
use std::collections::VecDeque;

/// Safety: no two learners learn different values for a slot.
pub const AGREEMENT: &str = "agreement";
/// Safety: a chosen value was proposed.
pub const VALIDITY: &str = "validity";
/// Safety: a learner never learns two values for one slot.
pub const LEARNER_CONSISTENCY: &str = "learner consistency";
/// Safety: a chosen value never changes.
pub const CHOSEN_STABLE: &str = "chosen value stable";
/// Liveness: every command chosen and executed in the same order everywhere.
pub const EXECUTED: &str = "commands chosen and executed";
/// Reachability: two proposers preempt each other.
pub const DUEL: &str = "proposers duel";
/// Reachability: a new leader finishes a slot its predecessor left open.
pub const FINISHES_OPEN: &str = "new leader finishes an open slot";

static PROPERTIES: [Property; 7] = [
    Property {
        name: AGREEMENT,
        kind: PropertyKind::Always,
        description: "at most one value is chosen per slot: no two learners learn different values for a slot",
    },
    Property {
        name: VALIDITY,
        kind: PropertyKind::Always,
        description: "a chosen value was proposed for its slot, and each command in it was submitted by a client",
    },
    Property {
        name: LEARNER_CONSISTENCY,
        kind: PropertyKind::Always,
        description: "a learner never learns two values for one slot, across its crashes too",
    },
    Property {
        name: CHOSEN_STABLE,
        kind: PropertyKind::Always,
        description: "a chosen value never changes: every acceptance delivered for its slot in the chosen ballot or a higher one carries it",
    },
    Property {
        name: EXECUTED,
        kind: PropertyKind::Eventually,
        description: "after the last fault, within the liveness bound, once the workload is over: every command submitted (and not abandoned by a crash of its proxy) is chosen, the chosen slots have no gap, a Multi-Paxos leader is followed, and every live learner linked to a majority executed every chosen slot in the same order",
    },
    Property {
        name: DUEL,
        kind: PropertyKind::Sometimes,
        description: "two proposers preempt each other (judged on runs where two proposers were each preempted twice or more)",
    },
    Property {
        name: FINISHES_OPEN,
        kind: PropertyKind::Sometimes,
        description: "a proposer adopts a value another proposer's ballot left accepted in a slot not yet chosen, and the slot is then chosen (judged on runs where a ballot was preempted in phase 2)",
    },
];

/// Messages per chosen value by kind: one metric per message kind.
const PER_KIND: [&str; 11] = [
    "msgs_per_value_prepare",
    "msgs_per_value_promise",
    "msgs_per_value_accept",
    "msgs_per_value_accepted",
    "msgs_per_value_nack",
    "msgs_per_value_chosen",
    "msgs_per_value_heartbeat",
    "msgs_per_value_catch_up",
    "msgs_per_value_catch_up_reply",
    "msgs_per_value_request",
    "msgs_per_value_reply",
];

macro_rules! per_kind {
    ($($name:literal => $kind:literal),* $(,)?) => {
        [$(MetricDef {
            name: $name,
            unit: "messages/value",
            definition: concat!($kind, " messages sent (copies to oneself included) divided by decisions"),
        }),*]
    };
}

static KIND_METRICS: [MetricDef; 11] = per_kind![
    "msgs_per_value_prepare" => "Prepare",
    "msgs_per_value_promise" => "Promise",
    "msgs_per_value_accept" => "Accept",
    "msgs_per_value_accepted" => "Accepted",
    "msgs_per_value_nack" => "Nack",
    "msgs_per_value_chosen" => "Chosen",
    "msgs_per_value_heartbeat" => "Heartbeat",
    "msgs_per_value_catch_up" => "CatchUp",
    "msgs_per_value_catch_up_reply" => "CatchUpReply",
    "msgs_per_value_request" => "Request",
    "msgs_per_value_reply" => "Reply",
];

static BASE_METRICS: [MetricDef; 22] = [
    MetricDef {
        name: "first_decision_ms",
        unit: "ms",
        definition: "time from 0 until the first learner learned a chosen value",
    },
    MetricDef {
        name: "decided",
        unit: "ratio",
        definition: "1 if some value was chosen during the run, 0 if none was (undecided)",
    },
    MetricDef {
        name: "decisions",
        unit: "count",
        definition: "slots in which a value was chosen",
    },
    MetricDef {
        name: "ballots",
        unit: "count",
        definition: "ballots proposers started phase 1 with (Attempt notes)",
    },
    MetricDef {
        name: "ballots_per_decision",
        unit: "ballots/value",
        definition: "ballots divided by decisions",
    },
    MetricDef {
        name: "preemptions",
        unit: "count",
        definition: "ballots proposers gave up because an acceptor promised a higher one (a candidacy, an attempt or a leadership)",
    },
    MetricDef {
        name: "leaderships",
        unit: "count",
        definition: "Multi-Paxos: phase 1 won (Leader notes)",
    },
    MetricDef {
        name: "leader_changes",
        unit: "count",
        definition: "Multi-Paxos: leaderships won after the first",
    },
    MetricDef {
        name: "noop_fills",
        unit: "count",
        definition: "no-op proposals: Multi-Paxos, a new leader filling a slot no acceptor of its majority had accepted anything in; Single, an idle proposer finishing a slot in play",
    },
    MetricDef {
        name: "recovered_values",
        unit: "count",
        definition: "proposals whose value a proposer adopted from another proposer's accepted ballot (the phase-2 rule at work)",
    },
    MetricDef {
        name: "commands_submitted",
        unit: "count",
        definition: "commands clients submitted to a live node",
    },
    MetricDef {
        name: "commands_chosen",
        unit: "count",
        definition: "distinct submitted commands chosen in some slot",
    },
    MetricDef {
        name: "commands_answered",
        unit: "count",
        definition: "commands whose proxy received the answer",
    },
    MetricDef {
        name: "latency_ms_mean",
        unit: "ms",
        definition: "mean over chosen commands of the time from submission to the first learner learning it chosen",
    },
    MetricDef {
        name: "latency_ms_p50",
        unit: "ms",
        definition: "median of the per-command latency (submission to chosen)",
    },
    MetricDef {
        name: "latency_ms_p90",
        unit: "ms",
        definition: "90th percentile of the per-command latency (linear interpolation, type 7)",
    },
    MetricDef {
        name: "latency_ms_p99",
        unit: "ms",
        definition: "99th percentile of the per-command latency (linear interpolation, type 7)",
    },
    MetricDef {
        name: "latency_ms_max",
        unit: "ms",
        definition: "the longest per-command latency",
    },
    MetricDef {
        name: "throughput_per_s",
        unit: "commands/s",
        definition: "commands chosen between the first and the last submission, divided by that time",
    },
    MetricDef {
        name: "msgs_per_value",
        unit: "messages/value",
        definition: "messages sent (copies to oneself included) divided by decisions",
    },
    MetricDef {
        name: "msgs_per_command",
        unit: "messages/command",
        definition: "messages sent (copies to oneself included) divided by commands chosen",
    },
    MetricDef {
        name: "msgs_to_first_decision",
        unit: "count",
        definition: "messages sent (copies to oneself included) until the first learner learned a chosen value",
    },
];

fn all_metrics() -> &'static [MetricDef] {
    static ALL: std::sync::OnceLock<Vec<MetricDef>> = std::sync::OnceLock::new();
    ALL.get_or_init(|| {
        let mut v = BASE_METRICS.to_vec();
        v.extend_from_slice(&KIND_METRICS);
        v
    })
}

/// Up to one item inline, more in a vector: most slots see one value.
#[derive(Clone, Debug)]
struct Few<T> {
    first: Option<T>,
    more: Vec<T>,
}

impl<T> Default for Few<T> {
    fn default() -> Self {
        Few {
            first: None,
            more: Vec::new(),
        }
    }
}

impl<T: PartialEq> Few<T> {
    fn iter(&self) -> impl Iterator<Item = &T> {
        self.first.iter().chain(self.more.iter())
    }
    fn contains(&self, x: &T) -> bool {
        self.iter().any(|y| y == x)
    }
    fn add(&mut self, x: T) {
        if self.first.is_none() {
            self.first = Some(x);
        } else if !self.contains(&x) {
            self.more.push(x);
        }
    }
}

/// A chosen slot: its value, and the ballot of the first majority a
/// learner saw ([`Ballot::NONE`] until one says).
struct Chosen {
    value: Value,
    ballot: Ballot,
}

/// A slot not chosen yet (or whose chosen ballot is not known yet): what was
/// proposed and accepted there.
#[derive(Default)]
struct Open {
    accepts: Few<(Ballot, Value)>,
    proposed: Few<Value>,
    /// A proposer adopted another proposer's value here.
    recovered: bool,
}

/// `Sub::chosen_at` of a command not chosen.
const NEVER: SimTime = SimTime::MAX;

struct Sub {
    t: SimTime,
    /// When it was first chosen ([`NEVER`] if not).
    chosen_at: SimTime,
    proxy: NodeId,
    /// Still required by the liveness property (its proxy did not crash
    /// before it was chosen).
    required: bool,
    answered: bool,
}

/// Paxos's monitor.
pub struct PaxosMonitor {
    mode: Mode,
    own_value: bool,
    acceptors: u32,
    learners: u32,
    /// Per slot, the value chosen.
    chosen: Vec<Option<Chosen>>,
    /// Slots with proposals or acceptances and no chosen value (or no chosen
    /// ballot) yet, from slot `open_base` on (a window: slots close in
    /// about the order they open).
    open: VecDeque<Option<Open>>,
    open_base: u64,
    /// Slots chosen in a row from 0.
    prefix: u64,
    /// `digests[i]`: the digest after executing slots `0..i`.
    digests: Vec<u64>,
    executed: SeqSet,
    decisions: u64,
    learned: Vec<SeqSet>,
    applied: Vec<(u64, u64)>,
    subs: Vec<Option<Sub>>,
    pending_by_proxy: Vec<Vec<u64>>,
    required_unchosen: u64,
    latencies: Vec<SimTime>,
    first_sub: Option<SimTime>,
    last_sub: SimTime,
    first_decision: Option<SimTime>,
    msgs_to_first: Option<u64>,
    ballots: u64,
    preemptions: u64,
    leaderships: u64,
    noop_fills: u64,
    recovered: u64,
    commands_chosen: u64,
    answered: u64,
    /// Per proposer, ballots it gave up.
    preempted_by_node: Vec<u32>,
    /// Ballots that reached phase 2.
    proposing: Vec<Ballot>,
    /// A ballot was given up after it proposed (phase 2 preempted).
    preempted_in_phase2: bool,
    preempt_pairs: Vec<(NodeId, NodeId)>,
    duel: bool,
    finished_open: bool,
    leading: Vec<Option<Ballot>>,
    follows: Vec<Option<(NodeId, Ballot)>>,
    quiet: bool,
    satisfied: bool,
    /// A violation found where it cannot be reported (a delivery): reported
    /// with the next note, or at the end, with the time it was found.
    deferred: Option<Violation>,
    /// After the quiet time: the live learners linked to a majority of acceptors.
    eligible: Option<Vec<bool>>,
}

impl PaxosMonitor {
    /// The open entry of `slot` (created if needed).
    fn open_mut(&mut self, slot: u64) -> &mut Open {
        if self.open.is_empty() {
            self.open_base = slot;
        } else if slot < self.open_base {
            for _ in slot..self.open_base {
                self.open.push_front(None);
            }
            self.open_base = slot;
        }
        let i = (slot - self.open_base) as usize;
        if i >= self.open.len() {
            self.open.resize_with(i + 1, || None);
        }
        self.open[i].get_or_insert_with(Open::default)
    }

    /// The open entry of `slot`, if there is one.
    fn open_of(&self, slot: u64) -> Option<&Open> {
        let i = slot.checked_sub(self.open_base)?;
        self.open.get(i as usize).and_then(|o| o.as_ref())
    }

    /// Closes the entry of `slot` (chosen, with its ballot), returning it.
    fn close(&mut self, slot: u64) -> Option<Open> {
        let i = slot.checked_sub(self.open_base)?;
        let o = self.open.get_mut(i as usize)?.take();
        while let Some(None) = self.open.front() {
            self.open.pop_front();
            self.open_base += 1;
        }
        o
    }

    /// The chosen value of `slot`, if any.
    fn chosen_of(&self, slot: u64) -> Option<&Chosen> {
        self.chosen.get(slot as usize).and_then(|c| c.as_ref())
    }

    /// The chosen slots in a row grow: extend the expected digests.
    fn advance_prefix(&mut self) {
        while let Some(Some(c)) = self.chosen.get(self.prefix as usize) {
            let mut d = *self.digests.last().expect("digest of the empty log");
            for c in c.value.cmds() {
                if self.executed.insert(c.seq) {
                    d = fold_digest(d, c);
                }
            }
            self.digests.push(d);
            self.prefix += 1;
        }
    }

    fn on_learned(
        &mut self,
        w: &World,
        node: NodeId,
        slot: u64,
        value: &Value,
        ballot: Option<Ballot>,
        out: &mut Vec<Violation>,
    ) {
        let again = !self.learned[node as usize].insert(slot);
        let now = w.now;
        let Some(chosen) = self.chosen_of(slot) else {
            // The first learner to learn this slot: the value is chosen.
            let open = self.open_of(slot);
            if !open.is_some_and(|o| o.proposed.contains(value)) {
                out.push(Violation::new(
                    now,
                    property(&PROPERTIES, VALIDITY),
                    format!("node {node} learned {value} in slot {slot}, which no proposer proposed there"),
                ));
            }
            self.finished_open |= open.is_some_and(|o| o.recovered);
            let i = slot as usize;
            if i >= self.chosen.len() {
                self.chosen.resize_with(i + 1, || None);
            }
            self.chosen[i] = Some(Chosen {
                value: value.clone(),
                ballot: Ballot::NONE,
            });
            self.decisions += 1;
            if self.first_decision.is_none() {
                self.first_decision = Some(now);
                self.msgs_to_first = Some(w.counts.sent);
            }
            for c in value.cmds() {
                match self.subs.get_mut(c.seq as usize).and_then(|s| s.as_mut()) {
                    None => out.push(Violation::new(
                        now,
                        property(&PROPERTIES, VALIDITY),
                        format!(
                            "node {node} learned command c{}.{} in slot {slot}, which no client submitted",
                            c.client, c.seq
                        ),
                    )),
                    Some(sub) if sub.chosen_at == NEVER => {
                        sub.chosen_at = now;
                        self.commands_chosen += 1;
                        self.latencies.push(now - sub.t);
                        if sub.required {
                            sub.required = false;
                            self.required_unchosen -= 1;
                        }
                    }
                    Some(_) => {}
                }
            }
            if let Some(b) = ballot {
                self.set_chosen_ballot(w, slot, b, out);
            }
            self.advance_prefix();
            return;
        };
        if chosen.value != *value {
            let c = &chosen.value;
            let (p, what) = if again {
                (
                    LEARNER_CONSISTENCY,
                    format!("node {node} learned {value} in slot {slot}, having learned {c} there"),
                )
            } else {
                (
                    AGREEMENT,
                    format!("node {node} learned {value} in slot {slot}, where {c} was chosen"),
                )
            };
            out.push(Violation::new(now, property(&PROPERTIES, p), what));
            return;
        }
        if let Some(b) = ballot {
            self.set_chosen_ballot(w, slot, b, out);
        }
    }

    /// A majority accepted the slot's value in `b` (the first majority a
    /// learner saw): every acceptance in `b` or above must carry it.
    fn set_chosen_ballot(&mut self, w: &World, slot: u64, b: Ballot, out: &mut Vec<Violation>) {
        let c = self.chosen[slot as usize].as_mut().expect("chosen");
        if c.ballot.is_some() {
            return;
        }
        c.ballot = b;
        let Some(open) = self.close(slot) else {
            return;
        };
        let chosen = &self.chosen[slot as usize].as_ref().expect("chosen").value;
        let bad = open
            .accepts
            .iter()
            .find(|(ab, av)| *ab >= b && av != chosen)
            .cloned();
        if let Some((ab, av)) = bad {
            out.push(Violation::new(
                w.now,
                property(&PROPERTIES, CHOSEN_STABLE),
                format!(
                    "{chosen} was chosen in slot {slot} in ballot {b}, but {av} was accepted there in ballot {ab}"
                ),
            ));
        }
    }

    fn on_accepted(
        &mut self,
        w: &World,
        node: NodeId,
        slot: u64,
        ballot: Ballot,
        value: &Value,
        out: &mut Vec<Violation>,
    ) {
        if let Some(c) = self.chosen_of(slot) {
            if c.ballot.is_some() {
                if ballot >= c.ballot && c.value != *value {
                    out.push(Violation::new(
                        w.now,
                        property(&PROPERTIES, CHOSEN_STABLE),
                        format!(
                            "node {node} accepted {value} in slot {slot} in ballot {ballot}, but {} was chosen there in ballot {}",
                            c.value, c.ballot
                        ),
                    ));
                }
                return;
            }
        }
        self.open_mut(slot).accepts.add((ballot, value.clone()));
    }

    /// A learner executed every slot below `upto`, with `digest`.
    fn on_applied(
        &mut self,
        w: &World,
        node: NodeId,
        upto: u64,
        digest: u64,
        out: &mut Vec<Violation>,
    ) {
        self.applied[node as usize] = (upto, digest);
        if let Some(&want) = self.digests.get(upto as usize) {
            if want != digest {
                out.push(Violation::new(
                    w.now,
                    property(&PROPERTIES, EXECUTED),
                    format!(
                        "node {node} executed slots 0..{upto} with digest {digest:016x}, not {want:016x}: another order or another deduplication"
                    ),
                ));
            }
        }
    }

    /// The Multi-Paxos leader: the live node of the highest leading ballot, if
    /// it is linked to a majority of acceptors and every live node linked to
    /// it follows it.
    fn stable_leader(&self, w: &World) -> Option<NodeId> {
        let (l, b) = (0..w.nodes)
            .filter(|&n| w.alive[n as usize])
            .filter_map(|n| self.leading[n as usize].map(|b| (n, b)))
            .max_by_key(|&(_, b)| b)?;
        let reach = (0..self.acceptors)
            .filter(|&a| w.alive[a as usize] && w.linked(l, a))
            .count() as u32;
        if reach < majority(self.acceptors) {
            return None;
        }
        let all = (0..w.nodes)
            .filter(|&n| n != l && w.alive[n as usize] && w.linked(l, n))
            .all(|n| self.follows[n as usize] == Some((l, b)));
        all.then_some(l)
    }

    /// After the quiet time: the live learners linked to a majority of
    /// acceptors (computed once: links and liveness no longer change).
    fn eligible(&mut self, w: &World) {
        if self.eligible.is_some() {
            return;
        }
        let (acceptors, learners) = (self.acceptors, self.learners);
        self.eligible = Some(
            (0..w.nodes)
                .map(|n| {
                    n < learners
                        && w.alive[n as usize]
                        && (0..acceptors)
                            .filter(|&a| w.alive[a as usize] && w.linked(n, a))
                            .count() as u32
                            >= majority(acceptors)
                })
                .collect(),
        );
    }

    /// What the liveness property still waits for, or `None` when it holds.
    fn missing(&mut self, w: &World) -> Option<Missing> {
        if !w.workload_over {
            return Some(Missing::Workload);
        }
        if self.mode == Mode::Single
            && self.own_value
            && self.chosen_of(0).is_none()
        {
            return Some(Missing::SlotZero);
        }
        if self.required_unchosen > 0 {
            return Some(Missing::Commands(self.required_unchosen));
        }
        if self.decisions != self.prefix {
            return Some(Missing::Gap(self.prefix, self.decisions));
        }
        let want = (self.prefix, *self.digests.last().expect("digest"));
        self.eligible(w);
        let eligible = self.eligible.as_deref().expect("computed");
        for (n, &ok) in eligible.iter().enumerate() {
            if ok && self.applied[n] != want {
                return Some(Missing::Executed(n as NodeId, self.applied[n].0, want.0));
            }
        }
        if self.mode == Mode::Multi && self.stable_leader(w).is_none() {
            return Some(Missing::Leader);
        }
        None
    }

    fn check(&mut self, w: &World) {
        if self.quiet && !self.satisfied && self.missing(w).is_none() {
            self.satisfied = true;
        }
    }
}

/// What the liveness property waits for.
enum Missing {
    Workload,
    SlotZero,
    Commands(u64),
    Gap(u64, u64),
    Executed(NodeId, u64, u64),
    Leader,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Missing::Workload => f.write_str("the workload is not over"),
            Missing::SlotZero => f.write_str("no value chosen in slot 0"),
            Missing::Commands(k) => write!(f, "{k} submitted commands not chosen"),
            Missing::Gap(slot, k) => write!(f, "slot {slot} not chosen, though {k} slots are"),
            Missing::Executed(n, done, of) => {
                write!(f, "node {n} executed {done} of {of} chosen slots")
            }
            Missing::Leader => f.write_str(
                "no leader linked to a majority and followed by every live node linked to it",
            ),
        }
    }
}

impl Monitor<Paxos> for PaxosMonitor {
    fn properties() -> &'static [Property] {
        &PROPERTIES
    }

    fn metrics() -> &'static [MetricDef] {
        all_metrics()
    }

    fn new(init: &MonitorInit<'_, Paxos>) -> Self {
        let cfg: &PaxosConfig = init.config;
        let n = init.nodes;
        let proposers = cfg.proposer_count(n);
        let learners = if cfg.learners == 0 {
            n
        } else {
            cfg.learners.max(proposers)
        };
        PaxosMonitor {
            mode: cfg.mode,
            own_value: cfg.own_value,
            acceptors: cfg.acceptor_count(n),
            learners,
            chosen: Vec::new(),
            open: VecDeque::new(),
            open_base: 0,
            prefix: 0,
            digests: vec![0],
            executed: SeqSet::default(),
            decisions: 0,
            learned: vec![SeqSet::default(); n as usize],
            applied: vec![(0, 0); n as usize],
            subs: Vec::new(),
            pending_by_proxy: vec![Vec::new(); n as usize],
            required_unchosen: 0,
            latencies: Vec::new(),
            first_sub: None,
            last_sub: 0,
            first_decision: None,
            msgs_to_first: None,
            ballots: 0,
            preemptions: 0,
            leaderships: 0,
            noop_fills: 0,
            recovered: 0,
            commands_chosen: 0,
            answered: 0,
            preempted_by_node: vec![0; n as usize],
            proposing: Vec::new(),
            preempted_in_phase2: false,
            preempt_pairs: Vec::new(),
            duel: false,
            finished_open: false,
            leading: vec![None; n as usize],
            follows: vec![None; n as usize],
            quiet: false,
            satisfied: false,
            deferred: None,
            eligible: None,
        }
    }

    fn on_note(&mut self, w: &World, node: NodeId, note: &PaxosNote, out: &mut Vec<Violation>) {
        if let Some(v) = self.deferred.take() {
            out.push(v);
        }
        let i = node as usize;
        match note {
            PaxosNote::Attempt { .. } => self.ballots += 1,
            PaxosNote::Preempted { ballot, by, .. } => {
                self.preemptions += 1;
                self.preempted_by_node[ballot.node as usize] += 1;
                self.preempted_in_phase2 |= self.proposing.contains(ballot);
                let pair = (ballot.node, by.node);
                if pair.0 != pair.1 && !self.preempt_pairs.contains(&pair) {
                    self.duel |= self.preempt_pairs.contains(&(pair.1, pair.0));
                    self.preempt_pairs.push(pair);
                }
            }
            PaxosNote::Proposed {
                slot,
                ballot,
                value,
                recovered,
            } => {
                if *value == Value::Noop && recovered.is_none() {
                    self.noop_fills += 1;
                }
                if self.proposing.last() != Some(ballot) && !self.proposing.contains(ballot) {
                    self.proposing.push(*ballot);
                }
                if let Some(b) = recovered {
                    if b.node != ballot.node {
                        self.recovered += 1;
                    }
                }
                if self.chosen_of(*slot).is_none() {
                    let o = self.open_mut(*slot);
                    o.proposed.add(value.clone());
                    o.recovered |= recovered.is_some_and(|b| b.node != ballot.node);
                }
            }
            PaxosNote::Learned {
                slot,
                value,
                ballot,
                applied,
                digest,
            } => {
                self.on_learned(w, node, *slot, value, *ballot, out);
                self.on_applied(w, node, *applied, *digest, out);
            }
            PaxosNote::Applied { upto, digest } => self.on_applied(w, node, *upto, *digest, out),
            PaxosNote::Leader { ballot } => {
                self.leaderships += 1;
                self.leading[i] = Some(*ballot);
                self.follows[i] = Some((node, *ballot));
            }
            PaxosNote::SteppedDown { .. } => {
                self.leading[i] = None;
                self.follows[i] = None;
            }
            PaxosNote::Following { leader, ballot } => {
                self.follows[i] = Some((*leader, *ballot));
            }
            PaxosNote::Submitted { seq, .. } => {
                let k = *seq as usize;
                if k >= self.subs.len() {
                    self.subs.resize_with(k + 1, || None);
                }
                self.subs[k] = Some(Sub {
                    t: w.now,
                    proxy: node,
                    chosen_at: NEVER,
                    required: true,
                    answered: false,
                });
                self.required_unchosen += 1;
                self.pending_by_proxy[i].push(*seq);
                self.first_sub.get_or_insert(w.now);
                self.last_sub = w.now;
            }
            PaxosNote::Answered { seq, .. } => {
                if let Some(Some(s)) = self.subs.get_mut(*seq as usize) {
                    if !s.answered {
                        s.answered = true;
                        self.answered += 1;
                    }
                }
            }
        }
        if self.quiet && !self.satisfied {
            self.check(w);
        }
    }

    /// An acceptance reaches a learner or the leader: it left its acceptor
    /// after the acceptance was durable. Checked against the chosen value.
    #[inline]
    fn on_deliver(&mut self, w: &World, from: NodeId, _to: NodeId, msg: &PaxosMsg) {
        if let PaxosMsg::Accepted {
            ballot,
            slot,
            value,
        } = msg
        {
            let mut found = Vec::new();
            self.on_accepted(w, from, *slot, *ballot, value, &mut found);
            if self.deferred.is_none() {
                self.deferred = found.pop();
            }
        }
    }

    fn on_crash(&mut self, w: &World, node: NodeId) {
        let i = node as usize;
        self.leading[i] = None;
        self.follows[i] = None;
        self.applied[i] = (0, 0);
        self.eligible = None;
        // The node's clients crash with it: their open commands are abandoned.
        for seq in std::mem::take(&mut self.pending_by_proxy[i]) {
            if let Some(Some(s)) = self.subs.get_mut(seq as usize) {
                if s.required && s.proxy == node {
                    s.required = false;
                    self.required_unchosen -= 1;
                }
            }
        }
        self.check(w);
    }

    fn on_recover(&mut self, _w: &World, node: NodeId) {
        self.eligible = None;
        self.applied[node as usize] = (0, 0);
    }

    fn on_quiet(&mut self, w: &World, out: &mut Vec<Violation>) {
        if let Some(v) = self.deferred.take() {
            out.push(v);
        }
        self.quiet = true;
        self.eligible = None;
        self.check(w);
    }

    fn on_deadline(&mut self, w: &World, out: &mut Vec<Violation>) {
        if let Some(v) = self.deferred.take() {
            out.push(v);
        }
        self.check(w);
        if !self.satisfied {
            let why = self.missing(w).map(|m| m.to_string()).unwrap_or_default();
            out.push(Violation::new(
                w.now,
                property(&PROPERTIES, EXECUTED),
                format!("by the deadline: {why}"),
            ));
        }
    }

    fn done(&self) -> bool {
        self.satisfied
    }

    fn finish(&mut self, w: &World, out: &mut Vec<Violation>) -> Outcome {
        if let Some(v) = self.deferred.take() {
            out.push(v);
        }
        let mut o = Outcome::with_capacity(all_metrics().len(), 3);
        let ms = |t: SimTime| t as f64 / MS as f64;
        let m = &mut o.metrics;
        if let Some(t) = self.first_decision {
            m.insert("first_decision_ms".into(), ms(t));
        }
        if let Some(k) = self.msgs_to_first {
            m.insert("msgs_to_first_decision".into(), k as f64);
        }
        m.insert("decided".into(), (self.decisions > 0) as u8 as f64);
        m.insert("decisions".into(), self.decisions as f64);
        m.insert("ballots".into(), self.ballots as f64);
        m.insert("preemptions".into(), self.preemptions as f64);
        if self.mode == Mode::Multi {
            m.insert("leaderships".into(), self.leaderships as f64);
            m.insert(
                "leader_changes".into(),
                self.leaderships.saturating_sub(1) as f64,
            );
        }
        m.insert("noop_fills".into(), self.noop_fills as f64);
        m.insert("recovered_values".into(), self.recovered as f64);
        let subs = self.subs.iter().flatten().count() as f64;
        if subs > 0.0 {
            m.insert("commands_submitted".into(), subs);
            m.insert("commands_chosen".into(), self.commands_chosen as f64);
            m.insert("commands_answered".into(), self.answered as f64);
        }
        if !self.latencies.is_empty() {
            let l = &mut self.latencies;
            let n = l.len();
            let mean = l.iter().map(|&t| t as f64).sum::<f64>() / n as f64 / MS as f64;
            m.insert("latency_ms_mean".into(), mean);
            // Type 7 quantiles from the two order statistics around
            // (n - 1) p, found by selection (no full sort).
            let mut quantile = |p: f64| {
                let h = (n - 1) as f64 * p;
                let lo = libm::floor(h) as usize;
                let a = *l.select_nth_unstable(lo).1;
                if lo + 1 >= n {
                    return ms(a);
                }
                let b = *l[lo + 1..].iter().min().expect("above lo");
                ms(a) + (h - lo as f64) * (ms(b) - ms(a))
            };
            m.insert("latency_ms_p50".into(), quantile(0.5));
            m.insert("latency_ms_p90".into(), quantile(0.9));
            m.insert("latency_ms_p99".into(), quantile(0.99));
            m.insert("latency_ms_max".into(), quantile(1.0));
        }
        if let Some(first) = self.first_sub {
            if self.last_sub > first {
                let last = self.last_sub;
                let chosen_in = self
                    .subs
                    .iter()
                    .flatten()
                    .filter(|s| s.chosen_at <= last)
                    .count();
                m.insert(
                    "throughput_per_s".into(),
                    chosen_in as f64 * SEC as f64 / (self.last_sub - first) as f64,
                );
            }
        }
        if self.decisions > 0 {
            let d = self.decisions as f64;
            m.insert("msgs_per_value".into(), w.counts.sent as f64 / d);
            if self.ballots > 0 {
                m.insert("ballots_per_decision".into(), self.ballots as f64 / d);
            }
            debug_assert_eq!(PaxosMsg::KINDS.len(), PER_KIND.len());
            for (k, name) in PER_KIND.iter().enumerate() {
                m.insert((*name).into(), w.sent_by_kind[k] as f64 / d);
            }
        }
        if self.commands_chosen > 0 {
            m.insert(
                "msgs_per_command".into(),
                w.counts.sent as f64 / self.commands_chosen as f64,
            );
        }
        o.facts.insert("chosen_slots".into(), self.prefix.into());
        if self.mode == Mode::Single && self.own_value {
            let v = self.chosen_of(0).map(|c| c.value.to_string());
            o.facts.insert(
                "value".into(),
                v.map_or(serde_json::Value::Null, |v| v.into()),
            );
        }
        if self.mode == Mode::Multi {
            o.facts.insert(
                "leader".into(),
                self.stable_leader(w)
                    .map_or(serde_json::Value::Null, |l| l.into()),
            );
        }
        let contended = self.preempted_by_node.iter().filter(|&&k| k >= 2).count() >= 2;
        if contended && !self.duel {
            out.push(Violation::new(
                w.now,
                property(&PROPERTIES, DUEL),
                "not reached: two proposers were preempted twice or more, but never by each other"
                    .into(),
            ));
        }
        if self.preempted_in_phase2 && !self.finished_open {
            out.push(Violation::new(
                w.now,
                property(&PROPERTIES, FINISHES_OPEN),
                "not reached: a ballot was preempted in phase 2, but no proposer finished a slot another one left open".into(),
            ));
        }
        o
    }
}
