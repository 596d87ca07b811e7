//! Bracha's command-line flags: each overrides its `[protocol]` setting.

use super::{BrachaConfig, BrachaVariant};
use crate::node::NodeId;
use crate::protocols::Flags;
use crate::time::Dur;
use clap::Args;

/// Bracha's flags.
#[derive(Args, Debug, Clone, Default)]
pub struct BrachaFlags {
    /// The node that broadcasts [default: 0].
    #[arg(long, value_name = "NODE")]
    pub sender: Option<NodeId>,
    /// The value it broadcasts [default: 1].
    #[arg(long, value_name = "V")]
    pub value: Option<u64>,
    /// Compute the thresholds for this many faults instead of ⌊(n−1)/3⌋ (0..=⌊(n−1)/3⌋).
    #[arg(long, value_name = "T")]
    pub assumed_f: Option<u32>,
    /// true: a message counts only for the node that sent it; false: its claimed origin is believed [default: true].
    #[arg(long, value_name = "BOOL")]
    pub signatures: Option<bool>,
    /// A node that has not delivered asks its peers to resend this often [default: 200ms].
    #[arg(long, value_name = "DUR")]
    pub resend: Option<Dur>,
    /// How long a `delay` node holds each message [default: 1s].
    #[arg(long, value_name = "DUR")]
    pub adversary_delay: Option<Dur>,
    /// correct | low-echo | low-amplify (deliberately broken variants).
    #[arg(long, value_name = "NAME")]
    pub variant: Option<BrachaVariant>,
}

impl Flags<BrachaConfig> for BrachaFlags {
    fn apply(&self, cfg: &mut BrachaConfig) -> Result<(), String> {
        if let Some(v) = self.sender {
            cfg.sender = v;
        }
        if let Some(v) = self.value {
            cfg.value = v;
        }
        if self.assumed_f.is_some() {
            cfg.assumed_f = self.assumed_f;
        }
        if let Some(v) = self.signatures {
            cfg.signatures = v;
        }
        if let Some(v) = self.resend {
            cfg.resend = v;
        }
        if let Some(v) = self.adversary_delay {
            cfg.adversary_delay = v;
        }
        if let Some(v) = self.variant {
            cfg.variant = v;
        }
        Ok(())
    }
}
