//! Reading a trace file back: its records, each with its line number, for
//! the tools that work on a finished trace ([`super::diff`],
//! [`super::export`]). Every line must be a `{"type": ..., "data": {...}}`
//! record and the first a `run_start`; anything else is an error naming the
//! file and the line.

use serde_json::Value;
use std::io::BufRead;
use std::path::Path;

/// One record of a trace file.
#[derive(Clone, Debug)]
pub struct Record {
    /// Its line number, from 1.
    pub line: usize,
    /// Its `type`.
    pub ty: String,
    /// Its `data` object.
    pub data: Value,
    /// The line as written (without the newline).
    pub text: String,
}

impl Record {
    /// A number field of `data` (`t_ns`, `seq`, `node`, `id`, ...).
    pub fn num(&self, key: &str) -> Option<u64> {
        self.data.get(key).and_then(Value::as_u64)
    }

    /// A text field of `data` (`kind`, `reason`, `tag`, ...).
    pub fn str(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(Value::as_str)
    }

    /// Whether this is an event record (not `run_start` nor `run_end`).
    pub fn is_event(&self) -> bool {
        self.ty != "run_start" && self.ty != "run_end"
    }
}

/// A whole trace file, read into memory.
#[derive(Clone, Debug)]
pub struct TraceRecords {
    /// The path it was read from, as given.
    pub path: String,
    /// Every record, in file order (the first is `run_start`).
    pub records: Vec<Record>,
}

/// Why a trace could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file is missing or unreadable.
    #[error("{path}: cannot read: {source}")]
    Io {
        /// The path given.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line is not a trace record (the message names the file and line).
    #[error("{0}")]
    Malformed(String),
}

impl TraceRecords {
    /// Reads the trace at `path`.
    pub fn read(path: &Path) -> Result<TraceRecords, ReadError> {
        let name = path.display().to_string();
        let io = |source| ReadError::Io {
            path: name.clone(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut records = Vec::new();
        for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
            let text = line.map_err(io)?;
            records.push(parse_line(&name, i + 1, text)?);
        }
        Self::from_records(name, records)
    }

    /// Reads a trace from its text (`source` names it in errors).
    pub fn parse(source: &str, text: &str) -> Result<TraceRecords, ReadError> {
        let records = text
            .lines()
            .enumerate()
            .map(|(i, l)| parse_line(source, i + 1, l.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_records(source.to_string(), records)
    }

    fn from_records(path: String, records: Vec<Record>) -> Result<TraceRecords, ReadError> {
        match records.first() {
            None => Err(ReadError::Malformed(format!(
                "{path}: line 1: empty file, expected a run_start record"
            ))),
            Some(r) if r.ty != "run_start" => Err(ReadError::Malformed(format!(
                "{path}: line 1: a '{}' record, expected run_start",
                r.ty
            ))),
            Some(_) => Ok(TraceRecords { path, records }),
        }
    }

    /// The `run_start` record.
    pub fn start(&self) -> &Record {
        &self.records[0]
    }

    /// The `run_end` record, if the trace has one.
    pub fn end(&self) -> Option<&Record> {
        self.records.iter().rev().find(|r| r.ty == "run_end")
    }

    /// The event records, in order.
    pub fn events(&self) -> impl Iterator<Item = &Record> {
        self.records.iter().filter(|r| r.is_event())
    }

    /// The node count: the scenario's `nodes`, or else one more than the
    /// largest node named by a record.
    pub fn nodes(&self) -> u64 {
        if let Some(n) = self.start().data["scenario"]["nodes"].as_u64() {
            return n;
        }
        self.events()
            .flat_map(|r| [r.num("node"), r.num("from"), r.num("to")])
            .flatten()
            .map(|n| n + 1)
            .max()
            .unwrap_or(0)
    }
}

fn parse_line(path: &str, line: usize, text: String) -> Result<Record, ReadError> {
    let bad = |m: String| ReadError::Malformed(format!("{path}: line {line}: {m}"));
    let mut v: Value = serde_json::from_str(&text)
        .map_err(|e| bad(format!("not a trace record (invalid JSON: {e})")))?;
    let ty = match v.get("type").and_then(Value::as_str) {
        Some(t) => t.to_string(),
        None => {
            return Err(bad(
                "not a trace record (expected {\"type\": ..., \"data\": {...}})".into(),
            ))
        }
    };
    let data = match v.get_mut("data") {
        Some(d) if d.is_object() => d.take(),
        _ => return Err(bad(format!("'{ty}' record without a data object"))),
    };
    Ok(Record {
        line,
        ty,
        data,
        text,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_name_the_file_and_line() {
        let start = r#"{"type":"run_start","data":{"seed":1}}"#;
        let e = TraceRecords::parse("t.jsonl", &format!("{start}\nnot json")).unwrap_err();
        assert!(e.to_string().starts_with("t.jsonl: line 2: "), "{e}");
        let e =
            TraceRecords::parse("t.jsonl", &format!("{start}\n{{\"type\":\"x\"}}")).unwrap_err();
        assert!(e.to_string().starts_with("t.jsonl: line 2: "), "{e}");
        let e = TraceRecords::parse("t.jsonl", r#"{"type":"start","data":{}}"#).unwrap_err();
        assert!(e.to_string().contains("line 1"), "{e}");
        let e = TraceRecords::parse("t.jsonl", "").unwrap_err();
        assert!(e.to_string().contains("empty"), "{e}");
        let t = TraceRecords::parse("t.jsonl", start).unwrap();
        assert_eq!(t.records.len(), 1);
    }
}
