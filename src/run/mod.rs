//! Running scenarios: one run end to end (the `run_start` header, the run,
//! the `run_end` record, atomic trace files written to a temporary file in
//! the same folder and renamed into place only when complete), [`replay`] of
//! a trace, [`check`] of many seeds in parallel (with a fault mix drawn per
//! seed under [`swarm`]), and the [`determinism`] self-check (a seed run
//! twice must give the same hash).

pub mod check;
pub mod determinism;
mod replay;
pub mod shrink;
pub mod swarm;
pub mod temps;

pub use replay::{replay, Replay};

use crate::engine::RunReport;
use crate::observe::trace::{
    dependency_versions, program_version, TraceLevel, Tracer, SCHEMA_VERSION,
};
use crate::scenario::Scenario;
use serde::{Deserialize, Serialize};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

/// Errors of running or replaying (the binary maps them to exit codes).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The scenario is invalid.
    #[error("{0}")]
    Config(#[from] crate::scenario::ConfigError),
    /// Writing an output (or another I/O failure that is not the input's fault).
    #[error("{path}: {source}")]
    Io {
        /// The path concerned.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An input file named by the user is missing or unreadable: bad input.
    #[error("{path}: cannot read: {source}")]
    Input {
        /// The path the user named.
        path: String,
        /// Why it could not be read.
        source: std::io::Error,
    },
    /// A trace that cannot be replayed (not a trace, or another schema).
    #[error("{0}")]
    BadTrace(String),
    /// The worker threads could not be started.
    #[error("{0}")]
    Threads(#[from] check::ThreadsError),
}

pub(crate) fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Io {
        path: path.display().to_string(),
        source,
    }
}

pub(crate) fn input_err(path: &Path) -> impl FnOnce(std::io::Error) -> RunError + '_ {
    move |source| RunError::Input {
        path: path.display().to_string(),
        source,
    }
}

/// The `run_start` record.
#[derive(Serialize, Deserialize, Clone, Debug)]
pub struct RunStart {
    /// The trace schema ([`SCHEMA_VERSION`]).
    pub schema: u32,
    /// `agentsim X.Y.Z`.
    pub program: String,
    /// The model version ([`crate::hash::MODEL_VERSION`]).
    #[serde(default)]
    pub model: u32,
    /// The run's seed.
    pub seed: u64,
    /// The protocol's name.
    pub protocol: String,
    /// The level the trace was written at.
    pub trace_level: TraceLevel,
    /// The whole scenario (enough to re-run it).
    pub scenario: Scenario,
    /// Versions of the dependencies that affect replay.
    pub deps: serde_json::Value,
}

impl RunStart {
    /// The header of a run of `sc` traced at `level`.
    pub fn new(sc: &Scenario, level: TraceLevel) -> RunStart {
        RunStart {
            schema: SCHEMA_VERSION,
            program: program_version(),
            model: crate::hash::MODEL_VERSION,
            seed: sc.seed,
            protocol: sc.protocol.name().to_string(),
            trace_level: level,
            scenario: sc.clone(),
            deps: dependency_versions(),
        }
    }
}

/// Runs a validated scenario with the trace going to `out` (any writer).
pub fn run_to_writer(sc: &Scenario, level: TraceLevel, out: Box<dyn Write>) -> (RunReport, Tracer) {
    let mut tracer = Tracer::new(level, out);
    tracer.write_record("run_start", &RunStart::new(sc, level));
    let (report, mut tracer) = sc.run(tracer);
    tracer.write_record("run_end", &report);
    tracer.flush();
    (report, tracer)
}

/// Runs a scenario without writing anything (the hash is still computed).
pub fn run_silent(sc: &Scenario) -> RunReport {
    sc.run(Tracer::hash_only()).0
}

/// Runs a scenario, writing its trace to `path` atomically if given. At
/// [`TraceLevel::Off`] no file is written, nor an existing one touched.
pub fn run_scenario(
    sc: &Scenario,
    trace: Option<(&Path, TraceLevel)>,
) -> Result<RunReport, RunError> {
    sc.validate()?;
    let file = match trace {
        Some((path, level)) => TraceFile::create(path, level)?,
        None => None,
    };
    match file {
        Some(file) => file.run(sc),
        None => Ok(run_silent(sc)),
    }
}

/// A trace output opened before its run, so that a path that cannot be
/// written is reported before anything else happens (the binary prints the
/// seed only after this). A regular file is written to a temporary sibling
/// and renamed into place when complete; dropped unrun or on error, the
/// temporary file is removed. A device or pipe is written in place. Errors
/// name the path the user gave, never the temporary one.
pub struct TraceFile {
    path: PathBuf,
    level: TraceLevel,
    file: std::fs::File,
    /// The temporary file and its final path; `None` when written in place.
    rename: Option<TempFile>,
}

/// A temporary file to be renamed to `target`, removed if dropped before.
struct TempFile {
    tmp: PathBuf,
    target: PathBuf,
}

impl TempFile {
    fn persist(self) -> std::io::Result<()> {
        let res = std::fs::rename(&self.tmp, &self.target);
        if res.is_ok() {
            temps::unregister(&self.tmp);
            std::mem::forget(self);
        }
        res
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.tmp);
        temps::unregister(&self.tmp);
    }
}

impl TraceFile {
    /// Opens the output of a trace at `level`; `None` at [`TraceLevel::Off`],
    /// which writes no file.
    pub fn create(path: &Path, level: TraceLevel) -> Result<Option<TraceFile>, RunError> {
        if level == TraceLevel::Off {
            return Ok(None);
        }
        let (file, rename) = match atomic_target(path) {
            // A device or pipe (`/dev/null`, `/dev/stdout`, a FIFO): written in place.
            None => (
                std::fs::OpenOptions::new()
                    .write(true)
                    .open(path)
                    .map_err(io_err(path))?,
                None,
            ),
            Some(target) => {
                let tmp = temp_path(&target);
                temps::register(&tmp);
                let file = std::fs::File::create(&tmp).map_err(|e| {
                    temps::unregister(&tmp);
                    io_err(path)(e)
                })?;
                (file, Some(TempFile { tmp, target }))
            }
        };
        Ok(Some(TraceFile {
            path: path.to_path_buf(),
            level,
            file,
            rename,
        }))
    }

    /// Runs a validated scenario into this output.
    pub fn run(self, sc: &Scenario) -> Result<RunReport, RunError> {
        let TraceFile {
            path,
            level,
            file,
            rename,
        } = self;
        let out = BufWriter::with_capacity(1 << 16, file);
        let (report, mut tracer) = run_to_writer(sc, level, Box::new(out));
        let error = tracer.take_error();
        drop(tracer); // flushed by run_to_writer; closes the file
        if let Some(e) = error {
            return Err(io_err(&path)(e)); // dropping `rename` removes the temporary file
        }
        if let Some(t) = rename {
            t.persist().map_err(io_err(&path))?;
        }
        Ok(report)
    }
}

/// Where an output file is renamed to once complete, or `None` when `path` is
/// a device, pipe or socket (`/dev/null`, `/dev/stdout`, a FIFO): those are
/// written in place, since renaming over one would replace the device itself.
/// A symbolic link is followed, so the file it points to is replaced, not the
/// link.
pub fn atomic_target(path: &Path) -> Option<PathBuf> {
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() && !m.is_dir() => None,
        Ok(m) if m.is_file() => {
            Some(std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf()))
        }
        _ => Some(path.to_path_buf()),
    }
}

/// A sibling temporary path: `dir/.name.tmp-PID`.
pub fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// A shared in-memory writer (used by replay and tests).
#[derive(Clone, Default)]
pub struct SharedBuf(pub std::rc::Rc<std::cell::RefCell<Vec<u8>>>);

impl Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs a scenario and returns its trace text at `level`.
pub fn trace_text(sc: &Scenario, level: TraceLevel) -> (RunReport, String) {
    let buf = SharedBuf::default();
    let (report, tracer) = run_to_writer(sc, level, Box::new(buf.clone()));
    drop(tracer);
    let text = String::from_utf8(buf.0.take()).expect("traces are UTF-8");
    (report, text)
}
