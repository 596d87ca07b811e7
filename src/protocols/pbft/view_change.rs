//! View changes (Castro–Liskov §4.4, and §4.5.2 for liveness): ViewChange,
//! NewView, the computation of `O` from `V`, and the rule that makes a
//! replica join `f + 1` replicas that moved on.

use super::adversary::{self, Dest};
use super::replica;
use super::{NewView, Pbft, PbftMsg, PbftNote, Req, Shared, ViewChange};
use crate::node::{Ctx, NodeId};
use std::collections::BTreeMap;
use std::rc::Rc;

/// Starts a view change to `nv`: multicasts a ViewChange with the prepared
/// certificates and stops taking part in the current view.
pub(super) fn start_view_change(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>, nv: u64) {
    if nv <= p.core.view || p.core.changing.is_some_and(|c| c >= nv) {
        return;
    }
    p.core().backoff = p.core.backoff.saturating_add(1);
    announce_view_change(p, ctx, nv);
}

/// Multicasts this replica's ViewChange for `nv` (again, after a recovery).
pub(super) fn announce_view_change(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>, nv: u64) {
    let me = ctx.id();
    let was_primary = std::mem::take(&mut p.leading);
    let vc = Shared(Rc::new(ViewChange {
        view: nv,
        origin: me,
        prepared: if p.cfg.variant == super::PbftVariant::NoCertificates {
            Vec::new()
        } else {
            p.core.certificates()
        },
        forged: false,
    }));
    p.my_view_change = Some(vc.clone());
    record(p, &vc);
    ctx.note(PbftNote::ViewChange {
        view: nv,
        was_primary,
    });
    p.stop_timer(ctx);
    p.core().changing = Some(nv);
    p.persist(ctx);
    adversary::send(p, ctx, Dest::All, PbftMsg::ViewChange(vc));
    p.arm_resend(ctx);
    wait_new_view(p, ctx);
    try_new_view(p, ctx, nv);
}

/// §4.5.2: "a replica that multicasts a view-change message for view v+1
/// waits for 2f+1 view-change messages for view v+1 and then starts its
/// timer" (doubled at each view change without progress). A replica alone
/// in a later view so waits for the others instead of running ahead. Here
/// ViewChanges for v+1 *or later* count (its own included): a crash loses
/// the ViewChanges a replica received, and replicas that moved on resend
/// only their latest, so counting exactly v+1 could wait forever.
fn wait_new_view(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>) {
    let Some(nv) = p.core.changing else {
        return;
    };
    let me = ctx.id() as usize;
    let have = 1 + p
        .vc_latest
        .iter()
        .enumerate()
        .filter(|&(j, &v)| j != me && v >= nv)
        .count();
    if !p.timer_running && have >= p.th.quorum as usize {
        p.start_timer(ctx);
    }
}

/// Keeps one ViewChange per origin and view; whether it is new.
fn record(p: &mut Pbft, vc: &Shared<ViewChange>) -> bool {
    let list = p.view_changes.entry(vc.view).or_default();
    if list.iter().any(|x| x.origin == vc.origin) {
        return false;
    }
    list.push(vc.clone());
    true
}

pub(super) fn on_view_change(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>, vc: Shared<ViewChange>) {
    let me = ctx.id();
    if vc.origin == me {
        return;
    }
    if vc.view <= p.core.view {
        // It missed the NewView of the view we are in: send it.
        if p.core.changing.is_none() {
            if let Some(nv) = p.new_view.clone() {
                adversary::send(p, ctx, Dest::One(vc.origin), PbftMsg::NewView(nv));
            }
        }
        return;
    }
    record(p, &vc);
    let o = vc.origin as usize;
    p.vc_latest[o] = p.vc_latest[o].max(vc.view);
    wait_new_view(p, ctx);
    // §4.5.2: "if a replica receives a set of f+1 valid VIEW-CHANGE messages
    // from other replicas for views greater than its current view, it sends a
    // VIEW-CHANGE message for the smallest view in the set". The set taken is
    // that of the f+1 highest views asked for.
    let effective = p.core.changing.unwrap_or(p.core.view);
    let weak = p.th.weak as usize;
    let mut higher: Vec<u64> = p
        .vc_latest
        .iter()
        .enumerate()
        .filter(|&(j, &v)| j != me as usize && v > effective)
        .map(|(_, &v)| v)
        .collect();
    if higher.len() >= weak && weak > 0 {
        higher.sort_unstable_by(|a, b| b.cmp(a));
        start_view_change(p, ctx, higher[weak - 1]);
    }
    try_new_view(p, ctx, vc.view);
}

/// The primary of `nv`, changing to it, with `quorum` ViewChanges for it
/// (its own first), multicasts the NewView and enters the view.
fn try_new_view(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>, nv: u64) {
    let me = ctx.id();
    if p.primary(nv) != me || p.core.changing != Some(nv) {
        return;
    }
    let q = p.th.quorum as usize;
    let Some(list) = p.view_changes.get(&nv) else {
        return;
    };
    if list.len() < q {
        return;
    }
    let mut v: Vec<Shared<ViewChange>> = Vec::with_capacity(q);
    v.extend(list.iter().filter(|x| x.origin == me).cloned());
    v.extend(list.iter().filter(|x| x.origin != me).take(q - v.len()).cloned());
    let pre_prepares = compute_o(&v);
    let msg = Shared(Rc::new(NewView {
        view: nv,
        origin: me,
        view_changes: v,
        pre_prepares,
        forged: false,
    }));
    adversary::send(p, ctx, Dest::All, PbftMsg::NewView(msg.clone()));
    install(p, ctx, msg);
}

/// `O` (§4.4): for every sequence number from 1 to the highest one
/// prepared in `V`, the request prepared in the highest view (the first
/// such certificate in `V` on a tie), or the null request.
pub fn compute_o(v: &[Shared<ViewChange>]) -> Vec<(u64, Req)> {
    let mut best: BTreeMap<u64, (u64, Req)> = BTreeMap::new();
    for vc in v {
        for c in &vc.prepared {
            let e = best.entry(c.seq).or_insert((c.view, c.req));
            if c.view > e.0 {
                *e = (c.view, c.req);
            }
        }
    }
    let max_s = best.keys().next_back().copied().unwrap_or(0);
    (1..=max_s)
        .map(|s| (s, best.get(&s).map_or(Req::NULL, |e| e.1)))
        .collect()
}

/// Why a NewView is not valid, if it is not.
pub fn invalid(nv: &NewView, n: u32, quorum: u32, signatures: bool) -> Option<&'static str> {
    if nv.origin as u64 != nv.view % n as u64 {
        return Some("not from the view's primary");
    }
    let mut seen = crate::protocols::quorum::VoteSet::new(n);
    for vc in &nv.view_changes {
        if vc.view != nv.view {
            return Some("holds a ViewChange for another view");
        }
        if signatures && vc.forged {
            return Some("holds a ViewChange whose signature does not verify");
        }
        if !seen.insert(vc.origin) {
            return Some("holds two ViewChanges of one replica");
        }
    }
    if seen.len() < quorum {
        return Some("holds fewer ViewChanges than a quorum");
    }
    if compute_o(&nv.view_changes) != nv.pre_prepares {
        return Some("its PrePrepares are not the ones its ViewChanges imply");
    }
    None
}

pub(super) fn on_new_view(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>, from: NodeId, nv: Shared<NewView>) {
    // A replica that asked to move to a view takes no part in lower ones:
    // its ViewChange vouched for its certificates as they were then.
    if nv.view <= p.core.view || p.core.changing.is_some_and(|c| nv.view < c) {
        return;
    }
    if let Some(why) = invalid(&nv, p.n, p.th.quorum, p.cfg.signatures) {
        if ctx.behaviour().is_none() {
            ctx.note(PbftNote::Rejected {
                kind: "NewView",
                reason: why,
                claimed: nv.origin,
                by: from,
            });
        }
        return;
    }
    install(p, ctx, nv);
}

/// Enters the NewView's view: its PrePrepares are accepted (backups
/// multicast Prepares for them), and the timer waits for the requests.
fn install(p: &mut Pbft, ctx: &mut Ctx<'_, Pbft>, nv: Shared<NewView>) {
    let me = ctx.id();
    let view = nv.view;
    let primary = p.primary(view);
    {
        let c = p.core();
        c.view = view;
        c.changing = None;
        c.new_view = Some(nv.clone());
    }
    p.new_view = Some(nv.clone());
    p.my_view_change = None;
    p.seen_seq = 0;
    p.cursor = 1;
    p.leading = primary == me;
    p.assigned.clear();
    p.view_changes = p.view_changes.split_off(&(view + 1));
    ctx.note(PbftNote::NewView {
        view,
        primary,
        leads: primary == me,
    });
    if primary == me {
        let max_s = nv.pre_prepares.last().map_or(0, |e| e.0);
        let c = p.core();
        c.next_seq = max_s.max(c.last_exec) + 1;
    }
    p.stop_timer(ctx);
    for &(seq, req) in &nv.pre_prepares {
        replica::accept_pre_prepare(p, ctx, view, seq, req);
    }
    p.persist(ctx);
    if !p.pending.is_empty() && !p.timer_running {
        p.start_timer(ctx);
    }
    replica::propose(p, ctx);
    adversary::on_new_view(p, ctx);
}
