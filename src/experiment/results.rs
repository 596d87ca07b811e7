//! The results format: the files of a results folder (`runs.csv`,
//! `series.csv`, `summary.csv`, `experiment.toml`, `manifest.toml`), how
//! they are written (atomically) and read back.

use super::csv::{self, num, opt_num, push_record};
use super::format::Experiment;
use super::stats::summarize;
use super::ExperimentError;
use crate::hash::RunHasher;
use crate::observe::trace::{dependency_versions, program_version};
use crate::run::{atomic_target, temp_path};
use std::collections::BTreeMap;
use std::hash::Hasher;
use std::io::Write;
use std::path::{Path, PathBuf};

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
pub(super) fn series_values(v: Option<&serde_json::Value>) -> Vec<f64> {
    match v {
        Some(serde_json::Value::Array(a)) => a.iter().filter_map(|x| x.as_f64()).collect(),
        Some(v) => v.as_f64().into_iter().collect(),
        None => Vec::new(),
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

/// `results/<experiment name>`.
pub fn default_out_dir(name: &str) -> PathBuf {
    Path::new("results").join(name)
}
