//! The pending-event set: a calendar queue (Brown 1988) adapted for exact
//! `(time, seq)` order.
//!
//! # Ordering guarantee
//!
//! Events come out in ascending `(time, seq)` order, where `seq` is the
//! queue's global push counter. **Equal times: FIFO by seq**: events with the
//! same time come out in the order they were pushed. Only time and seq decide
//! the order; the payload is never compared (`E` has no trait bounds).
//!
//! # Structure
//!
//! Time is cut into buckets of `2^shift` ns, so `time >> shift` is an event's
//! absolute bucket. A ring of `2^k` buckets (slot = bucket `& mask`) holds the
//! buckets after the current one, one "year"; later events wait in an
//! overflow heap and move into the ring as it advances.
//!
//! ```text
//!  current bucket             ring: buckets cur+1 ..= cur+mask      overflow:
//!  run: sorted descending     (each unsorted: an open chunk         binary heap
//!  by (time, seq), pop from    plus a list of full chunks)          of events
//!  the back                                                         beyond the
//!  +---------------------+    +-------+-------+-- --+-------+       year
//!  | 9.5 9.1 8.7 8.2 8.2 |<---| cur+1 | cur+2 | ... | cur+m |<---- +--------+
//!  +---------------------+    +---+---+-------+-- --+---+---+      | (t,s)  |
//!  late: heap of pushes           |                     |          |  ...   |
//!  into the current bucket     [open]                [open]        +--------+
//!  behind run's minimum           |                              migrate when
//!                              [full]->[full]                    the ring moves
//! ```
//!
//! * **push**: an event within the year is appended to its bucket's open
//!   chunk (when that holds `chunk_cap` events it is filed on the bucket's
//!   list of full chunks and a pooled empty buffer takes its place). An event
//!   beyond the year goes to the overflow heap. An event in the current bucket
//!   goes to the back of `run` if it is the new minimum, else into `late`.
//! * **pop**: the smaller of `run`'s back and `late`'s top. When `run` is
//!   empty, a non-empty `late` is sorted into it in one go; otherwise the ring
//!   steps to the next non-empty bucket (or, if the ring is empty, jumps to
//!   the overflow minimum), moves its chunks into `run` and sorts it once.
//!   Chunks are moved newest first, each reversed, so events pushed in order
//!   (e.g. thousands at one time) arrive already sorted: an O(b) sort.
//! * **look-ahead** ([`EventQueue::with_look_ahead`], for a caller that
//!   prefetches what the next events will touch): a pop that leaves
//!   [`PEEK_AHEAD`] events or fewer in `run` makes the next buckets current
//!   early while they are non-empty, their events sorted in behind the ones
//!   left, so [`EventQueue::peek_ahead`] sees across a bucket's end.
//! * **width**: a power of two giving `FILL` (3) events per bucket at the
//!   front of the queue, from the spacing of the earliest events (the time
//!   span of the 65 earliest, over 64; found in one O(n) pass). The ring has about one bucket per pending
//!   event, but at most 4096: with more events, buckets get fuller
//!   (`3 n / 4096` events each) instead of more numerous.
//! * **re-tune** (a rebuild, O(n)): (a) when the size has doubled or halved
//!   since the last check, unless a cheap check shows the current layout is
//!   still fine (same ring size and chunk size, and the width re-estimated
//!   from the events at the front is within a factor 4). A ring up to 8 times
//!   too big is kept: it costs memory, not time. (b) When cheap counters,
//!   read once per window of about `len` events, show drained buckets 16
//!   times fuller than planned, more than 16 empty buckets skipped per event,
//!   or more than 1 push in 8 landing beyond the year. A re-tune that leaves
//!   the width unchanged doubles that window, so e.g. thousands of events at
//!   one time (no width can spread them) do not cause repeated rebuilds.
//! * **refill after draining**: a push into an empty queue moves the ring so
//!   that it starts a quarter of a year before the event.
//!
//! **Small mode.** A fresh queue keeps its events' keys `(time, seq, slot)`
//! in one sorted array (ascending from a head index: a pop takes the front)
//! and their payloads in up to 64 slots, until a push would make it hold
//! more than 64 events; one re-tune then builds the calendar. A push walks
//! in from the nearer end (judged by the middle key), moving keys of 24
//! bytes one place as it goes: an election's replies land near the front
//! and its timers near the back, so few keys move.
//! At a few dozen events this beats a binary heap, whose pop moves an entry
//! down every level, and a sorted array of whole events (about 7% faster
//! per 5-node election). A complete 5-node election (about 20 events, at
//! most ~20 pending) never pays for the calendar's machinery.
//!
//! Why not one bucket per event, as in the textbook calendar queue: with a
//! million pending events, every push then lands in a random bucket out of a
//! million and every bucket visited is a cache miss. Capping the ring keeps
//! the 4096 open chunks and the ring's bookkeeping in cache; each drained
//! bucket is read sequentially and sorted in cache. In the `EventQueue::hold`
//! bench at 1e6 pending events this was about 2.5 times faster than one
//! bucket per event (as a linked list in a slab, or a `Vec` each). Chunked
//! buckets keep memory close to the events themselves: with one growable
//! `Vec` per bucket, every bucket keeps the capacity of its fullest moment,
//! which was 4 to 8 times the events in the hold model. Chunks and buffers
//! are recycled: no allocation per event in steady state.
//!
//! # Complexity
//!
//! With `n` pending events and a width within a small factor of the plan:
//! push O(1); pop O(1) amortised plus the one-off sort of its bucket, i.e.
//! O(log b) per event for buckets of `b` (about `max(3, 3n/4096)`) events;
//! events beyond the year pay O(log m) in an overflow heap of `m` events.
//! Re-tunes are O(n), at most one per Theta(n) operations: amortised O(1).
//! Events pushed at the current time cost O(1) amortised (kept sorted in
//! bulk, not one by one). Per-event cost stays nearly flat from 1e3 to 1e6
//! pending events.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::time::SimTime;

/// An event taken out of the queue, with the key that ordered it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduled<E> {
    /// When the event fires, in ns of virtual time.
    pub time: SimTime,
    /// Insertion counter: among events at the same time, the one pushed first pops first.
    pub seq: u64,
    /// What was scheduled.
    pub event: E,
}

/// "No chunk" marker for the chunk lists.
const NIL: u32 = u32::MAX;
/// Up to this many pending events (since creation) the queue stays in small
/// mode: tiny runs (a 5-node election has about 20 events) skip the calendar's setup.
const SMALL_MAX: u64 = 64;
/// Fewest ring buckets.
const MIN_BUCKETS: usize = 64;
/// Most ring buckets: beyond this, buckets get fuller instead of more.
const MAX_BUCKETS: usize = 1 << 12;
/// Planned events per bucket at the front of the queue, when not capped.
const FILL: u64 = 3;
/// How far ahead [`EventQueue::peek_ahead`] sees across buckets with the
/// look-ahead on: after a pop, `run` holds more than this many events
/// unless the bucket after it is empty. Without it, the events a bucket's
/// end away were not prefetched: in the bus bench (about 22 events per
/// bucket) 12% of the deliveries two events ahead, 21% four ahead.
pub const PEEK_AHEAD: usize = 4;
/// Chunk capacity bounds (events).
const MIN_CHUNK: usize = 4;
const MAX_CHUNK: usize = 64;
/// How many of the earliest events the width estimate looks at.
const SAMPLE: usize = 64;
/// Size checks start above this many pending events (and go on while the
/// size stays above twice this).
const MIN_TUNE_LEN: usize = 64;
/// Re-tune if drained buckets held this many times the planned events.
const TOO_FULL: u64 = 16;
/// Re-tune if more than this many empty buckets were skipped per event.
const TOO_EMPTY: u64 = 16;
/// Re-tune if more than 1 in this many pushes went beyond the ring.
const TOO_FAR: u64 = 8;
/// Shortest stats window (events + skipped buckets) between two checks.
const MIN_WINDOW: u64 = 1024;
/// Largest window doubling for re-tunes that did not change the width.
const MAX_BACKOFF: u32 = 16;

/// Heap adaptor: the smallest `(time, seq)` is the heap's maximum.
struct MinFirst<E>(Scheduled<E>);

impl<E> MinFirst<E> {
    #[inline]
    fn key(&self) -> (SimTime, u64) {
        (self.0.time, self.0.seq)
    }
}
impl<E> PartialEq for MinFirst<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}
impl<E> Eq for MinFirst<E> {}
impl<E> PartialOrd for MinFirst<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for MinFirst<E> {
    #[inline]
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

/// A full chunk on a bucket's list (linked newest to oldest), or an empty
/// buffer on the free list.
struct Chunk<E> {
    items: Vec<Scheduled<E>>,
    next: u32,
}

/// Cheap counters deciding when the bucket width is off.
#[derive(Default)]
struct Stats {
    /// Buckets drained (each sorted once).
    gathers: u64,
    /// Events that came out of them, plus pushes into the current bucket.
    events: u64,
    /// Empty buckets stepped over.
    skipped: u64,
    /// Pushes beyond the ring's year.
    far: u64,
    /// Check the counters once `events + skipped` reaches this.
    window: u64,
    /// Window doubling exponent, raised when a re-tune changed nothing.
    backoff: u32,
    /// Size checks and rebuilds so far (for tests).
    resizes: u64,
    retunes: u64,
}

/// Pending events, popped in ascending `(time, seq)` order.
/// See the module documentation for the structure.
pub struct EventQueue<E> {
    /// Bucket width is `1 << shift` ns.
    shift: u32,
    /// Ring size minus one (the ring size is a power of two).
    mask: u64,
    /// Absolute bucket being drained; the ring holds `cur+1 ..= cur+mask`.
    cur: u64,
    /// Each ring bucket's open chunk, the one pushes append to (at most
    /// `chunk_cap` events); only the first `mask + 1` are in use.
    buckets: Vec<Vec<Scheduled<E>>>,
    /// Each ring bucket's list of full chunks, newest first (`NIL`: none).
    full: Vec<u32>,
    /// Chunk pool: full chunks filed away, and free ones linked from `free`.
    chunks: Vec<Chunk<E>>,
    free: u32,
    chunk_cap: usize,
    /// Events in the ring.
    ring_len: usize,
    /// The current bucket, sorted descending by `(time, seq)`.
    run: Vec<Scheduled<E>>,
    /// Pushes into the current bucket that were not below its minimum.
    late: BinaryHeap<MinFirst<E>>,
    /// Events beyond the ring's year.
    overflow: BinaryHeap<MinFirst<E>>,
    next_seq: u64,
    /// Events popped so far (`len = next_seq - popped`).
    popped: u64,
    /// Time of the last popped event; pushes must not go below it.
    last_time: SimTime,
    /// Planned events per bucket.
    fill: u64,
    /// Sizes that trigger a re-tune.
    grow_at: u64,
    shrink_at: u64,
    stats: Stats,
    /// Small mode: until the queue would hold more than [`SMALL_MAX`] events,
    /// everything lives in `small`.
    small_mode: bool,
    small: Small<E>,
    /// Pops top `run` up ([`EventQueue::with_look_ahead`]).
    look_ahead: bool,
}

/// Small mode's pending events: their keys in a sorted array, their payloads
/// in slots. A push is a binary search and a move of the shorter side of the
/// keys (24 bytes each, not whole events); a pop takes the first key.
struct Small<E> {
    /// Keys ascending from `head`; `keys[..head]` were popped.
    keys: Vec<SmallKey>,
    head: usize,
    /// Payloads, at most [`SMALL_MAX`]; bit `i` of `used` is set while slot
    /// `i` holds a pending event (a free slot is the lowest clear bit).
    slots: Vec<Option<E>>,
    used: u64,
}

#[derive(Clone, Copy)]
struct SmallKey {
    time: SimTime,
    seq: u64,
    slot: u32,
}

impl SmallKey {
    #[inline(always)]
    fn key(&self) -> u128 {
        ((self.time as u128) << 64) | self.seq as u128
    }
}

impl<E> Small<E> {
    fn new() -> Self {
        Small {
            keys: Vec::new(),
            head: 0,
            slots: Vec::new(),
            used: 0,
        }
    }

    #[inline]
    fn len(&self) -> usize {
        self.keys.len() - self.head
    }

    /// Adds `e`; the caller keeps `len() < SMALL_MAX`.
    #[inline]
    fn insert(&mut self, e: Scheduled<E>) {
        debug_assert!(self.len() < SMALL_MAX as usize);
        if self.keys.capacity() == 0 {
            // One allocation each for a typical small run, not a few regrowths.
            self.keys.reserve(SMALL_MAX as usize / 2);
            self.slots.reserve(SMALL_MAX as usize / 2);
        }
        let slot = (!self.used).trailing_zeros();
        self.used |= 1 << slot;
        if slot as usize == self.slots.len() {
            self.slots.push(Some(e.event));
        } else {
            self.slots[slot as usize] = Some(e.event);
        }
        let new = SmallKey {
            time: e.time,
            seq: e.seq,
            slot,
        };
        let k = new.key();
        let (head, len) = (self.head, self.keys.len());
        // Each side is walked one key at a time, moving keys as it goes (an
        // insertion-sort step): for the few keys moved here that beats a
        // search followed by a call to memmove.
        if head > 0 && k < self.keys[head + (len - head) / 2].key() {
            // In the front half: move the earlier keys one place down.
            let mut j = head - 1;
            while j + 1 < len && self.keys[j + 1].key() < k {
                self.keys[j] = self.keys[j + 1];
                j += 1;
            }
            self.keys[j] = new;
            self.head -= 1;
            return;
        }
        if head > 0 && head >= len - head {
            // Mostly popped space in front: compact before growing.
            self.keys.drain(..head);
            self.head = 0;
        }
        self.keys.push(new);
        let mut j = self.keys.len() - 1;
        while j > self.head && self.keys[j - 1].key() > k {
            self.keys[j] = self.keys[j - 1];
            j -= 1;
        }
        self.keys[j] = new;
    }

    #[inline]
    fn front(&self) -> Option<&SmallKey> {
        self.keys.get(self.head)
    }

    #[inline]
    fn pop(&mut self) -> Option<Scheduled<E>> {
        let k = *self.keys.get(self.head)?;
        self.head += 1;
        if self.head == self.keys.len() {
            self.keys.clear();
            self.head = 0;
        }
        self.used &= !(1 << k.slot);
        let event = self.slots[k.slot as usize]
            .take()
            .expect("a pending key has its payload");
        Some(Scheduled {
            time: k.time,
            seq: k.seq,
            event,
        })
    }

    /// The payload `k` places ahead of the next event.
    #[inline]
    fn get(&self, k: usize) -> Option<&E> {
        let key = self.keys.get(self.head + k)?;
        self.slots[key.slot as usize].as_ref()
    }

    /// Takes every pending event out, in order.
    fn drain(&mut self) -> impl Iterator<Item = Scheduled<E>> + '_ {
        let head = std::mem::take(&mut self.head);
        self.used = 0;
        let slots = &mut self.slots;
        self.keys.drain(..).skip(head).map(|k| Scheduled {
            time: k.time,
            seq: k.seq,
            event: slots[k.slot as usize]
                .take()
                .expect("a pending key has its payload"),
        })
    }
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    /// An empty queue.
    pub fn new() -> Self {
        EventQueue {
            shift: 10,
            // No ring yet: small mode needs none, and the re-tune that ends
            // small mode sizes it (so a fresh queue allocates nothing).
            mask: 0,
            cur: 0,
            buckets: Vec::new(),
            full: Vec::new(),
            chunks: Vec::new(),
            free: NIL,
            chunk_cap: MIN_CHUNK,
            ring_len: 0,
            run: Vec::new(),
            late: BinaryHeap::new(),
            overflow: BinaryHeap::new(),
            next_seq: 0,
            popped: 0,
            last_time: 0,
            fill: FILL,
            grow_at: MIN_TUNE_LEN as u64,
            shrink_at: 0,
            stats: Stats {
                window: MIN_WINDOW,
                ..Stats::default()
            },
            small_mode: true,
            small: Small::new(),
            look_ahead: false,
        }
    }

    /// A queue whose pops keep [`PEEK_AHEAD`] events visible across
    /// adjacent buckets (see [`EventQueue::peek_ahead`]), for a caller that
    /// prefetches. Off by default: it costs a few ns per event (more sorting
    /// and moving in `run`), which only pays where the events touch memory
    /// out of cache.
    pub fn with_look_ahead() -> Self {
        EventQueue {
            look_ahead: true,
            ..EventQueue::new()
        }
    }

    /// Schedules `event` at `time` and returns its seq.
    ///
    /// `seq` is a global counter incremented at every push (starting at 0).
    /// Precondition: `time` is not before the time of the last popped event
    /// (checked in debug builds; in release such an event comes out next).
    #[inline]
    pub fn push(&mut self, time: SimTime, event: E) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.insert(Scheduled { time, seq, event });
        seq
    }

    /// Hands out the next seq without scheduling anything: for events the
    /// caller keeps outside the queue (and merges back by `(time, seq)`), so
    /// that they still take their place in the one global order.
    #[inline]
    pub fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        // Not pending here: counted as if already popped, so `len` holds.
        self.popped += 1;
        seq
    }

    /// Hands out the next `n` seqs at once (see [`EventQueue::take_seq`]).
    pub fn take_seqs(&mut self, n: u64) {
        self.next_seq += n;
        self.popped += n;
    }

    /// Schedules `event` under a seq handed out earlier by
    /// [`EventQueue::take_seq`] (or one popped and put back): the caller
    /// guarantees no pending event has the same `(time, seq)`.
    pub fn push_with_seq(&mut self, time: SimTime, seq: u64, event: E) {
        debug_assert!(seq < self.next_seq);
        self.popped -= 1;
        self.insert(Scheduled { time, seq, event });
    }

    #[inline]
    fn insert(&mut self, e: Scheduled<E>) {
        let time = e.time;
        debug_assert!(
            time >= self.last_time,
            "EventQueue::push into the past: {time} < {}",
            self.last_time
        );
        if self.small_mode {
            if self.small.len() < SMALL_MAX as usize {
                self.small.insert(e);
                return;
            }
            // The 65th pending event: build the calendar.
            self.small_mode = false;
            self.popped += 1; // `e` is not in yet
            self.retune();
            self.popped -= 1;
        }
        let abs = time >> self.shift;
        if self.next_seq - self.popped == 1 {
            // The queue was empty (drained, refilled later?): move the ring
            // so that it starts a quarter of a year before this event.
            self.cur = self.cur.max(abs.saturating_sub((self.mask + 1) / 4));
        }
        if abs <= self.cur {
            self.push_current(e);
        } else if abs - self.cur <= self.mask {
            self.insert_ring(abs, e);
        } else {
            self.push_far(e);
        }
        if self.next_seq - self.popped > self.grow_at {
            self.resized();
        }
    }

    /// Removes and returns the event with the smallest `(time, seq)`.
    #[inline]
    pub fn pop(&mut self) -> Option<Scheduled<E>> {
        if self.small_mode {
            let e = self.small.pop()?;
            self.last_time = e.time;
            self.popped += 1;
            return Some(e);
        }
        if self.run.is_empty() && !self.refill() {
            return None;
        }
        let e = match (self.run.last(), self.late.peek()) {
            (Some(r), Some(l)) if l.key() < (r.time, r.seq) => self.late.pop()?.0,
            _ => self.run.pop()?,
        };
        self.last_time = e.time;
        self.popped += 1;
        if self.next_seq - self.popped < self.shrink_at {
            self.resized();
        }
        if self.look_ahead && self.run.len() <= PEEK_AHEAD && self.next_bucket_is_full() {
            self.top_up();
        }
        Some(e)
    }

    /// Whether bucket `cur + 1` holds events (its slot holds no other
    /// bucket's: the ring is `cur + 1 ..= cur + mask`).
    #[inline]
    fn next_bucket_is_full(&self) -> bool {
        self.ring_len > 0
            && !self.buckets[(self.cur.wrapping_add(1) & self.mask) as usize].is_empty()
    }

    /// Keeps more than [`PEEK_AHEAD`] events in `run` while the buckets
    /// right after the current one hold events, so that
    /// [`EventQueue::peek_ahead`] sees across a bucket's end: those buckets
    /// are made current early, their events sorted in behind the few left.
    /// Nothing else changes: `run` and `late` hold exactly the events of the
    /// buckets up to `cur`, whichever those are, and a pop takes the smaller
    /// of their fronts. Only adjacent buckets, never across an empty one: a
    /// current bucket far ahead would send pushes before it through `late`.
    #[inline(never)]
    fn top_up(&mut self) {
        while self.run.len() <= PEEK_AHEAD && self.next_bucket_is_full() {
            self.advance();
        }
    }

    /// The key `(time, seq)` of the next event, without removing it.
    #[inline]
    pub fn peek_key(&mut self) -> Option<(SimTime, u64)> {
        if self.small_mode {
            return self.small.front().map(|k| (k.time, k.seq));
        }
        if self.run.is_empty() && !self.refill() {
            return None;
        }
        match (self.run.last(), self.late.peek()) {
            (Some(r), Some(l)) if l.key() < (r.time, r.seq) => Some(l.key()),
            (r, _) => r.map(|r| (r.time, r.seq)),
        }
    }

    /// An event about `k` places ahead (0: the next one), for prefetching:
    /// the `k`-th next of `run`, ignoring pushes into the current bucket
    /// that came out of order; None if `run` holds fewer. With
    /// [`EventQueue::with_look_ahead`], a pop tops `run` up to more than
    /// [`PEEK_AHEAD`] events from the buckets right after it.
    #[inline]
    pub fn peek_ahead(&self, k: usize) -> Option<&E> {
        if self.small_mode {
            return self.small.get(k);
        }
        self.run
            .len()
            .checked_sub(k + 1)
            .map(|i| &self.run[i].event)
    }

    /// Time of the next event, without removing it.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        if self.small_mode {
            return self.small.front().map(|k| k.time);
        }
        if self.run.is_empty() && !self.refill() {
            return None;
        }
        let r = self.run.last()?.time;
        Some(self.late.peek().map_or(r, |l| l.0.time.min(r)))
    }

    /// Number of pending events.
    #[inline]
    pub fn len(&self) -> usize {
        // Not a separate counter: one next to `next_seq` got merged with it
        // into a 16-byte update in `push`, which then stalled on
        // store-to-load forwarding after every `pop` (about +30% at 1e6).
        (self.next_seq - self.popped) as usize
    }

    /// True if no event is pending.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The seq the next push will receive.
    #[inline]
    pub fn next_seq(&self) -> u64 {
        self.next_seq
    }

    /// Push into the current bucket. `seq` is usually the largest yet, so the
    /// event goes behind every pending event with a time <= its own; one put
    /// back under an older seq ([`EventQueue::push_with_seq`]) lands in
    /// `late`, which orders by the whole key.
    #[inline(never)]
    fn push_current(&mut self, e: Scheduled<E>) {
        let below = |t: SimTime| e.time < t;
        if self.run.last().is_none_or(|r| below(r.time))
            && self.late.peek().is_none_or(|l| below(l.0.time))
        {
            // The new minimum of the current bucket.
            self.run.push(e);
        } else {
            self.late.push(MinFirst(e));
            self.stats.events += 1;
            if self.stats.events >= self.stats.window {
                self.check_stats();
            }
        }
    }

    /// Push beyond the ring's year.
    #[inline(never)]
    fn push_far(&mut self, e: Scheduled<E>) {
        self.overflow.push(MinFirst(e));
        self.stats.far += 1;
    }

    /// Appends to the bucket's open chunk; a full one is first filed away.
    #[inline(always)]
    fn insert_ring(&mut self, abs: u64, e: Scheduled<E>) {
        let slot = (abs & self.mask) as usize;
        self.ring_len += 1;
        let open = &mut self.buckets[slot];
        if open.len() >= self.chunk_cap {
            self.file_full_chunk(slot);
        }
        self.buckets[slot].push(e);
    }

    /// Moves the bucket's full open chunk to the front of its list of full
    /// chunks, and gives the bucket an empty buffer from the pool.
    #[inline(never)]
    fn file_full_chunk(&mut self, slot: usize) {
        let idx = if self.free != NIL {
            let idx = self.free;
            self.free = self.chunks[idx as usize].next;
            idx
        } else {
            let idx = u32::try_from(self.chunks.len())
                .ok()
                .filter(|&i| i != NIL)
                .expect("EventQueue: chunk pool exhausted");
            self.chunks.push(Chunk {
                items: Vec::with_capacity(self.chunk_cap),
                next: NIL,
            });
            idx
        };
        let chunk = &mut self.chunks[idx as usize];
        std::mem::swap(&mut chunk.items, &mut self.buckets[slot]);
        chunk.next = self.full[slot];
        self.full[slot] = idx;
    }

    /// Moves ring bucket `slot` into `run`, newest push first (the open
    /// chunk, then the full ones newest first, each reversed), so events
    /// pushed in `(time, seq)` order arrive already sorted descending.
    fn gather(&mut self, slot: usize) {
        move_reversed(&mut self.buckets[slot], &mut self.run);
        let mut idx = std::mem::replace(&mut self.full[slot], NIL);
        while idx != NIL {
            let chunk = &mut self.chunks[idx as usize];
            move_reversed(&mut chunk.items, &mut self.run);
            let next = chunk.next;
            chunk.next = self.free;
            self.free = idx;
            idx = next;
        }
    }

    /// Refills the empty `run`: from `late` if it has events, else from the
    /// next non-empty bucket. Returns false if the queue is empty.
    #[inline(never)]
    fn refill(&mut self) -> bool {
        debug_assert!(self.run.is_empty());
        if !self.late.is_empty() {
            // Sort the leftover pushes into the current bucket in one go;
            // the heap's buffer goes back to it.
            let mut v = std::mem::take(&mut self.late).into_vec();
            self.run.extend(v.drain(..).map(|m| m.0));
            self.late = BinaryHeap::from(v);
            sort_desc(&mut self.run);
            return true;
        }
        self.advance()
    }

    /// Makes the next non-empty bucket current, its events sorted into
    /// `run` (below any left there: they are all later). Returns false if no
    /// bucket or overflow event is left.
    fn advance(&mut self) -> bool {
        let before = self.run.len();
        if self.ring_len == 0 {
            // Nothing in the ring: jump straight to the overflow minimum.
            match self.overflow.peek() {
                None => return false,
                Some(top) => self.cur = top.0.time >> self.shift,
            }
        } else {
            let mut skipped = 0;
            let slot = loop {
                self.cur += 1;
                let slot = (self.cur & self.mask) as usize;
                if !self.buckets[slot].is_empty() {
                    break slot;
                }
                skipped += 1;
            };
            self.stats.skipped += skipped;
            self.gather(slot);
            self.ring_len -= self.run.len() - before;
            if self.look_ahead {
                self.prefetch_bucket(self.cur.wrapping_add(1));
            }
        }
        self.migrate();
        // All of them come after any left in `run` (earlier buckets): sort
        // them alone and put them in front.
        sort_desc(&mut self.run[before..]);
        self.run.rotate_left(before);
        self.stats.gathers += 1;
        self.stats.events += (self.run.len() - before) as u64;
        if self.stats.events + self.stats.skipped >= self.stats.window {
            self.check_stats();
        }
        true
    }

    /// The ring bucket a push at `time` would append to, if it goes to the
    /// ring (not the current bucket, not the overflow).
    #[inline]
    fn ring_slot(&self, time: SimTime) -> Option<usize> {
        let abs = time >> self.shift;
        (!self.small_mode && abs > self.cur && abs - self.cur <= self.mask)
            .then_some((abs & self.mask) as usize)
    }

    /// A hint for a push at `time` a few pushes from now: starts loading the
    /// header of the bucket it goes to. Changes nothing.
    #[inline]
    pub fn prefetch_push(&self, time: SimTime) {
        if let Some(slot) = self.ring_slot(time) {
            crate::engine::prefetch(self.buckets.as_ptr().wrapping_add(slot));
        }
    }

    /// A hint for a push at `time` a couple of pushes from now, its
    /// bucket's header loaded by [`EventQueue::prefetch_push`] earlier:
    /// starts loading the place the event goes to. Changes nothing.
    #[inline]
    pub fn prefetch_push_place(&self, time: SimTime) {
        if let Some(slot) = self.ring_slot(time) {
            let b = &self.buckets[slot];
            crate::engine::prefetch(b.as_ptr().wrapping_add(b.len()));
        }
    }

    /// Starts loading the open chunk of bucket `abs`, which the look-ahead
    /// gathers soon: its events were written long ago and are out of cache.
    #[inline]
    fn prefetch_bucket(&self, abs: u64) {
        let b = &self.buckets[(abs & self.mask) as usize];
        if b.is_empty() {
            return;
        }
        let start = b.as_ptr() as *const u8;
        // From the start's cache line to the end's.
        let end = std::mem::size_of_val(b.as_slice()) + start as usize % 64;
        let first = start.wrapping_sub(start as usize % 64);
        let mut off = 0;
        while off < end {
            crate::engine::prefetch(first.wrapping_add(off));
            off += 64;
        }
    }

    /// Moves overflow events that are now within the ring's year into it.
    fn migrate(&mut self) {
        while let Some(top) = self.overflow.peek() {
            let abs = top.0.time >> self.shift;
            if abs.saturating_sub(self.cur) > self.mask {
                break;
            }
            let Some(MinFirst(e)) = self.overflow.pop() else {
                break;
            };
            if abs <= self.cur {
                self.run.push(e);
            } else {
                self.insert_ring(abs, e);
            }
        }
    }

    /// At the end of a stats window: re-tunes if the width looks off.
    fn check_stats(&mut self) {
        let s = &self.stats;
        let too_full = s.events > TOO_FULL * self.fill * s.gathers.max(1);
        let too_empty = s.skipped > TOO_EMPTY * s.events;
        let too_far = s.far * TOO_FAR > s.events;
        if too_full || too_empty || too_far {
            let old = self.shift;
            self.retune();
            if self.shift == old {
                self.stats.backoff = (self.stats.backoff + 1).min(MAX_BACKOFF);
            } else {
                self.stats.backoff = 0;
            }
        }
        self.reset_stats();
    }

    /// Starts a new stats window of about `len` events (amortises re-tunes).
    fn reset_stats(&mut self) {
        let window = (self.len() as u64).max(MIN_WINDOW) << self.stats.backoff;
        let s = &mut self.stats;
        s.gathers = 0;
        s.events = 0;
        s.skipped = 0;
        s.far = 0;
        s.window = window;
    }

    /// The size doubled or halved since the last check: rebuild unless the
    /// ring and chunk sizes stay and the width re-estimated from the events
    /// at the front (cheap) is within a factor 4 of the current one.
    #[cold]
    #[inline(never)]
    fn resized(&mut self) {
        self.stats.resizes += 1;
        let n = self.len();
        let current = self.mask as usize + 1;
        let (buckets, fill) = ring_plan(n, current);
        let close = |s: u32| s.abs_diff(self.shift) <= 2;
        let same_ring = buckets == current && chunk_cap_for(fill) == self.chunk_cap;
        if same_ring && self.front_shift(fill).is_some_and(close) {
            self.fill = fill;
            self.set_size_thresholds(n);
        } else {
            self.retune();
        }
    }

    /// The width exponent `estimate_shift` would pick, from the earliest
    /// events only: the current bucket, then ring buckets in order until
    /// more than `SAMPLE` events are seen. None if that takes too long
    /// (then a full re-tune is due anyway) or there is no spacing to measure.
    fn front_shift(&self, fill: u64) -> Option<u32> {
        let mut times: Vec<SimTime> = Vec::with_capacity(2 * SAMPLE);
        times.extend(self.run.iter().map(|e| e.time));
        times.extend(self.late.iter().map(|m| m.0.time));
        let mut i = 1;
        while times.len() <= SAMPLE && i <= self.mask.min(8 * SAMPLE as u64) {
            let slot = (self.cur.wrapping_add(i) & self.mask) as usize;
            times.extend(self.buckets[slot].iter().map(|e| e.time));
            let mut idx = self.full[slot];
            while idx != NIL {
                let chunk = &self.chunks[idx as usize];
                times.extend(chunk.items.iter().map(|e| e.time));
                idx = chunk.next;
            }
            i += 1;
        }
        // Whole buckets were taken in time order, so these are the earliest.
        if times.len() <= SAMPLE {
            return None;
        }
        let min = times.iter().copied().min()?;
        let (_, kth, _) = times.select_nth_unstable(SAMPLE);
        let span = *kth - min;
        (span > 0).then(|| width_shift(span, SAMPLE as u64, fill))
    }

    fn set_size_thresholds(&mut self, n: usize) {
        self.grow_at = (2 * n).max(MIN_TUNE_LEN) as u64;
        self.shrink_at = if n >= 2 * MIN_TUNE_LEN {
            n as u64 / 2
        } else {
            0
        };
    }

    /// Rebuilds everything: ring size from the number of pending events,
    /// width from the spacing of the earliest ones. O(n).
    #[cold]
    #[inline(never)]
    fn retune(&mut self) {
        self.stats.retunes += 1;
        let len = self.len();
        // Collected roughly in time order (cheap k-th smallest below).
        let mut all = Vec::with_capacity(len);
        all.extend(self.small.drain());
        all.extend(self.run.drain(..).rev());
        all.extend(self.late.drain().map(|m| m.0));
        for i in 1..=self.mask {
            let slot = (self.cur.wrapping_add(i) & self.mask) as usize;
            if self.buckets[slot].is_empty() {
                continue;
            }
            all.append(&mut self.buckets[slot]);
            let mut idx = std::mem::replace(&mut self.full[slot], NIL);
            while idx != NIL {
                let chunk = &mut self.chunks[idx as usize];
                all.append(&mut chunk.items);
                idx = chunk.next;
            }
        }
        all.extend(self.overflow.drain().map(|m| m.0));
        self.ring_len = 0;
        debug_assert_eq!(all.len(), len);

        let n = all.len();
        let (buckets, fill) = ring_plan(n, self.mask as usize + 1);
        self.fill = fill;
        let min_time = all.iter().map(|e| e.time).min().unwrap_or(self.last_time);
        self.shift = estimate_shift(&all, min_time, self.fill, self.shift);
        self.mask = buckets as u64 - 1;
        self.cur = min_time >> self.shift;

        // Everything is empty now. Open chunks grow on demand up to
        // `chunk_cap`; keep about as many pooled chunks as will be needed.
        let chunk_cap = chunk_cap_for(self.fill);
        if chunk_cap != self.chunk_cap {
            self.chunk_cap = chunk_cap;
            self.chunks.clear();
            for open in &mut self.buckets {
                open.shrink_to(chunk_cap);
            }
        }
        // Only the first `buckets` are used; the rest keep their buffers for
        // when the ring grows again (drain-and-refill cycles).
        if self.buckets.len() < buckets {
            self.buckets.resize_with(buckets, Vec::new);
        }
        self.full.clear();
        self.full.resize(buckets, NIL);
        self.chunks.truncate(n / chunk_cap + buckets);
        self.free = NIL;
        for idx in (0..self.chunks.len()).rev() {
            self.chunks[idx].next = self.free;
            self.free = idx as u32;
        }

        let mut over = std::mem::take(&mut self.overflow).into_vec();
        for e in all {
            let abs = e.time >> self.shift;
            if abs <= self.cur {
                self.run.push(e);
            } else if abs - self.cur <= self.mask {
                self.insert_ring(abs, e);
            } else {
                over.push(MinFirst(e));
            }
        }
        self.overflow = BinaryHeap::from(over);
        sort_desc(&mut self.run);

        self.set_size_thresholds(n);
        self.reset_stats();
    }
}

/// Moves all of `from` to the end of `to`, last element first.
#[inline]
fn move_reversed<E>(from: &mut Vec<Scheduled<E>>, to: &mut Vec<Scheduled<E>>) {
    let start = to.len();
    to.append(from);
    to[start..].reverse();
}

/// Sorts descending by `(time, seq)`, so the minimum is at the back.
#[inline]
fn sort_desc<E>(v: &mut [Scheduled<E>]) {
    if v.len() > 1 {
        // One u128 key compares faster than a (u64, u64) tuple.
        v.sort_unstable_by_key(|e| std::cmp::Reverse(((e.time as u128) << 64) | e.seq as u128));
    }
}

/// The `k`-th smallest time (0-based, `k < all.len()`), in one pass with a
/// bounded max-heap of the `k + 1` smallest: O(n) for large `n`, no moves.
fn kth_smallest_time<E>(all: &[Scheduled<E>], k: usize) -> SimTime {
    let mut smallest = BinaryHeap::with_capacity(k + 1);
    for e in all {
        if smallest.len() <= k {
            smallest.push(e.time);
        } else if let Some(mut top) = smallest.peek_mut() {
            if e.time < *top {
                *top = e.time;
            }
        }
    }
    smallest.peek().copied().unwrap_or(0)
}

/// Bucket width exponent for `per_bucket` events per bucket, from the
/// spacing of the earliest events. Returns `fallback` if there is no spacing
/// to measure (fewer than two events, or all at one time).
fn estimate_shift<E>(
    all: &[Scheduled<E>],
    min_time: SimTime,
    per_bucket: u64,
    fallback: u32,
) -> u32 {
    let n = all.len();
    if n < 2 {
        return fallback;
    }
    let mut k = (n - 1).min(SAMPLE);
    let mut span = kth_smallest_time(all, k) - min_time;
    if span == 0 && k < n - 1 {
        // Many events share the earliest time: look further out.
        let mut times: Vec<SimTime> = all.iter().map(|e| e.time).collect();
        while span == 0 && k < n - 1 {
            k = (k * 8).min(n - 1);
            span = *times.select_nth_unstable(k).1 - min_time;
        }
    }
    if span == 0 {
        return fallback;
    }
    width_shift(span, k as u64, per_bucket)
}

/// Width exponent for `per_bucket` events per bucket when `k` events span
/// `span` ns: the power of two nearest (in log scale) to `span * per_bucket / k`.
fn width_shift(span: u64, k: u64, per_bucket: u64) -> u32 {
    let width = (span as u128 * per_bucket as u128 / k as u128).max(1);
    let floor = 127 - width.leading_zeros();
    // Round up past 2^floor * sqrt(2) (181/128).
    let round_up = width * 128 >= 181u128 << floor;
    (floor + u32::from(round_up)).min(63)
}

/// Chunk capacity for `fill` planned events per bucket.
fn chunk_cap_for(fill: u64) -> usize {
    (fill as usize)
        .next_power_of_two()
        .clamp(MIN_CHUNK, MAX_CHUNK)
}

/// Ring size and planned events per bucket for `n` pending events, given
/// the `current` ring size: about one bucket per event (within the bounds),
/// but a bigger ring is kept unless it is 8 times too big (a roomy ring
/// costs only memory; rebuilding it costs time).
fn ring_plan(n: usize, current: usize) -> (usize, u64) {
    let want = n.clamp(MIN_BUCKETS, MAX_BUCKETS).next_power_of_two();
    let buckets = if current >= want && current <= 8 * want {
        current
    } else {
        want
    };
    (buckets, FILL * (n as u64 / buckets as u64).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Reference model: a sorted map keyed by (time, seq).
    #[derive(Default)]
    struct Model {
        map: BTreeMap<(SimTime, u64), u32>,
    }

    /// Drives an `EventQueue` and the model side by side.
    struct Pair {
        q: EventQueue<u32>,
        m: Model,
        last: SimTime,
        next_seq: u64,
    }

    impl Pair {
        /// The same run on a queue without and with the look-ahead.
        fn both() -> [Pair; 2] {
            [
                Pair::with(EventQueue::new()),
                Pair::with(EventQueue::with_look_ahead()),
            ]
        }

        fn with(q: EventQueue<u32>) -> Self {
            Pair {
                q,
                m: Model::default(),
                last: 0,
                next_seq: 0,
            }
        }

        fn push(&mut self, time: SimTime) {
            let payload = self.next_seq as u32 ^ 0xdead_beef;
            let seq = self.q.push(time, payload);
            assert_eq!(seq, self.next_seq);
            self.next_seq += 1;
            self.m.map.insert((time, seq), payload);
            assert_eq!(self.q.len(), self.m.map.len());
        }

        /// A seq handed out without a push, to be put back later.
        fn take(&mut self) -> u64 {
            let seq = self.q.take_seq();
            assert_eq!(seq, self.next_seq);
            self.next_seq += 1;
            assert_eq!(self.q.len(), self.m.map.len());
            seq
        }

        fn push_with_seq(&mut self, time: SimTime, seq: u64) {
            let payload = seq as u32 ^ 0xdead_beef;
            self.q.push_with_seq(time, seq, payload);
            self.m.map.insert((time, seq), payload);
            assert_eq!(self.q.len(), self.m.map.len());
        }

        fn pop(&mut self) -> Option<Scheduled<u32>> {
            let got = self.q.pop();
            let want = self
                .m
                .map
                .pop_first()
                .map(|((time, seq), event)| Scheduled { time, seq, event });
            assert_eq!(got, want);
            assert_eq!(self.q.len(), self.m.map.len());
            assert_eq!(self.q.is_empty(), self.m.map.is_empty());
            if let Some(e) = &got {
                self.last = e.time;
            }
            if self.q.look_ahead && !self.q.small_mode {
                // Topped up: the look-ahead sees across adjacent buckets.
                assert!(
                    self.q.run.len() > PEEK_AHEAD || !self.q.next_bucket_is_full(),
                    "run {} after a pop, ring {}",
                    self.q.run.len(),
                    self.q.ring_len,
                );
            }
            got
        }

        fn peek(&mut self) {
            let want = self.m.map.keys().next().copied();
            assert_eq!(self.q.peek_key(), want);
            assert_eq!(self.q.peek_time(), want.map(|k| k.0));
            // Exact in small mode; in the calendar, within `run` while no
            // push came out of order (`late`).
            for k in 0..=PEEK_AHEAD {
                if self.q.small_mode || (self.q.late.is_empty() && k < self.q.run.len()) {
                    let want = self.m.map.values().nth(k);
                    assert_eq!(self.q.peek_ahead(k), want, "{k} ahead");
                }
            }
        }

        fn drain(&mut self) {
            while self.pop().is_some() {}
            assert!(self.q.is_empty());
        }
    }

    /// Tiny deterministic generator for the non-proptest stress tests.
    struct SplitMix(u64);
    impl SplitMix {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }

    #[test]
    fn seq_numbering() {
        let mut q = EventQueue::new();
        assert_eq!(q.next_seq(), 0);
        assert_eq!(q.push(10, 'a'), 0);
        assert_eq!(q.push(5, 'b'), 1);
        assert_eq!(q.push(10, 'c'), 2);
        assert_eq!(q.next_seq(), 3);
        assert_eq!(q.pop().map(|e| (e.seq, e.event)), Some((1, 'b')));
        // Popping does not touch the counter.
        assert_eq!(q.next_seq(), 3);
        assert_eq!(q.push(7, 'd'), 3);
        assert_eq!(q.next_seq(), 4);
        let rest: Vec<_> = std::iter::from_fn(|| q.pop()).map(|e| e.seq).collect();
        assert_eq!(rest, vec![3, 0, 2]);
        assert_eq!(q.pop(), None);
        assert_eq!(q.next_seq(), 4);
    }

    #[test]
    fn empty_queue() {
        let mut q: EventQueue<()> = EventQueue::default();
        assert!(q.is_empty());
        assert_eq!(q.len(), 0);
        assert_eq!(q.peek_time(), None);
        assert!(q.pop().is_none());
    }

    #[test]
    fn fifo_among_equal_times() {
        for mut p in Pair::both() {
            // Same-time events interleaved with earlier and later ones.
            for i in 0..3000u64 {
                p.push(1_000);
                if i % 3 == 0 {
                    p.push(999 - i / 10);
                }
                if i % 5 == 0 {
                    p.push(1_001 + i);
                }
            }
            let mut prev: Option<(SimTime, u64)> = None;
            let mut same_time = 0;
            while let Some(e) = p.pop() {
                if let Some(prev) = prev {
                    assert!(prev < (e.time, e.seq));
                }
                same_time += usize::from(e.time == 1_000);
                prev = Some((e.time, e.seq));
            }
            assert_eq!(same_time, 3000);
        }
    }

    #[test]
    fn fifo_same_time_while_draining() {
        // Events pushed at the current time while the current bucket is being
        // drained go behind the ones already there.
        for mut p in Pair::both() {
            for _ in 0..10_000 {
                p.push(42);
            }
            for i in 0..50_000 {
                let e = p.pop().unwrap();
                assert_eq!(e.time, 42);
                p.push(42);
                if i % 7 == 0 {
                    p.push(43);
                }
            }
            p.drain();
        }
    }

    #[test]
    fn same_time_burst_is_not_quadratic() {
        // 200k events at one time, each pop pushes another at the same time:
        // must stay cheap per op (this runs in well under a second).
        let mut q = EventQueue::new();
        for i in 0..200_000u32 {
            q.push(7, i);
        }
        for expect in 0..400_000u64 {
            let e = q.pop().unwrap();
            assert_eq!((e.time, e.seq), (7, expect));
            q.push(7, e.event);
        }
        assert_eq!(q.len(), 200_000);
    }

    #[test]
    fn huge_times_do_not_overflow() {
        for mut p in Pair::both() {
            let top = u64::MAX - 1;
            for t in [top, 0, top - 1, 1 << 63, top, 5, top, (1 << 63) - 1] {
                p.push(t);
            }
            for _ in 0..4 {
                p.pop();
            }
            for _ in 0..300 {
                p.push(top);
                p.push(top - 3);
            }
            p.pop();
            p.peek();
            // Many events at and near the end of time.
            for i in 0..1000 {
                p.push(top - (i % 4));
            }
            p.drain();
            // Start the clock at the very end.
            let mut q = EventQueue::new();
            q.push(top, 1);
            q.push(top, 2);
            assert_eq!(q.pop().map(|e| e.event), Some(1));
            q.push(top, 3);
            assert_eq!(q.pop().map(|e| e.event), Some(2));
            assert_eq!(q.pop().map(|e| e.event), Some(3));
            assert_eq!(q.pop(), None);
        }
    }

    #[test]
    fn size_thresholds_up_and_down() {
        for mut p in Pair::both() {
            let mut rng = SplitMix(3);
            let mut ring_sizes = Vec::new();
            for round in 0..3u64 {
                // Grow well past several doubling thresholds...
                for _ in 0..20_000 {
                    let t = p.last + rng.below(1_000_000 << round);
                    p.push(t);
                }
                ring_sizes.push(p.q.mask as usize + 1);
                // ...then shrink through the halving thresholds (with some churn).
                let mut i = 0;
                while p.q.len() > 50 {
                    p.pop();
                    if i % 4 == 0 {
                        let t = p.last + rng.below(1_000);
                        p.push(t);
                    }
                    i += 1;
                }
                ring_sizes.push(p.q.mask as usize + 1);
            }
            assert_eq!(ring_sizes[0], MAX_BUCKETS, "ring grew: {ring_sizes:?}");
            // Shrinks once it is more than 8 times too big (64 for 50 events).
            assert!(ring_sizes[1] <= 512, "ring shrank: {ring_sizes:?}");
            assert!(p.q.stats.retunes >= 10, "{}", p.q.stats.retunes);
            p.drain();
        }
    }

    #[test]
    fn repeated_drain_refill_mostly_skips_rebuilds() {
        // Same-shaped cycles: after the first, most size checks find the
        // layout still fine (the cheap path in `resized`).
        for mut p in Pair::both() {
            let mut rng = SplitMix(21);
            let mut base = 0u64;
            for _ in 0..20 {
                for _ in 0..1000 {
                    p.push(base + 1_000_000 + rng.below(4_000_000));
                }
                p.drain();
                base = p.last + 1_000_000_000_000;
            }
            let s = &p.q.stats;
            assert!(s.resizes > 2 * s.retunes, "{} {}", s.resizes, s.retunes);
        }
    }

    #[test]
    fn drain_to_empty_then_far_refill() {
        for mut p in Pair::both() {
            let mut rng = SplitMix(9);
            let mut base = 0u64;
            for round in 0..6 {
                for _ in 0..(500 << round) {
                    p.push(base + rng.below(10_000_000));
                }
                for _ in 0..(500 << round) {
                    p.pop();
                    let t = p.last + 1 + rng.below(2_000_000);
                    p.push(t);
                }
                p.drain();
                // Refill far in the future (seconds to days later).
                base = p.last + 3_000_000_000 * (round + 1) * (round + 1) * 1000;
            }
            // A single event far away, repeatedly.
            let mut t = p.last;
            for _ in 0..1000 {
                t += 1_000_000_000_000;
                p.push(t);
                p.peek();
                p.pop();
            }
        }
    }

    #[test]
    fn many_events_in_one_future_bucket() {
        // One ring bucket gets thousands of events: its open chunk fills
        // and is filed on its list of full chunks over and over.
        for mut p in Pair::both() {
            let mut rng = SplitMix(17);
            for i in 0..3000u64 {
                p.push(i * 1_000 + rng.below(1_000));
            }
            p.pop();
            let far = p.last + 2_000_000;
            for i in 0..5_000u64 {
                p.push(far + i % 3);
                if i % 10 == 0 {
                    p.pop();
                }
            }
            assert!(!p.q.chunks.is_empty());
            p.drain();
            // The same with events pushed in descending time order.
            for i in 0..5_000u64 {
                p.push(p.last + 10_000_000 - i);
            }
            p.drain();
        }
    }

    #[test]
    fn payload_needs_no_traits_and_is_dropped_once() {
        use std::rc::Rc;
        // No Clone, Ord, Debug or Default: only time and seq decide order.
        struct Payload {
            _token: Rc<()>,
        }
        let token = Rc::new(());
        let mut q = EventQueue::new();
        let mut rng = SplitMix(1);
        let mut last = 0;
        for i in 0..20_000u64 {
            q.push(
                last + rng.below(1 << (i % 40)),
                Payload {
                    _token: Rc::clone(&token),
                },
            );
            if i % 3 == 0 {
                last = q.pop().map_or(last, |e| e.time);
            }
        }
        assert_eq!(Rc::strong_count(&token), q.len() + 1);
        for _ in 0..q.len() / 2 {
            q.pop();
        }
        assert_eq!(Rc::strong_count(&token), q.len() + 1);
        drop(q);
        assert_eq!(Rc::strong_count(&token), 1);
    }

    #[test]
    fn width_retunes_when_buckets_too_full() {
        for mut p in Pair::both() {
            // Sparse events: 1 ms apart -> wide buckets (last size re-tune at 1055).
            for i in 0..1_100u64 {
                p.push(i * 1_000_000);
            }
            let wide = p.q.shift;
            // 1000 dense events, staying below the next size threshold...
            let mut rng = SplitMix(5);
            for _ in 0..1_000 {
                p.push(1 + rng.below(2_000));
            }
            // ...kept dense by a hold model with nanosecond delays: the current
            // bucket holds all of them.
            for _ in 0..50_000 {
                p.pop();
                let t = p.last + 1 + rng.below(2_000);
                p.push(t);
            }
            assert!(p.q.shift + 10 < wide, "shift {} -> {}", wide, p.q.shift);
            p.drain();
        }
    }

    #[test]
    fn width_retunes_when_buckets_too_empty() {
        for mut p in Pair::both() {
            // Dense events -> narrow buckets.
            for i in 0..2_000u64 {
                p.push(i);
            }
            p.pop();
            let narrow = p.q.shift;
            // Hold model with millisecond delays.
            let mut rng = SplitMix(6);
            for _ in 0..50_000 {
                p.pop();
                let t = p.last + 1_000_000 + rng.below(2_000_000);
                p.push(t);
            }
            assert!(p.q.shift > narrow + 5, "shift {} -> {}", narrow, p.q.shift);
            p.drain();
        }
    }

    #[test]
    fn bimodal_timers() {
        for mut p in Pair::both() {
            let mut rng = SplitMix(11);
            for _ in 0..5_000 {
                p.push(rng.below(10_000_000));
            }
            for i in 0..60_000 {
                p.pop();
                let t = if i % 20 == 0 {
                    p.last + 1_000_000_000 + rng.below(5_000_000_000)
                } else {
                    p.last + rng.below(10_000_000)
                };
                p.push(t);
                if i % 1000 == 0 {
                    p.peek();
                }
            }
            p.drain();
        }
    }

    #[test]
    fn peek_then_push_before_peeked_time() {
        // peek_time may advance past empty buckets; a later push that is still
        // >= the last popped time must come out first.
        for mut p in Pair::both() {
            for i in 0..500u64 {
                p.push(i * 1_000);
            }
            for _ in 0..250 {
                p.pop();
            }
            p.pop();
            p.push(p.last + 1_000_000_000);
            p.peek();
            p.drain();
            p.push(p.last + 10_000_000);
            p.peek();
            p.push(p.last);
            p.push(p.last + 1);
            p.peek();
            p.drain();
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        /// Push at last popped time + gap.
        Push(u64),
        /// Push at the time of an earlier push (clamped to the last pop).
        Again(usize),
        /// Push close to the end of time: `u64::MAX - 1 - back`.
        NearMax(u64),
        Pop,
        Peek,
        /// Take a seq without pushing (`take_seq`).
        Take,
        /// Push a taken seq, at the last popped time + gap.
        PutBack(usize, u64),
        /// Pop, and push the same event back under its seq (a batch
        /// preempted by an earlier event, in the simulation loop).
        PopPutBack,
    }

    fn gap() -> impl Strategy<Value = u64> {
        prop_oneof![
            3 => Just(0u64),
            3 => 0u64..4,
            3 => 0u64..1_000,
            2 => 0u64..10_000_000,
            1 => 1_000_000_000u64..10_000_000_000,
            1 => 0u64..=1_000_000_000_000_000,
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => gap().prop_map(Op::Push),
            2 => any::<usize>().prop_map(Op::Again),
            1 => (0u64..100).prop_map(Op::NearMax),
            6 => Just(Op::Pop),
            1 => Just(Op::Peek),
            1 => Just(Op::Take),
            1 => (any::<usize>(), gap()).prop_map(|(i, g)| Op::PutBack(i, g)),
            1 => Just(Op::PopPutBack),
        ]
    }

    fn run_ops(ops: &[Op], repeat: usize) {
        for mut p in Pair::both() {
            let mut pushed: Vec<SimTime> = Vec::new();
            let mut taken: Vec<u64> = Vec::new();
            for _ in 0..repeat {
                for op in ops {
                    match *op {
                        Op::Push(g) => {
                            let t = p.last.saturating_add(g).min(u64::MAX - 1);
                            pushed.push(t);
                            p.push(t);
                        }
                        Op::Again(i) => {
                            let t = if pushed.is_empty() {
                                p.last
                            } else {
                                pushed[i % pushed.len()].max(p.last)
                            };
                            p.push(t);
                        }
                        Op::NearMax(back) => {
                            let t = (u64::MAX - 1 - back).max(p.last);
                            pushed.push(t);
                            p.push(t);
                        }
                        Op::Pop => {
                            p.pop();
                        }
                        Op::Peek => p.peek(),
                        Op::Take => taken.push(p.take()),
                        Op::PutBack(i, g) => {
                            if !taken.is_empty() {
                                let seq = taken.swap_remove(i % taken.len());
                                let t = p.last.saturating_add(g).min(u64::MAX - 1);
                                p.push_with_seq(t, seq);
                            }
                        }
                        Op::PopPutBack => {
                            if let Some(e) = p.pop() {
                                p.push_with_seq(e.time, e.seq);
                            }
                        }
                    }
                }
            }
            p.drain();
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        #[test]
        fn matches_reference_model(ops in prop::collection::vec(op(), 0..600)) {
            run_ops(&ops, 1);
        }

        /// Longer runs (the op list replayed) cross the re-tune thresholds.
        #[test]
        fn matches_reference_model_long(ops in prop::collection::vec(op(), 100..400)) {
            run_ops(&ops, 8);
        }

        /// Push-heavy then pop-heavy phases: sizes cross thresholds both ways.
        #[test]
        fn matches_reference_model_phases(
            grow in prop::collection::vec(gap(), 100..3000),
            shrink_keep in 0usize..50,
        ) {
            for mut p in Pair::both() {
                for (i, &g) in grow.iter().enumerate() {
                    let t = p.last.saturating_add(g).min(u64::MAX - 1);
                    p.push(t);
                    if i % 5 == 0 {
                        p.pop();
                    }
                }
                while p.q.len() > shrink_keep {
                    p.pop();
                }
                for &g in &grow {
                    let t = p.last.saturating_add(g).min(u64::MAX - 1);
                    p.push(t);
                }
                p.drain();
            }
        }
    }
}
