//! `gossip-rumor`: residue and traffic against `k` for the four rumor-mongering
//! variants of Demers et al. (1987, §1.4) — feedback or blind, counter or coin —
//! with push and with pull, on 1,000 nodes in synchronous rounds.
//!
//! - one run per (direction, interest loss, removal, k, seed), seeds `0..SEEDS`;
//! - writes `results/gossip-rumor/runs.csv` (one row per run: parameters, seed,
//!   metrics), `summary.csv` (means per configuration), and `residue.svg` and
//!   `traffic.svg` (means against k, with the paper's Tables 1 and 2 dashed);
//! - prints the summary beside the paper's Table 1 (push, feedback, counter) and
//!   Table 2 (push, blind, coin), and asserts agreement within tolerance.
//!
//! Regenerate: `cargo run --release --example gossip_rumor` (about 20 s on 2 cores;
//! `GOSSIP_SEEDS=N` changes the number of seeds, default 200).

#[path = "common/svg.rs"]
mod svg;

use agentsim::protocols::gossip::{Direction, GossipConfig, InterestLoss, Removal};
use agentsim::protocols::ProtocolConfig;
use agentsim::run::run_silent;
use agentsim::scenario::Scenario;
use agentsim::time::{Dur, SEC};
use rayon::prelude::*;
use std::fmt::Write as _;
use svg::{Chart, Series};

const NODES: u32 = 1000;

/// Demers et al. Table 1 (push, feedback, counter; n = 1000): residue s, traffic m.
const TABLE1: [(f64, f64); 5] = [
    (0.18, 1.7),
    (0.037, 3.3),
    (0.011, 4.5),
    (0.0036, 5.6),
    (0.0012, 6.7),
];
/// Demers et al. Table 2 (push, blind, coin; n = 1000): residue s, traffic m.
const TABLE2: [(f64, f64); 5] = [
    (0.96, 0.04),
    (0.20, 1.6),
    (0.060, 2.8),
    (0.021, 3.9),
    (0.008, 4.9),
];

#[derive(Clone, Copy)]
struct Case {
    direction: Direction,
    loss: InterestLoss,
    removal: Removal,
    k: u32,
}

struct Row {
    case: Case,
    seed: u64,
    residue: f64,
    traffic: f64,
    msgs: f64,
    t_ave: f64,
    t_last: f64,
    rounds_to_death: f64,
}

fn run(case: Case, seed: u64) -> Row {
    let cfg = GossipConfig {
        direction: case.direction,
        interest_loss: case.loss,
        removal: case.removal,
        k: case.k,
        ..GossipConfig::default()
    };
    let sc = Scenario {
        seed,
        nodes: NODES,
        time_max: Dur(120 * SEC),
        events_max: u64::MAX,
        protocol: ProtocolConfig::Gossip(cfg),
        ..Scenario::default()
    };
    let r = run_silent(&sc);
    assert!(r
        .violations
        .iter()
        .all(|v| v.kind != agentsim::engine::PropertyKind::Always));
    let m = |k: &str| r.metrics.get(k).copied().unwrap_or(f64::NAN);
    Row {
        case,
        seed,
        residue: m("residue_ratio"),
        traffic: m("update_msgs_per_node"),
        msgs: m("msgs_per_node"),
        t_ave: m("receipt_round_mean"),
        t_last: m("receipt_round_last"),
        rounds_to_death: m("rounds_to_death"),
    }
}

fn main() {
    let seeds: u64 = std::env::var("GOSSIP_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let mut cases = Vec::new();
    for direction in [Direction::Push, Direction::Pull] {
        for loss in [InterestLoss::Feedback, InterestLoss::Blind] {
            for removal in [Removal::Counter, Removal::Coin] {
                for k in 1..=5 {
                    cases.push(Case {
                        direction,
                        loss,
                        removal,
                        k,
                    });
                }
            }
        }
    }
    let jobs: Vec<(Case, u64)> = cases
        .iter()
        .flat_map(|&c| (0..seeds).map(move |s| (c, s)))
        .collect();
    let rows: Vec<Row> = jobs.par_iter().map(|&(c, s)| run(c, s)).collect();

    let dir = std::path::Path::new("results/gossip-rumor");
    std::fs::create_dir_all(dir).expect("creating results/gossip-rumor");
    let mut csv = String::from("nodes,direction,interest_loss,removal,k,seed,residue_ratio,update_msgs_per_node,msgs_per_node,receipt_round_mean,receipt_round_last,rounds_to_death\n");
    for r in &rows {
        let c = r.case;
        writeln!(
            csv,
            "{NODES},{},{},{},{},{},{},{},{},{},{},{}",
            c.direction,
            c.loss,
            c.removal,
            c.k,
            r.seed,
            r.residue,
            r.traffic,
            r.msgs,
            r.t_ave,
            r.t_last,
            r.rounds_to_death
        )
        .unwrap();
    }
    std::fs::write(dir.join("runs.csv"), csv).expect("writing runs.csv");

    let mut summary = String::from("nodes,direction,interest_loss,removal,k,seeds,residue_ratio_mean,update_msgs_per_node_mean,msgs_per_node_mean,receipt_round_mean,receipt_round_last_mean,paper_residue,paper_traffic\n");
    println!(
        "direction interest removal  k   residue   traffic  msgs/node  t_ave  t_last   paper(s, m)"
    );
    let mut failures = Vec::new();
    let mut means: Vec<(Case, f64, f64)> = Vec::new();
    for c in &cases {
        let mine: Vec<&Row> = rows
            .iter()
            .filter(|r| {
                r.case.direction == c.direction
                    && r.case.loss == c.loss
                    && r.case.removal == c.removal
                    && r.case.k == c.k
            })
            .collect();
        let mean = |f: fn(&Row) -> f64| mine.iter().map(|r| f(r)).sum::<f64>() / mine.len() as f64;
        let (s, m, msgs, ta, tl) = (
            mean(|r| r.residue),
            mean(|r| r.traffic),
            mean(|r| r.msgs),
            mean(|r| r.t_ave),
            mean(|r| r.t_last),
        );
        let paper = match (c.direction, c.loss, c.removal) {
            (Direction::Push, InterestLoss::Feedback, Removal::Counter) => {
                Some(TABLE1[c.k as usize - 1])
            }
            (Direction::Push, InterestLoss::Blind, Removal::Coin) => Some(TABLE2[c.k as usize - 1]),
            _ => None,
        };
        means.push((*c, s, m));
        let p = paper
            .map(|(ps, pm)| format!("({ps}, {pm})"))
            .unwrap_or_default();
        println!(
            "{:<9} {:<8} {:<8} {:>2}  {:>8.5}  {:>7.3}  {:>8.3}  {:>5.2}  {:>5.2}   {p}",
            c.direction, c.loss, c.removal, c.k, s, m, msgs, ta, tl
        );
        let (ps, pm) = paper.map_or((String::new(), String::new()), |(a, b)| {
            (a.to_string(), b.to_string())
        });
        writeln!(
            summary,
            "{NODES},{},{},{},{},{seeds},{s},{m},{msgs},{ta},{tl},{ps},{pm}",
            c.direction, c.loss, c.removal, c.k
        )
        .unwrap();
        if let Some((ps, pm)) = paper {
            // Residue: within 25% relative or 0.002 absolute; traffic within 10%.
            if (s - ps).abs() > (0.25 * ps).max(0.002) || (m - pm).abs() > 0.1 * pm.max(0.4) {
                failures.push(format!(
                    "{} {} {} k={}: residue {s:.4} traffic {m:.3} vs paper {ps} {pm}",
                    c.direction, c.loss, c.removal, c.k
                ));
            }
        }
    }
    std::fs::write(dir.join("summary.csv"), summary).expect("writing summary.csv");
    let chart = |title: &str, y: &str, log_y: bool, pick: fn(f64, f64) -> f64| {
        let mut series: Vec<Series> = Vec::new();
        for direction in [Direction::Push, Direction::Pull] {
            for loss in [InterestLoss::Feedback, InterestLoss::Blind] {
                for removal in [Removal::Counter, Removal::Coin] {
                    let points = means
                        .iter()
                        .filter(|(c, _, _)| {
                            c.direction == direction && c.loss == loss && c.removal == removal
                        })
                        .map(|(c, s, m)| (c.k as f64, pick(*s, *m)))
                        .collect();
                    series.push(Series {
                        name: format!("{direction} {loss} {removal}"),
                        points,
                        dashed: false,
                        markers: true,
                    });
                }
            }
        }
        for (name, table) in [
            ("paper T1 (push fb counter)", TABLE1),
            ("paper T2 (push blind coin)", TABLE2),
        ] {
            let points = table
                .iter()
                .enumerate()
                .map(|(i, &(s, m))| (i as f64 + 1.0, pick(s, m)))
                .collect();
            series.push(Series {
                name: name.into(),
                points,
                dashed: true,
                markers: false,
            });
        }
        Chart {
            title: title.into(),
            x_label: "k".into(),
            y_label: y.into(),
            log_x: false,
            log_y,
            x_ticks: (1..=5).map(|k| (k as f64, k.to_string())).collect(),
            series,
        }
        .render()
    };
    let residue = chart(
        "Residue against k (1,000 nodes)",
        "fraction never informed (mean)",
        true,
        |s, _| s,
    );
    std::fs::write(dir.join("residue.svg"), residue).expect("writing residue.svg");
    let traffic = chart(
        "Update traffic against k (1,000 nodes)",
        "update messages per node (mean)",
        false,
        |_, m| m,
    );
    std::fs::write(dir.join("traffic.svg"), traffic).expect("writing traffic.svg");
    println!(
        "wrote {}/runs.csv ({} runs), summary.csv, residue.svg, traffic.svg",
        dir.display(),
        rows.len()
    );
    assert!(
        failures.is_empty(),
        "disagreement with Demers et al.:\n{}",
        failures.join("\n")
    );
}
