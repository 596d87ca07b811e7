//! Bracha's reliable broadcast (G. Bracha, "Asynchronous Byzantine agreement
//! protocols", Information and Computation 75(2), 1987, Fig. 1 "the broadcast
//! primitive"), with `n > 3t` nodes of which at most `t` are Byzantine.
//!
//! ```text
//!  sender ── Initial(v) ──► all
//!  on Initial(v) from the sender, or > (n+t)/2 Echo(v), or t+1 Ready(v):  Echo(v) ──► all  (once)
//!  on > (n+t)/2 Echo(v), or t+1 Ready(v):                                 Ready(v) ──► all (once)
//!  on 2t+1 Ready(v):                                                      deliver v        (once)
//! ```
//!
//! **Thresholds** ([`Thresholds`]). The paper's figure writes "(n+t)/2
//! (echo, v) messages"; its proof of Lemma 1 needs *more than* (n+t)/2, so
//! that two echo quorums meet in more than t nodes, hence in an honest one,
//! which echoes once: the echo threshold is `⌊(n+t)/2⌋ + 1` (2t+1 when
//! n = 3t+1). `t + 1` readys contain an honest one, so a node may join a
//! ready it has not seen the echoes of (amplification, which gives
//! totality: if one honest node delivers, it saw 2t+1 readys, t+1 of them
//! honest, so every honest node gets t+1 readys and readies; the n − t ≥
//! 2t+1 honest readys then make every honest node deliver). `2t + 1`
//! readys contain t+1 honest ones. `t` is `⌊(n−1)/3⌋` unless the setting
//! `assumed_f` computes the thresholds for another bound (set it below the
//! number of Byzantine nodes to see the bound is sharp).
//!
//! **Links.** The paper assumes reliable authenticated links. Here links
//! lose and duplicate messages and partitions cut them, so a node that has
//! not delivered asks its peers to resend (`Pull`, every `resend`); a peer
//! answers with the Initial (if it is the sender), Echo and Ready it sent.
//! Duplicates count once per origin. With `signatures` (the default) a
//! message counts only for the node that sent it (an authenticated link or
//! a signature); without, the `origin` it claims is believed, and `forge`
//! succeeds.
//!
//! **Crashes.** A node persists its Echo, its Ready and its delivery before
//! sending them, so that after a recovery it never sends a different one
//! (that would make it Byzantine) and never delivers twice.
//!
//! **Broken variants** (`variant`), for seeing the checkers catch bugs:
//! `low-echo` readies on `t + 1` echoes instead of more than `(n+t)/2` (two
//! echo quorums need not meet in an honest node), `low-amplify` readies on
//! `t` readys instead of `t + 1` (the Byzantine nodes alone make honest ones
//! ready a value the sender never sent).
//!
//! **Byzantine nodes** follow the same state machine; what they send is
//! shaped by their behaviour in [`adversary`].

pub mod adversary;
#[cfg(feature = "cli")]
mod flags;
pub mod monitor;
mod spec;

use crate::node::{BehaviourKind, Behaviour, Ctx, Decision, Init, MetricDef, NodeId, Note, Protocol};
use crate::protocols::quorum::VoteSet;
use crate::time::{Dur, SimTime, MS};
use serde::{Deserialize, Serialize};

#[cfg(feature = "cli")]
pub use flags::BrachaFlags;
pub use monitor::BrachaMonitor;
pub use spec::BrachaSpec;


/// Deliberately broken behaviours, selected by `variant` (`correct` is the paper's protocol).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BrachaVariant {
    #[default]
    /// The protocol as the paper states it.
    Correct,
    /// Echoes and readies on `t + 1` matching echoes, not more than `(n+t)/2`.
    LowEcho,
    /// Echoes and readies on `t` matching readys, not `t + 1`.
    LowAmplify,
}

impl BrachaVariant {
    /// Every variant with its name, as `variant` spells it.
    pub const ALL: [(&'static str, BrachaVariant); 3] = [
        ("correct", BrachaVariant::Correct),
        ("low-echo", BrachaVariant::LowEcho),
        ("low-amplify", BrachaVariant::LowAmplify),
    ];
}

impl std::str::FromStr for BrachaVariant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, v)| *v)
            .ok_or_else(|| format!("bracha variant '{s}' unknown (accepted: correct, low-echo, low-amplify)"))
    }
}

/// Bracha's settings: the scenario's `[protocol]` table (`name = "bracha"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BrachaConfig {
    /// The node that broadcasts.
    pub sender: NodeId,
    /// The value it broadcasts (Byzantine nodes that change it send `value ^ 1`).
    pub value: u64,
    /// The bound `t` the thresholds are computed for (none: `⌊(n−1)/3⌋`).
    pub assumed_f: Option<u32>,
    /// Messages count only for the node that sent them; off: the origin a
    /// message claims is believed (forgeries succeed).
    pub signatures: bool,
    /// A node that has not delivered asks its peers to resend this often.
    pub resend: Dur,
    /// How long a `delay` node holds each message (the protocol is
    /// asynchronous: no timeout ever gives up on a node).
    pub adversary_delay: Dur,
    /// A deliberately broken variant (`correct`: the paper's protocol).
    pub variant: BrachaVariant,
}

impl Default for BrachaConfig {
    fn default() -> Self {
        BrachaConfig {
            sender: 0,
            value: 1,
            assumed_f: None,
            signatures: true,
            resend: Dur::from_ms(200),
            adversary_delay: Dur::from_ms(1000),
            variant: BrachaVariant::Correct,
        }
    }
}

impl BrachaConfig {
    /// Checks the settings for `n` nodes; the error names the field.
    pub fn validate(&self, n: u32) -> Result<(), String> {
        if self.sender >= n {
            return Err(format!(
                "bracha.sender = {} out of range (accepted: 0..{n})",
                self.sender
            ));
        }
        let max = n.saturating_sub(1) / 3;
        if let Some(t) = self.assumed_f {
            if t > max {
                return Err(format!(
                    "bracha.assumed_f = {t} out of range (accepted: 0..={max} for {n} nodes, so that n > 3t)"
                ));
            }
        }
        if self.resend.0 == 0 {
            return Err("bracha.resend must be above 0 (accepted: e.g. 200ms)".into());
        }
        Ok(())
    }
}

/// The thresholds of Fig. 1 for `n` nodes and the bound `t`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// The bound the thresholds are computed for.
    pub t: u32,
    /// Echoes that make a node echo and ready: more than `(n+t)/2`.
    pub echo: u32,
    /// Readys that make a node echo and ready: `t + 1`.
    pub amplify: u32,
    /// Readys that make a node deliver: `2t + 1`.
    pub deliver: u32,
}

impl Thresholds {
    /// The thresholds for `n` nodes, for `assumed_f` faults or `⌊(n−1)/3⌋`.
    pub fn new(n: u32, assumed_f: Option<u32>) -> Thresholds {
        let t = assumed_f.unwrap_or(n.saturating_sub(1) / 3);
        Thresholds {
            t,
            echo: (n + t) / 2 + 1,
            amplify: t + 1,
            deliver: 2 * t + 1,
        }
    }

    /// The thresholds a variant uses instead.
    pub fn of(self, variant: BrachaVariant) -> Thresholds {
        match variant {
            BrachaVariant::Correct => self,
            BrachaVariant::LowEcho => Thresholds {
                echo: self.t + 1,
                ..self
            },
            BrachaVariant::LowAmplify => Thresholds {
                amplify: self.t.max(1),
                ..self
            },
        }
    }
}

/// The value a node that changes it sends instead of `v`.
#[inline]
pub fn other(v: u64) -> u64 {
    v ^ 1
}

/// Messages, named as in the paper (plus `Pull`, the resend request of
/// lossy links). `origin` is the node the message claims to come from;
/// `round` is its causal depth (the Initial is round 1, a message sent
/// because of a round-r message is round r+1).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, agentsim_macros::Message)]
#[serde(tag = "kind")]
pub enum BrachaMsg {
    /// `(initial, v)` from the sender.
    Initial {
        /// The value.
        value: u64,
        /// Who claims to send it.
        origin: NodeId,
        /// Causal depth.
        round: u16,
    },
    /// `(echo, v)`.
    Echo {
        /// The value.
        value: u64,
        /// Who claims to send it.
        origin: NodeId,
        /// Causal depth.
        round: u16,
    },
    /// `(ready, v)`.
    Ready {
        /// The value.
        value: u64,
        /// Who claims to send it.
        origin: NodeId,
        /// Causal depth.
        round: u16,
    },
    /// "Resend me what you sent": a node that has not delivered, every `resend`.
    Pull,
}

/// The three kinds of vote messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// [`BrachaMsg::Initial`].
    Initial,
    /// [`BrachaMsg::Echo`].
    Echo,
    /// [`BrachaMsg::Ready`].
    Ready,
}

impl Kind {
    /// The message of this kind.
    pub fn msg(self, value: u64, origin: NodeId, round: u16) -> BrachaMsg {
        match self {
            Kind::Initial => BrachaMsg::Initial {
                value,
                origin,
                round,
            },
            Kind::Echo => BrachaMsg::Echo {
                value,
                origin,
                round,
            },
            Kind::Ready => BrachaMsg::Ready {
                value,
                origin,
                round,
            },
        }
    }
    /// The kind's name, as the message's.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Initial => "Initial",
            Kind::Echo => "Echo",
            Kind::Ready => "Ready",
        }
    }
}

/// Bracha's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, agentsim_macros::TimerTag)]
pub enum BrachaTimer {
    /// Ask peers to resend (a node that has not delivered).
    Pull,
    /// A `delay` node releases the messages it held.
    Release,
}

/// What an adversary changed, for the trace (tag `adversary`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct AdversaryAct {
    /// The behaviour (`equivocate`, `split`, ...).
    pub behaviour: &'static str,
    /// The message kind it changed.
    pub kind: Kind,
    /// The value an honest node would have sent.
    pub value: u64,
    /// Recipients told `other(value)` (or, for `forge`, the nodes impersonated).
    pub changed: u32,
    /// Recipients left out (silent, selective) or held back (delay).
    pub withheld: u32,
}

/// Protocol facts for the trace, the checkers and the metrics.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum BrachaNote {
    /// Sent `(echo, value)`.
    Echo {
        /// The value.
        value: u64,
        /// Causal depth of the echo.
        round: u16,
    },
    /// Sent `(ready, value)`.
    Ready {
        /// The value.
        value: u64,
        /// Causal depth of the ready.
        round: u16,
    },
    /// Delivered (accepted) `value`, on the 2t+1-th ready of causal depth `round`.
    Deliver {
        /// The value.
        value: u64,
        /// Causal depth of the ready that completed the quorum.
        round: u16,
    },
    /// Received two different values for the one broadcast: from one
    /// origin, or from different messages (the sender or an echoer lied).
    Conflict {
        /// The value seen first.
        first: u64,
        /// The other value.
        second: u64,
        /// The message that brought the second.
        kind: Kind,
        /// The node it claims to come from.
        origin: NodeId,
    },
    /// Rejected a message whose claimed origin did not send it (a forgery,
    /// caught by the signature check).
    Rejected {
        /// The origin it claimed.
        claimed: NodeId,
        /// The node that sent it.
        by: NodeId,
        /// Its kind.
        kind: Kind,
    },
    /// A Byzantine node sent something other than what the protocol says.
    Adversary(AdversaryAct),
}

impl Note for BrachaNote {
    fn decided(&self) -> Option<Decision> {
        match self {
            BrachaNote::Deliver { value, .. } => Some(Decision {
                instance: 0,
                value: value.to_string(),
            }),
            _ => None,
        }
    }
    fn tag(&self) -> Option<&'static str> {
        Some(match self {
            BrachaNote::Echo { .. } => "echo",
            BrachaNote::Ready { .. } => "ready",
            BrachaNote::Deliver { .. } => "deliver",
            BrachaNote::Conflict { .. } => "conflict",
            BrachaNote::Rejected { .. } => "forgery_rejected",
            BrachaNote::Adversary(_) => "adversary",
        })
    }
}

/// What survives a crash: what the node sent and delivered.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct BrachaDurable {
    /// The Echo sent: value and round.
    pub echoed: Option<(u64, u16)>,
    /// The Ready sent: value and round.
    pub readied: Option<(u64, u16)>,
    /// The value delivered.
    pub delivered: Option<u64>,
}

/// Votes of one kind: who sent which value (the first message of each
/// origin counts; values are few, so a short list).
#[derive(Clone, Debug, Default)]
struct Tally {
    from: VoteSet,
    by_value: Vec<(u64, VoteSet)>,
}

impl Tally {
    fn new(n: u32) -> Tally {
        Tally {
            from: VoteSet::new(n),
            by_value: Vec::new(),
        }
    }

    /// Counts `origin`'s vote for `value`; `Err(())` if `origin` voted
    /// already (its first vote stands), else the votes for `value` now.
    fn add(&mut self, n: u32, origin: NodeId, value: u64) -> Result<u32, ()> {
        if !self.from.insert(origin) {
            return Err(());
        }
        let i = match self.by_value.iter().position(|(v, _)| *v == value) {
            Some(i) => i,
            None => {
                self.by_value.push((value, VoteSet::new(n)));
                self.by_value.len() - 1
            }
        };
        self.by_value[i].1.insert(origin);
        Ok(self.by_value[i].1.len())
    }

    /// The value `origin` voted for, if it did.
    fn vote_of(&self, origin: NodeId) -> Option<u64> {
        self.by_value
            .iter()
            .find(|(_, s)| s.contains(origin))
            .map(|(v, _)| *v)
    }
}

/// The counters the nodes report (summed over nodes).
pub const COUNTERS: &[MetricDef] = &[MetricDef {
    name: "forgeries_rejected",
    unit: "count",
    definition: "messages honest nodes rejected because their claimed origin did not send them (signatures on)",
}];

/// One node of Bracha's broadcast.
#[derive(Clone, Debug)]
pub struct Bracha {
    th: Thresholds,
    n: u32,
    sender: NodeId,
    value: u64,
    signatures: bool,
    resend: u64,
    durable: BrachaDurable,
    /// The first Initial received from the sender.
    initial: Option<u64>,
    echoes: Tally,
    readys: Tally,
    /// The first value seen in any message (for conflict detection).
    seen: Option<u64>,
    conflict_noted: bool,
    /// Byzantine: what it holds back (`delay`) and whether it acted at start.
    adv: adversary::State,
}

impl Bracha {
    /// The thresholds in use.
    pub fn thresholds(&self) -> Thresholds {
        self.th
    }
    /// The value delivered, if any.
    pub fn delivered(&self) -> Option<u64> {
        self.durable.delivered
    }

    fn persist(&self, ctx: &mut Ctx<'_, Self>) {
        ctx.persist(self.durable);
    }

    /// Notes a second value for the broadcast, once.
    fn saw(&mut self, ctx: &mut Ctx<'_, Self>, kind: Kind, origin: NodeId, value: u64) {
        match self.seen {
            None => self.seen = Some(value),
            Some(first) if first != value && !self.conflict_noted => {
                self.conflict_noted = true;
                ctx.note(BrachaNote::Conflict {
                    first,
                    second: value,
                    kind,
                    origin,
                });
            }
            _ => {}
        }
    }

    /// Step 2: send `(echo, v)` once.
    fn echo(&mut self, ctx: &mut Ctx<'_, Self>, value: u64, round: u16) {
        if self.durable.echoed.is_some() {
            return;
        }
        self.durable.echoed = Some((value, round));
        self.persist(ctx);
        ctx.note(BrachaNote::Echo { value, round });
        adversary::emit(self, ctx, Kind::Echo, value, round, None);
        self.on_echo(ctx, ctx.id(), value, round);
    }

    /// Step 3: send `(ready, v)` once.
    fn ready(&mut self, ctx: &mut Ctx<'_, Self>, value: u64, round: u16) {
        if self.durable.readied.is_some() {
            return;
        }
        self.durable.readied = Some((value, round));
        self.persist(ctx);
        ctx.note(BrachaNote::Ready { value, round });
        adversary::emit(self, ctx, Kind::Ready, value, round, None);
        self.on_ready(ctx, ctx.id(), value, round);
    }

    fn on_initial(&mut self, ctx: &mut Ctx<'_, Self>, origin: NodeId, value: u64, round: u16) {
        if origin != self.sender {
            return; // only the sender's Initial counts
        }
        self.saw(ctx, Kind::Initial, origin, value);
        match self.initial {
            None => {
                self.initial = Some(value);
                self.echo(ctx, value, round.saturating_add(1));
            }
            Some(first) if first != value && !self.conflict_noted => {
                self.conflict_noted = true;
                ctx.note(BrachaNote::Conflict {
                    first,
                    second: value,
                    kind: Kind::Initial,
                    origin,
                });
            }
            _ => {}
        }
    }

    fn on_echo(&mut self, ctx: &mut Ctx<'_, Self>, origin: NodeId, value: u64, round: u16) {
        self.saw(ctx, Kind::Echo, origin, value);
        let count = match self.echoes.add(self.n, origin, value) {
            Ok(c) => c,
            Err(()) => return self.second_vote(ctx, Kind::Echo, origin, value),
        };
        if count >= self.th.echo {
            let r = round.saturating_add(1);
            self.echo(ctx, value, r);
            self.ready(ctx, value, r);
        }
    }

    fn on_ready(&mut self, ctx: &mut Ctx<'_, Self>, origin: NodeId, value: u64, round: u16) {
        self.saw(ctx, Kind::Ready, origin, value);
        let count = match self.readys.add(self.n, origin, value) {
            Ok(c) => c,
            Err(()) => return self.second_vote(ctx, Kind::Ready, origin, value),
        };
        if count >= self.th.amplify {
            let r = round.saturating_add(1);
            self.echo(ctx, value, r);
            self.ready(ctx, value, r);
        }
        if count >= self.th.deliver && self.durable.delivered.is_none() {
            self.durable.delivered = Some(value);
            self.persist(ctx);
            ctx.note(BrachaNote::Deliver { value, round });
            ctx.cancel_timer(BrachaTimer::Pull);
        }
    }

    /// A second vote of one kind from one origin: ignored (its first
    /// stands); a different value is an equivocation seen directly.
    fn second_vote(&mut self, ctx: &mut Ctx<'_, Self>, kind: Kind, origin: NodeId, value: u64) {
        let tally = if kind == Kind::Echo {
            &self.echoes
        } else {
            &self.readys
        };
        if let Some(first) = tally.vote_of(origin) {
            if first != value && !self.conflict_noted {
                self.conflict_noted = true;
                ctx.note(BrachaNote::Conflict {
                    first,
                    second: value,
                    kind,
                    origin,
                });
            }
        }
    }

    /// Answers a Pull from `to` with what this node sent.
    fn resend_to(&mut self, ctx: &mut Ctx<'_, Self>, to: NodeId) {
        if ctx.id() == self.sender && self.adv.sent_initial {
            adversary::emit(self, ctx, Kind::Initial, self.value, 1, Some(to));
        }
        if let Some((v, r)) = self.durable.echoed {
            adversary::emit(self, ctx, Kind::Echo, v, r, Some(to));
        }
        if let Some((v, r)) = self.durable.readied {
            adversary::emit(self, ctx, Kind::Ready, v, r, Some(to));
        }
    }
}

impl Protocol for Bracha {
    type Config = BrachaConfig;
    type Msg = BrachaMsg;
    type Timer = BrachaTimer;
    type Note = BrachaNote;
    type Durable = BrachaDurable;

    const COUNTERS: &'static [MetricDef] = COUNTERS;
    const BEHAVIOURS: &'static [BehaviourKind] = &BehaviourKind::ALL;

    fn init(ctx: &mut Init<'_, Self>, d: &BrachaDurable) -> Self {
        let cfg = ctx.config();
        let n = ctx.nodes();
        let mut node = Bracha {
            th: Thresholds::new(n, cfg.assumed_f).of(cfg.variant),
            n,
            sender: cfg.sender,
            value: cfg.value,
            signatures: cfg.signatures,
            resend: cfg.resend.0,
            durable: *d,
            initial: None,
            echoes: Tally::new(n),
            readys: Tally::new(n),
            seen: None,
            conflict_noted: false,
            adv: adversary::State::default(),
        };
        // Its own votes count for itself after a recovery.
        let me = ctx.id();
        if let Some((v, _)) = d.echoed {
            let _ = node.echoes.add(n, me, v);
        }
        if let Some((v, _)) = d.readied {
            let _ = node.readys.add(n, me, v);
        }
        node
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        if ctx.behaviour().is_some() {
            adversary::on_start(self, ctx);
        } else if ctx.id() == self.sender {
            // Step 1 (again after a recovery: the value is the same).
            self.adv.sent_initial = true;
            adversary::emit(self, ctx, Kind::Initial, self.value, 1, None);
            self.on_initial(ctx, ctx.id(), self.value, 1);
        }
        if ctx.behaviour().is_none() && self.durable.delivered.is_none() {
            ctx.set_timer(BrachaTimer::Pull, self.resend);
        }
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: BrachaMsg) {
        let (kind, value, origin, round) = match msg {
            BrachaMsg::Pull => {
                if !matches!(ctx.behaviour(), Some(Behaviour::Silent)) {
                    self.resend_to(ctx, from);
                }
                return;
            }
            BrachaMsg::Initial {
                value,
                origin,
                round,
            } => (Kind::Initial, value, origin, round),
            BrachaMsg::Echo {
                value,
                origin,
                round,
            } => (Kind::Echo, value, origin, round),
            BrachaMsg::Ready {
                value,
                origin,
                round,
            } => (Kind::Ready, value, origin, round),
        };
        if origin != from && self.signatures {
            if ctx.behaviour().is_none() {
                ctx.count(0, 1.0);
                ctx.note(BrachaNote::Rejected {
                    claimed: origin,
                    by: from,
                    kind,
                });
            }
            return;
        }
        match kind {
            Kind::Initial => self.on_initial(ctx, origin, value, round),
            Kind::Echo => self.on_echo(ctx, origin, value, round),
            Kind::Ready => self.on_ready(ctx, origin, value, round),
        }
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: BrachaTimer) {
        match timer {
            BrachaTimer::Pull => {
                if self.durable.delivered.is_none() {
                    ctx.broadcast(BrachaMsg::Pull);
                    ctx.set_timer(BrachaTimer::Pull, self.resend);
                }
            }
            BrachaTimer::Release => adversary::release(self, ctx),
        }
    }
}

/// Milliseconds of a virtual time, for metrics.
fn ms(t: SimTime) -> f64 {
    t as f64 / MS as f64
}

#[cfg(test)]
mod tests;
