//! Loading a results folder for plotting: the experiment, its runs and
//! series, and the summary, checked against each other.

use super::*;
use crate::experiment::format::Experiment;
use crate::experiment::results::{read_manifest, read_results, EXPERIMENT_COPY, SUMMARY_CSV};

/// A results folder read back.
pub struct Results {
    /// The experiment, parsed from the folder's copy of its file.
    pub exp: Experiment,
    /// Every run's results, by run index (see [`Experiment::run_at`]).
    pub runs: BTreeMap<u64, RunResult>,
    /// `(config, metric)` → summary columns by name.
    pub summary: SummaryTable,
}

pub(super) fn bad(m: String) -> ExperimentError {
    ExperimentError::BadInput(m)
}

impl Results {
    /// Reads `experiment.toml`, `runs.csv` and `summary.csv` of a complete sweep.
    pub fn load(dir: &Path) -> Result<Results, ExperimentError> {
        let manifest = read_manifest(dir)?.ok_or_else(|| {
            bad(format!(
                "{}: no manifest.toml (accepted: a folder written by `agentsim sweep` or `agentsim merge`)",
                dir.display()
            ))
        })?;
        if let Some(s) = manifest.shard {
            return Err(bad(format!(
                "{}: holds shard {s} only (accepted: a complete sweep; join shards with `agentsim merge`)",
                dir.display()
            )));
        }
        let read = |name: &str| {
            let p = dir.join(name);
            std::fs::read_to_string(&p).map_err(|e| ExperimentError::input(&p, e))
        };
        let source = read(EXPERIMENT_COPY)?;
        let exp = Experiment::parse(
            &source,
            &manifest.experiment,
            &dir.join(EXPERIMENT_COPY).display().to_string(),
        )?;
        let runs = read_results(&exp, dir)?;
        let summary_path = dir.join(SUMMARY_CSV);
        let summary = parse_summary(&exp, &read(SUMMARY_CSV)?)
            .map_err(|e| bad(format!("{}: {e}", summary_path.display())))?;
        Ok(Results { exp, runs, summary })
    }

    pub(super) fn metric_index(&self, m: &str) -> usize {
        self.exp
            .metrics
            .iter()
            .position(|x| x == m)
            .expect("plot metrics are validated against kept metrics")
    }

    /// The metric's values in the runs of configuration `c` (present ones) and the number of runs.
    pub(super) fn values(&self, c: usize, metric: &str) -> (Vec<f64>, usize) {
        let mi = self.metric_index(metric);
        let rows: Vec<&RunResult> = self
            .exp
            .runs_of(c)
            .filter_map(|i| self.runs.get(&i))
            .collect();
        let v = rows.iter().filter_map(|r| r.metrics[mi]).collect();
        (v, rows.len())
    }

    /// `200 trials`, or `1–200 trials` when the configurations differ.
    pub(super) fn trials_text(&self, configs: &[usize]) -> String {
        let t = configs.iter().map(|&c| self.exp.trials(c));
        let (lo, hi) = (t.clone().min().unwrap_or(0), t.max().unwrap_or(0));
        if lo == hi {
            format!("{lo} trials")
        } else {
            format!("{lo}–{hi} trials")
        }
    }

    pub(super) fn stat(&self, c: usize, metric: &str, col: &str) -> Option<f64> {
        self.summary
            .get(&(c, metric.to_string()))
            .and_then(|m| m.get(col).copied().flatten())
    }
}

pub(super) fn parse_summary(exp: &Experiment, text: &str) -> Result<SummaryTable, String> {
    let recs = csv::parse(text)?;
    let Some(header) = recs.first() else {
        return Err("empty file".into());
    };
    let nk = crate::experiment::results::key_columns(exp).len();
    let expected: Vec<&str> = SUMMARY_STATS.to_vec();
    if header.len() != nk + 1 + expected.len() || header[nk] != "metric" {
        return Err("columns differ from the experiment's".into());
    }
    let mut out = BTreeMap::new();
    for (li, r) in recs.iter().enumerate().skip(1) {
        if r.len() != header.len() {
            return Err(format!(
                "line {}: {} fields, expected {}",
                li + 1,
                r.len(),
                header.len()
            ));
        }
        let c: usize = r[0]
            .parse()
            .ok()
            .filter(|&c| c < exp.configs.len())
            .ok_or_else(|| format!("line {}: config '{}' out of range", li + 1, r[0]))?;
        let mut cols = BTreeMap::new();
        for (k, v) in header[nk + 1..].iter().zip(&r[nk + 1..]) {
            let v = if v.is_empty() {
                None
            } else {
                Some(
                    v.parse::<f64>()
                        .ok()
                        .filter(|x| !x.is_nan())
                        .ok_or_else(|| format!("line {}: '{v}' is not a number", li + 1))?,
                )
            };
            cols.insert(k.clone(), v);
        }
        out.insert((c, r[nk].clone()), cols);
    }
    Ok(out)
}
