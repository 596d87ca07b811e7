//! Space-time (Lamport) diagrams of a trace file: one vertical line per node,
//! time downwards, an arrow per delivered message, drops marked with their
//! reason, crashed spans shaded, partitions, notes and violations shown.
//!
//! It reads only the generic records of [`crate::observe::trace`] (`send`,
//! `deliver`, `drop`, `duplicate`, `crash`, `recover`, `net_change`, `note`
//! with its `leads` / `believes` / `decided` / `tag`, `violation`), so it
//! draws every protocol's runs. Messages appear at trace level `events` or
//! above.
//!
//! ```text
//!   trace.jsonl ──parse──▶ Diagram (events in window) ──layout──▶ [Prim] ──▶ SVG (own writer,
//!                                                                        └─▶ PNG  text as outlines)
//! ```
//!
//! The SVG marks each element with a class (`deliver`, `drop`, `down`,
//! `partition`, `note`, `violation`), so tools and tests can count them.

use super::render::{FONT, FONT_FAMILY};
use super::svg_text;
use crate::experiment::plotspec::Format;
use crate::experiment::ExperimentError;
use crate::time::{SimTime, MS};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::BufRead;
use std::path::Path;

/// Options of a space-time diagram.
#[derive(Clone, Debug, Default)]
pub struct SpacetimeOptions {
    /// Start of the time window shown, in ns (default: 0).
    pub from_ns: Option<SimTime>,
    /// End of the time window shown, in ns (default: the end of the run).
    pub to_ns: Option<SimTime>,
    /// Only these nodes (default: all); messages between two shown nodes are drawn.
    pub nodes: Vec<u64>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels (default: from the number of events shown).
    pub height: Option<u32>,
}

/// Arrows past this many are drawn without their kind label.
pub const LABELS_MAX: usize = 150;

/// A message as the trace tells it.
#[derive(Clone, Debug, Default)]
struct Msg {
    from: u64,
    to: u64,
    kind: String,
    sent_ns: Option<SimTime>,
    /// `deliver` time, or `drop` time and reason.
    end: Option<(SimTime, Option<String>)>,
    /// A network copy (`duplicate`) of this message id.
    copy_of: Option<u64>,
}

/// A fact on a node's line.
#[derive(Clone, Debug)]
struct Mark {
    t_ns: SimTime,
    node: u64,
    label: String,
    /// A leadership change (`leads: true`): drawn bigger.
    leads: bool,
}

/// What the trace says, parsed.
#[derive(Clone, Debug, Default)]
struct Trace {
    nodes: u64,
    end_ns: SimTime,
    msgs: BTreeMap<u64, Msg>,
    marks: Vec<Mark>,
    /// Per node, `(crash, recover)` spans (recover `None`: down to the end).
    down: Vec<(u64, SimTime, Option<SimTime>)>,
    /// `(start, end, change)` of each non-heal network change.
    net: Vec<(SimTime, Option<SimTime>, String)>,
    /// `(t, property, detail)`.
    violations: Vec<(SimTime, String, String)>,
    protocol: String,
    seed: String,
}

fn parse(path: &Path) -> Result<Trace, ExperimentError> {
    let bad = |m: String| ExperimentError::BadInput(format!("{}: {m}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| ExperimentError::input(path, e))?;
    let mut tr = Trace::default();
    let mut nodes = None;
    let mut events = false;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|e| ExperimentError::input(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| bad(format!("line {}: not a trace record: {e}", i + 1)))?;
        let ty = v["type"].as_str().unwrap_or("");
        let d = &v["data"];
        let t = d["t_ns"].as_u64().unwrap_or(0);
        tr.end_ns = tr.end_ns.max(t);
        let node = d["node"].as_u64().unwrap_or(0);
        let s = |k: &str| d[k].as_str().unwrap_or("").to_string();
        let id = d["id"].as_u64().unwrap_or(0);
        let ends = |m: &mut Msg| {
            m.from = d["from"].as_u64().unwrap_or(m.from);
            m.to = d["to"].as_u64().unwrap_or(m.to);
            if let Some(k) = d["kind"].as_str() {
                m.kind = k.to_string();
            }
        };
        match ty {
            "run_start" => {
                nodes = d["scenario"]["nodes"].as_u64();
                tr.protocol = s("protocol");
                tr.seed = d["seed"].to_string();
            }
            "send" => {
                events = true;
                let m = tr.msgs.entry(id).or_default();
                ends(m);
                m.sent_ns = Some(t);
            }
            "deliver" => {
                events = true;
                let m = tr.msgs.entry(id).or_default();
                ends(m);
                m.end = Some((t, None));
            }
            "drop" => {
                events = true;
                let m = tr.msgs.entry(id).or_default();
                ends(m);
                m.end = Some((t, Some(s("reason"))));
            }
            "duplicate" => {
                events = true;
                let m = tr.msgs.entry(id).or_default();
                ends(m);
                m.copy_of = d["of"].as_u64();
            }
            "crash" => tr.down.push((node, t, None)),
            "recover" => {
                if let Some(span) = tr
                    .down
                    .iter_mut()
                    .rev()
                    .find(|s| s.0 == node && s.2.is_none())
                {
                    span.2 = Some(t);
                }
            }
            "net_change" => {
                if let Some(open) = tr.net.last_mut().filter(|n| n.1.is_none()) {
                    open.1 = Some(t);
                }
                let c = s("change");
                if c != "heal" {
                    tr.net.push((t, None, c));
                }
            }
            "note" => {
                let mut label = d["tag"].as_str().map(str::to_string).unwrap_or_else(|| {
                    let n = d["note"].to_string();
                    n.chars().take(24).collect()
                });
                if let Some(dec) = d.get("decided").filter(|x| !x.is_null()) {
                    label = format!("decided {}", compact(&dec["value"]));
                }
                tr.marks.push(Mark {
                    t_ns: t,
                    node,
                    label,
                    leads: d["leads"].as_bool() == Some(true),
                });
            }
            "violation" => tr.violations.push((t, s("property"), s("detail"))),
            _ => {}
        }
    }
    tr.nodes = nodes.ok_or_else(|| {
        bad("no run_start record (accepted: a trace written by `agentsim run --trace`)".into())
    })?;
    if !events {
        return Err(bad(
            "no message records (accepted: a trace at level events or above: --trace-level events)"
                .into(),
        ));
    }
    // A copy's send is its original's.
    let originals: Vec<(u64, u64)> = tr
        .msgs
        .iter()
        .filter_map(|(&id, m)| m.copy_of.map(|o| (id, o)))
        .collect();
    for (id, of) in originals {
        let (sent, kind) = tr
            .msgs
            .get(&of)
            .map(|o| (o.sent_ns, o.kind.clone()))
            .unwrap_or_default();
        let m = tr.msgs.get_mut(&id).expect("listed above");
        m.sent_ns = m.sent_ns.or(sent);
        if m.kind.is_empty() {
            m.kind = kind;
        }
    }
    Ok(tr)
}

/// A JSON value in a few characters (a string without its quotes).
fn compact(v: &serde_json::Value) -> String {
    let s = match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > 20 {
        format!("{}…", s.chars().take(19).collect::<String>())
    } else {
        s
    }
}

/// How a text is anchored at its point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Anchor {
    Start,
    Middle,
    End,
}

/// One thing to draw, in pixels.
#[derive(Clone, Debug)]
enum Prim {
    Line {
        a: (f64, f64),
        b: (f64, f64),
        color: RGBColor,
        width: f64,
        dashed: bool,
        arrow: bool,
        class: &'static str,
        title: String,
    },
    Rect {
        a: (f64, f64),
        b: (f64, f64),
        color: RGBColor,
        opacity: f64,
        class: &'static str,
        title: String,
    },
    Dot {
        c: (f64, f64),
        r: f64,
        color: RGBColor,
        class: &'static str,
        title: String,
    },
    Cross {
        c: (f64, f64),
        r: f64,
        color: RGBColor,
        class: &'static str,
        title: String,
    },
    Text {
        at: (f64, f64),
        text: String,
        size: f64,
        color: RGBColor,
        anchor: Anchor,
    },
}

/// Arrow colours, one per message kind (none of the marks' colours).
const KINDS: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(117, 112, 179), // purple
    RGBColor(140, 86, 75),   // brown
    RGBColor(60, 60, 60),    // dark grey
    RGBColor(188, 189, 34),  // olive
    RGBColor(31, 60, 120),   // navy
    RGBColor(166, 118, 29),  // ochre
];
const DROP: RGBColor = RGBColor(213, 94, 0);
const DOWN: RGBColor = RGBColor(120, 120, 120);
const PARTITION: RGBColor = RGBColor(230, 159, 0);
const VIOLATION: RGBColor = RGBColor(200, 0, 0);
const NOTE: RGBColor = RGBColor(0, 158, 115);
const LEADER: RGBColor = RGBColor(204, 121, 167);
const GRID: RGBColor = RGBColor(60, 60, 60);

const BOTTOM: f64 = 30.0;
const LEFT: f64 = 84.0;
const RIGHT: f64 = 30.0;

fn ms(t: SimTime) -> f64 {
    t as f64 / MS as f64
}

/// Builds the diagram's display list; returns it and the figure's size.
fn layout(path: &Path, tr: &Trace, opts: &SpacetimeOptions) -> (Vec<Prim>, u32, u32) {
    let from = opts.from_ns.unwrap_or(0);
    let to = opts.to_ns.unwrap_or(tr.end_ns).max(from + 1);
    let shown: Vec<u64> = if opts.nodes.is_empty() {
        (0..tr.nodes).collect()
    } else {
        opts.nodes
            .iter()
            .copied()
            .filter(|&n| n < tr.nodes)
            .collect()
    };
    let col = |n: u64| shown.iter().position(|&s| s == n);
    let in_win = |t: SimTime| t >= from && t <= to;
    // Messages drawn: delivered or dropped in the window, both ends shown.
    let drawn: Vec<(&u64, &Msg)> = tr
        .msgs
        .iter()
        .filter(|(_, m)| {
            m.end.as_ref().is_some_and(|e| in_win(e.0))
                && col(m.from).is_some()
                && col(m.to).is_some()
        })
        .collect();
    let events =
        drawn.len() + tr.marks.iter().filter(|m| in_win(m.t_ns)).count() + tr.violations.len();
    let w = opts.width as f64;
    let h = opts
        .height
        .unwrap_or((120.0 + BOTTOM + 14.0 * events as f64).clamp(600.0, 4000.0) as u32)
        as f64;
    let ncols = shown.len().max(1) as f64;
    let colw = (w - LEFT - RIGHT) / ncols;
    let x = |n: u64| LEFT + (col(n).unwrap_or(0) as f64 + 0.5) * colw;
    let mut out = Vec::new();
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut title = format!(
        "Messages of {name} ({} seed {}), {}–{} ms",
        tr.protocol,
        tr.seed,
        crate::plot::render::tick(ms(from)),
        crate::plot::render::tick(ms(to))
    );
    let labels = drawn.len() <= LABELS_MAX;
    if !labels {
        title.push_str(&format!(
            " ({} arrows: labels hidden, narrow --from/--to)",
            drawn.len()
        ));
    }
    out.push(Prim::Text {
        at: (w / 2.0, 18.0),
        text: title,
        size: 17.0,
        color: BLACK,
        anchor: Anchor::Middle,
    });
    // Legend: one colour per message kind, then the other marks; rows wrap.
    let mut kinds: Vec<&str> = Vec::new();
    for (_, m) in &drawn {
        if m.end.as_ref().is_some_and(|e| e.1.is_none()) && !kinds.contains(&m.kind.as_str()) {
            kinds.push(&m.kind);
        }
    }
    let kind_color = |k: &str| {
        let i = kinds.iter().position(|x| *x == k).unwrap_or(0);
        KINDS[i % KINDS.len()]
    };
    let mut legend: Vec<(String, RGBColor)> = kinds
        .iter()
        .map(|k| {
            (
                if k.is_empty() { "?" } else { k }.to_string(),
                kind_color(k),
            )
        })
        .collect();
    legend.extend(
        [
            ("dropped (✕ reason)", DROP),
            ("down", DOWN),
            ("partition", PARTITION),
            ("note", NOTE),
            ("leader", LEADER),
            ("violation", VIOLATION),
        ]
        .map(|(l, c)| (l.to_string(), c)),
    );
    let (mut lx, mut ly) = (LEFT, 43.0);
    for (label, color) in legend {
        let lw = 30.0 + super::render::text_width(&label, 12.0);
        if lx + lw > w - RIGHT && lx > LEFT {
            lx = LEFT;
            ly += 18.0;
        }
        out.push(Prim::Rect {
            a: (lx, ly - 5.0),
            b: (lx + 16.0, ly + 5.0),
            color,
            opacity: 1.0,
            class: "legend",
            title: String::new(),
        });
        out.push(Prim::Text {
            at: (lx + 21.0, ly),
            text: label,
            size: 12.0,
            color: BLACK,
            anchor: Anchor::Start,
        });
        lx += lw;
    }
    let top = ly + 52.0;
    let (y0, y1) = (top, h - BOTTOM);
    let y = |t: SimTime| y0 + (t.clamp(from, to) - from) as f64 / (to - from) as f64 * (y1 - y0);
    // Partitions: bands across the whole width.
    for (a, b, change) in &tr.net {
        let b = b.unwrap_or(tr.end_ns);
        if b < from || *a > to {
            continue;
        }
        out.push(Prim::Rect {
            a: (LEFT, y(*a)),
            b: (w - RIGHT, y(b).max(y(*a) + 2.0)),
            color: PARTITION,
            opacity: 0.15,
            class: "partition",
            title: format!("{change} from {} ms to {} ms", ms(*a), ms(b)),
        });
        if *a >= from {
            out.push(Prim::Text {
                at: (w - RIGHT - 2.0, y(*a) + 7.0),
                text: change.clone(),
                size: 11.0,
                color: RGBColor(150, 100, 0),
                anchor: Anchor::End,
            });
        }
    }
    // Crashed spans.
    for &(node, a, b) in &tr.down {
        let b = b.unwrap_or(tr.end_ns.max(to));
        if col(node).is_none() || b < from || a > to {
            continue;
        }
        out.push(Prim::Rect {
            a: (x(node) - colw * 0.18, y(a)),
            b: (x(node) + colw * 0.18, y(b).max(y(a) + 2.0)),
            color: DOWN,
            opacity: 0.35,
            class: "down",
            title: format!("node {node} down from {} ms to {} ms", ms(a), ms(b)),
        });
    }
    // Node lines and headers.
    for &n in &shown {
        out.push(Prim::Line {
            a: (x(n), y0),
            b: (x(n), y1),
            color: GRID,
            width: 1.0,
            dashed: false,
            arrow: false,
            class: "node",
            title: String::new(),
        });
        out.push(Prim::Text {
            at: (x(n), top - 18.0),
            text: format!("node {n}"),
            size: 14.0,
            color: BLACK,
            anchor: Anchor::Middle,
        });
    }
    // Time ticks.
    let span = ms(to) - ms(from);
    let step = nice_step(span / 10.0);
    let mut k = (ms(from) / step).ceil();
    while k * step <= ms(to) + 1e-9 {
        let t = k * step;
        let py = y0 + (t - ms(from)) / span * (y1 - y0);
        out.push(Prim::Line {
            a: (LEFT - 6.0, py),
            b: (LEFT, py),
            color: GRID,
            width: 1.0,
            dashed: false,
            arrow: false,
            class: "tick",
            title: String::new(),
        });
        out.push(Prim::Text {
            at: (LEFT - 9.0, py),
            text: format!("{} ms", crate::plot::render::tick(t)),
            size: 12.0,
            color: BLACK,
            anchor: Anchor::End,
        });
        k += 1.0;
    }
    // Messages.
    for (id, m) in &drawn {
        let (end_t, reason) = m.end.clone().expect("filtered on end");
        let sent = m.sent_ns.unwrap_or(end_t);
        let a = (x(m.from), y(sent));
        let kind = if m.kind.is_empty() { "?" } else { &m.kind };
        match reason {
            None => {
                let b = (x(m.to), y(end_t));
                out.push(Prim::Line {
                    a,
                    b,
                    color: kind_color(&m.kind),
                    width: 1.2,
                    dashed: m.copy_of.is_some(),
                    arrow: true,
                    class: "deliver",
                    title: format!(
                        "{kind} {}→{} id {id}: sent {} ms, delivered {} ms{}",
                        m.from,
                        m.to,
                        ms(sent),
                        ms(end_t),
                        m.copy_of
                            .map(|o| format!(" (a copy of {o})"))
                            .unwrap_or_default()
                    ),
                });
                if labels {
                    out.push(Prim::Text {
                        at: ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0 - 5.0),
                        text: kind.to_string(),
                        size: 10.0,
                        color: kind_color(&m.kind),
                        anchor: Anchor::Middle,
                    });
                }
            }
            Some(reason) => {
                // Dropped at its send (loss, partition): a short stub towards
                // its destination; later (dst_down): up to the destination.
                let b = if end_t > sent || m.from == m.to {
                    (x(m.to), y(end_t))
                } else {
                    (a.0 + (x(m.to) - a.0) * 0.3, a.1 + 6.0)
                };
                out.push(Prim::Line {
                    a,
                    b,
                    color: DROP,
                    width: 1.0,
                    dashed: true,
                    arrow: false,
                    class: "drop-path",
                    title: String::new(),
                });
                out.push(Prim::Cross {
                    c: b,
                    r: 4.0,
                    color: DROP,
                    class: "drop",
                    title: format!(
                        "{kind} {}→{} id {id} dropped ({reason}) at {} ms",
                        m.from,
                        m.to,
                        ms(end_t)
                    ),
                });
                if labels {
                    let right = b.0 >= a.0;
                    out.push(Prim::Text {
                        at: (b.0 + if right { 6.0 } else { -6.0 }, b.1 + 1.0),
                        text: format!("{kind} ✕ {reason}"),
                        size: 10.0,
                        color: DROP,
                        anchor: if right { Anchor::Start } else { Anchor::End },
                    });
                }
            }
        }
    }
    // Notes.
    for m in &tr.marks {
        if !in_win(m.t_ns) || col(m.node).is_none() {
            continue;
        }
        let c = (x(m.node), y(m.t_ns));
        out.push(Prim::Dot {
            c,
            r: if m.leads { 6.0 } else { 3.5 },
            color: if m.leads { LEADER } else { NOTE },
            class: "note",
            title: format!("node {} at {} ms: {}", m.node, ms(m.t_ns), m.label),
        });
        out.push(Prim::Text {
            at: (c.0 + 8.0, c.1 + 8.0),
            text: m.label.clone(),
            size: if m.leads { 12.0 } else { 10.0 },
            color: if m.leads { LEADER } else { NOTE },
            anchor: Anchor::Start,
        });
    }
    // Violations: a red line across every node.
    for (t, property, detail) in &tr.violations {
        if !in_win(*t) {
            continue;
        }
        out.push(Prim::Line {
            a: (LEFT, y(*t)),
            b: (w - RIGHT, y(*t)),
            color: VIOLATION,
            width: 3.0,
            dashed: false,
            arrow: false,
            class: "violation",
            title: format!("{property} violated at {} ms: {detail}", ms(*t)),
        });
        out.push(Prim::Text {
            at: (LEFT + 4.0, y(*t) - 10.0),
            text: format!("violation: {property}: {detail}"),
            size: 13.0,
            color: VIOLATION,
            anchor: Anchor::Start,
        });
    }
    (out, w as u32, h as u32)
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    let raw = raw.max(1e-6);
    let p = libm::pow(10.0, libm::floor(libm::log10(raw)));
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|k| k * p)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * p)
}

fn hex(c: RGBColor) -> String {
    format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn title_el(t: &str) -> String {
    if t.is_empty() {
        String::new()
    } else {
        format!("<title>{}</title>", esc(t))
    }
}

/// The arrowhead's three points at `b`, pointing from `a`.
fn head(a: (f64, f64), b: (f64, f64)) -> [(f64, f64); 3] {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len = (dx * dx + dy * dy).sqrt().max(1e-9);
    let (ux, uy) = (dx / len, dy / len);
    let (l, hw) = (8.0, 3.5);
    [
        b,
        (b.0 - ux * l - uy * hw, b.1 - uy * l + ux * hw),
        (b.0 - ux * l + uy * hw, b.1 - uy * l - ux * hw),
    ]
}

fn svg(prims: &[Prim], w: u32, h: u32) -> Result<String, String> {
    let mut s = format!(
        "<svg width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">\n<rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#FFFFFF\"/>\n"
    );
    let f = |v: f64| format!("{:.1}", v);
    for p in prims {
        let _ = match p {
            Prim::Line {
                a,
                b,
                color,
                width,
                dashed,
                arrow,
                class,
                title,
            } => {
                let dash = if *dashed {
                    " stroke-dasharray=\"4 3\""
                } else {
                    ""
                };
                let mut el = format!(
                    "<g class=\"{class}\"><line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{}\" stroke-width=\"{width}\"{dash}/>",
                    f(a.0), f(a.1), f(b.0), f(b.1), hex(*color)
                );
                if *arrow {
                    let pts: Vec<String> = head(*a, *b)
                        .iter()
                        .map(|p| format!("{},{}", f(p.0), f(p.1)))
                        .collect();
                    let _ = write!(
                        el,
                        "<polygon points=\"{}\" fill=\"{}\"/>",
                        pts.join(" "),
                        hex(*color)
                    );
                }
                writeln!(s, "{el}{}</g>", title_el(title))
            }
            Prim::Rect {
                a,
                b,
                color,
                opacity,
                class,
                title,
            } => writeln!(
                s,
                "<rect class=\"{class}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" fill-opacity=\"{opacity}\">{}</rect>",
                f(a.0.min(b.0)),
                f(a.1.min(b.1)),
                f((b.0 - a.0).abs()),
                f((b.1 - a.1).abs()),
                hex(*color),
                title_el(title)
            ),
            Prim::Dot {
                c,
                r,
                color,
                class,
                title,
            } => writeln!(
                s,
                "<circle class=\"{class}\" cx=\"{}\" cy=\"{}\" r=\"{r}\" fill=\"{}\">{}</circle>",
                f(c.0),
                f(c.1),
                hex(*color),
                title_el(title)
            ),
            Prim::Cross {
                c,
                r,
                color,
                class,
                title,
            } => writeln!(
                s,
                "<path class=\"{class}\" d=\"M{} {}L{} {}M{} {}L{} {}\" stroke=\"{}\" stroke-width=\"2\">{}</path>",
                f(c.0 - r), f(c.1 - r), f(c.0 + r), f(c.1 + r),
                f(c.0 - r), f(c.1 + r), f(c.0 + r), f(c.1 - r),
                hex(*color),
                title_el(title)
            ),
            Prim::Text {
                at,
                text,
                size,
                color,
                anchor,
            } => {
                let anchor = match anchor {
                    Anchor::Start => "start",
                    Anchor::Middle => "middle",
                    Anchor::End => "end",
                };
                // The form plotters writes, which svg_text turns into outlines.
                writeln!(
                    s,
                    "<text x=\"{}\" y=\"{}\" dy=\"0.5ex\" text-anchor=\"{anchor}\" font-family=\"{FONT_FAMILY}\" font-size=\"{size}\" opacity=\"1\" fill=\"{}\">\n{}\n</text>",
                    f(at.0),
                    f(at.1),
                    hex(*color),
                    esc(text)
                )
            }
        };
    }
    s.push_str("</svg>\n");
    svg_text::outline_text(&s, FONT)
}

fn png(prims: &[Prim], w: u32, h: u32) -> Result<Vec<u8>, String> {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        // Registered by the figures too; registering twice is harmless.
        let _ = plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT);
    });
    let e = |e: DrawingAreaErrorKind<_>| e.to_string();
    let mut buf = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, (w, h)).into_drawing_area();
        let p = |v: (f64, f64)| (v.0.round() as i32, v.1.round() as i32);
        for prim in prims {
            match prim {
                Prim::Line {
                    a,
                    b,
                    color,
                    width,
                    dashed,
                    arrow,
                    ..
                } => {
                    let style = color.stroke_width(width.round().max(1.0) as u32);
                    if *dashed {
                        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
                        let n = (len / 7.0).floor() as usize;
                        for i in 0..=n {
                            let t0 = i as f64 * 7.0 / len.max(1e-9);
                            let t1 = ((i as f64 * 7.0 + 4.0) / len.max(1e-9)).min(1.0);
                            if t0 >= 1.0 {
                                break;
                            }
                            let at = |t: f64| (a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t);
                            root.draw(&PathElement::new(vec![p(at(t0)), p(at(t1))], style))
                                .map_err(e)?;
                        }
                    } else {
                        root.draw(&PathElement::new(vec![p(*a), p(*b)], style))
                            .map_err(e)?;
                    }
                    if *arrow {
                        let pts: Vec<(i32, i32)> = head(*a, *b).iter().map(|v| p(*v)).collect();
                        root.draw(&Polygon::new(pts, color.filled())).map_err(e)?;
                    }
                }
                Prim::Rect {
                    a,
                    b,
                    color,
                    opacity,
                    ..
                } => {
                    root.draw(&Rectangle::new(
                        [p(*a), p(*b)],
                        color.mix(*opacity).filled(),
                    ))
                    .map_err(e)?;
                }
                Prim::Dot { c, r, color, .. } => {
                    root.draw(&Circle::new(p(*c), r.round() as i32, color.filled()))
                        .map_err(e)?;
                }
                Prim::Cross { c, r, color, .. } => {
                    let style = color.stroke_width(2);
                    for (d0, d1) in [((-r, -r), (*r, *r)), ((-r, *r), (*r, -r))] {
                        root.draw(&PathElement::new(
                            vec![p((c.0 + d0.0, c.1 + d0.1)), p((c.0 + d1.0, c.1 + d1.1))],
                            style,
                        ))
                        .map_err(e)?;
                    }
                }
                Prim::Text {
                    at,
                    text,
                    size,
                    color,
                    anchor,
                } => {
                    let h = match anchor {
                        Anchor::Start => HPos::Left,
                        Anchor::Middle => HPos::Center,
                        Anchor::End => HPos::Right,
                    };
                    let style = TextStyle::from((FONT_FAMILY, *size).into_font())
                        .color(color)
                        .pos(Pos::new(h, VPos::Center));
                    root.draw(&Text::new(text.clone(), p(*at), style))
                        .map_err(e)?;
                }
            }
        }
        root.present().map_err(|e| e.to_string())?;
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        enc.set_compression(png::Compression::Default);
        let mut writer = enc.write_header().map_err(|e| e.to_string())?;
        writer.write_image_data(&buf).map_err(|e| e.to_string())?;
    }
    Ok(out)
}

/// Draws the space-time diagram of the trace at `path` as PNG or SVG bytes.
pub fn spacetime(
    path: &Path,
    opts: &SpacetimeOptions,
    format: Format,
) -> Result<Vec<u8>, ExperimentError> {
    let tr = parse(path)?;
    if let Some(&n) = opts.nodes.iter().find(|&&n| n >= tr.nodes) {
        return Err(ExperimentError::BadInput(format!(
            "--nodes: node {n} is not in the run (accepted: 0..{})",
            tr.nodes
        )));
    }
    if let (Some(a), Some(b)) = (opts.from_ns, opts.to_ns) {
        if a >= b {
            return Err(ExperimentError::BadInput(
                "--from must be before --to (accepted: --from A --to B with A < B)".into(),
            ));
        }
    }
    let (prims, w, h) = layout(path, &tr, opts);
    let bad = |m: String| ExperimentError::BadInput(format!("{}: {m}", path.display()));
    match format {
        Format::Png => png(&prims, w, h).map_err(bad),
        Format::Svg => svg(&prims, w, h).map(String::into_bytes).map_err(bad),
        Format::Pdf => svg(&prims, w, h)
            .and_then(|s| super::pdf::svg_to_pdf(&s))
            .map_err(bad),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_one_two_five() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(13.0), 20.0);
        assert_eq!(nice_step(41.0), 50.0);
        assert_eq!(nice_step(100.0), 100.0);
    }

    #[test]
    fn arrowheads_point_at_the_end() {
        let [tip, l, r] = head((0.0, 0.0), (100.0, 0.0));
        assert_eq!(tip, (100.0, 0.0));
        assert!(l.0 < 100.0 && r.0 < 100.0 && (l.1 + r.1).abs() < 1e-9);
    }
}
