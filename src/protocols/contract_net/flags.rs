//! Contract net's command-line flags: each overrides its `[protocol]` setting.

use super::{ContractNetConfig, Cost, Filter, SizeDist, Strategy, Variant};
use crate::protocols::Flags;
use crate::time::Dur;
use clap::Args;

/// Speeds written `1,2,0.5`.
fn parse_speeds(s: &str) -> Result<Vec<f64>, String> {
    s.split(',')
        .map(|x| {
            x.trim().parse::<f64>().map_err(|_| {
                format!("contract-net.speeds '{s}': '{x}' is not a number (accepted: e.g. 1,2,0.5)")
            })
        })
        .collect()
}

/// Contract net's flags; each overrides its setting of the `[protocol]` table.
#[derive(Args, Debug, Clone, Default)]
pub struct ContractNetFlags {
    /// contract-net | round-robin | random | least-loaded | power-of-two | oracle [default: contract-net].
    #[arg(long, value_name = "STRATEGY")]
    pub strategy: Option<Strategy>,
    /// Managers: nodes 0..N; the other nodes are contractors [default: 1].
    #[arg(long, value_name = "N")]
    pub managers: Option<u32>,
    /// Tasks a contractor holds at once, running and queued (and reserved bids) [default: 4].
    #[arg(long, value_name = "N")]
    pub contractor_capacity: Option<u32>,
    /// Contractor speeds (work seconds per second), cycled over contractors: 1,2,0.5 [default: 1].
    #[arg(long, value_name = "LIST", value_parser = parse_speeds)]
    pub speeds: Option<Vec<f64>>,
    /// Capability kinds, 0..=32 (0: tasks need none) [default: 0].
    #[arg(long, value_name = "N")]
    pub capabilities: Option<u32>,
    /// Capabilities each contractor has: kinds j, j+1, ... for contractor j [default: 1].
    #[arg(long, value_name = "N")]
    pub caps_per_contractor: Option<u32>,
    /// Capabilities each task needs, drawn without replacement [default: 1].
    #[arg(long, value_name = "N")]
    pub task_caps: Option<u32>,
    /// Task size distribution: fixed | exp | pareto [default: exp].
    #[arg(long, value_name = "DIST")]
    pub size: Option<SizeDist>,
    /// Mean task size, seconds of work at speed 1 [default: 0.2].
    #[arg(long, value_name = "SECONDS")]
    pub size_mean: Option<f64>,
    /// Pareto tail index, above 1 [default: 2.5].
    #[arg(long, value_name = "ALPHA")]
    pub size_alpha: Option<f64>,
    /// What contractors bid: completion | queue | task-time [default: completion].
    #[arg(long, value_name = "COST")]
    pub cost: Option<Cost>,
    /// Whether a proposal reserves its capacity until the answer: true | false [default: true].
    #[arg(long, value_name = "BOOL")]
    pub reserve: Option<bool>,
    /// How long a manager waits for proposals [default: 20ms].
    #[arg(long, value_name = "DUR")]
    pub deadline: Option<Dur>,
    /// Award once every invitee answered, before the deadline: true | false [default: true].
    #[arg(long, value_name = "BOOL")]
    pub early_award: Option<bool>,
    /// Wait before announcing again a task that got no proposal [default: 20ms].
    #[arg(long, value_name = "DUR")]
    pub retry: Option<Dur>,
    /// Lease on an award, on the contractor's clock [default: 1s].
    #[arg(long, value_name = "DUR")]
    pub lease: Option<Dur>,
    /// Progress reports (lease renewals) and lease-clock ticks [default: 100ms].
    #[arg(long, value_name = "DUR")]
    pub report_every: Option<Dur>,
    /// Clock drift the leases allow for, ppm (at least the scenario's drift) [default: 1000].
    #[arg(long, value_name = "PPM")]
    pub drift_bound_ppm: Option<u32>,
    /// Whom a call reaches: none (everyone) | capability (the directory) [default: capability].
    #[arg(long, value_name = "FILTER")]
    pub filter: Option<Filter>,
    /// Invite at most N eligible contractors, drawn at random (0: all) [default: 0].
    #[arg(long, value_name = "N")]
    pub fanout: Option<u32>,
    /// Probability that a task fails at the end (failure instead of inform-done) [default: 0].
    #[arg(long, value_name = "RATIO")]
    pub failure_ratio: Option<f64>,
    /// correct | double-award | over-capacity (deliberately broken variants).
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<Variant>,
}

impl Flags<ContractNetConfig> for ContractNetFlags {
    fn apply(&self, cfg: &mut ContractNetConfig) -> Result<(), String> {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { cfg.$f = v; } )* };
        }
        set!(
            strategy,
            managers,
            contractor_capacity,
            capabilities,
            caps_per_contractor,
            task_caps,
            size,
            size_mean,
            size_alpha,
            cost,
            reserve,
            deadline,
            early_award,
            retry,
            lease,
            report_every,
            drift_bound_ppm,
            filter,
            fanout,
            failure_ratio,
            variant
        );
        if let Some(s) = &self.speeds {
            cfg.speeds = s.clone();
        }
        Ok(())
    }
}
