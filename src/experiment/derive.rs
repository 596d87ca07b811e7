//! Derived settings: helpers that set scenario fields from other fields, so an
//! experiment can sweep what a researcher thinks in (`[derive]` in the file,
//! `derive.*` in `[sweep]`). Applied to each configuration after the swept
//! values: first the protocol's own ([`crate::protocols::Spec::DERIVED`], in
//! the order it declares them), then the generic ones below, in their order.

use crate::net::faults::{FaultAction, FaultEntry};
use crate::protocols::{DeriveEnv, DynSpec};
use crate::scenario::Scenario;
use crate::time::Dur;
use serde::{Deserialize, Serialize};

/// The `[derive]` table of an experiment file, checked.
#[derive(Clone)]
pub struct Derive {
    generic: Generic,
    /// The protocol's derived settings given, in its declared order.
    protocol: Vec<(&'static str, toml::Value)>,
    spec: &'static dyn DynSpec,
}

/// The derived settings every protocol has.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct Generic {
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

/// `derive.partition`: a partition that heals (`{ nodes = "0..100", at = "500ms", heal = "3s" }`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Split {
    /// The nodes on one side, `"A..B"` (B excluded); the others form the other side.
    pub nodes: String,
    /// When the nodes are cut off.
    pub at: Dur,
    /// When they are reconnected, after `at` (a heal: every partition and cut ends).
    pub heal: Dur,
}

/// `derive.flapping_partition`: one node cut off from all others `count` times.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flapping {
    /// The node cut off, in `0..nodes`.
    pub node: u32,
    /// Time of the first cut.
    pub first: Dur,
    /// Time between two cuts.
    pub every: Dur,
    /// How long each cut lasts (a heal ends it); below `every` when `count > 1`.
    pub down: Dur,
    /// Number of cuts, at most 10000.
    pub count: u32,
}

/// The generic derived settings, for error messages.
const GENERIC: [&str; 3] = ["failed_servers", "partition", "flapping_partition"];

impl Derive {
    /// Checks a `[derive]` table for protocol `spec`: its own keys, then the
    /// generic ones; an unknown key is named with the accepted ones.
    pub fn from_table(mut t: toml::Table, spec: &'static dyn DynSpec) -> Result<Derive, String> {
        let mut protocol = Vec::new();
        for d in spec.derived() {
            if let Some(v) = t.remove(d.name) {
                protocol.push((d.name, v));
            }
        }
        if let Some(k) = t.keys().find(|k| !GENERIC.contains(&k.as_str())) {
            let accepted: Vec<&str> = spec
                .derived()
                .iter()
                .map(|d| d.name)
                .chain(GENERIC)
                .collect();
            return Err(format!(
                "derive.{k} unknown for protocol {} (accepted: {})",
                spec.name(),
                accepted.join(", ")
            ));
        }
        let generic: Generic = toml::Value::Table(t)
            .try_into()
            .map_err(|e: toml::de::Error| {
                format!("derive: {}", e.to_string().trim().replace('\n', " "))
            })?;
        Ok(Derive {
            generic,
            protocol,
            spec,
        })
    }

    /// The table with every setting in use: those given, then the defaults
    /// of the others (what results show in a swept `derive.*` column).
    pub fn normalized(&self) -> Result<toml::Table, String> {
        let mut t = toml::Table::try_from(&self.generic).map_err(|e| e.to_string())?;
        for d in self.spec.derived() {
            match self.protocol.iter().find(|(n, _)| *n == d.name) {
                Some((n, v)) => {
                    t.insert(n.to_string(), v.clone());
                }
                None if !d.default.is_empty() => {
                    let v = toml::from_str::<toml::Table>(&format!("x = {}", d.default))
                        .ok()
                        .and_then(|mut x| x.remove("x"))
                        .ok_or_else(|| format!("derive.{}: bad default {}", d.name, d.default))?;
                    t.insert(d.name.to_string(), v);
                }
                None => {}
            }
        }
        Ok(t)
    }

    /// Sets the derived fields of `sc`; errors name the helper and the accepted range.
    pub fn apply(&self, sc: &mut Scenario) -> Result<(), String> {
        for (name, value) in &self.protocol {
            let mut env = DeriveEnv {
                nodes: sc.nodes,
                net: &mut sc.net,
                faults: &mut sc.faults,
            };
            self.spec.derive(name, value, &mut sc.protocol, &mut env)?;
        }
        self.generic.apply(sc)
    }
}

impl Generic {
    fn apply(&self, sc: &mut Scenario) -> Result<(), String> {
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
