//! `agentsim export TRACE --format perfetto|shiviz`: the trace in a format
//! other tools read (see [`crate::observe::export`]).

use super::diff::read_trace;
use super::exit;
use crate::experiment::results::write_atomic;
use crate::observe::export::{perfetto, shiviz};
use crate::run::RunError;
use clap::Args;
use std::path::PathBuf;

/// The formats `export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExportFormat {
    /// Chrome trace-event JSON (ui.perfetto.dev, chrome://tracing).
    Perfetto,
    /// A ShiViz log with vector clocks (DistributedClocks/shiviz).
    Shiviz,
}

impl std::str::FromStr for ExportFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "perfetto" | "chrome" => Ok(ExportFormat::Perfetto),
            "shiviz" => Ok(ExportFormat::Shiviz),
            _ => Err(format!(
                "'{s}' unknown (accepted: perfetto, chrome (the same), shiviz)"
            )),
        }
    }
}

impl ExportFormat {
    /// The default file name ending.
    pub fn ext(self) -> &'static str {
        match self {
            ExportFormat::Perfetto => "perfetto.json",
            ExportFormat::Shiviz => "shiviz.log",
        }
    }
}

#[doc = concat!("Flags of `agentsim export TRACE`.")]
#[derive(Args, Debug, Clone)]
pub struct ExportArgs {
    /// A trace written by `run --trace` (level events or full for messages).
    pub trace: PathBuf,
    /// perfetto (Chrome trace-event JSON; alias chrome) | shiviz.
    #[arg(long, value_name = "FORMAT")]
    pub format: ExportFormat,
    /// Output file [default: the trace's name with .perfetto.json or .shiviz.log].
    #[arg(short = 'o', long = "out", value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// `agentsim export TRACE --format F [-o FILE]`: prints the file written.
pub fn export_cmd(a: &ExportArgs) -> Result<i32, RunError> {
    let t = read_trace(&a.trace)?;
    let text = match a.format {
        ExportFormat::Perfetto => perfetto(&t),
        ExportFormat::Shiviz => shiviz(&t),
    };
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| a.trace.with_extension(a.format.ext()));
    write_atomic(&out, text.as_bytes())?;
    println!("{}", out.display());
    Ok(exit::OK)
}
