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

/// A set of node ids as a bitmap, for counting votes without allocation per vote.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct VoteSet {
    bits: Vec<u64>,
    count: u32,
}

impl VoteSet {
    pub fn new(n: u32) -> VoteSet {
        VoteSet {
            bits: vec![0; (n as usize).div_ceil(64)],
            count: 0,
        }
    }
    /// Adds `id`; returns whether it was new.
    pub fn insert(&mut self, id: u32) -> bool {
        let (w, b) = ((id / 64) as usize, id % 64);
        let new = self.bits[w] & (1 << b) == 0;
        if new {
            self.bits[w] |= 1 << b;
            self.count += 1;
        }
        new
    }
    pub fn contains(&self, id: u32) -> bool {
        self.bits[(id / 64) as usize] & (1 << (id % 64)) != 0
    }
    pub fn len(&self) -> u32 {
        self.count
    }
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
    pub fn clear(&mut self) {
        self.bits.iter_mut().for_each(|w| *w = 0);
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
        let mut v = VoteSet::new(130);
        assert!(v.insert(3) && v.insert(129) && !v.insert(3));
        assert_eq!(v.len(), 2);
        assert!(v.contains(129) && !v.contains(4));
        v.clear();
        assert!(v.is_empty());
    }
}
