//! `replay`: re-run the run a trace records, from its `run_start`, and
//! compare record by record.

use super::{input_err, trace_text, RunError, RunStart};
use crate::observe::trace::{program_version, SCHEMA_VERSION};
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
        /// The recorded line (`<end of file>` if the file ended first).
        recorded: String,
        /// The replayed line (`<end of run>` if the replay ended first).
        replayed: String,
        /// The program that wrote the trace, when it is not this one.
        program_differs: Option<String>,
    },
}

/// Re-runs the run recorded in `path` from its `run_start` and compares record by record.
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
            env.ty
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
            start.program
        )));
    }
    start.scenario.validate()?;
    let (_, text) = trace_text(&start.scenario, start.trace_level);
    let program_differs = (start.program != program_version()).then(|| start.program.clone());
    let mut replayed = text.lines();
    let mut recorded_lines = std::iter::once(Ok(first)).chain(lines);
    let mut n = 0;
    loop {
        let a = recorded_lines.next().transpose().map_err(input_err(path))?;
        let b = replayed.next();
        n += 1;
        match (a, b) {
            (None, None) => {
                let hash = text
                    .lines()
                    .last()
                    .and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                    .and_then(|v| v["data"]["hash"].as_str().map(String::from))
                    .unwrap_or_default();
                return Ok(Replay::Identical {
                    records: n - 1,
                    hash,
                });
            }
            (a, b) if a.as_deref() == b => continue,
            (a, b) => {
                let pick = |s: &Option<&str>, k: &str| {
                    s.and_then(|l| serde_json::from_str::<serde_json::Value>(l).ok())
                        .and_then(|v| v["data"][k].as_u64())
                };
                let (a, b) = (
                    a.unwrap_or_else(|| "<end of file>".into()),
                    b.unwrap_or("<end of run>"),
                );
                let t_ns = pick(&Some(&a), "t_ns").or(pick(&Some(b), "t_ns"));
                let seq = pick(&Some(&a), "seq").or(pick(&Some(b), "seq"));
                return Ok(Replay::Diverged {
                    line: n,
                    t_ns,
                    seq,
                    recorded: a,
                    replayed: b.to_string(),
                    program_differs,
                });
            }
        }
    }
}
