//! Swarm faults against a fixed fault mix on every built-in broken variant:
//! the README's table ("Swarm faults").
//!
//! - each case is a broken variant with the fixed fault mix under which the
//!   shrink tests (tests/integration/shrink.rs) have `check` catch it;
//! - (a) `check` runs it over N seeds with that fixed mix; (b) `check
//!   --swarm` runs the same scenario without its random faults (loss, dup,
//!   latency, crash and partition processes, drift), each seed drawing its own;
//! - a seed finds the variant's bug when it fails a safety (`always`)
//!   property that the correct protocol, checked alongside on the same seed
//!   (and so the same drawn mix), does not fail, or a liveness property that
//!   the correct protocol never fails in that mode: a failure the model
//!   allows (OM under loss, Paxos liveness under a wide delay) is not counted
//!   for the variant;
//! - prints one Markdown row per variant: the first failing seed (seeds to
//!   first failure is that plus one) and the failing seeds in each mode, and
//!   the fault kinds most over-represented in the swarm's failing seeds.
//!
//! ```text
//! cargo run --release --example swarm_table -- --seeds 1000
//! ```

use agentsim::observe::PropertyKind;
use agentsim::run::check::{check_seeds_with, CheckOptions, CheckSummary};
use agentsim::run::swarm::{FaultKind, Pinned, Swarm, SwarmBounds};
use agentsim::scenario::Scenario;
use clap::Parser;
use std::collections::BTreeSet;

#[derive(Parser)]
struct Args {
    /// Seeds per mode, from 0.
    #[arg(long, default_value_t = 1000)]
    seeds: u64,
    /// Worker threads [default: one per core].
    #[arg(long)]
    jobs: Option<usize>,
    /// Only the cases whose name contains this.
    #[arg(long)]
    only: Option<String>,
}

#[path = "../tests/integration/variants.rs"]
mod variants;
use variants::cases;

/// `sc` without its random faults: what the swarm draws instead. `heal_at`
/// and an explicit schedule stay (the swarm keeps what it does not draw).
fn without_random_faults(sc: &Scenario) -> Scenario {
    let d = Scenario::default();
    let mut s = sc.clone();
    s.net.loss_ratio = 0.0;
    s.net.dup_ratio = 0.0;
    s.net.latency = d.net.latency;
    s.faults.crash_mttf = None;
    s.faults.crash_mttr = d.faults.crash_mttr;
    s.faults.partition_mtbf = None;
    s.faults.partition_mttr = d.faults.partition_mttr;
    s.faults.drift_ppm_max = 0;
    s
}

/// The seeds on which `broken` fails an `always` or `eventually` property
/// that `correct` does not fail on the same seed (same seed, same mix), by
/// property in order of first failure.
fn bug_seeds(broken: &CheckSummary, correct: &CheckSummary) -> Vec<(&'static str, BTreeSet<u64>)> {
    broken
        .failures
        .iter()
        .filter(|f| f.kind != PropertyKind::Sometimes)
        // A liveness property the correct protocol fails too is left out:
        // the variant's run differs from the first event on, so whether a
        // deadline is met on one seed says little.
        .filter(|f| {
            f.kind == PropertyKind::Always
                || !correct.failures.iter().any(|c| c.property == f.property)
        })
        .map(|f| {
            let ok: BTreeSet<u64> = correct
                .failures
                .iter()
                .filter(|c| c.property == f.property)
                .flat_map(|c| c.seeds.iter().copied())
                .collect();
            let seeds: BTreeSet<u64> = f
                .seeds
                .iter()
                .copied()
                .filter(|s| !ok.contains(s))
                .collect();
            (f.property, seeds)
        })
        .filter(|(_, seeds)| !seeds.is_empty())
        .collect()
}

/// The first seed of `found`, and how many seeds it holds.
fn first_and_count(found: &[(&str, BTreeSet<u64>)]) -> (Option<u64>, usize) {
    let all: BTreeSet<u64> = found.iter().flat_map(|(_, s)| s.iter().copied()).collect();
    (all.first().copied(), all.len())
}

fn main() {
    let args = Args::parse();
    let seeds = 0..args.seeds;
    let check = |sc: &Scenario, swarm: Option<&Swarm>| {
        let opts = CheckOptions {
            jobs: args.jobs,
            swarm,
            ..CheckOptions::default()
        };
        check_seeds_with(sc, seeds.clone(), &opts).expect("threads")
    };
    println!(
        "| variant | property | fixed mix: first failing seed | fixed: failing seeds | swarm: first failing seed | swarm: failing seeds | kinds over-represented in the swarm's failures |"
    );
    println!("|---|---|---:|---:|---:|---:|---|");
    for (name, text) in cases() {
        if args.only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let variant = name.split(' ').nth(1).expect("protocol variant");
        let correct_text =
            text.replace(&format!("variant = \"{variant}\""), "variant = \"correct\"");
        let fixed = Scenario::from_toml_str(&text).expect("case parses");
        let fixed_ok = Scenario::from_toml_str(&correct_text).expect("case parses");
        let (bare, bare_ok) = (
            without_random_faults(&fixed),
            without_random_faults(&fixed_ok),
        );
        let swarm = Swarm::new(&bare, SwarmBounds::default(), Pinned::default()).expect("swarm");
        let swarm_ok =
            Swarm::new(&bare_ok, SwarmBounds::default(), Pinned::default()).expect("swarm");

        let (f, f_ok) = (check(&fixed, None), check(&fixed_ok, None));
        let (s, s_ok) = (check(&bare, Some(&swarm)), check(&bare_ok, Some(&swarm_ok)));
        let (f_found, s_found) = (bug_seeds(&f, &f_ok), bug_seeds(&s, &s_ok));
        let mut props: Vec<&str> = f_found.iter().map(|(p, _)| *p).collect();
        for (p, _) in &s_found {
            if !props.contains(p) {
                props.push(p);
            }
        }
        let (f_first, f_n) = first_and_count(&f_found);
        let (s_first, s_n) = first_and_count(&s_found);
        let s_props: Vec<&str> = s_found.iter().map(|(p, _)| *p).collect();
        // The kinds whose share in the failing seeds exceeds their share overall by 10 points.
        let over = s.failures.iter().find(|x| s_props.contains(&x.property));
        let kinds = over
            .and_then(|x| Some((x, x.swarm.as_ref()?, s.swarm.as_ref()?)))
            .map(|(x, t, all)| {
                let mut v: Vec<String> = FaultKind::ALL
                    .into_iter()
                    .filter(|&k| all.drawn.contains(k))
                    .filter_map(|k| {
                        let fail = 100 * t.kinds_on.get(k) / x.runs.max(1);
                        let overall = 100 * all.kinds_on.get(k) / s.runs.max(1);
                        (fail >= overall + 10)
                            .then(|| format!("{} {fail}% vs {overall}%", k.name()))
                    })
                    .collect();
                if v.is_empty() {
                    v.push("none".into());
                }
                v.join(", ")
            })
            .unwrap_or_else(|| "-".into());
        let first = |x: Option<u64>| x.map_or("not found".to_string(), |s| s.to_string());
        println!(
            "| {name} | {} | {} | {f_n} | {} | {s_n} | {kinds} |",
            if props.is_empty() {
                "-".into()
            } else {
                props.join(", ")
            },
            first(f_first),
            first(s_first),
        );
    }
}
