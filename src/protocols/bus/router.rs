//! What a router does (a broker, or in peer mode every client for its own
//! messages): store acked messages, fan them out through its queue to the
//! recipients of their destination, retry each recipient with backoff,
//! dead-letter what cannot be delivered, and keep the subscription table.
//!
//! ```text
//!  Publish ─► accept ─► (store + persist, PubAck) ─► dispatch ─┬─► send now (idle, credit left)
//!                                                              └─► queue ─(service time, acks)─► pump
//! ```

use super::config::{BusVariant, QueuePolicy};
use super::msg::{BusMsg, BusNote, Dest, DlqReason, Envelope, MsgId, PubStatus};
use super::{counter, Bus, BusConfig, Pair, Queued, RetryKey, Role, StoredMsg};
use crate::node::{Ctx, NodeId};
use std::rc::Rc;

impl Bus {
    /// A publication arrived from `from` (a loopback from itself when a
    /// broker publishes to a topic it routes).
    pub(super) fn on_publish(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, env: Envelope) {
        if Bus::router_of(ctx.config(), &env) != self.id {
            return; // not ours to route
        }
        self.accept(ctx, from, env);
    }

    /// Takes a message to route. `from` is its publisher, or this node
    /// itself in peer mode (no ack to send then).
    pub(super) fn accept(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, env: Envelope) {
        let cfg = ctx.config();
        let local = cfg.peer();
        if !env.guarantee.acked() {
            if self.refuses(ctx, &env) {
                ctx.count(counter::REFUSED, 1.0);
                if !local {
                    let status = PubStatus::Refused;
                    ctx.send(from, BusMsg::PubAck { id: env.id, status });
                }
                return;
            }
            self.for_each_recipient(cfg, &env, |bus, to| bus.dispatch(ctx, env, to));
            return;
        }
        let known = self.index.contains_key(&env.id) || self.recent_set.contains(&env.id);
        if known || self.unstored.iter().any(|u| u.id == env.id) {
            if !local {
                // The ack reveals that it is stored: it waits behind the write.
                if known {
                    self.write();
                }
                let status = PubStatus::Stored;
                ctx.send(from, BusMsg::PubAck { id: env.id, status });
            }
            return;
        }
        if self.refuses(ctx, &env) {
            ctx.count(counter::REFUSED, 1.0);
            if !local {
                let status = PubStatus::Refused;
                ctx.send(from, BusMsg::PubAck { id: env.id, status });
            }
            return;
        }
        if cfg.variant == BusVariant::AckBeforeStore && !local {
            // Broken: the ack goes out now, the store in a later callback.
            let status = PubStatus::Stored;
            ctx.send(from, BusMsg::PubAck { id: env.id, status });
            if self.unstored.is_empty() {
                ctx.set_timer(super::BusTimer::Flush, 0);
            }
            self.unstored.push(env);
            return;
        }
        self.store_and_route(ctx, env);
        if !local {
            let status = PubStatus::Stored;
            ctx.send(from, BusMsg::PubAck { id: env.id, status });
        }
    }

    /// `ack-before-store`: stores what it acknowledged earlier.
    pub(super) fn on_flush(&mut self, ctx: &mut Ctx<'_, Self>) {
        for env in std::mem::take(&mut self.unstored) {
            self.store_and_route(ctx, env);
        }
    }

    /// Whether the refuse policy turns `env` away: its deliveries that
    /// cannot leave at once would not fit in the queue.
    fn refuses(&self, ctx: &Ctx<'_, Self>, env: &Envelope) -> bool {
        let cfg = ctx.config();
        if cfg.queue_policy != QueuePolicy::Refuse || cfg.queue_capacity == 0 {
            return false;
        }
        let k = self.recipient_count(cfg, env) as u64;
        let sendable = if !self.queue.is_empty() || self.busy {
            0
        } else if cfg.service_time.0 > 0 {
            1
        } else if cfg.prefetch == 0 || !env.guarantee.acked() {
            k
        } else {
            0 // with prefetch, assume the worst
        };
        self.queue.len() as u64 + k.saturating_sub(sendable) > cfg.queue_capacity as u64
    }

    fn recipient_count(&self, cfg: &super::BusConfig, env: &Envelope) -> usize {
        match env.dest {
            Dest::Topic(t) => self.d.subs[t as usize].len(),
            Dest::Client(_) => 1,
            Dest::All => cfg.clients(self.n) as usize - (env.publisher >= cfg.brokers) as usize,
        }
    }

    /// Calls `f` with each recipient of `env`, in node order.
    fn for_each_recipient(
        &mut self,
        cfg: &super::BusConfig,
        env: &Envelope,
        mut f: impl FnMut(&mut Self, NodeId),
    ) {
        match env.dest {
            Dest::Topic(t) => {
                let t = t as usize;
                let mut i = 0;
                while i < self.d.subs[t].len() {
                    let to = self.d.subs[t][i];
                    f(self, to);
                    i += 1;
                }
            }
            Dest::Client(c) => f(self, c),
            Dest::All => {
                for c in 0..cfg.clients(self.n) {
                    let to = cfg.client_node(c);
                    if to != env.publisher {
                        f(self, to);
                    }
                }
            }
        }
    }

    /// Stores an acked message (persisting at the end of this callback) and
    /// sends or queues its first attempts.
    fn store_and_route(&mut self, ctx: &mut Ctx<'_, Self>, env: Envelope) {
        let cfg = ctx.config();
        let mut pairs = Vec::with_capacity(self.recipient_count(cfg, &env));
        self.for_each_recipient(cfg, &env, |_, to| {
            pairs.push(Pair {
                to,
                attempts: 0,
                last_at: 0,
                done: false,
            })
        });
        self.write();
        self.fact(ctx, BusNote::Stored {
            id: env.id,
            attempt: env.attempt,
            write: None,
        });
        let open = pairs.len() as u32;
        let slot = self.d.stored.len() as u32;
        let tos: Vec<NodeId> = pairs.iter().map(|p| p.to).collect();
        dm!(self).stored.push(StoredMsg { env, pairs, open });
        self.index.insert(env.id, slot);
        if open == 0 {
            self.finish_msg(ctx, env.id);
        }
        for to in tos {
            self.dispatch(ctx, env, to);
        }
    }

    /// Whether a delivery to `to` may leave now.
    fn may_send(&self, cfg: &super::BusConfig, env: &Envelope, to: NodeId) -> bool {
        !self.busy
            && (cfg.prefetch == 0
                || !env.guarantee.acked()
                || self.unacked[to as usize] < cfg.prefetch)
    }

    /// Sends the first attempt of `env` to `to`, or queues it.
    fn dispatch(&mut self, ctx: &mut Ctx<'_, Self>, env: Envelope, to: NodeId) {
        let cfg = ctx.config();
        if self.queue.is_empty() && self.may_send(cfg, &env, to) {
            self.send_first(ctx, env, to);
            return;
        }
        if cfg.queue_capacity > 0 && self.queue.len() >= cfg.queue_capacity as usize {
            match cfg.queue_policy {
                QueuePolicy::DropNewest => return self.drop_delivery(ctx, env, to),
                QueuePolicy::DropOldest => {
                    if let Some(old) = self.queue.pop_front() {
                        self.drop_delivery(ctx, old.env, old.to);
                    }
                }
                QueuePolicy::Refuse => {} // admitted by `refuses`: it fits
            }
        }
        self.queue.push_back(Queued { env, to });
    }

    /// A full queue drops a delivery: lost, or dead-lettered if acked.
    fn drop_delivery(&mut self, ctx: &mut Ctx<'_, Self>, env: Envelope, to: NodeId) {
        ctx.count(counter::QUEUE_DROPPED, 1.0);
        if env.guarantee.acked() {
            self.pair_done(ctx, env.id, to, Some(DlqReason::QueueFull));
        }
    }

    /// Sends what the queue holds, while the sender is free and credit lasts.
    pub(super) fn pump(&mut self, ctx: &mut Ctx<'_, Self>) {
        let cfg = ctx.config();
        while !self.busy {
            let Some(i) = self
                .queue
                .iter()
                .position(|q| self.may_send(cfg, &q.env, q.to))
            else {
                return;
            };
            let q = self.queue.remove(i).expect("found in the queue");
            self.send_first(ctx, q.env, q.to);
        }
    }

    /// `env` to send: the envelope of the last copy sent if it is the same
    /// (a fan-out's copies, one after another), else a new shared one.
    #[inline]
    fn shared(&mut self, env: Envelope) -> Rc<Envelope> {
        match &self.last_sent {
            Some(rc) if **rc == env => Rc::clone(rc),
            _ => {
                let rc = Rc::new(env);
                self.last_sent = Some(Rc::clone(&rc));
                rc
            }
        }
    }

    /// The first attempt of `env` to `to`.
    fn send_first(&mut self, ctx: &mut Ctx<'_, Self>, mut env: Envelope, to: NodeId) {
        let cfg = ctx.config();
        env.attempt = 1;
        if env.guarantee.acked() {
            let Some((m, p)) = self.find_pair(env.id, to) else {
                return;
            };
            let now = ctx.now();
            let pair = &mut dm!(self).stored[m].pairs[p];
            if pair.done || pair.attempts > 0 {
                return;
            }
            pair.attempts = 1;
            pair.last_at = now;
            // The attempt reveals the stored message and is itself durable.
            self.write();
            self.fact(ctx, BusNote::Attempt {
                id: env.id,
                at: 0,
                to,
                leg: 1,
                n: 1,
                write: None,
            });
            if cfg.prefetch > 0 {
                self.unacked[to as usize] += 1;
            }
            self.schedule_retry(ctx, RetryKey::Pair(env.id, to, 1), now, 1);
        }
        let shared = self.shared(env);
        ctx.send(to, BusMsg::Deliver(shared));
        if cfg.service_time.0 > 0 {
            self.busy = true;
            ctx.set_timer(super::BusTimer::Service, cfg.service_time.0);
        }
    }

    /// Where recipient `to` of stored message `id` is: (message, pair).
    fn find_pair(&self, id: MsgId, to: NodeId) -> Option<(usize, usize)> {
        let m = *self.index.get(&id)? as usize;
        let p = self.d.stored[m]
            .pairs
            .binary_search_by_key(&to, |p| p.to)
            .ok()?;
        Some((m, p))
    }

    /// A recipient acknowledged (or rejected) a delivery.
    pub(super) fn on_ack(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        id: MsgId,
        reject: Option<DlqReason>,
    ) {
        self.pair_done(ctx, id, from, reject);
        self.pump(ctx);
    }

    /// Recipient `to` of `id` is done: acknowledged (`None`) or
    /// dead-lettered with a reason. No write of its own: should a crash
    /// undo it, the recovered router retries, and the recipient answers the
    /// duplicate again.
    fn pair_done(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        id: MsgId,
        to: NodeId,
        dlq: Option<DlqReason>,
    ) {
        let Some((m, p)) = self.find_pair(id, to) else {
            return;
        };
        let pair = &mut dm!(self).stored[m].pairs[p];
        if pair.done {
            return;
        }
        pair.done = true;
        let attempted = pair.attempts > 0;
        dm!(self).stored[m].open -= 1;
        if attempted && ctx.config().prefetch > 0 {
            let u = &mut self.unacked[to as usize];
            *u = u.saturating_sub(1);
        }
        if let Some(reason) = dlq {
            self.fact(ctx, BusNote::DeadLettered {
                id,
                to: Some(to),
                reason,
                write: None,
            });
        }
        if self.d.stored[m].open == 0 {
            self.finish_msg(ctx, id);
        }
    }

    /// Every recipient of `id` is done: its id joins the recent list (kept
    /// for `settle_ns`, the longest a late retry may take), and done
    /// messages are compacted away once they are half the store.
    fn finish_msg(&mut self, ctx: &Ctx<'_, Self>, id: MsgId) {
        let now = ctx.now();
        let keep = ctx.config().settle_ns();
        dm!(self).recent.push_back((id, now));
        self.recent_set.insert(id);
        while let Some(&(old, at)) = self.d.recent.front() {
            if at + keep >= now {
                break;
            }
            dm!(self).recent.pop_front();
            self.recent_set.remove(&old);
        }
        self.done_msgs += 1;
        let len = self.d.stored.len() as u32;
        if len >= 64 && self.done_msgs * 2 > len {
            dm!(self).stored.retain(|m| m.open > 0);
            self.index.clear();
            for (i, m) in self.d.stored.iter().enumerate() {
                self.index.insert(m.env.id, i as u32);
            }
            self.done_msgs = 0;
        }
    }

    /// The wait after attempt `k` of `id` to `to` is over: the next attempt,
    /// or the dead-letter queue after the last.
    pub(super) fn pair_due(&mut self, ctx: &mut Ctx<'_, Self>, id: MsgId, to: NodeId, k: u8) {
        let cfg = ctx.config();
        let Some((m, p)) = self.find_pair(id, to) else {
            return;
        };
        let pair = self.d.stored[m].pairs[p];
        if pair.done || pair.attempts != k {
            return; // acknowledged, or stale
        }
        if (k as u32) >= cfg.max_attempts {
            self.pair_done(ctx, id, to, Some(DlqReason::MaxAttempts));
            self.pump(ctx);
            return;
        }
        let now = ctx.now();
        let pair = &mut dm!(self).stored[m].pairs[p];
        pair.attempts = k + 1;
        pair.last_at = now;
        let mut env = self.d.stored[m].env;
        env.attempt = k + 1;
        self.write();
        self.fact(ctx, BusNote::Attempt {
            id,
            at: 0,
            to,
            leg: 1,
            n: k + 1,
            write: None,
        });
        let shared = self.shared(env);
        ctx.send(to, BusMsg::Deliver(shared));
        self.schedule_retry(ctx, RetryKey::Pair(id, to, k + 1), now, k as u32 + 1);
    }

    /// After a crash: queued first attempts go back in the queue, and every
    /// attempted recipient waits out its schedule from its last stored attempt.
    pub(super) fn resume_routing(&mut self, ctx: &mut Ctx<'_, Self>) {
        for m in 0..self.d.stored.len() {
            let env = self.d.stored[m].env;
            for p in 0..self.d.stored[m].pairs.len() {
                let pair = self.d.stored[m].pairs[p];
                if pair.done {
                    continue;
                }
                if pair.attempts == 0 {
                    self.dispatch(ctx, env, pair.to);
                } else {
                    let key = RetryKey::Pair(env.id, pair.to, pair.attempts);
                    self.schedule_retry(ctx, key, pair.last_at, pair.attempts as u32);
                }
            }
        }
    }

    /// A client asks to hold (or drop) subscription key `key` (a topic, or
    /// a pattern: [`super::SubKey`]): stored, then acknowledged (the ack
    /// waits behind the write). A change older than the last applied from
    /// that client is acknowledged but not applied.
    pub(super) fn on_subscribe(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        from: NodeId,
        key: u32,
        on: bool,
        version: u32,
    ) {
        let cfg = ctx.config();
        let ours = cfg.peer() || (matches!(self.role, Role::Broker { .. }) && cfg.key_broker(key) == self.id);
        if key >= cfg.sub_keys() || !ours {
            return;
        }
        let last = dm!(self).sub_versions.entry((key, from)).or_insert(0);
        if version > *last {
            *last = version;
            if cfg.pattern_mode() {
                self.apply_key(cfg, from, key, on);
            } else {
                Self::set_sub(&mut dm!(self).subs[key as usize], from, on);
            }
        }
        self.write();
        ctx.send(from, BusMsg::SubAck { topic: key, on, version });
    }

    /// Adds `client` to (or removes it from) a sorted subscriber list.
    fn set_sub(subs: &mut Vec<NodeId>, client: NodeId, on: bool) {
        match (subs.binary_search(&client), on) {
            (Err(i), true) => subs.insert(i, client),
            (Ok(i), false) => {
                subs.remove(i);
            }
            _ => {}
        }
    }

    /// With patterns: `client` now holds (or no longer holds) `key`; each
    /// topic the key covers lists `client` if any key it holds here covers
    /// that topic. This is where a pattern is matched: once per topic at a
    /// subscription change, never per delivery.
    fn apply_key(&mut self, cfg: &BusConfig, client: NodeId, key: u32, on: bool) {
        let d = dm!(self);
        if on {
            d.held.insert((client, key));
        } else {
            d.held.remove(&(client, key));
        }
        for t in 0..cfg.topics {
            if !cfg.key_covers(key, t) {
                continue;
            }
            let covered = d
                .held
                .range((client, 0)..(client + 1, 0))
                .any(|&(_, k)| cfg.key_covers(k, t));
            Self::set_sub(&mut d.subs[t as usize], client, covered);
        }
    }
}
