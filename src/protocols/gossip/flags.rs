//! Gossip's command-line flags: each overrides its `[protocol]` setting.

use super::{
    Direction, GossipConfig, GossipVariant, InterestLoss, Mode, PullRule, Removal, Timing,
    WriteTiming,
};
use crate::protocols::Flags;
use crate::time::Dur;
use clap::Args;

/// A whole number within `lo..=hi`, the error naming the gossip field.
fn parse_bounded(
    field: &'static str,
    lo: u32,
    hi: u32,
) -> impl Fn(&str) -> Result<u32, String> + Clone {
    move |s: &str| {
        let v: u64 = s.parse().map_err(|_| {
            format!("gossip.{field} '{s}' is not a whole number (accepted: {lo}..={hi})")
        })?;
        if (lo as u64..=hi as u64).contains(&v) {
            Ok(v as u32)
        } else {
            Err(format!(
                "gossip.{field} = {v} out of range (accepted: {lo}..={hi})"
            ))
        }
    }
}

/// Gossip's flags; each overrides its setting of the `[protocol]` table.
#[derive(Args, Debug, Clone, Default)]
pub struct GossipFlags {
    /// rumor | anti-entropy [default: rumor].
    #[arg(long, value_name = "MODE")]
    pub mode: Option<Mode>,
    /// push | pull | push-pull [default: push].
    #[arg(long, value_name = "DIR")]
    pub direction: Option<Direction>,
    /// Peers contacted per round, 1..=32 [default: 1].
    #[arg(long, value_name = "N", value_parser = parse_bounded("fanout", 1, super::config::FANOUT_MAX))]
    pub fanout: Option<u32>,
    /// Time between a node's rounds [default: 100ms].
    #[arg(long, value_name = "DUR")]
    pub period: Option<Dur>,
    /// sync (every node at r*period) | async (own phase, period ± jitter) [default: sync].
    #[arg(long, value_name = "TIMING")]
    pub timing: Option<Timing>,
    /// Async rounds: each period drawn uniformly in period ± jitter [default: 0s].
    #[arg(long, value_name = "DUR")]
    pub jitter: Option<Dur>,
    /// Nodes 0..N hold the first update at time 0 [default: 1].
    #[arg(long, value_name = "N")]
    pub informed: Option<u32>,
    /// Rumor mongering: feedback (count contacts with nodes that knew) | blind (count every contact) [default: feedback].
    #[arg(long, value_name = "RULE")]
    pub interest_loss: Option<InterestLoss>,
    /// Rumor mongering: never | counter (after k counted contacts) | coin (probability 1/k each) [default: never].
    #[arg(long, value_name = "RULE")]
    pub removal: Option<Removal>,
    /// Rumor mongering: k of the counter or the coin, 1..=255 [default: 1].
    #[arg(long, value_name = "K", value_parser = parse_bounded("k", 1, super::config::K_MAX))]
    pub k: Option<u32>,
    /// Rumor mongering with pull or push-pull: paper (Demers et al.'s Table 3: answer every caller, count once per cycle) | versioned (answer only callers that lack the update, count every caller; not the paper's model) [default: paper].
    #[arg(long, value_name = "RULE")]
    pub pull_rule: Option<PullRule>,
    /// Rumor mongering: run anti-entropy as a backup with this period, 0s for none [default: 0s].
    #[arg(long, value_name = "DUR")]
    pub backup_period: Option<Dur>,
    /// Direction of the backup anti-entropy [default: push-pull].
    #[arg(long, value_name = "DIR")]
    pub backup_direction: Option<Direction>,
    /// Keys per node store, 1..=65535 (anti-entropy; rumor mongering uses 1) [default: 1].
    #[arg(long, value_name = "N", value_parser = parse_bounded("keys", 1, super::config::KEYS_MAX))]
    pub keys: Option<u32>,
    /// Anti-entropy: keys reconciled per exchange, 0 for all [default: 0].
    #[arg(long, value_name = "N")]
    pub keys_per_exchange: Option<u32>,
    /// Nodes 0..N write [default: 1].
    #[arg(long, value_name = "N")]
    pub writers: Option<u32>,
    /// Writes per writer, 0..=65535 [default: 0].
    #[arg(long, value_name = "N", value_parser = parse_bounded("writes", 0, super::config::WRITES_MAX))]
    pub writes: Option<u32>,
    /// Interval between a writer's writes (fixed, or mean of random gaps) [default: 1s].
    #[arg(long, value_name = "DUR")]
    pub write_every: Option<Dur>,
    /// scheduled | random [default: scheduled].
    #[arg(long, value_name = "TIMING")]
    pub write_timing: Option<WriteTiming>,
    /// correct | invent | older-wins (deliberately broken variants).
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<GossipVariant>,
}

impl Flags<GossipConfig> for GossipFlags {
    fn apply(&self, cfg: &mut GossipConfig) -> Result<(), String> {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { cfg.$f = v; } )* };
        }
        set!(
            mode,
            direction,
            fanout,
            period,
            timing,
            jitter,
            informed,
            interest_loss,
            removal,
            k,
            pull_rule,
            backup_period,
            backup_direction,
            keys,
            keys_per_exchange,
            writers,
            writes,
            write_every,
            write_timing,
            variant
        );
        Ok(())
    }
}
