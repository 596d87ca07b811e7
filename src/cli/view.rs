//! `agentsim view TRACE`: the interactive HTML viewer of a trace
//! ([`crate::observe::view`]), and `agentsim plot TRACE --kind messages`: its
//! static space-time diagram ([`crate::plot::spacetime`]).

use super::exit;
use super::plot::PlotArgs;
use crate::experiment::plotspec::Format;
use crate::experiment::results::write_atomic;
use crate::observe::view::{page, ViewOptions, RECORDS_MAX};
use crate::plot::spacetime::{spacetime, SpacetimeOptions};
use crate::plot::WIDTH;
use crate::run::RunError;
use crate::time::Dur;
use clap::Args;
use std::path::PathBuf;

fn parse_records_max(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if (1..=5_000_000).contains(&n) => Ok(n),
        _ => Err(format!(
            "'{s}' out of range (accepted: 1..=5000000 records)"
        )),
    }
}

// `#[doc = concat!(..)]`, not `///`: clap reads a literal doc comment as the
// command's `about`, replacing the one `super::command` sets.
#[doc = concat!("Flags of `agentsim view TRACE`.")]
#[derive(Args, Debug, Clone)]
pub struct ViewArgs {
    /// A trace file written by `run --trace` (level events or full shows messages).
    #[arg(value_name = "TRACE")]
    pub trace: PathBuf,
    /// The HTML file written [default: the trace's name with .html].
    #[arg(short, long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Only records at or after this time.
    #[arg(long, value_name = "DUR")]
    pub from: Option<Dur>,
    /// Only records at or before this time.
    #[arg(long, value_name = "DUR")]
    pub to: Option<Dur>,
    /// Only records whose nodes are all among these (comma-separated).
    #[arg(long, value_name = "N,..", value_delimiter = ',')]
    pub nodes: Vec<u64>,
    /// Refuse a trace with more records than this (after --from/--to and --nodes).
    #[arg(long, value_name = "N", default_value_t = RECORDS_MAX, value_parser = parse_records_max)]
    pub records_max: usize,
}

fn missing(p: &std::path::Path) -> RunError {
    RunError::Config(crate::scenario::ConfigError(format!(
        "{}: no such file (accepted: a trace file written by `agentsim run --trace`)",
        p.display()
    )))
}

/// `agentsim view TRACE`.
pub fn view_cmd(a: &ViewArgs) -> Result<i32, RunError> {
    if !a.trace.is_file() {
        return Err(missing(&a.trace));
    }
    let opts = ViewOptions {
        from_ns: a.from.map(|d| d.0),
        to_ns: a.to.map(|d| d.0),
        nodes: a.nodes.clone(),
        records_max: a.records_max,
    };
    let p = page(&a.trace, &opts).map_err(RunError::BadTrace)?;
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| a.trace.with_extension("html"));
    write_atomic(&out, p.html.as_bytes())?;
    println!("{}", out.display());
    eprintln!("{} records, {} events", p.records, p.events);
    Ok(exit::OK)
}

/// `agentsim plot TRACE --kind messages`: the space-time diagram, written
/// beside the trace as `NAME.messages.png` (or `--out`).
pub fn plot_messages(a: &PlotArgs) -> Result<i32, RunError> {
    if !a.path.is_file() {
        return Err(missing(&a.path));
    }
    let opts = SpacetimeOptions {
        from_ns: a.from.map(|d| d.0),
        to_ns: a.to.map(|d| d.0),
        nodes: a.nodes.clone(),
        width: a.width.unwrap_or(WIDTH),
        height: a.height,
    };
    let formats = if a.format.is_empty() {
        vec![Format::Png]
    } else {
        a.format.clone()
    };
    for f in formats {
        let out = match &a.out {
            Some(o) if a.format.len() <= 1 => o.clone(),
            Some(o) => o.with_extension(f.ext()),
            None => a.path.with_extension(format!("messages.{}", f.ext())),
        };
        let bytes = spacetime(&a.path, &opts, f)?;
        write_atomic(&out, &bytes)?;
        println!("{}", out.display());
    }
    Ok(exit::OK)
}
