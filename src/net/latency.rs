//! One-way latency distributions of a link.
//!
//! Written as strings in flags and scenario files:
//!
//! | spelling | meaning |
//! |---|---|
//! | `10ms` | fixed |
//! | `5ms..15ms` | uniform (inclusive, nanosecond grain) |
//! | `exp:floor=1ms,mean=4ms` | floor + exponential with the given mean |
//! | `lognormal:median=10ms,sigma=0.5` | log-normal (median is `e^mu`) |
//! | `pareto:min=5ms,alpha=1.5` | Pareto type I (heavy tail) |
//! | `bimodal:fast=1ms..2ms,slow=50ms..100ms,p_slow=0.01` | a fast path plus a rare slow one |
//!
//! Every sample is capped at [`LATENCY_NS_MAX`] so a heavy tail cannot overflow time.

use crate::rng::SimRng;
use crate::time::{Dur, DurRange, SEC};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// No single message takes longer than this (one hour of virtual time).
pub const LATENCY_NS_MAX: u64 = 3600 * SEC;

/// A one-way latency distribution (spellings in the module docs).
#[derive(Clone, Debug, PartialEq)]
pub enum Latency {
    /// Always this latency.
    Fixed(Dur),
    /// Uniform over the range, inclusive, in whole nanoseconds.
    Uniform(DurRange),
    /// `floor` plus an exponential draw.
    Exponential {
        /// Smallest latency.
        floor: Dur,
        /// Mean of the exponential part, above `floor`.
        mean: Dur,
    },
    /// Log-normal: `median * exp(sigma * N(0, 1))`.
    LogNormal {
        /// Median latency (`e^mu`).
        median: Dur,
        /// Standard deviation of the log, `>= 0`.
        sigma: f64,
    },
    /// Pareto type I: a heavy tail above `min`.
    Pareto {
        /// Smallest latency, above 0.
        min: Dur,
        /// Tail index, above 0: the smaller, the heavier the tail.
        alpha: f64,
    },
    /// `slow` with probability `p_slow`, else `fast`; each uniform over its range.
    Bimodal {
        /// The usual range.
        fast: DurRange,
        /// The rare range.
        slow: DurRange,
        /// Probability of the slow range, in `[0, 1]`.
        p_slow: f64,
    },
}

impl Default for Latency {
    fn default() -> Self {
        Latency::Uniform(DurRange::new(Dur::from_ms(1), Dur::from_ms(5)))
    }
}

impl Latency {
    /// Draws one latency in nanoseconds.
    #[inline(always)]
    pub fn sample(&self, rng: &mut SimRng) -> u64 {
        let v = match *self {
            Latency::Fixed(d) => d.0,
            Latency::Uniform(r) => rng.range_inclusive(r.lo.0, r.hi.0),
            Latency::Exponential { floor, mean } => floor.0 + to_ns(rng.exp(mean.0 as f64)),
            Latency::LogNormal { median, sigma } => to_ns(rng.lognormal(median.0 as f64, sigma)),
            Latency::Pareto { min, alpha } => to_ns(rng.pareto(min.0 as f64, alpha)),
            Latency::Bimodal { fast, slow, p_slow } => {
                let r = if rng.chance(p_slow) { slow } else { fast };
                rng.range_inclusive(r.lo.0, r.hi.0)
            }
        };
        v.min(LATENCY_NS_MAX)
    }

    /// Smallest latency this distribution can produce.
    pub fn min_ns(&self) -> u64 {
        match *self {
            Latency::Fixed(d) => d.0,
            Latency::Uniform(r) => r.lo.0,
            Latency::Exponential { floor, .. } => floor.0,
            Latency::LogNormal { .. } => 0,
            Latency::Pareto { min, .. } => min.0,
            Latency::Bimodal { fast, slow, .. } => fast.lo.0.min(slow.lo.0),
        }
    }

    /// Checks the parameters; the error names the parameter and the accepted range.
    pub fn validate(&self) -> Result<(), String> {
        match *self {
            Latency::LogNormal { sigma, .. } if !(sigma.is_finite() && sigma >= 0.0) => Err(
                format!("lognormal sigma {sigma} out of range (accepted: >= 0)"),
            ),
            Latency::Pareto { alpha, .. } if !(alpha.is_finite() && alpha > 0.0) => {
                Err(format!("pareto alpha {alpha} out of range (accepted: > 0)"))
            }
            Latency::Pareto { min, .. } if min.0 == 0 => {
                Err("pareto min must be above 0".to_string())
            }
            Latency::Bimodal { p_slow, .. } if !(0.0..=1.0).contains(&p_slow) => Err(format!(
                "bimodal p_slow {p_slow} out of range (accepted: 0..=1)"
            )),
            _ => Ok(()),
        }
    }
}

#[inline]
fn to_ns(x: f64) -> u64 {
    if x.is_finite() && x > 0.0 {
        if x >= LATENCY_NS_MAX as f64 {
            LATENCY_NS_MAX
        } else {
            libm::round(x) as u64
        }
    } else {
        0
    }
}

impl FromStr for Latency {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let Some((kind, params)) = s.split_once(':') else {
            let r: DurRange = s.parse().map_err(|e| format!("latency: {e}"))?;
            return Ok(if r.lo == r.hi {
                Latency::Fixed(r.lo)
            } else {
                Latency::Uniform(r)
            });
        };
        let mut kv = std::collections::BTreeMap::new();
        for part in params.split(',') {
            let (k, v) = part
                .split_once('=')
                .ok_or_else(|| format!("latency '{s}': expected key=value, got '{part}'"))?;
            if kv
                .insert(k.trim().to_string(), v.trim().to_string())
                .is_some()
            {
                return Err(format!(
                    "latency '{s}': parameter '{}' given twice (accepted: each once)",
                    k.trim()
                ));
            }
        }
        let take = |kv: &mut std::collections::BTreeMap<String, String>, k: &str| {
            kv.remove(k)
                .ok_or_else(|| format!("latency '{s}': missing parameter '{k}'"))
        };
        let dur = |v: String| v.parse::<Dur>().map_err(|e| format!("latency '{s}': {e}"));
        let range = |v: String| {
            v.parse::<DurRange>()
                .map_err(|e| format!("latency '{s}': {e}"))
        };
        let num = |v: String| {
            v.parse::<f64>()
                .map_err(|_| format!("latency '{s}': '{v}' is not a number"))
        };
        let lat = match kind.trim() {
            "fixed" => Latency::Fixed(dur(take(&mut kv, "value")?)?),
            "uniform" => Latency::Uniform(range(take(&mut kv, "range")?)?),
            "exp" => Latency::Exponential {
                floor: kv.remove("floor").map(dur).transpose()?.unwrap_or_default(),
                mean: dur(take(&mut kv, "mean")?)?,
            },
            "lognormal" => Latency::LogNormal {
                median: dur(take(&mut kv, "median")?)?,
                sigma: num(take(&mut kv, "sigma")?)?,
            },
            "pareto" => Latency::Pareto {
                min: dur(take(&mut kv, "min")?)?,
                alpha: num(take(&mut kv, "alpha")?)?,
            },
            "bimodal" => Latency::Bimodal {
                fast: range(take(&mut kv, "fast")?)?,
                slow: range(take(&mut kv, "slow")?)?,
                p_slow: num(take(&mut kv, "p_slow")?)?,
            },
            other => {
                return Err(format!(
                    "latency kind '{other}' unknown (accepted: fixed, uniform, exp, lognormal, pareto, bimodal, or a duration/range such as 5ms..15ms)"
                ))
            }
        };
        if let Some(k) = kv.keys().next() {
            return Err(format!("latency '{s}': unknown parameter '{k}'"));
        }
        lat.validate()?;
        Ok(lat)
    }
}

impl fmt::Display for Latency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Latency::Fixed(d) => write!(f, "{d}"),
            Latency::Uniform(r) => write!(f, "{r}"),
            Latency::Exponential { floor, mean } => write!(f, "exp:floor={floor},mean={mean}"),
            Latency::LogNormal { median, sigma } => {
                write!(f, "lognormal:median={median},sigma={sigma}")
            }
            Latency::Pareto { min, alpha } => write!(f, "pareto:min={min},alpha={alpha}"),
            Latency::Bimodal { fast, slow, p_slow } => {
                write!(f, "bimodal:fast={fast},slow={slow},p_slow={p_slow}")
            }
        }
    }
}

impl Serialize for Latency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for Latency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::MS;

    #[test]
    fn spellings_round_trip() {
        for s in [
            "10ms",
            "5ms..15ms",
            "exp:floor=1ms,mean=4ms",
            "lognormal:median=10ms,sigma=0.5",
            "pareto:min=5ms,alpha=1.5",
            "bimodal:fast=1ms..2ms,slow=50ms..100ms,p_slow=0.01",
        ] {
            let l: Latency = s.parse().unwrap();
            assert_eq!(l.to_string(), s);
        }
    }

    #[test]
    fn bad_spellings_name_the_problem() {
        assert!("15ms..5ms"
            .parse::<Latency>()
            .unwrap_err()
            .contains("empty range"));
        assert!("pareto:min=5ms,alpha=-1"
            .parse::<Latency>()
            .unwrap_err()
            .contains("alpha"));
        assert!("gauss:mean=1ms"
            .parse::<Latency>()
            .unwrap_err()
            .contains("unknown"));
        assert!("exp:mean=1ms,bogus=2"
            .parse::<Latency>()
            .unwrap_err()
            .contains("bogus"));
    }

    #[test]
    fn samples_respect_bounds_and_means() {
        let mut r = SimRng::new(1, 0);
        let u: Latency = "5ms..15ms".parse().unwrap();
        let e: Latency = "exp:floor=1ms,mean=4ms".parse().unwrap();
        let b: Latency = "bimodal:fast=1ms..1ms,slow=100ms..100ms,p_slow=0.1"
            .parse()
            .unwrap();
        let n = 100_000u64;
        let (mut su, mut se, mut slow) = (0u64, 0u64, 0u64);
        for _ in 0..n {
            let x = u.sample(&mut r);
            assert!((5 * MS..=15 * MS).contains(&x));
            su += x;
            let y = e.sample(&mut r);
            assert!(y >= MS);
            se += y;
            if b.sample(&mut r) == 100 * MS {
                slow += 1;
            }
        }
        let mu = su as f64 / n as f64 / MS as f64;
        let me = se as f64 / n as f64 / MS as f64;
        assert!((mu - 10.0).abs() < 0.05, "{mu}");
        assert!((me - 5.0).abs() < 0.06, "{me}");
        assert!((9_000..11_000).contains(&slow), "{slow}");
    }
}
