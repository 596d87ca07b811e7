//! Gossip: push, pull and push-pull dissemination by rumor mongering and
//! anti-entropy (Demers et al. 1987, "Epidemic Algorithms for Replicated
//! Database Maintenance"), faithful to the rumor-spreading analyses of Pittel
//! (1987, push: `log2 n + ln n` rounds) and Karp et al. (2000, push-pull:
//! `log3 n + O(log log n)` rounds), and cheap enough to run a million nodes.
//!
//! ```text
//!  every period (sync: at r*period for all nodes; async: own phase ± jitter)
//!  ┌────────┐  Rumor (push)                ┌────────┐
//!  │ caller │ ───────────────────────────► │ callee │  newer entry wins
//!  │        │  PullRequest (pull, push-pull)│        │
//!  │        │ ───────────────────────────► │        │
//!  │        │ ◄─────────────────────────── │        │  Rumor{reply} if callee is
//!  │        │  Feedback (did callee know?) │        │  infective and newer
//!  └────────┘ ◄─────────────────────────── └────────┘
//!  anti-entropy: State (push, push-pull) / Digest (pull) carry a window of keyed entries;
//!  the callee answers with a State of the entries it holds newer.
//! ```
//!
//! **Data.** Every node keeps a small versioned key-value store: one [`Entry`]
//! (`version`, `value`) per key. Entries are ordered by `(version, value)`: the
//! newer version wins, and concurrent writes of one version (two writers) are
//! ordered by value, so the merge is a join and anti-entropy converges. Writers
//! (nodes `0..writers`) write version `current + 1` with a fresh random value.
//! Nodes `0..informed` hold the first update ([`Entry::FIRST`] of key 0) at time
//! 0. The store is durable (a replicated database lives on disk): a crashed node
//! comes back with it, but forgets which rumors were hot.
//!
//! **Rumor mongering** (§1.4; `mode = rumor`, one key). A node is susceptible
//! (does not know the update), infective (knows it and spreads it) or removed
//! (knows it, no longer spreads it). Infective nodes push their update, answer
//! pulls with it, or both. They lose interest according to `interest_loss` and
//! `removal`:
//!
//! | | counter (after `k` consecutive counted contacts) | coin (probability `1/k` per counted contact) |
//! |---|---|---|
//! | **feedback**: a contact counts when the other node already knew | Table 1 of the paper | |
//! | **blind**: every contact counts | | Table 2 of the paper |
//!
//! Push: an infective caller counts its contact when the callee answers with
//! [`GossipMsg::Feedback`] (feedback) or as soon as it sent (blind). Pull: an
//! infective callee learns from the request whether the caller knew, and counts
//! accordingly. `removal = never` keeps nodes infective forever: the simple
//! epidemic, i.e. rumor spreading in Pittel's and Karp et al.'s sense. A node
//! that loses interest does so at the end of the round, as in the paper's
//! cycles: it pushes no more, answers the pulls of the current round, and
//! becomes removed at its next round tick, where it announces it
//! ([`GossipNote::Removed`]); its last messages have landed by then (when
//! latency is below the period), so "no infective node left" is never declared
//! while a rumor is still in flight. Anti-entropy can run as a
//! backup (`backup_period`, §1.5); an update it delivers is stored but not
//! mongered again (the paper's "conservative response").
//!
//! **Anti-entropy** (§1.3; `mode = anti-entropy`, any number of keys). Every
//! node, every period, reconciles a window of `keys_per_exchange` keys (all by
//! default) with `fanout` random peers: push sends its entries, pull sends a
//! digest and receives the newer entries, push-pull does both in one contact.
//!
//! **Peers** are drawn uniformly without replacement among the topology
//! neighbours: on the complete graph, uniformly among all other nodes (the
//! graph is implicit, nothing is stored per edge). In push, a node with nothing
//! to push keeps no timer, so a million-node run costs only what informed nodes do.
//!
//! **Broken variants** (`variant`): `invent` stores a value no writer wrote
//! when learning an update (caught by "no invention"); `older-wins` lets a
//! received entry replace the local one whenever they differ (caught by
//! "convergence").

pub mod config;
#[cfg(feature = "cli")]
mod flags;
pub mod monitor;
mod spec;

pub use config::{
    Direction, GossipConfig, GossipVariant, InterestLoss, Mode, Removal, Timing, WriteTiming,
};
#[cfg(feature = "cli")]
pub use flags::GossipFlags;
pub use monitor::GossipMonitor;
pub use spec::GossipSpec;

use crate::node::{Ctx, Init, NodeId, Note, Protocol};
use config::FANOUT_MAX;
use serde::Serialize;

/// A key's version and value. Ordered by `(version, value)`: newer wins.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Entry {
    /// Version: 0 when nothing was written, one more at each write of the key.
    pub version: u32,
    /// The value written (0 when nothing was; a writer's values are odd).
    pub value: u32,
}

impl Entry {
    /// Nothing written yet.
    pub const EMPTY: Entry = Entry {
        version: 0,
        value: 0,
    };
    /// The first update, held by nodes `0..informed` at time 0.
    pub const FIRST: Entry = Entry {
        version: 1,
        value: 1,
    };
    /// True when nothing was written (version 0).
    #[inline]
    pub fn is_empty(self) -> bool {
        self.version == 0
    }
}

/// An entry with its key, as carried by anti-entropy messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Keyed {
    /// The key, in `0..keys`.
    pub key: u16,
    /// Its entry.
    pub entry: Entry,
}

/// Messages, named as in the paper. Rumor-mongering messages concern key 0 (the
/// one key of that mode) and are fixed-size; anti-entropy batches are boxed so
/// every message stays 16 bytes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, agentsim_macros::Message)]
#[serde(tag = "msg")]
pub enum GossipMsg {
    /// A hot update: pushed by an infective node (`reply = false`) or sent in
    /// answer to a [`GossipMsg::PullRequest`] (`reply = true`).
    Rumor {
        /// The update.
        entry: Entry,
        /// An answer to a pull rather than a push.
        reply: bool,
    },
    /// "Send me your hot update if it is newer than mine": the caller's entry
    /// serves as the digest; with `push` (push-pull) the caller also offers it.
    PullRequest {
        /// The caller's entry of key 0 ([`Entry::EMPTY`]: none).
        entry: Entry,
        /// Push-pull: the callee may learn the caller's entry too.
        push: bool,
    },
    /// The answer to a pushed rumor of `version`: whether the recipient already
    /// knew it (an unnecessary contact). Sent when the sender's removal rule
    /// needs it: feedback with a counter (both answers) or a coin (`knew` only).
    Feedback {
        /// The version of the rumor pushed.
        version: u32,
        /// The recipient already held it.
        knew: bool,
    },
    /// Anti-entropy pull: the caller's entries for a window of keys; the callee
    /// answers with a [`GossipMsg::State`] of those it holds newer.
    Digest {
        /// The caller's entries of the window, empty ones included.
        entries: Box<Vec<Keyed>>,
    },
    /// Anti-entropy entries; with `reply` (push-pull) the callee answers with
    /// the entries of the same keys it holds newer.
    State {
        /// Push-pull: the callee answers with the entries of these keys it holds newer.
        reply: bool,
        /// The entries sent.
        entries: Box<Vec<Keyed>>,
    },
}

/// Indices into [`GossipMsg::KINDS`](crate::node::Message::KINDS).
pub mod kind {
    /// Index of [`GossipMsg::Rumor`](super::GossipMsg::Rumor).
    pub const RUMOR: usize = 0;
    /// Index of [`GossipMsg::PullRequest`](super::GossipMsg::PullRequest).
    pub const PULL_REQUEST: usize = 1;
    /// Index of [`GossipMsg::Feedback`](super::GossipMsg::Feedback).
    pub const FEEDBACK: usize = 2;
    /// Index of [`GossipMsg::Digest`](super::GossipMsg::Digest).
    pub const DIGEST: usize = 3;
    /// Index of [`GossipMsg::State`](super::GossipMsg::State).
    pub const STATE: usize = 4;
}

/// Gossip's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, agentsim_macros::TimerTag)]
pub enum GossipTimer {
    /// The node's gossip round (rumor mongering, or anti-entropy in that mode).
    Round,
    /// Backup anti-entropy of rumor mongering.
    Backup,
    /// A writer's next write.
    Write,
}

/// Protocol facts for the trace, the checkers and the metrics. A node notes
/// each change of its store, so a million-node run writes one note per node
/// per update.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum GossipNote {
    /// Adopted a newer entry of `key` from a peer; `hot`: it now spreads it as a rumor.
    Learned {
        /// The key.
        key: u32,
        /// The entry's version.
        version: u32,
        /// The entry's value.
        value: u32,
        /// It now spreads the entry as a rumor.
        hot: bool,
    },
    /// Wrote a new version of `key` (a writer).
    Wrote {
        /// The key.
        key: u32,
        /// The new version.
        version: u32,
        /// The value written.
        value: u32,
    },
    /// Lost interest in the rumor of `version` (announced at the next round tick).
    Removed {
        /// The rumor's version.
        version: u32,
    },
}

impl Note for GossipNote {
    fn tag(&self) -> Option<&'static str> {
        Some(match self {
            GossipNote::Learned { .. } => "learned",
            GossipNote::Wrote { .. } => "wrote",
            GossipNote::Removed { .. } => "removed",
        })
    }
}

/// Rumor-mongering state of a node with respect to its current update (§1.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Status {
    /// Does not know the update.
    #[default]
    Susceptible,
    /// Learned it during the current round: spreads it from its next round tick
    /// on. Until then it neither answers pulls nor counts as having known it, as
    /// in synchronous rounds where a round's contacts see the state at its start.
    Fresh,
    /// Knows it and spreads it.
    Infective,
    /// Lost interest during this round: still answers pulls until the next round
    /// tick, where it becomes removed and announces it.
    Removing,
    /// Knows it and no longer spreads it.
    Removed,
}

/// The one-key store of rumor mongering (12 bytes, inline in the node).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Slot {
    /// The entry held ([`Entry::EMPTY`]: none).
    pub entry: Entry,
    /// The rumor-mongering status with respect to it.
    pub status: Status,
    /// Counted contacts (the `counter` of `removal = counter`).
    pub count: u8,
    /// Writes made by this node (writers).
    pub writes: u16,
}

/// A store of several keys (anti-entropy), on the heap.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ManyKeys {
    /// One entry per key, indexed by key.
    pub entries: Vec<Entry>,
    /// Writes made by this node (writers).
    pub writes: u32,
}

/// A node's store; also what survives a crash (the rumor status is reset on recovery).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Store {
    /// One key (`keys = 1`), inline.
    One(Slot),
    /// Several keys (`keys > 1`), on the heap.
    Many(Box<ManyKeys>),
}

impl Default for Store {
    fn default() -> Self {
        Store::One(Slot::default())
    }
}

/// One gossip node: its store, 16 bytes (the configuration comes with the
/// context, [`Ctx::config`]).
#[derive(Clone, Debug)]
pub struct Gossip {
    store: Store,
}

impl Gossip {
    /// The entry of `key`.
    #[inline]
    pub fn entry(&self, key: usize) -> Entry {
        match &self.store {
            Store::One(s) => {
                debug_assert_eq!(key, 0);
                s.entry
            }
            Store::Many(m) => m.entries[key],
        }
    }

    /// The rumor-mongering status (meaningful in mode rumor).
    #[inline]
    pub fn status(&self) -> Status {
        match &self.store {
            Store::One(s) => s.status,
            Store::Many(_) => Status::Removed,
        }
    }

    /// Counted contacts so far (removal by counter).
    pub fn count(&self) -> u8 {
        match &self.store {
            Store::One(s) => s.count,
            Store::Many(_) => 0,
        }
    }

    /// The whole store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    fn keys(&self) -> usize {
        match &self.store {
            Store::One(_) => 1,
            Store::Many(m) => m.entries.len(),
        }
    }

    fn has_data(&self) -> bool {
        match &self.store {
            Store::One(s) => !s.entry.is_empty(),
            Store::Many(m) => m.entries.iter().any(|e| !e.is_empty()),
        }
    }

    fn writes_done(&self) -> u32 {
        match &self.store {
            Store::One(s) => s.writes as u32,
            Store::Many(m) => m.writes,
        }
    }

    #[inline]
    fn slot_mut(&mut self) -> Option<&mut Slot> {
        match &mut self.store {
            Store::One(s) => Some(s),
            Store::Many(_) => None,
        }
    }

    fn set_status(&mut self, status: Status) {
        if let Some(s) = self.slot_mut() {
            s.status = status;
            s.count = 0;
        }
    }

    /// Whether the Round timer runs: a pushing node with nothing to push keeps none.
    fn runs_rounds(&self, cfg: &GossipConfig) -> bool {
        match (cfg.mode, cfg.direction) {
            (Mode::Rumor, Direction::Push) => {
                matches!(
                    self.status(),
                    Status::Fresh | Status::Infective | Status::Removing
                )
            }
            (Mode::AntiEntropy, Direction::Push) => self.has_data(),
            _ => true,
        }
    }

    /// Delay to a timer's first firing: the next round boundary (sync) or a
    /// uniform phase in `[0, period)` (async).
    fn first_delay(&self, ctx: &mut Ctx<'_, Self>, period: u64) -> u64 {
        let cfg = ctx.config();
        match cfg.timing {
            Timing::Sync => (period - ctx.now() % period) % period,
            Timing::Async => ctx.rng().below(period),
        }
    }

    /// Delay to a timer's next firing: one period (sync) or `period ± jitter` (async).
    fn next_delay(&self, ctx: &mut Ctx<'_, Self>, period: u64) -> u64 {
        let cfg = ctx.config();
        let j = cfg.jitter.0;
        match cfg.timing {
            Timing::Async if j > 0 => period - j + ctx.rng().range_inclusive(0, 2 * j),
            _ => period,
        }
    }

    fn arm_round(&self, ctx: &mut Ctx<'_, Self>) {
        let cfg = ctx.config();
        let d = self.first_delay(ctx, cfg.period.0);
        ctx.set_timer(GossipTimer::Round, d);
    }

    /// Whether a received entry replaces the local one (the merge rule, or the broken variant's).
    #[inline]
    fn accepts(&self, cfg: &GossipConfig, mine: Entry, theirs: Entry) -> bool {
        match cfg.variant {
            GossipVariant::OlderWins => theirs != mine,
            _ => theirs > mine,
        }
    }

    /// Stores `entry` for `key`, learned from a peer, and notes it.
    fn learn(&mut self, ctx: &mut Ctx<'_, Self>, key: usize, entry: Entry, hot: bool) {
        let cfg = ctx.config();
        let entry = match cfg.variant {
            // Written values are odd, so a flipped one was never written.
            GossipVariant::Invent => Entry {
                version: entry.version,
                value: !entry.value,
            },
            _ => entry,
        };
        let timer_was_running = self.runs_rounds(cfg);
        match &mut self.store {
            Store::One(s) => {
                s.entry = entry;
                s.status = if hot { Status::Fresh } else { Status::Removed };
                s.count = 0;
            }
            Store::Many(m) => m.entries[key] = entry,
        }
        ctx.persist(self.store.clone());
        ctx.note(GossipNote::Learned {
            key: key as u32,
            version: entry.version,
            value: entry.value,
            hot,
        });
        if !timer_was_running && self.runs_rounds(cfg) {
            self.arm_round(ctx);
        }
    }

    /// One counted contact of an infective node: maybe lose interest (§1.4).
    fn count_contact(&mut self, ctx: &mut Ctx<'_, Self>) {
        let cfg = ctx.config();
        let (removal, k) = (cfg.removal, cfg.k);
        if self.status() != Status::Infective || removal == Removal::Never {
            return;
        }
        let lose = match removal {
            Removal::Coin => ctx.rng().below(k as u64) == 0,
            _ => {
                let s = self.slot_mut().expect("rumor mongering keeps one key");
                s.count = s.count.saturating_add(1);
                s.count as u32 >= k
            }
        };
        if lose {
            if let Some(s) = self.slot_mut() {
                s.status = Status::Removing;
            }
        }
    }

    /// A necessary contact (the other node did not know): the counter of
    /// `feedback` + `counter` starts again, so a node loses interest after `k`
    /// *consecutive* unnecessary contacts. This is the paper's counter: its
    /// traffic bounds (§1.4) rest on "each unnecessary message was sent by a site
    /// that, within the last k cycles, sent a necessary message, or newly
    /// discovered the update".
    fn necessary_contact(&mut self, cfg: &GossipConfig) {
        if cfg.removal == Removal::Counter && self.status() == Status::Infective {
            if let Some(s) = self.slot_mut() {
                s.count = 0;
            }
        }
    }

    /// Whether removal counts feedback (so a pushed rumor is worth answering).
    fn wants_feedback(&self, cfg: &GossipConfig) -> bool {
        cfg.interest_loss == InterestLoss::Feedback && cfg.removal != Removal::Never
    }

    /// Answers a pushed rumor with feedback, if its sender needs it: always for
    /// the counter (which restarts on a necessary contact), only when this node
    /// already knew for the coin.
    fn feedback(&self, ctx: &mut Ctx<'_, Self>, to: NodeId, version: u32, knew: bool) {
        let cfg = ctx.config();
        if self.wants_feedback(cfg) && (knew || cfg.removal == Removal::Counter) {
            ctx.send(to, GossipMsg::Feedback { version, knew });
        }
    }

    /// `fanout` distinct neighbours, uniformly (all of them if there are fewer).
    fn pick_peers(
        &self,
        ctx: &mut Ctx<'_, Self>,
        out: &mut [NodeId; FANOUT_MAX as usize],
    ) -> usize {
        let cfg = ctx.config();
        let peers = ctx.peers();
        let d = peers.len();
        let f = cfg.fanout as usize;
        if f >= d {
            for (i, slot) in out.iter_mut().enumerate().take(d) {
                *slot = peers.get(i);
            }
            return d;
        }
        let mut m = 0;
        while m < f {
            let p = peers.get(ctx.rng().index(d));
            if !out[..m].contains(&p) {
                out[m] = p;
                m += 1;
            }
        }
        m
    }

    /// A rumor-mongering round.
    fn rumor_round(&mut self, ctx: &mut Ctx<'_, Self>) {
        let cfg = ctx.config();
        if self.status() == Status::Fresh {
            self.set_status(Status::Infective);
        }
        if self.status() == Status::Removing {
            self.set_status(Status::Removed);
            ctx.note(GossipNote::Removed {
                version: self.entry(0).version,
            });
        }
        let infective = self.status() == Status::Infective;
        let dir = cfg.direction;
        if dir == Direction::Push && !infective {
            return; // nothing to push: the timer stops until the node learns something
        }
        let mut peers = [0; FANOUT_MAX as usize];
        let m = self.pick_peers(ctx, &mut peers);
        let entry = self.entry(0);
        for &p in &peers[..m] {
            let msg = match dir {
                Direction::Push => GossipMsg::Rumor {
                    entry,
                    reply: false,
                },
                _ => GossipMsg::PullRequest {
                    entry,
                    push: infective && dir == Direction::PushPull,
                },
            };
            ctx.send(p, msg);
        }
        if infective && dir.pushes() && cfg.interest_loss == InterestLoss::Blind {
            for _ in 0..m {
                self.count_contact(ctx);
            }
        }
        let d = self.next_delay(ctx, cfg.period.0);
        ctx.set_timer(GossipTimer::Round, d);
    }

    /// The window of keys reconciled by one anti-entropy exchange.
    fn window(&self, ctx: &mut Ctx<'_, Self>) -> (usize, usize) {
        let cfg = ctx.config();
        let keys = self.keys();
        let m = cfg.keys_per_exchange as usize;
        if m == 0 || m >= keys {
            (0, keys)
        } else {
            (ctx.rng().index(keys), m)
        }
    }

    /// An anti-entropy exchange with `fanout` peers.
    fn anti_entropy_round(&mut self, ctx: &mut Ctx<'_, Self>, dir: Direction) {
        let mut peers = [0; FANOUT_MAX as usize];
        let m = self.pick_peers(ctx, &mut peers);
        if m == 0 {
            return;
        }
        let (start, len) = self.window(ctx);
        let keys = self.keys();
        let entries: Vec<Keyed> = (0..len)
            .map(|i| (start + i) % keys)
            .map(|k| Keyed {
                key: k as u16,
                entry: self.entry(k),
            })
            .filter(|kd| dir != Direction::Push || !kd.entry.is_empty())
            .collect();
        if entries.is_empty() {
            return;
        }
        for &p in &peers[..m] {
            let entries = Box::new(entries.clone());
            let msg = match dir {
                Direction::Push => GossipMsg::State {
                    reply: false,
                    entries,
                },
                Direction::Pull => GossipMsg::Digest { entries },
                Direction::PushPull => GossipMsg::State {
                    reply: true,
                    entries,
                },
            };
            ctx.send(p, msg);
        }
    }

    /// Merges a batch of entries; returns the entries of those keys held newer here.
    fn merge(&mut self, ctx: &mut Ctx<'_, Self>, entries: &[Keyed], answer: bool) -> Vec<Keyed> {
        let cfg = ctx.config();
        let mut newer = Vec::new();
        for kd in entries {
            let key = kd.key as usize;
            if key >= self.keys() {
                continue;
            }
            let mine = self.entry(key);
            if answer && mine > kd.entry {
                newer.push(Keyed {
                    key: kd.key,
                    entry: mine,
                });
            }
            if self.accepts(cfg, mine, kd.entry) {
                self.learn(ctx, key, kd.entry, false);
            }
        }
        newer
    }

    fn write(&mut self, ctx: &mut Ctx<'_, Self>) {
        let cfg = ctx.config();
        let (keys, writes, done) = (cfg.keys as u64, cfg.writes, self.writes_done());
        let key = match cfg.write_timing {
            WriteTiming::Scheduled => {
                ((ctx.id() as u64 * writes as u64 + done as u64) % keys) as usize
            }
            WriteTiming::Random => ctx.rng().below(keys) as usize,
        };
        let entry = Entry {
            version: self.entry(key).version.saturating_add(1),
            value: (ctx.rng().next_u64() as u32) | 1,
        };
        let timer_was_running = self.runs_rounds(cfg);
        let rumor = cfg.mode == Mode::Rumor;
        match &mut self.store {
            Store::One(s) => {
                s.entry = entry;
                s.writes = s.writes.saturating_add(1);
                if rumor {
                    s.status = Status::Infective;
                    s.count = 0;
                }
            }
            Store::Many(m) => {
                m.entries[key] = entry;
                m.writes += 1;
            }
        }
        ctx.persist(self.store.clone());
        ctx.note(GossipNote::Wrote {
            key: key as u32,
            version: entry.version,
            value: entry.value,
        });
        if !timer_was_running && self.runs_rounds(cfg) {
            self.arm_round(ctx);
        }
        self.arm_write(ctx);
    }

    /// Arms the Write timer for this writer's next write, if any is left.
    fn arm_write(&self, ctx: &mut Ctx<'_, Self>) {
        let cfg = ctx.config();
        let done = self.writes_done();
        if ctx.id() >= cfg.writers || done >= cfg.writes {
            return;
        }
        let every = cfg.write_every.0;
        let d = match cfg.write_timing {
            // Write i at i * every; one missed while down happens on recovery.
            WriteTiming::Scheduled => ((done as u64 + 1) * every).saturating_sub(ctx.now()),
            WriteTiming::Random => ctx.rng().exp(every as f64) as u64,
        };
        ctx.set_timer(GossipTimer::Write, d);
    }
}

impl Protocol for Gossip {
    type Config = GossipConfig;
    type Msg = GossipMsg;
    type Timer = GossipTimer;
    type Note = GossipNote;
    type Durable = Store;

    fn init(ctx: &mut Init<'_, Self>, durable: &Store) -> Self {
        let (id, cfg) = (ctx.id(), ctx.config());
        let first_boot = *durable == Store::default();
        let informed = first_boot && id < cfg.informed;
        let store = match durable {
            Store::One(s) if cfg.keys == 1 => {
                let mut s = *s;
                if informed {
                    s.entry = Entry::FIRST;
                }
                s.count = 0;
                // A recovered node forgot its hot rumors (they are volatile), except
                // in the simple epidemic, where knowing is being infective.
                let infective =
                    cfg.mode == Mode::Rumor && (informed || cfg.removal == Removal::Never);
                s.status = if s.entry.is_empty() {
                    Status::Susceptible
                } else if infective {
                    Status::Infective
                } else {
                    Status::Removed
                };
                Store::One(s)
            }
            Store::Many(m) => Store::Many(m.clone()),
            Store::One(_) => {
                let mut entries = vec![Entry::EMPTY; cfg.keys as usize];
                if informed {
                    entries[0] = Entry::FIRST;
                }
                Store::Many(Box::new(ManyKeys { entries, writes: 0 }))
            }
        };
        Gossip { store }
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        let cfg = ctx.config();
        if self.has_data() {
            ctx.persist(self.store.clone());
        }
        if self.runs_rounds(cfg) {
            self.arm_round(ctx);
        }
        let backup = cfg.backup_period.0;
        if backup > 0 {
            let d = self.first_delay(ctx, backup);
            ctx.set_timer(GossipTimer::Backup, d);
        }
        self.arm_write(ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: GossipMsg) {
        let cfg = ctx.config();
        match msg {
            GossipMsg::Rumor { entry, reply } => {
                let mine = self.entry(0);
                let new = self.accepts(cfg, mine, entry);
                // Knew it at the start of this round (a node that learned it during
                // the round did not: the contact counts as necessary).
                let knew = !new && self.status() != Status::Fresh;
                if new {
                    self.learn(ctx, 0, entry, true);
                }
                if !reply {
                    self.feedback(ctx, from, entry.version, knew);
                }
            }
            GossipMsg::PullRequest {
                entry: theirs,
                push,
            } => {
                // Pull part first, judged on the update this node held before the contact.
                // A node that lost interest this round still answers until its next
                // tick: interest is lost at the end of the cycle, as in the paper.
                let mine = self.entry(0);
                if matches!(self.status(), Status::Infective | Status::Removing) {
                    let knew = theirs >= mine;
                    if !knew {
                        ctx.send(
                            from,
                            GossipMsg::Rumor {
                                entry: mine,
                                reply: true,
                            },
                        );
                    }
                    match cfg.interest_loss {
                        InterestLoss::Blind => self.count_contact(ctx),
                        InterestLoss::Feedback if knew => self.count_contact(ctx),
                        InterestLoss::Feedback => self.necessary_contact(cfg),
                    }
                }
                if push {
                    let new = self.accepts(cfg, mine, theirs);
                    let knew = !new && self.status() != Status::Fresh;
                    if new {
                        self.learn(ctx, 0, theirs, true);
                    }
                    self.feedback(ctx, from, theirs.version, knew);
                }
            }
            GossipMsg::Feedback { version, knew } => {
                if self.status() == Status::Infective && self.entry(0).version == version {
                    if knew {
                        self.count_contact(ctx);
                    } else {
                        self.necessary_contact(cfg);
                    }
                }
            }
            GossipMsg::Digest { entries } => {
                let newer: Vec<Keyed> = entries
                    .iter()
                    .filter(|kd| (kd.key as usize) < self.keys())
                    .filter_map(|kd| {
                        let mine = self.entry(kd.key as usize);
                        (mine > kd.entry).then_some(Keyed {
                            key: kd.key,
                            entry: mine,
                        })
                    })
                    .collect();
                if !newer.is_empty() {
                    ctx.send(
                        from,
                        GossipMsg::State {
                            reply: false,
                            entries: Box::new(newer),
                        },
                    );
                }
            }
            GossipMsg::State { reply, entries } => {
                let newer = self.merge(ctx, &entries, reply);
                if reply && !newer.is_empty() {
                    ctx.send(
                        from,
                        GossipMsg::State {
                            reply: false,
                            entries: Box::new(newer),
                        },
                    );
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: GossipTimer) {
        let cfg = ctx.config();
        match timer {
            GossipTimer::Round => match cfg.mode {
                Mode::Rumor => self.rumor_round(ctx),
                Mode::AntiEntropy => {
                    if !self.runs_rounds(cfg) {
                        return;
                    }
                    self.anti_entropy_round(ctx, cfg.direction);
                    let d = self.next_delay(ctx, cfg.period.0);
                    ctx.set_timer(GossipTimer::Round, d);
                }
            },
            GossipTimer::Backup => {
                let p = cfg.backup_period;
                if p.0 == 0 {
                    return;
                }
                self.anti_entropy_round(ctx, cfg.backup_direction);
                let d = self.next_delay(ctx, p.0);
                ctx.set_timer(GossipTimer::Backup, d);
            }
            GossipTimer::Write => self.write(ctx),
        }
    }
}

#[cfg(test)]
mod tests;
