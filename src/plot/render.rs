//! Drawing a [`Figure`] (a small display list in data coordinates): our own
//! layout (axes, ticks, legend, captions, all sized from the text they hold)
//! on plotters' backends, to PNG (pure-Rust rasteriser, PNG encoder), SVG
//! (text turned into glyph outlines by [`super::svg_text`]) or PDF (that SVG
//! written as PDF by [`super::pdf`]).
//!
//! Text uses the DejaVu Sans font shipped in `assets/` and embedded in the
//! binary: no system font or library is ever read, so a figure looks the
//! same on every machine. Its size follows the figure's ([`text_scale`]):
//! a figure larger than 960 × 600 is the same figure at a higher
//! resolution, a smaller one keeps its text readable (it shrinks as the
//! square root of the size), and `font_scale` multiplies both.
//!
//! Tick labels never collide: a numeric axis takes fewer ticks until they
//! fit, a log axis drops its 2s and 5s then decades, a category axis wraps
//! its labels, then turns them upright. The legend goes, by default, in the
//! corner of the plot that hides no data, else beside or below the plot.

use super::svg_text;
use crate::experiment::plotspec::Format;
use ab_glyph::{Font, FontRef, PxScale, ScaleFont};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::FontTransform;
use plotters_backend::{BackendColor, DrawingBackend};
use std::sync::Once;

/// The font every figure uses (Bitstream Vera license, see `assets/`).
pub static FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
/// The family name [`FONT`] is registered under in plotters.
pub const FONT_FAMILY: &str = "sans-serif";

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT).is_err() {
            panic!("the embedded font does not parse");
        }
    });
}

fn font() -> FontRef<'static> {
    FontRef::try_from_slice(FONT).expect("the embedded font parses")
}

/// Colour-blind-safe colours (Okabe & Ito), then more distinct ones.
pub const PALETTE: [RGBColor; 10] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(0, 158, 115),   // bluish green
    RGBColor(204, 121, 167), // reddish purple
    RGBColor(230, 159, 0),   // orange
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(0, 0, 0),       // black
    RGBColor(140, 86, 75),   // brown
    RGBColor(120, 120, 120), // grey
    RGBColor(188, 189, 34),  // olive
];

/// The colour of series `i`; series past the palette are drawn dashed.
pub fn series_style(i: usize) -> (RGBColor, bool) {
    (PALETTE[i % PALETTE.len()], i >= PALETTE.len())
}

/// One thing to draw, in data coordinates.
#[derive(Clone, Debug)]
pub enum Shape {
    /// A polyline through `points`, in order.
    Line {
        /// Vertices, in data coordinates.
        points: Vec<(f64, f64)>,
        /// Stroke colour.
        color: RGBColor,
        /// Dashed instead of solid.
        dashed: bool,
        /// Stroke width in pixels at the default size (scaled with the figure).
        width: u32,
    },
    /// A filled rectangle `(x0, y0)`–`(x1, y1)`.
    Rect {
        /// One corner, in data coordinates.
        from: (f64, f64),
        /// The opposite corner.
        to: (f64, f64),
        /// Fill colour.
        color: RGBColor,
        /// Fill opacity, from 0 (transparent) to 1 (opaque).
        opacity: f64,
    },
    /// A filled dot, 4 px in radius at the default size.
    Marker {
        /// Its centre, in data coordinates.
        at: (f64, f64),
        /// Fill colour.
        color: RGBColor,
    },
    /// A vertical error bar with caps.
    ErrorBar {
        /// Position on the x axis, in data coordinates.
        x: f64,
        /// Lower end, in data coordinates.
        lo: f64,
        /// Upper end, in data coordinates.
        hi: f64,
        /// Stroke colour.
        color: RGBColor,
    },
    /// A vertical line across the whole plot (a reference such as f = n/3).
    VLine {
        /// Position on the x axis, in data coordinates (on a category axis,
        /// fractional positions lie between categories).
        x: f64,
        /// Stroke colour.
        color: RGBColor,
        /// Dashed instead of solid.
        dashed: bool,
    },
    /// A box plot's box: quartiles, median and whiskers.
    Box {
        /// Centre on the x axis, in data coordinates.
        x: f64,
        /// Half the box's width, in x data units.
        half: f64,
        /// Whisker ends (lowest and highest value within 1.5 IQR of the box).
        whiskers: (f64, f64),
        /// First quartile, median, third quartile.
        quartiles: (f64, f64, f64),
        /// Stroke colour.
        color: RGBColor,
    },
}

/// How a legend entry is drawn.
#[derive(Clone, Copy, Debug)]
pub enum Key {
    /// A short line, as the series is drawn.
    Line {
        /// Stroke colour.
        color: RGBColor,
        /// Dashed instead of solid.
        dashed: bool,
    },
    /// A filled block of this colour.
    Block(RGBColor),
}

/// Where a figure's legend is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LegendAt {
    /// The inside corner that hides no data, else right of or below the plot.
    Auto,
    /// Inside the plotting area, top left.
    UpperLeft,
    /// Inside the plotting area, top right.
    UpperRight,
    /// Inside the plotting area, bottom left.
    LowerLeft,
    /// Inside the plotting area, bottom right.
    LowerRight,
    /// Right of the plotting area (many or long entries).
    Outside,
    /// Under the plotting area, entries side by side.
    Below,
}

/// One panel of a small-multiples figure: it shares the figure's axes.
#[derive(Clone, Debug)]
pub struct Panel {
    /// Text above the panel (the value it shows).
    pub title: String,
    /// Drawn in order, later ones on top.
    pub shapes: Vec<Shape>,
}

/// A whole figure: axes, shapes, legend.
#[derive(Clone, Debug)]
pub struct Figure {
    /// Text above the plot.
    pub title: String,
    /// Smaller text under the title: what was held fixed (filters, fixed
    /// parameters); empty: none.
    pub subtitle: String,
    /// Text under the x axis.
    pub x_label: String,
    /// Text beside the y axis.
    pub y_label: String,
    /// `(low, high)` of the x axis, in data coordinates.
    pub x_range: (f64, f64),
    /// `(low, high)` of the y axis, in data coordinates.
    pub y_range: (f64, f64),
    /// Logarithmic x axis.
    pub x_log: bool,
    /// Logarithmic y axis.
    pub y_log: bool,
    /// Tick labels for integer x positions (a category axis), if any.
    pub x_categories: Option<Vec<String>>,
    /// Tick labels for integer y positions (a category axis), if any.
    pub y_categories: Option<Vec<String>>,
    /// Drawn in order, later ones on top.
    pub shapes: Vec<Shape>,
    /// Small multiples: when not empty, one plot per panel (sharing the
    /// axes above) instead of `shapes`.
    pub panels: Vec<Panel>,
    /// Entries, in order: text and key; empty: no legend.
    pub legend: Vec<(String, Key)>,
    /// Where the legend goes.
    pub legend_at: LegendAt,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Multiplies the text size that follows from the figure's size ([`text_scale`]).
    pub font_scale: f64,
}

impl Default for Figure {
    fn default() -> Self {
        Figure {
            title: String::new(),
            subtitle: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            x_range: (0.0, 1.0),
            y_range: (0.0, 1.0),
            x_log: false,
            y_log: false,
            x_categories: None,
            y_categories: None,
            shapes: Vec::new(),
            panels: Vec::new(),
            legend: Vec::new(),
            legend_at: LegendAt::Auto,
            width: 960,
            height: 600,
            font_scale: 1.0,
        }
    }
}

/// A tick label: `150`, `0.05`, `1.5`, never `150.0`.
pub fn tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-4..1e6).contains(&a) {
        // 10⁶, 2×10⁶: as a paper writes them.
        let e = libm::floor(libm::log10(a) + 1e-9) as i32;
        let m = v / libm::pow(10.0, e as f64);
        let sup: String = e
            .to_string()
            .chars()
            .map(|c| match c {
                '-' => '⁻',
                d => ['⁰', '¹', '²', '³', '⁴', '⁵', '⁶', '⁷', '⁸', '⁹'][d as usize - '0' as usize],
            })
            .collect();
        let m = format!("{m:.1}");
        let m = m.trim_end_matches('0').trim_end_matches('.');
        return if m == "1" {
            format!("10{sup}")
        } else {
            format!("{m}×10{sup}")
        };
    }
    if (v - v.round()).abs() < 1e-9 * a.max(1.0) {
        return format!("{}", v.round() as i64);
    }
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The figure's size against the default 960 × 600: above it, the same
/// figure at a higher resolution (everything grows with it); below it, the
/// square root, so text stays readable on a small figure.
pub fn size_scale(width: u32, height: u32) -> f64 {
    let s = (width as f64 / 960.0).min(height as f64 / 600.0);
    if s >= 1.0 {
        s
    } else {
        s.sqrt()
    }
}

/// The text size factor of a figure: [`size_scale`] times `font_scale`.
pub fn text_scale(width: u32, height: u32, font_scale: f64) -> f64 {
    size_scale(width, height) * font_scale
}

/// Text sizes (em, in pixels) at scale 1.
const TITLE: f64 = 21.0;
const SUBTITLE: f64 = 15.0;
const AXIS: f64 = 17.0;
const TICK: f64 = 14.5;
const LEGEND: f64 = 14.5;
const PANEL: f64 = 15.5;

/// Width of `text` in pixels at em size `size` (advances and kerning of [`FONT`]).
pub fn text_width(text: &str, size: f64) -> f64 {
    let f = font();
    let upem = f.units_per_em().unwrap_or(2048.0) as f64;
    let mut w = 0.0f64;
    let mut prev = None;
    for c in text.chars() {
        let g = f.glyph_id(c);
        if let Some(p) = prev {
            w += f.kern_unscaled(p, g) as f64;
        }
        w += f.h_advance_unscaled(g) as f64;
        prev = Some(g);
    }
    w * size / upem
}

/// Ascent and descent of [`FONT`] per em (both positive).
fn vmetrics() -> (f64, f64) {
    let f = font();
    let upem = f.units_per_em().unwrap_or(2048.0) as f64;
    (
        f.ascent_unscaled() as f64 / upem,
        -f.descent_unscaled() as f64 / upem,
    )
}

/// Splits `text` at spaces into lines no wider than `max` pixels (a word
/// wider than `max` gets a line of its own).
pub fn wrap(text: &str, size: f64, max: f64) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split(' ') {
        match lines.last_mut() {
            Some(l) if text_width(&format!("{l} {word}"), size) <= max => {
                l.push(' ');
                l.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines.retain(|l| !l.is_empty());
    lines
}

/// An axis-aligned box in pixels: `x0 <= x1`, `y0 <= y1`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Bbox {
    /// Left.
    pub x0: f64,
    /// Top.
    pub y0: f64,
    /// Right.
    pub x1: f64,
    /// Bottom.
    pub y1: f64,
}

impl Bbox {
    /// Whether the two boxes share more than an edge.
    pub fn overlaps(&self, o: &Bbox) -> bool {
        self.x0 < o.x1 && o.x0 < self.x1 && self.y0 < o.y1 && o.y0 < self.y1
    }
    fn contains(&self, (x, y): (f64, f64)) -> bool {
        (self.x0..=self.x1).contains(&x) && (self.y0..=self.y1).contains(&y)
    }
}

/// Where a text goes: the anchor is on its baseline.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Anchor {
    Start,
    Middle,
    End,
}

/// One piece of text, laid out.
#[derive(Clone, Debug)]
struct Label {
    text: String,
    size: f64,
    /// The anchor point on the baseline.
    at: (f64, f64),
    anchor: Anchor,
    /// Reads bottom to top.
    upright: bool,
    color: RGBColor,
}

impl Label {
    fn bbox(&self) -> Bbox {
        let (asc, desc) = vmetrics();
        let w = text_width(&self.text, self.size);
        let along = match self.anchor {
            Anchor::Start => 0.0,
            Anchor::Middle => -w / 2.0,
            Anchor::End => -w,
        };
        let (x, y) = self.at;
        if self.upright {
            Bbox {
                x0: x - asc * self.size,
                x1: x + desc * self.size,
                y0: y - along - w,
                y1: y - along,
            }
        } else {
            Bbox {
                x0: x + along,
                x1: x + along + w,
                y0: y - asc * self.size,
                y1: y + desc * self.size,
            }
        }
    }
}

/// Maps data values to pixels along one axis.
#[derive(Clone, Copy, Debug)]
struct Axis {
    lo: f64,
    hi: f64,
    log: bool,
    /// Pixel of `lo` and of `hi`.
    p0: f64,
    p1: f64,
}

impl Axis {
    fn t(&self, v: f64) -> f64 {
        if self.log {
            libm::log(v.max(1e-300))
        } else {
            v
        }
    }
    fn px(&self, v: f64) -> f64 {
        let (a, b) = (self.t(self.lo), self.t(self.hi));
        if b == a {
            return (self.p0 + self.p1) / 2.0;
        }
        self.p0 + (self.t(v) - a) / (b - a) * (self.p1 - self.p0)
    }
}

/// A tick: its value and label (possibly on several lines).
#[derive(Clone, Debug)]
struct Tick {
    v: f64,
    lines: Vec<String>,
}

/// The ticks of one axis, and how their labels are set.
#[derive(Clone, Debug, Default)]
struct Ticks {
    ticks: Vec<Tick>,
    /// Grid lines without labels (log axes: 1–9 × 10^k).
    minor: Vec<f64>,
    /// Labels read bottom to top (crowded categories on x).
    upright: bool,
}

/// A "nice" step of at least `raw`: 1, 2, 2.5 or 5 × 10^k.
fn nice_step(raw: f64) -> f64 {
    let m = libm::pow(10.0, libm::floor(libm::log10(raw)));
    for k in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if k * m >= raw * (1.0 - 1e-9) {
            return k * m;
        }
    }
    10.0 * m
}

fn linear_ticks(lo: f64, hi: f64, n: usize, whole: bool) -> Vec<f64> {
    let span = hi - lo;
    if span <= 0.0 || !span.is_finite() {
        return vec![lo];
    }
    let mut step = nice_step(span / n.max(1) as f64);
    if whole && step < 1.0 {
        step = 1.0;
    }
    if whole && step.fract() != 0.0 {
        step = libm::ceil(step);
    }
    let first = libm::ceil(lo / step - 1e-9);
    let mut out = Vec::new();
    let mut i = first;
    loop {
        let v = i * step;
        if v > hi + 1e-9 * span {
            break;
        }
        // 0.1 * 3 is 0.30000000000000004: keep the tick's own digits.
        out.push(if v.abs() < 1e-12 * span { 0.0 } else { v });
        i += 1.0;
        if out.len() > 200 {
            break;
        }
    }
    out
}

/// Log-axis ticks at `level`: 0: 1, 2, 5 × 10^k; 1: 10^k; 2+: every
/// `level`-th decade. Returns (labelled, unlabelled grid lines).
fn log_ticks(lo: f64, hi: f64, level: usize) -> (Vec<f64>, Vec<f64>) {
    let (a, b) = (
        libm::floor(libm::log10(lo) + 1e-9) as i32,
        libm::ceil(libm::log10(hi) - 1e-9) as i32,
    );
    let inside = |v: f64| v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9);
    let mut major = Vec::new();
    let mut minor = Vec::new();
    let decades = (b - a).max(1);
    for k in a..=b {
        let p = libm::pow(10.0, k as f64);
        for m in 1..10 {
            let v = p * m as f64;
            if !inside(v) {
                continue;
            }
            let labelled = match level {
                0 => [1, 2, 5].contains(&m),
                1 => m == 1,
                l => m == 1 && (k - a) % l as i32 == 0,
            };
            if labelled {
                major.push(v);
            } else if m == 1 || decades <= 6 {
                minor.push(v);
            }
        }
    }
    // The axis ends are labelled too when they are 1, 2 or 5 × 10^k.
    (major, minor)
}

/// Whether every x drawn is a whole number (an integer parameter such as a
/// cluster size or `k`): then only whole numbers get tick labels, not 2.5.
fn whole_x(fig: &Figure) -> bool {
    let whole = |x: f64| x.fract() == 0.0;
    let shapes: Vec<&Shape> = fig
        .shapes
        .iter()
        .chain(fig.panels.iter().flat_map(|p| p.shapes.iter()))
        .collect();
    !shapes.is_empty()
        && shapes.iter().all(|s| match s {
            Shape::Line { points, .. } => points.iter().all(|p| whole(p.0)),
            Shape::Rect { from, to, .. } => whole(from.0) && whole(to.0),
            Shape::Marker { at, .. } => whole(at.0),
            Shape::ErrorBar { x, .. } | Shape::Box { x, .. } => whole(*x),
            Shape::VLine { .. } => true,
        })
}

/// Labels of `ticks` along an axis of `len` pixels fit with a gap of `gap`
/// pixels: `extent` gives each label's size along the axis.
fn fits(positions: &[f64], extents: &[f64], gap: f64) -> bool {
    positions
        .windows(2)
        .zip(extents.windows(2))
        .all(|(p, e)| (p[1] - p[0]).abs() >= (e[0] + e[1]) / 2.0 + gap)
}

/// The ticks of an axis of `len` pixels (`horizontal`: the x axis).
fn axis_ticks(
    (lo, hi): (f64, f64),
    log: bool,
    categories: Option<&[String]>,
    whole: bool,
    len: f64,
    horizontal: bool,
    size: f64,
) -> Ticks {
    let ax = Axis {
        lo,
        hi,
        log,
        p0: 0.0,
        p1: len,
    };
    let gap = if horizontal { 0.9 * size } else { 0.6 * size };
    let line_h = 1.15 * size;
    let extent = |t: &Tick| {
        if horizontal {
            t.lines
                .iter()
                .map(|l| text_width(l, size))
                .fold(0.0, f64::max)
        } else {
            t.lines.len() as f64 * line_h
        }
    };
    let check = |ticks: &[Tick]| {
        let pos: Vec<f64> = ticks.iter().map(|t| ax.px(t.v)).collect();
        let ext: Vec<f64> = ticks.iter().map(extent).collect();
        fits(&pos, &ext, gap)
    };
    if let Some(cats) = categories {
        let all: Vec<usize> = (0..cats.len())
            .filter(|&i| (lo..=hi).contains(&(i as f64)))
            .collect();
        let mk = |every: usize, wrap_w: Option<f64>| -> Vec<Tick> {
            all.iter()
                .filter(|&&i| i % every == 0)
                .map(|&i| Tick {
                    v: i as f64,
                    lines: match wrap_w {
                        Some(w) => wrap(&cats[i], size, w),
                        None => vec![cats[i].clone()],
                    },
                })
                .collect()
        };
        let one = mk(1, None);
        if check(&one) {
            return Ticks {
                ticks: one,
                ..Ticks::default()
            };
        }
        if horizontal {
            // Wrapped into the room of one category, at most three lines.
            let slot = (ax.px(1.0) - ax.px(0.0)).abs() - gap;
            let wrapped = mk(1, Some(slot));
            if wrapped.iter().all(|t| t.lines.len() <= 3) && check(&wrapped) {
                return Ticks {
                    ticks: wrapped,
                    ..Ticks::default()
                };
            }
            // Upright: they need one line height each.
            let pos: Vec<f64> = one.iter().map(|t| ax.px(t.v)).collect();
            let ext = vec![line_h; one.len()];
            if fits(&pos, &ext, 0.3 * size) {
                return Ticks {
                    ticks: one,
                    upright: true,
                    ..Ticks::default()
                };
            }
        }
        for every in 2..=cats.len().max(2) {
            let t = mk(every, None);
            if check(&t) || t.len() <= 1 {
                return Ticks {
                    ticks: t,
                    upright: false,
                    minor: (0..cats.len()).map(|i| i as f64).collect(),
                };
            }
        }
        return Ticks::default();
    }
    if log {
        for level in 0..12 {
            let (major, minor) = log_ticks(lo, hi, level);
            let ticks: Vec<Tick> = major
                .iter()
                .map(|&v| Tick {
                    v,
                    lines: vec![tick(v)],
                })
                .collect();
            if check(&ticks) || ticks.len() <= 2 {
                return Ticks {
                    ticks,
                    minor,
                    upright: false,
                };
            }
        }
    }
    let per = if horizontal { 4.0 * size } else { 2.6 * size };
    let most = ((len / per) as usize).clamp(2, 10);
    for n in (1..=most).rev() {
        let ticks: Vec<Tick> = linear_ticks(lo, hi, n, whole && horizontal)
            .into_iter()
            .map(|v| Tick {
                v,
                lines: vec![tick(v)],
            })
            .collect();
        if check(&ticks) || n == 1 {
            return Ticks {
                ticks,
                ..Ticks::default()
            };
        }
    }
    Ticks::default()
}

/// The geometry of one plot (a panel, or the whole figure's).
#[derive(Clone, Debug)]
struct PlotGeom {
    /// The plotting area.
    area: Bbox,
    x: Axis,
    y: Axis,
    x_ticks: Ticks,
    y_ticks: Ticks,
    labels: Vec<Label>,
}

/// Lengths at a scale: `s` for text, `ls` for lines and gaps.
#[derive(Clone, Copy, Debug)]
struct Scales {
    s: f64,
    ls: f64,
}

/// Lays out the axes of a plot inside `cell`: the plot area shrinks to
/// leave room for the tick labels (and the axis descriptions when `descs`).
fn plot_geom(fig: &Figure, cell: Bbox, sc: Scales, descs: (bool, bool)) -> PlotGeom {
    let s = sc.s;
    let (asc, desc) = vmetrics();
    let tick_len = 5.0 * sc.ls;
    let pad = 6.0 * sc.ls;
    let (tick_size, axis_size) = (TICK * s, AXIS * s);
    let whole = !fig.x_log && fig.x_categories.is_none() && whole_x(fig);
    let x_desc_lines = if descs.0 && !fig.x_label.is_empty() {
        wrap(&fig.x_label, axis_size, (cell.x1 - cell.x0) * 0.95)
    } else {
        Vec::new()
    };
    let mut area = cell;
    let mut xt = Ticks::default();
    let mut yt = Ticks::default();
    let mut y_desc_lines = Vec::new();
    // Two passes: the y labels' width sets the x axis' length, and the x
    // labels' height the y axis' length.
    for _ in 0..3 {
        let (w, h) = (area.x1 - area.x0, area.y1 - area.y0);
        xt = axis_ticks(
            fig.x_range,
            fig.x_log,
            fig.x_categories.as_deref(),
            whole,
            w.max(10.0),
            true,
            tick_size,
        );
        yt = axis_ticks(
            fig.y_range,
            fig.y_log,
            fig.y_categories.as_deref(),
            false,
            h.max(10.0),
            false,
            tick_size,
        );
        y_desc_lines = if descs.1 && !fig.y_label.is_empty() {
            wrap(&fig.y_label, axis_size, h.max(50.0) * 1.05)
        } else {
            Vec::new()
        };
        let y_labels_w = yt
            .ticks
            .iter()
            .flat_map(|t| t.lines.iter())
            .map(|l| text_width(l, tick_size))
            .fold(0.0, f64::max);
        let x_labels_h = if xt.upright {
            xt.ticks
                .iter()
                .flat_map(|t| t.lines.iter())
                .map(|l| text_width(l, tick_size))
                .fold(0.0, f64::max)
        } else {
            let lines = xt.ticks.iter().map(|t| t.lines.len()).max().unwrap_or(1) as f64;
            (lines - 1.0) * 1.15 * tick_size + (asc + desc) * tick_size
        };
        let left = tick_len
            + pad
            + y_labels_w
            + if y_desc_lines.is_empty() {
                0.0
            } else {
                pad + y_desc_lines.len() as f64 * 1.2 * axis_size
            };
        let bottom = tick_len
            + pad
            + x_labels_h
            + if x_desc_lines.is_empty() {
                0.0
            } else {
                pad + x_desc_lines.len() as f64 * 1.2 * axis_size
            };
        // Room on the right for half of the last x label, at the top for half a y label.
        let right = xt
            .ticks
            .last()
            .filter(|_| !xt.upright)
            .map(|t| {
                let half = t
                    .lines
                    .iter()
                    .map(|l| text_width(l, tick_size))
                    .fold(0.0, f64::max)
                    / 2.0;
                (half - (cell.x1 - cell.x0) * 0.0).max(8.0 * sc.ls)
            })
            .unwrap_or(8.0 * sc.ls);
        let top = 0.7 * tick_size;
        area = Bbox {
            x0: cell.x0 + left,
            x1: (cell.x1 - right).max(cell.x0 + left + 10.0),
            y0: cell.y0 + top,
            y1: (cell.y1 - bottom).max(cell.y0 + top + 10.0),
        };
    }
    let x = Axis {
        lo: fig.x_range.0,
        hi: fig.x_range.1,
        log: fig.x_log,
        p0: area.x0,
        p1: area.x1,
    };
    let y = Axis {
        lo: fig.y_range.0,
        hi: fig.y_range.1,
        log: fig.y_log,
        p0: area.y1,
        p1: area.y0,
    };
    let mut labels = Vec::new();
    let black = RGBColor(30, 30, 30);
    for t in &xt.ticks {
        let px = x.px(t.v);
        if xt.upright {
            labels.push(Label {
                text: t.lines[0].clone(),
                size: tick_size,
                at: (px + 0.35 * tick_size, area.y1 + tick_len + pad * 0.5),
                anchor: Anchor::End,
                upright: true,
                color: black,
            });
        } else {
            for (i, l) in t.lines.iter().enumerate() {
                labels.push(Label {
                    text: l.clone(),
                    size: tick_size,
                    at: (
                        px,
                        area.y1
                            + tick_len
                            + pad * 0.5
                            + asc * tick_size
                            + i as f64 * 1.15 * tick_size,
                    ),
                    anchor: Anchor::Middle,
                    upright: false,
                    color: black,
                });
            }
        }
    }
    let mut y_labels_w: f64 = 0.0;
    for t in &yt.ticks {
        let py = y.px(t.v);
        let n = t.lines.len() as f64;
        for (i, l) in t.lines.iter().enumerate() {
            y_labels_w = y_labels_w.max(text_width(l, tick_size));
            labels.push(Label {
                text: l.clone(),
                size: tick_size,
                at: (
                    area.x0 - tick_len - pad * 0.5,
                    py + (0.35 - (n - 1.0) * 0.575 + i as f64 * 1.15) * tick_size,
                ),
                anchor: Anchor::End,
                upright: false,
                color: black,
            });
        }
    }
    // Axis descriptions: under the x labels, left of the y labels.
    let x_labels_bottom = labels
        .iter()
        .filter(|l| l.bbox().y0 >= area.y1)
        .map(|l| l.bbox().y1)
        .fold(area.y1 + tick_len, f64::max);
    for (i, l) in x_desc_lines.iter().enumerate() {
        labels.push(Label {
            text: l.clone(),
            size: axis_size,
            at: (
                (area.x0 + area.x1) / 2.0,
                x_labels_bottom + pad + asc * axis_size + i as f64 * 1.2 * axis_size,
            ),
            anchor: Anchor::Middle,
            upright: false,
            color: RGBColor(0, 0, 0),
        });
    }
    let n = y_desc_lines.len() as f64;
    for (i, l) in y_desc_lines.iter().enumerate() {
        // The last line nearest the axis; each line's baseline on its right.
        let right_edge = area.x0 - tick_len - pad - y_labels_w - pad;
        labels.push(Label {
            text: l.clone(),
            size: axis_size,
            at: (
                right_edge - (n - 1.0 - i as f64) * 1.2 * axis_size - desc * axis_size,
                (area.y0 + area.y1) / 2.0,
            ),
            anchor: Anchor::Middle,
            upright: true,
            color: RGBColor(0, 0, 0),
        });
    }
    PlotGeom {
        area,
        x,
        y,
        x_ticks: xt,
        y_ticks: yt,
        labels,
    }
}

/// A plot laid out, with the shapes it draws.
type Placed = (PlotGeom, Vec<Shape>);
/// The legend's box, each entry's key position, and its columns.
type LegendBox = (Bbox, Vec<(f64, f64)>, usize);

/// The whole figure laid out: every text with its place, the plots, the legend.
#[derive(Clone, Debug)]
struct Layout {
    sc: Scales,
    labels: Vec<Label>,
    plots: Vec<Placed>,
    /// The legend's box and its entries' rows (key start, text baseline).
    legend: Option<LegendBox>,
}

/// The legend's size: `cols` columns of entries.
fn legend_box(fig: &Figure, sc: Scales, cols: usize) -> (f64, f64, Vec<f64>) {
    let size = LEGEND * sc.s;
    let key = 1.8 * size;
    let cols = cols.max(1);
    let rows = fig.legend.len().div_ceil(cols);
    let mut col_w = vec![0.0f64; cols];
    for (i, (l, _)) in fig.legend.iter().enumerate() {
        let c = i / rows;
        col_w[c] = col_w[c].max(key + 0.5 * size + text_width(l, size));
    }
    let w = col_w.iter().sum::<f64>() + (cols as f64 - 1.0) * size + 1.0 * size;
    let h = rows as f64 * 1.45 * size + 0.6 * size;
    (w, h, col_w)
}

/// Pixels of data under a box: samples along lines, markers, bars and boxes.
fn data_points(g: &PlotGeom, shapes: &[Shape], step: f64) -> Vec<(f64, f64)> {
    let mut out = Vec::new();
    let seg = |out: &mut Vec<(f64, f64)>, a: (f64, f64), b: (f64, f64)| {
        let n = ((b.0 - a.0).hypot(b.1 - a.1) / step).ceil().max(1.0) as usize;
        for k in 0..=n {
            let t = k as f64 / n as f64;
            out.push((a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t));
        }
    };
    let p = |(x, y): (f64, f64)| (g.x.px(x), g.y.px(y));
    for s in shapes {
        match s {
            Shape::Line { points, .. } => {
                for w in points.windows(2) {
                    seg(&mut out, p(w[0]), p(w[1]));
                }
                out.extend(points.iter().map(|&q| p(q)));
            }
            Shape::Marker { at, .. } => out.push(p(*at)),
            Shape::ErrorBar { x, lo, hi, .. } => seg(&mut out, p((*x, *lo)), p((*x, *hi))),
            Shape::Rect { from, to, .. } => {
                let (a, b) = (p(*from), p(*to));
                let (x0, x1) = (a.0.min(b.0), a.0.max(b.0));
                let (y0, y1) = (a.1.min(b.1), a.1.max(b.1));
                let mut y = y0;
                while y <= y1 {
                    seg(&mut out, (x0, y), (x1, y));
                    y += step;
                }
            }
            Shape::Box {
                x,
                half,
                whiskers,
                quartiles,
                ..
            } => {
                seg(&mut out, p((*x, whiskers.0)), p((*x, whiskers.1)));
                let (a, b) = (p((x - half, quartiles.0)), p((x + half, quartiles.2)));
                let mut y = b.1;
                while y <= a.1 {
                    seg(&mut out, (a.0, y), (b.0, y));
                    y += step;
                }
            }
            Shape::VLine { .. } => {}
        }
    }
    out.retain(|&q| g.area.contains(q));
    out
}

/// The legend's place inside a plot: the corner under which the fewest data
/// pixels lie (ties: upper left, upper right, lower right, lower left), and
/// that count.
fn best_corner(
    g: &PlotGeom,
    shapes: &[Shape],
    (w, h): (f64, f64),
    sc: Scales,
) -> (LegendAt, usize) {
    let pts = data_points(g, shapes, 2.0 * sc.ls);
    let mut best = (LegendAt::UpperLeft, usize::MAX);
    for at in [
        LegendAt::UpperLeft,
        LegendAt::UpperRight,
        LegendAt::LowerRight,
        LegendAt::LowerLeft,
    ] {
        let b = corner_box(g.area, at, (w, h), sc);
        // A margin around the box: a line just outside it still reads as hidden.
        let m = 4.0 * sc.ls;
        let grown = Bbox {
            x0: b.x0 - m,
            y0: b.y0 - m,
            x1: b.x1 + m,
            y1: b.y1 + m,
        };
        let n = pts.iter().filter(|&&q| grown.contains(q)).count();
        if n < best.1 {
            best = (at, n);
        }
    }
    best
}

fn corner_box(area: Bbox, at: LegendAt, (w, h): (f64, f64), sc: Scales) -> Bbox {
    let m = 10.0 * sc.ls;
    let (x0, y0) = match at {
        LegendAt::UpperRight => (area.x1 - m - w, area.y0 + m),
        LegendAt::LowerRight => (area.x1 - m - w, area.y1 - m - h),
        LegendAt::LowerLeft => (area.x0 + m, area.y1 - m - h),
        _ => (area.x0 + m, area.y0 + m),
    };
    Bbox {
        x0,
        y0,
        x1: x0 + w,
        y1: y0 + h,
    }
}

/// Lays out the figure.
fn layout(fig: &Figure) -> Layout {
    let s = text_scale(fig.width, fig.height, fig.font_scale);
    let ls = size_scale(fig.width, fig.height);
    let sc = Scales { s, ls };
    let (w, h) = (fig.width as f64, fig.height as f64);
    let (asc, desc) = vmetrics();
    let margin = 10.0 * ls;
    let mut labels = Vec::new();
    let mut y = margin;
    // A title starts with a capital, as a caption in a paper does.
    let title = {
        let mut c = fig.title.chars();
        match c.next() {
            Some(f) => f.to_uppercase().chain(c).collect::<String>(),
            None => String::new(),
        }
    };
    for (text, size, color) in [
        (&title, TITLE * s, RGBColor(0, 0, 0)),
        (&fig.subtitle, SUBTITLE * s, RGBColor(80, 80, 80)),
    ] {
        if text.is_empty() {
            continue;
        }
        for l in wrap(text, size, w - 2.0 * margin) {
            labels.push(Label {
                text: l,
                size,
                at: (w / 2.0, y + asc * size),
                anchor: Anchor::Middle,
                upright: false,
                color,
            });
            y += 1.2 * size;
        }
        y += 0.15 * size;
    }
    let body = Bbox {
        x0: margin,
        y0: y + 0.2 * TICK * s,
        x1: w - margin,
        y1: h - margin,
    };
    let has_legend = !fig.legend.is_empty();
    let (lw, lh, _) = legend_box(fig, sc, 1);
    let panels: Vec<(String, Vec<Shape>)> = if fig.panels.is_empty() {
        vec![(String::new(), fig.shapes.clone())]
    } else {
        fig.panels
            .iter()
            .map(|p| (p.title.clone(), p.shapes.clone()))
            .collect()
    };
    // Where the legend goes decides the room left for the plots.
    let mut at = if has_legend {
        fig.legend_at
    } else {
        LegendAt::UpperLeft
    };
    let side_ok = lw <= 0.38 * w;
    if at == LegendAt::Auto && fig.panels.len() > 1 {
        at = if side_ok {
            LegendAt::Outside
        } else {
            LegendAt::Below
        };
    }
    let build = |at: LegendAt| -> (Vec<Placed>, Vec<Label>, Bbox) {
        let mut body = body;
        if has_legend {
            match at {
                LegendAt::Outside => body.x1 -= lw + margin,
                LegendAt::Below => {
                    let cols = below_cols(fig, sc, body.x1 - body.x0);
                    body.y1 -= legend_box(fig, sc, cols).1 + margin;
                }
                _ => {}
            }
        }
        grid(fig, &panels, body, sc, asc, desc)
    };
    let (mut plots, mut plot_labels, mut body_used) = build(at);
    if has_legend && at == LegendAt::Auto {
        let g = &plots[0].0;
        let fits_inside = lw < 0.6 * (g.area.x1 - g.area.x0) && lh < 0.6 * (g.area.y1 - g.area.y0);
        let corner = fits_inside.then(|| best_corner(g, &plots[0].1, (lw, lh), sc));
        match corner {
            Some((c, 0)) => at = c,
            _ => {
                at = if side_ok {
                    LegendAt::Outside
                } else {
                    LegendAt::Below
                };
                (plots, plot_labels, body_used) = build(at);
            }
        }
    }
    labels.extend(plot_labels);
    let legend = has_legend.then(|| {
        let size = LEGEND * s;
        let (cols, (bw, bh, col_w)) = match at {
            LegendAt::Below => {
                let c = below_cols(fig, sc, body.x1 - body.x0);
                (c, legend_box(fig, sc, c))
            }
            _ => (1, legend_box(fig, sc, 1)),
        };
        let b = match at {
            LegendAt::Outside => {
                let x0 = body_used.x1 + margin;
                let top = plots.first().map_or(body.y0, |p| p.0.area.y0);
                Bbox {
                    x0,
                    y0: top,
                    x1: x0 + bw,
                    y1: top + bh,
                }
            }
            LegendAt::Below => {
                let x0 = (w - bw) / 2.0;
                let y0 = h - margin - bh;
                Bbox {
                    x0,
                    y0,
                    x1: x0 + bw,
                    y1: y0 + bh,
                }
            }
            c => corner_box(plots[0].0.area, c, (bw, bh), sc),
        };
        let rows = fig.legend.len().div_ceil(cols);
        let mut spots = Vec::new();
        let mut x = b.x0 + 0.5 * size;
        for (c, cw) in col_w.iter().enumerate() {
            for r in 0..rows {
                if c * rows + r >= fig.legend.len() {
                    break;
                }
                let yb = b.y0 + 0.3 * size + (r as f64 + 0.5) * 1.45 * size;
                spots.push((x, yb));
            }
            x += cw + size;
        }
        for (i, (text, _)) in fig.legend.iter().enumerate() {
            let (x, yc) = spots[i];
            labels.push(Label {
                text: text.clone(),
                size,
                at: (x + 1.8 * size + 0.5 * size, yc + (asc - desc) / 2.0 * size),
                anchor: Anchor::Start,
                upright: false,
                color: RGBColor(0, 0, 0),
            });
        }
        (b, spots, cols)
    });
    Layout {
        sc,
        labels,
        plots,
        legend,
    }
}

/// Columns of a legend under the plot that fit in `width`.
fn below_cols(fig: &Figure, sc: Scales, width: f64) -> usize {
    (1..=fig.legend.len().max(1))
        .rev()
        .find(|&c| legend_box(fig, sc, c).0 <= width)
        .unwrap_or(1)
}

/// Lays out the plots (one, or a grid of panels) inside `body`; returns
/// them, their texts, and the box they take.
fn grid(
    fig: &Figure,
    panels: &[(String, Vec<Shape>)],
    body: Bbox,
    sc: Scales,
    asc: f64,
    _desc: f64,
) -> (Vec<Placed>, Vec<Label>, Bbox) {
    let n = panels.len().max(1);
    if n == 1 && panels[0].0.is_empty() {
        let g = plot_geom(fig, body, sc, (true, true));
        let labels = g.labels.clone();
        return (vec![(g, panels[0].1.clone())], labels, body);
    }
    // Panels: as square a grid as the body allows; the axis descriptions
    // once, left and under the grid.
    let (bw, bh) = (body.x1 - body.x0, body.y1 - body.y0);
    let cols = (1..=n)
        .min_by(|&a, &b| {
            let score = |c: usize| {
                let r = n.div_ceil(c);
                let (cw, ch) = (bw / c as f64, bh / r as f64);
                (cw / ch - 1.4).abs()
            };
            score(a).total_cmp(&score(b))
        })
        .unwrap_or(1);
    let rows = n.div_ceil(cols);
    let axis_size = AXIS * sc.s;
    let mut labels = Vec::new();
    let x_desc_h = if fig.x_label.is_empty() {
        0.0
    } else {
        1.5 * axis_size
    };
    let y_desc_w = if fig.y_label.is_empty() {
        0.0
    } else {
        1.5 * axis_size
    };
    let inner = Bbox {
        x0: body.x0 + y_desc_w,
        y0: body.y0,
        x1: body.x1,
        y1: body.y1 - x_desc_h,
    };
    let (cw, ch) = (
        (inner.x1 - inner.x0) / cols as f64,
        (inner.y1 - inner.y0) / rows as f64,
    );
    let psize = PANEL * sc.s;
    let mut plots = Vec::new();
    for (i, (title, shapes)) in panels.iter().enumerate() {
        let (c, r) = (i % cols, i / cols);
        let cell = Bbox {
            x0: inner.x0 + c as f64 * cw,
            x1: inner.x0 + (c + 1) as f64 * cw - 6.0 * sc.ls,
            y0: inner.y0 + r as f64 * ch + 1.3 * psize,
            y1: inner.y0 + (r + 1) as f64 * ch,
        };
        let g = plot_geom(fig, cell, sc, (false, false));
        labels.extend(g.labels.clone());
        for l in wrap(title, psize, g.area.x1 - g.area.x0)
            .into_iter()
            .take(1)
        {
            labels.push(Label {
                text: l,
                size: psize,
                at: ((g.area.x0 + g.area.x1) / 2.0, g.area.y0 - 0.35 * psize),
                anchor: Anchor::Middle,
                upright: false,
                color: RGBColor(0, 0, 0),
            });
        }
        plots.push((g, shapes.clone()));
    }
    if !fig.x_label.is_empty() {
        let x0 = plots.iter().map(|p| p.0.area.x0).fold(f64::MAX, f64::min);
        let x1 = plots.iter().map(|p| p.0.area.x1).fold(f64::MIN, f64::max);
        for l in wrap(&fig.x_label, axis_size, bw).into_iter().take(1) {
            labels.push(Label {
                text: l,
                size: axis_size,
                at: (
                    (x0 + x1) / 2.0,
                    body.y1 - x_desc_h + 0.2 * axis_size + asc * axis_size,
                ),
                anchor: Anchor::Middle,
                upright: false,
                color: RGBColor(0, 0, 0),
            });
        }
    }
    if !fig.y_label.is_empty() {
        let y0 = plots.iter().map(|p| p.0.area.y0).fold(f64::MAX, f64::min);
        let y1 = plots.iter().map(|p| p.0.area.y1).fold(f64::MIN, f64::max);
        for l in wrap(&fig.y_label, axis_size, bh).into_iter().take(1) {
            labels.push(Label {
                text: l,
                size: axis_size,
                at: (body.x0 + asc * axis_size, (y0 + y1) / 2.0),
                anchor: Anchor::Middle,
                upright: true,
                color: RGBColor(0, 0, 0),
            });
        }
    }
    (plots, labels, body)
}

/// The boxes of every text of the figure as drawn: for tests and checks.
pub fn text_boxes(fig: &Figure) -> Vec<(String, Bbox)> {
    layout(fig)
        .labels
        .iter()
        .map(|l| (l.text.clone(), l.bbox()))
        .collect()
}

/// The legend's box and the plot areas, as drawn.
pub fn legend_and_plots(fig: &Figure) -> (Option<Bbox>, Vec<Bbox>) {
    let l = layout(fig);
    (
        l.legend.map(|(b, _, _)| b),
        l.plots.iter().map(|p| p.0.area).collect(),
    )
}

/// Data pixels (sampled along lines, at markers, in bars) hidden by the legend.
pub fn data_under_legend(fig: &Figure) -> usize {
    let l = layout(fig);
    let Some((b, _, _)) = l.legend else {
        return 0;
    };
    l.plots
        .iter()
        .map(|(g, shapes)| {
            data_points(g, shapes, 2.0)
                .into_iter()
                .filter(|&q| b.contains(q))
                .count()
        })
        .sum()
}

/// Renders the figure to PNG, SVG or PDF bytes.
pub fn render(fig: &Figure, format: Format) -> Result<Vec<u8>, String> {
    register_font();
    let (w, h) = (fig.width, fig.height);
    let lay = layout(fig);
    match format {
        Format::Png => {
            let mut buf = vec![255u8; (w * h * 3) as usize];
            {
                let mut b = BitMapBackend::with_buffer(&mut buf, (w, h));
                draw(&mut b, fig, &lay, true).map_err(|e| e.to_string())?;
                b.present().map_err(|e| e.to_string())?;
            }
            encode_png(&buf, w, h)
        }
        Format::Svg | Format::Pdf => {
            let mut s = String::new();
            {
                let mut b = SVGBackend::with_string(&mut s, (w, h));
                draw(&mut b, fig, &lay, false).map_err(|e| e.to_string())?;
                b.present().map_err(|e| e.to_string())?;
            }
            let svg = svg_text::outline_text(&s, FONT)?;
            if format == Format::Pdf {
                super::pdf::svg_to_pdf(&svg)
            } else {
                Ok(svg.into_bytes())
            }
        }
    }
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Default);
        let mut writer = enc.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(rgb).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

type DrawResult<B> =
    Result<(), plotters_backend::DrawingErrorKind<<B as DrawingBackend>::ErrorType>>;

fn ip((x, y): (f64, f64)) -> (i32, i32) {
    (x.round() as i32, y.round() as i32)
}

/// Draws a text: on a bitmap, glyph by glyph at the font's advances and
/// kerning, each glyph at its own left bearing (plotters' bitmap text put
/// every glyph at the pen, which spaced "one" as "on e"); in SVG, as a
/// `<text>` element that [`svg_text`] turns into outlines.
fn draw_label<B: DrawingBackend>(b: &mut B, l: &Label, bitmap: bool) -> DrawResult<B> {
    if l.text.is_empty() {
        return Ok(());
    }
    let w = text_width(&l.text, l.size);
    let along = match l.anchor {
        Anchor::Start => 0.0,
        Anchor::Middle => -w / 2.0,
        Anchor::End => -w,
    };
    if !bitmap {
        // plotters writes font-size = size / 1.24 and places the baseline
        // 0.76 em under y (top-anchored); svg_text does the same.
        let style = TextStyle::from((FONT_FAMILY, l.size * 1.24).into_font())
            .color(&l.color)
            .pos(Pos::new(
                match l.anchor {
                    Anchor::Start => HPos::Left,
                    Anchor::Middle => HPos::Center,
                    Anchor::End => HPos::Right,
                },
                VPos::Top,
            ));
        let (x, y) = l.at;
        if l.upright {
            let style = style.transform(FontTransform::Rotate270);
            return b.draw_text(&l.text, &style, ip((x - 0.76 * l.size, y)));
        }
        return b.draw_text(&l.text, &style, ip((x, y - 0.76 * l.size)));
    }
    let f = font();
    let upem = f.units_per_em().unwrap_or(2048.0);
    let scale = PxScale::from(l.size as f32 * f.height_unscaled() / upem);
    let sf = f.as_scaled(scale);
    let origin = ip(l.at);
    let frac = if l.upright {
        l.at.1 - origin.1 as f64
    } else {
        l.at.0 - origin.0 as f64
    };
    let mut pen = along as f32 + if l.upright { -frac as f32 } else { frac as f32 };
    let base_frac = if l.upright {
        l.at.0 - origin.0 as f64
    } else {
        l.at.1 - origin.1 as f64
    } as f32;
    let mut prev = None;
    let color = l.color;
    let mut pixels: Vec<((i32, i32), f32)> = Vec::new();
    for c in l.text.chars() {
        let g = f.glyph_id(c);
        if let Some(p) = prev {
            pen += sf.kern(p, g);
        }
        prev = Some(g);
        let glyph = g.with_scale_and_position(scale, ab_glyph::point(pen, base_frac));
        if let Some(o) = f.outline_glyph(glyph) {
            let bb = o.px_bounds();
            o.draw(|x, y, cov| {
                // Local: along the text (lx) and down from the baseline (ly).
                let lx = bb.min.x as i32 + x as i32;
                let ly = bb.min.y as i32 + y as i32;
                pixels.push(((lx, ly), cov));
            });
        }
        pen += sf.h_advance(g);
    }
    for ((lx, ly), cov) in pixels {
        if cov <= 0.0 {
            continue;
        }
        let (gx, gy) = if l.upright {
            (origin.0 + ly, origin.1 - lx)
        } else {
            (origin.0 + lx, origin.1 + ly)
        };
        b.draw_pixel(
            (gx, gy),
            BackendColor {
                alpha: cov.min(1.0) as f64,
                rgb: (color.0, color.1, color.2),
            },
        )?;
    }
    Ok(())
}

/// Clips segment `a`–`b` to `r` (Liang–Barsky).
fn clip(a: (f64, f64), b: (f64, f64), r: &Bbox) -> Option<((f64, f64), (f64, f64))> {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a.0 - r.x0),
        (dx, r.x1 - a.0),
        (-dy, a.1 - r.y0),
        (dy, r.y1 - a.1),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let t = q / p;
            if p < 0.0 {
                t0 = t0.max(t);
            } else {
                t1 = t1.min(t);
            }
        }
    }
    (t0 <= t1).then_some((
        (a.0 + t0 * dx, a.1 + t0 * dy),
        (a.0 + t1 * dx, a.1 + t1 * dy),
    ))
}

/// A polyline clipped to `r`: the runs that stay inside.
fn clip_polyline(pts: &[(f64, f64)], r: &Bbox) -> Vec<Vec<(f64, f64)>> {
    let mut runs: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    if pts.len() == 1 && r.contains(pts[0]) {
        return vec![pts.to_vec()];
    }
    for w in pts.windows(2) {
        if !(w[0].0.is_finite() && w[0].1.is_finite() && w[1].0.is_finite() && w[1].1.is_finite()) {
            continue;
        }
        match clip(w[0], w[1], r) {
            Some((a, b)) => {
                if cur
                    .last()
                    .is_none_or(|&l| (l.0 - a.0).abs() > 1e-6 || (l.1 - a.1).abs() > 1e-6)
                {
                    if cur.len() > 1 {
                        runs.push(std::mem::take(&mut cur));
                    }
                    cur.clear();
                    cur.push(a);
                }
                cur.push(b);
            }
            None => {
                if cur.len() > 1 {
                    runs.push(std::mem::take(&mut cur));
                }
                cur.clear();
            }
        }
    }
    if cur.len() > 1 {
        runs.push(cur);
    }
    runs
}

/// Dashes along a polyline: `on` pixels drawn, `off` skipped.
fn dashes(pts: &[(f64, f64)], on: f64, off: f64) -> Vec<Vec<(f64, f64)>> {
    let mut out = Vec::new();
    let mut cur: Vec<(f64, f64)> = Vec::new();
    let (mut drawing, mut left) = (true, on);
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        let len = (b.0 - a.0).hypot(b.1 - a.1);
        let mut t = 0.0;
        while len > 0.0 && t < len {
            let step = left.min(len - t);
            let p0 = (a.0 + (b.0 - a.0) * t / len, a.1 + (b.1 - a.1) * t / len);
            t += step;
            let p1 = (a.0 + (b.0 - a.0) * t / len, a.1 + (b.1 - a.1) * t / len);
            if drawing {
                if cur.is_empty() {
                    cur.push(p0);
                }
                cur.push(p1);
            }
            left -= step;
            if left <= 1e-9 {
                if drawing && cur.len() > 1 {
                    out.push(std::mem::take(&mut cur));
                }
                cur.clear();
                drawing = !drawing;
                left = if drawing { on } else { off };
            }
        }
    }
    if cur.len() > 1 {
        out.push(cur);
    }
    out
}

fn stroke<B: DrawingBackend>(
    b: &mut B,
    pts: &[(f64, f64)],
    color: RGBColor,
    width: f64,
    dashed: bool,
    ls: f64,
) -> DrawResult<B> {
    let style = color.stroke_width(width.round().max(1.0) as u32);
    let runs = if dashed {
        dashes(pts, 8.0 * ls, 5.0 * ls)
    } else {
        vec![pts.to_vec()]
    };
    for r in runs {
        let path: Vec<(i32, i32)> = r.iter().map(|&p| ip(p)).collect();
        b.draw_path(path, &style)?;
    }
    Ok(())
}

fn draw<B: DrawingBackend>(b: &mut B, fig: &Figure, lay: &Layout, bitmap: bool) -> DrawResult<B> {
    let (w, h) = (fig.width as i32, fig.height as i32);
    b.draw_rect((0, 0), (w, h), &WHITE.filled(), true)?;
    let ls = lay.sc.ls;
    for (g, shapes) in &lay.plots {
        draw_axes(b, g, ls)?;
        draw_shapes(b, g, shapes, ls)?;
        // The frame, over the data.
        b.draw_rect(
            ip((g.area.x0, g.area.y0)),
            ip((g.area.x1, g.area.y1)),
            &RGBColor(60, 60, 60).stroke_width(1),
            false,
        )?;
    }
    for l in &lay.labels[..] {
        if lay
            .legend
            .as_ref()
            .is_some_and(|(bx, _, _)| bx.contains(l.at) && l.anchor == Anchor::Start)
        {
            continue; // legend texts are drawn with the legend, over its box
        }
        draw_label(b, l, bitmap)?;
    }
    if let Some((bx, spots, _)) = &lay.legend {
        draw_legend(b, fig, lay, *bx, spots, bitmap)?;
    }
    Ok(())
}

fn draw_axes<B: DrawingBackend>(b: &mut B, g: &PlotGeom, ls: f64) -> DrawResult<B> {
    let a = g.area;
    let light = RGBColor(236, 236, 236);
    let grid = RGBColor(214, 214, 214);
    let tick_len = 5.0 * ls;
    let axis = RGBColor(60, 60, 60);
    let categories_x = g.x_ticks.ticks.iter().all(|t| t.v.fract() == 0.0) && !g.x.log;
    let _ = categories_x;
    for &v in &g.x_ticks.minor {
        let x = g.x.px(v);
        if x > a.x0 + 0.5 && x < a.x1 - 0.5 {
            b.draw_line(ip((x, a.y0)), ip((x, a.y1)), &light.stroke_width(1))?;
        }
    }
    for &v in &g.y_ticks.minor {
        let y = g.y.px(v);
        if y > a.y0 + 0.5 && y < a.y1 - 0.5 {
            b.draw_line(ip((a.x0, y)), ip((a.x1, y)), &light.stroke_width(1))?;
        }
    }
    for t in &g.x_ticks.ticks {
        let x = g.x.px(t.v);
        if x > a.x0 + 0.5 && x < a.x1 - 0.5 {
            b.draw_line(ip((x, a.y0)), ip((x, a.y1)), &grid.stroke_width(1))?;
        }
        b.draw_line(
            ip((x, a.y1)),
            ip((x, a.y1 + tick_len)),
            &axis.stroke_width(1),
        )?;
    }
    for t in &g.y_ticks.ticks {
        let y = g.y.px(t.v);
        if y > a.y0 + 0.5 && y < a.y1 - 0.5 {
            b.draw_line(ip((a.x0, y)), ip((a.x1, y)), &grid.stroke_width(1))?;
        }
        b.draw_line(
            ip((a.x0 - tick_len, y)),
            ip((a.x0, y)),
            &axis.stroke_width(1),
        )?;
    }
    Ok(())
}

fn draw_shapes<B: DrawingBackend>(
    b: &mut B,
    g: &PlotGeom,
    shapes: &[Shape],
    ls: f64,
) -> DrawResult<B> {
    let a = g.area;
    let p = |(x, y): (f64, f64)| (g.x.px(x), g.y.px(y));
    let radius = (4.0 * ls).round().max(2.0) as u32;
    for shape in shapes {
        match shape {
            Shape::Line {
                points,
                color,
                dashed,
                width,
            } => {
                let px: Vec<(f64, f64)> = points.iter().map(|&q| p(q)).collect();
                // Data lines stay at least 1.5 px wide (2 once rounded) on small figures.
                let wd = (*width as f64 * ls).max(*width as f64 * 0.75);
                for run in clip_polyline(&px, &a) {
                    stroke(b, &run, *color, wd, *dashed, ls)?;
                }
            }
            Shape::Rect {
                from,
                to,
                color,
                opacity,
            } => {
                let (f, t) = (p(*from), p(*to));
                let r = Bbox {
                    x0: f.0.min(t.0).max(a.x0),
                    x1: f.0.max(t.0).min(a.x1),
                    y0: f.1.min(t.1).max(a.y0),
                    y1: f.1.max(t.1).min(a.y1),
                };
                if r.x0 < r.x1 && r.y0 < r.y1 {
                    b.draw_rect(
                        ip((r.x0, r.y0)),
                        ip((r.x1, r.y1)),
                        &color.mix(*opacity).filled(),
                        true,
                    )?;
                }
            }
            Shape::Marker { at, color } => {
                let c = p(*at);
                let r = radius as f64;
                let grown = Bbox {
                    x0: a.x0 - r,
                    y0: a.y0 - r,
                    x1: a.x1 + r,
                    y1: a.y1 + r,
                };
                if grown.contains(c) {
                    b.draw_circle(ip(c), radius, &color.filled(), true)?;
                }
            }
            Shape::ErrorBar { x, lo, hi, color } => {
                let (pa, pb) = (p((*x, *lo)), p((*x, *hi)));
                let Some((ca, cb)) = clip(pa, pb, &a) else {
                    continue;
                };
                let wd = (2.0 * ls).round().max(1.0);
                stroke(b, &[ca, cb], *color, wd, false, ls)?;
                let cap = 5.0 * ls;
                for (orig, end) in [(pa, ca), (pb, cb)] {
                    if (orig.1 - end.1).abs() < 0.5 {
                        stroke(
                            b,
                            &[(end.0 - cap, end.1), (end.0 + cap, end.1)],
                            *color,
                            wd,
                            false,
                            ls,
                        )?;
                    }
                }
            }
            Shape::VLine { x, color, dashed } => {
                let px = g.x.px(*x);
                if px >= a.x0 && px <= a.x1 {
                    stroke(b, &[(px, a.y1), (px, a.y0)], *color, 2.0 * ls, *dashed, ls)?;
                }
            }
            Shape::Box {
                x,
                half,
                whiskers,
                quartiles,
                color,
            } => {
                let wd = (2.0 * ls).round().max(1.0);
                let (l, r) = (g.x.px(x - half), g.x.px(x + half));
                let (q1, q2, q3) = (
                    g.y.px(quartiles.0),
                    g.y.px(quartiles.1),
                    g.y.px(quartiles.2),
                );
                let box_r = Bbox {
                    x0: l.min(r),
                    x1: l.max(r),
                    y0: q3.min(q1).max(a.y0),
                    y1: q1.max(q3).min(a.y1),
                };
                if box_r.y0 < box_r.y1 {
                    b.draw_rect(
                        ip((box_r.x0, box_r.y0)),
                        ip((box_r.x1, box_r.y1)),
                        &color.mix(0.18).filled(),
                        true,
                    )?;
                }
                let c = g.x.px(*x);
                let cap = (r - l).abs() / 4.0;
                let outline = [
                    (box_r.x0, box_r.y0),
                    (box_r.x1, box_r.y0),
                    (box_r.x1, box_r.y1),
                    (box_r.x0, box_r.y1),
                    (box_r.x0, box_r.y0),
                ];
                stroke(b, &outline, *color, wd, false, ls)?;
                for (from, to) in [(q1, g.y.px(whiskers.0)), (q3, g.y.px(whiskers.1))] {
                    if let Some((u, v)) = clip((c, from), (c, to), &a) {
                        stroke(b, &[u, v], *color, wd, false, ls)?;
                    }
                    if to >= a.y0 && to <= a.y1 {
                        stroke(b, &[(c - cap, to), (c + cap, to)], *color, wd, false, ls)?;
                    }
                }
                if q2 >= a.y0 && q2 <= a.y1 {
                    stroke(
                        b,
                        &[(box_r.x0, q2), (box_r.x1, q2)],
                        *color,
                        2.0 * wd,
                        false,
                        ls,
                    )?;
                }
            }
        }
    }
    Ok(())
}

fn draw_legend<B: DrawingBackend>(
    b: &mut B,
    fig: &Figure,
    lay: &Layout,
    bx: Bbox,
    spots: &[(f64, f64)],
    bitmap: bool,
) -> DrawResult<B> {
    let ls = lay.sc.ls;
    let size = LEGEND * lay.sc.s;
    b.draw_rect(
        ip((bx.x0, bx.y0)),
        ip((bx.x1, bx.y1)),
        &WHITE.mix(0.92).filled(),
        true,
    )?;
    b.draw_rect(
        ip((bx.x0, bx.y0)),
        ip((bx.x1, bx.y1)),
        &RGBColor(180, 180, 180).stroke_width(1),
        false,
    )?;
    let key = 1.8 * size;
    for ((_, k), &(x, y)) in fig.legend.iter().zip(spots) {
        match *k {
            Key::Block(color) => {
                b.draw_rect(
                    ip((x, y - 0.4 * size)),
                    ip((x + key, y + 0.4 * size)),
                    &color.filled(),
                    true,
                )?;
            }
            Key::Line { color, dashed } => {
                if dashed {
                    let d = key * 0.36;
                    stroke(b, &[(x, y), (x + d, y)], color, 3.0 * ls, false, ls)?;
                    stroke(
                        b,
                        &[(x + key - d, y), (x + key, y)],
                        color,
                        3.0 * ls,
                        false,
                        ls,
                    )?;
                } else {
                    stroke(b, &[(x, y), (x + key, y)], color, 3.0 * ls, false, ls)?;
                }
            }
        }
    }
    for l in &lay.labels {
        if bx.contains(l.at) && l.anchor == Anchor::Start {
            draw_label(b, l, bitmap)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(width: u32, height: u32) -> Figure {
        Figure {
            title: "first leader against nodes, 200 trials per point".into(),
            subtitle: "fixed: one-way latency 1–5ms".into(),
            x_label: "nodes".into(),
            y_label: "time to the first leader (ms), mean ± 95% CI".into(),
            x_range: (2.7, 9.3),
            y_range: (0.0, 600.0),
            shapes: (3..=9)
                .map(|n| Shape::Marker {
                    at: (n as f64, 300.0 + 20.0 * n as f64),
                    color: BLACK,
                })
                .collect(),
            legend: vec![(
                "latency 1–5ms".into(),
                Key::Line {
                    color: BLACK,
                    dashed: false,
                },
            )],
            width,
            height,
            ..Figure::default()
        }
    }

    #[test]
    fn text_never_overlaps_and_stays_on_the_canvas_from_small_to_large() {
        for (w, h) in [(400, 300), (640, 400), (960, 600), (1920, 1200), (300, 800)] {
            let fig = sample(w, h);
            let boxes = text_boxes(&fig);
            for (i, (ta, a)) in boxes.iter().enumerate() {
                assert!(
                    a.x0 >= 0.0 && a.y0 >= 0.0 && a.x1 <= w as f64 && a.y1 <= h as f64,
                    "{w}×{h}: '{ta}' {a:?} leaves the canvas"
                );
                for (tb, b) in &boxes[i + 1..] {
                    assert!(
                        !a.overlaps(b),
                        "{w}×{h}: '{ta}' {a:?} overlaps '{tb}' {b:?}"
                    );
                }
            }
        }
        // Text follows the size: twice the figure, twice the text.
        let width_of = |fig: &Figure| {
            text_boxes(fig)
                .into_iter()
                .find(|(t, _)| t == "nodes")
                .map(|(_, b)| b.x1 - b.x0)
                .unwrap()
        };
        let (a, b) = (width_of(&sample(960, 600)), width_of(&sample(1920, 1200)));
        assert!((b / a - 2.0).abs() < 1e-9, "{a} {b}");
        let mut big = sample(960, 600);
        big.font_scale = 1.5;
        assert!((width_of(&big) / a - 1.5).abs() < 1e-9);
    }

    #[test]
    fn crowded_ticks_are_thinned_and_categories_turn_upright() {
        let x = axis_ticks((0.0, 1000.0), false, None, false, 120.0, true, 14.0);
        assert!(x.ticks.len() >= 2 && x.ticks.len() <= 3, "{:?}", x.ticks);
        let log = axis_ticks((1.0, 1e6), true, None, false, 150.0, true, 14.0);
        assert!(
            log.ticks.iter().all(|t| t.lines[0].starts_with('1')),
            "{:?}",
            log.ticks
        );
        let cats: Vec<String> = (0..12).map(|i| format!("category number {i}")).collect();
        let c = axis_ticks((-0.5, 11.5), false, Some(&cats), false, 500.0, true, 14.0);
        assert!(c.upright, "{:?}", c);
        assert_eq!(c.ticks.len(), 12);
    }

    #[test]
    fn bitmap_glyphs_start_at_their_bearing() {
        // "one" at 40 px: each glyph's ink starts at the pen plus its left
        // bearing (plotters drew every glyph at the pen: "on e").
        let (w, h) = (200u32, 60u32);
        let mut buf = vec![255u8; (w * h * 3) as usize];
        let label = Label {
            text: "one".into(),
            size: 40.0,
            at: (10.0, 45.0),
            anchor: Anchor::Start,
            upright: false,
            color: BLACK,
        };
        {
            let mut b = BitMapBackend::with_buffer(&mut buf, (w, h));
            draw_label(&mut b, &label, true).unwrap();
            b.present().unwrap();
        }
        let inked = |x: u32| (0..h).any(|y| buf[((y * w + x) * 3) as usize] < 128);
        let mut starts = Vec::new();
        for x in 1..w {
            if inked(x) && !inked(x - 1) {
                starts.push(x as f64);
            }
        }
        let f = font();
        let scale = 40.0 / f.units_per_em().unwrap() as f64;
        let mut pen = 10.0;
        let mut want = Vec::new();
        let mut prev = None;
        for c in "one".chars() {
            let g = f.glyph_id(c);
            if let Some(p) = prev {
                pen += f.kern_unscaled(p, g) as f64 * scale;
            }
            let bounds = f.outline(g).unwrap().bounds;
            want.push(pen + bounds.min.x as f64 * scale);
            pen += f.h_advance_unscaled(g) as f64 * scale;
            prev = Some(g);
        }
        assert_eq!(starts.len(), 3, "{starts:?}");
        for (got, want) in starts.iter().zip(&want) {
            assert!((got - want).abs() <= 1.0, "{starts:?} against {want:?}");
        }
    }

    #[test]
    fn clipping_keeps_the_inside_runs() {
        let r = Bbox {
            x0: 0.0,
            y0: 0.0,
            x1: 10.0,
            y1: 10.0,
        };
        let runs = clip_polyline(
            &[
                (-5.0, 5.0),
                (5.0, 5.0),
                (5.0, 20.0),
                (8.0, 20.0),
                (8.0, 5.0),
            ],
            &r,
        );
        assert_eq!(
            runs,
            vec![
                vec![(0.0, 5.0), (5.0, 5.0), (5.0, 10.0)],
                vec![(8.0, 10.0), (8.0, 5.0)]
            ]
        );
    }

    #[test]
    fn integer_x_gets_whole_tick_labels_only() {
        let fig = |xs: &[f64]| Figure {
            shapes: xs
                .iter()
                .map(|&x| Shape::Marker {
                    at: (x, 0.5),
                    color: BLACK,
                })
                .collect(),
            ..Figure::default()
        };
        assert!(whole_x(&fig(&[3.0, 5.0, 7.0])));
        assert!(!whole_x(&fig(&[3.0, 5.5])));
        assert!(!whole_x(&fig(&[])));
        let t = axis_ticks((2.8, 5.2), false, None, true, 800.0, true, 14.0);
        let v: Vec<f64> = t.ticks.iter().map(|t| t.v).collect();
        assert_eq!(v, [3.0, 4.0, 5.0]);
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick(150.0), "150");
        assert_eq!(tick(0.05), "0.05");
        assert_eq!(tick(1.5), "1.5");
        assert_eq!(tick(0.30000000000000004), "0.3");
        assert_eq!(tick(1e6), "10⁶");
        assert_eq!(tick(2e-5), "2×10⁻⁵");
        let (major, _) = log_ticks(100.0, 1000.0, 0);
        assert_eq!(major, [100.0, 200.0, 500.0, 1000.0]);
    }
}
