//! `gossip-rounds`: rounds to full coverage for push, pull and push-pull rumor
//! spreading (infective forever, fanout 1, synchronous rounds of 100 ms,
//! latency 1–5 ms) on the complete graph, for n = 10^3 to 10^6, beside the
//! theory: Pittel (1987) for push, `log2 n + ln n`; Karp et al. (2000) for
//! push-pull, `log3 n + O(log log n)`; pull squares the uninformed fraction
//! each round near the end (Demers et al. 1987, §1.3).
//!
//! - writes `results/gossip-rounds/runs.csv` (one row per run), `summary.csv`
//!   (per size and direction), `coverage.csv` (fraction informed after each
//!   round, per run), `rounds.svg` (mean rounds against n, with the push curve
//!   `log2 n + ln n`) and `coverage.svg` / `uninformed.svg` (coverage curves);
//! - asserts that push takes `log2 n + ln n + c` rounds on average with
//!   `0 <= c <= 3` (Pittel's O(1) term; an idealised round-by-round simulation
//!   gives c ≈ 1.2 at n = 1000 and 1.1 at n = 10^4).
//!
//! Regenerate: `cargo run --release --example gossip_rounds`. Seeds per size
//! default to 200, 40, 6 and 1 for 10^3..10^6 (one seed at 10^6, where a run
//! takes seconds and ~170 MB); set `GOSSIP_SEEDS=a,b,c,d` to change them.

#[path = "common/svg.rs"]
mod svg;

use agentsim::protocols::gossip::{Direction, GossipConfig};
use agentsim::protocols::ProtocolConfig;
use agentsim::run::run_silent;
use agentsim::scenario::Scenario;
use agentsim::time::{Dur, SEC};
use rayon::prelude::*;
use std::fmt::Write as _;
use svg::{Chart, Series};

const SIZES: [u32; 4] = [1_000, 10_000, 100_000, 1_000_000];
const DIRECTIONS: [Direction; 3] = [Direction::Push, Direction::Pull, Direction::PushPull];

struct Run {
    nodes: u32,
    direction: Direction,
    seed: u64,
    rounds: f64,
    time_ms: f64,
    receipt_mean: f64,
    msgs: f64,
    events: u64,
    coverage: Vec<f64>,
}

fn push_theory(n: f64) -> f64 {
    n.log2() + n.ln()
}

fn push_pull_theory(n: f64) -> f64 {
    n.ln() / 3f64.ln()
}

fn run(nodes: u32, direction: Direction, seed: u64) -> Run {
    let sc = Scenario {
        seed,
        nodes,
        time_max: Dur(60 * SEC),
        events_max: u64::MAX,
        protocol: ProtocolConfig::Gossip(GossipConfig {
            direction,
            ..GossipConfig::default()
        }),
        ..Scenario::default()
    };
    let r = run_silent(&sc);
    assert!(
        r.violations.is_empty(),
        "n={nodes} {direction} seed {seed}: {:?}",
        r.violations
    );
    let m = |k: &str| r.metrics[k];
    Run {
        nodes,
        direction,
        seed,
        rounds: m("rounds_to_full"),
        time_ms: m("time_to_full_ms"),
        receipt_mean: m("receipt_round_mean"),
        msgs: m("msgs_per_node"),
        events: r.events,
        coverage: serde_json::from_value(r.facts["coverage"].clone())
            .expect("coverage is an array"),
    }
}

fn main() {
    let seeds: Vec<u64> = std::env::var("GOSSIP_SEEDS")
        .ok()
        .map(|s| {
            s.split(',')
                .map(|x| x.trim().parse().expect("GOSSIP_SEEDS=a,b,c,d"))
                .collect()
        })
        .unwrap_or_else(|| vec![200, 40, 6, 1]);
    assert_eq!(
        seeds.len(),
        SIZES.len(),
        "GOSSIP_SEEDS needs one count per size"
    );
    let mut jobs = Vec::new();
    // Largest first, so the long runs overlap with the many small ones.
    for (i, &n) in SIZES.iter().enumerate().rev() {
        for d in DIRECTIONS {
            for s in 0..seeds[i] {
                jobs.push((n, d, s));
            }
        }
    }
    let mut runs: Vec<Run> = jobs.par_iter().map(|&(n, d, s)| run(n, d, s)).collect();
    runs.sort_by_key(|r| {
        (
            r.nodes,
            DIRECTIONS.iter().position(|&d| d == r.direction),
            r.seed,
        )
    });

    let dir = std::path::Path::new("results/gossip-rounds");
    std::fs::create_dir_all(dir).expect("creating results/gossip-rounds");
    let mut csv = String::from("nodes,direction,seed,rounds_to_full,time_to_full_ms,receipt_round_mean,msgs_per_node,events,push_theory_rounds\n");
    let mut cov = String::from("nodes,direction,seed,round,informed_ratio\n");
    for r in &runs {
        let n = r.nodes as f64;
        writeln!(
            csv,
            "{},{},{},{},{},{},{},{},{:.3}",
            r.nodes,
            r.direction,
            r.seed,
            r.rounds,
            r.time_ms,
            r.receipt_mean,
            r.msgs,
            r.events,
            push_theory(n)
        )
        .unwrap();
        for (round, c) in r.coverage.iter().enumerate() {
            writeln!(cov, "{},{},{},{round},{c}", r.nodes, r.direction, r.seed).unwrap();
        }
    }
    std::fs::write(dir.join("runs.csv"), csv).unwrap();
    std::fs::write(dir.join("coverage.csv"), cov).unwrap();

    let mut summary = String::from("nodes,direction,seeds,rounds_mean,rounds_min,rounds_max,receipt_round_mean,msgs_per_node_mean,log2n_plus_lnn,log3n\n");
    println!(
        "{:>9} {:<9} {:>5} {:>7} {:>4} {:>4} {:>9} {:>8} {:>7}",
        "nodes", "direction", "seeds", "rounds", "min", "max", "msgs/node", "log2+ln", "log3"
    );
    let mut mean_rounds = std::collections::BTreeMap::new();
    let mut failures = Vec::new();
    for &n in &SIZES {
        for d in DIRECTIONS {
            let rs: Vec<&Run> = runs
                .iter()
                .filter(|r| r.nodes == n && r.direction == d)
                .collect();
            if rs.is_empty() {
                continue;
            }
            let k = rs.len() as f64;
            let mean = rs.iter().map(|r| r.rounds).sum::<f64>() / k;
            let min = rs.iter().map(|r| r.rounds).fold(f64::MAX, f64::min);
            let max = rs.iter().map(|r| r.rounds).fold(f64::MIN, f64::max);
            let receipt = rs.iter().map(|r| r.receipt_mean).sum::<f64>() / k;
            let msgs = rs.iter().map(|r| r.msgs).sum::<f64>() / k;
            let (pt, ppt) = (push_theory(n as f64), push_pull_theory(n as f64));
            println!(
                "{n:>9} {:<9} {:>5} {mean:>7.2} {min:>4} {max:>4} {msgs:>9.2} {pt:>8.2} {ppt:>7.2}",
                d.to_string(),
                rs.len()
            );
            writeln!(
                summary,
                "{n},{d},{},{mean},{min},{max},{receipt},{msgs},{pt:.3},{ppt:.3}",
                rs.len()
            )
            .unwrap();
            mean_rounds.insert((n, d.to_string()), mean);
            if d == Direction::Push && !(0.0..=3.0).contains(&(mean - pt)) {
                failures.push(format!(
                    "push n={n}: {mean:.2} rounds vs log2 n + ln n = {pt:.2}"
                ));
            }
        }
    }
    std::fs::write(dir.join("summary.csv"), summary).unwrap();

    let series = |name: &str, d: Direction| Series {
        name: name.into(),
        points: SIZES
            .iter()
            .filter_map(|&n| mean_rounds.get(&(n, d.to_string())).map(|&m| (n as f64, m)))
            .collect(),
        dashed: false,
        markers: true,
    };
    let curve = |name: &str, f: fn(f64) -> f64| Series {
        name: name.into(),
        points: (0..=30)
            .map(|i| 10f64.powf(3.0 + i as f64 * 0.1))
            .map(|n| (n, f(n)))
            .collect(),
        dashed: true,
        markers: false,
    };
    let rounds_chart = Chart {
        title: "Rounds to full coverage (complete graph, fanout 1)".into(),
        x_label: "nodes".into(),
        y_label: "rounds (mean over seeds)".into(),
        log_x: true,
        log_y: false,
        x_ticks: vec![],
        series: vec![
            series("push", Direction::Push),
            curve("log2 n + ln n", push_theory),
            series("pull", Direction::Pull),
            series("push-pull", Direction::PushPull),
            curve("log3 n", push_pull_theory),
        ],
    };
    std::fs::write(dir.join("rounds.svg"), rounds_chart.render()).unwrap();

    // Coverage curves: mean over seeds at the largest size with several seeds.
    let n_cov = SIZES
        .iter()
        .rev()
        .copied()
        .find(|&n| runs.iter().filter(|r| r.nodes == n).count() >= 6)
        .unwrap_or(SIZES[0]);
    let mean_curve = |d: Direction, f: fn(f64) -> f64| -> Vec<(f64, f64)> {
        let rs: Vec<&Run> = runs
            .iter()
            .filter(|r| r.nodes == n_cov && r.direction == d)
            .collect();
        let len = rs.iter().map(|r| r.coverage.len()).max().unwrap_or(0);
        (0..len)
            .map(|i| {
                let m = rs
                    .iter()
                    .map(|r| *r.coverage.get(i).unwrap_or(&1.0))
                    .sum::<f64>()
                    / rs.len() as f64;
                (i as f64, f(m))
            })
            .collect()
    };
    let curves = |f: fn(f64) -> f64| -> Vec<Series> {
        DIRECTIONS
            .iter()
            .map(|&d| Series {
                name: d.to_string(),
                points: mean_curve(d, f),
                dashed: false,
                markers: true,
            })
            .collect()
    };
    let coverage_chart = Chart {
        title: format!("Coverage over rounds, n = {n_cov}"),
        x_label: "round".into(),
        y_label: "fraction informed".into(),
        log_x: false,
        log_y: false,
        x_ticks: vec![],
        series: curves(|c| c),
    };
    std::fs::write(dir.join("coverage.svg"), coverage_chart.render()).unwrap();
    let uninformed_chart = Chart {
        title: format!("Uninformed fraction over rounds, n = {n_cov} (pull: p -> p^2)"),
        x_label: "round".into(),
        y_label: "fraction uninformed".into(),
        log_x: false,
        log_y: true,
        x_ticks: vec![],
        series: curves(|c| 1.0 - c),
    };
    std::fs::write(dir.join("uninformed.svg"), uninformed_chart.render()).unwrap();
    println!("wrote {}/runs.csv ({} runs), summary.csv, coverage.csv, rounds.svg, coverage.svg, uninformed.svg", dir.display(), runs.len());
    assert!(
        failures.is_empty(),
        "push disagrees with Pittel:\n{}",
        failures.join("\n")
    );
}
