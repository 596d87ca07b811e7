//! The contractor: answers calls, holds awards under a lease, runs one task
//! at a time in award order, and reports.
//!
//! ```text
//!  cfp ──► incapable? refuse ─ full? refuse ─ else propose(cost) [reserve]
//!  accept-proposal ──► proposal known and room? hold (lease from the proposal's tick)
//!                      else failure
//!  tick (every report_every) ──► drop what the lease no longer covers,
//!                                send progress for the rest (asks for renewal)
//!  renew(tick q) ──► the lease now counts from q
//!  work timer ──► inform-done (or failure), start the next held task
//! ```
//!
//! **Persisted: nothing.** A contractor cannot tell how long it was down, so
//! no lease it held can be trusted after a restart; it comes back empty,
//! and its managers re-announce its tasks once their side of the lease is
//! over (an award for a proposal it no longer knows gets `failure`).

use super::config::{ContractNetConfig, Cost, Strategy, Variant};
use super::lease::Lease;
use super::messages::{
    CnetMsg, CnetNote, CnetTimer, Epoch, FailureReason, RefuseReason, Release, TaskId,
};
use super::task::TaskSpec;
use super::{oracle, ContractNet};
use crate::node::{Ctx, NodeId};
use crate::time::SimTime;
use std::collections::VecDeque;

/// A task held under a lease.
#[derive(Clone, Copy, Debug)]
struct Held {
    task: TaskId,
    epoch: Epoch,
    /// The tick the lease counts from (when the contractor last asked).
    asked: u32,
    /// ns of work at this contractor's speed.
    work_ns: u64,
}

/// A proposal awaiting its answer.
#[derive(Clone, Copy, Debug)]
struct Proposal {
    task: TaskId,
    epoch: Epoch,
    /// Its number.
    bid: u32,
    /// The tick it was sent at: an award's lease counts from here.
    asked: u32,
    /// ns of work at this contractor's speed (reserved when `reserve`).
    work_ns: u64,
}

/// A contractor's volatile state (it persists nothing).
#[derive(Clone, Debug)]
pub struct Contractor {
    speed: f64,
    caps: u32,
    capacity: u32,
    lease: Lease,
    /// Held tasks in award order; the first runs.
    held: VecDeque<Held>,
    /// Sum of `work_ns` of the held tasks.
    held_work_ns: u64,
    /// When the first held task started running.
    running_since: SimTime,
    /// Proposals awaiting an answer, oldest first.
    proposals: Vec<Proposal>,
    /// Sum of `work_ns` of the proposals (0 unless `reserve`).
    reserved_work_ns: u64,
    /// The lease clock: ticks so far.
    tick: u32,
    /// Whether the tick timer is armed.
    ticking: bool,
    /// Load reports sent (least-loaded).
    reports: u32,
    /// The next proposal's number (from a random start at every boot, so
    /// that numbers of different lives do not meet).
    next_bid: u32,
}

impl Contractor {
    /// Contractor node `id` at boot or after a crash; its proposals are
    /// numbered from `first_bid`.
    pub fn new(cfg: &ContractNetConfig, id: NodeId, first_bid: u32) -> Contractor {
        if cfg.strategy == Strategy::Oracle {
            oracle::set(id, 0);
        }
        Contractor {
            speed: cfg.speed_of(id),
            caps: cfg.caps_of(id),
            capacity: cfg.contractor_capacity,
            lease: Lease::of(cfg),
            held: VecDeque::new(),
            held_work_ns: 0,
            running_since: 0,
            proposals: Vec::new(),
            reserved_work_ns: 0,
            tick: 0,
            ticking: false,
            reports: 0,
            next_bid: first_bid,
        }
    }

    /// Boot or recovery: a least-loaded dispatcher hears the load (0).
    pub fn on_start(&mut self, ctx: &mut Ctx<'_, ContractNet>) {
        self.load_changed(ctx);
    }

    /// Tasks held, plus proposals when they reserve.
    fn load(&self, reserve: bool) -> u32 {
        self.held.len() as u32 + if reserve { self.proposals.len() as u32 } else { 0 }
    }

    /// Tell whoever tracks loads (least-loaded managers, the oracle).
    fn load_changed(&mut self, ctx: &mut Ctx<'_, ContractNet>) {
        let cfg = ctx.config();
        match cfg.strategy {
            Strategy::LeastLoaded => {
                self.reports += 1;
                let load = self.load(cfg.reserve);
                for m in 0..cfg.managers {
                    ctx.send(
                        m,
                        CnetMsg::LoadReport {
                            load,
                            seq: self.reports,
                        },
                    );
                }
            }
            Strategy::Oracle => oracle::set(ctx.id(), self.load(cfg.reserve)),
            _ => {}
        }
    }

    fn ensure_ticking(&mut self, ctx: &mut Ctx<'_, ContractNet>) {
        if !self.ticking {
            self.ticking = true;
            ctx.set_timer(CnetTimer::Tick, self.lease.tick_ns);
        }
    }

    /// The bid for `work_ns` more work, by `cost`.
    fn cost(&self, cost: Cost, work_ns: u64, now: SimTime) -> u64 {
        match cost {
            Cost::Completion => {
                let done = if self.held.is_empty() {
                    0
                } else {
                    now.saturating_sub(self.running_since)
                };
                (self.held_work_ns + self.reserved_work_ns + work_ns).saturating_sub(done)
            }
            Cost::Queue => self.held.len() as u64 + self.proposals.len() as u64,
            Cost::TaskTime => work_ns,
        }
    }

    /// `cfp` from manager `from`.
    pub fn on_cfp(
        &mut self,
        ctx: &mut Ctx<'_, ContractNet>,
        from: NodeId,
        task: TaskId,
        epoch: Epoch,
        size_ns: u64,
        caps: u32,
    ) {
        let cfg = ctx.config();
        if self.caps & caps != caps {
            return ctx.send(
                from,
                CnetMsg::Refuse {
                    task,
                    epoch,
                    reason: RefuseReason::Incapable,
                },
            );
        }
        if self
            .proposals
            .iter()
            .any(|p| p.task == task && p.epoch == epoch)
        {
            return; // a duplicated call: answered already
        }
        if self.load(cfg.reserve) >= self.capacity && cfg.variant != Variant::OverCapacity {
            return ctx.send(
                from,
                CnetMsg::Refuse {
                    task,
                    epoch,
                    reason: RefuseReason::Full,
                },
            );
        }
        let work_ns = TaskSpec::work_ns(size_ns, self.speed);
        let how = if cfg.strategy == Strategy::PowerOfTwo {
            Cost::Queue
        } else {
            cfg.cost
        };
        let cost = self.cost(how, work_ns, ctx.now());
        self.ensure_ticking(ctx);
        let bid = self.next_bid;
        self.next_bid = bid.wrapping_add(1);
        self.proposals.push(Proposal {
            task,
            epoch,
            bid,
            asked: self.tick,
            work_ns,
        });
        if cfg.reserve {
            self.reserved_work_ns += work_ns;
        }
        ctx.send(
            from,
            CnetMsg::Propose {
                task,
                epoch,
                cost,
                bid,
            },
        );
        if cfg.reserve {
            self.load_changed(ctx);
        }
    }

    /// Forgets proposal `i`, releasing its reservation.
    fn drop_proposal(&mut self, i: usize, reserve: bool) -> Proposal {
        let p = self.proposals.remove(i);
        if reserve {
            self.reserved_work_ns -= p.work_ns;
        }
        p
    }

    /// `accept-proposal` of proposal `bid` from manager `from`.
    pub fn on_accept(
        &mut self,
        ctx: &mut Ctx<'_, ContractNet>,
        from: NodeId,
        task: TaskId,
        epoch: Epoch,
        bid: u32,
    ) {
        let cfg = ctx.config();
        let Some(i) = self
            .proposals
            .iter()
            .position(|p| p.task == task && p.epoch == epoch && p.bid == bid)
        else {
            if !self.held.iter().any(|h| h.task == task && h.epoch == epoch) {
                // Lapsed, or proposed before a restart: not ours to run.
                ctx.send(
                    from,
                    CnetMsg::Failure {
                        task,
                        epoch,
                        reason: FailureReason::Unknown,
                    },
                );
            }
            return; // or a duplicated award of a task held already
        };
        let p = self.drop_proposal(i, cfg.reserve);
        if self.held.len() as u32 >= self.capacity && cfg.variant != Variant::OverCapacity {
            ctx.send(
                from,
                CnetMsg::Failure {
                    task,
                    epoch,
                    reason: FailureReason::Full,
                },
            );
            if cfg.reserve {
                self.load_changed(ctx);
            }
            return;
        }
        self.held.push_back(Held {
            task,
            epoch,
            asked: p.asked,
            work_ns: p.work_ns,
        });
        self.held_work_ns += p.work_ns;
        ctx.note(CnetNote::Holding { task, epoch });
        if self.held.len() == 1 {
            self.start_next(ctx);
        }
        self.load_changed(ctx);
    }

    /// `reject-proposal` of proposal `bid`.
    pub fn on_reject(
        &mut self,
        ctx: &mut Ctx<'_, ContractNet>,
        task: TaskId,
        epoch: Epoch,
        bid: u32,
    ) {
        let reserve = ctx.config().reserve;
        if let Some(i) = self
            .proposals
            .iter()
            .position(|p| p.task == task && p.epoch == epoch && p.bid == bid)
        {
            self.drop_proposal(i, reserve);
            if reserve {
                self.load_changed(ctx);
            }
        }
    }

    /// The lease of a held task renewed from the contractor's tick `asked`.
    pub fn on_renew(&mut self, task: TaskId, epoch: Epoch, asked: u32) {
        if let Some(h) = self
            .held
            .iter_mut()
            .find(|h| h.task == task && h.epoch == epoch)
        {
            h.asked = h.asked.max(asked);
        }
    }

    /// `cancel`: the result came from an earlier holder.
    pub fn on_cancel(&mut self, ctx: &mut Ctx<'_, ContractNet>, task: TaskId, epoch: Epoch) {
        if let Some(i) = self
            .held
            .iter()
            .position(|h| h.task == task && h.epoch == epoch)
        {
            self.release(ctx, i, Release::Cancelled);
            if i == 0 {
                self.start_next(ctx);
            }
            self.load_changed(ctx);
        }
    }

    /// Stops holding task `i`.
    fn release(&mut self, ctx: &mut Ctx<'_, ContractNet>, i: usize, why: Release) -> Held {
        let h = self.held.remove(i).expect("a held task");
        self.held_work_ns -= h.work_ns;
        ctx.note(CnetNote::Released {
            task: h.task,
            epoch: h.epoch,
            why,
        });
        if i == 0 {
            ctx.cancel_timer(CnetTimer::Work);
        }
        h
    }

    /// Starts the first held task, if any.
    fn start_next(&mut self, ctx: &mut Ctx<'_, ContractNet>) {
        if let Some(h) = self.held.front() {
            self.running_since = ctx.now();
            ctx.note(CnetNote::Started {
                task: h.task,
                epoch: h.epoch,
            });
            ctx.set_timer(CnetTimer::Work, h.work_ns);
        }
    }

    /// The running task is finished.
    pub fn on_work(&mut self, ctx: &mut Ctx<'_, ContractNet>) {
        if self.held.is_empty() {
            return;
        }
        let failed = {
            let r = ctx.config().failure_ratio;
            r > 0.0 && ctx.rng().chance(r)
        };
        let why = if failed { Release::Failed } else { Release::Done };
        let h = self.release(ctx, 0, why);
        let (task, epoch) = (h.task, h.epoch);
        let msg = if failed {
            CnetMsg::Failure {
                task,
                epoch,
                reason: FailureReason::Failed,
            }
        } else {
            CnetMsg::InformDone { task, epoch }
        };
        ctx.send(task.manager, msg);
        self.start_next(ctx);
        self.load_changed(ctx);
    }

    /// The lease clock ticks: drop what the lease no longer covers, report
    /// on the rest, let unanswered proposals lapse.
    pub fn on_tick(&mut self, ctx: &mut Ctx<'_, ContractNet>) {
        self.tick += 1;
        let now = self.tick;
        let mut changed = false;
        let mut i = 0;
        while i < self.held.len() {
            if self.lease.holds(self.held[i].asked, now) {
                i += 1;
                continue;
            }
            self.release(ctx, i, Release::Expired);
            if i == 0 {
                self.start_next(ctx);
            }
            changed = true;
        }
        for h in &self.held {
            ctx.send(
                h.task.manager,
                CnetMsg::Progress {
                    task: h.task,
                    epoch: h.epoch,
                    tick: now,
                },
            );
        }
        let reserve = ctx.config().reserve;
        let mut j = 0;
        while j < self.proposals.len() {
            if self.lease.holds(self.proposals[j].asked, now) {
                j += 1;
            } else {
                self.drop_proposal(j, reserve);
                changed |= reserve;
            }
        }
        if changed {
            self.load_changed(ctx);
        }
        if self.held.is_empty() && self.proposals.is_empty() {
            self.ticking = false;
        } else {
            ctx.set_timer(CnetTimer::Tick, self.lease.tick_ns);
        }
    }

    /// Tasks held now.
    pub fn held(&self) -> usize {
        self.held.len()
    }
}
