//! The command line: one file per command. `run` and `check` have one
//! subcommand per registered protocol, built from the registry: the flags
//! every protocol shares ([`args::CommonArgs`]), then the protocol's own
//! ([`crate::protocols::Spec::Flags`]), merged over a scenario file (flags
//! win) and validated once into a [`Scenario`](crate::scenario::Scenario).
//!
//! An out-of-tree crate gets the whole command line for its protocol, beside
//! the built-in ones, with [`main_with`].
//!
//! Exit codes: [`exit::OK`], [`exit::ERROR`], [`exit::BAD_INPUT`],
//! [`exit::SAFETY`], [`exit::LIVENESS`], [`exit::DIVERGED`],
//! [`exit::UNDECIDED`].

pub mod args;
pub mod check;
pub mod diff;
pub mod export;
pub mod list;
pub mod plot;
pub mod replay;
pub mod rerun;
pub mod run;
pub mod sweep;

use crate::protocols::{install, registry, Registry};
use crate::run::RunError;
use args::{scenario_for, CheckArgs, CommonArgs, OutputArgs};
use clap::{Arg, ArgAction, ArgMatches, Args, Command, FromArgMatches};
use std::path::PathBuf;

/// The exit codes of the binary.
pub mod exit {
    /// Success: every property held (or the replay was identical).
    pub const OK: i32 = 0;
    /// An output could not be written, or an internal error.
    pub const ERROR: i32 = 1;
    /// Bad input: unknown command or flag, a value out of range, an input
    /// file missing, unreadable or malformed.
    pub const BAD_INPUT: i32 = 2;
    /// A safety (`always`) property was violated.
    pub const SAFETY: i32 = 3;
    /// A liveness (`eventually`) property was violated (and no safety property).
    pub const LIVENESS: i32 = 4;
    /// `replay`: the re-run diverged from the recorded trace; `rerun`: the
    /// run hash differs from the row's; `diff`: the two traces differ.
    pub const DIVERGED: i32 = 5;
    /// No property was violated, but a run stopped (`time_max`, `events_max`)
    /// before a liveness (`eventually`) property could be judged.
    pub const UNDECIDED: i32 = 6;
}

/// The whole command tree, with a `run` and a `check` subcommand per
/// protocol of `reg`.
pub fn command(reg: &Registry) -> Command {
    let mut run = Command::new("run")
        .about("Run one seeded simulation and print its outcome.")
        .subcommand_required(true)
        .arg_required_else_help(true);
    let mut check = Command::new("check")
        .about("Run many seeds in parallel and report every property violation.")
        .subcommand_required(true)
        .arg_required_else_help(true);
    for spec in reg.iter() {
        // `about` last: the flags' own doc comments would replace it.
        let base = spec
            .augment(CommonArgs::augment_args(Command::new(spec.name())))
            .about(spec.summary());
        run = run.subcommand(OutputArgs::augment_args(base.clone()).about(spec.summary()));
        check = check.subcommand(CheckArgs::augment_args(base).about(spec.summary()));
    }
    Command::new("agentsim")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Deterministic discrete-event simulator for agent and distributed protocols")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(run)
        .subcommand(check)
        .subcommand(
            Command::new("list")
                .about("Show the protocols: properties, metrics (units, definitions), parameters with defaults.")
                .arg(
                    Arg::new("json")
                        .long("json")
                        .action(ArgAction::SetTrue)
                        .help("Print the same as one JSON object."),
                ),
        )
        .subcommand(
            Command::new("replay")
                .about("Re-run a trace from its header and compare record by record.")
                .arg(
                    Arg::new("file")
                        .required(true)
                        .value_name("FILE")
                        .value_parser(clap::value_parser!(PathBuf))
                        .help("A trace written by `run --trace`."),
                ),
        )
        .subcommand(rerun::RerunArgs::augment_args(Command::new("rerun").about(
            "Run one row of a results folder again, exactly, and compare its hash with the row's.",
        )))
        .subcommand(sweep::SweepArgs::augment_args(Command::new("sweep").about(
            "Run an experiment file: every configuration × seed in parallel, into a results folder.",
        )))
        .subcommand(sweep::MergeArgs::augment_args(Command::new("merge").about(
            "Join the results folders of `sweep --shard` runs, as if run on one machine.",
        )))
        .subcommand(plot::PlotArgs::augment_args(Command::new("plot").about(
            "Draw the plots of a results folder, or who leads over time from a trace file.",
        )))
        .subcommand(diff::DiffArgs::augment_args(Command::new("diff").about(
            "Compare two traces: settings, the first differing event, counts and metrics.",
        )))
        .subcommand(export::ExportArgs::augment_args(Command::new("export").about(
            "Write a trace as Chrome/Perfetto trace-event JSON or a ShiViz log.",
        )))
}

/// Runs the command line `std::env::args()` with the protocols of `reg`
/// (the built-in ones plus yours: `Registry::builtin().with::<MySpec>()`),
/// and returns the exit code. The entry point of an out-of-tree binary:
///
/// ```no_run
/// let reg = agentsim::protocols::Registry::builtin(); // .with::<MySpec>()
/// std::process::exit(agentsim::cli::main_with(reg));
/// ```
pub fn main_with(reg: Registry) -> i32 {
    // Rust ignores SIGPIPE, so printing into a closed pipe (`agentsim list |
    // head -1`) would panic. Like other command-line tools, let the signal end
    // the process quietly instead.
    #[cfg(unix)]
    // SAFETY: called before this process starts any thread of ours; SIG_DFL
    // is a valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    if let Err(e) = install(reg) {
        eprintln!("error: {e}");
        return exit::ERROR;
    }
    main_with_args(std::env::args().collect())
}

/// Parses `args` (the program name first) against the installed registry;
/// bad input becomes one line on stderr and [`exit::BAD_INPUT`].
pub fn main_with_args(args: Vec<String>) -> i32 {
    let m = match command(registry()).try_get_matches_from(&args) {
        Ok(m) => m,
        Err(e) => {
            use clap::error::ErrorKind;
            return match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    let _ = e.print();
                    exit::OK
                }
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = e.print();
                    exit::BAD_INPUT
                }
                kind => {
                    let text = e.to_string();
                    let line = text.lines().next().unwrap_or("error: bad arguments");
                    if kind == ErrorKind::InvalidSubcommand {
                        // Say what exists, on the same line.
                        let cmd = command(registry());
                        let parent = args
                            .get(1)
                            .and_then(|a| cmd.find_subcommand(a))
                            .filter(|c| c.has_subcommands());
                        let (what, names): (&str, Vec<&str>) = match parent {
                            Some(c) => (
                                "protocols",
                                c.get_subcommands().map(|s| s.get_name()).collect(),
                            ),
                            None => (
                                "commands",
                                cmd.get_subcommands().map(|s| s.get_name()).collect(),
                            ),
                        };
                        eprintln!("{line} ({what}: {})", names.join(", "));
                    } else {
                        eprintln!("{line}");
                    }
                    exit::BAD_INPUT
                }
            };
        }
    };
    match execute(&m, &args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e}");
            match e {
                RunError::Config(_) | RunError::BadTrace(_) | RunError::Input { .. } => {
                    exit::BAD_INPUT
                }
                RunError::Io { .. } | RunError::Threads(_) => exit::ERROR,
            }
        }
    }
}

fn from_matches<T: FromArgMatches>(m: &ArgMatches) -> Result<T, RunError> {
    T::from_arg_matches(m).map_err(|e| {
        RunError::Config(crate::scenario::ConfigError(
            e.to_string().trim().replace('\n', " "),
        ))
    })
}

fn execute(m: &ArgMatches, args: &[String]) -> Result<i32, RunError> {
    let (name, sub) = m.subcommand().expect("a subcommand is required");
    match name {
        "run" | "check" => {
            let (proto, pm) = sub.subcommand().expect("a protocol is required");
            let spec = registry()
                .get(proto)
                .expect("subcommands come from the registry");
            if name == "check"
                && pm.value_source("seed") == Some(clap::parser::ValueSource::CommandLine)
            {
                return Err(RunError::Config(crate::scenario::ConfigError(
                    "--seed: not accepted by check, which runs every seed of --seeds A..B (default 0..1000); `run` takes --seed".into(),
                )));
            }
            let sc = scenario_for(spec, pm)?;
            if name == "run" {
                run::run_cmd(&sc, &from_matches::<OutputArgs>(pm)?)
            } else {
                check::check_cmd(&sc, &from_matches::<CheckArgs>(pm)?, args)
            }
        }
        "list" => list::list_cmd(sub.get_flag("json")),
        "replay" => {
            let file: &PathBuf = sub.get_one("file").expect("required");
            replay::replay_cmd(file)
        }
        "rerun" => rerun::rerun_cmd(&from_matches(sub)?),
        "sweep" => sweep::sweep_cmd(&from_matches(sub)?),
        "merge" => sweep::merge_cmd(&from_matches(sub)?),
        "plot" => plot::plot_cmd(&from_matches(sub)?),
        "diff" => diff::diff_cmd(&from_matches(sub)?),
        "export" => export::export_cmd(&from_matches(sub)?),
        other => unreachable!("subcommand {other} is not in the command tree"),
    }
}
