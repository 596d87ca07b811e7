//! `agentsim rerun DIR --row N`: one row of a results folder, run again
//! exactly (the configuration's scenario, derived settings included, and
//! the row's seed), printed as `run` prints it, its hash compared with the
//! row's.

use super::args::OutputArgs;
use super::exit;
use crate::experiment::results::{read_manifest, EXPERIMENT_COPY, RUNS_CSV};
use crate::experiment::{csv, Experiment};
use crate::run::RunError;
use crate::scenario::ConfigError;
use clap::Args;
use std::path::PathBuf;

// `#[doc = concat!(..)]`, not `///`: clap reads a literal doc comment as the
// command's `about`, replacing the one `super::command` sets.
#[doc = concat!("Flags of `agentsim rerun DIR`.")]
#[derive(Args, Debug, Clone)]
pub struct RerunArgs {
    /// A results folder written by `sweep` or `merge`.
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The row of runs.csv, counted from 1 after the header (line N+1 of the file).
    #[arg(long, value_name = "N", required_unless_present = "config", conflicts_with_all = ["config", "seed"])]
    pub row: Option<u64>,
    /// The row with this `config` column value (with --seed).
    #[arg(long, value_name = "C", requires = "seed")]
    pub config: Option<usize>,
    /// The row with this `seed` column value (with --config).
    #[arg(long, value_name = "SEED", requires = "config")]
    pub seed: Option<u64>,
    /// How the run is printed and traced, as for `run`.
    #[command(flatten)]
    pub output: OutputArgs,
}

fn bad(msg: String) -> RunError {
    RunError::Config(ConfigError(msg))
}

/// `agentsim rerun DIR`: exit code as `run`'s, or [`exit::DIVERGED`] when
/// the hash differs from the row's.
pub fn rerun_cmd(a: &RerunArgs) -> Result<i32, RunError> {
    if let Some(t) = &a.output.trace {
        let inputs = [a.dir.join(EXPERIMENT_COPY), a.dir.join(RUNS_CSV)];
        super::paths::refuse_overwrite(t, "--trace", &[&inputs[0], &inputs[1]])?;
    }
    let exp = Experiment::from_file(&a.dir.join(EXPERIMENT_COPY))?;
    let manifest = read_manifest(&a.dir)?;
    let runs_path = a.dir.join(RUNS_CSV);
    let text = std::fs::read_to_string(&runs_path).map_err(|e| RunError::Input {
        path: runs_path.display().to_string(),
        source: e,
    })?;
    let records = csv::parse(&text).map_err(|e| bad(format!("{}: {e}", runs_path.display())))?;
    let header = records
        .first()
        .ok_or_else(|| bad(format!("{}: empty file", runs_path.display())))?;
    let col = |name: &str| {
        header.iter().position(|h| h == name).ok_or_else(|| {
            bad(format!(
                "{}: no `{name}` column (a folder of results format 2 is needed; sweep it again)",
                runs_path.display()
            ))
        })
    };
    let (config_c, seed_c, hash_c, id_c) = (
        col("config")?,
        col("seed")?,
        col("hash")?,
        col("config_id")?,
    );
    let rows = &records[1..];
    let rec = match (a.row, a.config, a.seed) {
        (Some(n), _, _) => {
            if n == 0 || n > rows.len() as u64 {
                return Err(bad(format!(
                    "--row: must be in 1..={} (the rows of {})",
                    rows.len(),
                    runs_path.display()
                )));
            }
            &rows[n as usize - 1]
        }
        (None, Some(c), Some(s)) => rows
            .iter()
            .find(|r| {
                r.get(config_c) == Some(&c.to_string()) && r.get(seed_c) == Some(&s.to_string())
            })
            .ok_or_else(|| {
                bad(format!(
                    "--config {c} --seed {s}: no such row in {}",
                    runs_path.display()
                ))
            })?,
        _ => return Err(bad("give --row N, or --config C with --seed S".into())),
    };
    let field = |c: usize| rec.get(c).map(String::as_str).unwrap_or("");
    let c: usize = field(config_c)
        .parse()
        .ok()
        .filter(|&c: &usize| c < exp.configs.len())
        .ok_or_else(|| {
            bad(format!(
                "{}: row's config `{}` is not a configuration of its experiment.toml",
                runs_path.display(),
                field(config_c)
            ))
        })?;
    let seed: u64 = field(seed_c).parse().map_err(|_| {
        bad(format!(
            "{}: row's seed `{}` is not a number",
            runs_path.display(),
            field(seed_c)
        ))
    })?;
    let cfg = &exp.configs[c];
    if cfg.id != field(id_c) {
        return Err(bad(format!(
            "{}: the row's config_id {} is not configuration {c}'s ({}): the folder's experiment.toml does not match its runs.csv",
            runs_path.display(),
            field(id_c),
            cfg.id
        )));
    }
    let mut sc = cfg.scenario.clone();
    sc.seed = seed;
    if !a.output.json {
        let values: Vec<String> = exp
            .params
            .iter()
            .zip(&cfg.values)
            .map(|(p, v)| format!("{p}={v}"))
            .collect();
        let name = manifest
            .as_ref()
            .map_or(exp.name.as_str(), |m| m.experiment.as_str());
        println!("{name} config {c} ({}) seed {seed}", values.join(" "));
    }
    let (code, hash) = super::run::run_and_print(&sc, &a.output)?;
    let want = field(hash_c);
    if hash == want {
        if !a.output.json {
            println!("hash matches the row's");
        }
        Ok(code)
    } else {
        let model = manifest.map(|m| m.model).unwrap_or(0);
        let why = if model != crate::hash::MODEL_VERSION {
            format!(
                "the folder was written by model version {model}, this build runs {}",
                crate::hash::MODEL_VERSION
            )
        } else {
            "the folder was written by another build of agentsim".to_string()
        };
        eprintln!("hash {hash} differs from the row's {want}: {why}");
        Ok(exit::DIVERGED)
    }
}
