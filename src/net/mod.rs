//! What happens between nodes: links (latency, loss, duplication, FIFO,
//! capacity), topology, partitions and the fault schedule.
//!
//! Link rules are ordered: per-link overrides are checked in the order written
//! and the first that matches a directed link wins; otherwise the default link
//! model applies (turmoil-style "first matching rule decides").

pub mod faults;
pub mod latency;
pub mod link;
pub mod process;
pub mod topology;

use latency::Latency;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use topology::{NodeId, Topology};

/// The default link model plus per-link overrides and the topology.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct NetConfig {
    /// One-way latency of every link (see [`latency`] for spellings).
    pub latency: Latency,
    /// Probability that a message is lost, in `[0, 1]`.
    pub loss_ratio: f64,
    /// Probability that a message is delivered twice, in `[0, 1]`.
    pub dup_ratio: f64,
    /// Per-link FIFO: a message is never delivered before one sent earlier on the same directed link.
    pub fifo: bool,
    /// Maximum messages in flight per directed link; a full link drops (`capacity`). 0: unlimited.
    pub capacity: u32,
    /// Which pairs of nodes are linked (default: the complete graph).
    pub topology: Topology,
    /// Per-link overrides, first match wins.
    pub links: Vec<LinkOverride>,
}

impl Default for NetConfig {
    fn default() -> Self {
        NetConfig {
            latency: Latency::default(),
            loss_ratio: 0.0,
            dup_ratio: 0.0,
            fifo: false,
            capacity: 0,
            topology: Topology::Complete,
            links: Vec::new(),
        }
    }
}

/// Link settings for the directed links `from -> to` (and back if `symmetric`).
/// A missing `from` or `to` matches any node.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkOverride {
    /// Sending node; `None` matches any node.
    #[serde(default)]
    pub from: Option<NodeId>,
    /// Receiving node; `None` matches any node.
    #[serde(default)]
    pub to: Option<NodeId>,
    /// Also applies to `to -> from` (default: true; `A>B` on the command line sets false).
    #[serde(default = "yes")]
    pub symmetric: bool,
    /// One-way latency on these links; `None` keeps the default.
    #[serde(default)]
    pub latency: Option<Latency>,
    /// Loss probability in `[0, 1]`; `None` keeps the default.
    #[serde(default)]
    pub loss_ratio: Option<f64>,
    /// Duplication probability in `[0, 1]`; `None` keeps the default.
    #[serde(default)]
    pub dup_ratio: Option<f64>,
}

fn yes() -> bool {
    true
}

impl LinkOverride {
    #[inline]
    fn matches(&self, from: NodeId, to: NodeId) -> bool {
        let m = |a: Option<NodeId>, b: Option<NodeId>| {
            a.is_none_or(|x| x == from) && b.is_none_or(|y| y == to)
        };
        m(self.from, self.to) || (self.symmetric && m(self.to, self.from))
    }
}

/// The effective settings of one directed link.
#[derive(Clone, Copy, Debug)]
pub struct Link<'a> {
    /// One-way latency distribution.
    pub latency: &'a Latency,
    /// Probability that a message is lost, in `[0, 1]`.
    pub loss_ratio: f64,
    /// Probability that a message is delivered twice, in `[0, 1]`.
    pub dup_ratio: f64,
}

impl NetConfig {
    /// The link model for `from -> to`.
    #[inline]
    pub fn link(&self, from: NodeId, to: NodeId) -> Link<'_> {
        let mut l = Link {
            latency: &self.latency,
            loss_ratio: self.loss_ratio,
            dup_ratio: self.dup_ratio,
        };
        if let Some(o) = self.links.iter().find(|o| o.matches(from, to)) {
            if let Some(lat) = &o.latency {
                l.latency = lat;
            }
            l.loss_ratio = o.loss_ratio.unwrap_or(l.loss_ratio);
            l.dup_ratio = o.dup_ratio.unwrap_or(l.dup_ratio);
        }
        l
    }

    /// Checks every ratio and parameter; the error names the field and the accepted range.
    pub fn validate(&self, nodes: u32) -> Result<(), String> {
        ratio("net.loss_ratio", self.loss_ratio)?;
        ratio("net.dup_ratio", self.dup_ratio)?;
        self.latency
            .validate()
            .map_err(|e| format!("net.latency: {e}"))?;
        self.topology
            .validate(nodes)
            .map_err(|e| format!("net.topology: {e}"))?;
        for (i, o) in self.links.iter().enumerate() {
            if let Some(l) = o.loss_ratio {
                ratio(&format!("net.links[{i}].loss_ratio"), l)?;
            }
            if let Some(d) = o.dup_ratio {
                ratio(&format!("net.links[{i}].dup_ratio"), d)?;
            }
            if let (Some(a), Some(b)) = (o.from, o.to) {
                if a == b {
                    return Err(format!(
                        "net.links[{i}]: a link from node {a} to itself (accepted: two different nodes, or *)"
                    ));
                }
            }
            for (name, v) in [("from", o.from), ("to", o.to)] {
                if let Some(v) = v.filter(|&v| v >= nodes) {
                    return Err(format!(
                        "net.links[{i}].{name} = {v} out of range (accepted: 0..{nodes})"
                    ));
                }
            }
        }
        Ok(())
    }
}

pub(crate) fn ratio(field: &str, v: f64) -> Result<(), String> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(format!("{field} = {v} out of range (accepted: 0..=1)"))
    }
}

/// Why the network dropped a message (the trace's `drop.reason`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum DropReason {
    /// Random loss on the link.
    Loss,
    /// The link was cut by a partition (at send or on arrival).
    Partition,
    /// The destination was down when the message arrived.
    DstDown,
    /// The directed link already had `capacity` messages in flight.
    Capacity,
    /// The destination is not a neighbour in the topology.
    NoRoute,
}

impl DropReason {
    /// Every reason, in declaration order.
    pub const ALL: [DropReason; 5] = [
        DropReason::Loss,
        DropReason::Partition,
        DropReason::DstDown,
        DropReason::Capacity,
        DropReason::NoRoute,
    ];
    /// The name written in traces and reports (`loss`, `dst_down`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            DropReason::Loss => "loss",
            DropReason::Partition => "partition",
            DropReason::DstDown => "dst_down",
            DropReason::Capacity => "capacity",
            DropReason::NoRoute => "no_route",
        }
    }
}

/// Which links are cut right now.
///
/// A partition assigns each node a group; messages cross only within a group.
/// One-way cuts block single directed links. Both are cleared by a heal.
#[derive(Clone, Debug, Default)]
pub struct Partitions {
    /// Empty: no split. Otherwise `group[node]`.
    group: Vec<u32>,
    /// Directed links cut one way.
    cuts: BTreeSet<(NodeId, NodeId)>,
}

impl Partitions {
    /// Whether a message `from -> to` is cut, by a split or a one-way cut.
    #[inline]
    pub fn blocked(&self, from: NodeId, to: NodeId) -> bool {
        (!self.group.is_empty() && self.group[from as usize] != self.group[to as usize])
            || (!self.cuts.is_empty() && self.cuts.contains(&(from, to)))
    }

    /// Splits into the given groups; nodes not listed form one more group together.
    pub fn split(&mut self, nodes: u32, groups: &[Vec<NodeId>]) {
        let rest = groups.len() as u32;
        self.group = vec![rest; nodes as usize];
        for (g, members) in groups.iter().enumerate() {
            for &m in members {
                self.group[m as usize] = g as u32;
            }
        }
    }

    /// Cuts the directed link `from -> to` only; the reverse direction stays up.
    pub fn cut(&mut self, from: NodeId, to: NodeId) {
        self.cuts.insert((from, to));
    }

    /// Cuts every link to and from `node`.
    pub fn isolate(&mut self, nodes: u32, node: NodeId) {
        if self.group.is_empty() {
            self.group = vec![0; nodes as usize];
        }
        let fresh = self.group.iter().copied().max().unwrap_or(0) + 1;
        self.group[node as usize] = fresh;
    }

    /// Removes every split and one-way cut.
    pub fn heal(&mut self) {
        self.group.clear();
        self.cuts.clear();
    }

    /// True when no link is cut.
    pub fn is_healed(&self) -> bool {
        self.group.is_empty() && self.cuts.is_empty()
    }
}

/// A ratio in `0..=1`, from text.
pub fn parse_ratio(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if (0.0..=1.0).contains(&v) {
        Ok(v)
    } else {
        Err(format!("{v} out of range (accepted: 0..=1)"))
    }
}

impl std::str::FromStr for LinkOverride {
    type Err = String;
    /// `A-B:latency=50ms,loss=0.1,dup=0.01` (both ways) or `A>B:...` (one way); `*` is any node.
    fn from_str(s: &str) -> Result<Self, String> {
        let (ends, params) = s.split_once(':').ok_or_else(|| {
            format!("link '{s}': expected A-B:key=value,... (keys: latency, loss, dup)")
        })?;
        let (a, b, symmetric) = if let Some((a, b)) = ends.split_once('>') {
            (a, b, false)
        } else if let Some((a, b)) = ends.split_once('-') {
            (a, b, true)
        } else {
            return Err(format!("link '{s}': expected A-B or A>B before ':'"));
        };
        let node = |x: &str| -> Result<Option<u32>, String> {
            if x.trim() == "*" {
                Ok(None)
            } else {
                x.trim()
                    .parse()
                    .map(Some)
                    .map_err(|_| format!("link '{s}': '{x}' is not a node id or *"))
            }
        };
        let (from, to) = (node(a)?, node(b)?);
        if let (Some(x), Some(y)) = (from, to) {
            if x == y {
                return Err(format!(
                    "link '{s}': a link from node {x} to itself (accepted: two different nodes, or *)"
                ));
            }
        }
        let mut o = LinkOverride {
            from,
            to,
            symmetric,
            latency: None,
            loss_ratio: None,
            dup_ratio: None,
        };
        // Latency spellings contain commas, so split on ",key=" boundaries only.
        let mut rest = params;
        while !rest.is_empty() {
            let (k, v_and_more) = rest
                .split_once('=')
                .ok_or_else(|| format!("link '{s}': expected key=value"))?;
            let next = ["loss=", "dup=", "latency="]
                .iter()
                .filter_map(|key| v_and_more.find(&format!(",{key}")))
                .min()
                .unwrap_or(v_and_more.len());
            let v = &v_and_more[..next];
            rest = v_and_more[next..].trim_start_matches(',');
            let twice = match k.trim() {
                "latency" => o.latency.is_some(),
                "loss" => o.loss_ratio.is_some(),
                "dup" => o.dup_ratio.is_some(),
                _ => false,
            };
            if twice {
                return Err(format!(
                    "link '{s}': key '{}' given twice (accepted: each once)",
                    k.trim()
                ));
            }
            match k.trim() {
                "latency" => o.latency = Some(v.parse()?),
                "loss" => {
                    o.loss_ratio =
                        Some(parse_ratio(v).map_err(|e| format!("link '{s}': loss {e}"))?)
                }
                "dup" => {
                    o.dup_ratio = Some(parse_ratio(v).map_err(|e| format!("link '{s}': dup {e}"))?)
                }
                other => {
                    return Err(format!(
                        "link '{s}': unknown key '{other}' (accepted: latency, loss, dup)"
                    ))
                }
            }
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_matching_override_wins() {
        let mut net = NetConfig::default();
        net.links.push(LinkOverride {
            from: Some(0),
            to: Some(1),
            symmetric: true,
            latency: Some("50ms".parse().unwrap()),
            loss_ratio: Some(0.5),
            dup_ratio: None,
        });
        net.links.push(LinkOverride {
            from: Some(0),
            to: None,
            symmetric: false,
            latency: None,
            loss_ratio: Some(0.9),
            dup_ratio: None,
        });
        assert_eq!(net.link(1, 0).loss_ratio, 0.5);
        assert_eq!(net.link(0, 2).loss_ratio, 0.9);
        assert_eq!(net.link(2, 0).loss_ratio, 0.0);
        assert_eq!(net.link(0, 1).latency.to_string(), "50ms");
    }

    #[test]
    fn partitions_and_cuts() {
        let mut p = Partitions::default();
        p.split(5, &[vec![0, 1]]);
        assert!(!p.blocked(0, 1) && p.blocked(1, 2) && !p.blocked(3, 4));
        p.heal();
        p.cut(0, 1);
        assert!(p.blocked(0, 1) && !p.blocked(1, 0));
        p.heal();
        p.isolate(4, 2);
        assert!(p.blocked(2, 0) && p.blocked(1, 2) && !p.blocked(0, 1));
        assert!(!p.is_healed());
    }

    #[test]
    fn validation_names_field_and_range() {
        let net = NetConfig {
            loss_ratio: 1.5,
            ..NetConfig::default()
        };
        let e = net.validate(3).unwrap_err();
        assert!(e.contains("net.loss_ratio") && e.contains("0..=1"), "{e}");
    }
}
