//! The jury's registration.

use super::{Jury, JuryConfig, JuryMonitor};
use crate::protocols::Spec;

/// The noisy jury.
pub struct JurySpec;

impl Spec for JurySpec {
    const NAME: &'static str = "jury";
    const SUMMARY: &'static str =
        "Noisy jury (Condorcet): independent or correlated jurors, a verdict by a voting rule, Byzantine jurors mixed in";
    type Node = Jury;
    type Config = JuryConfig;
    type Monitor = JuryMonitor;
    #[cfg(feature = "cli")]
    type Flags = super::JuryFlags;

    fn validate(cfg: &JuryConfig, nodes: u32) -> Result<(), String> {
        cfg.validate(nodes)
    }
}
