//! The temporary files this process is writing (`.NAME.tmp-PID`, renamed
//! into place when complete), so that a signal handler can remove them: an
//! interrupted `run --trace` or `plot` leaves nothing behind. The binary
//! installs the handler ([`crate::cli::paths::clean_temps_on_signals`]).

use std::path::{Path, PathBuf};
use std::sync::Mutex;

static TEMPS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn temps() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    TEMPS.lock().unwrap_or_else(|e| e.into_inner())
}

/// Records `path` as a temporary file being written.
pub fn register(path: &Path) {
    temps().push(path.to_path_buf());
}

/// Forgets `path` (renamed into place or removed).
pub fn unregister(path: &Path) {
    temps().retain(|p| p != path);
}

/// Removes every registered temporary file; returns how many were removed.
pub fn remove_all() -> usize {
    let mut t = temps();
    let n = t
        .drain(..)
        .filter(|p| std::fs::remove_file(p).is_ok())
        .count();
    n
}
