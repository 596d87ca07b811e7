//! The proposer: single-decree attempts (*Paxos Made Simple* §2.2) with
//! backoff, and the Multi-Paxos leader (§3): elected through ballots, phase 1
//! once for every open slot, phase 2 per slot, kept by heartbeats.

use super::config::{Mode, PaxosVariant};
use super::journal::Rec;
use super::types::{Ballot, Cmd, Entry, SeqSet, Value};
use super::{draw, Paxos, PaxosMsg, PaxosNote, PaxosTimer};
use crate::node::{Ctx, NodeId};
use crate::protocols::quorum::VoteSet;
use crate::time::SimTime;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

/// A single-decree proposer: one attempt at a time.
#[derive(Default)]
pub(super) struct Single {
    /// The first attempt may start (after `start`).
    pub(super) started: bool,
    attempt: Option<Attempt>,
    /// Waiting out a backoff before the next attempt.
    backing_off: bool,
    /// Commands to propose, in arrival order.
    queue: VecDeque<Cmd>,
    /// The commands in `queue`.
    queued: SeqSet,
}

struct Attempt {
    slot: u64,
    ballot: Ballot,
    /// This proposer's own value for the slot.
    value: Value,
    phase2: bool,
    promises: VoteSet,
    /// The highest-numbered proposal the promises reported.
    best: Option<(Ballot, Value)>,
}

impl Single {
    /// Removes command `seq` from the queue if it is there; returns whether
    /// it was (so this proposer answers it).
    pub(super) fn take_queued(&mut self, seq: u64) -> bool {
        if !self.queued.contains(seq) {
            return false;
        }
        self.queued.remove(seq);
        if let Some(i) = self.queue.iter().position(|c| c.seq == seq) {
            self.queue.remove(i);
        }
        true
    }
}

/// A Multi-Paxos proposer's role.
#[derive(Default)]
pub(super) enum Role {
    /// Follows a leader (or waits for one).
    #[default]
    Follower,
    /// Runs phase 1 for every slot from `from`.
    Candidate(Election),
    /// Leads: phase 2 per slot.
    Leader(Lead),
}

pub(super) struct Election {
    ballot: Ballot,
    from: u64,
    promises: VoteSet,
    /// Per slot, the highest-numbered proposal reported.
    entries: BTreeMap<u64, (Ballot, Value)>,
}

pub(super) struct Lead {
    ballot: Ballot,
    /// The slot of `inflight[0]`.
    base: u64,
    /// Slots proposed, from `base`: `None` once chosen (or known chosen).
    inflight: VecDeque<Option<Inflight>>,
    /// Slots proposed and not chosen.
    open: u32,
    next_slot: u64,
    /// Commands waiting for a slot.
    queue: VecDeque<Cmd>,
    /// Commands queued or proposed during this leadership.
    known: SeqSet,
}

struct Inflight {
    value: Value,
    votes: VoteSet,
    sent_at: SimTime,
}

impl Paxos {
    /// Starts a new round: a ballot above every ballot seen, journaled (and
    /// persisted) before any message carries it.
    fn new_ballot(&mut self, ctx: &mut Ctx<'_, Self>) -> Ballot {
        self.round = self.round.max(self.seen.round) + 1;
        let ballot = Ballot {
            round: self.round,
            node: self.id,
        };
        self.seen = self.seen.max(ballot);
        self.journal.borrow_mut().push(Rec::Round(self.round));
        self.persist(ctx);
        ballot
    }

    /// A Promise arrives.
    pub(super) fn on_promise(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        ballot: Ballot,
        slot: u64,
        accepted: Vec<Entry>,
    ) {
        match ctx.config().mode {
            Mode::Single => self.single_on_promise(ctx, from, ballot, slot, accepted),
            Mode::Multi => self.candidate_on_promise(ctx, from, ballot, accepted),
        }
    }

    /// A NACK arrives: `ballot` was refused or displaced by `promised`.
    pub(super) fn on_nack(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        ballot: Ballot,
        slot: u64,
        promised: Ballot,
    ) {
        match ctx.config().mode {
            Mode::Single => {
                self.seen = self.seen.max(promised);
                let hit = self
                    .single
                    .attempt
                    .as_ref()
                    .is_some_and(|a| a.ballot == ballot && a.slot == slot && promised > ballot);
                if hit {
                    ctx.note(PaxosNote::Preempted {
                        slot,
                        ballot,
                        by: promised,
                    });
                    self.single.attempt = None;
                    self.backoff(ctx);
                }
            }
            Mode::Multi => self.observe(ctx, promised),
        }
    }

    // ------------------------------------------------------------ single

    /// Queues a command to propose (answers it at once if executed already).
    pub(super) fn single_enqueue(&mut self, ctx: &mut Ctx<'_, Self>, cmd: Cmd) {
        if self.learn.executed.contains(cmd.seq) {
            return self.reply(ctx, &cmd);
        }
        if self.single.queued.insert(cmd.seq) {
            self.single.queue.push_back(cmd);
            self.next_work(ctx);
        }
    }

    /// Starts the next attempt if there is something to propose: its own
    /// value for slot 0 (`own_value`), else the first command queued, in the
    /// first slot it has not learned.
    pub(super) fn next_work(&mut self, ctx: &mut Ctx<'_, Self>) {
        if !self.single.started || self.single.attempt.is_some() || self.single.backing_off {
            return;
        }
        let slot = self.learn.prefix;
        let value = if ctx.config().own_value && slot == 0 {
            Value::Own(self.id)
        } else {
            while let Some(&c) = self.single.queue.front() {
                if !self.learn.executed.contains(c.seq) {
                    break;
                }
                self.single.take_queued(c.seq);
                self.reply(ctx, &c);
            }
            match self.single.queue.front() {
                Some(&c) => Value::Cmd(c),
                None => return,
            }
        };
        self.start_attempt(ctx, slot, value);
    }

    /// An idle proposer behind on slots in play proposes a no-op in the first
    /// one: it adopts whatever value was accepted there (so a chosen value is
    /// learned again, a value left open is finished), else fills the slot.
    pub(super) fn single_recover(&mut self, ctx: &mut Ctx<'_, Self>) {
        let idle = self.single.started
            && self.single.attempt.is_none()
            && !self.single.backing_off
            && self.single.queue.is_empty();
        if self.is_proposer && idle && self.learn.frontier > self.learn.prefix {
            self.start_attempt(ctx, self.learn.prefix, Value::Noop);
        }
    }

    /// Phase 1a for `slot`.
    fn start_attempt(&mut self, ctx: &mut Ctx<'_, Self>, slot: u64, value: Value) {
        let ballot = self.new_ballot(ctx);
        ctx.note(PaxosNote::Attempt { slot, ballot });
        self.single.attempt = Some(Attempt {
            slot,
            ballot,
            value,
            phase2: false,
            promises: VoteSet::new(self.acceptors),
            best: None,
        });
        self.to_acceptors(ctx, PaxosMsg::Prepare { ballot, slot });
        ctx.set_timer(PaxosTimer::Retry, ctx.config().retry_timeout.0);
    }

    /// Phase 2a once a majority promised: "a proposal with number n and value
    /// v, where v is the value of the highest-numbered proposal among the
    /// responses, or is any value if the responders reported no proposals"
    /// (§2.2).
    fn single_on_promise(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        ballot: Ballot,
        slot: u64,
        accepted: Vec<Entry>,
    ) {
        let maj = self.majority();
        let Some(a) = self.single.attempt.as_mut() else {
            return;
        };
        if a.ballot != ballot || a.slot != slot || a.phase2 || !a.promises.insert(from) {
            return;
        }
        for e in accepted {
            if e.slot == slot && a.best.as_ref().is_none_or(|(b, _)| e.ballot > *b) {
                a.best = Some((e.ballot, e.value));
            }
        }
        if a.promises.len() < maj {
            return;
        }
        a.phase2 = true;
        let (value, recovered) = match &a.best {
            Some((b, v)) if ctx.config().variant != PaxosVariant::IgnoreAccepted => {
                (v.clone(), Some(*b))
            }
            _ => (a.value.clone(), None),
        };
        ctx.note(PaxosNote::Proposed {
            slot,
            ballot,
            value: value.clone(),
            recovered,
        });
        self.to_acceptors(
            ctx,
            PaxosMsg::Accept {
                ballot,
                slot,
                value,
            },
        );
    }

    /// Waits a backoff drawn from `backoff`, then retries (at once if it drew 0).
    fn backoff(&mut self, ctx: &mut Ctx<'_, Self>) {
        let d = draw(ctx, ctx.config().backoff);
        if d == 0 {
            ctx.cancel_timer(PaxosTimer::Retry);
            self.next_work(ctx);
        } else {
            self.single.backing_off = true;
            ctx.set_timer(PaxosTimer::Retry, d);
        }
    }

    /// The attempt timed out, or the backoff ended.
    pub(super) fn on_retry(&mut self, ctx: &mut Ctx<'_, Self>) {
        if std::mem::take(&mut self.single.backing_off) {
            self.next_work(ctx);
        } else if self.single.attempt.take().is_some() {
            self.backoff(ctx);
        }
    }

    /// This proposer learned `slot`: its attempt there is over.
    pub(super) fn single_on_learned(&mut self, ctx: &mut Ctx<'_, Self>, slot: u64) {
        if self.single.attempt.as_ref().is_some_and(|a| a.slot == slot) {
            self.single.attempt = None;
            ctx.cancel_timer(PaxosTimer::Retry);
        }
        self.next_work(ctx);
    }

    // ------------------------------------------------------------- multi

    /// Arms the election timer for a fresh timeout from now.
    pub(super) fn arm_election(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.wait = draw(ctx, ctx.config().election_timeout);
        ctx.set_timer(PaxosTimer::Election, self.wait);
    }

    /// The election timer fired: start phase 1 unless the leader was heard
    /// within the timeout (then wait again from its last message).
    pub(super) fn on_election_timer(&mut self, ctx: &mut Ctx<'_, Self>) {
        if self.is_leader() || !self.is_proposer {
            return;
        }
        let now = ctx.now();
        let following = matches!(self.role, Role::Follower) && self.leader.is_some();
        if following && now - self.last_heard < self.wait {
            self.wait = draw(ctx, ctx.config().election_timeout);
            let left = (self.last_heard + self.wait).saturating_sub(now).max(1);
            ctx.set_timer(PaxosTimer::Election, left);
            return;
        }
        self.start_election(ctx);
    }

    /// Phase 1a for every slot from the first not learned.
    fn start_election(&mut self, ctx: &mut Ctx<'_, Self>) {
        let ballot = self.new_ballot(ctx);
        let from = self.learn.prefix;
        self.leader = None;
        ctx.note(PaxosNote::Attempt { slot: from, ballot });
        self.role = Role::Candidate(Election {
            ballot,
            from,
            promises: VoteSet::new(self.acceptors),
            entries: BTreeMap::new(),
        });
        self.to_acceptors(ctx, PaxosMsg::Prepare { ballot, slot: from });
        self.arm_election(ctx);
    }

    fn candidate_on_promise(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        ballot: Ballot,
        accepted: Vec<Entry>,
    ) {
        let maj = self.majority();
        let Role::Candidate(e) = &mut self.role else {
            return;
        };
        if e.ballot != ballot || !e.promises.insert(from) {
            return;
        }
        for x in accepted {
            let better = e.entries.get(&x.slot).is_none_or(|(b, _)| x.ballot > *b);
            if better {
                e.entries.insert(x.slot, (x.ballot, x.value));
            }
        }
        if e.promises.len() >= maj {
            self.become_leader(ctx);
        }
    }

    /// Phase 1 done for every open slot: propose the value of the highest
    /// ballot reported in each (no-op where none was), then new commands.
    fn become_leader(&mut self, ctx: &mut Ctx<'_, Self>) {
        let Role::Candidate(e) = std::mem::take(&mut self.role) else {
            return;
        };
        let ballot = e.ballot;
        ctx.note(PaxosNote::Leader { ballot });
        self.leader = Some((self.id, ballot));
        let end = e
            .entries
            .last_key_value()
            .map_or(e.from, |(s, _)| s + 1)
            .max(self.learn.len())
            .max(e.from);
        self.role = Role::Leader(Lead {
            ballot,
            base: e.from,
            inflight: VecDeque::new(),
            open: 0,
            next_slot: e.from,
            queue: VecDeque::new(),
            known: SeqSet::default(),
        });
        let variant = ctx.config().variant;
        for slot in e.from..end {
            if self.learn.get(slot).is_some() {
                self.lead().inflight.push_back(None);
                self.lead().next_slot = slot + 1;
                continue;
            }
            let (value, recovered) = match e.entries.get(&slot) {
                Some((b, v)) if variant != PaxosVariant::IgnoreAccepted => (v.clone(), Some(*b)),
                _ => (Value::Noop, None),
            };
            self.propose(ctx, value, recovered);
        }
        self.trim();
        ctx.cancel_timer(PaxosTimer::Election);
        self.send_heartbeat(ctx);
        self.pump(ctx);
    }

    fn lead(&mut self) -> &mut Lead {
        match &mut self.role {
            Role::Leader(l) => l,
            _ => unreachable!("called while leading"),
        }
    }

    /// Phase 2a for the next slot.
    fn propose(&mut self, ctx: &mut Ctx<'_, Self>, value: Value, recovered: Option<Ballot>) {
        let n = self.acceptors;
        let now = ctx.now();
        let l = self.lead();
        let (slot, ballot) = (l.next_slot, l.ballot);
        l.next_slot += 1;
        debug_assert_eq!(l.base + l.inflight.len() as u64, slot);
        l.inflight.push_back(Some(Inflight {
            value: value.clone(),
            votes: VoteSet::new(n),
            sent_at: now,
        }));
        l.open += 1;
        ctx.note(PaxosNote::Proposed {
            slot,
            ballot,
            value: value.clone(),
            recovered,
        });
        self.to_acceptors(
            ctx,
            PaxosMsg::Accept {
                ballot,
                slot,
                value,
            },
        );
    }

    /// Drops the chosen slots at the front of the window.
    fn trim(&mut self) {
        let l = self.lead();
        while let Some(None) = l.inflight.front() {
            l.inflight.pop_front();
            l.base += 1;
        }
    }

    /// Proposes queued commands while the window has room, up to
    /// `batch_max` per slot.
    fn pump(&mut self, ctx: &mut Ctx<'_, Self>) {
        let cfg = ctx.config();
        loop {
            let l = self.lead();
            if cfg.window != 0 && l.open >= cfg.window {
                return;
            }
            let value = if cfg.batch_max == 1 {
                match l.queue.pop_front() {
                    Some(c) => Value::Cmd(c),
                    None => return,
                }
            } else {
                let k = l.queue.len().min(cfg.batch_max as usize);
                match k {
                    0 => return,
                    1 => Value::Cmd(l.queue.pop_front().expect("one queued")),
                    _ => Value::Batch(l.queue.drain(..k).collect::<Arc<[Cmd]>>()),
                }
            };
            self.propose(ctx, value, None);
        }
    }

    /// A command reaches the leader.
    pub(super) fn leader_enqueue(&mut self, ctx: &mut Ctx<'_, Self>, cmd: Cmd) {
        if self.learn.executed.contains(cmd.seq) {
            return self.reply(ctx, &cmd);
        }
        let l = self.lead();
        if l.known.insert(cmd.seq) {
            l.queue.push_back(cmd);
            self.pump(ctx);
        }
    }

    /// Phase 2b at the leader: a majority of acceptances in its ballot
    /// chooses the slot's value; it learns it and tells the other learners.
    pub(super) fn leader_on_accepted(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        ballot: Ballot,
        slot: u64,
    ) {
        let maj = self.majority();
        let Role::Leader(l) = &mut self.role else {
            return;
        };
        if l.ballot != ballot || slot < l.base {
            return;
        }
        let i = (slot - l.base) as usize;
        let Some(Some(f)) = l.inflight.get_mut(i) else {
            return;
        };
        if !f.votes.insert(from) || f.votes.len() < maj {
            return;
        }
        let value = l.inflight[i].take().expect("in flight").value;
        l.open -= 1;
        self.trim();
        self.learn_value(ctx, slot, value.clone(), Some(ballot));
        self.to_other_learners(ctx, PaxosMsg::Chosen { slot, value });
        if self.is_leader() {
            self.pump(ctx);
        }
    }

    fn send_heartbeat(&mut self, ctx: &mut Ctx<'_, Self>) {
        let Role::Leader(l) = &self.role else { return };
        let msg = PaxosMsg::Heartbeat {
            ballot: l.ballot,
            commit: self.learn.prefix,
        };
        super::send_range(ctx, 0..self.n, Some(self.id), msg);
        ctx.set_timer(PaxosTimer::Heartbeat, ctx.config().heartbeat.0);
    }

    /// The leader's heartbeat: tell everyone, and resend the Accepts of
    /// slots not chosen within a heartbeat interval.
    pub(super) fn on_heartbeat_timer(&mut self, ctx: &mut Ctx<'_, Self>) {
        if !self.is_leader() {
            return;
        }
        self.send_heartbeat(ctx);
        let (now, every) = (ctx.now(), ctx.config().heartbeat.0);
        let l = self.lead();
        let (ballot, base) = (l.ballot, l.base);
        let mut resend = Vec::new();
        for (i, f) in l.inflight.iter_mut().enumerate() {
            if let Some(f) = f {
                if now - f.sent_at >= every {
                    f.sent_at = now;
                    resend.push((base + i as u64, f.value.clone()));
                }
            }
        }
        for (slot, value) in resend {
            self.to_acceptors(
                ctx,
                PaxosMsg::Accept {
                    ballot,
                    slot,
                    value,
                },
            );
        }
    }

    /// A heartbeat from `from`: follow it if its ballot is the highest seen,
    /// else tell it it was preempted.
    pub(super) fn on_heartbeat(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        ballot: Ballot,
        commit: u64,
    ) {
        self.observe(ctx, ballot);
        if ballot == self.seen {
            self.heard_leader(ctx, from, ballot);
            self.learn.expect(commit);
            self.check_catch_up(ctx);
        } else if ctx.config().nacks {
            ctx.send(
                from,
                PaxosMsg::Nack {
                    ballot,
                    slot: 0,
                    promised: self.seen,
                },
            );
        }
    }

    /// `from` leads with `ballot`, the highest ballot seen.
    pub(super) fn heard_leader(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, ballot: Ballot) {
        self.last_heard = ctx.now();
        if self.leader != Some((from, ballot)) {
            self.leader = Some((from, ballot));
            ctx.note(PaxosNote::Following {
                leader: from,
                ballot,
            });
        }
    }

    /// A ballot was seen: a candidate or leader of a lower ballot gives it up
    /// (Multi).
    pub(super) fn observe(&mut self, ctx: &mut Ctx<'_, Self>, ballot: Ballot) {
        if ballot <= self.seen {
            return;
        }
        self.seen = ballot;
        if ctx.config().mode != Mode::Multi {
            return;
        }
        let mine = match &self.role {
            Role::Follower => return,
            Role::Candidate(e) => e.ballot,
            Role::Leader(l) => l.ballot,
        };
        ctx.note(PaxosNote::Preempted {
            slot: 0,
            ballot: mine,
            by: ballot,
        });
        if self.is_leader() {
            ctx.note(PaxosNote::SteppedDown { ballot: mine });
            ctx.cancel_timer(PaxosTimer::Heartbeat);
            self.leader = None;
            self.last_heard = ctx.now();
            self.role = Role::Follower;
            self.arm_election(ctx);
        } else {
            self.role = Role::Follower;
        }
    }
}
