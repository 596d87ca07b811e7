//! Derived settings: helpers that set scenario fields from other fields, so an
//! experiment can sweep what a researcher thinks in (`[derive]` in the file,
//! `derive.*` in `[sweep]`). Applied to each configuration after the swept
//! values, in the order of the fields below.

use crate::net::faults::{FaultAction, FaultEntry};
use crate::net::latency::Latency;
use crate::protocols::ProtocolConfig;
use crate::scenario::Scenario;
use crate::time::Dur;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Derive {
    /// Raft: `protocol.heartbeat` = this ratio × the minimum election timeout
    /// (the Raft paper's §9.3 benchmark uses 0.5).
    pub heartbeat_ratio: Option<f64>,
    /// `faults.leader_crashes.jitter` = the heartbeat interval, so each leader
    /// crash lands uniformly within a heartbeat interval.
    pub leader_crash_within_heartbeat: bool,
    /// Raft: `net.latency` = a fixed one-way latency of this ratio × the width
    /// of the election timeout range (the `l` of the Raft dissertation §9.3).
    pub latency_ratio: Option<f64>,
    /// Nodes `n-1`, `n-2`, ... crash at time 0 and never recover.
    pub failed_servers: u32,
    /// A link that flaps: `node` is cut off from every other node at
    /// `first + k * every` and reconnected `down` later, `count` times.
    pub flapping_partition: Option<Flapping>,
    /// A partition that heals: the nodes `A..B` are cut off from all others
    /// at `at` and reconnected at `heal`
    /// (`{ nodes = "0..100", at = "500ms", heal = "3s" }`).
    pub partition: Option<Split>,
}

/// See [`Derive::partition`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Split {
    /// The nodes on one side, `"A..B"` (B excluded); the others form the other side.
    pub nodes: String,
    pub at: Dur,
    pub heal: Dur,
}

/// See [`Derive::flapping_partition`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flapping {
    pub node: u32,
    pub first: Dur,
    pub every: Dur,
    pub down: Dur,
    pub count: u32,
}

impl Derive {
    /// Sets the derived fields of `sc`; errors name the helper and the accepted range.
    pub fn apply(&self, sc: &mut Scenario) -> Result<(), String> {
        if let Some(r) = self.heartbeat_ratio {
            if !(r > 0.0 && r < 1.0) {
                return Err(format!(
                    "derive.heartbeat_ratio = {r} out of range (accepted: above 0 and below 1)"
                ));
            }
            match &mut sc.protocol {
                ProtocolConfig::Raft(c) => {
                    let ns = libm::floor(c.election_timeout.lo.0 as f64 * r) as u64;
                    c.heartbeat = Dur(ns.max(1));
                }
                #[allow(unreachable_patterns)]
                other => {
                    return Err(format!(
                        "derive.heartbeat_ratio applies to raft, not {}",
                        other.name()
                    ))
                }
            }
        }
        if self.leader_crash_within_heartbeat {
            let hb = match &sc.protocol {
                ProtocolConfig::Raft(c) => c.heartbeat,
                #[allow(unreachable_patterns)]
                other => {
                    return Err(format!(
                        "derive.leader_crash_within_heartbeat applies to raft, not {}",
                        other.name()
                    ))
                }
            };
            match &mut sc.faults.leader_crashes {
                Some(lc) => lc.jitter = hb,
                None => {
                    return Err(
                        "derive.leader_crash_within_heartbeat needs faults.leader_crashes (accepted: set [scenario.faults.leader_crashes])"
                            .into(),
                    )
                }
            }
        }
        if let Some(l) = self.latency_ratio {
            if !(l.is_finite() && l >= 0.0) {
                return Err(format!(
                    "derive.latency_ratio = {l} out of range (accepted: 0 or above)"
                ));
            }
            let width = match &sc.protocol {
                ProtocolConfig::Raft(c) => c.election_timeout.width(),
                #[allow(unreachable_patterns)]
                other => {
                    return Err(format!(
                        "derive.latency_ratio applies to raft, not {}",
                        other.name()
                    ))
                }
            };
            sc.net.latency = Latency::Fixed(Dur(libm::round(l * width as f64) as u64));
        }
        if self.failed_servers > 0 {
            if self.failed_servers >= sc.nodes {
                return Err(format!(
                    "derive.failed_servers = {} out of range (accepted: 0..{} for {} nodes)",
                    self.failed_servers, sc.nodes, sc.nodes
                ));
            }
            for k in 0..self.failed_servers {
                sc.faults.schedule.push(FaultEntry {
                    at: Dur::ZERO,
                    action: FaultAction::Crash(sc.nodes - 1 - k),
                });
            }
        }
        if let Some(p) = &self.partition {
            let bad = || {
                format!(
                    "derive.partition.nodes = '{}' (accepted: \"A..B\" with A < B <= {}, the nodes cut off from the others)",
                    p.nodes, sc.nodes
                )
            };
            let (a, b) = p.nodes.split_once("..").ok_or_else(bad)?;
            let (a, b): (u32, u32) = (
                a.trim().parse().map_err(|_| bad())?,
                b.trim().parse().map_err(|_| bad())?,
            );
            if a >= b || b > sc.nodes {
                return Err(bad());
            }
            if p.heal <= p.at {
                return Err(format!(
                    "derive.partition.heal = {} out of range (accepted: after at = {})",
                    p.heal, p.at
                ));
            }
            sc.faults.schedule.push(FaultEntry {
                at: p.at,
                action: FaultAction::Partition(vec![(a..b).collect()]),
            });
            sc.faults.schedule.push(FaultEntry {
                at: p.heal,
                action: FaultAction::Heal,
            });
        }
        if let Some(f) = &self.flapping_partition {
            if f.node >= sc.nodes {
                return Err(format!(
                    "derive.flapping_partition.node = {} out of range (accepted: 0..{})",
                    f.node, sc.nodes
                ));
            }
            if f.count > 1 && f.down >= f.every {
                return Err(format!(
                    "derive.flapping_partition.down = {} out of range (accepted: below every = {})",
                    f.down, f.every
                ));
            }
            if f.count > 10_000 {
                return Err(format!(
                    "derive.flapping_partition.count = {} out of range (accepted: 0..=10000)",
                    f.count
                ));
            }
            for k in 0..f.count as u64 {
                let at = Dur(f.first.0 + k * f.every.0);
                sc.faults.schedule.push(FaultEntry {
                    at,
                    action: FaultAction::Isolate(f.node),
                });
                sc.faults.schedule.push(FaultEntry {
                    at: Dur(at.0 + f.down.0),
                    action: FaultAction::Heal,
                });
            }
        }
        Ok(())
    }
}
