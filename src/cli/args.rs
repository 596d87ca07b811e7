//! Flags shared by every protocol's `run` and `check`, and their parsers.

use crate::engine::setup::{Arrivals, BehaviourSpec, ByzantineSpec, Target};
use crate::net::faults::{Drift, FaultEntry, LeaderCrashes};
use crate::net::latency::Latency;
use crate::net::topology::Topology;
use crate::net::LinkOverride;
use crate::observe::trace::TraceLevel;
use crate::protocols::DynSpec;
use crate::run::RunError;
use crate::scenario::{ConfigError, Scenario};
use crate::time::Dur;
use clap::{ArgMatches, Args, FromArgMatches};
use std::path::PathBuf;

pub(crate) fn parse_nodes(s: &str) -> Result<u32, String> {
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

/// `flag` (a repair time) given without `process`, which it would time.
fn mttr_alone(flag: &str, process: &str) -> RunError {
    RunError::Config(crate::scenario::ConfigError(format!(
        "{flag} does nothing without its random fault process (accepted: with {process})"
    )))
}

/// `--jobs` of `check` and `sweep`: a thread count in `1..=JOBS_MAX`.
pub fn parse_jobs(s: &str) -> Result<usize, String> {
    let max = crate::run::check::JOBS_MAX;
    match s.parse::<usize>() {
        Ok(n) if (1..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "'{s}' out of range (accepted: a whole number of threads in 1..={max})"
        )),
    }
}

pub(crate) fn parse_drift(s: &str) -> Result<Drift, String> {
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
    /// Stop after this many events [default: 10000000, or 100 per node above 100000 nodes].
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
    #[arg(long, value_name = "RATIO", value_parser = crate::net::parse_ratio, allow_negative_numbers = true)]
    pub loss: Option<f64>,
    /// Message duplication ratio in 0..=1 [default: 0].
    #[arg(long, value_name = "RATIO", value_parser = crate::net::parse_ratio, allow_negative_numbers = true)]
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
    // The brackets are literal help text (clap prints this doc), not a link.
    #[allow(rustdoc::broken_intra_doc_links)]
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
    /// A workload of client submissions: poisson:rate=R (per second) | every:DUR [default: none].
    #[arg(long, value_name = "ARRIVALS")]
    pub arrivals: Option<Arrivals>,
    /// Workload: at most N submissions [default: no limit].
    #[arg(long, value_name = "N")]
    pub submissions: Option<u64>,
    /// Workload: number of clients [default: 1].
    #[arg(long, value_name = "N")]
    pub clients: Option<u32>,
    /// Workload: where submissions go: random | round-robin | leader | node:N [default: random].
    #[arg(long, value_name = "TARGET")]
    pub target: Option<Target>,
    /// Workload: no submission after this time.
    #[arg(long, value_name = "DUR")]
    pub workload_stop: Option<Dur>,
    /// Storage write delay of every node (a latency spelling: 5ms, 2ms..8ms, exp:floor=1ms,mean=4ms, ...) [default: none, writes are instant].
    #[arg(long, value_name = "LATENCY")]
    pub storage_delay: Option<Latency>,
    /// Byzantine nodes and their behaviour: NODES:BEHAVIOUR, e.g. 0,3:equivocate or 5:selective=1,2. Repeatable.
    #[arg(long = "byzantine", value_name = "NODES:BEHAVIOUR")]
    pub byzantine: Vec<ByzantineSpec>,
    /// This many more Byzantine nodes, drawn from the fault stream (with --byzantine-behaviour).
    #[arg(long, value_name = "F")]
    pub byzantine_count: Option<u32>,
    /// The behaviour of the drawn Byzantine nodes: silent | equivocate | flip | forge | delay | selective | split.
    #[arg(long, value_name = "BEHAVIOUR")]
    pub byzantine_behaviour: Option<BehaviourSpec>,
    // The brackets are literal help text (clap prints this doc), not a link.
    #[allow(rustdoc::broken_intra_doc_links)]
    /// A protocol setting KEY=VALUE (a key of the [protocol] table, see `agentsim list`), after the protocol's own flags. Repeatable.
    #[arg(long = "param", value_name = "KEY=VALUE")]
    pub params: Vec<String>,
}

/// Output flags of `agentsim run`: JSON, trace file and level.
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

/// Flags of `agentsim check`: seeds, threads, JSON.
#[derive(Args, Debug, Clone)]
pub struct CheckArgs {
    /// Seeds to run, A..B: A included, B excluded (0..1000 is 1000 seeds, 0 to 999).
    #[arg(long, value_name = "A..B", value_parser = crate::run::check::parse_seeds, default_value = "0..1000")]
    pub seeds: std::ops::Range<u64>,
    /// Threads running seeds in parallel, 1..=1024 [default: one per core].
    #[arg(long, value_name = "N", value_parser = parse_jobs, allow_negative_numbers = true)]
    pub jobs: Option<usize>,
    /// Print the summary as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Run every seed twice and report those whose run hashes differ (by default only the first 16 are run twice).
    #[arg(long)]
    pub determinism: bool,
    /// Swarm testing: each seed also draws which fault kinds are on (loss, dup, delay, crash, partition, drift, each with probability 1/2) and their rates; a kind set by a flag or the scenario file stays as given. Failures print the drawn mix as plain flags.
    #[arg(long)]
    pub swarm: bool,
    /// Bounds of the swarm's draws, KEY=LO..HI joined by commas (a key left out keeps its default); keys and defaults: on=0.5 (the chance a kind is on), loss=0.01..0.3, dup=0.01..0.3, latency-max=10ms..100ms, crash-mttf=100ms..10s, crash-mttr=1ms..1s, partition-mtbf=100ms..10s, partition-mttr=10ms..2s, drift-ppm-max=10..1000.
    #[arg(long, value_name = "SPEC", requires = "swarm")]
    pub swarm_bounds: Option<crate::run::swarm::SwarmBounds>,
}

impl CommonArgs {
    /// Defaults of `spec`, then the scenario file, then these flags (the
    /// protocol's own flags and `--param` apply after, see [`scenario_for`]).
    pub fn scenario(&self, spec: &'static dyn DynSpec) -> Result<Scenario, RunError> {
        let mut sc = match &self.scenario {
            Some(p) => Scenario::from_toml_file_for(p, spec)?,
            None => Scenario::for_protocol(spec),
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
        // Unset by flag and file, the event cap follows the run's size.
        let file_sets_events_max = self.scenario.as_ref().is_some_and(|p| {
            std::fs::read_to_string(p)
                .ok()
                .and_then(|t| t.parse::<toml::Table>().ok())
                .is_some_and(|t| t.contains_key("events_max"))
        });
        if self.events_max.is_none() && !file_sets_events_max {
            sc.events_max = crate::engine::limits::default_events_max(sc.nodes);
        }
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
        set!(sc.workload.arrivals, self.arrivals);
        set!(sc.workload.count, self.submissions);
        set!(sc.workload.clients, self.clients);
        set!(sc.workload.target, self.target);
        if self.workload_stop.is_some() {
            sc.workload.stop = self.workload_stop;
        }
        if self.storage_delay.is_some() {
            sc.storage.delay = self.storage_delay.clone();
        }
        sc.adversary.nodes.extend(self.byzantine.iter().cloned());
        set!(sc.adversary.count, self.byzantine_count);
        if self.byzantine_behaviour.is_some() {
            sc.adversary.behaviour = self.byzantine_behaviour.clone();
        }
        Ok(sc)
    }
}

/// The scenario of a `run` or `check` of protocol `spec`: its defaults, the
/// scenario file, the common flags, the protocol's own flags, then `--param`.
pub fn scenario_for(spec: &'static dyn DynSpec, m: &ArgMatches) -> Result<Scenario, RunError> {
    let common = CommonArgs::from_arg_matches(m).map_err(|e| bad(e.to_string()))?;
    let mut sc = common.scenario(spec)?;
    // A repair time counts only with its process (the scenario check sees a
    // value other than the default; a flag is refused even at it), unless
    // `check --swarm` may draw the process.
    let swarm = matches!(m.try_get_one::<bool>("swarm"), Ok(Some(true)));
    if !swarm {
        if common.crash_mttr.is_some() && sc.faults.crash_mttf.is_none() {
            return Err(mttr_alone("--crash-mttr", "--crash-mttf"));
        }
        if common.partition_mttr.is_some() && sc.faults.partition_mtbf.is_none() {
            return Err(mttr_alone("--partition-mttr", "--partition-mtbf"));
        }
    }
    spec.apply_flags(m, &mut sc.protocol).map_err(bad)?;
    for p in &common.params {
        set_param(&mut sc, p).map_err(bad)?;
    }
    Ok(sc)
}

fn bad(m: String) -> RunError {
    RunError::Config(ConfigError(m.trim().replace('\n', " ")))
}

/// `--param KEY=VALUE`: sets one key of the `[protocol]` table; the value is
/// read as TOML (`3`, `0.5`, `true`, `"text"`), else taken as text (`150ms..300ms`).
fn set_param(sc: &mut Scenario, p: &str) -> Result<(), String> {
    let (k, v) = p
        .split_once('=')
        .ok_or_else(|| format!("--param '{p}': expected KEY=VALUE (keys: `agentsim list`)"))?;
    let (k, v) = (k.trim(), v.trim());
    let value: toml::Value = toml::from_str::<toml::Table>(&format!("x = {v}"))
        .ok()
        .and_then(|mut t| t.remove("x"))
        .unwrap_or_else(|| toml::Value::String(v.to_string()));
    let spec = sc.protocol.spec();
    let mut table = toml::Table::try_from(&sc.protocol).map_err(|e| e.to_string())?;
    table.remove("name");
    let mut t = &mut table;
    let mut parts = k.split('.').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            if !t.contains_key(part) {
                let keys: Vec<&String> = t.keys().collect();
                return Err(format!(
                    "--param {k}: no such setting of {} (accepted: {})",
                    spec.name(),
                    keys.iter()
                        .map(|s| s.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            t.insert(part.to_string(), value.clone());
            break;
        }
        t = match t.get_mut(part) {
            Some(toml::Value::Table(inner)) => inner,
            _ => {
                return Err(format!(
                    "--param {k}: '{part}' is not a table of {}",
                    spec.name()
                ))
            }
        };
    }
    let json = serde_json::to_value(&table).map_err(|e| e.to_string())?;
    sc.protocol = spec
        .config_from(json)
        .map_err(|e| format!("--param {k}={v}: {e}"))?;
    Ok(())
}
