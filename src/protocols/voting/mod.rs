//! Voting rules, shared by the voting protocols (`om`, `threshold-vote`,
//! `jury`): one reusable piece, not a protocol of its own.
//!
//! ```text
//!  ballots ──► Tally (one ballot per voter; a second, different one is a conflict)
//!                │ Counts: votes per value, abstentions
//!                ▼
//!  Rule::decide(counts, electorate, closed) ──► Decided(v) | Pending | NoDecision(why)
//!    threshold  majority | supermajority:P/Q | unanimity | at-least:K
//!    base       cast | present | electorate      (what the threshold is a share of)
//!    quorum     minimum voters present (abstentions count as present)
//!    missing    absent | abstain | vote:V        (how missing votes count at the deadline)
//!    tie        none | lowest | highest | default:V
//! ```
//!
//! **Values** are `u64` ([`Value`]); protocols map their own (attack = 1,
//! retreat = 0; guilty = 1, ...). **A ballot** is a vote for a value or an
//! abstention. Each voter counts once: the first ballot a tally records for a
//! voter counts, a later identical one is a repeat, a later different one is
//! a conflict (evidence of equivocation, or of a forgery) and changes nothing.
//!
//! **The threshold** is measured against the **base**: the votes cast
//! (abstentions left out, the usual reading of "a majority of the votes
//! cast"), the voters present (votes and abstentions), or the whole
//! electorate (every eligible voter, whether it voted or not):
//!
//! | threshold | a value `v` with `c` votes meets it when |
//! |---|---|
//! | `majority` | `2c > base` (strictly more than half) |
//! | `supermajority:P/Q` | `c·Q ≥ P·base` (at least the ratio P/Q, exact integer arithmetic) |
//! | `unanimity` | `c = base > 0` (every counted ballot is for `v`) |
//! | `at-least:K` | `c ≥ K` (an absolute count: "n − f votes agree") |
//!
//! **The quorum** is the minimum number of voters present (votes plus
//! abstentions); below it nothing is decided.
//!
//! **The tie rule**, deterministic: when two or more values lead with the
//! same count and either each of them meets the threshold (a weak threshold
//! such as `at-least:K` with `2K ≤ n`) or the threshold is `majority` and
//! they hold exactly half the base each (two values, `c = base/2`), the rule
//! decides: `none` (nothing is decided), `lowest` or `highest` (the lowest or
//! highest of the tied values), `default:V` (the status quo `V` wins, tied or
//! not). A value that meets the threshold alone with the most votes wins
//! without the tie rule.
//!
//! **The deadline.** Before it, the tally is open: a value is decided early
//! only when no completion of the missing ballots could change the outcome
//! (all missing voters voting for the strongest rival still leaves it
//! meeting the threshold with strictly more votes than the rival), and
//! nothing is decided early only when the quorum can no longer be met, or
//! (with tie rule `none`) no value could meet the threshold even if every
//! missing voter voted for it. At the deadline (`closed`) the missing
//! ballots count as the rule declares (`missing`): `absent` (not present at
//! all), `abstain` (present, abstaining) or `vote:V` (a vote for `V`, e.g.
//! "silence means no"), and the outcome is exact.

mod tally;
#[cfg(test)]
mod tests;

pub use tally::{Counts, Recorded, Tally};

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// A value voted on.
pub type Value = u64;

/// A voter's ballot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Ballot {
    /// A vote for a value.
    Vote(Value),
    /// Present, but for no value.
    Abstain,
}

/// A ratio `num/den` with `0 < num ≤ den`, compared with exact integers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ratio {
    /// Numerator.
    pub num: u32,
    /// Denominator.
    pub den: u32,
}

impl Ratio {
    /// `num/den`; panics unless `0 < num ≤ den` (use `parse` for input).
    pub const fn new(num: u32, den: u32) -> Ratio {
        assert!(num > 0 && num <= den);
        Ratio { num, den }
    }
}

impl FromStr for Ratio {
    type Err = String;
    fn from_str(s: &str) -> Result<Ratio, String> {
        let bad = || format!("ratio '{s}' (accepted: P/Q with 0 < P <= Q, e.g. 2/3)");
        let (p, q) = s.split_once('/').ok_or_else(bad)?;
        let num: u32 = p.trim().parse().map_err(|_| bad())?;
        let den: u32 = q.trim().parse().map_err(|_| bad())?;
        if num == 0 || num > den {
            return Err(bad());
        }
        Ok(Ratio { num, den })
    }
}

impl fmt::Display for Ratio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

/// What a value must reach to be decided (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Threshold {
    /// Strictly more than half of the base.
    Majority,
    /// At least this ratio of the base.
    Supermajority(Ratio),
    /// Every counted ballot of the base (and at least one).
    Unanimity,
    /// At least this many votes, whatever the base.
    AtLeast(u32),
}

impl Threshold {
    /// Whether `c` votes meet the threshold against `base`.
    #[inline]
    pub fn met(self, c: u32, base: u32) -> bool {
        let (c64, b64) = (c as u64, base as u64);
        match self {
            Threshold::Majority => 2 * c64 > b64,
            Threshold::Supermajority(r) => c > 0 && c64 * r.den as u64 >= r.num as u64 * b64,
            Threshold::Unanimity => c > 0 && c == base,
            Threshold::AtLeast(k) => c > 0 && c >= k,
        }
    }
}

impl FromStr for Threshold {
    type Err = String;
    fn from_str(s: &str) -> Result<Threshold, String> {
        let accepted =
            "accepted: majority, supermajority:P/Q (e.g. supermajority:2/3), unanimity, at-least:K";
        match s.trim() {
            "majority" => Ok(Threshold::Majority),
            "unanimity" => Ok(Threshold::Unanimity),
            t => {
                if let Some(r) = t.strip_prefix("supermajority:") {
                    return Ok(Threshold::Supermajority(
                        r.parse().map_err(|e| format!("threshold '{s}': {e}"))?,
                    ));
                }
                if let Some(k) = t.strip_prefix("at-least:") {
                    let k: u32 = k.trim().parse().map_err(|_| {
                        format!("threshold '{s}': K is not a whole number ({accepted})")
                    })?;
                    if k == 0 {
                        return Err(format!("threshold '{s}': K must be above 0 ({accepted})"));
                    }
                    return Ok(Threshold::AtLeast(k));
                }
                Err(format!("threshold '{s}' unknown ({accepted})"))
            }
        }
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Threshold::Majority => f.write_str("majority"),
            Threshold::Supermajority(r) => write!(f, "supermajority:{r}"),
            Threshold::Unanimity => f.write_str("unanimity"),
            Threshold::AtLeast(k) => write!(f, "at-least:{k}"),
        }
    }
}

/// What the threshold is a share of.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Base {
    /// The votes cast (abstentions left out).
    #[default]
    Cast,
    /// The voters present: votes and abstentions.
    Present,
    /// Every eligible voter, present or not.
    Electorate,
}

impl FromStr for Base {
    type Err = String;
    fn from_str(s: &str) -> Result<Base, String> {
        match s.trim() {
            "cast" => Ok(Base::Cast),
            "present" => Ok(Base::Present),
            "electorate" => Ok(Base::Electorate),
            _ => Err(format!(
                "base '{s}' unknown (accepted: cast, present, electorate)"
            )),
        }
    }
}

impl fmt::Display for Base {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Base::Cast => "cast",
            Base::Present => "present",
            Base::Electorate => "electorate",
        })
    }
}

/// The deterministic tie rule (see the module docs for when it applies).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Tie {
    /// A tie decides nothing.
    #[default]
    None,
    /// The lowest tied value wins.
    Lowest,
    /// The highest tied value wins.
    Highest,
    /// This value (the status quo) wins a tie, tied or not.
    Default(Value),
}

impl FromStr for Tie {
    type Err = String;
    fn from_str(s: &str) -> Result<Tie, String> {
        let accepted = "accepted: none, lowest, highest, default:V";
        match s.trim() {
            "none" => Ok(Tie::None),
            "lowest" => Ok(Tie::Lowest),
            "highest" => Ok(Tie::Highest),
            t => match t
                .strip_prefix("default:")
                .map(|v| v.trim().parse::<Value>())
            {
                Some(Ok(v)) => Ok(Tie::Default(v)),
                Some(Err(_)) => Err(format!("tie '{s}': V is not a whole number ({accepted})")),
                None => Err(format!("tie '{s}' unknown ({accepted})")),
            },
        }
    }
}

impl fmt::Display for Tie {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tie::None => f.write_str("none"),
            Tie::Lowest => f.write_str("lowest"),
            Tie::Highest => f.write_str("highest"),
            Tie::Default(v) => write!(f, "default:{v}"),
        }
    }
}

/// How the ballots still missing at the deadline count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Missing {
    /// Not present: they count for nothing, not even the quorum.
    #[default]
    Absent,
    /// Present, abstaining.
    Abstain,
    /// A vote for this value ("silence means no").
    Vote(Value),
}

impl FromStr for Missing {
    type Err = String;
    fn from_str(s: &str) -> Result<Missing, String> {
        let accepted = "accepted: absent, abstain, vote:V";
        match s.trim() {
            "absent" => Ok(Missing::Absent),
            "abstain" => Ok(Missing::Abstain),
            t => match t.strip_prefix("vote:").map(|v| v.trim().parse::<Value>()) {
                Some(Ok(v)) => Ok(Missing::Vote(v)),
                Some(Err(_)) => Err(format!(
                    "missing '{s}': V is not a whole number ({accepted})"
                )),
                None => Err(format!("missing '{s}' unknown ({accepted})")),
            },
        }
    }
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::Absent => f.write_str("absent"),
            Missing::Abstain => f.write_str("abstain"),
            Missing::Vote(v) => write!(f, "vote:{v}"),
        }
    }
}

/// Serde through the text spellings above (`"supermajority:2/3"`).
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
serde_by_str!(Ratio, Threshold, Base, Tie, Missing);

/// Why nothing was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoDecision {
    /// Fewer voters present than the quorum.
    NoQuorum {
        /// Voters present (votes and abstentions).
        present: u32,
        /// The quorum.
        quorum: u32,
    },
    /// No value met the threshold.
    NoWinner,
    /// A tie, and the tie rule is `none`.
    Tie,
}

impl fmt::Display for NoDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoDecision::NoQuorum { present, quorum } => {
                write!(f, "no quorum ({present} present, {quorum} needed)")
            }
            NoDecision::NoWinner => f.write_str("no value met the threshold"),
            NoDecision::Tie => f.write_str("a tie"),
        }
    }
}

/// What a rule makes of a tally.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub enum Outcome {
    /// This value is decided (for good: no missing ballot can change it).
    Decided(Value),
    /// The missing ballots could still change the outcome: wait.
    Pending,
    /// Nothing is decided (for good).
    None(NoDecision),
}

/// A voting rule: threshold, base, quorum, tie rule, and how missing votes
/// count at the deadline (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    /// What a value must reach.
    pub threshold: Threshold,
    /// What the threshold is a share of.
    pub base: Base,
    /// Minimum voters present (votes and abstentions); 0 for none.
    pub quorum: u32,
    /// The tie rule.
    pub tie: Tie,
    /// How missing ballots count at the deadline.
    pub missing: Missing,
}

impl Default for Rule {
    /// A simple majority of the votes cast, no quorum, ties decide nothing,
    /// missing votes absent.
    fn default() -> Self {
        Rule {
            threshold: Threshold::Majority,
            base: Base::Cast,
            quorum: 0,
            tie: Tie::None,
            missing: Missing::Absent,
        }
    }
}

impl Rule {
    /// A rule with this threshold and the defaults otherwise.
    pub fn with(threshold: Threshold) -> Rule {
        Rule {
            threshold,
            ..Rule::default()
        }
    }

    /// Checks the rule for an electorate of `electorate` voters; the error
    /// names the field (`PREFIX.quorum`) and the accepted range.
    pub fn validate(&self, electorate: u32, prefix: &str) -> Result<(), String> {
        if self.quorum > electorate {
            return Err(format!(
                "{prefix}.quorum = {} out of range (accepted: 0..={electorate}, the number of voters)",
                self.quorum
            ));
        }
        if let Threshold::AtLeast(k) = self.threshold {
            if k > electorate {
                return Err(format!(
                    "{prefix}.threshold = at-least:{k} out of range (accepted: at-least:1 to at-least:{electorate}, the number of voters)"
                ));
            }
        }
        Ok(())
    }

    /// The outcome of `counts` (ballots of `electorate` eligible voters).
    ///
    /// `closed`: the deadline has passed, so the voters with no ballot count
    /// as [`Rule::missing`] declares and the outcome is exact. Open, the
    /// outcome is [`Outcome::Pending`] unless it is certain whatever the
    /// missing voters do. With every ballot in, open and closed agree.
    pub fn decide(&self, counts: &Counts, electorate: u32, closed: bool) -> Outcome {
        let missing = electorate.saturating_sub(counts.present());
        if closed || missing == 0 {
            return self.exact(counts, electorate, missing);
        }
        self.early(counts, electorate, missing)
    }

    /// The exact outcome once the `missing` voters count as declared.
    fn exact(&self, counts: &Counts, electorate: u32, missing: u32) -> Outcome {
        let (mut abstain, mut extra) = (counts.abstentions(), None);
        match self.missing {
            Missing::Absent => {}
            Missing::Abstain => abstain += missing,
            Missing::Vote(v) if missing > 0 => extra = Some((v, missing)),
            Missing::Vote(_) => {}
        }
        let count = |v: Value| counts.of(v) + extra.filter(|e| e.0 == v).map_or(0, |e| e.1);
        let cast = counts.cast() + extra.map_or(0, |e| e.1);
        let present = cast + abstain;
        if present < self.quorum {
            return Outcome::None(NoDecision::NoQuorum {
                present,
                quorum: self.quorum,
            });
        }
        let base = self.base_of(cast, present, electorate);
        // The leaders: the values with the most votes (the extra value included).
        let mut top = 0;
        let mut leaders: [Value; 2] = [0; 2];
        let mut n_leaders = 0u32;
        let mut lowest_leader = Value::MAX;
        let mut highest_leader = 0;
        let mut consider = |v: Value, c: u32| {
            if c == 0 {
                return;
            }
            if c > top {
                top = c;
                n_leaders = 0;
                lowest_leader = Value::MAX;
                highest_leader = 0;
            }
            if c == top {
                if (n_leaders as usize) < leaders.len() {
                    leaders[n_leaders as usize] = v;
                }
                n_leaders += 1;
                lowest_leader = lowest_leader.min(v);
                highest_leader = highest_leader.max(v);
            }
        };
        for &(v, _) in counts.values() {
            consider(v, count(v));
        }
        if let Some((v, _)) = extra {
            if counts.of(v) == 0 {
                consider(v, count(v));
            }
        }
        if n_leaders == 0 {
            return Outcome::None(NoDecision::NoWinner);
        }
        if n_leaders == 1 {
            return if self.threshold.met(top, base) {
                Outcome::Decided(leaders[0])
            } else {
                Outcome::None(NoDecision::NoWinner)
            };
        }
        let tied = self.threshold.met(top, base)
            || (self.threshold == Threshold::Majority && n_leaders == 2 && 2 * top == base);
        if !tied {
            return Outcome::None(NoDecision::NoWinner);
        }
        match self.tie {
            Tie::None => Outcome::None(NoDecision::Tie),
            Tie::Lowest => Outcome::Decided(lowest_leader),
            Tie::Highest => Outcome::Decided(highest_leader),
            Tie::Default(v) => Outcome::Decided(v),
        }
    }

    /// The outcome if it is certain with `missing` ballots still to come.
    fn early(&self, counts: &Counts, electorate: u32, missing: u32) -> Outcome {
        let cast = counts.cast();
        let present = counts.present();
        // The quorum can no longer be met, whatever comes.
        if present + missing < self.quorum {
            return Outcome::None(NoDecision::NoQuorum {
                present: present + missing,
                quorum: self.quorum,
            });
        }
        // Certain winner: the leader still meets the threshold, with strictly
        // more votes than the strongest rival, if every missing voter votes
        // for that rival (the largest base and the strongest rival at once).
        if present >= self.quorum {
            if let Some((v, c)) = counts.leader() {
                let rival = counts.runner_up();
                let base = self.base_of(cast + missing, present + missing, electorate);
                if self.threshold.met(c, base) && c > rival + missing {
                    return Outcome::Decided(v);
                }
            }
        }
        // Certain failure (tie rule none): no value, seen or not, could meet
        // the threshold even with every missing vote.
        if self.tie == Tie::None {
            let best = counts.leader().map_or(0, |(_, c)| c) + missing;
            let base = self.base_of(cast + missing, present + missing, electorate);
            if !self.threshold.met(best, base) {
                return Outcome::None(NoDecision::NoWinner);
            }
        }
        Outcome::Pending
    }

    #[inline]
    fn base_of(&self, cast: u32, present: u32, electorate: u32) -> u32 {
        match self.base {
            Base::Cast => cast,
            Base::Present => present,
            Base::Electorate => electorate,
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} of {}, quorum {}, tie {}, missing {}",
            self.threshold, self.base, self.quorum, self.tie, self.missing
        )
    }
}

/// The exact probability that a majority of `n` independent voters, each
/// right with probability `p`, is right: `Σ_{k > n/2} C(n, k) p^k (1 − p)^(n − k)`
/// (Condorcet's jury theorem). A tie (even `n`) counts as not right.
pub fn majority_correct(n: u32, p: f64) -> f64 {
    binomial_tail(n, p, n / 2 + 1)
}

/// `P(X ≥ k)` for `X ~ Binomial(n, p)`, summed exactly term by term (each
/// term built by the recurrence on `C(n, j)`, in `f64`).
pub fn binomial_tail(n: u32, p: f64, k: u32) -> f64 {
    if k == 0 {
        return 1.0;
    }
    if k > n {
        return 0.0;
    }
    (k..=n).map(|j| binomial_pmf(n, p, j)).sum()
}

/// `P(X = j)` for `X ~ Binomial(n, p)`.
pub fn binomial_pmf(n: u32, p: f64, j: u32) -> f64 {
    if j > n {
        return 0.0;
    }
    // C(n, j) by the multiplicative formula, then the powers by libm (the
    // same bits on every platform).
    let mut c = 1.0f64;
    let j_small = j.min(n - j);
    for i in 0..j_small {
        c = c * (n - i) as f64 / (i + 1) as f64;
    }
    c * libm::pow(p, j as f64) * libm::pow(1.0 - p, (n - j) as f64)
}
