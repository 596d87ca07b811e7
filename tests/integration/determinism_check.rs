//! The determinism self-check: a test-only protocol that reads state outside
//! the run (a process-wide counter, as an OS random generator or the wall
//! clock would be) is reported by `check`, with the seeds, the first
//! diverging record and the usual causes; deterministic protocols pass; the
//! default double run covers the first 16 seeds; `check`'s seed cap.

use crate::common::{agentsim, stderr, stdout};
use agentsim::prelude::*;
use agentsim::run::check::{check_seeds, check_seeds_with, CheckOptions, SEEDS_MAX};
use agentsim::run::determinism::TWICE_DEFAULT;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};

/// Read by the leaky protocol: every run sees other values.
static OUTSIDE: AtomicU64 = AtomicU64::new(0);

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct LeakyConfig {
    /// Seeds (modulo 5) whose runs read the counter; none: deterministic.
    leak_mod5: Option<u64>,
}

#[derive(Clone, Debug, Hash, Serialize, PartialEq, Message)]
enum LeakyMsg {
    Hello { n: u64 },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, TimerTag)]
enum LeakyTimer {
    Go,
}

#[derive(Clone, Debug, Hash, Serialize, PartialEq)]
enum LeakyNote {
    Drew { n: u64 },
}

impl Note for LeakyNote {}

struct Leaky {
    leak: bool,
}

impl Protocol for Leaky {
    type Config = LeakyConfig;
    type Msg = LeakyMsg;
    type Timer = LeakyTimer;
    type Note = LeakyNote;
    type Durable = ();

    fn init(ctx: &mut Init<'_, Self>, _: &()) -> Self {
        // The seed is not visible to a node; its stream's first word is.
        let word = ctx.rng().next_u64();
        Leaky {
            leak: ctx.config().leak_mod5.is_some_and(|m| word % 5 == m),
        }
    }
    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        ctx.set_timer(LeakyTimer::Go, 1_000_000 * (1 + ctx.id() as u64));
    }
    fn on_message(&mut self, _: &mut Ctx<'_, Self>, _: NodeId, _: LeakyMsg) {}
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, _: LeakyTimer) {
        // Node 1 draws after two deterministic steps, so the first
        // diverging record is not the first record of the run.
        let n = if self.leak && ctx.id() == 1 {
            OUTSIDE.fetch_add(1, Ordering::Relaxed)
        } else {
            ctx.rng().below(100)
        };
        ctx.note(LeakyNote::Drew { n });
        ctx.broadcast(LeakyMsg::Hello { n });
    }
}

struct LeakySpec;

impl Spec for LeakySpec {
    const NAME: &'static str = "leaky";
    const SUMMARY: &'static str = "reads a process-wide counter (test only)";
    type Node = Leaky;
    type Config = LeakyConfig;
    type Monitor = NoMonitor;
    type Flags = NoFlags;
}

fn leaky(leak_mod5: Option<u64>) -> Scenario {
    Scenario {
        nodes: 3,
        time_max: Dur::from_ms(100),
        protocol: ProtocolConfig::of::<LeakySpec>(LeakyConfig { leak_mod5 }),
        ..Scenario::default()
    }
}

/// The seeds whose runs read the counter.
fn leaking(sc: &Scenario, seeds: std::ops::Range<u64>) -> Vec<u64> {
    let opts = CheckOptions {
        twice: u64::MAX,
        ..CheckOptions::default()
    };
    let s = check_seeds_with(sc, seeds, &opts).unwrap();
    s.determinism.seeds.iter().map(|d| d.seed).collect()
}

#[test]
fn check_reports_a_protocol_that_reads_outside_the_run() {
    // Off, the protocol is deterministic and passes.
    let clean = check_seeds(&leaky(None), 0..40, None).unwrap();
    assert_eq!(clean.determinism.seeds_run_twice, TWICE_DEFAULT);
    assert!(!clean.determinism.failed(), "{:?}", clean.determinism);
    assert!(clean.determinism.first.is_none());

    // Node 1's stream decides whether a seed leaks: about a fifth of them.
    let every = leaking(&leaky(Some(0)), 0..200);
    assert!(
        every.len() > 10 && every.len() < 100,
        "{} of 200 seeds leak",
        every.len()
    );
    // The default double run covers the first 16 seeds of the range, and
    // finds exactly the leaking seeds among them.
    let s = check_seeds(&leaky(Some(0)), 0..200, None).unwrap();
    let first16: Vec<u64> = every.iter().copied().filter(|&x| x < 16).collect();
    assert!(!first16.is_empty(), "no leaking seed below 16: {every:?}");
    let found: Vec<u64> = s.determinism.seeds.iter().map(|d| d.seed).collect();
    assert_eq!(found, first16);
    assert_eq!(s.determinism.seeds_run_twice, 16);
    assert_eq!(s.determinism.diverged, first16.len() as u64);
    assert_eq!(agentsim::cli::check::exit_code(&s), 5);

    // The first diverging seed is located: two more traced runs read the
    // counter too, so they differ, at node 1's note, and their hashes are
    // not those of the first two runs.
    let located = s.determinism.first.as_ref().expect("located");
    assert_eq!(located.seed, first16[0]);
    assert!(!located.same_as_first_runs);
    let r = located.record.as_ref().expect("the traced runs differ");
    assert!(r.line > 2, "line {}", r.line);
    assert!(
        r.third.contains("\"note\"") && r.third.contains("Drew"),
        "{}",
        r.third
    );
    assert_ne!(r.third, r.fourth);
    assert_eq!(r.t_ns, Some(2_000_000), "node 1's timer fires at 2 ms");

    // Seeds past the first 16 are found only with every seed run twice.
    let late: Vec<u64> = every.iter().copied().filter(|&x| x >= 100).collect();
    assert_eq!(leaking(&leaky(Some(0)), 100..200), late);
}

#[test]
fn the_text_report_names_the_seeds_the_record_and_the_causes() {
    let sc = leaky(Some(0));
    let s = check_seeds(&sc, 0..50, None).unwrap();
    assert!(s.determinism.failed());
    let args: Vec<String> = ["agentsim", "check", "leaky", "--seeds", "0..50"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    let text = agentsim::cli::check::text_report(&sc, &(0..50), &s, &args);
    let seeds: Vec<String> = s
        .determinism
        .seeds
        .iter()
        .map(|d| d.seed.to_string())
        .collect();
    assert!(
        text.contains(&format!(
            "FAIL  determinism: {} of 16 seeds run twice gave two run hashes (seeds {}",
            seeds.len(),
            seeds.join(", ")
        )),
        "{text}"
    );
    assert!(text.contains("first diverging record (seed"), "{text}");
    assert!(text.contains("at t=2ms"), "{text}");
    assert!(
        text.contains("may have diverged at another record"),
        "{text}"
    );
    assert!(
        text.contains("usual causes: an OS random number generator"),
        "{text}"
    );
    assert!(
        text.contains("the wall clock") && text.contains("HashMap"),
        "{text}"
    );
    let json = agentsim::cli::check::json_report(&sc, &s, &args);
    assert_eq!(json["determinism"]["seeds_run_twice"], 16);
    assert_eq!(
        json["determinism"]["seeds"][0]["seed"]
            .as_u64()
            .unwrap()
            .to_string(),
        seeds[0]
    );
    assert!(
        json["determinism"]["first"]["record"]["line"]
            .as_u64()
            .unwrap()
            > 2
    );
    assert!(json["determinism"]["usual_causes"].is_string());
}

#[test]
fn check_runs_the_first_16_seeds_twice_and_says_so() {
    let out = agentsim(&["check", "raft", "--seeds", "10..40"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.contains("  ok    determinism: 16 seeds run twice, the same run hash each time"),
        "{text}"
    );
    let out = agentsim(&["check", "raft", "--seeds", "0..5"]);
    assert!(stdout(&out).contains("determinism: 5 seeds run twice"));
    let out = agentsim(&["check", "raft", "--seeds", "0..30", "--determinism"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("determinism: 30 seeds run twice"));
    let out = agentsim(&["check", "raft", "--seeds", "0..20", "--json"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&out).trim()).unwrap();
    assert_eq!(v["determinism"]["seeds_run_twice"], 16);
    assert_eq!(v["determinism"]["diverged"], 0);
    // Nothing on stderr: the progress bar is drawn only on a terminal.
    assert_eq!(stderr(&out), "");
}

#[test]
fn check_refuses_more_seeds_than_its_cap() {
    for range in [
        format!("0..{}", SEEDS_MAX + 1),
        "0..18446744073709551615".to_string(),
        format!("5..{}", SEEDS_MAX + 6),
    ] {
        let out = agentsim(&["check", "raft", "--seeds", &range]);
        assert_eq!(out.status.code(), Some(2), "{range}: {}", stdout(&out));
        let err = stderr(&out);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains("--seeds") && err.contains(&SEEDS_MAX.to_string()),
            "{err}"
        );
        assert_eq!(stdout(&out), "");
    }
}

#[test]
fn the_reproduction_command_drops_determinism() {
    let args: Vec<String> = [
        "agentsim",
        "check",
        "raft",
        "--determinism",
        "--seeds",
        "0..9",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(
        agentsim::cli::check::reproduction_command(&args, 4),
        "agentsim run raft --seed 4"
    );
}
