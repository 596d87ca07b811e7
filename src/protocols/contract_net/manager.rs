//! The manager: takes tasks, announces them, awards, keeps the lease's
//! side of each award, accepts results once, re-announces what fails.
//! With a baseline `strategy` the same node is the central dispatcher (the
//! oracle included): only whom it invites and which answer wins differ.
//!
//! ```text
//!  submit ─► persist ─► announce: cfp to the invitees ─┬─ propose/refuse ... ─► award
//!                          ▲                           │  (deadline, or every invitee answered)
//!                          │ no bid: retry / queue ◄───┘
//!                          │ failure, or lease over    award: accept-proposal to the lowest
//!                          └───────────────────────────  cost (ties: rotating rank),
//!                                                      reject-proposal to the others
//!  progress ─► renew (lease extended)      inform-done ─► accept once, persist, cancel any later holder
//! ```
//!
//! **Persisted** (before any message of the callback leaves): the tasks not
//! yet done (size, capabilities) with the next task number, and the
//! incarnation. Tasks, so that none is lost with a crash; the next number,
//! so that a result for a number below it that is not pending is known to
//! be accepted already ("a task's result is accepted at most once"); the
//! incarnation (bumped at every start), so that rounds of different lives
//! never share an epoch. Awards are *not* persisted: after a restart every
//! pending task counts as possibly held, and is announced again only once
//! a whole lease has passed on the manager's clock (or it is adopted by
//! the holder's next progress report, or finished by its result).
//! A later callback may announce a task before the write recording it
//! completes; if a crash loses that write, the number goes to another
//! task after the restart, so a result from a round of an earlier
//! incarnation than the task's own is ignored.

use super::config::{ContractNetConfig, Filter, Strategy, Variant};
use super::lease::Lease;
use super::messages::{CnetMsg, CnetNote, CnetTimer, Epoch, TaskId, Why};
use super::task::TaskSpec;
use super::{oracle, ContractNet};
use crate::node::{Ctx, NodeId, Submission};
use crate::time::SimTime;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, VecDeque};
use std::sync::Arc;

/// What a manager persists.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ManagerDurable {
    /// Starts so far (0 before the first boot).
    pub incarnation: u32,
    /// Writes so far: notes of facts a write makes durable carry it, so a
    /// monitor can tell which of them a crash undid (the write was lost).
    pub version: u64,
    /// The number the next task gets.
    pub next_seq: u32,
    /// The tasks not yet done, by number.
    pub tasks: BTreeMap<u32, TaskSpec>,
}

/// A proposal kept for the award: the lowest two costs of a round.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Bid {
    cost: u64,
    /// The tie rank: the bidder's place after contractor `seq mod
    /// contractors` of task `seq`, in id order, wrapping around.
    rank: u32,
    from: NodeId,
    /// The contractor's number for it.
    bid: u32,
    /// The manager's tick when it arrived: the lease's grantor side counts
    /// from here.
    tick: u32,
}

impl Bid {
    /// Lower cost wins; equal costs go to the lower rank: for task `seq`,
    /// contractor `seq mod contractors` first, then the next ids, wrapping
    /// (a deterministic rule that does not always favour the same node:
    /// idle contractors bid alike).
    #[inline]
    fn beats(&self, other: &Bid) -> bool {
        (self.cost, self.rank) < (other.cost, other.rank)
    }
}

/// An open round.
#[derive(Clone, Copy, Debug)]
struct Round {
    epoch: Epoch,
    /// The first contractor invited (the only one, for single-offer strategies).
    first: NodeId,
    invited: u32,
    answered: u32,
    bids: u32,
    best: Option<Bid>,
    second: Option<Bid>,
}

#[derive(Clone, Copy, Debug)]
enum Phase {
    /// Waiting for a retry, or in the central queue.
    Waiting,
    /// Calling for proposals.
    Announced(Round),
    /// Awarded to `to` (its proposal `bid`); its lease may be over at the
    /// manager's tick `over_at`.
    Awarded {
        epoch: Epoch,
        to: NodeId,
        bid: u32,
        over_at: u32,
    },
    /// Pending across a restart: possibly held by someone until `over_at`.
    Uncertain { over_at: u32 },
    /// Its result was accepted.
    Done,
}

#[derive(Clone, Copy, Debug)]
struct Task {
    spec: TaskSpec,
    phase: Phase,
    /// The incarnation it was submitted in (0 for a task recovered from
    /// the durable state). A result from a round of an earlier incarnation
    /// is for another task: one that had this number and was lost, with
    /// the write recording it, in a crash (a later callback may announce a
    /// task before that write completes).
    born: u32,
}

/// A contractor's load as last reported (least-loaded).
#[derive(Clone, Copy, Debug, Default)]
struct Reported {
    load: u32,
    seq: u32,
    tick: u32,
}

/// What an agenda entry is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum What {
    /// The round `epoch` of task `seq` closes.
    Deadline(u32, Epoch),
    /// Task `seq` is announced again.
    Retry(u32),
    /// The central queue is looked at again.
    Poll,
}

/// The manager's deadlines, retries and polls, in time order (ties in
/// insertion order, by the counter), behind one timer.
type Agenda = BinaryHeap<Reverse<(SimTime, u64, What)>>;

/// A manager's (or dispatcher's) state.
#[derive(Clone, Debug)]
pub struct Manager {
    id: NodeId,
    strategy: Strategy,
    lease: Lease,
    durable: Arc<ManagerDurable>,
    /// After a crash: the version of the state recovered.
    restarted_from: Option<u64>,
    tasks: Vec<Task>,
    /// Rounds started in this incarnation.
    round: u32,
    tick: u32,
    ticking: bool,
    agenda: Agenda,
    agenda_n: u64,
    /// When the agenda timer is armed for.
    agenda_at: Option<SimTime>,
    poll_pending: bool,
    /// Central FIFO queue (least-loaded, oracle).
    queue: VecDeque<u32>,
    /// Least-loaded: each contractor's last reported load, report number,
    /// and the tick it came at (a report older than a lease is not trusted:
    /// a lost report must not leave a contractor "full" for ever).
    loads: Vec<Reported>,
    /// Oracle: offers made whose rounds are open, by contractor index.
    offers: Vec<u32>,
    /// Round-robin: the next contractor index to try.
    rr: u32,
    /// Each contractor's capability mask, by contractor index.
    caps: Vec<u32>,
    /// Contractors by capability kind (one list of all when there are none).
    directory: Vec<Vec<NodeId>>,
    /// Every contractor.
    all: Vec<NodeId>,
    /// Invitees of the round being opened.
    invite: Vec<NodeId>,
    /// Eligible contractors of a task needing several capabilities.
    pool: Vec<NodeId>,
}

impl Manager {
    /// Manager node `id` from what it persisted.
    pub fn new(cfg: &ContractNetConfig, id: NodeId, nodes: u32, d: &Arc<ManagerDurable>) -> Self {
        let lease = Lease::of(cfg);
        let all: Vec<NodeId> = (cfg.managers..nodes).collect();
        let caps: Vec<u32> = all.iter().map(|&c| cfg.caps_of(c)).collect();
        let directory = if cfg.capabilities == 0 {
            vec![all.clone()]
        } else {
            (0..cfg.capabilities)
                .map(|k| {
                    all.iter()
                        .zip(&caps)
                        .filter(|(_, m)| *m & (1 << k) != 0)
                        .map(|(c, _)| *c)
                        .collect()
                })
                .collect()
        };
        let mut durable = d.clone();
        Arc::make_mut(&mut durable).incarnation += 1;
        let restarted_from = (durable.incarnation > 1).then_some(durable.version);
        // A restart: every pending task may be held by someone; wait a whole
        // lease on this clock (ticks count from 0 at the start).
        let tasks = (0..durable.next_seq)
            .map(|seq| match durable.tasks.get(&seq) {
                Some(spec) => Task {
                    spec: *spec,
                    phase: Phase::Uncertain {
                        over_at: lease.over_at(0),
                    },
                    born: 0,
                },
                None => Task {
                    spec: TaskSpec::default(),
                    phase: Phase::Done,
                    born: 0,
                },
            })
            .collect();
        Manager {
            id,
            strategy: cfg.strategy,
            lease,
            durable,
            restarted_from,
            tasks,
            round: 0,
            tick: 0,
            ticking: false,
            agenda: BinaryHeap::new(),
            agenda_n: 0,
            agenda_at: None,
            poll_pending: false,
            queue: VecDeque::new(),
            loads: vec![Reported::default(); all.len()],
            offers: vec![0; all.len()],
            rr: 0,
            caps,
            directory,
            all,
            invite: Vec::new(),
            pool: Vec::new(),
        }
    }

    /// Starts (boot or recovery): persists the new incarnation and starts
    /// the lease clock if tasks are pending.
    pub fn on_start(&mut self, ctx: &mut Ctx<'_, ContractNet>) {
        if let Some(version) = self.restarted_from.take() {
            ctx.note(CnetNote::Restarted {
                version,
                next_seq: self.durable.next_seq,
            });
        }
        self.persist(ctx);
        if !self.durable.tasks.is_empty() {
            self.ensure_ticking(ctx);
        }
    }

    /// Writes the durable state (a new version); returns that version.
    fn persist(&mut self, ctx: &mut Ctx<'_, ContractNet>) -> u64 {
        let d = Arc::make_mut(&mut self.durable);
        d.version += 1;
        let v = d.version;
        ctx.persist(self.durable.clone());
        v
    }

    fn task_id(&self, seq: u32) -> TaskId {
        TaskId {
            manager: self.id,
            seq,
        }
    }

    fn ensure_ticking(&mut self, ctx: &mut Ctx<'_, ContractNet>) {
        if !self.ticking {
            self.ticking = true;
            ctx.set_timer(CnetTimer::Tick, self.lease.tick_ns);
        }
    }

    fn schedule(&mut self, ctx: &mut Ctx<'_, ContractNet>, at: SimTime, what: What) {
        self.agenda_n += 1;
        self.agenda.push(Reverse((at, self.agenda_n, what)));
        if self.agenda_at.is_none_or(|t| at < t) {
            self.agenda_at = Some(at);
            ctx.set_timer(CnetTimer::Agenda, at.saturating_sub(ctx.now()).max(1));
        }
    }

    /// Whether the strategy keeps a central queue.
    fn central(&self) -> bool {
        matches!(self.strategy, Strategy::LeastLoaded | Strategy::Oracle)
    }

    /// A task submitted here (or handed on by a contractor).
    pub fn on_submit(&mut self, ctx: &mut Ctx<'_, ContractNet>, sub: Submission) {
        let spec = TaskSpec::draw(ctx.config(), &sub);
        let seq = self.durable.next_seq;
        {
            let d = Arc::make_mut(&mut self.durable);
            d.next_seq += 1;
            d.tasks.insert(seq, spec);
        }
        let version = self.persist(ctx);
        ctx.note(CnetNote::Submitted {
            task: self.task_id(seq),
            index: spec.index,
            size_ns: spec.size_ns,
            caps: spec.caps,
            version,
        });
        self.tasks.push(Task {
            spec,
            phase: Phase::Waiting,
            born: self.durable.incarnation,
        });
        self.ensure_ticking(ctx);
        if self.central() && !self.queue.is_empty() {
            // Behind the tasks already waiting (it may pass those that need
            // capabilities it does not).
            self.queue.push_back(seq);
            self.dispatch_queue(ctx);
        } else {
            self.announce(ctx, seq);
        }
    }

    /// Fills `self.invite` for a task needing `caps`; empty when nobody
    /// can take it now (no contractor has the capabilities, or a central
    /// strategy sees every eligible contractor full).
    fn choose(&mut self, ctx: &mut Ctx<'_, ContractNet>, caps: u32) {
        let cfg = ctx.config();
        let m = cfg.managers;
        self.invite.clear();
        let everyone =
            caps == 0 || (self.strategy == Strategy::ContractNet && cfg.filter == Filter::None);
        let src: &[NodeId] = if everyone {
            &self.all
        } else {
            &self.directory[caps.trailing_zeros() as usize]
        };
        let multi = !everyone && caps.count_ones() > 1;
        if multi {
            self.pool.clear();
            let masks = &self.caps;
            self.pool.extend(
                src.iter()
                    .copied()
                    .filter(|&c| masks[(c - m) as usize] & caps == caps),
            );
        }
        let elig: &[NodeId] = if multi { &self.pool } else { src };
        let n = elig.len();
        if n == 0 {
            return;
        }
        match self.strategy {
            Strategy::ContractNet => {
                self.invite.extend_from_slice(elig);
                let k = cfg.fanout as usize;
                if k > 0 && k < n {
                    // A uniform k-subset: partial Fisher–Yates.
                    let rng = ctx.rng();
                    for i in 0..k {
                        let j = i + rng.below((n - i) as u64) as usize;
                        self.invite.swap(i, j);
                    }
                    self.invite.truncate(k);
                }
            }
            Strategy::RoundRobin => {
                // The next eligible contractor after the last one chosen.
                let c = elig
                    .iter()
                    .copied()
                    .find(|&c| c - m >= self.rr)
                    .unwrap_or(elig[0]);
                self.invite.push(c);
                self.rr = c - m + 1;
            }
            Strategy::Random => self.invite.push(elig[ctx.rng().index(n)]),
            Strategy::PowerOfTwo => {
                if n <= 2 {
                    self.invite.extend_from_slice(elig);
                } else {
                    let rng = ctx.rng();
                    let a = rng.index(n);
                    let b = rng.index(n - 1);
                    self.invite.push(elig[a]);
                    self.invite.push(elig[if b >= a { b + 1 } else { b }]);
                }
            }
            Strategy::LeastLoaded | Strategy::Oracle => {
                // The least loaded, scanning from a random place (ties go
                // to the first met: no herding on the lowest id).
                let start = ctx.rng().index(n);
                let mut best: Option<(u32, NodeId)> = None;
                let mut see = |l: u32, c: NodeId| {
                    if best.is_none_or(|(b, _)| l < b) {
                        best = Some((l, c));
                    }
                };
                if self.strategy == Strategy::Oracle {
                    let offers = &self.offers;
                    oracle::with(|t| {
                        for i in 0..n {
                            let c = elig[(start + i) % n];
                            let l = t.get(c as usize).copied().unwrap_or(0);
                            see(l + offers[(c - m) as usize], c);
                        }
                    });
                } else {
                    let stale = self.tick.saturating_sub(self.lease.holder_ticks);
                    for i in 0..n {
                        let c = elig[(start + i) % n];
                        let r = self.loads[(c - m) as usize];
                        see(if r.tick < stale { 0 } else { r.load }, c);
                    }
                }
                if let Some((l, c)) = best {
                    if l < cfg.contractor_capacity {
                        self.invite.push(c);
                        // Count the offer in at once.
                        if self.strategy == Strategy::Oracle {
                            self.offers[(c - m) as usize] += 1;
                        } else {
                            let r = &mut self.loads[(c - m) as usize];
                            r.load += 1;
                            r.tick = self.tick;
                        }
                    }
                }
            }
        }
    }

    /// Chooses invitees for task `seq` and opens a round, or makes it wait
    /// (a retry, or the central queue).
    fn announce(&mut self, ctx: &mut Ctx<'_, ContractNet>, seq: u32) {
        let caps = self.tasks[seq as usize].spec.caps;
        self.choose(ctx, caps);
        if self.invite.is_empty() {
            self.tasks[seq as usize].phase = Phase::Waiting;
            if self.central() {
                self.queue.push_back(seq);
                self.ensure_poll(ctx);
            } else {
                let at = ctx.now() + ctx.config().retry.0;
                self.schedule(ctx, at, What::Retry(seq));
            }
            return;
        }
        self.open(ctx, seq);
    }

    /// Opens a round of task `seq` with the invitees chosen.
    fn open(&mut self, ctx: &mut Ctx<'_, ContractNet>, seq: u32) {
        let cfg = ctx.config();
        let spec = self.tasks[seq as usize].spec;
        let epoch = ((self.durable.incarnation as u64) << 32) | self.round as u64;
        self.round += 1;
        let task = self.task_id(seq);
        let msg = CnetMsg::Cfp {
            task,
            epoch,
            size_ns: spec.size_ns,
            caps: spec.caps,
        };
        if cfg.managers == 1
            && self.invite.len() == self.all.len()
            && ctx.peers().len() == self.all.len()
        {
            ctx.broadcast(msg); // every peer is a contractor: one command
        } else {
            for &c in &self.invite {
                ctx.send(c, msg.clone());
            }
        }
        let invited = self.invite.len() as u32;
        self.tasks[seq as usize].phase = Phase::Announced(Round {
            epoch,
            first: self.invite[0],
            invited,
            answered: 0,
            bids: 0,
            best: None,
            second: None,
        });
        ctx.note(CnetNote::Announced {
            task,
            epoch,
            invited,
        });
        self.schedule(ctx, ctx.now() + cfg.deadline.0, What::Deadline(seq, epoch));
        self.ensure_ticking(ctx);
    }

    fn ensure_poll(&mut self, ctx: &mut Ctx<'_, ContractNet>) {
        if !self.poll_pending {
            self.poll_pending = true;
            let at = ctx.now() + ctx.config().retry.0;
            self.schedule(ctx, at, What::Poll);
        }
    }

    /// Opens rounds for queued tasks, in queue order, while someone has room
    /// (central strategies). A task whose capable contractors are all full
    /// stays, and so do later ones needing the same capabilities; others
    /// pass it.
    fn dispatch_queue(&mut self, ctx: &mut Ctx<'_, ContractNet>) {
        let mut blocked: Vec<u32> = Vec::new();
        let mut i = 0;
        while i < self.queue.len() {
            let seq = self.queue[i];
            let t = self.tasks[seq as usize];
            if !matches!(t.phase, Phase::Waiting) {
                self.queue.remove(i); // finished meanwhile
                continue;
            }
            if blocked.contains(&t.spec.caps) {
                i += 1;
                continue;
            }
            self.choose(ctx, t.spec.caps);
            if self.invite.is_empty() {
                if t.spec.caps == 0 {
                    break; // every task needs the same: none can go
                }
                blocked.push(t.spec.caps);
                i += 1;
                continue;
            }
            self.queue.remove(i);
            self.open(ctx, seq);
        }
        if !self.queue.is_empty() {
            self.ensure_poll(ctx);
        }
    }

    /// The round of `task`, if `epoch` is the one open.
    fn open_round(&mut self, task: TaskId, epoch: Epoch) -> Option<&mut Round> {
        if task.manager != self.id {
            return None;
        }
        match &mut self.tasks.get_mut(task.seq as usize)?.phase {
            Phase::Announced(r) if r.epoch == epoch => Some(r),
            _ => None,
        }
    }

    /// `propose` from `from`.
    pub fn on_propose(
        &mut self,
        ctx: &mut Ctx<'_, ContractNet>,
        from: NodeId,
        task: TaskId,
        epoch: Epoch,
        cost: u64,
        bid: u32,
    ) {
        let tick = self.tick;
        let early = ctx.config().early_award;
        let reject = |ctx: &mut Ctx<'_, ContractNet>, to: NodeId, bid: u32, late: bool| {
            ctx.send(
                to,
                CnetMsg::RejectProposal {
                    task,
                    epoch,
                    bid,
                    late,
                },
            )
        };
        let n = self.all.len() as u32;
        let rank = (from.saturating_sub(self.all[0]) + n - task.seq % n) % n;
        let Some(r) = self.open_round(task, epoch) else {
            // A copy of the winning proposal is no news: not late, and not
            // to be rejected.
            let winner = task.manager == self.id
                && matches!(
                    self.tasks.get(task.seq as usize).map(|t| t.phase),
                    Some(Phase::Awarded { epoch: e, to, bid: b, .. }) if (e, to, b) == (epoch, from, bid)
                );
            if !winner {
                ctx.note(CnetNote::Late { task, epoch, from });
                reject(ctx, from, bid, true);
            }
            return;
        };
        let new = Bid {
            cost,
            rank,
            from,
            bid,
            tick,
        };
        if [r.best, r.second]
            .iter()
            .flatten()
            .any(|b| (b.from, b.bid) == (from, bid))
        {
            return; // a duplicated proposal
        }
        r.answered += 1;
        r.bids += 1;
        // Keep the best two; the one pushed out can no longer win.
        let out = match (r.best, r.second) {
            (None, _) => {
                r.best = Some(new);
                None
            }
            (Some(b), s) if new.beats(&b) => {
                r.best = Some(new);
                r.second = Some(b);
                s
            }
            (Some(_), None) => {
                r.second = Some(new);
                None
            }
            (Some(_), Some(s)) if new.beats(&s) => {
                r.second = Some(new);
                Some(s)
            }
            _ => Some(new),
        };
        let all_in = r.answered >= r.invited;
        if let Some(o) = out {
            reject(ctx, o.from, o.bid, false);
        }
        if early && all_in {
            self.award(ctx, task.seq);
        }
    }

    /// `refuse` from a contractor.
    pub fn on_refuse(&mut self, ctx: &mut Ctx<'_, ContractNet>, task: TaskId, epoch: Epoch) {
        let early = ctx.config().early_award;
        if let Some(r) = self.open_round(task, epoch) {
            r.answered += 1;
            if early && r.answered >= r.invited {
                self.award(ctx, task.seq);
            }
        }
    }

    /// Closes the open round of task `seq`: award the lowest cost, or wait.
    fn award(&mut self, ctx: &mut Ctx<'_, ContractNet>, seq: u32) {
        let cfg = ctx.config();
        let Phase::Announced(r) = self.tasks[seq as usize].phase else {
            return;
        };
        let task = self.task_id(seq);
        let epoch = r.epoch;
        let first = (r.first - cfg.managers) as usize;
        if self.strategy == Strategy::Oracle {
            self.offers[first] = self.offers[first].saturating_sub(1);
        }
        if self.strategy == Strategy::LeastLoaded && r.best.is_none() {
            // The offer counted in at once came to nothing.
            self.loads[first].load = self.loads[first].load.saturating_sub(1);
        }
        let Some(best) = r.best else {
            ctx.note(CnetNote::Reannounced {
                task,
                why: Why::NoBid,
            });
            self.tasks[seq as usize].phase = Phase::Waiting;
            if self.central() {
                self.queue.push_front(seq);
                self.ensure_poll(ctx);
            } else {
                self.schedule(ctx, ctx.now() + cfg.retry.0, What::Retry(seq));
            }
            return;
        };
        ctx.send(
            best.from,
            CnetMsg::AcceptProposal {
                task,
                epoch,
                bid: best.bid,
            },
        );
        ctx.note(CnetNote::Awarded {
            task,
            epoch,
            to: best.from,
            bids: r.bids,
        });
        if let Some(s) = r.second {
            if cfg.variant == Variant::DoubleAward {
                ctx.send(
                    s.from,
                    CnetMsg::AcceptProposal {
                        task,
                        epoch,
                        bid: s.bid,
                    },
                );
                ctx.note(CnetNote::Awarded {
                    task,
                    epoch,
                    to: s.from,
                    bids: r.bids,
                });
            } else {
                ctx.send(
                    s.from,
                    CnetMsg::RejectProposal {
                        task,
                        epoch,
                        bid: s.bid,
                        late: false,
                    },
                );
            }
        }
        self.tasks[seq as usize].phase = Phase::Awarded {
            epoch,
            to: best.from,
            bid: best.bid,
            over_at: self.lease.over_at(best.tick),
        };
    }

    /// `inform-done`: the result, accepted once.
    pub fn on_done(&mut self, ctx: &mut Ctx<'_, ContractNet>, from: NodeId, task: TaskId, epoch: Epoch) {
        if task.manager != self.id {
            return;
        }
        let seq = task.seq;
        let Some(t) = self.tasks.get_mut(seq as usize) else {
            return;
        };
        if ((epoch >> 32) as u32) < t.born {
            return; // the result of a lost task that had this number
        }
        let phase = std::mem::replace(&mut t.phase, Phase::Done);
        match phase {
            Phase::Done => return, // accepted already
            Phase::Awarded { epoch: e, to, .. } if (to, e) != (from, epoch) => {
                ctx.send(to, CnetMsg::Cancel { task, epoch: e });
            }
            Phase::Announced(r) => {
                if self.strategy == Strategy::Oracle {
                    let o = &mut self.offers[(r.first - ctx.config().managers) as usize];
                    *o = o.saturating_sub(1);
                }
                for b in [r.best, r.second].into_iter().flatten() {
                    ctx.send(
                        b.from,
                        CnetMsg::RejectProposal {
                            task,
                            epoch: r.epoch,
                            bid: b.bid,
                            late: false,
                        },
                    );
                }
            }
            _ => {}
        }
        Arc::make_mut(&mut self.durable).tasks.remove(&seq);
        let version = self.persist(ctx);
        ctx.note(CnetNote::Completed {
            task,
            by: from,
            epoch,
            version,
        });
        if self.central() {
            self.dispatch_queue(ctx);
        }
    }

    /// `failure` from the winner: announce again at once (it holds nothing).
    pub fn on_failure(&mut self, ctx: &mut Ctx<'_, ContractNet>, from: NodeId, task: TaskId, epoch: Epoch) {
        if task.manager != self.id {
            return;
        }
        let Some(t) = self.tasks.get(task.seq as usize) else {
            return;
        };
        if let Phase::Awarded { epoch: e, to, .. } = t.phase {
            if (to, e) == (from, epoch) {
                ctx.note(CnetNote::Reannounced {
                    task,
                    why: Why::Failure,
                });
                self.tasks[task.seq as usize].phase = Phase::Waiting;
                self.announce(ctx, task.seq);
            }
        }
        if self.central() {
            self.dispatch_queue(ctx);
        }
    }

    /// A progress report: renew the lease from the report's tick (or adopt
    /// the reporter as the holder of a task pending across a restart).
    pub fn on_progress(
        &mut self,
        ctx: &mut Ctx<'_, ContractNet>,
        from: NodeId,
        task: TaskId,
        epoch: Epoch,
        tick: u32,
    ) {
        if task.manager != self.id {
            return;
        }
        let over = self.lease.over_at(self.tick);
        let Some(t) = self.tasks.get_mut(task.seq as usize) else {
            return;
        };
        match &mut t.phase {
            Phase::Awarded {
                epoch: e,
                to,
                over_at,
                ..
            } if (*to, *e) == (from, epoch) => {
                *over_at = (*over_at).max(over);
            }
            Phase::Uncertain { over_at } => {
                t.phase = Phase::Awarded {
                    epoch,
                    to: from,
                    bid: 0, // unknown after a restart; only copies of it would use it
                    over_at: (*over_at).max(over),
                };
            }
            _ => return,
        }
        ctx.send(from, CnetMsg::Renew { task, epoch, tick });
    }

    /// A contractor's load report (least-loaded).
    pub fn on_load(&mut self, ctx: &mut Ctx<'_, ContractNet>, from: NodeId, load: u32, seq: u32) {
        let cfg = ctx.config();
        let tick = self.tick;
        let Some(r) = from
            .checked_sub(cfg.managers)
            .and_then(|i| self.loads.get_mut(i as usize))
        else {
            return;
        };
        // A restarted contractor numbers its reports from 1 again.
        if seq > r.seq || seq == 1 {
            *r = Reported { load, seq, tick };
            if load < cfg.contractor_capacity && !self.queue.is_empty() {
                self.dispatch_queue(ctx);
            }
        }
    }

    /// The lease clock ticks: tasks whose holder's lease is over are
    /// announced again.
    pub fn on_tick(&mut self, ctx: &mut Ctx<'_, ContractNet>) {
        self.tick += 1;
        let now = self.tick;
        let over: Vec<u32> = self
            .durable
            .tasks
            .keys()
            .copied()
            .filter(|&s| match self.tasks[s as usize].phase {
                Phase::Awarded { over_at, .. } | Phase::Uncertain { over_at } => over_at <= now,
                _ => false,
            })
            .collect();
        for seq in over {
            ctx.note(CnetNote::Reannounced {
                task: self.task_id(seq),
                why: Why::Silent,
            });
            self.tasks[seq as usize].phase = Phase::Waiting;
            self.announce(ctx, seq);
        }
        if self.durable.tasks.is_empty() {
            self.ticking = false;
        } else {
            ctx.set_timer(CnetTimer::Tick, self.lease.tick_ns);
        }
    }

    /// The agenda timer: close rounds, retry, poll the queue.
    pub fn on_agenda(&mut self, ctx: &mut Ctx<'_, ContractNet>) {
        let due = self.agenda_at.take().unwrap_or(0).max(ctx.now());
        while let Some(&Reverse((at, _, what))) = self.agenda.peek() {
            if at > due {
                break;
            }
            self.agenda.pop();
            match what {
                What::Deadline(seq, epoch) => {
                    if matches!(self.tasks[seq as usize].phase, Phase::Announced(r) if r.epoch == epoch)
                    {
                        self.award(ctx, seq);
                    }
                }
                What::Retry(seq) => {
                    if matches!(self.tasks[seq as usize].phase, Phase::Waiting) {
                        self.announce(ctx, seq);
                    }
                }
                What::Poll => {
                    self.poll_pending = false;
                    self.dispatch_queue(ctx);
                }
            }
        }
        if let Some(&Reverse((at, _, _))) = self.agenda.peek() {
            if self.agenda_at.is_none_or(|t| at < t) {
                self.agenda_at = Some(at);
                ctx.set_timer(CnetTimer::Agenda, at.saturating_sub(ctx.now()).max(1));
            }
        }
    }

    /// Tasks not yet done.
    pub fn pending(&self) -> usize {
        self.durable.tasks.len()
    }
}
