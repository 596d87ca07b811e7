//! Seeing a run: `plot TRACE --kind messages` (the space-time diagram's
//! arrows, drops, crashed spans and violations match the trace) and `view
//! TRACE` (one self-contained page whose data cannot close its script).
//! The page's behaviour in a browser is tested in tests/browser.

use crate::common::{agentsim, stderr, stdout};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `agentsim run ARGS --trace DIR/NAME.jsonl --trace-level LEVEL`.
fn trace(dir: &Path, name: &str, args: &[&str], level: &str) -> PathBuf {
    let path = dir.join(format!("{name}.jsonl"));
    let mut a = vec!["run"];
    a.extend_from_slice(args);
    a.extend_from_slice(&["--trace", s(&path), "--trace-level", level]);
    let out = agentsim(&a);
    assert!(path.exists(), "no trace: {}", stderr(&out));
    path
}

fn records(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// A lossy, duplicating gossip run with crashes and partitions.
const GOSSIP: &[&str] = &[
    "gossip",
    "--nodes",
    "6",
    "--seed",
    "3",
    "--loss",
    "0.1",
    "--dup",
    "0.05",
    "--crash-mttf",
    "300ms",
    "--crash-mttr",
    "100ms",
    "--partition-mtbf",
    "500ms",
];

/// What the diagram should hold for the window `[from, to]` (ns) and nodes `shown`.
struct Expected {
    delivers: usize,
    drops: usize,
    down: usize,
}

fn expected(recs: &[Value], from: u64, to: u64, shown: &[u64]) -> Expected {
    let t = |r: &Value| r["data"]["t_ns"].as_u64().unwrap_or(0);
    let on = |r: &Value, k: &str| shown.contains(&r["data"][k].as_u64().unwrap());
    let msgs = |ty: &str| {
        recs.iter()
            .filter(|r| r["type"] == ty && (from..=to).contains(&t(r)))
            .filter(|r| on(r, "from") && on(r, "to"))
            .count()
    };
    let end = recs.iter().map(t).max().unwrap();
    let mut down = 0;
    for (i, r) in recs.iter().enumerate() {
        if r["type"] != "crash" || !on(r, "node") {
            continue;
        }
        let node = &r["data"]["node"];
        let back = recs[i..]
            .iter()
            .find(|x| x["type"] == "recover" && x["data"]["node"] == *node)
            .map_or(end.max(to), t);
        if back >= from && t(r) <= to {
            down += 1;
        }
    }
    Expected {
        delivers: msgs("deliver"),
        drops: msgs("drop"),
        down,
    }
}

#[test]
fn the_diagram_draws_each_delivery_drop_and_crash_of_the_window() {
    let t = tempfile::tempdir().unwrap();
    let tr = trace(t.path(), "gossip", GOSSIP, "events");
    let recs = records(&tr);
    let svg = t.path().join("m.svg");
    for (from, to, nodes) in [
        (None, None, None),
        (Some(200u64), Some(900u64), None),
        (Some(100), Some(1500), Some("0,2,3,5")),
    ] {
        let mut args = vec![
            "plot".to_string(),
            s(&tr).into(),
            "--kind".into(),
            "messages".into(),
            "--format".into(),
            "svg".into(),
            "--out".into(),
            s(&svg).into(),
        ];
        if let (Some(a), Some(b)) = (from, to) {
            args.extend([
                "--from".into(),
                format!("{a}ms"),
                "--to".into(),
                format!("{b}ms"),
            ]);
        }
        if let Some(n) = nodes {
            args.extend(["--nodes".into(), n.into()]);
        }
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = agentsim(&a);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(stdout(&out).trim(), s(&svg));
        let text = std::fs::read_to_string(&svg).unwrap();
        let shown: Vec<u64> = nodes.map_or((0..6).collect(), |n| {
            n.split(',').map(|x| x.parse().unwrap()).collect()
        });
        let end = recs.iter().filter_map(|r| r["data"]["t_ns"].as_u64()).max();
        let e = expected(
            &recs,
            from.map_or(0, |ms| ms * 1_000_000),
            to.map_or(end.unwrap(), |ms| ms * 1_000_000),
            &shown,
        );
        let what = format!("window {from:?}..{to:?}, nodes {nodes:?}");
        assert!(
            e.delivers > 10 && e.drops > 0 && e.down > 0,
            "{what}: a run with every fault"
        );
        assert_eq!(
            text.matches("class=\"deliver\"").count(),
            e.delivers,
            "{what}: arrows"
        );
        assert_eq!(
            text.matches("class=\"drop\"").count(),
            e.drops,
            "{what}: drop marks"
        );
        assert_eq!(
            text.matches("class=\"down\"").count(),
            e.down,
            "{what}: crashed spans"
        );
        // One line per shown node; drop reasons in their tooltips; text as outlines.
        assert_eq!(
            text.matches("class=\"node\"").count(),
            shown.len(),
            "{what}"
        );
        assert!(text.contains("dropped (loss)"), "{what}");
        assert!(!text.contains("<text"), "{what}: text must be outlines");
    }
    // The default: a PNG beside the trace, the same bytes every time.
    let out = agentsim(&["plot", s(&tr), "--kind", "messages", "--to", "300ms"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let png = t.path().join("gossip.messages.png");
    assert_eq!(stdout(&out).trim(), s(&png));
    let first = std::fs::read(&png).unwrap();
    assert!(first.starts_with(b"\x89PNG"));
    agentsim(&["plot", s(&tr), "--kind", "messages", "--to", "300ms"]);
    assert_eq!(std::fs::read(&png).unwrap(), first);
}

#[test]
fn the_diagram_highlights_violations_and_notes() {
    let t = tempfile::tempdir().unwrap();
    let args = ["raft", "--variant", "double-vote", "--seed", "6"];
    let tr = trace(t.path(), "raft", &args, "events");
    let recs = records(&tr);
    let count = |ty: &str| recs.iter().filter(|r| r["type"] == ty).count();
    assert_eq!(count("violation"), 1, "seed 6 breaks election safety");
    let svg = t.path().join("r.svg");
    let out = agentsim(&[
        "plot",
        s(&tr),
        "--kind",
        "messages",
        "--format",
        "svg",
        "--out",
        s(&svg),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&svg).unwrap();
    assert_eq!(text.matches("class=\"violation\"").count(), 1);
    assert!(text.contains("election safety violated at 157.053172 ms"));
    assert_eq!(text.matches("class=\"note\"").count(), count("note"));
    assert_eq!(text.matches("class=\"deliver\"").count(), count("deliver"));
}

#[test]
fn the_diagram_refuses_bad_input_in_one_line() {
    let t = tempfile::tempdir().unwrap();
    let events = trace(t.path(), "e", &["raft", "--seed", "1"], "events");
    let notes = trace(t.path(), "n", &["raft", "--seed", "1"], "notes");
    let out_file = t.path().join("x.svg");
    for (args, says) in [
        (
            vec![s(&events), "--nodes", "0,7"],
            "--nodes: node 7 is not in the run (accepted: 0..5)",
        ),
        (
            vec![s(&events), "--from", "2s", "--to", "1s"],
            "--from must be before --to",
        ),
        (vec![s(&notes)], "--trace-level events"),
        (vec!["no-such.jsonl"], "no such file"),
    ] {
        let mut a = vec!["plot", "--kind", "messages", "--out", s(&out_file)];
        a.extend(args);
        let out = agentsim(&a);
        assert_eq!(out.status.code(), Some(2), "{a:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{a:?}: {err}");
        assert!(!out_file.exists(), "no file after bad input");
    }
}

/// The JSON array embedded in a page.
fn embedded(html: &str) -> Vec<Value> {
    let start = html.find("id=\"trace-data\">").unwrap() + "id=\"trace-data\">".len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

#[test]
fn view_writes_one_self_contained_page_holding_the_trace() {
    let t = tempfile::tempdir().unwrap();
    let tr = trace(t.path(), "gossip", GOSSIP, "events");
    let recs = records(&tr);
    let out = agentsim(&["view", s(&tr)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html_path = t.path().join("gossip.html");
    assert_eq!(stdout(&out).trim(), s(&html_path));
    let events = recs.len() - 2;
    assert_eq!(
        stderr(&out).trim(),
        format!("{} records, {events} events", recs.len())
    );
    let html = std::fs::read_to_string(&html_path).unwrap();
    assert_eq!(embedded(&html), recs, "the page holds every record");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no network"
    );
    assert!(
        !html.contains("src=") && !html.contains("href="),
        "nothing loaded"
    );
    // The same bytes every time.
    let again = t.path().join("again.html");
    agentsim(&["view", s(&tr), "-o", s(&again)]);
    assert_eq!(std::fs::read_to_string(&again).unwrap(), html);
    // A window and a node filter keep the records inside them.
    let out = agentsim(&[
        "view",
        s(&tr),
        "-o",
        s(&again),
        "--from",
        "100ms",
        "--to",
        "600ms",
        "--nodes",
        "1,2,3",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let kept = embedded(&std::fs::read_to_string(&again).unwrap());
    assert!(kept.len() > 10 && kept.len() < recs.len());
    for r in &kept[1..kept.len() - 1] {
        let d = &r["data"];
        let ms = d["t_ns"].as_u64().unwrap() / 1_000_000;
        assert!((100..=600).contains(&ms), "{r}");
        for k in ["node", "from", "to"] {
            if let Some(n) = d[k].as_u64() {
                assert!((1..=3).contains(&n), "{r}");
            }
        }
    }
}

#[test]
fn view_keeps_trace_text_from_closing_its_script() {
    let t = tempfile::tempdir().unwrap();
    let tr = trace(
        t.path(),
        "raft",
        &["raft", "--variant", "double-vote", "--seed", "6"],
        "events",
    );
    let evil = "</script><script>alert(1)</script><!-- <img src=x onerror=alert(2)> & \u{2028}";
    let mut recs = records(&tr);
    for r in &mut recs {
        if r["type"] == "violation" {
            r["data"]["detail"] = evil.into();
        }
    }
    let text: String = recs.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(&tr, text).unwrap();
    let html_path = t.path().join("raft.html");
    let out = agentsim(&["view", s(&tr), "-o", s(&html_path)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let html = std::fs::read_to_string(&html_path).unwrap();
    // Only the page's own two script elements close; the text survives intact.
    assert_eq!(html.to_lowercase().matches("</script").count(), 2);
    assert_eq!(html.matches("<script").count(), 2);
    assert!(!html.contains("<!--") && !html.contains("<img"));
    assert_eq!(embedded(&html), recs);
}

#[test]
fn view_refuses_bad_input_in_one_line() {
    let t = tempfile::tempdir().unwrap();
    let tr = trace(t.path(), "e", &["raft", "--seed", "1"], "events");
    let html = t.path().join("x.html");
    for (args, says) in [
        (vec!["--records-max", "10"], "more than 10 records to show (accepted: at most --records-max 10; narrow the trace with --from/--to or --nodes)"),
        (vec!["--records-max", "0"], "--records-max"),
        (vec!["--nodes", "5"], "--nodes: node 5 is not in the run (accepted: 0..5)"),
        (vec!["--from", "1s", "--to", "1s"], "--from must be before --to"),
    ] {
        let mut a = vec!["view", s(&tr), "-o", s(&html)];
        a.extend(args);
        let out = agentsim(&a);
        assert_eq!(out.status.code(), Some(2), "{a:?}: {}", stderr(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{a:?}: {err}");
        assert!(!html.exists(), "no file after bad input");
    }
    let out = agentsim(&["view", "missing.jsonl"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no such file"), "{}", stderr(&out));
}
