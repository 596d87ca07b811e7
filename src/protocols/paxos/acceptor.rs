//! The acceptor (*Paxos Made Simple* §2.2): promise, accept, and persist both
//! before answering.

use super::config::{Mode, PaxosVariant};
use super::journal::Rec;
use super::types::{Ballot, Entry, Value};
use super::{Paxos, PaxosMsg};
use crate::node::{Ctx, NodeId};

/// What an acceptor remembers (rebuilt from the journal after a crash).
#[derive(Default)]
pub(super) struct Acceptor {
    /// Multi: the promise, for every slot.
    promised: Ballot,
    /// Per slot: Single's promise, and the highest-numbered proposal accepted.
    slots: Vec<AccSlot>,
}

#[derive(Clone, Default)]
struct AccSlot {
    promised: Ballot,
    accepted: Option<(Ballot, Value)>,
}

impl Acceptor {
    /// The ballot below which nothing is accepted in `slot`.
    #[inline]
    fn promise_of(&self, slot: u64) -> Ballot {
        match self.slots.get(slot as usize) {
            Some(s) => self.promised.max(s.promised),
            None => self.promised,
        }
    }

    #[inline]
    fn slot_mut(&mut self, slot: u64) -> &mut AccSlot {
        let i = slot as usize;
        if i >= self.slots.len() {
            self.slots.resize(i + 1, AccSlot::default());
        }
        &mut self.slots[i]
    }

    /// Raises the promise of `slot` (Single) or of every slot (Multi) to `b`.
    fn raise(&mut self, mode: Mode, slot: u64, b: Ballot) {
        match mode {
            Mode::Multi => self.promised = self.promised.max(b),
            Mode::Single => {
                let s = self.slot_mut(slot);
                s.promised = s.promised.max(b);
            }
        }
    }

    /// Applies one journal record.
    pub(super) fn replay(&mut self, rec: &Rec, mode: Mode) {
        match rec {
            Rec::Promise { slot: None, ballot } => self.promised = self.promised.max(*ballot),
            Rec::Promise {
                slot: Some(s),
                ballot,
            } => self.raise(Mode::Single, *s, *ballot),
            Rec::Accept {
                slot,
                ballot,
                value,
            } => {
                self.raise(mode, *slot, *ballot);
                self.slot_mut(*slot).accepted = Some((*ballot, value.clone()));
            }
            Rec::Round(_) | Rec::Learned { .. } => {}
        }
    }

    /// One past the last slot where something was accepted.
    pub(super) fn accepted_end(&self) -> u64 {
        self.slots
            .iter()
            .rposition(|s| s.accepted.is_some())
            .map_or(0, |i| i as u64 + 1)
    }

    /// The highest ballot promised or accepted anywhere.
    pub(super) fn highest(&self) -> Ballot {
        self.slots
            .iter()
            .map(|s| s.promised.max(s.accepted.as_ref().map_or(Ballot::NONE, |a| a.0)))
            .fold(self.promised, Ballot::max)
    }

    /// The accepted proposals of `slot` (Single) or of every slot from it (Multi).
    fn accepted_from(&self, mode: Mode, slot: u64) -> Vec<Entry> {
        let entry = |i: usize, s: &AccSlot| {
            s.accepted.as_ref().map(|(b, v)| Entry {
                slot: i as u64,
                ballot: *b,
                value: v.clone(),
            })
        };
        match mode {
            Mode::Single => self
                .slots
                .get(slot as usize)
                .and_then(|s| entry(slot as usize, s))
                .into_iter()
                .collect(),
            Mode::Multi => self
                .slots
                .iter()
                .enumerate()
                .skip(slot as usize)
                .filter_map(|(i, s)| entry(i, s))
                .collect(),
        }
    }
}

impl Paxos {
    /// Single: a proposer works on a slot only once it learned every slot
    /// before it, so they are chosen, and an acceptance puts its slot in
    /// play: a learner that lacks slots below `slot` asks for them (and a
    /// proposer finishes them if nobody answers).
    fn hint(&mut self, ctx: &mut Ctx<'_, Self>, slot: u64) {
        if ctx.config().mode == Mode::Single && slot > self.learn.prefix {
            self.learn.expect(slot);
            self.check_catch_up(ctx);
        }
    }

    /// Phase 1b: "If an acceptor receives a prepare request with number n
    /// greater than that of any prepare request to which it has already
    /// responded, then it responds to the request with a promise not to accept
    /// any more proposals numbered less than n and with the highest-numbered
    /// proposal (if any) that it has accepted" (§2.2). A repeated Prepare of
    /// the ballot promised is answered again (its Promise may have been lost).
    pub(super) fn on_prepare(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        ballot: Ballot,
        slot: u64,
    ) {
        if !self.is_acceptor {
            return;
        }
        let cfg = ctx.config();
        self.hint(ctx, slot);
        let p = self.acc.promise_of(slot);
        if ballot < p {
            if cfg.nacks {
                ctx.send(
                    from,
                    PaxosMsg::Nack {
                        ballot,
                        slot,
                        promised: p,
                    },
                );
            }
            return;
        }
        let forget = cfg.variant == PaxosVariant::ForgetPromise;
        if ballot > p {
            self.acc.raise(cfg.mode, slot, ballot);
            if !forget {
                let slot = (cfg.mode == Mode::Single).then_some(slot);
                self.journal.borrow_mut().push(Rec::Promise { slot, ballot });
            }
        }
        if !forget {
            // Also for a repeated Prepare: the answer must not leave before
            // the promise is durable (writes complete in order).
            self.persist(ctx);
        }
        if ballot > p && cfg.nacks && p.is_some() && p.node != ballot.node {
            // Tell the proposer of the displaced ballot it was preempted.
            ctx.send(
                p.node,
                PaxosMsg::Nack {
                    ballot: p,
                    slot,
                    promised: ballot,
                },
            );
        }
        let accepted = self.acc.accepted_from(cfg.mode, slot);
        ctx.send(
            from,
            PaxosMsg::Promise {
                ballot,
                slot,
                accepted,
            },
        );
        self.observe(ctx, ballot);
    }

    /// Phase 2b: "If an acceptor receives an accept request for a proposal
    /// numbered n, it accepts the proposal unless it has already responded to
    /// a prepare request having a number greater than n" (§2.2).
    pub(super) fn on_accept(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        ballot: Ballot,
        slot: u64,
        value: Value,
    ) {
        if !self.is_acceptor {
            return;
        }
        let cfg = ctx.config();
        self.hint(ctx, slot);
        let p = self.acc.promise_of(slot);
        if ballot < p && cfg.variant != PaxosVariant::AcceptBelowPromise {
            if cfg.nacks {
                ctx.send(
                    from,
                    PaxosMsg::Nack {
                        ballot,
                        slot,
                        promised: p,
                    },
                );
            }
            return;
        }
        self.acc.raise(cfg.mode, slot, ballot);
        let s = self.acc.slot_mut(slot);
        let again = s
            .accepted
            .as_ref()
            .is_some_and(|(b, v)| *b == ballot && *v == value);
        if !again {
            s.accepted = Some((ballot, value.clone()));
            self.journal.borrow_mut().push(Rec::Accept {
                slot,
                ballot,
                value: value.clone(),
            });
        }
        self.persist(ctx);
        self.hint(ctx, slot + 1);
        let msg = PaxosMsg::Accepted {
            ballot,
            slot,
            value,
        };
        match cfg.mode {
            Mode::Single => super::send_range(ctx, 0..self.learners, None, msg),
            Mode::Multi => ctx.send(ballot.node, msg),
        }
        if cfg.mode == Mode::Multi {
            self.observe(ctx, ballot);
            if ballot == self.seen && from != self.id {
                self.heard_leader(ctx, from, ballot);
            }
        }
    }
}
