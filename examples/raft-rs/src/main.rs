//! With arguments: the whole agentsim command line, with `raft-rs` beside
//! the built-in protocols (`run raft-rs`, `check raft-rs`, `sweep`, ...),
//! plus two modes of this example:
//!
//! - `compare [N [SETTINGS]]`: agentsim's Raft against raft-rs on the same
//!   scenario, N seeds each (default 2000): time to the first leader,
//!   downtime after a leader crash; SETTINGS are raft-rs's, as TOML lines
//!   (`'tick = "1ms"\nelection_tick = 150\nheartbeat_tick = 50'`);
//! - `bench-hash`: the cost of hashing raft-rs messages through their
//!   protobuf encoding, against a hand-written field list.
//!
//! Without arguments: a self-check that ends in asserts: election safety
//! and leader election over 2,000 faulty seeds, every seed of them
//! reproducible; the unpatched adapter (`os_rng`) caught by the determinism
//! check; the vote-forgetting variant caught by election safety.
//!
//! ```text
//! cargo run --release -p raft-rs-example                  # the self-check
//! cargo run --release -p raft-rs-example -- check raft-rs --seeds 0..2000 --crash-mttf 800ms
//! cargo run --release -p raft-rs-example -- check raft-rs --param os_rng=true --determinism
//! ```

use agentsim::prelude::*;
use agentsim::run::check::{check_seeds, check_seeds_with, CheckOptions, CheckSummary};
use raft_rs_example::{hash_fields, hash_protobuf, RaftRsSpec};
use std::time::Instant;

fn registry() -> Registry {
    Registry::builtin().with::<RaftRsSpec>()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        None => {
            agentsim::protocols::install(registry()).expect("no registry in use yet");
            self_check();
        }
        Some("compare") => {
            agentsim::protocols::install(registry()).expect("no registry in use yet");
            let n = args
                .get(2)
                .map_or(2000, |s| s.parse().expect("compare N: a seed count"));
            compare(n, args.get(3).map_or("", String::as_str));
        }
        Some("bench-hash") => {
            agentsim::protocols::install(registry()).expect("no registry in use yet");
            bench_hash();
        }
        Some(_) => std::process::exit(agentsim::cli::main_with(registry())),
    }
}

/// The faulty scenario of `hostile.toml` (that of agentsim's Raft tests),
/// with `settings` added to its `[protocol]` table.
pub fn hostile(settings: &str) -> Scenario {
    let text = format!("{}{settings}\n", include_str!("../hostile.toml"));
    let sc = Scenario::from_toml_str(&text).expect("the scenario parses");
    sc.validate().expect("a valid scenario");
    sc
}

fn show(what: &str, s: &CheckSummary) {
    let failures: Vec<String> = s
        .failures
        .iter()
        .map(|f| {
            format!(
                "{} in {} seeds (first {})",
                f.property, f.runs, f.first_seed
            )
        })
        .collect();
    println!(
        "{what}: {} seeds, stops {:?}, failures [{}], {} of {} seeds run twice differed",
        s.runs,
        s.stops,
        failures.join("; "),
        s.determinism.diverged,
        s.determinism.seeds_run_twice
    );
}

fn self_check() {
    let seeds = 0..2000;
    let twice = CheckOptions {
        twice: u64::MAX,
        ..CheckOptions::default()
    };
    let ok = check_seeds_with(&hostile(""), seeds.clone(), &twice).expect("threads");
    show("raft-rs", &ok);
    assert_eq!(ok.runs, 2000);
    assert!(ok.failures.is_empty(), "{:#?}", ok.failures);
    assert!(ok.undecided.is_empty(), "{:#?}", ok.undecided);
    assert_eq!(ok.determinism.seeds_run_twice, 2000);
    assert!(!ok.determinism.failed(), "{:#?}", ok.determinism);

    let pv = check_seeds(
        &hostile("pre_vote = true\ncheck_quorum = true"),
        0..500,
        None,
    )
    .expect("threads");
    show("raft-rs with pre_vote and check_quorum", &pv);
    assert!(pv.failures.is_empty() && !pv.determinism.failed());

    // Unpatched: raft-rs draws from the OS. The default double run of the
    // first 16 seeds is enough to see it.
    let os = check_seeds(&hostile("os_rng = true"), 0..100, None).expect("threads");
    show("raft-rs with os_rng (unpatched)", &os);
    assert!(os.determinism.failed(), "the OS RNG went unnoticed");
    let first = os
        .determinism
        .first
        .as_ref()
        .expect("the divergence located");
    if let Some(r) = &first.record {
        println!("  first diverging record: line {}: {}", r.line, r.third);
    }

    let broken = check_seeds(&hostile("forget_vote = true"), seeds, None).expect("threads");
    show("raft-rs with forget_vote", &broken);
    let f = broken
        .failures
        .iter()
        .find(|f| f.property == agentsim::protocols::raft::monitor::ELECTION_SAFETY)
        .expect("forget_vote caught by election safety");
    println!("  first seed {}: {}", f.first_seed, f.first_detail);
    assert!(!broken.determinism.failed());
}

/// One metric's spread over the runs that have it.
fn spread(name: &str, unit: &str, mut v: Vec<f64>) -> String {
    if v.is_empty() {
        return format!("{name}: no runs");
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    let sd = (v.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (v.len() - 1).max(1) as f64)
        .sqrt();
    format!(
        "{name}: n={} mean {mean:.1} {unit} (95% CI ±{:.1}), p5 {:.0}, median {:.0}, p95 {:.0}, max {:.0}",
        v.len(),
        1.96 * sd / (v.len() as f64).sqrt(),
        q(0.05),
        q(0.5),
        q(0.95),
        v[v.len() - 1]
    )
}

/// Runs `sc` on `seeds` and collects two metrics.
fn metrics(sc: &Scenario, seeds: u64) -> (Vec<f64>, Vec<f64>) {
    let (mut first, mut down) = (Vec::new(), Vec::new());
    for seed in 0..seeds {
        let r = agentsim::run::run_silent(&Scenario { seed, ..sc.clone() });
        assert!(r.violations.is_empty(), "seed {seed}: {:?}", r.violations);
        if let Some(&m) = r.metrics.get("first_leader_ms") {
            first.push(m);
        }
        if let Some(&m) = r.metrics.get("downtime_ms") {
            down.push(m);
        }
    }
    (first, down)
}

/// agentsim's Raft and raft-rs on the same scenario: 5 nodes, one-way
/// latency 1..5 ms, the leader crashed at 2 s for 1 s; election timeouts
/// 150..300 ms and heartbeats every 50 ms in both (unless `settings`
/// change raft-rs's).
fn compare(seeds: u64, settings: &str) {
    let toml = |protocol: &str| {
        let settings = if protocol == "raft-rs" { settings } else { "" };
        format!(
            r#"
nodes = 5
time_max = "6s"
stop_when_done = false
[net]
latency = "1ms..5ms"
[faults]
schedule = ["crash-leader:1s@2s"]
[protocol]
name = "{protocol}"
{}
"#,
            settings.replace("\\n", "\n")
        )
    };
    println!("{seeds} seeds; 5 nodes, latency 1ms..5ms, the leader crashed at 2s for 1s");
    for p in ["raft", "raft-rs"] {
        let sc = Scenario::from_toml_str(&toml(p)).expect("the scenario parses");
        sc.validate().expect("a valid scenario");
        let started = Instant::now();
        let (first, down) = metrics(&sc, seeds);
        println!(
            "{p}: {}\n{p}: {}\n{p}: {:.1}s",
            spread("first_leader_ms", "ms", first),
            spread("downtime_ms", "ms", down),
            started.elapsed().as_secs_f64()
        );
    }
}

/// Hashing a message through its protobuf encoding (one allocation each)
/// against a field list, on the messages of a run: heartbeats, votes, and
/// appends of one 8-byte entry.
fn bench_hash() {
    use raft::eraftpb::{Entry, Message as PbMessage, MessageType};
    let mut msgs = Vec::new();
    for (t, entries) in [
        (MessageType::MsgHeartbeat, 0),
        (MessageType::MsgRequestVote, 0),
        (MessageType::MsgAppend, 1),
        (MessageType::MsgAppendResponse, 0),
    ] {
        let mut m = PbMessage::default();
        m.set_msg_type(t);
        m.to = 2;
        m.from = 1;
        m.term = 7;
        m.log_term = 7;
        m.index = 1234;
        m.commit = 1233;
        for i in 0..entries {
            m.mut_entries().push(Entry {
                term: 7,
                index: 1235 + i,
                data: vec![1u8; 8].into(),
                ..Default::default()
            });
        }
        msgs.push(m);
    }
    const N: usize = 2_000_000;
    let mut sink = 0u64;
    let mut protobuf_ns = 0.0;
    for (name, f) in [
        (
            "protobuf encoding",
            hash_protobuf as fn(&PbMessage, &mut RunHasher),
        ),
        ("field list", hash_fields),
    ] {
        let started = Instant::now();
        for i in 0..N {
            let mut h = RunHasher::default();
            f(&msgs[i % msgs.len()], &mut h);
            sink = sink.wrapping_add(std::hash::Hasher::finish(&h));
        }
        let ns = started.elapsed().as_nanos() as f64 / N as f64;
        println!("{name}: {ns:.1} ns per message ({N} messages)");
        if protobuf_ns == 0.0 {
            protobuf_ns = ns;
        }
    }
    println!("(checksum {sink:x})");
    // Their share of a run: messages sent per run (each hashed once) × the
    // cost of one, against the run's time.
    let sc = hostile("");
    let (mut sent, runs) = (0u64, 400u64);
    let started = Instant::now();
    for seed in 0..runs {
        sent += agentsim::run::run_silent(&Scenario { seed, ..sc.clone() })
            .counts
            .sent;
    }
    let per_run = started.elapsed().as_nanos() as f64 / runs as f64;
    println!(
        "hostile scenario: {:.0} messages and {:.2} ms per run (one thread)",
        sent as f64 / runs as f64,
        per_run / 1e6
    );
    println!(
        "protobuf hashing: about {:.1}% of a run",
        100.0 * protobuf_ns * sent as f64 / runs as f64 / per_run
    );
}
