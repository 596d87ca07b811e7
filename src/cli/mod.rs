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
pub mod paths;
pub mod plot;
pub mod replay;
pub mod rerun;
pub mod run;
pub mod shrink;
pub mod sweep;
pub mod view;

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
    /// run hash differs from the row's; `diff`: the two traces differ;
    /// `check`: a seed run twice gave two run hashes (the protocol is not
    /// deterministic; this takes precedence over `check`'s other codes).
    pub const DIVERGED: i32 = 5;
    /// No property was violated, but a run stopped (`time_max`, `events_max`)
    /// before a liveness (`eventually`) property could be judged.
    pub const UNDECIDED: i32 = 6;
}

/// The widest `--help` line, in characters (narrower on a narrower terminal).
pub const HELP_WIDTH: usize = 100;

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
    let mut shrink = Command::new("shrink")
        .about("Shrink a failing run (its flags and --seed) to the smallest scenario that still fails.")
        .subcommand_required(true)
        .arg_required_else_help(true);
    for spec in reg.iter() {
        // `about` last: the flags' own doc comments would replace it.
        let base = spec
            .augment(CommonArgs::augment_args(Command::new(spec.name())))
            .arg(run::memory_limit_arg())
            .about(spec.summary());
        run = run.subcommand(OutputArgs::augment_args(base.clone()).about(spec.summary()));
        shrink =
            shrink.subcommand(shrink::ShrinkArgs::augment_args(base.clone()).about(spec.summary()));
        check = check.subcommand(CheckArgs::augment_args(base).about(spec.summary()));
    }
    Command::new("agentsim")
        .max_term_width(HELP_WIDTH)
        .version(env!("CARGO_PKG_VERSION"))
        .about("Deterministic discrete-event simulator for agent and distributed protocols")
        .subcommand_required(true)
        .arg_required_else_help(true)
        .subcommand(run)
        .subcommand(check)
        .subcommand(shrink)
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
                )
                .arg(run::memory_limit_arg()),
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
        .subcommand(view::ViewArgs::augment_args(Command::new("view").about(
            "Write a trace as one self-contained HTML page: a zoomable space-time diagram.",
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
    paths::clean_temps_on_signals();
    if let Err(e) = install(reg) {
        eprintln!("error: {e}");
        return exit::ERROR;
    }
    main_with_args(std::env::args().collect())
}

/// Parses `args` (the program name first) against the installed registry;
/// bad input becomes one line on stderr and [`exit::BAD_INPUT`].
pub fn main_with_args(args: Vec<String>) -> i32 {
    let args = join_negative_values(args);
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
                    // clap's first paragraph, on one line: a missing argument's
                    // name is on its second line.
                    let text = e.to_string();
                    let para: Vec<&str> = text
                        .lines()
                        .take_while(|l| !l.trim().is_empty())
                        .map(str::trim)
                        .collect();
                    let line = if para.is_empty() {
                        "error: bad arguments".to_string()
                    } else {
                        para.join(" ")
                    };
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

/// `--flag -5ms` as `--flag=-5ms`: a value that starts with a minus sign and
/// a digit is given to the flag before it, whose parser then names the flag
/// and the accepted range (clap alone reads it as an unknown flag `-5`).
fn join_negative_values(args: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(args.len());
    for a in args {
        let negative = a.len() > 1
            && a.starts_with('-')
            && a[1..].starts_with(|c: char| c.is_ascii_digit() || c == '.');
        match out.last_mut() {
            Some(prev)
                if negative && prev.starts_with("--") && prev.len() > 2 && !prev.contains('=') =>
            {
                prev.push('=');
                prev.push_str(&a);
            }
            _ => out.push(a),
        }
    }
    out
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
    // `--memory-limit`, wherever the command takes it, before any scenario is validated.
    let leaf = sub.subcommand().map_or(sub, |(_, pm)| pm);
    if let Ok(Some(&bytes)) = leaf.try_get_one::<u64>(run::MEMORY_LIMIT) {
        crate::engine::limits::set_memory_limit(bytes);
    }
    match name {
        "shrink" => {
            let (proto, pm) = sub.subcommand().expect("a protocol is required");
            let spec = registry()
                .get(proto)
                .expect("subcommands come from the registry");
            let sc = scenario_for(spec, pm)?;
            let a: shrink::ShrinkArgs = from_matches(pm)?;
            if let (Some(input), Some(out)) = (pm.get_one::<PathBuf>("scenario"), &a.out) {
                if same_file(input, out) {
                    return Err(RunError::Config(crate::scenario::ConfigError(format!(
                        "--out {}: is the --scenario file; the shrunk scenario needs a file of its own",
                        out.display()
                    ))));
                }
            }
            shrink::shrink_cmd(&sc, &a)
        }
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
                let out = from_matches::<OutputArgs>(pm)?;
                if let (Some(t), Some(s)) = (&out.trace, pm.get_one::<PathBuf>("scenario")) {
                    paths::refuse_overwrite(t, "--trace", &[s])?;
                }
                run::run_cmd(&sc, &out)
            } else {
                let pinned = check::pinned_by_user(pm);
                if pm.get_flag("swarm") {
                    check::refuse_swarm_file_settings(pm, &sc)?;
                }
                check::check_cmd(&sc, &from_matches::<CheckArgs>(pm)?, args, pinned)
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
        "view" => view::view_cmd(&from_matches(sub)?),
        "diff" => diff::diff_cmd(&from_matches(sub)?),
        "export" => export::export_cmd(&from_matches(sub)?),
        other => unreachable!("subcommand {other} is not in the command tree"),
    }
}

/// Whether two paths name the same existing file (through links too).
fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (std::fs::canonicalize(a), std::fs::canonicalize(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
