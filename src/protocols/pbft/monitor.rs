//! PBFT's properties (Castro & Liskov 1999, §4.5: safety "all non-faulty
//! replicas agree on the sequence numbers of requests that commit locally";
//! liveness "clients eventually receive replies to their requests" once
//! delays stop growing and, after view changes, a non-faulty primary leads),
//! judged on honest replicas only:
//!
//! - **total order** (always): honest replicas execute the same request at
//!   every sequence number (so the same requests in the same order).
//! - **reply correctness** (always): the result a client accepts (from
//!   `f + 1` matching replies) is the sequence number at which honest
//!   replicas executed its request (linearizability, as the client sees it).
//! - **requests complete** (eventually): every request submitted to an
//!   honest replica (its client's proxy) gets `f + 1` matching replies,
//!   after the last fault within the liveness bound (the paper's liveness:
//!   "clients eventually receive replies to their requests"; a replica
//!   left behind in a view change while the others need nothing from it
//!   may stay behind, as in the paper).
//! - **view change** (sometimes): an honest replica entered a view above 0.
//! - **equivocation detected** (sometimes): an honest replica received a
//!   Prepare, Commit or PrePrepare contradicting the PrePrepare it accepted.
//!
//! Requests submitted to Byzantine replicas are not owed a reply.

use super::{PbftConfig, PbftMsg, PbftNote, NULL};
use crate::node::{Message, MetricDef, NodeId, Protocol};
use crate::observe::{
    property, Monitor, MonitorInit, Outcome, Property, PropertyKind, Violation, World,
};
use crate::time::{SimTime, MS};

/// Property names.
pub const TOTAL_ORDER: &str = "total order";
/// Property names.
pub const REPLY_CORRECTNESS: &str = "reply correctness";
/// Property names.
pub const REQUESTS_COMPLETE: &str = "requests complete";
/// Property names.
pub const VIEW_CHANGE: &str = "view change";
/// Property names.
pub const EQUIVOCATION: &str = "equivocation detected";

static PROPERTIES: [Property; 5] = [
    Property {
        name: TOTAL_ORDER,
        kind: PropertyKind::Always,
        description: "honest replicas execute the same request at every sequence number",
    },
    Property {
        name: REPLY_CORRECTNESS,
        kind: PropertyKind::Always,
        description: "the result a client accepts is the sequence number at which honest replicas executed its request",
    },
    Property {
        name: REQUESTS_COMPLETE,
        kind: PropertyKind::Eventually,
        description: "every request submitted to an honest replica gets f+1 matching replies, after the last fault within the liveness bound",
    },
    Property {
        name: VIEW_CHANGE,
        kind: PropertyKind::Sometimes,
        description: "an honest replica entered a view above 0",
    },
    Property {
        name: EQUIVOCATION,
        kind: PropertyKind::Sometimes,
        description: "an honest replica received a message contradicting the PrePrepare it accepted for the same view and sequence number",
    },
];

/// The message kinds, as metric names.
const KIND_METRICS: [(&str, &str); 8] = [
    ("Request", "msgs_request"),
    ("PrePrepare", "msgs_pre_prepare"),
    ("Prepare", "msgs_prepare"),
    ("Commit", "msgs_commit"),
    ("Reply", "msgs_reply"),
    ("ViewChange", "msgs_view_change"),
    ("NewView", "msgs_new_view"),
    ("Status", "msgs_status"),
];

static METRICS: [MetricDef; 19] = [
    MetricDef {
        name: "requests",
        unit: "count",
        definition: "requests submitted to honest replicas",
    },
    MetricDef {
        name: "completed",
        unit: "count",
        definition: "requests whose client (at its honest proxy) accepted f+1 matching replies",
    },
    MetricDef {
        name: "latency_ms",
        unit: "ms",
        definition: "per completed request, from its submission until its client accepted f+1 matching replies; mean over the run",
    },
    MetricDef {
        name: "latency_ms_max",
        unit: "ms",
        definition: "the largest latency_ms of the run",
    },
    MetricDef {
        name: "view_changes",
        unit: "count",
        definition: "the highest view an honest replica entered (views start at 0)",
    },
    MetricDef {
        name: "executed",
        unit: "count",
        definition: "the highest sequence number an honest replica executed",
    },
    MetricDef {
        name: "safety_violated",
        unit: "0/1",
        definition: "1 if total order or reply correctness was violated in the run",
    },
    MetricDef {
        name: "conflicts",
        unit: "count",
        definition: "honest replicas that detected an equivocation",
    },
    MetricDef {
        name: "msgs_total",
        unit: "messages",
        definition: "messages sent, every kind, each copy of a multicast counted",
    },
    MetricDef {
        name: "msgs_per_request",
        unit: "messages/request",
        definition: "msgs_total over completed",
    },
    MetricDef {
        name: "msgs_request",
        unit: "messages",
        definition: "Request messages sent (to the primary, relayed, retransmitted)",
    },
    MetricDef {
        name: "msgs_pre_prepare",
        unit: "messages",
        definition: "PrePrepare messages sent",
    },
    MetricDef {
        name: "msgs_prepare",
        unit: "messages",
        definition: "Prepare messages sent",
    },
    MetricDef {
        name: "msgs_commit",
        unit: "messages",
        definition: "Commit messages sent",
    },
    MetricDef {
        name: "msgs_reply",
        unit: "messages",
        definition: "Reply messages sent",
    },
    MetricDef {
        name: "msgs_view_change",
        unit: "messages",
        definition: "ViewChange messages sent",
    },
    MetricDef {
        name: "msgs_new_view",
        unit: "messages",
        definition: "NewView messages sent",
    },
    MetricDef {
        name: "msgs_status",
        unit: "messages",
        definition: "Status (retransmission request) messages sent",
    },
    MetricDef {
        name: "latency_ms_p50",
        unit: "ms",
        definition: "the median latency_ms of the run's completed requests",
    },
];

/// One request, as the monitor follows it.
#[derive(Clone, Debug, Default)]
struct ReqSeen {
    /// Submitted to an honest replica.
    owed: bool,
    client: u32,
    proxy: NodeId,
    /// The result its client accepted.
    replied: Option<u64>,
    /// The first sequence number an honest replica executed it at.
    executed_at: Option<u64>,
}

/// PBFT's monitor.
pub struct PbftMonitor {
    honest: Vec<bool>,
    alive: Vec<bool>,
    /// By sequence number − 1: the request first executed there, and by whom.
    order: Vec<Option<(u64, NodeId)>>,
    reqs: Vec<ReqSeen>,
    requests: u64,
    completed: u64,
    /// Owed requests not yet replied and executed by every honest replica.
    incomplete: u64,
    latencies: Vec<SimTime>,
    view_max: u64,
    conflicts: u32,
    safety_violated: bool,
    quiet: bool,
    deadline_passed: bool,
    workload_over: bool,
}

impl PbftMonitor {
    fn req_mut(&mut self, id: u64) -> &mut ReqSeen {
        let i = id as usize;
        if i >= self.reqs.len() {
            self.reqs.resize_with(i + 1, ReqSeen::default);
        }
        &mut self.reqs[i]
    }

    fn reply_check(&mut self, w: &World, id: u64, out: &mut Vec<Violation>) {
        let r = &self.reqs[id as usize];
        if let (Some(result), Some(at)) = (r.replied, r.executed_at) {
            if result != at {
                self.safety_violated = true;
                out.push(Violation::new(
                    w.now,
                    property(&PROPERTIES, REPLY_CORRECTNESS),
                    format!(
                        "the client of request {id} (proxy {}) accepted result {result}, but honest replicas executed it at sequence number {at}",
                        r.proxy
                    ),
                ));
            }
        }
    }
}

impl<P: Protocol<Note = PbftNote, Config = PbftConfig, Msg = PbftMsg>> Monitor<P> for PbftMonitor {
    fn properties() -> &'static [Property] {
        &PROPERTIES
    }

    fn metrics() -> &'static [MetricDef] {
        &METRICS
    }

    fn new(init: &MonitorInit<'_, P>) -> Self {
        let n = init.nodes;
        let honest: Vec<bool> = (0..n).map(|i| init.adversary.is_honest(i)).collect();
        PbftMonitor {
            honest,
            alive: vec![true; n as usize],
            order: Vec::new(),
            reqs: Vec::new(),
            requests: 0,
            completed: 0,
            incomplete: 0,
            latencies: Vec::new(),
            view_max: 0,
            conflicts: 0,
            safety_violated: false,
            quiet: false,
            deadline_passed: false,
            workload_over: false,
        }
    }

    #[inline]
    fn on_deliver(&mut self, w: &World, _from: NodeId, _to: NodeId, _msg: &PbftMsg) {
        self.workload_over = w.workload_over;
    }

    fn on_note(&mut self, w: &World, node: NodeId, note: &PbftNote, out: &mut Vec<Violation>) {
        self.workload_over = w.workload_over;
        let honest = self.honest[node as usize];
        if let PbftNote::Submitted { id, client } = *note {
            let r = self.req_mut(id);
            r.owed = honest;
            r.client = client;
            r.proxy = node;
            if honest {
                self.requests += 1;
                self.incomplete += 1;
            }
            return;
        }
        if !honest {
            return;
        }
        match *note {
            PbftNote::Executed { seq, id } => {
                let i = (seq - 1) as usize;
                if i >= self.order.len() {
                    self.order.resize(i + 1, None);
                }
                match self.order[i] {
                    None => self.order[i] = Some((id, node)),
                    Some((first, by)) if first != id => {
                        self.safety_violated = true;
                        let name = |x: u64| {
                            if x == NULL {
                                "the null request".to_string()
                            } else {
                                format!("request {x}")
                            }
                        };
                        out.push(Violation::new(
                            w.now,
                            property(&PROPERTIES, TOTAL_ORDER),
                            format!(
                                "replicas {by} and {node} executed different requests at sequence number {seq}: {} and {}",
                                name(first),
                                name(id)
                            ),
                        ));
                    }
                    _ => {}
                }
                if id != NULL && (id as usize) < self.reqs.len() {
                    let r = &mut self.reqs[id as usize];
                    if r.executed_at.is_none_or(|s| seq < s) {
                        r.executed_at = Some(seq);
                        self.reply_check(w, id, out);
                    }
                }
            }
            PbftNote::Replied {
                id,
                result,
                latency_ns,
            } if (id as usize) < self.reqs.len() && self.reqs[id as usize].replied.is_none() => {
                self.completed += 1;
                self.latencies.push(latency_ns);
                let r = &mut self.reqs[id as usize];
                r.replied = Some(result);
                if r.owed {
                    self.incomplete -= 1;
                }
                self.reply_check(w, id, out);
            }
            PbftNote::NewView { view, .. } => self.view_max = self.view_max.max(view),
            PbftNote::Conflict { .. } => self.conflicts += 1,
            _ => {}
        }
    }

    fn on_crash(&mut self, _w: &World, node: NodeId) {
        self.alive[node as usize] = false;
    }

    fn on_recover(&mut self, _w: &World, node: NodeId) {
        self.alive[node as usize] = true;
    }

    fn on_quiet(&mut self, w: &World, _out: &mut Vec<Violation>) {
        self.quiet = true;
        self.workload_over = w.workload_over;
    }

    fn on_deadline(&mut self, w: &World, out: &mut Vec<Violation>) {
        self.deadline_passed = true;
        if self.incomplete == 0 {
            return;
        }
        let missing: Vec<(usize, &ReqSeen)> = self
            .reqs
            .iter()
            .enumerate()
            .filter(|(_, r)| r.owed && r.replied.is_none())
            .collect();
        if let Some((id, r)) = missing.first() {
            out.push(Violation::new(
                w.now,
                property(&PROPERTIES, REQUESTS_COMPLETE),
                format!(
                    "{} of {} requests without f+1 matching replies by the deadline; first: request {id} (client {}, proxy {}){}",
                    missing.len(),
                    self.requests,
                    r.client,
                    r.proxy,
                    match r.executed_at {
                        Some(s) => format!(", executed at sequence number {s} by an honest replica"),
                        None => ", executed by no honest replica".into(),
                    }
                ),
            ));
        }
    }

    fn done(&self) -> bool {
        self.quiet && ((self.workload_over && self.incomplete == 0) || self.deadline_passed)
    }

    fn finish(&mut self, w: &World, out: &mut Vec<Violation>) -> Outcome {
        let mut o = Outcome::with_capacity(METRICS.len(), 2);
        let ms = |t: SimTime| t as f64 / MS as f64;
        let m = &mut o.metrics;
        m.insert("requests".into(), self.requests as f64);
        m.insert("completed".into(), self.completed as f64);
        if !self.latencies.is_empty() {
            let sum: u64 = self.latencies.iter().sum();
            m.insert(
                "latency_ms".into(),
                sum as f64 / self.latencies.len() as f64 / MS as f64,
            );
            let mut l = self.latencies.clone();
            l.sort_unstable();
            m.insert("latency_ms_max".into(), ms(*l.last().expect("not empty")));
            m.insert("latency_ms_p50".into(), ms(l[(l.len() - 1) / 2]));
        }
        m.insert("view_changes".into(), self.view_max as f64);
        let executed = self.order.iter().rposition(|o| o.is_some()).map_or(0, |i| i + 1);
        m.insert("executed".into(), executed as f64);
        m.insert(
            "safety_violated".into(),
            if self.safety_violated { 1.0 } else { 0.0 },
        );
        m.insert("conflicts".into(), self.conflicts as f64);
        m.insert("msgs_total".into(), w.counts.sent as f64);
        if self.completed > 0 {
            m.insert(
                "msgs_per_request".into(),
                w.counts.sent as f64 / self.completed as f64,
            );
        }
        for (kind, name) in KIND_METRICS {
            let i = PbftMsg::KINDS
                .iter()
                .position(|k| *k == kind)
                .expect("a kind of PbftMsg");
            let sent = w.sent_by_kind.get(i).copied().unwrap_or(0);
            m.insert(name.into(), sent as f64);
        }
        o.facts.insert("view".into(), self.view_max.into());
        o.facts.insert("executed".into(), executed.into());
        if self.view_max == 0 {
            out.push(Violation::new(
                w.now,
                property(&PROPERTIES, VIEW_CHANGE),
                "not reached: no honest replica left view 0".into(),
            ));
        }
        if self.conflicts == 0 {
            out.push(Violation::new(
                w.now,
                property(&PROPERTIES, EQUIVOCATION),
                "not reached: no honest replica received a contradicting message".into(),
            ));
        }
        o
    }
}
