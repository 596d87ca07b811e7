//! Raft's command-line flags: each overrides its `[protocol]` setting.

use super::{RaftConfig, RaftVariant};
use crate::protocols::Flags;
use crate::time::{Dur, DurRange};
use clap::Args;

/// Raft's flags.
#[derive(Args, Debug, Clone, Default)]
pub struct RaftFlags {
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
    /// The last N servers keep their logs one entry behind the leader's, so they cannot win while it lives (the Raft paper's §9.3 setup) [default: 0].
    #[arg(long, value_name = "N")]
    pub ineligible: Option<u32>,
    /// correct | forget-voted-for | double-vote (deliberately broken variants).
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<RaftVariant>,
}

impl Flags<RaftConfig> for RaftFlags {
    fn apply(&self, cfg: &mut RaftConfig) -> Result<(), String> {
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
        if let Some(v) = self.ineligible {
            cfg.ineligible = v;
        }
        if let Some(v) = self.variant {
            cfg.variant = v;
        }
        Ok(())
    }
}
