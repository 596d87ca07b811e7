//! PHOLD (Fujimoto 1990), the standard benchmark of discrete-event engines,
//! with the ROSS defaults: each event schedules one new event after
//! `1 ms + Exp(mean 1 ms)`, at a uniformly random other process with
//! probability `remote_ratio` (0.25), else at the same process.
//!
//! Processes are nodes and every event is a message (a loopback message for a
//! local event), so PHOLD exercises the engine's real paths: queue, dispatch,
//! network model, run hash. The delay is the link latency
//! `exp:floor=1ms,mean=1ms` (see [`run_phold`]).

use crate::engine::setup::{AdversaryConfig, StorageConfig, WorkloadConfig};
use crate::engine::{RunReport, Setup, Simulation};
use crate::net::faults::FaultConfig;
use crate::net::NetConfig;
use crate::node::{Ctx, Init, NoNote, NoTimer, NodeId, Protocol};
use crate::observe::trace::Tracer;
use crate::observe::NoMonitor;
use crate::protocols::Spec;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// PHOLD's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PholdConfig {
    /// Probability that a new event goes to another process.
    pub remote_ratio: f64,
    /// Events each process starts with.
    pub population: u32,
}

impl Default for PholdConfig {
    fn default() -> Self {
        PholdConfig {
            remote_ratio: 0.25,
            population: 1,
        }
    }
}

/// The event token.
#[derive(Clone, Copy, Debug, Hash, Serialize, agentsim_macros::Message)]
pub struct PholdEvent;

/// A PHOLD process: stateless.
#[derive(Clone, Copy, Debug)]
pub struct Phold {
    remote_ratio: f64,
    population: u32,
}

impl Protocol for Phold {
    type Config = PholdConfig;
    type Msg = PholdEvent;
    type Timer = NoTimer;
    type Note = NoNote;
    type Durable = ();

    fn init(ctx: &mut Init<'_, Self>, _d: &()) -> Self {
        let cfg = ctx.config();
        Phold {
            remote_ratio: cfg.remote_ratio,
            population: cfg.population,
        }
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        for _ in 0..self.population {
            ctx.send(ctx.id(), PholdEvent);
        }
    }

    #[inline]
    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, _from: NodeId, _msg: PholdEvent) {
        let me = ctx.id();
        let n = ctx.nodes();
        let to = if n > 1 && ctx.rng().chance(self.remote_ratio) {
            let k = ctx.rng().below(n as u64 - 1) as NodeId;
            if k >= me {
                k + 1
            } else {
                k
            }
        } else {
            me
        };
        ctx.send(to, PholdEvent);
    }

    fn on_timer(&mut self, _ctx: &mut Ctx<'_, Self>, t: NoTimer) {
        match t {}
    }
}

/// PHOLD's registration: `agentsim run phold --nodes N --latency exp:floor=1ms,mean=1ms`.
pub struct PholdSpec;

impl Spec for PholdSpec {
    const NAME: &'static str = "phold";
    const SUMMARY: &'static str =
        "PHOLD (Fujimoto 1990), the engine benchmark: every event schedules one more, no properties";
    type Node = Phold;
    type Config = PholdConfig;
    type Monitor = NoMonitor;
    #[cfg(feature = "cli")]
    type Flags = crate::protocols::NoFlags;

    fn validate(cfg: &PholdConfig, _nodes: u32) -> Result<(), String> {
        if !(0.0..=1.0).contains(&cfg.remote_ratio) {
            return Err(format!(
                "phold.remote_ratio = {} out of range (accepted: 0..=1)",
                cfg.remote_ratio
            ));
        }
        if cfg.population == 0 {
            return Err("phold.population must be above 0 (accepted: 1..)".into());
        }
        Ok(())
    }
}

/// Runs PHOLD through the engine (tracing off): `processes` nodes on the
/// complete graph, delays `1ms + Exp(1ms)`, stopping after `events` events.
pub fn run_phold(processes: u32, events: u64, seed: u64, cfg: PholdConfig) -> RunReport {
    let net = NetConfig {
        latency: "exp:floor=1ms,mean=1ms".parse().expect("valid latency"),
        ..Default::default()
    };
    let setup = Setup {
        seed,
        nodes: processes,
        time_max: u64::MAX / 2,
        events_max: events,
        stop_when_done: false,
        // A scenario's default, so runs keep the event sequence they always had.
        liveness_bound: 5 * crate::time::SEC,
        net: &net,
        faults: &FaultConfig::default(),
        workload: &WorkloadConfig::default(),
        storage: &StorageConfig::default(),
        adversary: &AdversaryConfig::default(),
    };
    Simulation::<Phold, NoMonitor>::new(&setup, Arc::new(cfg), Tracer::hash_only())
        .run()
        .0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phold_keeps_its_population_and_remote_ratio() {
        let r = run_phold(100, 200_000, 1, PholdConfig::default());
        assert_eq!(r.events, 200_000);
        // Every delivered event sends exactly one new event; nothing is lost.
        assert_eq!(r.counts.sent, r.counts.delivered + 100);
        assert!(r.counts.dropped.is_empty());
        // Mean delay 2ms, 100 events in flight: ~50 events per ms of virtual time.
        let per_ms = r.events as f64 / (r.t_ns as f64 / 1e6);
        assert!((45.0..55.0).contains(&per_ms), "{per_ms}");
    }
}
