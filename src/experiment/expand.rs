//! Sweep expansion: `[sweep]` tables flattened into swept keys and values
//! (lists and ranges), and dotted paths set in a scenario table.

use crate::time::Dur;
use std::ops::Range;

/// Most configurations one experiment may expand to (a guard against typos in ranges).
pub const CONFIGS_MAX: usize = 100_000;

/// Sets `path` (dotted) in `table`, creating tables on the way.
pub(super) fn set_path(
    table: &mut toml::Table,
    path: &str,
    value: toml::Value,
) -> Result<(), String> {
    let mut parts = path.split('.').peekable();
    let mut t = table;
    while let Some(p) = parts.next() {
        if parts.peek().is_none() {
            t.insert(p.to_string(), value);
            return Ok(());
        }
        let entry = t
            .entry(p.to_string())
            .or_insert_with(|| toml::Value::Table(toml::Table::new()));
        t = match entry {
            toml::Value::Table(inner) => inner,
            _ => return Err(format!("'{p}' in '{path}' is a value, not a table")),
        };
    }
    Ok(())
}

pub(super) fn get_path<'a>(table: &'a toml::Table, path: &str) -> Option<&'a toml::Value> {
    let mut parts = path.split('.');
    let mut v = table.get(parts.next()?)?;
    for p in parts {
        v = v.as_table()?.get(p)?;
    }
    Some(v)
}

/// One swept key and its values, in the order written.
pub(super) type SweptKey = (String, Vec<toml::Value>);

/// One sweep group: its name, its seeds and its swept keys.
pub(super) struct Group {
    pub(super) name: String,
    pub(super) seeds: Range<u64>,
    pub(super) keys: Vec<SweptKey>,
}

pub(super) const RANGE_KEYS: [&str; 5] = ["from", "to", "step", "count", "scale"];

pub(super) fn is_range(t: &toml::Table) -> bool {
    t.contains_key("from") && t.keys().all(|k| RANGE_KEYS.contains(&k.as_str()))
}

/// Flattens one sweep table into `(path, values)` in the order written.
pub(super) fn flatten_sweep(
    prefix: &str,
    t: &toml::Table,
    out: &mut Vec<SweptKey>,
) -> Result<(), String> {
    for (k, v) in t {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Array(a) => {
                if a.is_empty() {
                    return Err(format!(
                        "sweep '{path}': empty list (accepted: a list of values or a range {{ from, to, step | count }})"
                    ));
                }
                if let Some((i, v)) = a.iter().enumerate().find(|&(i, v)| a[..i].contains(v)) {
                    return Err(format!(
                        "sweep '{path}': value {v} listed twice (item {}) (accepted: distinct values, each once)",
                        i + 1
                    ));
                }
                out.push((path, a.clone()));
            }
            toml::Value::Table(inner) if is_range(inner) => {
                out.push((path.clone(), expand_range(&path, inner)?))
            }
            toml::Value::Table(inner) => flatten_sweep(&path, inner, out)?,
            scalar => out.push((path, vec![scalar.clone()])),
        }
    }
    Ok(())
}

/// Rounds to 12 significant digits, so `0.05 * 3` is written `0.15`.
fn round12(v: f64) -> f64 {
    format!("{v:.11e}").parse().unwrap_or(v)
}

/// Rounds nanoseconds to 6 significant digits: a log range gives `316.228ms`.
fn round_sig6(ns: u64) -> u64 {
    let mut f = 1u64;
    while ns / f >= 1_000_000 {
        f *= 10;
    }
    (ns + f / 2) / f * f
}

/// Expands `{ from, to, step }` or `{ from, to, count [, scale = "log"] }`.
pub(super) fn expand_range(path: &str, t: &toml::Table) -> Result<Vec<toml::Value>, String> {
    let ctx = |m: String| format!("sweep '{path}': {m}");
    let accepted =
        "accepted: { from, to, step } or { from, to, count, scale = \"linear\" | \"log\" }";
    let to = t
        .get("to")
        .ok_or_else(|| ctx(format!("range needs 'to' ({accepted})")))?;
    let from = &t["from"];
    let log = match t.get("scale") {
        None => false,
        Some(toml::Value::String(s)) if s == "linear" => false,
        Some(toml::Value::String(s)) if s == "log" => true,
        Some(other) => {
            return Err(ctx(format!(
                "scale = {other} unknown (accepted: \"linear\", \"log\")"
            )))
        }
    };
    let count = match t.get("count") {
        None => None,
        Some(toml::Value::Integer(n)) if (1..=CONFIGS_MAX as i64).contains(n) => Some(*n as usize),
        Some(other) => {
            return Err(ctx(format!(
                "count = {other} out of range (accepted: 1..={CONFIGS_MAX})"
            )))
        }
    };
    let step = t.get("step");
    if step.is_some() == count.is_some() {
        return Err(ctx(format!(
            "give exactly one of step and count ({accepted})"
        )));
    }
    if log && count.is_none() {
        return Err(ctx("scale = \"log\" needs count".into()));
    }
    let too_many = || {
        ctx(format!(
            "range has more than {CONFIGS_MAX} values (accepted: fewer values)"
        ))
    };
    // Durations: integer nanoseconds.
    if let (toml::Value::String(a), toml::Value::String(b)) = (from, to) {
        let dur = |s: &str| s.parse::<Dur>().map_err(|e| ctx(e.0));
        let (a, b) = (dur(a)?.0, dur(b)?.0);
        if b < a {
            return Err(ctx("'to' is below 'from' (accepted: from <= to)".into()));
        }
        let mut vals = Vec::new();
        if let Some(n) = count {
            for i in 0..n {
                let v = if n == 1 {
                    a
                } else if log {
                    if a == 0 {
                        return Err(ctx("scale = \"log\" needs from above 0".into()));
                    }
                    let r = i as f64 / (n - 1) as f64;
                    round_sig6(libm::round(a as f64 * libm::pow(b as f64 / a as f64, r)) as u64)
                } else {
                    a + ((b - a) as u128 * i as u128 / (n - 1) as u128) as u64
                };
                vals.push(v);
            }
        } else {
            let s = match step {
                Some(toml::Value::String(s)) => dur(s)?.0,
                _ => {
                    return Err(ctx(
                        "a duration range needs a duration step, e.g. \"10ms\"".into()
                    ))
                }
            };
            if s == 0 {
                return Err(ctx("step must be above 0".into()));
            }
            let mut v = a;
            while v <= b {
                vals.push(v);
                if vals.len() > CONFIGS_MAX {
                    return Err(too_many());
                }
                v += s;
            }
        }
        return Ok(vals
            .into_iter()
            .map(|ns| toml::Value::String(Dur(ns).to_string()))
            .collect());
    }
    // Integers with an integer step stay integers.
    if let (toml::Value::Integer(a), toml::Value::Integer(b), Some(toml::Value::Integer(s))) =
        (from, to, step)
    {
        if *s <= 0 {
            return Err(ctx("step must be above 0".into()));
        }
        if b < a {
            return Err(ctx("'to' is below 'from' (accepted: from <= to)".into()));
        }
        if (b - a) / s >= CONFIGS_MAX as i64 {
            return Err(too_many());
        }
        return Ok((0..=(b - a) / s)
            .map(|i| toml::Value::Integer(a + i * s))
            .collect());
    }
    let num = |v: &toml::Value, k: &str| -> Result<f64, String> {
        match v {
            toml::Value::Integer(i) => Ok(*i as f64),
            toml::Value::Float(f) if f.is_finite() => Ok(*f),
            other => Err(ctx(format!(
                "{k} = {other} is not a number or a duration ({accepted})"
            ))),
        }
    };
    let (a, b) = (num(from, "from")?, num(to, "to")?);
    if b < a {
        return Err(ctx("'to' is below 'from' (accepted: from <= to)".into()));
    }
    let mut vals = Vec::new();
    if let Some(n) = count {
        if log && a <= 0.0 {
            return Err(ctx("scale = \"log\" needs from above 0".into()));
        }
        for i in 0..n {
            let v = if n == 1 {
                a
            } else if log {
                a * libm::pow(b / a, i as f64 / (n - 1) as f64)
            } else {
                a + (b - a) * i as f64 / (n - 1) as f64
            };
            vals.push(round12(v));
        }
    } else {
        let s = num(step.expect("checked above"), "step")?;
        if s <= 0.0 {
            return Err(ctx("step must be above 0".into()));
        }
        let n = libm::floor((b - a) / s * (1.0 + 1e-12) + 1e-9) as usize;
        if n >= CONFIGS_MAX {
            return Err(too_many());
        }
        for i in 0..=n {
            vals.push(round12(a + s * i as f64));
        }
    }
    Ok(vals.into_iter().map(toml::Value::Float).collect())
}
