//! What each Byzantine behaviour does to OM's messages.
//!
//! A traitor keeps the shape of the protocol (it sends, or omits, the
//! messages of each path at the same moments as a loyal general) and
//! changes their values or timing. "Loyal value" below is what a loyal
//! general would send: the commander's order, or the value the lieutenant
//! heard on the path it relays.
//!
//! | behaviour | as commander | as lieutenant (relays) |
//! |---|---|---|
//! | `silent` | sends no order | relays nothing |
//! | `equivocate` | the order to some lieutenants, the other order to the rest (a split drawn once from its stream) | the loyal value to some, the other value to the rest (the same drawn split) |
//! | `flip` | the opposite order to every lieutenant | a random value in every relay (a fresh coin per message) |
//! | `forge` | its order (it has no one to misquote) | claims the opposite of what it heard, every time: "the commander told me retreat" |
//! | `delay` | its order, sent `delay_slack` before round 1 ends | the loyal value, sent `delay_slack` before its round ends (later arrivals count as missing) |
//! | `selective` | no order to its target nodes, the order to the others | no relay to its targets, loyal relays to the others |
//! | `split` | attack to the honest generals on side `false` of the shared plan, retreat to side `true` | the same: attack to side `false`, retreat to side `true`, whatever it heard |
//!
//! **Signatures** (`signed = true`). A commander signs what it sends, so a
//! traitorous commander's orders are all valid, however inconsistent. A
//! lieutenant can only append its signature to the chain it received: a
//! relay whose value differs from the value the chain covers (`flip`,
//! `forge`, `equivocate`, `split` changing a value) is rejected by loyal
//! receivers (noted `rejected`). What it can still do is omit (`silent`,
//! `selective`, or relaying a value to some and not others) and delay.
//!
//! Every change is marked in the trace by a note with tag `adversary`
//! (`withheld`, `altered` with who was told attack and who retreat, or
//! `delayed` with the send time).

use super::{Change, Om, OmMsg, OmNote, OmTimer, Path, ATTACK, RETREAT};
use crate::node::{Behaviour, Ctx, Init, NodeId};
use crate::time::SimTime;

/// A traitor's plan and held messages (empty for a loyal general).
#[derive(Clone, Debug, Default)]
pub struct State {
    /// `equivocate`: whether each general is told the loyal value.
    truthful_to: Vec<bool>,
    /// `delay`: messages held, with the time they leave.
    held: Vec<(SimTime, NodeId, OmMsg)>,
}

impl State {
    /// The plan of this general (draws only for `equivocate`).
    pub fn new(ctx: &mut Init<'_, Om>) -> State {
        let mut s = State::default();
        if matches!(ctx.behaviour(), Some(Behaviour::Equivocate)) {
            let n = ctx.nodes();
            s.truthful_to = (0..n).map(|_| ctx.rng().chance(0.5)).collect();
        }
        s
    }
}

/// A traitor's version of [`Om::send_all`].
pub(super) fn send_all(
    node: &mut Om,
    ctx: &mut Ctx<'_, Om>,
    path: Path,
    value: u8,
    sig: u8,
    targets: &[NodeId],
) {
    let b = ctx.behaviour().expect("a Byzantine general");
    let kind = b.kind();
    // The commander signs what it sends; a relay keeps the chain it got.
    let signs = path.len() == 1;
    let (mut attack_to, mut retreat_to, mut withheld) = (Vec::new(), Vec::new(), Vec::new());
    let mut altered = false;
    let due = ctx
        .config()
        .round_end(path.len())
        .saturating_sub(ctx.config().delay_slack.0);
    for &to in targets {
        let v = match b {
            Behaviour::Silent => None,
            Behaviour::Selective(_) if b.omits(to) => None,
            Behaviour::Selective(_) | Behaviour::Delay => Some(value),
            Behaviour::Equivocate => Some(if node.byz.truthful_to[to as usize] {
                value
            } else {
                1 - value
            }),
            Behaviour::Flip if signs => Some(1 - value),
            Behaviour::Flip => Some(ctx.rng().below(2) as u8),
            Behaviour::Forge if signs => Some(value),
            Behaviour::Forge => Some(1 - value),
            Behaviour::Split => Some(if ctx.adversary().split_side(to) {
                RETREAT
            } else {
                ATTACK
            }),
        };
        let Some(v) = v else {
            withheld.push(to);
            continue;
        };
        altered |= v != value;
        if v == ATTACK {
            attack_to.push(to);
        } else {
            retreat_to.push(to);
        }
        let msg = OmMsg::Order {
            path,
            value: v,
            sig: if signs { v } else { sig },
        };
        if matches!(b, Behaviour::Delay) && due > ctx.now() {
            node.byz.held.push((due, to, msg));
        } else {
            ctx.send(to, msg);
        }
    }
    if !withheld.is_empty() {
        ctx.note(OmNote::Adversary {
            behaviour: kind,
            change: Change::Withheld { path, to: withheld },
        });
    }
    if altered {
        ctx.note(OmNote::Adversary {
            behaviour: kind,
            change: Change::Altered {
                path,
                honest: value,
                attack_to,
                retreat_to,
            },
        });
    }
    if matches!(b, Behaviour::Delay) && due > ctx.now() && !targets.is_empty() {
        ctx.note(OmNote::Adversary {
            behaviour: kind,
            change: Change::Delayed {
                path,
                until_ns: due,
            },
        });
        arm(node, ctx);
    }
}

/// Arms the flush timer for the earliest held message.
fn arm(node: &Om, ctx: &mut Ctx<'_, Om>) {
    if let Some(first) = node.byz.held.iter().map(|h| h.0).min() {
        ctx.set_timer(OmTimer::Flush, first.saturating_sub(ctx.now()));
    }
}

/// Sends the held messages that are due, and re-arms for the rest.
pub(super) fn flush(node: &mut Om, ctx: &mut Ctx<'_, Om>) {
    let now = ctx.now();
    let mut i = 0;
    while i < node.byz.held.len() {
        if node.byz.held[i].0 <= now {
            let (_, to, msg) = node.byz.held.remove(i);
            ctx.send(to, msg);
        } else {
            i += 1;
        }
    }
    arm(node, ctx);
}
