//! What each Byzantine behaviour does to PBFT's messages.
//!
//! A Byzantine replica runs the same state machine as an honest one; every
//! message it sends goes through [`send`], which sends what its behaviour
//! says instead, and notes what it changed (tag `adversary`). The "other
//! value" of a message ([`changed`]) is the null request in a PrePrepare, the
//! digest of the null request in a Prepare or Commit (of another request
//! when the digest is the null one), a wrong result in a Reply, and no
//! prepared certificate at all in a ViewChange, another request in a
//! Decided; Requests, NewViews and
//! Statuses have none (a request is signed by its client, a NewView is
//! checked against its ViewChanges).
//!
//! | behaviour | what it sends |
//! |---|---|
//! | silent | nothing: it handles no message, no request and no timer |
//! | equivocate | the other value to odd-numbered replicas, the honest one to even ones (as primary: two PrePrepares for one sequence number) |
//! | flip | the other value to everyone |
//! | forge | what an honest replica sends; and with each Prepare it sends, a PrePrepare for the null request claiming to come from the primary, and a Prepare and a Commit for it claiming to come from every other replica (signatures reject them all) |
//! | delay | what an honest replica sends, `view_change_timeout − delay_margin` later: just before the timers that would replace it fire |
//! | selective | what an honest replica sends, except to its target replicas |
//! | split | the shared plan: to honest replicas on side `true` the other value, to the others the honest one; and while the primary is honest, a ViewChange to the next view whose primary is a split replica, where it stays (`f + 1` of them make honest replicas join, so thresholds set too low let them choose the primary) |

use super::{view_change, AdversaryAct, Pbft, PbftMsg, PbftNote, PbftTimer, Req, Shared, ViewChange, NULL};
use crate::node::{Behaviour, Ctx, Message, NodeId};
use crate::time::SimTime;
use std::collections::VecDeque;
use std::rc::Rc;

/// Where a message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dest {
    /// Every other replica.
    All,
    /// One replica.
    One(NodeId),
}

/// A Byzantine replica's own state.
#[derive(Clone, Debug, Default)]
pub struct State {
    /// `delay`: messages held, with their release time, in release order.
    held: VecDeque<(SimTime, Dest, PbftMsg)>,
    /// `split`: the highest view it pushed a view change to.
    pushed: u64,
}

/// The digest standing for "another request" than `d`.
pub fn other_digest(d: u64) -> u64 {
    if d == NULL {
        NULL - 1
    } else {
        NULL
    }
}

/// The message with its other value, if it has one, as replica `me` can
/// send it: a message of another origin (a relayed PrePrepare) that it
/// changes no longer carries a valid signature.
pub fn changed(msg: &PbftMsg, me: NodeId) -> Option<PbftMsg> {
    let relayed = |origin: &NodeId| *origin != me;
    Some(match msg {
        PbftMsg::PrePrepare(pp) if !pp.req.is_null() => PbftMsg::pre_prepare(
            pp.view,
            pp.seq,
            Req::NULL,
            pp.origin,
            pp.forged || relayed(&pp.origin),
        ),
        PbftMsg::Prepare {
            view,
            seq,
            digest,
            origin,
            forged,
        } => PbftMsg::Prepare {
            view: *view,
            seq: *seq,
            digest: other_digest(*digest),
            origin: *origin,
            forged: *forged || relayed(origin),
        },
        PbftMsg::Commit {
            view,
            seq,
            digest,
            origin,
            forged,
        } => PbftMsg::Commit {
            view: *view,
            seq: *seq,
            digest: other_digest(*digest),
            origin: *origin,
            forged: *forged || relayed(origin),
        },
        PbftMsg::Decided {
            seq,
            digest,
            origin,
            forged,
        } => PbftMsg::Decided {
            seq: *seq,
            digest: other_digest(*digest),
            origin: *origin,
            forged: *forged || relayed(origin),
        },
        PbftMsg::Reply {
            view,
            id,
            result,
            origin,
            forged,
        } => PbftMsg::Reply {
            view: *view,
            id: *id,
            result: result.wrapping_add(1),
            origin: *origin,
            forged: *forged || relayed(origin),
        },
        PbftMsg::ViewChange(vc) if !vc.prepared.is_empty() => {
            PbftMsg::ViewChange(Shared(Rc::new(ViewChange {
                prepared: Vec::new(),
                forged: vc.forged || relayed(&vc.origin),
                ..(**vc).clone()
            })))
        }
        _ => return None,
    })
}

/// The view and sequence number a message is about (0 where none).
fn about(msg: &PbftMsg) -> (u64, u64) {
    match msg {
        PbftMsg::PrePrepare(pp) => (pp.view, pp.seq),
        PbftMsg::Prepare { view, seq, .. } | PbftMsg::Commit { view, seq, .. } => {
            (*view as u64, *seq as u64)
        }
        PbftMsg::Reply { view, id, .. } => (*view as u64, *id),
        PbftMsg::ViewChange(vc) => (vc.view, 0),
        PbftMsg::NewView(nv) => (nv.view, 0),
        PbftMsg::Status { view, executed, .. } => (*view as u64, *executed as u64),
        PbftMsg::Decided { seq, .. } => (0, *seq as u64),
        PbftMsg::Request { req } => (0, req.id),
    }
}

#[inline]
fn deliver(ctx: &mut Ctx<'_, Pbft>, dest: Dest, msg: PbftMsg) {
    match dest {
        Dest::All => ctx.broadcast(msg),
        Dest::One(p) => ctx.send(p, msg),
    }
}

/// Sends `msg` to `dest` as the replica's behaviour says.
#[inline]
pub fn send(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>, dest: Dest, msg: PbftMsg) {
    match ctx.behaviour() {
        None => deliver(ctx, dest, msg),
        Some(b) => shaped(p, ctx, b, dest, msg),
    }
}

#[cold]
fn shaped(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>, b: &Behaviour, dest: Dest, msg: PbftMsg) {
    let (view, seq) = about(&msg);
    let mut act = AdversaryAct {
        behaviour: b.kind().name(),
        kind: PbftMsg::KINDS[msg.kind()],
        view,
        seq,
        changed: 0,
        withheld: 0,
    };
    let recipients: Vec<NodeId> = match dest {
        Dest::One(to) => vec![to],
        Dest::All => ctx.peers().iter().collect(),
    };
    let alt = changed(&msg, ctx.id());
    let adv = ctx.adversary();
    match b {
        Behaviour::Silent => act.withheld = recipients.len() as u32,
        Behaviour::Selective(_) => {
            for to in recipients {
                if b.omits(to) {
                    act.withheld += 1;
                } else {
                    ctx.send(to, msg.clone());
                }
            }
            if act.withheld == 0 {
                return;
            }
        }
        Behaviour::Delay => {
            let hold = p.cfg.view_change_timeout.0 - p.cfg.delay_margin.0;
            if p.adv.held.is_empty() {
                ctx.set_timer(PbftTimer::Release, hold);
            }
            p.adv.held.push_back((ctx.now() + hold, dest, msg));
            act.withheld = recipients.len() as u32;
        }
        Behaviour::Flip | Behaviour::Equivocate | Behaviour::Split => {
            let Some(alt) = alt else {
                return deliver(ctx, dest, msg);
            };
            for to in recipients {
                let other = match b {
                    Behaviour::Flip => true,
                    Behaviour::Equivocate => to % 2 == 1,
                    _ => adv.is_honest(to) && adv.split_side(to),
                };
                if other {
                    act.changed += 1;
                    ctx.send(to, alt.clone());
                } else {
                    ctx.send(to, msg.clone());
                }
            }
            if act.changed == 0 {
                return;
            }
        }
        Behaviour::Forge => {
            let forge = matches!(msg, PbftMsg::Prepare { .. })
                || matches!(msg, PbftMsg::PrePrepare { .. });
            deliver(ctx, dest, msg);
            if !forge || seq == 0 {
                return;
            }
            let me = ctx.id();
            let primary = p.primary(view);
            if primary != me {
                ctx.broadcast(PbftMsg::pre_prepare(view, seq, Req::NULL, primary, true));
            }
            for j in (0..p.n).filter(|&j| j != me) {
                if j != primary {
                    ctx.broadcast(PbftMsg::prepare(view, seq, NULL, j, true));
                }
                ctx.broadcast(PbftMsg::commit(view, seq, NULL, j, true));
            }
            act.changed = p.n - 1;
        }
    }
    ctx.note(PbftNote::Adversary(act));
}

/// `delay`: sends what is due and re-arms for the next.
pub fn release(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>) {
    let now = ctx.now();
    while let Some(&(at, _, _)) = p.adv.held.front() {
        if at > now {
            ctx.set_timer(PbftTimer::Release, at - now);
            return;
        }
        let (_, dest, msg) = p.adv.held.pop_front().expect("front exists");
        deliver(ctx, dest, msg);
    }
}

/// Whether a `split` replica stays in the view change it pushed (its timer
/// does not move it on).
pub fn stays(p: &Pbft, ctx: &Ctx<'_, Pbft>) -> bool {
    matches!(ctx.behaviour(), Some(Behaviour::Split)) && p.core.changing.is_some()
}

/// A Byzantine replica starts.
pub fn on_start(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>) {
    push(p, ctx);
}

/// A Byzantine replica entered a view.
pub fn on_new_view(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>) {
    push(p, ctx);
}

/// `split`: while the primary is honest, ask for the next view whose
/// primary is a split replica.
fn push(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>) {
    if !matches!(ctx.behaviour(), Some(Behaviour::Split)) {
        return;
    }
    let adv = ctx.adversary();
    let from = p.core.view;
    if p.core.changing.is_some() || !adv.is_honest(p.primary(from)) {
        return;
    }
    let target = (from + 1..=from + p.n as u64)
        .find(|&v| matches!(adv.behaviour(p.primary(v)), Some(Behaviour::Split)));
    if let Some(t) = target {
        if t > p.adv.pushed {
            p.adv.pushed = t;
            view_change::start_view_change(p, ctx, t);
        }
    }
}
