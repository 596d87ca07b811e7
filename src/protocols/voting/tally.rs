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
