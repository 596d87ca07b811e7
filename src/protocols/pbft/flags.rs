//! PBFT's command-line flags: each overrides its `[protocol]` setting.

use super::{PbftConfig, PbftVariant};
use crate::protocols::Flags;
use crate::time::Dur;
use clap::Args;

/// PBFT's flags.
#[derive(Args, Debug, Clone, Default)]
pub struct PbftFlags {
    /// Compute the thresholds as the paper does for this many faults (quorum 2a+1, weak a+1), 0..=⌊(n−1)/3⌋ [default: f = ⌊(n−1)/3⌋, quorum ⌈(n+f+1)/2⌉].
    #[arg(long, value_name = "A")]
    pub assumed_f: Option<u32>,
    /// true: forged messages are rejected; false: their claimed origin is believed [default: true].
    #[arg(long, value_name = "BOOL")]
    pub signatures: Option<bool>,
    /// A replica waiting this long for a request starts a view change, doubled per view change without progress [default: 500ms].
    #[arg(long, value_name = "DUR")]
    pub view_change_timeout: Option<Dur>,
    /// The doubled view-change timeout grows no further than this [default: 4s].
    #[arg(long, value_name = "DUR")]
    pub view_change_timeout_max: Option<Dur>,
    /// A client proxy without f+1 matching replies retransmits to every replica after this long [default: 250ms].
    #[arg(long, value_name = "DUR")]
    pub client_retry: Option<Dur>,
    /// A replica stuck this long asks for what it lacks [default: 50ms].
    #[arg(long, value_name = "DUR")]
    pub resend: Option<Dur>,
    /// Sequence numbers in progress beyond the last executed one [default: 64].
    #[arg(long, value_name = "N")]
    pub window: Option<u32>,
    /// A `delay` replica sends this long before the view-change timeout fires [default: 100ms].
    #[arg(long, value_name = "DUR")]
    pub delay_margin: Option<Dur>,
    /// correct | no-certificates | weak-quorum (deliberately broken variants).
    #[arg(long, value_name = "NAME")]
    pub variant: Option<PbftVariant>,
}

impl Flags<PbftConfig> for PbftFlags {
    fn apply(&self, cfg: &mut PbftConfig) -> Result<(), String> {
        if self.assumed_f.is_some() {
            cfg.assumed_f = self.assumed_f;
        }
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { cfg.$f = v; } )* };
        }
        set!(
            signatures,
            view_change_timeout,
            view_change_timeout_max,
            client_retry,
            resend,
            window,
            delay_margin,
            variant
        );
        Ok(())
    }
}
