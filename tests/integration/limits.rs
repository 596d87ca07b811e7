//! Resource limits: runs and sweeps that cannot fit are refused up front
//! (exit 2, one line naming the setting and the limit); a broadcast storm
//! stops at its own bound; the default event cap follows the run's size; a
//! results folder is locked while a sweep writes it and gets its final files
//! as one set. Every memory case runs the binary under an address-space
//! limit, so that a failure of the estimate cannot take the machine down.

use crate::common::{bin, stderr, stdout};
use crate::sweep::small_experiment;
use std::io::BufRead;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// The address-space limit of the binary in these tests: 2 GiB, so the
/// default memory limit is 1 GiB (half of it).
const ULIMIT_KIB: u64 = 2 << 20;

/// The binary under `ulimit -v`, with `args`.
fn limited(args: &[&str]) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(format!("ulimit -v {ULIMIT_KIB} && exec \"$0\" \"$@\""))
        .arg(bin())
        .args(args);
    c
}

fn run_limited(args: &[&str]) -> Output {
    limited(args)
        .output()
        .expect("running the binary under ulimit")
}

/// Asserts a refusal: exit 2, nothing on stdout, one line on stderr holding
/// every one of `words`.
fn assert_refused(o: &Output, words: &[&str]) {
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "stderr: {err}");
    assert_eq!(stdout(o), "", "a refused command prints nothing on stdout");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    for w in words {
        assert!(err.contains(w), "'{w}' missing from: {err}");
    }
}

#[test]
fn sixteen_million_raft_nodes_are_refused_by_run_check_and_replay() {
    let o = run_limited(&["run", "raft", "--nodes", "16000000"]);
    assert_refused(&o, &["nodes = 16000000", "limit of 1.0 GiB", "ulimit -v"]);
    let o = run_limited(&["check", "raft", "--nodes", "16000000", "--seeds", "0..2"]);
    assert_refused(&o, &["nodes = 16000000", "limit of 1.0 GiB"]);

    // A trace whose header asks for 16 million nodes.
    let t = tempfile::tempdir().unwrap();
    let trace = t.path().join("t.jsonl");
    let o = run_limited(&["run", "raft", "--trace", trace.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(&trace).unwrap();
    let big = text.replacen("\"nodes\":5,", "\"nodes\":16000000,", 1);
    assert_ne!(big, text, "the header names the node count");
    std::fs::write(&trace, big).unwrap();
    let o = run_limited(&["replay", trace.to_str().unwrap()]);
    assert_refused(&o, &["nodes = 16000000", "limit of 1.0 GiB"]);
}

#[test]
fn big_states_and_dense_topologies_are_refused() {
    let o = run_limited(&[
        "run",
        "gossip",
        "--nodes",
        "16000000",
        "--keys",
        "65535",
        "--mode",
        "anti-entropy",
    ]);
    assert_refused(&o, &["nodes = 16000000", "gossip state per node", "limit"]);
    let o = run_limited(&[
        "run",
        "gossip",
        "--nodes",
        "100000",
        "--topology",
        "random-regular:k=99998",
    ]);
    assert_refused(
        &o,
        &[
            "net.topology = random-regular:k=99998",
            "4999900000 edges",
            "limit",
        ],
    );
    let o = run_limited(&[
        "run",
        "gossip",
        "--nodes",
        "100000",
        "--topology",
        "erdos-renyi:p=1",
    ]);
    assert_refused(
        &o,
        &[
            "net.topology = erdos-renyi:p=1",
            "4999950000 edges",
            "limit",
        ],
    );
}

#[test]
fn the_memory_limit_flag_overrides_the_default() {
    // A small run fits the default, not 10 MiB.
    let o = run_limited(&["run", "raft", "--memory-limit", "10MiB"]);
    assert_refused(&o, &["nodes = 5", "limit of 10.0 MiB (--memory-limit)"]);
    let o = run_limited(&[
        "check",
        "raft",
        "--seeds",
        "0..2",
        "--memory-limit",
        "10MiB",
    ]);
    assert_refused(&o, &["limit of 10.0 MiB (--memory-limit)"]);
    // A run over the default limit goes with a higher one: 70,000 Raft
    // nodes hold about 1.1 GiB of vote sets (the run stops at once).
    let over = ["run", "raft", "--nodes", "70000", "--time-max", "1ns"];
    assert_refused(&run_limited(&over), &["nodes = 70000", "limit of 1.0 GiB"]);
    let mut higher = over.to_vec();
    higher.extend(["--memory-limit", "1536MiB"]);
    let o = run_limited(&higher);
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("stop time_max at 1ns"),
        "{}",
        stdout(&o)
    );
    let o = run_limited(&["run", "raft", "--memory-limit", "8XB"]);
    assert_refused(&o, &["--memory-limit", "'8XB' is not a size", "GiB"]);
}

#[test]
fn a_huge_seed_count_is_refused_before_anything_is_written() {
    let t = tempfile::tempdir().unwrap();
    let exp = t.path().join("huge.toml");
    std::fs::write(
        &exp,
        "protocol = \"raft\"\nseeds = \"0..1000000000000\"\n[sweep]\nnodes = [3, 5]\n",
    )
    .unwrap();
    let out = t.path().join("out");
    let started = std::time::Instant::now();
    let o = run_limited(&[
        "sweep",
        exp.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_refused(
        &o,
        &[
            "seeds = 0..1000000000000",
            "2000000000000 runs",
            "--shard K/N",
            "--memory-limit",
        ],
    );
    assert!(!out.exists(), "a refused sweep creates no folder");
    // Refused by arithmetic, not by walking the runs.
    assert!(started.elapsed().as_secs() < 30);
    // Too many runs in flight at once.
    let exp = small_experiment(t.path(), 100);
    let o = run_limited(&[
        "sweep",
        exp.to_str().unwrap(),
        "--jobs",
        "64",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_refused(&o, &["--jobs 64", "64 at once", "limit of 1.0 GiB"]);
    assert!(!out.exists());
}

#[test]
fn a_broadcast_storm_stops_at_the_pending_bound() {
    // 3000 Bracha nodes echo to each other: 9 million messages at once,
    // above max(2^20, 16 × 3000) pending events.
    let o = run_limited(&["run", "bracha", "--nodes", "3000"]);
    let out = stdout(&o);
    assert!(out.contains("stop pending_max"), "{out}{}", stderr(&o));
    assert_eq!(o.status.code(), Some(6), "undecided: {out}");
}

#[test]
fn the_default_event_cap_follows_the_run_size() {
    // Half a million gossip nodes need about 14 million events: more than
    // the fixed cap of 10^7, within the default 100 per node.
    let o = run_limited(&["run", "gossip", "--nodes", "500000"]);
    let out = stdout(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{}", stderr(&o));
    assert!(out.contains("stop done"), "{out}");
    // A cap given is kept.
    let o = run_limited(&[
        "run",
        "gossip",
        "--nodes",
        "500000",
        "--events-max",
        "10000000",
    ]);
    assert_eq!(o.status.code(), Some(6), "{}", stdout(&o));
    assert!(stdout(&o).contains("stop events_max"), "{}", stdout(&o));
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_folder_is_locked_while_a_sweep_writes_it_and_a_kill_frees_it() {
    let t = tempfile::tempdir().unwrap();
    let exp = small_experiment(t.path(), 3000);
    let out = t.path().join("out");
    let (e, o) = (exp.to_str().unwrap(), out.to_str().unwrap());
    let mut first = limited(&["sweep", e, "--jobs", "1", "--out", o])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The header comes first, once the sweep has its folder.
    let mut header = String::new();
    std::io::BufReader::new(first.stdout.take().unwrap())
        .read_line(&mut header)
        .unwrap();
    assert!(
        header.contains("2 configurations × seeds 0..3000: 6000 runs in"),
        "{header}"
    );
    // While it runs, only its partial file and its lock are in the folder.
    assert_eq!(names(&out), [".runs.partial", ".sweep.lock"]);
    let second = run_limited(&["sweep", e, "--out", o]);
    assert_refused(
        &second,
        &[
            "another sweep is writing this folder",
            &format!("process {}", first.id()),
            "another --out",
        ],
    );
    // Killed, it holds nothing: the next sweep resumes (a short one here).
    first.kill().unwrap();
    first.wait().unwrap();
    let short = small_experiment(t.path(), 3);
    let o2 = run_limited(&["sweep", short.to_str().unwrap(), "--out", o]);
    assert_eq!(o2.status.code(), Some(0), "{}", stderr(&o2));
    // The final set, and nothing else.
    assert_eq!(
        names(&out),
        [
            "experiment.toml",
            "manifest.toml",
            "runs.csv",
            "summary.csv"
        ]
    );
}

/// `check` runs `--jobs` seeds at once: together they must fit the limit,
/// though each one does alone.
#[test]
fn check_weighs_its_runs_in_flight_against_the_limit() {
    // 50,000 Raft nodes need about 0.6 GiB a run; the limit here is 1 GiB.
    let args = |jobs: &'static str, seeds: &'static str| {
        let mut a = vec!["check", "raft", "--nodes", "50000", "--time-max", "1ns"];
        a.extend(["--jobs", jobs, "--seeds", seeds]);
        a
    };
    let o = run_limited(&args("2", "0..4"));
    assert_refused(&o, &["--jobs 2", "2 at once", "limit of 1.0 GiB"]);
    // One at a time, or one seed (so one run in flight), it goes.
    for (jobs, seeds) in [("1", "0..2"), ("2", "0..1")] {
        let o = run_limited(&args(jobs, seeds));
        assert_ne!(o.status.code(), Some(2), "{jobs} {seeds}: {}", stderr(&o));
        assert!(stdout(&o).contains("seeds"), "{}", stdout(&o));
    }
}

/// A disk that fills while a sweep writes its final files (a file-size
/// limit, `ulimit -f`, here: writes past it fail with "File too large" as
/// on a full disk) leaves the folder's old complete set as it was, and no
/// temporary file; the partial file stays, so the same command resumes.
#[cfg(unix)]
#[test]
fn a_full_disk_during_the_final_write_keeps_the_old_set() {
    use std::os::unix::process::CommandExt;
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    let reference = t.path().join("ref");
    let sweep = |seeds: u32, dir: &Path, fsize: Option<u64>| {
        let exp = small_experiment(t.path(), seeds);
        let mut c = Command::new(bin());
        c.args(["sweep", exp.to_str().unwrap(), "--out"]).arg(dir);
        if let Some(bytes) = fsize {
            // SAFETY: async-signal-safe calls only, in the child before exec.
            unsafe {
                c.pre_exec(move || {
                    libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
                    let lim = libc::rlimit {
                        rlim_cur: bytes as libc::rlim_t,
                        rlim_max: bytes as libc::rlim_t,
                    };
                    if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        c.output().unwrap()
    };
    let read = |dir: &Path| {
        names(dir)
            .into_iter()
            .map(|n| (std::fs::read(dir.join(&n)).unwrap_or_default(), n))
            .collect::<Vec<_>>()
    };
    assert_eq!(sweep(40, &out, None).status.code(), Some(0));
    let old = read(&out);
    assert_eq!(old.len(), 4, "{:?}", names(&out));
    // The bigger sweep's runs.csv, written freely elsewhere.
    assert_eq!(sweep(400, &reference, None).status.code(), Some(0));
    let runs = std::fs::metadata(reference.join("runs.csv")).unwrap().len();
    // Every file may be one byte shorter than that runs.csv: the partial
    // file (its rows have no parameter columns) fits, runs.csv does not.
    let o = sweep(400, &out, Some(runs - 1));
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("runs.csv") && err.contains("too large"),
        "{err}"
    );
    // The old set, byte for byte, beside the partial file; no temporary.
    let mut now = read(&out);
    now.retain(|(_, n)| n != ".runs.partial");
    assert_eq!(now, old, "{:?}", names(&out));
    assert!(names(&out).contains(&".runs.partial".to_string()));
    // With room again, the same command resumes to the full set.
    let o = sweep(400, &out, None);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("ran 0 (800 already done)"),
        "{}",
        stdout(&o)
    );
    let (mut a, mut b) = (read(&out), read(&reference));
    a.retain(|(_, n)| n != "manifest.toml");
    b.retain(|(_, n)| n != "manifest.toml");
    assert_eq!(a, b);
}
