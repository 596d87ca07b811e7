//! `agentsim plot PATH`: the figures of a results folder, or who leads over
//! time from a trace.

use super::exit;
use crate::experiment::plotspec::Format;
use crate::experiment::results::write_atomic;
use crate::plot::timeline::{timeline, TimelineOptions};
use crate::plot::{plot_results, render, PlotOptions, HEIGHT, WIDTH};
use crate::run::RunError;
use crate::time::Dur;
use clap::Args;
use std::path::PathBuf;

fn parse_font_scale(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(f) if (0.25..=4.0).contains(&f) => Ok(f),
        _ => Err(format!("'{s}' out of range (accepted: 0.25..=4)")),
    }
}

fn parse_size(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(n) if (100..=10_000).contains(&n) => Ok(n),
        _ => Err(format!("'{s}' out of range (accepted: 100..=10000 pixels)")),
    }
}

// `#[doc = concat!(..)]`, not `///`: clap reads a literal doc comment as the
// command's `about`, replacing the one `super::command` sets.
#[doc = concat!("Flags of `agentsim plot PATH`.")]
#[derive(Args, Debug, Clone)]
pub struct PlotArgs {
    /// A results folder (draws its experiment's `[[plot]]` tables) or a trace file (draws who leads over time).
    pub path: PathBuf,
    /// png | svg | pdf, repeatable [default: each plot's `formats`, else png].
    #[arg(long, value_name = "FORMAT")]
    pub format: Vec<Format>,
    /// Width in pixels [default: the plot's, else 960].
    #[arg(long, value_name = "PX", value_parser = parse_size)]
    pub width: Option<u32>,
    /// Height in pixels [default: the plot's, else 600].
    #[arg(long, value_name = "PX", value_parser = parse_size)]
    pub height: Option<u32>,
    /// Text size factor; the text otherwise follows the figure's size [default: the plot's `font_scale`, else 1].
    #[arg(long, value_name = "X", value_parser = parse_font_scale)]
    pub font_scale: Option<f64>,
    /// Only the plot with this name (repeatable).
    #[arg(long, value_name = "NAME")]
    pub only: Vec<String>,
    /// Trace plots: output file [default: the trace's name with .png or .svg].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Trace plots: start of the time window shown.
    #[arg(long, value_name = "DUR")]
    pub from: Option<Dur>,
    /// Trace plots: end of the time window shown.
    #[arg(long, value_name = "DUR")]
    pub to: Option<Dur>,
    /// Trace plots: `leaders` (who leads over time) or `messages` (a space-time diagram).
    #[arg(long, value_name = "KIND", default_value = "leaders", value_parser = ["leaders", "messages"])]
    pub kind: String,
    /// Trace plots, `--kind messages`: only these nodes (comma-separated).
    #[arg(long, value_name = "N,..", value_delimiter = ',')]
    pub nodes: Vec<u64>,
}

/// `agentsim plot PATH`.
pub fn plot_cmd(a: &PlotArgs) -> Result<i32, RunError> {
    if a.path.is_dir() {
        let opts = PlotOptions {
            formats: a.format.clone(),
            width: a.width,
            height: a.height,
            only: a.only.clone(),
            font_scale: a.font_scale,
        };
        for p in plot_results(&a.path, &opts)? {
            println!("{}", p.display());
        }
        return Ok(exit::OK);
    }
    if !a.path.exists() {
        return Err(RunError::Config(crate::scenario::ConfigError(format!(
            "{}: no such file or folder (accepted: a results folder or a trace file)",
            a.path.display()
        ))));
    }
    if a.kind == "messages" {
        return super::view::plot_messages(a);
    }
    let opts = TimelineOptions {
        from_ns: a.from.map(|d| d.0),
        to_ns: a.to.map(|d| d.0),
        width: a.width.unwrap_or(WIDTH),
        height: a.height.unwrap_or(HEIGHT),
    };
    let formats = if a.format.is_empty() {
        vec![Format::Png]
    } else {
        a.format.clone()
    };
    let outs: Vec<PathBuf> = (formats.iter())
        .map(|f| match &a.out {
            Some(o) if a.format.len() <= 1 => o.clone(),
            Some(o) => o.with_extension(f.ext()),
            None => a.path.with_extension(f.ext()),
        })
        .collect();
    for out in &outs {
        super::paths::refuse_overwrite(out, "--out", &[&a.path])?;
    }
    if let (Some(from), Some(to)) = (a.from, a.to) {
        if from >= to {
            return Err(RunError::Config(crate::scenario::ConfigError(format!(
                "--from {from} is not before --to {to} (accepted: --from below --to)"
            ))));
        }
    }
    let mut fig = timeline(&a.path, &opts)?;
    fig.font_scale = a.font_scale.unwrap_or(1.0);
    for (f, out) in formats.into_iter().zip(outs) {
        let bytes = render::render(&fig, f).map_err(|e| {
            RunError::Config(crate::scenario::ConfigError(format!(
                "{}: {e}",
                a.path.display()
            )))
        })?;
        write_atomic(&out, &bytes)?;
        println!("{}", out.display());
    }
    Ok(exit::OK)
}
