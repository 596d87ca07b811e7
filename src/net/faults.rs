//! Faults as data: a schedule of actions at given times, random fault processes
//! drawn from the fault stream, and clock drift. Every fault becomes an event
//! in the same `(time, seq)` queue as everything else.
//!
//! Scheduled actions are written `ACTION@TIME`, in flags (`--fault`) and in
//! scenario files (`faults.schedule = ["crash:2@1s", "heal@3s"]`):
//!
//! | spelling | effect |
//! |---|---|
//! | `crash:N@T` / `recover:N@T` | crash or recover node N |
//! | `partition:0,1\|2,3,4@T` | split into groups; unlisted nodes form one more group |
//! | `cut:A>B@T` | one-way cut: A's messages to B are dropped |
//! | `isolate:N@T` | cut every link to and from N |
//! | `heal@T` | remove every partition and cut |
//! | `crash-leader@T`, `crash-leader:D@T` | crash the node whose latest note says it leads (and recover it D later) |
//!
//! Random processes (`crash_mttf`/`crash_mttr`, `partition_mtbf`/`partition_mttr`)
//! run until `heal_at`; then every partition heals and every crashed node
//! recovers. From the *quiet time* on (after the last fault of any kind),
//! liveness properties are judged ("safety phase with faults, then a liveness
//! phase on a healed core").

use super::topology::NodeId;
use crate::time::{Dur, SimTime};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// What a scheduled fault does (spellings in the module docs).
#[derive(Clone, Debug, PartialEq)]
pub enum FaultAction {
    /// Crashes the node (no effect if it is already down).
    Crash(NodeId),
    /// Brings the node back up (no effect if it is up).
    Recover(NodeId),
    /// Splits the nodes into these groups; unlisted nodes form one more group.
    Partition(Vec<Vec<NodeId>>),
    /// One-way cut: messages from the first node to the second are dropped.
    Cut(NodeId, NodeId),
    /// Cuts every link to and from the node.
    Isolate(NodeId),
    /// Removes every partition and cut.
    Heal,
    /// Crashes the live node that most recently claimed leadership in a note
    /// (nothing if none holds it).
    CrashLeader {
        /// How long it stays down; `None`: it is not recovered by this fault.
        down: Option<Dur>,
    },
}

/// One scheduled fault.
#[derive(Clone, Debug, PartialEq)]
pub struct FaultEntry {
    /// When the fault happens, from the start of the run.
    pub at: Dur,
    /// What happens.
    pub action: FaultAction,
}

impl FromStr for FaultEntry {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (act, at) = s.rsplit_once('@').ok_or_else(|| {
            format!("fault '{s}': expected ACTION@TIME, e.g. crash:2@1s (actions: crash, recover, partition, cut, isolate, heal, crash-leader)")
        })?;
        let at: Dur = at.parse().map_err(|e| format!("fault '{s}': {e}"))?;
        let (name, arg) = act.split_once(':').unwrap_or((act, ""));
        let node = |a: &str| -> Result<NodeId, String> {
            a.trim()
                .parse()
                .map_err(|_| format!("fault '{s}': '{a}' is not a node id"))
        };
        let action = match name {
            "crash" => FaultAction::Crash(node(arg)?),
            "recover" => FaultAction::Recover(node(arg)?),
            "isolate" => FaultAction::Isolate(node(arg)?),
            "heal" if act.contains(':') => {
                return Err(format!(
                    "fault '{s}': heal takes no argument, it heals every partition and cut (accepted: heal@TIME)"
                ))
            }
            "heal" => FaultAction::Heal,
            "cut" => {
                let (a, b) = arg
                    .split_once('>')
                    .ok_or_else(|| format!("fault '{s}': expected cut:FROM>TO"))?;
                let (a, b) = (node(a)?, node(b)?);
                if a == b {
                    return Err(format!(
                        "fault '{s}': a cut from node {a} to itself (accepted: cut:FROM>TO, two different nodes)"
                    ));
                }
                FaultAction::Cut(a, b)
            }
            "partition" => {
                let groups = arg
                    .split('|')
                    .map(|g| g.split(',').filter(|x| !x.trim().is_empty()).map(node).collect())
                    .collect::<Result<Vec<Vec<NodeId>>, String>>()?;
                if groups.iter().any(|g| g.is_empty()) {
                    return Err(format!(
                        "fault '{s}': an empty group (accepted: partition:0,1|2,3@T, each group with at least one node)"
                    ));
                }
                FaultAction::Partition(groups)
            }
            "crash-leader" => FaultAction::CrashLeader {
                down: if arg.is_empty() {
                    None
                } else {
                    Some(arg.parse().map_err(|e| format!("fault '{s}': {e}"))?)
                },
            },
            other => {
                return Err(format!(
                    "fault action '{other}' unknown (accepted: crash, recover, partition, cut, isolate, heal, crash-leader)"
                ))
            }
        };
        Ok(FaultEntry { at, action })
    }
}

impl fmt::Display for FaultEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.action {
            FaultAction::Crash(n) => write!(f, "crash:{n}")?,
            FaultAction::Recover(n) => write!(f, "recover:{n}")?,
            FaultAction::Isolate(n) => write!(f, "isolate:{n}")?,
            FaultAction::Heal => write!(f, "heal")?,
            FaultAction::Cut(a, b) => write!(f, "cut:{a}>{b}")?,
            FaultAction::Partition(g) => {
                let groups: Vec<String> = g
                    .iter()
                    .map(|m| {
                        m.iter()
                            .map(|x| x.to_string())
                            .collect::<Vec<_>>()
                            .join(",")
                    })
                    .collect();
                write!(f, "partition:{}", groups.join("|"))?
            }
            FaultAction::CrashLeader { down: None } => write!(f, "crash-leader")?,
            FaultAction::CrashLeader { down: Some(d) } => write!(f, "crash-leader:{d}")?,
        }
        write!(f, "@{}", self.at)
    }
}

impl Serialize for FaultEntry {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for FaultEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// Crash the current leader repeatedly: the k-th crash happens at
/// `first + k * every + U(0, jitter)` and the node recovers `down` later.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeaderCrashes {
    /// Time of the first crash, from the start of the run.
    pub first: Dur,
    /// Time between two planned crashes (before jitter).
    pub every: Dur,
    /// Up to this much extra delay, drawn uniformly per crash (default: 0).
    #[serde(default)]
    pub jitter: Dur,
    /// How long each crashed leader stays down before it recovers.
    pub down: Dur,
    /// Number of planned crashes (one is skipped when no leader is known); 0: off.
    pub count: u32,
}

/// A node whose clock runs fast (`ppm > 0`) or slow (`ppm < 0`): its timers fire
/// after `after / (1 + ppm/1e6)` of true time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Drift {
    /// The node whose clock drifts.
    pub node: NodeId,
    /// Clock error in parts per million, in `-999999..=999999`.
    pub ppm: i32,
}

/// The `[faults]` table of a scenario: random fault processes, clock drift and the schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FaultConfig {
    /// When random processes stop and everything heals (default: half of `time_max`
    /// when a random process is on).
    pub heal_at: Option<Dur>,
    /// Mean time to failure of each node (exponential); off when absent.
    pub crash_mttf: Option<Dur>,
    /// Mean time to repair after a random crash (exponential).
    pub crash_mttr: Dur,
    /// At most this many nodes down at once from the random crash process.
    pub crash_max_down: Option<u32>,
    /// Mean time between random partitions (exponential); off when absent.
    pub partition_mtbf: Option<Dur>,
    /// Mean duration of a random partition (exponential).
    pub partition_mttr: Dur,
    /// Every node's clock rate drawn uniformly within ±this many parts per million.
    pub drift_ppm_max: u32,
    /// Explicit per-node clock drift (overrides the random draw).
    pub drift: Vec<Drift>,
    /// Repeated crashes of the current leader; off when absent.
    pub leader_crashes: Option<LeaderCrashes>,
    /// Faults at fixed times, in any order.
    pub schedule: Vec<FaultEntry>,
}

impl FaultConfig {
    /// Whether any fault here can crash a node (and so recover it later).
    pub fn can_crash(&self) -> bool {
        self.crash_mttf.is_some()
            || self.leader_crashes.is_some()
            || self.schedule.iter().any(|e| {
                matches!(
                    e.action,
                    FaultAction::Crash(_) | FaultAction::CrashLeader { .. }
                )
            })
    }

    /// Whether any fault here crashes "the current leader".
    pub fn crashes_leader(&self) -> bool {
        self.leader_crashes.is_some()
            || self
                .schedule
                .iter()
                .any(|e| matches!(e.action, FaultAction::CrashLeader { .. }))
    }
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            heal_at: None,
            crash_mttf: None,
            crash_mttr: Dur::from_ms(500),
            crash_max_down: None,
            partition_mtbf: None,
            partition_mttr: Dur::from_ms(500),
            drift_ppm_max: 0,
            drift: Vec::new(),
            leader_crashes: None,
            schedule: Vec::new(),
        }
    }
}

impl FaultConfig {
    /// Whether a random crash or partition process is on.
    pub fn has_random_process(&self) -> bool {
        self.crash_mttf.is_some() || self.partition_mtbf.is_some()
    }

    /// When random processes stop and everything heals, if they are on.
    pub fn heal_time(&self, time_max: SimTime) -> Option<SimTime> {
        self.has_random_process()
            .then(|| self.heal_at.map(|d| d.0).unwrap_or(time_max / 2))
    }

    /// The time after which no fault of any kind happens: liveness is judged from here.
    pub fn quiet_time(&self, time_max: SimTime) -> SimTime {
        let mut t = self.heal_time(time_max).unwrap_or(0);
        for e in &self.schedule {
            let end = match e.action {
                FaultAction::CrashLeader { down: Some(d) } => e.at.0 + d.0,
                _ => e.at.0,
            };
            t = t.max(end);
        }
        if let Some(lc) = &self.leader_crashes {
            if lc.count > 0 {
                let last =
                    lc.first.0 + (lc.count as u64 - 1) * lc.every.0 + lc.jitter.0 + lc.down.0;
                t = t.max(last);
            }
        }
        t
    }

    /// Checks node ids and parameters against `nodes`; the error names the
    /// field and the accepted range.
    pub fn validate(&self, nodes: u32) -> Result<(), String> {
        let node_ok = |field: &str, n: NodeId| {
            if n < nodes {
                Ok(())
            } else {
                Err(format!(
                    "{field}: node {n} out of range (accepted: 0..{nodes})"
                ))
            }
        };
        for (i, e) in self.schedule.iter().enumerate() {
            let f = format!("faults.schedule[{i}] '{e}'");
            match &e.action {
                FaultAction::Crash(n) | FaultAction::Recover(n) | FaultAction::Isolate(n) => {
                    node_ok(&f, *n)?
                }
                FaultAction::Cut(a, b) => {
                    node_ok(&f, *a)?;
                    node_ok(&f, *b)?;
                }
                FaultAction::Partition(groups) => {
                    let mut seen = vec![false; nodes as usize];
                    for &m in groups.iter().flatten() {
                        node_ok(&f, m)?;
                        if std::mem::replace(&mut seen[m as usize], true) {
                            return Err(format!("{f}: node {m} is in two groups"));
                        }
                    }
                }
                FaultAction::Heal | FaultAction::CrashLeader { .. } => {}
            }
        }
        for d in &self.drift {
            node_ok("faults.drift", d.node)?;
            if d.ppm <= -1_000_000 || d.ppm >= 1_000_000 {
                return Err(format!(
                    "faults.drift ppm {} out of range (accepted: -999999..=999999)",
                    d.ppm
                ));
            }
        }
        if self.drift_ppm_max >= 1_000_000 {
            return Err(format!(
                "faults.drift_ppm_max {} out of range (accepted: 0..=999999)",
                self.drift_ppm_max
            ));
        }
        for (name, v) in [
            ("faults.crash_mttf", self.crash_mttf),
            ("faults.partition_mtbf", self.partition_mtbf),
            ("faults.crash_mttr", Some(self.crash_mttr)),
            ("faults.partition_mttr", Some(self.partition_mttr)),
        ] {
            if v == Some(Dur::ZERO) {
                return Err(format!(
                    "{name} must be above 0 (accepted: a positive duration)"
                ));
            }
        }
        if self.heal_at.is_some() && !self.has_random_process() {
            return Err(
                "faults.heal_at (--heal-at) does nothing without a random fault process (accepted: with faults.crash_mttf / --crash-mttf or faults.partition_mtbf / --partition-mtbf)"
                    .into(),
            );
        }
        let d = FaultConfig::default();
        if self.crash_mttr != d.crash_mttr && self.crash_mttf.is_none() {
            return Err(
                "faults.crash_mttr (--crash-mttr) does nothing without random crashes (accepted: with faults.crash_mttf / --crash-mttf)"
                    .into(),
            );
        }
        if self.partition_mttr != d.partition_mttr && self.partition_mtbf.is_none() {
            return Err(
                "faults.partition_mttr (--partition-mttr) does nothing without random partitions (accepted: with faults.partition_mtbf / --partition-mtbf)"
                    .into(),
            );
        }
        if self.crash_max_down.is_some() && self.crash_mttf.is_none() {
            return Err(
                "faults.crash_max_down (--crash-max-down) does nothing without random crashes (accepted: with faults.crash_mttf / --crash-mttf)"
                    .into(),
            );
        }
        if let Some(lc) = &self.leader_crashes {
            if lc.every.0 == 0 && lc.count > 1 {
                return Err(
                    "faults.leader_crashes.every must be above 0 (accepted: a positive duration)"
                        .into(),
                );
            }
        }
        Ok(())
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
        let mut seen: Vec<&str> = Vec::new();
        for part in s.split(',') {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("leader crashes '{s}': expected key=value"))?;
            if seen.contains(&k.trim()) {
                return Err(format!(
                    "leader crashes '{s}': key '{}' given twice (accepted: each once)",
                    k.trim()
                ));
            }
            seen.push(k.trim());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip() {
        for s in [
            "crash:2@1s",
            "recover:2@1.5s",
            "partition:0,1|2,3,4@1s",
            "cut:0>1@20ms",
            "isolate:3@2s",
            "heal@3s",
            "crash-leader@1s",
            "crash-leader:500ms@1s",
        ] {
            let e: FaultEntry = s.parse().unwrap();
            assert_eq!(e.to_string(), s);
        }
        assert!("explode:1@1s".parse::<FaultEntry>().is_err());
        assert!("crash:1".parse::<FaultEntry>().is_err());
        let e = "heal:3@1s".parse::<FaultEntry>().unwrap_err();
        assert!(e.contains("heal takes no argument"), "{e}");
    }

    #[test]
    fn quiet_time_covers_every_fault() {
        let mut f = FaultConfig {
            schedule: vec!["crash-leader:500ms@1s".parse().unwrap()],
            ..Default::default()
        };
        assert_eq!(f.quiet_time(10_000_000_000), 1_500_000_000);
        f.crash_mttf = Some(Dur::from_ms(100));
        assert_eq!(f.quiet_time(10_000_000_000), 5_000_000_000);
    }

    #[test]
    fn validation_catches_bad_nodes() {
        let f = FaultConfig {
            schedule: vec!["partition:0,1|1,2@1s".parse().unwrap()],
            ..Default::default()
        };
        assert!(f.validate(3).unwrap_err().contains("two groups"));
        let f = FaultConfig {
            schedule: vec!["crash:9@1s".parse().unwrap()],
            ..Default::default()
        };
        assert!(f.validate(3).unwrap_err().contains("0..3"));
    }
}
