//! `agentsim run PROTOCOL`: one seeded run, its outcome printed.

use super::args::OutputArgs;
use super::exit;
use crate::observe::trace::TraceLevel;
use crate::run::{run_silent, RunError, TraceFile};
use crate::scenario::Scenario;
use crate::time::Dur;

/// The id of `--memory-limit` (on `run`, `check`, `replay` and `sweep`).
pub const MEMORY_LIMIT: &str = "memory_limit";

/// `--memory-limit SIZE`: the most memory a run may need (see
/// [`crate::engine::limits`]).
pub fn memory_limit_arg() -> clap::Arg {
    clap::Arg::new(MEMORY_LIMIT)
        .long("memory-limit")
        .value_name("SIZE")
        .value_parser(crate::engine::limits::parse_size)
        .help("Refuse runs that need more memory than SIZE, e.g. 8GiB [default: half of physical memory]")
}

/// `agentsim run PROTOCOL ...`: one run of `sc`.
pub fn run_cmd(sc: &Scenario, out: &OutputArgs) -> Result<i32, RunError> {
    run_and_print(sc, out).map(|(code, _)| code)
}

/// One run of `sc`, its outcome printed as `run` prints it; returns the
/// exit code and the run hash.
pub fn run_and_print(sc: &Scenario, out: &OutputArgs) -> Result<(i32, String), RunError> {
    sc.validate()?;
    // The trace output is created before anything is printed: a path that
    // cannot be written is an error with nothing on stdout.
    let level = out.trace_level.unwrap_or(TraceLevel::Events);
    let trace = match &out.trace {
        Some(path) => TraceFile::create(path, level)?,
        None => None,
    };
    if !out.json {
        println!("seed {}", sc.seed);
    }
    let r = match trace {
        Some(t) => t.run(sc)?,
        None => run_silent(sc),
    };
    if out.json {
        let mut v = serde_json::to_value(&r).expect("report serialises");
        v["protocol"] = sc.protocol.name().into();
        println!("{v}");
    } else {
        println!(
            "stop {} at {} after {} events",
            r.stop.as_str(),
            Dur(r.t_ns).human(),
            r.events
        );
        let facts: Vec<String> = r
            .facts
            .iter()
            .map(|(k, v)| match v {
                serde_json::Value::Null => format!("{k} none"),
                v => format!("{k} {v}"),
            })
            .collect();
        if !facts.is_empty() {
            println!("{}", facts.join(" "));
        }
        let metrics: Vec<String> = r
            .metrics
            .iter()
            .map(|(k, v)| format!("{k}={}", fmt_num(*v)))
            .collect();
        println!("metrics {}", metrics.join(" "));
        let kinds: Vec<String> = r
            .counts
            .by_kind
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!(
            "messages sent={} delivered={} duplicated={} {}",
            r.counts.sent,
            r.counts.delivered,
            r.counts.duplicated,
            kinds.join(" ")
        );
        if !r.counts.dropped.is_empty() {
            let d: Vec<String> = r
                .counts
                .dropped
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            println!("dropped {}", d.join(" "));
        }
        for v in &r.violations {
            println!(
                "VIOLATION {} ({:?}) at {}: {}",
                v.property,
                v.kind,
                Dur(v.t_ns).human(),
                v.detail
            );
        }
        if let Some(u) = &r.undecided {
            println!(
                "UNDECIDED {}: the run stopped ({}) before the liveness deadline {} (last fault plus --liveness-bound)",
                u.properties.join(", "),
                r.stop.as_str(),
                Dur(u.deadline_ns).human()
            );
        }
        println!("hash {}", r.hash);
    }
    let code = if r.safety_violated() {
        exit::SAFETY
    } else if r.liveness_violated() {
        exit::LIVENESS
    } else if r.undecided.is_some() {
        exit::UNDECIDED
    } else {
        exit::OK
    };
    Ok((code, r.hash))
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.3}")
    }
}
