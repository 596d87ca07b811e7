//! Practical Byzantine Fault Tolerance (M. Castro and B. Liskov, "Practical
//! Byzantine Fault Tolerance", OSDI 1999, §4; the same protocol in ACM TOCS
//! 20(4), 2002): `n` replicas, at most `f` Byzantine, order client requests.
//!
//! ```text
//!  client ─Request─► primary ─PrePrepare(v,n,m)─► backups ─Prepare(v,n,d)─► all
//!         prepared: the PrePrepare and 2f matching Prepares ─Commit(v,n,d)─► all
//!         committed-local: prepared and 2f+1 matching Commits → execute n in order ─Reply─► client
//!  timer of a waiting request expires ─ViewChange(v+1, P)─► all
//!         new primary with 2f+1 ViewChanges ─NewView(v+1, V, O)─► all; backups Prepare O
//! ```
//!
//! **Normal case** (§4.2, §4.3). The primary of view `v` is replica
//! `v mod n`. It assigns the next sequence number to a request and
//! multicasts a PrePrepare carrying it; a backup accepts one PrePrepare per
//! (view, sequence number) and multicasts a Prepare; a replica is
//! *prepared* with the PrePrepare and `quorum − 1` matching Prepares from
//! backups (its own included), then multicasts a Commit; it is
//! *committed-local* with `quorum` matching Commits (its own included) and
//! executes sequence numbers in order, replying to the client. The client
//! accepts a result from `f + 1` matching replies.
//!
//! **Thresholds** ([`Thresholds`]). With `n = 3f + 1`, the paper's quorum
//! is `2f + 1` and its weak certificate `f + 1`. For other `n` the quorum is
//! `⌈(n + f + 1)/2⌉` (`2f + 1` when `n = 3f + 1`), so that any two quorums
//! still meet in `f + 1` replicas, one of them honest; `f = ⌊(n − 1)/3⌋`.
//! The setting `assumed_f = a` computes them as the paper does for `a`
//! faults on `3a + 1` replicas (quorum `2a + 1`, weak `a + 1`): below the
//! number of Byzantine replicas this is the misconfiguration that `check`
//! finds unsafe.
//!
//! **View change** (§4.4). A replica waiting to execute a request starts a
//! timer (`view_change_timeout`); when it expires it multicasts a
//! ViewChange for `v + 1` with its prepared certificates and stops taking
//! part in view `v`. The primary of `v + 1`, with `quorum` ViewChanges,
//! multicasts a NewView holding them (`V`) and the PrePrepares they imply
//! (`O`: for every sequence number up to the highest prepared one, the
//! request prepared in the highest view, else a null request); backups check
//! `O` against `V`, enter `v + 1` and prepare `O`. A replica that sees
//! `f + 1` ViewChanges for higher views joins the smallest of them; a view
//! change that does not complete in time moves to the next view with twice
//! the timeout.
//!
//! **Left out and changed.** *Checkpoints are left out* (§4.3 garbage
//! collection, and the state transfer they enable): the low watermark is the
//! replica's last executed sequence number, ViewChanges carry every
//! prepared certificate since the start and `O` re-proposes the whole
//! history, so view changes grow with the run (fine for runs of hundreds of
//! requests). Requests are not batched, and the reply is the sequence
//! number the request executed at (the state machine is the order itself).
//! Clients are not nodes: a submission reaches a replica, which acts as the
//! client's proxy (it sends the request to the primary, retransmits it to
//! every replica after `client_retry`, and collects replies); a backup that
//! receives a request relays it to the primary (§4.1). Over lossy links a
//! replica that makes no progress for `resend` multicasts a Status, answered
//! with the messages it lacks (Castro's thesis retransmits the same way);
//! a replica waiting in a view change re-multicasts its ViewChange.
//!
//! **Broken variants** (`variant`), for seeing the checkers catch bugs:
//! `no-certificates` sends ViewChanges without their prepared certificates
//! (the new primary re-proposes null requests where requests committed),
//! `weak-quorum` prepares and commits on `f + 1` matching votes instead of
//! a quorum (two quorums need not meet in an honest replica).
//!
//! **Signatures.** Messages carry the replica they claim to come from; a
//! message is *forged* when its sender could not have signed it. With
//! `signatures` (the default) forged messages, and NewViews holding them,
//! are rejected; without, the claimed origin is believed.
//!
//! **Crashes.** A replica persists its view, its log (PrePrepares accepted,
//! Prepares and Commits sent, prepared certificates, what it executed) and
//! its clients' open requests before sending, so after a recovery it sends
//! nothing that contradicts what it sent before.

pub mod adversary;
#[cfg(feature = "cli")]
mod flags;
mod log;
pub mod monitor;
mod replica;
mod spec;
mod view_change;

use crate::node::{BehaviourKind, Ctx, Decision, Init, MetricDef, NodeId, Note, Protocol, Submission};
use crate::protocols::quorum::VoteSet;
use crate::time::{Dur, SimTime};
use serde::{Deserialize, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

#[cfg(feature = "cli")]
pub use flags::PbftFlags;
pub use log::{PbftDurable, Slot};
pub use monitor::PbftMonitor;
pub use spec::PbftSpec;


/// Deliberately broken behaviours, selected by `variant` (`correct` is the paper's protocol).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PbftVariant {
    #[default]
    /// The protocol as the paper states it.
    Correct,
    /// ViewChanges carry no prepared certificates (`P` is empty).
    NoCertificates,
    /// Prepared and committed-local on `f + 1` matching votes, not a quorum.
    WeakQuorum,
}

impl PbftVariant {
    /// Every variant with its name, as `variant` spells it.
    pub const ALL: [(&'static str, PbftVariant); 3] = [
        ("correct", PbftVariant::Correct),
        ("no-certificates", PbftVariant::NoCertificates),
        ("weak-quorum", PbftVariant::WeakQuorum),
    ];
}

impl std::str::FromStr for PbftVariant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::ALL
            .iter()
            .find(|(n, _)| *n == s)
            .map(|(_, v)| *v)
            .ok_or_else(|| format!("pbft variant '{s}' unknown (accepted: correct, no-certificates, weak-quorum)"))
    }
}

/// PBFT's settings: the scenario's `[protocol]` table (`name = "pbft"`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PbftConfig {
    /// Compute the thresholds as the paper does for this many faults on
    /// `3a + 1` replicas (none: `f = ⌊(n − 1)/3⌋`, quorum `⌈(n + f + 1)/2⌉`).
    pub assumed_f: Option<u32>,
    /// Forged messages are rejected; off: the origin a message claims is believed.
    pub signatures: bool,
    /// A replica waiting this long to execute a request starts a view change
    /// (doubled at each view change that does not complete).
    pub view_change_timeout: Dur,
    /// The doubled timeout grows no further than this (the paper doubles
    /// without bound; a bound keeps the recovery after long faults short).
    pub view_change_timeout_max: Dur,
    /// A client proxy without `f + 1` matching replies this long after
    /// sending a request retransmits it to every replica.
    pub client_retry: Dur,
    /// A replica stuck this long (same view, same last executed and lacking
    /// sequence numbers) asks for what it lacks (Status), or re-multicasts
    /// its ViewChange.
    pub resend: Dur,
    /// At most this many sequence numbers beyond the last executed one are
    /// in progress (the watermark window).
    pub window: u32,
    /// A `delay` replica sends each message this long before the
    /// view-change timeout that would replace it fires.
    pub delay_margin: Dur,
    /// A deliberately broken variant (`correct`: the paper's protocol).
    pub variant: PbftVariant,
}

impl Default for PbftConfig {
    fn default() -> Self {
        PbftConfig {
            assumed_f: None,
            signatures: true,
            view_change_timeout: Dur::from_ms(500),
            view_change_timeout_max: Dur::from_ms(4000),
            client_retry: Dur::from_ms(250),
            resend: Dur::from_ms(50),
            window: 64,
            delay_margin: Dur::from_ms(100),
            variant: PbftVariant::Correct,
        }
    }
}

impl PbftConfig {
    /// Checks the settings for `n` replicas; the error names the field.
    pub fn validate(&self, n: u32) -> Result<(), String> {
        let max = n.saturating_sub(1) / 3;
        if let Some(a) = self.assumed_f {
            if a > max {
                return Err(format!(
                    "pbft.assumed_f = {a} out of range (accepted: 0..={max} for {n} replicas, so that n >= 3a + 1)"
                ));
            }
        }
        for (name, d) in [
            ("view_change_timeout", self.view_change_timeout),
            ("client_retry", self.client_retry),
            ("resend", self.resend),
        ] {
            if d.0 == 0 {
                return Err(format!("pbft.{name} must be above 0 (accepted: e.g. 100ms)"));
            }
        }
        if self.view_change_timeout_max < self.view_change_timeout {
            return Err(format!(
                "pbft.view_change_timeout_max = {} out of range (accepted: at least pbft.view_change_timeout = {})",
                self.view_change_timeout_max, self.view_change_timeout
            ));
        }
        if self.delay_margin >= self.view_change_timeout {
            return Err(format!(
                "pbft.delay_margin = {} out of range (accepted: below pbft.view_change_timeout = {})",
                self.delay_margin, self.view_change_timeout
            ));
        }
        if self.window == 0 {
            return Err("pbft.window must be above 0 (accepted: 1..)".into());
        }
        Ok(())
    }
}

/// The thresholds for `n` replicas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Thresholds {
    /// The number of faults tolerated.
    pub f: u32,
    /// Prepared needs the PrePrepare and `quorum − 1` Prepares; committed
    /// needs `quorum` Commits; a NewView needs `quorum` ViewChanges.
    pub quorum: u32,
    /// A client accepts `weak` matching replies; `weak` ViewChanges for
    /// higher views make a replica join.
    pub weak: u32,
}

impl Thresholds {
    /// The thresholds for `n` replicas (see the module docs).
    pub fn new(n: u32, assumed_f: Option<u32>) -> Thresholds {
        match assumed_f {
            None => {
                let f = n.saturating_sub(1) / 3;
                Thresholds {
                    f,
                    quorum: (n + f) / 2 + 1,
                    weak: f + 1,
                }
            }
            Some(a) => Thresholds {
                f: a,
                quorum: 2 * a + 1,
                weak: a + 1,
            },
        }
    }
}

/// The digest of the null request (a no-op, §4.4).
pub const NULL: u64 = u64::MAX;

/// A client request. Its digest is its `id` (the workload's submission
/// index, unique in a run); the null request has id [`NULL`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Req {
    /// The request's id (its digest).
    pub id: u64,
    /// The client it comes from.
    pub client: u32,
    /// The replica that acts for the client (replies go there).
    pub proxy: NodeId,
}

impl Req {
    /// The null request.
    pub const NULL: Req = Req {
        id: NULL,
        client: 0,
        proxy: 0,
    };
    /// Whether this is the null request.
    pub fn is_null(&self) -> bool {
        self.id == NULL
    }
}

/// A prepared certificate, as a ViewChange carries it: `req` prepared at
/// sequence number `seq` in view `view` (the PrePrepare and the Prepares
/// behind it are signed; here their validity is the message's `forged`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Cert {
    /// Sequence number.
    pub seq: u64,
    /// View in which it prepared.
    pub view: u64,
    /// The request.
    pub req: Req,
}

/// `<VIEW-CHANGE, v+1, n, C, P, i>` without checkpoints (`n = 0`, `C` empty).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct ViewChange {
    /// The view it moves to.
    pub view: u64,
    /// The replica it claims to come from.
    pub origin: NodeId,
    /// Its prepared certificates, by sequence number.
    pub prepared: Vec<Cert>,
    /// Its signature (or a certificate's) does not verify.
    pub forged: bool,
}

/// `<NEW-VIEW, v+1, V, O>`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct NewView {
    /// The view.
    pub view: u64,
    /// The replica it claims to come from (the view's primary).
    pub origin: NodeId,
    /// `V`: the ViewChanges it rests on.
    pub view_changes: Vec<Shared<ViewChange>>,
    /// `O`: the PrePrepares of the new view, by sequence number.
    pub pre_prepares: Vec<(u64, Req)>,
    /// Its signature does not verify.
    pub forged: bool,
}

/// A payload shared by every copy of a multicast (view changes are big).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Shared<T>(pub Rc<T>);

impl<T: Serialize> Serialize for Shared<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<T> std::ops::Deref for Shared<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// `<PRE-PREPARE, v, n, d>` with the request (shared by every copy of the
/// multicast, so that the other messages stay small).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct PrePrepare {
    /// View.
    pub view: u64,
    /// Sequence number.
    pub seq: u64,
    /// The request.
    pub req: Req,
    /// Claimed origin (the primary).
    pub origin: NodeId,
    /// Does not verify.
    pub forged: bool,
}

/// Messages, named as in the paper (plus `Status` and `Decided`, the
/// retransmission requests and answers). `origin` is the replica a message
/// claims to come from; `forged` says its signature would not verify.
/// Views and sequence numbers travel as 32-bit numbers (24-byte messages:
/// a run at n = 100 moves 2·10^4 of them per request).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, agentsim_macros::Message)]
#[serde(tag = "kind")]
pub enum PbftMsg {
    /// `<REQUEST, o, t, c>`, signed by its client (never forged here).
    Request {
        /// The request.
        req: Req,
    },
    /// `<PRE-PREPARE, v, n, d>` with the request.
    PrePrepare(Shared<PrePrepare>),
    /// `<PREPARE, v, n, d, i>`.
    Prepare {
        /// View.
        view: u32,
        /// Sequence number.
        seq: u32,
        /// The request's digest.
        digest: u64,
        /// Claimed origin.
        origin: NodeId,
        /// Does not verify.
        forged: bool,
    },
    /// `<COMMIT, v, n, D(m), i>`.
    Commit {
        /// View.
        view: u32,
        /// Sequence number.
        seq: u32,
        /// The request's digest.
        digest: u64,
        /// Claimed origin.
        origin: NodeId,
        /// Does not verify.
        forged: bool,
    },
    /// `<REPLY, v, t, c, i, r>`.
    Reply {
        /// View.
        view: u32,
        /// The result: the sequence number the request executed at.
        result: u32,
        /// The request.
        id: u64,
        /// Claimed origin.
        origin: NodeId,
        /// Does not verify.
        forged: bool,
    },
    /// `<VIEW-CHANGE, v+1, n, C, P, i>`.
    ViewChange(Shared<ViewChange>),
    /// `<NEW-VIEW, v+1, V, O>`.
    NewView(Shared<NewView>),
    /// "I am in `view`, executed up to `executed`, and lack messages of this
    /// view from sequence number `lacking` on": resend what I lack.
    Status {
        /// The sender's view.
        view: u32,
        /// The sender's last executed sequence number.
        executed: u32,
        /// The lowest sequence number it lacks messages of this view for.
        lacking: u32,
    },
    /// "I executed `digest` at `seq`", in answer to a Status: `f + 1`
    /// matching ones let a replica that lacks the messages of `seq` execute
    /// it (the state transfer that checkpoints would allow, see the module docs).
    Decided {
        /// Sequence number.
        seq: u32,
        /// The request executed there.
        digest: u64,
        /// Claimed origin.
        origin: NodeId,
        /// Does not verify.
        forged: bool,
    },
}

impl PbftMsg {
    /// A PrePrepare.
    pub fn pre_prepare(view: u64, seq: u64, req: Req, origin: NodeId, forged: bool) -> PbftMsg {
        PbftMsg::PrePrepare(Shared(Rc::new(PrePrepare {
            view,
            seq,
            req,
            origin,
            forged,
        })))
    }
    /// A Prepare.
    #[inline]
    pub fn prepare(view: u64, seq: u64, digest: u64, origin: NodeId, forged: bool) -> PbftMsg {
        PbftMsg::Prepare {
            view: view as u32,
            seq: seq as u32,
            digest,
            origin,
            forged,
        }
    }
    /// A Commit.
    #[inline]
    pub fn commit(view: u64, seq: u64, digest: u64, origin: NodeId, forged: bool) -> PbftMsg {
        PbftMsg::Commit {
            view: view as u32,
            seq: seq as u32,
            digest,
            origin,
            forged,
        }
    }
}

/// PBFT's timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, agentsim_macros::TimerTag)]
pub enum PbftTimer {
    /// A request waits too long, or a view change does not complete.
    ViewChange,
    /// No progress: send a Status (or the ViewChange again).
    Resend,
    /// The client proxy retransmits requests without replies.
    ClientRetry,
    /// A `delay` replica releases what it held.
    Release,
}

/// What an adversary changed, for the trace (tag `adversary`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct AdversaryAct {
    /// The behaviour.
    pub behaviour: &'static str,
    /// The message kind.
    pub kind: &'static str,
    /// Its view.
    pub view: u64,
    /// Its sequence number (0 where none).
    pub seq: u64,
    /// Recipients sent a changed message (for `forge`: replicas impersonated).
    pub changed: u32,
    /// Recipients left out (silent, selective) or held back (delay).
    pub withheld: u32,
}

/// Protocol facts for the trace, the checkers and the metrics.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum PbftNote {
    /// A client's request reached this replica, its proxy.
    Submitted {
        /// Request id.
        id: u64,
        /// Client.
        client: u32,
    },
    /// Executed sequence number `seq` (request `id`, or [`NULL`]).
    Executed {
        /// Sequence number.
        seq: u64,
        /// Request executed.
        id: u64,
    },
    /// The proxy accepted `f + 1` matching replies for request `id`.
    Replied {
        /// Request id.
        id: u64,
        /// The result (the sequence number it executed at).
        result: u64,
        /// From submission to acceptance, ns.
        latency_ns: u64,
    },
    /// Started a view change to `view`.
    ViewChange {
        /// The view it moves to.
        view: u64,
        /// It was the primary of the view it leaves.
        was_primary: bool,
    },
    /// Entered `view`, whose primary is `primary`.
    NewView {
        /// View.
        view: u64,
        /// Its primary.
        primary: NodeId,
        /// This replica is the primary.
        leads: bool,
    },
    /// Received a message that contradicts the PrePrepare it accepted for
    /// the same view and sequence number (an equivocation, or a lie).
    Conflict {
        /// The kind of the contradicting message.
        kind: &'static str,
        /// View.
        view: u64,
        /// Sequence number.
        seq: u64,
        /// The digest accepted.
        accepted: u64,
        /// The other digest.
        other: u64,
        /// Who claimed it.
        origin: NodeId,
    },
    /// Rejected a message: its signature does not verify, or (a NewView)
    /// it is not valid.
    Rejected {
        /// Its kind.
        kind: &'static str,
        /// Why.
        reason: &'static str,
        /// The origin it claimed.
        claimed: NodeId,
        /// The replica that sent it.
        by: NodeId,
    },
    /// A Byzantine replica sent something other than what the protocol says.
    Adversary(AdversaryAct),
}

impl Note for PbftNote {
    fn leadership(&self) -> Option<bool> {
        match self {
            PbftNote::NewView { leads, .. } => Some(*leads),
            PbftNote::ViewChange {
                was_primary: true, ..
            } => Some(false),
            _ => None,
        }
    }
    fn believes(&self) -> Option<Option<NodeId>> {
        match self {
            PbftNote::NewView { primary, .. } => Some(Some(*primary)),
            PbftNote::ViewChange { .. } => Some(None),
            _ => None,
        }
    }
    fn decided(&self) -> Option<Decision> {
        match self {
            PbftNote::Executed { seq, id } => Some(Decision {
                instance: *seq,
                value: if *id == NULL {
                    "null".into()
                } else {
                    id.to_string()
                },
            }),
            _ => None,
        }
    }
    fn tag(&self) -> Option<&'static str> {
        Some(match self {
            PbftNote::Submitted { .. } => "submitted",
            PbftNote::Executed { .. } => "executed",
            PbftNote::Replied { .. } => "replied",
            PbftNote::ViewChange { .. } => "view_change",
            PbftNote::NewView { .. } => "new_view",
            PbftNote::Conflict { .. } => "conflict",
            PbftNote::Rejected { .. } => "forgery_rejected",
            PbftNote::Adversary(_) => "adversary",
        })
    }
}

/// The counters the replicas report (summed over replicas).
pub const COUNTERS: &[MetricDef] = &[MetricDef {
    name: "forgeries_rejected",
    unit: "count",
    definition: "messages honest replicas rejected because their signature does not verify (signatures on)",
}];

/// Votes of one kind for one sequence number: who voted for which (view,
/// digest). Usually one entry.
#[derive(Clone, Debug, Default)]
struct Tally(Vec<(u64, u64, VoteSet)>);

impl Tally {
    /// Adds `origin`'s vote for (`view`, `digest`); the votes for it now.
    #[inline]
    fn add(&mut self, n: u32, view: u64, digest: u64, origin: NodeId) -> u32 {
        let i = match self
            .0
            .iter()
            .position(|(v, d, _)| *v == view && *d == digest)
        {
            Some(i) => i,
            None => {
                self.0.retain(|(v, _, _)| *v >= view);
                self.0.push((view, digest, VoteSet::new(n)));
                self.0.len() - 1
            }
        };
        self.0[i].2.insert(origin);
        self.0[i].2.len()
    }
    #[inline]
    fn count(&self, view: u64, digest: u64) -> u32 {
        self.0
            .iter()
            .find(|(v, d, _)| *v == view && *d == digest)
            .map_or(0, |e| e.2.len())
    }
}

/// A request this replica proxies for its client, waiting for replies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientReq {
    /// The request.
    pub req: Req,
    /// When it was submitted.
    pub submitted: SimTime,
    /// When it was last sent.
    pub sent: SimTime,
}

/// One PBFT replica.
#[derive(Debug)]
pub struct Pbft {
    th: Thresholds,
    n: u32,
    cfg: PbftConfig,
    /// The log and everything persisted (shared with the last persisted copy).
    core: Rc<log::Core>,
    /// Votes per slot (index `seq − 1`), volatile.
    votes: Vec<(Tally, Tally)>,
    /// Requests known and not executed, by id.
    pending: BTreeMap<u64, Req>,
    /// Requests this primary assigned a sequence number in the current view.
    assigned: BTreeSet<u64>,
    /// The view-change timer runs.
    timer_running: bool,
    /// The resend timer is armed.
    resend_armed: bool,
    /// (view, last executed, lowest lacking) at the last resend tick: the
    /// same at the next tick means stuck.
    stuck_at: (u64, u64, u64),
    /// The highest sequence number a message of the current view spoke of.
    seen_seq: u64,
    /// Every sequence number below it is complete in the current view (see
    /// [`Pbft::lacking_from`]).
    cursor: u64,
    /// `Decided` claims received for sequence numbers not executed yet.
    decided: BTreeMap<u64, Vec<(u64, VoteSet)>>,
    /// This replica leads the current view.
    leading: bool,
    /// ViewChanges received, by the view they move to (one per origin).
    view_changes: BTreeMap<u64, Vec<Shared<ViewChange>>>,
    /// Highest view each replica asked to move to.
    vc_latest: Vec<u64>,
    /// This replica's ViewChange of the view change under way.
    my_view_change: Option<Shared<ViewChange>>,
    /// The NewView of the current view (relayed to replicas that missed it).
    new_view: Option<Shared<NewView>>,
    /// Replies received for the requests this replica proxies.
    replies: BTreeMap<u64, Vec<(u64, VoteSet)>>,
    conflict_noted: bool,
    /// Byzantine state (held messages, views pushed).
    adv: adversary::State,
}

impl Pbft {
    /// The thresholds in use.
    pub fn thresholds(&self) -> Thresholds {
        self.th
    }
    /// The current view.
    pub fn view(&self) -> u64 {
        self.core.view
    }
    /// The view this replica is changing to, if it is.
    pub fn changing(&self) -> Option<u64> {
        self.core.changing
    }
    /// The last executed sequence number.
    pub fn last_executed(&self) -> u64 {
        self.core.last_exec
    }
    /// The primary of view `v`.
    pub fn primary(&self, v: u64) -> NodeId {
        (v % self.n as u64) as NodeId
    }
    /// The high watermark: sequence numbers beyond it are not taken. The low
    /// one is the last executed sequence number, or the last the current
    /// view's NewView re-proposed (where checkpoints would put the last
    /// stable checkpoint), whichever is higher.
    pub fn high_mark(&self) -> u64 {
        self.core.last_exec.max(self.history_end()) + self.cfg.window as u64
    }
    /// The last sequence number the current view's NewView re-proposed (0 in view 0).
    pub fn history_end(&self) -> u64 {
        self.new_view
            .as_ref()
            .filter(|nv| nv.view == self.core.view)
            .and_then(|nv| nv.pre_prepares.last())
            .map_or(0, |e| e.0)
    }
    /// The log entry of sequence number `seq`, if any.
    pub fn slot(&self, seq: u64) -> Option<&Slot> {
        self.core.slots.get(seq.checked_sub(1)? as usize)
    }

    fn persist(&self, ctx: &mut Ctx<'_, Self>) {
        ctx.persist(PbftDurable(self.core.clone()));
    }

    fn core(&mut self) -> &mut log::Core {
        Rc::make_mut(&mut self.core)
    }

    /// The timeout of the next wait: `view_change_timeout`, doubled per view
    /// change after the first since the last request executed (§4.5.2).
    fn timeout(&self) -> u64 {
        let t = self.cfg.view_change_timeout.0 << self.core.backoff.saturating_sub(1).min(20);
        t.min(self.cfg.view_change_timeout_max.0)
    }

    /// Starts (or restarts) the view-change timer.
    fn start_timer(&mut self, ctx: &mut Ctx<'_, Self>) {
        self.timer_running = true;
        ctx.set_timer(PbftTimer::ViewChange, self.timeout());
    }

    fn stop_timer(&mut self, ctx: &mut Ctx<'_, Self>) {
        if self.timer_running {
            self.timer_running = false;
            ctx.cancel_timer(PbftTimer::ViewChange);
        }
    }

    /// Arms the resend timer if there is work in progress.
    fn arm_resend(&mut self, ctx: &mut Ctx<'_, Self>) {
        if !self.resend_armed && self.has_work() {
            self.resend_armed = true;
            ctx.set_timer(PbftTimer::Resend, self.cfg.resend.0);
        }
    }

    /// Requests waiting, a sequence number this replica lacks messages for,
    /// or a view change under way.
    fn has_work(&mut self) -> bool {
        !self.pending.is_empty() || self.core.changing.is_some() || self.lacking_from().is_some()
    }

    /// The lowest sequence number this replica lacks messages of the current
    /// view for: one it has no PrePrepare of (and has not executed) while
    /// others spoke of it, or one it has not sent its Commit for, or has
    /// neither seen committed nor executed. Without checkpoints a new view
    /// re-proposes the whole history, and a replica that has not executed it
    /// needs every honest replica's Commit of it.
    fn lacking_from(&mut self) -> Option<u64> {
        let view = self.core.view;
        let top = (self.core.slots.len() as u64).max(self.seen_seq);
        while self.cursor <= top {
            let s = self.cursor;
            let done = match self.slot(s) {
                None => false,
                Some(sl) => match sl.pre_prepare {
                    Some((v, req)) if v == view => {
                        sl.commit_sent == Some((view, req.id))
                            && (sl.executed.is_some() || sl.committed.is_some_and(|c| c.0 == view))
                    }
                    _ => sl.executed.is_some(),
                },
            };
            if !done {
                return Some(s);
            }
            self.cursor += 1;
        }
        None
    }

    /// Checks a message's signature: true if it may be believed. A forged
    /// message is rejected (and noted) with signatures on.
    fn verified(&mut self, ctx: &mut Ctx<'_, Self>, kind: &'static str, claimed: NodeId, from: NodeId, forged: bool) -> bool {
        if !forged || !self.cfg.signatures {
            return true;
        }
        if ctx.behaviour().is_none() {
            ctx.count(0, 1.0);
            ctx.note(PbftNote::Rejected {
                kind,
                reason: "its signature does not verify",
                claimed,
                by: from,
            });
        }
        false
    }

    /// Notes a contradiction once.
    #[allow(clippy::too_many_arguments)]
    fn conflict(&mut self, ctx: &mut Ctx<'_, Self>, kind: &'static str, view: u64, seq: u64, accepted: u64, other: u64, origin: NodeId) {
        if !self.conflict_noted && ctx.behaviour().is_none() {
            self.conflict_noted = true;
            ctx.note(PbftNote::Conflict {
                kind,
                view,
                seq,
                accepted,
                other,
                origin,
            });
        }
    }
}

impl Protocol for Pbft {
    type Config = PbftConfig;
    type Msg = PbftMsg;
    type Timer = PbftTimer;
    type Note = PbftNote;
    type Durable = PbftDurable;

    const COUNTERS: &'static [MetricDef] = COUNTERS;
    const BEHAVIOURS: &'static [BehaviourKind] = &BehaviourKind::ALL;

    fn init(ctx: &mut Init<'_, Self>, d: &PbftDurable) -> Self {
        let cfg = ctx.config().clone();
        let n = ctx.nodes();
        let core = d.0.clone();
        let mut node = Pbft {
            th: match cfg.variant {
                PbftVariant::WeakQuorum => {
                    let th = Thresholds::new(n, cfg.assumed_f);
                    Thresholds { quorum: th.weak, ..th }
                }
                _ => Thresholds::new(n, cfg.assumed_f),
            },
            n,
            cfg,
            votes: Vec::new(),
            pending: BTreeMap::new(),
            assigned: BTreeSet::new(),
            timer_running: false,
            resend_armed: false,
            stuck_at: (0, 0, 0),
            seen_seq: 0,
            cursor: 1,
            decided: BTreeMap::new(),
            leading: false,
            view_changes: BTreeMap::new(),
            vc_latest: vec![0; n as usize],
            my_view_change: None,
            new_view: None,
            replies: BTreeMap::new(),
            conflict_noted: false,
            adv: adversary::State::default(),
            core,
        };
        node.restore(ctx.id());
        node
    }

    fn on_start(&mut self, ctx: &mut Ctx<'_, Self>) {
        replica::start(self, ctx);
    }

    fn on_message(&mut self, ctx: &mut Ctx<'_, Self>, from: NodeId, msg: PbftMsg) {
        replica::message(self, ctx, from, msg);
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self>, timer: PbftTimer) {
        replica::timer(self, ctx, timer);
    }

    fn on_submit(&mut self, ctx: &mut Ctx<'_, Self>, sub: Submission) {
        replica::submit(self, ctx, sub);
    }
}

#[cfg(test)]
mod tests;
