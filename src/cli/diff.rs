//! `agentsim diff A.jsonl B.jsonl`: where two traces first differ, and by
//! how much (see [`crate::observe::diff`]).

use super::exit;
use crate::observe::diff::{diff, shorten, FieldDiff, SHOW_CHARS_MAX};
use crate::observe::records::{ReadError, TraceRecords};
use crate::run::RunError;
use crate::time::Dur;
use clap::Args;
use std::path::{Path, PathBuf};

// `#[doc = concat!(..)]`, not `///`: clap would read a doc comment as the
// command's `about`, replacing the one `super::command` sets.
#[doc = concat!("Flags of `agentsim diff A B`.")]
#[derive(Args, Debug, Clone)]
pub struct DiffArgs {
    /// The first trace (JSON Lines, from `run --trace`).
    pub a: PathBuf,
    /// The second trace.
    pub b: PathBuf,
    /// Records shown either side of the first difference, 0..=50.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u16).range(0..=50))]
    pub context: u16,
}

/// Reads a trace for a command: a missing file or a malformed line is bad
/// input (exit 2), named by file and line.
pub fn read_trace(path: &Path) -> Result<TraceRecords, RunError> {
    TraceRecords::read(path).map_err(|e| match e {
        ReadError::Io { path, source } => RunError::Input { path, source },
        ReadError::Malformed(m) => RunError::BadTrace(m),
    })
}

fn value(v: &Option<String>) -> String {
    v.as_deref()
        .map_or("(absent)".to_string(), |s| shorten(s, SHOW_CHARS_MAX / 2))
}

fn print_fields(title: &str, fields: &[FieldDiff]) {
    if fields.is_empty() {
        return;
    }
    println!("{title}");
    let w = fields.iter().map(|f| f.path.len()).max().unwrap_or(0);
    for f in fields {
        println!("  {:w$}  {} | {}", f.path, value(&f.a), value(&f.b));
    }
}

/// `agentsim diff A B`: exit 0 if identical, 5 if they differ.
pub fn diff_cmd(a: &DiffArgs) -> Result<i32, RunError> {
    let (ta, tb) = (read_trace(&a.a)?, read_trace(&a.b)?);
    let d = diff(&ta, &tb, a.context as usize);
    if d.identical() {
        println!("identical: {} records", ta.records.len());
        return Ok(exit::OK);
    }
    println!("A: {} ({} records)", ta.path, ta.records.len());
    println!("B: {} ({} records)", tb.path, tb.records.len());
    print_fields("settings (run_start), A | B:", &d.settings);
    match &d.first {
        None => println!("event records: all {} identical", d.events),
        Some(f) => {
            let at = match (f.t_ns, f.seq) {
                (Some(t), Some(s)) => format!(" at t={} (t_ns={t}) seq={s}", Dur(t).human()),
                _ => String::new(),
            };
            println!("first difference: event record {}{at}", f.index + 1);
            for (name, c) in [("A", &f.a), ("B", &f.b)] {
                println!("  {name}:");
                for (line, text) in &c.records {
                    let mark = if Some(*line) == c.line { ">" } else { " " };
                    println!("  {mark} {line:>6}  {}", shorten(text, SHOW_CHARS_MAX));
                }
                if c.line.is_none() {
                    println!("  >         <end of events>");
                }
            }
        }
    }
    if !d.counts.is_empty() {
        println!("counts, A | B (B-A):");
        let w = d
            .counts
            .iter()
            .map(|c| c.group.len() + 1 + c.key.len())
            .max()
            .unwrap_or(0);
        for c in &d.counts {
            let k = format!("{}.{}", c.group, c.key);
            println!(
                "  {k:w$}  {} | {} ({:+})",
                c.a,
                c.b,
                c.b as i128 - c.a as i128
            );
        }
    }
    print_fields("outcome (run_end), A | B:", &d.outcome);
    Ok(exit::DIVERGED)
}
