//! Every built-in broken variant, with a fixed fault mix under which
//! `check` catches it: the shrink tests' cases, and the fixed side of the
//! swarm table (`examples/swarm_table.rs` includes this file).

pub const RAFT: &str = r#"
nodes = 5
[net]
latency = "1ms..5ms"
loss_ratio = 0.1
dup_ratio = 0.05
[faults]
crash_mttf = "1s"
crash_mttr = "200ms"
partition_mtbf = "1s"
[protocol]
name = "raft"
"#;

pub const PAXOS: &str = r#"
[net]
latency = "1ms..30ms"
loss_ratio = 0.05
dup_ratio = 0.05
[faults]
crash_mttf = "200ms"
crash_mttr = "2ms"
partition_mtbf = "1s"
[storage]
delay = "1ms..5ms"
[workload]
arrivals = "every:20ms"
count = 150
[protocol]
name = "paxos"
"#;

pub const FAULTS: &str = r#"
[net]
loss_ratio = 0.1
dup_ratio = 0.05
[faults]
crash_mttf = "1s"
partition_mtbf = "1s"
"#;

pub const CONTRACT_NET: &str = r#"
nodes = 8
time_max = "60s"
liveness_bound = "20s"
[net]
loss_ratio = 0.1
dup_ratio = 0.05
[faults]
crash_mttf = "1s"
crash_mttr = "200ms"
partition_mtbf = "1s"
[workload]
arrivals = "poisson:rate=20"
count = 100
[protocol]
name = "contract-net"
managers = 2
"#;

pub const BUS: &str = r#"
nodes = 8
time_max = "30s"
liveness_bound = "12s"
[net]
latency = "1ms..20ms"
loss_ratio = 0.1
dup_ratio = 0.05
[faults]
crash_mttf = "1500ms"
crash_mttr = "200ms"
partition_mtbf = "1s"
partition_mttr = "300ms"
heal_at = "2s"
[workload]
arrivals = "poisson:rate=100"
count = 150
target = "random"
[protocol]
name = "bus"
topics = 4
subscribers_per_topic = 3
"#;

pub const GOSSIP: &str = r#"
nodes = 40
time_max = "40s"
[net]
latency = "2ms..20ms"
loss_ratio = 0.1
dup_ratio = 0.02
[faults]
crash_mttf = "2s"
crash_mttr = "300ms"
partition_mtbf = "1s"
partition_mttr = "400ms"
heal_at = "3s"
[protocol]
name = "gossip"
mode = "anti-entropy"
keys = 6
keys_per_exchange = 3
writers = 3
writes = 4
write_every = "500ms"
"#;

/// Every built-in broken variant with faults under which `check` catches it.
pub fn cases() -> Vec<(&'static str, String)> {
    let with = |base: &str, protocol: &str| format!("{base}{protocol}\n");
    let table =
        |head: &str, faults: &str, protocol: &str| format!("{head}\n{faults}\n{protocol}\n");
    vec![
        ("raft double-vote", with(RAFT, "variant = \"double-vote\"")),
        ("raft forget-voted-for", with(RAFT, "variant = \"forget-voted-for\"")),
        ("paxos forget-promise", with(PAXOS, "variant = \"forget-promise\"")),
        ("paxos ignore-accepted", with(PAXOS, "variant = \"ignore-accepted\"")),
        ("paxos accept-below-promise", with(PAXOS, "variant = \"accept-below-promise\"")),
        (
            "om obey-commander",
            table("nodes = 4\n[adversary]\nnodes = [\"0:equivocate\"]", "", "[protocol]\nname = \"om\"\nvariant = \"obey-commander\""),
        ),
        (
            "threshold-vote count-duplicates",
            table("nodes = 4", "", "[protocol]\nname = \"threshold-vote\"\ninputs = \"split\"\nresend = \"20ms\"\nvariant = \"count-duplicates\""),
        ),
        (
            "bracha low-amplify",
            table("nodes = 4\n[adversary]\ncount = 1\nbehaviour = \"split\"", FAULTS, "[protocol]\nname = \"bracha\"\nvariant = \"low-amplify\""),
        ),
        (
            "bracha low-echo",
            table("nodes = 7\n[adversary]\nnodes = [\"0:equivocate\"]", FAULTS, "[protocol]\nname = \"bracha\"\nvariant = \"low-echo\""),
        ),
        (
            "pbft weak-quorum",
            table(
                "nodes = 4\n[adversary]\ncount = 1\nbehaviour = \"equivocate\"\n[workload]\narrivals = \"every:20ms\"\ncount = 20",
                FAULTS,
                "[protocol]\nname = \"pbft\"\nvariant = \"weak-quorum\"",
            ),
        ),
        (
            "pbft no-certificates",
            table(
                "nodes = 4\n[workload]\narrivals = \"every:20ms\"\ncount = 20",
                &FAULTS.replace("partition_mtbf = \"1s\"", "partition_mtbf = \"1s\"\nschedule = [\"crash-leader:300ms@200ms\"]"),
                "[protocol]\nname = \"pbft\"\nvariant = \"no-certificates\"",
            ),
        ),
        ("contract-net double-award", with(CONTRACT_NET, "variant = \"double-award\"")),
        ("contract-net over-capacity", with(CONTRACT_NET, "variant = \"over-capacity\"")),
        (
            "bus forget-dedup",
            with(BUS, "mix = \"publish=6,request=1,direct=1,broadcast=1,churn=1\"\nguarantee = \"exactly-once\"\nvariant = \"forget-dedup\""),
        ),
        (
            "bus no-backoff",
            with(BUS, "mix = \"publish=6,request=1,direct=1,broadcast=1,churn=1\"\nguarantee = \"at-least-once\"\nvariant = \"no-backoff\""),
        ),
        (
            "bus ack-before-store",
            with(
                &BUS.replace("[workload]", "[storage]\ndelay = \"5ms..20ms\"\n[workload]"),
                "mix = \"publish=6,request=1,direct=1,broadcast=1,churn=1\"\nguarantee = \"at-least-once\"\nvariant = \"ack-before-store\"",
            ),
        ),
        ("gossip invent", with(GOSSIP, "direction = \"push-pull\"\nvariant = \"invent\"")),
        ("gossip older-wins", with(GOSSIP, "direction = \"push\"\nvariant = \"older-wins\"")),
    ]
}
