//! Paxos's command-line flags: each overrides its `[protocol]` setting.

use super::{Mode, PaxosConfig, PaxosVariant};
use crate::protocols::Flags;
use crate::time::{Dur, DurRange};
use clap::Args;

/// Paxos's flags; each overrides its setting of the `[protocol]` table.
#[derive(Args, Debug, Clone, Default)]
pub struct PaxosFlags {
    /// single (single-decree Paxos, one instance per slot) | multi (Multi-Paxos with a leader) [default: single].
    #[arg(long, value_name = "MODE")]
    pub mode: Option<Mode>,
    /// Proposers are nodes 0..N (0: every node) [default: 0].
    #[arg(long, value_name = "N")]
    pub proposers: Option<u32>,
    /// Acceptors are nodes 0..N (0: every node) [default: 0].
    #[arg(long, value_name = "N")]
    pub acceptors: Option<u32>,
    /// Learners are nodes 0..N plus every proposer (0: every node) [default: 0].
    #[arg(long, value_name = "N")]
    pub learners: Option<u32>,
    /// Single: each proposer proposes its own value for slot 0 at start (true | false) [default: true].
    #[arg(long, value_name = "BOOL")]
    pub own_value: Option<bool>,
    /// Single: when each proposer starts its first attempt, range LO..HI [default: 0ms..0ms].
    #[arg(long, value_name = "RANGE")]
    pub start: Option<DurRange>,
    /// Single: an attempt not decided this long after it started is given up [default: 100ms].
    #[arg(long, value_name = "DUR")]
    pub retry_timeout: Option<Dur>,
    /// Single: wait before retrying after a preemption or timeout, range LO..HI (0ms..0ms: at once) [default: 0ms..20ms].
    #[arg(long, value_name = "RANGE")]
    pub backoff: Option<DurRange>,
    /// Acceptors send NACKs (true | false) [default: true].
    #[arg(long, value_name = "BOOL")]
    pub nacks: Option<bool>,
    /// Multi: election timeout range LO..HI, drawn anew each wait [default: 150ms..300ms].
    #[arg(long, value_name = "RANGE")]
    pub election_timeout: Option<DurRange>,
    /// Multi: leader heartbeat interval (also the Accept resend interval) [default: 50ms].
    #[arg(long, value_name = "DUR")]
    pub heartbeat: Option<Dur>,
    /// Multi: most slots open at once at the leader (0: no limit) [default: 32].
    #[arg(long, value_name = "N")]
    pub window: Option<u32>,
    /// Multi: most commands per slot (1: no batching) [default: 1].
    #[arg(long, value_name = "N")]
    pub batch_max: Option<u32>,
    /// A client resends an unanswered command after this long [default: 500ms].
    #[arg(long, value_name = "DUR")]
    pub client_retry: Option<Dur>,
    /// correct | forget-promise | ignore-accepted | accept-below-promise (deliberately broken variants).
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<PaxosVariant>,
}

impl Flags<PaxosConfig> for PaxosFlags {
    fn apply(&self, cfg: &mut PaxosConfig) -> Result<(), String> {
        macro_rules! set {
            ($($f:ident),*) => {$(if let Some(v) = self.$f { cfg.$f = v; })*};
        }
        set!(
            mode,
            proposers,
            acceptors,
            learners,
            own_value,
            start,
            retry_timeout,
            backoff,
            nacks,
            election_timeout,
            heartbeat,
            window,
            batch_max,
            client_retry,
            variant
        );
        Ok(())
    }
}
