//! PHOLD (Fujimoto 1990), the standard benchmark of discrete-event engines,
//! with the ROSS defaults: each event schedules one new event after
//! `1 ms + Exp(mean 1 ms)`, at a uniformly random other process with
//! probability `remote_ratio` (0.25), else at the same process.
//!
//! Processes are nodes and every event is a message (a loopback message for a
//! local event), so PHOLD exercises the engine's real paths: queue, dispatch,
//! network model, run hash. The delay is the link latency
//! `exp:floor=1ms,mean=1ms` (see [`phold_scenario`]).

use crate::engine::{Ctx, Message, Note, Protocol, TimerTag};
use crate::net::topology::NodeId;
use crate::observe::{Monitor, Outcome, Violation, World};
use crate::scenario::Scenario;
use serde::Serialize;

#[derive(Clone, Debug)]
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
#[derive(Clone, Copy, Debug, Hash, Serialize)]
pub struct PholdEvent;

impl Message for PholdEvent {
    const KINDS: &'static [&'static str] = &["PholdEvent"];
    #[inline]
    fn kind(&self) -> usize {
        0
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoTimer {}

impl TimerTag for NoTimer {
    const NAMES: &'static [&'static str] = &[];
    fn index(self) -> usize {
        match self {}
    }
    fn from_index(_: usize) -> Self {
        unreachable!("PHOLD has no timers")
    }
}

#[derive(Clone, Copy, Debug, Hash, Serialize)]
pub enum NoNote {}

impl Note for NoNote {}

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

    fn init(_id: NodeId, _nodes: u32, cfg: &PholdConfig, _d: &()) -> Self {
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

/// PHOLD checks nothing; it only counts.
pub struct PholdMonitor;

impl Monitor<Phold> for PholdMonitor {
    fn properties() -> &'static [crate::engine::Property] {
        &[]
    }
    fn new(_sc: &Scenario, _cfg: &PholdConfig) -> Self {
        PholdMonitor
    }
    fn on_note(&mut self, _w: &World, _n: NodeId, note: &NoNote, _o: &mut Vec<Violation>) {
        match *note {}
    }
    fn done(&self) -> bool {
        false
    }
    fn finish(&mut self, _w: &World, _o: &mut Vec<Violation>) -> Outcome {
        Outcome::default()
    }
}

/// The PHOLD scenario: `processes` nodes on the complete graph, delays
/// `1ms + Exp(1ms)`, stopping after `events` events.
pub fn phold_scenario(processes: u32, events: u64, seed: u64) -> Scenario {
    Scenario {
        seed,
        nodes: processes,
        time_max: crate::time::Dur(u64::MAX / 2),
        events_max: events,
        stop_when_done: false,
        net: crate::net::NetConfig {
            latency: "exp:floor=1ms,mean=1ms".parse().expect("valid latency"),
            ..Default::default()
        },
        ..Scenario::default()
    }
}

/// Runs PHOLD through the engine (tracing off) and returns the report.
pub fn run_phold(
    processes: u32,
    events: u64,
    seed: u64,
    cfg: PholdConfig,
) -> crate::engine::RunReport {
    let sc = phold_scenario(processes, events, seed);
    crate::engine::Simulation::<Phold, PholdMonitor>::new(
        &sc,
        cfg,
        crate::trace::Tracer::hash_only(),
    )
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
