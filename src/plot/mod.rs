//! Figures drawn from results files only (never from inside a run), with
//! plotters: PNG through a pure-Rust rasteriser and SVG with text as glyph
//! outlines, both using the font shipped in `assets/`.
//!
//! ```text
//!  results/NAME/ experiment.toml ([[plot]] specs, [labels])
//!                runs.csv     ──► cdf, histogram
//!                summary.csv  ──► versus (mean with 95% CI bars, or a percentile)
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
//!   bin, one outline per configuration.
//!
//! Axes are linear or logarithmic (`x_scale`, `y_scale`); axis labels carry
//! units (from the metric's name, `_ms` → ms); legends name configurations in
//! the experiment's `[labels]` terms (`timeout 150–300ms`).

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
            std::fs::read_to_string(&p).map_err(|e| ExperimentError::io(&p, e))
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
            "{}: no [[plot]] tables (accepted: add [[plot]] kind = \"cdf\" | \"versus\" | \"histogram\")",
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

fn versus(res: &Results, spec: &PlotSpec, configs: &[usize]) -> Result<Figure, ExperimentError> {
    let exp = &res.exp;
    let x_param = spec.x.as_deref().expect("validated: versus has x");
    let xi = exp
        .params
        .iter()
        .position(|p| p == x_param)
        .expect("validated");
    let (x_log, y_log) = (spec.x_scale == Scale::Log, spec.y_scale == Scale::Log);
    let vary: Vec<usize> = varying(res, configs)
        .into_iter()
        .filter(|&p| p != xi)
        .collect();
    // Series: one per combination of the other varying parameters, in first-seen order.
    let mut series: Vec<(Vec<String>, Vec<usize>)> = Vec::new();
    let mut x_is_dur = false;
    for &c in configs {
        let cfg = &exp.configs[c];
        let (_, is_dur) = numeric(&cfg.values[xi]).ok_or_else(|| {
            bad(format!(
                "plot '{}': x = '{x_param}' has value '{}', not a number (accepted: a parameter whose values are numbers or durations)",
                spec.stem(),
                cfg.values[xi]
            ))
        })?;
        x_is_dur |= is_dur;
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
                let x = numeric(&exp.configs[c].values[xi])?.0;
                let y = res.stat(c, &spec.metric, col)?;
                let ci = if spec.stat == Stat::Mean {
                    res.stat(c, &spec.metric, "ci95_lo")
                        .zip(res.stat(c, &spec.metric, "ci95_hi"))
                } else {
                    None
                };
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
        legend.clear();
    }
    let x_range = spec
        .x_range
        .map(|[a, b]| (a, b))
        .or_else(|| range_of(xs.iter().copied(), x_log).map(|r| pad(r, x_log, false)))
        .unwrap_or((0.0, 1.0));
    let y_range = spec
        .y_range
        .map(|[a, b]| (a, b))
        .or_else(|| range_of(ys.iter().copied(), y_log).map(|r| pad(r, y_log, true)))
        .unwrap_or((0.0, 1.0));
    let x_name = exp.labels.param_name(x_param);
    let x_label = spec.x_label.clone().unwrap_or_else(|| {
        if x_is_dur {
            format!("{x_name} (ms)")
        } else {
            x_name.clone()
        }
    });
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
        x_label,
        y_label,
        x_range,
        y_range,
        x_log,
        y_log,
        y_categories: None,
        legend_at: legend_at(spec, LegendAt::UpperLeft, legend.len()),
        shapes,
        legend,
        width: WIDTH,
        height: HEIGHT,
    })
}
