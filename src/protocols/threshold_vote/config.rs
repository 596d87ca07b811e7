//! Threshold consensus settings: one validated [`ThresholdConfig`] per run,
//! the `[protocol]` table of a scenario (`name = "threshold-vote"`) or flags
//! (`agentsim run threshold-vote --help`).

use crate::protocols::voting::{Base, Missing, Rule, Threshold, Tie, Value};
use crate::time::Dur;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// The number of faulty nodes `f` the threshold is computed for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum FaultBound {
    /// The most the bound `n ≥ 3f + 1` allows: `⌊(n − 1)/3⌋`.
    #[default]
    Max,
    /// The number of nodes the scenario marks Byzantine (as if the operator
    /// knew it): thresholds follow the adversary.
    Marked,
    /// This many.
    Fixed(u32),
}

impl FaultBound {
    /// `f` for `n` nodes of which `marked` are Byzantine.
    pub fn resolve(self, n: u32, marked: u32) -> u32 {
        match self {
            FaultBound::Max => n.saturating_sub(1) / 3,
            FaultBound::Marked => marked,
            FaultBound::Fixed(f) => f,
        }
    }
}

impl FromStr for FaultBound {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim() {
            "max" => Ok(FaultBound::Max),
            "marked" => Ok(FaultBound::Marked),
            t => t.parse().map(FaultBound::Fixed).map_err(|_| {
                format!("threshold-vote f '{s}' (accepted: max, marked, or a whole number)")
            }),
        }
    }
}

impl fmt::Display for FaultBound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FaultBound::Max => f.write_str("max"),
            FaultBound::Marked => f.write_str("marked"),
            FaultBound::Fixed(k) => write!(f, "{k}"),
        }
    }
}

impl Serialize for FaultBound {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            FaultBound::Fixed(k) => s.serialize_u32(*k),
            other => s.collect_str(other),
        }
    }
}

impl<'de> Deserialize<'de> for FaultBound {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u32),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(k) => Ok(FaultBound::Fixed(k)),
            Raw::S(s) => s.parse().map_err(serde::de::Error::custom),
        }
    }
}

/// The threshold: `n-f` (at least `n − f` votes agree), or any threshold
/// of the voting rules.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum VoteThreshold {
    /// At least `n − f` votes for one value.
    #[default]
    NMinusF,
    /// A voting rule's threshold (`majority`, `supermajority:2/3`, ...).
    Rule(Threshold),
}

impl FromStr for VoteThreshold {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.trim() == "n-f" {
            return Ok(VoteThreshold::NMinusF);
        }
        s.parse()
            .map(VoteThreshold::Rule)
            .map_err(|e| format!("{e}; or n-f"))
    }
}

impl fmt::Display for VoteThreshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VoteThreshold::NMinusF => f.write_str("n-f"),
            VoteThreshold::Rule(t) => t.fmt(f),
        }
    }
}

/// What the nodes propose.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Inputs {
    /// Every node proposes this value.
    Same(Value),
    /// Node `i` proposes `i mod 2`.
    Split,
    /// Each node proposes 1 with this probability, else 0 (from its own stream).
    Random(f64),
}

impl Default for Inputs {
    fn default() -> Self {
        Inputs::Same(1)
    }
}

impl FromStr for Inputs {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let accepted = "accepted: same:V, split, random:P with P in 0..=1";
        let t = s.trim();
        if t == "split" {
            return Ok(Inputs::Split);
        }
        if let Some(v) = t.strip_prefix("same:") {
            return v
                .trim()
                .parse()
                .map(Inputs::Same)
                .map_err(|_| format!("threshold-vote inputs '{s}' ({accepted})"));
        }
        if let Some(p) = t.strip_prefix("random:") {
            return match p.trim().parse::<f64>() {
                Ok(p) if (0.0..=1.0).contains(&p) => Ok(Inputs::Random(p)),
                _ => Err(format!("threshold-vote inputs '{s}' ({accepted})")),
            };
        }
        Err(format!("threshold-vote inputs '{s}' unknown ({accepted})"))
    }
}

impl fmt::Display for Inputs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Inputs::Same(v) => write!(f, "same:{v}"),
            Inputs::Split => f.write_str("split"),
            Inputs::Random(p) => write!(f, "random:{p}"),
        }
    }
}

/// Deliberately broken behaviours, selected by `variant`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ThresholdVariant {
    /// As specified.
    #[default]
    Correct,
    /// Counts every vote message, not every voter once: a repeated vote
    /// (a resend, a duplicate of the network, a traitor's) counts again.
    CountDuplicates,
}

impl FromStr for ThresholdVariant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "correct" => Ok(ThresholdVariant::Correct),
            "count-duplicates" => Ok(ThresholdVariant::CountDuplicates),
            _ => Err(format!(
                "threshold-vote variant '{s}' unknown (accepted: correct, count-duplicates)"
            )),
        }
    }
}

macro_rules! serde_by_str {
    ($($t:ty),*) => {$(
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d)?
                    .parse()
                    .map_err(serde::de::Error::custom)
            }
        }
    )*};
}
serde_by_str!(VoteThreshold, Inputs);

/// Threshold consensus settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ThresholdConfig {
    /// The `f` of `n − f`: `max` (`⌊(n − 1)/3⌋`), `marked` (the number of
    /// nodes marked Byzantine), or a number.
    pub f: FaultBound,
    /// `n-f`, or a voting threshold (`majority`, `supermajority:2/3`,
    /// `unanimity`, `at-least:K`).
    pub threshold: VoteThreshold,
    /// What the threshold is a share of: `cast`, `present`, `electorate`.
    pub base: Base,
    /// Minimum voters present.
    pub quorum: u32,
    /// The tie rule: `none`, `lowest`, `highest`, `default:V`.
    pub tie: Tie,
    /// How missing votes count at the deadline: `absent`, `abstain`, `vote:V`.
    pub missing: Missing,
    /// When the tally closes (from time 0).
    pub deadline: Dur,
    /// Each node sends its vote again this often until the deadline (0s: once).
    pub resend: Dur,
    /// What nodes propose: `same:V`, `split`, `random:P`.
    pub inputs: Inputs,
    /// Signed votes: a vote claimed for another voter is rejected.
    pub signed: bool,
    /// A `delay` traitor votes this long before the deadline.
    pub delay_slack: Dur,
    /// `correct` or a deliberately broken variant.
    pub variant: ThresholdVariant,
}

impl Default for ThresholdConfig {
    fn default() -> Self {
        ThresholdConfig {
            f: FaultBound::Max,
            threshold: VoteThreshold::NMinusF,
            base: Base::Cast,
            quorum: 0,
            tie: Tie::None,
            missing: Missing::Absent,
            deadline: Dur::from_ms(1000),
            resend: Dur::ZERO,
            inputs: Inputs::Same(1),
            signed: true,
            delay_slack: Dur::from_ms(10),
            variant: ThresholdVariant::Correct,
        }
    }
}

impl ThresholdConfig {
    /// The voting rule for `n` nodes, `f` of which the threshold allows for.
    pub fn rule(&self, n: u32, f: u32) -> Rule {
        let threshold = match self.threshold {
            VoteThreshold::NMinusF => Threshold::AtLeast(n.saturating_sub(f).max(1)),
            VoteThreshold::Rule(t) => t,
        };
        Rule {
            threshold,
            base: self.base,
            quorum: self.quorum,
            tie: self.tie,
            missing: self.missing,
        }
    }

    /// Checks the settings for `n` nodes; the error names the field and the
    /// accepted range.
    pub fn validate(&self, n: u32) -> Result<(), String> {
        if let FaultBound::Fixed(f) = self.f {
            if f >= n {
                return Err(format!(
                    "threshold-vote.f = {f} out of range (accepted: 0..{n}, max or marked)"
                ));
            }
        }
        let f = self.f.resolve(n, 0);
        self.rule(n, f).validate(n, "threshold-vote")?;
        if self.deadline.0 == 0 {
            return Err("threshold-vote.deadline must be above 0 (accepted: e.g. 1s)".into());
        }
        if self.delay_slack >= self.deadline {
            return Err(format!(
                "threshold-vote.delay_slack = {} out of range (accepted: below threshold-vote.deadline = {})",
                self.delay_slack, self.deadline
            ));
        }
        Ok(())
    }
}
