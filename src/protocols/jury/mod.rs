//! The noisy jury (Condorcet 1785): `n` jurors vote on a yes/no question
//! whose answer is `truth`; each is right with probability `p`. Voters are
//! independent, or correlated: with probability `rho` a juror copies one
//! shared draw (the opinion of one `source` juror, itself right with
//! probability `p`). Every juror broadcasts its vote and takes the verdict
//! from the votes it receives by a voting rule (default: a majority of the
//! votes cast); Byzantine jurors can be mixed in.
//!
//! ```text
//!  t = 0: each juror draws: copy the shared opinion (prob. rho)? its own vote
//!         (right with prob. p); the source broadcasts Opinion(its draw)
//!  independent jurors vote at once; copiers vote when the Opinion arrives
//!  each juror tallies every Vote ──► rule certain? ──► verdict
//!  at the deadline: missing votes count as declared ──► verdict, or none
//! ```
//!
//! **Accuracy is a metric, not a property**: `correct` is, per run, the
//! fraction of honest jurors whose verdict is the truth (1 or 0 when they
//! all reach the same verdict; a juror without a verdict counts as wrong);
//! its mean over runs is the jury's accuracy. Condorcet's jury theorem: with
//! independent jurors and `p > 1/2` the majority's accuracy
//! `Σ_{k > n/2} C(n,k) p^k (1 − p)^(n−k)` rises to 1 with `n`; below 1/2 it
//! falls to 0. With correlation the jury is only as good as the shared draw
//! for the copiers: the accuracy is `p · A(n, ρ + (1 − ρ)p) + (1 − p) ·
//! A(n, (1 − ρ)p)` with `A(n, q)` the chance that a binomial `(n, q)` exceeds
//! `n/2` ([`exact_accuracy`]), which tends to `p` (not 1) as `n` grows when
//! `ρ > 0` is large. `results/byzantine-jury` draws both against these
//! exact curves.
//!
//! **Property**: *verdict* (eventually): every honest juror that is up
//! gives its verdict, or declares none, by its deadline.
//!
//! **Signatures** (`signed`, on by default): a vote or opinion signed by
//! another node than the juror it names is rejected; unsigned, it is
//! believed and the first one received for a juror counts.
//!
//! **Crashes**: a juror persists its vote before sending it and votes the
//! same after recovering. Byzantine behaviours: see [`adversary`].

pub mod adversary;
mod config;
#[cfg(feature = "cli")]
mod flags;
pub mod monitor;
mod spec;

use super::voting::{binomial_tail, Ballot, NoDecision, Outcome, Recorded, Rule, Tally, Value};
use crate::node::{BehaviourKind, Ctx, Decision, Init, MetricDef, NodeId, Note, Protocol};
use crate::time::SimTime;
use serde::Serialize;

pub use config::JuryConfig;
#[cfg(feature = "cli")]
pub use flags::JuryFlags;
pub use monitor::JuryMonitor;
pub use spec::JurySpec;

/// The exact accuracy of a majority of `n` jurors, each right with
/// probability `p`, copying one shared draw (right with probability `p`)
/// with probability `rho`, when `byzantine` of them always vote wrong (so
/// `n − byzantine` honest jurors vote): a tie counts as wrong.
pub fn exact_accuracy(n: u32, p: f64, rho: f64, byzantine: u32) -> f64 {
    let honest = n.saturating_sub(byzantine);
    let need = n / 2 + 1;
    let a = |q: f64| binomial_tail(honest, q, need);
    if rho == 0.0 {
        return a(p);
    }
    p * a(rho + (1.0 - rho) * p) + (1.0 - p) * a((1.0 - rho) * p)
}

/// Jury messages.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, agentsim_macros::Message)]
pub enum JuryMsg {
    /// The shared opinion copiers copy, from the source juror.
    Opinion {
        /// The opinion.
        value: Value,
        /// Who signed it.
        signer: NodeId,
    },
    /// "`juror` votes `value`", signed by `signer`.
    Vote {
        /// The juror claimed.
        juror: NodeId,
        /// The vote.
        value: Value,
        /// Who signed it.
        signer: NodeId,
    },
}

/// Jury timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, agentsim_macros::TimerTag)]
pub enum JuryTimer {
    /// The tally closes.
    Deadline,
    /// A `delay` traitor's messages are due.
    Flush,
}

/// What a Byzantine juror changed (trace tag `adversary`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// No vote (or opinion) to these jurors.
    Withheld {
        /// The jurors that got nothing.
        to: Vec<NodeId>,
    },
    /// Other values than an honest juror with its draw would send: each
    /// `(value, jurors told it)`.
    Altered {
        /// What it would have voted honestly.
        honest: Value,
        /// Values sent, with the jurors told each.
        sent: Vec<(Value, Vec<NodeId>)>,
    },
    /// Votes in the name of `jurors` other jurors, each for `value`.
    Forged {
        /// How many jurors it impersonates.
        jurors: u32,
        /// The value claimed.
        value: Value,
    },
    /// Its messages leave at `until_ns`.
    Delayed {
        /// When.
        until_ns: SimTime,
    },
}

/// Jury facts.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum JuryNote {
    /// An honest juror voted.
    Voted {
        /// Its vote.
        value: Value,
        /// It copied the shared opinion.
        copied: bool,
    },
    /// An honest copier that never heard the shared opinion: it did not
    /// vote (noted at its deadline).
    NoVote,
    /// Its verdict.
    Verdict {
        /// The verdict.
        value: Value,
    },
    /// No verdict at the deadline.
    NoVerdict {
        /// Why.
        reason: NoDecision,
    },
    /// A signed vote or opinion with the wrong signer was rejected.
    Rejected {
        /// Who sent it.
        from: NodeId,
    },
    /// A second, different vote for a juror already counted (ignored).
    Conflict {
        /// The juror.
        juror: NodeId,
    },
    /// A Byzantine juror's change.
    Adversary {
        /// Its behaviour.
        behaviour: BehaviourKind,
        /// What it changed.
        #[serde(flatten)]
        change: Change,
    },
}

impl Note for JuryNote {
    fn decided(&self) -> Option<Decision> {
        match self {
            JuryNote::Verdict { value } => Some(Decision {
                instance: 0,
                value: value.to_string(),
            }),
            _ => None,
        }
    }
    fn tag(&self) -> Option<&'static str> {
        Some(match self {
            JuryNote::Voted { .. } => "voted",
            JuryNote::NoVote => "no_vote",
            JuryNote::Verdict { .. } => "verdict",
            JuryNote::NoVerdict { .. } => "no_verdict",
            JuryNote::Rejected { .. } => "rejected",
            JuryNote::Conflict { .. } => "conflict",
            JuryNote::Adversary { .. } => "adversary",
        })
    }
}

/// What survives a crash: the juror's vote (it never votes twice).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct JuryDurable {
    /// Its vote, once cast.
    pub vote: Option<Value>,
}

/// Counter indices.
pub mod counter {
    /// `rejected_messages`.
    pub const REJECTED: usize = 0;
    /// `conflicting_votes`.
    pub const CONFLICTS: usize = 1;
}

/// One juror.
#[derive(Clone, Debug)]
pub struct Jury {
    /// It copies the shared opinion.
    copies: bool,
    /// Its own draw (right with probability p).
    own: Value,
    /// The source's draw (used by the source only).
    shared: Value,
    vote: Option<Value>,
    opinion_heard: bool,
    rule: Rule,
    tally: Tally,
    decided: bool,
    byz: adversary::State,
}

impl Jury {
    /// Its own draw.
    pub fn own(&self) -> Value {
        self.own
    }

    /// Casts `value` (persisted first) and broadcasts it.
    fn cast(&mut self, ctx: &mut Ctx<'_, Self>, value: Value, copied: bool) {
        if self.vote.is_some() {
            return;
        }
        self.vote = Some(value);
        ctx.persist(JuryDurable { vote: Some(value) });
        let me = ctx.id();
        if ctx.behaviour().is_some() {
            return adversary::vote(self, ctx);
        }
        ctx.note(JuryNote::Voted { value, copied });
        self.tally.record(me, Ballot::Vote(value));
        ctx.broadcast(JuryMsg::Vote {
            juror: me,
            value,
            signer: me,
        });
        self.evaluate(ctx, false);
    }

    fn evaluate(&mut self, ctx: &mut Ctx<'_, Self>, closed: bool) {
        if self.decided || ctx.behaviour().is_some() {
            return;
        }
        match self.tally.outcome(&self.rule, closed) {
            Outcome::Decided(v) => {
                self.decided = true;
                ctx.note(JuryNote::Verdict { value: v });
            }
            Outcome::None(reason) if closed => {
                self.decided = true;
                ctx.note(JuryNote::NoVerdict { reason });
            }
            _ => {}
        }
    }

    fn on_vote(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, juror: NodeId, value: Value, signer: NodeId) {
        if ctx.config().signed && signer != juror {
            ctx.count(counter::REJECTED, 1.0);
            if ctx.behaviour().is_none() {
                ctx.note(JuryNote::Rejected { from });
            }
            return;
        }
        if juror >= ctx.nodes() {
            return;
        }
        match self.tally.record(juror, Ballot::Vote(value)) {
            Recorded::New => self.evaluate(ctx, false),
            Recorded::Repeat => {}
            Recorded::Conflict { .. } => {
                ctx.count(counter::CONFLICTS, 1.0);
                if ctx.behaviour().is_none() {
                    ctx.note(JuryNote::Conflict { juror });
                }
            }
        }
    }
}

impl Protocol for Jury {
    type Config = JuryConfig;
    type Msg = JuryMsg;
    type Timer = JuryTimer;
    type Note = JuryNote;
    type Durable = JuryDurable;

    const COUNTERS: &'static [MetricDef] = &[
        MetricDef {
            name: "rejected_messages",
            unit: "count",
            definition: "signed votes and opinions rejected because another node than the one named signed them",
        },
        MetricDef {
            name: "conflicting_votes",
            unit: "count",
            definition: "votes that differed from the vote already counted for their juror (ignored)",
        },
    ];
    const BEHAVIOURS: &'static [BehaviourKind] = &BehaviourKind::ALL;

    fn init(ctx: &mut Init<'_, Self>, d: &JuryDurable) -> Self {
        let cfg = ctx.config();
        let n = ctx.nodes();
        // Three draws per juror, always, in this order.
        let copies = ctx.rng().chance(cfg.rho) && ctx.behaviour().is_none();
        let right = |r: bool| if r { cfg.truth } else { 1 - cfg.truth };
        let own = right(ctx.rng().chance(cfg.p));
        let shared = right(ctx.rng().chance(cfg.p));
        let byz = adversary::State::new(ctx);
        Jury {
            copies,
            own,
            shared,
            vote: d.vote,
            opinion_heard: false,
            rule: cfg.rule(),
            tally: Tally::new(n),
            decided: false,
            byz,
        }
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        let cfg = ctx.config();
        let me = ctx.id();
        let now = ctx.now();
        if let Some(v) = self.vote {
            // Recovered: vote the same again.
            self.vote = None;
            self.cast(ctx, v, false);
        } else {
            if me == cfg.source && cfg.rho > 0.0 {
                adversary::opinion(self, ctx);
                if self.copies {
                    self.cast(ctx, self.shared, true);
                }
            }
            if !self.copies {
                self.cast(ctx, self.own, false);
            }
        }
        if now < cfg.deadline.0 {
            ctx.set_timer(JuryTimer::Deadline, cfg.deadline.0 - now);
        } else {
            // Recovered past the deadline: decide at once.
            self.on_timer(ctx, JuryTimer::Deadline);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: JuryMsg) {
        match msg {
            JuryMsg::Vote {
                juror,
                value,
                signer,
            } => self.on_vote(ctx, from, juror, value, signer),
            JuryMsg::Opinion { value, signer } => {
                let cfg = ctx.config();
                if cfg.signed && signer != cfg.source {
                    ctx.count(counter::REJECTED, 1.0);
                    if ctx.behaviour().is_none() {
                        ctx.note(JuryNote::Rejected { from });
                    }
                    return;
                }
                if self.opinion_heard {
                    return;
                }
                self.opinion_heard = true;
                if self.copies && ctx.id() != cfg.source {
                    self.cast(ctx, value, true);
                }
            }
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: JuryTimer) {
        match timer {
            JuryTimer::Deadline => {
                if self.vote.is_none() && ctx.behaviour().is_none() {
                    ctx.note(JuryNote::NoVote);
                }
                self.evaluate(ctx, true);
            }
            JuryTimer::Flush => adversary::flush(self, ctx),
        }
    }
}

#[cfg(test)]
mod tests;
