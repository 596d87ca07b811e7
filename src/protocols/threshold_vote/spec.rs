//! Threshold consensus's registration.

use super::{ThresholdConfig, ThresholdMonitor, ThresholdVote};
use crate::protocols::Spec;

/// Threshold consensus: commit when at least `n − f` votes agree.
pub struct ThresholdSpec;

impl Spec for ThresholdSpec {
    const NAME: &'static str = "threshold-vote";
    const SUMMARY: &'static str =
        "Threshold consensus as agent systems write it: commit when at least n − f votes agree (or by another voting rule)";
    type Node = ThresholdVote;
    type Config = ThresholdConfig;
    type Monitor = ThresholdMonitor;
    #[cfg(feature = "cli")]
    type Flags = super::ThresholdFlags;

    fn validate(cfg: &ThresholdConfig, nodes: u32) -> Result<(), String> {
        cfg.validate(nodes)
    }
}
