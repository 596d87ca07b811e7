//! PBFT under faults and Byzantine replicas: total order and reply
//! correctness over many seeds for every behaviour with f < n/3, liveness
//! after the heal (a view change replaces a silent or equivocating
//! primary); the bound shown sharp; each broken variant caught with a
//! reproducing command.

use crate::bracha::printed_command_reproduces;
use crate::common::scenario;
use agentsim::observe::PropertyKind;
use agentsim::run::check::{check_seeds, CheckSummary};
use agentsim::scenario::Scenario;

const BEHAVIOURS: [&str; 7] = [
    "silent",
    "equivocate",
    "flip",
    "forge",
    "delay",
    "selective",
    "split",
];

/// A request every 20ms (20 of them) at random replicas; loss, duplication,
/// reordering, random partitions and crashes, healed at 3s.
fn hostile(nodes: u32, byz: &str, extra: &str) -> Scenario {
    scenario(&format!(
        r#"
nodes = {nodes}
time_max = "15s"
liveness_bound = "8s"
[net]
latency = "1ms..5ms"
loss_ratio = 0.1
dup_ratio = 0.05
[faults]
crash_mttf = "1s"
crash_mttr = "200ms"
partition_mtbf = "1s"
heal_at = "3s"
[workload]
arrivals = "every:20ms"
count = 20
[adversary]
{byz}
[protocol]
name = "pbft"
{extra}
"#
    ))
}

fn broken(s: &CheckSummary) -> Vec<String> {
    s.failures
        .iter()
        .filter(|f| f.kind != PropertyKind::Sometimes)
        .map(|f| {
            format!(
                "{}: {} runs, seed {}: {}",
                f.property, f.runs, f.first_seed, f.first_detail
            )
        })
        .collect()
}

fn runs_failing(s: &CheckSummary, property: &str) -> u64 {
    s.failures
        .iter()
        .find(|f| f.property == property)
        .map_or(0, |f| f.runs)
}

#[test]
fn safety_and_liveness_with_f_below_n_over_3_for_every_behaviour_under_faults() {
    // Castro & Liskov §4.5: safety with at most f = ⌊(n−1)/3⌋ faulty
    // replicas; liveness once the network heals. f replicas drawn from the
    // fault stream (the primary among them on some seeds).
    for (n, f) in [(4, 1), (7, 2)] {
        for b in BEHAVIOURS {
            let sc = hostile(n, &format!("count = {f}\nbehaviour = \"{b}\""), "");
            let s = check_seeds(&sc, 0..200, None).unwrap();
            assert_eq!(s.runs, 200);
            assert!(broken(&s).is_empty(), "n={n} f={f} {b}: {:#?}", broken(&s));
            assert_eq!(s.stops.get("done"), Some(&200), "n={n} {b}: {:?}", s.stops);
        }
    }
}

#[test]
fn a_silent_or_equivocating_primary_is_replaced_by_a_view_change() {
    for b in ["silent", "equivocate", "delay"] {
        let sc = hostile(4, &format!("nodes = [\"0:{b}\"]"), "");
        let s = check_seeds(&sc, 0..200, None).unwrap();
        assert!(broken(&s).is_empty(), "{b}: {:#?}", broken(&s));
        // "view change" (sometimes) is reached on some seed.
        assert!(
            s.failures.iter().all(|f| f.property != "view change"),
            "{b}: {:#?}",
            s.failures
        );
    }
    // Two Byzantine primaries in a row at n = 7 (f = 2).
    let s = check_seeds(
        &hostile(7, "nodes = [\"0,1:equivocate\"]", ""),
        0..200,
        None,
    )
    .unwrap();
    assert!(s.failures.is_empty(), "{:#?}", s.failures);
}

#[test]
fn forgery_succeeds_only_without_signatures() {
    let byz = "count = 1\nbehaviour = \"forge\"";
    let s = check_seeds(&hostile(4, byz, ""), 0..200, None).unwrap();
    assert!(broken(&s).is_empty(), "{:#?}", broken(&s));
    let s = check_seeds(&hostile(4, byz, "signatures = false"), 0..200, None).unwrap();
    assert!(runs_failing(&s, "total order") > 100, "{:#?}", s.failures);
}

#[test]
fn the_bound_is_sharp_f_at_n_over_3_breaks_total_order() {
    // n = 4 with 2 split replicas (the primary one of them).
    let s = check_seeds(&hostile(4, "nodes = [\"0,1:split\"]", ""), 0..200, None).unwrap();
    assert!(runs_failing(&s, "total order") > 150, "{:#?}", s.failures);
    // n = 10 with 3 split replicas, quorums computed for 2: unsafe; for 3: safe.
    let byz = "count = 3\nbehaviour = \"split\"";
    let s = check_seeds(&hostile(10, byz, "assumed_f = 2"), 0..100, None).unwrap();
    assert!(runs_failing(&s, "total order") > 30, "{:#?}", s.failures);
    let s = check_seeds(&hostile(10, byz, ""), 0..100, None).unwrap();
    assert!(broken(&s).is_empty(), "{:#?}", broken(&s));
}

const FAULTS: [&str; 12] = [
    "--loss",
    "0.1",
    "--dup",
    "0.05",
    "--crash-mttf",
    "1s",
    "--partition-mtbf",
    "1s",
    "--arrivals",
    "every:20ms",
    "--submissions",
    "20",
];

#[test]
fn weak_quorum_variant_is_caught_and_reproduced() {
    // f+1 matching votes: an equivocating primary gets two requests
    // committed at one sequence number.
    let mut args = vec![
        "check",
        "pbft",
        "--nodes",
        "4",
        "--byzantine-count",
        "1",
        "--byzantine-behaviour",
        "equivocate",
        "--variant",
        "weak-quorum",
        "--seeds",
        "0..50",
    ];
    args.extend(FAULTS);
    printed_command_reproduces(&args, "total order", 0);
}

#[test]
fn no_certificates_variant_is_caught_and_reproduced() {
    // ViewChanges without prepared certificates: after the primary crashes
    // the new one re-proposes other requests where some committed. No
    // Byzantine replica is needed.
    let mut args = vec![
        "check",
        "pbft",
        "--nodes",
        "4",
        "--fault",
        "crash-leader:300ms@200ms",
        "--variant",
        "no-certificates",
        "--seeds",
        "0..100",
    ];
    args.extend(FAULTS);
    printed_command_reproduces(&args, "total order", 4);
}
