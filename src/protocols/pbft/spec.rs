//! PBFT's registration.

use super::{Pbft, PbftConfig, PbftMonitor};
use crate::protocols::Spec;

/// Castro–Liskov PBFT.
pub struct PbftSpec;

impl Spec for PbftSpec {
    const NAME: &'static str = "pbft";
    const SUMMARY: &'static str =
        "PBFT (Castro & Liskov 1999): pre-prepare, prepare, commit, view change; no checkpoints";
    type Node = Pbft;
    type Config = PbftConfig;
    type Monitor = PbftMonitor;
    #[cfg(feature = "cli")]
    type Flags = super::PbftFlags;

    fn validate(cfg: &PbftConfig, nodes: u32) -> Result<(), String> {
        cfg.validate(nodes)
    }
}
