//! The random fault processes: every draw from the fault stream (crash and
//! repair times, partitions that come and go, the jitter of leader crashes,
//! clock drift, nodes picked as Byzantine), in one place.
//!
//! The fault stream is created on its first draw: most runs draw nothing
//! from it. The engine decides *when* to ask; this module decides *what* the
//! answer is, so the order of draws is that of the engine's events.

use super::faults::FaultConfig;
use crate::node::NodeId;
use crate::rng::{stream, SimRng};
use crate::time::SimTime;

/// The fault stream of one run and the processes drawn from it.
pub struct FaultProcesses {
    seed: u64,
    rng: Option<SimRng>,
}

impl FaultProcesses {
    /// The processes of a run with `seed` (no draw yet).
    pub fn new(seed: u64) -> FaultProcesses {
        FaultProcesses { seed, rng: None }
    }

    /// The fault stream, created on first use.
    pub fn rng(&mut self) -> &mut SimRng {
        let seed = self.seed;
        self.rng
            .get_or_insert_with(|| SimRng::new(seed, stream::FAULTS))
    }

    /// Each node's clock drift in ppm: uniform within `±drift_ppm_max`, then
    /// the explicit `drift` entries. Empty when no drift is configured.
    pub fn drifts(&mut self, f: &FaultConfig, nodes: u32) -> Vec<i32> {
        if f.drift_ppm_max == 0 && f.drift.is_empty() {
            return Vec::new();
        }
        let m = f.drift_ppm_max as i64;
        let mut v: Vec<i32> = (0..nodes)
            .map(|_| {
                if m > 0 {
                    (self.rng().below(2 * m as u64 + 1) as i64 - m) as i32
                } else {
                    0
                }
            })
            .collect();
        for d in &f.drift {
            v[d.node as usize] = d.ppm;
        }
        v
    }

    /// An exponential time with mean `mean_ns` (`0`: always 0).
    pub fn exp(&mut self, mean_ns: u64) -> u64 {
        self.rng().exp(mean_ns as f64) as u64
    }

    /// A random minority for a random partition: between 1 and half the
    /// nodes, sorted.
    pub fn minority(&mut self, nodes: u32) -> Vec<NodeId> {
        let mut all: Vec<NodeId> = (0..nodes).collect();
        self.rng().shuffle(&mut all);
        let half = (nodes as u64 / 2).max(1);
        let k = 1 + self.rng().below(half) as usize;
        let mut minority = all[..k.min(all.len())].to_vec();
        minority.sort_unstable();
        minority
    }

    /// A uniform draw in `0..=jitter_ns`.
    pub fn jitter(&mut self, jitter_ns: SimTime) -> SimTime {
        self.rng().range_inclusive(0, jitter_ns)
    }

    /// `count` nodes drawn uniformly among those for which `eligible` holds,
    /// sorted (fewer if there are not enough).
    pub fn pick(
        &mut self,
        nodes: u32,
        count: u32,
        eligible: impl Fn(NodeId) -> bool,
    ) -> Vec<NodeId> {
        let mut pool: Vec<NodeId> = (0..nodes).filter(|&n| eligible(n)).collect();
        self.rng().shuffle(&mut pool);
        pool.truncate(count as usize);
        pool.sort_unstable();
        pool
    }
}
