//! A task's content, drawn from its workload submission (never from a
//! node's stream, so content does not depend on which node takes it).

use super::config::{ContractNetConfig, SizeDist};
use crate::node::Submission;

/// What a task is: its size and the capabilities it needs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct TaskSpec {
    /// The workload submission's index.
    pub index: u64,
    /// ns of work at speed 1.
    pub size_ns: u64,
    /// Capabilities needed (a mask; 0: none).
    pub caps: u32,
}

impl TaskSpec {
    /// The task of submission `sub`: the size from `cfg.size` with mean
    /// `cfg.size_mean`, then the `cfg.task_caps` capabilities `k, k+1, ...
    /// (mod capabilities)` from a uniform kind `k`, all from
    /// [`Submission::rng`]. (Contractor `j` has the kinds `j, j+1, ...`, so
    /// the contractors able to run a task are those whose window covers the
    /// task's: `caps_per_contractor − task_caps + 1` kinds of start.)
    pub fn draw(cfg: &ContractNetConfig, sub: &Submission) -> TaskSpec {
        let mut rng = sub.rng();
        let mean = cfg.size_mean_ns();
        let size = match cfg.size {
            SizeDist::Fixed => mean,
            SizeDist::Exp => rng.exp(mean),
            SizeDist::Pareto => {
                let a = cfg.size_alpha;
                rng.pareto(mean * (a - 1.0) / a, a)
            }
        };
        let k = cfg.capabilities;
        let mut caps = 0u32;
        if k > 0 {
            // A window of `task_caps` consecutive kinds from a uniform one,
            // as contractors' sets are: some contractor covers it.
            let first = rng.below(k as u64) as u32;
            for i in 0..cfg.task_caps.min(k) {
                caps |= 1 << ((first + i) % k);
            }
        }
        TaskSpec {
            index: sub.index,
            // `as` saturates: a Pareto draw beyond u64 ns is the longest task.
            size_ns: (libm::round(size) as u64).max(1),
            caps,
        }
    }

    /// The ns this task takes at `speed`.
    #[inline]
    pub fn work_ns(size_ns: u64, speed: f64) -> u64 {
        (libm::round(size_ns as f64 / speed) as u64).max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(index: u64) -> Submission {
        Submission {
            index,
            client: 0,
            draw: 0x9e37_79b9_7f4a_7c15 ^ index.wrapping_mul(0x2545_f491_4f6c_dd1d),
        }
    }

    #[test]
    fn sizes_have_the_configured_mean() {
        for (dist, tol) in [(SizeDist::Fixed, 1e-12), (SizeDist::Exp, 0.02), (SizeDist::Pareto, 0.05)] {
            let cfg = ContractNetConfig {
                size: dist,
                size_mean: 0.5,
                size_alpha: 3.0,
                ..Default::default()
            };
            let n = 200_000;
            let mean = (0..n)
                .map(|i| TaskSpec::draw(&cfg, &sub(i)).size_ns as f64)
                .sum::<f64>()
                / n as f64;
            assert!(
                (mean / 0.5e9 - 1.0).abs() < tol,
                "{dist:?}: mean {mean} ns against 0.5e9"
            );
        }
    }

    #[test]
    fn tasks_need_a_window_of_capabilities_from_a_uniform_kind() {
        let cfg = ContractNetConfig {
            capabilities: 5,
            caps_per_contractor: 3,
            task_caps: 2,
            ..Default::default()
        };
        let mut seen = [0u32; 5];
        for i in 0..50_000 {
            let t = TaskSpec::draw(&cfg, &sub(i));
            assert_eq!(t.caps.count_ones(), 2, "{:b}", t.caps);
            assert!(t.caps < 1 << 5);
            // Consecutive, mod 5: some rotation of it is 0b11.
            assert!((0..5).any(|r| (t.caps >> r | t.caps << (5 - r)) & 0b11111 == 0b11));
            for (k, s) in seen.iter_mut().enumerate() {
                *s += (t.caps >> k) & 1;
            }
        }
        // Each kind in 2/5 of the tasks.
        for s in seen {
            assert!((s as f64 / 20_000.0 - 1.0).abs() < 0.03, "{seen:?}");
        }
    }

    #[test]
    fn content_comes_from_the_submission_alone() {
        let cfg = ContractNetConfig::default();
        assert_eq!(TaskSpec::draw(&cfg, &sub(7)), TaskSpec::draw(&cfg, &sub(7)));
        assert_ne!(TaskSpec::draw(&cfg, &sub(7)), TaskSpec::draw(&cfg, &sub(8)));
    }
}
