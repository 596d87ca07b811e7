//! `agentsim sweep` and `agentsim merge`: results files are byte-identical
//! whatever the thread count, the shard split or an interruption; summaries
//! match a hand computation; bad experiment files get one line and exit 2.

use crate::common::{agentsim, bin, stderr, stdout};
use std::path::{Path, PathBuf};

/// A small, fast experiment: 2 configurations × `seeds` of a 3-server Raft
/// cluster whose leader crashes once.
pub fn small_experiment(dir: &Path, seeds: u32) -> PathBuf {
    let text = format!(
        r#"# A small experiment for tests.
protocol = "raft"
seeds = "0..{seeds}"
metrics = ["downtime_ms", "split_votes", "split", "first_leader_ms"]

[computed]
split = "split_votes > 0"

[scenario]
nodes = 3
time_max = "3s"
[scenario.net]
latency = "1ms..3ms"
[scenario.faults.leader_crashes]
first = "1s"
every = "1s"
down = "10s"
count = 1

[derive]
heartbeat_ratio = 0.5
leader_crash_within_heartbeat = true

[sweep]
"protocol.election_timeout" = ["150ms..300ms", "50ms..100ms"]

[labels]
"protocol.election_timeout" = "timeout"

[[plot]]
kind = "cdf"
metric = "downtime_ms"
x_scale = "log"

[[plot]]
kind = "versus"
metric = "first_leader_ms"
x = "protocol.election_timeout"
name = "not-numeric"

[[plot]]
kind = "histogram"
metric = "split_votes"
bins = 5
"#
    );
    let path = dir.join("small.toml");
    std::fs::write(&path, text).unwrap();
    path
}

/// A small gossip experiment with what the gossip experiments use: groups
/// with their own seeds, a kept series (`coverage`), a series plot, a
/// reference curve and a categorical axis.
pub fn gossip_experiment(dir: &Path) -> PathBuf {
    let text = r#"# Gossip for tests: rumor spreading on 30 and 60 nodes.
protocol = "gossip"
metrics = ["rounds_to_full", "msgs_per_node"]
series = ["coverage"]

[scenario]
time_max = "20s"

[[sweep]]
group = "small"
seeds = "0..12"
nodes = 30
"protocol.direction" = ["push", "pull"]

[[sweep]]
group = "big"
seeds = "100..103"
nodes = 60
"protocol.direction" = ["push", "pull"]

[labels]
"protocol.direction" = "{}"
group = "size"
rounds_to_full = "rounds to full coverage"
coverage = "fraction informed"

[[plot]]
name = "rounds"
kind = "versus"
metric = "rounds_to_full"
x = "nodes"
x_scale = "log"
formats = ["png", "svg"]

[[plot.reference]]
label = "log2 n + ln n"
formula = "log2(x) + ln(x)"

[[plot.reference]]
label = "a table"
points = [[30, 9], [60, 11]]

[[plot]]
name = "rounds-by-group"
kind = "versus"
metric = "msgs_per_node"
x = "group"

[[plot]]
name = "rounds-by-direction"
kind = "versus"
metric = "rounds_to_full"
x = "protocol.direction"
x_scale = "category"

[[plot]]
name = "coverage"
kind = "series"
series = "coverage"
group = "small"
x_label = "round"
formats = ["png", "svg"]

[[plot]]
name = "uninformed"
kind = "series"
series = "coverage"
complement = true
y_scale = "log"
"#;
    let path = dir.join("gossip.toml");
    std::fs::write(&path, text).unwrap();
    path
}

pub fn sweep(args: &[&str]) {
    let out = agentsim(args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "agentsim {args:?} failed: {}",
        stderr(&out)
    );
}

const FILES: [&str; 4] = [
    "runs.csv",
    "summary.csv",
    "experiment.toml",
    "manifest.toml",
];

fn assert_same_files(a: &Path, b: &Path) {
    let series = a.join("series.csv").exists().then_some("series.csv");
    for f in FILES.into_iter().chain(series) {
        let (x, y) = (
            std::fs::read(a.join(f)).unwrap_or_else(|e| panic!("{}: {e}", a.join(f).display())),
            std::fs::read(b.join(f)).unwrap_or_else(|e| panic!("{}: {e}", b.join(f).display())),
        );
        assert!(
            x == y,
            "{f} differs between {} and {} (results must not depend on threads, shards or resumes; look for an unordered collection or a per-thread state)",
            a.display(),
            b.display()
        );
    }
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn same_files_with_one_or_two_jobs_and_as_merged_shards() {
    let t = tempfile::tempdir().unwrap();
    let exp = small_experiment(t.path(), 40);
    let (one, two, merged) = (t.path().join("j1"), t.path().join("j2"), t.path().join("m"));
    sweep(&["sweep", s(&exp), "--jobs", "1", "--out", s(&one)]);
    sweep(&["sweep", s(&exp), "--jobs", "2", "--out", s(&two)]);
    assert_same_files(&one, &two);
    let mut shards = Vec::new();
    for k in 0..3 {
        let d = t.path().join(format!("shard-{k}"));
        sweep(&[
            "sweep",
            s(&exp),
            "--shard",
            &format!("{k}/3"),
            "--out",
            s(&d),
        ]);
        assert!(!d.join("summary.csv").exists(), "a shard has no summary");
        shards.push(d);
    }
    // Shards in any order.
    sweep(&[
        "merge",
        s(&shards[2]),
        s(&shards[0]),
        s(&shards[1]),
        "--out",
        s(&merged),
    ]);
    assert_same_files(&one, &merged);

    let runs = std::fs::read_to_string(one.join("runs.csv")).unwrap();
    assert_eq!(runs.lines().count(), 1 + 2 * 40);
    assert!(
        runs.starts_with(
            "config,protocol.election_timeout,protocol.election_timeout_min_ms,protocol.election_timeout_max_ms,seed,stop,downtime_ms,split_votes,split,first_leader_ms,hash,config_id,check\n0,150ms..300ms,150,300,0,"
        ),
        "{}",
        runs.lines().next().unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(one.join("experiment.toml")).unwrap(),
        std::fs::read_to_string(&exp).unwrap()
    );
    let manifest = std::fs::read_to_string(one.join("manifest.toml")).unwrap();
    assert!(manifest.contains(&format!(
        "program = \"agentsim {}\"",
        env!("CARGO_PKG_VERSION")
    )));

    // An incomplete set of shards is refused, naming the missing one.
    let out = agentsim(&[
        "merge",
        s(&shards[0]),
        s(&shards[2]),
        "--out",
        s(&t.path().join("x")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("shard 1/3 missing"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn rerunning_a_finished_sweep_changes_nothing() {
    let t = tempfile::tempdir().unwrap();
    let exp = small_experiment(t.path(), 10);
    let (a, b) = (t.path().join("a"), t.path().join("b"));
    sweep(&["sweep", s(&exp), "--out", s(&a)]);
    sweep(&["sweep", s(&exp), "--out", s(&b)]);
    let out = agentsim(&["sweep", s(&exp), "--out", s(&b)]);
    assert!(
        stdout(&out).contains("ran 0 (20 already done)"),
        "{}",
        stdout(&out)
    );
    assert_same_files(&a, &b);
}

#[test]
fn resume_after_a_stop_gives_the_same_files() {
    let t = tempfile::tempdir().unwrap();
    let exp = small_experiment(t.path(), 30);
    let (clean, resumed) = (t.path().join("clean"), t.path().join("resumed"));
    sweep(&["sweep", s(&exp), "--out", s(&clean)]);
    sweep(&["sweep", s(&exp), "--out", s(&resumed), "--max-runs", "17"]);
    assert!(
        !resumed.join("runs.csv").exists(),
        "no final files before the end"
    );
    let partial = std::fs::read_to_string(resumed.join(".runs.partial")).unwrap();
    assert_eq!(partial.lines().count(), 1 + 17);
    // A torn last line, as a kill in the middle of a write would leave.
    let mut torn = partial.clone();
    torn.push_str("45,do");
    std::fs::write(resumed.join(".runs.partial"), torn).unwrap();
    let out = agentsim(&["sweep", s(&exp), "--out", s(&resumed), "--jobs", "2"]);
    assert!(
        stdout(&out).contains("ran 43 (17 already done)"),
        "{}",
        stdout(&out)
    );
    assert_same_files(&clean, &resumed);
    assert!(!resumed.join(".runs.partial").exists());
}

/// Rows of an interrupted sweep's partial file, and the line holding the
/// lowest-numbered run (rows are appended as runs finish, so with two jobs
/// the lowest need not be the first line): `(lines, that line)`.
fn partial_rows(partial: &Path) -> (Vec<String>, usize) {
    let text = std::fs::read_to_string(partial).unwrap();
    let lines: Vec<String> = text.lines().map(String::from).collect();
    // Fields: config_id, seed, stop, hash, metrics..., check. One configuration
    // per seed range here, so the seed orders the runs.
    let seed = |l: &String| l.split(',').nth(1).unwrap().parse::<u64>().unwrap();
    let first = (1..lines.len()).min_by_key(|&k| seed(&lines[k])).unwrap();
    (lines, first)
}

#[test]
fn a_changed_row_fails_its_check_and_runs_again() {
    let t = tempfile::tempdir().unwrap();
    let exp = small_experiment(t.path(), 10);
    let (clean, stale) = (t.path().join("clean"), t.path().join("stale"));
    sweep(&["sweep", s(&exp), "--out", s(&clean)]);
    sweep(&["sweep", s(&exp), "--out", s(&stale), "--max-runs", "5"]);
    // A digit changed in a stored row (a disk error, a hand edit).
    let partial = stale.join(".runs.partial");
    let (mut lines, k) = partial_rows(&partial);
    let mut g: Vec<String> = lines[k].split(',').map(String::from).collect();
    g[3] = "0123456789abcdef".into();
    lines[k] = g.join(",");
    std::fs::write(&partial, lines.join("\n") + "\n").unwrap();
    let out = agentsim(&["sweep", s(&exp), "--out", s(&stale)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stderr(&out).contains("check failed"), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("ran 16 (4 already done)"),
        "{}",
        stdout(&out)
    );
    assert_same_files(&clean, &stale);
    // The same in a finished runs.csv: the row is not reused.
    let runs = clean.join("runs.csv");
    let text = std::fs::read_to_string(&runs).unwrap();
    let changed = text.replacen(",time_max,", ",done,", 1);
    assert_ne!(changed, text);
    std::fs::write(&runs, changed).unwrap();
    let out = agentsim(&["sweep", s(&exp), "--out", s(&clean)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("ran 1 (19 already done)"),
        "{}",
        stdout(&out)
    );
    assert_same_files(&stale, &clean);
}

#[test]
fn rows_of_another_build_are_not_reused() {
    let t = tempfile::tempdir().unwrap();
    let exp = small_experiment(t.path(), 10);
    let (clean, stale) = (t.path().join("clean"), t.path().join("stale"));
    sweep(&["sweep", s(&exp), "--out", s(&clean)]);
    sweep(&["sweep", s(&exp), "--out", s(&stale), "--max-runs", "5"]);
    // Pretend another build of the same model version wrote the
    // lowest-numbered row (one a resume reruns): another hash, a valid check.
    let partial = stale.join(".runs.partial");
    let (mut lines, k) = partial_rows(&partial);
    let mut g: Vec<String> = lines[k].split(',').map(String::from).collect();
    g[3] = "0123456789abcdef".into();
    let n = g.len();
    g[n - 1] = agentsim::experiment::results::row_check(&g[..n - 1]);
    lines[k] = g.join(",");
    std::fs::write(&partial, lines.join("\n") + "\n").unwrap();
    let out = agentsim(&["sweep", s(&exp), "--out", s(&stale)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("came out different"),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("ran 20 (0 already done)"),
        "{}",
        stdout(&out)
    );
    assert_same_files(&clean, &stale);
}

#[test]
fn resume_after_a_kill_gives_the_same_files() {
    let t = tempfile::tempdir().unwrap();
    // Enough runs that the sweep is still going when it is killed: it is
    // killed after 20 rows of 16,000, so even a test thread starved for most
    // of the sweep's second or two catches it early.
    let exp = small_experiment(t.path(), 8000);
    let text = std::fs::read_to_string(&exp)
        .unwrap()
        .replace("time_max = \"3s\"", "time_max = \"30s\"");
    std::fs::write(&exp, text).unwrap();
    let (clean, killed) = (t.path().join("clean"), t.path().join("killed"));
    let partial = killed.join(".runs.partial");
    let mut child = std::process::Command::new(bin())
        .args(["sweep", s(&exp), "--jobs", "2", "--out", s(&killed)])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let lines = std::fs::read_to_string(&partial)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines > 20 || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !killed.join("runs.csv").exists(),
        "the sweep finished before the kill: make the test experiment bigger"
    );
    sweep(&["sweep", s(&exp), "--jobs", "2", "--out", s(&killed)]);
    sweep(&["sweep", s(&exp), "--jobs", "2", "--out", s(&clean)]);
    assert_same_files(&clean, &killed);
}

#[test]
fn group_seeds_and_series_are_the_same_whatever_jobs_shards_or_resumes() {
    let t = tempfile::tempdir().unwrap();
    let exp = gossip_experiment(t.path());
    let (one, two) = (t.path().join("j1"), t.path().join("j2"));
    sweep(&["sweep", s(&exp), "--jobs", "1", "--out", s(&one)]);
    sweep(&["sweep", s(&exp), "--jobs", "2", "--out", s(&two)]);
    assert_same_files(&one, &two);
    let mut shards = Vec::new();
    for k in 0..3 {
        let d = t.path().join(format!("shard-{k}"));
        sweep(&[
            "sweep",
            s(&exp),
            "--shard",
            &format!("{k}/3"),
            "--out",
            s(&d),
        ]);
        shards.push(d);
    }
    let merged = t.path().join("m");
    sweep(&[
        "merge",
        s(&shards[1]),
        s(&shards[2]),
        s(&shards[0]),
        "--out",
        s(&merged),
    ]);
    assert_same_files(&one, &merged);
    let resumed = t.path().join("r");
    sweep(&["sweep", s(&exp), "--out", s(&resumed), "--max-runs", "7"]);
    let out = agentsim(&["sweep", s(&exp), "--out", s(&resumed)]);
    assert!(
        stdout(&out).contains("ran 23 (7 already done)"),
        "{}",
        stdout(&out)
    );
    assert_same_files(&one, &resumed);

    // 2 × 12 runs of the small group, then 2 × 3 of the big one.
    let runs = std::fs::read_to_string(one.join("runs.csv")).unwrap();
    let rows: Vec<&str> = runs.lines().skip(1).collect();
    assert_eq!(rows.len(), 30);
    assert!(
        rows[0].starts_with("0,small,30,push,0,done,"),
        "{}",
        rows[0]
    );
    assert!(
        rows[24].starts_with("2,big,60,push,100,done,"),
        "{}",
        rows[24]
    );
    assert!(
        rows[29].starts_with("3,big,60,pull,102,done,"),
        "{}",
        rows[29]
    );
    let manifest = std::fs::read_to_string(one.join("manifest.toml")).unwrap();
    assert!(
        manifest.contains("seeds = \"small 0..12, big 100..103\""),
        "{manifest}"
    );

    // series.csv: one row per round of every run, from 1/n up to 1.
    let series = std::fs::read_to_string(one.join("series.csv")).unwrap();
    let mut lines = series.lines();
    assert_eq!(
        lines.next(),
        Some("config,group,nodes,protocol.direction,seed,series,index,value")
    );
    let mut per_run: std::collections::BTreeMap<(String, String), Vec<f64>> = Default::default();
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        assert_eq!(f[5], "coverage");
        let v = per_run.entry((f[0].into(), f[4].into())).or_default();
        assert_eq!(f[6], v.len().to_string(), "indices count up from 0: {l}");
        v.push(f[7].parse().unwrap());
    }
    assert_eq!(per_run.len(), 30, "every run has a coverage series");
    for ((c, seed), v) in &per_run {
        let n = if c == "0" || c == "1" { 30.0 } else { 60.0 };
        assert_eq!(
            v[0],
            1.0 / n,
            "config {c} seed {seed}: one node informed at 0"
        );
        assert_eq!(
            *v.last().unwrap(),
            1.0,
            "config {c} seed {seed}: ends informed"
        );
        assert!(v.windows(2).all(|w| w[0] <= w[1]));
        // rounds_to_full is the number of rounds after round 0.
        let row = rows
            .iter()
            .find(|r| r.starts_with(&format!("{c},")) && r.split(',').nth(4) == Some(seed))
            .unwrap();
        let rounds: f64 = row.split(',').nth(6).unwrap().parse().unwrap();
        assert_eq!(v.len() as f64, rounds + 1.0, "{row}");
    }

    // A tampered series.csv is refused, naming the file and the line.
    let tampered = t.path().join("tampered");
    std::fs::create_dir(&tampered).unwrap();
    for f in FILES.into_iter().chain(["series.csv"]) {
        std::fs::copy(one.join(f), tampered.join(f)).unwrap();
    }
    let bad = series.replacen(",coverage,1,", ",coverage,2,", 1);
    std::fs::write(tampered.join("series.csv"), bad).unwrap();
    let out = agentsim(&["plot", s(&tampered)]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("series.csv: line 3: index '2', expected 1"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn shipped_experiments_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("experiments");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "toml") {
            let exp = agentsim::experiment::Experiment::from_file(&path)
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(!exp.plots.is_empty(), "{}: no plots", path.display());
            names.push(exp.name);
        }
    }
    names.sort();
    // Every shipped experiment has its results committed, and every results
    // folder comes from a shipped experiment.
    let results = Path::new(env!("CARGO_MANIFEST_DIR")).join("results");
    let mut folders: Vec<String> = std::fs::read_dir(&results)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("manifest.toml").exists())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    folders.sort();
    assert!(names.len() >= 6, "{names:?}");
    assert_eq!(names, folders);
}

/// Two-sided 95% Student t critical value for 4 degrees of freedom (from a table).
const T_975_DF4: f64 = 2.776445105;

#[test]
fn summary_matches_a_hand_computation() {
    let t = tempfile::tempdir().unwrap();
    let exp = small_experiment(t.path(), 5);
    let out = t.path().join("o");
    sweep(&["sweep", s(&exp), "--out", s(&out)]);
    let runs = std::fs::read_to_string(out.join("runs.csv")).unwrap();
    // Configuration 0's five downtimes, column 6 (after config, the
    // timeout range and its two millisecond columns, seed and stop).
    let mut x: Vec<f64> = runs
        .lines()
        .skip(1)
        .filter(|l| l.starts_with("0,"))
        .map(|l| l.split(',').nth(6).unwrap().parse().unwrap())
        .collect();
    assert_eq!(x.len(), 5);
    let n = 5.0;
    let mean = x.iter().sum::<f64>() / n;
    let sd = (x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (n - 1.0)).sqrt();
    x.sort_by(f64::total_cmp);
    // Type 7: median is x[2]; p90 at h = 3.6; p99 at h = 3.96.
    let p90 = x[3] + 0.6 * (x[4] - x[3]);
    let p99 = x[3] + 0.96 * (x[4] - x[3]);
    let half = T_975_DF4 * sd / n.sqrt();
    let summary = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let header: Vec<&str> = summary.lines().next().unwrap().split(',').collect();
    assert_eq!(
        header,
        [
            "config",
            "protocol.election_timeout",
            "protocol.election_timeout_min_ms",
            "protocol.election_timeout_max_ms",
            "metric",
            "count",
            "mean",
            "sd",
            "se",
            "min",
            "median",
            "p90",
            "p99",
            "max",
            "ci95_lo",
            "ci95_hi",
            "missing"
        ]
    );
    let row: Vec<f64> = summary
        .lines()
        .find(|l| l.starts_with("0,150ms..300ms,150,300,downtime_ms,"))
        .unwrap()
        .split(',')
        .skip(5)
        .map(|v| v.parse().unwrap())
        .collect();
    let want = [
        5.0,
        mean,
        sd,
        sd / 5f64.sqrt(),
        x[0],
        x[2],
        p90,
        p99,
        x[4],
        mean - half,
        mean + half,
        0.0,
    ];
    for (i, (got, want)) in row.iter().zip(want).enumerate() {
        assert!(
            (got - want).abs() <= 1e-9 * want.abs().max(1.0),
            "{}: {got} vs hand-computed {want}",
            header[3 + i]
        );
    }
}

fn bad_file(dir: &Path, name: &str, text: &str, must_mention: &[&str]) {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let out_dir = dir.join(format!("out-{name}"));
    let out = agentsim(&["sweep", s(&path), "--out", s(&out_dir)]);
    let err = stderr(&out);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{name}: exit code; stderr: {err}"
    );
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "{name}: one line, got:\n{err}"
    );
    assert!(err.contains(name), "{name}: the file is named in: {err}");
    for m in must_mention {
        assert!(err.contains(m), "{name}: '{m}' missing from: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out_dir.exists(), "{name}: no output folder for a bad file");
}

#[test]
fn bad_experiment_files_get_one_line_and_exit_code_2() {
    let t = tempfile::tempdir().unwrap();
    let d = t.path();
    let head = "protocol = \"raft\"\nseeds = \"0..10\"\n";
    bad_file(
        d,
        "unknown-key.toml",
        &format!("{head}trials = 5\n"),
        &["trials", "expected one of", "seeds"],
    );
    bad_file(
        d,
        "protocol.toml",
        "protocol = \"zab\"\nseeds = \"0..10\"\n",
        &["zab", "accepted: raft"],
    );
    bad_file(
        d,
        "seeds.toml",
        "protocol = \"raft\"\nseeds = \"10..2\"\n",
        &["seeds", "A..B"],
    );
    bad_file(
        d,
        "syntax.toml",
        "protocol = \"raft\"\nseeds = \n",
        &["line 2"],
    );
    bad_file(
        d,
        "sweep-key.toml",
        &format!("{head}[sweep]\n\"protocol.electon_timeout\" = [\"1ms\"]\n"),
        &["protocol.electon_timeout", "election_timeout"],
    );
    bad_file(
        d,
        "loss.toml",
        &format!("{head}[sweep]\n\"net.loss_ratio\" = [0.1, 1.5]\n"),
        &["net.loss_ratio", "1.5", "0..=1"],
    );
    bad_file(
        d,
        "range.toml",
        &format!("{head}[sweep]\nnodes = {{ from = 3, to = 9 }}\n"),
        &["nodes", "step", "count"],
    );
    bad_file(
        d,
        "heartbeat.toml",
        &format!("{head}[sweep]\n\"protocol.heartbeat\" = [\"500ms\"]\n"),
        &[
            "protocol.heartbeat = 500ms",
            "below the minimum election timeout",
        ],
    );
    bad_file(
        d,
        "scenario.toml",
        &format!("{head}[scenario]\nnodez = 3\n"),
        &["scenario", "nodez", "nodes"],
    );
    bad_file(
        d,
        "derive.toml",
        &format!("{head}[derive]\nheartbeat_ratio = 2.0\n"),
        &["derive.heartbeat_ratio", "below 1"],
    );
    bad_file(
        d,
        "metric.toml",
        &format!("{head}metrics = [\"downtime\"]\n"),
        &["downtime", "accepted", "downtime_ms"],
    );
    bad_file(
        d,
        "series.toml",
        "protocol = \"gossip\"\nseeds = \"0..2\"\nseries = [\"coverag\"]\n",
        &["series", "coverag", "accepted: coverage"],
    );
    bad_file(
        d,
        "raft-series.toml",
        &format!("{head}series = [\"coverage\"]\n"),
        &["series", "raft reports no series"],
    );
    bad_file(
        d,
        "group-seeds.toml",
        "protocol = \"raft\"\n[[sweep]]\ngroup = \"a\"\nseeds = \"0..2\"\nnodes = 3\n[[sweep]]\ngroup = \"b\"\nnodes = 5\n",
        &["group 'b'", "no seeds", "A..B"],
    );
    bad_file(
        d,
        "plot.toml",
        &format!("{head}[[plot]]\nkind = \"pie\"\nmetric = \"terms\"\n"),
        &["pie", "cdf", "versus", "histogram"],
    );
    // Plot tables: series plots, references, category axes.
    let gossip = "protocol = \"gossip\"\nseeds = \"0..2\"\nmetrics = [\"rounds_to_full\"]\nseries = [\"coverage\"]\n[sweep]\nnodes = [10, 20]\n";
    for (name, plot, mention) in [
        (
            "series-missing.toml",
            "kind = \"series\"",
            &["needs series", "accepted: coverage"][..],
        ),
        (
            "series-metric.toml",
            "kind = \"series\"\nmetric = \"rounds_to_full\"",
            &["metric", "draws a series"],
        ),
        (
            "series-not-kept.toml",
            "kind = \"series\"\nseries = \"informed\"",
            &["series = 'informed' is not kept", "accepted: coverage"],
        ),
        (
            "complement.toml",
            "kind = \"cdf\"\nmetric = \"rounds_to_full\"\ncomplement = true",
            &["complement applies to kind = \"series\""],
        ),
        (
            "versus-no-metric.toml",
            "kind = \"versus\"\nx = \"nodes\"",
            &["needs metric", "rounds_to_full"],
        ),
        (
            "group-axis.toml",
            "kind = \"versus\"\nmetric = \"rounds_to_full\"\nx = \"group\"",
            &["x = \"group\" needs several [[sweep]] groups", "nodes"],
        ),
        (
            "category-cdf.toml",
            "kind = \"cdf\"\nmetric = \"rounds_to_full\"\nx_scale = \"category\"",
            &["x_scale = \"category\"", "versus"],
        ),
        (
            "category-y.toml",
            "kind = \"versus\"\nmetric = \"rounds_to_full\"\nx = \"nodes\"\ny_scale = \"category\"",
            &["y_scale", "linear", "log"],
        ),
        (
            "scale.toml",
            "kind = \"versus\"\nmetric = \"rounds_to_full\"\nx = \"nodes\"\nx_scale = \"cubic\"",
            &["cubic", "linear", "log", "category"],
        ),
        (
            "formula.toml",
            "kind = \"versus\"\nmetric = \"rounds_to_full\"\nx = \"nodes\"\n[[plot.reference]]\nlabel = \"Pittel\"\nformula = \"log2(n) + ln(n)\"",
            &["reference[0] (Pittel)", "unknown name 'n'", "accepted: numbers, x"],
        ),
        (
            "reference-both.toml",
            "kind = \"versus\"\nmetric = \"rounds_to_full\"\nx = \"nodes\"\n[[plot.reference]]\nlabel = \"t\"\nformula = \"x\"\npoints = [[1, 2]]",
            &["exactly one of formula and points"],
        ),
        (
            "reference-points.toml",
            "kind = \"versus\"\nmetric = \"rounds_to_full\"\nx = \"nodes\"\n[[plot.reference]]\nlabel = \"t\"\npoints = []",
            &["points", "non-empty list of [x, y] pairs"],
        ),
        (
            "reference-key.toml",
            "kind = \"versus\"\nmetric = \"rounds_to_full\"\nx = \"nodes\"\n[[plot.reference]]\nlabel = \"t\"\ncurve = \"x\"",
            &["curve", "label", "formula", "points"],
        ),
        (
            "reference-cdf.toml",
            "kind = \"cdf\"\nmetric = \"rounds_to_full\"\n[[plot.reference]]\nlabel = \"t\"\nformula = \"x\"",
            &["references apply to kind = \"versus\" or \"series\""],
        ),
        (
            "reference-category.toml",
            "kind = \"versus\"\nmetric = \"rounds_to_full\"\nx = \"nodes\"\nx_scale = \"category\"\n[[plot.reference]]\nlabel = \"t\"\nformula = \"x\"",
            &["a reference needs a numeric x axis"],
        ),
    ] {
        bad_file(d, name, &format!("{gossip}[[plot]]\n{plot}\n"), mention);
    }
    bad_file(
        d,
        "partition.toml",
        "protocol = \"gossip\"\nseeds = \"0..2\"\n[scenario]\nnodes = 10\n[derive]\npartition = { nodes = \"0..20\", at = \"1s\", heal = \"2s\" }\n",
        &["derive.partition.nodes", "B <= 10"],
    );

    // Flags.
    let exp = small_experiment(d, 2);
    for (args, mention) in [
        (vec!["sweep", s(&exp), "--jobs", "0"], "--jobs"),
        (vec!["sweep", s(&exp), "--shard", "3/3"], "--shard"),
        (vec!["sweep", "no-such-file.toml"], "no-such-file.toml"),
    ] {
        let out = agentsim(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(
            stderr(&out).trim_end().lines().count(),
            1,
            "{}",
            stderr(&out)
        );
        assert!(stderr(&out).contains(mention), "{}", stderr(&out));
    }
}

/// Rows are identified by content, so edits that do not change a row's
/// configuration reuse it; the files equal a sweep from scratch.
#[test]
fn edits_rerun_only_the_rows_they_change() {
    let t = tempfile::tempdir().unwrap();
    let exp = small_experiment(t.path(), 10);
    let dir = t.path().join("r");
    sweep(&["sweep", s(&exp), "--out", s(&dir)]);
    let base = std::fs::read_to_string(&exp).unwrap();
    let edit = |text: &str| {
        std::fs::write(&exp, text).unwrap();
        let out = agentsim(&["sweep", s(&exp), "--out", s(&dir)]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let scratch = t.path().join(format!("scratch-{}", text.len()));
        sweep(&["sweep", s(&exp), "--out", s(&scratch)]);
        assert_same_files(&scratch, &dir);
        stdout(&out)
    };
    // A plot-only change runs nothing.
    let out = edit(&base.replace(
        "\"protocol.election_timeout\" = \"timeout\"",
        "\"protocol.election_timeout\" = \"election timeout\"",
    ));
    assert!(out.contains("ran 0 (20 already done)"), "{out}");
    // More seeds run only the new ones.
    let more = base.replace("seeds = \"0..10\"", "seeds = \"0..15\"");
    let out = edit(&more);
    assert!(out.contains("ran 10 (20 already done)"), "{out}");
    // Another parameter value runs only its configuration, wherever it sits.
    let out = edit(&more.replace(
        "[\"150ms..300ms\", \"50ms..100ms\"]",
        "[\"100ms..200ms\", \"150ms..300ms\", \"50ms..100ms\"]",
    ));
    assert!(out.contains("ran 15 (30 already done)"), "{out}");
}

#[test]
fn a_folder_of_an_older_model_version_is_swept_again() {
    // Model version 3 changed the hash function that names bases: a folder
    // of version 2 names its base otherwise, yet it is this experiment's,
    // and its rows (another model) are all run again rather than refused.
    let t = tempfile::tempdir().unwrap();
    let exp = small_experiment(t.path(), 10);
    let (clean, old) = (t.path().join("clean"), t.path().join("old"));
    sweep(&["sweep", s(&exp), "--out", s(&clean)]);
    sweep(&["sweep", s(&exp), "--out", s(&old)]);
    let m = std::fs::read_to_string(old.join("manifest.toml")).unwrap();
    let model = format!("model = {}", agentsim::hash::MODEL_VERSION);
    assert!(m.contains(&model), "{m}");
    let base = m.lines().find(|l| l.starts_with("base = ")).unwrap();
    let m = m
        .replace(&model, "model = 2")
        .replace(base, "base = \"0123456789abcdef\"");
    std::fs::write(old.join("manifest.toml"), m).unwrap();
    let out = agentsim(&["sweep", s(&exp), "--out", s(&old)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("ran 20 (0 already done)"),
        "{}",
        stdout(&out)
    );
    assert_same_files(&clean, &old);
}

#[test]
fn another_experiments_folder_is_refused_unless_replaced() {
    let t = tempfile::tempdir().unwrap();
    let exp = small_experiment(t.path(), 4);
    let dir = t.path().join("r");
    sweep(&["sweep", s(&exp), "--out", s(&dir)]);
    sweep(&["plot", s(&dir), "--only", "cdf-downtime_ms"]);
    assert!(std::fs::read_dir(&dir).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".png")));
    // Another name, and the same name with another base scenario.
    let other = t.path().join("other.toml");
    std::fs::copy(&exp, &other).unwrap();
    let text = std::fs::read_to_string(&exp).unwrap();
    for (file, why) in [(&other, "another name"), (&exp, "another base scenario")] {
        if file == &exp {
            std::fs::write(&exp, text.replace("nodes = 3", "nodes = 5")).unwrap();
        }
        let before = std::fs::read_to_string(dir.join("runs.csv")).unwrap();
        let out = agentsim(&["sweep", s(file), "--out", s(&dir)]);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("--replace") && err.contains(why), "{err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
        assert_eq!(
            std::fs::read_to_string(dir.join("runs.csv")).unwrap(),
            before
        );
    }
    // With --replace: the new results, and no figure of the old ones left.
    let out = agentsim(&["sweep", s(&other), "--out", s(&dir), "--replace"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!std::fs::read_dir(&dir).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".png")));
    let m = std::fs::read_to_string(dir.join("manifest.toml")).unwrap();
    assert!(m.contains("experiment = \"other\""), "{m}");
}

#[test]
fn any_row_reruns_exactly_with_its_trace() {
    let t = tempfile::tempdir().unwrap();
    let exp = small_experiment(t.path(), 3);
    let dir = t.path().join("r");
    sweep(&["sweep", s(&exp), "--out", s(&dir)]);
    let runs = std::fs::read_to_string(dir.join("runs.csv")).unwrap();
    let rows: Vec<&str> = runs.lines().skip(1).collect();
    assert_eq!(rows.len(), 6);
    // Row 5: configuration 1 (the derived heartbeat and crash jitter of
    // 50ms..100ms included), seed 1.
    let row = rows[4];
    let hash = row.split(',').rev().nth(2).unwrap();
    let trace = t.path().join("row5.jsonl");
    for args in [
        vec!["--row", "5"],
        vec!["--config", "1", "--seed", "1", "--trace", s(&trace)],
    ] {
        let mut a = vec!["rerun", s(&dir)];
        a.extend(args);
        let out = agentsim(&a);
        let text = stdout(&out);
        assert!(
            matches!(out.status.code(), Some(0) | Some(6)),
            "{}",
            stderr(&out)
        );
        assert!(text.starts_with("small config 1 ("), "{text}");
        assert!(text.contains(&format!("hash {hash}")), "{text}");
        assert!(text.contains("hash matches the row's"), "{text}");
    }
    let out = agentsim(&["replay", s(&trace)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains(hash));
    // A row whose hash does not match this build: exit 5, said on stderr.
    let other = runs.replace(hash, "0123456789abcdef");
    std::fs::write(dir.join("runs.csv"), other).unwrap();
    let out = agentsim(&["rerun", s(&dir), "--row", "5"]);
    assert_eq!(out.status.code(), Some(5), "{}", stderr(&out));
    assert!(stderr(&out).contains("differs from the row's 0123456789abcdef"));
    // Bad rows: one line naming the flag and the range, exit 2.
    for (args, says) in [
        (vec!["--row", "0"], "--row: must be in 1..=6"),
        (vec!["--row", "7"], "--row: must be in 1..=6"),
        (vec!["--config", "2", "--seed", "0"], "no such row"),
    ] {
        let mut a = vec!["rerun", s(&dir)];
        a.extend(args);
        let out = agentsim(&a);
        assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
        assert!(stderr(&out).contains(says), "{}", stderr(&out));
        assert_eq!(stderr(&out).trim().lines().count(), 1);
    }
    let out = agentsim(&["rerun", s(&t.path().join("missing"))]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}
