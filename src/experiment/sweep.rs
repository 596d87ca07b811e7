//! Running a sweep: every (configuration, seed) once, in parallel, with
//! results that do not depend on the number of threads, shards, or
//! interruptions.
//!
//! ```text
//!  todo = runs of this shard − rows already in DIR
//!    │  rayon pool (--jobs), one single-threaded run per task
//!    ▼
//!  (run index, result) ──channel──► main thread: append one line to
//!                                   DIR/.runs.partial, flush (per row)
//!    all done ──► runs.csv, summary.csv, experiment.toml, manifest.toml
//!                 (each temp + rename), then the partial file is removed
//! ```
//!
//! A rerun of the same command reads `.runs.partial` (and a finished
//! `runs.csv` of the same experiment) and only runs what is missing, so an
//! interrupted sweep loses at most the runs that were in flight. Rows are
//! sorted by run index before the final files are written, so the files are
//! byte-identical whatever the thread count, shard split or resume history.

use super::csv::{self, num, opt_num, push_record};
use super::file::Experiment;
use super::stats::summarize;
use super::ExperimentError;
use crate::run::{atomic_target, run_silent, temp_path};
use crate::trace::{dependency_versions, program_version, RunHasher};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::hash::Hasher;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

pub const RUNS_CSV: &str = "runs.csv";
/// The kept series facts, one row per value (only when the experiment keeps some).
pub const SERIES_CSV: &str = "series.csv";
pub const SUMMARY_CSV: &str = "summary.csv";
pub const EXPERIMENT_COPY: &str = "experiment.toml";
pub const MANIFEST: &str = "manifest.toml";
/// Completed rows of an unfinished sweep, one per line, flushed per row.
pub const PARTIAL: &str = ".runs.partial";

/// One slice of the runs: run `i` belongs to shard `i % count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl std::str::FromStr for Shard {
    type Err = String;
    /// `K/N` with `0 <= K < N` (Slurm: `$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT`).
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("'{s}' is not a shard (accepted: K/N with 0 <= K < N, e.g. 0/8)");
        let (k, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (u64, u64) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if count == 0 || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// How to run a sweep.
#[derive(Clone, Debug, Default)]
pub struct SweepOptions {
    pub out: PathBuf,
    /// Threads (all cores when `None`).
    pub jobs: Option<usize>,
    pub shard: Option<Shard>,
    /// Draw a progress bar on stderr if it is a terminal.
    pub progress: bool,
    /// Stop after this many new runs, leaving a resumable folder (for tests
    /// and for budgeted slices).
    pub max_runs: Option<u64>,
}

/// What a sweep did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepReport {
    /// Runs in this shard (all runs when not sharded).
    pub runs: u64,
    /// Runs found already done in the folder.
    pub resumed: u64,
    /// Runs executed now.
    pub ran: u64,
    /// Whether the final files were written.
    pub complete: bool,
    /// Runs done so far by stop reason.
    pub stops: BTreeMap<String, u64>,
    /// Rows found in the folder but thrown away: rerunning a sample gave
    /// other results (another build of agentsim wrote them).
    pub discarded: u64,
}

/// The outcome of one run, as kept in the results.
#[derive(Clone, Debug, PartialEq)]
pub struct RunResult {
    pub stop: String,
    pub hash: String,
    /// One per kept metric (`None`: the run did not report it).
    pub metrics: Vec<Option<f64>>,
    /// One per kept series: the numbers of the fact (empty: the run did not report it).
    pub series: Vec<Vec<f64>>,
}

/// The numbers of a series fact: an array of numbers (other entries are
/// skipped), or a single number.
fn series_values(v: Option<&serde_json::Value>) -> Vec<f64> {
    match v {
        Some(serde_json::Value::Array(a)) => a.iter().filter_map(|x| x.as_f64()).collect(),
        Some(v) => v.as_f64().into_iter().collect(),
        None => Vec::new(),
    }
}

/// Runs run `i` of the experiment (single-threaded, deterministic).
pub fn run_one(exp: &Experiment, i: u64) -> RunResult {
    let (c, seed) = exp.run_at(i);
    let mut sc = exp.configs[c].scenario.clone();
    sc.seed = seed;
    let report = run_silent(&sc);
    let mut computed: Vec<(&str, Option<f64>)> = Vec::with_capacity(exp.computed.len());
    for cm in &exp.computed {
        let v = cm.expr.eval(|m| {
            report
                .metrics
                .get(m)
                .copied()
                .or_else(|| computed.iter().find(|(n, _)| *n == m).and_then(|&(_, v)| v))
        });
        computed.push((cm.name.as_str(), v));
    }
    let metrics = exp
        .metrics
        .iter()
        .map(|m| {
            report
                .metrics
                .get(m.as_str())
                .copied()
                .or_else(|| computed.iter().find(|(n, _)| n == m).and_then(|&(_, v)| v))
        })
        .collect();
    let series = exp
        .series
        .iter()
        .map(|name| series_values(report.facts.get(name.as_str())))
        .collect();
    RunResult {
        stop: report.stop.as_str().to_string(),
        hash: report.hash,
        metrics,
        series,
    }
}

/// Identifies the experiment text and the program that runs it.
pub fn fingerprint(exp: &Experiment) -> String {
    let mut h = RunHasher::default();
    h.write(program_version().as_bytes());
    h.write(&[0]);
    h.write(exp.source.as_bytes());
    format!("{:016x}", h.value())
}

fn key_columns(exp: &Experiment) -> Vec<String> {
    let mut cols = vec!["config".to_string()];
    if exp.has_group_column() {
        cols.push("group".into());
    }
    cols.extend(exp.params.iter().cloned());
    cols
}

fn key_values(exp: &Experiment, config: usize) -> Vec<String> {
    let c = &exp.configs[config];
    let mut v = vec![config.to_string()];
    if exp.has_group_column() {
        v.push(exp.groups[c.group].clone());
    }
    v.extend(c.values.iter().cloned());
    v
}

/// The columns of `runs.csv`.
pub fn runs_header(exp: &Experiment) -> Vec<String> {
    let mut h = key_columns(exp);
    h.push("seed".into());
    h.push("stop".into());
    h.extend(exp.metrics.iter().cloned());
    h.push("hash".into());
    h
}

fn run_record(exp: &Experiment, i: u64, r: &RunResult) -> Vec<String> {
    let (c, seed) = exp.run_at(i);
    let mut rec = key_values(exp, c);
    rec.push(seed.to_string());
    rec.push(r.stop.clone());
    rec.extend(r.metrics.iter().map(|&m| opt_num(m)));
    rec.push(r.hash.clone());
    rec
}

/// `runs.csv`: one row per run, in run order.
pub fn runs_csv(exp: &Experiment, results: &BTreeMap<u64, RunResult>) -> String {
    let mut out = String::with_capacity(64 * (results.len() + 1));
    push_record(&mut out, &runs_header(exp));
    for (&i, r) in results {
        push_record(&mut out, &run_record(exp, i, r));
    }
    out
}

/// The columns of `summary.csv`.
pub const SUMMARY_STATS: [&str; 11] = [
    "count", "mean", "sd", "min", "median", "p90", "p99", "max", "ci95_lo", "ci95_hi", "missing",
];

/// `summary.csv`: per configuration and metric, the statistics of
/// [`stats`](super::stats) over the runs that reported the metric
/// (`missing` counts those that did not).
pub fn summary_csv(exp: &Experiment, results: &BTreeMap<u64, RunResult>) -> String {
    let mut out = String::new();
    let mut header = key_columns(exp);
    header.push("metric".into());
    header.extend(SUMMARY_STATS.iter().map(|s| s.to_string()));
    push_record(&mut out, &header);
    for c in 0..exp.configs.len() {
        let rows: Vec<&RunResult> = exp.runs_of(c).filter_map(|i| results.get(&i)).collect();
        for (mi, m) in exp.metrics.iter().enumerate() {
            let values: Vec<f64> = rows.iter().filter_map(|r| r.metrics[mi]).collect();
            let missing = rows.len() - values.len();
            let mut rec = key_values(exp, c);
            rec.push(m.clone());
            match summarize(&values) {
                Some(s) => {
                    rec.push(s.count.to_string());
                    rec.push(num(s.mean));
                    rec.push(opt_num(s.sd));
                    rec.push(num(s.min));
                    rec.push(num(s.median));
                    rec.push(num(s.p90));
                    rec.push(num(s.p99));
                    rec.push(num(s.max));
                    rec.push(opt_num(s.ci95.map(|c| c.0)));
                    rec.push(opt_num(s.ci95.map(|c| c.1)));
                }
                None => {
                    rec.push("0".into());
                    rec.extend(std::iter::repeat_n(String::new(), 9));
                }
            }
            rec.push(missing.to_string());
            push_record(&mut out, &rec);
        }
    }
    out
}

/// The `(config, seed)` of a stored row, checked against the experiment: the
/// row has `width` fields, its config exists, its seed is one of the config's.
fn row_key(
    exp: &Experiment,
    rec: &[String],
    width: usize,
    nk: usize,
    line: usize,
) -> Result<(usize, u64), String> {
    if rec.len() != width {
        return Err(format!(
            "line {line}: {} fields, expected {width}",
            rec.len()
        ));
    }
    let config: usize = rec[0]
        .parse()
        .ok()
        .filter(|&c| c < exp.configs.len())
        .ok_or_else(|| format!("line {line}: config '{}' out of range", rec[0]))?;
    let seed: u64 = rec[nk]
        .parse()
        .ok()
        .filter(|s| exp.configs[config].seeds.contains(s))
        .ok_or_else(|| format!("line {line}: seed '{}' out of range", rec[nk]))?;
    Ok((config, seed))
}
/// Reads `runs.csv` text back into results; every row must be exactly what
/// this experiment would write (so merged files are byte-identical).
pub fn parse_runs_csv(exp: &Experiment, text: &str) -> Result<BTreeMap<u64, RunResult>, String> {
    let records = csv::parse(text)?;
    let header = runs_header(exp);
    let Some(first) = records.first() else {
        return Err("empty file, no header".into());
    };
    if *first != header {
        return Err(format!(
            "columns differ from the experiment's (expected: {})",
            header.join(",")
        ));
    }
    let nk = key_columns(exp).len();
    let mut out = BTreeMap::new();
    for (li, rec) in records.iter().enumerate().skip(1) {
        let line = li + 1;
        let (config, seed) = row_key(exp, rec, header.len(), nk, line)?;
        let metrics = rec[nk + 2..nk + 2 + exp.metrics.len()]
            .iter()
            .map(|f| {
                if f.is_empty() {
                    Ok(None)
                } else {
                    f.parse::<f64>()
                        .map(Some)
                        .map_err(|_| format!("line {line}: '{f}' is not a number"))
                }
            })
            .collect::<Result<Vec<_>, String>>()?;
        let r = RunResult {
            stop: rec[nk + 1].clone(),
            hash: rec[header.len() - 1].clone(),
            metrics,
            series: vec![Vec::new(); exp.series.len()],
        };
        let i = exp.run_index(config, seed);
        if run_record(exp, i, &r) != *rec {
            return Err(format!(
                "line {line}: differs from what this experiment writes for config {config}, seed {seed}"
            ));
        }
        if out.insert(i, r).is_some() {
            return Err(format!(
                "line {line}: config {config}, seed {seed} appears twice"
            ));
        }
    }
    Ok(out)
}

/// The columns of `series.csv`.
pub fn series_header(exp: &Experiment) -> Vec<String> {
    let mut h = key_columns(exp);
    for c in ["seed", "series", "index", "value"] {
        h.push(c.into());
    }
    h
}

/// `series.csv`: the kept series in long form, one row per value: the
/// configuration's columns, `seed`, `series` (the fact's name), `index`
/// (0, 1, ... within the run) and `value`; in run order, then series order.
pub fn series_csv(exp: &Experiment, results: &BTreeMap<u64, RunResult>) -> String {
    let mut out = String::new();
    push_record(&mut out, &series_header(exp));
    for (&i, r) in results {
        let (c, seed) = exp.run_at(i);
        let mut rec = key_values(exp, c);
        rec.push(seed.to_string());
        let nk = rec.len();
        for (name, values) in exp.series.iter().zip(&r.series) {
            for (k, &v) in values.iter().enumerate() {
                rec.truncate(nk);
                rec.push(name.clone());
                rec.push(k.to_string());
                rec.push(num(v));
                push_record(&mut out, &rec);
            }
        }
    }
    out
}

/// Reads `series.csv` text into the series of `results` (the runs of
/// `runs.csv`); the file must be exactly what this experiment writes for them.
pub fn parse_series_csv(
    exp: &Experiment,
    text: &str,
    results: &mut BTreeMap<u64, RunResult>,
) -> Result<(), String> {
    let records = csv::parse(text)?;
    let header = series_header(exp);
    match records.first() {
        None => return Err("empty file, no header".into()),
        Some(h) if *h != header => {
            return Err(format!(
                "columns differ from the experiment's (expected: {})",
                header.join(",")
            ))
        }
        Some(_) => {}
    }
    for r in results.values_mut() {
        r.series = vec![Vec::new(); exp.series.len()];
    }
    let nk = key_columns(exp).len();
    for (li, rec) in records.iter().enumerate().skip(1) {
        let line = li + 1;
        let (config, seed) = row_key(exp, rec, header.len(), nk, line)?;
        let si = exp
            .series
            .iter()
            .position(|n| *n == rec[nk + 1])
            .ok_or_else(|| format!("line {line}: series '{}' not kept", rec[nk + 1]))?;
        let value: f64 = rec[nk + 3]
            .parse()
            .map_err(|_| format!("line {line}: '{}' is not a number", rec[nk + 3]))?;
        let r = results
            .get_mut(&exp.run_index(config, seed))
            .ok_or_else(|| {
                format!("line {line}: config {config}, seed {seed} is not in runs.csv")
            })?;
        let values = &mut r.series[si];
        if rec[nk + 2] != values.len().to_string() {
            return Err(format!(
                "line {line}: index '{}', expected {}",
                rec[nk + 2],
                values.len()
            ));
        }
        values.push(value);
    }
    if series_csv(exp, results) != text {
        return Err("differs from what this experiment writes for these runs".into());
    }
    Ok(())
}

/// Reads the runs of a finished folder: `runs.csv`, and `series.csv` when
/// the experiment keeps series.
pub fn read_results(
    exp: &Experiment,
    dir: &Path,
) -> Result<BTreeMap<u64, RunResult>, ExperimentError> {
    let read = |name: &str| {
        let p = dir.join(name);
        std::fs::read_to_string(&p).map_err(|e| ExperimentError::input(&p, e))
    };
    let at = |name: &str, e: String| {
        ExperimentError::BadInput(format!("{}: {e}", dir.join(name).display()))
    };
    let mut results = parse_runs_csv(exp, &read(RUNS_CSV)?).map_err(|e| at(RUNS_CSV, e))?;
    if !exp.series.is_empty() {
        parse_series_csv(exp, &read(SERIES_CSV)?, &mut results).map_err(|e| at(SERIES_CSV, e))?;
    }
    Ok(results)
}

/// What `manifest.toml` records.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct Manifest {
    pub program: String,
    pub experiment: String,
    pub fingerprint: String,
    pub configurations: u64,
    pub seeds: String,
    pub runs: u64,
    pub shard: Option<String>,
}

fn manifest_text(exp: &Experiment, shard: Option<Shard>, runs: u64) -> String {
    let mut s = String::new();
    s.push_str("# Written by `agentsim sweep` (or `merge`): the program and the experiment\n");
    s.push_str("# (copied to experiment.toml) that produced runs.csv and summary.csv.\n");
    let q = |v: &str| toml::Value::String(v.to_string()).to_string();
    s.push_str(&format!("program = {}\n", q(&program_version())));
    s.push_str(&format!("experiment = {}\n", q(&exp.name)));
    s.push_str(&format!("fingerprint = {}\n", q(&fingerprint(exp))));
    s.push_str(&format!("configurations = {}\n", exp.configs.len()));
    s.push_str(&format!("seeds = {}\n", q(&exp.seeds_text())));
    s.push_str(&format!("runs = {runs}\n"));
    if let Some(sh) = shard {
        s.push_str(&format!("shard = {}\n", q(&sh.to_string())));
    }
    s.push_str("\n[dependencies]\n");
    if let serde_json::Value::Object(m) = dependency_versions() {
        for (k, v) in m {
            s.push_str(&format!("{k} = {}\n", q(v.as_str().unwrap_or(""))));
        }
    }
    s
}

/// Reads `DIR/manifest.toml` if there is one.
pub fn read_manifest(dir: &Path) -> Result<Option<Manifest>, ExperimentError> {
    let path = dir.join(MANIFEST);
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ExperimentError::input(&path, e)),
    };
    toml::from_str(&text)
        .map(Some)
        .map_err(|e| ExperimentError::BadInput(format!("{}: {}", path.display(), e.message())))
}

/// Writes `text` to `path` atomically (temporary file, then rename); a device
/// or pipe is written in place ([`atomic_target`]).
pub fn write_atomic(path: &Path, text: &[u8]) -> Result<(), ExperimentError> {
    let Some(target) = atomic_target(path) else {
        return std::fs::OpenOptions::new()
            .write(true)
            .open(path)
            .and_then(|mut f| f.write_all(text))
            .map_err(|e| ExperimentError::io(path, e));
    };
    let tmp = temp_path(&target);
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(text)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &target)
    })();
    res.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        ExperimentError::io(path, e)
    })
}

/// Writes the final files of a complete (shard of a) sweep.
pub fn write_results(
    exp: &Experiment,
    dir: &Path,
    shard: Option<Shard>,
    results: &BTreeMap<u64, RunResult>,
) -> Result<(), ExperimentError> {
    write_atomic(&dir.join(EXPERIMENT_COPY), exp.source.as_bytes())?;
    if shard.is_none() {
        write_atomic(&dir.join(SUMMARY_CSV), summary_csv(exp, results).as_bytes())?;
    } else {
        // A shard alone has no meaningful summary; never leave a stale one.
        match std::fs::remove_file(dir.join(SUMMARY_CSV)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(ExperimentError::io(&dir.join(SUMMARY_CSV), e))
            }
            _ => {}
        }
    }
    if !exp.series.is_empty() {
        write_atomic(&dir.join(SERIES_CSV), series_csv(exp, results).as_bytes())?;
    }
    write_atomic(&dir.join(RUNS_CSV), runs_csv(exp, results).as_bytes())?;
    // Last: a manifest vouches for the files above.
    let manifest = manifest_text(exp, shard, results.len() as u64);
    write_atomic(&dir.join(MANIFEST), manifest.as_bytes())
}

fn partial_header(exp: &Experiment, shard: Option<Shard>) -> String {
    format!(
        "# agentsim sweep partial v1 {} shard {}\n",
        fingerprint(exp),
        shard.map(|s| s.to_string()).unwrap_or_else(|| "-".into())
    )
}

fn partial_line(out: &mut String, i: u64, r: &RunResult) {
    out.clear();
    out.push_str(&i.to_string());
    out.push(',');
    out.push_str(&r.stop);
    out.push(',');
    out.push_str(&r.hash);
    for m in &r.metrics {
        out.push(',');
        out.push_str(&opt_num(*m));
    }
    // A series is one field of space-separated numbers.
    for values in &r.series {
        out.push(',');
        for (k, &v) in values.iter().enumerate() {
            if k > 0 {
                out.push(' ');
            }
            out.push_str(&num(v));
        }
    }
    out.push('\n');
}

/// Rows of a partial file written for this experiment and shard; a file of
/// another experiment, or a torn last line, is ignored.
fn read_partial(exp: &Experiment, header: &str, text: &str) -> BTreeMap<u64, RunResult> {
    let mut out = BTreeMap::new();
    let Some(body) = text.strip_prefix(header) else {
        return out;
    };
    for line in body.split_inclusive('\n') {
        let Some(line) = line.strip_suffix('\n') else {
            break; // torn by an interruption
        };
        let f: Vec<&str> = line.split(',').collect();
        let nm = exp.metrics.len();
        if f.len() != 3 + nm + exp.series.len() {
            continue;
        }
        let Ok(i) = f[0].parse::<u64>() else { continue };
        if i >= exp.runs() {
            continue;
        }
        let metrics: Result<Vec<Option<f64>>, _> = f[3..3 + nm]
            .iter()
            .map(|s| {
                if s.is_empty() {
                    Ok(None)
                } else {
                    s.parse::<f64>().map(Some)
                }
            })
            .collect();
        let Ok(metrics) = metrics else { continue };
        let series: Result<Vec<Vec<f64>>, _> = f[3 + nm..]
            .iter()
            .map(|s| {
                s.split(' ')
                    .filter(|v| !v.is_empty())
                    .map(str::parse::<f64>)
                    .collect()
            })
            .collect();
        let Ok(series) = series else { continue };
        out.insert(
            i,
            RunResult {
                stop: f[1].to_string(),
                hash: f[2].to_string(),
                metrics,
                series,
            },
        );
    }
    out
}

/// Runs the experiment's runs of this shard that the folder does not hold yet.
pub fn sweep(exp: &Experiment, opts: &SweepOptions) -> Result<SweepReport, ExperimentError> {
    let dir = &opts.out;
    std::fs::create_dir_all(dir).map_err(|e| ExperimentError::io(dir, e))?;
    let shard = opts.shard;
    let mine = |i: u64| shard.is_none_or(|s| i % s.count == s.index);
    let total = (0..exp.runs()).filter(|&i| mine(i)).count() as u64;

    // What the folder already holds.
    let mut done: BTreeMap<u64, RunResult> = BTreeMap::new();
    if let Ok(Some(m)) = read_manifest(dir) {
        let same_shard = m.shard == shard.map(|s| s.to_string());
        if m.fingerprint == fingerprint(exp) && same_shard {
            if let Ok(rows) = read_results(exp, dir) {
                done.extend(rows);
            }
        }
    }
    let partial = dir.join(PARTIAL);
    let header = partial_header(exp, shard);
    match std::fs::read_to_string(&partial) {
        Ok(text) => done.extend(read_partial(exp, &header, &text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(ExperimentError::io(&partial, e)),
    }
    done.retain(|&i, _| mine(i));
    // The fingerprint names the program version, not the build: rerun the
    // first and last rows found and start over if they come out different
    // (results of another build of the engine must not be mixed in).
    let mut discarded = 0;
    let probes: Vec<u64> = [done.keys().next(), done.keys().next_back()]
        .into_iter()
        .flatten()
        .copied()
        .collect();
    for i in probes {
        if run_one(exp, i) != done[&i] {
            discarded = done.len() as u64;
            done.clear();
            break;
        }
    }
    let resumed = done.len() as u64;

    // Start the partial file afresh with the rows known so far (this drops a
    // torn last line and rows of other experiments), then append.
    let mut text = header.clone();
    let mut line = String::new();
    for (&i, r) in &done {
        partial_line(&mut line, i, r);
        text.push_str(&line);
    }
    write_atomic(&partial, text.as_bytes())?;

    let mut todo: Vec<u64> = (0..exp.runs())
        .filter(|&i| mine(i) && !done.contains_key(&i))
        .collect();
    if let Some(max) = opts.max_runs {
        todo.truncate(max as usize);
    }
    let ran = todo.len() as u64;
    if !todo.is_empty() {
        run_parallel(exp, &todo, opts, &partial, &mut done)?;
    }

    let mut stops = BTreeMap::new();
    for r in done.values() {
        *stops.entry(r.stop.clone()).or_insert(0) += 1;
    }
    let complete = done.len() as u64 == total;
    if complete {
        write_results(exp, dir, shard, &done)?;
        std::fs::remove_file(&partial).map_err(|e| ExperimentError::io(&partial, e))?;
    }
    Ok(SweepReport {
        runs: total,
        resumed,
        ran,
        complete,
        stops,
        discarded,
    })
}

fn run_parallel(
    exp: &Experiment,
    todo: &[u64],
    opts: &SweepOptions,
    partial: &Path,
    done: &mut BTreeMap<u64, RunResult>,
) -> Result<(), ExperimentError> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(partial)
        .map_err(|e| ExperimentError::io(partial, e))?;
    let pool = crate::check::thread_pool(opts.jobs)?;
    let bar = progress_bar(opts.progress, todo.len() as u64);
    let abort = AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::sync_channel::<(u64, RunResult)>(4096);
    let mut error = None;
    std::thread::scope(|s| {
        let abort = &abort;
        s.spawn(move || {
            pool.install(|| {
                // One run per task: runs differ in cost by 10× or more, and
                // rayon only splits a range when a thread steals, so without
                // this a thread can sit idle while the other finishes a
                // quarter of the runs alone.
                todo.par_iter().with_max_len(1).for_each_with(tx, |tx, &i| {
                    if abort.load(Ordering::Relaxed) {
                        return;
                    }
                    let _ = tx.send((i, run_one(exp, i)));
                })
            })
        });
        let mut line = String::new();
        for (i, r) in rx.iter() {
            partial_line(&mut line, i, &r);
            // One write per row, flushed: an interruption loses only runs in flight.
            if let Err(e) = file.write_all(line.as_bytes()).and_then(|_| file.flush()) {
                abort.store(true, Ordering::Relaxed);
                error.get_or_insert(ExperimentError::io(partial, e));
                continue;
            }
            done.insert(i, r);
            bar.inc(1);
        }
    });
    bar.finish_and_clear();
    match error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

fn progress_bar(wanted: bool, len: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !(wanted && std::io::stderr().is_terminal()) {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {human_pos}/{human_len} runs, {rate} runs/s, {eta} left",
    ) {
        let style = style
            .with_key(
                "rate",
                |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0}", s.per_sec());
                },
            )
            .progress_chars("=> ");
        bar.set_style(style);
    }
    bar
}

/// Joins shard folders into `out`, byte-identical to a single-machine run.
pub fn merge(dirs: &[PathBuf], out: Option<&Path>) -> Result<(PathBuf, u64), ExperimentError> {
    let bad = |m: String| ExperimentError::BadInput(m);
    let Some(first) = dirs.first() else {
        return Err(bad("merge needs at least one folder".into()));
    };
    let mut manifests = Vec::new();
    for d in dirs {
        let m = read_manifest(d)?.ok_or_else(|| {
            bad(format!(
                "{}: no {MANIFEST} (accepted: folders written by `agentsim sweep --shard K/N`)",
                d.display()
            ))
        })?;
        manifests.push(m);
    }
    let m0 = &manifests[0];
    if m0.program != program_version() {
        return Err(bad(format!(
            "{}: written by {}, this is {} (accepted: shards of the same program version)",
            first.display(),
            m0.program,
            program_version()
        )));
    }
    let source_path = first.join(EXPERIMENT_COPY);
    let source = std::fs::read_to_string(&source_path)
        .map_err(|e| ExperimentError::input(&source_path, e))?;
    let exp = Experiment::parse(&source, &m0.experiment, &source_path.display().to_string())?;
    let fp = fingerprint(&exp);
    let mut shards: Vec<Option<Shard>> = Vec::new();
    for (d, m) in dirs.iter().zip(&manifests) {
        if m.fingerprint != fp {
            return Err(bad(format!(
                "{}: results of another experiment or program version than {} (fingerprint {} vs {fp})",
                d.display(),
                first.display(),
                m.fingerprint
            )));
        }
        let sh = match &m.shard {
            None => None,
            Some(s) => Some(
                s.parse::<Shard>()
                    .map_err(|e| bad(format!("{}: {e}", d.display())))?,
            ),
        };
        shards.push(sh);
    }
    let count = shards[0].map_or(1, |s| s.count);
    let mut seen = vec![false; count as usize];
    for (d, sh) in dirs.iter().zip(&shards) {
        let (k, n) = sh.map_or((0, 1), |s| (s.index, s.count));
        if n != count {
            return Err(bad(format!(
                "{}: shard {k}/{n}, but {} is one of {count} shards",
                d.display(),
                first.display()
            )));
        }
        if std::mem::replace(&mut seen[k as usize], true) {
            return Err(bad(format!("{}: shard {k}/{n} given twice", d.display())));
        }
    }
    if let Some(k) = seen.iter().position(|s| !s) {
        return Err(bad(format!(
            "shard {k}/{count} missing (accepted: the folders of all {count} shards)"
        )));
    }
    let mut results = BTreeMap::new();
    for (d, sh) in dirs.iter().zip(&shards) {
        let path = d.join(RUNS_CSV);
        let rows = read_results(&exp, d)?;
        // One row per shard is rerun: shards of another build must not mix.
        if let Some((&i, r)) = rows.iter().next() {
            if run_one(&exp, i) != *r {
                return Err(bad(format!(
                    "{}: run {i} comes out different with this build of agentsim (accepted: shards run by the same build; rerun this shard)",
                    path.display()
                )));
            }
        }
        for (i, r) in rows {
            if let Some(s) = sh {
                if i % s.count != s.index {
                    return Err(bad(format!(
                        "{}: run {i} does not belong to shard {s}",
                        path.display()
                    )));
                }
            }
            results.insert(i, r);
        }
    }
    if results.len() as u64 != exp.runs() {
        return Err(bad(format!(
            "the shards hold {} of {} runs (accepted: finished shards; rerun the unfinished ones)",
            results.len(),
            exp.runs()
        )));
    }
    let out = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| default_out_dir(&exp.name));
    std::fs::create_dir_all(&out).map_err(|e| ExperimentError::io(&out, e))?;
    write_results(&exp, &out, None, &results)?;
    Ok((out, results.len() as u64))
}

/// `results/<experiment name>`.
pub fn default_out_dir(name: &str) -> PathBuf {
    Path::new("results").join(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::file::{protocol_metrics, protocol_series};

    fn exp() -> Experiment {
        Experiment::parse(
            "protocol = \"raft\"\nseeds = \"0..3\"\nmetrics = [\"downtime_ms\", \"terms\"]\n[scenario.faults.leader_crashes]\nfirst = \"1s\"\nevery = \"1s\"\ndown = \"500ms\"\ncount = 1\n[sweep]\nnodes = [3, 5]\n",
            "t",
            "t.toml",
        )
        .unwrap()
    }

    #[test]
    fn raft_metrics_list_matches_the_monitor() {
        let e = exp();
        let mut sc = e.configs[0].scenario.clone();
        sc.seed = 1;
        let r = run_silent(&sc);
        let mut reported: Vec<&str> = r.metrics.keys().map(|s| s.as_ref()).collect();
        let mut listed = protocol_metrics("raft").unwrap().to_vec();
        reported.sort_unstable();
        listed.sort_unstable();
        assert_eq!(
            reported, listed,
            "the Raft monitor's metrics changed: update protocol_metrics()"
        );
    }

    #[test]
    fn gossip_metrics_are_listed() {
        // Rumor mongering reports every rumor metric; anti-entropy the convergence ones.
        for mode in ["rumor", "anti-entropy"] {
            let e = Experiment::parse(
                &format!("protocol = \"gossip\"\nseeds = \"0..2\"\n[scenario]\nnodes = 50\n[scenario.protocol]\nmode = \"{mode}\"\n"),
                "g",
                "g.toml",
            )
            .unwrap();
            let mut sc = e.configs[0].scenario.clone();
            sc.seed = 1;
            let r = run_silent(&sc);
            let listed = protocol_metrics("gossip").unwrap();
            for m in r.metrics.keys() {
                assert!(
                    listed.contains(&m.as_ref()),
                    "gossip reports '{m}': add it to protocol_metrics()"
                );
            }
        }
    }

    #[test]
    fn gossip_series_are_listed_and_round_trip() {
        let e = Experiment::parse(
            "protocol = \"gossip\"\nseeds = \"0..3\"\nmetrics = [\"rounds_to_full\"]\nseries = [\"coverage\"]\n[scenario]\nnodes = 40\n[sweep]\n\"protocol.direction\" = [\"push\", \"pull\"]\n",
            "g",
            "g.toml",
        )
        .unwrap();
        let mut sc = e.configs[0].scenario.clone();
        sc.seed = 1;
        let report = run_silent(&sc);
        for name in protocol_series("gossip") {
            assert!(
                report.facts.get(*name).is_some_and(|v| v.is_array()),
                "gossip reports no array '{name}': update protocol_series()"
            );
        }
        let results: BTreeMap<u64, RunResult> =
            (0..e.runs()).map(|i| (i, run_one(&e, i))).collect();
        assert!(results.values().all(|r| r.series[0].len() > 2));
        // series.csv and the partial file give back the same numbers.
        let mut back = parse_runs_csv(&e, &runs_csv(&e, &results)).unwrap();
        parse_series_csv(&e, &series_csv(&e, &results), &mut back).unwrap();
        assert_eq!(back, results);
        let header = partial_header(&e, None);
        let mut text = header.clone();
        let mut line = String::new();
        for (&i, r) in &results {
            partial_line(&mut line, i, r);
            text.push_str(&line);
        }
        assert_eq!(read_partial(&e, &header, &text), results);
        // A series row of a run that is not in runs.csv is refused.
        let mut fewer = results.clone();
        fewer.remove(&5);
        let err = parse_series_csv(&e, &series_csv(&e, &results), &mut fewer).unwrap_err();
        assert!(err.contains("not in runs.csv"), "{err}");
    }

    #[test]
    fn partial_rows_round_trip_and_torn_lines_are_ignored() {
        let e = exp();
        let header = partial_header(&e, None);
        let mut text = header.clone();
        let mut line = String::new();
        let r = run_one(&e, 4);
        partial_line(&mut line, 4, &r);
        text.push_str(&line);
        text.push_str("5,done,00ff"); // torn
        let back = read_partial(&e, &header, &text);
        assert_eq!(back.len(), 1);
        assert_eq!(back[&4], r);
        // Another experiment's partial file is ignored.
        assert!(read_partial(
            &e,
            &partial_header(&e, Some(Shard { index: 0, count: 2 })),
            &text
        )
        .is_empty());
    }

    #[test]
    fn runs_csv_round_trips() {
        let e = exp();
        let results: BTreeMap<u64, RunResult> =
            (0..e.runs()).map(|i| (i, run_one(&e, i))).collect();
        let text = runs_csv(&e, &results);
        assert_eq!(parse_runs_csv(&e, &text).unwrap(), results);
        // A row whose parameters are not the configuration's is rejected.
        let tampered = text.replacen("\n0,3,0,", "\n0,4,0,", 1);
        assert_ne!(tampered, text);
        assert!(parse_runs_csv(&e, &tampered).is_err());
        assert!("2/2".parse::<Shard>().is_err());
        assert_eq!(
            "1/4".parse::<Shard>().unwrap(),
            Shard { index: 1, count: 4 }
        );
    }
}
