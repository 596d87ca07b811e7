//! Checking properties across many seeds, in parallel across cores.
//!
//! Each run stays single-threaded and deterministic; runs are spread over a
//! rayon pool and their results gathered in seed order, so the summary is the
//! same whatever the number of threads.

use super::determinism::{self, DeterminismSummary, TWICE_DEFAULT};
use super::run_silent;
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
}

impl Default for CheckOptions<'_> {
    fn default() -> Self {
        CheckOptions {
            jobs: None,
            twice: TWICE_DEFAULT,
            progress: None,
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
    let mut twice = DeterminismSummary::default();
    let twice_end = seeds.start.saturating_add(opts.twice);
    let mut lo = seeds.start;
    while lo < seeds.end {
        let hi = seeds.end.min(lo.saturating_add(BLOCK));
        let reports: Vec<(RunReport, Option<String>)> = pool.install(|| {
            (lo..hi)
                .into_par_iter()
                .map(|seed| {
                    let sc = Scenario {
                        seed,
                        ..base.clone()
                    };
                    let r = run_silent(&sc);
                    let again = (seed < twice_end).then(|| determinism::run_twice(&sc).hash);
                    if let Some(p) = opts.progress {
                        p(1);
                    }
                    (r, again)
                })
                .collect()
        });
        for (r, again) in &reports {
            summary.add(r);
            if let Some(h) = again {
                twice.add(r.seed, &r.hash, h);
            }
        }
        lo = hi;
    }
    if let Some(d) = twice.seeds.first() {
        let sc = Scenario {
            seed: d.seed,
            ..base.clone()
        };
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
    reports.iter().for_each(|r| s.add(r));
    s.finish()
}

/// A summary built one report at a time, in seed order.
#[derive(Default)]
struct Summarizer {
    runs: u64,
    stops: BTreeMap<&'static str, u64>,
    failures: Vec<PropertyFailures>,
    undecided: Vec<PropertyUndecided>,
}

impl Summarizer {
    fn add(&mut self, r: &RunReport) {
        self.runs += 1;
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
                }
                None => self.failures.push(PropertyFailures {
                    property: v.property,
                    kind: v.kind,
                    runs: 1,
                    first_seed: r.seed,
                    first_t_ns: v.t_ns,
                    first_detail: v.detail.clone(),
                    seeds: vec![r.seed],
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
