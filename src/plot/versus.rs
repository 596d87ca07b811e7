//! `kind = "versus"`: a statistic of a metric against a swept parameter, with
//! confidence intervals and reference curves.

use super::*;

/// A point of a `versus` line: x, y and the 95% CI of y if drawn.
pub(super) type Point = (f64, f64, Option<(f64, f64)>);

/// A parameter value as a number: plain numbers, or durations in ms.
pub(super) fn numeric(v: &str) -> Option<(f64, bool)> {
    if let Ok(x) = v.parse::<f64>() {
        return Some((x, false));
    }
    v.parse::<Dur>()
        .ok()
        .map(|d| (d.0 as f64 / MS as f64, true))
}

/// Parameters whose value differs between configurations of one sweep group
/// (those that differ only from group to group come with the group).
pub(super) fn varying_within_groups(res: &Results, configs: &[usize]) -> Vec<usize> {
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
pub(super) enum XAxis {
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
pub(super) fn references(
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
        if let Some(x) = r.x {
            shapes.push(Shape::VLine {
                x,
                color,
                dashed: true,
            });
            legend.push((
                r.label.clone(),
                Key::Line {
                    color,
                    dashed: true,
                },
            ));
            continue;
        }
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
pub(super) fn reference_xs(spec: &PlotSpec) -> impl Iterator<Item = f64> + '_ {
    spec.reference
        .iter()
        .flat_map(|r| r.points.iter().flatten().map(|p| p[0]).chain(r.x))
}

pub(super) fn versus(
    res: &Results,
    spec: &PlotSpec,
    configs: &[usize],
) -> Result<Figure, ExperimentError> {
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
                metric_name(res, &spec.metric),
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
        legend_at: legend_at(spec, legend.len()),
        shapes,
        legend,
        width: WIDTH,
        height: HEIGHT,
        ..Figure::default()
    })
}
