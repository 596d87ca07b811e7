//! What every node does as a recipient: process deliveries in arrival order
//! (after `consume_time`, if any), drop what its guarantee says must not be
//! delivered again, put FIFO streams in order, hand messages to the
//! application (a `Delivered` fact), and acknowledge acked ones.
//!
//! ```text
//!  Deliver ─► inbox ─(consume time)─► dedup ─► reorder buffer ─► application ─► Ack
//!                                       │ duplicate: Ack again   │ gap timeout: skip
//! ```

use super::config::{BusVariant, Guarantee, Pattern};
use super::msg::{BusMsg, BusNote, Dest, DlqReason, Envelope, MsgId};
use super::{counter, Bus, StreamKey};
use crate::node::{Ctx, NodeId};

impl Bus {
    /// A delivery arrived from its router.
    pub(super) fn on_deliver(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, env: Envelope) {
        let t = ctx.config().consume_time_of(self.id);
        if t == 0 {
            return self.receive(ctx, from, env);
        }
        self.inbox.push_back((from, env));
        if !self.consuming {
            self.consuming = true;
            ctx.set_timer(super::BusTimer::Consume, t);
        }
    }

    /// The consumer finished with the delivery at the head of its inbox.
    pub(super) fn on_consumed(&mut self, ctx: &mut Ctx<'_, Self>) {
        if let Some((from, env)) = self.inbox.pop_front() {
            self.receive(ctx, from, env);
        }
        if self.inbox.is_empty() {
            self.consuming = false;
        } else {
            ctx.set_timer(
                super::BusTimer::Consume,
                ctx.config().consume_time_of(self.id),
            );
        }
    }

    /// Whether handling `env` changes durable receiver state (so that the
    /// callback persists, and its ack waits behind the write): an
    /// exactly-once window entry, or a FIFO position (whatever the
    /// guarantee: a position an at-most-once delivery moved and a crash
    /// forgot would let an older acked message through after it).
    fn durable_receipt(&self, ctx: &Ctx<'_, Self>, env: &Envelope) -> bool {
        let cfg = ctx.config();
        (env.guarantee == Guarantee::ExactlyOnce && cfg.dedup_durable)
            || (cfg.fifo && env.pattern == Pattern::Publish)
    }

    fn ack(&mut self, ctx: &mut Ctx<'_, Self>, to: NodeId, env: &Envelope, reject: Option<DlqReason>) {
        if env.guarantee.acked() {
            if self.durable_receipt(ctx, env) {
                self.write();
            }
            ctx.send(to, BusMsg::Ack { id: env.id, reject });
        }
    }

    /// One delivery, processed.
    fn receive(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, env: Envelope) {
        let dedup = ctx.config().variant != BusVariant::ForgetDedup;
        match env.guarantee {
            Guarantee::AtMostOnce if dedup => {
                if env.at < self.floor {
                    ctx.count(counter::TOO_OLD, 1.0);
                    return;
                }
                if self.d.window.contains(env.id) {
                    ctx.count(counter::DUP_SUPPRESSED, 1.0);
                    return;
                }
            }
            Guarantee::ExactlyOnce if dedup && self.d.window.contains(env.id) => {
                ctx.count(counter::DUP_SUPPRESSED, 1.0);
                return self.ack(ctx, from, &env, None);
            }
            _ => {}
        }
        let cfg = ctx.config();
        let Dest::Topic(topic) = env.dest else {
            return self.deliver(ctx, from, env);
        };
        if !cfg.fifo || env.pattern != Pattern::Publish {
            return self.deliver(ctx, from, env);
        }
        let key = StreamKey {
            publisher: env.publisher,
            epoch: env.epoch,
            topic,
        };
        let pos = dm!(self).streams.entry(key).or_default();
        let s = env.fifo_seq;
        if s < pos.next {
            if pos.was_skipped(s) {
                ctx.count(counter::REJECTED, 1.0);
                self.ack(ctx, from, &env, Some(DlqReason::OutOfOrder));
            } else {
                ctx.count(counter::DUP_SUPPRESSED, 1.0);
                self.ack(ctx, from, &env, None);
            }
            return;
        }
        if s == pos.next {
            pos.next += 1;
            self.deliver(ctx, from, env);
            return self.drain(ctx, key);
        }
        let now = ctx.now();
        let r = self.reorder.entry(key).or_default();
        let first = r.waiting.is_empty();
        r.waiting.entry(s).or_insert((from, env));
        if r.waiting.len() > cfg.reorder_max as usize {
            return self.skip_gap(ctx, key);
        }
        if first {
            r.deadline = now + cfg.gap_timeout.0;
            let due = r.deadline;
            self.gap.add(ctx, due, key);
        }
    }

    /// Delivers what waited in `key`'s reorder buffer and is now in order;
    /// a gap left behind gets a fresh timeout.
    fn drain(&mut self, ctx: &mut Ctx<'_, Self>, key: StreamKey) {
        let Some(r) = self.reorder.get_mut(&key) else {
            return;
        };
        let mut next = self.d.streams[&key].next;
        let mut ready = Vec::new();
        while let Some((from, env)) = r.waiting.remove(&next) {
            ready.push((from, env));
            next += 1;
        }
        // Copies behind the position (delivered meanwhile) are dropped.
        while let Some((&s, _)) = r.waiting.first_key_value() {
            if s >= next {
                break;
            }
            r.waiting.remove(&s);
        }
        // The stream moved: a gap left behind waits a full timeout again.
        let left = !r.waiting.is_empty();
        if left {
            r.deadline = ctx.now() + ctx.config().gap_timeout.0;
        }
        let deadline = r.deadline;
        if !left {
            self.reorder.remove(&key);
        }
        if let Some(pos) = dm!(self).streams.get_mut(&key) {
            pos.next = next;
        }
        for (from, env) in ready {
            self.deliver(ctx, from, env);
        }
        if left {
            self.gap.add(ctx, deadline, key);
        }
    }

    /// Skips `key`'s gap: everything before its earliest buffered message.
    fn skip_gap(&mut self, ctx: &mut Ctx<'_, Self>, key: StreamKey) {
        let Some(r) = self.reorder.get(&key) else {
            return;
        };
        let Some((&first, _)) = r.waiting.first_key_value() else {
            return;
        };
        let pos = dm!(self).streams.entry(key).or_default();
        let skipped = first.saturating_sub(pos.next);
        pos.skip(first);
        self.write();
        ctx.count(counter::GAP_SKIPS, skipped as f64);
        self.drain(ctx, key);
    }

    /// A gap deadline came: skip the gap if it is still there and due.
    pub(super) fn on_gap_due(&mut self, ctx: &mut Ctx<'_, Self>, key: StreamKey) {
        let Some(r) = self.reorder.get(&key) else {
            return;
        };
        if r.waiting.is_empty() {
            return;
        }
        if r.deadline > ctx.now() {
            return; // progress since: a later deadline is armed
        }
        self.skip_gap(ctx, key);
    }

    /// Hands `env` to the application, records it for dedup, acknowledges
    /// it, and answers it if it is a request.
    fn deliver(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, env: Envelope) {
        let cfg = ctx.config();
        if cfg.variant != BusVariant::ForgetDedup && env.guarantee != Guarantee::AtLeastOnce {
            self.remember(cfg.dedup_window, env.id, env.at);
        }
        let answers = env.pattern == Pattern::Request && !self.d.replied.contains(&env.id);
        if self.durable_receipt(ctx, &env) || (answers && env.guarantee.acked()) {
            // The delivery and what it stores (its window entry, its FIFO
            // position, the stored reply) are one write.
            self.write();
        }
        self.fact(ctx, BusNote::Delivered { env, write: None });
        self.ack(ctx, from, &env, None);
        match env.pattern {
            Pattern::Request if answers => {
                dm!(self).replied.push_back(env.id);
                while self.d.replied.len() > cfg.dedup_window as usize {
                    dm!(self).replied.pop_front();
                }
                self.reply(ctx, &env)
            }
            Pattern::Reply => self.on_reply(ctx, env.id),
            _ => {}
        }
    }

    /// Adds `id` (published at `at`) to the dedup window; an id pushed out
    /// raises the at-most-once floor past its publication time.
    fn remember(&mut self, window: u32, id: MsgId, at: u64) {
        let pushed = dm!(self).window.insert(window, id, at);
        self.hint = self.d.window.hint();
        if let Some(old_at) = pushed {
            self.floor = self.floor.max(old_at + 1);
        }
    }
}
