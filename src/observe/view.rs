//! The interactive trace viewer: one self-contained HTML page (no network,
//! no CDN) holding a trace's records and the script that draws them as a
//! zoomable space-time diagram (`agentsim view TRACE`).
//!
//! ```text
//!   trace.jsonl ──validate, window, nodes──▶ JSON array ──escape──▶ <script type="application/json">
//!   assets/viewer.{html,css,js} ──include_str!─────────────────────▶ the page
//! ```
//!
//! # Safety of the embedded data
//!
//! Every record is checked to parse as JSON, so the array is valid JSON; then `<`, `>`, `&`, U+2028 and U+2029 are written as `\uXXXX`
//! escapes (in valid JSON they can only occur inside strings, where the
//! escape means the same character), so no trace text can close the
//! `<script>` element or open another. The page's script shows trace text
//! with `textContent` only, never as HTML.
//!
//! # Limits
//!
//! Pages hold at most [`ViewOptions::records_max`] records (default
//! [`RECORDS_MAX`]); a longer trace is refused with a message that says how
//! to narrow it (`--from`/`--to`, `--nodes`): the page stays responsive
//! rather than silently sampled.

use crate::time::SimTime;
use std::io::BufRead;
use std::path::Path;

/// Default most records a page holds (about 40 MB of page).
pub const RECORDS_MAX: usize = 300_000;

const TEMPLATE: &str = include_str!("../../assets/viewer.html");
const STYLE: &str = include_str!("../../assets/viewer.css");
const SCRIPT: &str = include_str!("../../assets/viewer.js");

/// Which records of a trace go into the page.
#[derive(Clone, Debug)]
pub struct ViewOptions {
    /// Only records at or after this time, in ns.
    pub from_ns: Option<SimTime>,
    /// Only records at or before this time, in ns.
    pub to_ns: Option<SimTime>,
    /// Only records whose nodes (`node`, `from`, `to`) are all among these (empty: all).
    pub nodes: Vec<u64>,
    /// Refuse traces with more records than this (after the window and node filter).
    pub records_max: usize,
}

impl Default for ViewOptions {
    fn default() -> Self {
        ViewOptions {
            from_ns: None,
            to_ns: None,
            nodes: Vec::new(),
            records_max: RECORDS_MAX,
        }
    }
}

/// A page and what it holds.
#[derive(Clone, Debug)]
pub struct Page {
    /// The HTML text.
    pub html: String,
    /// Records embedded (`run_start` and `run_end` included).
    pub records: usize,
    /// Event records among them (all but `run_start` and `run_end`): the
    /// viewer draws one item for each.
    pub events: usize,
}

/// Writes `json` (valid JSON) so that it can sit inside a `<script>` element.
pub fn escape_for_script(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 16);
    for c in json.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// Builds the viewer page of the trace at `path`; an error is one line
/// naming the input at fault (the trace, a flag) and what is accepted.
pub fn page(path: &Path, opts: &ViewOptions) -> Result<Page, String> {
    let bad = |m: String| format!("{}: {m}", path.display());
    let unreadable = |e: std::io::Error| format!("{}: cannot read: {e}", path.display());
    if let (Some(a), Some(b)) = (opts.from_ns, opts.to_ns) {
        if a >= b {
            return Err("--from must be before --to (accepted: --from A --to B with A < B)".into());
        }
    }
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut data = String::from("[");
    let (mut records, mut events) = (0usize, 0usize);
    let mut nodes: Option<u64> = None;
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(unreadable)?;
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| bad(format!("line {}: not a trace record: {e}", i + 1)))?;
        let ty = v["type"]
            .as_str()
            .ok_or_else(|| bad(format!("line {}: a record without a type", i + 1)))?;
        let d = &v["data"];
        let event = !matches!(ty, "run_start" | "run_end");
        if ty == "run_start" {
            nodes = d["scenario"]["nodes"].as_u64();
        }
        if event {
            let t = d["t_ns"].as_u64().unwrap_or(0);
            if opts.from_ns.is_some_and(|a| t < a) || opts.to_ns.is_some_and(|b| t > b) {
                continue;
            }
            if !opts.nodes.is_empty()
                && ["node", "from", "to"]
                    .iter()
                    .filter_map(|k| d[*k].as_u64())
                    .any(|n| !opts.nodes.contains(&n))
            {
                continue;
            }
            events += 1;
        }
        records += 1;
        if records > opts.records_max {
            return Err(bad(format!(
                "more than {} records to show (accepted: at most --records-max {}; narrow the trace with --from/--to or --nodes)",
                opts.records_max, opts.records_max
            )));
        }
        if records > 1 {
            data.push(',');
        }
        // The line as written (valid JSON: it parsed), keys in its order.
        data.push_str(line.trim());
        data.push('\n');
    }
    let Some(n) = nodes else {
        return Err(bad(
            "no run_start record (accepted: a trace written by `agentsim run --trace`)".into(),
        ));
    };
    if let Some(&k) = opts.nodes.iter().find(|&&k| k >= n) {
        return Err(format!(
            "--nodes: node {k} is not in the run (accepted: 0..{n})"
        ));
    }
    data.push(']');
    let (head, tail) = TEMPLATE
        .split_once("{{DATA}}")
        .expect("the viewer template has a {{DATA}} slot");
    let head = head.replacen("{{STYLE}}", STYLE, 1);
    let tail = tail.replacen("{{SCRIPT}}", SCRIPT, 1);
    let mut html = String::with_capacity(head.len() + data.len() + tail.len() + 64);
    html.push_str(&head);
    html.push_str(&escape_for_script(&data));
    html.push_str(&tail);
    Ok(Page {
        html,
        records,
        events,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_closers_are_escaped() {
        let json = serde_json::to_string(&serde_json::json!({
            "detail": "</script><script>alert(1)</script> & \u{2028}"
        }))
        .unwrap();
        let e = escape_for_script(&json);
        assert!(!e.contains('<') && !e.contains('>') && !e.contains('&'));
        assert!(!e.contains('\u{2028}'));
        // The escaped text is the same JSON value.
        let back: serde_json::Value = serde_json::from_str(&e).unwrap();
        assert_eq!(
            back["detail"],
            "</script><script>alert(1)</script> & \u{2028}"
        );
    }

    #[test]
    fn assets_cannot_close_their_element() {
        // The style and script are inlined: a `</style>` or `</script>` in
        // them would end the element early.
        assert!(!STYLE.to_lowercase().contains("</style"));
        assert!(!SCRIPT.to_lowercase().contains("</script"));
        assert!(!SCRIPT.contains("{{DATA}}") && !STYLE.contains("{{DATA}}"));
        assert_eq!(TEMPLATE.matches("{{DATA}}").count(), 1);
        // Nothing is fetched from the network.
        for asset in [TEMPLATE, STYLE, SCRIPT] {
            assert!(!asset.contains("http://") && !asset.contains("https://"));
        }
    }
}
