//! Contract net's settings: one validated [`ContractNetConfig`] per run,
//! written in the `[protocol]` table of a scenario (`name = "contract-net"`)
//! or set by flags (`agentsim run contract-net --help`).
//!
//! Every enum is spelled in kebab-case in files and flags; every error is one
//! line naming the field and the accepted values.

use crate::time::Dur;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Most capability kinds (a task's and a contractor's sets are 32-bit masks).
pub const CAPABILITIES_MAX: u32 = 32;
/// Most tasks a contractor may hold at once.
pub const CAPACITY_MAX: u32 = 1 << 16;
/// Largest drift bound accepted: half the clock rate.
pub const DRIFT_BOUND_PPM_MAX: u32 = 500_000;
/// Largest mean task size, in seconds of work at speed 1.
pub const SIZE_MEAN_MAX_S: f64 = 1e6;

/// How a manager chooses who runs a task: the bidding, or a baseline.
///
/// Every strategy uses the same three steps (an offer, an answer, an award;
/// see the module docs for why), so they differ only in whom the manager
/// invites and which answer wins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Strategy {
    /// FIPA contract net: call every eligible contractor (or `fanout` of
    /// them), award the lowest cost.
    #[default]
    ContractNet,
    /// A central dispatcher: the next eligible contractor in turn.
    RoundRobin,
    /// A central dispatcher: an eligible contractor drawn uniformly.
    Random,
    /// A central dispatcher: the eligible contractor with the lowest load
    /// in the load reports contractors send on every change; tasks wait in a
    /// central FIFO queue while every contractor is full.
    LeastLoaded,
    /// A central dispatcher: probe two eligible contractors drawn at random,
    /// award the one with fewer tasks (Mitzenmacher's power of two choices).
    PowerOfTwo,
    /// An idealised least-loaded dispatcher that reads every contractor's
    /// true load (not a protocol: a bound), with a central FIFO queue.
    Oracle,
}

/// What a contractor bids.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Cost {
    /// Expected completion time at this contractor: the work it holds and
    /// has reserved, plus the task, divided by its speed (ns).
    #[default]
    Completion,
    /// Tasks it holds and has reserved (its queue length).
    Queue,
    /// The task's own running time here: size / speed (ignores the load).
    TaskTime,
}

/// The distribution of task sizes (work in seconds at speed 1).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SizeDist {
    /// Every task has size `size_mean`.
    Fixed,
    /// Exponential with mean `size_mean`.
    #[default]
    Exp,
    /// Pareto (type I) with mean `size_mean` and tail index `size_alpha`
    /// (> 1): minimum `size_mean × (α − 1) / α`.
    Pareto,
}

/// Whom a call for proposals reaches.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Filter {
    /// Every contractor (incapable ones refuse).
    None,
    /// Only contractors whose capabilities cover the task's, from the
    /// manager's directory (contractor capabilities are static and known).
    #[default]
    Capability,
}

/// Deliberately broken behaviours, selected by `variant`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Variant {
    /// The protocol as specified.
    #[default]
    Correct,
    /// The manager awards each round to its two best bidders.
    DoubleAward,
    /// A contractor proposes and accepts awards whatever its load.
    OverCapacity,
}

macro_rules! kebab_enum {
    ($ty:ty, $field:literal, [$(($name:literal, $v:expr)),+ $(,)?]) => {
        impl $ty {
            /// Every value with its spelling.
            pub const ALL: &'static [(&'static str, $ty)] = &[$(($name, $v)),+];
            /// The spelling of this value.
            pub fn as_str(self) -> &'static str {
                Self::ALL.iter().find(|(_, v)| *v == self).map(|(n, _)| *n).unwrap_or("?")
            }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::ALL
                    .iter()
                    .find(|(n, _)| *n == s.trim())
                    .map(|(_, v)| *v)
                    .ok_or_else(|| {
                        let names: Vec<&str> = Self::ALL.iter().map(|(n, _)| *n).collect();
                        format!(concat!("contract-net.", $field, " '{}' unknown (accepted: {})"), s, names.join(", "))
                    })
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

kebab_enum!(
    Strategy,
    "strategy",
    [
        ("contract-net", Strategy::ContractNet),
        ("round-robin", Strategy::RoundRobin),
        ("random", Strategy::Random),
        ("least-loaded", Strategy::LeastLoaded),
        ("power-of-two", Strategy::PowerOfTwo),
        ("oracle", Strategy::Oracle),
    ]
);
kebab_enum!(
    Cost,
    "cost",
    [
        ("completion", Cost::Completion),
        ("queue", Cost::Queue),
        ("task-time", Cost::TaskTime),
    ]
);
kebab_enum!(
    SizeDist,
    "size",
    [
        ("fixed", SizeDist::Fixed),
        ("exp", SizeDist::Exp),
        ("pareto", SizeDist::Pareto),
    ]
);
kebab_enum!(
    Filter,
    "filter",
    [("none", Filter::None), ("capability", Filter::Capability)]
);
kebab_enum!(
    Variant,
    "variant",
    [
        ("correct", Variant::Correct),
        ("double-award", Variant::DoubleAward),
        ("over-capacity", Variant::OverCapacity),
    ]
);

/// Contract net's settings (the `[protocol]` table).
///
/// Nodes `0..managers` are managers (or dispatchers, with a baseline
/// `strategy`); nodes `managers..nodes` are contractors. Contractor `j`
/// (node `managers + j`) has speed `speeds[j mod len]` and the
/// `caps_per_contractor` capabilities `j, j+1, ... (mod capabilities)`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ContractNetConfig {
    /// Who chooses the contractor of a task, and how.
    pub strategy: Strategy,
    /// Number of managers: nodes `0..managers`.
    pub managers: u32,
    /// Tasks a contractor holds at once (running and queued; reserved bids
    /// count too when `reserve`).
    pub contractor_capacity: u32,
    /// Contractor speeds (work seconds per second), cycled over contractors.
    pub speeds: Vec<f64>,
    /// Capability kinds (0: tasks need none).
    pub capabilities: u32,
    /// Capabilities each contractor has (consecutive kinds from its index).
    pub caps_per_contractor: u32,
    /// Capabilities each task needs, drawn without replacement.
    pub task_caps: u32,
    /// Task size distribution.
    pub size: SizeDist,
    /// Mean task size: seconds of work at speed 1.
    pub size_mean: f64,
    /// Pareto tail index (size = pareto only), above 1.
    pub size_alpha: f64,
    /// What contractors bid (contract net; power-of-two always bids the queue).
    pub cost: Cost,
    /// A proposal reserves its capacity and work until the answer (or until
    /// it lapses after a lease).
    pub reserve: bool,
    /// How long a manager waits for proposals (FIPA's reply-by).
    pub deadline: Dur,
    /// Award as soon as every invited contractor answered, before the
    /// deadline (what JADE's ContractNetInitiator does).
    pub early_award: bool,
    /// A task that got no proposal is announced again after this long.
    pub retry: Dur,
    /// Lease a contractor holds on an awarded task, counted on its own clock
    /// from the moment it sent the proposal or progress report renewed.
    pub lease: Dur,
    /// Contractors report progress (and ask for renewal) this often; the
    /// tick of every node's lease clock.
    pub report_every: Dur,
    /// Bound on any node's clock drift, in parts per million, that leases
    /// allow for (must be at least the scenario's `faults.drift_ppm_max`).
    pub drift_bound_ppm: u32,
    /// Whom a call reaches (contract net).
    pub filter: Filter,
    /// Invite at most this many eligible contractors, drawn at random (0: all).
    pub fanout: u32,
    /// Probability that a contractor reports `failure` instead of
    /// `inform-done` at the end of a task.
    pub failure_ratio: f64,
    /// Deliberately broken behaviours.
    pub variant: Variant,
}

impl Default for ContractNetConfig {
    fn default() -> Self {
        ContractNetConfig {
            strategy: Strategy::ContractNet,
            managers: 1,
            contractor_capacity: 4,
            speeds: vec![1.0],
            capabilities: 0,
            caps_per_contractor: 1,
            task_caps: 1,
            size: SizeDist::Exp,
            size_mean: 0.2,
            size_alpha: 2.5,
            cost: Cost::Completion,
            reserve: true,
            deadline: Dur::from_ms(20),
            early_award: true,
            retry: Dur::from_ms(20),
            lease: Dur::from_ms(1000),
            report_every: Dur::from_ms(100),
            drift_bound_ppm: 1000,
            filter: Filter::Capability,
            fanout: 0,
            failure_ratio: 0.0,
            variant: Variant::Correct,
        }
    }
}

impl ContractNetConfig {
    /// Checks the settings for `nodes` nodes; the error names the field and
    /// the accepted range.
    pub fn validate(&self, nodes: u32) -> Result<(), String> {
        if self.managers == 0 || self.managers >= nodes {
            return Err(format!(
                "contract-net.managers = {} out of range (accepted: 1..={} for {nodes} nodes: at least one contractor)",
                self.managers,
                nodes.saturating_sub(1).max(1)
            ));
        }
        if self.contractor_capacity == 0 || self.contractor_capacity > CAPACITY_MAX {
            return Err(format!(
                "contract-net.contractor_capacity = {} out of range (accepted: 1..={CAPACITY_MAX})",
                self.contractor_capacity
            ));
        }
        if self.speeds.is_empty() {
            return Err("contract-net.speeds is empty (accepted: one or more speeds above 0, e.g. [1.0])".into());
        }
        if let Some(s) = self
            .speeds
            .iter()
            .find(|s| !(s.is_finite() && **s > 0.0 && **s <= 1e6))
        {
            return Err(format!(
                "contract-net.speeds: {s} out of range (accepted: above 0, at most 1e6)"
            ));
        }
        if self.capabilities > CAPABILITIES_MAX {
            return Err(format!(
                "contract-net.capabilities = {} out of range (accepted: 0..={CAPABILITIES_MAX})",
                self.capabilities
            ));
        }
        if self.capabilities > 0 {
            if self.caps_per_contractor == 0 || self.caps_per_contractor > self.capabilities {
                return Err(format!(
                    "contract-net.caps_per_contractor = {} out of range (accepted: 1..={} capabilities)",
                    self.caps_per_contractor, self.capabilities
                ));
            }
            if self.task_caps > self.caps_per_contractor {
                return Err(format!(
                    "contract-net.task_caps = {} out of range (accepted: 0..={}, caps_per_contractor: a task needing more no contractor could run)",
                    self.task_caps, self.caps_per_contractor
                ));
            }
        }
        if !(self.size_mean.is_finite() && self.size_mean > 0.0 && self.size_mean <= SIZE_MEAN_MAX_S)
        {
            return Err(format!(
                "contract-net.size_mean = {} out of range (accepted: above 0, at most {SIZE_MEAN_MAX_S} seconds of work)",
                self.size_mean
            ));
        }
        if self.size == SizeDist::Pareto
            && !(self.size_alpha.is_finite() && self.size_alpha > 1.0 && self.size_alpha <= 100.0)
        {
            return Err(format!(
                "contract-net.size_alpha = {} out of range (accepted: above 1, at most 100: the mean must exist)",
                self.size_alpha
            ));
        }
        if self.deadline.0 == 0 {
            return Err("contract-net.deadline must be above 0 (accepted: e.g. 20ms)".into());
        }
        if self.retry.0 == 0 {
            return Err("contract-net.retry must be above 0 (accepted: e.g. 20ms)".into());
        }
        if self.report_every.0 == 0 {
            return Err("contract-net.report_every must be above 0 (accepted: e.g. 100ms)".into());
        }
        if self.lease.0 < 2 * self.report_every.0 || self.lease.0 / self.report_every.0 > 1 << 20 {
            return Err(format!(
                "contract-net.lease = {} out of range (accepted: 2 to 2^20 times report_every = {})",
                self.lease, self.report_every
            ));
        }
        if self.drift_bound_ppm > DRIFT_BOUND_PPM_MAX {
            return Err(format!(
                "contract-net.drift_bound_ppm = {} out of range (accepted: 0..={DRIFT_BOUND_PPM_MAX})",
                self.drift_bound_ppm
            ));
        }
        if !(0.0..1.0).contains(&self.failure_ratio) {
            return Err(format!(
                "contract-net.failure_ratio = {} out of range (accepted: 0 or above, below 1)",
                self.failure_ratio
            ));
        }
        Ok(())
    }

    /// Number of contractors among `nodes` nodes.
    pub fn contractors(&self, nodes: u32) -> u32 {
        nodes.saturating_sub(self.managers)
    }

    /// Whether node `id` is a manager.
    #[inline]
    pub fn is_manager(&self, id: u32) -> bool {
        id < self.managers
    }

    /// The speed of contractor node `id`.
    pub fn speed_of(&self, id: u32) -> f64 {
        let j = id.saturating_sub(self.managers) as usize;
        self.speeds[j % self.speeds.len()]
    }

    /// The capability mask of contractor node `id` (all ones when tasks
    /// need no capability).
    pub fn caps_of(&self, id: u32) -> u32 {
        if self.capabilities == 0 {
            return u32::MAX;
        }
        let j = id.saturating_sub(self.managers);
        let k = self.capabilities;
        (0..self.caps_per_contractor).fold(0u32, |m, i| m | 1 << ((j + i) % k))
    }

    /// The mean time a task takes at speed 1, in ns.
    pub fn size_mean_ns(&self) -> f64 {
        self.size_mean * 1e9
    }
}
