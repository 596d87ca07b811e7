//! Engine and network semantics, each checked with a small probe protocol:
//! timers re-arm and cancel, FIFO and reordering, crash and recovery, partitions
//! and one-way cuts, capacity, routes, clock drift, loss and duplication ratios,
//! and what stops a run.

use agentsim::engine::Simulation;
use agentsim::observe::trace::{TraceLevel, Tracer};
use agentsim::prelude::*;
use agentsim::run::SharedBuf;
use serde::Serialize;
use std::sync::Arc;

/// What node 0 does at start; everyone else only reports.
#[derive(Clone, Debug, Default)]
struct Script {
    pings: u32,
    to: NodeId,
    timers: bool,
    /// Synchronous rounds: every node arms `a` for 100 ms and re-arms it
    /// once when it fires (timers batched by the engine); node 1 then sends
    /// node 0 a ping, node 2 cancels its first timer.
    rounds: bool,
}

#[derive(Clone, Debug, Hash, Serialize, PartialEq, Message)]
struct Ping(u32);

#[derive(Clone, Copy, Debug, PartialEq, Eq, TimerTag)]
enum T {
    A,
    B,
}

#[derive(Clone, Debug, Hash, Serialize, PartialEq)]
enum Fact {
    Started { boots: u32 },
    Got { i: u32, from: NodeId },
    Fired { timer: &'static str },
}

impl Note for Fact {}

struct Probe {
    script: Script,
    boots: u32,
}

impl Protocol for Probe {
    type Config = Script;
    type Msg = Ping;
    type Timer = T;
    type Note = Fact;
    type Durable = u32;

    fn init(ctx: &mut Init<'_, Self>, boots: &u32) -> Self {
        Probe {
            script: ctx.config().clone(),
            boots: *boots,
        }
    }
    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.boots += 1;
        ctx.persist(self.boots);
        ctx.note(Fact::Started { boots: self.boots });
        if self.script.rounds && self.boots == 1 {
            ctx.set_timer(T::A, 100 * MS);
            match ctx.id() {
                1 => ctx.send(0, Ping(7)),
                2 => ctx.cancel_timer(T::A),
                _ => {}
            }
        }
        if ctx.id() == 0 && self.boots == 1 {
            for i in 0..self.script.pings {
                ctx.send(self.script.to, Ping(i));
            }
            if self.script.timers {
                ctx.set_timer(T::A, 10 * MS);
                ctx.set_timer(T::B, 20 * MS);
                ctx.set_timer(T::A, 30 * MS); // re-arm: only this one fires
                ctx.cancel_timer(T::B);
            }
        }
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: Ping) {
        ctx.note(Fact::Got { i: msg.0, from });
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, t: T) {
        ctx.note(Fact::Fired {
            timer: T::NAMES[t.index()],
        });
        if self.script.rounds && ctx.now() < 200 * MS {
            ctx.set_timer(T::A, 100 * MS);
        }
    }
}

/// Runs the probe and returns the report and the parsed event records.
fn probe(toml: &str, script: Script) -> (RunReport, Vec<serde_json::Value>) {
    let sc = crate::common::scenario(&format!("stop_when_done = false\n{toml}"));
    let buf = SharedBuf::default();
    let tracer = Tracer::new(TraceLevel::Full, Box::new(buf.clone()));
    let (r, t) = Simulation::<Probe, NoMonitor>::new(&sc.setup(), Arc::new(script), tracer).run();
    drop(t);
    let text = String::from_utf8(buf.0.take()).unwrap();
    let recs = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (r, recs)
}

fn of_type<'a>(recs: &'a [serde_json::Value], ty: &str) -> Vec<&'a serde_json::Value> {
    recs.iter().filter(|r| r["type"] == ty).collect()
}

fn got(recs: &[serde_json::Value]) -> Vec<u64> {
    recs.iter()
        .filter(|r| r["type"] == "note" && r["data"]["note"]["Got"].is_object())
        .map(|r| r["data"]["note"]["Got"]["i"].as_u64().unwrap())
        .collect()
}

fn drops(recs: &[serde_json::Value], reason: &str) -> usize {
    of_type(recs, "drop")
        .iter()
        .filter(|r| r["data"]["reason"] == reason)
        .count()
}

const PINGS: Script = Script {
    pings: 200,
    to: 1,
    timers: false,
    rounds: false,
};

/// Timers armed for one instant are kept in a batch outside the queue; events
/// must still come out in exact `(time, seq)` order, with a message landing
/// at that instant between two timers taking its place by seq.
#[test]
fn same_instant_timers_keep_seq_order_around_a_message() {
    let (r, recs) = probe(
        "nodes = 6\n[net]\nlatency = \"100ms\"",
        Script {
            rounds: true,
            ..Script::default()
        },
    );
    let events: Vec<(u64, u64, String, u64)> = recs
        .iter()
        .filter(|r| ["timer", "deliver", "start"].contains(&r["type"].as_str().unwrap()))
        .map(|r| {
            let d = &r["data"];
            let node = d.get("node").or_else(|| d.get("to")).unwrap();
            (
                d["t_ns"].as_u64().unwrap(),
                d["seq"].as_u64().unwrap(),
                r["type"].as_str().unwrap().to_string(),
                node.as_u64().unwrap(),
            )
        })
        .collect();
    // Strictly increasing (time, seq): one record per event here.
    assert!(events
        .windows(2)
        .all(|w| (w[0].0, w[0].1) < (w[1].0, w[1].1)));
    let at = |t: u64| -> Vec<(String, u64)> {
        events
            .iter()
            .filter(|e| e.0 == t)
            .map(|e| (e.2.clone(), e.3))
            .collect()
    };
    let timer = |n: u64| ("timer".to_string(), n);
    // Node 1 armed its timer, then sent the ping (100 ms): the delivery's seq
    // lies between node 1's timer and node 3's, both in the batch that node
    // 1's timer opened. Node 2 cancelled its timer.
    assert_eq!(
        at(100 * MS),
        vec![
            timer(0),
            timer(1),
            ("deliver".to_string(), 0),
            timer(3),
            timer(4),
            timer(5)
        ]
    );
    assert_eq!(
        at(200 * MS),
        vec![timer(0), timer(1), timer(3), timer(4), timer(5)]
    );
    assert_eq!(r.counts.timers, 10);
}

#[test]
fn rearmed_timer_fires_once_and_cancelled_timer_never() {
    let (_, recs) = probe(
        "nodes = 2",
        Script {
            timers: true,
            ..Script::default()
        },
    );
    let fired: Vec<(u64, String)> = of_type(&recs, "timer")
        .iter()
        .map(|r| {
            (
                r["data"]["t_ns"].as_u64().unwrap(),
                r["data"]["timer"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(fired, vec![(30 * MS, "a".to_string())]);
}

#[test]
fn same_time_events_run_in_scheduling_order() {
    // Fixed latency: all pings arrive at the same instant, in send order.
    let (_, recs) = probe("nodes = 2\n[net]\nlatency = \"5ms\"", PINGS);
    assert_eq!(got(&recs), (0..200).collect::<Vec<u64>>());
}

#[test]
fn random_delays_reorder_unless_fifo() {
    let (_, recs) = probe("nodes = 2\n[net]\nlatency = \"1ms..50ms\"", PINGS);
    let g = got(&recs);
    assert_eq!(g.len(), 200);
    assert!(
        g.windows(2).any(|w| w[0] > w[1]),
        "no reordering without FIFO"
    );
    let (_, recs) = probe(
        "nodes = 2\n[net]\nlatency = \"1ms..50ms\"\nfifo = true",
        PINGS,
    );
    assert_eq!(got(&recs), (0..200).collect::<Vec<u64>>());
}

#[test]
fn crash_drops_arrivals_and_recovery_restores_durable_state() {
    let (r, recs) = probe(
        "nodes = 2\n[net]\nlatency = \"10ms\"\n[faults]\nschedule = [\"crash:1@5ms\", \"recover:1@100ms\"]",
        PINGS,
    );
    assert_eq!(drops(&recs, "dst_down"), 200);
    assert!(got(&recs).is_empty());
    let starts: Vec<u64> = of_type(&recs, "note")
        .iter()
        .filter(|r| r["data"]["node"] == 1)
        .filter_map(|r| r["data"]["note"]["Started"]["boots"].as_u64())
        .collect();
    assert_eq!(
        starts,
        vec![1, 2],
        "recovery rebuilds from the persisted boot count"
    );
    assert_eq!((r.counts.crashes, r.counts.recoveries), (1, 1));
}

#[test]
fn one_way_cut_blocks_one_direction_and_partition_both() {
    let (_, recs) = probe("nodes = 2\n[faults]\nschedule = [\"cut:0>1@0s\"]", PINGS);
    assert_eq!(drops(&recs, "partition"), 200);
    let (_, recs) = probe("nodes = 2\n[faults]\nschedule = [\"cut:1>0@0s\"]", PINGS);
    assert_eq!(got(&recs).len(), 200);
    let (_, recs) = probe(
        "nodes = 3\n[faults]\nschedule = [\"partition:0|1,2@0s\"]",
        PINGS,
    );
    assert_eq!(drops(&recs, "partition"), 200);
    // A partition that starts while messages are in flight drops them on arrival.
    let (_, recs) = probe(
        "nodes = 2\n[net]\nlatency = \"10ms\"\n[faults]\nschedule = [\"isolate:1@5ms\"]",
        PINGS,
    );
    assert_eq!(drops(&recs, "partition"), 200);
}

#[test]
fn full_links_drop_with_capacity() {
    let (_, recs) = probe("nodes = 2\n[net]\ncapacity = 3", PINGS);
    assert_eq!(got(&recs).len(), 3);
    assert_eq!(drops(&recs, "capacity"), 197);
}

#[test]
fn messages_travel_only_along_edges() {
    let (_, recs) = probe(
        "nodes = 4\n[net]\ntopology = \"ring\"",
        Script { to: 2, ..PINGS },
    );
    assert_eq!(drops(&recs, "no_route"), 200);
    let (_, recs) = probe(
        "nodes = 4\n[net]\ntopology = \"ring\"",
        Script { to: 3, ..PINGS },
    );
    assert_eq!(got(&recs).len(), 200);
}

#[test]
fn clock_drift_scales_timers() {
    // +100000 ppm: the clock runs 10% fast, so a 30ms timer fires after 30/1.1 ms.
    let (_, recs) = probe(
        "nodes = 2\n[faults]\ndrift = [{ node = 0, ppm = 100000 }]",
        Script {
            timers: true,
            ..Script::default()
        },
    );
    let t = of_type(&recs, "timer")[0]["data"]["t_ns"].as_u64().unwrap();
    assert_eq!(t, 30 * MS * 1_000_000 / 1_100_000);
}

#[test]
fn loss_and_duplication_ratios_hold() {
    let many = Script {
        pings: 20_000,
        to: 1,
        ..Script::default()
    };
    let (r, _) = probe("nodes = 2\n[net]\nloss_ratio = 0.3", many.clone());
    let lost = r.counts.dropped[&"loss"] as f64 / 20_000.0;
    assert!((lost - 0.3).abs() < 0.015, "{lost}");
    let (r, recs) = probe("nodes = 2\n[net]\ndup_ratio = 0.25", many);
    let dup = r.counts.duplicated as f64 / 20_000.0;
    assert!((dup - 0.25).abs() < 0.015, "{dup}");
    assert_eq!(got(&recs).len() as u64, 20_000 + r.counts.duplicated);
    // Every duplicate names the original it copies.
    assert!(of_type(&recs, "duplicate")
        .iter()
        .all(|d| d["data"]["of"].is_u64()));
}

#[test]
fn runs_report_what_stopped_them() {
    let (r, _) = probe("nodes = 2", PINGS);
    assert_eq!(r.stop, StopReason::Quiescent);
    let (r, _) = probe("nodes = 2\nevents_max = 50", PINGS);
    assert_eq!((r.stop, r.events), (StopReason::EventsMax, 50));
    let (r, _) = probe("nodes = 2\ntime_max = \"1ms\"", PINGS);
    assert_eq!((r.stop, r.t_ns), (StopReason::TimeMax, MS));
}

#[test]
fn messages_link_send_to_deliver_by_id() {
    let (_, recs) = probe("nodes = 2\n[net]\nloss_ratio = 0.2", PINGS);
    let sent: std::collections::BTreeSet<u64> = of_type(&recs, "send")
        .iter()
        .map(|r| r["data"]["id"].as_u64().unwrap())
        .collect();
    let ended: Vec<u64> = recs
        .iter()
        .filter(|r| r["type"] == "deliver" || r["type"] == "drop")
        .map(|r| r["data"]["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ended.len(), sent.len());
    assert!(ended.iter().all(|id| sent.contains(id)));
}
