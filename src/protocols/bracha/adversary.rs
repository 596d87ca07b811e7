//! What each Byzantine behaviour does to Bracha's messages.
//!
//! A Byzantine node runs the same state machine as an honest one (it echoes
//! on the Initial, readies on a quorum, answers Pulls); every message it
//! would send goes through [`emit`], which sends what its behaviour says
//! instead, and notes what it changed (tag `adversary`):
//!
//! | behaviour | what it sends |
//! |---|---|
//! | silent | nothing (it answers no Pull either) |
//! | equivocate | `v` to even-numbered nodes, `other(v)` to odd ones |
//! | flip | `other(v)` to everyone |
//! | forge | what an honest node sends, and at start an Initial claiming to come from the sender and an Echo and a Ready claiming to come from every other node, all for `other(value)`; signatures reject them |
//! | delay | what an honest node sends, `adversary_delay` later (the protocol has no timeout to stay under) |
//! | selective | what an honest node sends, except to its target nodes |
//! | split | at start, before anything arrives: to each honest node on side `false` of the shared plan the Initial (if it is the sender), an Echo and a Ready for `value`, and to side `true` the same for `other(value)`; nothing else changes what it sent |
//!
//! `split` is the attack that breaks thresholds set too low: with `t + 1`
//! split nodes the Readys alone reach the amplification threshold on both
//! sides, each side readies its own value, and with `2t + 1` readys each
//! side delivers a different one.

use super::{other, AdversaryAct, Bracha, BrachaMsg, BrachaNote, BrachaTimer, Kind};
use crate::node::{Behaviour, Ctx, NodeId};
use crate::time::SimTime;
use std::collections::VecDeque;

/// A Byzantine node's own state.
#[derive(Clone, Debug, Default)]
pub struct State {
    /// The sender sent its Initial (and answers Pulls with it).
    pub sent_initial: bool,
    /// `delay`: messages held, with their release time, in release order.
    held: VecDeque<(SimTime, Option<NodeId>, BrachaMsg)>,
}

/// Sends message `kind(value)` of causal depth `round` as `node`'s
/// behaviour says: to every peer (`to = None`) or to one node.
pub fn emit(
    node: &mut Bracha,
    ctx: &mut Ctx<'_, Bracha>,
    kind: Kind,
    value: u64,
    round: u16,
    to: Option<NodeId>,
) {
    let me = ctx.id();
    let Some(b) = ctx.behaviour() else {
        let msg = kind.msg(value, me, round);
        match to {
            Some(p) => ctx.send(p, msg),
            None => ctx.broadcast(msg),
        }
        return;
    };
    let adv = ctx.adversary();
    let recipients: Vec<NodeId> = match to {
        Some(p) => vec![p],
        None => ctx.peers().iter().collect(),
    };
    let mut act = AdversaryAct {
        behaviour: b.kind().name(),
        kind,
        value,
        changed: 0,
        withheld: 0,
    };
    match b {
        Behaviour::Silent => act.withheld = recipients.len() as u32,
        Behaviour::Selective(_) => {
            for p in recipients {
                if b.omits(p) {
                    act.withheld += 1;
                } else {
                    ctx.send(p, kind.msg(value, me, round));
                }
            }
        }
        Behaviour::Equivocate => {
            for p in recipients {
                let v = if p % 2 == 1 {
                    act.changed += 1;
                    other(value)
                } else {
                    value
                };
                ctx.send(p, kind.msg(v, me, round));
            }
        }
        Behaviour::Flip => {
            act.changed = recipients.len() as u32;
            for p in recipients {
                ctx.send(p, kind.msg(other(value), me, round));
            }
        }
        Behaviour::Forge => {
            // Its own messages are honest; the forgeries went out at start.
            for p in recipients {
                ctx.send(p, kind.msg(value, me, round));
            }
            return;
        }
        Behaviour::Delay => {
            let at = ctx.now().saturating_add(ctx.config().adversary_delay.0);
            if node.adv.held.is_empty() {
                ctx.set_timer(BrachaTimer::Release, ctx.config().adversary_delay.0);
            }
            act.withheld = recipients.len() as u32;
            for p in recipients {
                node.adv.held.push_back((at, Some(p), kind.msg(value, me, round)));
            }
        }
        Behaviour::Split => {
            // The plan's values, whatever this node would have sent.
            let v = node.value;
            for p in recipients {
                let side = adv.is_honest(p) && adv.split_side(p);
                if side {
                    act.changed += 1;
                }
                ctx.send(p, kind.msg(if side { other(v) } else { v }, me, round));
            }
            act.value = v;
        }
    }
    ctx.note(BrachaNote::Adversary(act));
}

/// A Byzantine node starts: `split` and `forge` act at once; the sender
/// sends its Initial (shaped by [`emit`]).
pub fn on_start(node: &mut Bracha, ctx: &mut Ctx<'_, Bracha>) {
    let me = ctx.id();
    let v = node.value;
    match ctx.behaviour() {
        Some(Behaviour::Split) => {
            if me == node.sender {
                node.adv.sent_initial = true;
                emit(node, ctx, Kind::Initial, v, 1, None);
            }
            // Echo and Ready by side at once; it never sends others.
            node.durable.echoed = Some((v, 1));
            node.durable.readied = Some((v, 1));
            emit(node, ctx, Kind::Echo, v, 1, None);
            emit(node, ctx, Kind::Ready, v, 1, None);
            return;
        }
        Some(Behaviour::Forge) => {
            let forged = other(v);
            let n = ctx.nodes();
            if me != node.sender {
                ctx.broadcast(Kind::Initial.msg(forged, node.sender, 1));
            }
            for j in (0..n).filter(|&j| j != me) {
                ctx.broadcast(Kind::Echo.msg(forged, j, 1));
                ctx.broadcast(Kind::Ready.msg(forged, j, 1));
            }
            ctx.note(BrachaNote::Adversary(AdversaryAct {
                behaviour: "forge",
                kind: Kind::Ready,
                value: v,
                changed: n - 1,
                withheld: 0,
            }));
        }
        _ => {}
    }
    if me == node.sender {
        node.adv.sent_initial = true;
        emit(node, ctx, Kind::Initial, v, 1, None);
        node.on_initial(ctx, me, v, 1);
    }
}

/// `delay`: sends what is due and re-arms for the next.
pub fn release(node: &mut Bracha, ctx: &mut Ctx<'_, Bracha>) {
    let now = ctx.now();
    while let Some(&(at, _, _)) = node.adv.held.front() {
        if at > now {
            ctx.set_timer(BrachaTimer::Release, at - now);
            return;
        }
        let (_, to, msg) = node.adv.held.pop_front().expect("front exists");
        match to {
            Some(p) => ctx.send(p, msg),
            None => ctx.broadcast(msg),
        }
    }
}
