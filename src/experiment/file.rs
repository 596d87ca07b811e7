//! Experiment files: parsing, validation, and expansion into configurations.
//!
//! The format is documented in the [`experiment`](super) module docs and in
//! `experiments/README.md`; every error names the file, the key and the
//! accepted values.

use super::derive::Derive;
use super::ExperimentError;
use crate::plot::formula::Formula;
use crate::protocols::PROTOCOLS;
use crate::scenario::{one_line_toml_error, Scenario};
use crate::time::Dur;
use serde::Deserialize;
use std::ops::Range;
use std::path::Path;

/// Most configurations one experiment may expand to (a guard against typos in ranges).
pub const CONFIGS_MAX: usize = 100_000;

/// A parsed, validated experiment.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// The file stem: `raft-election-timeouts`.
    pub name: String,
    /// The path as given, for error messages.
    pub file: String,
    /// The exact text of the file (copied into the results folder).
    pub source: String,
    pub description: String,
    pub protocol: String,
    /// Metrics kept in the results, in column order (protocol metrics and computed ones).
    pub metrics: Vec<String>,
    /// Series facts kept per run (`series.csv`), in the order listed.
    pub series: Vec<String>,
    pub computed: Vec<Computed>,
    /// Swept parameter paths, in the order first written (the parameter columns).
    pub params: Vec<String>,
    /// Sweep group names (one empty name when the file has a single `[sweep]`).
    pub groups: Vec<String>,
    pub configs: Vec<Config>,
    pub labels: Labels,
    pub plots: Vec<PlotSpec>,
    /// Run index of each configuration's first run, then the number of runs.
    first_run: Vec<u64>,
}

/// One configuration: a point of the cartesian product of one sweep group.
#[derive(Clone, Debug)]
pub struct Config {
    pub index: usize,
    pub group: usize,
    /// The value of each swept parameter (same order as [`Experiment::params`]), as written.
    pub values: Vec<String>,
    /// Its trials: one run per seed `A..B` (its group's `seeds`, else the top-level one).
    pub seeds: Range<u64>,
    /// The validated scenario (its seed is set per run).
    pub scenario: Scenario,
}

impl Experiment {
    /// Number of runs: the seeds of every configuration.
    pub fn runs(&self) -> u64 {
        self.first_run.last().copied().unwrap_or(0)
    }

    /// Trials (seeds) of configuration `config`.
    pub fn trials(&self, config: usize) -> u64 {
        let s = &self.configs[config].seeds;
        s.end - s.start
    }

    /// The run indices of configuration `config` (one per seed, in seed order).
    pub fn runs_of(&self, config: usize) -> Range<u64> {
        self.first_run[config]..self.first_run[config + 1]
    }

    /// The configuration and seed of run `i` (configuration-major order).
    pub fn run_at(&self, i: u64) -> (usize, u64) {
        let c = self.first_run.partition_point(|&f| f <= i) - 1;
        (c, self.configs[c].seeds.start + (i - self.first_run[c]))
    }

    /// The run index of `(config, seed)`.
    pub fn run_index(&self, config: usize, seed: u64) -> u64 {
        self.first_run[config] + (seed - self.configs[config].seeds.start)
    }

    /// The seeds as `A..B`, or per group (`small 0..200, big 0..6`) when they differ.
    pub fn seeds_text(&self) -> String {
        let range = |r: &Range<u64>| format!("{}..{}", r.start, r.end);
        let first = self.configs.first().map(|c| &c.seeds);
        if self.configs.iter().all(|c| Some(&c.seeds) == first) {
            return first.map(range).unwrap_or_default();
        }
        let mut parts: Vec<String> = Vec::new();
        for c in &self.configs {
            let p = format!("{} {}", self.groups[c.group], range(&c.seeds));
            if !parts.contains(&p) {
                parts.push(p);
            }
        }
        parts.join(", ")
    }

    /// Whether results carry a `group` column (more than one sweep group).
    pub fn has_group_column(&self) -> bool {
        self.groups.len() > 1
    }

    /// Reads and validates an experiment file.
    pub fn from_file(path: &Path) -> Result<Experiment, ExperimentError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            ExperimentError::BadInput(format!("{}: cannot read: {e}", path.display()))
        })?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "experiment".into());
        Experiment::parse(&text, &name, &path.display().to_string())
    }

    /// Parses experiment text; `name` is its stem and `file` labels errors.
    pub fn parse(text: &str, name: &str, file: &str) -> Result<Experiment, ExperimentError> {
        parse(text, name, file).map_err(|e| ExperimentError::BadInput(format!("{file}: {e}")))
    }
}

/// A metric computed from others in each run: `NAME = "A OP B"`.
#[derive(Clone, Debug, PartialEq)]
pub struct Computed {
    pub name: String,
    pub expr: Expr,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Operand {
    Metric(String),
    Num(f64),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

const OPS: &[(&str, Op)] = &[
    ("+", Op::Add),
    ("-", Op::Sub),
    ("*", Op::Mul),
    ("/", Op::Div),
    (">", Op::Gt),
    (">=", Op::Ge),
    ("<", Op::Lt),
    ("<=", Op::Le),
    ("==", Op::Eq),
    ("!=", Op::Ne),
];

/// `A` or `A OP B` (spaces around the operator), operands metric names or numbers.
#[derive(Clone, Debug, PartialEq)]
pub struct Expr {
    pub a: Operand,
    pub rest: Option<(Op, Operand)>,
}

impl Expr {
    fn parse(s: &str) -> Result<Expr, String> {
        let operand = |t: &str| -> Operand {
            match t.parse::<f64>() {
                Ok(v) if v.is_finite() => Operand::Num(v),
                _ => Operand::Metric(t.to_string()),
            }
        };
        let toks: Vec<&str> = s.split_whitespace().collect();
        match toks.as_slice() {
            [a] => Ok(Expr {
                a: operand(a),
                rest: None,
            }),
            [a, op, b] => {
                let op = OPS
                    .iter()
                    .find(|(t, _)| t == op)
                    .map(|&(_, o)| o)
                    .ok_or_else(|| {
                        format!("operator '{op}' unknown (accepted: + - * / > >= < <= == !=)")
                    })?;
                Ok(Expr {
                    a: operand(a),
                    rest: Some((op, operand(b))),
                })
            }
            _ => Err(format!(
                "'{s}' is not an expression (accepted: METRIC, or A OP B with spaces around OP, e.g. \"split_votes > 0\")"
            )),
        }
    }

    fn operands(&self) -> impl Iterator<Item = &Operand> {
        std::iter::once(&self.a).chain(self.rest.as_ref().map(|(_, b)| b))
    }

    /// Evaluates with `get` giving metric values; comparisons give 1 or 0.
    /// Absent when an operand is absent or on division by zero.
    pub fn eval(&self, get: impl Fn(&str) -> Option<f64>) -> Option<f64> {
        let val = |o: &Operand| match o {
            Operand::Num(v) => Some(*v),
            Operand::Metric(m) => get(m),
        };
        let a = val(&self.a)?;
        let Some((op, b)) = &self.rest else {
            return Some(a);
        };
        let b = val(b)?;
        let t = |c: bool| if c { 1.0 } else { 0.0 };
        Some(match op {
            Op::Add => a + b,
            Op::Sub => a - b,
            Op::Mul => a * b,
            Op::Div if b == 0.0 => return None,
            Op::Div => a / b,
            Op::Gt => t(a > b),
            Op::Ge => t(a >= b),
            Op::Lt => t(a < b),
            Op::Le => t(a <= b),
            Op::Eq => t(a == b),
            Op::Ne => t(a != b),
        })
    }
}

/// The metrics each protocol reports (kept in step with its monitor; a test
/// checks Raft's). A protocol missing here accepts any metric name.
pub fn protocol_metrics(protocol: &str) -> Option<&'static [&'static str]> {
    match protocol {
        "raft" => Some(&[
            "first_leader_ms",
            "downtime_ms",
            "downtime_ms_max",
            "leader_crashes",
            "terms",
            "elections",
            "split_votes",
        ]),
        "gossip" => Some(&[
            "time_to_full_ms",
            "rounds_to_full",
            "time_to_death_ms",
            "rounds_to_death",
            "receipt_round_mean",
            "receipt_round_last",
            "residue_ratio",
            "informed_ratio",
            "necessary_msgs_per_node",
            "writes",
            "converged_ms",
            "converge_after_heal_ms",
            "msgs_per_node",
            "update_msgs_per_node",
            "unnecessary_msgs_per_node",
        ]),
        _ => None,
    }
}

/// The series facts each protocol reports: a fact holding an array of
/// numbers per run (kept in step with its monitor; a test checks gossip's).
pub fn protocol_series(protocol: &str) -> &'static [&'static str] {
    match protocol {
        "gossip" => &["coverage"],
        _ => &[],
    }
}

/// How parameters, values and metrics are named in legends and axes.
#[derive(Clone, Debug, Default)]
pub struct Labels {
    /// Flattened `[labels]`: `path` or `path.value` or metric name → text.
    entries: Vec<(String, String)>,
}

impl Labels {
    fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The name of a parameter (`timeout`), from `[labels]` or its path.
    pub fn param_name(&self, path: &str) -> String {
        if let Some(l) = self.get(path) {
            let name = l.replace("{}", "").trim().to_string();
            // A label of the value alone ("{}") names nothing.
            if !name.is_empty() {
                return name;
            }
        }
        default_param_name(path)
    }

    /// A parameter and its value in the user's terms: `timeout 150–300ms`.
    pub fn param_value(&self, path: &str, value: &str) -> String {
        if let Some(l) = self.get(&format!("{path}.{value}")) {
            return l.to_string();
        }
        let shown = human_value(value);
        match self.get(path) {
            Some(l) if l.contains("{}") => l.replace("{}", &shown),
            Some(l) => format!("{l} {shown}"),
            None => format!("{} {shown}", default_param_name(path)),
        }
    }

    /// A value alone, as a category on an axis: `[labels]` `path.value`, else as written.
    pub fn value_text(&self, path: &str, value: &str) -> String {
        self.get(&format!("{path}.{value}"))
            .map(str::to_string)
            .unwrap_or_else(|| human_value(value))
    }

    /// A metric's axis label with its unit: `time without a leader (ms)`.
    pub fn metric_axis(&self, metric: &str) -> String {
        let (words, unit) = metric_words(metric);
        let name = self.get(metric).map(str::to_string).unwrap_or(words);
        match unit {
            Some(u) => format!("{name} ({u})"),
            None => name,
        }
    }
}

/// `protocol.election_timeout` → `election timeout`; helpers get their own words.
fn default_param_name(path: &str) -> String {
    match path {
        "derive.heartbeat_ratio" => "heartbeat / minimum timeout".into(),
        "derive.latency_ratio" => "one-way latency / timeout range".into(),
        "derive.failed_servers" => "failed servers".into(),
        _ => path.rsplit('.').next().unwrap_or(path).replace('_', " "),
    }
}

/// Splits a metric name into words and its unit: `downtime_ms_max` → (`downtime max`, `ms`).
pub fn metric_words(metric: &str) -> (String, Option<&'static str>) {
    let mut unit = None;
    let mut words = Vec::new();
    for w in metric.split('_') {
        match w {
            "ms" => unit = Some("ms"),
            "ns" => unit = Some("ns"),
            "us" => unit = Some("µs"),
            "s" => unit = Some("s"),
            _ => words.push(w),
        }
    }
    (words.join(" "), unit)
}

/// A value as people write it: `150ms..300ms` → `150–300ms`, `true` → `on`.
pub fn human_value(v: &str) -> String {
    if v == "true" {
        return "on".into();
    }
    if v == "false" {
        return "off".into();
    }
    if let Some((a, b)) = v.split_once("..") {
        if a.parse::<Dur>().is_ok() && b.parse::<Dur>().is_ok() {
            let unit = |s: &str| {
                s.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.')
                    .to_string()
            };
            let (ua, ub) = (unit(a), unit(b));
            if ua == ub {
                return format!("{}–{b}", a.trim_end_matches(ua.as_str()));
            }
            return format!("{a}–{b}");
        }
    }
    v.to_string()
}

/// What a plot shows (`kind` in `[[plot]]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PlotKind {
    /// Cumulative distribution of a metric, one curve per configuration.
    Cdf,
    /// A statistic of a metric against a swept parameter, with 95% CI bars for the mean.
    Versus,
    /// Histogram of a metric, one outline per configuration.
    Histogram,
    /// A kept series against its index: the mean over each configuration's runs.
    Series,
}

/// A reference drawn dashed beside the data of a `versus` or `series` plot:
/// a formula in `x`, or a table of points (a paper's figures).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// The legend entry.
    pub label: String,
    /// `formula = "log2(x) + ln(x)"` (see [`crate::plot::formula`]).
    pub formula: Option<String>,
    /// `points = [[1, 0.18], [2, 0.037]]`: `[x, y]` pairs, joined in order.
    pub points: Option<Vec<[f64; 2]>>,
    /// The parsed formula (set when the file is validated).
    #[serde(skip)]
    pub curve: Option<Formula>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scale {
    #[default]
    Linear,
    Log,
    /// `versus` x only: the values as categories, evenly spaced in sweep order.
    Category,
}

/// How `cdf` and `histogram` plots count runs that did not report the metric.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Missing {
    /// In the denominator: a curve that stays below 100% shows trials that never got there.
    #[default]
    Count,
    /// Left out: fractions are of the trials that reported the metric.
    Exclude,
}

/// Where a plot's legend goes (`legend` in `[[plot]]`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LegendPlace {
    UpperLeft,
    UpperRight,
    LowerRight,
    /// Right of the plotting area.
    Outside,
}

/// Which summary column a `versus` plot draws.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Stat {
    #[default]
    Mean,
    Median,
    P90,
    P99,
    Max,
}

impl Stat {
    pub fn column(self) -> &'static str {
        match self {
            Stat::Mean => "mean",
            Stat::Median => "median",
            Stat::P90 => "p90",
            Stat::P99 => "p99",
            Stat::Max => "max",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Png,
    Svg,
}

impl Format {
    pub fn ext(self) -> &'static str {
        match self {
            Format::Png => "png",
            Format::Svg => "svg",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "png" => Ok(Format::Png),
            "svg" => Ok(Format::Svg),
            _ => Err(format!("format '{s}' unknown (accepted: png, svg)")),
        }
    }
}

/// One `[[plot]]` of an experiment file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlotSpec {
    pub kind: PlotKind,
    /// `cdf`, `versus`, `histogram`: the metric drawn (empty for `series`).
    #[serde(default)]
    pub metric: String,
    /// `series`: the kept series drawn.
    pub series: Option<String>,
    /// `series`: draw 1 − value (say, the fraction not yet informed).
    #[serde(default)]
    pub complement: bool,
    /// `versus`, `series`: reference curves and tables, drawn dashed
    /// (`[[plot.reference]]`).
    #[serde(default)]
    pub reference: Vec<Reference>,
    /// Output file stem (default: `KIND-METRIC`, `series-SERIES`).
    pub name: Option<String>,
    pub title: Option<String>,
    /// Only configurations of this sweep group.
    pub group: Option<String>,
    /// Only configurations whose parameters have these values (`{ "nodes" = [5, 7] }`).
    #[serde(default, rename = "where")]
    pub filter: toml::Table,
    /// `versus`: the swept parameter on the x axis, or `group` (the sweep groups, as categories).
    pub x: Option<String>,
    #[serde(default)]
    pub stat: Stat,
    #[serde(default)]
    pub x_scale: Scale,
    #[serde(default)]
    pub y_scale: Scale,
    pub x_range: Option<[f64; 2]>,
    pub y_range: Option<[f64; 2]>,
    pub x_label: Option<String>,
    pub y_label: Option<String>,
    /// `histogram`: number of bins (default 40).
    pub bins: Option<u32>,
    /// Legend position (default: a corner that suits the kind; outside past 8 entries).
    pub legend: Option<LegendPlace>,
    /// `cdf`, `histogram`: whether runs without the metric count (default) or are excluded.
    #[serde(default)]
    pub missing: Missing,
    /// Pixels (default 960 × 600).
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Formats drawn by default (default `["png"]`; `plot --format` overrides).
    #[serde(default)]
    pub formats: Vec<Format>,
}

impl PlotSpec {
    pub fn stem(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            let kind = kind_name(self.kind);
            match &self.x {
                _ if self.kind == PlotKind::Series => match &self.series {
                    Some(series) => format!("{kind}-{series}"),
                    None => kind.to_string(),
                },
                Some(x) if self.kind == PlotKind::Versus => {
                    format!("{kind}-{}-{}", self.metric, x.replace('.', "-"))
                }
                _ => format!("{kind}-{}", self.metric),
            }
        })
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    #[serde(default)]
    description: String,
    protocol: String,
    seeds: Option<String>,
    metrics: Option<Vec<String>>,
    #[serde(default)]
    series: Vec<String>,
    #[serde(default)]
    computed: toml::Table,
    #[serde(default)]
    scenario: toml::Table,
    #[serde(default)]
    derive: toml::Table,
    sweep: Option<toml::Value>,
    #[serde(default)]
    labels: toml::Table,
    #[serde(default)]
    plot: Vec<PlotSpec>,
}

fn accepted_protocols() -> String {
    PROTOCOLS
        .iter()
        .map(|p| p.name)
        .collect::<Vec<_>>()
        .join(", ")
}

fn parse_seeds(s: &str) -> Result<Range<u64>, String> {
    let bad = || {
        format!(
            "seeds = '{s}' is not a seed range (accepted: \"A..B\" with A < B, e.g. \"0..1000\")"
        )
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

/// A value for results files and legends, as written in the experiment file.
pub fn display_value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Float(f) => super::csv::num(*f),
        toml::Value::Boolean(b) => b.to_string(),
        other => other.to_string(),
    }
}

/// Sets `path` (dotted) in `table`, creating tables on the way.
fn set_path(table: &mut toml::Table, path: &str, value: toml::Value) -> Result<(), String> {
    let mut parts = path.split('.').peekable();
    let mut t = table;
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            t.insert(p.to_string(), value);
            return Ok(());
        }
        let entry = t
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        t = match entry {
            toml::Value::Table(inner) => inner,
            _ => return Err(format!("'{p}' in '{path}' is a value, not a table")),
        };
    }
    Ok(())
}

fn get_path<'a>(table: &'a toml::Table, path: &str) -> Option<&'a toml::Value> {
    let mut parts = path.split('.');
    let mut v = table.get(parts.next()?)?;
    for p in parts {
        v = v.as_table()?.get(p)?;
    }
    Some(v)
}

/// One swept key and its values, in the order written.
type SweptKey = (String, Vec<toml::Value>);

/// One sweep group: its name, its seeds and its swept keys.
struct Group {
    name: String,
    seeds: Range<u64>,
    keys: Vec<SweptKey>,
}

const RANGE_KEYS: [&str; 5] = ["from", "to", "step", "count", "scale"];

fn is_range(t: &toml::Table) -> bool {
    t.contains_key("from") && t.keys().all(|k| RANGE_KEYS.contains(&k.as_str()))
}

/// Flattens one sweep table into `(path, values)` in the order written.
fn flatten_sweep(prefix: &str, t: &toml::Table, out: &mut Vec<SweptKey>) -> Result<(), String> {
    for (k, v) in t {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Array(a) => {
                if a.is_empty() {
                    return Err(format!(
                        "sweep '{path}': empty list (accepted: a list of values or a range {{ from, to, step | count }})"
                    ));
                }
                out.push((path, a.clone()));
            }
            toml::Value::Table(inner) if is_range(inner) => {
                out.push((path.clone(), expand_range(&path, inner)?))
            }
            toml::Value::Table(inner) => flatten_sweep(&path, inner, out)?,
            scalar => out.push((path, vec![scalar.clone()])),
        }
    }
    Ok(())
}

/// Rounds to 12 significant digits, so `0.05 * 3` is written `0.15`.
fn round12(v: f64) -> f64 {
    format!("{v:.11e}").parse().unwrap_or(v)
}

/// Rounds nanoseconds to 6 significant digits: a log range gives `316.228ms`.
fn round_sig6(ns: u64) -> u64 {
    let mut f = 1u64;
    while ns / f >= 1_000_000 {
        f *= 10;
    }
    (ns + f / 2) / f * f
}

/// Expands `{ from, to, step }` or `{ from, to, count [, scale = "log"] }`.
fn expand_range(path: &str, t: &toml::Table) -> Result<Vec<toml::Value>, String> {
    let ctx = |m: String| format!("sweep '{path}': {m}");
    let accepted =
        "accepted: { from, to, step } or { from, to, count, scale = \"linear\" | \"log\" }";
    let to = t
        .get("to")
        .ok_or_else(|| ctx(format!("range needs 'to' ({accepted})")))?;
    let from = &t["from"];
    let log = match t.get("scale") {
        None => false,
        Some(toml::Value::String(s)) if s == "linear" => false,
        Some(toml::Value::String(s)) if s == "log" => true,
        Some(other) => {
            return Err(ctx(format!(
                "scale = {other} unknown (accepted: \"linear\", \"log\")"
            )))
        }
    };
    let count = match t.get("count") {
        None => None,
        Some(toml::Value::Integer(n)) if (1..=CONFIGS_MAX as i64).contains(n) => Some(*n as usize),
        Some(other) => {
            return Err(ctx(format!(
                "count = {other} out of range (accepted: 1..={CONFIGS_MAX})"
            )))
        }
    };
    let step = t.get("step");
    if step.is_some() == count.is_some() {
        return Err(ctx(format!(
            "give exactly one of step and count ({accepted})"
        )));
    }
    if log && count.is_none() {
        return Err(ctx("scale = \"log\" needs count".into()));
    }
    let too_many = || {
        ctx(format!(
            "range has more than {CONFIGS_MAX} values (accepted: fewer values)"
        ))
    };
    // Durations: integer nanoseconds.
    if let (toml::Value::String(a), toml::Value::String(b)) = (from, to) {
        let dur = |s: &str| s.parse::<Dur>().map_err(|e| ctx(e.0));
        let (a, b) = (dur(a)?.0, dur(b)?.0);
        if b < a {
            return Err(ctx("'to' is below 'from' (accepted: from <= to)".into()));
        }
        let mut vals = Vec::new();
        if let Some(n) = count {
            for i in 0..n {
                let v = if n == 1 {
                    a
                } else if log {
                    if a == 0 {
                        return Err(ctx("scale = \"log\" needs from above 0".into()));
                    }
                    let r = i as f64 / (n - 1) as f64;
                    round_sig6(libm::round(a as f64 * libm::pow(b as f64 / a as f64, r)) as u64)
                } else {
                    a + ((b - a) as u128 * i as u128 / (n - 1) as u128) as u64
                };
                vals.push(v);
            }
        } else {
            let s = match step {
                Some(toml::Value::String(s)) => dur(s)?.0,
                _ => {
                    return Err(ctx(
                        "a duration range needs a duration step, e.g. \"10ms\"".into()
                    ))
                }
            };
            if s == 0 {
                return Err(ctx("step must be above 0".into()));
            }
            let mut v = a;
            while v <= b {
                vals.push(v);
                if vals.len() > CONFIGS_MAX {
                    return Err(too_many());
                }
                v += s;
            }
        }
        return Ok(vals
            .into_iter()
            .map(|ns| toml::Value::String(Dur(ns).to_string()))
            .collect());
    }
    // Integers with an integer step stay integers.
    if let (toml::Value::Integer(a), toml::Value::Integer(b), Some(toml::Value::Integer(s))) =
        (from, to, step)
    {
        if *s <= 0 {
            return Err(ctx("step must be above 0".into()));
        }
        if b < a {
            return Err(ctx("'to' is below 'from' (accepted: from <= to)".into()));
        }
        if (b - a) / s >= CONFIGS_MAX as i64 {
            return Err(too_many());
        }
        return Ok((0..=(b - a) / s)
            .map(|i| toml::Value::Integer(a + i * s))
            .collect());
    }
    let num = |v: &toml::Value, k: &str| -> Result<f64, String> {
        match v {
            toml::Value::Integer(i) => Ok(*i as f64),
            toml::Value::Float(f) if f.is_finite() => Ok(*f),
            other => Err(ctx(format!(
                "{k} = {other} is not a number or a duration ({accepted})"
            ))),
        }
    };
    let (a, b) = (num(from, "from")?, num(to, "to")?);
    if b < a {
        return Err(ctx("'to' is below 'from' (accepted: from <= to)".into()));
    }
    let mut vals = Vec::new();
    if let Some(n) = count {
        if log && a <= 0.0 {
            return Err(ctx("scale = \"log\" needs from above 0".into()));
        }
        for i in 0..n {
            let v = if n == 1 {
                a
            } else if log {
                a * libm::pow(b / a, i as f64 / (n - 1) as f64)
            } else {
                a + (b - a) * i as f64 / (n - 1) as f64
            };
            vals.push(round12(v));
        }
    } else {
        let s = num(step.expect("checked above"), "step")?;
        if s <= 0.0 {
            return Err(ctx("step must be above 0".into()));
        }
        let n = libm::floor((b - a) / s * (1.0 + 1e-12) + 1e-9) as usize;
        if n >= CONFIGS_MAX {
            return Err(too_many());
        }
        for i in 0..=n {
            vals.push(round12(a + s * i as f64));
        }
    }
    Ok(vals.into_iter().map(toml::Value::Float).collect())
}

/// Flattens `[labels]` into `(key, text)`; value-specific labels are `path.value`.
fn flatten_labels(
    prefix: &str,
    t: &toml::Table,
    out: &mut Vec<(String, String)>,
) -> Result<(), String> {
    for (k, v) in t {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::String(s) => out.push((path, s.clone())),
            toml::Value::Table(inner) => flatten_labels(&path, inner, out)?,
            other => {
                return Err(format!(
                    "labels '{path}' = {other} (accepted: a text, or a table of value = text)"
                ))
            }
        }
    }
    Ok(())
}

fn toml_err(e: toml::de::Error, text: &str) -> String {
    one_line_toml_error(&e, text)
}

fn flat(e: impl std::fmt::Display) -> String {
    e.to_string().trim().replace('\n', " ")
}

fn parse(text: &str, name: &str, file: &str) -> Result<Experiment, String> {
    let raw: Raw = toml::from_str(text).map_err(|e| toml_err(e, text))?;

    if !PROTOCOLS.iter().any(|p| p.name == raw.protocol) {
        return Err(format!(
            "protocol = '{}' unknown (accepted: {})",
            raw.protocol,
            accepted_protocols()
        ));
    }
    let seeds = raw.seeds.as_deref().map(parse_seeds).transpose()?;

    // The base scenario: the [scenario] table plus the protocol's name.
    let mut base = raw.scenario.clone();
    if base.contains_key("seed") {
        return Err(
            "scenario.seed: seeds come from the top-level 'seeds' range (accepted: remove scenario.seed)"
                .into(),
        );
    }
    match base.get("protocol") {
        None => {
            base.insert("protocol".into(), toml::Value::Table(toml::Table::new()));
        }
        Some(toml::Value::Table(_)) => {}
        Some(_) => return Err("scenario.protocol must be a table of protocol settings".into()),
    }
    let proto = base
        .get_mut("protocol")
        .and_then(|p| p.as_table_mut())
        .expect("inserted above");
    match proto.get("name") {
        None => {
            proto.insert("name".into(), toml::Value::String(raw.protocol.clone()));
        }
        Some(toml::Value::String(n)) if *n == raw.protocol => {}
        Some(other) => {
            return Err(format!(
                "scenario.protocol.name = {other} differs from protocol = '{}' (accepted: leave it out)",
                raw.protocol
            ))
        }
    }
    let scenario: Scenario = toml::Value::Table(base)
        .try_into()
        .map_err(|e| format!("scenario: {}", flat(e)))?;
    let base_table = toml::Table::try_from(&scenario).map_err(flat)?;
    let derive: Derive = toml::Value::Table(raw.derive.clone())
        .try_into()
        .map_err(|e| format!("derive: {}", flat(e)))?;
    let derive_table = toml::Table::try_from(&derive).map_err(flat)?;

    // Computed metrics and kept metrics.
    let known: Option<&[&str]> = protocol_metrics(&raw.protocol);
    let mut computed: Vec<Computed> = Vec::new();
    for (k, v) in &raw.computed {
        let s = v.as_str().ok_or_else(|| {
            format!("computed.{k} = {v} is not an expression (accepted: a text such as \"split_votes > 0\")")
        })?;
        let expr = Expr::parse(s).map_err(|e| format!("computed.{k}: {e}"))?;
        for o in expr.operands() {
            if let Operand::Metric(m) = o {
                let ok = known.is_none_or(|k| k.contains(&m.as_str()))
                    || computed.iter().any(|c| c.name == *m);
                if !ok {
                    return Err(format!(
                        "computed.{k}: metric '{m}' unknown (accepted: {})",
                        metric_list(known, &computed)
                    ));
                }
            }
        }
        if known.is_some_and(|kn| kn.contains(&k.as_str())) {
            return Err(format!(
                "computed.{k}: '{k}' is already a {} metric (accepted: a new name)",
                raw.protocol
            ));
        }
        computed.push(Computed {
            name: k.clone(),
            expr,
        });
    }
    let metrics = match raw.metrics {
        Some(m) => m,
        None => match known {
            Some(k) => k
                .iter()
                .map(|s| s.to_string())
                .chain(computed.iter().map(|c| c.name.clone()))
                .collect(),
            None => return Err(
                "metrics: list the metrics to keep (this protocol's metrics are not known here)"
                    .into(),
            ),
        },
    };
    if metrics.is_empty() {
        return Err(format!(
            "metrics = [] keeps nothing (accepted: {})",
            metric_list(known, &computed)
        ));
    }
    for (i, m) in metrics.iter().enumerate() {
        let ok =
            known.is_none_or(|k| k.contains(&m.as_str())) || computed.iter().any(|c| c.name == *m);
        if !ok {
            return Err(format!(
                "metrics: '{m}' unknown (accepted: {})",
                metric_list(known, &computed)
            ));
        }
        if metrics[..i].contains(m) {
            return Err(format!("metrics: '{m}' listed twice"));
        }
    }

    let known_series = protocol_series(&raw.protocol);
    for (i, name) in raw.series.iter().enumerate() {
        if !known_series.contains(&name.as_str()) {
            let accepted = if known_series.is_empty() {
                format!("none: {} reports no series", raw.protocol)
            } else {
                known_series.join(", ")
            };
            return Err(format!("series: '{name}' unknown (accepted: {accepted})"));
        }
        if raw.series[..i].contains(name) {
            return Err(format!("series: '{name}' listed twice"));
        }
    }

    // Sweep groups.
    let mut groups: Vec<Group> = Vec::new();
    let group_tables: Vec<toml::Table> = match &raw.sweep {
        None => vec![toml::Table::new()],
        Some(toml::Value::Table(t)) => vec![t.clone()],
        Some(toml::Value::Array(a)) if !a.is_empty() => a
            .iter()
            .map(|v| {
                v.as_table()
                    .cloned()
                    .ok_or_else(|| "[[sweep]] entries must be tables".to_string())
            })
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(
                "sweep must be a table ([sweep]) or tables ([[sweep]]) of parameter = [values]"
                    .into(),
            )
        }
    };
    let several = group_tables.len() > 1;
    for (gi, mut t) in group_tables.into_iter().enumerate() {
        let gname = match t.remove("group") {
            None if several => format!("{}", gi + 1),
            None => String::new(),
            Some(toml::Value::String(s)) => s,
            Some(other) => return Err(format!("sweep group = {other} must be a text")),
        };
        if groups.iter().any(|g| g.name == gname) {
            return Err(format!("sweep group '{gname}' appears twice"));
        }
        let named = |k: &str| {
            if gname.is_empty() {
                format!("sweep {k}")
            } else {
                format!("sweep group '{gname}': {k}")
            }
        };
        let gseeds = match t.remove("seeds") {
            None => seeds.clone().ok_or_else(|| {
                format!(
                    "{} (accepted: seeds = \"A..B\" at the top, or in every sweep group)",
                    named("no seeds")
                )
            })?,
            Some(toml::Value::String(s)) => {
                parse_seeds(&s).map_err(|e| named(&e))?
            }
            Some(other) => {
                return Err(named(&format!(
                    "seeds = {other} is not a seed range (accepted: \"A..B\" with A < B, e.g. \"0..1000\")"
                )))
            }
        };
        let mut keys = Vec::new();
        flatten_sweep("", &t, &mut keys)?;
        for (i, (k, _)) in keys.iter().enumerate() {
            if k == "seed" {
                return Err(
                    "sweep 'seed': seeds come from 'seeds' (accepted: seeds = \"A..B\" at the top or in a sweep group)"
                        .into(),
                );
            }
            if keys[..i].iter().any(|(p, _)| p == k) {
                return Err(format!("sweep '{k}' appears twice"));
            }
        }
        groups.push(Group {
            name: gname,
            seeds: gseeds,
            keys,
        });
    }
    let mut params: Vec<String> = Vec::new();
    for Group { keys, .. } in &groups {
        for (k, _) in keys {
            if !params.contains(k) {
                params.push(k.clone());
            }
        }
    }

    // Expand every group's cartesian product (last key varies fastest).
    let mut configs = Vec::new();
    for (gi, g) in groups.iter().enumerate() {
        let (gname, keys) = (&g.name, &g.keys);
        let total: usize = keys
            .iter()
            .try_fold(1usize, |acc, (_, v)| acc.checked_mul(v.len()))
            .filter(|&n| n <= CONFIGS_MAX)
            .ok_or_else(|| {
                format!("sweep expands to more than {CONFIGS_MAX} configurations (accepted: fewer)")
            })?;
        if configs.len() + total > CONFIGS_MAX {
            return Err(format!(
                "sweep expands to more than {CONFIGS_MAX} configurations (accepted: fewer)"
            ));
        }
        let mut pos = vec![0usize; keys.len()];
        for _ in 0..total {
            let mut sc_t = base_table.clone();
            let mut dv_t = derive_table.clone();
            for (ki, (path, vals)) in keys.iter().enumerate() {
                let v = vals[pos[ki]].clone();
                let shown = display_value(&v);
                let at = |m: String| format!("sweep '{path}' = {shown}: {m}");
                // Checked as a whole below: a table may be built key by key.
                match path.strip_prefix("derive.") {
                    Some(rest) => set_path(&mut dv_t, rest, v).map_err(at)?,
                    None => set_path(&mut sc_t, path, v).map_err(at)?,
                }
            }
            let values: Vec<String> = params
                .iter()
                .map(|p| {
                    let v = match p.strip_prefix("derive.") {
                        Some(rest) => get_path(&dv_t, rest),
                        None => get_path(&sc_t, p),
                    };
                    v.map(display_value).unwrap_or_default()
                })
                .collect();
            let what = || {
                let mut parts: Vec<String> = keys
                    .iter()
                    .map(|(p, _)| {
                        let i = params.iter().position(|q| q == p).expect("param listed");
                        format!("{p} = {}", values[i])
                    })
                    .collect();
                if !gname.is_empty() {
                    parts.insert(0, format!("group '{gname}'"));
                }
                if parts.is_empty() {
                    "the base scenario".to_string()
                } else {
                    format!("configuration {}", parts.join(", "))
                }
            };
            let mut sc: Scenario = toml::Value::Table(sc_t)
                .try_into()
                .map_err(|e| format!("{}: {}", what(), flat(e)))?;
            let dv: Derive = toml::Value::Table(dv_t)
                .try_into()
                .map_err(|e| format!("{}: {}", what(), flat(e)))?;
            dv.apply(&mut sc).map_err(|e| format!("{}: {e}", what()))?;
            sc.validate().map_err(|e| format!("{}: {}", what(), e.0))?;
            configs.push(Config {
                index: configs.len(),
                group: gi,
                values,
                seeds: g.seeds.clone(),
                scenario: sc,
            });
            // Odometer: the last key turns fastest.
            for ki in (0..keys.len()).rev() {
                pos[ki] += 1;
                if pos[ki] < keys[ki].1.len() {
                    break;
                }
                pos[ki] = 0;
            }
        }
    }

    let mut labels = Labels::default();
    flatten_labels("", &raw.labels, &mut labels.entries)?;

    let mut first_run = Vec::with_capacity(configs.len() + 1);
    let mut runs = 0u64;
    for c in &configs {
        first_run.push(runs);
        runs += c.seeds.end - c.seeds.start;
    }
    first_run.push(runs);

    let group_names: Vec<String> = groups.iter().map(|g| g.name.clone()).collect();
    let mut plots = raw.plot;
    for i in 0..plots.len() {
        let p = &plots[i];
        let at = |m: String| format!("plot[{i}] ({}): {m}", p.stem());
        let kind = format!("kind = \"{}\"", kind_name(p.kind));
        if p.kind == PlotKind::Series {
            let kept = || {
                if raw.series.is_empty() {
                    "none: keep one with series = [\"NAME\"] at the top".to_string()
                } else {
                    raw.series.join(", ")
                }
            };
            if !p.metric.is_empty() {
                return Err(at(format!(
                    "metric: {kind} draws a series (accepted: series = \"NAME\", one of: {})",
                    kept()
                )));
            }
            match &p.series {
                None => return Err(at(format!("{kind} needs series (accepted: {})", kept()))),
                Some(n) if !raw.series.contains(n) => {
                    return Err(at(format!(
                        "series = '{n}' is not kept (accepted: {})",
                        kept()
                    )))
                }
                Some(_) => {}
            }
        } else {
            if p.metric.is_empty() {
                return Err(at(format!(
                    "{kind} needs metric (accepted: {})",
                    metrics.join(", ")
                )));
            }
            if !metrics.contains(&p.metric) {
                return Err(at(format!(
                    "metric = '{}' is not kept (accepted: {})",
                    p.metric,
                    metrics.join(", ")
                )));
            }
            if p.series.is_some() || p.complement {
                let k = if p.series.is_some() {
                    "series"
                } else {
                    "complement"
                };
                return Err(at(format!(
                    "{k} applies to kind = \"series\" only (this plot is {kind})"
                )));
            }
        }
        if let Some(g) = &p.group {
            if !group_names.contains(g) {
                return Err(at(format!(
                    "group = '{g}' unknown (accepted: {})",
                    group_names.join(", ")
                )));
            }
        }
        for k in p.filter.keys() {
            if !params.contains(k) {
                return Err(at(format!(
                    "where: '{k}' is not a swept parameter (accepted: {})",
                    params.join(", ")
                )));
            }
        }
        let x_accepted = || {
            let mut a = params.clone();
            if group_names.len() > 1 {
                a.push("group".into());
            }
            a.join(", ")
        };
        let by_group = p.kind == PlotKind::Versus && p.x.as_deref() == Some("group");
        match (&p.x, p.kind) {
            (Some(x), PlotKind::Versus) if x == "group" && group_names.len() < 2 => {
                return Err(at(format!(
                    "x = \"group\" needs several [[sweep]] groups (accepted: {})",
                    x_accepted()
                )))
            }
            (Some(x), PlotKind::Versus) if x != "group" && !params.contains(x) => {
                return Err(at(format!(
                    "x = '{x}' is not a swept parameter (accepted: {})",
                    x_accepted()
                )))
            }
            (None, PlotKind::Versus) => {
                return Err(at(format!(
                    "kind = \"versus\" needs x (accepted: {})",
                    x_accepted()
                )))
            }
            _ => {}
        }
        if p.y_scale == Scale::Category {
            return Err(at(
                "y_scale = \"category\" (accepted: \"linear\", \"log\")".into()
            ));
        }
        if p.x_scale == Scale::Category && p.kind != PlotKind::Versus {
            return Err(at(
                "x_scale = \"category\" applies to kind = \"versus\" only (accepted here: \"linear\", \"log\")"
                    .into(),
            ));
        }
        if by_group && p.x_scale == Scale::Log {
            return Err(at(
                "x = \"group\" is a category axis (accepted: x_scale = \"category\" or none)"
                    .into(),
            ));
        }
        let categorical = by_group || p.x_scale == Scale::Category;
        let mut curves = Vec::with_capacity(p.reference.len());
        for (j, r) in p.reference.iter().enumerate() {
            let at = |m: String| at(format!("reference[{j}] ({}): {m}", r.label));
            if !matches!(p.kind, PlotKind::Versus | PlotKind::Series) {
                return Err(at(format!(
                    "references apply to kind = \"versus\" or \"series\" (this plot is {kind})"
                )));
            }
            if categorical {
                return Err(at(
                    "a reference needs a numeric x axis (accepted: x_scale = \"linear\" or \"log\")"
                        .into(),
                ));
            }
            if r.label.trim().is_empty() {
                return Err(at("label is empty (accepted: the legend text)".into()));
            }
            match (&r.formula, &r.points) {
                (Some(f), None) => curves.push(Some(Formula::parse(f).map_err(at)?)),
                (None, Some(pts)) => {
                    if pts.is_empty() || pts.iter().flatten().any(|v| !v.is_finite()) {
                        return Err(at(
                            "points (accepted: a non-empty list of [x, y] pairs of finite numbers)"
                                .into(),
                        ));
                    }
                    curves.push(None);
                }
                _ => {
                    return Err(at(
                        "give exactly one of formula and points (accepted: formula = \"log2(x) + ln(x)\" or points = [[1, 0.18], [2, 0.037]])"
                            .into(),
                    ))
                }
            }
        }
        for (k, r) in [("x_range", p.x_range), ("y_range", p.y_range)] {
            if let Some([a, b]) = r {
                if !(a.is_finite() && b.is_finite() && a < b) {
                    return Err(at(format!(
                        "{k} = [{a}, {b}] (accepted: [low, high] with low < high)"
                    )));
                }
            }
        }
        for (k, v) in [("width", p.width), ("height", p.height)] {
            if let Some(v) = v {
                if !(100..=10_000).contains(&v) {
                    return Err(at(format!(
                        "{k} = {v} out of range (accepted: 100..=10000)"
                    )));
                }
            }
        }
        if let Some(b) = p.bins {
            if !(1..=10_000).contains(&b) {
                return Err(at(format!("bins = {b} out of range (accepted: 1..=10000)")));
            }
        }
        let stems: Vec<String> = plots[..i].iter().map(|q| q.stem()).collect();
        if stems.contains(&p.stem()) {
            return Err(at(
                "two plots have this name (accepted: set name = \"...\")".into(),
            ));
        }
        for (r, c) in plots[i].reference.iter_mut().zip(curves) {
            r.curve = c;
        }
    }

    Ok(Experiment {
        name: name.to_string(),
        file: file.to_string(),
        source: text.to_string(),
        description: raw.description,
        protocol: raw.protocol,
        metrics,
        series: raw.series,
        computed,
        params,
        groups: group_names,
        configs,
        labels,
        plots,
        first_run,
    })
}

fn kind_name(k: PlotKind) -> &'static str {
    match k {
        PlotKind::Cdf => "cdf",
        PlotKind::Versus => "versus",
        PlotKind::Histogram => "histogram",
        PlotKind::Series => "series",
    }
}

fn metric_list(known: Option<&[&str]>, computed: &[Computed]) -> String {
    known
        .unwrap_or(&[])
        .iter()
        .map(|s| s.to_string())
        .chain(computed.iter().map(|c| c.name.clone()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocols::ProtocolConfig;

    fn parse_ok(text: &str) -> Experiment {
        Experiment::parse(text, "t", "t.toml").unwrap()
    }

    fn parse_err(text: &str) -> String {
        Experiment::parse(text, "t", "t.toml")
            .unwrap_err()
            .to_string()
    }

    const BASE: &str = "protocol = \"raft\"\nseeds = \"0..10\"\n";

    #[test]
    fn cartesian_product_in_file_order() {
        let e = parse_ok(&format!(
            "{BASE}[sweep]\nnodes = [3, 5]\n\"protocol.election_timeout\" = [\"150ms..300ms\", \"12ms..24ms\"]\n[derive]\nheartbeat_ratio = 0.5\n"
        ));
        assert_eq!(e.params, ["nodes", "protocol.election_timeout"]);
        let v: Vec<_> = e.configs.iter().map(|c| c.values.join(" ")).collect();
        assert_eq!(
            v,
            [
                "3 150ms..300ms",
                "3 12ms..24ms",
                "5 150ms..300ms",
                "5 12ms..24ms"
            ]
        );
        let ProtocolConfig::Raft(r) = &e.configs[1].scenario.protocol else {
            panic!("a raft experiment")
        };
        assert_eq!(r.heartbeat, Dur::from_ms(6));
        assert_eq!(e.runs(), 40);
        assert_eq!(e.run_at(13), (1, 3));
        assert_eq!(e.run_index(1, 3), 13);
    }

    #[test]
    fn dotted_keys_nested_tables_and_ranges() {
        let e = parse_ok(&format!(
            "{BASE}[sweep]\nnet.loss_ratio = {{ from = 0.0, to = 0.3, step = 0.05 }}\n"
        ));
        assert_eq!(e.params, ["net.loss_ratio"]);
        let v: Vec<_> = e.configs.iter().map(|c| c.values[0].clone()).collect();
        assert_eq!(v, ["0", "0.05", "0.1", "0.15", "0.2", "0.25", "0.3"]);
        let e = parse_ok(&format!(
            "{BASE}[sweep]\n\"faults.partition_mttr\" = {{ from = \"100ms\", to = \"1s\", count = 3, scale = \"log\" }}\n\"faults.partition_mtbf\" = \"1s\"\n"
        ));
        let v: Vec<_> = e.configs.iter().map(|c| c.values[0].clone()).collect();
        assert_eq!(v, ["100ms", "316.228ms", "1s"]);
        let e = parse_ok(&format!(
            "{BASE}[sweep]\nnodes = {{ from = 3, to = 9, step = 2 }}\n"
        ));
        assert_eq!(e.configs.len(), 4);
    }

    #[test]
    fn groups_and_derived_helpers() {
        let e = parse_ok(&format!(
            "{BASE}[derive]\nlatency_ratio = 0.1\n[[sweep]]\ngroup = \"small\"\nnodes = [3]\n\"derive.failed_servers\" = [0, 1]\n[[sweep]]\ngroup = \"big\"\nnodes = [5]\n\"derive.failed_servers\" = [2]\n"
        ));
        assert_eq!(e.groups, ["small", "big"]);
        assert!(e.has_group_column());
        assert_eq!(e.configs.len(), 3);
        let sc = &e.configs[2].scenario;
        assert_eq!(sc.faults.schedule.len(), 2);
        assert_eq!(sc.faults.schedule[0].to_string(), "crash:4@0s");
        // 0.1 of the default 150ms range.
        assert_eq!(sc.net.latency.to_string(), "15ms");
    }

    #[test]
    fn a_group_may_have_its_own_seeds() {
        let e = parse_ok(
            "protocol = \"raft\"\nseeds = \"0..10\"\n[[sweep]]\ngroup = \"small\"\nnodes = [3, 5]\n[[sweep]]\ngroup = \"big\"\nseeds = \"100..103\"\nnodes = 9\n",
        );
        assert_eq!(e.configs[1].seeds, 0..10);
        assert_eq!(e.configs[2].seeds, 100..103);
        assert_eq!(e.runs(), 23);
        assert_eq!((e.trials(0), e.trials(2)), (10, 3));
        assert_eq!(e.runs_of(2), 20..23);
        assert_eq!(e.run_at(19), (1, 9));
        assert_eq!(e.run_at(20), (2, 100));
        assert_eq!(e.run_at(22), (2, 102));
        for i in 0..e.runs() {
            let (c, seed) = e.run_at(i);
            assert_eq!(e.run_index(c, seed), i);
        }
        assert_eq!(e.seeds_text(), "small 0..10, big 100..103");
        // Without a top-level range, every group states its own.
        let e = parse_ok(
            "protocol = \"raft\"\n[[sweep]]\ngroup = \"a\"\nseeds = \"0..2\"\nnodes = 3\n[[sweep]]\ngroup = \"b\"\nseeds = \"0..2\"\nnodes = 5\n",
        );
        assert_eq!((e.runs(), e.seeds_text().as_str()), (4, "0..2"));
        let err = parse_err(
            "protocol = \"raft\"\n[[sweep]]\ngroup = \"a\"\nseeds = \"0..2\"\nnodes = 3\n[[sweep]]\ngroup = \"b\"\nnodes = 5\n",
        );
        assert!(
            err.contains("group 'b'") && err.contains("no seeds") && err.contains("A..B"),
            "{err}"
        );
        let err = parse_err(&format!(
            "{BASE}[[sweep]]\ngroup = \"a\"\nseeds = \"5..1\"\nnodes = 3\n"
        ));
        assert!(err.contains("group 'a'") && err.contains("A < B"), "{err}");
        let err = parse_err(&format!(
            "{BASE}[[sweep]]\ngroup = \"a\"\nseeds = 7\nnodes = 3\n"
        ));
        assert!(err.contains("seeds = 7") && err.contains("A..B"), "{err}");
    }

    #[test]
    fn a_partition_that_heals() {
        let e = parse_ok(
            "protocol = \"gossip\"\nseeds = \"0..2\"\n[scenario]\nnodes = 6\n[sweep]\n\"derive.partition\" = { nodes = \"0..3\", at = \"500ms\", heal = \"3s\" }\n",
        );
        let s: Vec<String> = e.configs[0]
            .scenario
            .faults
            .schedule
            .iter()
            .map(|f| f.to_string())
            .collect();
        assert_eq!(s, ["partition:0,1,2@500ms", "heal@3s"]);
        for (bad, mention) in [
            ("nodes = \"0..7\", at = \"1s\", heal = \"2s\"", "B <= 6"),
            ("nodes = \"3..3\", at = \"1s\", heal = \"2s\"", "A < B"),
            (
                "nodes = \"0..3\", at = \"2s\", heal = \"1s\"",
                "after at = 2s",
            ),
        ] {
            let err = parse_err(&format!(
                "protocol = \"gossip\"\nseeds = \"0..2\"\n[scenario]\nnodes = 6\n[derive]\npartition = {{ {bad} }}\n"
            ));
            assert!(
                err.contains("derive.partition") && err.contains(mention),
                "{err}"
            );
        }
    }

    #[test]
    fn errors_name_the_key_and_accepted_values() {
        let e = parse_err("protocol = \"raft\"\nseeds = \"0..10\"\nsweeps = 1\n");
        assert!(
            e.starts_with("t.toml: ") && e.contains("sweeps") && e.contains("expected one of"),
            "{e}"
        );
        let e = parse_err("protocol = \"paxos\"\nseeds = \"0..10\"\n");
        assert!(e.contains("paxos") && e.contains("accepted: raft"), "{e}");
        let e = parse_err("protocol = \"raft\"\nseeds = \"10..10\"\n");
        assert!(e.contains("seeds") && e.contains("A..B"), "{e}");
        let e = parse_err(&format!(
            "{BASE}[sweep]\n\"protocol.electon_timeout\" = [\"1ms\"]\n"
        ));
        assert!(
            e.contains("protocol.electon_timeout") && e.contains("election_timeout"),
            "{e}"
        );
        let e = parse_err(&format!("{BASE}[sweep]\n\"net.loss_ratio\" = [0.1, 1.5]\n"));
        assert!(e.contains("net.loss_ratio") && e.contains("0..=1"), "{e}");
        let e = parse_err(&format!("{BASE}metrics = [\"downtime\"]\n"));
        assert!(e.contains("downtime") && e.contains("downtime_ms"), "{e}");
        let e = parse_err(&format!("{BASE}[derive]\nheartbeat_ratio = 1.5\n"));
        assert!(
            e.contains("derive.heartbeat_ratio") && e.contains("below 1"),
            "{e}"
        );
        let e = parse_err(&format!(
            "{BASE}[[plot]]\nkind = \"pie\"\nmetric = \"terms\"\n"
        ));
        assert!(e.contains("pie") && e.contains("cdf"), "{e}");
        let e = parse_err(&format!(
            "{BASE}[[plot]]\nkind = \"versus\"\nmetric = \"terms\"\n"
        ));
        assert!(e.contains("needs x"), "{e}");
        assert!(!e.contains('\n'));
    }

    #[test]
    fn computed_metrics() {
        let e = parse_ok(&format!(
            "{BASE}metrics = [\"split_votes\", \"split\", \"changes\"]\n[computed]\nsplit = \"split_votes > 0\"\nchanges = \"elections - 1\"\n"
        ));
        let get = |m: &str| match m {
            "split_votes" => Some(2.0),
            "elections" => Some(3.0),
            _ => None,
        };
        assert_eq!(e.computed[0].expr.eval(get), Some(1.0));
        assert_eq!(e.computed[1].expr.eval(get), Some(2.0));
        let e = parse_err(&format!("{BASE}[computed]\nx = \"nope > 0\"\n"));
        assert!(e.contains("nope") && e.contains("split_votes"), "{e}");
    }

    #[test]
    fn labels_speak_the_users_terms() {
        let e = parse_ok(&format!(
            "{BASE}[labels]\n\"protocol.election_timeout\" = \"timeout\"\n\"protocol.pre_vote\" = {{ true = \"Pre-Vote\", false = \"no Pre-Vote\" }}\ndowntime_ms = \"time without a leader\"\n"
        ));
        let l = &e.labels;
        assert_eq!(
            l.param_value("protocol.election_timeout", "150ms..300ms"),
            "timeout 150–300ms"
        );
        assert_eq!(
            l.param_value("protocol.election_timeout", "12ms..1s"),
            "timeout 12ms–1s"
        );
        assert_eq!(l.param_value("protocol.pre_vote", "true"), "Pre-Vote");
        assert_eq!(
            l.param_value("protocol.check_quorum", "true"),
            "check quorum on"
        );
        assert_eq!(l.metric_axis("downtime_ms"), "time without a leader (ms)");
        assert_eq!(l.metric_axis("downtime_ms_max"), "downtime max (ms)");
        let e = parse_ok(&format!("{BASE}[labels]\nnodes = \"{{}}\"\n"));
        assert_eq!(e.labels.param_value("nodes", "5"), "5");
        assert_eq!(e.labels.param_name("nodes"), "nodes");
    }
}
