//! Helpers shared by the integration tests.
#![allow(dead_code)]

use agentsim::scenario::Scenario;
use std::process::{Command, Output};

/// Path of the built `agentsim` binary.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_agentsim")
}

/// Runs the binary with `args`.
pub fn agentsim(args: &[&str]) -> Output {
    Command::new(bin())
        .args(args)
        .output()
        .expect("running the agentsim binary")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A Raft scenario from TOML text (panics on error: test inputs are ours).
pub fn scenario(toml: &str) -> Scenario {
    let sc = Scenario::from_toml_str(toml).expect("test scenario parses");
    sc.validate().expect("test scenario is valid");
    sc
}

/// Checks run hashes against pins recorded for a model version: hashes that
/// move without a bump of `MODEL_VERSION`, or a bump without new pins, fail.
pub fn assert_golden(what: &str, got: &[String], pinned: (u32, &[&str])) {
    let model = agentsim::hash::MODEL_VERSION;
    let same = got.iter().map(String::as_str).eq(pinned.1.iter().copied());
    if pinned.0 == model {
        assert!(
            same,
            "{what} run hashes moved without a bump of MODEL_VERSION ({model}): if runs are meant to change, bump it in src/hash.rs, regenerate the committed results, update these pins to {got:?} and say so in the commit message"
        );
    } else {
        panic!(
            "MODEL_VERSION is {model} but the {what} pins are for {}: update them (hashes now {got:?}; {} before)",
            pinned.0,
            if same { "the same as" } else { "other than" }
        );
    }
}
