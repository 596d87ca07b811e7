//! Running a sweep: every (configuration, seed) once, in parallel, with
//! results that do not depend on the number of threads, shards, or
//! interruptions.
//!
//! ```text
//!  todo = runs of this shard − rows already in DIR
//!    │  rayon pool (--jobs), one single-threaded run per task
//!    ▼
//!  (run index, result) ──channel──► main thread: append one line to
//!                                   DIR/.runs.partial, flush (per row)
//!    all done ──► runs.csv, summary.csv, experiment.toml, manifest.toml
//!                 (each temp + rename), then the partial file is removed
//! ```
//!
//! A rerun of the same command reads `.runs.partial` (and a finished
//! `runs.csv` of the same experiment) and only runs what is missing, so an
//! interrupted sweep loses at most the runs that were in flight. Rows are
//! sorted by run index before the final files are written, so the files are
//! byte-identical whatever the thread count, shard split or resume history.

use super::csv::{num, opt_num};
use super::format::Experiment;
use super::results::*;
use super::ExperimentError;
use crate::run::run_silent;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// How to run a sweep.
#[derive(Clone, Debug, Default)]
pub struct SweepOptions {
    /// The results folder.
    pub out: PathBuf,
    /// Threads (all cores when `None`).
    pub jobs: Option<usize>,
    /// Run only this slice of the runs; `None`: all of them.
    pub shard: Option<Shard>,
    /// Draw a progress bar on stderr if it is a terminal.
    pub progress: bool,
    /// Stop after this many new runs, leaving a resumable folder (for tests
    /// and for budgeted slices).
    pub max_runs: Option<u64>,
    /// Replace a folder that holds another experiment's results (clearing
    /// everything derived from them) instead of refusing.
    pub replace: bool,
}

/// What a sweep did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SweepReport {
    /// Runs in this shard (all runs when not sharded).
    pub runs: u64,
    /// Runs found already done in the folder.
    pub resumed: u64,
    /// Runs executed now.
    pub ran: u64,
    /// Whether the final files were written.
    pub complete: bool,
    /// Runs done so far by stop reason.
    pub stops: BTreeMap<String, u64>,
    /// Rows found in the folder but thrown away: rerunning a sample gave
    /// other results (another build of agentsim wrote them).
    pub discarded: u64,
}

/// Runs run `i` of the experiment (single-threaded, deterministic).
pub fn run_one(exp: &Experiment, i: u64) -> RunResult {
    let (c, seed) = exp.run_at(i);
    let mut sc = exp.configs[c].scenario.clone();
    sc.seed = seed;
    let report = run_silent(&sc);
    let mut computed: Vec<(&str, Option<f64>)> = Vec::with_capacity(exp.computed.len());
    for cm in &exp.computed {
        let v = cm.expr.eval(|m| {
            report
                .metrics
                .get(m)
                .copied()
                .or_else(|| computed.iter().find(|(n, _)| *n == m).and_then(|&(_, v)| v))
        });
        computed.push((cm.name.as_str(), v));
    }
    let metrics = exp
        .metrics
        .iter()
        .map(|m| {
            report
                .metrics
                .get(m.as_str())
                .copied()
                .or_else(|| computed.iter().find(|(n, _)| n == m).and_then(|&(_, v)| v))
        })
        .collect();
    let series = exp
        .series
        .iter()
        .map(|name| series_values(report.facts.get(name.as_str())))
        .collect();
    RunResult {
        stop: report.stop.as_str().to_string(),
        hash: report.hash,
        metrics,
        series,
    }
}

fn partial_header(exp: &Experiment, shard: Option<Shard>) -> String {
    format!(
        "# agentsim sweep partial v2 model {} experiment {} shard {} metrics {} series {}\n",
        crate::hash::MODEL_VERSION,
        base_id(exp),
        shard.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
        exp.metrics.join(","),
        exp.series.join(","),
    )
}

/// One row of the partial file: `config_id,seed,stop,hash,metrics...,series...,check`
/// (a series is one field of space-separated numbers; the check covers the
/// model version and every field before it).
fn partial_line(exp: &Experiment, out: &mut String, i: u64, r: &RunResult) {
    let (c, seed) = exp.run_at(i);
    let mut fields: Vec<String> = Vec::with_capacity(5 + r.metrics.len() + r.series.len());
    fields.push(config_id(exp, c));
    fields.push(seed.to_string());
    fields.push(r.stop.clone());
    fields.push(r.hash.clone());
    fields.extend(r.metrics.iter().map(|&m| opt_num(m)));
    for values in &r.series {
        let v: Vec<String> = values.iter().map(|&v| num(v)).collect();
        fields.push(v.join(" "));
    }
    let check = row_check(&fields);
    out.clear();
    for f in &fields {
        out.push_str(f);
        out.push(',');
    }
    out.push_str(&check);
    out.push('\n');
}

/// Rows of a partial file written for this experiment, shard and model
/// version, by run index; a row whose check fails is counted and left out
/// (it is run again), a torn last line ignored, another experiment's file
/// ignored whole.
fn read_partial(exp: &Experiment, header: &str, text: &str) -> (BTreeMap<u64, RunResult>, u64) {
    let mut out = BTreeMap::new();
    let mut bad = 0;
    let Some(body) = text.strip_prefix(header) else {
        return (out, 0);
    };
    let index: BTreeMap<(&str, u64), u64> = (0..exp.configs.len())
        .flat_map(|c| {
            exp.runs_of(c)
                .map(move |i| ((exp.configs[c].id.as_str(), exp.run_at(i).1), i))
        })
        .collect();
    let nm = exp.metrics.len();
    let ns = exp.series.len();
    for line in body.split_inclusive('\n') {
        let Some(line) = line.strip_suffix('\n') else {
            break; // torn by an interruption
        };
        let f: Vec<String> = line.split(',').map(String::from).collect();
        if f.len() != 5 + nm + ns || row_check(&f[..f.len() - 1]) != f[f.len() - 1] {
            bad += 1;
            continue;
        }
        let Ok(seed) = f[1].parse::<u64>() else {
            bad += 1;
            continue;
        };
        let Some(&i) = index.get(&(f[0].as_str(), seed)) else {
            continue; // a configuration this experiment no longer has
        };
        let metrics: Result<Vec<Option<f64>>, _> = f[4..4 + nm]
            .iter()
            .map(|s| {
                if s.is_empty() {
                    Ok(None)
                } else {
                    s.parse::<f64>().map(Some)
                }
            })
            .collect();
        let series: Result<Vec<Vec<f64>>, _> = f[4 + nm..4 + nm + ns]
            .iter()
            .map(|s| {
                s.split(' ')
                    .filter(|v| !v.is_empty())
                    .map(str::parse::<f64>)
                    .collect()
            })
            .collect();
        let (Ok(metrics), Ok(series)) = (metrics, series) else {
            bad += 1;
            continue;
        };
        out.insert(
            i,
            RunResult {
                stop: f[2].clone(),
                hash: f[3].clone(),
                metrics,
                series,
            },
        );
    }
    (out, bad)
}

/// Runs the experiment's runs of this shard that the folder does not hold yet.
///
/// Rows are reused by what identifies them, `(config_id, seed)` under this
/// model version: from the folder's finished files (whatever the experiment
/// file looked like when it wrote them: plot-only edits, more seeds or more
/// parameter values keep every row that still belongs) and from an
/// interrupted sweep's partial file. A folder of another experiment (another
/// name or base scenario) is refused unless `replace` is set.
pub fn sweep(exp: &Experiment, opts: &SweepOptions) -> Result<SweepReport, ExperimentError> {
    let dir = &opts.out;
    std::fs::create_dir_all(dir).map_err(|e| ExperimentError::io(dir, e))?;
    let shard = opts.shard;
    let mine = |i: u64| shard.is_none_or(|s| i % s.count == s.index);
    let total = (0..exp.runs()).filter(|&i| mine(i)).count() as u64;

    // What the folder already holds.
    let mut done: BTreeMap<u64, RunResult> = BTreeMap::new();
    let mut discarded = 0;
    if let Some(m) = read_manifest(dir)? {
        // A folder of an older results format names no base: the same name
        // is enough (its rows are run again: they are not reusable).
        let same_base = m.experiment == exp.name && (m.format < FORMAT || m.base == base_id(exp));
        if !same_base && !opts.replace {
            return Err(ExperimentError::BadInput(format!(
                "{}: holds results of experiment '{}' ({}), not of this one (accepted: another --out, or --replace to replace them)",
                dir.display(),
                m.experiment,
                if m.experiment == exp.name { "another base scenario" } else { "another name" }
            )));
        }
        let same_shard = m.shard == shard.map(|s| s.to_string());
        if same_base && same_shard && !opts.replace {
            if let Some((stored, bad)) = read_stored(dir) {
                discarded += bad;
                for i in (0..exp.runs()).filter(|&i| mine(i)) {
                    let (c, seed) = exp.run_at(i);
                    if let Some(r) = stored
                        .get(&(exp.configs[c].id.clone(), seed))
                        .and_then(|row| row.for_experiment(exp))
                    {
                        done.insert(i, r);
                    }
                }
            }
        }
        if opts.replace {
            clear_derived(dir)?;
        }
    }
    let partial = dir.join(PARTIAL);
    let header = partial_header(exp, shard);
    match std::fs::read_to_string(&partial) {
        Ok(text) => {
            let (rows, bad) = read_partial(exp, &header, &text);
            discarded += bad;
            done.extend(rows.into_iter().filter(|(i, _)| mine(*i)));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(ExperimentError::io(&partial, e)),
    }
    // The model version names the model, not the build: rerun the first and
    // last rows found and start over if they come out different (a build
    // that changed runs without a bump of the model version must not mix).
    let probes: Vec<u64> = [done.keys().next(), done.keys().next_back()]
        .into_iter()
        .flatten()
        .copied()
        .collect();
    for i in probes {
        if run_one(exp, i) != done[&i] {
            discarded += done.len() as u64;
            done.clear();
            break;
        }
    }
    let resumed = done.len() as u64;

    // Start the partial file afresh with the rows known so far (this drops a
    // torn last line and rows of other experiments), then append.
    let mut text = header.clone();
    let mut line = String::new();
    for (&i, r) in &done {
        partial_line(exp, &mut line, i, r);
        text.push_str(&line);
    }
    write_atomic(&partial, text.as_bytes())?;

    let mut todo: Vec<u64> = (0..exp.runs())
        .filter(|&i| mine(i) && !done.contains_key(&i))
        .collect();
    if let Some(max) = opts.max_runs {
        todo.truncate(max as usize);
    }
    let ran = todo.len() as u64;
    if !todo.is_empty() {
        run_parallel(exp, &todo, opts, &partial, &mut done)?;
    }

    let mut stops = BTreeMap::new();
    for r in done.values() {
        *stops.entry(r.stop.clone()).or_insert(0) += 1;
    }
    let complete = done.len() as u64 == total;
    if complete {
        write_results(exp, dir, shard, &done)?;
        std::fs::remove_file(&partial).map_err(|e| ExperimentError::io(&partial, e))?;
    }
    Ok(SweepReport {
        runs: total,
        resumed,
        ran,
        complete,
        stops,
        discarded,
    })
}

/// Removes what is derived from a folder's results (the results files and
/// figures), before another experiment's results replace them.
fn clear_derived(dir: &Path) -> Result<(), ExperimentError> {
    let entries = std::fs::read_dir(dir).map_err(|e| ExperimentError::io(dir, e))?;
    for e in entries.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        let derived = [
            RUNS_CSV,
            SERIES_CSV,
            SUMMARY_CSV,
            EXPERIMENT_COPY,
            MANIFEST,
            PARTIAL,
        ]
        .contains(&name.as_str())
            || [".png", ".svg", ".pdf"].iter().any(|x| name.ends_with(x));
        if derived && p.is_file() {
            std::fs::remove_file(&p).map_err(|e| ExperimentError::io(&p, e))?;
        }
    }
    Ok(())
}

fn run_parallel(
    exp: &Experiment,
    todo: &[u64],
    opts: &SweepOptions,
    partial: &Path,
    done: &mut BTreeMap<u64, RunResult>,
) -> Result<(), ExperimentError> {
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(partial)
        .map_err(|e| ExperimentError::io(partial, e))?;
    let pool = crate::run::check::thread_pool(opts.jobs)?;
    let bar = progress_bar(opts.progress, todo.len() as u64);
    let abort = AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::sync_channel::<(u64, RunResult)>(4096);
    let mut error = None;
    std::thread::scope(|s| {
        let abort = &abort;
        s.spawn(move || {
            pool.install(|| {
                // One run per task: runs differ in cost by 10× or more, and
                // rayon only splits a range when a thread steals, so without
                // this a thread can sit idle while the other finishes a
                // quarter of the runs alone.
                todo.par_iter().with_max_len(1).for_each_with(tx, |tx, &i| {
                    if abort.load(Ordering::Relaxed) {
                        return;
                    }
                    let _ = tx.send((i, run_one(exp, i)));
                })
            })
        });
        let mut line = String::new();
        for (i, r) in rx.iter() {
            partial_line(exp, &mut line, i, &r);
            // One write per row, flushed: an interruption loses only runs in flight.
            if let Err(e) = file.write_all(line.as_bytes()).and_then(|_| file.flush()) {
                abort.store(true, Ordering::Relaxed);
                error.get_or_insert(ExperimentError::io(partial, e));
                continue;
            }
            done.insert(i, r);
            bar.inc(1);
        }
    });
    bar.finish_and_clear();
    match error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Without the `cli` feature there is no terminal bar.
#[cfg(not(feature = "cli"))]
struct NoBar;

#[cfg(not(feature = "cli"))]
impl NoBar {
    fn inc(&self, _: u64) {}
    fn finish_and_clear(&self) {}
}

#[cfg(not(feature = "cli"))]
fn progress_bar(_wanted: bool, _len: u64) -> NoBar {
    NoBar
}

#[cfg(feature = "cli")]
fn progress_bar(wanted: bool, len: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !(wanted && std::io::stderr().is_terminal()) {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {human_pos}/{human_len} runs, {rate} runs/s, {eta} left",
    ) {
        let style = style
            .with_key(
                "rate",
                |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{:.0}", s.per_sec());
                },
            )
            .progress_chars("=> ");
        bar.set_style(style);
    }
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exp() -> Experiment {
        Experiment::parse(
            "protocol = \"raft\"\nseeds = \"0..3\"\nmetrics = [\"downtime_ms\", \"terms\"]\n[scenario.faults.leader_crashes]\nfirst = \"1s\"\nevery = \"1s\"\ndown = \"500ms\"\ncount = 1\n[sweep]\nnodes = [3, 5]\n",
            "t",
            "t.toml",
        )
        .unwrap()
    }

    #[test]
    fn gossip_series_are_listed_and_round_trip() {
        let e = Experiment::parse(
            "protocol = \"gossip\"\nseeds = \"0..3\"\nmetrics = [\"rounds_to_full\"]\nseries = [\"coverage\"]\n[scenario]\nnodes = 40\n[sweep]\n\"protocol.direction\" = [\"push\", \"pull\"]\n",
            "g",
            "g.toml",
        )
        .unwrap();
        let mut sc = e.configs[0].scenario.clone();
        sc.seed = 1;
        let report = run_silent(&sc);
        for s in sc.protocol.spec().series() {
            assert!(
                report.facts.get(s.name).is_some_and(|v| v.is_array()),
                "gossip reports no array '{}': its monitor's series() is wrong",
                s.name
            );
        }
        let results: BTreeMap<u64, RunResult> =
            (0..e.runs()).map(|i| (i, run_one(&e, i))).collect();
        assert!(results.values().all(|r| r.series[0].len() > 2));
        // series.csv and the partial file give back the same numbers.
        let mut back = parse_runs_csv(&e, &runs_csv(&e, &results)).unwrap();
        parse_series_csv(&e, &series_csv(&e, &results), &mut back).unwrap();
        assert_eq!(back, results);
        let header = partial_header(&e, None);
        let mut text = header.clone();
        let mut line = String::new();
        for (&i, r) in &results {
            partial_line(&e, &mut line, i, r);
            text.push_str(&line);
        }
        assert_eq!(read_partial(&e, &header, &text), (results.clone(), 0));
        // A series row of a run that is not in runs.csv is refused.
        let mut fewer = results.clone();
        fewer.remove(&5);
        let err = parse_series_csv(&e, &series_csv(&e, &results), &mut fewer).unwrap_err();
        assert!(err.contains("not in runs.csv"), "{err}");
    }

    #[test]
    fn partial_rows_round_trip_and_torn_lines_are_ignored() {
        let e = exp();
        let header = partial_header(&e, None);
        let mut text = header.clone();
        let mut line = String::new();
        let r = run_one(&e, 4);
        partial_line(&e, &mut line, 4, &r);
        text.push_str(&line);
        // A row changed after it was written fails its check.
        let mut changed = line.clone();
        let comma = changed.find(",done,").expect("a done row") + 1;
        changed.replace_range(comma..comma + 4, "time");
        text.push_str(&changed);
        text.push_str("5,done,00ff"); // torn
        let (back, bad) = read_partial(&e, &header, &text);
        assert_eq!(back.len(), 1);
        assert_eq!(back[&4], r);
        assert_eq!(bad, 1);
        // Another experiment's (here: shard's) partial file is ignored.
        assert!(read_partial(
            &e,
            &partial_header(&e, Some(Shard { index: 0, count: 2 })),
            &text
        )
        .0
        .is_empty());
    }

    #[test]
    fn runs_csv_round_trips() {
        let e = exp();
        let results: BTreeMap<u64, RunResult> =
            (0..e.runs()).map(|i| (i, run_one(&e, i))).collect();
        let text = runs_csv(&e, &results);
        assert_eq!(parse_runs_csv(&e, &text).unwrap(), results);
        // A row whose parameters are not the configuration's is rejected.
        let tampered = text.replacen("\n0,3,0,", "\n0,4,0,", 1);
        assert_ne!(tampered, text);
        assert!(parse_runs_csv(&e, &tampered).is_err());
        assert!("2/2".parse::<Shard>().is_err());
        assert_eq!(
            "1/4".parse::<Shard>().unwrap(),
            Shard { index: 1, count: 4 }
        );
    }
}
