//! Exporting a trace to formats other tools read, from the trace alone
//! (every protocol: only the generic records are used).
//!
//! # Chrome trace-event JSON ([`perfetto`])
//!
//! Google's Trace Event Format, read by ui.perfetto.dev and chrome://tracing:
//! a JSON object `{"traceEvents": [...], "displayTimeUnit": "ns",
//! "otherData": {...}}`, one event per line, fields in the order of the
//! format's documentation (`name`, `cat`, `ph`, `ts`, `dur`, `pid`, `tid`,
//! `id`, `bp`, `s`, `args`), `ts` and `dur` in µs with ns decimals.
//!
//! ```text
//!  pid 1 "agentsim raft seed 7"
//!  tid 1 "node 0"  [start]──s──────────────┐        X: a step (the node handles
//!  tid 2 "node 1"              [recv Vote]◄f┘           one event), ≤ 1 µs
//!  tid 3 "node 2"  [████ crashed ████]  ▲ drop      X: a crash span
//!  (global)        ▼ violation, net changes          i: instants
//! ```
//!
//! - Each node is a thread (`tid` = node + 1; `M` events `thread_name`).
//! - A step (`X`, cat `step`) is one event a node handles (start, recover,
//!   a delivery, a timer, a submission, a write done); it lasts at most 1 µs
//!   and ends before the node's next one, so slices never overlap.
//! - A delivered message is a flow: `ph: "s"` inside the sender's step,
//!   `ph: "f"` with `bp: "e"` inside the receiver's step, sharing `id` (the
//!   message id), `cat` (`msg`) and `name` (the message kind).
//! - A crash is a complete event `X` (cat `crash`) from the crash to the
//!   recovery (or the end of the run).
//! - Notes and other node records are thread instants (`ph: "i"`, `s: "t"`),
//!   drops too (at the sender when dropped at the send, else at the
//!   receiver); violations and network changes are global instants (`s: "g"`).
//!
//! # ShiViz log ([`shiviz`])
//!
//! ShiViz (DistributedClocks/shiviz) reads a file whose first line is the log
//! parsing regular expression ([`SHIVIZ_REGEX`]), the second the delimiter of
//! several executions (empty: one), then one event per line: host, vector
//! clock as JSON, time, description. Vector clocks come from the trace's
//! send-to-deliver links ([`vector_clocks`]): a host increments its own entry
//! on every local event, and a delivery first merges the clock its message
//! was sent with (a duplicated copy carries the original send's clock).
//! Hosts are `n0`, `n1`, ...; records of no node (violations, network
//! changes) are events of the host `sim`, which exchanges no messages.

use super::records::{Record, TraceRecords};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;

/// The regular expression of a ShiViz log written by [`shiviz`] (its first line).
pub const SHIVIZ_REGEX: &str = r"(?<host>\S+) (?<clock>\{.*?\}) t_ns=(?<t_ns>\d+) (?<event>.*)";

/// The longest a step slice lasts, in ns.
const STEP_NS_MAX: u64 = 1000;

/// `t` ns as µs with three decimals, exactly (no float rounding).
fn micros(t: u64) -> String {
    format!("{}.{:03}", t / 1000, t % 1000)
}

fn json_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

/// One trace event, written with its fields in the documented order.
struct Ev<'a> {
    name: &'a str,
    cat: &'a str,
    ph: char,
    ts: u64,
    dur: Option<u64>,
    tid: u64,
    id: Option<u64>,
    bp: bool,
    scope: Option<char>,
    args: Option<&'a Value>,
}

impl Ev<'_> {
    fn write(&self, out: &mut String) {
        let _ = write!(
            out,
            "{{\"name\":{},\"cat\":{},\"ph\":\"{}\",\"ts\":{}",
            json_str(self.name),
            json_str(self.cat),
            self.ph,
            micros(self.ts)
        );
        if let Some(d) = self.dur {
            let _ = write!(out, ",\"dur\":{}", micros(d));
        }
        let _ = write!(out, ",\"pid\":1,\"tid\":{}", self.tid);
        if let Some(id) = self.id {
            let _ = write!(out, ",\"id\":{id}");
        }
        if self.bp {
            out.push_str(",\"bp\":\"e\"");
        }
        if let Some(s) = self.scope {
            let _ = write!(out, ",\"s\":\"{s}\"");
        }
        if let Some(a) = self.args {
            let _ = write!(out, ",\"args\":{a}");
        }
        out.push('}');
    }
}

/// Record types that make a node take a step (handle one event).
fn is_trigger(r: &Record) -> bool {
    match r.ty.as_str() {
        "start" | "recover" | "deliver" | "timer" | "write_done" => true,
        "submit" => r.data.get("lost").and_then(Value::as_bool) != Some(true),
        _ => false,
    }
}

fn step_name(r: &Record) -> String {
    match r.ty.as_str() {
        "deliver" => format!("recv {}", r.str("kind").unwrap_or("?")),
        "timer" => format!("timer {}", r.str("timer").unwrap_or("?")),
        t => t.to_string(),
    }
}

/// The node a record happens at, if any (sends and duplicates: the sender;
/// deliveries: the receiver).
fn node_of(r: &Record) -> Option<u64> {
    match r.ty.as_str() {
        "send" | "duplicate" => r.num("from"),
        "deliver" => r.num("to"),
        _ => r.num("node"),
    }
}

fn note_name(r: &Record) -> String {
    r.str("tag")
        .or_else(|| r.data["note"].get("fact").and_then(Value::as_str))
        .or_else(|| r.data["note"].as_str())
        .unwrap_or("note")
        .to_string()
}

/// The trace as Chrome trace-event JSON (see the module docs).
pub fn perfetto(t: &TraceRecords) -> String {
    let start = &t.start().data;
    let nodes = t.nodes();
    let events: Vec<&Record> = t.events().collect();
    let ts = |r: &Record| r.num("t_ns").unwrap_or(0);
    let last = events.iter().map(|r| ts(r)).max().unwrap_or(0);
    let end_ns = t
        .end()
        .and_then(|r| r.num("t_ns"))
        .unwrap_or(0)
        .max(last + STEP_NS_MAX);
    // Steps: one per (seq, node) that handles an event or sends.
    let mut steps: BTreeMap<(u64, u64), usize> = BTreeMap::new(); // → index of the naming record
    for (i, r) in events.iter().enumerate() {
        let (Some(seq), Some(node)) = (r.num("seq"), node_of(r)) else {
            continue;
        };
        let e = steps.get(&(seq, node)).copied();
        // A trigger names the step; else its first send names it.
        let names = match e {
            Some(j) => is_trigger(r) && !is_trigger(events[j]),
            None => is_trigger(r) || r.ty == "send" || r.ty == "duplicate",
        };
        if names {
            steps.insert((seq, node), i);
        }
    }
    // Slice starts per node (steps and crashes), to end each step before the next.
    let mut starts: BTreeMap<u64, BTreeSet<u64>> = BTreeMap::new();
    for (&(_, node), &i) in &steps {
        starts.entry(node).or_default().insert(ts(events[i]));
    }
    for r in events.iter().filter(|r| r.ty == "crash") {
        if let Some(n) = r.num("node") {
            starts.entry(n).or_default().insert(ts(r));
        }
    }
    let step_dur = |node: u64, t0: u64| {
        let next = starts
            .get(&node)
            .and_then(|s| s.range(t0 + 1..).next().copied());
        // Half the gap: the slice ends strictly before the next one even
        // where a reader rounds µs to ns.
        next.map_or(STEP_NS_MAX, |n| ((n - t0) / 2).clamp(1, STEP_NS_MAX))
    };
    let delivered: BTreeSet<u64> = events
        .iter()
        .filter(|r| r.ty == "deliver")
        .filter_map(|r| r.num("id"))
        .collect();
    let sent: BTreeMap<u64, &Record> = events
        .iter()
        .filter(|r| r.ty == "send")
        .filter_map(|r| Some((r.num("id")?, *r)))
        .collect();
    // (ts, class, text): crash spans (class 0) before the slices they enclose.
    let mut out: Vec<(u64, u8, String)> = Vec::new();
    let mut push = |ts: u64, class: u8, ev: Ev| {
        let mut s = String::new();
        ev.write(&mut s);
        out.push((ts, class, s));
    };
    let mut emitted: BTreeSet<(u64, u64)> = BTreeSet::new();
    let mut down: BTreeMap<u64, &Record> = BTreeMap::new();
    for r in &events {
        let t = ts(r);
        let node = node_of(r);
        if let (Some(seq), Some(n)) = (r.num("seq"), node) {
            if let Some(&i) = steps.get(&(seq, n)) {
                if emitted.insert((seq, n)) {
                    let s = events[i];
                    push(
                        t,
                        1,
                        Ev {
                            name: &step_name(s),
                            cat: "step",
                            ph: 'X',
                            ts: t,
                            dur: Some(step_dur(n, t)),
                            tid: n + 1,
                            id: None,
                            bp: false,
                            scope: None,
                            args: Some(&s.data),
                        },
                    );
                }
            }
        }
        let instant = |name: &str, cat: &str, tid: Option<u64>| -> (String, String, u64, char) {
            (
                name.to_string(),
                cat.to_string(),
                tid.unwrap_or(0),
                if tid.is_some() { 't' } else { 'g' },
            )
        };
        let inst = match r.ty.as_str() {
            "send" => {
                let id = r.num("id").unwrap_or(0);
                if delivered.contains(&id) {
                    push(
                        t,
                        1,
                        flow_ev(
                            's',
                            id,
                            r.str("kind").unwrap_or("?"),
                            node.unwrap_or(0) + 1,
                            t,
                        ),
                    );
                }
                None
            }
            "duplicate" => {
                let id = r.num("id").unwrap_or(0);
                let kind = r
                    .num("of")
                    .and_then(|o| sent.get(&o))
                    .and_then(|s| s.str("kind"))
                    .unwrap_or("?");
                if delivered.contains(&id) {
                    push(t, 1, flow_ev('s', id, kind, node.unwrap_or(0) + 1, t));
                }
                None
            }
            "deliver" => {
                let id = r.num("id").unwrap_or(0);
                push(
                    t,
                    1,
                    flow_ev(
                        'f',
                        id,
                        r.str("kind").unwrap_or("?"),
                        node.unwrap_or(0) + 1,
                        t,
                    ),
                );
                None
            }
            "crash" => {
                if let Some(n) = node {
                    down.insert(n, r);
                }
                None
            }
            "recover" => {
                if let Some(c) = node.and_then(|n| down.remove(&n)) {
                    crash_span(&mut push, c, t);
                }
                None
            }
            "start" | "timer" | "write_done" => None,
            "submit" if is_trigger(r) => None,
            "drop" => {
                let at_send = r
                    .num("id")
                    .and_then(|id| sent.get(&id))
                    .is_some_and(|s| ts(s) == t && s.num("seq") == r.num("seq"));
                let tid = if at_send { r.num("from") } else { r.num("to") };
                Some(instant(
                    &format!(
                        "drop {} ({})",
                        r.str("kind").unwrap_or("?"),
                        r.str("reason").unwrap_or("?")
                    ),
                    "drop",
                    tid.map(|n| n + 1),
                ))
            }
            "note" => Some(instant(&note_name(r), "note", node.map(|n| n + 1))),
            "violation" => Some(instant(
                &format!("violation: {}", r.str("property").unwrap_or("?")),
                "violation",
                None,
            )),
            "net_change" => Some(instant(
                r.str("change").unwrap_or("net_change"),
                "net",
                None,
            )),
            other => Some(instant(other, other, node.map(|n| n + 1))),
        };
        if let Some((name, cat, tid, scope)) = inst {
            push(
                t,
                1,
                Ev {
                    name: &name,
                    cat: &cat,
                    ph: 'i',
                    ts: t,
                    dur: None,
                    tid,
                    id: None,
                    bp: false,
                    scope: Some(scope),
                    args: Some(&r.data),
                },
            );
        }
    }
    for c in down.into_values() {
        crash_span(&mut push, c, end_ns);
    }
    out.sort_by_key(|e| (e.0, e.1)); // stable: trace order within a class
    let mut s = String::from("{\"traceEvents\":[\n");
    let title = format!(
        "agentsim {} seed {}",
        start["protocol"].as_str().unwrap_or("?"),
        start["seed"]
    );
    let meta = |name: &str, tid: u64, value: &str| {
        format!(
            "{{\"name\":\"{name}\",\"ph\":\"M\",\"pid\":1,\"tid\":{tid},\"args\":{{\"name\":{}}}}}",
            json_str(value)
        )
    };
    let mut lines = vec![meta("process_name", 0, &title)];
    for n in 0..nodes {
        lines.push(meta("thread_name", n + 1, &format!("node {n}")));
    }
    lines.extend(out.into_iter().map(|e| e.2));
    s.push_str(&lines.join(",\n"));
    let other = serde_json::json!({
        "program": start["program"],
        "protocol": start["protocol"],
        "seed": start["seed"],
        "hash": t.end().map_or(Value::Null, |e| e.data["hash"].clone()),
    });
    let _ = write!(
        s,
        "\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{other}\n}}\n"
    );
    s
}

/// One end of a message's flow: `s` at the send, `f` (bound to the
/// enclosing slice) at the delivery.
fn flow_ev(ph: char, id: u64, kind: &str, tid: u64, t: u64) -> Ev<'_> {
    Ev {
        name: kind,
        cat: "msg",
        ph,
        ts: t,
        dur: None,
        tid,
        id: Some(id),
        bp: ph == 'f',
        scope: None,
        args: None,
    }
}

fn crash_span(push: &mut impl FnMut(u64, u8, Ev), crash: &Record, until: u64) {
    let t = crash.num("t_ns").unwrap_or(0);
    let node = crash.num("node").unwrap_or(0);
    push(
        t,
        0,
        Ev {
            name: "crashed",
            cat: "crash",
            ph: 'X',
            ts: t,
            dur: Some(until.saturating_sub(t)),
            tid: node + 1,
            id: None,
            bp: false,
            scope: None,
            args: Some(&crash.data),
        },
    );
}

/// One event of a host, with its vector clock.
#[derive(Clone, Debug)]
pub struct ClockedEvent {
    /// Index of its host in [`VectorClocks::hosts`].
    pub host: usize,
    /// The clock after the event, one entry per host.
    pub clock: Vec<u64>,
    /// Virtual time, ns.
    pub t_ns: u64,
    /// The trace line it comes from.
    pub line: usize,
    /// The message it sends (its id), if a send.
    pub sends: Option<u64>,
    /// The message it delivers (its id), if a delivery.
    pub delivers: Option<u64>,
    /// One line describing it.
    pub text: String,
}

/// The events of a trace with their vector clocks.
#[derive(Clone, Debug)]
pub struct VectorClocks {
    /// Host names: `n0` ... for the nodes, then `sim` if any record has no node.
    pub hosts: Vec<String>,
    /// The events, in trace order.
    pub events: Vec<ClockedEvent>,
}

/// Vector clocks of every host event of `t` (see the module docs).
pub fn vector_clocks(t: &TraceRecords) -> VectorClocks {
    let events: Vec<&Record> = t.events().collect();
    let nodes = t.nodes() as usize;
    let sim = events
        .iter()
        .any(|r| node_of(r).is_none() && !matches!(r.ty.as_str(), "drop"));
    let mut hosts: Vec<String> = (0..nodes).map(|n| format!("n{n}")).collect();
    if sim {
        hosts.push("sim".into());
    }
    let h = hosts.len();
    // What became of each message, for the send's description.
    let mut fate: BTreeMap<u64, String> = BTreeMap::new();
    let mut delivered: BTreeSet<u64> = BTreeSet::new();
    let mut copy_of: BTreeMap<u64, u64> = BTreeMap::new();
    for r in &events {
        let id = r.num("id").unwrap_or(0);
        match r.ty.as_str() {
            "drop" => {
                fate.insert(
                    id,
                    format!(
                        "dropped at t_ns={}: {}",
                        r.num("t_ns").unwrap_or(0),
                        r.str("reason").unwrap_or("?")
                    ),
                );
            }
            "deliver" => {
                delivered.insert(id);
            }
            "duplicate" => {
                copy_of.insert(id, r.num("of").unwrap_or(0));
            }
            _ => {}
        }
    }
    let mut clocks = vec![vec![0u64; h]; h];
    let mut sent_with: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    let mut out = Vec::new();
    for r in &events {
        let t_ns = r.num("t_ns").unwrap_or(0);
        let id = r.num("id");
        let (host, text) = match r.ty.as_str() {
            "drop" => continue,
            "duplicate" => {
                // The copy travels with the original's clock.
                if let (Some(copy), Some(c)) = (id, r.num("of").and_then(|o| sent_with.get(&o))) {
                    sent_with.insert(copy, c.clone());
                }
                continue;
            }
            "send" => {
                let id = id.unwrap_or(0);
                let mut text = format!(
                    "send {} #{id} to n{}",
                    r.str("kind").unwrap_or("?"),
                    r.num("to").unwrap_or(0)
                );
                let copies: Vec<String> = copy_of
                    .iter()
                    .filter(|(_, &o)| o == id)
                    .map(|(c, _)| format!("#{c}"))
                    .collect();
                if let Some(f) = fate.get(&id) {
                    let _ = write!(text, " ({f})");
                } else if !delivered.contains(&id) {
                    text.push_str(" (in flight at the end)");
                }
                if !copies.is_empty() {
                    let _ = write!(text, " (duplicated: {})", copies.join(", "));
                }
                (r.num("from"), text)
            }
            "deliver" => {
                let id = id.unwrap_or(0);
                let mut text = format!(
                    "deliver {} #{id} from n{}",
                    r.str("kind").unwrap_or("?"),
                    r.num("from").unwrap_or(0)
                );
                if let Some(o) = copy_of.get(&id) {
                    let _ = write!(text, " (copy of #{o})");
                }
                (r.num("to"), text)
            }
            "timer" => (
                r.num("node"),
                format!("timer {}", r.str("timer").unwrap_or("?")),
            ),
            "crash" => (
                r.num("node"),
                format!("crash ({})", r.str("cause").unwrap_or("?")),
            ),
            "note" => (
                r.num("node"),
                format!("note {}: {}", note_name(r), r.data["note"]),
            ),
            _ => {
                let mut d = r.data.clone();
                if let Some(o) = d.as_object_mut() {
                    for k in ["t_ns", "seq", "node"] {
                        o.remove(k);
                    }
                }
                let text = match d.as_object().is_some_and(|o| o.is_empty()) {
                    true => r.ty.clone(),
                    false => format!("{} {d}", r.ty),
                };
                (r.num("node"), text)
            }
        };
        let host = match host {
            Some(n) if (n as usize) < nodes => n as usize,
            Some(_) => continue, // a node beyond the scenario's: not in this trace's hosts
            None => h - 1,       // `sim`
        };
        if r.ty == "deliver" {
            if let Some(c) = id.and_then(|i| sent_with.get(&i)) {
                for (mine, theirs) in clocks[host].iter_mut().zip(c) {
                    *mine = (*mine).max(*theirs);
                }
            }
        }
        clocks[host][host] += 1;
        if r.ty == "send" {
            sent_with.insert(id.unwrap_or(0), clocks[host].clone());
        }
        out.push(ClockedEvent {
            host,
            clock: clocks[host].clone(),
            t_ns,
            line: r.line,
            sends: (r.ty == "send").then_some(id).flatten(),
            delivers: (r.ty == "deliver").then_some(id).flatten(),
            text,
        });
    }
    VectorClocks { hosts, events: out }
}

/// The trace as a ShiViz log (see the module docs).
pub fn shiviz(t: &TraceRecords) -> String {
    let vc = vector_clocks(t);
    let mut s = String::with_capacity(64 * vc.events.len() + 128);
    s.push_str(SHIVIZ_REGEX);
    s.push_str("\n\n");
    for e in &vc.events {
        let _ = write!(s, "{} {{", vc.hosts[e.host]);
        let mut first = true;
        for (i, &c) in e.clock.iter().enumerate() {
            if c > 0 {
                let _ = write!(s, "{}\"{}\":{c}", if first { "" } else { "," }, vc.hosts[i]);
                first = false;
            }
        }
        // A description never holds a newline: JSON escapes them.
        let _ = writeln!(s, "}} t_ns={} {}", e.t_ns, e.text.replace('\n', " "));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trace(lines: &[&str]) -> TraceRecords {
        TraceRecords::parse("t", &lines.join("\n")).unwrap()
    }

    const START: &str =
        r#"{"type":"run_start","data":{"seed":1,"protocol":"p","scenario":{"nodes":2}}}"#;

    #[test]
    fn micros_are_exact() {
        assert_eq!(micros(0), "0.000");
        assert_eq!(micros(172_171_212), "172171.212");
        assert_eq!(micros(5), "0.005");
    }

    #[test]
    fn a_delivery_merges_the_send_clock() {
        let t = trace(&[
            START,
            r#"{"type":"start","data":{"t_ns":0,"seq":0,"node":0}}"#,
            r#"{"type":"start","data":{"t_ns":0,"seq":1,"node":1}}"#,
            r#"{"type":"send","data":{"t_ns":0,"seq":0,"id":9,"from":0,"to":1,"kind":"Ping"}}"#,
            r#"{"type":"duplicate","data":{"t_ns":0,"seq":0,"id":10,"of":9,"from":0,"to":1}}"#,
            r#"{"type":"deliver","data":{"t_ns":5,"seq":9,"id":9,"from":0,"to":1,"kind":"Ping"}}"#,
            r#"{"type":"deliver","data":{"t_ns":6,"seq":10,"id":10,"from":0,"to":1,"kind":"Ping"}}"#,
            r#"{"type":"violation","data":{"t_ns":6,"seq":10,"property":"p","kind":"always","detail":"d"}}"#,
        ]);
        let s = shiviz(&t);
        let lines: Vec<&str> = s.lines().collect();
        assert_eq!(lines[0], SHIVIZ_REGEX);
        assert_eq!(lines[1], "");
        assert_eq!(
            &lines[2..],
            &[
                r#"n0 {"n0":1} t_ns=0 start"#,
                r#"n1 {"n1":1} t_ns=0 start"#,
                r#"n0 {"n0":2} t_ns=0 send Ping #9 to n1 (duplicated: #10)"#,
                r#"n1 {"n0":2,"n1":2} t_ns=5 deliver Ping #9 from n0"#,
                r#"n1 {"n0":2,"n1":3} t_ns=6 deliver Ping #10 from n0 (copy of #9)"#,
                r#"sim {"sim":1} t_ns=6 violation {"detail":"d","kind":"always","property":"p"}"#,
            ]
        );
    }

    #[test]
    fn perfetto_binds_flows_inside_steps() {
        let t = trace(&[
            START,
            r#"{"type":"start","data":{"t_ns":0,"seq":0,"node":0}}"#,
            r#"{"type":"send","data":{"t_ns":0,"seq":0,"id":9,"from":0,"to":1,"kind":"Ping"}}"#,
            r#"{"type":"crash","data":{"t_ns":2,"seq":3,"node":1,"cause":"schedule"}}"#,
            r#"{"type":"recover","data":{"t_ns":4,"seq":4,"node":1}}"#,
            r#"{"type":"deliver","data":{"t_ns":5,"seq":9,"id":9,"from":0,"to":1,"kind":"Ping"}}"#,
        ]);
        let s = perfetto(&t);
        let v: Value = serde_json::from_str(&s).unwrap();
        let ev = v["traceEvents"].as_array().unwrap();
        let brief: Vec<String> = ev
            .iter()
            .map(|e| {
                format!(
                    "{} {} {} {}",
                    e["ph"].as_str().unwrap(),
                    e["tid"],
                    e["ts"],
                    e["dur"]
                )
            })
            .collect();
        assert_eq!(
            brief,
            vec![
                "M 0 null null",
                "M 1 null null",
                "M 2 null null",
                "X 1 0.0 1.0",     // start of node 0 (no later step on node 0)
                "s 1 0.0 null",    // its send
                "X 2 0.002 0.002", // node 1 crashed 2 ns .. 4 ns
                "X 2 0.004 0.001", // recover: half the gap to the delivery at 5 ns
                "X 2 0.005 1.0",   // the delivery's step
                "f 2 0.005 null",  // ... and the flow's end
            ]
        );
        assert_eq!(ev[7]["name"], "recv Ping");
        assert_eq!(ev[8]["bp"], "e");
        assert_eq!(ev[4]["id"], ev[8]["id"]);
    }
}
