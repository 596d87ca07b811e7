//! `agentsim check PROTOCOL`: many seeds in parallel, every failure with the
//! command that reproduces it, and the determinism self-check (the first 16
//! seeds run twice by default, every seed with `--determinism`).

use super::args::CheckArgs;
use super::exit;
use crate::run::check::{check_seeds_with, CheckOptions, CheckSummary, SEEDS_MAX};
use crate::run::determinism::{DeterminismSummary, TWICE_DEFAULT, USUAL_CAUSES};
use crate::run::RunError;
use crate::scenario::{ConfigError, Scenario};
use crate::time::Dur;
use std::fmt::Write as _;

/// The command that reproduces one seed of a `check` invocation: the same
/// program and arguments with `run` for `check` and `--seed S` last. The flags of `check`
/// alone (`--seeds`, `--jobs`, `--json`, `--determinism`) are dropped, and so is any `--seed`
/// given to `check` (the scenario's seed, which `--seeds` overrides): `run`
/// accepts `--seed` once.
pub fn reproduction_command(args: &[String], seed: u64) -> String {
    /// Flags left out, with their value (`--seeds A..B` or `--seeds=A..B`).
    const DROPPED: [&str; 3] = ["--seeds", "--seed", "--jobs"];
    // The program as the user knows it: `agentsim`, or an out-of-tree
    // binary that hosts its own protocol.
    let program = args
        .first()
        .and_then(|a| std::path::Path::new(a).file_name())
        .map_or("agentsim".into(), |n| n.to_string_lossy().into_owned());
    let mut out = vec![program];
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
        } else if a != "--json" && a != "--determinism" {
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
    let count = c.seeds.end - c.seeds.start;
    if count > SEEDS_MAX {
        return Err(RunError::Config(ConfigError(format!(
            "--seeds: {}..{} is {count} seeds, more than one check runs (at most {SEEDS_MAX}); split the range into several checks",
            c.seeds.start, c.seeds.end
        ))));
    }
    // Runs go `--jobs` at once: together they must fit, not just one.
    let threads = c
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let at_once = threads.min(count.max(1) as usize);
    crate::engine::limits::check_at_once(sc.memory_need(), at_once, c.jobs)
        .map_err(|m| RunError::Config(ConfigError(m)))?;
    let bar = progress_bar(count);
    let inc = |n: u64| bar.inc(n);
    let opts = CheckOptions {
        jobs: c.jobs,
        twice: if c.determinism {
            u64::MAX
        } else {
            TWICE_DEFAULT
        },
        progress: Some(&inc),
    };
    let summary = check_seeds_with(sc, c.seeds.clone(), &opts)?;
    bar.finish_and_clear();
    if c.json {
        println!("{}", json_report(sc, &summary, args));
    } else {
        print!("{}", text_report(sc, &c.seeds, &summary, args));
    }
    Ok(exit_code(&summary))
}

/// The exit code of a check: [`exit::DIVERGED`] if a seed ran differently
/// twice (nothing else can then be trusted), else [`exit::SAFETY`],
/// [`exit::LIVENESS`], [`exit::UNDECIDED`] or [`exit::OK`].
pub fn exit_code(summary: &CheckSummary) -> i32 {
    if summary.determinism.failed() {
        exit::DIVERGED
    } else if summary.safety_failed() {
        exit::SAFETY
    } else if summary.liveness_failed() {
        exit::LIVENESS
    } else if !summary.undecided.is_empty() {
        exit::UNDECIDED
    } else {
        exit::OK
    }
}

/// A bar on stderr when it is a terminal (hidden otherwise): seeds done,
/// rate, time left.
fn progress_bar(len: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(
        Some(len),
        indicatif::ProgressDrawTarget::stderr(),
    );
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{elapsed_precise} [{wide_bar}] {human_pos}/{human_len} seeds, {rate} seeds/s, {eta} left",
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

/// The summary as one JSON object: [`CheckSummary`] with a `reproduce`
/// command per failure and the properties that `held`.
pub fn json_report(sc: &Scenario, summary: &CheckSummary, args: &[String]) -> serde_json::Value {
    let mut v = serde_json::to_value(summary).expect("summary serialises");
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
    if summary.determinism.failed() {
        v["determinism"]["usual_causes"] = USUAL_CAUSES.into();
    }
    v
}

/// The summary as text: one line per property, then the determinism line.
pub fn text_report(
    sc: &Scenario,
    seeds: &std::ops::Range<u64>,
    summary: &CheckSummary,
    args: &[String],
) -> String {
    let mut o = String::new();
    let stops: Vec<String> = summary
        .stops
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let _ = writeln!(
        o,
        "checked {} seeds {}..{} of {} ({})",
        summary.runs,
        seeds.start,
        seeds.end,
        sc.protocol.name(),
        stops.join(" ")
    );
    for p in sc.protocol.properties() {
        let failed = summary.failures.iter().find(|f| f.property == p.name);
        let undecided = summary.undecided.iter().find(|u| u.property == p.name);
        if failed.is_none() && undecided.is_none() {
            let _ = writeln!(o, "  ok    {} ({:?})", p.name, p.kind);
        }
        if let Some(f) = failed {
            let _ = writeln!(
                o,
                "  FAIL  {} ({:?}): {} of {} seeds; first seed {} at {}: {}",
                p.name,
                p.kind,
                f.runs,
                summary.runs,
                f.first_seed,
                Dur(f.first_t_ns).human(),
                f.first_detail
            );
            let _ = writeln!(
                o,
                "        reproduce: {}",
                reproduction_command(args, f.first_seed)
            );
        }
        if let Some(u) = undecided {
            let _ = writeln!(
                o,
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
            let _ = writeln!(
                o,
                "        reproduce: {}",
                reproduction_command(args, u.first_seed)
            );
        }
    }
    determinism_lines(&mut o, &summary.determinism);
    o
}

/// The determinism line, and on failure where and why.
fn determinism_lines(o: &mut String, d: &DeterminismSummary) {
    let seeds = if d.seeds_run_twice == 1 {
        "seed"
    } else {
        "seeds"
    };
    let Some(first) = d.seeds.first() else {
        let _ = writeln!(
            o,
            "  ok    determinism: {} {seeds} run twice, the same run hash each time",
            d.seeds_run_twice
        );
        return;
    };
    let listed: Vec<String> = d.seeds.iter().take(8).map(|s| s.seed.to_string()).collect();
    let more = if d.diverged > 8 { ", ..." } else { "" };
    let _ = writeln!(
        o,
        "  FAIL  determinism: {} of {} {seeds} run twice gave two run hashes (seeds {}{more}); first seed {}: {} then {}. The protocol is not deterministic: no result above can be reproduced",
        d.diverged,
        d.seeds_run_twice,
        listed.join(", "),
        first.seed,
        first.first_hash,
        first.second_hash
    );
    if let Some(l) = &d.first {
        match &l.record {
            Some(r) => {
                let at = match (r.t_ns, r.seq) {
                    (Some(t), Some(s)) => format!(" at t={} (t_ns={t}) seq={s}", Dur(t).human()),
                    (Some(t), None) => format!(" at t={} (t_ns={t})", Dur(t).human()),
                    _ => String::new(),
                };
                let _ = writeln!(
                    o,
                    "        first diverging record (seed {} run twice more with a full trace): line {}{at}",
                    l.seed, r.line
                );
                let _ = writeln!(o, "          one:   {}", r.third);
                let _ = writeln!(o, "          other: {}", r.fourth);
                if !l.same_as_first_runs {
                    let _ = writeln!(
                        o,
                        "        note: those traced runs ended with hashes {} and {}, not those of the first two: they may have diverged at another record than the first two did",
                        l.traced_hashes[0], l.traced_hashes[1]
                    );
                }
            }
            None => {
                let _ = writeln!(
                    o,
                    "        seed {} run twice more with a full trace did not diverge (hash {} both times): no record to name",
                    l.seed, l.traced_hashes[0]
                );
            }
        }
    }
    let _ = writeln!(o, "        usual causes: {USUAL_CAUSES}");
}
