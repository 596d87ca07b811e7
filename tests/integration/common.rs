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
