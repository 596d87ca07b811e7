//! Raft's registration: its name, settings, monitor, flags, and the derived
//! settings of experiment files that the Raft paper's §9.3 benchmark speaks in.

use super::{Raft, RaftConfig, RaftMonitor};
use crate::net::latency::Latency;
use crate::protocols::{DeriveEnv, DerivedDef, Spec};
use crate::time::Dur;

/// Raft leader election.
pub struct RaftSpec;

impl Spec for RaftSpec {
    const NAME: &'static str = "raft";
    const SUMMARY: &'static str =
        "Raft leader election (Figure 2, §5.2, §5.4.1) with Pre-Vote and CheckQuorum";
    type Node = Raft;
    type Config = RaftConfig;
    type Monitor = RaftMonitor;
    #[cfg(feature = "cli")]
    type Flags = super::RaftFlags;

    const DERIVED: &'static [DerivedDef] = &[
        DerivedDef {
            name: "heartbeat_ratio",
            default: "",
            definition: "protocol.heartbeat = this ratio × the minimum election timeout (the Raft paper's §9.3 benchmark uses 0.5)",
        },
        DerivedDef {
            name: "leader_crash_within_heartbeat",
            default: "false",
            definition: "faults.leader_crashes.jitter = the heartbeat interval, so each leader crash lands uniformly within a heartbeat interval",
        },
        DerivedDef {
            name: "latency_ratio",
            default: "",
            definition: "net.latency = a fixed one-way latency of this ratio × the width of the election timeout range (the l of the Raft dissertation §9.3)",
        },
    ];

    fn validate(cfg: &RaftConfig, nodes: u32) -> Result<(), String> {
        cfg.validate()?;
        if cfg.ineligible >= nodes {
            return Err(format!(
                "raft.ineligible = {} out of range (accepted: 0..{nodes}, fewer than the nodes)",
                cfg.ineligible
            ));
        }
        Ok(())
    }

    fn derive(
        name: &str,
        value: &toml::Value,
        c: &mut RaftConfig,
        env: &mut DeriveEnv<'_>,
    ) -> Result<(), String> {
        let ratio = |what: &str| -> Result<f64, String> {
            value
                .as_float()
                .or_else(|| value.as_integer().map(|i| i as f64))
                .ok_or_else(|| format!("derive.{what} = {value} is not a number"))
        };
        match name {
            "heartbeat_ratio" => {
                let r = ratio(name)?;
                if !(r > 0.0 && r < 1.0) {
                    return Err(format!(
                        "derive.heartbeat_ratio = {r} out of range (accepted: above 0 and below 1)"
                    ));
                }
                let ns = libm::floor(c.election_timeout.lo.0 as f64 * r) as u64;
                c.heartbeat = Dur(ns.max(1));
            }
            "leader_crash_within_heartbeat" => {
                let on = value.as_bool().ok_or_else(|| {
                    format!("derive.leader_crash_within_heartbeat = {value} is not true or false")
                })?;
                if on {
                    match &mut env.faults.leader_crashes {
                        Some(lc) => lc.jitter = c.heartbeat,
                        None => return Err(
                            "derive.leader_crash_within_heartbeat needs faults.leader_crashes (accepted: set [scenario.faults.leader_crashes])"
                                .into(),
                        ),
                    }
                }
            }
            "latency_ratio" => {
                let l = ratio(name)?;
                if !(l.is_finite() && l >= 0.0) {
                    return Err(format!(
                        "derive.latency_ratio = {l} out of range (accepted: 0 or above)"
                    ));
                }
                let width = c.election_timeout.width();
                env.net.latency = Latency::Fixed(Dur(libm::round(l * width as f64) as u64));
            }
            other => return Err(format!("derive.{other}: not a derived setting of raft")),
        }
        Ok(())
    }
}
