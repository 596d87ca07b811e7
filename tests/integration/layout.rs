//! The crate's shape, checked on its source: the layers' arrows run one way
//! (no cycle between top-level modules, and the bottom layers name none
//! above them), and no protocol is named outside its folder and the
//! registration line. Both read code only: comments, and unit-test modules
//! (which may use built-in protocols as fixtures), are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file: without comments, and without its unit tests
/// (`#[cfg(test)]` up to the end of the file, and files named `tests.rs`).
fn code(path: &Path) -> String {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .map(|l| match l.find("//") {
            // A `//` inside a string literal ("http://") is rare in this crate's code; keep it simple.
            Some(i) => &l[..i],
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level module a file belongs to (`engine` for src/engine/sim.rs).
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

fn dependencies() -> BTreeMap<String, BTreeSet<String>> {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let m = module_of(&f);
        if m == "lib" || m == "main" {
            continue;
        }
        let c = code(&f);
        let entry = deps.entry(m.clone()).or_default();
        for (i, _) in c.match_indices("crate::") {
            let rest = &c[i + "crate::".len()..];
            let name: String = rest
                .chars()
                .take_while(|ch| ch.is_ascii_alphanumeric() || *ch == '_')
                .collect();
            if !name.is_empty() && name != m {
                entry.insert(name);
            }
        }
    }
    deps
}

#[test]
fn module_arrows_run_one_way() {
    let deps = dependencies();
    // A cycle shows as a module reaching itself.
    for start in deps.keys() {
        let mut stack: Vec<&String> = deps[start].iter().collect();
        let mut seen = BTreeSet::new();
        while let Some(m) = stack.pop() {
            assert_ne!(m, start, "an import cycle through '{start}': {deps:#?}");
            if seen.insert(m.clone()) {
                if let Some(d) = deps.get(m) {
                    stack.extend(d.iter());
                }
            }
        }
    }
    let allowed: &[(&str, &[&str])] = &[
        ("time", &[]),
        ("hash", &[]),
        ("rng", &[]),
        ("node", &["time", "rng", "hash"]),
        ("net", &["node", "time", "rng"]),
        ("observe", &["node", "net", "time", "hash"]),
        ("engine", &["node", "net", "observe", "time", "rng", "hash"]),
    ];
    for (m, ok) in allowed {
        let d = deps.get(*m).cloned().unwrap_or_default();
        for x in &d {
            assert!(
                ok.contains(&x.as_str()),
                "'{m}' reaches up to '{x}' (it may use: {ok:?})"
            );
        }
    }
}

#[test]
fn no_protocol_is_named_outside_its_folder() {
    let protocols = src().join("protocols");
    let mut names: Vec<String> = std::fs::read_dir(&protocols)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 2, "{names:?}");
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for f in files {
        let rel = f
            .strip_prefix(src())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        if rel == "protocols/mod.rs" {
            continue; // the registration
        }
        let c = code(&f).to_lowercase();
        for n in &names {
            if rel.starts_with(&format!("protocols/{n}/")) {
                continue;
            }
            // Whole words only, in both spellings of a folder name.
            for spelling in [n.clone(), n.replace('_', "-")] {
                for (i, _) in c.match_indices(&spelling) {
                    let before = c[..i].chars().next_back();
                    let after = c[i + spelling.len()..].chars().next();
                    let word = |ch: Option<char>| {
                        ch.is_some_and(|ch| ch.is_ascii_alphanumeric() || ch == '_')
                    };
                    assert!(
                        word(before) || word(after),
                        "src/{rel} names protocol '{n}' in its code: {}",
                        c[i.saturating_sub(40)..(i + 40).min(c.len())].replace('\n', " ")
                    );
                }
            }
        }
    }
}
