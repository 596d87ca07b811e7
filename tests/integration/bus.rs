//! Message bus: every guarantee checked under faults over many seeds (loss,
//! duplication, crashes of brokers and clients, partitions, storage
//! delays), each broken variant caught by `check` with its printed
//! reproduction re-run, and the issue's questions answered within a
//! statistical tolerance of the closed forms that follow from independent
//! loss.

use crate::common::{agentsim, scenario, stderr, stdout};
use agentsim::engine::StopReason;
use agentsim::observe::PropertyKind;
use agentsim::protocols::bus::monitor::{
    DELIVERED, FIFO_ORDER, NO_DUPLICATES, NO_INVENTION, REQUEST_TIMED_OUT, RETRIES, RETRY_SUCCEEDED,
};
use agentsim::run::check::{check_seeds, CheckSummary};
use agentsim::run::run_silent;
use agentsim::scenario::Scenario;

/// [`crate::variants::BUS`]: eight nodes (brokers first), a mixed workload
/// of 150 submissions in the first 1.5 s; loss, duplication, reordering,
/// random crashes of every node (brokers included) and random partitions
/// until everything heals at 2 s.
fn hostile(protocol: &str) -> Scenario {
    let mix = if protocol.contains("mix =") {
        ""
    } else {
        "mix = \"publish=6,request=1,direct=1,broadcast=1,churn=1\""
    };
    // The shared fixture (the one the shrink tests use) ends with its
    // `[protocol]` table, so the mix and the case's settings go after it.
    scenario(&format!("{}{mix}\n{protocol}\n", crate::variants::BUS))
}

/// A metric the run reported.
fn metric(r: &agentsim::engine::RunReport, name: &str) -> f64 {
    *r.metrics
        .get(name)
        .unwrap_or_else(|| panic!("{name} not reported"))
}

/// No property but the `sometimes` ones failed.
fn assert_clean(s: &CheckSummary, what: &str) {
    let bad: Vec<_> = s
        .failures
        .iter()
        .filter(|f| f.kind != PropertyKind::Sometimes)
        .collect();
    assert!(
        bad.is_empty(),
        "{what}: {bad:#?} (reproduce: agentsim run bus --scenario ... --seed {})",
        bad.first().map_or(0, |f| f.first_seed)
    );
    assert!(s.undecided.is_empty(), "{what}: {:?}", s.undecided);
}

#[test]
fn every_guarantee_holds_under_loss_dup_crashes_and_partitions() {
    for (what, extra) in [
        ("at-most-once", "guarantee = \"at-most-once\""),
        ("at-least-once", "guarantee = \"at-least-once\""),
        ("exactly-once", "guarantee = \"exactly-once\""),
        (
            "per-topic and per-message",
            "guarantee = \"at-most-once\"\ntopic_guarantees = [\"1=at-least-once\", \"2=exactly-once\"]\noverride_ratio = 0.2",
        ),
        ("two brokers", "brokers = 2\nguarantee = \"exactly-once\""),
        (
            "fifo",
            "fifo = true\nguarantee = \"exactly-once\"\ntopic_guarantees = [\"0=at-most-once\"]",
        ),
    ] {
        let s = check_seeds(&hostile(extra), 0..300, None).unwrap();
        assert_eq!(s.runs, 300);
        assert_clean(&s, what);
        assert_eq!(s.stops.get("done"), Some(&300), "{what}: {:?}", s.stops);
    }
}

#[test]
fn pattern_subscriptions_hold_every_guarantee_under_faults() {
    // Topics a/b (a, b < 2); clients churn patterns 1/+, +/0 and # (70%
    // of churn) and single topics, at run time, under the same faults.
    let with = |ratio: f64, extra: &str| {
        hostile(&format!(
            "topic_levels = [2, 2]\npatterns = [\"1/+\", \"+/0\", \"#\"]\npattern_ratio = {ratio}\nmix = \"publish=6,request=1,direct=1,broadcast=1,churn=3\"\n{extra}"
        ))
    };
    for (what, extra) in [
        ("exactly-once", "guarantee = \"exactly-once\""),
        ("at-most-once", "guarantee = \"at-most-once\""),
        ("two brokers", "brokers = 2\nguarantee = \"at-least-once\""),
    ] {
        let sc = with(0.7, extra);
        let s = check_seeds(&sc, 0..300, None).unwrap();
        assert_eq!(s.runs, 300);
        assert_clean(&s, what);
        // Patterns did something: subscriptions changed at run time, and
        // more was delivered than without them (the same submissions
        // drawn; churn then toggles single topics only).
        let single = with(0.0, extra);
        let (mut changes, mut patterned, mut plain) = (0.0, 0.0, 0.0);
        for seed in 0..20 {
            let r = run_silent(&Scenario { seed, ..sc.clone() });
            changes += metric(&r, "subscription_changes");
            patterned += metric(&r, "deliveries");
            let r = run_silent(&Scenario {
                seed,
                ..single.clone()
            });
            plain += metric(&r, "deliveries");
        }
        assert!(
            changes > 100.0,
            "{what}: {changes} subscription changes in 20 runs"
        );
        assert!(
            patterned > 1.1 * plain,
            "{what}: {patterned} deliveries with patterns, {plain} without"
        );
    }
}

#[test]
fn peer_mode_holds_every_guarantee_under_faults() {
    let extra = "brokers = 0\nguarantee = \"exactly-once\"\noverride_ratio = 0.5\noverride_guarantee = \"at-most-once\"\nmix = \"publish=6,request=1,direct=1,broadcast=1\"";
    let s = check_seeds(&hostile(extra), 0..300, None).unwrap();
    assert_clean(&s, "peer mode");
}

#[test]
fn exactly_once_holds_when_brokers_crash_during_storage_writes() {
    // Every write takes 1-10 ms: a crash during one loses it, and the
    // facts of its callback are taken back; no duplicate, no loss.
    let mut sc = hostile("guarantee = \"exactly-once\"\nfifo = true");
    sc.storage.delay = Some("1ms..10ms".parse().unwrap());
    let s = check_seeds(&sc, 0..300, None).unwrap();
    assert_clean(&s, "storage delay");
    // And the faults did something: writes were lost to crashes.
    let lost: u64 = (0..50)
        .map(|seed| {
            run_silent(&Scenario { seed, ..sc.clone() })
                .counts
                .writes_lost
        })
        .sum();
    assert!(lost >= 10, "{lost} writes lost to crashes in 50 runs");
}

#[test]
fn sometimes_a_retry_succeeds_and_a_request_times_out() {
    let sc = hostile("guarantee = \"at-least-once\"\nmix = \"publish=1,request=1\"");
    let mut retried = 0;
    let mut timed_out = 0;
    for seed in 0..20 {
        let r = run_silent(&Scenario { seed, ..sc.clone() });
        let missed = |p: &str| r.violations.iter().any(|v| v.property == p);
        retried += !missed(RETRY_SUCCEEDED) as u32;
        timed_out += !missed(REQUEST_TIMED_OUT) as u32;
        assert!(metric(&r, "request_timeouts") > 0.0 || missed(REQUEST_TIMED_OUT));
    }
    assert!(retried >= 19 && timed_out >= 19, "{retried} {timed_out}");
    // With no fault and a generous timeout, the checker says the case
    // was not exercised.
    let mut calm = sc.clone();
    calm.net.loss_ratio = 0.0;
    calm.net.dup_ratio = 0.0;
    calm.faults = Default::default();
    let r = run_silent(&calm);
    assert!(r
        .violations
        .iter()
        .any(|v| v.property == RETRY_SUCCEEDED && v.kind == PropertyKind::Sometimes));
}

/// The first seed of `seeds` where `property` fails under `extra`, and in how many runs.
fn caught(
    extra: &str,
    seeds: std::ops::Range<u64>,
    property: &str,
    sc: Option<Scenario>,
) -> (u64, u64) {
    let sc = sc.unwrap_or_else(|| hostile(extra));
    let s = check_seeds(&sc, seeds.clone(), None).unwrap();
    let f = s
        .failures
        .iter()
        .find(|f| f.property == property)
        .unwrap_or_else(|| panic!("{extra}: {property} never violated in {seeds:?}: {s:#?}"));
    (f.first_seed, f.runs)
}

#[test]
fn forget_dedup_variant_is_caught_by_no_duplicates() {
    let (seed, runs) = caught(
        "guarantee = \"exactly-once\"\nvariant = \"forget-dedup\"",
        0..50,
        NO_DUPLICATES,
        None,
    );
    assert!(seed < 5 && runs >= 25, "seed {seed}, {runs} runs");
}

#[test]
fn ack_before_store_variant_is_caught_as_a_loss_when_the_broker_crashes() {
    let mut sc = hostile("guarantee = \"at-least-once\"\nvariant = \"ack-before-store\"");
    sc.storage.delay = Some("5ms..20ms".parse().unwrap());
    let (_, runs) = caught("ack-before-store", 0..100, DELIVERED, Some(sc.clone()));
    assert!(runs >= 3, "{runs} runs");
    // The correct bus under the same faults loses nothing.
    let mut ok = sc;
    ok.protocol = hostile("guarantee = \"at-least-once\"").protocol;
    let s = check_seeds(&ok, 0..100, None).unwrap();
    assert_clean(&s, "correct with storage delay");
}

#[test]
fn no_backoff_variant_is_caught_by_the_attempts_property() {
    let (seed, runs) = caught(
        "guarantee = \"at-least-once\"\nvariant = \"no-backoff\"",
        0..20,
        RETRIES,
        None,
    );
    assert!(seed < 3 && runs >= 15, "seed {seed}, {runs} runs");
    // It is caught at a third attempt: the second retry waits the base
    // (50 ms) where the schedule asks for at least 80 ms. (Its traffic:
    // see the step test `no_backoff_sends_its_attempts_in_a_burst`; a run
    // stops at its first violation, so a run cannot show more of it.)
    let r = run_silent(&Scenario {
        seed,
        ..hostile("guarantee = \"at-least-once\"\nvariant = \"no-backoff\"")
    });
    let v = r.violations.iter().find(|v| v.property == RETRIES).unwrap();
    assert!(
        v.detail.contains("attempt 3") && v.detail.contains("came 50ms after attempt 2"),
        "{}",
        v.detail
    );
}

#[test]
fn a_dedup_window_lost_in_crashes_breaks_exactly_once_and_a_durable_one_does_not() {
    // Receivers crash often; the network duplicates nothing, so every
    // duplicate is a retry after a receiver lost its window.
    let base = |durable: bool| {
        let mut sc = hostile(&format!(
            "guarantee = \"exactly-once\"\ndedup_durable = {durable}\nmix = \"publish=1\""
        ));
        sc.net.dup_ratio = 0.0;
        sc.net.loss_ratio = 0.2;
        sc.faults.crash_mttf = Some("500ms".parse().unwrap());
        sc
    };
    let (_, runs) = caught(
        "dedup_durable = false",
        0..100,
        NO_DUPLICATES,
        Some(base(false)),
    );
    assert!(runs >= 10, "{runs} of 100 runs");
    let s = check_seeds(&base(true), 0..100, None).unwrap();
    assert_clean(&s, "durable window");
}

#[test]
fn a_dedup_window_shorter_than_the_retry_horizon_breaks_exactly_once() {
    // No crash: 20% loss, so retries come up to a few seconds after the
    // first copy; a receiver gets about 60 messages. A window of 16 ids
    // forgets a delivered id before its last retry comes; 1024 does not.
    let sc = |window: u32| {
        let mut sc = hostile(&format!(
            "guarantee = \"exactly-once\"\ndedup_window = {window}\nmix = \"publish=1\""
        ));
        sc.net.dup_ratio = 0.0;
        sc.net.loss_ratio = 0.2;
        sc.faults = Default::default();
        sc
    };
    let (_, runs) = caught("dedup_window = 16", 0..50, NO_DUPLICATES, Some(sc(16)));
    assert!(runs >= 40, "{runs} of 50 runs");
    let s = check_seeds(&sc(1024), 0..50, None).unwrap();
    assert_clean(&s, "window of 1024");
}

/// Runs `seeds` of `sc` and returns the mean of `metric` over them.
fn mean(sc: &Scenario, seeds: std::ops::Range<u64>, name: &str) -> f64 {
    let n = seeds.end - seeds.start;
    seeds
        .map(|seed| metric(&run_silent(&Scenario { seed, ..sc.clone() }), name))
        .sum::<f64>()
        / n as f64
}

/// One broker, 8 clients, 10% independent loss on every link, nothing
/// else; 400 publications to 4 subscribers each.
fn lossy(extra: &str) -> Scenario {
    scenario(&format!(
        r#"
nodes = 9
time_max = "60s"
liveness_bound = "30s"
[net]
latency = "1ms..5ms"
loss_ratio = 0.1
[workload]
arrivals = "poisson:rate=200"
count = 400
[protocol]
name = "bus"
topics = 4
subscribers_per_topic = 4
{extra}
"#
    ))
}

#[test]
fn at_most_once_loses_what_two_lossy_links_lose() {
    // A message crosses publisher → broker and broker → subscriber: it
    // arrives with probability (1 − p)² = 0.81 at p = 0.1. 20 runs of
    // 1,600 pairs: the mean's standard error is about 0.002.
    let sc = lossy("guarantee = \"at-most-once\"");
    let ratio = mean(&sc, 0..20, "delivery_ratio_at_most_once");
    assert!((ratio - 0.81).abs() < 0.015, "delivery ratio {ratio}");
    let dups = mean(&sc, 0..20, "duplicates_at_most_once");
    assert_eq!(dups, 0.0);
}

#[test]
fn at_least_once_duplicates_match_lost_acks() {
    // Broker → subscriber, p = 0.1, m = 5 attempts: an attempt ends the
    // retries when both the copy and its ack arrive (q² with q = 1 − p);
    // each attempt delivers with probability q. Copies per pair:
    // (1 − (1 − q²)^m) / q; delivered at least once: 1 − p^m; the
    // difference is the duplicates per pair (0.1108). The publisher's hop
    // adds none (the broker answers a retry of a stored message with an ack).
    let (p, m) = (0.1f64, 5i32);
    let q = 1.0 - p;
    let expected = (1.0 - (1.0 - q * q).powi(m)) / q - (1.0 - p.powi(m));
    let sc = lossy("guarantee = \"at-least-once\"");
    let dups = mean(&sc, 0..20, "duplicates_at_least_once");
    assert!(
        (dups - expected).abs() < 0.012,
        "duplicates {dups}, expected {expected}"
    );
    let ratio = mean(&sc, 0..20, "delivery_ratio_at_least_once");
    // Both hops must succeed within m attempts: (1 − p^m)².
    assert!(ratio > 0.999, "delivery ratio {ratio}");
    let sc = lossy("guarantee = \"exactly-once\"");
    assert_eq!(mean(&sc, 0..20, "duplicates_exactly_once"), 0.0);
    assert!(mean(&sc, 0..20, "delivery_ratio_exactly_once") > 0.999);
}

#[test]
fn requests_time_out_as_often_as_a_round_trip_exceeds_the_timeout() {
    // At-most-once requests over four lossy links (request and reply, each
    // through the broker): answered with probability (1 − p)^4 = 0.6561.
    let sc =
        lossy("guarantee = \"at-most-once\"\nmix = \"request=1\"\nrequest_timeout = \"100ms\"");
    let timeouts = mean(&sc, 0..20, "request_timeouts");
    let requests = mean(&sc, 0..20, "requests");
    let ratio = timeouts / requests;
    assert!(
        (ratio - (1.0 - 0.9f64.powi(4))).abs() < 0.02,
        "timed out {ratio}"
    );
    // At-least-once with a timeout shorter than the first retry: a late
    // reply comes for most timed-out requests.
    let sc =
        lossy("guarantee = \"at-least-once\"\nmix = \"request=1\"\nrequest_timeout = \"30ms\"");
    let late = mean(&sc, 0..10, "late_replies");
    assert!(late > 0.0);
}

#[test]
fn broker_queue_fills_and_drops_when_offered_more_than_it_serves() {
    // 1 ms per delivery at the broker, 4 recipients per publication:
    // 250 publications per second saturate it.
    let sc = |rate: u32, policy: &str| {
        let mut sc = lossy(&format!(
            "guarantee = \"at-most-once\"\nservice_time = \"1ms\"\nqueue_capacity = 50\nqueue_policy = \"{policy}\""
        ));
        sc.net.loss_ratio = 0.0;
        sc.workload.arrivals = format!("poisson:rate={rate}").parse().unwrap();
        sc
    };
    let r = run_silent(&sc(100, "drop-newest"));
    assert_eq!(metric(&r, "queue_dropped"), 0.0, "{:?}", r.metrics);
    let r = run_silent(&sc(500, "drop-newest"));
    assert!(metric(&r, "queue_dropped") > 0.0);
    assert_eq!(metric(&r, "queue_len_max"), 50.0);
    let r = run_silent(&sc(500, "refuse"));
    assert!(metric(&r, "refused") > 0.0);
    assert!(metric(&r, "queue_len_max") <= 50.0);
}

#[test]
fn same_seed_same_hash_and_a_run_stops_when_done() {
    let sc = hostile("guarantee = \"exactly-once\"\nfifo = true");
    let a = run_silent(&sc);
    let b = run_silent(&sc);
    assert_eq!(a.hash, b.hash);
    assert_eq!(a.stop, StopReason::Done);
    let c = run_silent(&Scenario { seed: 1, ..sc });
    assert_ne!(a.hash, c.hash);
}

#[test]
fn no_invention_and_fifo_are_judged() {
    // The properties exist and are judged in every run: none is violated
    // by the correct bus with FIFO on.
    let r = run_silent(&hostile("fifo = true\nguarantee = \"exactly-once\""));
    for p in [NO_INVENTION, FIFO_ORDER, NO_DUPLICATES, RETRIES, DELIVERED] {
        assert!(
            !r.violations.iter().any(|v| v.property == p),
            "{p}: {:?}",
            r.violations
        );
    }
}

/// The faults `check` runs with in these tests, as flags.
const FAULTS: [&str; 16] = [
    "--nodes",
    "8",
    "--loss",
    "0.1",
    "--dup",
    "0.05",
    "--crash-mttf",
    "1500ms",
    "--crash-mttr",
    "200ms",
    "--partition-mtbf",
    "1s",
    "--arrivals",
    "poisson:rate=100",
    "--submissions",
    "150",
];

/// Runs `check` with `args`, expects `property` to fail, re-runs the
/// printed reproduction command word for word and expects the same
/// violation on the same seed (exit `code`: 3 safety, 4 liveness).
fn printed_command_reproduces(args: &[&str], property: &str, code: i32) {
    let out = agentsim(args);
    let text = stdout(&out);
    assert_eq!(
        out.status.code(),
        Some(code),
        "{args:?}:\n{text}{}",
        stderr(&out)
    );
    let fail = text
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("FAIL  {property}")))
        .unwrap_or_else(|| panic!("no {property} failure in:\n{text}"));
    let seed: u64 = fail
        .split("first seed ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("no first seed in {fail}"));
    let cmd = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("reproduce: "))
        .find(|c| c.contains(&format!("--seed {seed}")))
        .unwrap_or_else(|| panic!("no reproduce line for seed {seed} in:\n{text}"));
    let words: Vec<&str> = cmd.split_whitespace().collect();
    assert_eq!(words[0], "agentsim");
    let rerun = agentsim(&words[1..]);
    let again = stdout(&rerun);
    assert_eq!(
        rerun.status.code(),
        Some(code),
        "`{cmd}` did not reproduce the failure:\n{again}{}",
        stderr(&rerun)
    );
    assert!(
        again.contains(&format!("VIOLATION {property}")),
        "`{cmd}`: no {property} violation in:\n{again}"
    );
}

#[test]
fn printed_reproductions_of_each_variant_reproduce_it() {
    let mut args = vec!["check", "bus", "--seeds", "0..20", "--jobs", "2"];
    args.extend(FAULTS);
    let mut a = args.clone();
    a.extend(["--guarantee", "exactly-once", "--variant", "forget-dedup"]);
    printed_command_reproduces(&a, NO_DUPLICATES, 3);
    let mut a = args.clone();
    a.extend(["--guarantee", "at-least-once", "--variant", "no-backoff"]);
    printed_command_reproduces(&a, RETRIES, 3);
    let mut a = args.clone();
    a[3] = "0..100";
    a.extend([
        "--guarantee",
        "at-least-once",
        "--variant",
        "ack-before-store",
        "--storage-delay",
        "5ms..20ms",
    ]);
    // A loss, judged after the heal: liveness (exit code 4).
    printed_command_reproduces(&a, DELIVERED, 4);
}

#[test]
fn slow_consumers_fill_the_broker_queue_behind_their_prefetch() {
    // Acked deliveries, at most one unacknowledged per subscriber: two
    // clients that take 20 ms per delivery (50 per second) fall behind a
    // topic stream of about 100 per second, and their deliveries wait in
    // the broker's queue; with fast consumers only the deliveries behind
    // an ack round trip wait (20 at most here).
    let sc = |slow: u32| {
        let mut sc = lossy(&format!(
            "guarantee = \"at-least-once\"\nprefetch = 1\nslow_consumers = {slow}\nslow_consume_time = \"20ms\""
        ));
        sc.net.loss_ratio = 0.0;
        sc
    };
    let fast = run_silent(&sc(0));
    let slow = run_silent(&sc(2));
    assert!(
        metric(&slow, "queue_len_max") > 5.0 * metric(&fast, "queue_len_max"),
        "{:?}",
        slow.metrics
    );
    assert!(metric(&slow, "latency_ms_p99") > 10.0 * metric(&fast, "latency_ms_p99"));
    // Everything is still delivered, once.
    assert_eq!(metric(&slow, "delivery_ratio"), 1.0);
    assert_eq!(metric(&slow, "unresolved"), 0.0);
}

#[test]
fn golden_hashes() {
    // The same runs as `agentsim run bus` with the README's check flags,
    // exactly-once with FIFO, seeds 0..3.
    let sc = hostile("guarantee = \"exactly-once\"\nfifo = true");
    let got: Vec<String> = (0..3)
        .map(|seed| run_silent(&Scenario { seed, ..sc.clone() }).hash)
        .collect();
    crate::common::assert_golden("bus", &got, (GOLDEN_MODEL, &GOLDEN));
}

/// The model version the pins below were recorded under.
const GOLDEN_MODEL: u32 = 3;
const GOLDEN: [&str; 3] = ["f3c2c9a886b185e4", "0a585ab91ec6d5b6", "d1b5d169805a64aa"];

#[test]
fn check_with_pattern_flags_holds_and_bad_patterns_are_refused() {
    let mut args = vec!["check", "bus", "--seeds", "0..50", "--jobs", "2"];
    args.extend(FAULTS);
    args.extend([
        "--guarantee",
        "exactly-once",
        "--topic-levels",
        "2,2",
        "--pattern",
        "1/+",
        "--pattern",
        "#",
        "--pattern-ratio",
        "0.7",
        "--mix",
        "publish=6,churn=3",
    ]);
    let out = agentsim(&args);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    // Bad input: one line naming the field and what it accepts, exit 2.
    for (bad, field) in [
        (["--pattern", "1/x"], "bus.patterns"),
        (["--pattern", "2/+"], "bus.patterns[0]"),
        (["--topic-levels", "3,2"], "bus.topic_levels"),
        (["--pattern-ratio", "1.5"], "bus.pattern_ratio"),
    ] {
        let mut a = vec!["run", "bus", "--nodes", "8", "--topic-levels", "2,2"];
        if bad[0] == "--topic-levels" {
            a.truncate(4);
        }
        a.extend(bad);
        let out = agentsim(&a);
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{a:?}: {err}");
        assert!(
            err.contains(field) && err.contains("accepted"),
            "{a:?}: {err}"
        );
    }
}
