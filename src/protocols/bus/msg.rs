//! What travels on the bus ([`BusMsg`], each data message an [`Envelope`]),
//! the timers nodes arm ([`BusTimer`]), and the facts they report ([`BusNote`]).

use super::config::{Guarantee, Pattern};
use crate::node::{NodeId, Note};
use serde::Serialize;
use std::rc::Rc;

/// A message id: the index of the workload submission that created it
/// (unique in a run), with [`REPLY_BIT`] set for the reply to a request.
pub type MsgId = u64;

/// Set in a reply's id: the reply to request `r` is `r | REPLY_BIT`.
pub const REPLY_BIT: u64 = 1 << 63;

/// Where a message goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Dest {
    /// Every subscriber of a topic.
    Topic(u32),
    /// One client.
    Client(NodeId),
    /// Every client but the publisher.
    All,
}

/// A data message as it travels, publisher to router to recipient.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Envelope {
    /// Unique per message ([`MsgId`]).
    pub id: MsgId,
    /// The publisher's incarnation: the time (ns) it last booted. A FIFO
    /// stream is (publisher, epoch, topic).
    pub epoch: u64,
    /// When it was published (ns): end-to-end latency runs from here.
    pub at: u64,
    /// Who published it.
    pub publisher: NodeId,
    /// Where it goes.
    pub dest: Dest,
    /// Its place in its FIFO stream (publications with `fifo` on; 0 otherwise).
    pub fifo_seq: u32,
    /// The content, drawn from the submission.
    pub payload: u32,
    /// What it is promised.
    pub guarantee: Guarantee,
    /// What it is.
    pub pattern: Pattern,
    /// Which attempt of its current hop this copy is (1-based).
    pub attempt: u8,
}

impl std::hash::Hash for Envelope {
    /// Six words into the run hash (every field, packed): each message and
    /// each delivery fact is hashed, so this is on the hot path.
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        let (kind, to) = match self.dest {
            Dest::Topic(t) => (0u64, t),
            Dest::Client(c) => (1, c),
            Dest::All => (2, 0),
        };
        h.write_u64(self.id);
        h.write_u64(self.epoch);
        h.write_u64(self.at);
        h.write_u64(((self.publisher as u64) << 32) | self.fifo_seq as u64);
        h.write_u64(((self.payload as u64) << 32) | to as u64);
        h.write_u64(
            (kind << 24)
                | ((self.guarantee as u64) << 16)
                | ((self.pattern as u64) << 8)
                | self.attempt as u64,
        );
    }
}

/// What a publisher learns from the router about a publication.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PubStatus {
    /// Stored: the router takes it from here.
    Stored,
    /// Refused: the router's queue is full.
    Refused,
}

/// Why a message went to a dead-letter queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DlqReason {
    /// Its last attempt went unacknowledged.
    MaxAttempts,
    /// A full broker queue dropped it.
    QueueFull,
    /// The router refused it (queue full) at its last attempt.
    Refused,
    /// It arrived behind a FIFO gap its receiver had already skipped.
    OutOfOrder,
}

impl DlqReason {
    /// The reason as reports spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            DlqReason::MaxAttempts => "max-attempts",
            DlqReason::QueueFull => "queue-full",
            DlqReason::Refused => "refused",
            DlqReason::OutOfOrder => "out-of-order",
        }
    }
}

/// Bus messages.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, agentsim_macros::Message)]
#[serde(tag = "msg")]
pub enum BusMsg {
    /// Publisher to router: take this message.
    Publish(Rc<Envelope>),
    /// Router to publisher, acked guarantees (and refusals of any).
    PubAck {
        /// The message.
        id: MsgId,
        /// Stored or refused.
        status: PubStatus,
    },
    /// Router to recipient. A router's copies of one publication to its
    /// subscribers share one envelope: a queued delivery is then 16 bytes
    /// of message instead of 56, and a hundred copies in flight read one
    /// cache line. The content, its hash and its trace are the envelope's.
    Deliver(Rc<Envelope>),
    /// Recipient to router, acked guarantees: delivered (or a duplicate of
    /// a delivered one), or rejected with a reason.
    Ack {
        /// The message.
        id: MsgId,
        /// `None`: delivered; else why it was rejected.
        reject: Option<DlqReason>,
    },
    /// Client to broker: add me to this topic (its `version`-th change of
    /// it: a broker ignores a change older than the last it applied).
    Subscribe {
        /// The subscription key: a topic, or a pattern ([`super::SubKey`]).
        topic: u32,
        /// The client's change number for this topic.
        version: u32,
    },
    /// Client to broker: remove me from this topic.
    Unsubscribe {
        /// The subscription key: a topic, or a pattern ([`super::SubKey`]).
        topic: u32,
        /// The client's change number for this topic.
        version: u32,
    },
    /// Broker to client: the subscription change is stored.
    SubAck {
        /// The topic.
        topic: u32,
        /// Subscribed (true) or unsubscribed.
        on: bool,
        /// The change acknowledged.
        version: u32,
    },
}

/// The bus's timers (each node keeps one deadline list per timer).
#[derive(Clone, Copy, Debug, PartialEq, Eq, agentsim_macros::TimerTag)]
pub enum BusTimer {
    /// A retry (or the last wait before dead-lettering) is due.
    Retry,
    /// A FIFO gap has waited `gap_timeout`.
    Gap,
    /// A request has waited `request_timeout`.
    Request,
    /// A consumer finished processing a delivery.
    Consume,
    /// A broker finished sending a delivery (`service_time`).
    Service,
    /// The `ack-before-store` variant stores what it acknowledged.
    Flush,
}

/// Facts nodes report. A fact reported in a callback that persisted carries
/// `write`: the number of that storage write. With a storage delay the
/// write may be lost to a crash; the node then reports [`BusNote::Boot`]
/// with the number of its last write that survived, and the monitor takes
/// back every fact of a later write (none of their messages left).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(tag = "fact", rename_all = "snake_case")]
pub enum BusNote {
    /// The node (re)started from the state of storage write `write`.
    Boot {
        /// Its last write that survived (0: none).
        write: u32,
    },
    /// A message was published (by this node).
    Published {
        /// The message.
        env: Envelope,
        /// The storage write it is part of, if any.
        write: Option<u32>,
    },
    /// The router stored a message (acked guarantees).
    Stored {
        /// The message.
        id: MsgId,
        /// The publisher's attempt that reached it.
        attempt: u8,
        /// The storage write.
        write: Option<u32>,
    },
    /// An attempt to send a message of an acked guarantee to `to` (the
    /// router on the publisher's hop, a recipient on the router's).
    Attempt {
        /// The message.
        id: MsgId,
        /// Where it went.
        to: NodeId,
        /// The hop: 0, publisher to router; 1, router to recipient.
        leg: u8,
        /// Which attempt (1-based).
        n: u8,
        /// When the node made it (with a storage delay the copy leaves
        /// once the callback's write completes, which the monitor sees as
        /// the fact's time): the backoff schedule spaces these.
        at: u64,
        /// The storage write.
        write: Option<u32>,
    },
    /// A message was delivered to this node's application.
    Delivered {
        /// The message, as received.
        env: Envelope,
        /// The storage write.
        write: Option<u32>,
    },
    /// A message went to a dead-letter queue: for one recipient, or for all
    /// (`to = None`: the publisher gave up before the router stored it).
    DeadLettered {
        /// The message.
        id: MsgId,
        /// The recipient, or none.
        to: Option<NodeId>,
        /// Why.
        reason: DlqReason,
        /// The storage write.
        write: Option<u32>,
    },
    /// This client's subscription to `topic` is in place (its broker acknowledged it).
    Subscribed {
        /// The subscription key: a topic, or a pattern ([`super::SubKey`]).
        topic: u32,
    },
    /// This client stopped wanting `topic` (noted when it decides: it no
    /// longer expects the topic's messages from then on).
    Unsubscribed {
        /// The subscription key: a topic, or a pattern ([`super::SubKey`]).
        topic: u32,
    },
    /// A request of this node was answered in time.
    RequestDone {
        /// The request.
        id: MsgId,
    },
    /// A request of this node timed out.
    RequestTimedOut {
        /// The request.
        id: MsgId,
    },
    /// A reply came after its request had timed out: discarded.
    LateReply {
        /// The request.
        id: MsgId,
    },
    /// This broker's queue now holds `len` deliveries.
    QueueLen {
        /// Deliveries queued.
        len: u32,
    },
    /// With patterns only: this client decided to subscribe to subscription
    /// key `key` ([`super::SubKey`]); from now on its broker may route the
    /// key's topics to it.
    Subscribing {
        /// The key.
        key: u32,
    },
}

impl Note for BusNote {
    fn tag(&self) -> Option<&'static str> {
        Some(match self {
            BusNote::Boot { .. } => "boot",
            BusNote::Published { .. } => "published",
            BusNote::Stored { .. } => "stored",
            BusNote::Attempt { .. } => "attempt",
            BusNote::Delivered { .. } => "delivered",
            BusNote::DeadLettered { .. } => "dead_lettered",
            BusNote::Subscribed { .. } => "subscribed",
            BusNote::Unsubscribed { .. } => "unsubscribed",
            BusNote::RequestDone { .. } => "request_done",
            BusNote::RequestTimedOut { .. } => "request_timed_out",
            BusNote::LateReply { .. } => "late_reply",
            BusNote::QueueLen { .. } => "queue_len",
            BusNote::Subscribing { .. } => "subscribing",
        })
    }
}
