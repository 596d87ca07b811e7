//! `kind = "series"`: a kept series against its index, the mean per configuration.

use super::versus::{reference_xs, references};
use super::*;

/// Most points of a `series` curve drawn with markers.
pub(super) const SERIES_MARKERS_MAX: usize = 40;

/// `series`: per configuration, the mean over its runs of a kept series at
/// each index; a run that ended before an index counts with its last value
/// (coverage stays where it ended), runs that reported nothing are left out.
pub(super) fn series_plot(res: &Results, spec: &PlotSpec, configs: &[usize]) -> Figure {
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
    let step = spec.x_factor.unwrap_or(1.0);
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
                (k as f64 * step, sum / n)
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
    let words = metric_name(res, name);
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
        legend_at: legend_at(spec, legend.len()),
        shapes,
        legend,
        width: WIDTH,
        height: HEIGHT,
        ..Figure::default()
    }
}
