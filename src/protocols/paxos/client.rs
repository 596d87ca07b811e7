//! Clients: a workload submission reaches a node, its proxy, which stands in
//! for the client. The proxy sends the command to a proposer (in Multi, the
//! leader it believes in), resends it every `client_retry` until it is
//! answered, and takes the answer.

use super::config::Mode;
use super::types::Cmd;
use super::{Paxos, PaxosMsg, PaxosNote, PaxosTimer};
use crate::node::{Ctx, NodeId, Submission};
use crate::time::SimTime;
use std::collections::VecDeque;

/// The commands a node holds for its clients, by sequence number (a node
/// receives submissions in increasing order).
#[derive(Default)]
pub(super) struct Proxy {
    pending: VecDeque<Pending>,
    armed: bool,
}

struct Pending {
    cmd: Cmd,
    sent_at: SimTime,
    tries: u32,
}

impl Paxos {
    /// A client submits a command to this node.
    pub(super) fn submit(&mut self, ctx: &mut Ctx<'_, Self>, sub: Submission) {
        let cmd = Cmd {
            client: sub.client,
            proxy: self.id,
            seq: sub.index,
        };
        ctx.note(PaxosNote::Submitted {
            client: cmd.client,
            seq: cmd.seq,
        });
        self.proxy.pending.push_back(Pending {
            cmd,
            sent_at: ctx.now(),
            tries: 0,
        });
        if !self.proxy.armed {
            self.proxy.armed = true;
            ctx.set_timer(PaxosTimer::ClientRetry, ctx.config().client_retry.0);
        }
        self.route(ctx, cmd, 0);
    }

    /// Sends `cmd` on its way (its `tries`-th time).
    fn route(&mut self, ctx: &mut Ctx<'_, Self>, cmd: Cmd, tries: u32) {
        match ctx.config().mode {
            Mode::Single => {
                if self.is_proposer {
                    self.single_enqueue(ctx, cmd);
                } else {
                    let to = ((cmd.seq + tries as u64) % self.proposers as u64) as NodeId;
                    ctx.send(to, PaxosMsg::Request { cmd });
                }
            }
            Mode::Multi => {
                if self.is_leader() {
                    return self.leader_enqueue(ctx, cmd);
                }
                let to = match self.leader {
                    Some((l, _)) if l != self.id => l,
                    _ => ((cmd.seq + tries as u64) % self.proposers as u64) as NodeId,
                };
                if to != self.id {
                    ctx.send(to, PaxosMsg::Request { cmd });
                }
            }
        }
    }

    /// A command arrives at a proposer, or at a node that forwards it.
    pub(super) fn on_request(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, cmd: Cmd) {
        match ctx.config().mode {
            Mode::Single => {
                if self.is_proposer {
                    self.single_enqueue(ctx, cmd);
                }
            }
            Mode::Multi => {
                if self.is_leader() {
                    self.leader_enqueue(ctx, cmd);
                } else if from == cmd.proxy {
                    // Forward once, to the leader this node believes in.
                    if let Some((l, _)) = self.leader {
                        if l != self.id && l != from {
                            ctx.send(l, PaxosMsg::Request { cmd });
                        }
                    }
                }
            }
        }
    }

    /// The answer to command `seq` reached its proxy (this node).
    pub(super) fn answered(&mut self, ctx: &mut Ctx<'_, Self>, seq: u64) {
        if let Ok(i) = self.proxy.pending.binary_search_by_key(&seq, |p| p.cmd.seq) {
            let p = self.proxy.pending.remove(i).expect("found");
            ctx.note(PaxosNote::Answered {
                client: p.cmd.client,
                seq,
            });
        }
    }

    /// Resends the commands not answered for `client_retry`.
    pub(super) fn on_client_retry(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.proxy.armed = false;
        let (now, every) = (ctx.now(), ctx.config().client_retry.0);
        let mut i = 0;
        while i < self.proxy.pending.len() {
            let p = &mut self.proxy.pending[i];
            if now.saturating_sub(p.sent_at) >= every {
                p.sent_at = now;
                p.tries += 1;
                let (cmd, tries) = (p.cmd, p.tries);
                self.route(ctx, cmd, tries);
            }
            i += 1;
        }
        if !self.proxy.pending.is_empty() {
            self.proxy.armed = true;
            ctx.set_timer(PaxosTimer::ClientRetry, every);
        }
    }
}
