//! The seam's hooks, each with a probe protocol defined here (outside the
//! crate, as a user would): the workload, the storage write delay behind
//! `persist`, Byzantine marks, a protocol's own counters, a monitor generic
//! over a note type, and the generic facts in the trace. Each hook, off,
//! changes nothing (the golden hashes of `determinism` pin that).

use agentsim::engine::setup::{AdversaryConfig, Arrivals, Target, WorkloadConfig};
use agentsim::observe::trace::TraceLevel;
use agentsim::prelude::*;
use agentsim::protocols::NoFlags;
use agentsim::run::{run_silent, trace_text};
use serde::{Deserialize, Serialize};

/// What the probe does.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct ProbeConfig {
    /// Node 0 persists its boot count and sends a ping to node 1 in the same
    /// callback, at start and at every timer.
    persist_and_ping: bool,
    /// Node 0 re-arms a 10 ms timer this many times.
    ticks: u32,
    /// Every node draws a number at init and notes it at start.
    draw_at_init: bool,
}

#[derive(Clone, Debug, Hash, Serialize, PartialEq, Message)]
enum ProbeMsg {
    Ping { boot: u32 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, TimerTag)]
enum ProbeTimer {
    Tick,
}

#[derive(Clone, Debug, Hash, Serialize, PartialEq)]
enum ProbeNote {
    Booted { boot: u32, drew: u64 },
    Got { boot: u32, from: NodeId },
    Submitted { index: u64, client: u32 },
    Mark { byzantine: bool },
    Lead,
}

impl Note for ProbeNote {
    fn leadership(&self) -> Option<bool> {
        matches!(self, ProbeNote::Lead).then_some(true)
    }
    fn tag(&self) -> Option<&'static str> {
        Some(match self {
            ProbeNote::Booted { .. } => "booted",
            ProbeNote::Got { .. } => "got",
            ProbeNote::Submitted { .. } => "submitted",
            ProbeNote::Mark { .. } => "mark",
            ProbeNote::Lead => "lead",
        })
    }
}

struct Probe {
    boot: u32,
    drew: u64,
    ticks: u32,
}

impl Probe {
    fn persist_and_ping(&self, ctx: &mut Ctx<'_, Self>) {
        ctx.persist(self.boot);
        ctx.send(1, ProbeMsg::Ping { boot: self.boot });
    }
}

impl Protocol for Probe {
    type Config = ProbeConfig;
    type Msg = ProbeMsg;
    type Timer = ProbeTimer;
    type Note = ProbeNote;
    type Durable = u32;
    const COUNTERS: &'static [MetricDef] = &[MetricDef {
        name: "pings_received",
        unit: "count",
        definition: "pings received, summed over nodes",
    }];
    const BEHAVIOURS: &'static [BehaviourKind] = &[BehaviourKind::Silent, BehaviourKind::Split];

    fn init(ctx: &mut Init<'_, Self>, boots: &u32) -> Self {
        let drew = if ctx.config().draw_at_init {
            ctx.rng().next_u64()
        } else {
            0
        };
        Probe {
            boot: boots + 1,
            drew,
            ticks: 0,
        }
    }
    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        ctx.note(ProbeNote::Booted {
            boot: self.boot,
            drew: self.drew,
        });
        ctx.note(ProbeNote::Mark {
            byzantine: ctx.behaviour().is_some(),
        });
        if ctx.id() == 0 {
            ctx.note(ProbeNote::Lead);
            if ctx.config().persist_and_ping {
                self.persist_and_ping(ctx);
            }
            if ctx.config().ticks > 0 {
                ctx.set_timer(ProbeTimer::Tick, 10 * MS);
            }
        }
    }
    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: ProbeMsg) {
        let ProbeMsg::Ping { boot } = msg;
        ctx.count(0, 1.0);
        ctx.note(ProbeNote::Got { boot, from });
    }
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, _t: ProbeTimer) {
        self.ticks += 1;
        if ctx.config().persist_and_ping {
            self.boot += 100;
            self.persist_and_ping(ctx);
        }
        if self.ticks < ctx.config().ticks {
            ctx.set_timer(ProbeTimer::Tick, 10 * MS);
        }
    }
    fn on_submit(&mut self, ctx: &mut Ctx<'_, Self>, sub: Submission) {
        ctx.note(ProbeNote::Submitted {
            index: sub.index,
            client: sub.client,
        });
    }
}

/// A monitor that reads only `ProbeNote`s: generic over every protocol that
/// reports them. It counts honest nodes' marks.
struct Marks {
    honest_marks: u32,
}

impl<P: Protocol<Note = ProbeNote>> Monitor<P> for Marks {
    fn properties() -> &'static [Property] {
        &[]
    }
    fn metrics() -> &'static [MetricDef] {
        &[MetricDef {
            name: "honest_marks",
            unit: "count",
            definition: "Mark notes of nodes the adversary view calls honest",
        }]
    }
    fn new(_: &MonitorInit<'_, P>) -> Self {
        Marks { honest_marks: 0 }
    }
    fn on_note(&mut self, w: &World, node: NodeId, note: &ProbeNote, _: &mut Vec<Violation>) {
        if let ProbeNote::Mark { byzantine } = note {
            assert_eq!(*byzantine, w.adversary.is_byzantine(node));
            if w.adversary.is_honest(node) {
                self.honest_marks += 1;
            }
        }
    }
    fn done(&self) -> bool {
        false
    }
    fn finish(&mut self, _: &World, _: &mut Vec<Violation>) -> Outcome {
        let mut o = Outcome::default();
        o.metrics
            .insert("honest_marks".into(), self.honest_marks as f64);
        o
    }
}

struct ProbeSpec;
impl Spec for ProbeSpec {
    const NAME: &'static str = "probe";
    const SUMMARY: &'static str = "hook probe";
    type Node = Probe;
    type Config = ProbeConfig;
    type Monitor = Marks;
    type Flags = NoFlags;
}

fn scenario(nodes: u32, cfg: ProbeConfig) -> Scenario {
    Scenario {
        nodes,
        stop_when_done: false,
        time_max: Dur(SEC),
        protocol: ProtocolConfig::of::<ProbeSpec>(cfg),
        ..Scenario::default()
    }
}

fn records(sc: &Scenario) -> (RunReport, Vec<serde_json::Value>) {
    sc.validate().unwrap();
    let (r, text) = trace_text(sc, TraceLevel::Events);
    let recs = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (r, recs)
}

fn of_type<'a>(recs: &'a [serde_json::Value], ty: &str) -> Vec<&'a serde_json::Value> {
    recs.iter().filter(|r| r["type"] == ty).collect()
}

fn notes<'a>(recs: &'a [serde_json::Value], tag: &str) -> Vec<&'a serde_json::Value> {
    recs.iter()
        .filter(|r| r["type"] == "note" && r["data"]["tag"] == tag)
        .collect()
}

#[test]
fn workload_submissions_arrive_at_their_targets_from_the_workload_stream() {
    let mut sc = scenario(4, ProbeConfig::default());
    sc.workload = WorkloadConfig {
        arrivals: Arrivals::Poisson { rate: 2000.0 },
        clients: 3,
        target: Target::Node(2),
        ..WorkloadConfig::default()
    };
    let (r, recs) = records(&sc);
    let subs = notes(&recs, "submitted");
    // 1 s at 2000/s: Poisson, sd ~45.
    assert!(
        (1800..2200).contains(&subs.len()),
        "{} submissions",
        subs.len()
    );
    assert_eq!(r.counts.submitted as usize, subs.len());
    for (i, s) in subs.iter().enumerate() {
        assert_eq!(s["data"]["node"], 2);
        assert_eq!(s["data"]["note"]["Submitted"]["index"], i as u64);
        assert_eq!(s["data"]["note"]["Submitted"]["client"], (i % 3) as u64);
    }
    // A count stops it; round-robin visits every node in turn.
    sc.workload.count = 10;
    sc.workload.target = Target::RoundRobin;
    let (r, recs) = records(&sc);
    let nodes: Vec<u64> = notes(&recs, "submitted")
        .iter()
        .map(|s| s["data"]["node"].as_u64().unwrap())
        .collect();
    assert_eq!(nodes, [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]);
    assert_eq!(r.counts.submitted, 10);
    // A fixed schedule: every 100 ms from 50 ms, up to 450 ms.
    sc.workload = WorkloadConfig {
        arrivals: Arrivals::Every(Dur::from_ms(100)),
        start: Dur::from_ms(50),
        stop: Some(Dur::from_ms(450)),
        target: Target::Leader,
        ..WorkloadConfig::default()
    };
    let (_, recs) = records(&sc);
    let at: Vec<(u64, u64)> = of_type(&recs, "submit")
        .iter()
        .map(|s| {
            (
                s["data"]["t_ns"].as_u64().unwrap() / MS,
                s["data"]["node"].as_u64().unwrap(),
            )
        })
        .collect();
    // Node 0 notes that it leads at start: the leader target finds it.
    assert_eq!(at, [(50, 0), (150, 0), (250, 0), (350, 0), (450, 0)]);
}

#[test]
fn a_workload_leaves_the_nodes_streams_alone() {
    let cfg = ProbeConfig {
        draw_at_init: true,
        ..ProbeConfig::default()
    };
    let drew = |sc: &Scenario| -> Vec<u64> {
        notes(&records(sc).1, "booted")
            .iter()
            .map(|n| n["data"]["note"]["Booted"]["drew"].as_u64().unwrap())
            .collect()
    };
    let plain = scenario(5, cfg.clone());
    let mut busy = plain.clone();
    busy.workload.arrivals = Arrivals::Poisson { rate: 500.0 };
    let a = drew(&plain);
    assert_eq!(a, drew(&busy));
    // Init draws from the node's own stream: every node a different number,
    // the same ones again for the same seed, other ones for another seed.
    let distinct: std::collections::BTreeSet<u64> = a.iter().copied().collect();
    assert_eq!(distinct.len(), 5);
    assert_eq!(a, drew(&plain));
    let mut other = plain.clone();
    other.seed = 1;
    assert_ne!(a, drew(&other));
}

#[test]
fn a_storage_delay_holds_the_callbacks_messages_until_the_write_completes() {
    let cfg = ProbeConfig {
        persist_and_ping: true,
        ..ProbeConfig::default()
    };
    let mut sc = scenario(3, cfg);
    sc.net.latency = "1ms".parse().unwrap();
    let (_, recs) = records(&sc);
    // No delay: the ping goes out at start, arrives 1 ms later.
    let got = of_type(&recs, "deliver");
    assert_eq!(got[0]["data"]["t_ns"], MS);
    assert!(of_type(&recs, "persist").is_empty());
    sc.storage.delay = Some("5ms".parse().unwrap());
    let (r, recs) = records(&sc);
    let p = of_type(&recs, "persist");
    assert_eq!(p.len(), 1);
    assert_eq!(p[0]["data"]["done_ns"], 5 * MS);
    let w = of_type(&recs, "write_done");
    assert_eq!(w[0]["data"]["t_ns"], 5 * MS);
    // The ping and the three notes of node 0's start.
    assert_eq!(w[0]["data"]["released"], 4);
    assert_eq!(of_type(&recs, "send")[0]["data"]["t_ns"], 5 * MS);
    assert_eq!(of_type(&recs, "deliver")[0]["data"]["t_ns"], 6 * MS);
    assert_eq!(r.counts.writes, 1);
}

#[test]
fn writes_complete_in_order_and_a_crash_loses_the_write_and_its_messages() {
    let cfg = ProbeConfig {
        persist_and_ping: true,
        ticks: 3,
        ..ProbeConfig::default()
    };
    let mut sc = scenario(3, cfg);
    sc.net.latency = "1ms".parse().unwrap();
    // Writes take 25 ms, 2 ms, 2 ms, 2 ms: issued at 0, 10, 20, 30 ms, they
    // complete in order, at 25, 25, 25, 32 ms.
    sc.storage.delay = Some("2ms".parse().unwrap());
    sc.storage.nodes = vec![];
    let mut first_slow = sc.clone();
    first_slow.storage.delay = None;
    first_slow.storage.nodes = vec![agentsim::engine::setup::StorageOverride {
        node: 0,
        delay: "2ms..25ms".parse().unwrap(),
    }];
    for s in [&sc, &first_slow] {
        let (_, recs) = records(s);
        let done: Vec<u64> = of_type(&recs, "write_done")
            .iter()
            .map(|w| w["data"]["t_ns"].as_u64().unwrap())
            .collect();
        assert_eq!(done.len(), 4);
        assert!(done.windows(2).all(|w| w[0] <= w[1]), "{done:?}");
        // Each ping carries the boot count written with it, in order.
        let boots: Vec<u64> = notes(&recs, "got")
            .iter()
            .map(|n| n["data"]["note"]["Got"]["boot"].as_u64().unwrap())
            .collect();
        assert_eq!(boots, [1, 101, 201, 301]);
    }
    // A crash at 11 ms, during the write issued at 10 ms (done at 12 ms):
    // that write and its ping are lost; recovery at 50 ms starts from the
    // write of 0 ms (boot 1), so the node boots as 2.
    sc.faults.schedule = vec![
        "crash:0@11ms".parse().unwrap(),
        "recover:0@50ms".parse().unwrap(),
    ];
    let (r, recs) = records(&sc);
    let lost = of_type(&recs, "write_lost");
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0]["data"]["writes"], 1);
    assert_eq!(lost[0]["data"]["held"], 1);
    assert_eq!(r.counts.writes_lost, 1);
    let boots: Vec<u64> = notes(&recs, "booted")
        .iter()
        .filter(|n| n["data"]["node"] == 0)
        .map(|n| n["data"]["note"]["Booted"]["boot"].as_u64().unwrap())
        .collect();
    assert_eq!(boots, [1, 2]);
    let got: Vec<u64> = notes(&recs, "got")
        .iter()
        .map(|n| n["data"]["note"]["Got"]["boot"].as_u64().unwrap())
        .collect();
    // The ping of the lost write (boot 101) never left; after recovery node 0
    // ticks again from boot 2.
    assert_eq!(got, [1, 2, 102, 202, 302]);
}

#[test]
fn byzantine_marks_are_seen_by_nodes_monitors_and_the_trace() {
    let mut sc = scenario(7, ProbeConfig::default());
    sc.adversary = AdversaryConfig {
        nodes: vec!["1,4:silent".parse().unwrap()],
        count: 2,
        behaviour: Some("split".parse().unwrap()),
    };
    let (r, recs) = records(&sc);
    let marked: Vec<(u64, String)> = of_type(&recs, "byzantine")
        .iter()
        .map(|b| {
            (
                b["data"]["node"].as_u64().unwrap(),
                b["data"]["behaviour"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(marked.len(), 4);
    assert!(marked.contains(&(1, "silent".into())) && marked.contains(&(4, "silent".into())));
    assert_eq!(marked.iter().filter(|m| m.1 == "split").count(), 2);
    assert_eq!(r.metrics.get("honest_marks").copied(), Some(3.0));
    let byz: Vec<u64> = notes(&recs, "mark")
        .iter()
        .filter(|n| n["data"]["note"]["Mark"]["byzantine"] == true)
        .map(|n| n["data"]["node"].as_u64().unwrap())
        .collect();
    let mut want: Vec<u64> = marked.iter().map(|m| m.0).collect();
    want.sort_unstable();
    assert_eq!(byz, want);
    // The drawn nodes depend on the seed (the fault stream), the named ones not.
    let drawn = |seed: u64| -> Vec<u64> {
        let mut s = sc.clone();
        s.seed = seed;
        of_type(&records(&s).1, "byzantine")
            .iter()
            .filter(|b| b["data"]["behaviour"] == "split")
            .map(|b| b["data"]["node"].as_u64().unwrap())
            .collect()
    };
    let sets: std::collections::BTreeSet<Vec<u64>> = (0..20).map(drawn).collect();
    assert!(sets.len() > 5, "{sets:?}");
    assert!(sets.iter().flatten().all(|n| ![1, 4].contains(n)));
}

#[test]
fn behaviours_a_protocol_does_not_implement_are_refused() {
    let mut sc = scenario(5, ProbeConfig::default());
    sc.adversary.nodes = vec!["0:equivocate".parse().unwrap()];
    let e = sc.validate().unwrap_err().0;
    assert!(
        e.contains("equivocate") && e.contains("silent, split"),
        "{e}"
    );
    sc.adversary.nodes = vec!["0,9:silent".parse().unwrap()];
    assert!(sc.validate().unwrap_err().0.contains("out of range"));
    sc.adversary.nodes = vec![];
    sc.adversary.count = 2;
    let e = sc.validate().unwrap_err().0;
    assert!(e.contains("needs adversary.behaviour"), "{e}");
}

#[test]
fn counters_reach_the_report_and_generic_facts_the_trace() {
    let cfg = ProbeConfig {
        persist_and_ping: true,
        ticks: 4,
        ..ProbeConfig::default()
    };
    let sc = scenario(3, cfg);
    let (r, recs) = records(&sc);
    assert_eq!(r.metrics.get("pings_received").copied(), Some(5.0));
    let lead = notes(&recs, "lead");
    assert_eq!(lead.len(), 1);
    assert_eq!(lead[0]["data"]["leads"], true);
    // The generic facts are not hashed twice: the hash is the same at every level.
    assert_eq!(run_silent(&sc).hash, r.hash);
}
