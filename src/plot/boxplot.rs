//! `kind = "box"`: the distribution of a metric over each configuration's
//! runs as a box (first quartile to third, a thick line at the median),
//! whiskers to the most extreme values within 1.5 IQR of the box (Tukey),
//! and the values past them as dots. The boxes stand on a category axis:
//! the values of `x` (or the sweep groups, `x = "group"`, or without `x`
//! the configurations); the other parameters that vary put boxes of
//! different colours side by side.

use super::versus::varying_within_groups;
use super::*;

/// The `p`-quantile of sorted `v` (type 7, as `summary.csv`).
fn quantile(v: &[f64], p: f64) -> f64 {
    let h = (v.len() - 1) as f64 * p;
    let lo = libm::floor(h) as usize;
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] + (h - lo as f64) * (v[hi] - v[lo])
}

/// Quartiles `(q1, median, q3)` and whisker ends of sorted `v` (not empty).
pub(super) fn box_stats(v: &[f64]) -> ((f64, f64, f64), (f64, f64)) {
    let q = (quantile(v, 0.25), quantile(v, 0.5), quantile(v, 0.75));
    let iqr = q.2 - q.0;
    let lo = v
        .iter()
        .copied()
        .find(|&x| x >= q.0 - 1.5 * iqr)
        .unwrap_or(q.0);
    let hi = v
        .iter()
        .rev()
        .copied()
        .find(|&x| x <= q.2 + 1.5 * iqr)
        .unwrap_or(q.2);
    (q, (lo, hi))
}

pub(super) fn boxplot(
    res: &Results,
    spec: &PlotSpec,
    configs: &[usize],
) -> Result<Figure, ExperimentError> {
    let exp = &res.exp;
    let y_log = spec.y_scale == Scale::Log;
    // The category of each configuration, the categories' labels in order,
    // and the parameters that tell boxes of one category apart.
    let mut keys: Vec<String> = Vec::new();
    let mut labels: Vec<String> = Vec::new();
    let mut cat_of = Vec::new();
    let (vary, x_name): (Vec<usize>, String) = match spec.x.as_deref() {
        Some("group") => (
            varying_within_groups(res, configs),
            exp.labels.param_name("group"),
        ),
        Some(x) => {
            let xi = exp.params.iter().position(|p| p == x).expect("validated");
            (
                varying(res, configs)
                    .into_iter()
                    .filter(|&p| p != xi)
                    .collect(),
                exp.labels.param_name(x),
            )
        }
        None => (Vec::new(), "configuration".into()),
    };
    let all_vary = varying(res, configs);
    for &c in configs {
        let cfg = &exp.configs[c];
        let (key, label) = match spec.x.as_deref() {
            Some("group") => {
                let g = &exp.groups[cfg.group];
                (g.clone(), exp.labels.value_text("group", g))
            }
            Some(x) => {
                let xi = exp.params.iter().position(|p| p == x).expect("validated");
                let v = &cfg.values[xi];
                (v.clone(), exp.labels.value_text(x, v))
            }
            None => (c.to_string(), config_label(res, c, &all_vary, configs)),
        };
        let i = match keys.iter().position(|k| *k == key) {
            Some(i) => i,
            None => {
                keys.push(key);
                labels.push(label);
                keys.len() - 1
            }
        };
        cat_of.push(i);
    }
    let mut series: Vec<(Vec<String>, usize)> = Vec::new();
    let mut series_of = Vec::new();
    for &c in configs {
        let key: Vec<String> = vary
            .iter()
            .map(|&p| exp.configs[c].values[p].clone())
            .collect();
        let i = match series.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                series.push((key, c));
                series.len() - 1
            }
        };
        series_of.push(i);
    }
    let k = series.len().max(1) as f64;
    let slot = 0.76 / k;
    let mut shapes = Vec::new();
    let mut ys = Vec::new();
    for (j, &c) in configs.iter().enumerate() {
        let (mut v, _) = res.values(c, &spec.metric);
        v.retain(|x| x.is_finite() && (!y_log || *x > 0.0));
        if v.is_empty() {
            continue;
        }
        v.sort_by(f64::total_cmp);
        let (color, _) = series_style(series_of[j]);
        let x = cat_of[j] as f64 - 0.38 + (series_of[j] as f64 + 0.5) * slot;
        let (q, w) = box_stats(&v);
        shapes.push(Shape::Box {
            x,
            half: slot * 0.38,
            whiskers: w,
            quartiles: q,
            color,
        });
        for &o in v.iter().filter(|&&o| o < w.0 || o > w.1) {
            shapes.push(Shape::Marker { at: (x, o), color });
        }
        ys.extend([v[0], v[v.len() - 1]]);
    }
    let legend = if series.len() > 1 {
        series
            .iter()
            .enumerate()
            .map(|(i, (_, c))| {
                let (color, _) = series_style(i);
                (config_label(res, *c, &vary, configs), Key::Block(color))
            })
            .collect()
    } else {
        Vec::new()
    };
    let y_range = spec
        .y_range
        .map(|[a, b]| (a, b))
        .or_else(|| range_of(ys.iter().copied(), y_log).map(|r| pad(r, y_log, true)))
        .unwrap_or((0.0, 1.0));
    let metric = metric_name(res, &spec.metric);
    let trials = res.trials_text(configs);
    Ok(Figure {
        title: spec.title.clone().unwrap_or_else(|| match spec.x {
            Some(_) => format!("{metric} by {x_name}, {trials} per box"),
            None => format!("{metric}: distribution, {trials} per box"),
        }),
        x_label: spec.x_label.clone().unwrap_or(x_name),
        y_label: spec
            .y_label
            .clone()
            .unwrap_or_else(|| exp.labels.metric_axis(&spec.metric)),
        x_range: (-0.5, labels.len() as f64 - 0.5),
        y_range,
        y_log,
        x_categories: Some(labels),
        legend_at: legend_at(spec, legend.len()),
        shapes,
        legend,
        ..Figure::default()
    })
}

#[cfg(test)]
mod tests {
    use super::box_stats;

    #[test]
    fn whiskers_stop_at_one_and_a_half_iqr() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 100.0];
        let (q, w) = box_stats(&v);
        // Type 7: q1 at h = 2.25, median at 4.5, q3 at 6.75.
        assert_eq!(q, (3.25, 5.5, 7.75));
        // 1.5 IQR = 6.75: the whiskers reach 1 and 9; 100 is an outlier.
        assert_eq!(w, (1.0, 9.0));
    }
}
