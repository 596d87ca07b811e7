//! Event-queue benchmarks: the calendar `EventQueue` against a
//! `BinaryHeap<Reverse<(time, seq, payload)>>` baseline on the same workloads.
//!
//! Run with `cargo bench --bench queue` (about a minute in total).
//! Each iteration of the `hold`, `same_time` and `bimodal` groups is one pop
//! plus one push; the delays are drawn up front (ChaCha8Rng seeded 1) so the
//! numbers are the queue's cost alone.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::Duration;

use agentsim::engine::queue::EventQueue;
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rand_chacha::ChaCha8Rng;
use rand_core::{RngCore, SeedableRng};

const MS: f64 = 1_000_000.0;
/// Pre-drawn delays, cycled through.
const DELAYS: usize = 1 << 16;

/// The operations the workloads need, for both implementations.
trait Pending {
    fn new() -> Self;
    fn push(&mut self, time: u64, payload: u32);
    fn pop(&mut self) -> Option<(u64, u32)>;
}

impl Pending for EventQueue<u32> {
    fn new() -> Self {
        EventQueue::new()
    }
    #[inline]
    fn push(&mut self, time: u64, payload: u32) {
        EventQueue::push(self, time, payload);
    }
    #[inline]
    fn pop(&mut self) -> Option<(u64, u32)> {
        EventQueue::pop(self).map(|e| (e.time, e.event))
    }
}

/// Baseline: a binary heap ordered by (time, seq).
struct Heap {
    heap: BinaryHeap<Reverse<(u64, u64, u32)>>,
    seq: u64,
}

impl Pending for Heap {
    fn new() -> Self {
        Heap {
            heap: BinaryHeap::new(),
            seq: 0,
        }
    }
    #[inline]
    fn push(&mut self, time: u64, payload: u32) {
        self.heap.push(Reverse((time, self.seq, payload)));
        self.seq += 1;
    }
    #[inline]
    fn pop(&mut self) -> Option<(u64, u32)> {
        self.heap.pop().map(|Reverse((t, _, p))| (t, p))
    }
}

fn uniform(rng: &mut ChaCha8Rng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Exponential with the given mean, by inversion.
fn exp(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    -(1.0 - uniform(rng)).ln() * mean
}

/// PHOLD hold delays: 1 ms + Exp(mean 1 ms).
fn hold_delays() -> Vec<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    (0..DELAYS)
        .map(|_| (MS + exp(&mut rng, MS)) as u64)
        .collect()
}

/// 95% Exp(mean 2 ms), 5% timers 1 s + U(0, 5 s).
fn bimodal_delays() -> Vec<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    (0..DELAYS)
        .map(|_| {
            if uniform(&mut rng) < 0.95 {
                exp(&mut rng, 2.0 * MS) as u64
            } else {
                (1000.0 * MS + uniform(&mut rng) * 5000.0 * MS) as u64
            }
        })
        .collect()
}

/// A queue pre-filled with `n` events at `delays` from time 0.
fn filled<Q: Pending>(n: usize, delays: &[u64]) -> Q {
    let mut q = Q::new();
    for i in 0..n {
        q.push(delays[i % delays.len()], i as u32);
    }
    q
}

/// One hold step: pop the next event, reschedule it after the next delay.
#[inline]
fn hold_step<Q: Pending>(q: &mut Q, delays: &[u64], i: &mut usize) -> u64 {
    let (now, payload) = q.pop().expect("hold queue never empties");
    let d = delays[*i & (DELAYS - 1)];
    *i += 1;
    q.push(now + d, payload);
    now
}

fn bench_steady<Q: Pending>(
    group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
    name: &str,
    n: usize,
    delays: &[u64],
) {
    let mut q: Q = filled(n, delays);
    let mut i = n;
    group.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
        b.iter(|| black_box(hold_step(&mut q, delays, &mut i)))
    });
}

fn hold(c: &mut Criterion) {
    let delays = hold_delays();
    let mut group = c.benchmark_group("EventQueue::hold");
    group
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .sample_size(20)
        .throughput(Throughput::Elements(1));
    for n in [1_000, 100_000, 1_000_000] {
        bench_steady::<EventQueue<u32>>(&mut group, "calendar", n, &delays);
        bench_steady::<Heap>(&mut group, "binary_heap", n, &delays);
    }
    group.finish();
}

fn bimodal(c: &mut Criterion) {
    let delays = bimodal_delays();
    let mut group = c.benchmark_group("EventQueue::bimodal");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .throughput(Throughput::Elements(1));
    let n = 100_000;
    bench_steady::<EventQueue<u32>>(&mut group, "calendar", n, &delays);
    bench_steady::<Heap>(&mut group, "binary_heap", n, &delays);
    group.finish();
}

/// 10k events at one time; every pop pushes again at the same time (FIFO).
fn same_time(c: &mut Criterion) {
    fn run<Q: Pending>(
        group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
        name: &str,
    ) {
        let n = 10_000;
        let mut q: Q = filled(n, &[5 * MS as u64]);
        group.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
            b.iter(|| {
                let (now, payload) = q.pop().expect("never empties");
                q.push(now, payload);
                black_box(now)
            })
        });
    }
    let mut group = c.benchmark_group("EventQueue::same_time");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .throughput(Throughput::Elements(1));
    run::<EventQueue<u32>>(&mut group, "calendar");
    run::<Heap>(&mut group, "binary_heap");
    group.finish();
}

/// Fill 1000 events, drain to empty, refill ~17 minutes later; per event.
fn drain_refill(c: &mut Criterion) {
    fn run<Q: Pending>(
        group: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>,
        name: &str,
        delays: &[u64],
    ) {
        let n = 1_000;
        let mut q = Q::new();
        let mut base = 0u64;
        let mut i = 0usize;
        group.bench_with_input(BenchmarkId::new(name, n), &n, |b, _| {
            b.iter(|| {
                for k in 0..n {
                    q.push(base + delays[(i + k) & (DELAYS - 1)], k as u32);
                }
                i += n;
                let mut last = 0;
                while let Some((t, _)) = q.pop() {
                    last = t;
                }
                base = last + 1_000_000_000_000;
                black_box(last)
            })
        });
    }
    let delays = hold_delays();
    let mut group = c.benchmark_group("EventQueue::drain_refill");
    group
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
        .throughput(Throughput::Elements(1_000));
    run::<EventQueue<u32>>(&mut group, "calendar", &delays);
    run::<Heap>(&mut group, "binary_heap", &delays);
    group.finish();
}

criterion_group!(benches, hold, bimodal, same_time, drain_refill);
criterion_main!(benches);
