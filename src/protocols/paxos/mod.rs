//! Paxos: single-decree Paxos as Lamport's *Paxos Made Simple* (2001) states
//! it in §2, and Multi-Paxos as practical systems run it (§3 of the paper:
//! one distinguished proposer, phase 1 once for all open slots), with a
//! client workload, retries and deduplication.
//!
//! ```text
//!  proposer                acceptors (majority)             learners
//!     │ Prepare(b) ───────────► promise: never accept < b
//!     │ ◄──────────── Promise(b, highest accepted (b', v'))
//!     │ Accept(b, v) ─────────► accept unless promised > b
//!     │   v = v' of the highest b' reported, else its own  ──► Accepted(b, v)
//!     │ ◄──────────── Nack(b, promised) (optional)             majority in b: chosen
//! ```
//!
//! **Roles** (see [`config`]): acceptors are nodes `0..acceptors`, proposers
//! `0..proposers`, learners `0..learners` plus every proposer; 0 means every
//! node (the default: every node plays every role). Messages to oneself go
//! through the simulated network like any other (and count as messages).
//!
//! **Single-decree** (`mode = single`). Every slot is an instance of its own
//! with its own promises. Each proposer proposes its own value for slot 0
//! (`own_value`), then the commands it holds, each in the first slot it has
//! not learned, one attempt at a time. Ballots are `(round, proposer)`; a
//! proposer journals each round before using it, so it never reuses one after
//! a crash (§2.2). An attempt that an acceptor's NACK preempts, or that sees
//! no decision within `retry_timeout`, is given up; the proposer retries with
//! a higher ballot after a backoff drawn from `backoff` (zero allowed: then
//! at once). Acceptors send their acceptances to every learner (§2.3, the
//! first method); a learner learns a value when a majority of acceptors
//! accepted it in one ballot.
//!
//! **NACKs** (`nacks`): an acceptor refuses a Prepare or Accept below its
//! promise with a Nack, and when it promises a higher ballot it tells the
//! proposer of the ballot it displaced. With a fixed latency and no backoff,
//! a displaced proposer's new Prepare then reaches the acceptors in the same
//! instant as its rival's Accept, and ahead of it (the NACK left the first
//! acceptor before the promise that completed the rival's majority left the
//! last): the rivals preempt each other for ever, the livelock of §2.4.
//!
//! **Multi-Paxos** (`mode = multi`). A proposer that hears no leader for an
//! election timeout (drawn from `election_timeout`) runs phase 1 with a new
//! ballot for every slot from the first it has not learned; acceptors promise
//! for all of them at once and report what they accepted there. With a
//! majority of promises it leads: for each open slot it proposes the value of
//! the highest ballot reported, fills the slots nobody reported with no-ops,
//! then gives new commands the next slots (at most `window` open at once, up
//! to `batch_max` commands per slot). Acceptors answer the leader (the
//! distinguished learner, §2.3), which tells the other learners each chosen
//! value; its heartbeats carry how many slots are chosen in a row, so a
//! lagging or recovered learner asks for what it missed. A higher ballot
//! seen anywhere (a Prepare, a NACK, a heartbeat) makes a leader step down.
//!
//! **Clients.** A workload submission goes to a node, its *proxy*, which
//! stands in for the client: it sends the command to a proposer (the leader it
//! believes in, in Multi) and resends it every `client_retry` until answered.
//! The proposer that gets it chosen answers the proxy. Learners execute the
//! log in slot order and skip a command already executed (deduplication by
//! `(client, seq)`), so a retried command executes once.
//!
//! **Durable state** ([`journal`]): acceptors journal every promise and every
//! acceptance and persist before they answer (in the same callback, so a
//! storage delay holds the answer until the write completes); proposers
//! journal their rounds. Learners, proposers' attempts, leaders and proxies
//! are volatile: a recovered learner catches up from the others.
//!
//! **Broken variants** (`variant`): `forget-promise` (an acceptor answers a
//! Prepare without persisting its promise), `ignore-accepted` (a proposer
//! proposes its own value despite an accepted one in a Promise),
//! `accept-below-promise` (an acceptor accepts below its promise).

mod acceptor;
mod client;
pub mod config;
#[cfg(feature = "cli")]
mod flags;
pub mod journal;
mod learner;
pub mod monitor;
mod msg;
mod proposer;
mod spec;
pub mod types;

pub use config::{Mode, PaxosConfig, PaxosVariant};
#[cfg(feature = "cli")]
pub use flags::PaxosFlags;
pub use journal::{PaxosDurable, Rec};
pub use monitor::PaxosMonitor;
pub use msg::{PaxosMsg, PaxosNote, PaxosTimer};
pub use spec::PaxosSpec;
pub use types::{Ballot, Cmd, Entry, Value};

use crate::node::{Ctx, Init, MetricDef, NodeId, Protocol, Submission};
use crate::protocols::quorum::majority;
use crate::time::{DurRange, SimTime};
use journal::Journal;

/// One Paxos node, with every role it plays.
pub struct Paxos {
    id: NodeId,
    n: u32,
    acceptors: u32,
    proposers: u32,
    learners: u32,
    is_acceptor: bool,
    is_proposer: bool,
    is_learner: bool,
    journal: Journal,
    acc: acceptor::Acceptor,
    /// The highest round this proposer started (journaled).
    round: u32,
    /// The highest ballot this node has seen.
    seen: Ballot,
    single: proposer::Single,
    role: proposer::Role,
    /// Multi: the leader this node follows, and its ballot.
    leader: Option<(NodeId, Ballot)>,
    /// Multi: when this node last heard the leader.
    last_heard: SimTime,
    /// Multi: the election timeout drawn for the current wait.
    wait: u64,
    learn: learner::Learner,
    proxy: client::Proxy,
}

impl Paxos {
    /// Node ids of acceptors, proposers and learners: `0..count`.
    fn majority(&self) -> u32 {
        majority(self.acceptors)
    }

    /// Whether this node currently leads (Multi).
    pub fn is_leader(&self) -> bool {
        matches!(self.role, proposer::Role::Leader(_))
    }

    /// The slots learned in a row from 0.
    pub fn learned_prefix(&self) -> u64 {
        self.learn.prefix
    }

    /// The value this node learned in `slot`, if it did.
    pub fn learned(&self, slot: u64) -> Option<&Value> {
        self.learn.get(slot)
    }

    /// The highest ballot this node has seen.
    pub fn seen(&self) -> Ballot {
        self.seen
    }

    fn persist(&self, ctx: &mut Ctx<'_, Self>) {
        ctx.persist(PaxosDurable::of(&self.journal));
    }

    /// Sends `msg` to every acceptor, in id order (itself included).
    fn to_acceptors(&self, ctx: &mut Ctx<'_, Self>, msg: PaxosMsg) {
        send_range(ctx, 0..self.acceptors, None, msg);
    }

    /// Sends `msg` to every learner but this node.
    fn to_other_learners(&self, ctx: &mut Ctx<'_, Self>, msg: PaxosMsg) {
        send_range(ctx, 0..self.learners, Some(self.id), msg);
    }
}

/// Sends `msg` to each node of `ids` but `skip`, in id order (the last
/// one gets the message itself, the others a copy).
fn send_range(
    ctx: &mut Ctx<'_, Paxos>,
    ids: std::ops::Range<u32>,
    skip: Option<NodeId>,
    msg: PaxosMsg,
) {
    let mut prev: Option<NodeId> = None;
    for to in ids {
        if Some(to) == skip {
            continue;
        }
        if let Some(p) = prev {
            ctx.send(p, msg.clone());
        }
        prev = Some(to);
    }
    if let Some(p) = prev {
        ctx.send(p, msg);
    }
}

/// A duration drawn uniformly from `r`, in ns.
fn draw(ctx: &mut Ctx<'_, Paxos>, r: DurRange) -> u64 {
    if r.lo == r.hi {
        r.lo.0
    } else {
        ctx.rng().range_inclusive(r.lo.0, r.hi.0)
    }
}

/// Counters a run reports, summed over nodes.
static COUNTERS: [MetricDef; 0] = [];

impl Protocol for Paxos {
    type Config = PaxosConfig;
    type Msg = PaxosMsg;
    type Timer = PaxosTimer;
    type Note = PaxosNote;
    type Durable = PaxosDurable;

    const COUNTERS: &'static [MetricDef] = &COUNTERS;

    fn init(ctx: &mut Init<'_, Self>, durable: &PaxosDurable) -> Self {
        let cfg = ctx.config();
        let (id, n) = (ctx.id(), ctx.nodes());
        let acceptors = cfg.acceptor_count(n);
        let proposers = cfg.proposer_count(n);
        let learners = if cfg.learners == 0 {
            n
        } else {
            cfg.learners.max(proposers)
        };
        let journal = durable.open();
        let mut acc = acceptor::Acceptor::default();
        let mut learn = learner::Learner::default();
        let mut round = 0;
        for rec in journal.borrow().iter() {
            match rec {
                Rec::Round(r) => round = round.max(*r),
                Rec::Learned { slot, value } => learn.restore(*slot, value),
                r => acc.replay(r, cfg.mode),
            }
        }
        learn.replay_execution();
        if cfg.mode == Mode::Single {
            // Slots this acceptor accepted in are in play.
            learn.expect(acc.accepted_end());
        }
        Paxos {
            id,
            n,
            acceptors,
            proposers,
            learners,
            is_acceptor: id < acceptors,
            is_proposer: id < proposers,
            is_learner: id < learners,
            journal,
            seen: acc.highest().max(Ballot {
                round,
                node: if round > 0 { id } else { 0 },
            }),
            acc,
            round,
            single: proposer::Single::default(),
            role: proposer::Role::Follower,
            leader: None,
            last_heard: 0,
            wait: 0,
            learn,
            proxy: client::Proxy::default(),
        }
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        let cfg = ctx.config();
        self.learn.announce(ctx);
        match cfg.mode {
            Mode::Single => {
                if self.is_learner && cfg.own_value {
                    self.learn.expect(1);
                }
                self.check_catch_up(ctx);
                if self.is_proposer {
                    let d = draw(ctx, cfg.start);
                    if d == 0 {
                        self.single.started = true;
                        self.next_work(ctx);
                    } else {
                        ctx.set_timer(PaxosTimer::Start, d);
                    }
                }
            }
            Mode::Multi => {
                if self.is_proposer {
                    self.last_heard = ctx.now();
                    self.arm_election(ctx);
                }
            }
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: PaxosMsg) {
        match msg {
            PaxosMsg::Prepare { ballot, slot } => self.on_prepare(ctx, from, ballot, slot),
            PaxosMsg::Promise {
                ballot,
                slot,
                accepted,
            } => self.on_promise(ctx, from, ballot, slot, accepted),
            PaxosMsg::Accept {
                ballot,
                slot,
                value,
            } => self.on_accept(ctx, from, ballot, slot, value),
            PaxosMsg::Accepted {
                ballot,
                slot,
                value,
            } => self.on_accepted(ctx, from, ballot, slot, value),
            PaxosMsg::Nack {
                ballot,
                slot,
                promised,
            } => self.on_nack(ctx, ballot, slot, promised),
            PaxosMsg::Chosen { slot, value } => {
                self.learn_value(ctx, slot, value, None);
            }
            PaxosMsg::Heartbeat { ballot, commit } => {
                self.on_heartbeat(ctx, from, ballot, commit)
            }
            PaxosMsg::CatchUp { from: slot } => self.on_catch_up(ctx, from, slot),
            PaxosMsg::CatchUpReply { from, values } => {
                let full = values.len() == learner::CATCH_UP_MAX;
                let end = from + values.len() as u64;
                for (i, v) in values.into_iter().enumerate() {
                    self.learn_value(ctx, from + i as u64, v, None);
                }
                if full {
                    // There may be more: ask again.
                    self.learn.expect(end + 1);
                    self.check_catch_up(ctx);
                }
            }
            PaxosMsg::Request { cmd } => self.on_request(ctx, from, cmd),
            PaxosMsg::Reply { seq, .. } => self.answered(ctx, seq),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: PaxosTimer) {
        match timer {
            PaxosTimer::Start => {
                self.single.started = true;
                self.next_work(ctx);
            }
            PaxosTimer::Retry => self.on_retry(ctx),
            PaxosTimer::Election => self.on_election_timer(ctx),
            PaxosTimer::Heartbeat => self.on_heartbeat_timer(ctx),
            PaxosTimer::CatchUp => self.on_catch_up_timer(ctx),
            PaxosTimer::ClientRetry => self.on_client_retry(ctx),
        }
    }

    fn on_submit(&mut self, ctx: &mut Ctx<'_, Self>, sub: Submission) {
        self.submit(ctx, sub);
    }
}

#[cfg(test)]
mod tests;
