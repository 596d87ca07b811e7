//! The protocols, one module each: a sans-IO state machine plus its named
//! properties and metrics. [`ProtocolConfig`] selects one in a scenario
//! (`[protocol] name = "raft"`), and [`run_protocol`] runs it.

pub mod phold;
pub mod quorum;
pub mod raft;

use crate::engine::{Property, RunReport, Simulation};
use crate::observe::Monitor;
use crate::scenario::Scenario;
use crate::trace::Tracer;
use serde::{Deserialize, Serialize};

/// The protocol of a scenario and its parameters.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "kebab-case")]
pub enum ProtocolConfig {
    Raft(raft::RaftConfig),
}

impl Default for ProtocolConfig {
    fn default() -> Self {
        ProtocolConfig::Raft(raft::RaftConfig::default())
    }
}

/// What `agentsim list` shows about a protocol.
pub struct ProtocolInfo {
    pub name: &'static str,
    pub summary: &'static str,
    pub properties: fn() -> &'static [Property],
    /// The default configuration, as `[protocol]` TOML.
    pub defaults: fn() -> ProtocolConfig,
}

pub const PROTOCOLS: &[ProtocolInfo] = &[ProtocolInfo {
    name: "raft",
    summary: "Raft leader election (Figure 2, §5.2, §5.4.1) with Pre-Vote and CheckQuorum",
    properties: <raft::RaftMonitor as Monitor<raft::Raft>>::properties,
    defaults: || ProtocolConfig::Raft(raft::RaftConfig::default()),
}];

impl ProtocolConfig {
    pub fn name(&self) -> &'static str {
        match self {
            ProtocolConfig::Raft(_) => "raft",
        }
    }

    pub fn validate(&self, _nodes: u32) -> Result<(), String> {
        match self {
            ProtocolConfig::Raft(c) => c.validate(),
        }
    }

    pub fn properties(&self) -> &'static [Property] {
        match self {
            ProtocolConfig::Raft(_) => <raft::RaftMonitor as Monitor<raft::Raft>>::properties(),
        }
    }
}

/// Runs the scenario's protocol, hashing (and maybe writing) through `tracer`.
pub fn run_protocol(sc: &Scenario, tracer: Tracer) -> (RunReport, Tracer) {
    match &sc.protocol {
        ProtocolConfig::Raft(c) => {
            Simulation::<raft::Raft, raft::RaftMonitor>::new(sc, *c, tracer).run()
        }
    }
}
