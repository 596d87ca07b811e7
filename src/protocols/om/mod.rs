//! Oral messages OM(m): the Byzantine generals (Lamport, Shostak & Pease,
//! "The Byzantine Generals Problem", TOPLAS 1982, §3), and with signed
//! messages SM(m) (§4).
//!
//! A commander sends its order (attack or retreat) to its `n − 1`
//! lieutenants; the lieutenants relay what they heard for `m` more rounds;
//! each loyal lieutenant then obeys a value computed from everything it
//! heard. The paper's two conditions (interactive consistency):
//!
//! - **IC1**: all loyal lieutenants obey the same order;
//! - **IC2**: if the commander is loyal, every loyal lieutenant obeys the
//!   order it sends.
//!
//! With oral (unsigned) messages OM(m) meets both when `n > 3m` and at most
//! `m` generals are traitors; no algorithm can with `n ≤ 3m` (Theorem 1:
//! with three generals and one traitor, `check om` finds IC2 broken).
//! With signed messages SM(m) meets both for any number of generals with at
//! most `m` traitors.
//!
//! ```text
//!  round 1 (0..R)       round 2 (R..2R)            ...   at (m+1)R
//!  commander ──v──► L_i ──"c said v"──► L_j ──"i said c said v"──► ...
//!                                                      each loyal L decides
//! ```
//!
//! **Messages as exponential information gathering.** A message carries a
//! path: the commander first, then each lieutenant that relayed it, the
//! sender last; "path `[c, i]`, value `v`" reads "i says that c said v".
//! A lieutenant `j` that accepts a message of path `p` with `|p| ≤ m`
//! relays it at once to every lieutenant not in `p` (and not itself), with
//! path `p + [j]`: the messages of OM(m − 1) with `p`'s last general as its
//! commander. A message of path length `k` belongs to round `k` and is
//! accepted only before the round ends (time `k · round`): the paper's
//! synchronous assumption A3, so that the absence of a message is detected.
//! A message must come from the last general of its path (A2: the receiver
//! knows who sent it), start with the commander and name no general twice.
//!
//! **The decision (unsigned, OM).** At `(m + 1) · round`, lieutenant `j`
//! computes, for every path `p` it could have heard, bottom up:
//! `result(p)` = the value received on `p` (RETREAT if none) when
//! `|p| = m + 1`; otherwise the majority of the value received on `p`
//! (RETREAT if none) and `result(p + [i])` for every lieutenant `i` not in
//! `p` and not `j`, with RETREAT when there is no majority. This is OM's
//! step (3): `majority(v_1, ..., v_{n−1})`, "the majority value among the
//! `v_i` if it exists, otherwise RETREAT", where a missing `v_i` is
//! RETREAT. It obeys `result([c])`. The majority is the shared voting rule
//! (`majority` of the votes cast, tie `default:0` (retreat), missing
//! `vote:0`).
//!
//! **Signed (SM).** With `signed = true`, every general signs what it
//! sends and a relay appends its signature: a signature binds the value, so
//! a relay that changes the value it heard, or a claim that another general
//! said what it did not, carries no valid signature and is rejected (noted
//! `rejected`). A lieutenant keeps the set `V` of values it received with a
//! valid chain; the first time it receives a value (path `p`, `|p| ≤ m`) it
//! relays it, signed, to every lieutenant not in `p`. At `(m + 1) · round`
//! it obeys `choice(V)`: the value if `V` holds exactly one, otherwise
//! RETREAT (the shared rule `unanimity` over the distinct values; with no
//! value at all, RETREAT). A signature is modelled as the value the chain
//! covers, carried in the message: a node can sign only as itself.
//!
//! **Faults.** The paper assumes a reliable synchronous network on the
//! complete graph (on another topology a relay to a non-neighbour is lost,
//! and counts as missing): a lost
//! or late message is the same as a traitor's omission and counts against
//! `m` (a message lost under `--loss` can break IC1 or IC2 with fewer
//! traitors, as the theory says). A general that crashes before the
//! decision time is faulty: it takes no further part (a recovered general
//! stays passive) and is not judged. Byzantine behaviours: see
//! [`adversary`].
//!
//! **Broken variant** (`variant = "obey-commander"`): lieutenants relay as
//! usual but obey the value the commander sent them directly, skipping the
//! majority (OM(0)): caught by `check` at `n = 4` with an equivocating
//! commander (IC1).

pub mod adversary;
#[cfg(feature = "cli")]
mod flags;
pub mod monitor;
mod spec;

use super::voting::{self, Ballot, Counts, Missing, Rule, Threshold, Tie};
use crate::node::{Ctx, Decision, Init, NodeId, Note, Protocol};
use crate::time::{Dur, SimTime};
use serde::ser::SerializeSeq;
use serde::{Deserialize, Serialize, Serializer};
use std::collections::BTreeMap;

#[cfg(feature = "cli")]
pub use flags::OmFlags;
pub use monitor::OmMonitor;
pub use spec::OmSpec;

/// The value "retreat" (also the default of a missing message).
pub const RETREAT: u8 = 0;
/// The value "attack".
pub const ATTACK: u8 = 1;

/// Longest path a message carries (the commander and `m` relays): `m ≤ 4`.
pub const PATH_MAX: usize = 5;
/// Largest `m` accepted.
pub const M_MAX: u32 = (PATH_MAX - 1) as u32;
/// Most messages one run of unsigned OM(m) may send (the count grows as `n^(m+1)`).
pub const MESSAGES_MAX: u64 = 5_000_000;

/// The commander's order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Order {
    /// Attack (value 1).
    #[default]
    Attack,
    /// Retreat (value 0).
    Retreat,
}

impl Order {
    /// The order as a value: attack 1, retreat 0.
    pub fn value(self) -> u8 {
        match self {
            Order::Attack => ATTACK,
            Order::Retreat => RETREAT,
        }
    }
}

impl std::str::FromStr for Order {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "attack" => Ok(Order::Attack),
            "retreat" => Ok(Order::Retreat),
            _ => Err(format!("om order '{s}' unknown (accepted: attack, retreat)")),
        }
    }
}

/// The name of a value, for notes and reports.
pub fn value_name(v: u8) -> &'static str {
    if v == ATTACK {
        "attack"
    } else {
        "retreat"
    }
}

/// Deliberately broken behaviours, selected by `variant`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OmVariant {
    /// The algorithm as the paper states it.
    #[default]
    Correct,
    /// Lieutenants obey the commander's direct value, skipping the majority.
    ObeyCommander,
}

impl std::str::FromStr for OmVariant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "correct" => Ok(OmVariant::Correct),
            "obey-commander" => Ok(OmVariant::ObeyCommander),
            _ => Err(format!(
                "om variant '{s}' unknown (accepted: correct, obey-commander)"
            )),
        }
    }
}

/// OM's settings: the `[protocol]` table of a scenario (`name = "om"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OmConfig {
    /// The number of relay rounds: OM(m) tolerates `m` traitors when `n > 3m`.
    pub m: u32,
    /// The commander's node id.
    pub commander: NodeId,
    /// A loyal commander's order.
    pub order: Order,
    /// Signed messages: SM(m) instead of OM(m).
    pub signed: bool,
    /// The length of a round; messages of round `k` must arrive before `k · round`.
    pub round: Dur,
    /// A `delay` traitor sends each message this long before its round ends.
    pub delay_slack: Dur,
    /// `correct` or a deliberately broken variant.
    pub variant: OmVariant,
}

impl Default for OmConfig {
    fn default() -> Self {
        OmConfig {
            m: 1,
            commander: 0,
            order: Order::Attack,
            signed: false,
            round: Dur::from_ms(100),
            delay_slack: Dur::from_ms(10),
            variant: OmVariant::Correct,
        }
    }
}

impl OmConfig {
    /// Checks the settings for `n` generals; the error names the field and
    /// the accepted range.
    pub fn validate(&self, n: u32) -> Result<(), String> {
        if n < 2 {
            return Err(format!(
                "nodes = {n} out of range for om (accepted: 2 or more: a commander and its lieutenants)"
            ));
        }
        if self.commander >= n {
            return Err(format!(
                "om.commander = {} out of range (accepted: 0..{n})",
                self.commander
            ));
        }
        let m_hi = M_MAX.min(n - 2);
        if self.m > m_hi {
            return Err(format!(
                "om.m = {} out of range (accepted: 0..={m_hi}: at most n − 2 relay rounds, and at most {M_MAX})",
                self.m
            ));
        }
        if self.round.0 == 0 {
            return Err("om.round must be above 0 (accepted: e.g. 100ms)".into());
        }
        if self.delay_slack >= self.round {
            return Err(format!(
                "om.delay_slack = {} out of range (accepted: below om.round = {})",
                self.delay_slack, self.round
            ));
        }
        if !self.signed {
            let msgs = unsigned_messages(n, self.m);
            if msgs > MESSAGES_MAX {
                return Err(format!(
                    "om.m = {} with {n} nodes sends {msgs} messages (accepted: at most {MESSAGES_MAX}; lower m or nodes)",
                    self.m
                ));
            }
        }
        Ok(())
    }

    /// When lieutenants decide: `(m + 1) · round`.
    pub fn decision_time(&self) -> SimTime {
        (self.m as u64 + 1) * self.round.0
    }

    /// When the round of messages with path length `k` ends.
    pub fn round_end(&self, k: usize) -> SimTime {
        k as u64 * self.round.0
    }
}

/// Messages unsigned OM(m) sends with `n` generals: `Σ_{k=1..m+1} (n−1)(n−2)…(n−k)`.
pub fn unsigned_messages(n: u32, m: u32) -> u64 {
    let mut total = 0u64;
    let mut term = 1u64;
    for k in 1..=m as u64 + 1 {
        term = term.saturating_mul((n as u64).saturating_sub(k));
        total = total.saturating_add(term);
    }
    total
}

/// The generals a message went through: the commander first, the sender
/// last (at most [`PATH_MAX`]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Path {
    len: u8,
    ids: [NodeId; PATH_MAX],
}

impl Path {
    /// The path of the commander's own message.
    pub fn root(commander: NodeId) -> Path {
        let mut ids = [0; PATH_MAX];
        ids[0] = commander;
        Path { len: 1, ids }
    }

    /// The generals, in order.
    pub fn ids(&self) -> &[NodeId] {
        &self.ids[..self.len as usize]
    }

    /// Its length (the round of its message).
    pub fn len(&self) -> usize {
        self.len as usize
    }

    /// Never empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The last general (the sender).
    pub fn last(&self) -> NodeId {
        self.ids[self.len as usize - 1]
    }

    /// Whether `id` is on the path.
    pub fn contains(&self, id: NodeId) -> bool {
        self.ids().contains(&id)
    }

    /// This path with `id` appended (the caller keeps the length within [`PATH_MAX`]).
    pub fn with(&self, id: NodeId) -> Path {
        let mut p = *self;
        p.ids[p.len as usize] = id;
        p.len += 1;
        p
    }

    /// Whether every general appears once.
    fn distinct(&self) -> bool {
        let ids = self.ids();
        ids.iter()
            .enumerate()
            .all(|(i, a)| !ids[..i].contains(a))
    }
}

impl std::fmt::Debug for Path {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.ids()).finish()
    }
}

impl Serialize for Path {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for id in self.ids() {
            seq.serialize_element(id)?;
        }
        seq.end()
    }
}

/// OM's one message, a noun from the paper: an order, relayed along `path`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, agentsim_macros::Message)]
pub enum OmMsg {
    /// "`path[k−1]` says that `path[k−2]` said ... that the commander said `value`".
    Order {
        /// The commander first, the sender last.
        path: Path,
        /// The value claimed.
        value: u8,
        /// The value the signature chain covers (what the commander signed):
        /// equal to `value` unless a relay changed it. Ignored when
        /// messages are unsigned.
        sig: u8,
    },
}

/// OM's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, agentsim_macros::TimerTag)]
pub enum OmTimer {
    /// The decision time `(m + 1) · round`.
    Decide,
    /// A `delay` traitor's held messages are due.
    Flush,
}

/// What a Byzantine general changed in what it sent (trace tag `adversary`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// It sent nothing for this path to `to` (silent, selective).
    Withheld {
        /// The path it should have sent.
        path: Path,
        /// The generals that got nothing.
        to: Vec<NodeId>,
    },
    /// It sent other values than a loyal general would (equivocate, flip,
    /// forge, split): `attack_to` got attack, `retreat_to` retreat.
    Altered {
        /// The path sent.
        path: Path,
        /// What a loyal general would have sent.
        honest: u8,
        /// Who was told attack.
        attack_to: Vec<NodeId>,
        /// Who was told retreat.
        retreat_to: Vec<NodeId>,
    },
    /// It held its messages for this path until just before the round ends.
    Delayed {
        /// The path sent.
        path: Path,
        /// When they leave.
        until_ns: SimTime,
    },
}

/// OM's facts for the trace, the checker and the metrics.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum OmNote {
    /// A loyal commander sent its order.
    Ordered {
        /// The order.
        value: u8,
    },
    /// A loyal lieutenant obeys `value`.
    Decided {
        /// The order it obeys.
        value: u8,
    },
    /// A loyal lieutenant holds two different values attributed to the
    /// commander: with signatures, proof that the commander equivocated;
    /// without, evidence that some general lied (noted once).
    EquivocationSeen {
        /// Signed: a proof.
        proof: bool,
    },
    /// A signed message with an invalid signature was rejected.
    Rejected {
        /// Its path.
        path: Path,
        /// The value it claimed.
        value: u8,
    },
    /// A Byzantine general's change to its messages.
    Adversary {
        /// Its behaviour.
        behaviour: crate::node::BehaviourKind,
        /// What it changed.
        #[serde(flatten)]
        change: Change,
    },
}

impl Note for OmNote {
    fn decided(&self) -> Option<Decision> {
        match self {
            OmNote::Decided { value } => Some(Decision {
                instance: 0,
                value: value_name(*value).to_string(),
            }),
            _ => None,
        }
    }
    fn tag(&self) -> Option<&'static str> {
        Some(match self {
            OmNote::Ordered { .. } => "ordered",
            OmNote::Decided { .. } => "decided",
            OmNote::EquivocationSeen { .. } => "equivocation_seen",
            OmNote::Rejected { .. } => "rejected",
            OmNote::Adversary { .. } => "adversary",
        })
    }
}

/// OM's counters (summed over generals).
pub mod counter {
    /// Index of `late_messages`.
    pub const LATE: usize = 0;
    /// Index of `rejected_messages`.
    pub const REJECTED: usize = 1;
}

/// One general: the commander or a lieutenant.
#[derive(Clone, Debug)]
pub struct Om {
    /// Recovered after a crash: takes no further part.
    passive: bool,
    /// Unsigned: the value received on each path (the first one).
    received: BTreeMap<Path, u8>,
    /// Signed: the values received with a valid chain (`V` of SM), by value.
    valid: [bool; 2],
    /// The value the commander sent this lieutenant directly, if any.
    direct: Option<u8>,
    equivocation_seen: bool,
    decided: bool,
    /// A Byzantine general's plan and held messages (see [`adversary`]).
    byz: adversary::State,
}

impl Om {
    fn is_commander(&self, ctx: &Ctx<'_, Self>) -> bool {
        ctx.id() == ctx.config().commander
    }

    /// Every lieutenant not on `path` and not this general, in id order.
    fn relay_targets<'p>(ctx: &Ctx<'_, Self>, path: &'p Path) -> impl Iterator<Item = NodeId> + 'p {
        let (me, c, n) = (ctx.id(), ctx.config().commander, ctx.nodes());
        (0..n).filter(move |&x| x != me && x != c && !path.contains(x))
    }

    /// Sends the messages of `path` to `targets`: loyal value `value`,
    /// signature covering `sig`; a Byzantine general changes them.
    fn send_all(&mut self, ctx: &mut Ctx<'_, Self>, path: Path, value: u8, sig: u8, targets: &[NodeId]) {
        if ctx.behaviour().is_some() {
            return adversary::send_all(self, ctx, path, value, sig, targets);
        }
        for &to in targets {
            ctx.send(to, OmMsg::Order { path, value, sig });
        }
    }

    fn on_order(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, path: Path, value: u8, sig: u8) {
        let cfg = ctx.config();
        let me = ctx.id();
        if self.passive || self.decided || me == cfg.commander {
            return;
        }
        let k = path.len();
        // A2: the receiver knows the sender; the path must start with the
        // commander, name no general twice, and not already include us.
        let well_formed = k >= 1
            && k <= cfg.m as usize + 1
            && path.ids()[0] == cfg.commander
            && path.last() == from
            && !path.contains(me)
            && path.distinct()
            && value <= ATTACK;
        if !well_formed {
            return;
        }
        // A3: a message belongs to round k and must arrive before it ends.
        if ctx.now() >= cfg.round_end(k) {
            ctx.count(counter::LATE, 1.0);
            return;
        }
        if cfg.signed {
            if value != sig {
                ctx.count(counter::REJECTED, 1.0);
                ctx.note(OmNote::Rejected { path, value });
                return;
            }
            if k == 1 {
                self.direct.get_or_insert(value);
            }
            if self.valid[value as usize] {
                return;
            }
            self.valid[value as usize] = true;
            if self.valid == [true, true] && !self.equivocation_seen && ctx.behaviour().is_none() {
                self.equivocation_seen = true;
                ctx.note(OmNote::EquivocationSeen { proof: true });
            }
        } else {
            if self.received.contains_key(&path) {
                return;
            }
            self.received.insert(path, value);
            if k == 1 {
                self.direct = Some(value);
            }
            if k <= 2 && !self.equivocation_seen && ctx.behaviour().is_none() {
                if let Some(d) = self.direct {
                    let differ = if k == 2 {
                        value != d
                    } else {
                        self.commander_claims_differ(d)
                    };
                    if differ {
                        self.equivocation_seen = true;
                        ctx.note(OmNote::EquivocationSeen { proof: false });
                    }
                }
            }
        }
        if k <= cfg.m as usize {
            let next = path.with(me);
            let targets: Vec<NodeId> = Self::relay_targets(ctx, &next).collect();
            self.send_all(ctx, next, value, sig, &targets);
        }
    }

    /// Unsigned: whether a relayed claim about the commander's order
    /// (a path of length 2) differs from the direct value `d`.
    fn commander_claims_differ(&self, d: u8) -> bool {
        self.received
            .iter()
            .any(|(p, &v)| p.len() == 2 && v != d)
    }

    /// OM's `result(p)` at lieutenant `me` (see the module docs).
    fn result(&self, cfg: &OmConfig, n: NodeId, me: NodeId, p: &Path, rule: &Rule) -> u8 {
        let received = self.received.get(p).copied();
        if p.len() == cfg.m as usize + 1 {
            return received.unwrap_or(RETREAT);
        }
        let mut counts = Counts::new();
        let mut voters = 1u32;
        if let Some(v) = received {
            counts.add(Ballot::Vote(v as u64));
        }
        for i in (0..n).filter(|&i| i != me && i != cfg.commander && !p.contains(i)) {
            voters += 1;
            counts.add(Ballot::Vote(self.result(cfg, n, me, &p.with(i), rule) as u64));
        }
        match rule.decide(&counts, voters, true) {
            voting::Outcome::Decided(v) => v as u8,
            _ => RETREAT,
        }
    }

    fn decide(&mut self, ctx: &mut Ctx<'_, Self>) {
        if self.passive || self.decided || self.is_commander(ctx) || ctx.behaviour().is_some() {
            return;
        }
        self.decided = true;
        let cfg = ctx.config();
        let value = if cfg.variant == OmVariant::ObeyCommander {
            self.direct.unwrap_or(RETREAT)
        } else if cfg.signed {
            // choice(V): the value if V holds exactly one, else RETREAT.
            let counts = Counts::of_ballots(
                [RETREAT, ATTACK]
                    .into_iter()
                    .filter(|&v| self.valid[v as usize])
                    .map(|v| Ballot::Vote(v as u64)),
            );
            let choice = Rule {
                threshold: Threshold::Unanimity,
                ..Rule::default()
            };
            match choice.decide(&counts, counts.present(), true) {
                voting::Outcome::Decided(v) => v as u8,
                _ => RETREAT,
            }
        } else {
            // majority(v_1, ..., v_{n−1}), RETREAT without one, a missing v_i RETREAT.
            let majority = Rule {
                threshold: Threshold::Majority,
                tie: Tie::Default(RETREAT as u64),
                missing: Missing::Vote(RETREAT as u64),
                ..Rule::default()
            };
            self.result(cfg, ctx.nodes(), ctx.id(), &Path::root(cfg.commander), &majority)
        };
        ctx.note(OmNote::Decided { value });
    }
}

impl Protocol for Om {
    type Config = OmConfig;
    type Msg = OmMsg;
    type Timer = OmTimer;
    type Note = OmNote;
    type Durable = ();

    const COUNTERS: &'static [crate::node::MetricDef] = &[
        crate::node::MetricDef {
            name: "late_messages",
            unit: "count",
            definition: "messages that arrived after their round ended (ignored, as missing)",
        },
        crate::node::MetricDef {
            name: "rejected_messages",
            unit: "count",
            definition: "signed messages rejected for an invalid signature (forged or altered)",
        },
    ];
    const BEHAVIOURS: &'static [crate::node::BehaviourKind] = &crate::node::BehaviourKind::ALL;

    fn init(ctx: &mut Init<'_, Self>, _: &()) -> Self {
        Om {
            passive: false,
            received: BTreeMap::new(),
            valid: [false; 2],
            direct: None,
            equivocation_seen: false,
            decided: false,
            byz: adversary::State::new(ctx),
        }
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        if ctx.now() > 0 {
            // Recovered after a crash: it missed rounds, and takes no part.
            self.passive = true;
            return;
        }
        let cfg = ctx.config();
        if self.is_commander(ctx) {
            let order = cfg.order.value();
            if ctx.behaviour().is_none() {
                ctx.note(OmNote::Ordered { value: order });
            }
            let root = Path::root(cfg.commander);
            let targets: Vec<NodeId> = Self::relay_targets(ctx, &root).collect();
            self.send_all(ctx, root, order, order, &targets);
        } else {
            ctx.set_timer(OmTimer::Decide, cfg.decision_time());
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: OmMsg) {
        let OmMsg::Order { path, value, sig } = msg;
        self.on_order(ctx, from, path, value, sig);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: OmTimer) {
        match timer {
            OmTimer::Decide => self.decide(ctx),
            OmTimer::Flush => adversary::flush(self, ctx),
        }
    }
}

#[cfg(test)]
mod tests;
