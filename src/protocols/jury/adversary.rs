//! What each Byzantine behaviour does to a juror's vote (and, for the
//! source, to the shared opinion).
//!
//! A Byzantine juror never copies; its "honest vote" is its own draw (right
//! with probability `p`), and "wrong" is the opposite of `truth`: a
//! Byzantine juror knows the answer and works against it.
//!
//! | behaviour | its vote | as the source, its opinion |
//! |---|---|---|
//! | `silent` | none | none (copiers never vote: their votes are missing) |
//! | `equivocate` | the truth to some jurors, the wrong answer to the rest (a split drawn once) | the same split |
//! | `flip` | the wrong answer, to every juror | the wrong answer |
//! | `forge` | the wrong answer in its own name and in the name of every other juror, to every juror but that one; with `rho > 0` also a forged opinion (wrong) | its draw |
//! | `delay` | its draw, sent `delay_slack` before the deadline | its draw, at the same time |
//! | `selective` | its draw, to every juror but its targets | its draw, to every juror but its targets |
//! | `split` | 0 to the honest jurors on side `false` of the shared plan, 1 to side `true` | the same |
//!
//! With signatures (the default) forged votes and opinions are rejected.
//! The trace marks each change with a note tagged `adversary`.

use super::{Change, Jury, JuryMsg, JuryNote, JuryTimer};
use crate::node::{Behaviour, Ctx, Init, NodeId};
use crate::protocols::voting::Value;
use crate::time::SimTime;

/// A Byzantine juror's plan (empty for an honest one).
#[derive(Clone, Debug, Default)]
pub struct State {
    /// `equivocate`: whether each juror is told the truth.
    truthful_to: Vec<bool>,
    /// `delay`: messages held until the due time.
    held: Vec<(NodeId, JuryMsg)>,
    due: Option<SimTime>,
}

impl State {
    /// Draws what the behaviour needs (only `equivocate` draws).
    pub fn new(ctx: &mut Init<'_, Jury>) -> State {
        let mut s = State::default();
        if matches!(ctx.behaviour(), Some(Behaviour::Equivocate)) {
            let n = ctx.nodes();
            s.truthful_to = (0..n).map(|_| ctx.rng().chance(0.5)).collect();
        }
        s
    }
}

/// The messages of `b` for one honest message `honest(value)` to every peer,
/// with the change made; `make` builds the message for a value.
fn plan(
    node: &Jury,
    ctx: &mut Ctx<'_, Jury>,
    honest: Value,
    make: &dyn Fn(Value) -> JuryMsg,
    out: &mut Vec<(NodeId, JuryMsg)>,
) -> Option<Change> {
    let b = ctx.behaviour().expect("a Byzantine juror");
    let cfg = ctx.config();
    let me = ctx.id();
    let wrong = 1 - cfg.truth;
    let peers: Vec<NodeId> = ctx.peers().iter().filter(|&p| p != me).collect();
    match b {
        Behaviour::Silent => Some(Change::Withheld { to: peers }),
        Behaviour::Selective(_) => {
            let (omit, send): (Vec<NodeId>, Vec<NodeId>) =
                peers.iter().partition(|&&p| b.omits(p));
            out.extend(send.iter().map(|&p| (p, make(honest))));
            (!omit.is_empty()).then_some(Change::Withheld { to: omit })
        }
        Behaviour::Delay | Behaviour::Forge => {
            out.extend(peers.iter().map(|&p| (p, make(honest))));
            None
        }
        Behaviour::Equivocate | Behaviour::Flip | Behaviour::Split => {
            let mut sent: Vec<(Value, Vec<NodeId>)> = Vec::new();
            for &p in &peers {
                let x = match b {
                    Behaviour::Equivocate if node.byz.truthful_to[p as usize] => cfg.truth,
                    Behaviour::Equivocate | Behaviour::Flip => wrong,
                    _ => ctx.adversary().split_side(p) as Value,
                };
                out.push((p, make(x)));
                match sent.iter_mut().find(|s| s.0 == x) {
                    Some(s) => s.1.push(p),
                    None => sent.push((x, vec![p])),
                }
            }
            sent.sort_by_key(|s| s.0);
            Some(Change::Altered { honest, sent })
        }
    }
}

/// Sends `msgs`, or holds them until the delay is due.
fn send(node: &mut Jury, ctx: &mut Ctx<'_, Jury>, msgs: Vec<(NodeId, JuryMsg)>) {
    if matches!(ctx.behaviour(), Some(Behaviour::Delay)) {
        let cfg = ctx.config();
        let due = cfg.deadline.0.saturating_sub(cfg.delay_slack.0);
        if due > ctx.now() {
            node.byz.held.extend(msgs);
            if node.byz.due.is_none() {
                node.byz.due = Some(due);
                ctx.set_timer(JuryTimer::Flush, due - ctx.now());
                let kind = ctx.behaviour().expect("Byzantine").kind();
                ctx.note(JuryNote::Adversary {
                    behaviour: kind,
                    change: Change::Delayed { until_ns: due },
                });
            }
            return;
        }
    }
    for (to, m) in msgs {
        ctx.send(to, m);
    }
}

fn note(ctx: &mut Ctx<'_, Jury>, change: Option<Change>) {
    if let Some(change) = change {
        let behaviour = ctx.behaviour().expect("Byzantine").kind();
        ctx.note(JuryNote::Adversary { behaviour, change });
    }
}

/// A Byzantine juror's vote (its own draw is `node.vote`).
pub(super) fn vote(node: &mut Jury, ctx: &mut Ctx<'_, Jury>) {
    let me = ctx.id();
    let honest = node.vote.expect("cast sets the vote");
    let mut msgs = Vec::new();
    let make = |value| JuryMsg::Vote {
        juror: me,
        value,
        signer: me,
    };
    let change = plan(node, ctx, honest, &make, &mut msgs);
    note(ctx, change);
    if matches!(ctx.behaviour(), Some(Behaviour::Forge)) {
        let cfg = ctx.config();
        let wrong = 1 - cfg.truth;
        let n = ctx.nodes();
        let peers: Vec<NodeId> = ctx.peers().iter().filter(|&p| p != me).collect();
        // Its own vote, wrong, then every other juror's, wrong.
        msgs.iter_mut().for_each(|m| m.1 = make(wrong));
        for juror in (0..n).filter(|&x| x != me) {
            for &p in peers.iter().filter(|&&p| p != juror) {
                msgs.push((
                    p,
                    JuryMsg::Vote {
                        juror,
                        value: wrong,
                        signer: me,
                    },
                ));
            }
        }
        if cfg.rho > 0.0 && me != cfg.source {
            for &p in &peers {
                msgs.push((
                    p,
                    JuryMsg::Opinion {
                        value: wrong,
                        signer: me,
                    },
                ));
            }
        }
        note(
            ctx,
            Some(Change::Forged {
                jurors: n.saturating_sub(1),
                value: wrong,
            }),
        );
    }
    send(node, ctx, msgs);
}

/// The source's opinion: honest, or changed by its behaviour.
pub(super) fn opinion(node: &mut Jury, ctx: &mut Ctx<'_, Jury>) {
    let me = ctx.id();
    let make = |value| JuryMsg::Opinion { value, signer: me };
    if ctx.behaviour().is_none() {
        return ctx.broadcast(make(node.shared));
    }
    let mut msgs = Vec::new();
    let change = plan(node, ctx, node.shared, &make, &mut msgs);
    note(ctx, change);
    send(node, ctx, msgs);
}

/// A `delay` traitor's messages are due.
pub(super) fn flush(node: &mut Jury, ctx: &mut Ctx<'_, Jury>) {
    node.byz.due = None;
    for (to, m) in std::mem::take(&mut node.byz.held) {
        ctx.send(to, m);
    }
}
