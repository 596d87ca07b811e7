//! Virtual time: an integer count of nanoseconds, and the human spellings of
//! durations used in configs and flags (`150ms`, `1.5s`, `20us`, `150ms..300ms`).
//!
//! Parsing is exact decimal arithmetic on integers: `1.5s` is 1_500_000_000 ns on
//! every platform, with no floating point involved.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Virtual time in nanoseconds since the start of the run. Never wall-clock time.
pub type SimTime = u64;

/// One nanosecond: the unit of [`SimTime`] and [`Dur`].
pub const NS: u64 = 1;
/// One microsecond, in nanoseconds.
pub const US: u64 = 1_000;
/// One millisecond, in nanoseconds.
pub const MS: u64 = 1_000_000;
/// One second, in nanoseconds.
pub const SEC: u64 = 1_000_000_000;

/// A span of virtual time in nanoseconds, written for humans as `150ms`, `1.5s`, `20us`, `7ns`, `2m`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Dur(pub u64);

impl Dur {
    /// No time at all.
    pub const ZERO: Dur = Dur(0);
    /// The span in nanoseconds.
    pub fn ns(self) -> u64 {
        self.0
    }
    /// A span of `ms` milliseconds.
    pub fn from_ms(ms: u64) -> Dur {
        Dur(ms * MS)
    }
}

/// Error from parsing a duration or a range of durations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DurParseError(pub String);

impl fmt::Display for DurParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for DurParseError {}

const UNITS: &[(&str, u64)] = &[
    ("ns", NS),
    ("us", US),
    ("µs", US),
    ("ms", MS),
    ("s", SEC),
    ("m", 60 * SEC),
    ("h", 3600 * SEC),
];

impl FromStr for Dur {
    type Err = DurParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || {
            DurParseError(format!(
                "'{s}' is not a duration (expected a number and a unit: ns, us, ms, s, m, h; e.g. 150ms, 1.5s)"
            ))
        };
        let s = s.trim();
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let (num, unit) = s.split_at(split);
        let mult = UNITS
            .iter()
            .find(|(u, _)| *u == unit.trim())
            .map(|&(_, m)| m)
            .ok_or_else(bad)?;
        let (int, frac) = match num.split_once('.') {
            Some((i, f)) => (i, f),
            None => (num, ""),
        };
        if int.is_empty() && frac.is_empty() {
            return Err(bad());
        }
        let too_large = || {
            DurParseError(format!(
                "'{s}' is too large (accepted: at most 5124095h, 2^64 ns, about 584 years)"
            ))
        };
        let int_v: u64 = if int.is_empty() {
            0
        } else if int.bytes().all(|b| b.is_ascii_digit()) && int.len() > 19 {
            return Err(too_large());
        } else {
            int.parse().map_err(|_| bad())?
        };
        let mut total = int_v.checked_mul(mult).ok_or_else(too_large)?;
        // Exact decimal fraction: each digit is worth mult / 10^k nanoseconds.
        let mut scale = mult;
        for c in frac.chars() {
            let d = c.to_digit(10).ok_or_else(bad)? as u64;
            if scale % 10 != 0 {
                if d != 0 {
                    return Err(DurParseError(format!("'{s}' is finer than one nanosecond")));
                }
                continue;
            }
            scale /= 10;
            total = total.checked_add(d * scale).ok_or_else(too_large)?;
        }
        Ok(Dur(total))
    }
}

impl Dur {
    /// A rounded spelling for reports (`202.736ms`, `1.5s`); not for round trips.
    pub fn human(self) -> String {
        let v = self.0;
        let (div, unit) = if v >= SEC {
            (SEC, "s")
        } else if v >= MS {
            (MS, "ms")
        } else if v >= US {
            (US, "us")
        } else {
            return format!("{v}ns");
        };
        let x = v as f64 / div as f64;
        let s = format!("{x:.3}");
        let s = s.trim_end_matches('0').trim_end_matches('.');
        format!("{s}{unit}")
    }
}

impl fmt::Display for Dur {
    /// The shortest exact spelling: `150ms`, `1.5s`, `20us`, `7ns`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v = self.0;
        if v == 0 {
            return f.write_str("0s");
        }
        for &(unit, mult) in &[("s", SEC), ("ms", MS), ("us", US)] {
            if v >= mult {
                let int = v / mult;
                let rem = v % mult;
                if rem == 0 {
                    return write!(f, "{int}{unit}");
                }
                // Exact decimal fraction, trailing zeros trimmed.
                let width = mult.trailing_zeros_dec();
                let frac = format!("{rem:0width$}");
                let frac = frac.trim_end_matches('0');
                if frac.len() <= 3 {
                    return write!(f, "{int}.{frac}{unit}");
                }
            }
        }
        write!(f, "{v}ns")
    }
}

trait DecDigits {
    fn trailing_zeros_dec(self) -> usize;
}
impl DecDigits for u64 {
    fn trailing_zeros_dec(self) -> usize {
        let mut n = 0;
        let mut v = self;
        while v >= 10 && v % 10 == 0 {
            v /= 10;
            n += 1;
        }
        n
    }
}

impl Serialize for Dur {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for Dur {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// An inclusive range of durations, written `150ms..300ms` (or one duration for `lo == hi`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DurRange {
    /// Lower bound, inclusive.
    pub lo: Dur,
    /// Upper bound, inclusive; equal to `lo` for a single duration.
    pub hi: Dur,
}

impl DurRange {
    /// The range `lo..=hi`; unlike parsing, this does not check `lo <= hi`.
    pub fn new(lo: Dur, hi: Dur) -> Self {
        DurRange { lo, hi }
    }
    /// `hi - lo` in nanoseconds: 0 for a single duration.
    pub fn width(&self) -> u64 {
        self.hi.0 - self.lo.0
    }
}

impl FromStr for DurRange {
    type Err = DurParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (lo, hi) = match s.split_once("..") {
            Some((a, b)) => (a.parse::<Dur>()?, b.trim_start_matches('=').parse::<Dur>()?),
            None => {
                let d = s.parse::<Dur>()?;
                (d, d)
            }
        };
        if hi < lo {
            return Err(DurParseError(format!(
                "'{s}' is an empty range (the upper bound must be at least the lower bound)"
            )));
        }
        Ok(DurRange { lo, hi })
    }
}

impl fmt::Display for DurRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lo == self.hi {
            write!(f, "{}", self.lo)
        } else {
            write!(f, "{}..{}", self.lo, self.hi)
        }
    }
}

impl Serialize for DurRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}
impl<'de> Deserialize<'de> for DurRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_exact_decimals() {
        let cases: &[(&str, u64)] = &[
            ("150ms", 150 * MS),
            ("1.5s", 1_500 * MS),
            ("20us", 20 * US),
            ("7ns", 7),
            ("0.001s", MS),
            ("2m", 120 * SEC),
            (".5ms", 500 * US),
            ("0s", 0),
        ];
        for &(s, ns) in cases {
            assert_eq!(s.parse::<Dur>().unwrap(), Dur(ns), "{s}");
        }
    }

    #[test]
    fn rejects_bad_durations() {
        for s in [
            "",
            "ms",
            "10",
            "1.5",
            "10 parsecs",
            "1.2.3s",
            "-5ms",
            "0.5ns",
        ] {
            assert!(s.parse::<Dur>().is_err(), "{s} should not parse");
        }
    }

    #[test]
    fn display_round_trips() {
        for ns in [
            0,
            1,
            999,
            1_000,
            1_500,
            150 * MS,
            1_500 * MS,
            12_345_678,
            SEC + 1,
        ] {
            let d = Dur(ns);
            assert_eq!(d.to_string().parse::<Dur>().unwrap(), d, "{d}");
        }
        assert_eq!(Dur(1_500 * MS).to_string(), "1.5s");
        assert_eq!(Dur(150 * MS).to_string(), "150ms");
    }

    #[test]
    fn ranges() {
        let r: DurRange = "150ms..300ms".parse().unwrap();
        assert_eq!((r.lo, r.hi), (Dur(150 * MS), Dur(300 * MS)));
        assert_eq!(r.to_string(), "150ms..300ms");
        assert!("300ms..150ms".parse::<DurRange>().is_err());
        let one: DurRange = "50ms".parse().unwrap();
        assert_eq!(one.width(), 0);
    }
}
