//! One integration-test binary (fast to build, easy to scan). Modules:
//!
//! - `common`: helpers shared by the modules (scenario builders, the binary's path).
//! - `cli`, `engine`, `determinism`, `determinism_check`, `raft`, `paxos`, `gossip`, `bus`, `sweep`, `plot`, `hooks`, `om`,
//!   `threshold_vote`, `jury`, `bracha`, `pbft`, `layout`, `corpus`, `contract_net`, `limits`, `shrink`,
//!   `view`, `export`, `swarm`: see each module's first line below.
mod common;
// The command line: outputs, exit codes, bad input.
mod cli;
// Network and fault semantics with a probe protocol: timers, FIFO, crashes, cuts, drift.
mod engine;
// Same seed same bytes, different seed different hash, replay, golden hashes.
mod determinism;
// The determinism self-check of `check`: a protocol reading outside the run reported; the seed cap.
mod determinism_check;
// Raft election safety and liveness under faults; broken variants caught.
mod raft;
// Paxos (single-decree and Multi-Paxos) under faults; broken variants caught; message counts, livelock, latency.
mod paxos;
// Gossip properties under faults, agreement with epidemic theory, broken variants, 10^5 nodes.
mod gossip;
// Message bus guarantees under faults, broken variants caught, loss and duplicate rates against closed forms.
mod bus;
// Sweeps: identical files whatever --jobs, shards or resumes; summaries; bad experiment files.
mod sweep;
// Plots: valid PNG and SVG of the requested size, from results and from traces.
mod plot;
// Seeing a run: the space-time diagram and the HTML viewer's page, against the trace.
mod view;
// The protocol seam's hooks with a probe protocol: workload, storage delay, Byzantine marks, counters.
mod hooks;
// OM(m): IC2 broken at n = 3 with one traitor, none at n = 4; SM(m); the broken variant.
mod om;
// Threshold consensus: agreement at n = 3f + 1 under faults, broken past it; the experiment's exact curve.
mod threshold_vote;
// Noisy jury: every behaviour under faults; the experiment against Condorcet's exact curves.
mod jury;
// Bracha's broadcast: every property under faults and each Byzantine behaviour; the t < n/3 bound; broken variants.
mod bracha;
// PBFT: total order and liveness under faults and each Byzantine behaviour, view changes; the f < n/3 bound; broken variants.
mod pbft;
// The crate's shape: arrows between modules run one way; protocols are named only in their folders.
mod layout;
// The bad-input corpus of tests/corpus: exit 2, one line naming the field, nothing written.
mod corpus;
// Resource limits: memory estimates refused with one line, the pending-event bound, the scaled event cap, the folder lock.
mod limits;
// Contract net and its baselines under faults; leases and drift; variants caught; M/M/c.
mod contract_net;
// Shrinking failing runs: every broken variant to at most 5 faults, still failing; the command.
mod shrink;
// diff and export (Chrome/Perfetto trace-event JSON, ShiViz) on Raft, gossip and Paxos traces, against the published formats.
mod export;
// Swarm faults: a fault mix drawn per seed, grouped failures, plain reproduction commands.
mod swarm;
// The broken variants and their fixed fault mixes (shared with examples/swarm_table.rs).
mod variants;
