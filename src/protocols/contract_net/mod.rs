//! The FIPA Contract Net Interaction Protocol (FIPA SC00029H; Smith 1980):
//! task allocation by bidding, with deadlines, capacities, several managers,
//! leases, re-announcement, crashes, and the central-dispatcher baselines
//! it is compared with.
//!
//! ```text
//!   manager                                    contractors
//!      │── cfp(task, size, capabilities) ───────►│  (every eligible one, or `fanout`)
//!      │◄── propose(cost) / refuse ──────────────│  cost: expected completion time
//!      │   deadline (or every invitee answered)  │
//!      │── accept-proposal (lease) ─────────────►│ winner: lowest cost, ties rotate by task
//!      │── reject-proposal ─────────────────────►│ the others (late proposals too)
//!      │◄── progress ─── renew ─────────────────►│ every report_every, while it holds the task
//!      │◄── inform-done / failure ───────────────│
//! ```
//!
//! **Roles** are one enum, [`ContractNet`]: nodes `0..managers` are
//! managers, nodes `managers..nodes` are contractors. With a baseline
//! `strategy` (round-robin, random, least-loaded, power-of-two, or the
//! least-loaded oracle) the managers are the central dispatchers: the
//! same node with another rule for whom it invites and which answer wins.
//! Every strategy keeps the three steps (an offer, an answer, an award)
//! because the lease must start at the contractor no later than at the
//! manager (see [`lease`]): a dispatcher that assigned in one message could
//! not know when a delayed assignment started its lease.
//!
//! **Tasks** arrive through the workload hook (`--arrivals`,
//! `--submissions`, `--target`); a task's size and capabilities are drawn
//! from the submission ([`task`]). Submissions are remapped inside the
//! protocol: one that reaches a contractor is handed to manager `index mod
//! managers` in a [`CnetMsg::Request`] (one message, lost like any other);
//! `--target node:0` with one manager avoids the hop.
//!
//! **Time.** Deadlines, retries and the contractors' cost estimates read the
//! simulator's clock; every duration safety rests on — a lease — is counted
//! in ticks of the node's own (drifting) timer, sized for the drift bound
//! `drift_bound_ppm` ([`lease`]).
//!
//! **Persistence**: managers persist their pending tasks, next task number
//! and incarnation ([`manager`]); contractors persist nothing
//! ([`contractor`]).
//!
//! **Broken variants** (`variant`): `double-award` (a manager awards each
//! round to its two best bidders) and `over-capacity` (a contractor
//! proposes and accepts whatever its load).

pub mod config;
pub mod contractor;
#[cfg(feature = "cli")]
mod flags;
pub mod lease;
pub mod manager;
pub mod messages;
pub mod mmc;
pub mod monitor;
pub mod oracle;
mod spec;
pub mod task;

pub use config::{ContractNetConfig, Cost, Filter, SizeDist, Strategy, Variant};
pub use contractor::Contractor;
#[cfg(feature = "cli")]
pub use flags::ContractNetFlags;
pub use manager::{Manager, ManagerDurable};
pub use messages::{CnetMsg, CnetNote, CnetTimer, TaskId};
pub use monitor::ContractNetMonitor;
pub use spec::ContractNetSpec;

use crate::node::{Ctx, Init, NodeId, Protocol, Submission};
use std::sync::Arc;

/// A node's role: a manager (or, with a baseline strategy, a dispatcher)
/// or a contractor.
#[derive(Clone, Debug)]
pub enum ContractNet {
    /// Nodes `0..managers`.
    Manager(Box<Manager>),
    /// Nodes `managers..nodes` (not boxed: a call reaches every contractor,
    /// so its state is read without a pointer chase).
    Contractor(Contractor),
}

/// What survives a crash: a manager's [`ManagerDurable`] (contractors
/// persist nothing). Shared, copied only when a persisted copy is kept.
pub type CnetDurable = Arc<ManagerDurable>;

impl ContractNet {
    /// The manager, if this node is one.
    pub fn manager(&self) -> Option<&Manager> {
        match self {
            ContractNet::Manager(m) => Some(m),
            ContractNet::Contractor(_) => None,
        }
    }
    /// The contractor, if this node is one.
    pub fn contractor(&self) -> Option<&Contractor> {
        match self {
            ContractNet::Contractor(c) => Some(c),
            ContractNet::Manager(_) => None,
        }
    }
}

impl Protocol for ContractNet {
    type Config = ContractNetConfig;
    type Msg = CnetMsg;
    type Timer = CnetTimer;
    type Note = CnetNote;
    type Durable = CnetDurable;

    fn init(ctx: &mut Init<'_, Self>, d: &CnetDurable) -> Self {
        let (cfg, id) = (ctx.config(), ctx.id());
        if cfg.is_manager(id) {
            ContractNet::Manager(Box::new(Manager::new(cfg, id, ctx.nodes(), d)))
        } else {
            let first_bid = ctx.rng().next_u64() as u32;
            ContractNet::Contractor(Contractor::new(cfg, id, first_bid))
        }
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        match self {
            ContractNet::Manager(m) => m.on_start(ctx),
            ContractNet::Contractor(c) => c.on_start(ctx),
        }
    }

    #[inline]
    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: CnetMsg) {
        match self {
            ContractNet::Contractor(c) => match msg {
                CnetMsg::Cfp {
                    task,
                    epoch,
                    size_ns,
                    caps,
                } => c.on_cfp(ctx, from, task, epoch, size_ns, caps),
                CnetMsg::AcceptProposal { task, epoch, bid } => {
                    c.on_accept(ctx, from, task, epoch, bid)
                }
                CnetMsg::RejectProposal {
                    task, epoch, bid, ..
                } => c.on_reject(ctx, task, epoch, bid),
                CnetMsg::Renew { task, epoch, tick } => c.on_renew(task, epoch, tick),
                CnetMsg::Cancel { task, epoch } => c.on_cancel(ctx, task, epoch),
                _ => {}
            },
            ContractNet::Manager(m) => match msg {
                CnetMsg::Propose {
                    task,
                    epoch,
                    cost,
                    bid,
                } => m.on_propose(ctx, from, task, epoch, cost, bid),
                CnetMsg::Refuse { task, epoch, .. } => m.on_refuse(ctx, task, epoch),
                CnetMsg::InformDone { task, epoch } => m.on_done(ctx, from, task, epoch),
                CnetMsg::Failure { task, epoch, .. } => m.on_failure(ctx, from, task, epoch),
                CnetMsg::Progress { task, epoch, tick } => {
                    m.on_progress(ctx, from, task, epoch, tick)
                }
                CnetMsg::LoadReport { load, seq } => m.on_load(ctx, from, load, seq),
                CnetMsg::Request {
                    index,
                    client,
                    draw,
                } => m.on_submit(
                    ctx,
                    Submission {
                        index,
                        client,
                        draw,
                    },
                ),
                _ => {}
            },
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: CnetTimer) {
        match (self, timer) {
            (ContractNet::Manager(m), CnetTimer::Tick) => m.on_tick(ctx),
            (ContractNet::Manager(m), CnetTimer::Agenda) => m.on_agenda(ctx),
            (ContractNet::Contractor(c), CnetTimer::Tick) => c.on_tick(ctx),
            (ContractNet::Contractor(c), CnetTimer::Work) => c.on_work(ctx),
            _ => {}
        }
    }

    fn on_submit(&mut self, ctx: &mut Ctx<'_, Self>, sub: Submission) {
        match self {
            ContractNet::Manager(m) => m.on_submit(ctx, sub),
            ContractNet::Contractor(_) => {
                let to = (sub.index % ctx.config().managers as u64) as NodeId;
                ctx.send(
                    to,
                    CnetMsg::Request {
                        index: sub.index,
                        client: sub.client,
                        draw: sub.draw,
                    },
                );
            }
        }
    }
}

#[cfg(test)]
mod tests;
