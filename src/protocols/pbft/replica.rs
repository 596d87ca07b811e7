//! The normal case (Castro–Liskov §4.2, §4.3) and the client side (§4.1):
//! requests, PrePrepare, Prepare, Commit, execution in order, replies, and
//! the retransmissions lossy links need. View changes are in
//! [`super::view_change`]; what Byzantine replicas send instead, in
//! [`super::adversary`].

use super::adversary::{self, Dest};
use super::{ClientReq, Pbft, PbftMsg, PbftNote, PbftTimer, Req};
use crate::node::{Behaviour, Ctx, NodeId, Submission};
use crate::protocols::quorum::VoteSet;

/// Boot or recovery.
pub(super) fn start(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>) {
    if matches!(ctx.behaviour(), Some(Behaviour::Silent)) {
        return; // it sends nothing and waits for nothing
    }
    let me = ctx.id();
    let view = p.core.view;
    if p.core.changing.is_none() {
        // At boot, or back from a crash: say where it is.
        p.leading = p.primary(view) == me;
        ctx.note(PbftNote::NewView {
            view,
            primary: p.primary(view),
            leads: p.leading,
        });
    }
    if let Some(nv) = p.core.changing {
        // Still changing views: say so again.
        p.core().changing = None;
        super::view_change::announce_view_change(p, ctx, nv);
    } else if !p.pending.is_empty() {
        p.start_timer(ctx);
    }
    if !p.core.clients.is_empty() {
        ctx.set_timer(PbftTimer::ClientRetry, p.cfg.client_retry.0);
    }
    p.arm_resend(ctx);
    adversary::on_start(p, ctx);
}

/// A client's request reached this replica: it acts as the client's proxy.
pub(super) fn submit(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>, sub: Submission) {
    let me = ctx.id();
    ctx.note(PbftNote::Submitted {
        id: sub.index,
        client: sub.client,
    });
    if matches!(ctx.behaviour(), Some(Behaviour::Silent)) {
        return;
    }
    let req = Req {
        id: sub.index,
        client: sub.client,
        proxy: me,
    };
    let now = ctx.now();
    p.core().clients.push(ClientReq {
        req,
        submitted: now,
        sent: now,
    });
    p.persist(ctx);
    if p.core.clients.len() == 1 {
        ctx.set_timer(PbftTimer::ClientRetry, p.cfg.client_retry.0);
    }
    // §4.1: "A client requests the execution of state machine operation o by
    // sending a REQUEST message to the primary."
    let primary = p.primary(p.core.view);
    if primary == me {
        on_request(p, ctx, me, req);
    } else {
        adversary::send(p, ctx, Dest::One(primary), PbftMsg::Request { req });
    }
}

pub(super) fn message(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>, from: NodeId, msg: PbftMsg) {
    if matches!(ctx.behaviour(), Some(Behaviour::Silent)) {
        return;
    }
    match msg {
        PbftMsg::Request { req } => on_request(p, ctx, from, req),
        PbftMsg::PrePrepare(pp) => {
            if p.verified(ctx, "PrePrepare", pp.origin, from, pp.forged) {
                on_pre_prepare(p, ctx, pp.view, pp.seq, pp.req, pp.origin);
            }
        }
        PbftMsg::Prepare {
            view,
            seq,
            digest,
            origin,
            forged,
        } => {
            if p.verified(ctx, "Prepare", origin, from, forged) {
                on_prepare(p, ctx, view as u64, seq as u64, digest, origin);
            }
        }
        PbftMsg::Commit {
            view,
            seq,
            digest,
            origin,
            forged,
        } => {
            if p.verified(ctx, "Commit", origin, from, forged) {
                on_commit(p, ctx, view as u64, seq as u64, digest, origin);
            }
        }
        PbftMsg::Reply {
            id,
            result,
            origin,
            forged,
            ..
        } => {
            if p.verified(ctx, "Reply", origin, from, forged) {
                on_reply(p, ctx, id, result as u64, origin);
            }
        }
        PbftMsg::ViewChange(vc) => {
            if p.verified(ctx, "ViewChange", vc.origin, from, vc.forged) {
                super::view_change::on_view_change(p, ctx, vc);
            }
        }
        PbftMsg::NewView(nv) => {
            if p.verified(ctx, "NewView", nv.origin, from, nv.forged) {
                super::view_change::on_new_view(p, ctx, from, nv);
            }
        }
        PbftMsg::Status {
            view,
            executed,
            lacking,
        } => on_status(
            p,
            ctx,
            from,
            view as u64,
            executed as u64,
            lacking as u64,
        ),
        PbftMsg::Decided {
            seq,
            digest,
            origin,
            forged,
        } => {
            if p.verified(ctx, "Decided", origin, from, forged) {
                on_decided(p, ctx, seq as u64, digest, origin);
            }
        }
    }
}

pub(super) fn timer(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>, timer: PbftTimer) {
    match timer {
        PbftTimer::ViewChange => {
            p.timer_running = false;
            if adversary::stays(p, ctx) {
                return;
            }
            let next = p.core.changing.unwrap_or(p.core.view) + 1;
            super::view_change::start_view_change(p, ctx, next);
        }
        PbftTimer::Resend => {
            p.resend_armed = false;
            if !p.has_work() {
                return;
            }
            // Ask only when stuck: nothing moved since the last tick (a busy
            // replica that makes progress asks nothing).
            let executed = p.core.last_exec;
            let lacking = p.lacking_from().unwrap_or(executed + 1);
            let at = (p.core.changing.unwrap_or(p.core.view), executed, lacking);
            if std::mem::replace(&mut p.stuck_at, at) == at {
                match &p.my_view_change {
                    Some(vc) if p.core.changing.is_some() => {
                        let m = PbftMsg::ViewChange(vc.clone());
                        adversary::send(p, ctx, Dest::All, m);
                    }
                    _ => {
                        let m = PbftMsg::Status {
                            view: p.core.view as u32,
                            executed: executed as u32,
                            lacking: lacking as u32,
                        };
                        adversary::send(p, ctx, Dest::All, m);
                    }
                }
            }
            p.arm_resend(ctx);
        }
        PbftTimer::ClientRetry => client_retry(p, ctx),
        PbftTimer::Release => adversary::release(p, ctx),
    }
}

/// A request arrived (from its client's proxy, a retransmission, or a relay).
pub(super) fn on_request(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>, from: NodeId, req: Req) {
    if req.is_null() {
        return;
    }
    if let Some(seq) = p.core.executed_at(req.id) {
        // §4.1: a request already executed gets its reply again.
        send_reply(p, ctx, req, seq);
        return;
    }
    let me = ctx.id();
    let primary = p.primary(p.core.view);
    let new = p.pending.insert(req.id, req).is_none();
    if new && !p.timer_running && p.core.changing.is_none() {
        p.start_timer(ctx);
    }
    if primary == me {
        if p.core.changing.is_none() {
            propose(p, ctx);
        }
    } else if new && from != primary {
        // §4.1: a backup relays a request to the primary.
        adversary::send(p, ctx, Dest::One(primary), PbftMsg::Request { req });
    }
    p.arm_resend(ctx);
}

/// The primary assigns sequence numbers to the requests waiting, within the window.
pub(super) fn propose(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>) {
    let view = p.core.view;
    if p.primary(view) != ctx.id() || p.core.changing.is_some() {
        return;
    }
    let limit = p.high_mark();
    let mut next = p.core.next_seq.max(p.core.last_exec + 1);
    let todo: Vec<Req> = p
        .pending
        .values()
        .filter(|r| !p.assigned.contains(&r.id))
        .take(limit.saturating_sub(next - 1) as usize)
        .copied()
        .collect();
    if todo.is_empty() {
        return;
    }
    for req in todo {
        let seq = next;
        next += 1;
        p.assigned.insert(req.id);
        {
            let c = p.core();
            c.next_seq = next;
            c.slot_mut(seq).pre_prepare = Some((view, req));
        }
        p.persist(ctx);
        let origin = ctx.id();
        adversary::send(
            p,
            ctx,
            Dest::All,
            PbftMsg::pre_prepare(view, seq, req, origin, false),
        );
        advance(p, ctx, seq);
    }
}

/// §4.2: a backup accepts a PrePrepare in its view, from the primary, for a
/// sequence number within the window, if it accepted no other for it.
fn on_pre_prepare(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>, view: u64, seq: u64, req: Req, origin: NodeId) {
    let me = ctx.id();
    if view != p.core.view
        || p.core.changing.is_some()
        || origin != p.primary(view)
        || origin == me
        || seq == 0
    {
        return;
    }
    if let Some((v, r)) = p.slot(seq).and_then(|s| s.pre_prepare) {
        if v == view {
            if r.id != req.id {
                p.conflict(ctx, "PrePrepare", view, seq, r.id, req.id, origin);
            }
            return;
        }
    }
    if seq > p.high_mark() {
        return; // beyond the high watermark
    }
    accept_pre_prepare(p, ctx, view, seq, req);
}

/// Logs the PrePrepare and multicasts a Prepare (§4.2).
pub(super) fn accept_pre_prepare(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>, view: u64, seq: u64, req: Req) {
    let me = ctx.id();
    p.core().slot_mut(seq).pre_prepare = Some((view, req));
    if !req.is_null() && p.core.executed_at(req.id).is_none() {
        let new = p.pending.insert(req.id, req).is_none();
        if new && !p.timer_running && p.core.changing.is_none() {
            p.start_timer(ctx);
        }
    }
    if p.primary(view) == me {
        if !req.is_null() {
            p.assigned.insert(req.id);
        }
    } else {
        p.core().slot_mut(seq).prepare_sent = Some((view, req.id));
        let n = p.n;
        p.votes_mut(seq).0.add(n, view, req.id, me);
        p.persist(ctx);
        adversary::send(
            p,
            ctx,
            Dest::All,
            PbftMsg::prepare(view, seq, req.id, me, false),
        );
    }
    p.arm_resend(ctx);
    advance(p, ctx, seq);
}

fn on_prepare(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>, view: u64, seq: u64, digest: u64, origin: NodeId) {
    if view != p.core.view
        || p.core.changing.is_some()
        || origin == p.primary(view)
        || seq == 0
        || seq > p.high_mark()
    {
        return;
    }
    if let Some((v, r)) = p.slot(seq).and_then(|s| s.pre_prepare) {
        if v == view && r.id != digest {
            p.conflict(ctx, "Prepare", view, seq, r.id, digest, origin);
        }
    }
    let n = p.n;
    p.votes_mut(seq).0.add(n, view, digest, origin);
    saw(p, ctx, seq);
    advance(p, ctx, seq);
}

fn on_commit(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>, view: u64, seq: u64, digest: u64, origin: NodeId) {
    if view != p.core.view
        || p.core.changing.is_some()
        || seq == 0
        || seq > p.high_mark()
    {
        return;
    }
    if let Some((v, r)) = p.slot(seq).and_then(|s| s.pre_prepare) {
        if v == view && r.id != digest {
            p.conflict(ctx, "Commit", view, seq, r.id, digest, origin);
        }
    }
    let n = p.n;
    p.votes_mut(seq).1.add(n, view, digest, origin);
    saw(p, ctx, seq);
    advance(p, ctx, seq);
}

/// A message of the current view spoke of `seq`: if it is beyond what this
/// replica executed, it has work (and will ask for what it lacks).
#[inline]
fn saw(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>, seq: u64) {
    if seq > p.seen_seq {
        p.seen_seq = seq;
        p.arm_resend(ctx);
    }
}

/// Moves `seq` on as far as its votes allow: prepared → Commit, committed-local → execute.
pub(super) fn advance(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>, seq: u64) {
    let view = p.core.view;
    let Some(slot) = p.slot(seq) else {
        return;
    };
    let Some((v, req)) = slot.pre_prepare else {
        return;
    };
    if v != view || slot.committed.is_some_and(|(cv, _)| cv == view) {
        return; // not of this view, or done with
    }
    let (commit_sent, executed) = (slot.commit_sent, slot.executed);
    let me = ctx.id();
    let q = p.th.quorum;
    let n = p.n;
    let d = req.id;
    if commit_sent != Some((view, d)) {
        // prepared(m, v, n, i): the PrePrepare and quorum − 1 matching
        // Prepares from backups (its own included).
        if p.votes_mut(seq).0.count(view, d) + 1 < q {
            return;
        }
        {
            let s = p.core().slot_mut(seq);
            s.prepared = Some((view, req));
            s.commit_sent = Some((view, d));
        }
        p.votes_mut(seq).1.add(n, view, d, me);
        p.persist(ctx);
        adversary::send(
            p,
            ctx,
            Dest::All,
            PbftMsg::commit(view, seq, d, me, false),
        );
    }
    // committed-local(m, v, n, i): prepared and quorum matching Commits.
    if p.votes_mut(seq).1.count(view, d) < q {
        return;
    }
    p.core().slot_mut(seq).committed = Some((view, req));
    if let Some(done) = executed {
        if done != d {
            // Committed anew to another request than the one executed: say
            // so (the total-order check will flag it).
            ctx.note(PbftNote::Executed { seq, id: d });
        }
        return;
    }
    execute(p, ctx);
}

/// Executes committed sequence numbers in order (§4.3).
fn execute(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>) {
    let mut fresh = false;
    let mut any = false;
    let mut replayed = false;
    let history = p.history_end();
    loop {
        let seq = p.core.last_exec + 1;
        let Some((_, req)) = p.slot(seq).and_then(|s| s.committed) else {
            break;
        };
        any = true;
        replayed |= seq <= history;
        {
            let c = p.core();
            c.last_exec = seq;
            c.slot_mut(seq).executed = Some(req.id);
        }
        ctx.note(PbftNote::Executed { seq, id: req.id });
        if req.is_null() || p.core.executed_at(req.id).is_some() {
            continue; // a no-op
        }
        p.core().set_executed(req.id, seq);
        p.pending.remove(&req.id);
        fresh = true;
        send_reply(p, ctx, req, seq);
    }
    if !any {
        return;
    }
    p.persist(ctx);
    if fresh {
        p.core().backoff = 0;
    }
    // "It stops the timer when it is no longer waiting to execute the
    // request, but restarts it if at that point it is waiting to execute
    // some other request." Executing the history the NewView re-proposed
    // restarts it too: without checkpoints that history is long, and
    // catching up on it is progress the new primary is not to blame for.
    if p.pending.is_empty() {
        p.stop_timer(ctx);
    } else if fresh || replayed {
        p.start_timer(ctx);
    }
    propose(p, ctx);
}

fn send_reply(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>, req: Req, seq: u64) {
    let me = ctx.id();
    if req.proxy == NO_PROXY {
        return;
    }
    if req.proxy == me {
        on_reply(p, ctx, req.id, seq, me);
    } else {
        let m = PbftMsg::Reply {
            view: p.core.view as u32,
            result: seq as u32,
            id: req.id,
            origin: me,
            forged: false,
        };
        adversary::send(p, ctx, Dest::One(req.proxy), m);
    }
}

/// The client (at its proxy) accepts a result from `f + 1` matching replies.
fn on_reply(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>, id: u64, result: u64, origin: NodeId) {
    let Some(i) = p.core.clients.iter().position(|c| c.req.id == id) else {
        return;
    };
    let n = p.n;
    let tally = p.replies.entry(id).or_default();
    let count = match tally.iter_mut().find(|(r, _)| *r == result) {
        Some((_, s)) => {
            s.insert(origin);
            s.len()
        }
        None => {
            let mut s = VoteSet::new(n);
            s.insert(origin);
            tally.push((result, s));
            1
        }
    };
    if count < p.th.weak {
        return;
    }
    let c = p.core().clients.remove(i);
    p.replies.remove(&id);
    p.persist(ctx);
    ctx.note(PbftNote::Replied {
        id,
        result,
        latency_ns: ctx.now() - c.submitted,
    });
    if p.core.clients.is_empty() {
        ctx.cancel_timer(PbftTimer::ClientRetry);
    }
}

/// §4.1: "If the client does not receive replies soon enough, it broadcasts
/// the request to all replicas."
fn client_retry(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>) {
    let now = ctx.now();
    let due: Vec<Req> = p
        .core
        .clients
        .iter()
        .filter(|c| now.saturating_sub(c.sent) >= p.cfg.client_retry.0)
        .map(|c| c.req)
        .collect();
    if !due.is_empty() {
        let retry = p.cfg.client_retry.0;
        for c in &mut p.core().clients {
            if now.saturating_sub(c.sent) >= retry {
                c.sent = now;
            }
        }
        let me = ctx.id();
        for req in due {
            adversary::send(p, ctx, Dest::All, PbftMsg::Request { req });
            on_request(p, ctx, me, req);
        }
    }
    if !p.core.clients.is_empty() {
        let next = p
            .core
            .clients
            .iter()
            .map(|c| c.sent + p.cfg.client_retry.0)
            .min()
            .unwrap_or(now)
            .saturating_sub(now)
            .max(1);
        ctx.set_timer(PbftTimer::ClientRetry, next);
    }
}

/// Most sequence numbers one Status answer covers with their PrePrepare,
/// Prepare and Commit (executed ones are answered with a `Decided` each, up
/// to the window).
const RESEND_SEQS: u64 = 32;

/// A replica that lacks something: send it the NewView of a later view;
/// for the sequence numbers after its last executed one, what this replica
/// executed there (`Decided`); and from the one it lacks messages for on,
/// the PrePrepare, Prepare and Commit of the current view.
fn on_status(
    p: &mut Pbft,
    ctx: &mut Ctx<'_, Pbft>,
    from: NodeId,
    view: u64,
    executed: u64,
    lacking: u64,
) {
    if view < p.core.view && p.core.changing.is_none() {
        if let Some(nv) = p.new_view.clone() {
            adversary::send(p, ctx, Dest::One(from), PbftMsg::NewView(nv));
        }
    }
    let me = ctx.id();
    let len = p.core.slots.len() as u64;
    let last = len.min(executed.saturating_add(p.cfg.window as u64));
    for seq in executed + 1..=last {
        if let Some(digest) = p.slot(seq).and_then(|s| s.executed) {
            let m = PbftMsg::Decided {
                seq: seq as u32,
                digest,
                origin: me,
                forged: false,
            };
            adversary::send(p, ctx, Dest::One(from), m);
        }
    }
    if view != p.core.view || p.core.changing.is_some() {
        return;
    }
    let primary = p.primary(view);
    let last = len.min(lacking.saturating_add(RESEND_SEQS - 1));
    for seq in lacking.max(1)..=last {
        let slot = *p.slot(seq).expect("within the log");
        if let Some((v, req)) = slot.pre_prepare {
            if v == view {
                let m = PbftMsg::pre_prepare(view, seq, req, primary, false);
                adversary::send(p, ctx, Dest::One(from), m);
            }
        }
        if let Some((v, digest)) = slot.prepare_sent {
            if v == view {
                let m = PbftMsg::prepare(view, seq, digest, me, false);
                adversary::send(p, ctx, Dest::One(from), m);
            }
        }
        if let Some((v, digest)) = slot.commit_sent {
            if v == view {
                let m = PbftMsg::commit(view, seq, digest, me, false);
                adversary::send(p, ctx, Dest::One(from), m);
            }
        }
    }
}

/// `f + 1` replicas say they executed `digest` at `seq`: one of them is
/// honest, so `digest` is what every honest replica executes there (total
/// order); a replica that has not executed `seq` takes it as committed.
fn on_decided(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>, seq: u64, digest: u64, origin: NodeId) {
    if seq <= p.core.last_exec || seq == 0 {
        return;
    }
    let n = p.n;
    let tally = p.decided.entry(seq).or_default();
    let count = match tally.iter_mut().find(|(d, _)| *d == digest) {
        Some((_, s)) => {
            s.insert(origin);
            s.len()
        }
        None => {
            let mut s = VoteSet::new(n);
            s.insert(origin);
            tally.push((digest, s));
            1
        }
    };
    if count < p.th.weak {
        return;
    }
    p.decided = p.decided.split_off(&(seq + 1));
    let known = p
        .slot(seq)
        .and_then(|s| s.pre_prepare)
        .map(|(_, r)| r)
        .filter(|r| r.id == digest)
        .or_else(|| p.pending.get(&digest).copied());
    let req = known.unwrap_or(Req {
        id: digest,
        client: 0,
        proxy: NO_PROXY,
    });
    let view = p.core.view;
    p.core().slot_mut(seq).committed = Some((view, req));
    execute(p, ctx);
}

/// The proxy of a request known only by its digest: no reply is sent.
const NO_PROXY: NodeId = NodeId::MAX;
