//! `kind = "cdf"`: the cumulative distribution of a metric, one curve per configuration.

use super::*;

pub(super) fn cdf(res: &Results, spec: &PlotSpec, configs: &[usize]) -> Figure {
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
                metric_name(res, &spec.metric)
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
        legend_at: legend_at(spec, legend.len()),
        shapes,
        legend,
        width: WIDTH,
        height: HEIGHT,
        ..Figure::default()
    }
}
