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

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
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

/// Runs one case in a fresh copy of the fixtures; `None` if it passes, else why not.
fn check(c: &Case) -> Option<String> {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    copy_dir(&corpus().join("files"), dir);
    #[cfg(unix)]
    std::os::unix::fs::symlink("good.jsonl", dir.join("link.jsonl")).unwrap();
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
    // Two workers: the cases are independent processes.
    let failures: Vec<String> = std::thread::scope(|s| {
        let halves: Vec<_> = [0, 1]
            .map(|k| {
                let cases = &cases;
                s.spawn(move || {
                    (cases.iter().skip(k).step_by(2))
                        .filter_map(check)
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
