//! `agentsim sweep FILE` and `agentsim merge DIR...`: flags parsed here, the
//! work done by [`crate::experiment`].

use super::args::parse_jobs;
use super::exit;
use crate::experiment::results::default_out_dir;
use crate::experiment::{merge, sweep, Experiment, Shard, SweepOptions};
use crate::run::RunError;
use clap::Args;
use std::path::PathBuf;
use std::time::Instant;

// `#[doc = concat!(..)]`, not `///`: clap reads a literal doc comment as the
// command's `about`, replacing the one `super::command` sets.
#[doc = concat!("Flags of `agentsim sweep FILE`.")]
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
    /// Refuse runs that need more memory than SIZE, e.g. 8GiB (all runs in flight together) [default: half of physical memory].
    #[arg(long, value_name = "SIZE", value_parser = crate::engine::limits::parse_size)]
    pub memory_limit: Option<u64>,
    /// Replace a results folder of another experiment (another name or base scenario), clearing its files and figures.
    #[arg(long)]
    pub replace: bool,
}

// `#[doc = concat!(..)]`, not `///`: clap reads a literal doc comment as the
// command's `about`, replacing the one `super::command` sets.
#[doc = concat!("Flags of `agentsim merge DIR...`.")]
#[derive(Args, Debug, Clone)]
pub struct MergeArgs {
    /// The results folders of every shard of one sweep.
    #[arg(required = true, value_name = "DIR")]
    pub dirs: Vec<PathBuf>,
    /// Where the joined results go [default: results/NAME].
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// `agentsim sweep FILE`.
pub fn sweep_cmd(a: &SweepArgs) -> Result<i32, RunError> {
    let exp = Experiment::from_file(&a.file)?;
    let out = a.out.clone().unwrap_or_else(|| default_out_dir(&exp.name));
    super::paths::refuse_overwrite_dir(&out, "--out", &[&a.file])?;
    let opts = SweepOptions {
        out: out.clone(),
        jobs: a.jobs,
        shard: a.shard,
        progress: true,
        max_runs: a.max_runs,
        replace: a.replace,
    };
    let started = Instant::now();
    let r = sweep(&exp, &opts)?;
    if r.discarded > 0 {
        eprintln!(
            "note: {}: {} stored rows were not reused (a row's check failed, or a rerun of a stored row came out different: another build of agentsim?); ran them again",
            out.display(),
            r.discarded
        );
    }
    let secs = started.elapsed().as_secs_f64();
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
    if let Some(o) = &a.out {
        let dirs: Vec<&std::path::Path> = a.dirs.iter().map(|d| d.as_path()).collect();
        super::paths::refuse_overwrite_dir(o, "--out", &dirs)?;
    }
    let (out, runs) = merge(&a.dirs, a.out.as_deref())?;
    println!(
        "merged {} folders: {runs} runs in {}",
        a.dirs.len(),
        out.display()
    );
    Ok(exit::OK)
}
