//! Who can talk to whom. A message travels only along an edge (both directions).
//!
//! The complete graph is implicit: it stores nothing per edge, so a million-node
//! run costs nothing here. Every other topology is generated with petgraph from
//! the topology stream of the seed, then frozen into a compact sorted adjacency
//! array (CSR) for O(log degree) edge checks and O(1) neighbour access.
//!
//! Spellings: `complete`, `ring`, `star` (node 0 is the hub), `random-regular:k=4`,
//! `erdos-renyi:p=0.05`, `watts-strogatz:k=4,beta=0.1`, `edges:FILE` (one `a b` pair
//! per line, `#` comments). In a scenario file an explicit list is also accepted as
//! `topology = { edges = [[0, 1], [1, 2]] }`; `run_start` always records the
//! generated parameters or the explicit list, so a trace is enough to re-run.

use crate::rng::{stream, SimRng};
use petgraph::graphmap::UnGraphMap;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub use crate::node::{Graph, NodeId, Peers};

/// Which pairs of nodes are linked (spellings in the module docs).
#[derive(Clone, Debug, PartialEq, Default)]
pub enum Topology {
    /// Every pair of nodes (stored implicitly).
    #[default]
    Complete,
    /// Node `i` linked to `i + 1 mod n`.
    Ring,
    /// Node 0 linked to every other node.
    Star,
    /// A random graph where every node has exactly `k` neighbours.
    RandomRegular {
        /// Degree, in `1..n`, with `k * n` even.
        k: u32,
    },
    /// Each pair linked independently with probability `p`.
    ErdosRenyi {
        /// Edge probability, in `[0, 1]`.
        p: f64,
    },
    /// Small world: a ring lattice with `k / 2` neighbours per side, each edge
    /// rewired with probability `beta`.
    WattsStrogatz {
        /// Lattice degree: even, in `2..n`.
        k: u32,
        /// Rewiring probability, in `[0, 1]`.
        beta: f64,
    },
    /// Exactly these undirected edges, between distinct node ids.
    Edges(Vec<(NodeId, NodeId)>),
}

/// Every spelling, for error messages.
const SPELLINGS: &str = "complete, ring, star, random-regular:k=K, erdos-renyi:p=P, watts-strogatz:k=K,beta=B, edges:FILE";

impl FromStr for Topology {
    type Err = String;
    /// Parses a spelling; a parameter the topology does not take (or one
    /// given twice) is an error naming the parameters it does take.
    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (kind, params) = match s.split_once(':') {
            Some((k, p)) => (k.trim(), Some(p)),
            None => (s, None),
        };
        // The parameters each kind takes, as its spelling shows them.
        let takes: &[&str] = match kind {
            "complete" | "ring" | "star" => &[],
            "random-regular" => &["k"],
            "erdos-renyi" => &["p"],
            "watts-strogatz" => &["k", "beta"],
            "edges" => {
                let file = params.unwrap_or("").trim();
                if file.is_empty() {
                    return Err(format!(
                        "topology '{s}': edges takes a file (accepted: edges:FILE)"
                    ));
                }
                let text = std::fs::read_to_string(file)
                    .map_err(|e| format!("topology edge file '{file}': {e}"))?;
                return Ok(Topology::Edges(
                    parse_edge_list(&text)
                        .map_err(|e| format!("topology edge file '{file}': {e}"))?,
                ));
            }
            other => {
                return Err(format!(
                    "topology '{other}' unknown (accepted: {SPELLINGS})"
                ))
            }
        };
        let accepted = || match kind {
            "random-regular" => "random-regular:k=K",
            "erdos-renyi" => "erdos-renyi:p=P",
            "watts-strogatz" => "watts-strogatz:k=K,beta=B",
            _ => kind,
        };
        let mut values: Vec<(&str, &str)> = Vec::new();
        if let Some(params) = params {
            if takes.is_empty() {
                return Err(format!(
                    "topology '{s}': {kind} takes no parameters (accepted: {kind})"
                ));
            }
            for p in params.split(',') {
                let (k, v) = p.split_once('=').ok_or_else(|| {
                    format!(
                        "topology '{s}': '{p}' is not key=value (accepted: {})",
                        accepted()
                    )
                })?;
                let k = k.trim();
                if !takes.contains(&k) {
                    return Err(format!(
                        "topology '{s}': {kind} has no parameter '{k}' (accepted: {})",
                        accepted()
                    ));
                }
                if values.iter().any(|&(seen, _)| seen == k) {
                    return Err(format!(
                        "topology '{s}': parameter '{k}' given twice (accepted: {})",
                        accepted()
                    ));
                }
                values.push((k, v.trim()));
            }
        }
        let get = |key: &str| -> Result<&str, String> {
            values
                .iter()
                .find(|&&(k, _)| k == key)
                .map(|&(_, v)| v)
                .ok_or_else(|| {
                    format!(
                        "topology '{s}': missing parameter '{key}' (accepted: {})",
                        accepted()
                    )
                })
        };
        let num = |key: &str| -> Result<f64, String> {
            get(key)?
                .parse::<f64>()
                .map_err(|_| format!("topology '{s}': '{key}' is not a number"))
        };
        let int = |key: &str| -> Result<u32, String> {
            get(key)?
                .parse::<u32>()
                .map_err(|_| format!("topology '{s}': '{key}' is not a whole number"))
        };
        Ok(match kind {
            "complete" => Topology::Complete,
            "ring" => Topology::Ring,
            "star" => Topology::Star,
            "random-regular" => Topology::RandomRegular { k: int("k")? },
            "erdos-renyi" => Topology::ErdosRenyi { p: num("p")? },
            "watts-strogatz" => Topology::WattsStrogatz {
                k: int("k")?,
                beta: num("beta")?,
            },
            _ => unreachable!("every kind is matched above"),
        })
    }
}

/// Parses `a b` pairs, one per line; blank lines and `#` comments are skipped.
pub fn parse_edge_list(text: &str) -> Result<Vec<(NodeId, NodeId)>, String> {
    let mut edges = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let mut it = line
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|x| !x.is_empty());
        let a = it.next().and_then(|x| x.parse().ok());
        let b = it.next().and_then(|x| x.parse().ok());
        match (a, b, it.next()) {
            (Some(a), Some(b), None) => edges.push((a, b)),
            _ => {
                return Err(format!(
                    "line {}: expected two node ids, got '{line}'",
                    i + 1
                ))
            }
        }
    }
    Ok(edges)
}

impl fmt::Display for Topology {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topology::Complete => f.write_str("complete"),
            Topology::Ring => f.write_str("ring"),
            Topology::Star => f.write_str("star"),
            Topology::RandomRegular { k } => write!(f, "random-regular:k={k}"),
            Topology::ErdosRenyi { p } => write!(f, "erdos-renyi:p={p}"),
            Topology::WattsStrogatz { k, beta } => write!(f, "watts-strogatz:k={k},beta={beta}"),
            Topology::Edges(e) => write!(f, "edges({} pairs)", e.len()),
        }
    }
}

#[derive(Serialize)]
#[serde(untagged)]
enum TopologyRepr {
    Name(String),
    Edges { edges: Vec<(NodeId, NodeId)> },
}

impl Serialize for Topology {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Topology::Edges(e) => TopologyRepr::Edges { edges: e.clone() }.serialize(s),
            other => TopologyRepr::Name(other.to_string()).serialize(s),
        }
    }
}
impl<'de> Deserialize<'de> for Topology {
    /// Errors name the field, `net.topology` (the only place a topology is read).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let named = |e: String| serde::de::Error::custom(format!("net.topology: {e}"));
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Name(String),
            Table(std::collections::BTreeMap<String, serde_json::Value>),
        }
        const TABLES: &str = "{ edges = [[A, B], ...] } or { edges_file = \"FILE\" }";
        let mut t = match Repr::deserialize(d)? {
            Repr::Name(n) => return n.parse().map_err(named),
            Repr::Table(t) => t,
        };
        if let Some(k) = t.keys().find(|k| *k != "edges" && *k != "edges_file") {
            return Err(named(format!(
                "unknown key '{k}' in the inline table (accepted: {TABLES})"
            )));
        }
        match (t.remove("edges"), t.remove("edges_file")) {
            (Some(e), None) => serde_json::from_value(e)
                .map(Topology::Edges)
                .map_err(|e| named(format!("edges: {e} (accepted: [[A, B], ...])"))),
            (None, Some(serde_json::Value::String(f))) => {
                format!("edges:{f}").parse().map_err(named)
            }
            (None, Some(_)) => Err(named(
                "edges_file: not a file name (accepted: a string)".into(),
            )),
            _ => Err(named(format!("expected one of {TABLES}"))),
        }
    }
}

impl Topology {
    /// Checks the parameters against the node count.
    pub fn validate(&self, n: u32) -> Result<(), String> {
        match *self {
            Topology::RandomRegular { k } if k == 0 || k >= n || (k as u64 * n as u64) % 2 == 1 => {
                return Err(format!(
                    "topology random-regular k={k} out of range for {n} nodes (accepted: 1..{n}, with k*n even)"
                ));
            }
            Topology::ErdosRenyi { p } if !(0.0..=1.0).contains(&p) => {
                return Err(format!(
                    "topology erdos-renyi p={p} out of range (accepted: 0..=1)"
                ));
            }
            Topology::WattsStrogatz { k, beta } => {
                if k == 0 || k % 2 == 1 || k >= n {
                    return Err(format!(
                        "topology watts-strogatz k={k} out of range for {n} nodes (accepted: even, 2..{n})"
                    ));
                }
                if !(0.0..=1.0).contains(&beta) {
                    return Err(format!(
                        "topology watts-strogatz beta={beta} out of range (accepted: 0..=1)"
                    ));
                }
            }
            Topology::Edges(ref e) => {
                if let Some(&(a, b)) = e.iter().find(|&&(a, b)| a >= n || b >= n || a == b) {
                    return Err(format!(
                        "topology edge ({a}, {b}) out of range (accepted: two different node ids in 0..{n})"
                    ));
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Builds the graph for `n` nodes; random graphs draw from the topology stream of `seed`.
    pub fn build(&self, n: u32, seed: u64) -> Graph {
        if *self == Topology::Complete {
            return Graph::Complete { n };
        }
        let mut rng = SimRng::new(seed, stream::TOPOLOGY);
        let mut g: UnGraphMap<NodeId, ()> = UnGraphMap::with_capacity(n as usize, 0);
        for i in 0..n {
            g.add_node(i);
        }
        match *self {
            Topology::Complete => unreachable!("handled above"),
            Topology::Ring => {
                for i in 0..n {
                    if n > 1 {
                        g.add_edge(i, (i + 1) % n, ());
                    }
                }
            }
            Topology::Star => {
                for i in 1..n {
                    g.add_edge(0, i, ());
                }
            }
            Topology::RandomRegular { k } => random_regular(&mut g, n, k, &mut rng),
            Topology::ErdosRenyi { p } => erdos_renyi(&mut g, n, p, &mut rng),
            Topology::WattsStrogatz { k, beta } => watts_strogatz(&mut g, n, k, beta, &mut rng),
            Topology::Edges(ref e) => {
                for &(a, b) in e {
                    g.add_edge(a, b, ());
                }
            }
        }
        graph_from_map(n, &g)
    }
}

/// Steger–Wormald style pairing: join random free stubs of different,
/// not-yet-adjacent nodes; restart on a dead end.
fn random_regular(g: &mut UnGraphMap<NodeId, ()>, n: u32, k: u32, rng: &mut SimRng) {
    for _attempt in 0..1000 {
        g.clear();
        for i in 0..n {
            g.add_node(i);
        }
        let mut stubs: Vec<NodeId> = (0..n)
            .flat_map(|i| std::iter::repeat_n(i, k as usize))
            .collect();
        let mut stuck = false;
        while !stubs.is_empty() {
            let mut found = false;
            for _ in 0..(100 + stubs.len()) {
                let i = rng.index(stubs.len());
                let j = rng.index(stubs.len());
                let (a, b) = (stubs[i], stubs[j]);
                if i != j && a != b && !g.contains_edge(a, b) {
                    g.add_edge(a, b, ());
                    let (hi, lo) = if i > j { (i, j) } else { (j, i) };
                    stubs.swap_remove(hi);
                    stubs.swap_remove(lo);
                    found = true;
                    break;
                }
            }
            if !found {
                stuck = true;
                break;
            }
        }
        if !stuck {
            return;
        }
    }
}

/// G(n, p) by geometric skipping over the n(n-1)/2 candidate pairs (Batagelj–Brandes).
fn erdos_renyi(g: &mut UnGraphMap<NodeId, ()>, n: u32, p: f64, rng: &mut SimRng) {
    if p <= 0.0 || n < 2 {
        return;
    }
    if p >= 1.0 {
        for a in 0..n {
            for b in a + 1..n {
                g.add_edge(a, b, ());
            }
        }
        return;
    }
    let lq = libm::log(1.0 - p);
    let (mut v, mut w): (i64, i64) = (1, -1);
    let n = n as i64;
    while v < n {
        let r = rng.unit_open0();
        w += 1 + libm::floor(libm::log(r) / lq) as i64;
        while w >= v && v < n {
            w -= v;
            v += 1;
        }
        if v < n {
            g.add_edge(v as NodeId, w as NodeId, ());
        }
    }
}

/// Ring lattice with k/2 neighbours per side, each edge rewired with probability beta.
fn watts_strogatz(g: &mut UnGraphMap<NodeId, ()>, n: u32, k: u32, beta: f64, rng: &mut SimRng) {
    for i in 0..n {
        for j in 1..=k / 2 {
            g.add_edge(i, (i + j) % n, ());
        }
    }
    for j in 1..=k / 2 {
        for i in 0..n {
            let b = (i + j) % n;
            if rng.chance(beta) {
                let c = rng.below(n as u64) as NodeId;
                if c != i && !g.contains_edge(i, c) && g.contains_edge(i, b) {
                    g.remove_edge(i, b);
                    g.add_edge(i, c, ());
                }
            }
        }
    }
}

/// A graph from petgraph's map, as sorted adjacency lists.
fn graph_from_map(n: u32, g: &UnGraphMap<NodeId, ()>) -> Graph {
    let mut off = Vec::with_capacity(n as usize + 1);
    let mut adj = Vec::with_capacity(g.edge_count() * 2);
    off.push(0);
    for v in 0..n {
        let start = adj.len();
        adj.extend(g.neighbors(v).filter(|&w| w != v));
        adj[start..].sort_unstable();
        off.push(adj.len() as u32);
    }
    Graph::Csr { off, adj }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn degrees(g: &Graph, n: u32) -> Vec<usize> {
        (0..n).map(|v| g.peers(v).len()).collect()
    }

    #[test]
    fn complete_is_implicit() {
        let g = Topology::Complete.build(1_000_000, 1);
        assert!(g.has_edge(0, 999_999));
        assert!(!g.has_edge(5, 5));
        let p = g.peers(3);
        assert_eq!(p.len(), 999_999);
        assert_eq!((p.get(2), p.get(3)), (2, 4));
    }

    #[test]
    fn ring_and_star() {
        let r = Topology::Ring.build(6, 0);
        assert_eq!(degrees(&r, 6), vec![2; 6]);
        assert!(r.has_edge(5, 0) && !r.has_edge(0, 3));
        let s = Topology::Star.build(6, 0);
        assert_eq!(degrees(&s, 6), vec![5, 1, 1, 1, 1, 1]);
    }

    #[test]
    fn random_regular_is_regular_and_simple() {
        let g = Topology::RandomRegular { k: 4 }.build(200, 7);
        assert_eq!(degrees(&g, 200), vec![4; 200]);
        assert_eq!(g.edge_count(), 400);
    }

    #[test]
    fn erdos_renyi_has_expected_edge_count() {
        let n = 2000u32;
        let p = 0.01;
        let g = Topology::ErdosRenyi { p }.build(n, 3);
        let expect = p * (n as f64) * (n as f64 - 1.0) / 2.0;
        let got = g.edge_count() as f64;
        assert!(
            (got - expect).abs() < 4.0 * expect.sqrt(),
            "{got} vs {expect}"
        );
    }

    #[test]
    fn watts_strogatz_keeps_edge_count() {
        let g = Topology::WattsStrogatz { k: 4, beta: 0.2 }.build(500, 2);
        assert_eq!(g.edge_count(), 1000);
        let lattice = Topology::WattsStrogatz { k: 4, beta: 0.0 }.build(500, 2);
        assert!(lattice.has_edge(0, 2) && lattice.has_edge(0, 498));
    }

    #[test]
    fn same_seed_same_graph() {
        let a = Topology::ErdosRenyi { p: 0.05 }.build(300, 9);
        let b = Topology::ErdosRenyi { p: 0.05 }.build(300, 9);
        let c = Topology::ErdosRenyi { p: 0.05 }.build(300, 10);
        let adj = |g: &Graph| match g {
            Graph::Csr { adj, .. } => adj.clone(),
            _ => unreachable!(),
        };
        assert_eq!(adj(&a), adj(&b));
        assert_ne!(adj(&a), adj(&c));
    }

    #[test]
    fn parameters_a_topology_does_not_take_are_rejected() {
        for (spelling, mentions) in [
            ("ring:k=3", &["ring takes no parameters"][..]),
            ("complete:x=1", &["complete takes no parameters"]),
            ("star:", &["star takes no parameters"]),
            (
                "random-regular:k=4,z=3",
                &["no parameter 'z'", "random-regular:k=K"],
            ),
            ("random-regular:k=4,k=5", &["'k' given twice"]),
            (
                "erdos-renyi:p=0.1,k=2",
                &["no parameter 'k'", "erdos-renyi:p=P"],
            ),
            (
                "watts-strogatz:k=4",
                &["missing parameter 'beta'", "beta=B"],
            ),
            ("watts-strogatz:k=4,beta", &["'beta' is not key=value"]),
            ("edges:", &["edges:FILE"]),
        ] {
            let e = spelling.parse::<Topology>().unwrap_err();
            for m in mentions {
                assert!(e.contains(m), "{spelling}: '{m}' missing from: {e}");
            }
        }
        for spelling in [
            "complete",
            "ring",
            "star",
            "random-regular:k=4",
            "erdos-renyi:p=0.1",
            "watts-strogatz:beta=0.1,k=4",
        ] {
            let t: Topology = spelling.parse().unwrap();
            assert_eq!(t.to_string().parse::<Topology>().unwrap(), t);
        }
    }

    #[test]
    fn edge_lists_parse_and_validate() {
        let e = parse_edge_list("# a comment\n0 1\n1,2\n\n").unwrap();
        assert_eq!(e, vec![(0, 1), (1, 2)]);
        assert!(parse_edge_list("0 1 2").is_err());
        assert!(Topology::Edges(vec![(0, 9)]).validate(3).is_err());
        assert!("random-regular:k=3"
            .parse::<Topology>()
            .unwrap()
            .validate(5)
            .is_err());
    }
}
