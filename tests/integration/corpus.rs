//! The bad-input corpus (tests/corpus/cases.txt, format described there):
//! every case is refused with its exit code and one line on stderr naming
//! the field, prints nothing on stdout, and leaves its folder as it was.

use crate::common::bin;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

/// `a 'b c' d` → `["a", "b c", "d"]`.
fn split_args(s: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted, mut any) = (Vec::new(), String::new(), false, false);
    for c in s.chars() {
        match c {
            '\'' => {
                quoted = !quoted;
                any = true;
            }
            ' ' if !quoted => {
                if any {
                    out.push(std::mem::take(&mut cur));
                }
                any = false;
            }
            c => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// Every entry under `dir`: its path and its bytes (or a link's target).
fn snapshot(dir: &Path, root: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(root).unwrap().to_path_buf();
        let t = e.file_type().unwrap();
        if t.is_symlink() {
            let target = std::fs::read_link(e.path()).unwrap();
            out.insert(rel, target.to_string_lossy().as_bytes().to_vec());
        } else if t.is_dir() {
            out.insert(rel, b"<dir>".to_vec());
            snapshot(&e.path(), root, out);
        } else {
            out.insert(rel, std::fs::read(e.path()).unwrap());
        }
    }
}

struct Case {
    line: usize,
    exit: i32,
    needle: String,
    args: Vec<String>,
}

fn cases() -> Vec<Case> {
    let text = std::fs::read_to_string(corpus().join("cases.txt")).unwrap();
    let mut v = Vec::new();
    for (i, l) in text.lines().enumerate() {
        let l = l.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let mut parts = l.splitn(3, " | ");
        let (Some(exit), Some(needle), Some(args)) = (parts.next(), parts.next(), parts.next())
        else {
            panic!("cases.txt line {}: expected EXIT | NEEDLE | ARGS", i + 1);
        };
        v.push(Case {
            line: i + 1,
            exit: exit.trim().parse().expect("exit code"),
            needle: needle.trim().to_string(),
            args: split_args(args.trim()),
        });
    }
    v
}

fn ok(dir: &Path, args: &[&str]) {
    let o = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "fixture `{}` failed", args.join(" "));
}

/// The fixtures: tests/corpus/files, plus traces and results folders made
/// by this build (so they stay valid when the model version moves), and
/// broken copies of them.
fn fixtures() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    copy_all(&corpus().join("files"), d);
    ok(
        d,
        &[
            "run",
            "raft",
            "--nodes",
            "3",
            "--time-max",
            "300ms",
            "--trace",
            "good.jsonl",
        ],
    );
    ok(d, &["sweep", "exp.toml", "--out", "res", "--jobs", "1"]);
    ok(
        d,
        &[
            "sweep", "exp.toml", "--out", "res2", "--jobs", "1", "--shard", "1/2",
        ],
    );
    let good = std::fs::read_to_string(d.join("good.jsonl")).unwrap();
    let lines: Vec<&str> = good.lines().collect();
    assert!(lines.len() > 12 && lines[4].contains("\"type\":\"timer\""));
    let write = |name: &str, text: String| std::fs::write(d.join(name), text).unwrap();
    let edit = |k: usize, from: &str, to: &str| {
        let mut l: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        assert!(l[k].contains(from), "{from} not on line {}", k + 1);
        l[k] = l[k].replacen(from, to, 1);
        l.join("\n") + "\n"
    };
    write("trace.png", good.clone());
    write("empty.jsonl", String::new());
    write("not_json.jsonl", "hello world\n".into());
    write("no_start.jsonl", format!("{}\n{good}", lines[1]));
    write("schema99.jsonl", edit(0, "\"schema\":3", "\"schema\":99"));
    write("bad_scenario.jsonl", edit(0, "\"nodes\":3", "\"nodes\":0"));
    write("cut.jsonl", lines[..10].join("\n") + "\n");
    write(
        "truncated.jsonl",
        lines[..10].join("\n") + "\n" + &lines[10][..30],
    );
    write("unknown_type.jsonl", edit(4, "\"timer\"", "\"bogus\""));
    let long = format!("\"{}\"", "x".repeat(5000));
    write("long_type.jsonl", edit(4, "\"timer\"", &long));
    for (name, drop) in [
        ("res_no_runs", "runs.csv"),
        ("res_no_exp", "experiment.toml"),
    ] {
        copy_all(&d.join("res"), &d.join(name));
        std::fs::remove_file(d.join(name).join(drop)).unwrap();
    }
    copy_all(&d.join("res"), &d.join("res_garbled"));
    write("res_garbled/runs.csv", "not,a\n\"csv\n".into());
    #[cfg(unix)]
    std::os::unix::fs::symlink("good.jsonl", d.join("link.jsonl")).unwrap();
    tmp
}

fn copy_all(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dest) = (e.path(), to.join(e.file_name()));
        let t = e.file_type().unwrap();
        if t.is_symlink() {
            #[cfg(unix)]
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), dest).unwrap();
        } else if t.is_dir() {
            copy_all(&src, &dest);
        } else {
            std::fs::copy(src, dest).unwrap();
        }
    }
}

/// Runs one case in a fresh copy of the fixtures `base`; `None` if it
/// passes, else why not.
fn check(base: &Path, c: &Case) -> Option<String> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    copy_all(base, dir);
    let mut before = BTreeMap::new();
    snapshot(dir, dir, &mut before);
    let out = Command::new(bin())
        .args(&c.args)
        .current_dir(dir)
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut after = BTreeMap::new();
    snapshot(dir, dir, &mut after);
    let mut why = Vec::new();
    if out.status.code() != Some(c.exit) {
        why.push(format!("exit {:?}, expected {}", out.status.code(), c.exit));
    }
    let lines: Vec<&str> = stderr.lines().collect();
    if lines.len() != 1 {
        why.push(format!("{} lines on stderr, expected 1", lines.len()));
    }
    if !stderr.contains(&c.needle) {
        why.push(format!("stderr does not name `{}`", c.needle));
    }
    if lines.iter().any(|l| l.chars().count() > 500) {
        why.push("a stderr line longer than 500 characters".into());
    }
    if !stdout.is_empty() {
        why.push(format!("stdout not empty: {}", stdout.trim()));
    }
    if before != after {
        let changed: Vec<String> = (before.keys().chain(after.keys()))
            .filter(|k| before.get(*k) != after.get(*k))
            .map(|k| k.display().to_string())
            .collect();
        why.push(format!("files changed: {}", changed.join(", ")));
    }
    let shown: String = stderr.trim().chars().take(300).collect();
    (!why.is_empty()).then(|| {
        format!(
            "cases.txt:{} `{}`: {} (stderr: {shown})",
            c.line,
            c.args.join(" "),
            why.join("; ")
        )
    })
}

#[test]
fn every_bad_input_of_the_corpus_is_refused_cleanly() {
    let cases = cases();
    assert!(cases.len() >= 150, "only {} cases", cases.len());
    let base = fixtures();
    let base = base.path();
    // Two workers: the cases are independent processes.
    let failures: Vec<String> = std::thread::scope(|s| {
        let halves: Vec<_> = [0, 1]
            .map(|k| {
                let cases = &cases;
                s.spawn(move || {
                    (cases.iter().skip(k).step_by(2))
                        .filter_map(|c| check(base, c))
                        .collect::<Vec<_>>()
                })
            })
            .into_iter()
            .collect();
        halves.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert!(
        failures.is_empty(),
        "{} of {} corpus cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn the_corpus_splits_arguments_as_documented() {
    assert_eq!(
        split_args("run raft --fault 'partition:0,1|2@1s'  --seed 3"),
        [
            "run",
            "raft",
            "--fault",
            "partition:0,1|2@1s",
            "--seed",
            "3"
        ]
    );
}
