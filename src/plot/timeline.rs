//! A time series of a protocol fact from a trace file (JSON Lines, see
//! [`crate::observe::trace`]), read from the generic facts of `note`
//! records only, so it works for every protocol: when notes say who leads
//! (`leads`, `believes`), which node each live node believes leads, over
//! time; otherwise each node's notes as marks on its row, labelled by `tag`.
//!
//! Beliefs: `leads: true` (the node believes itself), `believes: N` (it
//! believes N leads), `believes: null` or `leads: false` (no leader known);
//! `crash` makes the node down until `recover` (after which no leader is
//! known).

use super::render::{Figure, Key, LegendAt, Shape, PALETTE};
use crate::experiment::ExperimentError;
use crate::time::{SimTime, MS};
use plotters::style::RGBColor;
use std::io::BufRead;
use std::path::Path;

const NO_LEADER: RGBColor = RGBColor(215, 215, 215);
const DOWN: RGBColor = RGBColor(60, 60, 60);

/// What a node believes at some time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Belief {
    NoLeader,
    Leads(u64),
    Down,
}

/// One note or fault in the trace.
struct Mark {
    t_ns: SimTime,
    node: u64,
    /// The note's tag, or `crash` / `recover`.
    fact: String,
    /// What it says of leadership, if anything.
    belief: Option<Belief>,
}

/// Options of a timeline figure.
#[derive(Clone, Debug, Default)]
pub struct TimelineOptions {
    /// Time window shown (default: the whole run).
    pub from_ns: Option<SimTime>,
    /// End of the time window shown, in ns (default: the end of the run).
    pub to_ns: Option<SimTime>,
    /// Figure width in pixels.
    pub width: u32,
    /// Figure height in pixels.
    pub height: u32,
}

/// Builds the timeline figure of a trace file.
pub fn timeline(path: &Path, opts: &TimelineOptions) -> Result<Figure, ExperimentError> {
    let bad = |m: String| ExperimentError::BadInput(format!("{}: {m}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| ExperimentError::input(path, e))?;
    let mut nodes: Option<u64> = None;
    let mut end_ns: SimTime = 0;
    let mut marks: Vec<Mark> = Vec::new();
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
        end_ns = end_ns.max(t);
        let node = d["node"].as_u64().unwrap_or(0);
        match ty {
            "run_start" => {
                let schema = d["schema"].as_u64();
                if schema != Some(crate::observe::trace::SCHEMA_VERSION as u64) {
                    return Err(bad(format!(
                        "line {}: trace schema {} but this agentsim reads schema {} (accepted: a trace written by this version's `run --trace`)",
                        i + 1,
                        schema.map_or("missing".to_string(), |s| s.to_string()),
                        crate::observe::trace::SCHEMA_VERSION
                    )));
                }
                nodes = d["scenario"]["nodes"].as_u64();
            }
            "note" => {
                let belief = match (d["leads"].as_bool(), d.get("believes")) {
                    (Some(true), _) => Some(Belief::Leads(node)),
                    (Some(false), _) => Some(Belief::NoLeader),
                    (None, Some(b)) => Some(b.as_u64().map_or(Belief::NoLeader, Belief::Leads)),
                    (None, None) => None,
                };
                marks.push(Mark {
                    t_ns: t,
                    node,
                    fact: d["tag"].as_str().unwrap_or("note").to_string(),
                    belief,
                })
            }
            "crash" => marks.push(Mark {
                t_ns: t,
                node,
                fact: ty.to_string(),
                belief: Some(Belief::Down),
            }),
            "recover" => marks.push(Mark {
                t_ns: t,
                node,
                fact: ty.to_string(),
                belief: Some(Belief::NoLeader),
            }),
            other if !crate::observe::trace::RECORD_TYPES.contains(&other) => {
                let shown: String = other.chars().take(40).collect();
                return Err(bad(format!(
                    "line {}: unknown record type '{shown}' (accepted: {})",
                    i + 1,
                    crate::observe::trace::RECORD_TYPES.join(", ")
                )));
            }
            _ => {}
        }
    }
    let n = nodes.ok_or_else(|| {
        bad("no run_start record (accepted: a trace written by `agentsim run --trace`)".into())
    })?;
    if marks.is_empty() {
        return Err(bad(
            "no notes (accepted: a trace at level notes or above: --trace-level notes)".into(),
        ));
    }
    let from = opts.from_ns.unwrap_or(0);
    let to = opts.to_ns.unwrap_or(end_ns).max(from + 1);
    let ms = |t: SimTime| t as f64 / MS as f64;
    let name = path
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let categories: Vec<String> = (0..n).map(|i| format!("node {i}")).collect();
    let mut shapes = Vec::new();
    let mut legend = Vec::new();
    let says_who_leads = marks
        .iter()
        .any(|m| matches!(m.belief, Some(Belief::Leads(_))));
    let title;
    if says_who_leads {
        title = format!("Who each node believes leads ({name})");
        // Intervals of belief per node.
        let mut state = vec![(0u64, Belief::NoLeader); n as usize];
        let mut leaders_seen: Vec<u64> = Vec::new();
        let mut push = |node: u64, t0: SimTime, t1: SimTime, b: Belief| {
            let (a, z) = (t0.max(from), t1.min(to));
            if a >= z {
                return;
            }
            let color = match b {
                Belief::NoLeader => NO_LEADER,
                Belief::Down => DOWN,
                Belief::Leads(l) => PALETTE[l as usize % PALETTE.len()],
            };
            let y = node as f64;
            shapes.push(Shape::Rect {
                from: (ms(a), y - 0.32),
                to: (ms(z), y + 0.32),
                color,
                opacity: 1.0,
            });
        };
        for m in &marks {
            if m.node >= n {
                continue;
            }
            let Some(b) = m.belief else {
                continue;
            };
            let (t0, prev) = state[m.node as usize];
            if prev == b {
                continue;
            }
            push(m.node, t0, m.t_ns, prev);
            state[m.node as usize] = (m.t_ns, b);
            if let Belief::Leads(l) = b {
                if !leaders_seen.contains(&l) {
                    leaders_seen.push(l);
                }
            }
        }
        for (node, &(t0, b)) in state.iter().enumerate() {
            push(node as u64, t0, to, b);
        }
        leaders_seen.sort_unstable();
        for l in leaders_seen {
            legend.push((
                format!("believes node {l} leads"),
                Key::Block(PALETTE[l as usize % PALETTE.len()]),
            ));
        }
        legend.push(("no leader known".into(), Key::Block(NO_LEADER)));
        legend.push(("down".into(), Key::Block(DOWN)));
    } else {
        title = format!("Protocol notes over time ({name})");
        let mut facts: Vec<String> = Vec::new();
        for m in &marks {
            if m.t_ns < from || m.t_ns > to || m.node >= n {
                continue;
            }
            let k = match facts.iter().position(|f| *f == m.fact) {
                Some(k) => k,
                None => {
                    facts.push(m.fact.clone());
                    facts.len() - 1
                }
            };
            shapes.push(Shape::Marker {
                at: (ms(m.t_ns), m.node as f64),
                color: PALETTE[k % PALETTE.len()],
            });
        }
        for (k, f) in facts.iter().enumerate() {
            legend.push((f.clone(), Key::Block(PALETTE[k % PALETTE.len()])));
        }
    }
    Ok(Figure {
        title,
        x_label: "time (ms)".into(),
        y_label: String::new(),
        x_range: (ms(from), ms(to)),
        y_range: (-0.6, n as f64 - 0.4),
        x_log: false,
        y_log: false,
        x_categories: None,
        y_categories: Some(categories),
        shapes,
        legend,
        legend_at: LegendAt::Outside,
        width: opts.width,
        height: opts.height,
        ..Figure::default()
    })
}
