//! `agentsim check PROTOCOL`: many seeds in parallel, every failure with the
//! command that reproduces it, and the determinism self-check (the first 16
//! seeds run twice by default, every seed with `--determinism`). With
//! `--swarm`, each seed draws its fault mix ([`crate::run::swarm`]); each
//! failure then prints that mix as plain flags, and which fault kinds were on
//! in the failing seeds against all seeds.

use super::args::CheckArgs;
use super::exit;
use crate::run::check::{
    check_seeds_with, CheckOptions, CheckSummary, KindCounts, PropertyFailures, SEEDS_MAX,
};
use crate::run::determinism::{DeterminismSummary, TWICE_DEFAULT, USUAL_CAUSES};
use crate::run::swarm::{FaultKind, FaultMix, KindSet, Pinned, Swarm};
use crate::run::RunError;
use crate::scenario::{ConfigError, Scenario};
use crate::time::Dur;
use std::fmt::Write as _;

/// The command that reproduces one seed of a `check` invocation: the same
/// program and arguments with `run` for `check` and `--seed S` last. The flags of `check`
/// alone (`--seeds`, `--jobs`, `--json`, `--determinism`, `--swarm`,
/// `--swarm-bounds`) are dropped, and so is any `--seed`
/// given to `check` (the scenario's seed, which `--seeds` overrides): `run`
/// accepts `--seed` once.
pub fn reproduction_command(args: &[String], seed: u64) -> String {
    reproduction_command_with(args, seed, None)
}

/// [`reproduction_command`] of a seed under `--swarm`: its drawn `mix` as
/// plain flags before `--seed`, and without the flags the mix leaves out
/// (`--heal-at` when no random process is on).
pub fn reproduction_command_with(args: &[String], seed: u64, mix: Option<&FaultMix>) -> String {
    /// Flags left out, with their value (`--seeds A..B` or `--seeds=A..B`).
    const DROPPED: [&str; 4] = ["--seeds", "--seed", "--jobs", "--swarm-bounds"];
    let cleared: &[&str] = mix.map_or(&[], |m| &m.cleared);
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
        } else if DROPPED.contains(&flag) || cleared.contains(&flag) {
            if flag == a {
                it.next(); // the value is the next argument
            }
        } else if a != "--json" && a != "--determinism" && a != "--swarm" {
            out.push(shell_quote(a));
        }
    }
    if let Some(m) = mix {
        out.extend(m.flags().iter().map(|f| shell_quote(f)));
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

/// What the user set on the command line (`pm`, the protocol's matches) or
/// in its scenario file, which `--swarm` keeps as given: a kind is kept when
/// its switch is named, even at zero (`--loss 0` keeps loss off).
pub fn pinned_by_user(pm: &clap::ArgMatches) -> Pinned {
    use clap::parser::ValueSource;
    let flag = |id: &str| {
        matches!(pm.try_contains_id(id), Ok(true))
            && pm.value_source(id) == Some(ValueSource::CommandLine)
    };
    let file: Option<toml::Table> = pm
        .get_one::<std::path::PathBuf>("scenario")
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| t.parse().ok());
    let key = |table: &str, k: &str| {
        file.as_ref()
            .and_then(|f| f.get(table))
            .and_then(|t| t.as_table())
            .is_some_and(|t| t.contains_key(k))
    };
    let mut kinds = KindSet::default();
    for (k, set) in [
        (FaultKind::Loss, flag("loss") || key("net", "loss_ratio")),
        (FaultKind::Dup, flag("dup") || key("net", "dup_ratio")),
        (FaultKind::Delay, flag("latency") || key("net", "latency")),
        (
            FaultKind::Crash,
            flag("crash_mttf") || key("faults", "crash_mttf"),
        ),
        (
            FaultKind::Partition,
            flag("partition_mtbf") || key("faults", "partition_mtbf"),
        ),
        (
            FaultKind::Drift,
            flag("drift_ppm_max")
                || flag("drift")
                || key("faults", "drift_ppm_max")
                || key("faults", "drift"),
        ),
    ] {
        if set {
            kinds.insert(k);
        }
    }
    Pinned {
        kinds,
        crash_mttr: flag("crash_mttr") || key("faults", "crash_mttr"),
        partition_mttr: flag("partition_mttr") || key("faults", "partition_mttr"),
    }
}

/// Refuses, under `--swarm`, a setting of the scenario file that counts only
/// with a random fault process the file does not turn on: the swarm leaves
/// it out of a seed whose mix has no such process, but that seed's
/// reproduction (`run --scenario FILE`) would read it again and be refused.
/// Its flag (`--heal-at`) is left out of such a reproduction instead.
pub fn refuse_swarm_file_settings(pm: &clap::ArgMatches, sc: &Scenario) -> Result<(), RunError> {
    use clap::parser::ValueSource;
    let flag = |id: &str| pm.value_source(id) == Some(ValueSource::CommandLine);
    let file: Option<toml::Table> = pm
        .get_one::<std::path::PathBuf>("scenario")
        .and_then(|p| std::fs::read_to_string(p).ok())
        .and_then(|t| t.parse().ok());
    let in_file = |k: &str| {
        file.as_ref()
            .and_then(|f| f.get("faults"))
            .and_then(|t| t.as_table())
            .is_some_and(|t| t.contains_key(k))
    };
    let f = &sc.faults;
    let any = !f.has_random_process();
    for (key, id, flag_name, off) in [
        ("heal_at", "heal_at", "--heal-at", any),
        (
            "crash_max_down",
            "crash_max_down",
            "--crash-max-down",
            f.crash_mttf.is_none(),
        ),
        (
            "crash_mttr",
            "crash_mttr",
            "--crash-mttr",
            f.crash_mttf.is_none(),
        ),
        (
            "partition_mttr",
            "partition_mttr",
            "--partition-mttr",
            f.partition_mtbf.is_none(),
        ),
    ] {
        if off && in_file(key) && !flag(id) {
            return Err(RunError::Config(ConfigError(format!(
                "--swarm: faults.{key} in the scenario file counts only with a random fault process, which the swarm may draw off, and the reproduction of such a seed (run --scenario FILE) would refuse it (accepted: {flag_name} on the command line instead)"
            ))));
        }
    }
    Ok(())
}

/// `agentsim check PROTOCOL ...`: every seed of `c.seeds`; `pinned`: what
/// the user set, which `--swarm` keeps ([`pinned_by_user`]).
pub fn check_cmd(
    sc: &Scenario,
    c: &CheckArgs,
    args: &[String],
    pinned: Pinned,
) -> Result<i32, RunError> {
    let swarm = if c.swarm {
        let bounds = c.swarm_bounds.clone().unwrap_or_default();
        Some(Swarm::new(sc, bounds, pinned).map_err(|e| RunError::Config(ConfigError(e)))?)
    } else {
        sc.validate()?;
        None
    };
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
    let bar = crate::experiment::runner::progress_bar(true, count, "seeds");
    let inc = |n: u64| bar.inc(n);
    let opts = CheckOptions {
        jobs: c.jobs,
        twice: if c.determinism {
            u64::MAX
        } else {
            TWICE_DEFAULT
        },
        progress: Some(&inc),
        swarm: swarm.as_ref(),
    };
    let summary = check_seeds_with(sc, c.seeds.clone(), &opts)?;
    bar.finish_and_clear();
    let repro = Repro {
        args,
        swarm: swarm.as_ref(),
    };
    if c.json {
        println!("{}", json_report_with(sc, &summary, &repro));
    } else {
        print!("{}", text_report_with(sc, &c.seeds, &summary, &repro));
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

/// How to print the command of a seed: the check's arguments, and its
/// swarm (whose mix of the seed goes into the command).
pub struct Repro<'a> {
    /// The program's arguments, as given.
    pub args: &'a [String],
    /// The swarm of the check, if any.
    pub swarm: Option<&'a Swarm>,
}

impl Repro<'_> {
    /// The command that reproduces `seed`.
    pub fn command(&self, seed: u64) -> String {
        let mix = self.swarm.map(|s| s.mix(seed));
        reproduction_command_with(self.args, seed, mix.as_ref())
    }
}

/// The summary as one JSON object: [`CheckSummary`] with a `reproduce`
/// command per failure and the properties that `held`.
pub fn json_report(sc: &Scenario, summary: &CheckSummary, args: &[String]) -> serde_json::Value {
    json_report_with(sc, summary, &Repro { args, swarm: None })
}

/// [`json_report`], the commands through `repro`; under `--swarm` each
/// failure also has the `mix` of its first seed and the command of the
/// seed with the fewest kinds on (`swarm.fewest_reproduce`).
pub fn json_report_with(
    sc: &Scenario,
    summary: &CheckSummary,
    repro: &Repro<'_>,
) -> serde_json::Value {
    let mut v = serde_json::to_value(summary).expect("summary serialises");
    for (i, f) in summary.failures.iter().enumerate() {
        v["failures"][i]["reproduce"] = repro.command(f.first_seed).into();
        if let (Some(sw), Some(t)) = (repro.swarm, &f.swarm) {
            v["failures"][i]["mix"] =
                serde_json::to_value(sw.mix(f.first_seed)).expect("a mix serialises");
            v["failures"][i]["swarm"]["fewest_reproduce"] = repro.command(t.fewest_seed).into();
        }
    }
    for (i, u) in summary.undecided.iter().enumerate() {
        v["undecided"][i]["reproduce"] = repro.command(u.first_seed).into();
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
    text_report_with(sc, seeds, summary, &Repro { args, swarm: None })
}

/// Percent of `n` in `of`, as a whole number.
fn pct(n: u64, of: u64) -> u64 {
    (n * 100 + of / 2).checked_div(of).unwrap_or(0)
}

/// `crash 100% of failures vs 50% of seeds, ...`: the drawn kinds, those
/// most over-represented in the failing seeds first.
fn kinds_line(
    drawn: KindSet,
    fail: &KindCounts,
    fails: u64,
    all: &KindCounts,
    runs: u64,
) -> String {
    let mut kinds: Vec<FaultKind> = drawn.iter().collect();
    // Larger lift (share in failures minus share overall) first; ties in kind order.
    let lift =
        |k: FaultKind| fail.get(k) as i128 * runs as i128 - all.get(k) as i128 * fails as i128;
    kinds.sort_by_key(|&k| std::cmp::Reverse(lift(k)));
    kinds
        .iter()
        .map(|&k| {
            format!(
                "{} {}% vs {}%",
                k.name(),
                pct(fail.get(k), fails),
                pct(all.get(k), runs)
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The swarm lines of one failing property.
fn swarm_failure_lines(
    o: &mut String,
    summary: &CheckSummary,
    f: &PropertyFailures,
    repro: &Repro<'_>,
) {
    let (Some(s), Some(t)) = (&summary.swarm, &f.swarm) else {
        return;
    };
    if f.kind == crate::observe::PropertyKind::Sometimes {
        return; // it fails only when no seed reached it: every seed is a failing seed
    }
    let _ = writeln!(
        o,
        "        fault kinds on, in failing seeds vs all seeds: {}",
        kinds_line(s.drawn, &t.kinds_on, f.runs, &s.kinds_on, summary.runs)
    );
    if t.fewest_seed != f.first_seed {
        let _ = writeln!(
            o,
            "        fewest kinds: seed {} ({}): {}",
            t.fewest_seed,
            t.fewest_kinds.names(", "),
            repro.command(t.fewest_seed)
        );
    }
}

/// [`text_report`], the commands through `repro`; under `--swarm`, a line
/// on the draws and, per failure, the fault kinds on in its failing seeds.
pub fn text_report_with(
    sc: &Scenario,
    seeds: &std::ops::Range<u64>,
    summary: &CheckSummary,
    repro: &Repro<'_>,
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
    if let Some(s) = &summary.swarm {
        let on: Vec<String> = s
            .drawn
            .iter()
            .map(|k| format!("{} {}%", k.name(), pct(s.kinds_on.get(k), summary.runs)))
            .collect();
        let _ = writeln!(
            o,
            "  swarm: fault kinds drawn per seed: {}; kept as given: {}; bounds {}",
            if on.is_empty() {
                "none".into()
            } else {
                on.join(", ")
            },
            s.kept.names(", "),
            s.bounds
        );
    }
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
            let _ = writeln!(o, "        reproduce: {}", repro.command(f.first_seed));
            swarm_failure_lines(&mut o, summary, f, repro);
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
            let _ = writeln!(o, "        reproduce: {}", repro.command(u.first_seed));
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
