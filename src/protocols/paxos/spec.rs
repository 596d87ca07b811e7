//! Paxos's registration: its name, settings, monitor, flags, and a derived
//! setting of experiment files (crashes of the node that drives the protocol).

use super::{Mode, Paxos, PaxosConfig, PaxosMonitor};
use crate::net::faults::{FaultAction, FaultEntry, LeaderCrashes};
use crate::protocols::{DeriveEnv, DerivedDef, Spec};
use crate::time::{Dur, SEC};

/// When the derived crashes happen: the first at 1 s, then every second.
const CRASH_EVERY: Dur = Dur(SEC);
/// How long each derived crash lasts.
const CRASH_DOWN: Dur = Dur(SEC / 2);

/// Single-decree Paxos and Multi-Paxos.
pub struct PaxosSpec;

impl Spec for PaxosSpec {
    const NAME: &'static str = "paxos";
    const SUMMARY: &'static str =
        "Paxos (Paxos Made Simple §2): single-decree with dueling proposers, and Multi-Paxos with a leader, a client workload and catch-up";
    type Node = Paxos;
    type Config = PaxosConfig;
    type Monitor = PaxosMonitor;
    #[cfg(feature = "cli")]
    type Flags = super::PaxosFlags;

    const DERIVED: &'static [DerivedDef] = &[DerivedDef {
        name: "driver_crashes",
        default: "0",
        definition: "the node that drives the protocol crashes this many times, at 1 s, 2 s, ..., each time for 500 ms: in Multi-Paxos the current leader (faults.leader_crashes), in single-decree Paxos proposer 0 (faults.schedule)",
    }];

    fn validate(cfg: &PaxosConfig, nodes: u32) -> Result<(), String> {
        cfg.validate(nodes)
    }

    fn derive(
        name: &str,
        value: &toml::Value,
        cfg: &mut PaxosConfig,
        env: &mut DeriveEnv<'_>,
    ) -> Result<(), String> {
        if name != "driver_crashes" {
            return Err(format!("derive.{name}: not a derived setting of paxos"));
        }
        let k = value
            .as_integer()
            .filter(|k| (0..=1000).contains(k))
            .ok_or_else(|| {
                format!("derive.driver_crashes = {value} out of range (accepted: 0..=1000)")
            })? as u32;
        match cfg.mode {
            Mode::Multi => {
                env.faults.leader_crashes = (k > 0).then_some(LeaderCrashes {
                    first: CRASH_EVERY,
                    every: CRASH_EVERY,
                    jitter: Dur::ZERO,
                    down: CRASH_DOWN,
                    count: k,
                });
            }
            Mode::Single => {
                for i in 1..=k as u64 {
                    let at = Dur(i * CRASH_EVERY.0);
                    env.faults.schedule.push(FaultEntry {
                        at,
                        action: FaultAction::Crash(0),
                    });
                    env.faults.schedule.push(FaultEntry {
                        at: Dur(at.0 + CRASH_DOWN.0),
                        action: FaultAction::Recover(0),
                    });
                }
            }
        }
        Ok(())
    }
}
