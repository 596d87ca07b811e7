//! Paxos's registration: its name, settings, monitor and flags.

use super::{Paxos, PaxosConfig, PaxosMonitor};
use crate::protocols::Spec;

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

    fn validate(cfg: &PaxosConfig, nodes: u32) -> Result<(), String> {
        cfg.validate(nodes)
    }
}
