//! Summary statistics of one metric over the trials of one configuration.
//!
//! Methods (fixed, so a summary can be recomputed by hand or in another tool):
//!
//! - **mean**: the sum in run order divided by `n`;
//! - **sd**: sample standard deviation, `sqrt(sum((x - mean)^2) / (n - 1))`
//!   (two passes); absent when `n < 2`;
//! - **percentiles** (median = p50, p90, p99): linear interpolation between
//!   the closest ranks (Hyndman & Fan type 7, the default of R and NumPy): on
//!   the sorted values `x[0..n]`, `h = (n - 1) p`, and the percentile is
//!   `x[floor h] + (h - floor h) (x[floor h + 1] - x[floor h])`;
//! - **95% confidence interval of the mean**: `mean ± t * sd / sqrt(n)` with
//!   `t` the 0.975 quantile of Student's t distribution with `n - 1` degrees
//!   of freedom ([`t_quantile_975`]); absent when `n < 2`.
//!
//! Everything is IEEE-754 arithmetic in a fixed order plus the pure-Rust
//! `libm`, so summaries are the same bits on every platform.

/// The summary of one metric over one configuration's trials.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// Number of values.
    pub count: usize,
    /// Arithmetic mean.
    pub mean: f64,
    /// Sample standard deviation; `None` when `count < 2`.
    pub sd: Option<f64>,
    /// Standard error of the mean, `sd / √count`; `None` when `count < 2`.
    /// For a 0/1 metric (a ratio of runs, such as jury correctness) this is
    /// the binomial standard error `√(p̂(1 − p̂)/(count − 1))`.
    pub se: Option<f64>,
    /// Smallest value.
    pub min: f64,
    /// 50th percentile.
    pub median: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Largest value.
    pub max: f64,
    /// The 95% confidence interval of the mean, `(low, high)`.
    pub ci95: Option<(f64, f64)>,
}

/// Summarises `values` (in run order); `None` when there are none.
pub fn summarize(values: &[f64]) -> Option<Summary> {
    let n = values.len();
    if n == 0 {
        return None;
    }
    let mean = values.iter().sum::<f64>() / n as f64;
    let sd = (n >= 2).then(|| {
        let ss: f64 = values.iter().map(|x| (x - mean) * (x - mean)).sum();
        libm::sqrt(ss / (n - 1) as f64)
    });
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let ci95 = sd.map(|sd| {
        let half = t_quantile_975((n - 1) as f64) * sd / libm::sqrt(n as f64);
        (mean - half, mean + half)
    });
    let se = sd.map(|sd| sd / libm::sqrt(n as f64));
    Some(Summary {
        count: n,
        mean,
        sd,
        se,
        min: sorted[0],
        median: percentile_sorted(&sorted, 0.5),
        p90: percentile_sorted(&sorted, 0.9),
        p99: percentile_sorted(&sorted, 0.99),
        max: sorted[n - 1],
        ci95,
    })
}

/// The `p`-quantile (`0 <= p <= 1`) of sorted values by linear interpolation
/// between closest ranks (type 7). Panics on an empty slice.
pub fn percentile_sorted(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    assert!(n > 0, "percentile of no values");
    let h = (n - 1) as f64 * p;
    let lo = libm::floor(h) as usize;
    if lo + 1 >= n {
        return sorted[n - 1];
    }
    let frac = h - lo as f64;
    sorted[lo] + frac * (sorted[lo + 1] - sorted[lo])
}

/// The 0.975 quantile of Student's t distribution with `df` degrees of
/// freedom (the critical value of a two-sided 95% interval): 12.706 for 1,
/// 2.262 for 9, 1.984 for 100, tending to 1.960.
///
/// Computed by bisection on the t CDF (regularised incomplete beta function,
/// continued fraction), so it is exact to about 1e-12 for every `df`.
pub fn t_quantile_975(df: f64) -> f64 {
    let (mut lo, mut hi) = (0.0f64, 1000.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if t_cdf(mid, df) < 0.975 {
            lo = mid;
        } else {
            hi = mid;
        }
        if hi - lo <= 1e-13 * hi {
            break;
        }
    }
    0.5 * (lo + hi)
}

/// The CDF of Student's t distribution at `t >= 0`.
fn t_cdf(t: f64, df: f64) -> f64 {
    let x = df / (df + t * t);
    1.0 - 0.5 * incomplete_beta(df / 2.0, 0.5, x)
}

/// The regularised incomplete beta function `I_x(a, b)`.
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = libm::lgamma(a + b) - libm::lgamma(a) - libm::lgamma(b)
        + a * libm::log(x)
        + b * libm::log(1.0 - x);
    let front = libm::exp(ln_front);
    // The continued fraction converges fast for x < (a + 1) / (a + b + 2);
    // otherwise use the symmetry I_x(a, b) = 1 - I_{1-x}(b, a).
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_fraction(b, a, 1.0 - x) / b
    }
}

/// The continued fraction of the incomplete beta function (modified Lentz).
fn beta_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..=300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_critical_values_match_the_table() {
        // Two-sided 95% critical values from any Student's t table.
        for (df, t) in [
            (1.0, 12.706204736),
            (2.0, 4.302652730),
            (4.0, 2.776445105),
            (9.0, 2.262157163),
            (29.0, 2.045229642),
            (99.0, 1.984216952),
            (999.0, 1.962341461),
        ] {
            let got = t_quantile_975(df);
            assert!((got - t).abs() < 1e-8, "df {df}: {got} vs {t}");
        }
    }

    #[test]
    fn hand_computed_summary() {
        // 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squares sum 32, sd = sqrt(32/7).
        let x = [9.0, 2.0, 4.0, 4.0, 5.0, 4.0, 7.0, 5.0];
        let s = summarize(&x).unwrap();
        assert_eq!(s.count, 8);
        assert_eq!(s.mean, 5.0);
        let sd = (32.0f64 / 7.0).sqrt();
        assert!((s.sd.unwrap() - sd).abs() < 1e-12);
        assert!((s.se.unwrap() - sd / 8.0f64.sqrt()).abs() < 1e-12);
        // Median: h = 3.5 between 4 and 5.
        assert_eq!(s.median, 4.5);
        // p90: h = 6.3 between 7 and 9: 7 + 0.3 * 2.
        assert!((s.p90 - 7.6).abs() < 1e-12);
        // p99: h = 6.93: 7 + 0.93 * 2.
        assert!((s.p99 - 8.86).abs() < 1e-12);
        assert_eq!((s.min, s.max), (2.0, 9.0));
        // t(0.975, 7) = 2.364624252.
        let half = 2.364624252 * sd / 8.0f64.sqrt();
        let (lo, hi) = s.ci95.unwrap();
        assert!((lo - (5.0 - half)).abs() < 1e-8 && (hi - (5.0 + half)).abs() < 1e-8);
    }

    #[test]
    fn a_ratio_of_runs_has_the_binomial_standard_error() {
        // 30 of 100 runs right: p̂ = 0.3; sd² = n p̂(1 − p̂)/(n − 1).
        let x: Vec<f64> = (0..100).map(|i| if i % 10 < 3 { 1.0 } else { 0.0 }).collect();
        let s = summarize(&x).unwrap();
        let binomial = (0.3f64 * 0.7 / 99.0).sqrt();
        assert!((s.se.unwrap() - binomial).abs() < 1e-12, "{:?}", s.se);
    }

    #[test]
    fn one_value_has_no_spread() {
        let s = summarize(&[3.5]).unwrap();
        assert_eq!((s.mean, s.median, s.p99, s.max), (3.5, 3.5, 3.5, 3.5));
        assert_eq!(s.sd, None);
        assert_eq!(s.se, None);
        assert_eq!(s.ci95, None);
        assert!(summarize(&[]).is_none());
    }
}
