//! The determinism self-check: run a seed twice and compare run hashes.
//!
//! agentsim's runs are reproducible only if the protocol is: a protocol (or a
//! library it hosts) that reads the OS random number generator, the wall
//! clock, or iterates a `HashMap`/`HashSet` with a randomly seeded hasher
//! makes two runs of one seed differ, and every reproduction command, replay
//! and committed result of it meaningless. This module finds that out instead
//! of trusting it:
//!
//! - [`run_twice`] runs a seed a second time, with a trace written at
//!   another level (`summary`, into a sink: nearly free), so the check also
//!   covers "tracing changes nothing";
//! - [`check_seeds_with`](super::check::check_seeds_with) does that for the
//!   first [`TWICE_DEFAULT`] seeds of every `check` (all of them with
//!   `check --determinism`) and gathers a [`DeterminismSummary`];
//! - [`locate`] names the first record where two runs of a seed differ, from
//!   two more runs with a full trace (the record of the first two runs cannot
//!   be named: they wrote no trace). Those runs may diverge elsewhere than the
//!   first two did, or not at all: [`Located`] says which.

use super::{trace_text, RunError};
use crate::engine::RunReport;
use crate::observe::trace::TraceLevel;
use crate::scenario::Scenario;
use serde::Serialize;

/// Seeds that every `check` runs twice (the first of its range).
pub const TWICE_DEFAULT: u64 = 16;

/// How many diverging seeds a [`DeterminismSummary`] lists.
pub const DIVERGED_LISTED: usize = 1000;

/// What usually makes two runs of one seed differ: printed with every
/// nondeterminism report.
pub const USUAL_CAUSES: &str = "an OS random number generator (rand::thread_rng, getrandom, RandomState), the wall clock (Instant, SystemTime), or iteration over a HashMap/HashSet with a randomly seeded hasher, in the protocol or a library it hosts; draw from ctx.rng(), read ctx.now(), iterate a BTreeMap or a Vec";

/// The outcome of running seeds twice.
#[derive(Clone, Debug, Default, Serialize)]
pub struct DeterminismSummary {
    /// Seeds that were run twice.
    pub seeds_run_twice: u64,
    /// Of those, seeds whose two runs had different run hashes.
    pub diverged: u64,
    /// The diverging seeds in increasing order, the first
    /// [`DIVERGED_LISTED`] of them.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub seeds: Vec<DivergedSeed>,
    /// Where the first diverging seed's runs differ (filled by the caller
    /// with [`locate`]; `None` if not looked for or every seed agreed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first: Option<Located>,
}

impl DeterminismSummary {
    /// Whether some seed ran differently the second time.
    pub fn failed(&self) -> bool {
        self.diverged > 0
    }

    /// Adds one seed's pair of hashes (in seed order).
    pub fn add(&mut self, seed: u64, first: &str, second: &str) {
        self.seeds_run_twice += 1;
        if first != second {
            self.diverged += 1;
            if self.seeds.len() < DIVERGED_LISTED {
                self.seeds.push(DivergedSeed {
                    seed,
                    first_hash: first.to_string(),
                    second_hash: second.to_string(),
                });
            }
        }
    }
}

/// A seed whose two runs differed.
#[derive(Clone, Debug, Serialize)]
pub struct DivergedSeed {
    /// The seed.
    pub seed: u64,
    /// The run hash of its first run.
    pub first_hash: String,
    /// The run hash of its second run.
    pub second_hash: String,
}

/// The second run of a seed: with a trace at `summary` level written to a
/// sink, so that it differs from the first (untraced) run in its tracer
/// too. Its hash must equal the first's.
pub fn run_twice(sc: &Scenario) -> RunReport {
    super::run_to_writer(sc, TraceLevel::Summary, Box::new(std::io::sink())).0
}

/// Where two traced runs of one seed differ.
#[derive(Clone, Debug, Serialize)]
pub struct Located {
    /// The seed.
    pub seed: u64,
    /// Run hashes of the two traced runs (the third and fourth of the seed).
    pub traced_hashes: [String; 2],
    /// Whether the traced runs ended with the hashes of the first two runs
    /// (in either order). If not, they may diverge at another record than
    /// the first two did.
    pub same_as_first_runs: bool,
    /// The first differing record, if the traced runs differ at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<FirstDifference>,
}

/// The first record where two traces differ.
#[derive(Clone, Debug, Serialize)]
pub struct FirstDifference {
    /// Its line number in the trace, from 1.
    pub line: usize,
    /// Its virtual time in ns, if the record has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub t_ns: Option<u64>,
    /// Its seq, if the record has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seq: Option<u64>,
    /// The record in the third run (shortened to [`RECORD_SHOWN`] bytes).
    pub third: String,
    /// The record in the fourth run (likewise).
    pub fourth: String,
}

/// How much of a record a report shows.
pub const RECORD_SHOWN: usize = 400;

/// Runs `sc` twice more with a full trace and names the first record where
/// the two traces differ. `first_hashes` are the hashes of the two runs
/// that differed, to say whether these runs repeat them.
pub fn locate(sc: &Scenario, first_hashes: [&str; 2]) -> Result<Located, RunError> {
    sc.validate()?;
    let (r3, t3) = trace_text(sc, TraceLevel::Full);
    let (r4, t4) = trace_text(sc, TraceLevel::Full);
    let same_as_first_runs = {
        let mut a = [r3.hash.as_str(), r4.hash.as_str()];
        let mut b = first_hashes;
        a.sort_unstable();
        b.sort_unstable();
        a == b
    };
    Ok(Located {
        seed: sc.seed,
        traced_hashes: [r3.hash.clone(), r4.hash.clone()],
        same_as_first_runs,
        record: first_difference(&t3, &t4),
    })
}

/// The first line where two traces differ, if any.
pub fn first_difference(a: &str, b: &str) -> Option<FirstDifference> {
    let (mut la, mut lb) = (a.lines(), b.lines());
    let mut line = 0;
    loop {
        line += 1;
        match (la.next(), lb.next()) {
            (None, None) => return None,
            (x, y) if x == y => continue,
            (x, y) => {
                let field = |l: Option<&str>, k: &str| {
                    l.and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                        .and_then(|v| v["data"][k].as_u64())
                };
                return Some(FirstDifference {
                    line,
                    t_ns: field(x, "t_ns").or(field(y, "t_ns")),
                    seq: field(x, "seq").or(field(y, "seq")),
                    third: shorten(x.unwrap_or("<end of run>")),
                    fourth: shorten(y.unwrap_or("<end of run>")),
                });
            }
        }
    }
}

/// `s` cut to at most [`RECORD_SHOWN`] bytes (on a character boundary),
/// saying how much was left out.
pub fn shorten(s: &str) -> String {
    if s.len() <= RECORD_SHOWN {
        return s.to_string();
    }
    let mut end = RECORD_SHOWN;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} more bytes)", &s[..end], s.len() - end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_difference_names_the_line_and_its_time() {
        let a = "{\"type\":\"run_start\"}\n{\"type\":\"note\",\"data\":{\"t_ns\":5,\"seq\":2,\"x\":1}}\n";
        let b = "{\"type\":\"run_start\"}\n{\"type\":\"note\",\"data\":{\"t_ns\":5,\"seq\":2,\"x\":2}}\n";
        let d = first_difference(a, b).expect("they differ");
        assert_eq!((d.line, d.t_ns, d.seq), (2, Some(5), Some(2)));
        assert!(d.third.contains("\"x\":1") && d.fourth.contains("\"x\":2"));
        assert!(first_difference(a, a).is_none());
        let short = first_difference(a, "{\"type\":\"run_start\"}\n").unwrap();
        assert_eq!(short.fourth, "<end of run>");
    }

    #[test]
    fn long_records_are_shortened() {
        let s = "é".repeat(1000);
        let cut = shorten(&s);
        assert!(cut.len() < RECORD_SHOWN + 40, "{}", cut.len());
        assert!(cut.ends_with("more bytes)"));
        assert_eq!(shorten("short"), "short");
    }

    #[test]
    fn a_summary_counts_and_lists_diverging_seeds() {
        let mut s = DeterminismSummary::default();
        s.add(0, "a", "a");
        s.add(1, "b", "c");
        assert_eq!((s.seeds_run_twice, s.diverged), (2, 1));
        assert!(s.failed());
        assert_eq!(s.seeds[0].seed, 1);
    }
}
