//! `agentsim shrink PROTOCOL ... --seed S`: the smallest scenario that still
//! fails the same property (see [`crate::run::shrink`]).

use super::exit;
use crate::observe::trace::TraceLevel;
use crate::run::shrink::{shrink, ShrinkError};
use crate::run::{io_err, RunError, TraceFile};
use crate::scenario::{ConfigError, Scenario};
use crate::time::Dur;
use clap::Args;
use std::path::PathBuf;

/// Flags of `agentsim shrink`, after the protocol's run flags.
#[derive(Args, Debug, Clone)]
pub struct ShrinkArgs {
    /// The property to keep failing [default: the first one the run violates].
    #[arg(long, value_name = "NAME")]
    pub property: Option<String>,
    /// Where to write the shrunk scenario (TOML) [default: shrunk-PROTOCOL-SEED.toml].
    #[arg(long, short = 'o', value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Also write the shrunk run's trace (JSON Lines, events level) to FILE.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
}

/// Shrinks the failing run `sc`, writes the scenario (and trace), prints the command.
pub fn shrink_cmd(sc: &Scenario, a: &ShrinkArgs) -> Result<i32, RunError> {
    sc.validate()?;
    let name = sc.protocol.name().to_string();
    let out = a
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("shrunk-{name}-{}.toml", sc.seed)));
    if out.extension().is_none_or(|e| e != "toml") {
        return Err(RunError::Config(ConfigError(format!(
            "--out {}: the shrunk scenario is a TOML file; give a name ending in .toml",
            out.display()
        ))));
    }
    let trace = match &a.trace {
        Some(p) => TraceFile::create(p, TraceLevel::Events)?,
        None => None,
    };
    let s = match shrink(sc, a.property.as_deref()) {
        Ok(s) => s,
        Err(e @ ShrinkError::DoesNotFail { .. }) => {
            return Err(RunError::Config(ConfigError(format!(
                "{e}: nothing to shrink (check the seed and flags, as `check` printed them)"
            ))))
        }
    };
    println!("property {} fails; shrunk in {} runs:", s.property, s.runs);
    for line in &s.log {
        println!("  {line}");
    }
    let text = format!(
        "# Written by `agentsim shrink`: the smallest scenario found that still\n\
         # fails `{}` (at {}) with seed {}.\n\
         # Reproduce: agentsim run {name} --scenario {} --seed {}\n\n{}",
        s.property,
        Dur(s.violation_ns).human(),
        s.scenario.seed,
        out.display(),
        s.scenario.seed,
        toml::to_string(&s.scenario).map_err(|e| RunError::Config(ConfigError(format!(
            "the shrunk scenario cannot be written as TOML: {e}"
        ))))?
    );
    crate::experiment::results::write_atomic(&out, text.as_bytes())
        .map_err(|e| io_err(&out)(std::io::Error::other(e.to_string())))?;
    println!(
        "{} fault events, {} nodes, loss {}, dup {}, time_max {}: {}",
        s.scenario.faults.schedule.len(),
        s.scenario.nodes,
        s.scenario.net.loss_ratio,
        s.scenario.net.dup_ratio,
        s.scenario.time_max,
        out.display()
    );
    if let Some(t) = trace {
        let path = a.trace.as_ref().expect("trace given");
        t.run(&s.scenario)?;
        println!("trace: {}", path.display());
    }
    println!(
        "reproduce: agentsim run {name} --scenario {} --seed {}",
        out.display(),
        s.scenario.seed
    );
    Ok(exit::OK)
}
