//! The command line: outputs, exit codes, and one clear line for every kind of bad input.

use crate::common::{agentsim, stderr, stdout};

fn bad(args: &[&str], must_mention: &[&str]) {
    let out = agentsim(args);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{args:?}: exit code; stderr: {err}"
    );
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{args:?}: one line, got:\n{err}"
    );
    for m in must_mention {
        assert!(err.contains(m), "{args:?}: '{m}' missing from: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn bad_input_gets_one_line_and_exit_code_2() {
    bad(
        &["run", "paxos-ish"],
        &["paxos-ish", "protocols: raft, gossip"],
    );
    bad(
        &["paxos"],
        &["'paxos'", "commands: run, check, shrink, list"],
    );
    bad(&["check", "raft", "--seed", "3"], &["--seed", "--seeds"]);
    bad(
        &["check", "raft", "--seed=3", "--seeds=0..5"],
        &["--seed", "--seeds"],
    );
    bad(&["run", "raft", "--no-such-flag"], &["--no-such-flag"]);
    bad(&["run", "raft", "--loss", "1.5"], &["--loss", "0..=1"]);
    bad(&["run", "raft", "--dup", "-0.1"], &["--dup"]);
    bad(&["run", "raft", "--nodes", "0"], &["--nodes", "1..="]);
    bad(
        &["run", "raft", "--election-timeout", "300ms..150ms"],
        &["--election-timeout", "empty range"],
    );
    bad(
        &["run", "raft", "--latency", "20ms..5ms"],
        &["--latency", "empty range"],
    );
    bad(
        &["run", "raft", "--heartbeat", "200ms"],
        &["raft.heartbeat", "below the minimum election timeout"],
    );
    bad(
        &["run", "raft", "--fault", "crash:9@1s"],
        &["node 9", "0..5"],
    );
    bad(
        &["run", "raft", "--trace-level", "loud"],
        &["loud", "off, summary"],
    );
    bad(&["check", "raft", "--seeds", "5..5"], &["--seeds", "A..B"]);
    bad(
        &["run", "raft", "--topology", "hypercube"],
        &["hypercube", "accepted"],
    );
}

#[test]
fn malformed_scenario_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("syntax.toml", "nodes = = 3", vec!["syntax.toml"]),
        ("unknown.toml", "nodez = 3", vec!["unknown.toml", "nodez"]),
        (
            "range.toml",
            "[net]\nloss_ratio = 1.5",
            vec!["net.loss_ratio", "0..=1"],
        ),
        ("type.toml", "nodes = \"five\"", vec!["type.toml", "nodes"]),
    ];
    for (name, text, mentions) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let out = agentsim(&["run", "raft", "--scenario", p.to_str().unwrap()]);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{name}: {err}");
        for m in mentions {
            assert!(err.contains(m), "{name}: '{m}' missing from: {err}");
        }
    }
    let out = agentsim(&[
        "run",
        "raft",
        "--scenario",
        dir.path().join("missing.toml").to_str().unwrap(),
    ]);
    assert_ne!(out.status.code(), Some(0));
}

#[test]
fn bad_input_writes_no_trace_file() {
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("t.jsonl");
    let out = agentsim(&[
        "run",
        "raft",
        "--loss",
        "2",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let out = agentsim(&[
        "run",
        "raft",
        "--heartbeat",
        "1s",
        "--trace",
        trace.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "no file, not even a temporary one"
    );
}

#[test]
fn run_prints_seed_first_then_outcome_and_hash() {
    let out = agentsim(&["run", "raft", "--nodes", "5", "--seed", "7"]);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "seed 7");
    assert!(lines[1].starts_with("stop done"), "{text}");
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("leader ") && l.contains(" term ")),
        "{text}"
    );
    assert!(lines
        .iter()
        .any(|l| l.starts_with("metrics ") && l.contains("first_leader_ms=")));
    assert!(lines.last().unwrap().starts_with("hash "));
}

#[test]
fn json_output_is_one_object_with_the_same_hash() {
    let text_out = stdout(&agentsim(&["run", "raft", "--seed", "9"]));
    let json_out = stdout(&agentsim(&["run", "raft", "--seed", "9", "--json"]));
    assert_eq!(json_out.trim_end().lines().count(), 1);
    let v: serde_json::Value = serde_json::from_str(&json_out).unwrap();
    assert_eq!(v["seed"], 9);
    assert_eq!(v["protocol"], "raft");
    let hash = text_out
        .lines()
        .last()
        .unwrap()
        .strip_prefix("hash ")
        .unwrap();
    assert_eq!(v["hash"], hash);
}

#[test]
fn trace_files_are_identical_across_runs_and_replay_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl");
    for p in [&a, &b] {
        let out = agentsim(&[
            "run",
            "raft",
            "--nodes",
            "5",
            "--seed",
            "7",
            "--trace",
            p.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0));
    }
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let h7 = stdout(&agentsim(&["run", "raft", "--seed", "7"]));
    let h8 = stdout(&agentsim(&["run", "raft", "--seed", "8"]));
    assert_ne!(h7.lines().last(), h8.lines().last());
    let out = agentsim(&["replay", a.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stdout(&out).starts_with("identical"), "{}", stdout(&out));
}

#[test]
fn replay_of_a_non_trace_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x.jsonl");
    std::fs::write(&p, "hello\n").unwrap();
    let out = agentsim(&["replay", p.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(stderr(&out).trim_end().lines().count(), 1);
}

#[test]
fn list_shows_protocols_properties_and_defaults() {
    let out = agentsim(&["list"]);
    assert_eq!(out.status.code(), Some(0));
    let t = stdout(&out);
    for m in [
        "raft",
        "election safety",
        "leader elected",
        "election_timeout = \"150ms..300ms\"",
        "heartbeat = \"50ms\"",
        "time_max",
    ] {
        assert!(t.contains(m), "'{m}' missing from list output:\n{t}");
    }
}

#[test]
fn every_fault_flag_is_accepted() {
    let out = agentsim(&[
        "run",
        "raft",
        "--seed",
        "3",
        "--latency",
        "bimodal:fast=1ms..2ms,slow=20ms..40ms,p_slow=0.05",
        "--loss",
        "0.05",
        "--dup",
        "0.05",
        "--fifo",
        "--capacity",
        "16",
        "--topology",
        "complete",
        "--link",
        "0-1:latency=30ms,loss=0.2",
        "--link",
        "2>*:dup=0.1",
        "--fault",
        "partition:0,1|2,3,4@500ms",
        "--fault",
        "heal@1s",
        "--fault",
        "cut:0>1@1.2s",
        "--fault",
        "isolate:2@1.5s",
        "--fault",
        "heal@2s",
        "--fault",
        "crash-leader:200ms@2.5s",
        "--crash-mttf",
        "2s",
        "--crash-mttr",
        "100ms",
        "--crash-max-down",
        "2",
        "--partition-mtbf",
        "1s",
        "--partition-mttr",
        "200ms",
        "--heal-at",
        "3s",
        "--drift-ppm-max",
        "1000",
        "--drift",
        "4:-5000",
        "--leader-crashes",
        "first=4s,every=500ms,jitter=50ms,down=100ms,count=2",
        "--pre-vote",
        "--check-quorum",
        "--election-timeout",
        "100ms..200ms",
        "--heartbeat",
        "40ms",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        crate::common::stderr(&out)
    );
}

#[test]
fn shipped_example_scenario_runs_and_flags_override_it() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/scenarios/raft-faults.toml"
    );
    let out = agentsim(&["run", "raft", "--scenario", path]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(stdout(&out).starts_with("seed 7\n"));
    let out = agentsim(&["run", "raft", "--scenario", path, "--seed", "8", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["seed"], 8);
    assert!(v["counts"]["crashes"].as_u64().unwrap() >= 1);
}

/// `agentsim list | head -1`: a reader that goes away ends the process
/// quietly (SIGPIPE, as for other command-line tools), never with a panic.
#[cfg(unix)]
#[test]
fn closed_stdout_is_not_a_panic() {
    use std::os::fd::{FromRawFd, OwnedFd};
    use std::process::{Command, Stdio};
    let mut fds = [0; 2];
    // SAFETY: `fds` has room for the two descriptors pipe() writes.
    assert_eq!(unsafe { libc::pipe(fds.as_mut_ptr()) }, 0);
    // SAFETY: both descriptors were just opened and are owned here only.
    let (read, write) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    drop(read); // the reader is gone before anything is printed
    let out = Command::new(env!("CARGO_BIN_EXE_agentsim"))
        .arg("list")
        .stdout(Stdio::from(write))
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_ne!(out.status.code(), Some(101), "{err}");
}

/// `--trace /dev/stdout`, a FIFO or `/dev/null`: a file that is not a regular
/// one is written in place. Renaming a finished temporary file over it (how
/// regular files are kept whole) would replace the device or pipe itself.
#[cfg(unix)]
#[test]
fn a_trace_into_a_pipe_is_written_in_place() {
    use std::io::Read;
    use std::os::unix::fs::FileTypeExt;
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("trace.fifo");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let (tx, rx) = std::sync::mpsc::channel();
    let reader = fifo.clone();
    std::thread::spawn(move || {
        let mut text = String::new();
        std::fs::File::open(reader)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        tx.send(text).unwrap();
    });
    let out = agentsim(&[
        "run",
        "raft",
        "--seed",
        "7",
        "--trace",
        fifo.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let kind = std::fs::symlink_metadata(&fifo).unwrap().file_type();
    assert!(kind.is_fifo(), "the FIFO was replaced by a {kind:?}");
    let text = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the trace never came through the FIFO");
    let hash = stdout(&out).lines().last().unwrap().replace("hash ", "");
    assert!(text.starts_with("{\"type\":\"run_start\""), "{text}");
    assert!(text.trim_end().lines().last().unwrap().contains(&hash));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "a temporary file was left"
    );
}

/// A trace path that is a symbolic link replaces the file it points to and
/// leaves the link a link.
#[cfg(unix)]
#[test]
fn a_trace_through_a_symlink_replaces_its_target() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.jsonl");
    let link = dir.path().join("link.jsonl");
    std::fs::write(&real, "old").unwrap();
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let out = agentsim(&[
        "run",
        "raft",
        "--seed",
        "7",
        "--trace",
        link.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let text = std::fs::read_to_string(&real).unwrap();
    assert!(text.starts_with("{\"type\":\"run_start\""), "{text}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

/// `--trace-level off` writes no file at all (the level's documented meaning):
/// not an empty one, which `replay` would then reject, and an existing file
/// is left as it was. The run is the same as without a trace.
#[test]
fn trace_level_off_writes_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let new = dir.path().join("new.jsonl");
    let old = dir.path().join("old.jsonl");
    std::fs::write(&old, "keep me\n").unwrap();
    let plain = agentsim(&["run", "raft", "--seed", "7"]);
    for p in [&new, &old] {
        let out = agentsim(&[
            "run",
            "raft",
            "--seed",
            "7",
            "--trace-level",
            "off",
            "--trace",
            p.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(stdout(&out), stdout(&plain), "same run, same output");
    }
    assert!(!new.exists(), "a file was written at level off");
    assert_eq!(std::fs::read_to_string(&old).unwrap(), "keep me\n");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "a temporary file was left"
    );
}

/// A trace path that cannot be created is reported before anything is
/// printed (not after `seed N`), in one line naming the path as given (not
/// the temporary file written first), with the exit code of I/O errors.
#[test]
fn an_unwritable_trace_path_fails_before_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nodir").join("x.jsonl");
    let p = path.to_str().unwrap();
    for args in [
        vec!["run", "raft", "--trace", p],
        vec!["run", "raft", "--trace", p, "--json"],
        vec!["run", "gossip", "--trace", p, "--trace-level", "summary"],
    ] {
        let out = agentsim(&args);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(stdout(&out), "", "{args:?}: printed before failing");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains(&format!("{p}:")), "the path given: {err}");
        assert!(!err.contains(".tmp-"), "a temporary path: {err}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

/// An input file the user names that is missing or cannot be read is bad
/// input (exit 2, one line naming it) for every command, as for `--scenario`.
#[test]
fn missing_or_unreadable_input_files_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.jsonl");
    let not_utf8 = dir.path().join("binary.jsonl");
    std::fs::write(&not_utf8, [0xff, 0xfe, b'\n']).unwrap();
    let folder = dir.path().join("a-folder");
    std::fs::create_dir(&folder).unwrap();
    let s = |p: &std::path::Path| p.to_str().unwrap().to_string();
    let cases: [(Vec<String>, String); 6] = [
        (vec!["replay".into(), s(&missing)], s(&missing)),
        (vec!["replay".into(), s(&not_utf8)], s(&not_utf8)),
        (vec!["replay".into(), s(&folder)], s(&folder)),
        (vec!["plot".into(), s(&not_utf8)], s(&not_utf8)),
        (
            vec![
                "run".into(),
                "raft".into(),
                "--scenario".into(),
                s(&missing),
            ],
            s(&missing),
        ),
        (
            vec![
                "check".into(),
                "raft".into(),
                "--scenario".into(),
                s(&folder),
            ],
            s(&folder),
        ),
    ];
    for (args, mention) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        bad(&args, &[&mention]);
    }
    // Nothing written: no plot of the unreadable trace, no missing file created.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
}

/// `check` and `sweep` take the same `--jobs` range, 1..=1024; anything
/// else is bad input (it was a panic for `check --jobs 100000`, and
/// `check --jobs 0` was accepted while `sweep --jobs 0` was not).
#[test]
fn jobs_range_is_the_same_for_check_and_sweep() {
    for jobs in ["0", "1025", "100000", "-1", "two"] {
        bad(
            &["check", "raft", "--seeds", "0..4", "--jobs", jobs],
            &["--jobs", "1..=1024"],
        );
        bad(
            &["sweep", "no-such-file.toml", "--jobs", jobs],
            &["--jobs", "1..=1024"],
        );
    }
    // (Not 1024: starting that many threads may hit a machine's own limit.)
    for jobs in ["1", "3"] {
        let out = agentsim(&["check", "raft", "--seeds", "0..4", "--jobs", jobs]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "--jobs {jobs}: {}",
            stderr(&out)
        );
    }
}

/// Worker threads that cannot be started are an error of the machine: one
/// line, exit code 1, no panic. Here every thread stack is 4 GiB
/// (`RUST_MIN_STACK`) under a 1 GB address-space limit, so the first spawn
/// fails, with no thread started. (`ulimit -v` is Linux's.)
#[cfg(target_os = "linux")]
#[test]
fn threads_that_cannot_start_are_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let exp = crate::sweep::small_experiment(dir.path(), 2);
    let out_dir = dir.path().join("out");
    let cases = [
        vec!["check", "raft", "--seeds", "0..4", "--jobs", "2"],
        vec![
            "sweep",
            exp.to_str().unwrap(),
            "--jobs",
            "2",
            "--out",
            out_dir.to_str().unwrap(),
        ],
    ];
    for args in cases {
        let out = std::process::Command::new("sh")
            .args(["-c", r#"ulimit -v 1000000 && exec "$0" "$@""#])
            .arg(crate::common::bin())
            .args(&args)
            .env("RUST_MIN_STACK", "4294967296")
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(err.contains("cannot start 2 worker threads"), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

/// A parameter a topology does not take, or an argument to `heal`, is
/// rejected rather than silently ignored, on the command line and in
/// scenario files (where the field is `net.topology`).
#[test]
fn parameters_a_topology_or_fault_does_not_take_are_bad_input() {
    for (topology, mentions) in [
        (
            "ring:k=3",
            vec!["ring takes no parameters", "accepted: ring"],
        ),
        ("complete:x=1", vec!["complete takes no parameters"]),
        (
            "random-regular:k=4,z=3",
            vec!["no parameter 'z'", "random-regular:k=K"],
        ),
    ] {
        let mut m = vec!["--topology"];
        m.extend(&mentions);
        bad(&["run", "raft", "--nodes", "6", "--topology", topology], &m);
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s.toml");
        std::fs::write(&p, format!("nodes = 6\n[net]\ntopology = \"{topology}\"\n")).unwrap();
        let mut m = vec!["net.topology", "s.toml"];
        m.extend(&mentions);
        bad(&["run", "raft", "--scenario", p.to_str().unwrap()], &m);
    }
    bad(
        &["run", "raft", "--fault", "heal:3@1s"],
        &["--fault", "heal takes no argument", "heal@TIME"],
    );
    // What these flags do take still works.
    let out = agentsim(&[
        "run",
        "gossip",
        "--nodes",
        "6",
        "--topology",
        "random-regular:k=4",
        "--fault",
        "heal@1s",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Duration ranges include both bounds (`5ms..5ms` is a fixed value); seed
/// ranges exclude their upper bound (`3..5` is seeds 3 and 4).
#[test]
fn duration_ranges_are_inclusive_and_seed_ranges_half_open() {
    let out = agentsim(&[
        "run",
        "raft",
        "--latency",
        "5ms..5ms",
        "--election-timeout",
        "150ms..150ms",
        "--json",
    ]);
    // Equal timeouts split votes for long (Raft §9.3): a liveness failure
    // (exit 4) may follow, but the flags are accepted.
    assert_eq!(stderr(&out), "");
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert!(v["hash"].is_string(), "{v}");
    let out = agentsim(&["check", "raft", "--seeds", "3..5", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(v["runs"], 2, "{v}");
    let help = stdout(&agentsim(&["check", "raft", "--help"]));
    for m in ["B excluded", "both bounds included"] {
        assert!(help.contains(m), "'{m}' missing from --help:\n{help}");
    }
}

#[test]
fn check_json_lists_failing_seeds_per_property_and_the_properties_that_held() {
    let out = agentsim(&[
        "check",
        "raft",
        "--seeds",
        "0..300",
        "--variant",
        "double-vote",
        "--loss",
        "0.1",
        "--crash-mttf",
        "1s",
        "--json",
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let f = &v["failures"][0];
    assert_eq!(f["property"], "election safety", "{v}");
    let seeds: Vec<u64> = f["seeds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_u64().unwrap())
        .collect();
    assert_eq!(seeds.len() as u64, f["runs"].as_u64().unwrap());
    assert!(seeds.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(seeds[0], f["first_seed"].as_u64().unwrap());
    // Each listed seed fails when run alone; a seed not listed does not.
    let run = |seed: u64| {
        let s = seed.to_string();
        agentsim(&[
            "run",
            "raft",
            "--variant",
            "double-vote",
            "--loss",
            "0.1",
            "--crash-mttf",
            "1s",
            "--seed",
            &s,
        ])
        .status
        .code()
    };
    assert_eq!(run(seeds[seeds.len() / 2]), Some(3));
    let clean = (0..300).find(|s| !seeds.contains(s)).unwrap();
    assert_ne!(run(clean), Some(3));
    assert_eq!(v["held"], serde_json::json!(["leader elected"]), "{v}");
}

/// SIGTERM or SIGINT during `run --trace` removes the `.NAME.tmp-PID` file
/// being written, and the process still ends by that signal.
#[cfg(unix)]
#[test]
fn a_signal_during_a_traced_run_leaves_no_temporary_file() {
    use std::os::unix::process::ExitStatusExt;
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let dir = tempfile::tempdir().unwrap();
        let trace = dir.path().join("big.jsonl");
        let mut child = std::process::Command::new(crate::common::bin())
            .args(["run", "raft", "--nodes", "200", "--time-max", "100000s"])
            .args([
                "--until-time-max",
                "--events-max",
                "100000000000",
                "--trace",
            ])
            .arg(&trace)
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let tmp = dir.path().join(format!(".big.jsonl.tmp-{}", child.id()));
        let t0 = std::time::Instant::now();
        while std::fs::metadata(&tmp).map_or(true, |m| m.len() < 1 << 20) {
            assert!(t0.elapsed().as_secs() < 60, "no growing {tmp:?}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        // SAFETY: signalling our own child by its id.
        unsafe { libc::kill(child.id() as libc::pid_t, sig) };
        let status = child.wait().unwrap();
        assert_eq!(status.signal(), Some(sig), "{status:?}");
        let left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert!(left.is_empty(), "signal {sig}: left behind {left:?}");
    }
}

/// SIGTERM or SIGINT while `plot` writes its picture removes the
/// `.NAME.tmp-PID` file, and the process ends by that signal. The picture
/// (a 46 MB SVG) is written in a few milliseconds, so the test watches for
/// the temporary file and signals as soon as it appears; a plot that
/// finished first is tried again.
#[cfg(unix)]
#[test]
fn a_signal_while_plot_writes_leaves_no_temporary_file() {
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir().unwrap();
    let trace = dir.path().join("g.jsonl");
    let o = std::process::Command::new(crate::common::bin())
        .args(["run", "gossip", "--nodes", "10000", "--trace"])
        .arg(&trace)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = dir.path().join("g.svg");
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let mut caught = false;
        for _attempt in 0..10 {
            let mut child = std::process::Command::new(crate::common::bin())
                .args(["plot", "--kind", "messages", "--format", "svg"])
                .arg(&trace)
                .arg("--out")
                .arg(&out)
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap();
            let tmp = dir.path().join(format!(".g.svg.tmp-{}", child.id()));
            let t0 = std::time::Instant::now();
            let mut finished = false;
            while !tmp.exists() {
                if child.try_wait().unwrap().is_some() {
                    finished = true;
                    break;
                }
                assert!(t0.elapsed().as_secs() < 120, "plot never wrote {tmp:?}");
                std::hint::spin_loop();
            }
            if !finished {
                // SAFETY: signalling our own child by its id.
                unsafe { libc::kill(child.id() as libc::pid_t, sig) };
            }
            let status = child.wait().unwrap();
            if status.signal() == Some(sig) {
                let left: Vec<_> = std::fs::read_dir(dir.path())
                    .unwrap()
                    .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                    .filter(|n| n != "g.jsonl")
                    .collect();
                // The signal may land just after the rename: a whole picture.
                let whole = |n: &String| {
                    n == "g.svg" && std::fs::read_to_string(&out).unwrap().ends_with("</svg>\n")
                };
                let left: Vec<_> = left.into_iter().filter(|n| !whole(n)).collect();
                assert!(left.is_empty(), "signal {sig}: left behind {left:?}");
                caught = true;
                break;
            }
            // Done before the signal landed: the picture is whole.
            assert_eq!(status.code(), Some(0), "{status:?}");
            std::fs::remove_file(&out).unwrap();
        }
        assert!(
            caught,
            "signal {sig}: plot finished writing first, ten times"
        );
    }
}

/// Every `--help` (and `-h`) of every command and protocol fits in 100 columns.
#[test]
fn help_lines_fit_in_100_columns() {
    let cmd = agentsim::cli::command(&agentsim::protocols::Registry::builtin());
    let mut paths: Vec<Vec<String>> = vec![vec![]];
    for sub in cmd.get_subcommands() {
        paths.push(vec![sub.get_name().to_string()]);
        for p in sub.get_subcommands() {
            paths.push(vec![sub.get_name().to_string(), p.get_name().to_string()]);
        }
    }
    assert!(paths.len() > 20);
    for path in &paths {
        for flag in ["--help", "-h"] {
            let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
            args.push(flag);
            let out = std::process::Command::new(crate::common::bin())
                .args(&args)
                .env("COLUMNS", "300")
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0), "{args:?}");
            let text = stdout(&out);
            assert!(text.lines().count() > 3, "{args:?}: {text}");
            for l in text.lines() {
                assert!(
                    l.chars().count() <= agentsim::cli::HELP_WIDTH,
                    "{args:?}: a help line of {} characters: {l}",
                    l.chars().count()
                );
            }
        }
    }
}

/// `list`: properties, metrics and series share one column for what follows
/// the name, across every protocol, whatever the longest name.
#[test]
fn list_columns_align_across_protocols() {
    let text = stdout(&agentsim(&["list"]));
    let mut columns = std::collections::BTreeSet::new();
    let mut section = "";
    let mut rows = 0;
    for l in text.lines() {
        if let Some(s) = l.strip_prefix("  ").filter(|s| !s.starts_with(' ')) {
            section = s;
            continue;
        }
        let named = section.starts_with("properties")
            || section.starts_with("metrics")
            || section.starts_with("series");
        if named && l.starts_with("    ") {
            // The second column starts after the name's padding: two spaces
            // then a non-space.
            let col = l[4..]
                .find("  ")
                .map(|i| 4 + i + l[4 + i..].find(|c: char| c != ' ').unwrap());
            columns.insert(col.unwrap_or_else(|| panic!("no second column: {l}")));
            rows += 1;
        }
    }
    assert!(rows > 50, "{rows} rows");
    assert_eq!(columns.len(), 1, "second columns at {columns:?}");
}

/// A trace recorded by another program or model version is compared event
/// by event (not refused at line 1), and the difference noted.
#[test]
fn replay_compares_a_trace_of_another_version_and_notes_it() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.jsonl");
    let p = p.to_str().unwrap();
    let out = agentsim(&["run", "raft", "--nodes", "3", "--trace", p]);
    assert_eq!(out.status.code(), Some(0));
    let text = std::fs::read_to_string(p).unwrap();
    let model = agentsim::hash::MODEL_VERSION;
    let old = text.replacen(
        &format!("\"model\":{model},"),
        &format!("\"model\":{},", model + 7),
        1,
    );
    let old = old.replacen(
        "\"program\":\"agentsim ",
        "\"program\":\"agentsim 0.0.1-",
        1,
    );
    assert_ne!(old, text);
    std::fs::write(p, &old).unwrap();
    let out = agentsim(&["replay", p]);
    let s = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{s}");
    assert!(s.starts_with("identical"), "{s}");
    assert!(s.contains(&format!("model {}", model + 7)), "{s}");
    // An event changed: the first differing event is reported, with the note.
    let mut lines: Vec<String> = old.lines().map(String::from).collect();
    let k = lines
        .iter()
        .position(|l| l.contains("\"type\":\"send\""))
        .unwrap();
    lines[k] = lines[k].replacen("\"to\":", "\"to\":9", 1);
    std::fs::write(p, lines.join("\n") + "\n").unwrap();
    let out = agentsim(&["replay", p]);
    let s = stdout(&out);
    assert_eq!(out.status.code(), Some(5), "{s}");
    assert!(s.starts_with(&format!("diverged at line {}", k + 1)), "{s}");
    assert!(s.contains("note: recorded by agentsim 0.0.1-"), "{s}");
}

/// A huge record is shortened in the divergence report, its length given.
#[test]
fn replay_shortens_long_records() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.jsonl");
    let p = p.to_str().unwrap();
    assert_eq!(
        agentsim(&["run", "raft", "--nodes", "3", "--trace", p])
            .status
            .code(),
        Some(0)
    );
    let text = std::fs::read_to_string(p).unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let k = lines
        .iter()
        .position(|l| l.contains("\"type\":\"note\""))
        .unwrap();
    let tag = "x".repeat(1_000_000);
    lines[k] = lines[k].replacen("\"tag\":\"", &format!("\"tag\":\"{tag}"), 1);
    std::fs::write(p, lines.join("\n") + "\n").unwrap();
    let out = agentsim(&["replay", p]);
    let s = stdout(&out);
    assert_eq!(out.status.code(), Some(5));
    assert!(s.len() < 3000, "a report of {} bytes", s.len());
    assert!(s.contains("bytes in all"), "{s}");
}

/// An output that is an input through a hard link (another name, the same
/// file) is refused; the input is untouched.
#[cfg(unix)]
#[test]
fn an_output_that_is_an_input_through_a_hard_link_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("t.jsonl");
    let h = dir.path().join("h.png");
    let (ts, hs) = (t.to_str().unwrap(), h.to_str().unwrap());
    assert_eq!(
        agentsim(&["run", "raft", "--nodes", "3", "--trace", ts])
            .status
            .code(),
        Some(0)
    );
    std::fs::hard_link(&t, &h).unwrap();
    let before = std::fs::read(&t).unwrap();
    bad(&["plot", ts, "--out", hs], &["--out", "is the input"]);
    bad(&["plot", hs], &["is the input"]);
    assert_eq!(std::fs::read(&t).unwrap(), before);
}
