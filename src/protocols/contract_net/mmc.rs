//! M/M/c reference values: the queue the load experiment's central-queue
//! configurations approximate (Poisson arrivals, exponential sizes, `c`
//! servers of equal speed, one FIFO queue, no refusals).
//!
//! Erlang C through the Erlang B recurrence, which stays stable for large
//! `c`: `B(0) = 1`, `B(k) = a·B(k−1) / (k + a·B(k−1))`, then
//! `C = B / (1 − ρ(1 − B))` with offered load `a = λ/μ` and utilisation
//! `ρ = a/c`. The mean time in system is `1/μ + C / (cμ − λ)`.

/// Erlang B: the blocking probability of `c` servers offered `a` Erlangs.
pub fn erlang_b(c: u32, a: f64) -> f64 {
    let mut b = 1.0;
    for k in 1..=c {
        b = a * b / (k as f64 + a * b);
    }
    b
}

/// Erlang C: the probability that an arrival waits, `c` servers offered `a`
/// Erlangs (`a < c`; 1 when the queue is unstable).
pub fn erlang_c(c: u32, a: f64) -> f64 {
    let rho = a / c as f64;
    if rho >= 1.0 {
        return 1.0;
    }
    let b = erlang_b(c, a);
    b / (1.0 - rho * (1.0 - b))
}

/// The mean time in system of an M/M/c queue: `c` servers, arrivals at
/// `lambda` per unit time, mean service time `mean_service` (same unit);
/// infinite when `λ·mean_service >= c`.
pub fn mean_sojourn(c: u32, lambda: f64, mean_service: f64) -> f64 {
    let a = lambda * mean_service;
    if a >= c as f64 {
        return f64::INFINITY;
    }
    let mu = 1.0 / mean_service;
    mean_service + erlang_c(c, a) / (c as f64 * mu - lambda)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * b.abs().max(1.0)
    }

    #[test]
    fn one_server_is_m_m_1() {
        // M/M/1: W = 1 / (μ − λ), P(wait) = ρ.
        for rho in [0.1, 0.5, 0.9, 0.99] {
            assert!(close(erlang_c(1, rho), rho));
            assert!(close(mean_sojourn(1, rho, 1.0), 1.0 / (1.0 - rho)));
        }
    }

    #[test]
    fn textbook_values() {
        // Two servers, a = 1: C = a^2/2! · 1/(1−ρ) / (1 + a + a^2/2! · 1/(1−ρ)) = 1/3.
        assert!(close(erlang_c(2, 1.0), 1.0 / 3.0));
        // Erlang B, 2 servers, 1 Erlang: (1/2) / (1 + 1 + 1/2) = 0.2.
        assert!(close(erlang_b(2, 1.0), 0.2));
        // Direct sum for c = 10, a = 8.
        let (c, a) = (10u32, 8.0f64);
        let fact = |n: u32| (1..=n).map(|k| k as f64).product::<f64>();
        let top = a.powi(c as i32) / fact(c) * (c as f64 / (c as f64 - a));
        let sum: f64 = (0..c).map(|k| a.powi(k as i32) / fact(k)).sum();
        assert!(close(erlang_c(c, a), top / (sum + top)));
    }

    #[test]
    fn unstable_queues_are_infinite() {
        assert_eq!(erlang_c(4, 4.0), 1.0);
        assert!(mean_sojourn(4, 4.0, 1.0).is_infinite());
    }
}
