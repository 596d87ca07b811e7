//! The durable state: a write-ahead journal.
//!
//! An acceptor appends a record for each promise and each acceptance, a
//! proposer one for each round it starts, a learner one for each value it
//! learns, and each hands the engine
//! ([`crate::node::Ctx::persist`]) the journal's new length, in the same
//! callback as the answer that depends on it. The durable state is a prefix of
//! the journal: `(journal, len)`. Cloning it is a pointer copy, so a persist
//! costs the same with a log of ten slots or of a million.
//!
//! ```text
//!  journal  [P(1,0)] [A s0 (1,0) v] [R 2] [P(2,3)] [A s1 (2,3) w] ...
//!            └──────────── durable prefix (len) ───────────┘ └ write in flight ┘
//! ```
//!
//! Crash semantics are the engine's: recovery rebuilds the node from the last
//! durable state whose write completed. Records past that length were never
//! durable: [`PaxosDurable::open`] cuts them off before replaying the prefix.

use super::types::{Ballot, Value};
use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

/// One journal record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Rec {
    /// An acceptor promised `ballot` (Single: in `slot`; Multi: `None`, for
    /// every slot).
    Promise {
        /// The slot, or `None` for all of them.
        slot: Option<u64>,
        /// The ballot promised.
        ballot: Ballot,
    },
    /// An acceptor accepted `value` in `slot` at `ballot`.
    Accept {
        /// The slot.
        slot: u64,
        /// The ballot.
        ballot: Ballot,
        /// The value.
        value: Value,
    },
    /// A proposer started round `round` (it must never reuse it, §2.2).
    Round(u32),
    /// A learner learned that `value` is chosen in `slot` (a replica's log
    /// is durable).
    Learned {
        /// The slot.
        slot: u64,
        /// The value.
        value: Value,
    },
}

/// The journal of one node, shared between the node and the durable states
/// it persisted (each a prefix of it).
pub type Journal = Rc<RefCell<Vec<Rec>>>;

/// What survives a crash: the first `len` records of a node's journal.
#[derive(Clone, Default)]
pub struct PaxosDurable {
    journal: Journal,
    len: usize,
}

impl fmt::Debug for PaxosDurable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PaxosDurable {{ records: {} }}", self.len)
    }
}

impl PartialEq for PaxosDurable {
    fn eq(&self, other: &Self) -> bool {
        self.records() == other.records()
    }
}

impl PaxosDurable {
    /// The durable prefix of `journal`: everything appended so far.
    pub fn of(journal: &Journal) -> PaxosDurable {
        PaxosDurable {
            len: journal.borrow().len(),
            journal: journal.clone(),
        }
    }

    /// The number of durable records.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is durable.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The durable records (a copy, for tests and tools).
    pub fn records(&self) -> Vec<Rec> {
        self.journal.borrow()[..self.len].to_vec()
    }

    /// The journal to go on with after a crash: records past the durable
    /// prefix (writes a crash lost) are cut off; a node with nothing durable
    /// gets a journal of its own (the engine hands every node the same
    /// default state at first boot).
    pub fn open(&self) -> Journal {
        if self.len == 0 {
            return Journal::default();
        }
        self.journal.borrow_mut().truncate(self.len);
        self.journal.clone()
    }
}
