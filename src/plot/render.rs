//! Drawing a [`Figure`] (a small display list in data coordinates) with
//! plotters, to PNG (pure-Rust rasteriser, PNG encoder) or SVG (text turned
//! into glyph outlines by [`super::svg_text`]).
//!
//! Text uses the DejaVu Sans font shipped in `assets/` and embedded in the
//! binary, registered with plotters' `ab_glyph` backend: no system font or
//! library is ever read, so a figure looks the same on every machine.

use super::svg_text;
use crate::experiment::plotspec::Format;
use plotters::coord::ranged1d::{AsRangedCoord, Ranged, ValueFormatter};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
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
        /// Dashed (8 px dashes, 5 px gaps) instead of solid.
        dashed: bool,
        /// Stroke width in pixels.
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
    /// A filled dot, 4 px in radius.
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
    /// Inside the plotting area, top left.
    UpperLeft,
    /// Inside the plotting area, top right.
    UpperRight,
    /// Inside the plotting area, bottom right.
    LowerRight,
    /// Right of the plotting area (many or long entries).
    Outside,
}

/// A whole figure: axes, shapes, legend.
#[derive(Clone, Debug)]
pub struct Figure {
    /// Text above the plot.
    pub title: String,
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
    /// Entries, in order: text and key; empty: no legend.
    pub legend: Vec<(String, Key)>,
    /// Where the legend goes.
    pub legend_at: LegendAt,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// A tick label: `150`, `0.05`, `1.5`, never `150.0`.
pub fn tick(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let a = v.abs();
    if !(1e-4..1e6).contains(&a) {
        return format!("{v:.0e}");
    }
    if (v - v.round()).abs() < 1e-9 * a.max(1.0) {
        return format!("{}", v.round() as i64);
    }
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// The range given to plotters: a log axis a hair wider than asked.
/// plotters starts a log axis's key points at 10^ceil(ln(lo) / ln(10)), and
/// for lo = 1e-6 that ratio comes out as -5.999...: the bottom decade lost
/// its grid line and label.
fn axis_range((lo, hi): (f64, f64), log: bool) -> (f64, f64) {
    if log {
        (lo * (1.0 - 1e-9), hi * (1.0 + 1e-9))
    } else {
        (lo, hi)
    }
}

/// Whether every x drawn is a whole number (an integer parameter such as a
/// cluster size or `k`): then only whole numbers get tick labels, not 2.5.
fn whole_x(fig: &Figure) -> bool {
    let whole = |x: f64| x.fract() == 0.0;
    !fig.shapes.is_empty()
        && fig.shapes.iter().all(|s| match s {
            Shape::Line { points, .. } => points.iter().all(|p| whole(p.0)),
            Shape::Rect { from, to, .. } => whole(from.0) && whole(to.0),
            Shape::Marker { at, .. } => whole(at.0),
            Shape::ErrorBar { x, .. } => whole(*x),
        })
}

/// On a log axis, label only 1, 2 and 5 times a power of ten.
fn log_tick(v: f64) -> String {
    if v <= 0.0 {
        return String::new();
    }
    let m = v / libm::pow(10.0, libm::floor(libm::log10(v) + 1e-9));
    if [1.0, 2.0, 5.0].iter().any(|k| (m - k).abs() < 1e-6) {
        tick(v)
    } else {
        String::new()
    }
}

/// Renders the figure to PNG or SVG bytes.
pub fn render(fig: &Figure, format: Format) -> Result<Vec<u8>, String> {
    register_font();
    let (w, h) = (fig.width, fig.height);
    match format {
        Format::Png => {
            let mut buf = vec![255u8; (w * h * 3) as usize];
            {
                let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
                draw(&root, fig)?;
                root.present().map_err(|e| e.to_string())?;
            }
            encode_png(&buf, w, h)
        }
        Format::Svg => {
            let mut s = String::new();
            {
                let root = SVGBackend::with_string(&mut s, (w, h)).into_drawing_area();
                draw(&root, fig)?;
                root.present().map_err(|e| e.to_string())?;
            }
            Ok(svg_text::outline_text(&s, FONT)?.into_bytes())
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

fn draw<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, fig: &Figure) -> Result<(), String> {
    root.fill(&WHITE).map_err(|e| e.to_string())?;
    let (x0, x1) = axis_range(fig.x_range, fig.x_log);
    let (y0, y1) = axis_range(fig.y_range, fig.y_log);
    match (fig.x_log, fig.y_log) {
        (false, false) => draw_on(root, fig, x0..x1, y0..y1),
        (true, false) => draw_on(root, fig, (x0..x1).log_scale(), y0..y1),
        (false, true) => draw_on(root, fig, x0..x1, (y0..y1).log_scale()),
        (true, true) => draw_on(root, fig, (x0..x1).log_scale(), (y0..y1).log_scale()),
    }
}

fn draw_on<DB, X, Y>(
    root: &DrawingArea<DB, Shift>,
    fig: &Figure,
    x_spec: X,
    y_spec: Y,
) -> Result<(), String>
where
    DB: DrawingBackend,
    X: AsRangedCoord<Value = f64>,
    Y: AsRangedCoord<Value = f64>,
    X::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
    Y::CoordDescType: Ranged<ValueType = f64> + ValueFormatter<f64>,
{
    let e = |e: DrawingAreaErrorKind<DB::ErrorType>| e.to_string();
    // The title spans the whole figure, legend column included.
    let body = root.titled(&fig.title, (FONT_FAMILY, 24)).map_err(e)?;
    let plot_area = if fig.legend_at == LegendAt::Outside && !fig.legend.is_empty() {
        body.split_horizontally(fig.width.saturating_sub(legend_width(fig)))
            .0
    } else {
        body
    };
    let y_label_w = if fig.y_categories.is_some() { 90 } else { 80 };
    let mut chart = ChartBuilder::on(&plot_area)
        .margin(16)
        .margin_top(8)
        .margin_right(36)
        .x_label_area_size(56)
        .y_label_area_size(y_label_w)
        .build_cartesian_2d(x_spec, y_spec)
        .map_err(e)?;

    // A category axis labels its integer positions only.
    let category = |c: &[String], v: f64| {
        let r = v.round();
        if (v - r).abs() < 1e-6 && r >= 0.0 && (r as usize) < c.len() {
            c[r as usize].clone()
        } else {
            String::new()
        }
    };
    let whole_x = !fig.x_log && whole_x(fig);
    let x_fmt = |v: &f64| match &fig.x_categories {
        Some(c) => category(c, *v),
        None if fig.x_log => log_tick(*v),
        None if whole_x && (v - v.round()).abs() > 1e-9 * v.abs().max(1.0) => String::new(),
        None => tick(*v),
    };
    let y_fmt = |v: &f64| match &fig.y_categories {
        Some(c) => category(c, *v),
        None if fig.y_log => log_tick(*v),
        None => tick(*v),
    };
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(&fig.x_label)
        .y_desc(&fig.y_label)
        .axis_desc_style((FONT_FAMILY, 18))
        .label_style((FONT_FAMILY, 15))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .light_line_style(RGBColor(235, 235, 235))
        .bold_line_style(RGBColor(210, 210, 210));
    // Enough key points that a log axis gets a grid line at every 1–9 × 10^k
    // (labelled at 1, 2 and 5 by log_tick); no finer lines then.
    if fig.x_log {
        mesh.x_labels(30);
    }
    if fig.y_log {
        mesh.y_labels(30);
    }
    if fig.x_log || fig.y_log {
        mesh.max_light_lines(0);
    }
    if let Some(c) = &fig.y_categories {
        mesh.y_labels(c.len() * 2 + 2).disable_y_mesh();
    }
    if let Some(c) = &fig.x_categories {
        mesh.x_labels(c.len() * 2 + 2).disable_x_mesh();
    }
    mesh.draw().map_err(e)?;

    for shape in &fig.shapes {
        match shape {
            Shape::Line {
                points,
                color,
                dashed,
                width,
            } => {
                let style = color.stroke_width(*width);
                if *dashed {
                    chart
                        .draw_series(DashedLineSeries::new(points.iter().copied(), 8, 5, style))
                        .map_err(e)?;
                } else {
                    chart
                        .draw_series(LineSeries::new(points.iter().copied(), style))
                        .map_err(e)?;
                }
            }
            Shape::Rect {
                from,
                to,
                color,
                opacity,
            } => {
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [*from, *to],
                        color.mix(*opacity).filled(),
                    )))
                    .map_err(e)?;
            }
            Shape::Marker { at, color } => {
                let p = chart.backend_coord(at);
                root.draw(&Circle::new(p, 4, color.filled())).map_err(e)?;
            }
            Shape::ErrorBar { x, lo, hi, color } => {
                let Some((lo, hi, caps)) = error_bar_span(*lo, *hi, fig) else {
                    continue;
                };
                let (a, b) = (
                    chart.backend_coord(&(*x, lo)),
                    chart.backend_coord(&(*x, hi)),
                );
                let style = color.stroke_width(2);
                root.draw(&PathElement::new(vec![a, b], style)).map_err(e)?;
                for (p, cap) in [(a, caps.0), (b, caps.1)] {
                    if !cap {
                        continue;
                    }
                    root.draw(&PathElement::new(
                        vec![(p.0 - 5, p.1), (p.0 + 5, p.1)],
                        style,
                    ))
                    .map_err(e)?;
                }
            }
        }
    }
    if !fig.legend.is_empty() {
        let (xr, yr) = chart.plotting_area().get_pixel_range();
        let (w, h) = legend_size(fig);
        let at = match fig.legend_at {
            LegendAt::UpperLeft => (xr.start + 12, yr.start + 12),
            LegendAt::UpperRight => (xr.end - 12 - w, yr.start + 12),
            LegendAt::LowerRight => (xr.end - 12 - w, yr.end - 12 - h),
            LegendAt::Outside => (xr.end + 16, yr.start),
        };
        draw_legend(root, fig, at, (w, h)).map_err(e)?;
    }
    Ok(())
}

/// The part of an error bar `lo..hi` drawn, and whether each end gets a cap.
/// On a log axis the bar is clipped to the y range (a low end at or below
/// zero cannot be drawn) and a clipped end has no cap. Linear axes are not
/// clipped yet: the committed raft figures' bytes depend on it.
fn error_bar_span(lo: f64, hi: f64, fig: &Figure) -> Option<(f64, f64, (bool, bool))> {
    if !fig.y_log {
        return Some((lo, hi, (true, true)));
    }
    let (y0, y1) = fig.y_range;
    if hi < y0 || lo > y1 {
        return None;
    }
    Some((lo.max(y0), hi.min(y1), (lo >= y0, hi <= y1)))
}

const LEGEND_FONT: f64 = 15.0;
const LEGEND_ROW: i32 = 22;

/// Width of `text` in pixels at plotters' text size `size` (ab_glyph scaling).
pub fn text_width(text: &str, size: f64) -> f64 {
    use ab_glyph::{Font, FontRef, ScaleFont};
    let Ok(font) = FontRef::try_from_slice(FONT) else {
        return text.len() as f64 * size * 0.6;
    };
    let f = font.as_scaled(size as f32);
    let mut w = 0.0f32;
    let mut prev = None;
    for c in text.chars() {
        let g = f.glyph_id(c);
        if let Some(p) = prev {
            w += f.kern(p, g);
        }
        w += f.h_advance(g);
        prev = Some(g);
    }
    w as f64
}

fn legend_size(fig: &Figure) -> (i32, i32) {
    let longest = fig
        .legend
        .iter()
        .map(|(l, _)| text_width(l, LEGEND_FONT))
        .fold(0.0, f64::max);
    (
        longest as i32 + 46,
        fig.legend.len() as i32 * LEGEND_ROW + 10,
    )
}

/// The room a side legend needs.
fn legend_width(fig: &Figure) -> u32 {
    (legend_size(fig).0 as u32 + 32).min(fig.width / 2)
}

fn draw_legend<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    fig: &Figure,
    (x0, y0): (i32, i32),
    (w, h): (i32, i32),
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.draw(&Rectangle::new(
        [(x0, y0), (x0 + w, y0 + h)],
        WHITE.mix(0.9).filled(),
    ))?;
    root.draw(&Rectangle::new(
        [(x0, y0), (x0 + w, y0 + h)],
        RGBColor(180, 180, 180).stroke_width(1),
    ))?;
    let style = TextStyle::from((FONT_FAMILY, LEGEND_FONT).into_font())
        .color(&BLACK)
        .pos(Pos::new(HPos::Left, VPos::Center));
    for (i, (label, key)) in fig.legend.iter().enumerate() {
        let y = y0 + 5 + LEGEND_ROW / 2 + i as i32 * LEGEND_ROW;
        let x = x0 + 8;
        match *key {
            Key::Block(color) => {
                root.draw(&Rectangle::new(
                    [(x, y - 6), (x + 22, y + 6)],
                    color.filled(),
                ))?;
            }
            Key::Line {
                color,
                dashed: true,
            } => {
                root.draw(&PathElement::new(
                    vec![(x, y), (x + 8, y)],
                    color.stroke_width(3),
                ))?;
                root.draw(&PathElement::new(
                    vec![(x + 14, y), (x + 22, y)],
                    color.stroke_width(3),
                ))?;
            }
            Key::Line { color, .. } => {
                root.draw(&PathElement::new(
                    vec![(x, y), (x + 22, y)],
                    color.stroke_width(3),
                ))?;
            }
        }
        root.draw(&Text::new(label.clone(), (x + 30, y), style.clone()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_axis_keeps_its_bottom_decade() {
        let first = |(lo, hi): (f64, f64)| {
            let coord: LogCoord<f64> = (lo..hi).log_scale().into();
            coord.key_points(30)[0]
        };
        // plotters alone starts at 1e-5 (see `axis_range`).
        assert!((first((1e-6, 1.0)) - 1e-5).abs() < 1e-12);
        for (lo, hi) in [(1e-6, 1.0), (1e-3, 1.0), (10.0, 1e5), (1.0, 1e6)] {
            let got = first(axis_range((lo, hi), true));
            assert!((got / lo - 1.0).abs() < 1e-6, "{lo}: first key point {got}");
        }
    }

    #[test]
    fn integer_x_gets_whole_tick_labels_only() {
        let fig = |xs: &[f64]| Figure {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            x_range: (0.0, 10.0),
            y_range: (0.0, 1.0),
            x_log: false,
            y_log: false,
            x_categories: None,
            y_categories: None,
            shapes: xs
                .iter()
                .map(|&x| Shape::Marker {
                    at: (x, 0.5),
                    color: BLACK,
                })
                .collect(),
            legend: Vec::new(),
            legend_at: LegendAt::UpperLeft,
            width: 400,
            height: 300,
        };
        assert!(whole_x(&fig(&[3.0, 5.0, 7.0])));
        assert!(!whole_x(&fig(&[3.0, 5.5])));
        assert!(!whole_x(&fig(&[])));
    }

    #[test]
    fn error_bars_are_clipped_to_a_log_axis() {
        let mut fig = Figure {
            title: String::new(),
            x_label: String::new(),
            y_label: String::new(),
            x_range: (0.0, 1.0),
            y_range: (1e-3, 1.0),
            x_log: false,
            y_log: true,
            x_categories: None,
            y_categories: None,
            shapes: Vec::new(),
            legend: Vec::new(),
            legend_at: LegendAt::UpperLeft,
            width: 100,
            height: 100,
        };
        assert_eq!(
            error_bar_span(1e-9, 0.5, &fig),
            Some((1e-3, 0.5, (false, true)))
        );
        assert_eq!(
            error_bar_span(0.01, 2.0, &fig),
            Some((0.01, 1.0, (true, false)))
        );
        assert_eq!(error_bar_span(1e-6, 1e-4, &fig), None);
        fig.y_log = false;
        assert_eq!(
            error_bar_span(-0.1, 0.5, &fig),
            Some((-0.1, 0.5, (true, true)))
        );
    }

    #[test]
    fn tick_labels_are_short() {
        assert_eq!(tick(150.0), "150");
        assert_eq!(tick(0.05), "0.05");
        assert_eq!(tick(1.5), "1.5");
        assert_eq!(tick(0.30000000000000004), "0.3");
        assert_eq!(log_tick(200.0), "200");
        assert_eq!(log_tick(300.0), "");
        assert_eq!(log_tick(1000.0), "1000");
    }
}
