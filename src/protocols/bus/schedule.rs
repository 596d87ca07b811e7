//! The retry schedule: exponential backoff with a cap and jitter, the same
//! arithmetic for the nodes that wait and the monitor that checks them.
//!
//! After attempt `k` (1-based) a sender waits `g_k`, drawn uniformly in
//! `[min_gap(k), max_gap(k)]`, where `max_gap(k) = d_k = min(cap, base ×
//! factor^(k−1))` and `min_gap(k) = ⌊d_k × (1 − jitter)⌋` (in ns). After
//! the last attempt it waits `d_max` for the ack, then dead-letters the
//! message. The `no-backoff` variant waits `base` every time.

use super::config::{BusConfig, BusVariant};
use crate::rng::NodeRng;

/// `d_k`: the longest wait after attempt `k` (`k >= 1`), in ns.
pub fn max_gap(cfg: &BusConfig, k: u32) -> u64 {
    let base = cfg.retry_base.0;
    let cap = cfg.retry_cap.0;
    let mut d = base as f64;
    for _ in 1..k {
        d *= cfg.retry_factor;
        if d >= cap as f64 {
            return cap;
        }
    }
    (d as u64).min(cap)
}

/// The shortest wait the schedule allows after attempt `k` (`k >= 1`), in ns.
pub fn min_gap(cfg: &BusConfig, k: u32) -> u64 {
    let d = max_gap(cfg, k);
    (d as f64 * (1.0 - cfg.retry_jitter)) as u64
}

/// The wait a sender draws after attempt `k` (from its own stream).
pub fn draw_gap(cfg: &BusConfig, k: u32, rng: &mut NodeRng) -> u64 {
    if cfg.variant == BusVariant::NoBackoff {
        return cfg.retry_base.0;
    }
    let (lo, hi) = (min_gap(cfg, k), max_gap(cfg, k));
    if lo >= hi {
        hi
    } else {
        rng.range_inclusive(lo, hi)
    }
}

/// How long a sender waits for the ack of its last attempt before it
/// dead-letters the message.
pub fn last_wait(cfg: &BusConfig) -> u64 {
    if cfg.variant == BusVariant::NoBackoff {
        return cfg.retry_base.0;
    }
    max_gap(cfg, cfg.max_attempts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{Dur, MS};

    fn cfg(base: u64, factor: f64, cap: u64, jitter: f64) -> BusConfig {
        BusConfig {
            retry_base: Dur(base * MS),
            retry_factor: factor,
            retry_cap: Dur(cap * MS),
            retry_jitter: jitter,
            ..BusConfig::default()
        }
    }

    #[test]
    fn gaps_grow_by_the_factor_up_to_the_cap() {
        // (base ms, factor, cap ms, jitter, k, max_gap ms, min_gap ms)
        let table: [(u64, f64, u64, f64, u32, u64, u64); 8] = [
            (50, 2.0, 1000, 0.2, 1, 50, 40),
            (50, 2.0, 1000, 0.2, 2, 100, 80),
            (50, 2.0, 1000, 0.2, 3, 200, 160),
            (50, 2.0, 1000, 0.2, 5, 800, 640),
            (50, 2.0, 1000, 0.2, 6, 1000, 800),
            (50, 2.0, 1000, 0.2, 60, 1000, 800),
            (10, 1.0, 10, 0.0, 7, 10, 10),
            (10, 3.0, 100, 0.5, 3, 90, 45),
        ];
        for (base, f, cap, j, k, hi, lo) in table {
            let c = cfg(base, f, cap, j);
            assert_eq!(max_gap(&c, k), hi * MS, "{base} {f} {cap} {j} k={k}");
            assert_eq!(min_gap(&c, k), lo * MS, "{base} {f} {cap} {j} k={k}");
        }
    }

    #[test]
    fn drawn_gaps_stay_within_the_schedule_and_no_backoff_does_not_grow() {
        let c = cfg(50, 2.0, 1000, 0.2);
        let mut rng = NodeRng::from_words(1, 2);
        for k in 1..8 {
            for _ in 0..200 {
                let g = draw_gap(&c, k, &mut rng);
                assert!((min_gap(&c, k)..=max_gap(&c, k)).contains(&g));
            }
        }
        let broken = BusConfig {
            variant: BusVariant::NoBackoff,
            ..c
        };
        assert_eq!(draw_gap(&broken, 4, &mut rng), 50 * MS);
        assert!(draw_gap(&broken, 3, &mut rng) < min_gap(&broken, 3));
    }
}
