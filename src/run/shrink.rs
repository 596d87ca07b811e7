//! Shrinking a failing run: the smallest scenario that still fails the same
//! property with the same seed.
//!
//! The passes, in order (each keeps a change only if the property still
//! fails when the candidate is run again):
//! 1. **Faults made explicit.** The random crash, partition and leader-crash
//!    processes are replaced by the schedule of what they did in this run
//!    (read from its trace at the `notes` level), so single faults can be
//!    removed. Other random streams (network, nodes, workload, the Byzantine
//!    picks) draw as before; only event sequence numbers shift, so the run
//!    usually fails the same way. If it no longer fails, the faults stay
//!    random and the next passes still run.
//! 2. **Delta debugging** (Zeller and Hildebrandt's ddmin) of that schedule:
//!    a 1-minimal list, from which no single fault can be removed. Before
//!    ddmin's halving, small candidates that it seldom forms: no fault; each
//!    fault with the one that undoes it; one crash and recovery moved to
//!    just after a moment its node acted in a run without faults (a vote or
//!    a promise forgotten across a restart needs that moment, not what led
//!    the original run there); one node's faults; the faults just before the
//!    violation, in windows doubling back from it; each kind of fault alone.
//! 3. **Loss and duplication** ratios (the default and each link override)
//!    lowered toward 0: 0 if that still fails, else the lowest of a binary
//!    search; then the schedule once more, with less noise.
//! 4. **Nodes**: each node in turn removed, higher ids renumbered down, in
//!    the schedule, the Byzantine lists, link overrides and drift entries.
//!    A candidate the protocol refuses (too few nodes for its roles) is
//!    simply not taken.
//! 5. **Time**: `time_max` cut to just after the violation.
//!
//! From pass 2 on, a candidate counts as failing if it fails on its seed or
//! on one of the next few ([`SEED_TRIES`]): removing one fault shifts every
//! later draw of the network, so a smaller scenario seldom fails on the very
//! seed of the big one. The seed found is part of the result (and of the
//! file `shrink` writes).
//!
//! Everything is a pure function of the scenario: the same input shrinks to
//! the same output.

use super::{run_silent, trace_text};
use crate::net::faults::{FaultAction, FaultEntry};
use crate::node::NodeId;
use crate::observe::trace::TraceLevel;
use crate::scenario::Scenario;
use crate::time::{Dur, SimTime};

/// What [`shrink`] found.
#[derive(Clone, Debug)]
pub struct Shrunk {
    /// The smallest failing scenario found (with the original seed).
    pub scenario: Scenario,
    /// The property it still fails.
    pub property: String,
    /// When the shrunk run violates it.
    pub violation_ns: SimTime,
    /// Candidate runs tried.
    pub runs: u64,
    /// One line per pass: what it changed.
    pub log: Vec<String>,
}

/// Why there is nothing to shrink.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ShrinkError {
    /// The run violates no property (or not the one asked for).
    #[error("seed {seed}: the run violates no property{}", .property.as_ref().map(|p| format!(" named '{p}'")).unwrap_or_default())]
    DoesNotFail {
        /// The seed.
        seed: u64,
        /// The property asked for, if any.
        property: Option<String>,
    },
}

/// At most this many candidate runs in all (the passes stop early beyond it).
pub const RUNS_MAX: u64 = 20_000;

/// Moments (a node sending, in a run without faults) after which the
/// shrinker tries one crash and recovery, per seed tried.
const MOMENTS_MAX: usize = 200;

struct Shrinker {
    property: String,
    runs: u64,
}

impl Shrinker {
    /// When `sc` violates the property, the time of its first violation.
    fn fails_as_is(&mut self, sc: &Scenario) -> Option<SimTime> {
        if sc.validate().is_err() {
            return None;
        }
        self.runs += 1;
        let r = run_silent(sc);
        r.violations
            .iter()
            .find(|v| v.property == self.property)
            .map(|v| v.t_ns)
    }

    /// `sc` if it violates the property with its seed or, failing that,
    /// with one of the next [`SEED_TRIES`]` - 1` seeds (a smaller scenario
    /// seldom fails on the very seed of the big one: removing a fault shifts
    /// every later draw of the network); with the time of the violation.
    fn fails(&mut self, sc: &Scenario) -> Option<(Scenario, SimTime)> {
        if sc.validate().is_err() {
            return None;
        }
        for k in 0..SEED_TRIES {
            let mut c = sc.clone();
            c.seed = sc.seed.wrapping_add(k);
            if let Some(t) = self.fails_as_is(&c) {
                return Some((c, t));
            }
        }
        None
    }

    fn budget(&self) -> bool {
        self.runs < RUNS_MAX
    }
}

/// Seeds tried per candidate: its own and the next ones.
pub const SEED_TRIES: u64 = 16;

/// Shrinks the failing run `sc` (its seed included). `property`: the property
/// to keep failing; by default the first one the run violates.
pub fn shrink(sc: &Scenario, property: Option<&str>) -> Result<Shrunk, ShrinkError> {
    let first = run_silent(sc);
    let v = first
        .violations
        .iter()
        .find(|v| property.is_none_or(|p| v.property == p))
        .ok_or_else(|| ShrinkError::DoesNotFail {
            seed: sc.seed,
            property: property.map(str::to_string),
        })?;
    let mut s = Shrinker {
        property: v.property.to_string(),
        runs: 1,
    };
    let mut t_v = v.t_ns;
    let mut cur = sc.clone();
    let mut log = Vec::new();

    // 1. Faults made explicit.
    if cur.faults.has_random_process() || cur.faults.leader_crashes.is_some() {
        let cand = explicit_faults(&cur);
        let n = cand.faults.schedule.len();
        match s.fails_as_is(&cand) {
            Some(t) => {
                cur = cand;
                t_v = t;
                log.push(format!(
                    "random faults made explicit: {n} fault events; still fails"
                ));
            }
            None => log.push(
                "random faults made explicit: the run no longer fails that way; faults left random"
                    .to_string(),
            ),
        }
    }

    // 2. ddmin over the schedule.
    if !cur.faults.schedule.is_empty() && !cur.faults.has_random_process() {
        let before = cur.faults.schedule.len();
        let runs0 = s.runs;
        let (c, t) = ddmin(&mut s, &cur, t_v);
        cur = c;
        t_v = t;
        log.push(format!(
            "fault schedule: {before} -> {} events ({} runs)",
            cur.faults.schedule.len(),
            s.runs - runs0
        ));
    }

    // 3. Loss and duplication toward 0.
    let mut ratios = Vec::new();
    for field in Ratio::all(&cur) {
        let old = field.get(&cur);
        if old <= 0.0 {
            continue;
        }
        let (c, t) = lower_ratio(&mut s, &cur, field, old, t_v);
        let new = field.get(&c);
        cur = c;
        t_v = t;
        ratios.push(format!("{} {old} -> {new}", field.name()));
    }
    if !ratios.is_empty() {
        log.push(ratios.join(", "));
    }

    // 3b. With less noise, the schedule again.
    if cur.faults.schedule.len() > 1 && !cur.faults.has_random_process() && s.budget() {
        let before = cur.faults.schedule.len();
        let runs0 = s.runs;
        let (c, t) = ddmin(&mut s, &cur, t_v);
        if c.faults.schedule.len() < before {
            cur = c;
            t_v = t;
            log.push(format!(
                "fault schedule again: {before} -> {} events ({} runs)",
                cur.faults.schedule.len(),
                s.runs - runs0
            ));
        }
    }

    // 4. Nodes.
    let n0 = cur.nodes;
    let mut k = cur.nodes;
    while k > 0 && cur.nodes > 1 && s.budget() {
        k -= 1;
        if k >= cur.nodes {
            continue;
        }
        if let Some((c, t)) = s.fails(&without_node(&cur, k)) {
            cur = c;
            t_v = t;
        }
    }
    if cur.nodes < n0 {
        log.push(format!("nodes {n0} -> {}", cur.nodes));
    }

    // 5. Time: just after the violation, rounded up to a millisecond.
    let old_t = cur.time_max;
    let want = Dur((t_v / 1_000_000 + 1) * 1_000_000);
    if want < cur.time_max {
        let mut cand = cur.clone();
        cand.time_max = want;
        clamp_heal(&mut cand);
        if let Some(t) = s.fails_as_is(&cand) {
            cur = cand;
            t_v = t;
        }
    }
    if cur.time_max < old_t {
        log.push(format!("time_max {old_t} -> {}", cur.time_max));
    }
    if cur.seed != sc.seed {
        log.push(format!(
            "seed {} -> {} (the smaller scenario fails on this seed)",
            sc.seed, cur.seed
        ));
    }

    Ok(Shrunk {
        scenario: cur,
        property: s.property,
        violation_ns: t_v,
        runs: s.runs,
        log,
    })
}

/// `sc` with its random fault processes replaced by the faults they caused
/// in its run, as a schedule (the existing schedule's effects included).
pub fn explicit_faults(sc: &Scenario) -> Scenario {
    let (_, text) = trace_text(sc, TraceLevel::Notes);
    let mut schedule = Vec::new();
    for line in text.lines() {
        let Ok(rec) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        let data = &rec["data"];
        let Some(t) = data["t_ns"].as_u64() else {
            continue;
        };
        let node = || data["node"].as_u64().map(|n| n as NodeId);
        let action = match rec["type"].as_str() {
            Some("crash") => node().map(FaultAction::Crash),
            Some("recover") => node().map(FaultAction::Recover),
            Some("net_change") => data["change"].as_str().and_then(net_action),
            _ => None,
        };
        if let Some(action) = action {
            schedule.push(FaultEntry { at: Dur(t), action });
        }
    }
    let mut out = sc.clone();
    // Keep the instant faults stopped, so liveness is judged from the same time.
    if let Some(h) = sc.faults.heal_time(sc.time_max.0) {
        if schedule.last().is_none_or(|e| e.at.0 < h) {
            schedule.push(FaultEntry {
                at: Dur(h),
                action: FaultAction::Heal,
            });
        }
    }
    out.faults.schedule = schedule;
    // The processes go, and their settings with them (a repair time
    // without its process is refused).
    let off = crate::net::faults::FaultConfig::default();
    out.faults.crash_mttf = None;
    out.faults.crash_mttr = off.crash_mttr;
    out.faults.partition_mtbf = None;
    out.faults.partition_mttr = off.partition_mttr;
    out.faults.leader_crashes = None;
    out.faults.heal_at = None;
    out.faults.crash_max_down = None;
    out
}

/// The schedule action of a `net_change` record.
fn net_action(change: &str) -> Option<FaultAction> {
    let spec = change.strip_suffix("|rest").unwrap_or(change);
    let entry: FaultEntry = format!("{spec}@0s").parse().ok()?;
    Some(entry.action)
}

/// Delta debugging of `sc`'s schedule down to a 1-minimal failing subset.
fn ddmin(s: &mut Shrinker, sc: &Scenario, t_v: SimTime) -> (Scenario, SimTime) {
    let mut best = (sc.clone(), t_v);
    let mut n = 2usize;
    let with = |base: &Scenario, sched: &[FaultEntry]| {
        let mut c = base.clone();
        c.faults.schedule = sched.to_vec();
        c
    };
    // The empty schedule first: many failures need no fault at all.
    if let Some(found) = s.fails(&with(sc, &[])) {
        return found;
    }
    // Then each fault with the one that undoes it (a crash and its node's
    // next recovery, a partition or cut and the next heal) alone: ddmin's
    // contiguous chunks seldom hold such a pair, and many failures need
    // exactly one (a vote forgotten across a crash).
    let sched = &sc.faults.schedule;
    // The downtimes of the crash-and-recovery pairs, for the pass after.
    let mut downs: Vec<u64> = Vec::new();
    for (i, e) in sched.iter().enumerate() {
        let undo = sched[i + 1..]
            .iter()
            .find(|u| match (&e.action, &u.action) {
                (FaultAction::Crash(n), FaultAction::Recover(m)) => n == m,
                (
                    FaultAction::Partition(_) | FaultAction::Cut(..) | FaultAction::Isolate(_),
                    FaultAction::Heal,
                ) => true,
                _ => false,
            });
        if let Some(u) = undo {
            if let FaultAction::Crash(_) = e.action {
                downs.push(u.at.0 - e.at.0);
            }
            if !s.budget() {
                break;
            }
            if let Some(found) = s.fails(&with(sc, &[e.clone(), u.clone()])) {
                return found;
            }
        }
    }
    // Then one crash and its recovery, with the same downtime, moved to
    // just after a moment its node acted (sent a message) in a run without
    // faults: a failure that needs a node to lose its state at a precise
    // moment (a vote or a promise forgotten across a restart) needs that
    // moment, not the faults that led the original run there, and a run
    // without them reaches such moments (an election, a contended
    // proposal) at times of its own.
    // The shortest and the median downtime, and a restart (1 ms): a long
    // downtime lets the moment pass.
    downs.sort_unstable();
    let mut downs: Vec<u64> = [downs.first(), downs.get(downs.len() / 2)]
        .into_iter()
        .flatten()
        .copied()
        .collect();
    if !downs.is_empty() {
        downs.push(1_000_000);
    }
    downs.sort_unstable();
    downs.dedup();
    for k in 0..SEED_TRIES {
        if downs.is_empty() || !s.budget() {
            break;
        }
        let mut quiet = with(sc, &[]);
        quiet.seed = sc.seed.wrapping_add(k);
        let (_, text) = trace_text(&quiet, TraceLevel::Events);
        let mut moments: Vec<(SimTime, NodeId)> = Vec::new();
        for line in text.lines().filter(|l| l.starts_with(r#"{"type":"send""#)) {
            let Ok(rec) = serde_json::from_str::<serde_json::Value>(line) else {
                continue;
            };
            let (Some(t), Some(n)) = (rec["data"]["t_ns"].as_u64(), rec["data"]["from"].as_u64())
            else {
                continue;
            };
            if t < t_v && moments.last() != Some(&(t, n as NodeId)) {
                moments.push((t, n as NodeId));
            }
        }
        moments.truncate(MOMENTS_MAX);
        for &(t, n) in &moments {
            for &down in &downs {
                if !s.budget() {
                    break;
                }
                let moved = [
                    FaultEntry {
                        at: Dur(t + 1),
                        action: FaultAction::Crash(n),
                    },
                    FaultEntry {
                        at: Dur(t + 1 + down),
                        action: FaultAction::Recover(n),
                    },
                ];
                let c = with(&quiet, &moved);
                if let Some(tv) = s.fails_as_is(&c) {
                    return (c, tv);
                }
            }
        }
    }
    // Then the faults of one node alone (its crashes and recoveries, at their
    // times): failures that need one node's crash at a precise moment keep
    // it, which removing other faults by chunks would disturb.
    for node in 0..sc.nodes {
        let own: Vec<FaultEntry> = sched
            .iter()
            .filter(|e| matches!(e.action, FaultAction::Crash(n) | FaultAction::Recover(n) if n == node))
            .cloned()
            .collect();
        if own.is_empty() || own.len() == sched.len() || !s.budget() {
            continue;
        }
        if let Some(found) = s.fails(&with(sc, &own)) {
            best = found;
            break;
        }
    }
    // Then the faults shortly before the violation alone, in windows
    // doubling back from it: what breaks safety mostly happened just
    // before, and dropping everything earlier at once keeps that moment
    // (ddmin's halves cut across it).
    if best.0.faults.schedule.len() == sched.len() {
        let mut w = 1_000_000u64; // 1 ms
        while w < t_v && s.budget() {
            let near: Vec<FaultEntry> = sched
                .iter()
                .filter(|e| e.at.0 + w >= t_v && e.at.0 <= t_v)
                .cloned()
                .collect();
            w *= 2;
            if near.is_empty() || near.len() == sched.len() {
                continue;
            }
            if let Some(found) = s.fails(&with(sc, &near)) {
                best = found;
                break;
            }
        }
    }
    // Then each kind alone: crashes and recoveries, or network faults.
    for crashes in [true, false] {
        let cur = &best.0.faults.schedule;
        let kind: Vec<FaultEntry> = cur
            .iter()
            .filter(|e| {
                matches!(e.action, FaultAction::Crash(_) | FaultAction::Recover(_)) == crashes
            })
            .cloned()
            .collect();
        if kind.is_empty() || kind.len() == cur.len() || !s.budget() {
            continue;
        }
        if let Some(found) = s.fails(&with(&best.0, &kind)) {
            best = found;
        }
    }
    while best.0.faults.schedule.len() >= 2 && s.budget() {
        let cur = best.0.faults.schedule.clone();
        let chunk = cur.len().div_ceil(n);
        let parts: Vec<Vec<FaultEntry>> = cur.chunks(chunk).map(|c| c.to_vec()).collect();
        let mut reduced = false;
        // A part alone fails: keep only it.
        for p in &parts {
            if let Some(found) = s.fails(&with(&best.0, p)) {
                best = found;
                n = 2;
                reduced = true;
                break;
            }
        }
        if !reduced {
            // The rest without a part fails: drop that part.
            for i in 0..parts.len() {
                let rest: Vec<FaultEntry> = parts
                    .iter()
                    .enumerate()
                    .filter(|&(j, _)| j != i)
                    .flat_map(|(_, p)| p.iter().cloned())
                    .collect();
                if let Some(found) = s.fails(&with(&best.0, &rest)) {
                    best = found;
                    n = (n - 1).max(2);
                    reduced = true;
                    break;
                }
            }
        }
        if !reduced {
            if n >= cur.len() {
                break;
            }
            n = (2 * n).min(cur.len());
        }
    }
    best
}

/// A loss or duplication ratio of the scenario: the default or one link override's.
#[derive(Clone, Copy)]
enum Ratio {
    Loss,
    Dup,
    LinkLoss(usize),
    LinkDup(usize),
}

impl Ratio {
    fn all(sc: &Scenario) -> Vec<Ratio> {
        let mut v = vec![Ratio::Loss, Ratio::Dup];
        for i in 0..sc.net.links.len() {
            v.push(Ratio::LinkLoss(i));
            v.push(Ratio::LinkDup(i));
        }
        v
    }
    fn name(self) -> String {
        match self {
            Ratio::Loss => "loss".into(),
            Ratio::Dup => "dup".into(),
            Ratio::LinkLoss(i) => format!("net.links[{i}].loss_ratio"),
            Ratio::LinkDup(i) => format!("net.links[{i}].dup_ratio"),
        }
    }
    fn get(self, sc: &Scenario) -> f64 {
        match self {
            Ratio::Loss => sc.net.loss_ratio,
            Ratio::Dup => sc.net.dup_ratio,
            Ratio::LinkLoss(i) => sc.net.links[i].loss_ratio.unwrap_or(0.0),
            Ratio::LinkDup(i) => sc.net.links[i].dup_ratio.unwrap_or(0.0),
        }
    }
    fn set(self, sc: &mut Scenario, v: f64) {
        match self {
            Ratio::Loss => sc.net.loss_ratio = v,
            Ratio::Dup => sc.net.dup_ratio = v,
            Ratio::LinkLoss(i) => sc.net.links[i].loss_ratio = Some(v),
            Ratio::LinkDup(i) => sc.net.links[i].dup_ratio = Some(v),
        }
    }
}

/// The lowest value of `field` in `[0, old]` found to still fail: 0, or a
/// binary search of 6 halvings (rounded to 3 decimals, for a readable file).
fn lower_ratio(
    s: &mut Shrinker,
    sc: &Scenario,
    field: Ratio,
    old: f64,
    t_v: SimTime,
) -> (Scenario, SimTime) {
    let try_at = |s: &mut Shrinker, v: f64| {
        let mut c = sc.clone();
        field.set(&mut c, v);
        s.fails(&c)
    };
    if let Some(found) = try_at(s, 0.0) {
        return found;
    }
    let (mut lo, mut hi, mut best) = (0.0f64, old, (sc.clone(), t_v));
    for _ in 0..6 {
        let mid = ((lo + hi) / 2.0 * 1000.0).round() / 1000.0;
        if mid <= lo || mid >= hi {
            break;
        }
        match try_at(s, mid) {
            Some(found) => {
                hi = mid;
                best = found;
            }
            None => lo = mid,
        }
    }
    best
}

/// `sc` without node `k`: nodes above it renumbered one down, faults and
/// settings naming it dropped.
fn without_node(sc: &Scenario, k: NodeId) -> Scenario {
    let map = |n: NodeId| -> Option<NodeId> {
        match n.cmp(&k) {
            std::cmp::Ordering::Less => Some(n),
            std::cmp::Ordering::Equal => None,
            std::cmp::Ordering::Greater => Some(n - 1),
        }
    };
    let mut c = sc.clone();
    c.nodes = sc.nodes - 1;
    c.faults.schedule = sc
        .faults
        .schedule
        .iter()
        .filter_map(|e| {
            let action = match &e.action {
                FaultAction::Crash(n) => FaultAction::Crash(map(*n)?),
                FaultAction::Recover(n) => FaultAction::Recover(map(*n)?),
                FaultAction::Isolate(n) => FaultAction::Isolate(map(*n)?),
                FaultAction::Cut(a, b) => FaultAction::Cut(map(*a)?, map(*b)?),
                FaultAction::Partition(groups) => {
                    let g: Vec<Vec<NodeId>> = groups
                        .iter()
                        .map(|g| g.iter().filter_map(|&n| map(n)).collect::<Vec<_>>())
                        .filter(|g| !g.is_empty())
                        .collect();
                    if g.is_empty() {
                        return None;
                    }
                    FaultAction::Partition(g)
                }
                a => a.clone(),
            };
            Some(FaultEntry { at: e.at, action })
        })
        .collect();
    for spec in &mut c.adversary.nodes {
        spec.nodes = spec.nodes.iter().filter_map(|&n| map(n)).collect();
        spec.behaviour.targets = spec
            .behaviour
            .targets
            .iter()
            .filter_map(|&n| map(n))
            .collect();
    }
    c.adversary.nodes.retain(|s| !s.nodes.is_empty());
    if let Some(b) = &mut c.adversary.behaviour {
        b.targets = b.targets.iter().filter_map(|&n| map(n)).collect();
    }
    c.faults.drift = sc
        .faults
        .drift
        .iter()
        .filter_map(|d| {
            let mut d = d.clone();
            d.node = map(d.node)?;
            Some(d)
        })
        .collect();
    c.net.links = sc
        .net
        .links
        .iter()
        .filter_map(|l| {
            let mut l = l.clone();
            l.from = match l.from {
                Some(n) => Some(map(n)?),
                None => None,
            };
            l.to = match l.to {
                Some(n) => Some(map(n)?),
                None => None,
            };
            Some(l)
        })
        .collect();
    c
}

/// Keeps `heal_at` within a shortened run.
fn clamp_heal(sc: &mut Scenario) {
    if let Some(h) = sc.faults.heal_at {
        if h > sc.time_max {
            sc.faults.heal_at = Some(sc.time_max);
        }
    }
}
