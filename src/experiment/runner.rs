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
    /// The command line's output: the header line (experiment, runs,
    /// folder) on stdout once the sweep starts, then a progress bar on
    /// stderr if it is a terminal.
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

/// Bytes of memory one finished run's row takes until the final files are
/// written (the row, its place in the ordered map, its text in `runs.csv`),
/// besides [`ROW_METRIC_BYTES`] per metric and [`ROW_SERIES_BYTES`] per series.
pub const ROW_BYTES: u64 = 512;
/// Bytes of a row per kept metric.
pub const ROW_METRIC_BYTES: u64 = 48;
/// Bytes of a row per kept series (a few dozen values, and their rows in `series.csv`).
pub const ROW_SERIES_BYTES: u64 = 4096;

/// The runs of `shard` (all runs when `None`): run `i` belongs to shard `i % N`.
pub fn shard_runs(exp: &Experiment, shard: Option<Shard>) -> u64 {
    let runs = exp.runs();
    match shard {
        None => runs,
        Some(s) if runs > s.index => (runs - s.index - 1) / s.count + 1,
        Some(_) => 0,
    }
}

/// Refuses a sweep whose rows, or whose runs in flight, would not fit in
/// the memory limit ([`crate::engine::limits`]): the rows are held until the
/// final files are written, and `threads` runs go at once.
fn check_memory(exp: &Experiment, runs: u64, threads: usize) -> Result<(), ExperimentError> {
    use crate::engine::limits::{estimate, fmt_size, memory_limit};
    let row = ROW_BYTES
        + ROW_METRIC_BYTES * exp.metrics.len() as u64
        + ROW_SERIES_BYTES * exp.series.len() as u64;
    let rows = runs.saturating_mul(row);
    let run = exp
        .configs
        .iter()
        .map(|c| {
            let sc = &c.scenario;
            let node_bytes = sc.protocol.spec().node_bytes(&sc.protocol, sc.nodes);
            estimate(sc.nodes, node_bytes, &sc.net.topology).total()
        })
        .max()
        .unwrap_or(0);
    let at_once = threads.min(runs.max(1) as usize);
    let in_flight = run.saturating_mul(at_once as u64);
    let (limit, _) = memory_limit();
    if rows > limit / 2 {
        return Err(ExperimentError::BadInput(format!(
            "seeds = {}: {runs} runs in this sweep, whose rows ({} each) need about {} of memory until runs.csv is written, above half of the memory limit of {} (accepted: fewer seeds or configurations, --shard K/N to split the sweep, or --memory-limit SIZE)",
            exp.seeds_text(),
            fmt_size(row),
            fmt_size(rows),
            fmt_size(limit)
        )));
    }
    if rows.saturating_add(in_flight) > limit {
        return Err(ExperimentError::BadInput(format!(
            "--jobs {threads}: runs of up to {} each, {at_once} at once, need about {} of memory, above the limit of {} (accepted: a smaller --jobs, smaller runs, or --memory-limit SIZE)",
            fmt_size(run),
            fmt_size(rows.saturating_add(in_flight)),
            fmt_size(limit)
        )));
    }
    Ok(())
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
    let by_id = configs_by_id(exp);
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
        let runs = runs_of_row(exp, &by_id, &f[0], seed);
        if runs.is_empty() {
            continue; // a configuration this experiment no longer has
        }
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
        let r = RunResult {
            stop: f[2].clone(),
            hash: f[3].clone(),
            metrics,
            series,
        };
        for i in runs {
            out.insert(i, r.clone());
        }
    }
    (out, bad)
}

/// The configurations of each content (`config_id`): one, unless two
/// configurations of the experiment run the same scenario.
fn configs_by_id(exp: &Experiment) -> BTreeMap<&str, Vec<usize>> {
    let mut m: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (c, cfg) in exp.configs.iter().enumerate() {
        m.entry(cfg.id.as_str()).or_default().push(c);
    }
    m
}

/// The run indices a stored row `(config_id, seed)` stands for in `exp`.
fn runs_of_row(
    exp: &Experiment,
    by_id: &BTreeMap<&str, Vec<usize>>,
    id: &str,
    seed: u64,
) -> Vec<u64> {
    by_id
        .get(id)
        .into_iter()
        .flatten()
        .filter(|&&c| exp.configs[c].seeds.contains(&seed))
        .map(|&c| exp.run_index(c, seed))
        .collect()
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
    let shard = opts.shard;
    let mine = |i: u64| shard.is_none_or(|s| i % s.count == s.index);
    let total = shard_runs(exp, shard);
    let threads = opts
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    // Refused before the folder is touched.
    check_memory(exp, total, threads)?;
    std::fs::create_dir_all(dir).map_err(|e| ExperimentError::io(dir, e))?;
    let _lock = FolderLock::take(dir)?;

    // What the folder already holds.
    let by_id = configs_by_id(exp);
    let mut done: BTreeMap<u64, RunResult> = BTreeMap::new();
    let mut discarded = 0;
    if let Some(m) = read_manifest(dir)? {
        // A folder of an older results format names no base, and one of
        // another model version may have named it with another hash
        // function: the same name is enough (its rows are run again: they
        // are not reusable).
        let same_base = m.experiment == exp.name
            && (m.format < FORMAT
                || m.model != crate::hash::MODEL_VERSION
                || m.base == base_id(exp));
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
                for ((id, seed), row) in &stored {
                    for i in runs_of_row(exp, &by_id, id, *seed) {
                        if let Some(r) = row.for_experiment(exp).filter(|_| mine(i)) {
                            done.insert(i, r);
                        }
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
    if opts.progress {
        let shard_text = shard.map(|s| format!(", shard {s}")).unwrap_or_default();
        println!(
            "{}: {} configurations × seeds {}{shard_text}: {total} runs in {}",
            exp.name,
            exp.configs.len(),
            exp.seeds_text(),
            dir.display()
        );
    }

    // The runs still to do, one at a time: nothing is held per run before it runs.
    let (first, step) = shard.map_or((0, 1), |s| (s.index, s.count));
    let todo_count = (total - resumed).min(opts.max_runs.unwrap_or(u64::MAX));
    let fresh = {
        let done = &done;
        let todo = (first..exp.runs())
            .step_by(step as usize)
            .filter(move |i| !done.contains_key(i))
            .take(todo_count as usize);
        run_parallel(exp, todo, todo_count, opts, &partial)?
    };
    let ran = fresh.len() as u64;
    done.extend(fresh);

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

/// The lock file of a results folder: held (an OS file lock) by the sweep
/// writing the folder, and released by the OS when that process ends, even
/// when killed, so it never goes stale. It holds the holder's process id.
pub const LOCK: &str = ".sweep.lock";

/// An OS lock on a results folder, held while a sweep writes it.
struct FolderLock {
    /// Held open: the lock goes when it closes.
    _file: std::fs::File,
    path: PathBuf,
}

impl FolderLock {
    /// Takes the lock of `dir`, or refuses naming the sweep that holds it.
    fn take(dir: &Path) -> Result<FolderLock, ExperimentError> {
        let path = dir.join(LOCK);
        loop {
            let mut file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| ExperimentError::io(&path, e))?;
            match try_lock(&file) {
                Ok(true) => {}
                Ok(false) => {
                    let mut holder = String::new();
                    let _ = std::io::Read::read_to_string(&mut file, &mut holder);
                    let holder = holder.trim();
                    return Err(ExperimentError::BadInput(format!(
                        "{}: another sweep is writing this folder ({}) (accepted: wait until it ends, or another --out)",
                        dir.display(),
                        if holder.is_empty() { "its process is starting" } else { holder }
                    )));
                }
                Err(e) => return Err(ExperimentError::io(&path, e)),
            }
            // The holder before us removes the file as it ends: a lock on a
            // file no longer at `path` protects nothing; take it anew.
            if !same_file(&file, &path) {
                continue;
            }
            let me = format!("held by agentsim sweep, process {}\n", std::process::id());
            let written = file
                .set_len(0)
                .and_then(|_| std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(0)))
                .and_then(|_| file.write_all(me.as_bytes()))
                .and_then(|_| file.flush());
            written.map_err(|e| ExperimentError::io(&path, e))?;
            return Ok(FolderLock { _file: file, path });
        }
    }
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        // Removed while still held, so no other sweep holds a lock on it;
        // the OS releases the lock as the file closes.
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Takes an exclusive OS lock on `file` without waiting (`flock`; `File::lock`
/// needs Rust 1.89, above this crate's 1.85): `Ok(false)` when another
/// process holds it. The lock goes with the file's last descriptor.
#[cfg(unix)]
fn try_lock(file: &std::fs::File) -> std::io::Result<bool> {
    use std::os::unix::io::AsRawFd;
    // SAFETY: `flock` on a descriptor we own for the call's duration.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EWOULDBLOCK) => Ok(false),
        _ => Err(e),
    }
}

/// Without `flock`, sweeps do not lock their folder.
#[cfg(not(unix))]
fn try_lock(_file: &std::fs::File) -> std::io::Result<bool> {
    Ok(true)
}

/// Whether the open `file` is the one at `path`.
#[cfg(unix)]
fn same_file(file: &std::fs::File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_file: &std::fs::File, path: &Path) -> bool {
    path.exists()
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
            || [".png", ".svg", ".pdf"].iter().any(|x| name.ends_with(x))
            // A temporary file a killed sweep or plot left behind.
            || (name.starts_with('.') && name.contains(".tmp-"));
        if derived && p.is_file() {
            std::fs::remove_file(&p).map_err(|e| ExperimentError::io(&p, e))?;
        }
    }
    Ok(())
}

/// Runs `todo` (`count` runs) in parallel, appending each row to the
/// partial file as it arrives; returns the new rows.
fn run_parallel(
    exp: &Experiment,
    todo: impl Iterator<Item = u64> + Send,
    count: u64,
    opts: &SweepOptions,
    partial: &Path,
) -> Result<BTreeMap<u64, RunResult>, ExperimentError> {
    let mut fresh = BTreeMap::new();
    if count == 0 {
        return Ok(fresh);
    }
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(partial)
        .map_err(|e| ExperimentError::io(partial, e))?;
    let pool = crate::run::check::thread_pool(opts.jobs)?;
    let bar = progress_bar(opts.progress, count, "runs");
    let abort = AtomicBool::new(false);
    let (tx, rx) = std::sync::mpsc::sync_channel::<(u64, RunResult)>(4096);
    let mut error = None;
    std::thread::scope(|s| {
        let abort = &abort;
        s.spawn(move || {
            pool.install(|| {
                // One run per task, handed out as threads ask: runs differ
                // in cost by 10× or more, and no list of the runs is built.
                todo.take_while(|_| !abort.load(Ordering::Relaxed))
                    .par_bridge()
                    .for_each_with(tx, |tx, i| {
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
            fresh.insert(i, r);
            bar.inc(1);
        }
    });
    bar.finish_and_clear();
    match error {
        Some(e) => Err(e),
        None => Ok(fresh),
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
fn progress_bar(_wanted: bool, _len: u64, _unit: &str) -> NoBar {
    NoBar
}

/// A bar on stderr when `wanted` and stderr is a terminal (hidden
/// otherwise): `unit`s done (runs, seeds), rate, time left.
#[cfg(feature = "cli")]
pub(crate) fn progress_bar(wanted: bool, len: u64, unit: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !(wanted && std::io::stderr().is_terminal()) {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(&format!(
        "{{elapsed_precise}} [{{wide_bar}}] {{human_pos}}/{{human_len}} {unit}, {{rate}} {unit}/s, {{eta}} left"
    )) {
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
