//! Leases counted in ticks of each node's own clock, sized for the drift
//! bound: the arithmetic that makes re-announcing safe.
//!
//! Every node that takes part in a lease runs a periodic `tick` timer of
//! `report_every` = R on its own (drifting) clock while it has something to
//! count, and measures durations only in those ticks: a node never reads
//! the simulator's clock to decide whether a lease holds.
//!
//! ```text
//!  contractor   propose/progress sent at its tick q ──────── K ticks ───────► lease over
//!                     │ (request)                           ≤ K·R/(1−ρ) true time
//!  manager            └──► received at its tick k ──► k+2+⌈K(1+ρ)/(1−ρ)⌉ ──► may re-announce
//!                                                     ≥ K·R/(1−ρ) true time after receipt
//! ```
//!
//! The holder counts from when it *asked* (Gray & Cheriton's rule: the
//! lease starts at the holder no later than at the grantor). A contractor
//! holds an award from the tick `q` at which it sent its proposal, and
//! after each renewal from the tick at which it sent the progress report
//! that was answered; it drops the task at tick `q + K`, `K = ⌊lease /
//! R⌋`, i.e. at most `K·R` of its local time after it asked, at most
//! `K·R / (1 − ρ)` of true time with a drift below ρ. The manager counts
//! from the tick `k` at which it *received* that proposal or report (at
//! or after the contractor sent it) and treats the lease as over only at
//! its own tick `k + W`, `W = 2 + ⌈K (1 + ρ) / (1 − ρ)⌉`: at least
//! `(W − 1)·R` of its local time after the receipt (the receipt falls
//! within a tick), so at least `K·R / (1 − ρ)` of true time even if its
//! clock runs fast by ρ. One tick of `W` is spare: the engine rounds a
//! drifting timer down to whole nanoseconds. So the manager never
//! re-announces a task while the contractor it awarded still holds it,
//! whatever the message delays, losses or partitions, provided every clock
//! drifts by less than the bound.

use super::config::ContractNetConfig;

/// Parts per million.
const PPM: u128 = 1_000_000;

/// The lease arithmetic of one configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lease {
    /// The tick period R (ns of local time).
    pub tick_ns: u64,
    /// Ticks a contractor holds a lease after asking: `⌊lease / R⌋`.
    pub holder_ticks: u32,
    /// Ticks a manager waits after a receipt before the lease may be over:
    /// `2 + ⌈K (1 + ρ) / (1 − ρ)⌉`.
    pub grantor_ticks: u32,
}

impl Lease {
    /// The lease of `cfg` (validated).
    pub fn of(cfg: &ContractNetConfig) -> Lease {
        Lease::new(cfg.lease.0, cfg.report_every.0, cfg.drift_bound_ppm)
    }

    /// A lease of `lease_ns` on ticks of `tick_ns`, for drift below `rho_ppm`.
    pub fn new(lease_ns: u64, tick_ns: u64, rho_ppm: u32) -> Lease {
        let k = (lease_ns / tick_ns) as u128;
        let rho = rho_ppm as u128;
        let num = k * (PPM + rho);
        let den = PPM - rho;
        let w = num.div_ceil(den) + 2;
        Lease {
            tick_ns,
            holder_ticks: k as u32,
            grantor_ticks: w as u32,
        }
    }

    /// Whether a lease the holder asked for at its tick `asked` still holds
    /// at its tick `now`.
    #[inline]
    pub fn holds(&self, asked: u32, now: u32) -> bool {
        now < asked.saturating_add(self.holder_ticks)
    }

    /// The manager's tick at which a lease granted on a request received at
    /// its tick `received` may be over.
    #[inline]
    pub fn over_at(&self, received: u32) -> u32 {
        received.saturating_add(self.grantor_ticks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::MS;

    #[test]
    fn grantor_waits_the_holder_lease_stretched_by_the_drift_bound() {
        // (lease, tick, ρ ppm) -> (K, W)
        let table = [
            (1000 * MS, 100 * MS, 0, 10, 12),
            (1000 * MS, 100 * MS, 1000, 10, 13), // 10 × 1.001/0.999 = 10.02 -> 11
            (1050 * MS, 100 * MS, 0, 10, 12),    // the lease is whole ticks
            (200 * MS, 100 * MS, 0, 2, 4),
            (1000 * MS, 100 * MS, 100_000, 10, 15), // 10 × 1.1/0.9 = 12.2 -> 13
            (1000 * MS, 100 * MS, 500_000, 10, 32), // 10 × 3 = 30
        ];
        for (lease, tick, rho, k, w) in table {
            let l = Lease::new(lease, tick, rho);
            assert_eq!((l.holder_ticks, l.grantor_ticks), (k, w), "{lease} {tick} {rho}");
        }
    }

    #[test]
    fn the_grantor_outlasts_the_holder_in_true_time_at_the_extreme_drifts() {
        // Holder slow by ρ, grantor fast by ρ, receipt just after the grantor's
        // tick (the worst quantisation): the grantor's tick k+W comes no
        // earlier in true time than the holder's tick q+K.
        for rho in [0u32, 1, 1000, 50_000, 250_000, 500_000] {
            let l = Lease::new(1000 * MS, 100 * MS, rho);
            let r = rho as f64 / 1e6;
            let holder_end = l.holder_ticks as f64 * 100.0 / (1.0 - r);
            let grantor_wait = (l.grantor_ticks - 1) as f64 * 100.0 / (1.0 + r);
            assert!(
                grantor_wait >= holder_end,
                "ρ = {rho}: grantor waits {grantor_wait} ms, holder holds {holder_end} ms"
            );
        }
    }

    #[test]
    fn holds_counts_whole_ticks_from_the_request() {
        let l = Lease::new(300 * MS, 100 * MS, 0);
        assert!(l.holds(5, 5) && l.holds(5, 7) && !l.holds(5, 8));
        assert_eq!(l.over_at(5), 5 + l.grantor_ticks);
    }
}
