//! `replay`: re-run the run a trace records, from its `run_start`, and
//! compare record by record.

use super::{input_err, trace_text, RunError, RunStart};
use crate::observe::trace::{program_version, RECORD_TYPES, SCHEMA_VERSION};
use serde::Deserialize;
use std::io::BufRead;
use std::path::Path;

/// The outcome of replaying a trace file.
#[derive(Debug)]
pub enum Replay {
    /// Every record matched.
    Identical {
        /// Number of records compared.
        records: usize,
        /// The run hash from `run_end` (empty if the trace has none).
        hash: String,
        /// How the program or model that wrote the trace differs from this
        /// one, when it does (the version fields of `run_start` are not compared).
        versions_differ: Option<String>,
    },
    /// The first record that differs.
    Diverged {
        /// Its line number, from 1.
        line: usize,
        /// Virtual time of the differing record in ns, from the recorded line
        /// or else the replayed one.
        t_ns: Option<u64>,
        /// Its seq, likewise.
        seq: Option<u64>,
        /// The recorded line (`<end of file>` if the file ended first),
        /// shortened to 400 bytes (`SHOWN_MAX`).
        recorded: String,
        /// The replayed line (`<end of run>` if the replay ended first), likewise.
        replayed: String,
        /// How the program or model that wrote the trace differs from this
        /// one, when it does (`agentsim 0.1.0, model 1`).
        program_differs: Option<String>,
    },
}

/// Longest record shown in a divergence report, in bytes; a longer one is
/// cut and its length given.
pub const SHOWN_MAX: usize = 400;

fn shorten(line: &str) -> String {
    shorten_to(line, SHOWN_MAX)
}

fn shorten_to(line: &str, max: usize) -> String {
    if line.len() <= max {
        return line.to_string();
    }
    let mut end = max;
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes in all)", &line[..end], line.len())
}

/// A `run_start` line without the fields that name who wrote it (program,
/// model, dependency versions): what a replay by another version compares.
fn without_versions(line: &str) -> Option<serde_json::Value> {
    let mut v: serde_json::Value = serde_json::from_str(line).ok()?;
    let data = v.get_mut("data")?.as_object_mut()?;
    for k in ["program", "model", "deps"] {
        data.remove(k);
    }
    Some(v)
}

/// Re-runs the run recorded in `path` from its `run_start` and compares
/// record by record. A trace written by another program or model version is
/// compared all the same (its `run_start` without the version fields) and the
/// difference noted; a line that is not a trace record (a truncated file, an
/// unknown record type) or a file that ends before `run_end` is a malformed
/// trace ([`RunError::BadTrace`]), not a divergence.
pub fn replay(path: &Path) -> Result<Replay, RunError> {
    let file = std::fs::File::open(path).map_err(input_err(path))?;
    let mut lines = std::io::BufReader::new(file).lines();
    let first = lines
        .next()
        .ok_or_else(|| {
            RunError::BadTrace(format!(
                "{}: empty file, no run_start record",
                path.display()
            ))
        })?
        .map_err(input_err(path))?;
    #[derive(Deserialize)]
    struct Envelope {
        #[serde(rename = "type")]
        ty: String,
        data: serde_json::Value,
    }
    let env: Envelope = serde_json::from_str(&first).map_err(|e| {
        RunError::BadTrace(format!(
            "{}: line 1 is not a trace record: {e}",
            path.display()
        ))
    })?;
    if env.ty != "run_start" {
        return Err(RunError::BadTrace(format!(
            "{}: line 1 is a '{}' record, expected run_start",
            path.display(),
            shorten_to(&env.ty, 40)
        )));
    }
    let start: RunStart = serde_json::from_value(env.data).map_err(|e| {
        RunError::BadTrace(format!(
            "{}: run_start does not describe a scenario: {e}",
            path.display()
        ))
    })?;
    if start.schema != SCHEMA_VERSION {
        return Err(RunError::BadTrace(format!(
            "{}: trace schema {} but this agentsim writes schema {SCHEMA_VERSION}; replay it with the agentsim that wrote it ({})",
            path.display(),
            start.schema,
            shorten(&start.program)
        )));
    }
    start.scenario.validate()?;
    let (_, text) = trace_text(&start.scenario, start.trace_level);
    let model = crate::hash::MODEL_VERSION;
    let program_differs = (start.program != program_version() || start.model != model)
        .then(|| format!("{}, model {}", shorten(&start.program), start.model));
    let mut replayed = text.lines();
    let mut recorded_lines = std::iter::once(Ok(first)).chain(lines);
    let mut n = 0;
    let mut last_type = String::new();
    loop {
        let a = recorded_lines.next().transpose().map_err(input_err(path))?;
        let b = replayed.next();
        n += 1;
        // Every recorded line must be a record of a known type.
        if let Some(a) = &a {
            let bad =
                |why: String| RunError::BadTrace(format!("{}: line {n} {why}", path.display()));
            let ty = serde_json::from_str::<Envelope>(a)
                .map_err(|e| {
                    bad(format!(
                        "is not a trace record ({e}); a truncated or edited file?"
                    ))
                })?
                .ty;
            if !RECORD_TYPES.contains(&ty.as_str()) {
                return Err(bad(format!(
                    "has an unknown record type '{}' (accepted: {})",
                    shorten_to(&ty, 40),
                    RECORD_TYPES.join(", ")
                )));
            }
            last_type = ty;
        }
        let same = match (&a, b) {
            (Some(a), Some(b)) if n == 1 => {
                a == b
                    || (without_versions(a).is_some() && without_versions(a) == without_versions(b))
            }
            (a, b) => a.as_deref() == b,
        };
        if same {
            if a.is_none() {
                let hash = text
                    .lines()
                    .last()
                    .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                    .and_then(|v| v["data"]["hash"].as_str().map(String::from))
                    .unwrap_or_default();
                return Ok(Replay::Identical {
                    records: n - 1,
                    hash,
                    versions_differ: program_differs,
                });
            }
            continue;
        }
        if a.is_none() && last_type != "run_end" {
            return Err(RunError::BadTrace(format!(
                "{}: ends at line {} without a run_end record (accepted: a whole trace; a truncated file?)",
                path.display(),
                n - 1
            )));
        }
        let pick = |s: Option<&str>, k: &str| {
            s.and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                .and_then(|v| v["data"][k].as_u64())
        };
        let t_ns = pick(a.as_deref(), "t_ns").or(pick(b, "t_ns"));
        let seq = pick(a.as_deref(), "seq").or(pick(b, "seq"));
        return Ok(Replay::Diverged {
            line: n,
            t_ns,
            seq,
            recorded: a.as_deref().map_or_else(|| "<end of file>".into(), shorten),
            replayed: b.map_or_else(|| "<end of run>".into(), shorten),
            program_differs,
        });
    }
}
