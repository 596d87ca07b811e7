//! The results format: the files of a results folder (`runs.csv`,
//! `series.csv`, `summary.csv`, `experiment.toml`, `manifest.toml`), how
//! they are written (atomically) and read back.
//!
//! # Format 2
//!
//! - Key columns (every file): `config`, `group` (with several sweep
//!   groups), then each swept parameter as written, followed, when its
//!   values are durations, by the same in milliseconds: `NAME_ms`, or for a
//!   range `NAME_min_ms` and `NAME_max_ms` (`150ms..300ms` gives 150, 300).
//! - `runs.csv`: the key columns, `seed`, `stop`, each kept metric (an
//!   empty cell: the run did not report it, e.g. no leader crash to time),
//!   `hash` (the run hash), `config_id` (16 hex digits: the configuration's
//!   content, the scenario with every setting and derived value), and
//!   `check` (16 hex digits over the model version and every other field
//!   of the row as written). A row whose check fails, or that was written
//!   by another model version, is refused.
//! - A row is identified by `(config_id, seed)` under the model version, so a
//!   sweep reuses the rows it already has whatever their position.

use super::csv::{self, num, opt_num, push_record};
use super::format::Experiment;
use super::stats::summarize;
use super::ExperimentError;
use crate::hash::RunHasher;
use crate::observe::trace::{dependency_versions, program_version};
use crate::run::{atomic_target, temp_path};
use crate::time::{Dur, DurRange};
use std::collections::BTreeMap;
use std::hash::Hasher;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The results format written (`format` in `manifest.toml`).
pub const FORMAT: u32 = 2;
/// One row per run.
pub const RUNS_CSV: &str = "runs.csv";
/// The kept series facts, one row per value (only when the experiment keeps some).
pub const SERIES_CSV: &str = "series.csv";
/// Statistics per configuration and metric.
pub const SUMMARY_CSV: &str = "summary.csv";
/// The experiment file, byte for byte.
pub const EXPERIMENT_COPY: &str = "experiment.toml";
/// What wrote the folder.
pub const MANIFEST: &str = "manifest.toml";
/// Completed rows of an unfinished sweep, one per line, flushed per row.
pub const PARTIAL: &str = ".runs.partial";

/// One slice of the runs: run `i` belongs to shard `i % count`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: u64,
    /// How many shards.
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
    /// What stopped the run.
    pub stop: String,
    /// The run hash.
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

/// The content of configuration `c`: its scenario (every setting, derived
/// values included; not the seed), as 16 hex digits. Two configurations
/// with the same content run the same runs for the same seeds.
pub fn config_id(exp: &Experiment, c: usize) -> String {
    exp.configs[c].id.clone()
}

/// Identifies the experiment's base: its name, protocol and base scenario
/// (not its sweep, seeds, metrics or plots). A folder of another base holds
/// another experiment's results.
pub fn base_id(exp: &Experiment) -> String {
    let mut h = RunHasher::default();
    h.write(exp.name.as_bytes());
    h.write(&[0]);
    h.write(exp.protocol.as_bytes());
    h.write(&[0]);
    h.write(exp.base_text.as_bytes());
    format!("{:016x}", h.value())
}

/// The check of a row: the model version and every field before it.
pub fn row_check(fields: &[String]) -> String {
    let mut h = RunHasher::default();
    h.word(crate::hash::MODEL_VERSION as u64);
    for f in fields {
        h.word(f.len() as u64);
        h.write(f.as_bytes());
    }
    format!("{:016x}", h.value())
}

/// The millisecond companions of a swept parameter's column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Units {
    None,
    /// A duration: `NAME_ms`.
    Ms,
    /// A duration range: `NAME_min_ms`, `NAME_max_ms`.
    Range,
}

fn units(exp: &Experiment, param: usize) -> Units {
    let values: Vec<&str> = exp
        .configs
        .iter()
        .map(|c| c.values[param].as_str())
        .filter(|v| !v.is_empty())
        .collect();
    if values.is_empty() {
        Units::None
    } else if values.iter().all(|v| v.parse::<Dur>().is_ok()) {
        Units::Ms
    } else if values
        .iter()
        .all(|v| v.contains("..") && v.parse::<DurRange>().is_ok())
    {
        Units::Range
    } else {
        Units::None
    }
}

fn ms(d: Dur) -> String {
    num(d.0 as f64 / crate::time::MS as f64)
}

/// The key columns: `config`, (`group`), each swept parameter and its
/// millisecond companions.
pub fn key_columns(exp: &Experiment) -> Vec<String> {
    let mut cols = vec!["config".to_string()];
    if exp.has_group_column() {
        cols.push("group".into());
    }
    for (i, p) in exp.params.iter().enumerate() {
        cols.push(p.clone());
        match units(exp, i) {
            Units::None => {}
            Units::Ms => cols.push(format!("{p}_ms")),
            Units::Range => {
                cols.push(format!("{p}_min_ms"));
                cols.push(format!("{p}_max_ms"));
            }
        }
    }
    cols
}

/// The key fields of configuration `config`.
pub fn key_values(exp: &Experiment, config: usize) -> Vec<String> {
    let c = &exp.configs[config];
    let mut v = vec![config.to_string()];
    if exp.has_group_column() {
        v.push(exp.groups[c.group].clone());
    }
    for (i, value) in c.values.iter().enumerate() {
        v.push(value.clone());
        match units(exp, i) {
            Units::None => {}
            Units::Ms => v.push(value.parse::<Dur>().map(ms).unwrap_or_default()),
            Units::Range => match value.parse::<DurRange>() {
                Ok(r) => {
                    v.push(ms(r.lo));
                    v.push(ms(r.hi));
                }
                Err(_) => {
                    v.push(String::new());
                    v.push(String::new());
                }
            },
        }
    }
    v
}

/// The columns of `runs.csv`.
pub fn runs_header(exp: &Experiment) -> Vec<String> {
    let mut h = key_columns(exp);
    h.push("seed".into());
    h.push("stop".into());
    h.extend(exp.metrics.iter().cloned());
    for c in ["hash", "config_id", "check"] {
        h.push(c.into());
    }
    h
}

fn run_record(exp: &Experiment, i: u64, r: &RunResult) -> Vec<String> {
    let (c, seed) = exp.run_at(i);
    let mut rec = key_values(exp, c);
    rec.push(seed.to_string());
    rec.push(r.stop.clone());
    rec.extend(r.metrics.iter().map(|&m| opt_num(m)));
    rec.push(r.hash.clone());
    rec.push(config_id(exp, c));
    rec.push(row_check(&rec));
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
pub const SUMMARY_STATS: [&str; 12] = [
    "count", "mean", "sd", "se", "min", "median", "p90", "p99", "max", "ci95_lo", "ci95_hi", "missing",
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
                    rec.push(opt_num(s.se));
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
                    rec.extend(std::iter::repeat_n(String::new(), SUMMARY_STATS.len() - 2));
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
        if rec.len() == header.len() && row_check(&rec[..rec.len() - 1]) != rec[rec.len() - 1] {
            return Err(format!(
                "line {line}: the row's check fails (the row was changed, or written by another model version than {})",
                crate::hash::MODEL_VERSION
            ));
        }
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
            hash: rec[header.len() - 3].clone(),
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

/// A row found in a folder, by what identifies it: `(config_id, seed)`.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredRow {
    /// What stopped the run.
    pub stop: String,
    /// The run hash.
    pub hash: String,
    /// Metric values by name (`None`: not reported).
    pub metrics: BTreeMap<String, Option<f64>>,
    /// Series values by name (`None`: the folder kept no series).
    pub series: Option<BTreeMap<String, Vec<f64>>>,
}

/// The rows of a finished folder written by this model version, whatever
/// experiment wrote them, keyed by `(config_id, seed)`; rows whose check
/// fails are counted, not returned. `None` when the folder has no usable
/// `runs.csv` (another format, another model version, unreadable).
#[allow(clippy::type_complexity)] // the rows and the count of rows failing their check
pub fn read_stored(dir: &Path) -> Option<(BTreeMap<(String, u64), StoredRow>, u64)> {
    let m = read_manifest(dir).ok()??;
    if m.format != FORMAT || m.model != crate::hash::MODEL_VERSION {
        return None;
    }
    let text = std::fs::read_to_string(dir.join(RUNS_CSV)).ok()?;
    let records = csv::parse(&text).ok()?;
    let header = records.first()?;
    let col = |name: &str| header.iter().position(|h| h == name);
    let (seed_c, stop_c, hash_c, id_c, config_c) = (
        col("seed")?,
        col("stop")?,
        col("hash")?,
        col("config_id")?,
        col("config")?,
    );
    if header.last().map(String::as_str) != Some("check") {
        return None;
    }
    let metric_cols: Vec<(String, usize)> = header[stop_c + 1..hash_c]
        .iter()
        .enumerate()
        .map(|(k, name)| (name.clone(), stop_c + 1 + k))
        .collect();
    let mut rows = BTreeMap::new();
    let mut by_config: BTreeMap<(String, u64), (String, u64)> = BTreeMap::new();
    let mut bad = 0;
    for rec in records.iter().skip(1) {
        if rec.len() != header.len() || row_check(&rec[..rec.len() - 1]) != rec[rec.len() - 1] {
            bad += 1;
            continue;
        }
        let Ok(seed) = rec[seed_c].parse::<u64>() else {
            bad += 1;
            continue;
        };
        let mut metrics = BTreeMap::new();
        for (name, c) in &metric_cols {
            let v = if rec[*c].is_empty() {
                None
            } else {
                match rec[*c].parse::<f64>() {
                    Ok(v) => Some(v),
                    Err(_) => continue,
                }
            };
            metrics.insert(name.clone(), v);
        }
        let key = (rec[id_c].clone(), seed);
        by_config.insert((rec[config_c].clone(), seed), key.clone());
        rows.insert(
            key,
            StoredRow {
                stop: rec[stop_c].clone(),
                hash: rec[hash_c].clone(),
                metrics,
                series: None,
            },
        );
    }
    // Series, keyed by the folder's own (config, seed).
    if let Ok(text) = std::fs::read_to_string(dir.join(SERIES_CSV)) {
        if let Ok(records) = csv::parse(&text) {
            if let Some(h) = records.first() {
                let col = |name: &str| h.iter().position(|x| x == name);
                if let (Some(cc), Some(sc), Some(nc), Some(vc)) =
                    (col("config"), col("seed"), col("series"), col("value"))
                {
                    for rec in records.iter().skip(1) {
                        let (Ok(seed), Ok(v)) = (rec[sc].parse::<u64>(), rec[vc].parse::<f64>())
                        else {
                            continue;
                        };
                        if let Some(key) = by_config.get(&(rec[cc].clone(), seed)) {
                            if let Some(row) = rows.get_mut(key) {
                                row.series
                                    .get_or_insert_with(BTreeMap::new)
                                    .entry(rec[nc].clone())
                                    .or_default()
                                    .push(v);
                            }
                        }
                    }
                }
            }
        }
    }
    Some((rows, bad))
}

impl StoredRow {
    /// This row as a result of `exp`, if it holds every metric and series
    /// the experiment keeps.
    pub fn for_experiment(&self, exp: &Experiment) -> Option<RunResult> {
        let metrics = exp
            .metrics
            .iter()
            .map(|m| self.metrics.get(m).copied())
            .collect::<Option<Vec<_>>>()?;
        let series = if exp.series.is_empty() {
            Vec::new()
        } else {
            let kept = self.series.as_ref()?;
            exp.series
                .iter()
                .map(|s| kept.get(s).cloned().unwrap_or_default())
                .collect()
        };
        Some(RunResult {
            stop: self.stop.clone(),
            hash: self.hash.clone(),
            metrics,
            series,
        })
    }
}

/// What `manifest.toml` records.
#[derive(Clone, Debug, PartialEq, serde::Deserialize)]
pub struct Manifest {
    /// `agentsim X.Y.Z`.
    pub program: String,
    /// The results format ([`FORMAT`]; 1 when absent).
    #[serde(default = "format_1")]
    pub format: u32,
    /// The model version of the runs ([`crate::hash::MODEL_VERSION`]; 0 when absent).
    #[serde(default)]
    pub model: u32,
    /// The experiment's name (its file stem).
    pub experiment: String,
    /// The experiment's base ([`base_id`]; empty when absent).
    #[serde(default)]
    pub base: String,
    /// The experiment text and program ([`fingerprint`]).
    pub fingerprint: String,
    /// Number of configurations.
    pub configurations: u64,
    /// The seeds, as [`Experiment::seeds_text`] writes them.
    pub seeds: String,
    /// Number of runs (rows of `runs.csv`).
    pub runs: u64,
    /// `K/N` for a shard's folder.
    pub shard: Option<String>,
}

fn format_1() -> u32 {
    1
}

fn manifest_text(exp: &Experiment, shard: Option<Shard>, runs: u64) -> String {
    let mut s = String::new();
    s.push_str("# Written by `agentsim sweep` (or `merge`): the program and the experiment\n");
    s.push_str("# (copied to experiment.toml) that produced runs.csv and summary.csv.\n");
    let q = |v: &str| toml::Value::String(v.to_string()).to_string();
    s.push_str(&format!("program = {}\n", q(&program_version())));
    s.push_str(&format!("format = {FORMAT}\n"));
    s.push_str(&format!("model = {}\n", crate::hash::MODEL_VERSION));
    s.push_str(&format!("experiment = {}\n", q(&exp.name)));
    s.push_str(&format!("base = {}\n", q(&base_id(exp))));
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
