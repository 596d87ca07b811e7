//! Output safety shared by every command: an output path that is one of the
//! command's inputs (the same file, also through a link) is refused before
//! anything is written, and temporary files are removed when the process is
//! interrupted (SIGINT, SIGTERM).

use crate::run::RunError;
use crate::scenario::ConfigError;
use std::path::{Path, PathBuf};

/// Whether `a` and `b` name the same existing file or folder (compared by
/// device and inode, so links and `..` are seen through).
pub fn same_file(a: &Path, b: &Path) -> bool {
    match (std::fs::metadata(a), std::fs::metadata(b)) {
        #[cfg(unix)]
        (Ok(x), Ok(y)) => {
            use std::os::unix::fs::MetadataExt;
            x.dev() == y.dev() && x.ino() == y.ino()
        }
        #[cfg(not(unix))]
        (Ok(_), Ok(_)) => match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
            (Ok(x), Ok(y)) => x == y,
            _ => false,
        },
        _ => false,
    }
}

/// Refuses (bad input) an output `out`, given by `flag`, that is one of
/// `inputs`: writing it would destroy the input.
pub fn refuse_overwrite(out: &Path, flag: &str, inputs: &[&Path]) -> Result<(), RunError> {
    match inputs.iter().find(|i| same_file(out, i)) {
        Some(i) => Err(RunError::Config(ConfigError(format!(
            "{flag} {}: is the input {}; writing it would destroy the input (accepted: another path)",
            out.display(),
            i.display()
        )))),
        None => Ok(()),
    }
}

/// Refuses an output folder `out` (given by `flag`) that is one of `inputs`
/// or holds one of them directly: the command writes and replaces files there.
pub fn refuse_overwrite_dir(out: &Path, flag: &str, inputs: &[&Path]) -> Result<(), RunError> {
    let parent = |p: &Path| -> PathBuf {
        match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        }
    };
    let hit = inputs
        .iter()
        .find(|i| same_file(out, i) || (i.is_file() && same_file(out, &parent(i))));
    match hit {
        Some(i) => Err(RunError::Config(ConfigError(format!(
            "{flag} {}: holds the input {}, and the command writes its files there (accepted: another folder)",
            out.display(),
            i.display()
        )))),
        None => Ok(()),
    }
}

/// Removes this process's temporary files ([`crate::run::temps`]) when it
/// receives SIGINT or SIGTERM, then ends it by that signal. Call before any
/// other thread starts: the signals are blocked in every thread and taken by
/// one thread of their own.
#[cfg(unix)]
pub fn clean_temps_on_signals() {
    // SAFETY: plain libc calls on a local, initialised signal set; no other
    // thread of ours runs yet, so every later thread inherits the mask.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        if libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return;
        }
        let spawned = std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || {
                let mut sig: libc::c_int = 0;
                // SAFETY: `set` is a valid signal set blocked in this thread.
                if libc::sigwait(&set, &mut sig) != 0 {
                    return;
                }
                crate::run::temps::remove_all();
                // End by the same signal, as if no handler were installed:
                // default action, unblocked here, raised at this thread.
                libc::signal(sig, libc::SIG_DFL);
                libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
                libc::raise(sig);
            });
        if spawned.is_err() {
            // No thread to take them: deliver the signals as before.
            libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
        }
    }
}

/// Removes this process's temporary files on SIGINT and SIGTERM (not
/// available on this platform: does nothing).
#[cfg(not(unix))]
pub fn clean_temps_on_signals() {}
