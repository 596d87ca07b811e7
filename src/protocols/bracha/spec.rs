//! Bracha's registration.

use super::{Bracha, BrachaConfig, BrachaMonitor};
use crate::protocols::Spec;

/// Bracha's reliable broadcast.
pub struct BrachaSpec;

impl Spec for BrachaSpec {
    const NAME: &'static str = "bracha";
    const SUMMARY: &'static str =
        "Bracha's Byzantine reliable broadcast (1987): echo and ready thresholds, n > 3t";
    type Node = Bracha;
    type Config = BrachaConfig;
    type Monitor = BrachaMonitor;
    #[cfg(feature = "cli")]
    type Flags = super::BrachaFlags;

    fn validate(cfg: &BrachaConfig, nodes: u32) -> Result<(), String> {
        cfg.validate(nodes)
    }
}
