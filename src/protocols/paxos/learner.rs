//! The learner (*Paxos Made Simple* §2.3): learn a value once a majority of
//! acceptors accepted it in one ballot (or from the leader, or a catch-up),
//! execute the log in slot order, deduplicating retried commands, and ask
//! for the chosen slots it missed.

use super::config::Mode;
use super::types::{fold_digest, Ballot, Cmd, SeqSet, Value};
use super::{Paxos, PaxosMsg, PaxosNote, PaxosTimer};
use crate::node::{Ctx, NodeId};
use crate::protocols::quorum::VoteSet;

/// Most values one catch-up reply carries.
pub const CATCH_UP_MAX: usize = 256;
/// Single: a learner that knows of nothing missing still asks a random peer
/// every this many retry timeouts (a slot may be chosen while its
/// acceptances to this learner are all lost, or while it is cut off).
pub const PERIODIC: u64 = 5;

/// What a learner knows (volatile: a recovered learner catches up).
#[derive(Default)]
pub(super) struct Learner {
    /// The chosen value of each slot, where learned.
    chosen: Vec<Option<Value>>,
    /// Every slot below is learned and executed.
    pub(super) prefix: u64,
    /// The execution digest ([`fold_digest`]).
    digest: u64,
    /// Commands executed, by sequence number.
    pub(super) executed: SeqSet,
    /// Single: acceptances counted per open slot and ballot.
    tallies: Vec<Tally>,
    /// Slots below are known to be chosen or in play (a proposer worked on
    /// them): a learner that lacks one asks for it, and a proposer finishes
    /// it if nobody answers.
    pub(super) frontier: u64,
    /// The catch-up timer: not armed, armed for a learner that knows it is
    /// behind, or armed for Single's periodic check.
    catch_up: CatchUpTimer,
}

#[derive(Clone, Copy, Default, PartialEq, Eq)]
enum CatchUpTimer {
    #[default]
    Off,
    Behind,
    Periodic,
}

struct Tally {
    slot: u64,
    ballot: Ballot,
    votes: VoteSet,
    value: Value,
}

impl Learner {
    /// The value learned in `slot`.
    pub(super) fn get(&self, slot: u64) -> Option<&Value> {
        self.chosen.get(slot as usize).and_then(|v| v.as_ref())
    }

    /// Slots below `slot` exist: ask for them if they are not learned.
    pub(super) fn expect(&mut self, slot: u64) {
        self.frontier = self.frontier.max(slot);
    }

    /// One past the highest slot learned.
    pub(super) fn len(&self) -> u64 {
        self.chosen.len() as u64
    }

    /// Restores a value learned before a crash (from the journal).
    pub(super) fn restore(&mut self, slot: u64, value: &Value) {
        let i = slot as usize;
        if i >= self.chosen.len() {
            self.chosen.resize(i + 1, None);
        }
        self.chosen[i] = Some(value.clone());
    }

    /// Re-executes the restored log (replies went out before the crash).
    pub(super) fn replay_execution(&mut self) {
        while let Some(Some(v)) = self.chosen.get(self.prefix as usize) {
            for c in v.cmds() {
                if self.executed.insert(c.seq) {
                    self.digest = fold_digest(self.digest, c);
                }
            }
            self.prefix += 1;
        }
        self.frontier = self.frontier.max(self.len());
    }

    /// After a recovery, says how far the restored log was executed.
    pub(super) fn announce(&self, ctx: &mut Ctx<'_, Paxos>) {
        if self.prefix > 0 {
            ctx.note(PaxosNote::Applied {
                upto: self.prefix,
                digest: self.digest,
            });
        }
    }
}

impl Paxos {
    /// Phase 2b arrives at a learner (Single) or at the leader (Multi).
    pub(super) fn on_accepted(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        ballot: Ballot,
        slot: u64,
        value: Value,
    ) {
        if ctx.config().mode == Mode::Multi {
            return self.leader_on_accepted(ctx, from, ballot, slot);
        }
        if !self.is_learner || self.learn.get(slot).is_some() {
            return;
        }
        // The proposer of this slot learned every slot before it, and this
        // slot is in play.
        self.learn.expect(slot + 1);
        let maj = self.majority();
        let tallies = &mut self.learn.tallies;
        let i = match tallies
            .iter()
            .position(|t| t.slot == slot && t.ballot == ballot)
        {
            Some(i) => i,
            None => {
                tallies.push(Tally {
                    slot,
                    ballot,
                    votes: VoteSet::new(self.acceptors),
                    value,
                });
                tallies.len() - 1
            }
        };
        let t = &mut tallies[i];
        if t.votes.insert(from) && t.votes.len() >= maj {
            let v = t.value.clone();
            self.learn_value(ctx, slot, v, Some(ballot));
        }
    }

    /// Learns that `value` is chosen in `slot`; executes what became
    /// executable. Returns whether it was new.
    pub(super) fn learn_value(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        slot: u64,
        value: Value,
        ballot: Option<Ballot>,
    ) -> bool {
        if !self.is_learner {
            return false;
        }
        let i = slot as usize;
        let len = self.learn.chosen.len();
        if i == len {
            self.learn.chosen.push(None);
        } else if i > len {
            self.learn.chosen.resize(i + 1, None);
        } else if self.learn.chosen[i].is_some() {
            return false;
        }
        self.journal.borrow_mut().push(super::Rec::Learned {
            slot,
            value: value.clone(),
        });
        self.persist(ctx);
        self.learn.chosen[i] = Some(value.clone());
        self.learn.expect(slot + 1);
        if !self.learn.tallies.is_empty() {
            self.learn.tallies.retain(|t| t.slot != slot);
        }
        while let Some(Some(v)) = self.learn.chosen.get(self.learn.prefix as usize) {
            let v = v.clone();
            self.learn.prefix += 1;
            self.execute(ctx, &v);
        }
        ctx.note(PaxosNote::Learned {
            slot,
            value,
            ballot,
            applied: self.learn.prefix,
            digest: self.learn.digest,
        });
        if ctx.config().mode == Mode::Single && self.is_proposer {
            self.single_on_learned(ctx, slot);
        }
        self.check_catch_up(ctx);
        true
    }

    /// Executes the commands of a chosen value, skipping those executed
    /// already, and answers the ones this node must answer.
    fn execute(&mut self, ctx: &mut Ctx<'_, Self>, v: &Value) {
        for c in v.cmds() {
            if self.learn.executed.insert(c.seq) {
                self.learn.digest = fold_digest(self.learn.digest, c);
            }
            self.on_executed(ctx, c);
        }
    }

    /// A command was executed here: answer it if this node proposed it (or
    /// leads), or take the answer if this node is its proxy.
    fn on_executed(&mut self, ctx: &mut Ctx<'_, Self>, c: &Cmd) {
        if c.proxy == self.id {
            self.answered(ctx, c.seq);
        }
        let answer = match ctx.config().mode {
            Mode::Multi => self.is_leader(),
            Mode::Single => self.single.take_queued(c.seq),
        };
        if answer && c.proxy != self.id {
            ctx.send(
                c.proxy,
                PaxosMsg::Reply {
                    client: c.client,
                    seq: c.seq,
                },
            );
        }
    }

    /// Answers command `c` (executed already) to its proxy.
    pub(super) fn reply(&mut self, ctx: &mut Ctx<'_, Self>, c: &Cmd) {
        if c.proxy == self.id {
            self.answered(ctx, c.seq);
        } else {
            ctx.send(
                c.proxy,
                PaxosMsg::Reply {
                    client: c.client,
                    seq: c.seq,
                },
            );
        }
    }

    /// Arms the catch-up timer: after `retry_timeout` (Single) or a
    /// heartbeat interval (Multi) if some slot known to be chosen is not
    /// learned; otherwise, in Single (no leader tells learners what they
    /// missed), every [`PERIODIC`] retry timeouts.
    pub(super) fn check_catch_up(&mut self, ctx: &mut Ctx<'_, Self>) {
        if !self.is_learner {
            return;
        }
        let cfg = ctx.config();
        let behind = self.learn.frontier > self.learn.prefix;
        let (state, after) = match (behind, cfg.mode, self.learn.catch_up) {
            (true, _, CatchUpTimer::Behind) => return,
            (true, Mode::Single, _) => (CatchUpTimer::Behind, cfg.retry_timeout.0),
            (true, Mode::Multi, _) => (CatchUpTimer::Behind, cfg.heartbeat.0),
            (false, Mode::Single, CatchUpTimer::Off) => {
                (CatchUpTimer::Periodic, PERIODIC * cfg.retry_timeout.0)
            }
            (false, _, _) => return,
        };
        self.learn.catch_up = state;
        ctx.set_timer(PaxosTimer::CatchUp, after);
    }

    /// Asks the leader (Multi, if known) or a random peer for the slots
    /// missing (Single: also periodically, in case some were chosen unseen).
    pub(super) fn on_catch_up_timer(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.learn.catch_up = CatchUpTimer::Off;
        if self.learn.frontier <= self.learn.prefix && ctx.config().mode == Mode::Multi {
            return;
        }
        let to = match self.leader {
            Some((l, _)) if l != self.id && ctx.config().mode == Mode::Multi => Some(l),
            _ => {
                let peers = ctx.peers();
                if peers.is_empty() {
                    None
                } else {
                    let i = ctx.rng().index(peers.len());
                    Some(peers.get(i))
                }
            }
        };
        if let Some(to) = to {
            ctx.send(
                to,
                PaxosMsg::CatchUp {
                    from: self.learn.prefix,
                },
            );
        }
        if ctx.config().mode == Mode::Single && self.learn.frontier > self.learn.prefix {
            // "A learner can find out what value has been chosen by asking a
            // proposer to issue a proposal" (§2.3): a proposer issues one.
            self.single_recover(ctx);
        }
        self.check_catch_up(ctx);
    }

    /// Answers a catch-up with the chosen values this node holds in a row
    /// from `slot`.
    pub(super) fn on_catch_up(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, slot: u64) {
        let mut values = Vec::new();
        let mut s = slot as usize;
        while let Some(Some(v)) = self.learn.chosen.get(s) {
            values.push(v.clone());
            s += 1;
            if values.len() == CATCH_UP_MAX {
                break;
            }
        }
        if !values.is_empty() {
            ctx.send(from, PaxosMsg::CatchUpReply { from: slot, values });
        }
    }
}
