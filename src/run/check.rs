//! Checking properties across many seeds, in parallel across cores.
//!
//! Each run stays single-threaded and deterministic; runs are spread over a
//! rayon pool and their results gathered in seed order, so the summary is the
//! same whatever the number of threads. Under [`swarm`](super::swarm) each
//! seed runs the scenario of its own fault mix, and the summary counts which
//! fault kinds were on in all seeds and in each property's failing seeds.

use super::determinism::{self, DeterminismSummary, TWICE_DEFAULT};
use super::run_silent;
use super::swarm::{FaultKind, KindSet, Swarm, SwarmBounds};
use crate::engine::RunReport;
use crate::observe::PropertyKind;
use crate::scenario::Scenario;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::ops::Range;

/// Failures of one property across the seeds checked.
#[derive(Clone, Debug, Serialize)]
pub struct PropertyFailures {
    /// The property's name.
    pub property: &'static str,
    /// Its kind: always, eventually or sometimes.
    pub kind: PropertyKind,
    /// Seeds on which it failed.
    pub runs: u64,
    /// The first failing seed (the lowest, as seeds are checked in order).
    pub first_seed: u64,
    /// Virtual time of that seed's first violation, in ns.
    pub first_t_ns: u64,
    /// What the monitor reported then.
    pub first_detail: String,
    /// The failing seeds in increasing order, the first [`SEEDS_LISTED`] of
    /// them (`runs` counts them all).
    pub seeds: Vec<u64>,
    /// Under `--swarm`: the fault kinds on in the failing seeds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swarm: Option<MixTally>,
}

/// How often each fault kind the swarm draws was on, over some seeds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindCounts(pub [u64; 6]);

impl KindCounts {
    fn add(&mut self, on: KindSet) {
        for k in on.iter() {
            self.0[k as usize] += 1;
        }
    }
    /// Seeds with `k` on.
    pub fn get(&self, k: FaultKind) -> u64 {
        self.0[k as usize]
    }
}

impl Serialize for KindCounts {
    /// `{"loss": 12, "dup": 9, ...}`, every kind.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(6))?;
        for k in FaultKind::ALL {
            m.serialize_entry(k.name(), &self.get(k))?;
        }
        m.end()
    }
}

/// The fault kinds on in one property's failing seeds.
#[derive(Clone, Debug, Serialize)]
pub struct MixTally {
    /// Failing seeds with each kind on (`runs` of them in all).
    pub kinds_on: KindCounts,
    /// The failing seed with the fewest kinds on (the lowest among ties):
    /// the simplest mix that fails.
    pub fewest_seed: u64,
    /// The kinds on in that seed.
    pub fewest_kinds: KindSet,
}

/// What the swarm drew over a whole check.
#[derive(Clone, Debug, Serialize)]
pub struct SwarmSummary {
    /// The bounds of the draws.
    pub bounds: SwarmBounds,
    /// The kinds drawn per seed.
    pub drawn: KindSet,
    /// The kinds kept as the user set them (never drawn).
    pub kept: KindSet,
    /// Seeds with each kind on.
    pub kinds_on: KindCounts,
}

/// How many failing seeds a [`PropertyFailures`] lists.
pub const SEEDS_LISTED: usize = 1000;

/// The result of checking a seed range.
#[derive(Clone, Debug, Serialize)]
pub struct CheckSummary {
    /// Seeds run.
    pub runs: u64,
    /// Runs by stop reason.
    pub stops: BTreeMap<&'static str, u64>,
    /// Properties that failed, in order of first failure; a `sometimes`
    /// property only when no run reached it.
    pub failures: Vec<PropertyFailures>,
    /// `eventually` properties some runs stopped too early to judge.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub undecided: Vec<PropertyUndecided>,
    /// The seeds run twice and those whose runs differed: if any did, the
    /// protocol is not deterministic and nothing above can be reproduced.
    pub determinism: DeterminismSummary,
    /// Under `--swarm`: the bounds and how often each kind was on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub swarm: Option<SwarmSummary>,
}

/// Runs that stopped (at `time_max`, `events_max` or for lack of events)
/// before one `eventually` property could be judged.
#[derive(Clone, Debug, Serialize)]
pub struct PropertyUndecided {
    /// The property's name.
    pub property: &'static str,
    /// Runs that stopped before it could be judged.
    pub runs: u64,
    /// The first such seed.
    pub first_seed: u64,
    /// Why and when the first of them stopped, and its deadline.
    pub first_stop: &'static str,
    /// Virtual time that run stopped at, in ns.
    pub first_t_ns: u64,
    /// That run's liveness deadline, in ns of virtual time.
    pub first_deadline_ns: u64,
}

impl CheckSummary {
    /// Whether an `always` (safety) property failed on some seed.
    pub fn safety_failed(&self) -> bool {
        self.failures.iter().any(|f| f.kind == PropertyKind::Always)
    }
    /// Whether an `eventually` (liveness) property failed on some seed.
    pub fn liveness_failed(&self) -> bool {
        self.failures
            .iter()
            .any(|f| f.kind == PropertyKind::Eventually)
    }
}

/// Parses a seed range `A..B` (A included, B excluded, A < B): the one
/// parser of seed ranges, for flags and experiment files alike.
pub fn parse_seeds(s: &str) -> Result<Range<u64>, String> {
    let bad = || {
        format!("'{s}' is not a seed range (accepted: A..B with A < B, B excluded, e.g. 0..1000)")
    };
    let (a, b) = s.split_once("..").ok_or_else(bad)?;
    let (a, b): (u64, u64) = (
        a.trim().parse().map_err(|_| bad())?,
        b.trim().parse().map_err(|_| bad())?,
    );
    if a >= b {
        return Err(bad());
    }
    Ok(a..b)
}

/// Most worker threads `check` and `sweep` accept (`--jobs 1..=JOBS_MAX`).
pub const JOBS_MAX: usize = 1024;

/// The worker threads could not be started (a system limit on threads or
/// memory): an error of the machine, not of the input.
#[derive(Debug, thiserror::Error)]
#[error("cannot start {threads} worker threads: {source} (try a smaller --jobs)")]
pub struct ThreadsError {
    /// The number of threads asked for, or "one per core".
    pub threads: String,
    /// Rayon's error.
    pub source: rayon::ThreadPoolBuildError,
}

/// A pool of `jobs` threads (one per core if `None`).
pub fn thread_pool(jobs: Option<usize>) -> Result<rayon::ThreadPool, ThreadsError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .build()
        .map_err(|source| ThreadsError {
            threads: jobs.map_or("one per core".into(), |n| n.to_string()),
            source,
        })
}

/// Runs `base` with every seed in `seeds` on `jobs` threads (one per core if
/// `None`), the first [`TWICE_DEFAULT`] seeds twice (see [`check_seeds_with`]).
pub fn check_seeds(
    base: &Scenario,
    seeds: Range<u64>,
    jobs: Option<usize>,
) -> Result<CheckSummary, ThreadsError> {
    let opts = CheckOptions {
        jobs,
        ..CheckOptions::default()
    };
    check_seeds_with(base, seeds, &opts)
}

/// Most seeds one `check` runs (`--seeds A..B` with `B - A` at most this):
/// 10^8 seeds take hours even for a small scenario. Split a larger range:
/// the summaries of its parts are those of the whole, seed by seed.
pub const SEEDS_MAX: u64 = 100_000_000;

/// How [`check_seeds_with`] runs.
pub struct CheckOptions<'a> {
    /// Worker threads (one per core if `None`).
    pub jobs: Option<usize>,
    /// How many of the first seeds to run a second time, comparing run
    /// hashes ([`TWICE_DEFAULT`]; `u64::MAX` for every seed).
    pub twice: u64,
    /// Called with 1 after each seed (from the worker threads): a progress bar.
    pub progress: Option<&'a (dyn Fn(u64) + Sync)>,
    /// Each seed draws its fault mix ([`Swarm::mix`]) and runs the scenario
    /// of that mix; `None`: every seed runs the base scenario.
    pub swarm: Option<&'a Swarm>,
}

impl Default for CheckOptions<'_> {
    fn default() -> Self {
        CheckOptions {
            jobs: None,
            twice: TWICE_DEFAULT,
            progress: None,
            swarm: None,
        }
    }
}

/// Runs `base` with every seed in `seeds`, and the first `opts.twice` of
/// them a second time ([`determinism::run_twice`]). A seed whose two runs
/// have different hashes is listed in [`CheckSummary::determinism`], and
/// the first such seed is run twice more with a full trace to name the
/// first record where runs differ ([`determinism::locate`]).
///
/// Seeds go in blocks of [`BLOCK`]: the reports of one block are gathered in
/// seed order and folded into the summary, so memory stays bounded however
/// many seeds are checked.
pub fn check_seeds_with(
    base: &Scenario,
    seeds: Range<u64>,
    opts: &CheckOptions<'_>,
) -> Result<CheckSummary, ThreadsError> {
    let pool = thread_pool(opts.jobs)?;
    let mut summary = Summarizer::default();
    if let Some(sw) = opts.swarm {
        summary.swarm = Some(SwarmSummary {
            bounds: sw.bounds.clone(),
            drawn: sw.drawn(),
            kept: sw.pinned.kinds,
            kinds_on: KindCounts::default(),
        });
    }
    // The scenario of a seed, and the kinds its mix turned on.
    let scenario_of = |seed: u64| -> (Scenario, Option<KindSet>) {
        match opts.swarm {
            Some(sw) => {
                let mix = sw.mix(seed);
                let sc = Scenario {
                    seed,
                    ..mix.apply(base)
                };
                (sc, Some(mix.on))
            }
            None => (
                Scenario {
                    seed,
                    ..base.clone()
                },
                None,
            ),
        }
    };
    let mut twice = DeterminismSummary::default();
    let twice_end = seeds.start.saturating_add(opts.twice);
    let mut lo = seeds.start;
    while lo < seeds.end {
        let hi = seeds.end.min(lo.saturating_add(BLOCK));
        let reports: Vec<(RunReport, Option<String>, Option<KindSet>)> = pool.install(|| {
            (lo..hi)
                .into_par_iter()
                .map(|seed| {
                    let (sc, on) = scenario_of(seed);
                    let r = run_silent(&sc);
                    let again = (seed < twice_end).then(|| determinism::run_twice(&sc).hash);
                    if let Some(p) = opts.progress {
                        p(1);
                    }
                    (r, again, on)
                })
                .collect()
        });
        for (r, again, on) in &reports {
            summary.add(r, *on);
            if let Some(h) = again {
                twice.add(r.seed, &r.hash, h);
            }
        }
        lo = hi;
    }
    if let Some(d) = twice.seeds.first() {
        let (sc, _) = scenario_of(d.seed);
        // The scenario ran already, so it is valid: `locate` cannot fail.
        twice.first = determinism::locate(&sc, [&d.first_hash, &d.second_hash]).ok();
    }
    let mut s = summary.finish();
    s.determinism = twice;
    Ok(s)
}

/// Seeds run between two folds into the summary.
pub const BLOCK: u64 = 4096;

/// Aggregates reports (in the given order: the first failure is the first in the list).
pub fn summarize(reports: &[RunReport]) -> CheckSummary {
    let mut s = Summarizer::default();
    reports.iter().for_each(|r| s.add(r, None));
    s.finish()
}

/// A summary built one report at a time, in seed order.
#[derive(Default)]
struct Summarizer {
    runs: u64,
    stops: BTreeMap<&'static str, u64>,
    failures: Vec<PropertyFailures>,
    undecided: Vec<PropertyUndecided>,
    swarm: Option<SwarmSummary>,
}

impl Summarizer {
    /// Adds one seed's report; `on`: the kinds its drawn mix turned on.
    fn add(&mut self, r: &RunReport, on: Option<KindSet>) {
        self.runs += 1;
        if let (Some(s), Some(on)) = (&mut self.swarm, on) {
            s.kinds_on.add(on);
        }
        *self.stops.entry(r.stop.as_str()).or_insert(0) += 1;
        let mut seen_here: Vec<&str> = Vec::new();
        for v in &r.violations {
            if seen_here.contains(&v.property) {
                continue;
            }
            seen_here.push(v.property);
            match self.failures.iter_mut().find(|f| f.property == v.property) {
                Some(f) => {
                    f.runs += 1;
                    if f.seeds.len() < SEEDS_LISTED {
                        f.seeds.push(r.seed);
                    }
                    if let (Some(t), Some(on)) = (&mut f.swarm, on) {
                        t.kinds_on.add(on);
                        if on.len() < t.fewest_kinds.len() {
                            t.fewest_seed = r.seed;
                            t.fewest_kinds = on;
                        }
                    }
                }
                None => self.failures.push(PropertyFailures {
                    property: v.property,
                    kind: v.kind,
                    runs: 1,
                    first_seed: r.seed,
                    first_t_ns: v.t_ns,
                    first_detail: v.detail.clone(),
                    seeds: vec![r.seed],
                    swarm: on.map(|on| {
                        let mut kinds_on = KindCounts::default();
                        kinds_on.add(on);
                        MixTally {
                            kinds_on,
                            fewest_seed: r.seed,
                            fewest_kinds: on,
                        }
                    }),
                }),
            }
        }
        for &p in r.undecided.iter().flat_map(|u| &u.properties) {
            match self.undecided.iter_mut().find(|u| u.property == p) {
                Some(u) => u.runs += 1,
                None => self.undecided.push(PropertyUndecided {
                    property: p,
                    runs: 1,
                    first_seed: r.seed,
                    first_stop: r.stop.as_str(),
                    first_t_ns: r.t_ns,
                    first_deadline_ns: r.undecided.as_ref().map_or(0, |u| u.deadline_ns),
                }),
            }
        }
    }

    fn finish(mut self) -> CheckSummary {
        // A `sometimes` property holds if any run reached it: a run reports it as a
        // violation when it did not, so it fails only when every run did.
        let runs = self.runs;
        self.failures
            .retain(|f| f.kind != PropertyKind::Sometimes || f.runs == runs);
        CheckSummary {
            runs,
            stops: self.stops,
            failures: self.failures,
            undecided: self.undecided,
            determinism: DeterminismSummary::default(),
            swarm: self.swarm,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::StopReason;
    use crate::observe::{Counters, Property, Violation};

    fn report(seed: u64, violations: Vec<Violation>) -> RunReport {
        RunReport {
            seed,
            stop: StopReason::Done,
            t_ns: 0,
            events: 0,
            counts: Counters::default(),
            metrics: Default::default(),
            facts: Default::default(),
            violations,
            undecided: None,
            hash: String::new(),
        }
    }

    #[test]
    fn a_sometimes_property_fails_only_if_no_run_reached_it() {
        let p = Property {
            name: "reached",
            kind: PropertyKind::Sometimes,
            description: "",
        };
        let unreached = || vec![Violation::new(0, &p, "not reached".into())];
        let some = summarize(&[
            report(0, unreached()),
            report(1, vec![]),
            report(2, unreached()),
        ]);
        assert!(some.failures.is_empty(), "{:?}", some.failures);
        let none = summarize(&[report(0, unreached()), report(1, unreached())]);
        assert_eq!(none.failures.len(), 1);
        assert_eq!(none.failures[0].runs, 2);
    }
}
