//! Contract net under faults: safety across many seeds for the bidding and
//! every baseline, liveness after the heal, leases that allow for clock
//! drift up to their bound (and fail beyond it), broken variants caught
//! with a reproducing command, agreement with M/M/c where its assumptions
//! hold, determinism, and bad input.

use crate::common::{agentsim, scenario, stderr, stdout};
use agentsim::protocols::contract_net::mmc;
use agentsim::run::check::{check_seeds, CheckSummary};
use agentsim::run::run_silent;
use agentsim::scenario::Scenario;

/// Two managers and eight contractors; 120 tasks at 20 per second (offered
/// load 0.5 of the contractors); loss, duplication, reordering, random
/// crashes of every node, random partitions and clock drift within the
/// leases' bound, until the heal at 15 s.
fn hostile(strategy: &str, extra: &str) -> Scenario {
    scenario(&format!(
        r#"
nodes = 10
time_max = "60s"
liveness_bound = "30s"
[net]
latency = "1ms..30ms"
loss_ratio = 0.1
dup_ratio = 0.05
[faults]
crash_mttf = "1s"
crash_mttr = "200ms"
partition_mtbf = "1s"
partition_mttr = "500ms"
heal_at = "15s"
drift_ppm_max = 1000
[workload]
arrivals = "poisson:rate=20"
count = 120
target = "random"
[protocol]
name = "contract-net"
strategy = "{strategy}"
managers = 2
{extra}
"#
    ))
}

fn assert_clean(what: &str, s: &CheckSummary, runs: u64) {
    let real: Vec<_> = s
        .failures
        .iter()
        .filter(|f| f.kind != agentsim::observe::PropertyKind::Sometimes)
        .collect();
    assert!(real.is_empty(), "{what}: {real:#?}");
    assert_eq!(s.stops.get("done"), Some(&runs), "{what}: {:?}", s.stops);
}

#[test]
fn bidding_is_safe_and_live_across_600_faulty_seeds() {
    let s = check_seeds(&hostile("contract-net", ""), 0..600, None).unwrap();
    assert_clean("contract-net", &s, 600);
    // Both reachability properties were reached by some seed.
    assert!(s.failures.is_empty(), "{:#?}", s.failures);
}

#[test]
fn every_baseline_is_safe_and_live_under_the_same_faults() {
    for strategy in [
        "round-robin",
        "random",
        "least-loaded",
        "power-of-two",
        "oracle",
    ] {
        let s = check_seeds(&hostile(strategy, ""), 0..200, None).unwrap();
        assert_clean(strategy, &s, 200);
    }
}

#[test]
fn settings_that_stress_the_protocol_keep_it_safe() {
    // Bids that do not reserve (awards past capacity are refused), no early
    // award, failing tasks, capabilities with the directory filter, a
    // fanout, slow storage behind persist, one-slot contractors.
    for extra in [
        "reserve = false\nearly_award = false\nfailure_ratio = 0.1",
        "capabilities = 4\ncaps_per_contractor = 2\ntask_caps = 2",
        "filter = \"none\"\nfanout = 3\ncontractor_capacity = 1",
    ] {
        for strategy in ["contract-net", "least-loaded"] {
            let mut sc = hostile(strategy, extra);
            sc.storage.delay = Some("1ms..20ms".parse().unwrap());
            let s = check_seeds(&sc, 0..200, None).unwrap();
            assert_clean(&format!("{strategy} with {extra}"), &s, 200);
        }
    }
}

#[test]
fn a_fixed_schedule_with_fixed_or_pareto_sizes_is_safe_and_live() {
    // The workload's other shapes: tasks every 50 ms instead of Poisson,
    // sizes fixed or Pareto (heavy tail) instead of exponential.
    for size in ["fixed", "pareto"] {
        let mut sc = hostile("contract-net", &format!("size = \"{size}\""));
        sc.workload.arrivals = "every:50ms".parse().unwrap();
        let s = check_seeds(&sc, 0..100, None).unwrap();
        assert_clean(size, &s, 100);
    }
}

#[test]
fn leases_allow_for_drift_up_to_their_bound_and_no_further() {
    // Long partitions: contractors cut off keep working while their managers
    // re-announce. Clocks drift up to 30% (a slow contractor holds longer,
    // a fast manager gives up sooner).
    let base = |bound: u32| {
        let mut sc = hostile("contract-net", &format!("drift_bound_ppm = {bound}"));
        sc.faults.crash_mttf = None;
        sc.faults.partition_mtbf = Some("500ms".parse().unwrap());
        sc.faults.partition_mttr = "1.5s".parse().unwrap();
        sc.faults.drift_ppm_max = 300_000;
        sc
    };
    let s = check_seeds(&base(300_000), 0..1000, None).unwrap();
    assert!(!s.safety_failed(), "{:#?}", s.failures);
    // The same runs with leases sized for 0.1% drift: two holders at once.
    let s = check_seeds(&base(1000), 0..1000, None).unwrap();
    let f = s
        .failures
        .iter()
        .find(|f| f.property == "single lease holder")
        .expect("leases sized for less drift than the clocks have must fail somewhere");
    assert!(f.runs >= 5, "{f:?}");
}

/// The faults of the README's `check` example.
const FAULTS: [&str; 22] = [
    "--nodes",
    "8",
    "--managers",
    "2",
    "--arrivals",
    "poisson:rate=20",
    "--submissions",
    "100",
    "--time-max",
    "60s",
    "--liveness-bound",
    "20s",
    "--loss",
    "0.1",
    "--dup",
    "0.05",
    "--crash-mttf",
    "1s",
    "--crash-mttr",
    "200ms",
    "--partition-mtbf",
    "1s",
];

/// Runs `check` with the faults and `variant`, expects `property` to fail
/// first on a seed below 20 and on many seeds, re-runs the printed command
/// and expects the same violation.
fn caught_and_reproduced(variant: &str, property: &str, runs_min: u64) {
    let mut args = vec!["check", "contract-net", "--seeds", "0..200", "--jobs", "2"];
    args.extend(FAULTS);
    args.extend(["--variant", variant]);
    let out = agentsim(&args);
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{text}{}", stderr(&out));
    let fail = text
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("FAIL  {property}")))
        .unwrap_or_else(|| panic!("{variant}: no {property} failure in:\n{text}"));
    let runs: u64 = fail
        .split(": ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{fail}"));
    assert!(runs >= runs_min, "{variant}: {fail}");
    let seed: u64 = fail
        .split("first seed ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{fail}"));
    assert!(seed < 20, "{variant}: {fail}");
    let cmd = text
        .lines()
        .skip_while(|l| !l.contains(&format!("FAIL  {property}")))
        .find_map(|l| l.trim().strip_prefix("reproduce: "))
        .unwrap_or_else(|| panic!("no reproduce line in:\n{text}"));
    let words: Vec<&str> = cmd.split_whitespace().collect();
    assert_eq!(words[0], "agentsim");
    let rerun = agentsim(&words[1..]);
    let again = stdout(&rerun);
    assert_eq!(
        rerun.status.code(),
        Some(3),
        "`{cmd}` did not reproduce:\n{again}"
    );
    assert!(again.starts_with(&format!("seed {seed}\n")), "{again}");
    let detail = fail.splitn(3, ": ").nth(2).unwrap();
    assert!(
        again.contains(&format!("VIOLATION {property}")) && again.contains(detail),
        "'{detail}' missing from:\n{again}"
    );
}

#[test]
fn a_manager_that_awards_twice_is_caught_and_reproduced() {
    caught_and_reproduced("double-award", "single lease holder", 150);
}

#[test]
fn a_contractor_past_its_capacity_is_caught_and_reproduced() {
    caught_and_reproduced("over-capacity", "capacity respected", 100);
}

#[test]
fn the_oracle_with_a_central_queue_matches_m_m_c() {
    // The assumptions of M/M/c: Poisson arrivals (10/s), exponential sizes,
    // 10 contractors of speed 1, one FIFO queue (contractors of capacity 1
    // behind the oracle's queue), no refusals. Network: 0.1 ms each way,
    // negligible against task sizes of 500 and 800 ms.
    for rho in [0.5, 0.8] {
        let sc = scenario(&format!(
            r#"
nodes = 11
time_max = "100000s"
liveness_bound = "100000s"
events_max = 100000000
[net]
latency = "0.1ms"
[workload]
arrivals = "poisson:rate=10"
count = 2000
target = "node:0"
[protocol]
name = "contract-net"
strategy = "oracle"
contractor_capacity = 1
size = "exp"
size_mean = {rho}
"#
        ));
        let means: Vec<f64> = (0..24)
            .map(|seed| {
                let r = run_silent(&Scenario { seed, ..sc.clone() });
                assert!(r
                    .violations
                    .iter()
                    .all(|v| v.kind == agentsim::observe::PropertyKind::Sometimes));
                r.metrics.get("completion_ms").copied().unwrap()
            })
            .collect();
        let n = means.len() as f64;
        let mean = means.iter().sum::<f64>() / n;
        let sd = (means.iter().map(|m| (m - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        let se = sd / n.sqrt();
        let reference = mmc::mean_sojourn(10, 10.0, rho) * 1000.0;
        assert!(
            (mean - reference).abs() < 4.0 * se,
            "ρ = {rho}: mean completion {mean:.1} ms over {n} seeds (se {se:.1}) against M/M/10 {reference:.1} ms"
        );
    }
}

#[test]
fn bidding_beats_a_count_based_dispatcher_when_sizes_and_speeds_differ() {
    // Contract net's bid is the expected completion time (it knows the task's
    // size and its own speed and queue); least-loaded knows only counts.
    let sc = |strategy: &str| {
        scenario(&format!(
            r#"
nodes = 11
time_max = "100000s"
liveness_bound = "100000s"
[net]
latency = "1ms..5ms"
[workload]
arrivals = "poisson:rate=10"
count = 1000
target = "node:0"
[protocol]
name = "contract-net"
strategy = "{strategy}"
speeds = [0.5, 1.5]
size_mean = 0.8
"#
        ))
    };
    let mean = |strategy: &str| {
        let s = sc(strategy);
        (0..10)
            .map(|seed| {
                run_silent(&Scenario { seed, ..s.clone() })
                    .metrics
                    .get("completion_ms")
                    .copied()
                    .unwrap()
            })
            .sum::<f64>()
            / 10.0
    };
    let (bid, ll) = (mean("contract-net"), mean("least-loaded"));
    assert!(
        bid < 0.8 * ll,
        "contract net {bid:.0} ms, least-loaded {ll:.0} ms"
    );
}

#[test]
fn messages_per_call_grow_with_the_contractors_called() {
    // Every call reaches every contractor: cfp + answer + accept or reject,
    // three messages per contractor and task; the directory filter divides
    // that by the number of capability kinds, a fanout caps it.
    let run = |nodes: u32, extra: &str| {
        let sc = scenario(&format!(
            r#"
nodes = {nodes}
time_max = "1000s"
liveness_bound = "1000s"
[workload]
arrivals = "poisson:rate=5"
count = 200
target = "node:0"
[protocol]
name = "contract-net"
size_mean = 0.1
{extra}
"#
        ));
        run_silent(&Scenario { seed: 3, ..sc })
            .metrics
            .get("calls_per_task")
            .copied()
            .unwrap()
    };
    assert_eq!(run(101, ""), 100.0);
    let filtered = run(101, "capabilities = 4\ntask_caps = 1");
    assert_eq!(filtered, 25.0);
    assert_eq!(run(101, "fanout = 8"), 8.0);
}

#[test]
fn same_seed_same_run_and_replay_agrees() {
    let sc = hostile("contract-net", "");
    let a = run_silent(&Scenario {
        seed: 11,
        ..sc.clone()
    });
    let b = run_silent(&Scenario {
        seed: 11,
        ..sc.clone()
    });
    let c = run_silent(&Scenario { seed: 12, ..sc });
    assert_eq!(
        a.hash, b.hash,
        "a HashMap iterated, or the wall clock read?"
    );
    assert_ne!(a.hash, c.hash);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cnet.jsonl");
    let p = path.to_str().unwrap();
    let out = agentsim(&[
        "run",
        "contract-net",
        "--arrivals",
        "poisson:rate=20",
        "--submissions",
        "50",
        "--managers",
        "2",
        "--nodes",
        "7",
        "--loss",
        "0.1",
        "--crash-mttf",
        "1s",
        "--seed",
        "4",
        "--trace",
        p,
        "--trace-level",
        "full",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = agentsim(&["replay", p]);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(stdout(&out).starts_with("identical"), "{}", stdout(&out));
}

#[test]
fn pinned_run_hash() {
    // A change that moves this hash changes contract-net runs: say so in the
    // commit message.
    let r = run_silent(&Scenario {
        seed: 7,
        ..hostile("contract-net", "")
    });
    crate::common::assert_golden("contract-net", &[r.hash], (GOLDEN_MODEL, &GOLDEN));
}

/// The model version the pin below was recorded under.
const GOLDEN_MODEL: u32 = 3;
/// The hash of `hostile("contract-net", "")` at seed 7.
const GOLDEN: [&str; 1] = ["7e5d83c7b15ef74e"];

#[test]
fn bad_settings_exit_2_naming_the_field() {
    for (args, field) in [
        (
            vec!["--contractor-capacity", "0"],
            "contract-net.contractor_capacity",
        ),
        (vec!["--managers", "5"], "contract-net.managers"),
        (vec!["--lease", "100ms"], "contract-net.lease"),
        (vec!["--strategy", "bogus"], "contract-net.strategy"),
        (vec!["--speeds", "1,x"], "contract-net.speeds"),
    ] {
        let mut a = vec!["run", "contract-net"];
        a.extend(args);
        let out = agentsim(&a);
        assert_eq!(out.status.code(), Some(2), "{a:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(field), "{a:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }
}

#[test]
fn the_load_experiment_draws_m_m_c_as_computed() {
    // The reference points of experiments/contract-net-load.toml are M/M/10
    // with λ = 10/s and mean size ρ seconds, in ms (two decimals).
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/experiments/contract-net-load.toml"
    );
    let text = std::fs::read_to_string(path).unwrap();
    let exp: toml::Table = text.parse().unwrap();
    let mut checked = 0;
    for plot in exp["plot"].as_array().unwrap() {
        for r in plot
            .get("reference")
            .and_then(|r| r.as_array())
            .into_iter()
            .flatten()
        {
            assert!(r["label"].as_str().unwrap().contains("M/M/10"));
            for p in r["points"].as_array().unwrap() {
                let (rho, y) = (p[0].as_float().unwrap(), p[1].as_float().unwrap());
                let want = mmc::mean_sojourn(10, 10.0, rho) * 1000.0;
                assert!(
                    (y - want).abs() < 0.01,
                    "ρ = {rho}: {y} in the file, {want:.3} computed"
                );
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 14);
}
