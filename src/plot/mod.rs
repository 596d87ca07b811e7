//! Figures drawn from results files only (never from inside a run), with
//! plotters: PNG through a pure-Rust rasteriser and SVG with text as glyph
//! outlines, both using the font shipped in `assets/`.
//!
//! ```text
//!  results/NAME/ experiment.toml ([[plot]] specs, [labels])
//!                runs.csv     ──► cdf, histogram
//!                summary.csv  ──► versus (mean with 95% CI bars, or a percentile)
//!                series.csv   ──► series (mean curve per configuration)
//!  trace.jsonl   notes, crashes ──► timeline (who each node believes leads)
//!         │
//!         ▼ Figure (display list in data coordinates) ──► render ──► .png / .svg
//! ```
//!
//! Plot kinds (`kind` in an experiment's `[[plot]]`):
//!
//! - `cdf`: the cumulative distribution of a metric, one curve per
//!   configuration; a run that did not report the metric (say, no leader
//!   before `time_max`) counts in the denominator, so a curve that stays
//!   below 100% shows trials that never finished;
//! - `versus`: a statistic of a metric (`stat`, default the mean with 95%
//!   confidence-interval bars) against a swept parameter `x`, one line per
//!   combination of the other swept parameters;
//! - `histogram`: the distribution of a metric as the fraction of trials per
//!   bin, one outline per configuration;
//! - `series`: a kept series (`series = "coverage"`) against its index, the
//!   mean over each configuration's runs, one line per configuration; a run
//!   that ended before an index counts with its last value (a coverage that
//!   reached 1 stays 1); `complement = true` draws 1 − value (the fraction
//!   not yet informed, best on `y_scale = "log"`).
//!
//! `versus` plots draw against a swept parameter's numbers (durations in
//! ms), or against categories: `x = "group"` puts the sweep groups side by
//! side (a line per combination of the parameters that vary within the
//! groups), `x_scale = "category"` a parameter's values in sweep order; tick
//! labels come from `[labels]` (`"group.NAME"`, `"PATH.VALUE"`).
//!
//! `versus` and `series` plots may draw references, dashed, after the data
//! and in the legend (`[[plot.reference]]`, `label` and one of):
//! `formula = "log2(x) + ln(x)"`, a curve sampled at 200 points across the x
//! axis ([`formula`] says what a formula may hold), or
//! `points = [[1, 0.18], [2, 0.037]]`, a table such as a paper's.
//!
//! Axes are linear or logarithmic (`x_scale`, `y_scale`); axis labels carry
//! units (from the metric's name, `_ms` → ms); legends name configurations in
//! the experiment's `[labels]` terms (`timeout 150–300ms`).

pub mod formula;
pub mod render;
pub mod svg_text;
pub mod timeline;

use crate::experiment::file::{
    display_value, Experiment, Format, LegendPlace, Missing, PlotKind, PlotSpec, Scale, Stat,
};
use crate::experiment::sweep::{
    read_manifest, read_results, write_atomic, RunResult, EXPERIMENT_COPY, SUMMARY_CSV,
    SUMMARY_STATS,
};
use crate::experiment::{csv, ExperimentError};
use crate::time::{Dur, MS};
use render::{series_style, Figure, Key, LegendAt, Shape};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Default figure size in pixels.
pub const WIDTH: u32 = 960;
pub const HEIGHT: u32 = 600;

/// Overrides for `agentsim plot`.
#[derive(Clone, Debug, Default)]
pub struct PlotOptions {
    /// Formats to draw (default: each plot's `formats`, else PNG).
    pub formats: Vec<Format>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    /// Only the plots with these names (default: all).
    pub only: Vec<String>,
}

/// `summary.csv` read back: `(config, metric)` → statistic name → value.
pub type SummaryTable = BTreeMap<(usize, String), BTreeMap<String, Option<f64>>>;

/// A results folder read back.
pub struct Results {
    pub exp: Experiment,
    pub runs: BTreeMap<u64, RunResult>,
    /// `(config, metric)` → summary columns by name.
    pub summary: SummaryTable,
}

fn bad(m: String) -> ExperimentError {
    ExperimentError::BadInput(m)
}

impl Results {
    /// Reads `experiment.toml`, `runs.csv` and `summary.csv` of a complete sweep.
    pub fn load(dir: &Path) -> Result<Results, ExperimentError> {
        let manifest = read_manifest(dir)?.ok_or_else(|| {
            bad(format!(
                "{}: no manifest.toml (accepted: a folder written by `agentsim sweep` or `agentsim merge`)",
                dir.display()
            ))
        })?;
        if let Some(s) = manifest.shard {
            return Err(bad(format!(
                "{}: holds shard {s} only (accepted: a complete sweep; join shards with `agentsim merge`)",
                dir.display()
            )));
        }
        let read = |name: &str| {
            let p = dir.join(name);
            std::fs::read_to_string(&p).map_err(|e| ExperimentError::input(&p, e))
        };
        let source = read(EXPERIMENT_COPY)?;
        let exp = Experiment::parse(
            &source,
            &manifest.experiment,
            &dir.join(EXPERIMENT_COPY).display().to_string(),
        )?;
        let runs = read_results(&exp, dir)?;
        let summary_path = dir.join(SUMMARY_CSV);
        let summary = parse_summary(&exp, &read(SUMMARY_CSV)?)
            .map_err(|e| bad(format!("{}: {e}", summary_path.display())))?;
        Ok(Results { exp, runs, summary })
    }

    fn metric_index(&self, m: &str) -> usize {
        self.exp
            .metrics
            .iter()
            .position(|x| x == m)
            .expect("plot metrics are validated against kept metrics")
    }

    /// The metric's values in the runs of configuration `c` (present ones) and the number of runs.
    fn values(&self, c: usize, metric: &str) -> (Vec<f64>, usize) {
        let mi = self.metric_index(metric);
        let rows: Vec<&RunResult> = self
            .exp
            .runs_of(c)
            .filter_map(|i| self.runs.get(&i))
            .collect();
        let v = rows.iter().filter_map(|r| r.metrics[mi]).collect();
        (v, rows.len())
    }

    /// `200 trials`, or `1–200 trials` when the configurations differ.
    fn trials_text(&self, configs: &[usize]) -> String {
        let t = configs.iter().map(|&c| self.exp.trials(c));
        let (lo, hi) = (t.clone().min().unwrap_or(0), t.max().unwrap_or(0));
        if lo == hi {
            format!("{lo} trials")
        } else {
            format!("{lo}–{hi} trials")
        }
    }

    fn stat(&self, c: usize, metric: &str, col: &str) -> Option<f64> {
        self.summary
            .get(&(c, metric.to_string()))
            .and_then(|m| m.get(col).copied().flatten())
    }
}

fn parse_summary(exp: &Experiment, text: &str) -> Result<SummaryTable, String> {
    let recs = csv::parse(text)?;
    let Some(header) = recs.first() else {
        return Err("empty file".into());
    };
    let nk = 1 + exp.has_group_column() as usize + exp.params.len();
    let expected: Vec<&str> = SUMMARY_STATS.to_vec();
    if header.len() != nk + 1 + expected.len() || header[nk] != "metric" {
        return Err("columns differ from the experiment's".into());
    }
    let mut out = BTreeMap::new();
    for (li, r) in recs.iter().enumerate().skip(1) {
        if r.len() != header.len() {
            return Err(format!(
                "line {}: {} fields, expected {}",
                li + 1,
                r.len(),
                header.len()
            ));
        }
        let c: usize = r[0]
            .parse()
            .ok()
            .filter(|&c| c < exp.configs.len())
            .ok_or_else(|| format!("line {}: config '{}' out of range", li + 1, r[0]))?;
        let mut cols = BTreeMap::new();
        for (k, v) in header[nk + 1..].iter().zip(&r[nk + 1..]) {
            let v = if v.is_empty() {
                None
            } else {
                Some(
                    v.parse::<f64>()
                        .map_err(|_| format!("line {}: '{v}' is not a number", li + 1))?,
                )
            };
            cols.insert(k.clone(), v);
        }
        out.insert((c, r[nk].clone()), cols);
    }
    Ok(out)
}

/// Draws every plot of a results folder; returns the files written.
pub fn plot_results(dir: &Path, opts: &PlotOptions) -> Result<Vec<PathBuf>, ExperimentError> {
    let res = Results::load(dir)?;
    for o in &opts.only {
        if !res.exp.plots.iter().any(|p| p.stem() == *o) {
            let names: Vec<String> = res.exp.plots.iter().map(|p| p.stem()).collect();
            return Err(bad(format!(
                "plot '{o}' not in {} (accepted: {})",
                res.exp.file,
                names.join(", ")
            )));
        }
    }
    if res.exp.plots.is_empty() {
        return Err(bad(format!(
            "{}: no [[plot]] tables (accepted: add [[plot]] kind = \"cdf\" | \"versus\" | \"histogram\" | \"series\")",
            res.exp.file
        )));
    }
    // Every figure is built (and every error found) before any file is written.
    let mut figures = Vec::new();
    for spec in &res.exp.plots {
        if !opts.only.is_empty() && !opts.only.contains(&spec.stem()) {
            continue;
        }
        figures.push((spec, figure(&res, spec)?));
    }
    let mut written = Vec::new();
    for (spec, mut fig) in figures {
        fig.width = opts.width.or(spec.width).unwrap_or(WIDTH);
        fig.height = opts.height.or(spec.height).unwrap_or(HEIGHT);
        let formats = if !opts.formats.is_empty() {
            opts.formats.clone()
        } else if !spec.formats.is_empty() {
            spec.formats.clone()
        } else {
            vec![Format::Png]
        };
        for f in formats {
            let bytes =
                render::render(&fig, f).map_err(|e| bad(format!("plot '{}': {e}", spec.stem())))?;
            let path = dir.join(format!("{}.{}", spec.stem(), f.ext()));
            write_atomic(&path, &bytes)?;
            written.push(path);
        }
    }
    Ok(written)
}

/// The configurations a plot shows.
fn select(res: &Results, spec: &PlotSpec) -> Vec<usize> {
    let exp = &res.exp;
    exp.configs
        .iter()
        .filter(|c| {
            spec.group
                .as_ref()
                .is_none_or(|g| exp.groups[c.group] == *g)
        })
        .filter(|c| {
            spec.filter.iter().all(|(k, want)| {
                let i = exp.params.iter().position(|p| p == k).expect("validated");
                let have = &c.values[i];
                match want {
                    toml::Value::Array(a) => a.iter().any(|w| display_value(w) == *have),
                    w => display_value(w) == *have,
                }
            })
        })
        .map(|c| c.index)
        .collect()
}

/// Parameters whose value differs among `configs`.
fn varying(res: &Results, configs: &[usize]) -> Vec<usize> {
    (0..res.exp.params.len())
        .filter(|&p| {
            let first = configs.first().map(|&c| &res.exp.configs[c].values[p]);
            configs
                .iter()
                .any(|&c| Some(&res.exp.configs[c].values[p]) != first)
        })
        .collect()
}

/// A configuration named by its parameters that vary in the plot.
fn config_label(res: &Results, c: usize, params: &[usize], all: &[usize]) -> String {
    let exp = &res.exp;
    let cfg = &exp.configs[c];
    if params.is_empty() {
        let groups_vary = all.iter().any(|&o| exp.configs[o].group != cfg.group);
        return if groups_vary {
            exp.groups[cfg.group].clone()
        } else {
            exp.name.clone()
        };
    }
    params
        .iter()
        .map(|&p| exp.labels.param_value(&exp.params[p], &cfg.values[p]))
        .collect::<Vec<_>>()
        .join(", ")
}

fn legend_at(spec: &PlotSpec, default: LegendAt, entries: usize) -> LegendAt {
    match spec.legend {
        Some(LegendPlace::UpperLeft) => LegendAt::UpperLeft,
        Some(LegendPlace::UpperRight) => LegendAt::UpperRight,
        Some(LegendPlace::LowerRight) => LegendAt::LowerRight,
        Some(LegendPlace::Outside) => LegendAt::Outside,
        None if entries > 8 => LegendAt::Outside,
        None => default,
    }
}

fn range_of(values: impl Iterator<Item = f64>, log: bool) -> Option<(f64, f64)> {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in values {
        if log && v <= 0.0 {
            continue;
        }
        lo = lo.min(v);
        hi = hi.max(v);
    }
    (lo <= hi).then_some((lo, hi))
}

/// Pads a data range for an axis.
fn pad(r: (f64, f64), log: bool, from_zero: bool) -> (f64, f64) {
    let (lo, hi) = r;
    if log {
        // Whole decades, so a log axis always has labelled powers of ten.
        let lo = libm::pow(10.0, libm::floor(libm::log10(lo) + 1e-9));
        let hi = libm::pow(10.0, libm::ceil(libm::log10(hi) - 1e-9));
        return if hi > lo { (lo, hi) } else { (lo, lo * 10.0) };
    }
    if lo == hi {
        let d = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
        return (lo - d, hi + d);
    }
    let span = hi - lo;
    let lo = if from_zero && lo >= 0.0 && lo < 0.4 * hi {
        0.0
    } else {
        lo - 0.03 * span
    };
    (lo, hi + 0.03 * span)
}

fn figure(res: &Results, spec: &PlotSpec) -> Result<Figure, ExperimentError> {
    let configs = select(res, spec);
    if configs.is_empty() {
        return Err(bad(format!(
            "plot '{}': no configuration matches its group/where (accepted: values that appear in the sweep)",
            spec.stem()
        )));
    }
    match spec.kind {
        PlotKind::Cdf => Ok(cdf(res, spec, &configs)),
        PlotKind::Histogram => Ok(histogram(res, spec, &configs)),
        PlotKind::Versus => versus(res, spec, &configs),
        PlotKind::Series => Ok(series_plot(res, spec, &configs)),
    }
}

fn metric_axis(res: &Results, spec: &PlotSpec) -> String {
    spec.x_label
        .clone()
        .unwrap_or_else(|| res.exp.labels.metric_axis(&spec.metric))
}

fn cdf(res: &Results, spec: &PlotSpec, configs: &[usize]) -> Figure {
    let x_log = spec.x_scale == Scale::Log;
    let vary = varying(res, configs);
    let data: Vec<(Vec<f64>, usize)> = configs
        .iter()
        .map(|&c| {
            let (mut v, n) = res.values(c, &spec.metric);
            v.sort_by(f64::total_cmp);
            let n = if spec.missing == Missing::Exclude {
                v.len()
            } else {
                n
            };
            (v, n)
        })
        .collect();
    let x_range = spec
        .x_range
        .map(|[a, b]| (a, b))
        .or_else(|| {
            range_of(data.iter().flat_map(|(v, _)| v.iter().copied()), x_log)
                .map(|r| pad(r, x_log, false))
        })
        .unwrap_or((1.0, 10.0));
    let mut shapes = Vec::new();
    let mut legend = Vec::new();
    for (i, (&c, (v, n))) in configs.iter().zip(&data).enumerate() {
        let (color, dashed) = series_style(i);
        let mut pts = Vec::with_capacity(2 * v.len() + 2);
        let n = (*n).max(1) as f64;
        let mut y = 0.0;
        // A step function: each trial lifts the curve by 1/n at its value.
        for (k, &x) in v.iter().enumerate() {
            if x > x_range.1 {
                break;
            }
            let next = (k + 1) as f64 / n * 100.0;
            if x >= x_range.0 {
                pts.push((x, y));
                pts.push((x, next));
            }
            y = next;
        }
        if let Some(&(x, _)) = pts.last() {
            if x < x_range.1 {
                pts.push((x_range.1, y));
            }
        }
        shapes.push(Shape::Line {
            points: pts,
            color,
            dashed,
            width: 2,
        });
        legend.push((
            config_label(res, c, &vary, configs),
            Key::Line { color, dashed },
        ));
    }
    let trials = res.trials_text(configs);
    Figure {
        title: spec.title.clone().unwrap_or_else(|| {
            format!(
                "{}: cumulative distribution, {trials} per configuration",
                crate::experiment::file::metric_words(&spec.metric).0
            )
        }),
        x_label: metric_axis(res, spec),
        y_label: spec
            .y_label
            .clone()
            .unwrap_or_else(|| "cumulative % of trials".into()),
        x_range,
        y_range: spec.y_range.map(|[a, b]| (a, b)).unwrap_or((0.0, 100.0)),
        x_log,
        y_log: false,
        x_categories: None,
        y_categories: None,
        legend_at: legend_at(spec, LegendAt::LowerRight, legend.len()),
        shapes,
        legend,
        width: WIDTH,
        height: HEIGHT,
    }
}

fn histogram(res: &Results, spec: &PlotSpec, configs: &[usize]) -> Figure {
    let x_log = spec.x_scale == Scale::Log;
    let vary = varying(res, configs);
    let data: Vec<(Vec<f64>, usize)> = configs
        .iter()
        .map(|&c| {
            let (v, n) = res.values(c, &spec.metric);
            let n = if spec.missing == Missing::Exclude {
                v.len()
            } else {
                n
            };
            (v, n)
        })
        .collect();
    let (lo, hi) = spec
        .x_range
        .map(|[a, b]| (a, b))
        .or_else(|| range_of(data.iter().flat_map(|(v, _)| v.iter().copied()), x_log))
        .unwrap_or((0.0, 1.0));
    let (lo, hi) = if lo == hi {
        (lo - 0.5, hi + 0.5)
    } else {
        (lo, hi)
    };
    let bins = spec.bins.unwrap_or(40) as usize;
    let edge = |k: usize| {
        let f = k as f64 / bins as f64;
        if x_log {
            lo * libm::pow(hi / lo, f)
        } else {
            lo + (hi - lo) * f
        }
    };
    let bin_of = |x: f64| -> Option<usize> {
        if !(lo..=hi).contains(&x) {
            return None;
        }
        let f = if x_log {
            libm::log(x / lo) / libm::log(hi / lo)
        } else {
            (x - lo) / (hi - lo)
        };
        Some(((f * bins as f64) as usize).min(bins - 1))
    };
    let mut shapes = Vec::new();
    let mut legend = Vec::new();
    let mut y_max: f64 = 0.0;
    for (i, (&c, (v, n))) in configs.iter().zip(&data).enumerate() {
        let (color, dashed) = series_style(i);
        let mut counts = vec![0usize; bins];
        for &x in v {
            if let Some(b) = bin_of(x) {
                counts[b] += 1;
            }
        }
        let n = (*n).max(1) as f64;
        let mut pts = vec![(edge(0), 0.0)];
        for (b, &k) in counts.iter().enumerate() {
            let f = k as f64 / n;
            y_max = y_max.max(f);
            if configs.len() == 1 && k > 0 {
                shapes.push(Shape::Rect {
                    from: (edge(b), 0.0),
                    to: (edge(b + 1), f),
                    color,
                    opacity: 0.35,
                });
            }
            pts.push((edge(b), f));
            pts.push((edge(b + 1), f));
        }
        pts.push((edge(bins), 0.0));
        shapes.push(Shape::Line {
            points: pts,
            color,
            dashed,
            width: 2,
        });
        legend.push((
            config_label(res, c, &vary, configs),
            Key::Line { color, dashed },
        ));
    }
    let x_range = if x_log {
        (lo, hi)
    } else {
        pad((lo, hi), false, false)
    };
    Figure {
        title: spec.title.clone().unwrap_or_else(|| {
            format!(
                "{}: histogram, {} per configuration",
                crate::experiment::file::metric_words(&spec.metric).0,
                res.trials_text(configs)
            )
        }),
        x_label: metric_axis(res, spec),
        y_label: spec
            .y_label
            .clone()
            .unwrap_or_else(|| "fraction of trials per bin".into()),
        x_range,
        y_range: spec
            .y_range
            .map(|[a, b]| (a, b))
            .unwrap_or((0.0, (y_max * 1.1).max(1e-3))),
        x_log,
        y_log: false,
        x_categories: None,
        y_categories: None,
        legend_at: legend_at(spec, LegendAt::UpperRight, legend.len()),
        shapes,
        legend,
        width: WIDTH,
        height: HEIGHT,
    }
}

/// A point of a `versus` line: x, y and the 95% CI of y if drawn.
type Point = (f64, f64, Option<(f64, f64)>);

/// A parameter value as a number: plain numbers, or durations in ms.
fn numeric(v: &str) -> Option<(f64, bool)> {
    if let Ok(x) = v.parse::<f64>() {
        return Some((x, false));
    }
    v.parse::<Dur>()
        .ok()
        .map(|d| (d.0 as f64 / MS as f64, true))
}

/// Parameters whose value differs between configurations of one sweep group
/// (those that differ only from group to group come with the group).
fn varying_within_groups(res: &Results, configs: &[usize]) -> Vec<usize> {
    let exp = &res.exp;
    (0..exp.params.len())
        .filter(|&p| {
            configs.iter().any(|&a| {
                configs.iter().any(|&b| {
                    exp.configs[a].group == exp.configs[b].group
                        && exp.configs[a].values[p] != exp.configs[b].values[p]
                })
            })
        })
        .collect()
}

/// Where a `versus` plot puts a configuration on its x axis.
enum XAxis {
    /// Numbers (durations in ms) of parameter `param`.
    Numeric { param: usize, is_dur: bool },
    /// Categories in order: the sweep groups, or the values of a parameter.
    Categories {
        param: Option<usize>,
        names: Vec<String>,
        labels: Vec<String>,
    },
}

impl XAxis {
    fn of(res: &Results, spec: &PlotSpec, configs: &[usize]) -> Result<XAxis, ExperimentError> {
        let exp = &res.exp;
        let x_param = spec.x.as_deref().expect("validated: versus has x");
        if x_param == "group" {
            let mut names: Vec<String> = Vec::new();
            for &c in configs {
                let g = &exp.groups[exp.configs[c].group];
                if !names.contains(g) {
                    names.push(g.clone());
                }
            }
            let labels = names
                .iter()
                .map(|g| exp.labels.value_text("group", g))
                .collect();
            return Ok(XAxis::Categories {
                param: None,
                names,
                labels,
            });
        }
        let xi = exp
            .params
            .iter()
            .position(|p| p == x_param)
            .expect("validated");
        if spec.x_scale == Scale::Category {
            let mut names: Vec<String> = Vec::new();
            for &c in configs {
                let v = &exp.configs[c].values[xi];
                if !names.contains(v) {
                    names.push(v.clone());
                }
            }
            let labels = names
                .iter()
                .map(|v| exp.labels.value_text(x_param, v))
                .collect();
            return Ok(XAxis::Categories {
                param: Some(xi),
                names,
                labels,
            });
        }
        let mut is_dur = false;
        for &c in configs {
            let v = &exp.configs[c].values[xi];
            let (_, d) = numeric(v).ok_or_else(|| {
                bad(format!(
                    "plot '{}': x = '{x_param}' has value '{v}', not a number (accepted: a parameter whose values are numbers or durations, or x_scale = \"category\")",
                    spec.stem(),
                ))
            })?;
            is_dur |= d;
        }
        Ok(XAxis::Numeric { param: xi, is_dur })
    }

    /// The x position of configuration `c`.
    fn x(&self, exp: &Experiment, c: usize) -> Option<f64> {
        let cfg = &exp.configs[c];
        match self {
            XAxis::Numeric { param, .. } => numeric(&cfg.values[*param]).map(|(x, _)| x),
            XAxis::Categories { param, names, .. } => {
                let key = match param {
                    None => &exp.groups[cfg.group],
                    Some(p) => &cfg.values[*p],
                };
                names.iter().position(|n| n == key).map(|i| i as f64)
            }
        }
    }
}

/// Reference curves and tables: dashed lines after the data series, their
/// values added to `ys` (for the y range). Formulas are sampled at 200
/// points across `x_range` (evenly on a log axis when `x_log`).
fn references(
    spec: &PlotSpec,
    x_range: (f64, f64),
    (x_log, y_log): (bool, bool),
    first_style: usize,
    shapes: &mut Vec<Shape>,
    legend: &mut Vec<(String, Key)>,
    ys: &mut Vec<f64>,
) {
    const SAMPLES: usize = 200;
    for (j, r) in spec.reference.iter().enumerate() {
        let (color, _) = series_style(first_style + j);
        let keep = |&(x, y): &(f64, f64)| (!x_log || x > 0.0) && (!y_log || y > 0.0);
        let points: Vec<(f64, f64)> = match (&r.curve, &r.points) {
            (Some(f), _) => (0..SAMPLES)
                .filter_map(|k| {
                    let t = k as f64 / (SAMPLES - 1) as f64;
                    let (a, b) = x_range;
                    let x = if x_log {
                        a * libm::pow(b / a, t)
                    } else {
                        a + (b - a) * t
                    };
                    f.eval(x).map(|y| (x, y))
                })
                .filter(keep)
                .collect(),
            (None, Some(pts)) => pts.iter().map(|&[x, y]| (x, y)).filter(keep).collect(),
            (None, None) => Vec::new(),
        };
        ys.extend(
            points
                .iter()
                .filter(|p| (x_range.0..=x_range.1).contains(&p.0))
                .map(|p| p.1),
        );
        shapes.push(Shape::Line {
            points,
            color,
            dashed: true,
            width: 2,
        });
        legend.push((
            r.label.clone(),
            Key::Line {
                color,
                dashed: true,
            },
        ));
    }
}

/// The x values of reference tables (they widen the x range).
fn reference_xs(spec: &PlotSpec) -> impl Iterator<Item = f64> + '_ {
    spec.reference
        .iter()
        .flat_map(|r| r.points.iter().flatten().map(|p| p[0]))
}

fn versus(res: &Results, spec: &PlotSpec, configs: &[usize]) -> Result<Figure, ExperimentError> {
    let exp = &res.exp;
    let x_param = spec.x.as_deref().expect("validated: versus has x");
    let axis = XAxis::of(res, spec, configs)?;
    let (x_log, y_log) = (spec.x_scale == Scale::Log, spec.y_scale == Scale::Log);
    let vary: Vec<usize> = match &axis {
        XAxis::Categories { param: None, .. } => varying_within_groups(res, configs),
        XAxis::Numeric { param, .. }
        | XAxis::Categories {
            param: Some(param), ..
        } => varying(res, configs)
            .into_iter()
            .filter(|p| p != param)
            .collect(),
    };
    // Series: one per combination of the other varying parameters, in first-seen order.
    let mut series: Vec<(Vec<String>, Vec<usize>)> = Vec::new();
    for &c in configs {
        let cfg = &exp.configs[c];
        let key: Vec<String> = vary.iter().map(|&p| cfg.values[p].clone()).collect();
        match series.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(c),
            None => series.push((key, vec![c])),
        }
    }
    let col = spec.stat.column();
    let mut shapes = Vec::new();
    let mut legend = Vec::new();
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    let mut drawn: Vec<Vec<(f64, f64)>> = Vec::new();
    for (i, (_, members)) in series.iter().enumerate() {
        let (color, mut dashed) = series_style(i);
        // (x, y, confidence interval)
        let mut pts: Vec<Point> = members
            .iter()
            .filter_map(|&c| {
                let x = axis.x(exp, c)?;
                let y = res.stat(c, &spec.metric, col)?;
                let ci = if spec.stat == Stat::Mean {
                    res.stat(c, &spec.metric, "ci95_lo")
                        .zip(res.stat(c, &spec.metric, "ci95_hi"))
                } else {
                    None
                };
                // A t interval can reach below 0 for a metric that never
                // does (a rate near 0): its bar stops at 0.
                let never_negative = res.stat(c, &spec.metric, "min").is_some_and(|m| m >= 0.0);
                let ci = ci.map(|(lo, hi)| (if never_negative { lo.max(0.0) } else { lo }, hi));
                Some((x, y, ci))
            })
            .filter(|&(x, y, _)| (!x_log || x > 0.0) && (!y_log || y > 0.0))
            .collect();
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        let line: Vec<(f64, f64)> = pts.iter().map(|&(x, y, _)| (x, y)).collect();
        // A line that lies on an earlier one is dashed, so both stay visible.
        let close = |a: f64, b: f64| (a - b).abs() <= 0.01 * a.abs().max(b.abs()).max(1e-9);
        dashed |= drawn.iter().any(|d| {
            d.len() == line.len()
                && d.iter()
                    .zip(&line)
                    .all(|(p, q)| close(p.0, q.0) && close(p.1, q.1))
        });
        drawn.push(line.clone());
        shapes.push(Shape::Line {
            points: line,
            color,
            dashed,
            width: 2,
        });
        for &(x, y, ci) in &pts {
            xs.push(x);
            ys.push(y);
            if let Some((lo, hi)) = ci {
                let lo = if y_log { lo.max(y * 1e-3) } else { lo };
                ys.push(lo);
                ys.push(hi);
                shapes.push(Shape::ErrorBar { x, lo, hi, color });
            }
            shapes.push(Shape::Marker { at: (x, y), color });
        }
        let label = config_label(res, members[0], &vary, configs);
        legend.push((label, Key::Line { color, dashed }));
    }
    if series.len() == 1 && vary.is_empty() {
        // One line needs no legend, unless references are drawn beside it.
        match legend.first_mut() {
            Some(first) if !spec.reference.is_empty() => {
                first.0 = exp.labels.metric_axis(&spec.metric)
            }
            _ => legend.clear(),
        }
    }
    let x_name = exp.labels.param_name(x_param);
    let (x_range, x_categories, x_label) = match &axis {
        XAxis::Categories { labels, .. } => (
            (-0.5, labels.len() as f64 - 0.5),
            Some(labels.clone()),
            x_name.clone(),
        ),
        XAxis::Numeric { is_dur, .. } => {
            xs.extend(reference_xs(spec));
            let r = spec
                .x_range
                .map(|[a, b]| (a, b))
                .or_else(|| range_of(xs.iter().copied(), x_log).map(|r| pad(r, x_log, false)))
                .unwrap_or((0.0, 1.0));
            let label = if *is_dur {
                format!("{x_name} (ms)")
            } else {
                x_name.clone()
            };
            (r, None, label)
        }
    };
    references(
        spec,
        x_range,
        (x_log, y_log),
        series.len(),
        &mut shapes,
        &mut legend,
        &mut ys,
    );
    let y_range = spec
        .y_range
        .map(|[a, b]| (a, b))
        .or_else(|| range_of(ys.iter().copied(), y_log).map(|r| pad(r, y_log, true)))
        .unwrap_or((0.0, 1.0));
    let metric = exp.labels.metric_axis(&spec.metric);
    let y_label = spec.y_label.clone().unwrap_or_else(|| match spec.stat {
        Stat::Mean => format!("{metric}, mean ± 95% CI"),
        s => format!("{metric}, {}", s.column()),
    });
    Ok(Figure {
        title: spec.title.clone().unwrap_or_else(|| {
            format!(
                "{} against {x_name}, {} per point",
                crate::experiment::file::metric_words(&spec.metric).0,
                res.trials_text(configs)
            )
        }),
        x_label: spec.x_label.clone().unwrap_or(x_label),
        y_label,
        x_range,
        y_range,
        x_log,
        y_log,
        x_categories,
        y_categories: None,
        legend_at: legend_at(spec, LegendAt::UpperLeft, legend.len()),
        shapes,
        legend,
        width: WIDTH,
        height: HEIGHT,
    })
}

/// Most points of a `series` curve drawn with markers.
const SERIES_MARKERS_MAX: usize = 40;

/// `series`: per configuration, the mean over its runs of a kept series at
/// each index; a run that ended before an index counts with its last value
/// (coverage stays where it ended), runs that reported nothing are left out.
fn series_plot(res: &Results, spec: &PlotSpec, configs: &[usize]) -> Figure {
    let exp = &res.exp;
    let name = spec
        .series
        .as_deref()
        .expect("validated: series has series");
    let si = exp
        .series
        .iter()
        .position(|s| s == name)
        .expect("validated: a kept series");
    let (x_log, y_log) = (spec.x_scale == Scale::Log, spec.y_scale == Scale::Log);
    let vary = varying(res, configs);
    let value = |v: f64| if spec.complement { 1.0 - v } else { v };
    let mut shapes = Vec::new();
    let mut legend = Vec::new();
    let mut xs = Vec::new();
    let mut ys = Vec::new();
    for (i, &c) in configs.iter().enumerate() {
        let (color, dashed) = series_style(i);
        let runs: Vec<&[f64]> = exp
            .runs_of(c)
            .filter_map(|r| res.runs.get(&r))
            .map(|r| r.series[si].as_slice())
            .filter(|v| !v.is_empty())
            .collect();
        let len = runs.iter().map(|v| v.len()).max().unwrap_or(0);
        let n = runs.len().max(1) as f64;
        let pts: Vec<(f64, f64)> = (0..len)
            .map(|k| {
                let sum: f64 = runs.iter().map(|v| value(v[k.min(v.len() - 1)])).sum();
                (k as f64, sum / n)
            })
            .filter(|&(x, y)| (!x_log || x > 0.0) && (!y_log || y > 0.0))
            .collect();
        xs.extend(pts.iter().map(|p| p.0));
        ys.extend(pts.iter().map(|p| p.1));
        if pts.len() <= SERIES_MARKERS_MAX {
            shapes.extend(pts.iter().map(|&at| Shape::Marker { at, color }));
        }
        shapes.push(Shape::Line {
            points: pts,
            color,
            dashed,
            width: 2,
        });
        legend.push((
            config_label(res, c, &vary, configs),
            Key::Line { color, dashed },
        ));
    }
    xs.extend(reference_xs(spec));
    let x_range = spec
        .x_range
        .map(|[a, b]| (a, b))
        .or_else(|| range_of(xs.iter().copied(), x_log).map(|r| pad(r, x_log, false)))
        .unwrap_or((0.0, 1.0));
    references(
        spec,
        x_range,
        (x_log, y_log),
        configs.len(),
        &mut shapes,
        &mut legend,
        &mut ys,
    );
    let y_range = spec
        .y_range
        .map(|[a, b]| (a, b))
        .or_else(|| range_of(ys.iter().copied(), y_log).map(|r| pad(r, y_log, true)))
        .unwrap_or((0.0, 1.0));
    let words = crate::experiment::file::metric_words(name).0;
    let axis = exp.labels.metric_axis(name);
    let (words, axis) = if spec.complement {
        (format!("1 − {words}"), format!("1 − {axis}"))
    } else {
        (words, axis)
    };
    Figure {
        title: spec.title.clone().unwrap_or_else(|| {
            format!(
                "{words} by index, mean of {} per configuration",
                res.trials_text(configs)
            )
        }),
        x_label: spec.x_label.clone().unwrap_or_else(|| "index".into()),
        y_label: spec
            .y_label
            .clone()
            .unwrap_or_else(|| format!("{axis}, mean")),
        x_range,
        y_range,
        x_log,
        y_log,
        x_categories: None,
        y_categories: None,
        legend_at: legend_at(spec, LegendAt::UpperLeft, legend.len()),
        shapes,
        legend,
        width: WIDTH,
        height: HEIGHT,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Results of `text` with made-up runs (series) and summary means.
    fn results(text: &str, series: &[(u64, &[f64])], means: &[(usize, &str, f64)]) -> Results {
        let exp = Experiment::parse(text, "t", "t.toml").unwrap();
        let runs = (0..exp.runs())
            .map(|i| {
                let s = series
                    .iter()
                    .find(|(j, _)| *j == i)
                    .map(|(_, v)| v.to_vec())
                    .unwrap_or_default();
                let r = RunResult {
                    stop: "done".into(),
                    hash: String::new(),
                    metrics: vec![None; exp.metrics.len()],
                    series: vec![s; exp.series.len()],
                };
                (i, r)
            })
            .collect();
        let summary = means
            .iter()
            .map(|&(c, m, v)| {
                let cols = [("mean".to_string(), Some(v))].into_iter().collect();
                ((c, m.to_string()), cols)
            })
            .collect();
        Results { exp, runs, summary }
    }

    fn lines(fig: &Figure) -> Vec<(&[(f64, f64)], bool)> {
        fig.shapes
            .iter()
            .filter_map(|s| match s {
                Shape::Line { points, dashed, .. } => Some((points.as_slice(), *dashed)),
                _ => None,
            })
            .collect()
    }

    const GOSSIP: &str = "protocol = \"gossip\"\nseeds = \"0..2\"\nmetrics = [\"rounds_to_full\"]\nseries = [\"coverage\"]\n";

    #[test]
    fn series_plot_draws_the_mean_and_a_finished_run_keeps_its_last_value() {
        let text = format!(
            "{GOSSIP}[sweep]\n\"protocol.direction\" = [\"push\", \"pull\"]\n[[plot]]\nname = \"c\"\nkind = \"series\"\nseries = \"coverage\"\n[[plot]]\nname = \"u\"\nkind = \"series\"\nseries = \"coverage\"\ncomplement = true\ny_scale = \"log\"\n"
        );
        // Configuration 0: runs 0 and 1; configuration 1: run 2 only reported.
        let res = results(
            &text,
            &[(0, &[0.25, 0.5, 1.0]), (1, &[0.5, 1.0]), (2, &[0.5, 1.0])],
            &[],
        );
        let configs = [0, 1];
        let fig = series_plot(&res, &res.exp.plots[0], &configs);
        let l = lines(&fig);
        assert_eq!(l[0].0, [(0.0, 0.375), (1.0, 0.75), (2.0, 1.0)]);
        assert_eq!(l[1].0, [(0.0, 0.5), (1.0, 1.0)]);
        let names: Vec<&str> = fig.legend.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["direction push", "direction pull"]);
        assert_eq!(fig.x_label, "index");
        // 1 − value on a log axis: the zeros are left out.
        let fig = series_plot(&res, &res.exp.plots[1], &configs);
        let l = lines(&fig);
        assert_eq!(l[0].0, [(0.0, 0.625), (1.0, 0.25)]);
        assert_eq!(l[1].0, [(0.0, 0.5)]);
        assert!(
            fig.y_log && fig.y_label.starts_with("1 − "),
            "{}",
            fig.y_label
        );
    }

    #[test]
    fn versus_by_group_is_a_category_axis_with_a_line_per_parameter_varied_in_groups() {
        let text = format!(
            "{GOSSIP}[[sweep]]\ngroup = \"calm\"\n\"protocol.direction\" = [\"push\", \"pull\"]\n[[sweep]]\ngroup = \"lossy\"\n\"net.loss_ratio\" = 0.2\n\"protocol.direction\" = [\"push\", \"pull\"]\n[labels]\ngroup = \"faults\"\n\"group.lossy\" = \"20% loss\"\n[[plot]]\nkind = \"versus\"\nmetric = \"rounds_to_full\"\nx = \"group\"\n"
        );
        let means = [
            (0, "rounds_to_full", 10.0),
            (1, "rounds_to_full", 8.0),
            (2, "rounds_to_full", 12.0),
            (3, "rounds_to_full", 9.0),
        ];
        let res = results(&text, &[], &means);
        let fig = figure(&res, &res.exp.plots[0]).unwrap();
        assert_eq!(
            fig.x_categories.as_deref(),
            Some(&["calm".to_string(), "20% loss".to_string()][..])
        );
        assert_eq!(fig.x_range, (-0.5, 1.5));
        assert_eq!(fig.x_label, "faults");
        let l = lines(&fig);
        assert_eq!(l.len(), 2, "one line per direction, not per loss ratio");
        assert_eq!(l[0].0, [(0.0, 10.0), (1.0, 12.0)]);
        assert_eq!(l[1].0, [(0.0, 8.0), (1.0, 9.0)]);
        // A parameter's values as categories, in sweep order.
        let text = text.replace(
            "x = \"group\"",
            "x = \"protocol.direction\"\nx_scale = \"category\"",
        );
        let res = results(&text, &[], &means);
        let fig = figure(&res, &res.exp.plots[0]).unwrap();
        assert_eq!(
            fig.x_categories.as_deref(),
            Some(&["push".to_string(), "pull".to_string()][..])
        );
        assert_eq!(lines(&fig)[1].0, [(0.0, 12.0), (1.0, 9.0)]);
    }

    #[test]
    fn error_bars_stop_at_zero_for_a_metric_that_never_goes_below() {
        let text = format!(
            "{GOSSIP}[sweep]\nnodes = [100, 200]\n[[plot]]\nkind = \"versus\"\nmetric = \"rounds_to_full\"\nx = \"nodes\"\n"
        );
        let mut res = results(&text, &[], &[]);
        // (mean, t interval, smallest value seen): a rate near 0, and a
        // metric that does go negative.
        for (c, mean, lo, hi, min) in [(0, 0.01, -0.005, 0.025, 0.0), (1, -0.5, -1.2, 0.2, -1.0)] {
            let cols = [
                ("mean", mean),
                ("ci95_lo", lo),
                ("ci95_hi", hi),
                ("min", min),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), Some(v)))
            .collect();
            res.summary.insert((c, "rounds_to_full".into()), cols);
        }
        let fig = figure(&res, &res.exp.plots[0]).unwrap();
        let bars: Vec<(f64, f64, f64)> = fig
            .shapes
            .iter()
            .filter_map(|s| match *s {
                Shape::ErrorBar { x, lo, hi, .. } => Some((x, lo, hi)),
                _ => None,
            })
            .collect();
        assert_eq!(bars, [(100.0, 0.0, 0.025), (200.0, -1.2, 0.2)]);
    }

    #[test]
    fn references_are_dashed_follow_their_formula_and_widen_the_ranges() {
        let text = format!(
            "{GOSSIP}[sweep]\nnodes = [1000, 100000]\n[[plot]]\nkind = \"versus\"\nmetric = \"rounds_to_full\"\nx = \"nodes\"\nx_scale = \"log\"\n[[plot.reference]]\nlabel = \"log2 n + ln n\"\nformula = \"log2(x) + ln(x)\"\n[[plot.reference]]\nlabel = \"table\"\npoints = [[10, 40], [1000, 30]]\n"
        );
        let res = results(
            &text,
            &[],
            &[(0, "rounds_to_full", 18.0), (1, "rounds_to_full", 30.0)],
        );
        let fig = figure(&res, &res.exp.plots[0]).unwrap();
        let names: Vec<&str> = fig.legend.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["rounds to full", "log2 n + ln n", "table"]);
        let l = lines(&fig);
        assert!(!l[0].1 && l[1].1 && l[2].1, "references are dashed");
        // The table's x = 10 widens the x range to 10..10^5 (whole decades).
        assert_eq!(fig.x_range, (10.0, 100_000.0));
        let curve = l[1].0;
        assert_eq!(curve.len(), 200);
        assert_eq!(curve[0].0, 10.0);
        for &(x, y) in curve {
            assert!((y - (libm::log2(x) + libm::log(x))).abs() < 1e-9);
        }
        assert_eq!(l[2].0, [(10.0, 40.0), (1000.0, 30.0)]);
        // The y range holds the curve's largest value (about 28.1 at 10^5) and the table's 40.
        assert!(
            fig.y_range.1 >= 40.0 && fig.y_range.0 <= 5.6,
            "{:?}",
            fig.y_range
        );
    }
}
