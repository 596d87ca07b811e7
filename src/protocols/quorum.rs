//! Quorum arithmetic shared by the consensus protocols.

/// Smallest number of nodes that is a majority of `n` (`n/2 + 1`).
#[inline]
pub const fn majority(n: u32) -> u32 {
    n / 2 + 1
}

/// Whether `votes` out of `n` form a majority.
#[inline]
pub const fn is_majority(votes: u32, n: u32) -> bool {
    votes >= majority(n)
}

/// A set of node ids as a bitmap, for counting votes without allocation per
/// vote; up to 128 nodes it lives inline (no allocation at all).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct VoteSet {
    small: u128,
    big: Vec<u64>,
    count: u32,
}

impl VoteSet {
    /// An empty set for ids `0..n`.
    pub fn new(n: u32) -> VoteSet {
        VoteSet {
            small: 0,
            big: if n > 128 {
                vec![0; (n as usize).div_ceil(64)]
            } else {
                Vec::new()
            },
            count: 0,
        }
    }
    /// Adds `id`; returns whether it was new.
    pub fn insert(&mut self, id: u32) -> bool {
        let new = !self.contains(id);
        if new {
            if self.big.is_empty() {
                self.small |= 1 << id;
            } else {
                self.big[(id / 64) as usize] |= 1 << (id % 64);
            }
            self.count += 1;
        }
        new
    }
    /// Whether `id` is in the set.
    pub fn contains(&self, id: u32) -> bool {
        if self.big.is_empty() {
            id < 128 && self.small & (1 << id) != 0
        } else {
            self.big[(id / 64) as usize] & (1 << (id % 64)) != 0
        }
    }
    /// Number of ids in the set.
    pub fn len(&self) -> u32 {
        self.count
    }
    /// True when the set holds no id.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    /// Removes every id, keeping the storage.
    pub fn clear(&mut self) {
        self.small = 0;
        self.big.iter_mut().for_each(|w| *w = 0);
        self.count = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_table() {
        for (n, m) in [
            (1, 1),
            (2, 2),
            (3, 2),
            (4, 3),
            (5, 3),
            (6, 4),
            (7, 4),
            (9, 5),
        ] {
            assert_eq!(majority(n), m, "n={n}");
            assert!(is_majority(m, n) && !is_majority(m - 1, n));
        }
    }

    #[test]
    fn vote_set_counts_each_voter_once() {
        for n in [100, 130] {
            let mut v = VoteSet::new(n);
            assert!(v.insert(3) && v.insert(n - 1) && !v.insert(3));
            assert_eq!(v.len(), 2);
            assert!(v.contains(n - 1) && !v.contains(4));
            v.clear();
            assert!(v.is_empty() && !v.contains(3));
        }
    }
}
