//! Resource limits: what a run needs in memory, estimated from its scenario
//! before anything is allocated, against a limit; and the default event cap,
//! which follows the run's size.
//!
//! ```text
//!  scenario ──estimate──► nodes × (engine + protocol state per node)
//!                         + topology edges (petgraph while generated, then CSR)
//!                         + pending events (at most setup::pending_max)
//!           ──► above the memory limit? refuse: exit 2, one line
//! ```
//!
//! Linux overcommits memory, so a failed allocation is not something to wait
//! for: a run that cannot fit is refused up front. The limit is
//! `--memory-limit SIZE` if given, else half of physical memory (`MemTotal`
//! of `/proc/meminfo`; 4 GiB where it cannot be read), and at most half of
//! the address-space limit of the process (`ulimit -v`) if one is set.
//! A run whose queue grows while it goes stops at
//! [`super::setup::pending_max`] pending events (stop reason
//! `pending_max`), which the estimate counts.
//!
//! The estimate is an upper bound built from measured costs (the constants
//! below); it does not change what a run does.

use crate::net::topology::Topology;
use std::sync::OnceLock;

/// The event cap of a run of at most `EVENTS_MAX_DEFAULT / EVENTS_PER_NODE`
/// nodes, when none is given.
pub const EVENTS_MAX_DEFAULT: u64 = 10_000_000;
/// Events per node of the default cap of bigger runs (a million-node gossip
/// spreads one rumor to everyone in about 28 events per node).
pub const EVENTS_PER_NODE: u64 = 100;

/// The event cap of a run of `nodes` nodes when the scenario gives none:
/// `max(EVENTS_MAX_DEFAULT, EVENTS_PER_NODE × nodes)`. Runs of up to 100,000
/// nodes keep the fixed default, so their scenarios (and results) are
/// unchanged; every run stays bounded.
pub fn default_events_max(nodes: u32) -> u64 {
    EVENTS_MAX_DEFAULT.max(EVENTS_PER_NODE * nodes as u64)
}

/// Bytes per node kept by the engine and the monitor besides the protocol's
/// node (liveness flags, timer generations, drift, per-node observations).
pub const ENGINE_NODE_BYTES: u64 = 256;
/// Bytes per undirected edge of a generated topology: petgraph's map while
/// it is generated, then the compact adjacency array.
pub const EDGE_BYTES: u64 = 96;
/// Bytes per pending event (the queue's key and the event with its message).
pub const PENDING_EVENT_BYTES: u64 = 64;
/// Bytes of a run whatever its size (the program, buffers, the report).
pub const RUN_BASE_BYTES: u64 = 16 << 20;
/// The memory limit where physical memory cannot be read.
pub const FALLBACK_LIMIT: u64 = 4 << 30;

/// What one run needs, by part, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Need {
    /// The nodes: engine and protocol state.
    pub nodes: u64,
    /// The topology's edges.
    pub topology: u64,
    /// Pending events, at most [`super::setup::pending_max`].
    pub pending: u64,
}

impl Need {
    /// The whole need, in bytes (saturating).
    pub fn total(&self) -> u64 {
        RUN_BASE_BYTES
            .saturating_add(self.nodes)
            .saturating_add(self.topology)
            .saturating_add(self.pending)
    }
}

/// The undirected edges a topology of `n` nodes has (expected, for random ones).
pub fn topology_edges(t: &Topology, n: u32) -> u64 {
    let n64 = n as u64;
    match t {
        Topology::Complete => 0, // implicit: nothing stored
        Topology::Ring => n64,
        Topology::Star => n64.saturating_sub(1),
        Topology::RandomRegular { k } | Topology::WattsStrogatz { k, .. } => {
            n64.saturating_mul(*k as u64) / 2
        }
        Topology::ErdosRenyi { p } => {
            let pairs = n64 as f64 * n64.saturating_sub(1) as f64 / 2.0;
            (pairs * p.clamp(0.0, 1.0)).ceil() as u64
        }
        Topology::Edges(e) => e.len() as u64,
    }
}

/// Estimates what one run of `n` nodes needs, each node of the protocol
/// taking `node_bytes` (its [`crate::node::Protocol`] state and heap), on
/// `topology`: an upper bound, from the scenario alone.
pub fn estimate(n: u32, node_bytes: u64, topology: &Topology) -> Need {
    let per_node = ENGINE_NODE_BYTES.saturating_add(node_bytes);
    let nodes = per_node.saturating_mul(n as u64);
    let topology = topology_edges(topology, n).saturating_mul(EDGE_BYTES);
    let pending = (super::setup::pending_max(n) as u64).saturating_mul(PENDING_EVENT_BYTES);
    Need {
        nodes,
        topology,
        pending,
    }
}

/// Where the memory limit comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LimitSource {
    /// `--memory-limit`.
    Flag,
    /// Half of physical memory.
    Physical,
    /// Half of the process's address-space limit (`ulimit -v`).
    AddressSpace,
    /// [`FALLBACK_LIMIT`]: physical memory could not be read.
    Fallback,
}

impl LimitSource {
    fn describe(self) -> &'static str {
        match self {
            LimitSource::Flag => "--memory-limit",
            LimitSource::Physical => "half of physical memory",
            LimitSource::AddressSpace => "half of the address-space limit, ulimit -v",
            LimitSource::Fallback => "physical memory unknown",
        }
    }
}

static LIMIT: OnceLock<u64> = OnceLock::new();

/// Sets the memory limit of this process's runs (`--memory-limit`); the
/// first call wins.
pub fn set_memory_limit(bytes: u64) {
    let _ = LIMIT.set(bytes);
}

/// The memory limit in bytes and where it comes from.
pub fn memory_limit() -> (u64, LimitSource) {
    if let Some(&b) = LIMIT.get() {
        return (b, LimitSource::Flag);
    }
    let (mut limit, mut source) = match physical_memory() {
        Some(b) => (b / 2, LimitSource::Physical),
        None => (FALLBACK_LIMIT, LimitSource::Fallback),
    };
    if let Some(a) = address_space_limit() {
        if a / 2 < limit {
            (limit, source) = (a / 2, LimitSource::AddressSpace);
        }
    }
    (limit, source)
}

/// Physical memory in bytes (`MemTotal` of `/proc/meminfo`), if known.
pub fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line
        .trim_start_matches("MemTotal:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib.saturating_mul(1024))
}

/// The process's address-space limit (`RLIMIT_AS`), if one is set.
#[cfg(unix)]
fn address_space_limit() -> Option<u64> {
    let mut r = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes into the struct we own and reads nothing else.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut r) } == 0;
    (ok && r.rlim_cur != libc::RLIM_INFINITY).then_some(r.rlim_cur)
}

#[cfg(not(unix))]
fn address_space_limit() -> Option<u64> {
    None
}

/// Parses a size: a whole number of bytes, or a number with a unit `KiB`,
/// `MiB`, `GiB`, `TiB` (powers of 1024; `K`, `M`, `G`, `T`, `KB`, ... mean
/// the same), e.g. `8GiB`, `512MiB`, `1.5G`.
pub fn parse_size(s: &str) -> Result<u64, String> {
    let bad = || {
        format!("'{s}' is not a size (accepted: bytes, or a number with KiB, MiB, GiB or TiB, e.g. 8GiB)")
    };
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let v: f64 = num.parse().map_err(|_| bad())?;
    let unit = unit.trim().to_ascii_lowercase();
    let unit = unit.trim_end_matches("ib").trim_end_matches('b');
    let mult: u64 = match unit {
        "" => 1,
        "k" => 1 << 10,
        "m" => 1 << 20,
        "g" => 1 << 30,
        "t" => 1 << 40,
        _ => return Err(bad()),
    };
    let bytes = v * mult as f64;
    if !(bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!(
            "'{s}' out of range (accepted: 1 byte up to 16 EiB)"
        ));
    }
    Ok(bytes as u64)
}

/// A size for people: `11.7 GiB`, `512.0 MiB`, `900 B`.
pub fn fmt_size(b: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if b < 1024 {
        return format!("{b} B");
    }
    let mut v = b as f64 / 1024.0;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < UNITS.len() {
        v /= 1024.0;
        u += 1;
    }
    format!("{v:.1} {}", UNITS[u])
}

/// Refuses a run (see [`estimate`]) of `protocol` that needs more than the
/// memory limit: one line naming the setting that needs most and the limit.
pub fn check_memory(
    n: u32,
    node_bytes: u64,
    topology: &Topology,
    protocol: &str,
) -> Result<(), String> {
    let need = estimate(n, node_bytes, topology);
    let (limit, source) = memory_limit();
    if need.total() <= limit {
        return Ok(());
    }
    let what = if need.topology >= need.nodes && need.topology >= need.pending {
        format!(
            "net.topology = {} at {n} nodes ({} edges)",
            topology,
            topology_edges(topology, n)
        )
    } else if need.nodes >= need.pending {
        format!(
            "nodes = {n} ({} of {} state per node)",
            fmt_size(need.nodes / n.max(1) as u64),
            protocol
        )
    } else {
        format!(
            "nodes = {n} (up to {} pending events)",
            super::setup::pending_max(n)
        )
    };
    Err(format!(
        "{what}: the run needs about {} of memory, above the limit of {} ({}) (accepted: a smaller run, or --memory-limit SIZE)",
        fmt_size(need.total()),
        fmt_size(limit),
        source.describe()
    ))
}

/// Refuses `at_once` runs of `one_run` bytes each going together (`check
/// --jobs`) when they need more than the memory limit, though one fits.
pub fn check_at_once(one_run: u64, at_once: usize, jobs: Option<usize>) -> Result<(), String> {
    let need = one_run.saturating_mul(at_once as u64);
    let (limit, source) = memory_limit();
    if need <= limit {
        return Ok(());
    }
    let jobs = match jobs {
        Some(j) => format!("--jobs {j}"),
        None => format!("--jobs (default: one per core, {at_once} here)"),
    };
    Err(format!(
        "{jobs}: runs of about {} each, {at_once} at once, need about {}, above the memory limit of {} ({}) (accepted: a smaller --jobs, a smaller run, or --memory-limit SIZE)",
        fmt_size(one_run),
        fmt_size(need),
        fmt_size(limit),
        source.describe()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_size("8GiB"), Ok(8 << 30));
        assert_eq!(parse_size("512 MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("2kb"), Ok(2048));
        for bad in ["", "GiB", "-1GiB", "8XB", "0", "1e30"] {
            let e = parse_size(bad).unwrap_err();
            assert!(e.contains("size") || e.contains("range"), "{bad}: {e}");
        }
        assert_eq!(fmt_size(900), "900 B");
        assert_eq!(fmt_size(3 << 29), "1.5 GiB");
    }

    #[test]
    fn the_event_cap_follows_the_size_above_a_floor() {
        assert_eq!(default_events_max(5), EVENTS_MAX_DEFAULT);
        assert_eq!(default_events_max(100_000), EVENTS_MAX_DEFAULT);
        assert_eq!(default_events_max(1_000_000), 100_000_000);
    }

    #[test]
    fn dense_topologies_and_big_states_are_counted() {
        let complete = estimate(100_000, 16, &Topology::Complete);
        assert_eq!(complete.topology, 0, "the complete graph is implicit");
        let dense = Topology::ErdosRenyi { p: 1.0 };
        assert_eq!(topology_edges(&dense, 100_000), 4_999_950_000);
        assert!(estimate(100_000, 16, &dense).total() > 400 << 30);
        let regular = Topology::RandomRegular { k: 4 };
        assert_eq!(
            estimate(100_000, 16, &regular).topology,
            200_000 * EDGE_BYTES
        );
        // A million small nodes fit in about a GiB, pending events included.
        let big = estimate(1_000_000, 16, &Topology::Complete);
        assert!(big.total() < 2 << 30, "{big:?}");
        assert_eq!(big.pending, 16_000_000 * PENDING_EVENT_BYTES);
        // 16 million nodes holding 65535 keys of 8 bytes twice do not.
        let keys = estimate(16_000_000, 2 * 65_535 * 8, &Topology::Complete);
        assert!(keys.nodes > 15 << 40, "{keys:?}");
        let e = check_memory(16_000_000, 2 * 65_535 * 8, &Topology::Complete, "p").unwrap_err();
        assert!(
            e.starts_with("nodes = 16000000 (") && e.contains("--memory-limit"),
            "{e}"
        );
    }
}
