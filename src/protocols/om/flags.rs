//! OM's command-line flags: each overrides its `[protocol]` setting.

use super::{OmConfig, OmVariant, Order};
use crate::node::NodeId;
use crate::protocols::Flags;
use crate::time::Dur;
use clap::Args;

/// OM's flags.
#[derive(Args, Debug, Clone, Default)]
pub struct OmFlags {
    /// Relay rounds m of OM(m): tolerates m traitors when n > 3m [default: 1].
    #[arg(long = "m", value_name = "M")]
    pub m: Option<u32>,
    /// The commander's node id [default: 0].
    #[arg(long, value_name = "NODE")]
    pub commander: Option<NodeId>,
    /// A loyal commander's order: attack | retreat [default: attack].
    #[arg(long, value_name = "ORDER")]
    pub order: Option<Order>,
    /// Signed messages, SM(m): true | false [default: false].
    #[arg(long, value_name = "BOOL")]
    pub signed: Option<bool>,
    /// Length of a round [default: 100ms].
    #[arg(long, value_name = "DUR")]
    pub round: Option<Dur>,
    /// A delay traitor sends this long before its round ends [default: 10ms].
    #[arg(long, value_name = "DUR")]
    pub delay_slack: Option<Dur>,
    /// correct | obey-commander (a deliberately broken variant).
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<OmVariant>,
}

impl Flags<OmConfig> for OmFlags {
    fn apply(&self, cfg: &mut OmConfig) -> Result<(), String> {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { cfg.$f = v; } )* };
        }
        set!(m, commander, order, signed, round, delay_slack, variant);
        Ok(())
    }
}
