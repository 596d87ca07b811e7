//! OM's registration.

use super::{Om, OmConfig, OmMonitor};
use crate::protocols::Spec;

/// Oral messages OM(m) and signed messages SM(m): the Byzantine generals.
pub struct OmSpec;

impl Spec for OmSpec {
    const NAME: &'static str = "om";
    const SUMMARY: &'static str =
        "Byzantine generals: oral messages OM(m) and signed messages SM(m) (Lamport, Shostak & Pease 1982)";
    type Node = Om;
    type Config = OmConfig;
    type Monitor = OmMonitor;
    #[cfg(feature = "cli")]
    type Flags = super::OmFlags;

    fn validate(cfg: &OmConfig, nodes: u32) -> Result<(), String> {
        cfg.validate(nodes)
    }
}
