//! Figures drawn from results files only (never from inside a run), laid
//! out by [`render`] on plotters' backends: PNG through a pure-Rust
//! rasteriser, SVG with text as glyph outlines, and PDF written from that
//! SVG ([`pdf`]), all with the font shipped in `assets/`.
//!
//! ```text
//!  results/NAME/ experiment.toml ([[plot]] specs, [labels])
//!                runs.csv     ──► cdf, histogram
//!                summary.csv  ──► versus (mean with 95% CI bars, or a percentile)
//!                series.csv   ──► series (mean curve per configuration)
//!  trace.jsonl   notes, crashes ──► timeline (who each node believes leads)
//!  trace.jsonl   messages, faults, notes ──► spacetime (Lamport diagram; its own display list)
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
//! - `box`: the distribution of a metric per configuration as boxes
//!   (quartiles, median, whiskers at 1.5 IQR, outliers as dots), on a
//!   category axis of `x`'s values, the sweep groups, or the configurations.
//!
//! Any kind draws small multiples with `facet = "PARAM"`: one panel per
//! value, sharing axes and legend. The line under the title (`caption`)
//! says what the plot holds fixed (`where`, and swept parameters that have
//! one value in it).
//!
//! `versus` plots draw against a swept parameter's numbers (durations in
//! ms), or against categories: `x = "group"` puts the sweep groups side by
//! side (a line per combination of the parameters that vary within the
//! groups), `x_scale = "category"` a parameter's values in sweep order; tick
//! labels come from `[labels]` (`"group.NAME"`, `"PATH.VALUE"`).
//!
//! `versus` and `series` plots may draw references, dashed, after the data
//! and in the legend (`[[plot.reference]]`, `label` and one of): `x = 3.33`,
//! a vertical line (on a category axis, in category positions from 0),
//! `formula = "log2(x) + ln(x)"`, a curve sampled at 200 points across the x
//! axis ([`formula`](crate::experiment::formula) says what a formula may hold), or
//! `points = [[1, 0.18], [2, 0.037]]`, a table such as a paper's.
//!
//! Axes are linear or logarithmic (`x_scale`, `y_scale`); axis labels carry
//! units (from the metric's name, `_ms` → ms); legends name configurations in
//! the experiment's `[labels]` terms (`timeout 150–300ms`).

pub mod boxplot;
pub mod cdf;
pub mod histogram;
pub mod load;
pub mod pdf;
pub mod render;
pub mod series;
pub mod spacetime;
pub mod svg_text;
pub mod timeline;
pub mod versus;

use crate::experiment::format::display_value;
use crate::experiment::format::Experiment;
use crate::experiment::plotspec::{Format, LegendPlace, Missing, PlotKind, PlotSpec, Scale, Stat};
use crate::experiment::results::{write_atomic, RunResult, SUMMARY_STATS};
use crate::experiment::{csv, ExperimentError};
use crate::time::{Dur, MS};
use load::bad;
pub use load::Results;
use render::{series_style, Figure, Key, LegendAt, Shape};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Default figure size in pixels.
pub const WIDTH: u32 = 960;
/// Default figure height in pixels.
pub const HEIGHT: u32 = 600;

/// Overrides for `agentsim plot`.
#[derive(Clone, Debug, Default)]
pub struct PlotOptions {
    /// Formats to draw (default: each plot's `formats`, else PNG).
    pub formats: Vec<Format>,
    /// Width in pixels, over each plot's `width` (default: [`WIDTH`]).
    pub width: Option<u32>,
    /// Height in pixels, over each plot's `height` (default: [`HEIGHT`]).
    pub height: Option<u32>,
    /// Only the plots with these names (default: all).
    pub only: Vec<String>,
    /// Text size factor, over each plot's `font_scale` (default 1).
    pub font_scale: Option<f64>,
}

/// `summary.csv` read back: `(config, metric)` → statistic name → value.
pub type SummaryTable = BTreeMap<(usize, String), BTreeMap<String, Option<f64>>>;

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
        fig.font_scale = opts.font_scale.or(spec.font_scale).unwrap_or(1.0);
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

fn legend_at(spec: &PlotSpec, entries: usize) -> LegendAt {
    match spec.legend {
        Some(LegendPlace::UpperLeft) => LegendAt::UpperLeft,
        Some(LegendPlace::UpperRight) => LegendAt::UpperRight,
        Some(LegendPlace::LowerRight) => LegendAt::LowerRight,
        Some(LegendPlace::LowerLeft) => LegendAt::LowerLeft,
        Some(LegendPlace::Outside) => LegendAt::Outside,
        Some(LegendPlace::Below) => LegendAt::Below,
        Some(LegendPlace::Auto) => LegendAt::Auto,
        None if entries > 8 => LegendAt::Outside,
        None => LegendAt::Auto,
    }
}

/// A metric's name in the experiment's `[labels]` terms, without its unit
/// (for titles): `time without a leader`.
fn metric_name(res: &Results, metric: &str) -> String {
    let axis = res.exp.labels.metric_axis(metric);
    match crate::experiment::labels::metric_words(metric).1 {
        Some(u) => axis
            .strip_suffix(&format!(" ({u})"))
            .map(str::to_string)
            .unwrap_or(axis),
        None => axis,
    }
}

/// The caption under the title: the swept parameters held at one value in
/// the plot, by `where` or because they vary only in sweep groups not shown
/// (a parameter that differs only from group to group goes with its group,
/// named when `[labels]` names it: `"group.NAME"`).
fn caption(res: &Results, spec: &PlotSpec, configs: &[usize]) -> String {
    if let Some(c) = &spec.caption {
        return c.clone();
    }
    let exp = &res.exp;
    let Some(&first) = configs.first() else {
        return String::new();
    };
    let mut parts = Vec::new();
    let groups: Vec<usize> = configs.iter().map(|&c| exp.configs[c].group).collect();
    if let [g, rest @ ..] = &groups[..] {
        let name = &exp.groups[*g];
        let label = exp.labels.value_text("group", name);
        if rest.iter().all(|h| h == g) && label != crate::experiment::labels::human_value(name) {
            parts.push(label);
        }
    }
    let vary = varying(res, configs);
    for (p, name) in exp.params.iter().enumerate() {
        if vary.contains(&p) || spec.facet.as_deref() == Some(name.as_str()) {
            continue;
        }
        let value = &exp.configs[first].values[p];
        // Swept within the groups shown, or chosen by `where`.
        let swept_here = exp
            .configs
            .iter()
            .filter(|c| groups.contains(&c.group))
            .any(|c| c.values[p] != *value);
        if value.is_empty() || !(swept_here || spec.filter.contains_key(name)) {
            continue;
        }
        parts.push(exp.labels.param_value(name, value));
    }
    if parts.is_empty() {
        return String::new();
    }
    format!("fixed: {}", parts.join(", "))
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
    let one = |configs: &[usize]| -> Result<Figure, ExperimentError> {
        match spec.kind {
            PlotKind::Cdf => Ok(cdf::cdf(res, spec, configs)),
            PlotKind::Histogram => Ok(histogram::histogram(res, spec, configs)),
            PlotKind::Versus => versus::versus(res, spec, configs),
            PlotKind::Series => Ok(series::series_plot(res, spec, configs)),
            PlotKind::Box => boxplot::boxplot(res, spec, configs),
        }
    };
    let mut fig = match &spec.facet {
        None => one(&configs)?,
        Some(f) => facets(res, spec, &configs, f, one)?,
    };
    fig.subtitle = caption(res, spec, &configs);
    Ok(fig)
}

/// Small multiples: a figure per value of parameter `facet`, as panels that
/// share their axes (the union of the panels' ranges) and one legend.
fn facets(
    res: &Results,
    spec: &PlotSpec,
    configs: &[usize],
    facet: &str,
    one: impl Fn(&[usize]) -> Result<Figure, ExperimentError>,
) -> Result<Figure, ExperimentError> {
    let exp = &res.exp;
    let p = exp
        .params
        .iter()
        .position(|q| q == facet)
        .expect("validated");
    let mut values: Vec<&String> = Vec::new();
    for &c in configs {
        let v = &exp.configs[c].values[p];
        if !values.contains(&v) {
            values.push(v);
        }
    }
    let mut figs = Vec::new();
    for v in &values {
        let members: Vec<usize> = configs
            .iter()
            .copied()
            .filter(|&c| exp.configs[c].values[p] == **v)
            .collect();
        figs.push((exp.labels.param_value(facet, v), one(&members)?));
    }
    let mut fig = figs[0].1.clone();
    let union = |a: (f64, f64), b: (f64, f64)| (a.0.min(b.0), a.1.max(b.1));
    for (_, f) in &figs[1..] {
        if spec.x_range.is_none() && fig.x_categories.is_none() {
            fig.x_range = union(fig.x_range, f.x_range);
        }
        if spec.y_range.is_none() {
            fig.y_range = union(fig.y_range, f.y_range);
        }
        for entry in &f.legend {
            if !fig.legend.iter().any(|e| e.0 == entry.0) {
                fig.legend.push(entry.clone());
            }
        }
        if let (Some(a), Some(b)) = (&fig.x_categories, &f.x_categories) {
            if b.len() > a.len() {
                fig.x_categories = Some(b.clone());
                fig.x_range = f.x_range;
            }
        }
    }
    fig.panels = figs
        .into_iter()
        .map(|(title, f)| render::Panel {
            title,
            shapes: f.shapes,
        })
        .collect();
    fig.shapes = Vec::new();
    if spec.title.is_none() {
        fig.title = format!("{}, by {}", fig.title, exp.labels.param_name(facet));
    }
    if spec.legend.is_none() {
        fig.legend_at = LegendAt::Auto;
    }
    Ok(fig)
}

fn metric_axis(res: &Results, spec: &PlotSpec) -> String {
    spec.x_label
        .clone()
        .unwrap_or_else(|| res.exp.labels.metric_axis(&spec.metric))
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
        let fig = series::series_plot(&res, &res.exp.plots[0], &configs);
        let l = lines(&fig);
        assert_eq!(l[0].0, [(0.0, 0.375), (1.0, 0.75), (2.0, 1.0)]);
        assert_eq!(l[1].0, [(0.0, 0.5), (1.0, 1.0)]);
        let names: Vec<&str> = fig.legend.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["direction push", "direction pull"]);
        assert_eq!(fig.x_label, "index");
        // 1 − value on a log axis: the zeros are left out.
        let fig = series::series_plot(&res, &res.exp.plots[1], &configs);
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
