//! Threshold consensus's command-line flags: each overrides its `[protocol]` setting.

use super::{FaultBound, Inputs, ThresholdConfig, ThresholdVariant, VoteThreshold};
use crate::protocols::voting::{Base, Missing, Tie};
use crate::protocols::Flags;
use crate::time::Dur;
use clap::Args;

/// Threshold consensus's flags.
#[derive(Args, Debug, Clone, Default)]
pub struct ThresholdFlags {
    /// The f of n − f: max (⌊(n − 1)/3⌋) | marked (the nodes marked Byzantine) | a number [default: max].
    #[arg(long = "f", value_name = "F")]
    pub f: Option<FaultBound>,
    /// n-f | majority | supermajority:P/Q | unanimity | at-least:K [default: n-f].
    #[arg(long, value_name = "THRESHOLD")]
    pub threshold: Option<VoteThreshold>,
    /// What the threshold is a share of: cast | present | electorate [default: cast].
    #[arg(long, value_name = "BASE")]
    pub base: Option<Base>,
    /// Minimum voters present [default: 0].
    #[arg(long, value_name = "N")]
    pub quorum: Option<u32>,
    /// Tie rule: none | lowest | highest | default:V [default: none].
    #[arg(long, value_name = "RULE")]
    pub tie: Option<Tie>,
    /// Missing votes at the deadline: absent | abstain | vote:V [default: absent].
    #[arg(long, value_name = "RULE")]
    pub missing: Option<Missing>,
    /// When the tally closes [default: 1s].
    #[arg(long, value_name = "DUR")]
    pub deadline: Option<Dur>,
    /// Vote again this often until the deadline, 0s for once [default: 0s].
    #[arg(long, value_name = "DUR")]
    pub resend: Option<Dur>,
    /// What nodes propose: same:V | split | random:P [default: same:1].
    #[arg(long, value_name = "INPUTS")]
    pub inputs: Option<Inputs>,
    /// Signed votes: true | false [default: true].
    #[arg(long, value_name = "BOOL")]
    pub signed: Option<bool>,
    /// A delay traitor votes this long before the deadline [default: 10ms].
    #[arg(long, value_name = "DUR")]
    pub delay_slack: Option<Dur>,
    /// correct | count-duplicates (a deliberately broken variant).
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<ThresholdVariant>,
}

impl Flags<ThresholdConfig> for ThresholdFlags {
    fn apply(&self, cfg: &mut ThresholdConfig) -> Result<(), String> {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { cfg.$f = v; } )* };
        }
        set!(
            f,
            threshold,
            base,
            quorum,
            tie,
            missing,
            deadline,
            resend,
            inputs,
            signed,
            delay_slack,
            variant
        );
        Ok(())
    }
}
