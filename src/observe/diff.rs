//! Comparing two traces: two seeds, two builds or two scenarios.
//!
//! ```text
//!  A.jsonl ─┐  run_start  → setting differences (seed, scenario, program)
//!           ├─ events     → the first event record that differs, with context
//!  B.jsonl ─┘  counts     → records by type, messages by kind, drops by reason
//!              run_end    → metrics, facts, counts, hash
//! ```
//!
//! Records are compared as JSON values, so the order of fields within a
//! record does not matter, only their values. Unlike `replay`, which re-runs
//! one trace and compares it with itself line by line, `diff` takes two
//! recorded traces and reports where and how much they differ.

use super::records::{Record, TraceRecords};
use serde_json::Value;
use std::collections::BTreeMap;

/// Records longer than this are shortened in reports.
pub const SHOW_CHARS_MAX: usize = 160;

/// One field that differs: its dotted path and both values (`None`: absent).
#[derive(Clone, Debug, PartialEq)]
pub struct FieldDiff {
    /// `seed`, `scenario.net.loss_ratio`, `metrics.terms`, ...
    pub path: String,
    /// The value in A, as JSON text.
    pub a: Option<String>,
    /// The value in B, as JSON text.
    pub b: Option<String>,
}

/// One count that differs.
#[derive(Clone, Debug, PartialEq)]
pub struct CountDiff {
    /// `records`, `messages` or `drops`.
    pub group: &'static str,
    /// The record type, message kind or drop reason.
    pub key: String,
    /// The count in A.
    pub a: u64,
    /// The count in B.
    pub b: u64,
}

/// A few records around the first difference, from one trace.
#[derive(Clone, Debug, PartialEq)]
pub struct Context {
    /// The line of the differing record (`None`: the trace has no more events).
    pub line: Option<usize>,
    /// `(line, text)` of the records shown, the differing one among them.
    pub records: Vec<(usize, String)>,
}

/// The first event record where the traces differ.
#[derive(Clone, Debug, PartialEq)]
pub struct FirstDiff {
    /// Its index among the event records, from 0.
    pub index: usize,
    /// Virtual time of the differing record (A's, else B's), in ns.
    pub t_ns: Option<u64>,
    /// Its queue seq (A's, else B's).
    pub seq: Option<u64>,
    /// Around it in A.
    pub a: Context,
    /// Around it in B.
    pub b: Context,
}

/// How two traces differ; empty when they are identical.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TraceDiff {
    /// Event records compared (the longer trace's count).
    pub events: usize,
    /// Differences in `run_start` (seed, scenario, program, ...).
    pub settings: Vec<FieldDiff>,
    /// The first differing event record.
    pub first: Option<FirstDiff>,
    /// Differences in counts taken from the event records.
    pub counts: Vec<CountDiff>,
    /// Differences in `run_end` (stop, metrics, facts, counts, hash, ...).
    pub outcome: Vec<FieldDiff>,
}

impl TraceDiff {
    /// Whether the two traces hold the same records.
    pub fn identical(&self) -> bool {
        self.settings.is_empty()
            && self.first.is_none()
            && self.counts.is_empty()
            && self.outcome.is_empty()
    }
}

/// Compares `a` with `b`, showing `context` records either side of the
/// first difference.
pub fn diff(a: &TraceRecords, b: &TraceRecords, context: usize) -> TraceDiff {
    let mut settings = fields(&a.start().data, &b.start().data);
    // `seed` is in run_start twice (top level and in the scenario): say it once.
    settings.retain(|f| f.path != "scenario.seed");
    // The header's own fields (seed, program, model, ...) before the scenario's.
    settings.sort_by_key(|f| f.path.starts_with("scenario."));
    let ea: Vec<&Record> = a.events().collect();
    let eb: Vec<&Record> = b.events().collect();
    let first = (0..ea.len().max(eb.len()))
        .find(|&i| {
            ea.get(i).map(|r| &r.data) != eb.get(i).map(|r| &r.data) || ty(&ea, i) != ty(&eb, i)
        })
        .map(|i| {
            let pick = |k: &str| {
                ea.get(i)
                    .and_then(|r| r.num(k))
                    .or_else(|| eb.get(i).and_then(|r| r.num(k)))
            };
            FirstDiff {
                index: i,
                t_ns: pick("t_ns"),
                seq: pick("seq"),
                a: around(&ea, i, context),
                b: around(&eb, i, context),
            }
        });
    let (ca, cb) = (counts(&ea), counts(&eb));
    let mut keys: Vec<&(&'static str, String)> = ca.keys().chain(cb.keys()).collect();
    keys.sort();
    keys.dedup();
    let counts = keys
        .into_iter()
        .map(|k| CountDiff {
            group: k.0,
            key: k.1.clone(),
            a: ca.get(k).copied().unwrap_or(0),
            b: cb.get(k).copied().unwrap_or(0),
        })
        .filter(|c| c.a != c.b)
        .collect();
    let null = Value::Null;
    let end = |t: &TraceRecords| {
        t.end().map_or(null.clone(), |r| {
            let mut d = r.data.clone();
            if let Some(o) = d.as_object_mut() {
                o.remove("seed"); // a setting, listed above
            }
            d
        })
    };
    let outcome = fields(&end(a), &end(b));
    TraceDiff {
        events: ea.len().max(eb.len()),
        settings,
        first,
        counts,
        outcome,
    }
}

fn ty<'a>(e: &'a [&Record], i: usize) -> Option<&'a str> {
    e.get(i).map(|r| r.ty.as_str())
}

fn around(e: &[&Record], i: usize, context: usize) -> Context {
    let from = i.saturating_sub(context).min(e.len());
    let to = (i + context + 1).min(e.len());
    Context {
        line: e.get(i).map(|r| r.line),
        records: e[from..to]
            .iter()
            .map(|r| (r.line, r.text.clone()))
            .collect(),
    }
}

/// Records by type, messages sent by kind, drops by reason.
fn counts(e: &[&Record]) -> BTreeMap<(&'static str, String), u64> {
    let mut c = BTreeMap::new();
    for r in e {
        *c.entry(("records", r.ty.clone())).or_insert(0) += 1;
        match r.ty.as_str() {
            "send" => {
                *c.entry(("messages", r.str("kind").unwrap_or("?").to_string()))
                    .or_insert(0) += 1
            }
            "drop" => {
                *c.entry(("drops", r.str("reason").unwrap_or("?").to_string()))
                    .or_insert(0) += 1
            }
            _ => {}
        }
    }
    c
}

/// The leaves that differ between two JSON values, by dotted path (arrays
/// by index: `faults.schedule[0]`).
fn fields(a: &Value, b: &Value) -> Vec<FieldDiff> {
    let (mut fa, mut fb) = (BTreeMap::new(), BTreeMap::new());
    flatten("", a, &mut fa);
    flatten("", b, &mut fb);
    let mut keys: Vec<&String> = fa.keys().chain(fb.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| fa.get(*k) != fb.get(*k))
        .map(|k| FieldDiff {
            path: k.clone(),
            a: fa.get(k).map(|v: &&Value| v.to_string()),
            b: fb.get(k).map(|v: &&Value| v.to_string()),
        })
        .collect()
}

fn flatten<'a>(prefix: &str, v: &'a Value, out: &mut BTreeMap<String, &'a Value>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, x, out);
            }
        }
        Value::Array(xs) if !xs.is_empty() => {
            for (i, x) in xs.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, out);
            }
        }
        // An empty map or list has no leaves: what it holds elsewhere shows.
        Value::Object(m) if m.is_empty() => {}
        Value::Array(xs) if xs.is_empty() => {}
        Value::Null if prefix.is_empty() => {}
        _ => {
            out.insert(prefix.to_string(), v);
        }
    }
}

/// `s` cut to `max` characters, with `…` where it was cut.
pub fn shorten(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        None => s.to_string(),
        Some((i, _)) => format!("{}…", &s[..i]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(lines: &[&str]) -> TraceRecords {
        TraceRecords::parse("t", &lines.join("\n")).unwrap()
    }

    const START: &str = r#"{"type":"run_start","data":{"seed":1,"scenario":{"seed":1,"nodes":3}}}"#;

    #[test]
    fn identical_traces_have_no_differences() {
        let t = trace(&[
            START,
            r#"{"type":"start","data":{"t_ns":0,"seq":0,"node":0}}"#,
        ]);
        let d = diff(&t, &t, 3);
        assert!(d.identical(), "{d:?}");
        assert_eq!(d.events, 1);
    }

    #[test]
    fn field_order_within_a_record_does_not_matter() {
        let a = trace(&[
            START,
            r#"{"type":"start","data":{"t_ns":0,"seq":0,"node":0}}"#,
        ]);
        let b = trace(&[
            START,
            r#"{"type":"start","data":{"node":0,"seq":0,"t_ns":0}}"#,
        ]);
        assert!(diff(&a, &b, 3).identical());
    }

    #[test]
    fn reports_settings_first_event_counts_and_outcome() {
        let a = trace(&[
            START,
            r#"{"type":"send","data":{"t_ns":0,"seq":0,"id":5,"from":0,"to":1,"kind":"Ping"}}"#,
            r#"{"type":"deliver","data":{"t_ns":7,"seq":5,"id":5,"from":0,"to":1,"kind":"Ping"}}"#,
            r#"{"type":"run_end","data":{"seed":1,"hash":"aa","metrics":{"m":1.0}}}"#,
        ]);
        let b = trace(&[
            r#"{"type":"run_start","data":{"seed":2,"scenario":{"seed":2,"nodes":3}}}"#,
            r#"{"type":"send","data":{"t_ns":0,"seq":0,"id":5,"from":0,"to":1,"kind":"Ping"}}"#,
            r#"{"type":"drop","data":{"t_ns":0,"seq":0,"id":5,"from":0,"to":1,"kind":"Ping","reason":"loss"}}"#,
            r#"{"type":"run_end","data":{"seed":2,"hash":"bb","metrics":{"m":2.0}}}"#,
        ]);
        let d = diff(&a, &b, 1);
        assert!(!d.identical());
        // seed once, not twice
        assert_eq!(
            d.settings,
            vec![FieldDiff {
                path: "seed".into(),
                a: Some("1".into()),
                b: Some("2".into())
            }]
        );
        let f = d.first.unwrap();
        assert_eq!((f.index, f.t_ns, f.seq), (1, Some(7), Some(5)));
        assert_eq!(f.a.line, Some(3));
        assert_eq!(f.a.records.len(), 2, "one before, the differing one");
        let keys: Vec<_> = d
            .counts
            .iter()
            .map(|c| (c.group, c.key.as_str(), c.a, c.b))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("drops", "loss", 0, 1),
                ("records", "deliver", 1, 0),
                ("records", "drop", 0, 1)
            ]
        );
        let paths: Vec<_> = d.outcome.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, vec!["hash", "metrics.m"]);
    }

    #[test]
    fn a_shorter_trace_differs_where_it_ends() {
        let e = r#"{"type":"start","data":{"t_ns":0,"seq":0,"node":0}}"#;
        let d = diff(&trace(&[START, e]), &trace(&[START, e, e]), 3);
        let f = d.first.unwrap();
        assert_eq!((f.index, f.a.line, f.b.line), (1, None, Some(3)));
    }

    #[test]
    fn shorten_cuts_on_characters() {
        assert_eq!(shorten("abc", 5), "abc");
        assert_eq!(shorten("ééééé", 2), "éé…");
    }
}
