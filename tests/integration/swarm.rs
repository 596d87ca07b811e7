//! Swarm faults (`check --swarm`): the mix varies across seeds and is stable
//! per seed and thread count; failures are grouped by the fault kinds on;
//! the printed command (plain flags, no --swarm) reproduces the failure with
//! `run` and `shrink`; what the user set stays; a correct protocol passes,
//! liveness judged after the drawn faults heal; bad input is refused.

use crate::common::{agentsim, stderr, stdout};
use serde_json::Value;

fn json(args: &[&str]) -> (i32, Value) {
    let o = agentsim(args);
    let v = serde_json::from_str(&stdout(&o))
        .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e}): {}", stderr(&o)));
    (o.status.code().unwrap_or(-1), v)
}

/// The `reproduce:` commands of a text report, in order.
fn commands(text: &str, label: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix(label))
        .map(|c| c.trim().to_string())
        .collect()
}

/// Runs a printed command (`agentsim run ...`) through the binary.
fn run_printed(cmd: &str) -> std::process::Output {
    let words: Vec<&str> = cmd.split_whitespace().collect();
    assert_eq!(words[0], "agentsim", "{cmd}");
    agentsim(&words[1..])
}

const FORGET: [&str; 8] = [
    "check",
    "raft",
    "--variant",
    "forget-voted-for",
    "--swarm",
    "--seeds",
    "0..400",
    "--jobs=2",
];

#[test]
fn the_mix_varies_across_seeds_and_is_the_same_whatever_the_jobs() {
    let args = |jobs: &'static str| {
        vec![
            "check",
            "raft",
            "--variant",
            "double-vote",
            "--swarm",
            "--seeds",
            "0..300",
            "--json",
            "--jobs",
            jobs,
        ]
    };
    let one = agentsim(&args("1"));
    let two = agentsim(&args("2"));
    assert_eq!(one.status.code(), Some(3), "{}", stderr(&one));
    assert_eq!(stdout(&one), stdout(&two), "the summary depends on --jobs");
    let v: Value = serde_json::from_str(&stdout(&one)).unwrap();
    // Every kind is drawn, and on in some seeds but not all.
    let on = &v["swarm"]["kinds_on"];
    for k in ["loss", "dup", "delay", "crash", "partition", "drift"] {
        let n = on[k].as_u64().unwrap();
        assert!((90..=210).contains(&n), "{k} on in {n} of 300 seeds");
    }
    assert_eq!(v["swarm"]["kept"], serde_json::json!([]));
    // The first failing seed and the one with the fewest kinds have different mixes.
    let f = &v["failures"][0];
    let first = f["reproduce"].as_str().unwrap();
    let fewest = f["swarm"]["fewest_reproduce"].as_str().unwrap();
    assert_ne!(
        first.split(" --seed ").next(),
        fewest.split(" --seed ").next()
    );
    // A seed's mix does not depend on the range it is checked in.
    let seed = f["first_seed"].as_u64().unwrap();
    let range = format!("{seed}..{}", seed + 1);
    let (_, alone) = json(&[
        "check",
        "raft",
        "--variant",
        "double-vote",
        "--swarm",
        "--seeds",
        &range,
        "--json",
    ]);
    assert_eq!(alone["failures"][0]["reproduce"].as_str(), Some(first));
    assert_eq!(alone["failures"][0]["mix"], f["mix"]);
}

#[test]
fn failures_are_grouped_by_the_fault_kinds_on() {
    // Forgetting votedFor matters only across a crash: every failing seed
    // has crashes on, against about half of all seeds.
    let o = agentsim(&FORGET);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("  swarm: fault kinds drawn per seed: loss "),
        "{text}"
    );
    let line = text
        .lines()
        .find(|l| l.contains("fault kinds on, in failing seeds vs all seeds:"))
        .unwrap_or_else(|| panic!("no grouping line:\n{text}"));
    assert!(
        line.contains("seeds: crash 100% vs "),
        "crash should lead the list at 100%: {line}"
    );
    let mut j = FORGET.to_vec();
    j.push("--json");
    let (_, v) = json(&j);
    let f = &v["failures"][0];
    assert_eq!(f["property"], "election safety");
    let runs = f["runs"].as_u64().unwrap();
    assert!(runs >= 2, "{f}");
    assert_eq!(f["swarm"]["kinds_on"]["crash"].as_u64(), Some(runs));
    let all = v["swarm"]["kinds_on"]["crash"].as_u64().unwrap();
    assert!((120..=280).contains(&all), "crash on in {all} of 400 seeds");
    assert!(f["swarm"]["fewest_kinds"]
        .as_array()
        .unwrap()
        .contains(&"crash".into()));
    assert!(f["mix"]["crash_mttf"].is_string(), "{}", f["mix"]);
}

#[test]
fn the_printed_command_reproduces_the_failure_with_plain_run_and_shrink() {
    let o = agentsim(&FORGET);
    let text = stdout(&o);
    let mut cmds = commands(&text, "reproduce:");
    cmds.extend(commands(&text, "fewest kinds:").iter().map(|c| {
        // "seed S (kinds): agentsim run ..."
        c.split_once(": ").map(|(_, c)| c.to_string()).unwrap()
    }));
    assert!(cmds.len() >= 2, "{text}");
    for cmd in &cmds {
        assert!(
            !cmd.contains("--swarm") && !cmd.contains("--seeds"),
            "{cmd}"
        );
        assert!(cmd.contains(" --crash-mttf "), "{cmd}");
        let r = run_printed(cmd);
        assert_eq!(r.status.code(), Some(3), "{cmd}: {}", stderr(&r));
        assert!(
            stdout(&r).contains("VIOLATION election safety"),
            "{cmd}:\n{}",
            stdout(&r)
        );
    }
    // `shrink` takes the same command (double-vote shrinks in a few runs).
    let o = agentsim(&[
        "check",
        "raft",
        "--variant",
        "double-vote",
        "--swarm",
        "--seeds",
        "0..20",
    ]);
    let cmd = commands(&stdout(&o), "reproduce:")[0].clone();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.toml");
    let shrink_cmd = cmd.replacen("agentsim run ", "agentsim shrink ", 1);
    let mut words: Vec<&str> = shrink_cmd.split_whitespace().skip(1).collect();
    words.extend(["--out", out.to_str().unwrap()]);
    let s = agentsim(&words);
    assert_eq!(s.status.code(), Some(0), "{shrink_cmd}: {}", stderr(&s));
    assert!(
        stdout(&s).contains("property election safety fails"),
        "{}",
        stdout(&s)
    );
}

#[test]
fn what_the_user_set_stays_as_given() {
    let (code, v) = json(&[
        "check",
        "raft",
        "--variant",
        "forget-voted-for",
        "--swarm",
        "--seeds",
        "0..400",
        "--loss",
        "0",
        "--crash-mttr",
        "7ms",
        "--json",
    ]);
    assert_eq!(v["swarm"]["kept"], serde_json::json!(["loss"]));
    assert_eq!(v["swarm"]["drawn"].as_array().unwrap().len(), 5);
    assert_eq!(v["swarm"]["kinds_on"]["loss"].as_u64(), Some(0));
    if code == 3 {
        let cmd = v["failures"][0]["reproduce"].as_str().unwrap();
        assert_eq!(cmd.matches("--crash-mttr").count(), 1, "{cmd}");
        assert!(
            cmd.contains("--crash-mttr 7ms") && cmd.contains("--loss 0 "),
            "{cmd}"
        );
        assert!(v["failures"][0]["mix"].get("crash_mttr").is_none());
    }
    // A kind set in the scenario file is kept too.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("s.toml");
    std::fs::write(
        &file,
        "[net]\ndup_ratio = 0.1\n[faults]\ncrash_mttf = \"2s\"\n",
    )
    .unwrap();
    let (_, v) = json(&[
        "check",
        "raft",
        "--swarm",
        "--seeds",
        "0..50",
        "--json",
        "--scenario",
        file.to_str().unwrap(),
    ]);
    assert_eq!(v["swarm"]["kept"], serde_json::json!(["dup", "crash"]));
}

#[test]
fn heal_at_is_left_out_of_commands_with_no_random_process() {
    // Double-vote fails with no fault at all: its simplest failing mix has
    // no process, so its command must drop --heal-at (which `run` would
    // refuse alone) and still fail.
    let o = agentsim(&[
        "check",
        "raft",
        "--variant",
        "double-vote",
        "--swarm",
        "--heal-at",
        "3s",
        "--seeds",
        "0..200",
    ]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let text = stdout(&o);
    let fewest = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("fewest kinds: "))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(fewest.contains("(none)"), "{fewest}");
    let cmd = fewest.split_once(": ").unwrap().1;
    assert!(!cmd.contains("--heal-at"), "{cmd}");
    assert_eq!(run_printed(cmd).status.code(), Some(3), "{cmd}");
    // Where a process is on, --heal-at stays.
    for cmd in commands(&text, "reproduce:") {
        let process = cmd.contains("--crash-mttf") || cmd.contains("--partition-mtbf");
        assert_eq!(cmd.contains("--heal-at 3s"), process, "{cmd}");
        assert_eq!(run_printed(&cmd).status.code(), Some(3), "{cmd}");
    }
}

#[test]
fn a_correct_protocol_passes_and_liveness_is_judged_after_the_drawn_faults_heal() {
    let o = agentsim(&[
        "check",
        "raft",
        "--swarm",
        "--seeds",
        "0..300",
        "--determinism",
        "--jobs",
        "2",
    ]);
    let text = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{text}{}", stderr(&o));
    assert!(
        text.contains("  ok    leader elected (Eventually)"),
        "{text}"
    );
    assert!(
        !text.contains("??"),
        "a run stopped before its liveness deadline:\n{text}"
    );
    assert!(
        text.contains("ok    determinism: 300 seeds run twice"),
        "{text}"
    );
}

#[test]
fn bad_swarm_input_is_one_line_and_exit_2() {
    for (args, says) in [
        (vec!["--swarm", "--swarm-bounds", "loss=0.1..1.5"], "0..=1"),
        (
            vec!["--swarm", "--swarm-bounds", "crash-mttf=2s..1s"],
            "LO <= HI",
        ),
        (
            vec!["--swarm", "--swarm-bounds", "speed=3"],
            "accepted: on, loss",
        ),
        (vec!["--swarm", "--swarm-bounds", "on=1.5"], "0..=1"),
        (vec!["--swarm-bounds", "on=0.5"], "--swarm"),
    ] {
        let mut a = vec!["check", "raft", "--seeds", "0..5"];
        a.extend(&args);
        let o = agentsim(&a);
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{a:?}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{a:?}: {err}");
        assert!(
            err.contains("--swarm") && err.contains(says),
            "{a:?}: {err}"
        );
        assert!(stdout(&o).is_empty(), "{a:?}");
    }
    // --swarm is a flag of check alone.
    let o = agentsim(&["run", "raft", "--swarm"]);
    assert_eq!(o.status.code(), Some(2));
}
