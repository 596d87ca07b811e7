//! Experiment files: parsing, validation, and expansion into configurations.
//!
//! The format is documented in the [`experiment`](super) module docs and in
//! `experiments/README.md`; every error names the file, the key and the
//! accepted values.

use super::computed::{Computed, Expr, Operand};
use super::derive::Derive;
use super::expand::*;
use super::labels::{flatten_labels, Labels};
use super::plotspec::*;
use super::ExperimentError;
use crate::protocols::registry;
use crate::scenario::{one_line_toml_error, Scenario};
use serde::Deserialize;
use std::ops::Range;
use std::path::Path;

/// A parsed, validated experiment.
#[derive(Clone, Debug)]
pub struct Experiment {
    /// The file stem: `raft-election-timeouts`.
    pub name: String,
    /// The path as given, for error messages.
    pub file: String,
    /// The exact text of the file (copied into the results folder).
    pub source: String,
    /// The base scenario, validated, as JSON (what [`super::results::base_id`] hashes).
    pub base_text: String,
    /// The `description` text (empty when not given).
    pub description: String,
    /// The protocol's registered name.
    pub protocol: String,
    /// Metrics kept in the results, in column order (protocol metrics and computed ones).
    pub metrics: Vec<String>,
    /// Series facts kept per run (`series.csv`), in the order listed.
    pub series: Vec<String>,
    /// The `[computed]` metrics, in the order written.
    pub computed: Vec<Computed>,
    /// Swept parameter paths, in the order first written (the parameter columns).
    pub params: Vec<String>,
    /// Sweep group names (one empty name when the file has a single `[sweep]`).
    pub groups: Vec<String>,
    /// Every configuration, by index (group after group).
    pub configs: Vec<Config>,
    /// How parameters, values and metrics are named in figures.
    pub labels: Labels,
    /// The `[[plot]]` figures, in the order written.
    pub plots: Vec<PlotSpec>,
    /// Run index of each configuration's first run, then the number of runs.
    first_run: Vec<u64>,
}

/// One configuration: a point of the cartesian product of one sweep group.
#[derive(Clone, Debug)]
pub struct Config {
    /// Its index (the `config` column).
    pub index: usize,
    /// Its sweep group.
    pub group: usize,
    /// Its content: 16 hex digits over its scenario (see [`super::results::config_id`]).
    pub id: String,
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

fn parse_seeds(s: &str) -> Result<Range<u64>, String> {
    crate::run::check::parse_seeds(s).map_err(|e| format!("seeds = {e}"))
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

fn toml_err(e: toml::de::Error, text: &str) -> String {
    one_line_toml_error(&e, text)
}

fn flat(e: impl std::fmt::Display) -> String {
    e.to_string().trim().replace('\n', " ")
}

fn parse(text: &str, name: &str, file: &str) -> Result<Experiment, String> {
    let raw: Raw = toml::from_str(text).map_err(|e| toml_err(e, text))?;

    let Some(spec) = registry().get(&raw.protocol) else {
        return Err(format!(
            "protocol = '{}' unknown (accepted: {})",
            raw.protocol,
            registry().names().join(", ")
        ));
    };
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
    let base_text = serde_json::to_string(&scenario).map_err(flat)?;
    // Checked here as written; again per configuration with swept values.
    let derive_table = Derive::from_table(raw.derive.clone(), spec)?.normalized()?;

    // Computed metrics and kept metrics.
    let declared: Vec<&str> = spec.metrics().iter().map(|m| m.name).collect();
    let known: Option<&[&str]> = Some(&declared);
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

    let known_series: Vec<&str> = spec.series().iter().map(|s| s.name).collect();
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
            let events_max_given = sc_t.contains_key("events_max");
            let mut sc: Scenario = toml::Value::Table(sc_t)
                .try_into()
                .map_err(|e| format!("{}: {}", what(), flat(e)))?;
            if !events_max_given {
                sc.events_max = crate::engine::limits::default_events_max(sc.nodes);
            }
            let dv = Derive::from_table(dv_t, spec).map_err(|e| format!("{}: {e}", what()))?;
            dv.apply(&mut sc).map_err(|e| format!("{}: {e}", what()))?;
            sc.validate().map_err(|e| format!("{}: {}", what(), e.0))?;
            let id = {
                let mut probe = sc.clone();
                probe.seed = 0;
                let json = serde_json::to_string(&probe).map_err(flat)?;
                let mut h = crate::hash::RunHasher::default();
                std::hash::Hasher::write(&mut h, json.as_bytes());
                format!("{:016x}", h.value())
            };
            configs.push(Config {
                index: configs.len(),
                group: gi,
                id,
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
    labels.check_params(&serde_json::to_value(&scenario).map_err(flat)?)?;

    let mut first_run = Vec::with_capacity(configs.len() + 1);
    let mut runs = 0u64;
    for c in &configs {
        first_run.push(runs);
        runs += c.seeds.end - c.seeds.start;
    }
    first_run.push(runs);

    let group_names: Vec<String> = groups.iter().map(|g| g.name.clone()).collect();
    #[cfg_attr(not(feature = "plot"), allow(unused_mut))]
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
        super::plotspec::check(p, &params, &group_names).map_err(at)?;
        let categorical = by_group || p.x_scale == Scale::Category;
        let mut curves = Vec::with_capacity(p.reference.len());
        for (j, r) in p.reference.iter().enumerate() {
            let at = |m: String| at(format!("reference[{j}] ({}): {m}", r.label));
            if !matches!(p.kind, PlotKind::Versus | PlotKind::Series) {
                return Err(at(format!(
                    "references apply to kind = \"versus\" or \"series\" (this plot is {kind})"
                )));
            }
            // A vertical line: on any axis (category positions count from 0).
            if let Some(x) = r.x {
                if r.formula.is_some() || r.points.is_some() || !x.is_finite() {
                    return Err(at(format!(
                        "x = {x} (accepted: a finite number, without formula or points)"
                    )));
                }
                curves.push(None);
                continue;
            }
            if categorical {
                return Err(at(
                    "a reference needs a numeric x axis (accepted: x_scale = \"linear\" or \"log\"; on a category axis, a vertical line x = POSITION)"
                        .into(),
                ));
            }
            if r.label.trim().is_empty() {
                return Err(at("label is empty (accepted: the legend text)".into()));
            }
            match (&r.formula, &r.points) {
                #[cfg(feature = "plot")]
                (Some(f), None) => curves.push(Some(super::formula::Formula::parse(f).map_err(at)?)),
                // Without the `plot` feature the formula is kept as text: nothing draws it.
                #[cfg(not(feature = "plot"))]
                (Some(_), None) => curves.push(None::<()>),
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
        #[cfg(feature = "plot")]
        for (r, c) in plots[i].reference.iter_mut().zip(curves) {
            r.curve = c;
        }
        #[cfg(not(feature = "plot"))]
        let _ = curves;
    }

    Ok(Experiment {
        name: name.to_string(),
        file: file.to_string(),
        source: text.to_string(),
        base_text,
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
        let r = e.configs[1]
            .scenario
            .protocol
            .get::<crate::protocols::raft::RaftSpec>()
            .expect("a raft experiment");
        assert_eq!(r.heartbeat, crate::time::Dur::from_ms(6));
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
        let e = parse_err("protocol = \"zab\"\nseeds = \"0..10\"\n");
        assert!(e.contains("zab") && e.contains("accepted: raft"), "{e}");
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
