//! Gossip's registration.

use super::{Gossip, GossipConfig, GossipMonitor};
use crate::protocols::Spec;

/// Gossip: rumor mongering and anti-entropy.
pub struct GossipSpec;

impl Spec for GossipSpec {
    const NAME: &'static str = "gossip";
    const SUMMARY: &'static str =
        "Gossip: push, pull and push-pull rumor mongering and anti-entropy (Demers et al. 1987)";
    type Node = Gossip;
    type Config = GossipConfig;
    type Monitor = GossipMonitor;
    #[cfg(feature = "cli")]
    type Flags = super::GossipFlags;

    fn validate(cfg: &GossipConfig, nodes: u32) -> Result<(), String> {
        cfg.validate(nodes)
    }

    /// Several keys live on the heap, one entry each, and again in what
    /// survives a crash.
    fn state_bytes_per_node(cfg: &GossipConfig, _nodes: u32) -> u64 {
        if cfg.keys > 1 {
            2 * cfg.keys as u64 * std::mem::size_of::<super::Entry>() as u64
        } else {
            0
        }
    }
}
