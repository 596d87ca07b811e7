//! Seeded random streams and the one place where sampling methods are defined.
//!
//! ```text
//!  seed (u64) ──► ChaCha8 key ──┬─ stream 0: network (latency, loss, duplication)
//!                               ├─ stream 1: faults (crash and partition processes)
//!                               ├─ stream 2: workload
//!                               ├─ stream 3: topology (random graphs)
//!                               ├─ stream 4: node seeds (node i: words 2i, 2i+1)
//!                               ├─ stream 5: storage (write delays)
//!                               └─ stream 6: swarm (the fault mix `check --swarm` draws)
//! ```
//!
//! Every consumer draws from its own ChaCha stream, so one extra draw in one place
//! leaves every other consumer's sequence unchanged.
//!
//! **Nodes.** Repositioning a ChaCha8 generator costs about 150 ns (it
//! regenerates a 256-byte block), against under 2 ns for a sequential draw;
//! doing that at every callback would dominate the engine's cost per event. So
//! each node draws from its own 16-byte PCG-64 generator (128-bit MCG, XSL-RR
//! output: O'Neill's `pcg64_fast`) whose 128-bit state is words `2i` and
//! `2i+1` of the node-seed ChaCha stream, drawn sequentially for all nodes
//! when the run starts (about 3 ns per node). A node's sequence thus depends
//! only on the seed and its id, never on other consumers or on the order in
//! which nodes draw, and a million nodes cost 16 MB of generator state
//! ([`NodeStreams`]).
//!
//! All sampling methods (bounded integers, unit floats, exponential, log-normal,
//! Pareto) are written here, on top of raw `u64` draws, so that a dependency
//! upgrade cannot silently change them. Transcendental functions come from the
//! pure-Rust `libm` crate, which gives the same bits on every platform.
//!
//! **Exponential draws** use the ziggurat method (Marsaglia and Tsang 2000,
//! with 256 layers and Doornik's choice of separate bits for the layer and
//! the position in it): about 99% of draws are one `u64`, one multiplication
//! and one comparison; the rest use `libm`'s `exp` or `log`. The inverse CDF
//! `-ln(U)` cost a `libm::log` (about 20 ns) on every draw: a fifth of the
//! PHOLD benchmark, whose every event draws an exponential delay. The tables
//! are computed once with `libm`, so they too are the same everywhere.

use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};
use std::sync::OnceLock;

/// Stream ids of the engine's consumers.
pub mod stream {
    /// Latency, loss and duplication draws.
    pub const NETWORK: u64 = 0;
    /// Crash and partition processes, drift, Byzantine picks.
    pub const FAULTS: u64 = 1;
    /// Workload arrivals, targets and submission contents.
    pub const WORKLOAD: u64 = 2;
    /// Random graphs.
    pub const TOPOLOGY: u64 = 3;
    /// The seeds of the nodes' own generators.
    pub const NODE_SEEDS: u64 = 4;
    /// Storage write delays.
    pub const STORAGE: u64 = 5;
    /// The fault mix of a seed under `check --swarm` (drawn before the run,
    /// so the run's own streams are those of the scenario it yields).
    pub const SWARM: u64 = 6;
}

/// A seeded ChaCha8 stream (engine consumers: network, faults, workload, topology).
#[derive(Clone, Debug)]
pub struct SimRng(ChaCha8Rng);

impl SimRng {
    /// Stream `stream` of the generator keyed by `seed`.
    pub fn new(seed: u64, stream: u64) -> SimRng {
        let mut r = ChaCha8Rng::seed_from_u64(seed);
        r.set_stream(stream);
        SimRng(r)
    }

    /// The next raw 64-bit draw of the stream.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
}

/// A node's own generator: PCG-64 (128-bit multiplicative congruential state,
/// XSL-RR output), seeded from the node's ChaCha stream.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeRng {
    /// Always odd once seeded; 0 means "not seeded yet".
    state: u128,
}

const PCG_MUL: u128 = 0x2360_ED05_1FC6_5DA4_4385_DF64_9FCC_F645;

impl NodeRng {
    /// A generator from 128 bits of seed material.
    pub fn from_words(hi: u64, lo: u64) -> NodeRng {
        NodeRng {
            state: (((hi as u128) << 64) | lo as u128) | 1,
        }
    }

    /// The generator of node `node` for `seed`, as [`NodeStreams`] builds it.
    pub fn for_node(seed: u64, node: u32) -> NodeRng {
        let mut c = ChaCha8Rng::seed_from_u64(seed);
        c.set_stream(stream::NODE_SEEDS);
        c.set_word_pos(4 * node as u128); // two u64 = four 32-bit words per node
        NodeRng::from_words(c.next_u64(), c.next_u64())
    }

    /// The next raw 64-bit draw (one PCG-64 step).
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_mul(PCG_MUL);
        let s = self.state;
        let rot = (s >> 122) as u32;
        (((s >> 64) as u64) ^ (s as u64)).rotate_right(rot)
    }
}

/// Right edge of the exponential ziggurat's base layer (256 layers).
const ZIG_EXP_R: f64 = 7.697_117_470_131_05;
/// The area of each layer.
const ZIG_EXP_V: f64 = 0.003_949_659_822_581_557;

/// Layer edges `x[i]` (descending, `x[256] = 0`) and densities `f[i] = exp(-x[i])`.
struct ZigguratExp {
    x: [f64; 257],
    f: [f64; 257],
}

fn zig_exp() -> &'static ZigguratExp {
    static TABLES: OnceLock<ZigguratExp> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut x = [0.0; 257];
        // The base layer is the strip under the tail, as wide as a layer of
        // area V would be: x[0] = V / f(R).
        x[0] = ZIG_EXP_V / libm::exp(-ZIG_EXP_R);
        x[1] = ZIG_EXP_R;
        for i in 2..256 {
            x[i] = -libm::log(ZIG_EXP_V / x[i - 1] + libm::exp(-x[i - 1]));
        }
        let f = x.map(|x| libm::exp(-x));
        ZigguratExp { x, f }
    })
}

/// The sampling methods, written once for both generator types.
macro_rules! sampling_methods {
    ($t:ty) => {
        impl $t {
            /// Uniform integer in `0..n` (Lemire's multiply-and-reject; exact, no modulo bias).
            /// `n == 0` returns 0.
            #[inline]
            pub fn below(&mut self, n: u64) -> u64 {
                if n == 0 {
                    return 0;
                }
                let mut m = (self.next_u64() as u128) * (n as u128);
                if (m as u64) < n {
                    let threshold = n.wrapping_neg() % n;
                    while (m as u64) < threshold {
                        m = (self.next_u64() as u128) * (n as u128);
                    }
                }
                (m >> 64) as u64
            }

            /// Uniform integer in `lo..=hi`.
            #[inline]
            pub fn range_inclusive(&mut self, lo: u64, hi: u64) -> u64 {
                debug_assert!(lo <= hi);
                if lo == 0 && hi == u64::MAX {
                    return self.next_u64();
                }
                lo + self.below(hi - lo + 1)
            }

            /// Uniform float in `[0, 1)` with 53 random bits.
            #[inline]
            pub fn unit(&mut self) -> f64 {
                (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
            }

            /// Uniform float in `(0, 1]`: safe to take the logarithm of.
            #[inline]
            pub fn unit_open0(&mut self) -> f64 {
                ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
            }

            /// True with probability `p` (`p <= 0` never draws true, `p >= 1` always).
            /// Always consumes exactly one draw, so the stream position does not depend on `p`.
            #[inline]
            pub fn chance(&mut self, p: f64) -> bool {
                self.unit() < p
            }

            /// Exponential with the given mean (see the module docs: a ziggurat).
            #[inline]
            pub fn exp(&mut self, mean: f64) -> f64 {
                mean * self.exp1()
            }

            /// Exponential with mean 1, by the ziggurat: a draw picks layer
            /// `i` (low 8 bits) and a point `u * x[i]` in it (top 53 bits).
            /// Inside the layer's rectangle under the next layer it is taken
            /// at once; the base layer's overhang is the tail beyond `R`,
            /// drawn as `R + Exp(1)` (memorylessness); in a layer's wedge a
            /// uniform height decides against the density.
            #[inline]
            pub fn exp1(&mut self) -> f64 {
                let t = zig_exp();
                loop {
                    let bits = self.next_u64();
                    let i = (bits & 0xff) as usize;
                    let u = (bits >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
                    let x = u * t.x[i];
                    if x < t.x[i + 1] {
                        return x;
                    }
                    if i == 0 {
                        return ZIG_EXP_R - libm::log(self.unit_open0());
                    }
                    if t.f[i + 1] + (t.f[i] - t.f[i + 1]) * self.unit() < libm::exp(-x) {
                        return x;
                    }
                }
            }

            /// Standard normal via Box–Muller (one of the pair; two draws).
            pub fn std_normal(&mut self) -> f64 {
                let u1 = self.unit_open0();
                let u2 = self.unit();
                libm::sqrt(-2.0 * libm::log(u1)) * libm::cos(2.0 * std::f64::consts::PI * u2)
            }

            /// Log-normal with the given median (`e^mu`) and shape `sigma`.
            pub fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
                median * libm::exp(sigma * self.std_normal())
            }

            /// Pareto (type I) with minimum `xm` and tail index `alpha`.
            pub fn pareto(&mut self, xm: f64, alpha: f64) -> f64 {
                xm / libm::pow(self.unit_open0(), 1.0 / alpha)
            }

            /// Uniformly chosen element index of a slice of length `len`.
            #[inline]
            pub fn index(&mut self, len: usize) -> usize {
                self.below(len as u64) as usize
            }

            /// Fisher–Yates shuffle.
            pub fn shuffle<T>(&mut self, v: &mut [T]) {
                for i in (1..v.len()).rev() {
                    let j = self.below(i as u64 + 1) as usize;
                    v.swap(i, j);
                }
            }
        }
    };
}

sampling_methods!(SimRng);
sampling_methods!(NodeRng);

/// Every node's generator (16 bytes per node), seeded in one sequential pass.
#[derive(Clone, Debug)]
pub struct NodeStreams {
    rngs: Vec<NodeRng>,
}

impl NodeStreams {
    /// The generators of nodes `0..nodes` for `seed`: node `i` gets words `2i`
    /// and `2i+1` of the node-seed stream.
    pub fn new(seed: u64, nodes: usize) -> Self {
        let mut c = SimRng::new(seed, stream::NODE_SEEDS);
        let rngs = (0..nodes)
            .map(|_| {
                let hi = c.next_u64();
                NodeRng::from_words(hi, c.next_u64())
            })
            .collect();
        NodeStreams { rngs }
    }

    /// Where `node`'s generator lives (for prefetching).
    #[inline]
    pub fn slot_ptr(&self, node: usize) -> *const NodeRng {
        self.rngs.as_ptr().wrapping_add(node)
    }

    /// The generator of `node`.
    #[inline]
    pub fn get(&mut self, node: u32) -> &mut NodeRng {
        &mut self.rngs[node as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(r: &mut SimRng, k: usize) -> Vec<u64> {
        (0..k).map(|_| r.next_u64()).collect()
    }

    #[test]
    fn extra_draws_on_one_stream_leave_others_unchanged() {
        let seed = 42;
        let mut a1 = SimRng::new(seed, stream::NETWORK);
        let mut b1 = SimRng::new(seed, stream::FAULTS);
        let mut a2 = SimRng::new(seed, stream::NETWORK);
        let mut b2 = SimRng::new(seed, stream::FAULTS);
        // Interleave differently and add extra draws to stream A in run 2.
        let x1 = take(&mut b1, 100);
        let _ = take(&mut a2, 37);
        let x2 = take(&mut b2, 100);
        assert_eq!(x1, x2);
        let _ = take(&mut a1, 37);
        assert_eq!(take(&mut a1, 10), take(&mut a2, 10));
    }

    #[test]
    fn node_streams_are_independent_of_access_order() {
        // Interleaved access with varying draw counts gives every node the same
        // sequence as drawing it straight through.
        let mut ns = NodeStreams::new(9, 3);
        let mut refs: Vec<NodeRng> = (0..3).map(|i| NodeRng::for_node(9, i)).collect();
        for round in 0..50u64 {
            for node in 0..3u32 {
                let k = ((round * 7 + node as u64 * 3) % 5) as usize;
                for _ in 0..k {
                    assert_eq!(ns.get(node).next_u64(), refs[node as usize].next_u64());
                }
            }
        }
        // Extra draws on node 0 do not move node 1.
        let mut a = ns.clone();
        for _ in 0..13 {
            a.get(0).next_u64();
        }
        assert_eq!(a.get(1).next_u64(), ns.get(1).next_u64());
        // Nodes and seeds give different sequences.
        assert_ne!(
            NodeRng::for_node(9, 0).next_u64(),
            NodeRng::for_node(9, 1).next_u64()
        );
        assert_ne!(
            NodeRng::for_node(9, 0).next_u64(),
            NodeRng::for_node(10, 0).next_u64()
        );
    }

    #[test]
    fn node_rng_is_uniform_in_every_bit() {
        let mut r = NodeRng::for_node(1, 0);
        let n = 100_000;
        let mut ones = [0u32; 64];
        for _ in 0..n {
            let x = r.next_u64();
            for (b, c) in ones.iter_mut().enumerate() {
                *c += ((x >> b) & 1) as u32;
            }
        }
        for (b, &c) in ones.iter().enumerate() {
            assert!((49_000..51_000).contains(&c), "bit {b}: {c}");
        }
    }

    #[test]
    fn different_seeds_differ() {
        let a = take(&mut SimRng::new(1, 0), 4);
        let b = take(&mut SimRng::new(2, 0), 4);
        assert_ne!(a, b);
    }

    #[test]
    fn below_is_in_range_and_roughly_uniform() {
        let mut r = SimRng::new(3, 0);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            counts[r.below(7) as usize] += 1;
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "{counts:?}");
        }
        assert_eq!(r.below(1), 0);
        assert_eq!(r.below(0), 0);
    }

    #[test]
    fn ziggurat_tables_close_the_top_layer() {
        // With the right R and V for 256 layers the recurrence ends at the
        // mode: the top layer's lower edge is near 0 and its area is V.
        let t = zig_exp();
        assert!(t.x[255] > 0.0 && t.x[255] < 0.1, "{}", t.x[255]);
        let top = t.x[255] * (1.0 - t.f[255]);
        assert!((top - ZIG_EXP_V).abs() < 1e-9 * ZIG_EXP_V, "{top}");
        assert!(t.x.windows(2).all(|w| w[0] > w[1]));
    }

    /// Kolmogorov–Smirnov distance of `v` (sorted) from the CDF `cdf`.
    fn ks(v: &[f64], cdf: impl Fn(f64) -> f64) -> f64 {
        let n = v.len() as f64;
        v.iter()
            .enumerate()
            .map(|(i, &x)| {
                let c = cdf(x);
                (c - i as f64 / n).abs().max((c - (i + 1) as f64 / n).abs())
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn exponential_matches_its_distribution_body_and_tail() {
        let n = 1_000_000;
        for seed in [1, 2] {
            let mut r = SimRng::new(seed, 0);
            let mut v: Vec<f64> = (0..n).map(|_| r.exp1()).collect();
            v.sort_by(f64::total_cmp);
            // KS critical value at the 0.1% level: 1.95 / sqrt(n).
            let d = ks(&v, |x| 1.0 - (-x).exp());
            assert!(d < 1.95 / (n as f64).sqrt(), "seed {seed}: KS distance {d}");
            // The tail beyond the base layer's edge (R = 7.7): P(X > 8) = e^-8.
            let beyond = v.iter().filter(|&&x| x > 8.0).count() as f64;
            let want = n as f64 * (-8.0f64).exp();
            assert!(
                (beyond - want).abs() < 5.0 * want.sqrt(),
                "{beyond} vs {want}"
            );
            // Within the tail it is again exponential: P(X > 10 | X > 8) = e^-2.
            let far = v.iter().filter(|&&x| x > 10.0).count() as f64;
            assert!(
                (far / beyond - (-2.0f64).exp()).abs() < 0.05,
                "{far} / {beyond}"
            );
        }
        // NodeRng shares the code.
        let mut r = NodeRng::from_words(3, 4);
        let mean = (0..n).map(|_| r.exp(2.0)).sum::<f64>() / n as f64;
        assert!((mean - 2.0).abs() < 0.01, "{mean}");
    }

    #[test]
    fn sampling_moments() {
        let mut r = SimRng::new(5, 0);
        let n = 200_000;
        let mean_exp: f64 = (0..n).map(|_| r.exp(2.0)).sum::<f64>() / n as f64;
        assert!((mean_exp - 2.0).abs() < 0.03, "{mean_exp}");
        let mut ln: Vec<f64> = (0..n).map(|_| r.lognormal(10.0, 0.5)).collect();
        ln.sort_by(f64::total_cmp);
        let median = ln[n / 2];
        assert!((median - 10.0).abs() < 0.1, "{median}");
        // Pareto alpha=3, xm=1: mean = alpha/(alpha-1) = 1.5
        let mean_p: f64 = (0..n).map(|_| r.pareto(1.0, 3.0)).sum::<f64>() / n as f64;
        assert!((mean_p - 1.5).abs() < 0.03, "{mean_p}");
    }
}
