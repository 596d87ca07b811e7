//! `agentsim replay FILE`: re-run a trace and compare record by record.

use super::exit;
use crate::run::{replay, Replay, RunError};
use crate::time::Dur;

/// `agentsim replay FILE`.
pub fn replay_cmd(file: &std::path::Path) -> Result<i32, RunError> {
    match replay(file)? {
        Replay::Identical {
            records,
            hash,
            versions_differ,
        } => {
            println!("identical: {records} records, hash {hash}");
            if let Some(p) = versions_differ {
                println!(
                    "  note: recorded by {p}, replayed by {}, model {}",
                    crate::observe::trace::program_version(),
                    crate::hash::MODEL_VERSION
                );
            }
            Ok(exit::OK)
        }
        Replay::Diverged {
            line,
            t_ns,
            seq,
            recorded,
            replayed,
            program_differs,
        } => {
            let at = match (t_ns, seq) {
                (Some(t), Some(s)) => format!(" at t={} (t_ns={t}) seq={s}", Dur(t).human()),
                _ => String::new(),
            };
            println!("diverged at line {line}{at}");
            println!("  recorded: {recorded}");
            println!("  replayed: {replayed}");
            if let Some(p) = program_differs {
                println!(
                    "  note: recorded by {p}, replayed by {}, model {} (the version fields of run_start are not compared)",
                    crate::observe::trace::program_version(),
                    crate::hash::MODEL_VERSION
                );
            }
            Ok(exit::DIVERGED)
        }
    }
}
