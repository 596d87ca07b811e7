//! `diff` and `export` through the binary on Raft, gossip and Paxos traces
//! (failing runs among them), checked against the published formats: the
//! Trace Event Format (Google; read by Perfetto and chrome://tracing) and
//! ShiViz's log format (DistributedClocks/shiviz: regex on the first line,
//! delimiter on the second, vector clocks that its `ModelGraph` accepts).

use crate::common::{agentsim, stderr, stdout};
use agentsim::observe::export::{vector_clocks, SHIVIZ_REGEX};
use agentsim::observe::records::TraceRecords;
use agentsim::observe::trace::TraceLevel;
use agentsim::run::trace_text;
use agentsim::scenario::Scenario;
use proptest::prelude::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Runs `agentsim run ARGS --trace DIR/NAME.jsonl` and returns the trace path.
fn traced(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let path = dir.join(format!("{name}.jsonl"));
    let mut all: Vec<&str> = vec!["run"];
    all.extend_from_slice(args);
    let p = path.to_str().unwrap();
    all.extend_from_slice(&["--trace", p]);
    let o = agentsim(&all);
    assert!(
        matches!(o.status.code(), Some(0 | 3 | 4 | 6)),
        "{all:?}: {}",
        stderr(&o)
    );
    path
}

/// A Raft run that elects under crashes, loss and duplication (the broken
/// double-vote variant), a gossip run that violates "no invention", and a
/// Paxos run with a crash.
fn runs(dir: &Path) -> Vec<PathBuf> {
    vec![
        traced(
            dir,
            "raft",
            &[
                "raft",
                "--seed",
                "3",
                "--time-max",
                "2s",
                "--until-time-max",
                "--loss",
                "0.1",
                "--dup",
                "0.1",
                "--fault",
                "crash:1@300ms",
                "--fault",
                "recover:1@700ms",
                "--fault",
                "crash:2@1s",
                "--param",
                "variant=double-vote",
            ],
        ),
        traced(
            dir,
            "gossip",
            &[
                "gossip",
                "--seed",
                "5",
                "--loss",
                "0.1",
                "--dup",
                "0.1",
                "--param",
                "variant=invent",
            ],
        ),
        traced(
            dir,
            "paxos",
            &[
                "paxos",
                "--seed",
                "2",
                "--fault",
                "crash:0@20ms",
                "--loss",
                "0.05",
            ],
        ),
    ]
}

fn records(path: &Path) -> TraceRecords {
    TraceRecords::read(path).unwrap()
}

fn count(t: &TraceRecords, ty: &str) -> usize {
    t.events().filter(|r| r.ty == ty).count()
}

/// Event timestamps in ns from the trace-event µs.
fn ns(v: &Value) -> u64 {
    (v.as_f64().unwrap() * 1000.0).round() as u64
}

/// The Trace Event Format's fields, in the order its documentation lists them.
const FIELD_ORDER: &[&str] = &[
    "name", "cat", "ph", "ts", "dur", "pid", "tid", "id", "bp", "s", "args",
];

#[test]
fn perfetto_export_follows_the_trace_event_format() {
    let dir = tempfile::tempdir().unwrap();
    for trace in runs(dir.path()) {
        let t = records(&trace);
        let out = dir.path().join("out.json");
        let o = agentsim(&[
            "export",
            trace.to_str().unwrap(),
            "--format",
            "perfetto",
            "-o",
            out.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        assert_eq!(stdout(&o).trim(), out.to_str().unwrap());
        let text = std::fs::read_to_string(&out).unwrap();
        let v: Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(v["displayTimeUnit"], "ns");
        assert_eq!(v["otherData"]["seed"], t.start().data["seed"]);
        let evs = v["traceEvents"].as_array().unwrap();
        // One event per line: check each line's top-level keys and their order.
        let lines: Vec<&str> = text
            .lines()
            .filter(|l| l.starts_with("{\"name\""))
            .collect();
        assert_eq!(lines.len(), evs.len(), "{trace:?}: one event per line");
        for (line, e) in lines.iter().zip(evs) {
            let obj = e.as_object().unwrap();
            let head = line.split(",\"args\":").next().unwrap();
            let mut at = Vec::new();
            for k in obj.keys() {
                assert!(
                    FIELD_ORDER.contains(&k.as_str()),
                    "unknown field {k} in {line}"
                );
                if k != "args" {
                    at.push((head.find(&format!("\"{k}\":")).unwrap(), k.as_str()));
                }
            }
            at.sort();
            let order: Vec<&str> = at.iter().map(|x| x.1).collect();
            let mut want: Vec<&str> = FIELD_ORDER
                .iter()
                .copied()
                .filter(|k| obj.contains_key(*k) && *k != "args")
                .collect();
            want.dedup();
            assert_eq!(order, want, "{line}");
            let ph = e["ph"].as_str().unwrap();
            let required: &[&str] = match ph {
                "M" => &["name", "ph", "pid", "tid", "args"],
                "X" => &["name", "cat", "ph", "ts", "dur", "pid", "tid"],
                "i" => &["name", "cat", "ph", "ts", "pid", "tid", "s"],
                "s" | "f" => &["name", "cat", "ph", "ts", "pid", "tid", "id"],
                other => panic!("unexpected phase {other}: {line}"),
            };
            for k in required {
                assert!(obj.contains_key(*k), "{ph} event without {k}: {line}");
            }
            if ph == "f" {
                assert_eq!(e["bp"], "e", "{line}");
            }
            if ph == "i" {
                assert!(matches!(e["s"].as_str(), Some("t" | "g")), "{line}");
            }
        }
        // Nodes are threads, named by metadata events.
        let nodes = t.nodes();
        for n in 0..nodes {
            assert!(
                evs.iter().any(|e| e["ph"] == "M"
                    && e["name"] == "thread_name"
                    && e["tid"] == n + 1
                    && e["args"]["name"] == format!("node {n}")),
                "{trace:?}: no thread_name for node {n}"
            );
        }
        // Messages: one flow per delivery, from the sender's thread to the receiver's.
        let of = |ph: &str| -> BTreeMap<u64, &Value> {
            evs.iter()
                .filter(|e| e["ph"] == ph)
                .map(|e| (e["id"].as_u64().unwrap(), e))
                .collect()
        };
        let (starts, ends) = (of("s"), of("f"));
        assert_eq!(ends.len(), count(&t, "deliver"), "{trace:?}");
        assert_eq!(starts.len(), ends.len(), "{trace:?}");
        assert!(!ends.is_empty(), "{trace:?}: no messages delivered");
        for d in t.events().filter(|r| r.ty == "deliver") {
            let id = d.num("id").unwrap();
            let (s, f) = (starts[&id], ends[&id]);
            assert_eq!((&s["cat"], &s["name"]), (&f["cat"], &f["name"]));
            assert_eq!(f["name"], d.data["kind"]);
            assert_eq!(f["tid"], d.num("to").unwrap() + 1);
            assert_eq!(s["tid"], d.num("from").unwrap() + 1);
            assert!(ns(&s["ts"]) <= ns(&f["ts"]));
            assert_eq!(ns(&f["ts"]), d.num("t_ns").unwrap());
        }
        // Slices on one thread nest or are disjoint, and every flow event
        // lies inside a step slice of its thread (flows bind to slices).
        let mut by_tid: BTreeMap<u64, Vec<(u64, u64, &Value)>> = BTreeMap::new();
        for e in evs.iter().filter(|e| e["ph"] == "X") {
            let a = ns(&e["ts"]);
            by_tid
                .entry(e["tid"].as_u64().unwrap())
                .or_default()
                .push((a, a + ns(&e["dur"]), e));
        }
        for (tid, xs) in &by_tid {
            for (i, a) in xs.iter().enumerate() {
                for b in &xs[i + 1..] {
                    let disjoint = a.1 <= b.0 || b.1 <= a.0;
                    let nested = (a.0 <= b.0 && b.1 <= a.1) || (b.0 <= a.0 && a.1 <= b.1);
                    assert!(disjoint || nested, "tid {tid}: {} overlaps {}", a.2, b.2);
                }
            }
        }
        for e in evs.iter().filter(|e| e["ph"] == "s" || e["ph"] == "f") {
            let ts = ns(&e["ts"]);
            let inside = by_tid[&e["tid"].as_u64().unwrap()]
                .iter()
                .any(|x| x.2["cat"] == "step" && x.0 <= ts && ts < x.1);
            assert!(inside, "{trace:?}: flow event outside any step: {e}");
        }
        // Crashes are complete events; notes and violations instants.
        let with = |ph: &str, cat: &str| {
            evs.iter()
                .filter(|e| e["ph"] == ph && e["cat"] == cat)
                .count()
        };
        assert_eq!(with("X", "crash"), count(&t, "crash"), "{trace:?}");
        assert_eq!(with("i", "note"), count(&t, "note"), "{trace:?}");
        assert_eq!(with("i", "violation"), count(&t, "violation"), "{trace:?}");
        assert_eq!(with("i", "drop"), count(&t, "drop"), "{trace:?}");
    }
}

/// One parsed ShiViz line: host, clock, event text.
fn shiviz_lines(text: &str) -> Vec<(String, BTreeMap<String, u64>, String)> {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some(SHIVIZ_REGEX), "first line: the regex");
    assert_eq!(lines.next(), Some(""), "second line: no delimiter");
    lines
        .map(|l| {
            // (?<host>\S+) (?<clock>\{.*?\}) t_ns=(?<t_ns>\d+) (?<event>.*)
            let (host, rest) = l.split_once(' ').expect(l);
            assert!(!host.is_empty() && !host.contains(char::is_whitespace));
            let end = rest.find('}').expect(l);
            assert!(rest.starts_with('{'), "{l}");
            let clock: BTreeMap<String, u64> = serde_json::from_str(&rest[..=end]).expect(l);
            let rest = rest[end + 1..].strip_prefix(" t_ns=").expect(l);
            let (t, event) = rest.split_once(' ').expect(l);
            assert!(t.bytes().all(|b| b.is_ascii_digit()), "{l}");
            (host.to_string(), clock, event.to_string())
        })
        .collect()
}

/// Checks a ShiViz log as ShiViz's `ModelGraph` does: each host's own clock
/// counts 1, 2, 3, ...; every clock equals its host's previous clock merged
/// with the clock of the send it delivers, own entry plus one (so a send
/// happens before its delivery, and nothing else is implied).
fn check_shiviz(text: &str) -> usize {
    let lines = shiviz_lines(text);
    let mut last: BTreeMap<&str, BTreeMap<String, u64>> = BTreeMap::new();
    let mut sent: BTreeMap<u64, BTreeMap<String, u64>> = BTreeMap::new();
    let id_after = |e: &str, what: &str| -> Option<u64> {
        let i = e.find(what)? + what.len();
        e[i..]
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    for (host, clock, event) in &lines {
        let mut want = last.get(host.as_str()).cloned().unwrap_or_default();
        if event.starts_with("deliver ") {
            let id = id_after(event, " #").unwrap();
            let from = id_after(event, "(copy of #").unwrap_or(id);
            let s = sent
                .get(&from)
                .unwrap_or_else(|| panic!("delivery before its send: {event}"));
            // happens-before: the send's clock is below the delivery's
            for (h, v) in s {
                assert!(
                    clock.get(h).copied().unwrap_or(0) >= *v,
                    "{event}: {clock:?} vs send {s:?}"
                );
            }
            assert!(clock != s);
            for (h, v) in s {
                let m = want.entry(h.clone()).or_insert(0);
                *m = (*m).max(*v);
            }
        }
        *want.entry(host.clone()).or_insert(0) += 1;
        assert_eq!(clock, &want, "{host} {event}: impermissible vector clock");
        if event.starts_with("send ") {
            sent.insert(id_after(event, " #").unwrap(), clock.clone());
        }
        last.insert(host, clock.clone());
    }
    lines.len()
}

#[test]
fn shiviz_export_has_consistent_vector_clocks() {
    let dir = tempfile::tempdir().unwrap();
    for trace in runs(dir.path()) {
        let t = records(&trace);
        let o = agentsim(&["export", trace.to_str().unwrap(), "--format", "shiviz"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let out = trace.with_extension("shiviz.log");
        assert_eq!(stdout(&o).trim(), out.to_str().unwrap(), "default name");
        let text = std::fs::read_to_string(&out).unwrap();
        let n = check_shiviz(&text);
        let local = t
            .events()
            .filter(|r| !matches!(r.ty.as_str(), "drop" | "duplicate"))
            .count();
        assert_eq!(n, local, "{trace:?}: one line per host event");
        assert!(text.contains(" deliver "), "{trace:?}");
    }
}

fn scenario_for(protocol: &str, seed: u64, loss: f64, dup: f64, crash: bool) -> Scenario {
    let mut sc = Scenario::from_toml_str(&format!(
        "nodes = 4\ntime_max = \"3s\"\n[net]\nloss_ratio = {loss}\ndup_ratio = {dup}\n[protocol]\nname = \"{protocol}\"\n"
    ))
    .unwrap();
    sc.seed = seed;
    if crash {
        sc.faults.schedule.push("crash:1@40ms".parse().unwrap());
        sc.faults.schedule.push("recover:1@400ms".parse().unwrap());
    }
    sc.validate().unwrap();
    sc
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Vector clocks from any run: every send happens before its delivery,
    /// and a host's events are strictly increasing, own entry by one.
    #[test]
    fn vector_clocks_order_sends_before_deliveries(
        protocol in prop::sample::select(vec!["raft", "gossip", "paxos"]),
        seed in 0u64..1000,
        loss in 0.0f64..0.3,
        dup in 0.0f64..0.3,
        crash in any::<bool>(),
    ) {
        let (_, text) = trace_text(&scenario_for(protocol, seed, loss, dup, crash), TraceLevel::Events);
        let t = TraceRecords::parse("mem", &text).unwrap();
        let vc = vector_clocks(&t);
        let mut prev: Vec<Option<&Vec<u64>>> = vec![None; vc.hosts.len()];
        let mut send_of = BTreeMap::new();
        for e in &vc.events {
            match prev[e.host] {
                None => prop_assert_eq!(e.clock[e.host], 1),
                Some(p) => {
                    prop_assert_eq!(e.clock[e.host], p[e.host] + 1);
                    prop_assert!(e.clock.iter().zip(p).all(|(a, b)| a >= b));
                }
            }
            prev[e.host] = Some(&e.clock);
            if let Some(id) = e.sends {
                send_of.insert(id, e.clock.clone());
            }
        }
        let copies: BTreeMap<u64, u64> = t
            .events()
            .filter(|r| r.ty == "duplicate")
            .map(|r| (r.num("id").unwrap(), r.num("of").unwrap()))
            .collect();
        let mut deliveries = 0;
        for e in &vc.events {
            if let Some(id) = e.delivers {
                let s = &send_of[copies.get(&id).unwrap_or(&id)];
                prop_assert!(s.iter().zip(&e.clock).all(|(a, b)| a <= b), "send after delivery");
                prop_assert!(s != &e.clock);
                deliveries += 1;
            }
        }
        prop_assert_eq!(deliveries, t.events().filter(|r| r.ty == "deliver").count());
    }
}

#[test]
fn diff_of_a_trace_with_itself_is_identical() {
    let dir = tempfile::tempdir().unwrap();
    let a = traced(dir.path(), "a", &["raft", "--seed", "7"]);
    let b = traced(dir.path(), "b", &["raft", "--seed", "7"]);
    let o = agentsim(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let n = records(&a).records.len();
    assert_eq!(stdout(&o), format!("identical: {n} records\n"));
}

#[test]
fn diff_of_two_seeds_names_settings_first_event_counts_and_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let a = traced(dir.path(), "a", &["raft", "--seed", "7"]);
    let b = traced(dir.path(), "b", &["raft", "--seed", "8", "--loss", "0.1"]);
    let o = agentsim(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let out = stdout(&o);
    let pos = |s: &str| out.find(s).unwrap_or_else(|| panic!("no '{s}' in:\n{out}"));
    // Settings first, then the first event, counts, then the outcome.
    assert!(pos("settings (run_start)") < pos("first difference"));
    assert!(pos("first difference") < pos("counts,"));
    assert!(pos("counts,") < pos("outcome (run_end)"));
    assert!(
        out.lines()
            .any(|l| l.trim_start().starts_with("seed") && l.ends_with("7 | 8")),
        "{out}"
    );
    assert!(out.contains("scenario.net.loss_ratio"), "{out}");
    assert!(!out.contains("scenario.seed"), "the seed once: {out}");
    // The first differing event record, found independently.
    let (ta, tb) = (records(&a), records(&b));
    let (ea, eb): (Vec<_>, Vec<_>) = (ta.events().collect(), tb.events().collect());
    let i = (0..ea.len().max(eb.len()))
        .find(|&i| ea.get(i).map(|r| (&r.ty, &r.data)) != eb.get(i).map(|r| (&r.ty, &r.data)))
        .unwrap();
    assert!(
        out.contains(&format!("first difference: event record {} ", i + 1)),
        "{out}"
    );
    let marked: Vec<&str> = out
        .lines()
        .filter(|l| l.trim_start().starts_with("> "))
        .collect();
    assert_eq!(marked.len(), 2, "one marked line per trace: {out}");
    assert!(marked[0].contains(&format!(" {}  ", ea[i].line)), "{out}");
    // Counts: the drops of B's loss, by reason; the metrics and the hash.
    let drops = eb.iter().filter(|r| r.ty == "drop").count();
    let lost = eb
        .iter()
        .filter(|r| r.str("reason") == Some("loss"))
        .count();
    assert!(lost > 0);
    let row = |key: &str, n: usize| {
        out.lines().any(|l| {
            l.trim_start().starts_with(&format!("{key} "))
                && l.ends_with(&format!(" 0 | {n} (+{n})"))
        })
    };
    assert!(row("drops.loss", lost), "{out}");
    assert!(row("records.drop", drops), "{out}");
    assert!(out.contains("metrics.first_leader_ms"), "{out}");
    assert!(
        out.lines().any(|l| l.trim_start().starts_with("hash ")),
        "{out}"
    );
}

#[test]
fn diff_of_two_builds_and_of_two_scenarios() {
    let dir = tempfile::tempdir().unwrap();
    let a = traced(dir.path(), "a", &["gossip", "--seed", "1"]);
    // Another build: the same records, another program version.
    let text = std::fs::read_to_string(&a).unwrap();
    let b = dir.path().join("b.jsonl");
    std::fs::write(
        &b,
        text.replacen("\"program\":\"agentsim ", "\"program\":\"agentsim 9.", 1),
    )
    .unwrap();
    let o = agentsim(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(5));
    let out = stdout(&o);
    assert!(out.contains("program"), "{out}");
    let n = records(&a).events().count();
    assert!(
        out.contains(&format!("event records: all {n} identical")),
        "{out}"
    );
    // Two scenarios of two protocols.
    let c = traced(dir.path(), "c", &["paxos", "--seed", "1"]);
    let o = agentsim(&[
        "diff",
        a.to_str().unwrap(),
        c.to_str().unwrap(),
        "--context",
        "1",
    ]);
    assert_eq!(o.status.code(), Some(5));
    let out = stdout(&o);
    assert!(
        out.lines().any(|l| l.trim_start().starts_with("protocol ")),
        "{out}"
    );
    assert!(out.contains("messages."), "{out}");
}

#[test]
fn diff_shortens_long_records() {
    let dir = tempfile::tempdir().unwrap();
    let a = traced(dir.path(), "a", &["raft", "--seed", "7"]);
    let text = std::fs::read_to_string(&a).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let l = lines[3].strip_suffix("}}").unwrap().to_string();
    lines[3] = format!("{l},\"pad\":\"{}\"}}}}", "x".repeat(500));
    assert!(lines[3].len() > 500, "{}", lines[3]);
    let b = dir.path().join("b.jsonl");
    std::fs::write(&b, lines.join("\n") + "\n").unwrap();
    let o = agentsim(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(5));
    let out = stdout(&o);
    assert!(out.contains("xxx…"), "{out}");
    assert!(out.lines().all(|l| l.chars().count() < 200), "{out}");
}

#[test]
fn diff_and_export_reject_malformed_traces() {
    let dir = tempfile::tempdir().unwrap();
    let a = traced(dir.path(), "a", &["raft", "--seed", "7"]);
    let text = std::fs::read_to_string(&a).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    lines[2] = "{\"type\":\"send\",";
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(&bad, lines.join("\n")).unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["diff", a.to_str().unwrap(), bad.to_str().unwrap()],
        vec!["export", bad.to_str().unwrap(), "--format", "perfetto"],
        vec![
            "export",
            bad.to_str().unwrap(),
            "--format",
            "shiviz",
            "-o",
            "never.log",
        ],
    ];
    for args in cases {
        let o = agentsim(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        let err = stderr(&o);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("bad.jsonl: line 3: "), "{err}");
    }
    assert!(!Path::new("never.log").exists());
    assert!(
        !bad.with_extension("perfetto.json").exists(),
        "no output on bad input"
    );
    let o = agentsim(&["diff", a.to_str().unwrap(), "/nonexistent/x.jsonl"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("/nonexistent/x.jsonl: cannot read"),
        "{}",
        stderr(&o)
    );
    let o = agentsim(&["export", a.to_str().unwrap(), "--format", "svg"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("accepted: perfetto"), "{}", stderr(&o));
}
