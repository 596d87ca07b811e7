//! The bus's registration.

use super::{Bus, BusConfig, BusMonitor};
use crate::protocols::Spec;

/// The message bus: pub/sub, request-reply, delivery guarantees, retries
/// with backoff and a dead-letter queue.
pub struct BusSpec;

impl Spec for BusSpec {
    const NAME: &'static str = "bus";
    const SUMMARY: &'static str =
        "Message bus: pub/sub, direct, broadcast and request-reply through brokers or peers; at-most-once, at-least-once (retries with backoff, dead-letter queue) and exactly-once; FIFO; backpressure";
    type Node = Bus;
    type Config = BusConfig;
    type Monitor = BusMonitor;
    #[cfg(feature = "cli")]
    type Flags = super::BusFlags;

    fn validate(cfg: &BusConfig, nodes: u32) -> Result<(), String> {
        cfg.validate(nodes)
    }
}
