//! What each Byzantine behaviour does to threshold consensus's votes.
//!
//! A traitor's votes are fixed once, at its first vote, and sent again
//! unchanged at every `resend` (so a receiver sees one value per traitor and
//! recipient). "Its proposal" is what a loyal node with its input would
//! vote; "the other value" is the proposal with its lowest bit flipped
//! (0 ↔ 1).
//!
//! | behaviour | its votes |
//! |---|---|
//! | `silent` | none (it still receives) |
//! | `equivocate` | its proposal to some nodes, the other value to the rest (a split drawn once from its stream) |
//! | `flip` | the other value, to every node |
//! | `forge` | the other value in its own name, and in the name of every other voter, to every node but that voter: "node 3 votes 0". Signed votes: rejected. Unsigned: believed, and the first vote received for a voter counts |
//! | `delay` | its proposal, sent `delay_slack` before the deadline |
//! | `selective` | its proposal, to every node but its targets |
//! | `split` | 0 to the honest nodes on side `false` of the shared plan, 1 to side `true`: the strategy that breaks thresholds below `n − f` with `f ≥ n/3` |
//!
//! The trace marks each change with a note tagged `adversary` (`withheld`,
//! `altered` with the nodes told each value, `forged`, `delayed`).

use super::{Change, ThresholdMsg, ThresholdNote, ThresholdTimer, ThresholdVote};
use crate::node::{Behaviour, Ctx, Init, NodeId};
use crate::protocols::voting::Value;
use crate::time::SimTime;

/// A traitor's plan (empty for an honest node).
#[derive(Clone, Debug, Default)]
pub struct State {
    /// `equivocate`: whether each node is told the proposal.
    truthful_to: Vec<bool>,
    /// The votes it sends at every (re)send.
    plan: Vec<(NodeId, ThresholdMsg)>,
    planned: bool,
    /// `delay`: when its votes leave (they left once it is `None`).
    due: Option<SimTime>,
}

impl State {
    /// Draws what the behaviour needs (only `equivocate` draws).
    pub fn new(ctx: &mut Init<'_, ThresholdVote>, _input: Value) -> State {
        let mut s = State::default();
        if matches!(ctx.behaviour(), Some(Behaviour::Equivocate)) {
            let n = ctx.nodes();
            s.truthful_to = (0..n).map(|_| ctx.rng().chance(0.5)).collect();
        }
        s
    }
}

/// The plan of a traitor with proposal `v`, and the change it makes.
fn plan(node: &mut ThresholdVote, ctx: &mut Ctx<'_, ThresholdVote>) -> Option<Change> {
    let b = ctx.behaviour().expect("a Byzantine node");
    let me = ctx.id();
    let v = node.input;
    let other = v ^ 1;
    let peers: Vec<NodeId> = ctx.peers().iter().filter(|&p| p != me).collect();
    let vote = |voter: NodeId, value: Value| ThresholdMsg::Vote {
        voter,
        value,
        signer: me,
    };
    let mut plan = Vec::with_capacity(peers.len());
    let change = match b {
        Behaviour::Silent => Some(Change::Withheld { to: peers.clone() }),
        Behaviour::Selective(_) => {
            let (omit, send): (Vec<NodeId>, Vec<NodeId>) =
                peers.iter().partition(|&&p| b.omits(p));
            plan.extend(send.iter().map(|&p| (p, vote(me, v))));
            (!omit.is_empty()).then_some(Change::Withheld { to: omit })
        }
        Behaviour::Delay => {
            plan.extend(peers.iter().map(|&p| (p, vote(me, v))));
            let due = ctx
                .config()
                .deadline
                .0
                .saturating_sub(ctx.config().delay_slack.0);
            node.byz.due = Some(due);
            Some(Change::Delayed { until_ns: due })
        }
        Behaviour::Equivocate | Behaviour::Flip | Behaviour::Split => {
            let value_for = |p: NodeId| match b {
                Behaviour::Equivocate if node.byz.truthful_to[p as usize] => v,
                Behaviour::Equivocate | Behaviour::Flip => other,
                _ => ctx.adversary().split_side(p) as Value,
            };
            let mut sent: Vec<(Value, Vec<NodeId>)> = Vec::new();
            for &p in &peers {
                let x = value_for(p);
                plan.push((p, vote(me, x)));
                match sent.iter_mut().find(|s| s.0 == x) {
                    Some(s) => s.1.push(p),
                    None => sent.push((x, vec![p])),
                }
            }
            sent.sort_by_key(|s| s.0);
            Some(Change::Altered { honest: v, sent })
        }
        Behaviour::Forge => {
            plan.extend(peers.iter().map(|&p| (p, vote(me, other))));
            let n = ctx.nodes();
            for voter in (0..n).filter(|&x| x != me) {
                for &p in peers.iter().filter(|&&p| p != voter) {
                    plan.push((p, vote(voter, other)));
                }
            }
            Some(Change::Forged {
                voters: n.saturating_sub(1),
                value: other,
            })
        }
    };
    node.byz.plan = plan;
    change
}

/// A traitor's (re)vote: its plan, sent now (or held until due, `delay`).
pub(super) fn vote(node: &mut ThresholdVote, ctx: &mut Ctx<'_, ThresholdVote>) {
    if !node.byz.planned {
        node.byz.planned = true;
        if let Some(change) = plan(node, ctx) {
            let behaviour = ctx.behaviour().expect("a Byzantine node").kind();
            ctx.note(ThresholdNote::Adversary { behaviour, change });
        }
    }
    if let Some(due) = node.byz.due {
        if due > ctx.now() {
            ctx.set_timer(ThresholdTimer::Flush, due - ctx.now());
            return;
        }
    }
    for (to, msg) in &node.byz.plan {
        ctx.send(*to, msg.clone());
    }
}

/// A `delay` traitor's votes are due.
pub(super) fn flush(node: &mut ThresholdVote, ctx: &mut Ctx<'_, ThresholdVote>) {
    node.byz.due = None;
    for (to, msg) in &node.byz.plan {
        ctx.send(*to, msg.clone());
    }
}
