//! The command line: raw flags parsed by clap into one struct, merged over a
//! scenario file (flags win), then validated once into a [`Scenario`].
//!
//! Exit codes: [`exit::OK`], [`exit::ERROR`], [`exit::BAD_INPUT`],
//! [`exit::SAFETY`], [`exit::LIVENESS`], [`exit::DIVERGED`],
//! [`exit::UNDECIDED`].

use crate::check::check_seeds;
use crate::net::faults::{Drift, FaultEntry, LeaderCrashes};
use crate::net::latency::Latency;
use crate::net::topology::Topology;
use crate::net::LinkOverride;
use crate::protocols::gossip::{
    Direction, GossipVariant, InterestLoss, Mode, Removal, Timing, WriteTiming,
};
use crate::protocols::raft::RaftVariant;
use crate::protocols::{ProtocolConfig, PROTOCOLS};
use crate::run::{replay, run_silent, Replay, RunError, TraceFile};
use crate::scenario::Scenario;
use crate::time::{Dur, DurRange};
use crate::trace::TraceLevel;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

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
    /// `replay`: the re-run diverged from the recorded trace.
    pub const DIVERGED: i32 = 5;
    /// No property was violated, but a run stopped (`time_max`, `events_max`)
    /// before a liveness (`eventually`) property could be judged.
    pub const UNDECIDED: i32 = 6;
}

#[derive(Parser, Debug)]
#[command(
    name = "agentsim",
    version,
    about = "Deterministic discrete-event simulator for agent and distributed protocols"
)]
pub struct Cli {
    #[command(subcommand)]
    pub cmd: Cmd,
}

#[derive(Subcommand, Debug)]
pub enum Cmd {
    /// Run one seeded simulation and print its outcome.
    Run {
        #[command(subcommand)]
        proto: ProtoRun,
    },
    /// Run many seeds in parallel and report every property violation.
    Check {
        #[command(subcommand)]
        proto: ProtoCheck,
    },
    /// Show the protocols, their properties and their parameters with defaults.
    List,
    /// Re-run a trace from its header and compare record by record.
    Replay {
        /// A trace written by `run --trace`.
        file: PathBuf,
    },
    /// Run an experiment file: every configuration × seed in parallel, into a results folder.
    Sweep(crate::experiment::cmd::SweepArgs),
    /// Join the results folders of `sweep --shard` runs, as if run on one machine.
    Merge(crate::experiment::cmd::MergeArgs),
    /// Draw the plots of a results folder, or who leads over time from a trace file.
    Plot(crate::experiment::cmd::PlotArgs),
}

#[derive(Subcommand, Debug)]
pub enum ProtoRun {
    /// Raft leader election.
    Raft {
        #[command(flatten)]
        common: CommonArgs,
        #[command(flatten)]
        raft: RaftArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
    /// Gossip: rumor mongering and anti-entropy.
    Gossip {
        #[command(flatten)]
        common: CommonArgs,
        #[command(flatten)]
        gossip: GossipArgs,
        #[command(flatten)]
        out: OutputArgs,
    },
}

#[derive(Subcommand, Debug)]
pub enum ProtoCheck {
    /// Raft leader election.
    Raft {
        #[command(flatten)]
        common: CommonArgs,
        #[command(flatten)]
        raft: RaftArgs,
        #[command(flatten)]
        check: CheckArgs,
    },
    /// Gossip: rumor mongering and anti-entropy.
    Gossip {
        #[command(flatten)]
        common: CommonArgs,
        #[command(flatten)]
        gossip: GossipArgs,
        #[command(flatten)]
        check: CheckArgs,
    },
}

fn parse_ratio(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} out of range (accepted: 0..=1)"))
    }
}

fn parse_nodes(s: &str) -> Result<u32, String> {
    let v: u64 = s
        .parse()
        .map_err(|_| format!("'{s}' is not a whole number"))?;
    let max = crate::scenario::NODES_MAX as u64;
    if (1..=max).contains(&v) {
        Ok(v as u32)
    } else {
        Err(format!("{v} out of range (accepted: 1..={max})"))
    }
}

fn parse_seeds(s: &str) -> Result<std::ops::Range<u64>, String> {
    let bad = || {
        format!("'{s}' is not a seed range (accepted: A..B with A < B, B excluded, e.g. 0..2000)")
    };
    let (a, b) = s.split_once("..").ok_or_else(bad)?;
    let (a, b): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if a >= b {
        return Err(bad());
    }
    Ok(a..b)
}

/// `--jobs` of `check` and `sweep`: a thread count in `1..=JOBS_MAX`.
pub fn parse_jobs(s: &str) -> Result<usize, String> {
    let max = crate::check::JOBS_MAX;
    match s.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "'{s}' out of range (accepted: a whole number of threads in 1..={max})"
        )),
    }
}

fn parse_drift(s: &str) -> Result<Drift, String> {
    let (n, p) = s
        .split_once(':')
        .ok_or_else(|| format!("'{s}' is not NODE:PPM (e.g. 2:500)"))?;
    Ok(Drift {
        node: n.parse().map_err(|_| format!("'{n}' is not a node id"))?,
        ppm: p
            .parse()
            .map_err(|_| format!("'{p}' is not a whole number of ppm"))?,
    })
}

/// Settings shared by every protocol. Every flag overrides the scenario file.
#[derive(Args, Debug, Clone, Default)]
pub struct CommonArgs {
    /// Scenario file (TOML); flags override its values.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// The seed of every random choice in the run [default: 0].
    #[arg(long)]
    pub seed: Option<u64>,
    /// Number of nodes [default: 5].
    #[arg(long, value_parser = parse_nodes)]
    pub nodes: Option<u32>,
    /// Stop at this virtual time [default: 10s].
    #[arg(long, value_name = "DUR")]
    pub time_max: Option<Dur>,
    /// Stop after this many events [default: 10000000].
    #[arg(long, value_name = "N")]
    pub events_max: Option<u64>,
    /// Keep running to time_max even after every liveness property held.
    #[arg(long)]
    pub until_time_max: bool,
    /// How long after the last fault liveness properties may take [default: 5s].
    #[arg(long, value_name = "DUR")]
    pub liveness_bound: Option<Dur>,
    /// Link latency: 10ms | 5ms..15ms (uniform, both bounds included; 5ms..5ms is exactly 5ms) | exp:floor=1ms,mean=4ms | lognormal:median=10ms,sigma=0.5 | pareto:min=5ms,alpha=1.5 | bimodal:fast=1ms..2ms,slow=50ms..100ms,p_slow=0.01 [default: 1ms..5ms].
    #[arg(long, value_name = "LATENCY")]
    pub latency: Option<Latency>,
    /// Message loss ratio in 0..=1 [default: 0].
    #[arg(long, value_name = "RATIO", value_parser = parse_ratio, allow_negative_numbers = true)]
    pub loss: Option<f64>,
    /// Message duplication ratio in 0..=1 [default: 0].
    #[arg(long, value_name = "RATIO", value_parser = parse_ratio, allow_negative_numbers = true)]
    pub dup: Option<f64>,
    /// Per-link FIFO delivery (default: off, messages reorder through their delays).
    #[arg(long)]
    pub fifo: bool,
    /// Maximum messages in flight per directed link; a full link drops [default: unlimited].
    #[arg(long, value_name = "N")]
    pub capacity: Option<u32>,
    /// complete | ring | star | random-regular:k=K | erdos-renyi:p=P | watts-strogatz:k=K,beta=B | edges:FILE (no other parameters) [default: complete].
    #[arg(long, value_name = "TOPOLOGY")]
    pub topology: Option<Topology>,
    /// Per-link override, first match wins: A-B:latency=50ms,loss=0.1 (both ways), A>B:... (one way), * for any node.
    #[arg(long = "link", value_name = "SPEC")]
    pub links: Vec<LinkOverride>,
    /// Scheduled fault: crash:N@T, recover:N@T, partition:0,1|2,3@T, cut:A>B@T, isolate:N@T, heal@T (no argument), crash-leader[:DOWN]@T. Repeatable.
    #[arg(long = "fault", value_name = "SPEC")]
    pub faults: Vec<FaultEntry>,
    /// Random crashes: mean time to failure of each node.
    #[arg(long, value_name = "DUR")]
    pub crash_mttf: Option<Dur>,
    /// Random crashes: mean time to repair [default: 500ms].
    #[arg(long, value_name = "DUR")]
    pub crash_mttr: Option<Dur>,
    /// Random crashes: at most this many nodes down at once.
    #[arg(long, value_name = "N")]
    pub crash_max_down: Option<u32>,
    /// Random partitions: mean time between partitions.
    #[arg(long, value_name = "DUR")]
    pub partition_mtbf: Option<Dur>,
    /// Random partitions: mean duration [default: 500ms].
    #[arg(long, value_name = "DUR")]
    pub partition_mttr: Option<Dur>,
    /// When random fault processes stop and everything heals [default: time_max/2].
    #[arg(long, value_name = "DUR")]
    pub heal_at: Option<Dur>,
    /// Crash the current leader repeatedly: first=1s,every=1s,jitter=50ms,down=500ms,count=5.
    #[arg(long, value_name = "SPEC")]
    pub leader_crashes: Option<LeaderCrashes>,
    /// Clock drift of every node drawn uniformly within ±PPM.
    #[arg(long, value_name = "PPM")]
    pub drift_ppm_max: Option<u32>,
    /// Clock drift of one node: NODE:PPM (positive runs fast). Repeatable.
    #[arg(long = "drift", value_name = "NODE:PPM", value_parser = parse_drift)]
    pub drift: Vec<Drift>,
}

#[derive(Args, Debug, Clone, Default)]
pub struct RaftArgs {
    /// Election timeout range LO..HI, both bounds included (150ms..150ms is a fixed timeout), drawn anew at every reset [default: 150ms..300ms].
    #[arg(long, value_name = "RANGE")]
    pub election_timeout: Option<DurRange>,
    /// Leader heartbeat interval [default: 50ms].
    #[arg(long, value_name = "DUR")]
    pub heartbeat: Option<Dur>,
    /// Enable Pre-Vote (Raft thesis §9.6).
    #[arg(long)]
    pub pre_vote: bool,
    /// Enable CheckQuorum (Raft thesis §6.2).
    #[arg(long)]
    pub check_quorum: bool,
    /// Log entries a leader appends per heartbeat [default: 1].
    #[arg(long, value_name = "N")]
    pub entries_per_heartbeat: Option<u32>,
    /// correct | forget-voted-for | double-vote (deliberately broken variants).
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<RaftVariant>,
}

/// A whole number within `lo..=hi`, the error naming the gossip field.
fn parse_bounded(
    field: &'static str,
    lo: u32,
    hi: u32,
) -> impl Fn(&str) -> Result<u32, String> + Clone {
    move |s: &str| {
        let v: u64 = s.parse().map_err(|_| {
            format!("gossip.{field} '{s}' is not a whole number (accepted: {lo}..={hi})")
        })?;
        if (lo as u64..=hi as u64).contains(&v) {
            Ok(v as u32)
        } else {
            Err(format!(
                "gossip.{field} = {v} out of range (accepted: {lo}..={hi})"
            ))
        }
    }
}

/// Gossip parameters; each flag overrides the `[protocol]` table of the scenario file.
#[derive(Args, Debug, Clone, Default)]
pub struct GossipArgs {
    /// rumor | anti-entropy [default: rumor].
    #[arg(long, value_name = "MODE")]
    pub mode: Option<Mode>,
    /// push | pull | push-pull [default: push].
    #[arg(long, value_name = "DIR")]
    pub direction: Option<Direction>,
    /// Peers contacted per round, 1..=32 [default: 1].
    #[arg(long, value_name = "N", value_parser = parse_bounded("fanout", 1, crate::protocols::gossip::config::FANOUT_MAX))]
    pub fanout: Option<u32>,
    /// Time between a node's rounds [default: 100ms].
    #[arg(long, value_name = "DUR")]
    pub period: Option<Dur>,
    /// sync (every node at r*period) | async (own phase, period ± jitter) [default: sync].
    #[arg(long, value_name = "TIMING")]
    pub timing: Option<Timing>,
    /// Async rounds: each period drawn uniformly in period ± jitter [default: 0s].
    #[arg(long, value_name = "DUR")]
    pub jitter: Option<Dur>,
    /// Nodes 0..N hold the first update at time 0 [default: 1].
    #[arg(long, value_name = "N")]
    pub informed: Option<u32>,
    /// Rumor mongering: feedback (count contacts with nodes that knew) | blind (count every contact) [default: feedback].
    #[arg(long, value_name = "RULE")]
    pub interest_loss: Option<InterestLoss>,
    /// Rumor mongering: never | counter (after k counted contacts) | coin (probability 1/k each) [default: never].
    #[arg(long, value_name = "RULE")]
    pub removal: Option<Removal>,
    /// Rumor mongering: k of the counter or the coin, 1..=255 [default: 1].
    #[arg(long, value_name = "K", value_parser = parse_bounded("k", 1, crate::protocols::gossip::config::K_MAX))]
    pub k: Option<u32>,
    /// Rumor mongering: run anti-entropy as a backup with this period, 0s for none [default: 0s].
    #[arg(long, value_name = "DUR")]
    pub backup_period: Option<Dur>,
    /// Direction of the backup anti-entropy [default: push-pull].
    #[arg(long, value_name = "DIR")]
    pub backup_direction: Option<Direction>,
    /// Keys per node store, 1..=65535 (anti-entropy; rumor mongering uses 1) [default: 1].
    #[arg(long, value_name = "N", value_parser = parse_bounded("keys", 1, crate::protocols::gossip::config::KEYS_MAX))]
    pub keys: Option<u32>,
    /// Anti-entropy: keys reconciled per exchange, 0 for all [default: 0].
    #[arg(long, value_name = "N")]
    pub keys_per_exchange: Option<u32>,
    /// Nodes 0..N write [default: 1].
    #[arg(long, value_name = "N")]
    pub writers: Option<u32>,
    /// Writes per writer, 0..=65535 [default: 0].
    #[arg(long, value_name = "N", value_parser = parse_bounded("writes", 0, crate::protocols::gossip::config::WRITES_MAX))]
    pub writes: Option<u32>,
    /// Interval between a writer's writes (fixed, or mean of random gaps) [default: 1s].
    #[arg(long, value_name = "DUR")]
    pub write_every: Option<Dur>,
    /// scheduled | random [default: scheduled].
    #[arg(long, value_name = "TIMING")]
    pub write_timing: Option<WriteTiming>,
    /// correct | invent | older-wins (deliberately broken variants).
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<GossipVariant>,
}

impl GossipArgs {
    fn apply(&self, sc: &mut Scenario) -> Result<(), RunError> {
        let mut cfg = match &sc.protocol {
            ProtocolConfig::Gossip(c) => c.clone(),
            // A scenario file without a gossip table: start from the defaults.
            _ if self.scenario_is_default(sc) => Default::default(),
            other => {
                return Err(RunError::Config(crate::scenario::ConfigError(format!(
                    "the scenario file is for protocol '{}', not gossip",
                    other.name()
                ))))
            }
        };
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { cfg.$f = v; } )* };
        }
        set!(
            mode,
            direction,
            fanout,
            period,
            timing,
            jitter,
            informed,
            interest_loss,
            removal,
            k,
            backup_period,
            backup_direction,
            keys,
            keys_per_exchange,
            writers,
            writes,
            write_every,
            write_timing,
            variant
        );
        sc.protocol = ProtocolConfig::Gossip(cfg);
        Ok(())
    }

    /// The scenario's protocol table is the global default (no `[protocol]` given).
    fn scenario_is_default(&self, sc: &Scenario) -> bool {
        sc.protocol == ProtocolConfig::default()
    }
}

#[derive(Args, Debug, Clone, Default)]
pub struct OutputArgs {
    /// Print the outcome as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Write the trace (JSON Lines) to FILE.
    #[arg(long, value_name = "FILE")]
    pub trace: Option<PathBuf>,
    /// off (no file) | summary | notes | events | full [default: events when --trace is given].
    #[arg(long, value_name = "LEVEL")]
    pub trace_level: Option<TraceLevel>,
}

#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// Seeds to run, A..B: A included, B excluded (0..1000 is 1000 seeds, 0 to 999).
    #[arg(long, value_name = "A..B", value_parser = parse_seeds, default_value = "0..1000")]
    pub seeds: std::ops::Range<u64>,
    /// Threads running seeds in parallel, 1..=1024 [default: one per core].
    #[arg(long, value_name = "N", value_parser = parse_jobs, allow_negative_numbers = true)]
    pub jobs: Option<usize>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
}

impl CommonArgs {
    /// Defaults, then the scenario file, then the flags.
    pub fn scenario(&self) -> Result<Scenario, RunError> {
        let mut sc = match &self.scenario {
            Some(p) => Scenario::from_toml_file(p)?,
            None => Scenario::default(),
        };
        macro_rules! set {
            ($field:expr, $v:expr) => {
                if let Some(v) = $v.clone() {
                    $field = v;
                }
            };
        }
        set!(sc.seed, self.seed);
        set!(sc.nodes, self.nodes);
        set!(sc.time_max, self.time_max);
        set!(sc.events_max, self.events_max);
        set!(sc.liveness_bound, self.liveness_bound);
        if self.until_time_max {
            sc.stop_when_done = false;
        }
        set!(sc.net.latency, self.latency);
        set!(sc.net.loss_ratio, self.loss);
        set!(sc.net.dup_ratio, self.dup);
        if self.fifo {
            sc.net.fifo = true;
        }
        set!(sc.net.capacity, self.capacity);
        set!(sc.net.topology, self.topology);
        sc.net.links.extend(self.links.iter().cloned());
        sc.faults.schedule.extend(self.faults.iter().cloned());
        if self.crash_mttf.is_some() {
            sc.faults.crash_mttf = self.crash_mttf;
        }
        set!(sc.faults.crash_mttr, self.crash_mttr);
        if self.crash_max_down.is_some() {
            sc.faults.crash_max_down = self.crash_max_down;
        }
        if self.partition_mtbf.is_some() {
            sc.faults.partition_mtbf = self.partition_mtbf;
        }
        set!(sc.faults.partition_mttr, self.partition_mttr);
        if self.heal_at.is_some() {
            sc.faults.heal_at = self.heal_at;
        }
        if self.leader_crashes.is_some() {
            sc.faults.leader_crashes = self.leader_crashes.clone();
        }
        set!(sc.faults.drift_ppm_max, self.drift_ppm_max);
        sc.faults.drift.extend(self.drift.iter().cloned());
        Ok(sc)
    }
}

impl RaftArgs {
    fn apply(&self, sc: &mut Scenario) -> Result<(), RunError> {
        let mut cfg = match &sc.protocol {
            ProtocolConfig::Raft(c) => *c,
            #[allow(unreachable_patterns)]
            other => {
                return Err(RunError::Config(crate::scenario::ConfigError(format!(
                    "the scenario file is for protocol '{}', not raft",
                    other.name()
                ))))
            }
        };
        if let Some(v) = self.election_timeout {
            cfg.election_timeout = v;
        }
        if let Some(v) = self.heartbeat {
            cfg.heartbeat = v;
        }
        cfg.pre_vote |= self.pre_vote;
        cfg.check_quorum |= self.check_quorum;
        if let Some(v) = self.entries_per_heartbeat {
            cfg.entries_per_heartbeat = v;
        }
        if let Some(v) = self.variant {
            cfg.variant = v;
        }
        sc.protocol = ProtocolConfig::Raft(cfg);
        Ok(())
    }
}

/// Parses the command line; bad input becomes one line on stderr and [`exit::BAD_INPUT`].
pub fn main_with_args(args: Vec<String>) -> i32 {
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
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
                _ => {
                    let text = e.to_string();
                    let line = text.lines().next().unwrap_or("error: bad arguments");
                    eprintln!("{line}");
                    exit::BAD_INPUT
                }
            };
        }
    };
    match execute(cli, &args) {
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

fn execute(cli: Cli, args: &[String]) -> Result<i32, RunError> {
    match cli.cmd {
        Cmd::Run { proto } => match proto {
            ProtoRun::Raft { common, raft, out } => {
                let mut sc = common.scenario()?;
                raft.apply(&mut sc)?;
                run_cmd(&sc, &out)
            }
            ProtoRun::Gossip {
                common,
                gossip,
                out,
            } => {
                let mut sc = common.scenario()?;
                gossip.apply(&mut sc)?;
                run_cmd(&sc, &out)
            }
        },
        Cmd::Check { proto } => match proto {
            ProtoCheck::Raft {
                common,
                raft,
                check,
            } => {
                let mut sc = common.scenario()?;
                raft.apply(&mut sc)?;
                check_cmd(&sc, &check, args)
            }
            ProtoCheck::Gossip {
                common,
                gossip,
                check,
            } => {
                let mut sc = common.scenario()?;
                gossip.apply(&mut sc)?;
                check_cmd(&sc, &check, args)
            }
        },
        Cmd::List => {
            list_cmd();
            Ok(exit::OK)
        }
        Cmd::Replay { file } => replay_cmd(&file),
        Cmd::Sweep(a) => crate::experiment::cmd::sweep_cmd(&a),
        Cmd::Merge(a) => crate::experiment::cmd::merge_cmd(&a),
        Cmd::Plot(a) => crate::experiment::cmd::plot_cmd(&a),
    }
}

fn run_cmd(sc: &Scenario, out: &OutputArgs) -> Result<i32, RunError> {
    sc.validate()?;
    // The trace output is created before anything is printed: a path that
    // cannot be written is an error with nothing on stdout.
    let level = out.trace_level.unwrap_or(TraceLevel::Events);
    let trace = match &out.trace {
        Some(path) => TraceFile::create(path, level)?,
        None => None,
    };
    if !out.json {
        println!("seed {}", sc.seed);
    }
    let r = match trace {
        Some(t) => t.run(sc)?,
        None => run_silent(sc),
    };
    if out.json {
        let mut v = serde_json::to_value(&r).expect("report serialises");
        v["protocol"] = sc.protocol.name().into();
        println!("{v}");
    } else {
        println!(
            "stop {} at {} after {} events",
            r.stop.as_str(),
            Dur(r.t_ns).human(),
            r.events
        );
        let facts: Vec<String> = r.facts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        if !facts.is_empty() {
            println!("{}", facts.join(" "));
        }
        let metrics: Vec<String> = r
            .metrics
            .iter()
            .map(|(k, v)| format!("{k}={}", fmt_num(*v)))
            .collect();
        println!("metrics {}", metrics.join(" "));
        let kinds: Vec<String> = r
            .counts
            .by_kind
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!(
            "messages sent={} delivered={} duplicated={} {}",
            r.counts.sent,
            r.counts.delivered,
            r.counts.duplicated,
            kinds.join(" ")
        );
        if !r.counts.dropped.is_empty() {
            let d: Vec<String> = r
                .counts
                .dropped
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            println!("dropped {}", d.join(" "));
        }
        for v in &r.violations {
            println!(
                "VIOLATION {} ({:?}) at {}: {}",
                v.property,
                v.kind,
                Dur(v.t_ns).human(),
                v.detail
            );
        }
        if let Some(u) = &r.undecided {
            println!(
                "UNDECIDED {}: the run stopped ({}) before the liveness deadline {} (last fault plus --liveness-bound)",
                u.properties.join(", "),
                r.stop.as_str(),
                Dur(u.deadline_ns).human()
            );
        }
        println!("hash {}", r.hash);
    }
    Ok(if r.safety_violated() {
        exit::SAFETY
    } else if r.liveness_violated() {
        exit::LIVENESS
    } else if r.undecided.is_some() {
        exit::UNDECIDED
    } else {
        exit::OK
    })
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v:.3}")
    }
}

/// The command that reproduces one seed of a `check` invocation: the same
/// arguments with `run` for `check` and `--seed S` last. The flags of `check`
/// alone (`--seeds`, `--jobs`, `--json`) are dropped, and so is any `--seed`
/// given to `check` (the scenario's seed, which `--seeds` overrides): `run`
/// accepts `--seed` once.
pub fn reproduction_command(args: &[String], seed: u64) -> String {
    /// Flags left out, with their value (`--seeds A..B` or `--seeds=A..B`).
    const DROPPED: [&str; 3] = ["--seeds", "--seed", "--jobs"];
    let mut out = vec!["agentsim".to_string()];
    let mut it = args.iter().skip(1);
    let mut replaced = false;
    while let Some(a) = it.next() {
        let flag = a.split_once('=').map_or(a.as_str(), |(f, _)| f);
        if !replaced && a == "check" {
            out.push("run".into());
            replaced = true;
        } else if DROPPED.contains(&flag) {
            if flag == a {
                it.next(); // the value is the next argument
            }
        } else if a != "--json" {
            out.push(shell_quote(a));
        }
    }
    out.push("--seed".into());
    out.push(seed.to_string());
    out.join(" ")
}

fn shell_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

fn check_cmd(sc: &Scenario, c: &CheckArgs, args: &[String]) -> Result<i32, RunError> {
    sc.validate()?;
    let summary = check_seeds(sc, c.seeds.clone(), c.jobs)?;
    if c.json {
        let mut v = serde_json::to_value(&summary).expect("summary serialises");
        for (i, f) in summary.failures.iter().enumerate() {
            v["failures"][i]["reproduce"] = reproduction_command(args, f.first_seed).into();
        }
        for (i, u) in summary.undecided.iter().enumerate() {
            v["undecided"][i]["reproduce"] = reproduction_command(args, u.first_seed).into();
        }
        println!("{v}");
    } else {
        let stops: Vec<String> = summary
            .stops
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        println!(
            "checked {} seeds {}..{} of {} ({})",
            summary.runs,
            c.seeds.start,
            c.seeds.end,
            sc.protocol.name(),
            stops.join(" ")
        );
        for p in sc.protocol.properties() {
            let failed = summary.failures.iter().find(|f| f.property == p.name);
            let undecided = summary.undecided.iter().find(|u| u.property == p.name);
            if failed.is_none() && undecided.is_none() {
                println!("  ok    {} ({:?})", p.name, p.kind);
            }
            if let Some(f) = failed {
                println!(
                    "  FAIL  {} ({:?}): {} of {} seeds; first seed {} at {}: {}",
                    p.name,
                    p.kind,
                    f.runs,
                    summary.runs,
                    f.first_seed,
                    Dur(f.first_t_ns).human(),
                    f.first_detail
                );
                println!(
                    "        reproduce: {}",
                    reproduction_command(args, f.first_seed)
                );
            }
            if let Some(u) = undecided {
                println!(
                    "  ??    {} ({:?}): undecided in {} of {} seeds, stopped before the liveness deadline; first seed {} stopped ({}) at {}, deadline {}",
                    p.name,
                    p.kind,
                    u.runs,
                    summary.runs,
                    u.first_seed,
                    u.first_stop,
                    Dur(u.first_t_ns).human(),
                    Dur(u.first_deadline_ns).human()
                );
                println!(
                    "        reproduce: {}",
                    reproduction_command(args, u.first_seed)
                );
            }
        }
    }
    Ok(if summary.safety_failed() {
        exit::SAFETY
    } else if summary.liveness_failed() {
        exit::LIVENESS
    } else if !summary.undecided.is_empty() {
        exit::UNDECIDED
    } else {
        exit::OK
    })
}

fn list_cmd() {
    println!("protocols:");
    for p in PROTOCOLS {
        println!("\n  {} — {}", p.name, p.summary);
        println!("  properties:");
        for prop in (p.properties)() {
            println!(
                "    {:<18} {:<10} {}",
                prop.name,
                format!("{:?}", prop.kind).to_lowercase(),
                prop.description
            );
        }
        println!("  parameters ([protocol] table of a scenario file; flags in `agentsim run {} --help`):", p.name);
        let toml = toml::to_string(&(p.defaults)()).expect("defaults serialise");
        for line in toml.lines() {
            println!("    {line}");
        }
    }
    println!("\nscenario defaults (every protocol):");
    let mut sc = toml::Table::try_from(Scenario::default()).expect("defaults serialise");
    sc.remove("protocol");
    for line in toml::to_string(&sc).expect("defaults serialise").lines() {
        println!("    {line}");
    }
    println!(
        "    # off unless set: faults.heal_at (default time_max/2 when a random process is on),"
    );
    println!("    # faults.crash_mttf, faults.crash_max_down, faults.partition_mtbf, faults.leader_crashes");
}

fn replay_cmd(file: &std::path::Path) -> Result<i32, RunError> {
    match replay(file)? {
        Replay::Identical { records, hash } => {
            println!("identical: {records} records, hash {hash}");
            Ok(exit::OK)
        }
        Replay::Diverged {
            line,
            t_ns,
            seq,
            recorded,
            replayed,
            program_differs,
        } => {
            let at = match (t_ns, seq) {
                (Some(t), Some(s)) => format!(" at t={} (t_ns={t}) seq={s}", Dur(t).human()),
                _ => String::new(),
            };
            println!("diverged at line {line}{at}");
            println!("  recorded: {recorded}");
            println!("  replayed: {replayed}");
            if let Some(p) = program_differs {
                println!(
                    "  note: recorded by {p}, replayed by {}",
                    crate::trace::program_version()
                );
            }
            Ok(exit::DIVERGED)
        }
    }
}

impl std::str::FromStr for LinkOverride {
    type Err = String;
    /// `A-B:latency=50ms,loss=0.1,dup=0.01` (both ways) or `A>B:...` (one way); `*` is any node.
    fn from_str(s: &str) -> Result<Self, String> {
        let (ends, params) = s.split_once(':').ok_or_else(|| {
            format!("link '{s}': expected A-B:key=value,... (keys: latency, loss, dup)")
        })?;
        let (a, b, symmetric) = if let Some((a, b)) = ends.split_once('>') {
            (a, b, false)
        } else if let Some((a, b)) = ends.split_once('-') {
            (a, b, true)
        } else {
            return Err(format!("link '{s}': expected A-B or A>B before ':'"));
        };
        let node = |x: &str| -> Result<Option<u32>, String> {
            if x.trim() == "*" {
                Ok(None)
            } else {
                x.trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("link '{s}': '{x}' is not a node id or *"))
            }
        };
        let mut o = LinkOverride {
            from: node(a)?,
            to: node(b)?,
            symmetric,
            latency: None,
            loss_ratio: None,
            dup_ratio: None,
        };
        // Latency spellings contain commas, so split on ",key=" boundaries only.
        let mut rest = params;
        while !rest.is_empty() {
            let (k, v_and_more) = rest
                .split_once('=')
                .ok_or_else(|| format!("link '{s}': expected key=value"))?;
            let next = ["loss=", "dup=", "latency="]
                .iter()
                .filter_map(|key| v_and_more.find(&format!(",{key}")))
                .min()
                .unwrap_or(v_and_more.len());
            let v = &v_and_more[..next];
            rest = v_and_more[next..].trim_start_matches(',');
            match k.trim() {
                "latency" => o.latency = Some(v.parse()?),
                "loss" => {
                    o.loss_ratio =
                        Some(parse_ratio(v).map_err(|e| format!("link '{s}': loss {e}"))?)
                }
                "dup" => {
                    o.dup_ratio = Some(parse_ratio(v).map_err(|e| format!("link '{s}': dup {e}"))?)
                }
                other => {
                    return Err(format!(
                        "link '{s}': unknown key '{other}' (accepted: latency, loss, dup)"
                    ))
                }
            }
        }
        Ok(o)
    }
}

impl std::str::FromStr for LeaderCrashes {
    type Err = String;
    /// `first=1s,every=1s,jitter=50ms,down=500ms,count=5`
    fn from_str(s: &str) -> Result<Self, String> {
        let mut lc = LeaderCrashes {
            first: Dur(crate::time::SEC),
            every: Dur(crate::time::SEC),
            jitter: Dur::ZERO,
            down: Dur::from_ms(500),
            count: 1,
        };
        for part in s.split(',') {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("leader crashes '{s}': expected key=value"))?;
            let d = || {
                v.parse::<Dur>()
                    .map_err(|e| format!("leader crashes '{s}': {e}"))
            };
            match k.trim() {
                "first" => lc.first = d()?,
                "every" => lc.every = d()?,
                "jitter" => lc.jitter = d()?,
                "down" => lc.down = d()?,
                "count" => {
                    lc.count = v
                        .parse()
                        .map_err(|_| format!("leader crashes '{s}': count '{v}' is not a whole number"))?
                }
                other => {
                    return Err(format!(
                        "leader crashes '{s}': unknown key '{other}' (accepted: first, every, jitter, down, count)"
                    ))
                }
            }
        }
        Ok(lc)
    }
}
