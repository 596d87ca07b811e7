//! Checking properties across many seeds, in parallel across cores.
//!
//! Each run stays single-threaded and deterministic; runs are spread over a
//! rayon pool. A run's report is reduced at once to what the summary needs
//! (counts per stop reason and per property, and each property's failure on
//! the lowest seed), so memory does not grow with the number of seeds, and
//! the summary is the same whatever the number of threads.

use crate::engine::{PropertyKind, RunReport};
use crate::run::run_silent;
use crate::scenario::Scenario;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;
use std::ops::Range;

/// Failures of one property across the seeds checked.
#[derive(Clone, Debug, Serialize)]
pub struct PropertyFailures {
    pub property: &'static str,
    pub kind: PropertyKind,
    /// Seeds on which it failed.
    pub runs: u64,
    pub first_seed: u64,
    pub first_t_ns: u64,
    pub first_detail: String,
}

/// The result of checking a seed range.
#[derive(Clone, Debug, Serialize)]
pub struct CheckSummary {
    pub runs: u64,
    /// Runs by stop reason.
    pub stops: BTreeMap<&'static str, u64>,
    pub failures: Vec<PropertyFailures>,
}

impl CheckSummary {
    pub fn safety_failed(&self) -> bool {
        self.failures.iter().any(|f| f.kind == PropertyKind::Always)
    }
    pub fn liveness_failed(&self) -> bool {
        self.failures
            .iter()
            .any(|f| f.kind == PropertyKind::Eventually)
    }
}

/// Most worker threads `check` and `sweep` accept (`--jobs 1..=JOBS_MAX`).
pub const JOBS_MAX: usize = 1024;

/// The worker threads could not be started (a system limit on threads or
/// memory): an error of the machine, not of the input.
#[derive(Debug, thiserror::Error)]
#[error("cannot start {threads} worker threads: {source} (try a smaller --jobs)")]
pub struct ThreadsError {
    pub threads: String,
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

/// Runs `base` with every seed in `seeds` on `jobs` threads (one per core if `None`).
pub fn check_seeds(
    base: &Scenario,
    seeds: Range<u64>,
    jobs: Option<usize>,
) -> Result<CheckSummary, ThreadsError> {
    let pool = thread_pool(jobs)?;
    // Each run's report is folded into a small tally as soon as it ends, so
    // memory stays flat however many seeds; tallies of neighbouring seed
    // ranges merge by seed (see `Tally::merge`), so the summary does not
    // depend on how the seeds were split among threads.
    let tally = pool.install(|| {
        seeds
            .into_par_iter()
            .map(|seed| {
                let sc = Scenario {
                    seed,
                    ..base.clone()
                };
                run_silent(&sc)
            })
            .fold(Tally::default, |t, r| t.add(&r))
            .reduce(Tally::default, Tally::merge)
    });
    Ok(tally.finish())
}

/// Aggregates reports (the first failure of a property is that of the
/// lowest seed, whatever the order given).
pub fn summarize(reports: &[RunReport]) -> CheckSummary {
    reports
        .iter()
        .fold(Tally::default(), |t, r| t.add(r))
        .finish()
}

/// What a check keeps of the runs seen so far: counts, and per property the
/// first failure, keyed by `(seed, position of the violation in its run)`.
#[derive(Default)]
struct Tally {
    runs: u64,
    stops: BTreeMap<&'static str, u64>,
    failures: Vec<(PropertyFailures, usize)>,
}

impl Tally {
    fn add(mut self, r: &RunReport) -> Tally {
        self.runs += 1;
        *self.stops.entry(r.stop.as_str()).or_insert(0) += 1;
        let mut run = Tally::default();
        for (pos, v) in r.violations.iter().enumerate() {
            if run.failures.iter().any(|(f, _)| f.property == v.property) {
                continue; // a run counts once per property, with its first violation
            }
            let f = PropertyFailures {
                property: v.property,
                kind: v.kind,
                runs: 1,
                first_seed: r.seed,
                first_t_ns: v.t_ns,
                first_detail: v.detail.clone(),
            };
            run.failures.push((f, pos));
        }
        self.merge_failures(run.failures);
        self
    }

    /// Joins two tallies; the result does not depend on the order of the two.
    fn merge(mut self, other: Tally) -> Tally {
        self.runs += other.runs;
        for (k, n) in other.stops {
            *self.stops.entry(k).or_insert(0) += n;
        }
        self.merge_failures(other.failures);
        self
    }

    fn merge_failures(&mut self, failures: Vec<(PropertyFailures, usize)>) {
        for (f, pos) in failures {
            match self
                .failures
                .iter_mut()
                .find(|(g, _)| g.property == f.property)
            {
                Some((g, gpos)) => {
                    let runs = g.runs + f.runs;
                    if (f.first_seed, pos) < (g.first_seed, *gpos) {
                        (*g, *gpos) = (f, pos);
                    }
                    g.runs = runs;
                }
                None => self.failures.push((f, pos)),
            }
        }
    }

    fn finish(mut self) -> CheckSummary {
        // In the order first seen, going through the seeds in order.
        self.failures.sort_by_key(|(f, pos)| (f.first_seed, *pos));
        let runs = self.runs;
        // A `sometimes` property holds if any run reached it: a run reports it as a
        // violation when it did not, so it fails only when every run did.
        let failures = self
            .failures
            .into_iter()
            .map(|(f, _)| f)
            .filter(|f| f.kind != PropertyKind::Sometimes || f.runs == runs)
            .collect();
        CheckSummary {
            runs,
            stops: self.stops,
            failures,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::{Property, StopReason};
    use crate::observe::{Counters, Violation};

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

    #[test]
    fn tallies_merge_to_the_same_summary_in_any_split() {
        let p = |name| Property {
            name,
            kind: PropertyKind::Always,
            description: "",
        };
        let (a, b) = (p("a"), p("b"));
        let v = |p: &Property, t| Violation::new(t, p, format!("{} at {t}", p.name));
        let reports = vec![
            report(0, vec![]),
            report(1, vec![v(&b, 5), v(&a, 7), v(&b, 9)]),
            report(2, vec![v(&a, 1)]),
            report(3, vec![]),
            report(4, vec![v(&b, 2)]),
        ];
        let whole = serde_json::to_string(&summarize(&reports)).unwrap();
        for cut in 0..=reports.len() {
            let (l, r) = reports.split_at(cut);
            let fold = |rs: &[RunReport]| rs.iter().fold(Tally::default(), |t, x| t.add(x));
            for merged in [fold(l).merge(fold(r)), fold(r).merge(fold(l))] {
                assert_eq!(serde_json::to_string(&merged.finish()).unwrap(), whole);
            }
        }
        let s = summarize(&reports);
        let firsts: Vec<_> = s
            .failures
            .iter()
            .map(|f| (f.property, f.runs, f.first_seed, f.first_t_ns))
            .collect();
        // Seed 1 shows b before a; each property counts once per run.
        assert_eq!(firsts, vec![("b", 2, 1, 5), ("a", 2, 1, 7)]);
    }
}
