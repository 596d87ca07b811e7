//! A scenario: everything one run needs, validated once into a typed value.
//!
//! Built from defaults, then a scenario file (TOML), then command-line flags,
//! each overriding the last. `run_start` records it whole, so a trace is
//! enough to re-run.
//!
//! ```toml
//! seed = 7
//! nodes = 5
//! time_max = "10s"
//!
//! [net]
//! latency = "exp:floor=1ms,mean=4ms"
//! loss_ratio = 0.05
//!
//! [faults]
//! schedule = ["crash-leader:500ms@2s"]
//!
//! [protocol]
//! name = "raft"
//! election_timeout = "150ms..300ms"
//! ```

use crate::engine::setup::{AdversaryConfig, StorageConfig, WorkloadConfig};
use crate::engine::Setup;
use crate::net::faults::FaultConfig;
use crate::net::NetConfig;
use crate::protocols::ProtocolConfig;
use crate::time::{Dur, SEC};
use serde::{Deserialize, Serialize};

/// Largest node count accepted.
pub const NODES_MAX: u32 = 16_000_000;

/// Everything one run needs (see the module docs).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Scenario {
    /// The seed of every random choice.
    pub seed: u64,
    /// Number of nodes.
    pub nodes: u32,
    /// The run stops at this virtual time (`time_max`).
    pub time_max: Dur,
    /// The run stops after this many events (`events_max`).
    pub events_max: u64,
    /// Stop as soon as every `eventually` property holds and no fault remains (`done`).
    pub stop_when_done: bool,
    /// How long after the last fault `eventually` properties may take.
    pub liveness_bound: Dur,
    /// Links and topology.
    pub net: NetConfig,
    /// Crashes, partitions, drift.
    pub faults: FaultConfig,
    /// Client submissions (off by default).
    pub workload: WorkloadConfig,
    /// The storage write delay behind `persist` (none by default).
    pub storage: StorageConfig,
    /// Byzantine nodes (none by default).
    pub adversary: AdversaryConfig,
    /// The protocol and its settings.
    pub protocol: ProtocolConfig,
}

impl Default for Scenario {
    fn default() -> Self {
        Scenario {
            seed: 0,
            nodes: 5,
            time_max: Dur(10 * SEC),
            events_max: 10_000_000,
            stop_when_done: true,
            liveness_bound: Dur(5 * SEC),
            net: NetConfig::default(),
            faults: FaultConfig::default(),
            workload: WorkloadConfig::default(),
            storage: StorageConfig::default(),
            adversary: AdversaryConfig::default(),
            protocol: ProtocolConfig::default(),
        }
    }
}

/// A scenario that failed validation: one line naming the field and the accepted range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl Scenario {
    /// The default scenario for protocol `spec` (its default settings).
    pub fn for_protocol(spec: &dyn crate::protocols::DynSpec) -> Scenario {
        Scenario {
            protocol: spec.default_config(),
            ..Scenario::default()
        }
    }

    /// Reads a TOML scenario file; errors name the file and the key.
    pub fn from_toml_file(path: &std::path::Path) -> Result<Scenario, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{}: cannot read: {e}", path.display())))?;
        Self::from_toml_str(&text).map_err(|e| ConfigError(format!("{}: {}", path.display(), e.0)))
    }

    /// Reads a TOML scenario file for protocol `spec`: without a
    /// `[protocol]` table (or a name in it) the file is for `spec`; a file
    /// for another protocol is refused.
    pub fn from_toml_file_for(
        path: &std::path::Path,
        spec: &'static dyn crate::protocols::DynSpec,
    ) -> Result<Scenario, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError(format!("{}: cannot read: {e}", path.display())))?;
        let named = |m: String| ConfigError(format!("{}: {m}", path.display()));
        let sc = crate::protocols::spec::with_default_protocol(spec, || Self::from_toml_str(&text))
            .map_err(|e| named(e.0))?;
        if sc.protocol.name() != spec.name() {
            return Err(named(format!(
                "the scenario file is for protocol '{}', not {} (accepted: a file for {} or without a [protocol] name)",
                sc.protocol.name(),
                spec.name(),
                spec.name()
            )));
        }
        Ok(sc)
    }

    /// Parses a TOML scenario; errors name the line and the key.
    pub fn from_toml_str(text: &str) -> Result<Scenario, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError(one_line_toml_error(&e, text)))
    }

    /// Checks every field; the error names it and the accepted range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let e = |s: String| ConfigError(s);
        if self.nodes == 0 || self.nodes > NODES_MAX {
            return Err(e(format!(
                "nodes = {} out of range (accepted: 1..={NODES_MAX})",
                self.nodes
            )));
        }
        if self.time_max.0 == 0 {
            return Err(e(
                "time_max must be above 0 (accepted: a positive duration such as 10s)".into(),
            ));
        }
        if self.events_max == 0 {
            return Err(e("events_max must be above 0 (accepted: 1..)".into()));
        }
        self.net.validate(self.nodes).map_err(e)?;
        self.faults.validate(self.nodes).map_err(e)?;
        self.workload.validate(self.nodes).map_err(e)?;
        self.storage.validate(self.nodes).map_err(e)?;
        let spec = self.protocol.spec();
        self.adversary
            .validate(self.nodes, spec.name(), spec.behaviours())
            .map_err(e)?;
        self.protocol.validate(self.nodes).map_err(e)?;
        // Last: the estimate reads settings checked above.
        let node_bytes = spec.node_bytes(&self.protocol, self.nodes);
        crate::engine::limits::check_memory(
            self.nodes,
            node_bytes,
            &self.net.topology,
            spec.name(),
        )
        .map_err(e)?;
        Ok(())
    }

    /// What one run of this scenario needs at most, in bytes
    /// ([`crate::engine::limits::estimate`]).
    pub fn memory_need(&self) -> u64 {
        let spec = self.protocol.spec();
        let node_bytes = spec.node_bytes(&self.protocol, self.nodes);
        crate::engine::limits::estimate(self.nodes, node_bytes, &self.net.topology).total()
    }

    /// What the engine takes: everything but the protocol.
    pub fn setup(&self) -> Setup<'_> {
        Setup {
            seed: self.seed,
            nodes: self.nodes,
            time_max: self.time_max.0,
            events_max: self.events_max,
            stop_when_done: self.stop_when_done,
            liveness_bound: self.liveness_bound.0,
            net: &self.net,
            faults: &self.faults,
            workload: &self.workload,
            storage: &self.storage,
            adversary: &self.adversary,
        }
    }

    /// Runs the scenario (validated) with `tracer` hashing and maybe writing.
    pub fn run(
        &self,
        tracer: crate::observe::trace::Tracer,
    ) -> (crate::engine::RunReport, crate::observe::trace::Tracer) {
        self.protocol
            .spec()
            .run(&self.setup(), &self.protocol, tracer)
    }
}

/// Formats a TOML error as one line: `line L, key 'k': message`.
pub fn one_line_toml_error(err: &toml::de::Error, text: &str) -> String {
    let msg = err.message().trim().replace('\n', " ");
    let Some(span) = err.span() else {
        return msg;
    };
    let start = span.start.min(text.len());
    let mut line_no = text[..start].matches('\n').count() + 1;
    // An unknown key of a table read as a whole (`[protocol]`) is reported
    // at the table; point at the key's own line instead.
    let dotted = msg
        .split_once(": ")
        .map(|(head, _)| head)
        .filter(|h| h.contains('.') && !h.contains(' '))
        .and_then(|h| h.rsplit('.').next());
    if let Some(key) = msg
        .strip_prefix("unknown field `")
        .and_then(|r| r.split_once('`'))
        .map(|(k, _)| k)
        .or(dotted)
    {
        let own = text.lines().enumerate().skip(line_no - 1).find(|(_, l)| {
            l.split_once('=').is_some_and(|(k, _)| {
                let k = k.trim().trim_matches('"');
                k == key || k.ends_with(&format!(".{key}"))
            })
        });
        if let Some((i, _)) = own {
            line_no = i + 1;
        }
    }
    let line = text.lines().nth(line_no - 1).unwrap_or("");
    match line.split_once('=') {
        Some((key, _)) if !msg.contains(key.trim()) => {
            format!("line {line_no}, key '{}': {msg}", key.trim())
        }
        _ => format!("line {line_no}: {msg}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_round_trip() {
        let text = r#"
seed = 7
nodes = 3
[net]
latency = "exp:floor=1ms,mean=4ms"
loss_ratio = 0.1
[faults]
schedule = ["crash:1@1s", "heal@2s"]
[protocol]
name = "raft"
election_timeout = "150ms..300ms"
"#;
        let sc = Scenario::from_toml_str(text).unwrap();
        assert_eq!(sc.nodes, 3);
        sc.validate().unwrap();
        let json = serde_json::to_string(&sc).unwrap();
        let back: Scenario = serde_json::from_str(&json).unwrap();
        assert_eq!(back, sc);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let e = Scenario::from_toml_str("nodez = 3").unwrap_err();
        assert!(e.0.contains("nodez"), "{e}");
        let sc = Scenario::from_toml_str("[net]\nloss_ratio = 1.5").unwrap();
        let e = sc.validate().unwrap_err();
        assert!(
            e.0.contains("net.loss_ratio") && e.0.contains("0..=1"),
            "{e}"
        );
        let sc = Scenario {
            nodes: 0,
            ..Scenario::default()
        };
        assert!(sc.validate().unwrap_err().0.contains("nodes"));
    }
}
