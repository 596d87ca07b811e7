//! A minimal SVG line chart for the experiment examples (no dependencies):
//! linear or log axes, solid or dashed series, optional markers and
//! categorical tick labels. Deterministic output, so committed plots only
//! change when their data does.

#![allow(dead_code)]

use std::fmt::Write as _;

pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    pub dashed: bool,
    pub markers: bool,
}

pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    pub log_x: bool,
    pub log_y: bool,
    /// Categorical x ticks (value, label); numeric ticks when empty.
    pub x_ticks: Vec<(f64, String)>,
    pub series: Vec<Series>,
}

const COLORS: [&str; 10] = [
    "#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f",
    "#17becf", "#bcbd22",
];
const W: f64 = 780.0;
const H: f64 = 440.0;
const L: f64 = 70.0;
const R: f64 = 230.0;
const T: f64 = 40.0;
const B: f64 = 55.0;

fn tr(v: f64, log: bool) -> f64 {
    if log {
        v.log10()
    } else {
        v
    }
}

fn nice_ticks(lo: f64, hi: f64, log: bool) -> Vec<f64> {
    if log {
        let (a, b) = (lo.floor() as i32, hi.ceil() as i32);
        return (a..=b).map(|e| e as f64).collect();
    }
    let span = (hi - lo).max(1e-12);
    let raw = span / 6.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| span / s <= 8.0)
        .unwrap_or(10.0 * mag);
    let mut v = (lo / step).ceil() * step;
    let mut out = Vec::new();
    while v <= hi + 1e-9 * span {
        out.push(v);
        v += step;
    }
    out
}

fn label(v: f64, log: bool) -> String {
    if log {
        let e = v.round() as i32;
        if (0..=2).contains(&e) {
            format!("{}", 10i64.pow(e as u32))
        } else {
            format!("1e{e}")
        }
    } else if v.fract().abs() < 1e-9 {
        format!("{}", v as i64)
    } else {
        format!("{v:.2}")
    }
}

impl Chart {
    pub fn render(&self) -> String {
        let pts = self
            .series
            .iter()
            .flat_map(|s| s.points.iter())
            .filter(|(x, y)| {
                x.is_finite()
                    && y.is_finite()
                    && (!self.log_x || *x > 0.0)
                    && (!self.log_y || *y > 0.0)
            });
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in pts {
            let (x, y) = (tr(x, self.log_x), tr(y, self.log_y));
            x0 = x0.min(x);
            x1 = x1.max(x);
            y0 = y0.min(y);
            y1 = y1.max(y);
        }
        if x0 > x1 {
            (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
        }
        if !self.log_y && y0 > 0.0 {
            y0 = 0.0;
        }
        if !self.log_y {
            y1 += (y1 - y0) * 0.05;
        }
        if self.log_y {
            (y0, y1) = (y0.floor(), y1.ceil());
        }
        if x1 == x0 {
            x1 = x0 + 1.0;
        }
        if y1 == y0 {
            y1 = y0 + 1.0;
        }
        let pad = (x1 - x0) * 0.03;
        let (x0, x1) = (x0 - pad, x1 + pad);
        let px = |x: f64| L + (tr(x, self.log_x) - x0) / (x1 - x0) * (W - L - R);
        let py = |y: f64| H - B - (tr(y, self.log_y) - y0) / (y1 - y0) * (H - T - B);
        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="{}" y="22" text-anchor="middle" font-size="15">{}</text>"#,
            (W - R + L) / 2.0,
            esc(&self.title)
        );
        let (bx, by, bw, bh) = (L, T, W - L - R, H - T - B);
        let _ = writeln!(
            s,
            r#"<rect x="{bx}" y="{by}" width="{bw}" height="{bh}" fill="none" stroke="black"/>"#
        );
        for t in nice_ticks(y0, y1, self.log_y) {
            let y = H - B - (t - y0) / (y1 - y0) * bh;
            let _ = writeln!(
                s,
                r##"<line x1="{bx}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
                bx + bw,
                bx - 5.0,
                y + 4.0,
                label(t, self.log_y)
            );
        }
        let xticks: Vec<(f64, String)> = if self.x_ticks.is_empty() {
            nice_ticks(x0, x1, self.log_x)
                .into_iter()
                .map(|t| (t, label(t, self.log_x)))
                .collect()
        } else {
            self.x_ticks
                .iter()
                .map(|(v, l)| (tr(*v, self.log_x), l.clone()))
                .collect()
        };
        for (t, l) in xticks.into_iter().filter(|(t, _)| (x0..=x1).contains(t)) {
            let x = L + (t - x0) / (x1 - x0) * bw;
            let _ = writeln!(
                s,
                r##"<line x1="{x:.1}" y1="{by}" x2="{x:.1}" y2="{:.1}" stroke="#eee"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
                by + bh,
                by + bh + 16.0,
                esc(&l)
            );
        }
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
            bx + bw / 2.0,
            H - 12.0,
            esc(&self.x_label)
        );
        let _ = writeln!(
            s,
            r#"<text transform="translate(16,{:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
            by + bh / 2.0,
            esc(&self.y_label)
        );
        for (i, se) in self.series.iter().enumerate() {
            let c = COLORS[i % COLORS.len()];
            let dash = if se.dashed {
                r#" stroke-dasharray="6,4""#
            } else {
                ""
            };
            let ok: Vec<(f64, f64)> = se
                .points
                .iter()
                .copied()
                .filter(|(x, y)| {
                    x.is_finite()
                        && y.is_finite()
                        && (!self.log_x || *x > 0.0)
                        && (!self.log_y || *y > 0.0)
                })
                .collect();
            if ok.len() > 1 {
                let d: Vec<String> = ok
                    .iter()
                    .map(|&(x, y)| format!("{:.1},{:.1}", px(x), py(y)))
                    .collect();
                let _ = writeln!(
                    s,
                    r#"<polyline fill="none" stroke="{c}" stroke-width="2"{dash} points="{}"/>"#,
                    d.join(" ")
                );
            }
            if se.markers {
                for &(x, y) in &ok {
                    let _ = writeln!(
                        s,
                        r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{c}"/>"#,
                        px(x),
                        py(y)
                    );
                }
            }
            let ly = T + 10.0 + i as f64 * 20.0;
            let lx = W - R + 15.0;
            let _ = writeln!(
                s,
                r#"<line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{c}" stroke-width="2"{dash}/><text x="{}" y="{}">{}</text>"#,
                lx + 28.0,
                lx + 34.0,
                ly + 4.0,
                esc(&se.name)
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

fn esc(t: &str) -> String {
    t.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
