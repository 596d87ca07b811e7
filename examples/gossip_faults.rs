//! `gossip-faults`: anti-entropy convergence time under message loss, crashes
//! and a partition that heals, on the complete graph, a ring, a random
//! 4-regular graph and a small world (Watts–Strogatz, k = 4, β = 0.1).
//!
//! Setting: 200 nodes, 8 keys, 4 writers writing 3 times each at random times
//! (mean gap 600 ms) from the start; push-pull anti-entropy of the whole store
//! every 100 ms with one random neighbour, latency 1–5 ms. Fault mixes:
//! `none`; `loss` (20% of messages lost, throughout); `crashes` (each node
//! fails after an exponential time of mean 2 s and recovers after 300 ms, until
//! everything heals at 3 s); `partition` (nodes 0–99 cut from 100–199 from
//! 500 ms to 3 s); `all` (the three together). The metric is the time from the
//! later of the heal and the last write until every live node holds the newest
//! version of every key (`converge_after_heal_ms`).
//!
//! - writes `results/gossip-faults/runs.csv` (one row per run),
//!   `summary.csv` (mean, median, p90 and max per topology and fault mix) and
//!   `convergence.svg`;
//! - asserts that every run converged and no property was violated.
//!
//! Regenerate: `cargo run --release --example gossip_faults` (a few seconds
//! on 2 cores; `GOSSIP_SEEDS=N` sets the seeds per cell, default 100).

#[path = "common/svg.rs"]
mod svg;

use agentsim::engine::StopReason;
use agentsim::protocols::gossip::{Direction, GossipConfig, Mode, WriteTiming};
use agentsim::protocols::ProtocolConfig;
use agentsim::run::run_silent;
use agentsim::scenario::Scenario;
use agentsim::time::{Dur, SEC};
use rayon::prelude::*;
use std::fmt::Write as _;
use svg::{Chart, Series};

const NODES: u32 = 200;
const TOPOLOGIES: [&str; 4] = [
    "complete",
    "ring",
    "random-regular:k=4",
    "watts-strogatz:k=4,beta=0.1",
];
const FAULTS: [&str; 5] = ["none", "loss", "crashes", "partition", "all"];

struct Row {
    topology: &'static str,
    faults: &'static str,
    seed: u64,
    stop: StopReason,
    converge_after_heal_ms: f64,
    converged_ms: f64,
    msgs_per_node: f64,
    violations: usize,
}

fn scenario(topology: &str, faults: &str, seed: u64) -> Scenario {
    let cfg = GossipConfig {
        mode: Mode::AntiEntropy,
        direction: Direction::PushPull,
        keys: 8,
        informed: 0,
        writers: 4,
        writes: 3,
        write_every: Dur::from_ms(600),
        write_timing: WriteTiming::Random,
        ..GossipConfig::default()
    };
    let mut sc = Scenario {
        seed,
        nodes: NODES,
        time_max: Dur(120 * SEC),
        liveness_bound: Dur(100 * SEC),
        events_max: u64::MAX,
        protocol: ProtocolConfig::Gossip(cfg),
        ..Scenario::default()
    };
    sc.net.topology = topology.parse().expect("topology spelling");
    let all = faults == "all";
    if faults == "loss" || all {
        sc.net.loss_ratio = 0.2;
    }
    if faults == "crashes" || all {
        sc.faults.crash_mttf = Some(Dur(2 * SEC));
        sc.faults.crash_mttr = Dur::from_ms(300);
        sc.faults.heal_at = Some(Dur(3 * SEC));
    }
    if faults == "partition" || all {
        let half: Vec<String> = (0..NODES / 2).map(|i| i.to_string()).collect();
        sc.faults.schedule.push(
            format!("partition:{}@500ms", half.join(","))
                .parse()
                .expect("fault spelling"),
        );
        sc.faults
            .schedule
            .push("heal@3s".parse().expect("fault spelling"));
    }
    sc.validate().expect("experiment scenario is valid");
    sc
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i]
}

fn main() {
    let seeds: u64 = std::env::var("GOSSIP_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100);
    let mut jobs = Vec::new();
    for t in TOPOLOGIES {
        for f in FAULTS {
            for s in 0..seeds {
                jobs.push((t, f, s));
            }
        }
    }
    let rows: Vec<Row> = jobs
        .par_iter()
        .map(|&(topology, faults, seed)| {
            let r = run_silent(&scenario(topology, faults, seed));
            let m = |k: &str| r.metrics.get(k).copied().unwrap_or(f64::NAN);
            Row {
                topology,
                faults,
                seed,
                stop: r.stop,
                converge_after_heal_ms: m("converge_after_heal_ms"),
                converged_ms: m("converged_ms"),
                msgs_per_node: m("msgs_per_node"),
                violations: r.violations.len(),
            }
        })
        .collect();

    let dir = std::path::Path::new("results/gossip-faults");
    std::fs::create_dir_all(dir).expect("creating results/gossip-faults");
    let mut csv = String::from("nodes,topology,faults,direction,seed,stop,converge_after_heal_ms,converged_ms,msgs_per_node,violations\n");
    for r in &rows {
        writeln!(
            csv,
            "{NODES},\"{}\",{},push-pull,{},{},{},{},{},{}",
            r.topology,
            r.faults,
            r.seed,
            r.stop.as_str(),
            r.converge_after_heal_ms,
            r.converged_ms,
            r.msgs_per_node,
            r.violations
        )
        .unwrap();
    }
    std::fs::write(dir.join("runs.csv"), csv).unwrap();

    let mut summary = String::from("nodes,topology,faults,seeds,converged,converge_after_heal_ms_mean,median,p90,max,converged_ms_mean,msgs_per_node_mean\n");
    println!(
        "{:<28} {:<10} {:>9} {:>9} {:>9} {:>9} {:>10} {:>9}",
        "topology", "faults", "converged", "mean ms", "median", "p90", "abs. mean", "msgs/node"
    );
    let mut means = std::collections::BTreeMap::new();
    for t in TOPOLOGIES {
        for f in FAULTS {
            let rs: Vec<&Row> = rows
                .iter()
                .filter(|r| r.topology == t && r.faults == f)
                .collect();
            let mut v: Vec<f64> = rs
                .iter()
                .map(|r| r.converge_after_heal_ms)
                .filter(|x| x.is_finite())
                .collect();
            v.sort_by(f64::total_cmp);
            let done = rs.iter().filter(|r| r.stop == StopReason::Done).count();
            let mean = v.iter().sum::<f64>() / v.len().max(1) as f64;
            let msgs = rs.iter().map(|r| r.msgs_per_node).sum::<f64>() / rs.len() as f64;
            let abs = rs.iter().map(|r| r.converged_ms).sum::<f64>() / rs.len() as f64;
            let (med, p90, max) = if v.is_empty() {
                (f64::NAN, f64::NAN, f64::NAN)
            } else {
                (quantile(&v, 0.5), quantile(&v, 0.9), v[v.len() - 1])
            };
            println!(
                "{t:<28} {f:<10} {:>9} {mean:>9.0} {med:>9.0} {p90:>9.0} {abs:>10.0} {msgs:>9.1}",
                format!("{done}/{}", rs.len())
            );
            writeln!(
                summary,
                "{NODES},\"{t}\",{f},{},{done},{mean},{med},{p90},{max},{abs},{msgs}",
                rs.len()
            )
            .unwrap();
            means.insert((t, f), mean);
        }
    }
    std::fs::write(dir.join("summary.csv"), summary).unwrap();
    let chart = Chart {
        title: format!("Anti-entropy convergence after faults heal ({NODES} nodes, push-pull)"),
        x_label: "faults".into(),
        y_label: "ms from heal (or last write) to convergence, mean".into(),
        log_x: false,
        log_y: true,
        x_ticks: FAULTS
            .iter()
            .enumerate()
            .map(|(i, f)| (i as f64, f.to_string()))
            .collect(),
        series: TOPOLOGIES
            .iter()
            .map(|&t| Series {
                name: t.split(':').next().unwrap_or(t).to_string(),
                points: FAULTS
                    .iter()
                    .enumerate()
                    .map(|(i, &f)| (i as f64, means[&(t, f)]))
                    .collect(),
                dashed: false,
                markers: true,
            })
            .collect(),
    };
    std::fs::write(dir.join("convergence.svg"), chart.render()).unwrap();
    println!(
        "wrote {}/runs.csv ({} runs), summary.csv, convergence.svg",
        dir.display(),
        rows.len()
    );
    let bad: Vec<&Row> = rows
        .iter()
        .filter(|r| r.stop != StopReason::Done || r.violations > 0)
        .collect();
    assert!(
        bad.is_empty(),
        "{} runs did not converge cleanly, e.g. {} {} seed {}",
        bad.len(),
        bad[0].topology,
        bad[0].faults,
        bad[0].seed
    );
}
