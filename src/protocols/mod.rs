//! The protocols, one module each: a sans-IO state machine plus its named
//! properties and metrics. [`ProtocolConfig`] selects one in a scenario
//! (`[protocol] name = "raft"`), and [`run_protocol`] runs it.

pub mod gossip;
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
    Gossip(gossip::GossipConfig),
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

pub const PROTOCOLS: &[ProtocolInfo] = &[
    ProtocolInfo {
        name: "raft",
        summary: "Raft leader election (Figure 2, §5.2, §5.4.1) with Pre-Vote and CheckQuorum",
        properties: <raft::RaftMonitor as Monitor<raft::Raft>>::properties,
        defaults: || ProtocolConfig::Raft(raft::RaftConfig::default()),
    },
    ProtocolInfo {
        name: "gossip",
        summary:
            "Gossip: push, pull and push-pull rumor mongering and anti-entropy (Demers et al. 1987)",
        properties: <gossip::GossipMonitor as Monitor<gossip::Gossip>>::properties,
        defaults: || ProtocolConfig::Gossip(gossip::GossipConfig::default()),
    },
];

impl ProtocolConfig {
    pub fn name(&self) -> &'static str {
        match self {
            ProtocolConfig::Raft(_) => "raft",
            ProtocolConfig::Gossip(_) => "gossip",
        }
    }

    pub fn validate(&self, nodes: u32) -> Result<(), String> {
        match self {
            ProtocolConfig::Raft(c) => c.validate(),
            ProtocolConfig::Gossip(c) => c.validate(nodes),
        }
    }

    pub fn properties(&self) -> &'static [Property] {
        match self {
            ProtocolConfig::Raft(_) => <raft::RaftMonitor as Monitor<raft::Raft>>::properties(),
            ProtocolConfig::Gossip(_) => {
                <gossip::GossipMonitor as Monitor<gossip::Gossip>>::properties()
            }
        }
    }
}

/// Runs the scenario's protocol, hashing (and maybe writing) through `tracer`.
pub fn run_protocol(sc: &Scenario, tracer: Tracer) -> (RunReport, Tracer) {
    match &sc.protocol {
        ProtocolConfig::Raft(c) => {
            Simulation::<raft::Raft, raft::RaftMonitor>::new(sc, *c, tracer).run()
        }
        ProtocolConfig::Gossip(c) => {
            let cfg = std::sync::Arc::new(c.clone());
            let (mut report, tracer) =
                Simulation::<gossip::Gossip, gossip::GossipMonitor>::new(sc, cfg, tracer).run();
            gossip::add_traffic_metrics(&mut report, sc.nodes);
            (report, tracer)
        }
    }
}
