//! `[labels]`: how parameters, values and metrics are named in legends and
//! axes, in the reader's terms.

use crate::time::Dur;

/// How parameters, values and metrics are named in legends and axes.
#[derive(Clone, Debug, Default)]
pub struct Labels {
    /// Flattened `[labels]`: `path` or `path.value` or metric name → text.
    pub(super) entries: Vec<(String, String)>,
}

impl Labels {
    fn get(&self, key: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The name of a parameter (`timeout`), from `[labels]` or its path.
    pub fn param_name(&self, path: &str) -> String {
        if let Some(l) = self.get(path) {
            let name = l.replace("{}", "").trim().to_string();
            // A label of the value alone ("{}") names nothing.
            if !name.is_empty() {
                return name;
            }
        }
        default_param_name(path)
    }

    /// A parameter and its value in the user's terms: `timeout 150–300ms`.
    pub fn param_value(&self, path: &str, value: &str) -> String {
        if let Some(l) = self.get(&format!("{path}.{value}")) {
            return l.to_string();
        }
        let shown = human_value(value);
        match self.get(path) {
            Some(l) if l.contains("{}") => l.replace("{}", &shown),
            Some(l) => format!("{l} {shown}"),
            None => format!("{} {shown}", default_param_name(path)),
        }
    }

    /// A value alone, as a category on an axis: `[labels]` `path.value`, else as written.
    pub fn value_text(&self, path: &str, value: &str) -> String {
        self.get(&format!("{path}.{value}"))
            .map(str::to_string)
            .unwrap_or_else(|| human_value(value))
    }

    /// A metric's axis label with its unit: `time without a leader (ms)`.
    pub fn metric_axis(&self, metric: &str) -> String {
        let (words, unit) = metric_words(metric);
        let name = self.get(metric).map(str::to_string).unwrap_or(words);
        match unit {
            Some(u) => format!("{name} ({u})"),
            None => name,
        }
    }
}

/// `protocol.election_timeout` → `election timeout`; helpers get their own words.
fn default_param_name(path: &str) -> String {
    match path {
        "derive.heartbeat_ratio" => "heartbeat / minimum timeout".into(),
        "derive.latency_ratio" => "one-way latency / timeout range".into(),
        "derive.failed_servers" => "failed servers".into(),
        _ => path.rsplit('.').next().unwrap_or(path).replace('_', " "),
    }
}

/// Splits a metric name into words and its unit: `downtime_ms_max` → (`downtime max`, `ms`).
pub fn metric_words(metric: &str) -> (String, Option<&'static str>) {
    let mut unit = None;
    let mut words = Vec::new();
    for w in metric.split('_') {
        match w {
            "ms" => unit = Some("ms"),
            "ns" => unit = Some("ns"),
            "us" => unit = Some("µs"),
            "s" => unit = Some("s"),
            _ => words.push(w),
        }
    }
    (words.join(" "), unit)
}

/// A value as people write it: `150ms..300ms` → `150–300ms`, `true` → `on`.
pub fn human_value(v: &str) -> String {
    if v == "true" {
        return "on".into();
    }
    if v == "false" {
        return "off".into();
    }
    if let Some((a, b)) = v.split_once("..") {
        if a.parse::<Dur>().is_ok() && b.parse::<Dur>().is_ok() {
            let unit = |s: &str| {
                s.trim_start_matches(|c: char| c.is_ascii_digit() || c == '.')
                    .to_string()
            };
            let (ua, ub) = (unit(a), unit(b));
            if ua == ub {
                return format!("{}–{b}", a.trim_end_matches(ua.as_str()));
            }
            return format!("{a}–{b}");
        }
    }
    v.to_string()
}

impl Labels {
    /// Refuses a label of a parameter that does not exist: a key under a
    /// scenario table (`protocol.electon_timeout`) must name a setting of the
    /// base scenario `base` (as JSON); anything after the setting is a value.
    /// `group`, `derive.*` and metric names are not checked here.
    pub(super) fn check_params(&self, base: &serde_json::Value) -> Result<(), String> {
        for (key, _) in &self.entries {
            let mut parts = key.split('.');
            let first = parts.next().unwrap_or("");
            if first == "group" || first == "derive" {
                continue;
            }
            let Some(mut v) = base.get(first) else {
                if key.contains('.') {
                    return Err(format!(
                        "labels '{key}': no such parameter (accepted: a setting of the scenario such as protocol.NAME, group, derive.NAME, or a metric)"
                    ));
                }
                continue;
            };
            let mut path = first.to_string();
            for part in parts {
                let Some(obj) = v.as_object() else { break };
                match obj.get(part) {
                    Some(inner) => v = inner,
                    None => {
                        let mut keys: Vec<&str> = obj.keys().map(String::as_str).collect();
                        keys.retain(|k| *k != "name");
                        return Err(format!(
                            "labels '{key}': {path} has no setting '{part}' (accepted: {})",
                            keys.join(", ")
                        ));
                    }
                }
                path = format!("{path}.{part}");
            }
        }
        Ok(())
    }
}

/// Flattens `[labels]` into `(key, text)`; value-specific labels are `path.value`.
pub(super) fn flatten_labels(
    prefix: &str,
    t: &toml::Table,
    out: &mut Vec<(String, String)>,
) -> Result<(), String> {
    for (k, v) in t {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::String(s) => out.push((path, s.clone())),
            toml::Value::Table(inner) => flatten_labels(&path, inner, out)?,
            other => {
                return Err(format!(
                    "labels '{path}' = {other} (accepted: a text, or a table of value = text)"
                ))
            }
        }
    }
    Ok(())
}
