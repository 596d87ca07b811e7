//! Experiments: a file that describes many seeded runs once, a sweep that runs
//! them in parallel, and a results folder that explains itself.
//!
//! ```text
//!  experiments/NAME.toml ──parse──► configurations (cartesian product of [sweep])
//!                                      × seeds A..B
//!            agentsim sweep ──────────► results/NAME/ runs.csv  summary.csv  (series.csv)
//!            (parallel, resumable,                    experiment.toml  manifest.toml
//!             shardable: --shard K/N;
//!             agentsim merge joins shards)
//!            agentsim plot results/NAME ──► *.png / *.svg (from those files only)
//! ```
//!
//! # The experiment file
//!
//! ```toml
//! description = "What the experiment shows (free text)."
//! protocol = "raft"                 # accepted: `agentsim list`
//! seeds = "0..1000"                 # trials per configuration, one seed each
//! metrics = ["downtime_ms", "split_votes", "split"]  # columns kept (default: all)
//! series = ["coverage"]             # per-run series facts kept (series.csv), e.g. gossip's
//!
//! [computed]                        # per-run metrics from others: "A OP B"
//! split = "split_votes > 0"         # OP: + - * / > >= < <= == != (comparisons give 1 or 0)
//!
//! [scenario]                        # the base scenario: everything a scenario file holds
//! nodes = 5                         # (see `agentsim list`), except `seed`
//! [scenario.net]
//! latency = "1ms..3ms"
//! [scenario.protocol]
//! election_timeout = "150ms..300ms"
//!
//! [derive]                          # helpers (see `derive::Derive`); also sweepable as derive.*
//! heartbeat_ratio = 0.5             # heartbeat = 0.5 × minimum election timeout
//!
//! [sweep]                           # swept parameters by dotted path: lists or ranges
//! "protocol.election_timeout" = ["150ms..150ms", "150ms..300ms"]
//! "net.loss_ratio" = { from = 0.0, to = 0.3, step = 0.05 }     # or count = N, scale = "log"
//! "faults.partition_mttr" = { from = "100ms", to = "1s", count = 4 }
//!
//! [labels]                          # legends and axes in the reader's terms
//! "protocol.election_timeout" = "timeout"          # → "timeout 150–300ms"
//! "protocol.pre_vote" = { true = "Pre-Vote", false = "no Pre-Vote" }
//! downtime_ms = "time without a leader"           # → axis "time without a leader (ms)"
//!
//! [[plot]]
//! kind = "cdf"                      # cdf | versus | histogram | series
//! metric = "downtime_ms"
//! x_scale = "log"                   # linear | log (also y_scale); versus x: category
//!
//! [[plot]]
//! kind = "versus"
//! metric = "rounds_to_full"
//! x = "nodes"                       # a swept parameter, or "group" (groups side by side)
//! [[plot.reference]]                # dashed, in the legend: a formula in x or points
//! label = "log2 n + ln n (Pittel)"
//! formula = "log2(x) + ln(x)"       # or points = [[1, 0.18], [2, 0.037]]
//!
//! [[plot]]
//! kind = "series"                   # a kept series against its index, mean per configuration
//! series = "coverage"
//! complement = true                 # draw 1 − value
//! ```
//!
//! The plot keys and kinds are described in [`crate::plot`].
//!
//! Several `[[sweep]]` tables instead of one `[sweep]` give several groups
//! (`group = "name"` in each); the configurations are the groups' products one
//! after the other, and results gain a `group` column. The configurations of
//! a group vary the last key fastest. A group may have its own
//! `seeds = "A..B"` (many trials where runs are cheap, few where they are
//! not); the top-level `seeds` may then be left out if every group has one. Every configuration is validated like a
//! scenario file; an error names the file, the key and the accepted values.
//!
//! # The results folder
//!
//! - `runs.csv`: one row per run: `config`, (`group`), each swept parameter as
//!   written, `seed`, `stop` (reason), each kept metric, `hash` (of the run's
//!   trace). Rows in configuration-major, seed-minor order.
//! - `series.csv` (when the file lists `series`): the kept series facts in
//!   long form, one row per value: `config`, (`group`), each swept parameter,
//!   `seed`, `series` (the fact's name), `index` (0, 1, ... within the run),
//!   `value`. Rows in run order, then series order, then index. A series
//!   fact is an array of numbers a run reports at its end (gossip's
//!   `coverage`: the fraction informed after each round);
//!   `agentsim list` shows each protocol's.
//! - `summary.csv`: per configuration and metric: `count`, `mean`, `sd`,
//!   `se` (standard error of the mean; binomial for a 0/1 metric), `min`, `median`, `p90`, `p99`, `max`, `ci95_lo`, `ci95_hi`, `missing`
//!   (runs that did not report the metric); methods in [`stats`].
//! - `experiment.toml`: the experiment file, byte for byte.
//! - `manifest.toml`: the program version, the experiment's fingerprint, the
//!   counts, the shard (if any), and the versions of what affects replay.
//!
//! Numbers are written as the shortest decimal that reads back as the same
//! `f64` (see [`csv`]). The files are byte-identical whatever `--jobs`, the
//! shard split, or interruptions and resumes ([`runner`]).

pub mod computed;
pub mod csv;
pub mod derive;
pub mod expand;
pub mod format;
#[cfg(feature = "plot")]
pub mod formula;
pub mod labels;
pub mod merge;
pub mod plotspec;
pub mod results;
pub mod runner;
pub mod stats;

pub use format::Experiment;
pub use merge::merge;
pub use results::Shard;
pub use runner::{sweep, SweepOptions, SweepReport};

use std::path::Path;

/// Errors of experiments, sweeps, merges and plots.
#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    /// A bad experiment file, flag or results folder (also a missing or
    /// unreadable one): one line naming what and the accepted values.
    #[error("{0}")]
    BadInput(String),
    /// An I/O failure that is not the input's fault (writing results, say).
    #[error("{path}: {source}")]
    Io {
        /// The path concerned.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The worker threads could not be started.
    #[error("{0}")]
    Threads(#[from] crate::run::check::ThreadsError),
}

impl ExperimentError {
    /// An [`ExperimentError::Io`] on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> ExperimentError {
        ExperimentError::Io {
            path: path.display().to_string(),
            source,
        }
    }

    /// An input the user named (a trace, a results folder's files) that
    /// cannot be read: bad input, not an I/O error of ours.
    pub fn input(path: &Path, source: std::io::Error) -> ExperimentError {
        ExperimentError::BadInput(format!("{}: cannot read: {source}", path.display()))
    }
}

impl From<ExperimentError> for crate::run::RunError {
    /// Bad input keeps its exit code (`BAD_INPUT`), I/O errors theirs (`ERROR`).
    fn from(e: ExperimentError) -> Self {
        match e {
            ExperimentError::BadInput(m) => {
                crate::run::RunError::Config(crate::scenario::ConfigError(m))
            }
            ExperimentError::Io { path, source } => crate::run::RunError::Io { path, source },
            ExperimentError::Threads(e) => crate::run::RunError::Threads(e),
        }
    }
}
