//! Raft's named properties and metrics, computed from notes.
//!
//! - **election safety** (always): at most one leader per term (Figure 3).
//! - **leader elected** (eventually): once faults stop, within the liveness bound,
//!   a live leader that a majority of the cluster can reach and that every live
//!   node linked to it (both ways, as partitions and the topology allow)
//!   follows in its term.
//!
//! Metrics (exact definitions in `METRICS`, shown by `agentsim list`):
//! `first_leader_ms` (from time 0 to the first leader); `downtime_ms` (per
//! crash of a leader: from the crash instant until every live node linked to
//! the new leader has accepted its first AppendEntries — the measure of
//! §9.3; mean over the run's leader crashes); `election_ms` (per crash of a
//! leader: from the crash instant until a server of a later term won,
//! its winning vote counted; it excludes the time the new leader's first
//! heartbeat takes to be accepted); `leader_crashes`; `terms` (highest term);
//! `elections` (leaders elected); `split_votes` (terms in which some node
//! campaigned, none won, and a later term began).

use super::RaftNote;
use crate::node::{MetricDef, NodeId, Protocol};
use crate::observe::{
    property, Monitor, MonitorInit, Outcome, Property, PropertyKind, Violation, World,
};
use crate::time::{SimTime, MS};

/// The name of the safety property.
pub const ELECTION_SAFETY: &str = "election safety";
/// The name of the liveness property.
pub const LEADER_ELECTED: &str = "leader elected";

static PROPERTIES: [Property; 2] = [
    Property {
        name: ELECTION_SAFETY,
        kind: PropertyKind::Always,
        description: "at most one leader per term",
    },
    Property {
        name: LEADER_ELECTED,
        kind: PropertyKind::Eventually,
        description: "after the last fault, within the liveness bound, a live leader linked to a majority and followed by every live node linked to it",
    },
];

static METRICS: [MetricDef; 9] = [
    MetricDef {
        name: "first_leader_ms",
        unit: "ms",
        definition: "time from 0 (so including the first election timeout) until the first node won an election",
    },
    MetricDef {
        name: "downtime_ms",
        unit: "ms",
        definition: "per crash of a leader, from the crash until a leader of a later term is followed by every live node linked to it (its first AppendEntries accepted); mean over the run's leader crashes",
    },
    MetricDef {
        name: "downtime_ms_max",
        unit: "ms",
        definition: "the longest downtime_ms of the run",
    },
    MetricDef {
        name: "election_ms",
        unit: "ms",
        definition: "per crash of a leader, from the crash until a server of a later term won its election (its winning vote counted: its Leader note); mean over the run's leader crashes",
    },
    MetricDef {
        name: "election_ms_max",
        unit: "ms",
        definition: "the longest election_ms of the run",
    },
    MetricDef {
        name: "leader_crashes",
        unit: "count",
        definition: "crashes of a node while it led",
    },
    MetricDef {
        name: "terms",
        unit: "count",
        definition: "the highest term any node reached",
    },
    MetricDef {
        name: "elections",
        unit: "count",
        definition: "elections won (Leader notes)",
    },
    MetricDef {
        name: "split_votes",
        unit: "count",
        definition: "terms in which some node campaigned, none won, and a later term began",
    },
];

/// Raft's monitor. It reads only [`RaftNote`]s, so it checks any protocol
/// that reports them (a hosted Raft implementation as well as ours).
pub struct RaftMonitor {
    /// Each term in which some node campaigned or won, ascending, with its
    /// leader if one was elected. (Terms come mostly in order: a push.)
    terms: Vec<TermSeen>,
    /// What each node currently does.
    nodes: Vec<NodeSeen>,
    max_term: u64,
    first_leader: Option<SimTime>,
    elections: u64,
    /// A leader crash whose downtime is being timed: (crash time, term of the crashed leader).
    outage: Option<(SimTime, u64)>,
    downtimes: Vec<SimTime>,
    /// A leader crash whose election time is being timed: (crash time, term of the crashed leader).
    electing: Option<(SimTime, u64)>,
    elections_after_crash: Vec<SimTime>,
    quiet: bool,
    elected_after_quiet: Option<SimTime>,
}

#[derive(Clone, Copy)]
struct TermSeen {
    term: u64,
    campaigned: bool,
    leader: Option<NodeId>,
}

#[derive(Clone, Copy, Default)]
struct NodeSeen {
    /// Term in which the node currently leads.
    leading: Option<u64>,
    /// (term, leader) the node currently follows.
    follows: Option<(u64, NodeId)>,
}

impl RaftMonitor {
    /// The live leader of the highest term, if it can exchange messages with
    /// a majority of the cluster (itself included) and every live node it can
    /// exchange messages with follows it in its term.
    ///
    /// Nodes cut off from the leader do not count: they cannot follow it. A
    /// leader cut off from a majority does not count either: it can commit
    /// nothing, and the nodes that still name it may only not have noticed.
    fn stable_leader(&self, w: &World) -> Option<(NodeId, u64)> {
        let (l, term) = (0..w.nodes)
            .filter(|&n| w.alive[n as usize])
            .filter_map(|n| self.nodes[n as usize].leading.map(|t| (n, t)))
            .max_by_key(|&(_, t)| t)?;
        let mut reached = 1;
        for n in (0..w.nodes).filter(|&n| n != l && w.alive[n as usize] && w.linked(l, n)) {
            if self.nodes[n as usize].follows != Some((term, l)) {
                return None;
            }
            reached += 1;
        }
        (2 * reached > w.nodes).then_some((l, term))
    }

    /// The entry of `term`, added if new.
    fn term_mut(&mut self, term: u64) -> &mut TermSeen {
        let i = match self.terms.last() {
            Some(t) if t.term < term => self.terms.len(),
            None => 0,
            _ => match self.terms.binary_search_by_key(&term, |t| t.term) {
                Ok(i) => return &mut self.terms[i],
                Err(i) => i,
            },
        };
        let seen = TermSeen {
            term,
            campaigned: false,
            leader: None,
        };
        self.terms.insert(i, seen);
        &mut self.terms[i]
    }

    fn check_progress(&mut self, w: &World) {
        if let Some((since, crashed_term)) = self.outage {
            if let Some((_, term)) = self.stable_leader(w) {
                if term > crashed_term {
                    self.downtimes.push(w.now - since);
                    self.outage = None;
                }
            }
        }
        if self.quiet && self.elected_after_quiet.is_none() && self.stable_leader(w).is_some() {
            self.elected_after_quiet = Some(w.now);
        }
    }
}

impl<P: Protocol<Note = RaftNote>> Monitor<P> for RaftMonitor {
    fn properties() -> &'static [Property] {
        &PROPERTIES
    }

    fn metrics() -> &'static [MetricDef] {
        &METRICS
    }

    fn new(init: &MonitorInit<'_, P>) -> Self {
        let n = init.nodes as usize;
        RaftMonitor {
            terms: Vec::new(),
            nodes: vec![NodeSeen::default(); n],
            max_term: 0,
            first_leader: None,
            elections: 0,
            outage: None,
            downtimes: Vec::new(),
            electing: None,
            elections_after_crash: Vec::new(),
            quiet: false,
            elected_after_quiet: None,
        }
    }

    fn on_note(&mut self, w: &World, node: NodeId, note: &RaftNote, out: &mut Vec<Violation>) {
        let i = node as usize;
        match *note {
            RaftNote::PreCandidate { .. } => {
                self.nodes[i].follows = None;
            }
            RaftNote::Candidate { term } => {
                self.nodes[i].follows = None;
                self.term_mut(term).campaigned = true;
                self.max_term = self.max_term.max(term);
            }
            RaftNote::Leader { term } => {
                self.elections += 1;
                if let Some((since, crashed)) = self.electing {
                    if term > crashed {
                        self.elections_after_crash.push(w.now - since);
                        self.electing = None;
                    }
                }
                self.first_leader.get_or_insert(w.now);
                self.max_term = self.max_term.max(term);
                let seen = self.term_mut(term);
                if let Some(other) = seen.leader {
                    if other != node {
                        out.push(Violation::new(
                            w.now,
                            property(&PROPERTIES, ELECTION_SAFETY),
                            format!(
                                "nodes {other} and {node} were both elected leader in term {term}"
                            ),
                        ));
                    }
                } else {
                    seen.leader = Some(node);
                }
                self.nodes[i] = NodeSeen {
                    leading: Some(term),
                    follows: Some((term, node)),
                };
            }
            RaftNote::SteppedDown { .. } => {
                self.nodes[i] = NodeSeen::default();
            }
            RaftNote::Following { term, leader } => {
                self.nodes[i].follows = Some((term, leader));
                self.max_term = self.max_term.max(term);
            }
        }
        self.check_progress(w);
    }

    fn on_crash(&mut self, w: &World, node: NodeId) {
        let i = node as usize;
        if let Some(term) = self.nodes[i].leading {
            self.outage.get_or_insert((w.now, term));
            self.electing.get_or_insert((w.now, term));
        }
        self.nodes[i] = NodeSeen::default();
        self.check_progress(w);
    }

    fn on_recover(&mut self, _w: &World, node: NodeId) {
        self.nodes[node as usize].follows = None;
    }

    fn on_quiet(&mut self, w: &World, _out: &mut Vec<Violation>) {
        self.quiet = true;
        self.check_progress(w);
    }

    fn on_deadline(&mut self, w: &World, out: &mut Vec<Violation>) {
        if self.elected_after_quiet.is_none() {
            let live = w.live_count();
            let leaders: Vec<String> = (0..w.nodes)
                .filter(|&n| w.alive[n as usize])
                .filter_map(|n| {
                    self.nodes[n as usize]
                        .leading
                        .map(|t| format!("{n} (term {t})"))
                })
                .collect();
            out.push(Violation::new(
                w.now,
                property(&PROPERTIES, LEADER_ELECTED),
                format!(
                    "no leader linked to a majority and followed by every live node linked to it by the deadline ({live} nodes live); leaders now: [{}]",
                    leaders.join(", ")
                ),
            ));
        }
    }

    fn done(&self) -> bool {
        self.elected_after_quiet.is_some() && self.outage.is_none()
    }

    fn finish(&mut self, w: &World, _out: &mut Vec<Violation>) -> Outcome {
        let mut o = Outcome::with_capacity(9, 2);
        let ms = |t: SimTime| t as f64 / MS as f64;
        if let Some(t) = self.first_leader {
            o.metrics.insert("first_leader_ms".into(), ms(t));
        }
        if !self.downtimes.is_empty() {
            let mean = self.downtimes.iter().sum::<u64>() as f64 / self.downtimes.len() as f64;
            o.metrics.insert("downtime_ms".into(), mean / MS as f64);
            o.metrics.insert(
                "downtime_ms_max".into(),
                ms(*self.downtimes.iter().max().unwrap()),
            );
        }
        if !self.elections_after_crash.is_empty() {
            let e = &self.elections_after_crash;
            let mean = e.iter().sum::<u64>() as f64 / e.len() as f64;
            o.metrics.insert("election_ms".into(), mean / MS as f64);
            o.metrics
                .insert("election_ms_max".into(), ms(*e.iter().max().unwrap()));
        }
        o.metrics.insert(
            "leader_crashes".into(),
            (self.downtimes.len() + self.outage.is_some() as usize) as f64,
        );
        o.metrics.insert("terms".into(), self.max_term as f64);
        o.metrics.insert("elections".into(), self.elections as f64);
        let split = self
            .terms
            .iter()
            .filter(|t| t.campaigned && t.term < self.max_term && t.leader.is_none())
            .count();
        o.metrics.insert("split_votes".into(), split as f64);
        if let Some((l, term)) = self.stable_leader(w) {
            o.facts.insert("leader".into(), l.into());
            o.facts.insert("term".into(), term.into());
        } else {
            o.facts.insert("leader".into(), serde_json::Value::Null);
            o.facts.insert("term".into(), self.max_term.into());
        }
        o
    }
}
