//! What every node does as an endpoint: turn workload submissions into
//! messages (publications, direct messages, broadcasts, requests) or
//! subscription changes, keep acked messages in a durable outbox until the
//! router acknowledges them, and retry with backoff.

use super::config::{BusConfig, Guarantee, Pattern, TopicSkew};
use super::msg::{BusMsg, BusNote, Dest, DlqReason, Envelope, MsgId, PubStatus};
use super::{counter, schedule, Bus, Outgoing, RetryKey, Role};
use crate::node::{Ctx, NodeId, Submission};
use crate::rng::NodeRng;
use std::rc::Rc;

impl Bus {
    /// A workload submission: draws what it does from the submission's own
    /// generator (pattern, topic, payload, override, target), then does it.
    pub(super) fn submit(&mut self, ctx: &mut Ctx<'_, Self>, sub: Submission) {
        let cfg = ctx.config();
        let mut r = sub.rng();
        let pattern = cfg.mix.pick(r.unit());
        let topic = self.draw_topic(cfg, &mut r);
        let payload = r.next_u64() as u32;
        let overrides = r.unit() < cfg.override_ratio;
        let clients = cfg.clients(self.n);
        let target = cfg.client_node(r.below(clients as u64) as u32);
        // Drawn last, and only with patterns: earlier draws stay as they were.
        let pattern_pick = (cfg.pattern_ratio > 0.0 && r.unit() < cfg.pattern_ratio)
            .then(|| r.below(cfg.patterns.len() as u64) as u32);
        let guarantee = |g: Guarantee| if overrides { cfg.override_guarantee } else { g };
        let dest = match pattern {
            Pattern::Churn => {
                if matches!(self.role, Role::Broker { .. }) {
                    ctx.count(counter::IGNORED, 1.0);
                } else if let Some(i) = pattern_pick {
                    // A pattern is one key per broker (each covers its topics).
                    for b in 0..cfg.brokers.max(1) {
                        self.churn(ctx, cfg.pattern_key(i, b));
                    }
                } else {
                    self.churn(ctx, topic);
                }
                return;
            }
            Pattern::Publish => Dest::Topic(topic),
            Pattern::Broadcast => Dest::All,
            Pattern::Direct | Pattern::Request | Pattern::Reply => {
                // Another client than this node, drawn uniformly.
                let to = if target == self.id {
                    if clients < 2 {
                        ctx.count(counter::IGNORED, 1.0);
                        return;
                    }
                    cfg.client_node((target - cfg.brokers + 1) % clients)
                } else {
                    target
                };
                Dest::Client(to)
            }
        };
        let g = match dest {
            Dest::Topic(t) => guarantee(cfg.topic_guarantee(t)),
            _ => guarantee(cfg.guarantee),
        };
        let fifo_seq = match dest {
            Dest::Topic(t) if cfg.fifo => {
                if self.fifo_next.is_empty() {
                    self.fifo_next = vec![0; cfg.topics as usize];
                }
                let s = self.fifo_next[t as usize];
                self.fifo_next[t as usize] += 1;
                s
            }
            _ => 0,
        };
        let env = Envelope {
            id: sub.index,
            epoch: self.epoch,
            at: ctx.now(),
            publisher: self.id,
            dest,
            fifo_seq,
            payload,
            guarantee: g,
            pattern,
            attempt: 1,
        };
        if pattern == Pattern::Request {
            let due = ctx.now() + cfg.request_timeout.0;
            self.requests.insert(env.id, due);
            self.request.add(ctx, due, env.id);
        }
        self.publish(ctx, env);
    }

    /// A topic, uniformly or by Zipf's law.
    fn draw_topic(&mut self, cfg: &BusConfig, r: &mut NodeRng) -> u32 {
        match cfg.topic_skew {
            TopicSkew::Uniform => r.below(cfg.topics as u64) as u32,
            TopicSkew::Zipf { s } => {
                let cum = self.zipf.get_or_insert_with(|| {
                    let mut acc = 0.0;
                    (1..=cfg.topics)
                        .map(|k| {
                            acc += 1.0 / libm::pow(k as f64, s);
                            acc
                        })
                        .collect()
                });
                let x = r.unit() * cum[cum.len() - 1];
                cum.partition_point(|&c| c <= x).min(cum.len() - 1) as u32
            }
        }
    }

    /// Sends a message this node originates: to its router, or (peer mode)
    /// straight to its recipients. An acked one waits in the outbox, stored,
    /// until the router acknowledges it.
    pub(super) fn publish(&mut self, ctx: &mut Ctx<'_, Self>, env: Envelope) {
        let cfg = ctx.config();
        if cfg.peer() {
            if env.guarantee.acked() {
                if self.index.contains_key(&env.id) {
                    return; // a reply sent already
                }
                // Published and stored in one write.
                self.write();
            }
            self.fact(ctx, BusNote::Published { env, write: None });
            self.accept(ctx, self.id, env);
            return;
        }
        let router = Bus::router_of(cfg, &env);
        if env.guarantee.acked() {
            if self.d.outbox.iter().any(|o| o.env.id == env.id) {
                return; // a reply sent already
            }
            self.write();
            dm!(self).outbox.push(Outgoing {
                env,
                attempts: 1,
                last_at: ctx.now(),
                refused: false,
            });
            self.fact(ctx, BusNote::Published { env, write: None });
            self.fact(ctx, BusNote::Attempt {
                id: env.id,
                at: 0,
                to: router,
                leg: 0,
                n: 1,
                write: None,
            });
            self.schedule_retry(ctx, RetryKey::Outbox(env.id, 1), ctx.now(), 1);
        } else {
            self.fact(ctx, BusNote::Published { env, write: None });
        }
        ctx.send(router, BusMsg::Publish(Rc::new(env)));
    }

    /// Arms the wait after attempt `k` (made at `last_at`) of `key`.
    pub(super) fn schedule_retry(
        &mut self,
        ctx: &mut Ctx<'_, Self>,
        key: RetryKey,
        last_at: u64,
        k: u32,
    ) {
        let cfg = ctx.config();
        let wait = if k >= cfg.max_attempts && !matches!(key, RetryKey::Sub(..)) {
            schedule::last_wait(cfg)
        } else {
            schedule::draw_gap(cfg, k, ctx.rng())
        };
        let due = (last_at + wait).max(ctx.now());
        self.retry.add(ctx, due, key);
    }

    /// The router answered a publication.
    pub(super) fn on_pub_ack(&mut self, id: MsgId, status: PubStatus) {
        let Some(i) = self.d.outbox.iter().position(|o| o.env.id == id) else {
            return;
        };
        match status {
            // Removing it needs no write of its own: should a crash undo
            // the removal, the recovered outbox retries, and the router
            // acknowledges the duplicate.
            PubStatus::Stored => {
                dm!(self).outbox.swap_remove(i);
            }
            PubStatus::Refused => dm!(self).outbox[i].refused = true,
        }
    }

    /// A retry deadline of this node came.
    pub(super) fn on_retry_due(&mut self, ctx: &mut Ctx<'_, Self>, key: RetryKey) {
        match key {
            RetryKey::Outbox(id, k) => self.outbox_due(ctx, id, k),
            RetryKey::Pair(id, to, k) => self.pair_due(ctx, id, to, k),
            RetryKey::Sub(topic, k) => self.intent_due(ctx, topic, k),
        }
    }

    fn outbox_due(&mut self, ctx: &mut Ctx<'_, Self>, id: MsgId, k: u8) {
        let cfg = ctx.config();
        let Some(i) = self.d.outbox.iter().position(|o| o.env.id == id) else {
            return; // acknowledged
        };
        if self.d.outbox[i].attempts != k {
            return; // stale
        }
        let now = ctx.now();
        if (k as u32) < cfg.max_attempts {
            self.write();
            let o = &mut dm!(self).outbox[i];
            o.attempts = k + 1;
            o.last_at = now;
            o.env.attempt = k + 1;
            let env = o.env;
            let router = Bus::router_of(cfg, &env);
            self.fact(ctx, BusNote::Attempt {
                id,
                at: 0,
                to: router,
                leg: 0,
                n: k + 1,
                write: None,
            });
            ctx.send(router, BusMsg::Publish(Rc::new(env)));
            self.schedule_retry(ctx, RetryKey::Outbox(id, k + 1), now, k as u32 + 1);
        } else {
            let o = dm!(self).outbox.swap_remove(i);
            let reason = if o.refused {
                DlqReason::Refused
            } else {
                DlqReason::MaxAttempts
            };
            self.fact(ctx, BusNote::DeadLettered {
                id,
                to: None,
                reason,
                write: None,
            });
        }
    }

    /// After a crash: every message still in the outbox waits out its
    /// schedule from its last stored attempt.
    pub(super) fn resume_outbox(&mut self, ctx: &mut Ctx<'_, Self>) {
        for i in 0..self.d.outbox.len() {
            let o = &self.d.outbox[i];
            let (key, last, k) = (
                RetryKey::Outbox(o.env.id, o.attempts),
                o.last_at,
                o.attempts as u32,
            );
            self.schedule_retry(ctx, key, last, k);
        }
    }

    /// A churn submission at a client: subscribe to subscription key
    /// `topic` (a topic or a pattern: [`super::SubKey`]), or unsubscribe if
    /// it means to be subscribed. The intent is stored first; the broker is
    /// asked until it acknowledges.
    fn churn(&mut self, ctx: &mut Ctx<'_, Self>, topic: u32) {
        let t = topic as usize;
        let on = !self.d.intents[t];
        dm!(self).intents[t] = on;
        dm!(self).intent_versions[t] += 1;
        let version = self.d.intent_versions[t];
        dm!(self).intents_pending.retain(|&(pt, _, _)| pt != topic);
        dm!(self).intents_pending.push((topic, on, version));
        self.write();
        if !on {
            // It expects the topic's messages no longer.
            self.fact(ctx, BusNote::Unsubscribed { topic });
        } else if ctx.config().pattern_mode() {
            // From now on its broker may route the key's topics here.
            self.fact(ctx, BusNote::Subscribing { key: topic });
        }
        self.send_intent(ctx, topic, on, version);
        self.schedule_retry(ctx, RetryKey::Sub(topic, 1), ctx.now(), 1);
    }

    fn send_intent(&mut self, ctx: &mut Ctx<'_, Self>, topic: u32, on: bool, version: u32) {
        let broker: NodeId = ctx.config().key_broker(topic);
        let msg = if on {
            BusMsg::Subscribe { topic, version }
        } else {
            BusMsg::Unsubscribe { topic, version }
        };
        ctx.send(broker, msg);
    }

    fn intent_due(&mut self, ctx: &mut Ctx<'_, Self>, topic: u32, k: u8) {
        let Some(&(_, on, version)) = self.d.intents_pending.iter().find(|p| p.0 == topic) else {
            return;
        };
        // The write makes the resend wait behind the intent's own write.
        self.write();
        self.send_intent(ctx, topic, on, version);
        let next = k.saturating_add(1);
        self.schedule_retry(ctx, RetryKey::Sub(topic, next), ctx.now(), next as u32);
    }

    /// After a crash: subscription changes not acknowledged are asked again.
    pub(super) fn resume_intents(&mut self, ctx: &mut Ctx<'_, Self>) {
        if self.d.intents_pending.is_empty() {
            return;
        }
        self.write();
        for i in 0..self.d.intents_pending.len() {
            let (topic, on, version) = self.d.intents_pending[i];
            self.send_intent(ctx, topic, on, version);
            self.schedule_retry(ctx, RetryKey::Sub(topic, 1), ctx.now(), 1);
        }
    }

    /// The broker stored a subscription change: a subscription is in place.
    pub(super) fn on_sub_ack(&mut self, ctx: &mut Ctx<'_, Self>, topic: u32, on: bool, version: u32) {
        let Some(i) = self
            .d
            .intents_pending
            .iter()
            .position(|&p| p == (topic, on, version))
        else {
            return; // stale: the intent changed since
        };
        dm!(self).intents_pending.swap_remove(i);
        if on {
            self.fact(ctx, BusNote::Subscribed { topic });
        }
    }

    /// A request was answered (`reply` is its reply's id).
    pub(super) fn on_reply(&mut self, ctx: &mut Ctx<'_, Self>, reply: MsgId) {
        let id = reply & !super::REPLY_BIT;
        if self.requests.remove(&id).is_some() {
            self.fact(ctx, BusNote::RequestDone { id });
        } else if self.timed_out.contains(&id) {
            self.fact(ctx, BusNote::LateReply { id });
        }
    }

    /// Answers request `req` (just delivered here) under its guarantee.
    pub(super) fn reply(&mut self, ctx: &mut Ctx<'_, Self>, req: &Envelope) {
        let env = Envelope {
            id: req.id | super::REPLY_BIT,
            epoch: self.epoch,
            at: ctx.now(),
            publisher: self.id,
            dest: Dest::Client(req.publisher),
            fifo_seq: 0,
            payload: req.payload,
            guarantee: req.guarantee,
            pattern: Pattern::Reply,
            attempt: 1,
        };
        self.publish(ctx, env);
    }
}
