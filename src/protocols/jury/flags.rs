//! The jury's command-line flags: each overrides its `[protocol]` setting.

use super::JuryConfig;
use crate::node::NodeId;
use crate::protocols::voting::{Base, Missing, Threshold, Tie, Value};
use crate::protocols::Flags;
use crate::time::Dur;
use clap::Args;

/// A probability in 0..=1, the error naming the jury field.
fn parse_prob(field: &'static str) -> impl Fn(&str) -> Result<f64, String> + Clone {
    move |s: &str| match s.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(format!("jury.{field} '{s}' out of range (accepted: 0..=1)")),
    }
}

/// The jury's flags.
#[derive(Args, Debug, Clone, Default)]
pub struct JuryFlags {
    /// The chance that a juror's own draw is right, 0..=1 [default: 0.6].
    #[arg(long = "p", value_name = "P", value_parser = parse_prob("p"))]
    pub p: Option<f64>,
    /// The chance that a juror copies the shared opinion, 0..=1 [default: 0].
    #[arg(long, value_name = "RHO", value_parser = parse_prob("rho"))]
    pub rho: Option<f64>,
    /// The right answer: 0 or 1 [default: 1].
    #[arg(long, value_name = "V")]
    pub truth: Option<Value>,
    /// The juror whose draw is the shared opinion [default: 0].
    #[arg(long, value_name = "NODE")]
    pub source: Option<NodeId>,
    /// majority | supermajority:P/Q | unanimity | at-least:K [default: majority].
    #[arg(long, value_name = "THRESHOLD")]
    pub threshold: Option<Threshold>,
    /// What the threshold is a share of: cast | present | electorate [default: cast].
    #[arg(long, value_name = "BASE")]
    pub base: Option<Base>,
    /// Minimum jurors present [default: 0].
    #[arg(long, value_name = "N")]
    pub quorum: Option<u32>,
    /// Tie rule: none | lowest | highest | default:V [default: none].
    #[arg(long, value_name = "RULE")]
    pub tie: Option<Tie>,
    /// Missing votes at the deadline: absent | abstain | vote:V [default: abstain].
    #[arg(long, value_name = "RULE")]
    pub missing: Option<Missing>,
    /// When the tally closes [default: 1s].
    #[arg(long, value_name = "DUR")]
    pub deadline: Option<Dur>,
    /// Signed votes and opinions: true | false [default: true].
    #[arg(long, value_name = "BOOL")]
    pub signed: Option<bool>,
    /// A delay traitor votes this long before the deadline [default: 10ms].
    #[arg(long, value_name = "DUR")]
    pub delay_slack: Option<Dur>,
}

impl Flags<JuryConfig> for JuryFlags {
    fn apply(&self, cfg: &mut JuryConfig) -> Result<(), String> {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { cfg.$f = v; } )* };
        }
        set!(
            p,
            rho,
            truth,
            source,
            threshold,
            base,
            quorum,
            tie,
            missing,
            deadline,
            signed,
            delay_slack
        );
        Ok(())
    }
}
