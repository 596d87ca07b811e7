//! The nouns of Paxos: ballots (proposal numbers), client commands and the
//! values a slot can hold, and a small bit set over command sequence numbers.

use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};
use std::fmt;
use std::sync::Arc;

/// A ballot (a proposal number in *Paxos Made Simple*): totally ordered by
/// `(round, node)`, so two proposers never issue the same one (§2.2: "different
/// proposers choose their numbers from disjoint sets"). Round 0 is
/// [`Ballot::NONE`], below every real ballot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Ballot {
    /// The round, 1 and up for a real ballot.
    pub round: u32,
    /// The proposer that issued it.
    pub node: u32,
}

impl Ballot {
    /// No ballot: below every ballot a proposer issues.
    pub const NONE: Ballot = Ballot { round: 0, node: 0 };

    /// Whether this is a ballot some proposer issued.
    #[inline]
    pub fn is_some(self) -> bool {
        self.round > 0
    }
}

impl fmt::Display for Ballot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.round, self.node)
    }
}

/// A client command: the `seq`-th submission of the workload, from `client`,
/// handed to node `proxy` (which stands in for the client: it retries and
/// receives the answer). Submission indices are unique across clients, so
/// `(client, seq)` identifies a command and `seq` alone indexes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Cmd {
    /// The workload's client.
    pub client: u32,
    /// The node the client submitted it to.
    pub proxy: u32,
    /// The client's sequence number (the workload's submission index).
    pub seq: u64,
}

/// What a slot holds once chosen.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// A gap a new leader filled (Multi-Paxos), executed as nothing.
    Noop,
    /// Single-decree Paxos without commands: proposer `.0`'s own value.
    Own(u32),
    /// One client command.
    Cmd(Cmd),
    /// Several client commands in one slot (batching), executed in order.
    Batch(Arc<[Cmd]>),
}

impl Value {
    /// The commands it carries, in execution order.
    pub fn cmds(&self) -> &[Cmd] {
        match self {
            Value::Cmd(c) => std::slice::from_ref(c),
            Value::Batch(b) => b,
            Value::Noop | Value::Own(_) => &[],
        }
    }

    /// Whether command `seq` is in it.
    pub fn has(&self, seq: u64) -> bool {
        self.cmds().iter().any(|c| c.seq == seq)
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Noop => f.write_str("no-op"),
            Value::Own(p) => write!(f, "v{p}"),
            Value::Cmd(c) => write!(f, "c{}.{}", c.client, c.seq),
            Value::Batch(b) => {
                f.write_str("[")?;
                for (i, c) in b.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" ")?;
                    }
                    write!(f, "c{}.{}", c.client, c.seq)?;
                }
                f.write_str("]")
            }
        }
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Noop => s.serialize_str("noop"),
            Value::Own(p) => {
                let mut st = s.serialize_struct("Own", 1)?;
                st.serialize_field("own", p)?;
                st.end()
            }
            Value::Cmd(c) => c.serialize(s),
            Value::Batch(b) => s.collect_seq(b.iter()),
        }
    }
}

/// One accepted proposal of a slot, as a Promise reports it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Entry {
    /// The slot.
    pub slot: u64,
    /// The ballot it was accepted in.
    pub ballot: Ballot,
    /// The value accepted.
    pub value: Value,
}

/// A growable set of command sequence numbers (a bit per number).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SeqSet {
    words: Vec<u64>,
}

impl SeqSet {
    /// Whether `seq` is in.
    #[inline]
    pub fn contains(&self, seq: u64) -> bool {
        self.words
            .get((seq / 64) as usize)
            .is_some_and(|w| w & (1 << (seq % 64)) != 0)
    }

    /// Adds `seq`; returns whether it was new.
    #[inline]
    pub fn insert(&mut self, seq: u64) -> bool {
        let i = (seq / 64) as usize;
        if i >= self.words.len() {
            self.words.resize(i + 1, 0);
        }
        let bit = 1 << (seq % 64);
        let new = self.words[i] & bit == 0;
        self.words[i] |= bit;
        new
    }

    /// Removes `seq`.
    #[inline]
    pub fn remove(&mut self, seq: u64) {
        if let Some(w) = self.words.get_mut((seq / 64) as usize) {
            *w &= !(1 << (seq % 64));
        }
    }
}

/// The running digest of an execution: folds each command executed (not its
/// duplicates, not no-ops) in order, so two replicas that executed the same
/// commands in the same order hold the same digest.
#[inline]
pub fn fold_digest(digest: u64, c: &Cmd) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    (digest.rotate_left(5) ^ c.seq ^ ((c.client as u64) << 40)).wrapping_mul(K)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ballots_order_by_round_then_proposer() {
        let b = |round, node| Ballot { round, node };
        assert!(Ballot::NONE < b(1, 0));
        assert!(b(1, 4) < b(2, 0));
        assert!(b(2, 0) < b(2, 1));
        assert!(!Ballot::NONE.is_some() && b(1, 0).is_some());
    }

    #[test]
    fn seq_set_grows_and_answers() {
        let mut s = SeqSet::default();
        assert!(!s.contains(1000));
        assert!(s.insert(1000));
        assert!(!s.insert(1000));
        assert!(s.contains(1000) && !s.contains(999));
        s.remove(1000);
        assert!(!s.contains(1000));
    }
}
