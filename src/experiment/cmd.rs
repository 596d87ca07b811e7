//! The `sweep`, `merge` and `plot` commands: flags parsed by clap in
//! [`crate::cli`], the work done here and in the library modules.

use super::sweep::{default_out_dir, Shard};
use super::{merge, sweep, Experiment, SweepOptions};
use crate::cli::{exit, parse_jobs};
use crate::experiment::file::Format;
use crate::plot::timeline::{timeline, TimelineOptions};
use crate::plot::{plot_results, render, PlotOptions, HEIGHT, WIDTH};
use crate::run::RunError;
use crate::time::Dur;
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

fn parse_size(s: &str) -> Result<u32, String> {
    match s.parse::<u32>() {
        Ok(n) if (100..=10_000).contains(&n) => Ok(n),
        _ => Err(format!("'{s}' out of range (accepted: 100..=10000 pixels)")),
    }
}

#[derive(Args, Debug, Clone)]
pub struct SweepArgs {
    /// Experiment file (TOML), e.g. experiments/raft-election-timeouts.toml.
    pub file: PathBuf,
    /// Threads running runs in parallel, 1..=1024 [default: one per core].
    #[arg(long, value_name = "N", value_parser = parse_jobs, allow_negative_numbers = true)]
    pub jobs: Option<usize>,
    /// Results folder [default: results/NAME, NAME the file's stem].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Run one slice of the runs, for cluster job arrays: K/N with 0 <= K < N; join with `merge`.
    #[arg(long, value_name = "K/N")]
    pub shard: Option<Shard>,
    /// Stop after N new runs, leaving a folder that a rerun completes.
    #[arg(long, value_name = "N", hide = true)]
    pub max_runs: Option<u64>,
}

#[derive(Args, Debug, Clone)]
pub struct MergeArgs {
    /// The results folders of every shard of one sweep.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where the joined results go [default: results/NAME].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct PlotArgs {
    /// A results folder (draws its experiment's `[[plot]]` tables) or a trace file (draws who leads over time).
    pub path: PathBuf,
    /// png | svg, repeatable [default: each plot's `formats`, else png].
    #[arg(long, value_name = "FORMAT")]
    pub format: Vec<Format>,
    /// Width in pixels [default: the plot's, else 960].
    #[arg(long, value_name = "PX", value_parser = parse_size)]
    pub width: Option<u32>,
    /// Height in pixels [default: the plot's, else 600].
    #[arg(long, value_name = "PX", value_parser = parse_size)]
    pub height: Option<u32>,
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
}

/// `agentsim sweep FILE`.
pub fn sweep_cmd(a: &SweepArgs) -> Result<i32, RunError> {
    let exp = Experiment::from_file(&a.file)?;
    let out = a.out.clone().unwrap_or_else(|| default_out_dir(&exp.name));
    let opts = SweepOptions {
        out: out.clone(),
        jobs: a.jobs,
        shard: a.shard,
        progress: true,
        max_runs: a.max_runs,
    };
    let started = Instant::now();
    let r = sweep(&exp, &opts)?;
    if r.discarded > 0 {
        eprintln!(
            "note: {}: {} finished runs there came out different when rerun (another build of agentsim?); ran everything again",
            out.display(),
            r.discarded
        );
    }
    let secs = started.elapsed().as_secs_f64();
    let shard = a.shard.map(|s| format!(", shard {s}")).unwrap_or_default();
    println!(
        "{}: {} configurations × seeds {}{shard}: {} runs in {}",
        exp.name,
        exp.configs.len(),
        exp.seeds_text(),
        r.runs,
        out.display()
    );
    let rate = if secs > 0.0 { r.ran as f64 / secs } else { 0.0 };
    println!(
        "ran {} ({} already done) in {secs:.1}s, {rate:.0} runs/s",
        r.ran, r.resumed
    );
    if !r.stops.is_empty() {
        let s: Vec<String> = r.stops.iter().map(|(k, v)| format!("{k}={v}")).collect();
        println!("stops {}", s.join(" "));
    }
    if !r.complete {
        println!(
            "stopped with {} of {} runs done; rerun the same command to finish",
            r.resumed + r.ran,
            r.runs
        );
    }
    Ok(exit::OK)
}

/// `agentsim merge DIR...`.
pub fn merge_cmd(a: &MergeArgs) -> Result<i32, RunError> {
    let (out, runs) = merge(&a.dirs, a.out.as_deref())?;
    println!(
        "merged {} folders: {runs} runs in {}",
        a.dirs.len(),
        out.display()
    );
    Ok(exit::OK)
}

/// `agentsim plot PATH`.
pub fn plot_cmd(a: &PlotArgs) -> Result<i32, RunError> {
    if a.path.is_dir() {
        let opts = PlotOptions {
            formats: a.format.clone(),
            width: a.width,
            height: a.height,
            only: a.only.clone(),
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
    let opts = TimelineOptions {
        from_ns: a.from.map(|d| d.0),
        to_ns: a.to.map(|d| d.0),
        width: a.width.unwrap_or(WIDTH),
        height: a.height.unwrap_or(HEIGHT),
    };
    let fig = timeline(&a.path, &opts)?;
    let formats = if a.format.is_empty() {
        vec![Format::Png]
    } else {
        a.format.clone()
    };
    for f in formats {
        let out = match &a.out {
            Some(o) if a.format.len() <= 1 => o.clone(),
            Some(o) => o.with_extension(f.ext()),
            None => a.path.with_extension(f.ext()),
        };
        let bytes = render::render(&fig, f).map_err(|e| {
            RunError::Config(crate::scenario::ConfigError(format!(
                "{}: {e}",
                a.path.display()
            )))
        })?;
        super::sweep::write_atomic(&out, &bytes)?;
        println!("{}", out.display());
    }
    Ok(exit::OK)
}
