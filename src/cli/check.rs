//! `agentsim check PROTOCOL`: many seeds in parallel, every failure with the
//! command that reproduces it.

use super::args::CheckArgs;
use super::exit;
use crate::run::check::check_seeds;
use crate::run::RunError;
use crate::scenario::Scenario;
use crate::time::Dur;

/// The command that reproduces one seed of a `check` invocation: the same
/// arguments with `run` for `check` and `--seed S` last. The flags of `check`
/// alone (`--seeds`, `--jobs`, `--json`) are dropped, and so is any `--seed`
/// given to `check` (the scenario's seed, which `--seeds` overrides): `run`
/// accepts `--seed` once.
pub fn reproduction_command(args: &[String], seed: u64) -> String {
    /// Flags left out, with their value (`--seeds A..B` or `--seeds=A..B`).
    const DROPPED: [&str; 3] = ["--seeds", "--seed", "--jobs"];
    let mut out = vec!["agentsim".to_string()];
    let mut it = args.iter().skip(1);
    let mut replaced = false;
    while let Some(a) = it.next() {
        let flag = a.split_once('=').map_or(a.as_str(), |(f, _)| f);
        if !replaced && a == "check" {
            out.push("run".into());
            replaced = true;
        } else if DROPPED.contains(&flag) {
            if flag == a {
                it.next(); // the value is the next argument
            }
        } else if a != "--json" {
            out.push(shell_quote(a));
        }
    }
    out.push("--seed".into());
    out.push(seed.to_string());
    out.join(" ")
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// `agentsim check PROTOCOL ...`: every seed of `c.seeds`.
pub fn check_cmd(sc: &Scenario, c: &CheckArgs, args: &[String]) -> Result<i32, RunError> {
    sc.validate()?;
    let summary = check_seeds(sc, c.seeds.clone(), c.jobs)?;
    if c.json {
        let mut v = serde_json::to_value(&summary).expect("summary serialises");
        for (i, f) in summary.failures.iter().enumerate() {
            v["failures"][i]["reproduce"] = reproduction_command(args, f.first_seed).into();
        }
        for (i, u) in summary.undecided.iter().enumerate() {
            v["undecided"][i]["reproduce"] = reproduction_command(args, u.first_seed).into();
        }
        let held: Vec<&str> = sc
            .protocol
            .properties()
            .iter()
            .map(|p| p.name)
            .filter(|&name| {
                !summary.failures.iter().any(|f| f.property == name)
                    && !summary.undecided.iter().any(|u| u.property == name)
            })
            .collect();
        v["held"] = held.into();
        println!("{v}");
    } else {
        let stops: Vec<String> = summary
            .stops
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!(
            "checked {} seeds {}..{} of {} ({})",
            summary.runs,
            c.seeds.start,
            c.seeds.end,
            sc.protocol.name(),
            stops.join(" ")
        );
        for p in sc.protocol.properties() {
            let failed = summary.failures.iter().find(|f| f.property == p.name);
            let undecided = summary.undecided.iter().find(|u| u.property == p.name);
            if failed.is_none() && undecided.is_none() {
                println!("  ok    {} ({:?})", p.name, p.kind);
            }
            if let Some(f) = failed {
                println!(
                    "  FAIL  {} ({:?}): {} of {} seeds; first seed {} at {}: {}",
                    p.name,
                    p.kind,
                    f.runs,
                    summary.runs,
                    f.first_seed,
                    Dur(f.first_t_ns).human(),
                    f.first_detail
                );
                println!(
                    "        reproduce: {}",
                    reproduction_command(args, f.first_seed)
                );
            }
            if let Some(u) = undecided {
                println!(
                    "  ??    {} ({:?}): undecided in {} of {} seeds, stopped before the liveness deadline; first seed {} stopped ({}) at {}, deadline {}",
                    p.name,
                    p.kind,
                    u.runs,
                    summary.runs,
                    u.first_seed,
                    u.first_stop,
                    Dur(u.first_t_ns).human(),
                    Dur(u.first_deadline_ns).human()
                );
                println!(
                    "        reproduce: {}",
                    reproduction_command(args, u.first_seed)
                );
            }
        }
    }
    Ok(if summary.safety_failed() {
        exit::SAFETY
    } else if summary.liveness_failed() {
        exit::LIVENESS
    } else if !summary.undecided.is_empty() {
        exit::UNDECIDED
    } else {
        exit::OK
    })
}
