//! `kind = "histogram"`: the fraction of trials per bin, one outline per configuration.

use super::*;

pub(super) fn histogram(res: &Results, spec: &PlotSpec, configs: &[usize]) -> Figure {
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
                metric_name(res, &spec.metric),
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
        legend_at: legend_at(spec, legend.len()),
        shapes,
        legend,
        width: WIDTH,
        height: HEIGHT,
        ..Figure::default()
    }
}
