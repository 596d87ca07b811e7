//! Contract net's named properties and metrics, from notes, deliveries and
//! the network's counters.
//!
//! - **single lease holder** (always): at most one contractor holds a valid
//!   lease on a task at any instant. "Holds" is the contractor's own view
//!   (from its `Holding` note until its `Released` note or its crash), so
//!   clock drift shows: the leases allow for drift up to
//!   `drift_bound_ppm`, and a scenario whose clocks drift more may break it.
//! - **result accepted once** (always): no task is completed twice.
//! - **capacity respected** (always): no contractor holds more tasks than
//!   `capacity`.
//! - **award to a proposer** (always): a round is awarded only to a
//!   contractor whose proposal for that round reached the manager.
//! - **every task completed** (eventually): after the heal, every task
//!   submitted to a live manager is completed within the liveness bound,
//!   counted from its submission or the heal, whichever is later — unless
//!   no live contractor linked to that manager can run it.
//! - **a late proposal**, **a re-announcement** (sometimes).

use super::config::ContractNetConfig;
use super::messages::{CnetMsg, CnetNote, Epoch, Release, TaskId, Why};
use super::ContractNet;
use crate::node::{Message, MetricDef, NodeId};
use crate::observe::{
    property, Monitor, MonitorInit, Outcome, Property, PropertyKind, Violation, World,
};
use crate::time::{SimTime, MS, SEC};
use std::collections::VecDeque;

/// "single lease holder".
pub const SINGLE_HOLDER: &str = "single lease holder";
/// "result accepted once".
pub const RESULT_ONCE: &str = "result accepted once";
/// "capacity respected".
pub const CAPACITY: &str = "capacity respected";
/// "award to a proposer".
pub const AWARD_TO_PROPOSER: &str = "award to a proposer";
/// "every task completed".
pub const ALL_COMPLETED: &str = "every task completed";
/// "a late proposal".
pub const LATE_PROPOSAL: &str = "a late proposal";
/// "a re-announcement".
pub const REANNOUNCEMENT: &str = "a re-announcement";

static PROPERTIES: [Property; 7] = [
    Property {
        name: SINGLE_HOLDER,
        kind: PropertyKind::Always,
        description: "at most one contractor holds a valid lease on a task at any time (leases allow for clock drift up to drift_bound_ppm)",
    },
    Property {
        name: RESULT_ONCE,
        kind: PropertyKind::Always,
        description: "a task's result is accepted at most once",
    },
    Property {
        name: CAPACITY,
        kind: PropertyKind::Always,
        description: "no contractor holds more tasks than its capacity",
    },
    Property {
        name: AWARD_TO_PROPOSER,
        kind: PropertyKind::Always,
        description: "a round is awarded only to a contractor whose proposal for it reached the manager",
    },
    Property {
        name: ALL_COMPLETED,
        kind: PropertyKind::Eventually,
        description: "after the heal, every task submitted to a live manager is completed within the liveness bound (from its submission or the heal, whichever is later), if a live contractor linked to the manager can run it",
    },
    Property {
        name: LATE_PROPOSAL,
        kind: PropertyKind::Sometimes,
        description: "a proposal arrives after its round closed (and is rejected as late)",
    },
    Property {
        name: REANNOUNCEMENT,
        kind: PropertyKind::Sometimes,
        description: "a task is announced again (no bid, failure, or a silent contractor)",
    },
];

static METRICS: [MetricDef; 22] = [
    MetricDef {
        name: "tasks_submitted",
        unit: "count",
        definition: "tasks managers took (Submitted notes)",
    },
    MetricDef {
        name: "tasks_completed",
        unit: "count",
        definition: "tasks whose result a manager accepted",
    },
    MetricDef {
        name: "completion_ms",
        unit: "ms",
        definition: "mean over completed tasks of the time from the manager taking the task to it accepting the result",
    },
    MetricDef {
        name: "completion_ms_p50",
        unit: "ms",
        definition: "median completion time (linear interpolation between closest ranks)",
    },
    MetricDef {
        name: "completion_ms_p90",
        unit: "ms",
        definition: "90th percentile of completion time",
    },
    MetricDef {
        name: "completion_ms_p99",
        unit: "ms",
        definition: "99th percentile of completion time",
    },
    MetricDef {
        name: "completion_ms_max",
        unit: "ms",
        definition: "longest completion time",
    },
    MetricDef {
        name: "throughput_per_s",
        unit: "tasks/s",
        definition: "tasks completed divided by the time from the first submission to the last completion",
    },
    MetricDef {
        name: "msgs_per_task",
        unit: "messages/task",
        definition: "messages sent (every kind, progress and load reports included) per completed task",
    },
    MetricDef {
        name: "calls_per_task",
        unit: "messages/task",
        definition: "cfp messages sent per completed task",
    },
    MetricDef {
        name: "bids_per_award",
        unit: "proposals/award",
        definition: "proposals delivered to managers per award (accept-proposal sent)",
    },
    MetricDef {
        name: "refusal_ratio",
        unit: "ratio",
        definition: "refuse messages sent / (propose + refuse sent)",
    },
    MetricDef {
        name: "reannouncements",
        unit: "count",
        definition: "decisions to announce a task again (no bid, failure, or a lease over)",
    },
    MetricDef {
        name: "reannounced_no_bid",
        unit: "count",
        definition: "re-announcements because a round closed without a proposal",
    },
    MetricDef {
        name: "reannounced_failure",
        unit: "count",
        definition: "re-announcements because the winner reported failure or could not take the award",
    },
    MetricDef {
        name: "reannounced_silent",
        unit: "count",
        definition: "re-announcements because the winner's lease was over without a result",
    },
    MetricDef {
        name: "late_proposals",
        unit: "count",
        definition: "proposals that arrived after their round closed",
    },
    MetricDef {
        name: "utilisation",
        unit: "ratio",
        definition: "contractors' busy time / (contractors × the time from the first submission to the last completion)",
    },
    MetricDef {
        name: "jain_index",
        unit: "ratio",
        definition: "Jain's fairness index of the contractors' busy times: (Σx)² / (n·Σx²); 1 is perfectly even",
    },
    MetricDef {
        name: "load_max_over_mean",
        unit: "ratio",
        definition: "the busiest contractor's busy time over the mean busy time",
    },
    MetricDef {
        name: "wasted_work_ratio",
        unit: "ratio",
        definition: "busy time on tasks dropped unfinished (lease over, cancelled, crash) or failed, over all busy time",
    },
    MetricDef {
        name: "size_ms",
        unit: "ms",
        definition: "mean size of the submitted tasks, in ms of work at speed 1",
    },
];

/// What the monitor knows of a task.
#[derive(Clone, Debug)]
struct TaskSeen {
    /// Whether its `Submitted` note came. A manager may announce a task
    /// before the write that records it completes (the note is held until
    /// then, the announcement is not): the round is tracked on a
    /// placeholder, filled in by the note, or dropped by a restart that
    /// lost the write.
    known: bool,
    submitted: SimTime,
    size_ns: u64,
    caps: u32,
    /// When its result was accepted.
    done: Option<SimTime>,
    holder: Option<(NodeId, Epoch)>,
    /// The round open (or last opened).
    round: Epoch,
    /// Who proposed in that round (delivered to the manager).
    proposers: Vec<NodeId>,
}

/// At most this many tasks of one manager announced ahead of their notes.
const PLACEHOLDERS_MAX: usize = 1 << 16;

impl TaskSeen {
    fn placeholder() -> TaskSeen {
        TaskSeen {
            known: false,
            submitted: SimTime::MAX,
            size_ns: 0,
            caps: 0,
            done: None,
            holder: None,
            round: Epoch::MAX,
            proposers: Vec::new(),
        }
    }
}

/// What the monitor knows of a contractor.
#[derive(Clone, Debug, Default)]
struct ContractorSeen {
    held: Vec<(TaskId, Epoch)>,
    busy: Option<(SimTime, TaskId, Epoch)>,
    busy_ns: u64,
    wasted_ns: u64,
}

/// Contract net's monitor.
pub struct ContractNetMonitor {
    managers: u32,
    capacity: usize,
    /// Contractor capability masks, by contractor index.
    caps: Vec<u32>,
    /// Tasks by manager, by number.
    tasks: Vec<Vec<TaskSeen>>,
    /// Completions by manager, with the version of the write that made
    /// them durable, in order (a restart undoes the later ones).
    completions: Vec<Vec<(u64, u32)>>,
    contractors: Vec<ContractorSeen>,
    /// Tasks in submission order not yet known done (lazily cleaned), with
    /// their submission time (a task number can be reused after a restart).
    incomplete: VecDeque<(SimTime, TaskId)>,
    pending: u64,
    workload_over: bool,
    quiet_at: SimTime,
    bound: Option<SimTime>,
    awards: u64,
    proposals_in: u64,
    late: u64,
    reannounced: [u64; 3],
    kind_cfp: usize,
    kind_propose: usize,
    kind_refuse: usize,
}

fn kind(name: &str) -> usize {
    CnetMsg::KINDS
        .iter()
        .position(|k| *k == name)
        .expect("a message kind")
}

impl ContractNetMonitor {
    fn task(&mut self, t: TaskId) -> Option<&mut TaskSeen> {
        self.tasks.get_mut(t.manager as usize)?.get_mut(t.seq as usize)
    }

    /// The task, with placeholders up to it if its `Submitted` note has not
    /// come yet (see [`TaskSeen::known`]).
    fn task_or_placeholder(&mut self, t: TaskId) -> Option<&mut TaskSeen> {
        let list = self.tasks.get_mut(t.manager as usize)?;
        let seq = t.seq as usize;
        if seq >= list.len() && seq < list.len() + PLACEHOLDERS_MAX {
            list.resize(seq + 1, TaskSeen::placeholder());
        }
        list.get_mut(seq)
    }

    fn contractor(&mut self, node: NodeId) -> Option<&mut ContractorSeen> {
        let i = node.checked_sub(self.managers)?;
        self.contractors.get_mut(i as usize)
    }

    /// Contractor `c` stops being busy now.
    fn idle(c: &mut ContractorSeen, now: SimTime, wasted: bool) {
        if let Some((since, _, _)) = c.busy.take() {
            let d = now.saturating_sub(since);
            c.busy_ns += d;
            if wasted {
                c.wasted_ns += d;
            }
        }
    }

    /// Whether a live contractor linked to `manager` can run a task needing `caps`.
    fn runnable(&self, w: &World, manager: NodeId, caps: u32) -> bool {
        (self.managers..w.nodes).any(|c| {
            w.alive[c as usize]
                && self.caps[(c - self.managers) as usize] & caps == caps
                && w.linked(manager, c)
        })
    }

    /// After the liveness deadline: the first task overdue, if any.
    fn judge(&mut self, w: &World, out: &mut Vec<Violation>) {
        let Some(bound) = self.bound else {
            return;
        };
        while let Some(&(at, t)) = self.incomplete.front() {
            let Some(seen) = self.tasks[t.manager as usize]
                .get(t.seq as usize)
                .filter(|s| s.submitted == at && s.done.is_none())
            else {
                self.incomplete.pop_front(); // done, or lost with a write
                continue;
            };
            let from = seen.submitted.max(self.quiet_at);
            if w.now <= from.saturating_add(bound) {
                return; // later tasks were submitted later still
            }
            self.incomplete.pop_front(); // judged once
            let caps = seen.caps;
            if !w.alive[t.manager as usize] || !self.runnable(w, t.manager, caps) {
                continue;
            }
            out.push(Violation::new(
                w.now,
                property(&PROPERTIES, ALL_COMPLETED),
                format!(
                    "task {t} submitted at {:.3} ms is not completed {:.3} ms after {} ({} tasks pending)",
                    seen.submitted as f64 / MS as f64,
                    bound as f64 / MS as f64,
                    if seen.submitted >= self.quiet_at { "its submission" } else { "the heal" },
                    self.pending
                ),
            ));
            return;
        }
    }

    /// Manager `m` restarted from the state of `version`: completions and
    /// submissions written later were lost with the crash.
    fn restarted(&mut self, m: NodeId, version: u64, next_seq: u32) {
        let log = &mut self.completions[m as usize];
        let tasks = &mut self.tasks[m as usize];
        while log.last().is_some_and(|&(v, _)| v > version) {
            let (_, seq) = log.pop().expect("non-empty");
            let t = &mut tasks[seq as usize];
            t.done = None;
            self.pending += 1;
            let key = (t.submitted, TaskId { manager: m, seq });
            let i = self.incomplete.partition_point(|e| *e < key);
            self.incomplete.insert(i, key);
        }
        log.clear(); // everything up to `version` is durable for good
        for t in tasks.drain(next_seq as usize..) {
            if t.known && t.done.is_none() {
                self.pending -= 1;
            }
        }
    }
}

/// Linear interpolation between closest ranks of sorted `v` (type 7).
fn quantile(v: &[u64], q: f64) -> f64 {
    let h = (v.len() - 1) as f64 * q;
    let lo = libm::floor(h) as usize;
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] as f64 + (h - lo as f64) * (v[hi] as f64 - v[lo] as f64)
}

impl Monitor<ContractNet> for ContractNetMonitor {
    fn properties() -> &'static [Property] {
        &PROPERTIES
    }

    fn metrics() -> &'static [MetricDef] {
        &METRICS
    }

    fn new(init: &MonitorInit<'_, ContractNet>) -> Self {
        let cfg: &ContractNetConfig = init.config;
        let m = cfg.managers.min(init.nodes);
        ContractNetMonitor {
            managers: m,
            capacity: cfg.contractor_capacity as usize,
            caps: (m..init.nodes).map(|c| cfg.caps_of(c)).collect(),
            tasks: vec![Vec::new(); m as usize],
            completions: vec![Vec::new(); m as usize],
            contractors: vec![ContractorSeen::default(); (init.nodes - m) as usize],
            incomplete: VecDeque::new(),
            pending: 0,
            workload_over: false,
            quiet_at: 0,
            bound: None,
            awards: 0,
            proposals_in: 0,
            late: 0,
            reannounced: [0; 3],
            kind_cfp: kind("Cfp"),
            kind_propose: kind("Propose"),
            kind_refuse: kind("Refuse"),
        }
    }

    #[inline]
    fn on_deliver(&mut self, _w: &World, from: NodeId, _to: NodeId, msg: &CnetMsg) {
        if let CnetMsg::Propose { task, epoch, .. } = msg {
            self.proposals_in += 1;
            if let Some(t) = self.task(*task) {
                if t.round == *epoch {
                    t.proposers.push(from);
                }
            }
        }
    }

    fn on_note(&mut self, w: &World, node: NodeId, note: &CnetNote, out: &mut Vec<Violation>) {
        self.workload_over = w.workload_over;
        let now = w.now;
        match *note {
            CnetNote::Submitted {
                task, size_ns, caps, ..
            } => {
                let list = &mut self.tasks[task.manager as usize];
                let seq = task.seq as usize;
                match list.get_mut(seq) {
                    Some(t) => {
                        debug_assert!(!t.known, "task {task} submitted twice");
                        t.known = true;
                        t.submitted = now;
                        t.size_ns = size_ns;
                        t.caps = caps;
                    }
                    None => {
                        debug_assert_eq!(list.len(), seq);
                        list.push(TaskSeen {
                            known: true,
                            submitted: now,
                            size_ns,
                            caps,
                            ..TaskSeen::placeholder()
                        });
                    }
                }
                if list[seq].done.is_none() {
                    self.pending += 1;
                    self.incomplete.push_back((now, task));
                }
            }
            CnetNote::Restarted { version, next_seq } => {
                self.restarted(node, version, next_seq);
            }
            CnetNote::Announced { task, epoch, .. } => {
                if let Some(t) = self.task_or_placeholder(task) {
                    t.round = epoch;
                    t.proposers.clear();
                }
            }
            CnetNote::Awarded {
                task, epoch, to, ..
            } => {
                self.awards += 1;
                let ok = self
                    .task(task)
                    .is_some_and(|t| t.round == epoch && t.proposers.contains(&to));
                if !ok {
                    out.push(Violation::new(
                        now,
                        property(&PROPERTIES, AWARD_TO_PROPOSER),
                        format!(
                            "manager {node} awarded task {task} (round {epoch:#x}) to {to}, whose proposal for that round it never received"
                        ),
                    ));
                }
            }
            CnetNote::Late { .. } => self.late += 1,
            CnetNote::Reannounced { why, .. } => {
                self.reannounced[match why {
                    Why::NoBid => 0,
                    Why::Failure => 1,
                    Why::Silent => 2,
                }] += 1;
            }
            CnetNote::Completed {
                task, by, version, ..
            } => {
                let Some(t) = self.task(task) else {
                    return;
                };
                if t.done.is_some() {
                    out.push(Violation::new(
                        now,
                        property(&PROPERTIES, RESULT_ONCE),
                        format!("manager {node} accepted a second result of task {task} (from {by})"),
                    ));
                    return;
                }
                t.done = Some(now);
                t.proposers = Vec::new();
                // (Writes complete in order, so the note of the task comes
                // first; a placeholder is not counted as pending.)
                if t.known {
                    self.pending -= 1;
                }
                self.completions[task.manager as usize].push((version, task.seq));
            }
            CnetNote::Holding { task, epoch } => {
                let prev = self
                    .task_or_placeholder(task)
                    .and_then(|t| t.holder.replace((node, epoch)));
                if let Some((other, e)) = prev {
                    if other != node {
                        out.push(Violation::new(
                            now,
                            property(&PROPERTIES, SINGLE_HOLDER),
                            format!(
                                "contractors {other} (round {e:#x}) and {node} (round {epoch:#x}) both hold a valid lease on task {task}"
                            ),
                        ));
                    }
                }
                let cap = self.capacity;
                if let Some(c) = self.contractor(node) {
                    c.held.push((task, epoch));
                    if c.held.len() > cap {
                        let n = c.held.len();
                        out.push(Violation::new(
                            now,
                            property(&PROPERTIES, CAPACITY),
                            format!("contractor {node} holds {n} tasks, above its capacity {cap}"),
                        ));
                    }
                }
            }
            CnetNote::Started { task, epoch } => {
                if let Some(c) = self.contractor(node) {
                    Self::idle(c, now, true);
                    c.busy = Some((now, task, epoch));
                }
            }
            CnetNote::Released { task, epoch, why } => {
                if let Some(t) = self.task(task) {
                    if t.holder == Some((node, epoch)) {
                        t.holder = None;
                    }
                }
                if let Some(c) = self.contractor(node) {
                    if let Some(i) = c.held.iter().position(|h| *h == (task, epoch)) {
                        c.held.swap_remove(i);
                    }
                    if c.busy.is_some_and(|(_, t, e)| (t, e) == (task, epoch)) {
                        Self::idle(c, now, why != Release::Done);
                    }
                }
            }
        }
        if self.bound.is_some() {
            self.judge(w, out);
        }
    }

    fn on_crash(&mut self, w: &World, node: NodeId) {
        self.workload_over = w.workload_over;
        let Some(c) = self.contractor(node) else {
            return;
        };
        Self::idle(c, w.now, true);
        let held = std::mem::take(&mut c.held);
        for (task, epoch) in held {
            if let Some(t) = self.task(task) {
                if t.holder == Some((node, epoch)) {
                    t.holder = None;
                }
            }
        }
    }

    fn on_quiet(&mut self, w: &World, _out: &mut Vec<Violation>) {
        self.workload_over = w.workload_over;
        self.quiet_at = w.now;
    }

    fn on_deadline(&mut self, w: &World, out: &mut Vec<Violation>) {
        self.workload_over = w.workload_over;
        self.bound = Some(w.now - self.quiet_at);
        self.judge(w, out);
    }

    fn done(&self) -> bool {
        self.workload_over && self.pending == 0
    }

    fn finish(&mut self, w: &World, out: &mut Vec<Violation>) -> Outcome {
        if self.bound.is_some() {
            self.judge(w, out);
        }
        let mut o = Outcome::with_capacity(METRICS.len(), 2);
        let m = &mut o.metrics;
        let all = self.tasks.iter().flatten().filter(|t| t.known);
        let submitted = all.clone().count();
        let mut took: Vec<u64> = all
            .clone()
            .filter_map(|t| t.done.map(|d| d.saturating_sub(t.submitted)))
            .collect();
        let done = took.len();
        m.insert("tasks_submitted".into(), submitted as f64);
        m.insert("tasks_completed".into(), done as f64);
        if submitted > 0 {
            let size: f64 = all.clone().map(|t| t.size_ns as f64).sum();
            m.insert("size_ms".into(), size / submitted as f64 / MS as f64);
        }
        if done > 0 {
            let v = &mut took;
            let mean = v.iter().map(|&x| x as f64).sum::<f64>() / done as f64;
            v.sort_unstable();
            let ms = |x: f64| x / MS as f64;
            m.insert("completion_ms".into(), ms(mean));
            m.insert("completion_ms_p50".into(), ms(quantile(v, 0.5)));
            m.insert("completion_ms_p90".into(), ms(quantile(v, 0.9)));
            m.insert("completion_ms_p99".into(), ms(quantile(v, 0.99)));
            m.insert("completion_ms_max".into(), ms(v[done - 1] as f64));
            let first = all.clone().map(|t| t.submitted).min().unwrap_or(0);
            let last = all.clone().filter_map(|t| t.done).max().unwrap_or(0);
            let span = last - first;
            if span > 0 {
                m.insert(
                    "throughput_per_s".into(),
                    done as f64 / (span as f64 / SEC as f64),
                );
                let busy: u64 = self.contractors.iter().map(|c| c.busy_ns).sum();
                m.insert(
                    "utilisation".into(),
                    busy as f64 / (self.contractors.len() as f64 * span as f64),
                );
            }
            m.insert(
                "msgs_per_task".into(),
                w.counts.sent as f64 / done as f64,
            );
            m.insert(
                "calls_per_task".into(),
                w.sent_by_kind[self.kind_cfp] as f64 / done as f64,
            );
        }
        if self.awards > 0 {
            m.insert(
                "bids_per_award".into(),
                self.proposals_in as f64 / self.awards as f64,
            );
        }
        let (p, r) = (
            w.sent_by_kind[self.kind_propose],
            w.sent_by_kind[self.kind_refuse],
        );
        if p + r > 0 {
            m.insert("refusal_ratio".into(), r as f64 / (p + r) as f64);
        }
        m.insert(
            "reannouncements".into(),
            self.reannounced.iter().sum::<u64>() as f64,
        );
        m.insert("reannounced_no_bid".into(), self.reannounced[0] as f64);
        m.insert("reannounced_failure".into(), self.reannounced[1] as f64);
        m.insert("reannounced_silent".into(), self.reannounced[2] as f64);
        m.insert("late_proposals".into(), self.late as f64);
        // Contractors still busy at the end count up to now.
        let now = w.now;
        let busy: Vec<f64> = self
            .contractors
            .iter()
            .map(|c| (c.busy_ns + c.busy.map_or(0, |(s, _, _)| now - s)) as f64)
            .collect();
        let wasted: f64 = self.contractors.iter().map(|c| c.wasted_ns as f64).sum();
        let sum: f64 = busy.iter().sum();
        let sq: f64 = busy.iter().map(|x| x * x).sum();
        if sum > 0.0 {
            let n = busy.len() as f64;
            m.insert("jain_index".into(), sum * sum / (n * sq));
            let max = busy.iter().copied().fold(0.0, f64::max);
            m.insert("load_max_over_mean".into(), max / (sum / n));
            m.insert("wasted_work_ratio".into(), wasted / sum);
        }
        o.facts.insert("pending".into(), self.pending.into());
        if self.late == 0 {
            out.push(Violation::new(
                now,
                property(&PROPERTIES, LATE_PROPOSAL),
                "not reached in this run (check fails it only if no seed reaches it)".into(),
            ));
        }
        if self.reannounced.iter().sum::<u64>() == 0 {
            out.push(Violation::new(
                now,
                property(&PROPERTIES, REANNOUNCEMENT),
                "not reached in this run (check fails it only if no seed reaches it)".into(),
            ));
        }
        o
    }
}
