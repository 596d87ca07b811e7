//! Node ids, the frozen graph of a run and a node's neighbours.

/// A node's id: `0..nodes`.
pub type NodeId = u32;

/// The frozen graph used during a run.
#[derive(Clone, Debug)]
pub enum Graph {
    /// Every pair connected; nothing stored per edge.
    Complete {
        /// Number of nodes.
        n: u32,
    },
    /// Sorted adjacency lists in one array: neighbours of `v` are `adj[off[v]..off[v+1]]`.
    Csr {
        /// Start of each node's list in `adj`, plus the end: `n + 1` entries.
        off: Vec<u32>,
        /// Every node's neighbours, each list sorted by id.
        adj: Vec<NodeId>,
    },
}

impl Graph {
    /// Whether `a` and `b` are neighbours (never a node with itself).
    #[inline]
    pub fn has_edge(&self, a: NodeId, b: NodeId) -> bool {
        match self {
            Graph::Complete { n } => a != b && a < *n && b < *n,
            Graph::Csr { off, adj } => adj[off[a as usize] as usize..off[a as usize + 1] as usize]
                .binary_search(&b)
                .is_ok(),
        }
    }

    /// Neighbours of `v`.
    #[inline]
    pub fn peers(&self, v: NodeId) -> Peers<'_> {
        match self {
            Graph::Complete { n } => Peers::All { n: *n, me: v },
            Graph::Csr { off, adj } => {
                Peers::List(&adj[off[v as usize] as usize..off[v as usize + 1] as usize])
            }
        }
    }

    /// Number of undirected edges.
    pub fn edge_count(&self) -> u64 {
        match self {
            Graph::Complete { n } => *n as u64 * (*n as u64).saturating_sub(1) / 2,
            Graph::Csr { adj, .. } => adj.len() as u64 / 2,
        }
    }

    /// Nodes reachable from `from` through nodes for which `ok` holds.
    pub fn component(&self, n: u32, from: NodeId, ok: impl Fn(NodeId) -> bool) -> Vec<bool> {
        let mut seen = vec![false; n as usize];
        if !ok(from) {
            return seen;
        }
        let mut stack = vec![from];
        seen[from as usize] = true;
        while let Some(v) = stack.pop() {
            for w in self.peers(v).iter() {
                if !seen[w as usize] && ok(w) {
                    seen[w as usize] = true;
                    stack.push(w);
                }
            }
        }
        seen
    }
}

/// The neighbours of one node, without allocating.
#[derive(Clone, Copy, Debug)]
pub enum Peers<'a> {
    /// Every node but `me`.
    All {
        /// Number of nodes in the graph.
        n: u32,
        /// The node itself, left out.
        me: NodeId,
    },
    /// These nodes, sorted by id.
    List(&'a [NodeId]),
}

impl<'a> Peers<'a> {
    /// Number of neighbours.
    #[inline]
    pub fn len(&self) -> usize {
        match self {
            Peers::All { n, .. } => n.saturating_sub(1) as usize,
            Peers::List(l) => l.len(),
        }
    }
    /// True when the node has no neighbour.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The `i`-th neighbour, `i < len()`.
    #[inline]
    pub fn get(&self, i: usize) -> NodeId {
        match *self {
            Peers::All { me, .. } => {
                let i = i as NodeId;
                if i < me {
                    i
                } else {
                    i + 1
                }
            }
            Peers::List(l) => l[i],
        }
    }
    /// The neighbours in order of `get`: ascending ids.
    pub fn iter(self) -> impl Iterator<Item = NodeId> + 'a {
        (0..self.len()).map(move |i| self.get(i))
    }
}
