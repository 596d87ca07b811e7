//! Voting rules, shared by the voting protocols (`om`, `threshold-vote`,
//! `jury`): one reusable piece, not a protocol of its own (so a file beside
//! `quorum.rs`, not a folder: a folder under `protocols/` is a protocol).
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

mod tally {
    //! Counting ballots: [`Counts`] (votes per value, abstentions) and
    //! [`Tally`] (one ballot per voter, conflicts noticed).

    use super::{Ballot, Value};

    /// Votes per value and abstentions, without voters' names. Values are kept
    /// sorted (a short `Vec`: protocols vote on a handful of values), so
    /// iteration order is the values' order, never an accident.
    #[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
    pub struct Counts {
        votes: Vec<(Value, u32)>,
        /// The sum of the votes' counts, kept as they are added.
        cast: u32,
        abstain: u32,
    }

    impl Counts {
        /// No ballot.
        pub fn new() -> Counts {
            Counts::default()
        }

        /// Counts of these ballots.
        pub fn of_ballots(ballots: impl IntoIterator<Item = Ballot>) -> Counts {
            let mut c = Counts::new();
            for b in ballots {
                c.add(b);
            }
            c
        }

        /// Adds one ballot.
        #[inline]
        pub fn add(&mut self, b: Ballot) {
            match b {
                Ballot::Abstain => self.abstain += 1,
                Ballot::Vote(v) => {
                    self.cast += 1;
                    match self.votes.binary_search_by_key(&v, |e| e.0) {
                        Ok(i) => self.votes[i].1 += 1,
                        Err(i) => self.votes.insert(i, (v, 1)),
                    }
                }
            }
        }

        /// Votes for `v`.
        #[inline]
        pub fn of(&self, v: Value) -> u32 {
            self.votes
                .binary_search_by_key(&v, |e| e.0)
                .map_or(0, |i| self.votes[i].1)
        }

        /// `(value, votes)` of every value voted for, in value order.
        pub fn values(&self) -> &[(Value, u32)] {
            &self.votes
        }

        /// Votes cast (abstentions left out).
        #[inline]
        pub fn cast(&self) -> u32 {
            self.cast
        }

        /// Abstentions.
        pub fn abstentions(&self) -> u32 {
            self.abstain
        }

        /// Voters present: votes and abstentions.
        #[inline]
        pub fn present(&self) -> u32 {
            self.cast() + self.abstain
        }

        /// The value with the most votes (the lowest such value if several tie).
        pub fn leader(&self) -> Option<(Value, u32)> {
            let mut best: Option<(Value, u32)> = None;
            for &(v, c) in &self.votes {
                if best.is_none_or(|b| c > b.1) {
                    best = Some((v, c));
                }
            }
            best
        }

        /// The second-highest count (equal to the leader's when two values tie
        /// for the lead; 0 with fewer than two values).
        pub fn runner_up(&self) -> u32 {
            let (mut first, mut second) = (0, 0);
            for &(_, c) in &self.votes {
                if c > first {
                    second = first;
                    first = c;
                } else if c > second {
                    second = c;
                }
            }
            second
        }

        /// Forgets every ballot (keeps the allocation).
        pub fn clear(&mut self) {
            self.votes.clear();
            self.cast = 0;
            self.abstain = 0;
        }
    }

    /// What [`Tally::record`] made of a ballot.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
    pub enum Recorded {
        /// The voter's first ballot: counted.
        New,
        /// The same ballot again: ignored.
        Repeat,
        /// A different ballot from a voter already counted: ignored (the first
        /// one stands). Evidence of equivocation, or of a forgery.
        Conflict {
            /// The ballot that stands.
            first: Ballot,
        },
    }

    /// One ballot per voter of an electorate `0..electorate`, with its counts.
    ///
    /// A voter's ballot is kept in 4 bytes (abstain, or the index of its
    /// value among the distinct values seen), and whether it has one in a bit:
    /// a first ballot (the common case) reads only the bit set, `n/8` bytes,
    /// and writes its 4 bytes; the ballot itself is read only for a repeat or
    /// a conflict. At `n = 1000` nodes each tallying every other, the bit sets
    /// take 125 KB where one 16-byte ballot per voter took 16 MB.
    #[derive(Clone, Debug, PartialEq, Eq, Hash)]
    pub struct Tally {
        /// Bit `v`: voter `v` has a ballot.
        seen: Vec<u64>,
        /// 1: abstained; `k + 2`: voted `values[k]` (meaningful when seen).
        ballots: Vec<u32>,
        /// The distinct values voted, in the order first seen.
        values: Vec<Value>,
        counts: Counts,
        received: u32,
    }

    const NONE: u32 = 0;
    const ABSTAIN: u32 = 1;

    impl Tally {
        /// An empty tally for voters `0..electorate`.
        pub fn new(electorate: u32) -> Tally {
            Tally {
                seen: vec![0; (electorate as usize).div_ceil(64)],
                ballots: vec![NONE; electorate as usize],
                values: Vec::new(),
                counts: Counts::new(),
                received: 0,
            }
        }

        fn code(&mut self, b: Ballot) -> u32 {
            match b {
                Ballot::Abstain => ABSTAIN,
                Ballot::Vote(v) => {
                    let k = match self.values.iter().position(|&x| x == v) {
                        Some(k) => k,
                        None => {
                            self.values.push(v);
                            self.values.len() - 1
                        }
                    };
                    k as u32 + 2
                }
            }
        }

        fn decode(&self, code: u32) -> Option<Ballot> {
            match code {
                NONE => None,
                ABSTAIN => Some(Ballot::Abstain),
                k => Some(Ballot::Vote(self.values[(k - 2) as usize])),
            }
        }

        /// Records `voter`'s ballot: the first one counts (a voter outside the
        /// electorate is ignored, as a repeat).
        #[inline]
        pub fn record(&mut self, voter: u32, b: Ballot) -> Recorded {
            let i = voter as usize;
            if i >= self.ballots.len() {
                return Recorded::Repeat;
            }
            let (word, bit) = (i / 64, 1u64 << (i % 64));
            if self.seen[word] & bit == 0 {
                self.seen[word] |= bit;
                let code = self.code(b);
                self.ballots[i] = code;
                self.counts.add(b);
                self.received += 1;
                return Recorded::New;
            }
            let first = self.decode(self.ballots[i]).expect("a recorded ballot");
            if first == b {
                Recorded::Repeat
            } else {
                Recorded::Conflict { first }
            }
        }

        /// `voter`'s counted ballot, if any.
        pub fn ballot(&self, voter: u32) -> Option<Ballot> {
            self.ballots
                .get(voter as usize)
                .and_then(|&c| self.decode(c))
        }

        /// The counts.
        pub fn counts(&self) -> &Counts {
            &self.counts
        }

        /// Number of eligible voters.
        pub fn electorate(&self) -> u32 {
            self.ballots.len() as u32
        }

        /// Voters whose ballot was recorded.
        pub fn received(&self) -> u32 {
            self.received
        }

        /// Voters with no ballot yet.
        pub fn missing(&self) -> u32 {
            self.electorate() - self.received
        }

        /// The outcome under `rule` (see [`super::Rule::decide`]).
        pub fn outcome(&self, rule: &super::Rule, closed: bool) -> super::Outcome {
            rule.decide(&self.counts, self.electorate(), closed)
        }

        /// Forgets every ballot.
        pub fn clear(&mut self) {
            self.seen.iter_mut().for_each(|w| *w = 0);
            self.ballots.iter_mut().for_each(|b| *b = NONE);
            self.values.clear();
            self.counts.clear();
            self.received = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    //! Table-driven tests of the voting rules, and an exhaustive check that an
    //! early decision is never contradicted by the ballots still to come.

    use super::*;

    fn counts(votes: &[(Value, u32)], abstain: u32) -> Counts {
        let mut c = Counts::new();
        for &(v, k) in votes {
            for _ in 0..k {
                c.add(Ballot::Vote(v));
            }
        }
        for _ in 0..abstain {
            c.add(Ballot::Abstain);
        }
        c
    }

    fn rule(s: &str) -> Rule {
        // "THRESHOLD base quorum tie missing", e.g. "majority cast 0 none absent".
        let w: Vec<&str> = s.split_whitespace().collect();
        Rule {
            threshold: w[0].parse().unwrap(),
            base: w.get(1).map_or(Base::Cast, |b| b.parse().unwrap()),
            quorum: w.get(2).map_or(0, |q| q.parse().unwrap()),
            tie: w.get(3).map_or(Tie::None, |t| t.parse().unwrap()),
            missing: w.get(4).map_or(Missing::Absent, |m| m.parse().unwrap()),
        }
    }

    use Outcome::{Decided, Pending};
    const NO_WINNER: Outcome = Outcome::None(NoDecision::NoWinner);
    const TIE: Outcome = Outcome::None(NoDecision::Tie);

    #[test]
    fn spellings_round_trip_and_bad_ones_name_the_accepted_values() {
        for s in [
            "majority",
            "supermajority:2/3",
            "supermajority:3/4",
            "unanimity",
            "at-least:7",
        ] {
            assert_eq!(s.parse::<Threshold>().unwrap().to_string(), s);
        }
        for s in ["none", "lowest", "highest", "default:0"] {
            assert_eq!(s.parse::<Tie>().unwrap().to_string(), s);
        }
        for s in ["absent", "abstain", "vote:1"] {
            assert_eq!(s.parse::<Missing>().unwrap().to_string(), s);
        }
        for s in ["cast", "present", "electorate"] {
            assert_eq!(s.parse::<Base>().unwrap().to_string(), s);
        }
        for bad in [
            "supermajority:3/2",
            "supermajority:0/3",
            "supermajority:2",
            "at-least:0",
            "at-least:x",
            "plurality",
        ] {
            let e = bad.parse::<Threshold>().unwrap_err();
            assert!(e.contains("accepted"), "{bad}: {e}");
        }
        assert!("coin".parse::<Tie>().unwrap_err().contains("accepted"));
        assert!("vote:".parse::<Missing>().unwrap_err().contains("accepted"));
        // Through serde, as in a scenario file.
        let t: Threshold = serde_json::from_str("\"supermajority:2/3\"").unwrap();
        assert_eq!(t, Threshold::Supermajority(Ratio::new(2, 3)));
        assert_eq!(
            serde_json::to_string(&Tie::Default(3)).unwrap(),
            "\"default:3\""
        );
    }

    #[test]
    fn thresholds_against_their_base() {
        // (rule, votes, abstentions, electorate, outcome with every ballot in or closed)
        type Row = (&'static str, &'static [(Value, u32)], u32, u32, Outcome);
        let table: &[Row] = &[
            // Majority is strictly more than half of the votes cast.
            ("majority", &[(1, 3), (0, 2)], 0, 5, Decided(1)),
            ("majority", &[(1, 3), (0, 3)], 0, 6, TIE),
            ("majority", &[(1, 3), (0, 2), (2, 2)], 0, 7, NO_WINNER),
            // Abstentions leave the votes cast alone, but not the voters present.
            ("majority cast", &[(1, 2), (0, 1)], 3, 6, Decided(1)),
            ("majority present", &[(1, 2), (0, 1)], 3, 6, NO_WINNER),
            // Of the electorate, missing voters count against every value.
            ("majority electorate", &[(1, 3)], 0, 6, NO_WINNER),
            ("majority electorate", &[(1, 4)], 0, 6, Decided(1)),
            // Supermajority: exact ratios, no rounding.
            ("supermajority:2/3", &[(1, 6), (0, 3)], 0, 9, Decided(1)),
            ("supermajority:2/3", &[(1, 5), (0, 3)], 0, 8, NO_WINNER),
            ("supermajority:2/3", &[(1, 2), (0, 1)], 0, 3, Decided(1)),
            ("supermajority:3/4", &[(1, 3), (0, 1)], 0, 4, Decided(1)),
            ("supermajority:3/4", &[(1, 5), (0, 2)], 0, 7, NO_WINNER),
            // Unanimity: one dissent is enough; abstentions only with base present.
            ("unanimity", &[(1, 5)], 0, 5, Decided(1)),
            ("unanimity", &[(1, 4), (0, 1)], 0, 5, NO_WINNER),
            ("unanimity cast", &[(1, 4)], 1, 5, Decided(1)),
            ("unanimity present", &[(1, 4)], 1, 5, NO_WINNER),
            // At least K, whatever the base.
            ("at-least:3", &[(1, 3), (0, 1)], 0, 4, Decided(1)),
            ("at-least:3", &[(1, 2), (0, 2)], 0, 4, NO_WINNER),
            // Nothing voted.
            ("majority", &[], 4, 4, NO_WINNER),
            ("unanimity", &[], 0, 0, NO_WINNER),
        ];
        for &(r, v, a, e, want) in table {
            let c = counts(v, a);
            assert_eq!(
                rule(r).decide(&c, e, true),
                want,
                "{r} {v:?} abstain {a} of {e}"
            );
        }
    }

    #[test]
    fn the_quorum_counts_voters_present_abstentions_included() {
        let r = rule("majority cast 4");
        assert_eq!(
            r.decide(&counts(&[(1, 3)], 0), 6, true),
            Outcome::None(NoDecision::NoQuorum {
                present: 3,
                quorum: 4
            })
        );
        assert_eq!(r.decide(&counts(&[(1, 3)], 1), 6, true), Decided(1));
        // Open, with 2 missing: it may still be met, so wait...
        assert_eq!(r.decide(&counts(&[(1, 3)], 0), 5, false), Pending);
        // ... and with 2 missing it can still be met...
        assert_eq!(r.decide(&counts(&[(1, 2)], 0), 4, false), Pending);
        // ... but not with too few voters left, open or closed.
        assert_eq!(
            r.decide(&counts(&[(1, 2)], 0), 3, false),
            Outcome::None(NoDecision::NoQuorum {
                present: 3,
                quorum: 4
            })
        );
        assert_eq!(
            r.decide(&counts(&[(1, 2)], 0), 3, true),
            Outcome::None(NoDecision::NoQuorum {
                present: 2,
                quorum: 4
            })
        );
    }

    #[test]
    fn missing_votes_count_as_declared_at_the_deadline() {
        // 5 voters; 2 voted 1, 3 are missing.
        let c = counts(&[(1, 2)], 0);
        assert_eq!(
            rule("majority cast 0 none absent").decide(&c, 5, true),
            Decided(1)
        );
        assert_eq!(
            rule("majority present 0 none abstain").decide(&c, 5, true),
            NO_WINNER
        );
        // "Silence means no": the 3 missing are votes for 0.
        assert_eq!(
            rule("majority cast 0 none vote:0").decide(&c, 5, true),
            Decided(0)
        );
        // Missing voters counted as abstaining make the quorum.
        assert_eq!(
            rule("majority cast 4 none abstain").decide(&c, 5, true),
            Decided(1)
        );
        assert!(matches!(
            rule("majority cast 4 none absent").decide(&c, 5, true),
            Outcome::None(NoDecision::NoQuorum { .. })
        ));
        // Before the deadline none of these is certain.
        for r in ["majority cast 0 none absent", "majority cast 0 none vote:0"] {
            assert_eq!(rule(r).decide(&c, 5, false), Pending, "{r}");
        }
    }

    #[test]
    fn the_tie_rule_is_deterministic_and_applies_only_to_ties() {
        let even = counts(&[(3, 2), (8, 2)], 0);
        for (tie, want) in [
            ("none", TIE),
            ("lowest", Decided(3)),
            ("highest", Decided(8)),
            ("default:5", Decided(5)),
        ] {
            let r = rule(&format!("majority cast 0 {tie}"));
            assert_eq!(r.decide(&even, 4, true), want, "{tie}");
        }
        // Two values that both meet a weak threshold with the same count: a tie.
        let r = rule("at-least:2 cast 0 lowest");
        assert_eq!(r.decide(&counts(&[(4, 2), (1, 2)], 0), 4, true), Decided(1));
        // The most votes wins a weak threshold without the tie rule.
        assert_eq!(r.decide(&counts(&[(4, 3), (1, 2)], 0), 5, true), Decided(4));
        // Leaders tied below half of the votes cast: no majority, not a tie.
        let three = counts(&[(0, 2), (1, 2), (2, 1)], 0);
        assert_eq!(
            rule("majority cast 0 lowest").decide(&three, 5, true),
            NO_WINNER
        );
        // A tie of the supermajority is not resolved by the tie rule either.
        let r = rule("supermajority:2/3 cast 0 lowest");
        assert_eq!(r.decide(&even, 4, true), NO_WINNER);
    }

    #[test]
    fn early_decisions_when_no_missing_ballot_can_change_them() {
        // n − f = 3 of 4: three agreeing votes decide before the fourth arrives.
        let r = rule("at-least:3");
        assert_eq!(r.decide(&counts(&[(1, 3)], 0), 4, false), Decided(1));
        assert_eq!(r.decide(&counts(&[(1, 2), (0, 1)], 0), 4, false), Pending);
        // 2 for, 2 against: no value can reach 3 any more.
        assert_eq!(r.decide(&counts(&[(1, 2), (0, 2)], 0), 5, false), Pending);
        assert_eq!(r.decide(&counts(&[(1, 2), (0, 2)], 0), 4, false), NO_WINNER);
        // Majority of 7 votes cast: 4 agreeing is certain; 3 of 3 is not (the
        // 4 missing could all vote against).
        let m = rule("majority");
        assert_eq!(m.decide(&counts(&[(1, 4)], 0), 7, false), Decided(1));
        assert_eq!(m.decide(&counts(&[(1, 3)], 0), 7, false), Pending);
        // Every ballot in: open and closed agree.
        let full = counts(&[(1, 2), (0, 2)], 0);
        assert_eq!(m.decide(&full, 4, false), m.decide(&full, 4, true));
    }

    /// Every count vector of `e` voters over values 0, 1, 2, abstention and
    /// missing: `[c0, c1, c2, abstain, missing]`.
    fn compositions(e: u32) -> Vec<[u32; 5]> {
        let mut out = Vec::new();
        for a in 0..=e {
            for b in 0..=e - a {
                for c in 0..=e - a - b {
                    for d in 0..=e - a - b - c {
                        out.push([a, b, c, d, e - a - b - c - d]);
                    }
                }
            }
        }
        out
    }

    fn counts_of(k: &[u32; 5]) -> Counts {
        counts(&[(0, k[0]), (1, k[1]), (2, k[2])], k[3])
    }

    /// Reference: an early outcome is sound. For every tally of up to 5
    /// voters with some ballots missing, and every rule, if the open tally says
    /// `Decided(v)`, every completion of the missing ballots (each missing
    /// voter votes 0, 1 or 2, abstains, or stays missing until the deadline)
    /// decides `v`; if it says `None`, no completion decides anything.
    #[test]
    fn an_early_outcome_is_never_contradicted_by_the_missing_ballots() {
        let thresholds = [
            "majority",
            "supermajority:2/3",
            "unanimity",
            "at-least:1",
            "at-least:2",
            "at-least:3",
        ];
        let mut rules = Vec::new();
        for t in thresholds {
            for b in ["cast", "present", "electorate"] {
                for q in [0, 2, 4] {
                    for tie in ["none", "lowest", "default:1"] {
                        for m in ["absent", "abstain", "vote:0"] {
                            rules.push(rule(&format!("{t} {b} {q} {tie} {m}")));
                        }
                    }
                }
            }
        }
        let (mut decided, mut failed) = (0u64, 0u64);
        for e in 1..=5u32 {
            for k in compositions(e) {
                let m = k[4];
                if m == 0 {
                    continue;
                }
                let open = counts_of(&k);
                for r in &rules {
                    let early = r.decide(&open, e, false);
                    if early == Pending {
                        continue;
                    }
                    match early {
                        Decided(_) => decided += 1,
                        _ => failed += 1,
                    }
                    for add in compositions(m) {
                        let mut full = k;
                        for i in 0..4 {
                            full[i] += add[i];
                        }
                        full[4] = add[4];
                        let closed = r.decide(&counts_of(&full), e, true);
                        match early {
                            Decided(v) => assert_eq!(closed, Decided(v), "{r}: {k:?} + {add:?}"),
                            _ => assert!(
                                !matches!(closed, Decided(_)),
                                "{r}: {k:?} said {early:?}, but {add:?} gives {closed:?}"
                            ),
                        }
                    }
                }
            }
        }
        // The check exercised both kinds of early outcome.
        assert!(decided > 1000 && failed > 1000, "{decided} {failed}");
    }

    #[test]
    fn a_tally_counts_each_voter_once_and_notices_conflicts() {
        let mut t = Tally::new(4);
        assert_eq!(t.record(0, Ballot::Vote(1)), Recorded::New);
        assert_eq!(t.record(0, Ballot::Vote(1)), Recorded::Repeat);
        assert_eq!(
            t.record(0, Ballot::Vote(2)),
            Recorded::Conflict {
                first: Ballot::Vote(1)
            }
        );
        assert_eq!(t.record(1, Ballot::Abstain), Recorded::New);
        assert_eq!(t.record(9, Ballot::Vote(1)), Recorded::Repeat);
        assert_eq!((t.received(), t.missing()), (2, 2));
        assert_eq!(t.counts().of(1), 1);
        assert_eq!(t.counts().of(2), 0);
        assert_eq!(t.ballot(0), Some(Ballot::Vote(1)));
        assert_eq!(t.outcome(&Rule::default(), true), Decided(1));
        t.clear();
        assert_eq!((t.received(), t.counts().present()), (0, 0));
    }

    #[test]
    fn rules_are_validated_against_the_electorate() {
        let mut r = rule("at-least:5");
        assert!(r.validate(5, "jury").is_ok());
        let e = r.validate(4, "jury").unwrap_err();
        assert!(
            e.contains("jury.threshold") && e.contains("at-least:4"),
            "{e}"
        );
        r = rule("majority cast 6");
        let e = r.validate(5, "jury").unwrap_err();
        assert!(e.contains("jury.quorum = 6") && e.contains("0..=5"), "{e}");
    }

    #[test]
    fn condorcet_exact_probabilities() {
        // Reference: Condorcet's jury theorem; n = 3, p = 0.6: p³ + 3p²(1 − p).
        assert!((majority_correct(1, 0.6) - 0.6).abs() < 1e-15);
        assert!((majority_correct(3, 0.6) - 0.648).abs() < 1e-12);
        // The pmf sums to 1.
        let s: f64 = (0..=25).map(|j| binomial_pmf(25, 0.37, j)).sum();
        assert!((s - 1.0).abs() < 1e-12);
        // Rising with n above 1/2, falling below it, to 1 and 0.
        let mut last = 0.0;
        for n in (1..200).step_by(2) {
            let a = majority_correct(n, 0.6);
            assert!(a > last);
            last = a;
            assert!(majority_correct(n, 0.4) <= 0.4 + 1e-12);
        }
        assert!(last > 0.997);
        // An even jury loses its ties: n = 2 is right only when both are.
        assert!((majority_correct(2, 0.6) - 0.36).abs() < 1e-12);
    }
}
