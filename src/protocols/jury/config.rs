//! Jury settings: the `[protocol]` table of a scenario (`name = "jury"`) or
//! flags (`agentsim run jury --help`).

use crate::node::NodeId;
use crate::protocols::voting::{Base, Missing, Rule, Threshold, Tie, Value};
use crate::time::Dur;
use serde::{Deserialize, Serialize};

/// Jury settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct JuryConfig {
    /// The chance that a juror's own draw is right.
    pub p: f64,
    /// The chance that a juror copies the shared opinion instead.
    pub rho: f64,
    /// The right answer: 0 or 1.
    pub truth: Value,
    /// The juror whose draw is the shared opinion (it broadcasts it when `rho > 0`).
    pub source: NodeId,
    /// The verdict's threshold: `majority`, `supermajority:P/Q`, `unanimity`, `at-least:K`.
    pub threshold: Threshold,
    /// What the threshold is a share of: `cast`, `present`, `electorate`.
    pub base: Base,
    /// Minimum jurors present.
    pub quorum: u32,
    /// The tie rule: `none`, `lowest`, `highest`, `default:V`.
    pub tie: Tie,
    /// How missing votes count at the deadline: `absent`, `abstain`, `vote:V`.
    pub missing: Missing,
    /// When the tally closes (from time 0).
    pub deadline: Dur,
    /// Signed votes and opinions.
    pub signed: bool,
    /// A `delay` traitor votes this long before the deadline.
    pub delay_slack: Dur,
}

impl Default for JuryConfig {
    fn default() -> Self {
        JuryConfig {
            p: 0.6,
            rho: 0.0,
            truth: 1,
            source: 0,
            threshold: Threshold::Majority,
            base: Base::Cast,
            quorum: 0,
            tie: Tie::None,
            missing: Missing::Abstain,
            deadline: Dur::from_ms(1000),
            signed: true,
            delay_slack: Dur::from_ms(10),
        }
    }
}

impl JuryConfig {
    /// The verdict's voting rule.
    pub fn rule(&self) -> Rule {
        Rule {
            threshold: self.threshold,
            base: self.base,
            quorum: self.quorum,
            tie: self.tie,
            missing: self.missing,
        }
    }

    /// Checks the settings for `n` jurors; the error names the field and
    /// the accepted range.
    pub fn validate(&self, n: u32) -> Result<(), String> {
        for (name, v) in [("p", self.p), ("rho", self.rho)] {
            if !(0.0..=1.0).contains(&v) {
                return Err(format!("jury.{name} = {v} out of range (accepted: 0..=1)"));
            }
        }
        if self.truth > 1 {
            return Err(format!(
                "jury.truth = {} out of range (accepted: 0 or 1)",
                self.truth
            ));
        }
        if self.source >= n {
            return Err(format!(
                "jury.source = {} out of range (accepted: 0..{n})",
                self.source
            ));
        }
        self.rule().validate(n, "jury")?;
        if self.deadline.0 == 0 {
            return Err("jury.deadline must be above 0 (accepted: e.g. 1s)".into());
        }
        if self.delay_slack >= self.deadline {
            return Err(format!(
                "jury.delay_slack = {} out of range (accepted: below jury.deadline = {})",
                self.delay_slack, self.deadline
            ));
        }
        Ok(())
    }
}
