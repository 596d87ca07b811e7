//! `merge`: join the results folders of `sweep --shard` runs into files
//! byte-identical to a sweep on one machine.

use super::format::Experiment;
use super::results::*;
use super::runner::run_one;
use super::ExperimentError;
use crate::observe::trace::program_version;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Joins shard folders into `out`, byte-identical to a single-machine run.
pub fn merge(dirs: &[PathBuf], out: Option<&Path>) -> Result<(PathBuf, u64), ExperimentError> {
    let bad = |m: String| ExperimentError::BadInput(m);
    let Some(first) = dirs.first() else {
        return Err(bad("merge needs at least one folder".into()));
    };
    let mut manifests = Vec::new();
    for d in dirs {
        let m = read_manifest(d)?.ok_or_else(|| {
            bad(format!(
                "{}: no {MANIFEST} (accepted: folders written by `agentsim sweep --shard K/N`)",
                d.display()
            ))
        })?;
        manifests.push(m);
    }
    let m0 = &manifests[0];
    for (d, m) in dirs.iter().zip(&manifests) {
        if m.format != FORMAT || m.model != crate::hash::MODEL_VERSION {
            return Err(bad(format!(
                "{}: results format {} of model version {}, this agentsim writes format {FORMAT} of model version {} (accepted: shards of this model version; rerun the shard)",
                d.join(MANIFEST).display(),
                m.format,
                m.model,
                crate::hash::MODEL_VERSION
            )));
        }
    }
    if m0.program != program_version() {
        return Err(bad(format!(
            "{}: written by {}, this is {} (accepted: shards of the same program version)",
            first.display(),
            m0.program,
            program_version()
        )));
    }
    let source_path = first.join(EXPERIMENT_COPY);
    let source = std::fs::read_to_string(&source_path)
        .map_err(|e| ExperimentError::input(&source_path, e))?;
    let exp = Experiment::parse(&source, &m0.experiment, &source_path.display().to_string())?;
    let fp = fingerprint(&exp);
    let mut shards: Vec<Option<Shard>> = Vec::new();
    for (d, m) in dirs.iter().zip(&manifests) {
        if m.fingerprint != fp {
            return Err(bad(format!(
                "{}: results of another experiment or program version than {} (fingerprint {} vs {fp})",
                d.display(),
                first.display(),
                m.fingerprint
            )));
        }
        let sh = match &m.shard {
            None => None,
            Some(s) => Some(
                s.parse::<Shard>()
                    .map_err(|e| bad(format!("{}: {e}", d.display())))?,
            ),
        };
        shards.push(sh);
    }
    let count = shards[0].map_or(1, |s| s.count);
    let mut seen = vec![false; count as usize];
    for (d, sh) in dirs.iter().zip(&shards) {
        let (k, n) = sh.map_or((0, 1), |s| (s.index, s.count));
        if n != count {
            return Err(bad(format!(
                "{}: shard {k}/{n}, but {} is one of {count} shards",
                d.display(),
                first.display()
            )));
        }
        if std::mem::replace(&mut seen[k as usize], true) {
            return Err(bad(format!("{}: shard {k}/{n} given twice", d.display())));
        }
    }
    if let Some(k) = seen.iter().position(|s| !s) {
        return Err(bad(format!(
            "shard {k}/{count} missing (accepted: the folders of all {count} shards)"
        )));
    }
    let mut results = BTreeMap::new();
    for (d, sh) in dirs.iter().zip(&shards) {
        let path = d.join(RUNS_CSV);
        let rows = read_results(&exp, d)?;
        // One row per shard is rerun: shards of another build must not mix.
        if let Some((&i, r)) = rows.iter().next() {
            if run_one(&exp, i) != *r {
                return Err(bad(format!(
                    "{}: run {i} comes out different with this build of agentsim (accepted: shards run by the same build; rerun this shard)",
                    path.display()
                )));
            }
        }
        for (i, r) in rows {
            if let Some(s) = sh {
                if i % s.count != s.index {
                    return Err(bad(format!(
                        "{}: run {i} does not belong to shard {s}",
                        path.display()
                    )));
                }
            }
            results.insert(i, r);
        }
    }
    if results.len() as u64 != exp.runs() {
        return Err(bad(format!(
            "the shards hold {} of {} runs (accepted: finished shards; rerun the unfinished ones)",
            results.len(),
            exp.runs()
        )));
    }
    let out = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| default_out_dir(&exp.name));
    std::fs::create_dir_all(&out).map_err(|e| ExperimentError::io(&out, e))?;
    write_results(&exp, &out, None, &results)?;
    Ok((out, results.len() as u64))
}
