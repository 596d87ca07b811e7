//! Shrinking: every built-in broken variant, found failing by `check` under
//! faults, shrinks to a scenario of at most 5 fault events that still fails
//! the same property when its file is read back and run again; and the
//! `shrink` command end to end.

use crate::common::{agentsim, scenario, stderr, stdout};
use crate::variants::{cases, RAFT};
use agentsim::run::check::check_seeds;
use agentsim::run::run_silent;
use agentsim::run::shrink::shrink;
use agentsim::scenario::Scenario;

/// The first seed below 200 on which `sc` violates an `always` or
/// `eventually` property, and that property.
fn first_failure(name: &str, sc: &Scenario) -> (u64, &'static str) {
    let s = check_seeds(sc, 0..200, Some(2)).unwrap();
    let f = s
        .failures
        .iter()
        .filter(|f| f.kind != agentsim::observe::PropertyKind::Sometimes)
        .min_by_key(|f| f.first_seed)
        .unwrap_or_else(|| panic!("{name}: check found no failure in 200 seeds"));
    (f.first_seed, f.property)
}

#[test]
fn every_broken_variant_shrinks_to_at_most_five_faults_and_still_fails() {
    let mut lines = Vec::new();
    let mut bad = Vec::new();
    for (name, text) in cases() {
        let base = scenario(&text);
        let (seed, property) = first_failure(name, &base);
        let sc = Scenario { seed, ..base };
        let s = shrink(&sc, Some(property)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let faults = s.scenario.faults.schedule.len();
        // Two variants need one crash at a precise moment (a vote or a
        // promise forgotten across a restart): the shrinker finds it by
        // moving one crash and recovery after a moment a node acted.
        if faults > 5 || s.scenario.faults.has_random_process() {
            bad.push(format!(
                "{name}, seed {seed}: {faults} fault events left: {:?}",
                s.log
            ));
        }
        assert!(s.scenario.nodes <= sc.nodes && s.scenario.time_max <= sc.time_max);
        // The file it writes reads back as the same scenario, which fails again.
        let file = toml::to_string(&s.scenario).unwrap();
        let back = scenario(&file);
        assert_eq!(
            back, s.scenario,
            "{name}: the shrunk file does not read back"
        );
        let r = run_silent(&back);
        assert!(
            r.violations.iter().any(|v| v.property == property),
            "{name}, seed {seed}: the shrunk scenario no longer fails {property}: {:?}",
            r.violations
        );
        lines.push(format!(
            "{name}: seed {seed}, {property}: {} -> {faults} faults, {} -> {} nodes, {} runs",
            sc.faults.schedule.len(),
            sc.nodes,
            s.scenario.nodes,
            s.runs
        ));
    }
    eprintln!("{}", lines.join("\n"));
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

#[test]
fn a_correct_run_has_nothing_to_shrink() {
    let sc = scenario(RAFT);
    let e = shrink(&sc, None).unwrap_err();
    assert!(e.to_string().contains("violates no property"), "{e}");
}

#[test]
fn the_shrink_command_writes_a_scenario_that_reproduces_the_failure() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("small.toml");
    let trace = dir.path().join("small.jsonl");
    let flags = [
        "--loss",
        "0.1",
        "--dup",
        "0.05",
        "--crash-mttf",
        "1s",
        "--crash-mttr",
        "200ms",
        "--partition-mtbf",
        "1s",
        "--variant",
        "double-vote",
    ];
    // The first failing seed, as `check` reports it.
    let mut args = vec!["check", "raft", "--seeds", "0..2000"];
    args.extend(flags);
    let check = agentsim(&args);
    let text = stdout(&check);
    let seed = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("reproduce: "))
        .and_then(|c| c.rsplit("--seed ").next())
        .unwrap_or_else(|| panic!("no reproduce line:\n{text}"))
        .trim()
        .to_string();
    let mut args = vec!["shrink", "raft"];
    args.extend(flags);
    args.extend([
        "--seed",
        &seed,
        "--out",
        out.to_str().unwrap(),
        "--trace",
        trace.to_str().unwrap(),
    ]);
    let o = agentsim(&args);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}{}", stderr(&o));
    assert!(text.contains("property election safety fails"), "{text}");
    let cmd = text
        .lines()
        .find_map(|l| l.strip_prefix("reproduce: agentsim "))
        .unwrap_or_else(|| panic!("{text}"));
    let words: Vec<&str> = cmd.split_whitespace().collect();
    let again = agentsim(&words);
    assert_eq!(again.status.code(), Some(3), "{}", stdout(&again));
    assert!(stdout(&again).contains("VIOLATION election safety"));
    // The trace is the shrunk run's: same hash as the re-run.
    let hash = stdout(&again)
        .lines()
        .find_map(|l| l.strip_prefix("hash "))
        .unwrap()
        .to_string();
    let t = std::fs::read_to_string(&trace).unwrap();
    assert!(
        t.lines().last().unwrap().contains(&hash),
        "trace end: {}",
        t.lines().last().unwrap()
    );
    // Its faults are explicit and few.
    let file = std::fs::read_to_string(&out).unwrap();
    assert!(
        !file.contains("crash_mttf") && !file.contains("partition_mtbf"),
        "{file}"
    );
}

#[test]
fn shrink_refuses_a_seed_that_does_not_fail_and_an_output_over_its_input() {
    let o = agentsim(&["shrink", "raft", "--seed", "1"]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(
        e.contains("seed 1: the run violates no property") && e.lines().count() == 1,
        "{e}"
    );
    let dir = tempfile::tempdir().unwrap();
    let sc = dir.path().join("s.toml");
    std::fs::write(&sc, RAFT).unwrap();
    let p = sc.to_str().unwrap();
    let o = agentsim(&[
        "shrink",
        "raft",
        "--scenario",
        p,
        "--out",
        p,
        "--variant",
        "double-vote",
    ]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("is the --scenario file"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_to_string(&sc).unwrap(), RAFT);
}
