//! The bus's parameters: one validated [`BusConfig`] per run, written in the
//! `[protocol]` table of a scenario (`name = "bus"`) or set by flags
//! (`agentsim run bus --help`).
//!
//! Enums are spelled in kebab-case in files and flags; every parse or
//! validation error is one line naming the field and the accepted values.

use crate::node::NodeId;
use crate::time::{Dur, MS, SEC};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Most topics accepted (topic ids are 16-bit in the monitor's tables).
pub const TOPICS_MAX: u32 = 65_535;
/// Most attempts per message and hop (the attempt number is a byte).
pub const ATTEMPTS_MAX: u32 = 255;
/// Most points of the latency CDF series.
pub const CDF_POINTS_MAX: u32 = 100_000;

/// What a message is promised (set per topic; a message may override it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Guarantee {
    /// No acks, no retries; the receiver drops copies of ids it has seen
    /// within its window (and copies too old to tell), so network
    /// duplication never becomes duplicate delivery.
    #[default]
    AtMostOnce,
    /// Acks, and retries with exponential backoff and jitter; after the last
    /// attempt the message goes to a dead-letter queue with its reason.
    AtLeastOnce,
    /// At-least-once plus deduplication by message id at the receiver, in a
    /// bounded window that may or may not survive a crash (`dedup_durable`).
    ExactlyOnce,
}

impl Guarantee {
    /// Every guarantee, in metric order.
    pub const ALL: [Guarantee; 3] = [
        Guarantee::AtMostOnce,
        Guarantee::AtLeastOnce,
        Guarantee::ExactlyOnce,
    ];

    /// The spelling in files, flags and metric names.
    pub fn as_str(self) -> &'static str {
        match self {
            Guarantee::AtMostOnce => "at-most-once",
            Guarantee::AtLeastOnce => "at-least-once",
            Guarantee::ExactlyOnce => "exactly-once",
        }
    }

    /// Whether messages of this guarantee are acknowledged and retried.
    #[inline]
    pub fn acked(self) -> bool {
        self != Guarantee::AtMostOnce
    }

    /// Index in [`Guarantee::ALL`].
    #[inline]
    pub fn index(self) -> usize {
        self as usize
    }
}

impl FromStr for Guarantee {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Guarantee::ALL
            .into_iter()
            .find(|g| g.as_str() == s.trim())
            .ok_or_else(|| {
                format!("bus guarantee '{s}' unknown (accepted: at-most-once, at-least-once, exactly-once)")
            })
    }
}

impl fmt::Display for Guarantee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a broker does with a delivery when its queue is full.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum QueuePolicy {
    /// The new delivery is dropped.
    #[default]
    DropNewest,
    /// The oldest queued delivery is dropped to make room.
    DropOldest,
    /// The publication is refused: an error goes back to the publisher
    /// (which retries it with backoff, then dead-letters it, if acked).
    Refuse,
}

/// Deliberately broken behaviours, selected by `variant`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BusVariant {
    /// The bus as documented.
    #[default]
    Correct,
    /// Receivers keep no dedup window (and no at-most-once age floor): they
    /// forget every id they delivered.
    ForgetDedup,
    /// Brokers acknowledge a publication on receipt and store it in a later
    /// callback: a crash between the two, or during the storage write, loses
    /// a message its publisher believes stored.
    AckBeforeStore,
    /// Retries go out every `retry_base`, without growth, cap or jitter.
    NoBackoff,
}

macro_rules! kebab_enum {
    ($ty:ty, $field:literal, [$(($name:literal, $v:expr)),+ $(,)?]) => {
        impl $ty {
            /// Every value with its spelling.
            pub const NAMES: &'static [(&'static str, $ty)] = &[$(($name, $v)),+];
            /// The spelling in files and flags.
            pub fn name(self) -> &'static str {
                Self::NAMES.iter().find(|(_, v)| *v == self).map(|(n, _)| *n).unwrap_or("?")
            }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::NAMES
                    .iter()
                    .find(|(n, _)| *n == s.trim())
                    .map(|(_, v)| *v)
                    .ok_or_else(|| {
                        let names: Vec<&str> = Self::NAMES.iter().map(|(n, _)| *n).collect();
                        format!(concat!($field, " '{}' unknown (accepted: {})"), s, names.join(", "))
                    })
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
    };
}

kebab_enum!(
    QueuePolicy,
    "bus.queue_policy",
    [
        ("drop-newest", QueuePolicy::DropNewest),
        ("drop-oldest", QueuePolicy::DropOldest),
        ("refuse", QueuePolicy::Refuse),
    ]
);
kebab_enum!(
    BusVariant,
    "bus.variant",
    [
        ("correct", BusVariant::Correct),
        ("forget-dedup", BusVariant::ForgetDedup),
        ("ack-before-store", BusVariant::AckBeforeStore),
        ("no-backoff", BusVariant::NoBackoff),
    ]
);

/// Topic popularity: which topic a publication goes to.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum TopicSkew {
    /// Every topic equally likely.
    #[default]
    Uniform,
    /// Topic `k` (0-based) with probability proportional to `1 / (k+1)^s`.
    Zipf {
        /// The exponent.
        s: f64,
    },
}

impl FromStr for TopicSkew {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("bus.topic_skew '{s}' unknown (accepted: uniform, zipf:s=X with X in 0..=10)");
        match s.trim() {
            "uniform" => Ok(TopicSkew::Uniform),
            other => {
                let x = other
                    .strip_prefix("zipf:s=")
                    .ok_or_else(bad)?
                    .parse::<f64>()
                    .map_err(|_| bad())?;
                if !(x.is_finite() && (0.0..=10.0).contains(&x)) {
                    return Err(bad());
                }
                Ok(TopicSkew::Zipf { s: x })
            }
        }
    }
}

impl fmt::Display for TopicSkew {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TopicSkew::Uniform => f.write_str("uniform"),
            TopicSkew::Zipf { s } => write!(f, "zipf:s={s}"),
        }
    }
}

/// What a submission does, drawn with these weights (they need not sum to 1).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Mix {
    /// Publish to a topic.
    pub publish: f64,
    /// A request to a client drawn uniformly, answered by a reply.
    pub request: f64,
    /// A direct message to a client drawn uniformly.
    pub direct: f64,
    /// A message to every client.
    pub broadcast: f64,
    /// Subscribe to the drawn topic, or unsubscribe if subscribed (clients
    /// only, with brokers).
    pub churn: f64,
}

impl Default for Mix {
    fn default() -> Self {
        Mix {
            publish: 1.0,
            request: 0.0,
            direct: 0.0,
            broadcast: 0.0,
            churn: 0.0,
        }
    }
}

impl Mix {
    const KEYS: [&'static str; 5] = ["publish", "request", "direct", "broadcast", "churn"];

    fn weights(&self) -> [f64; 5] {
        [
            self.publish,
            self.request,
            self.direct,
            self.broadcast,
            self.churn,
        ]
    }

    /// The pattern of a uniform draw `u` in `[0, 1)`.
    pub fn pick(&self, u: f64) -> Pattern {
        let w = self.weights();
        let total: f64 = w.iter().sum();
        let mut x = u * total;
        for (i, &wi) in w.iter().enumerate() {
            if x < wi {
                return Pattern::SUBMITTED[i];
            }
            x -= wi;
        }
        // Rounding: the last pattern with a weight.
        let last = w.iter().rposition(|&wi| wi > 0.0).unwrap_or(0);
        Pattern::SUBMITTED[last]
    }
}

impl FromStr for Mix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let mut m = Mix {
            publish: 0.0,
            ..Mix::default()
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| {
                format!("bus.mix '{s}': '{part}' is not KEY=WEIGHT (accepted keys: publish, request, direct, broadcast, churn)")
            })?;
            let w: f64 = v.trim().parse().map_err(|_| {
                format!("bus.mix '{s}': weight '{v}' is not a number")
            })?;
            if !(w.is_finite() && w >= 0.0) {
                return Err(format!(
                    "bus.mix '{s}': weight {w} out of range (accepted: 0 or above)"
                ));
            }
            match k.trim() {
                "publish" => m.publish = w,
                "request" => m.request = w,
                "direct" => m.direct = w,
                "broadcast" => m.broadcast = w,
                "churn" => m.churn = w,
                other => {
                    return Err(format!(
                        "bus.mix '{s}': '{other}' unknown (accepted: {})",
                        Mix::KEYS.join(", ")
                    ))
                }
            }
        }
        if m.weights().iter().sum::<f64>() <= 0.0 {
            return Err(format!(
                "bus.mix '{s}': every weight is 0 (accepted: at least one above 0)"
            ));
        }
        Ok(m)
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = Mix::KEYS
            .iter()
            .zip(self.weights())
            .filter(|(_, w)| *w > 0.0)
            .map(|(k, w)| format!("{k}={w}"))
            .collect();
        f.write_str(&parts.join(","))
    }
}

/// One topic's own guarantee: `3=exactly-once`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TopicGuarantee {
    /// The topic.
    pub topic: u32,
    /// Its guarantee.
    pub guarantee: Guarantee,
}

impl FromStr for TopicGuarantee {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let (t, g) = s.split_once('=').ok_or_else(|| {
            format!("bus.topic_guarantees '{s}': expected TOPIC=GUARANTEE, e.g. 3=exactly-once")
        })?;
        Ok(TopicGuarantee {
            topic: t
                .trim()
                .parse()
                .map_err(|_| format!("bus.topic_guarantees '{s}': '{t}' is not a topic number"))?,
            guarantee: g.parse()?,
        })
    }
}

impl fmt::Display for TopicGuarantee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.topic, self.guarantee)
    }
}

/// Most levels of a topic name (`topic_levels`).
pub const LEVELS_MAX: usize = 8;

/// A subscription filter over topic names, MQTT style: one segment per
/// level, each a number (that level's digit), `+` (any digit at that
/// level) or, last only, `#` (any digits at this and every deeper level):
/// `2/+/1`, `0/#`, `#`. Topic `t`'s name is its digits in the mixed radix
/// of `topic_levels` (one level of `topics` digits when that is empty).
///
/// Parsed once into per-level digits (the compiled form); a broker expands
/// a filter into its per-topic routing lists when a client subscribes, so a
/// delivery never matches anything (nor allocates).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopicFilter {
    /// Per level: the digit it requires, or `None` (`+`).
    levels: Vec<Option<u32>>,
    /// Ends in `#`: any digits at the levels after `levels`.
    rest: bool,
}

impl TopicFilter {
    /// Whether topic `t` (named by the mixed radix `radix`, most
    /// significant level first) matches. No allocation.
    #[inline]
    pub fn matches(&self, radix: &[u32], t: u32) -> bool {
        let f = self.levels.len();
        if f > radix.len() || (!self.rest && f != radix.len()) {
            return false;
        }
        let mut x = t;
        for i in (0..radix.len()).rev() {
            let r = radix[i].max(1);
            let d = x % r;
            x /= r;
            if let Some(Some(want)) = self.levels.get(i) {
                if *want != d {
                    return false;
                }
            }
        }
        true
    }

    /// Checks the filter against the levels' radices; the error names `field`.
    fn check(&self, field: &str, radix: &[u32]) -> Result<(), String> {
        let f = self.levels.len();
        if f > radix.len() || (!self.rest && f != radix.len()) {
            return Err(format!(
                "{field} = '{self}' has {f} levels{} (accepted: {} levels, or fewer followed by #)",
                if self.rest { " before #" } else { "" },
                radix.len()
            ));
        }
        for (i, (l, &r)) in self.levels.iter().zip(radix).enumerate() {
            if let Some(d) = l {
                if *d >= r {
                    return Err(format!(
                        "{field} = '{self}': level {i} digit {d} out of range (accepted: 0..{r} or +)"
                    ));
                }
            }
        }
        Ok(())
    }
}

impl FromStr for TopicFilter {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let segs: Vec<&str> = s.trim().split('/').map(str::trim).collect();
        let mut f = TopicFilter {
            levels: Vec::new(),
            rest: false,
        };
        for (i, seg) in segs.iter().enumerate() {
            match *seg {
                "#" if i + 1 == segs.len() => f.rest = true,
                "+" => f.levels.push(None),
                d => f.levels.push(Some(d.parse().map_err(|_| {
                    format!("bus.patterns '{s}': segment '{d}' out of range (accepted: a number, + or #, # only last; e.g. 2/+/1 or 0/#)")
                })?)),
            }
        }
        if f.levels.len() > LEVELS_MAX {
            return Err(format!(
                "bus.patterns '{s}': {} levels (accepted: at most {LEVELS_MAX})",
                f.levels.len()
            ));
        }
        Ok(f)
    }
}

impl fmt::Display for TopicFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = self
            .levels
            .iter()
            .map(|l| l.map_or("+".to_string(), |d| d.to_string()))
            .collect();
        if self.rest {
            parts.push("#".into());
        }
        f.write_str(&parts.join("/"))
    }
}

/// What a subscription key names: client intents, subscription messages
/// and the broker's change numbers are kept per key. Keys `0..topics` are
/// the topics; pattern `i` has one key per broker `b`,
/// `topics + i × max(brokers, 1) + b`, covering the topics that broker routes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubKey {
    /// One topic.
    Topic(u32),
    /// Pattern `index` of `patterns`, at broker `broker`.
    Pattern {
        /// Its place in `patterns`.
        index: u32,
        /// The broker whose topics it covers.
        broker: u32,
    },
}

macro_rules! serde_by_str {
    ($t:ty) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d)?
                    .parse()
                    .map_err(serde::de::Error::custom)
            }
        }
    };
}
serde_by_str!(TopicSkew);
serde_by_str!(Mix);
serde_by_str!(TopicGuarantee);
serde_by_str!(TopicFilter);

/// What a message is, as it travels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Pattern {
    /// Published to a topic: delivered to its subscribers.
    Publish,
    /// To one client.
    Direct,
    /// To every client but the sender.
    Broadcast,
    /// A request to one client, which answers with a [`Pattern::Reply`].
    Request,
    /// The answer to a request (its id is the request's with the top bit set).
    Reply,
    /// Not a message: a subscription change (submissions only).
    Churn,
}

impl Pattern {
    /// The patterns of [`Mix`], in its key order.
    pub const SUBMITTED: [Pattern; 5] = [
        Pattern::Publish,
        Pattern::Request,
        Pattern::Direct,
        Pattern::Broadcast,
        Pattern::Churn,
    ];
}

/// The bus's settings (see the module docs of [`super`] for what each does).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BusConfig {
    /// Brokers: nodes `0..brokers`; topic `t` is served by broker `t mod
    /// brokers`. 0: brokerless peer mode (every node a client that routes
    /// its own messages).
    pub brokers: u32,
    /// Number of topics (`0..topics`).
    pub topics: u32,
    /// Topic popularity of publications: `uniform` or `zipf:s=X`.
    pub topic_skew: TopicSkew,
    /// Initial subscribers per topic: topic `t`'s are clients
    /// `(t × subscribers_per_topic + j) mod clients`, `j < subscribers_per_topic`.
    pub subscribers_per_topic: u32,
    /// The last this many clients also subscribe to every topic (wildcard).
    pub wildcard_subscribers: u32,
    /// What submissions do, by weight: `publish=0.9,request=0.1`.
    pub mix: Mix,
    /// Hierarchical topic names: the number of digits at each level, most
    /// significant first (`[4, 8]`: topics `0/0` to `3/7`, `a/b` being
    /// topic `8a + b`); their product is `topics`. Empty: one level.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub topic_levels: Vec<u32>,
    /// Pattern filters clients may subscribe to at run time (`["2/+", "0/#"]`,
    /// see [`TopicFilter`]).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<TopicFilter>,
    /// The fraction of churn submissions that toggle a pattern (drawn
    /// uniformly from `patterns`) instead of one topic.
    #[serde(skip_serializing_if = "is_zero")]
    pub pattern_ratio: f64,
    /// The guarantee of every topic (and of direct, broadcast, request and
    /// reply messages) unless overridden.
    pub guarantee: Guarantee,
    /// Per-topic guarantees: `["3=exactly-once"]`.
    pub topic_guarantees: Vec<TopicGuarantee>,
    /// The fraction of messages that override their topic's guarantee with
    /// `override_guarantee` (drawn per submission).
    pub override_ratio: f64,
    /// The guarantee of overriding messages.
    pub override_guarantee: Guarantee,
    /// Per-publisher, per-topic FIFO delivery (sequence numbers and a reorder buffer).
    pub fifo: bool,
    /// A FIFO gap is skipped after this long (and the skip counted).
    pub gap_timeout: Dur,
    /// Most messages a receiver buffers per FIFO stream; when full, the gap is skipped at once.
    pub reorder_max: u32,
    /// First retry after this long (before jitter).
    pub retry_base: Dur,
    /// Each retry waits this many times longer than the previous one.
    pub retry_factor: f64,
    /// No wait is longer than this.
    pub retry_cap: Dur,
    /// A wait is drawn uniformly in `[d × (1 − jitter), d]` (0: no jitter).
    pub retry_jitter: f64,
    /// Attempts per message and hop (the first included); then the message
    /// goes to the dead-letter queue.
    pub max_attempts: u32,
    /// Message ids a receiver remembers (count).
    pub dedup_window: u32,
    /// Whether the receiver's dedup window (with an exactly-once delivery,
    /// in one write) survives a crash.
    pub dedup_durable: bool,
    /// A request not answered within this long times out; a later reply is
    /// discarded and counted.
    pub request_timeout: Dur,
    /// Deliveries a broker may hold queued (0: no limit).
    pub queue_capacity: u32,
    /// What a broker does when its queue is full.
    pub queue_policy: QueuePolicy,
    /// Time a broker takes to send one delivery (0: no limit on its rate).
    pub service_time: Dur,
    /// Most unacknowledged deliveries a broker keeps in flight per
    /// subscriber, acked guarantees only (0: no limit).
    pub prefetch: u32,
    /// Time every client takes to process a delivery (0: at once); acks go
    /// out once processed.
    pub consume_time: Dur,
    /// The first this many clients are slow consumers.
    pub slow_consumers: u32,
    /// Processing time of a slow consumer.
    pub slow_consume_time: Dur,
    /// Interval of the `queue_len` and `retries` series.
    pub sample_every: Dur,
    /// Step of the `latency_cdf` series.
    pub cdf_step: Dur,
    /// Most points of the `latency_cdf` series.
    pub cdf_points: u32,
    /// `correct`, or a deliberately broken variant.
    pub variant: BusVariant,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

impl Default for BusConfig {
    fn default() -> Self {
        BusConfig {
            brokers: 1,
            topics: 4,
            topic_skew: TopicSkew::Uniform,
            subscribers_per_topic: 2,
            wildcard_subscribers: 0,
            mix: Mix::default(),
            topic_levels: Vec::new(),
            patterns: Vec::new(),
            pattern_ratio: 0.0,
            guarantee: Guarantee::AtLeastOnce,
            topic_guarantees: Vec::new(),
            override_ratio: 0.0,
            override_guarantee: Guarantee::ExactlyOnce,
            fifo: false,
            gap_timeout: Dur(100 * MS),
            reorder_max: 64,
            retry_base: Dur(50 * MS),
            retry_factor: 2.0,
            retry_cap: Dur(SEC),
            retry_jitter: 0.2,
            max_attempts: 5,
            dedup_window: 1024,
            dedup_durable: true,
            request_timeout: Dur(200 * MS),
            queue_capacity: 0,
            queue_policy: QueuePolicy::DropNewest,
            service_time: Dur::ZERO,
            prefetch: 0,
            consume_time: Dur::ZERO,
            slow_consumers: 0,
            slow_consume_time: Dur(10 * MS),
            sample_every: Dur(100 * MS),
            cdf_step: Dur(MS),
            cdf_points: 200,
            variant: BusVariant::Correct,
        }
    }
}

impl BusConfig {
    /// Number of clients in a run of `nodes` nodes.
    #[inline]
    pub fn clients(&self, nodes: u32) -> u32 {
        nodes.saturating_sub(self.brokers)
    }

    /// Whether nodes route their own messages (no broker).
    #[inline]
    pub fn peer(&self) -> bool {
        self.brokers == 0
    }

    /// The node id of client `c`.
    #[inline]
    pub fn client_node(&self, c: u32) -> NodeId {
        self.brokers + c
    }

    /// The broker serving topic `t` (broker mode).
    #[inline]
    pub fn broker_of_topic(&self, t: u32) -> NodeId {
        t % self.brokers.max(1)
    }

    /// The guarantee of topic `t` (before a message's override).
    pub fn topic_guarantee(&self, t: u32) -> Guarantee {
        self.topic_guarantees
            .iter()
            .rev()
            .find(|g| g.topic == t)
            .map_or(self.guarantee, |g| g.guarantee)
    }

    /// Processing time of client node `node` (0 for brokers).
    pub fn consume_time_of(&self, node: NodeId) -> u64 {
        if node < self.brokers {
            return 0;
        }
        if node - self.brokers < self.slow_consumers {
            self.slow_consume_time.0
        } else {
            self.consume_time.0
        }
    }

    /// The initial subscribers of topic `t` in a run of `nodes` nodes,
    /// sorted: clients `(t × S + j) mod C` for `j < S`, and the last
    /// `wildcard_subscribers` clients.
    pub fn initial_subscribers(&self, nodes: u32, t: u32) -> Vec<NodeId> {
        let c = self.clients(nodes);
        if c == 0 {
            return Vec::new();
        }
        let s = self.subscribers_per_topic.min(c);
        let mut v: Vec<NodeId> = (0..s)
            .map(|j| self.client_node(((t as u64 * s as u64 + j as u64) % c as u64) as u32))
            .collect();
        let w = self.wildcard_subscribers.min(c);
        v.extend((c - w..c).map(|k| self.client_node(k)));
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Whether pattern subscriptions are in use (`patterns` not empty).
    #[inline]
    pub fn pattern_mode(&self) -> bool {
        !self.patterns.is_empty()
    }

    /// The digits of each level of a topic name (one level of `topics`
    /// when `topic_levels` is empty).
    pub fn radix(&self) -> &[u32] {
        if self.topic_levels.is_empty() {
            std::slice::from_ref(&self.topics)
        } else {
            &self.topic_levels
        }
    }

    /// Topic `t`'s name: its digits, most significant level first, `/`-separated.
    pub fn topic_name(&self, t: u32) -> String {
        let mut digits = Vec::new();
        let mut x = t;
        for &r in self.radix().iter().rev() {
            digits.push((x % r.max(1)).to_string());
            x /= r.max(1);
        }
        digits.reverse();
        digits.join("/")
    }

    /// Number of subscription keys (see [`SubKey`]).
    #[inline]
    pub fn sub_keys(&self) -> u32 {
        self.topics + self.patterns.len() as u32 * self.brokers.max(1)
    }

    /// The key of pattern `index` at broker `broker`.
    #[inline]
    pub fn pattern_key(&self, index: u32, broker: u32) -> u32 {
        self.topics + index * self.brokers.max(1) + broker
    }

    /// What key `key` names.
    #[inline]
    pub fn sub_key(&self, key: u32) -> SubKey {
        if key < self.topics {
            return SubKey::Topic(key);
        }
        let b = self.brokers.max(1);
        SubKey::Pattern {
            index: (key - self.topics) / b,
            broker: (key - self.topics) % b,
        }
    }

    /// The broker that keeps key `key` (broker mode).
    #[inline]
    pub fn key_broker(&self, key: u32) -> NodeId {
        match self.sub_key(key) {
            SubKey::Topic(t) => self.broker_of_topic(t),
            SubKey::Pattern { broker, .. } => broker,
        }
    }

    /// Whether key `key` covers topic `t`: it is `t`, or a pattern that
    /// matches `t` at `t`'s broker.
    #[inline]
    pub fn key_covers(&self, key: u32, t: u32) -> bool {
        match self.sub_key(key) {
            SubKey::Topic(k) => k == t,
            SubKey::Pattern { index, broker } => {
                self.broker_of_topic(t) == broker
                    && self.patterns[index as usize].matches(self.radix(), t)
            }
        }
    }

    /// Whether `node` is among [`BusConfig::initial_subscribers`]`(nodes, t)`,
    /// without building the list (every node asks for every topic at boot).
    pub fn is_initial_subscriber(&self, nodes: u32, t: u32, node: NodeId) -> bool {
        let c = self.clients(nodes) as u64;
        if node < self.brokers || node >= nodes || c == 0 {
            return false;
        }
        let k = (node - self.brokers) as u64;
        let s = (self.subscribers_per_topic as u64).min(c);
        let w = (self.wildcard_subscribers as u64).min(c);
        // In the last `w`, or `k = (t·s + j) mod c` for some `j < s`.
        k >= c - w || (k + c - (t as u64 * s) % c) % c < s
    }

    /// The longest a message may take to settle after it is published:
    /// every wait of both hops' retry schedules, the queue drained at the
    /// service time, a FIFO gap, consumers' processing, and 500 ms for the
    /// network. Liveness judges messages published at least this long
    /// before its deadline.
    pub fn settle_ns(&self) -> u64 {
        let hop: u64 = (1..=self.max_attempts)
            .map(|k| super::schedule::max_gap(self, k))
            .sum();
        let queue = self.queue_capacity as u64 * self.service_time.0;
        let consume = self.consume_time.0.max(self.slow_consume_time.0) * self.prefetch.max(1) as u64;
        2 * hop + queue + self.gap_timeout.0 + consume + 500 * MS
    }

    /// Checks every field for a run of `nodes` nodes; the error names the
    /// field and the accepted range.
    pub fn validate(&self, nodes: u32) -> Result<(), String> {
        if self.brokers >= nodes {
            return Err(format!(
                "bus.brokers = {} out of range (accepted: 0..{nodes}, fewer than the nodes, so that there is a client; 0 is peer mode)",
                self.brokers
            ));
        }
        let clients = self.clients(nodes);
        if self.topics == 0 || self.topics > TOPICS_MAX {
            return Err(format!(
                "bus.topics = {} out of range (accepted: 1..={TOPICS_MAX})",
                self.topics
            ));
        }
        if self.subscribers_per_topic > clients {
            return Err(format!(
                "bus.subscribers_per_topic = {} out of range (accepted: 0..={clients}, the clients)",
                self.subscribers_per_topic
            ));
        }
        if self.wildcard_subscribers > clients {
            return Err(format!(
                "bus.wildcard_subscribers = {} out of range (accepted: 0..={clients}, the clients)",
                self.wildcard_subscribers
            ));
        }
        if self.slow_consumers > clients {
            return Err(format!(
                "bus.slow_consumers = {} out of range (accepted: 0..={clients}, the clients)",
                self.slow_consumers
            ));
        }
        for (i, g) in self.topic_guarantees.iter().enumerate() {
            if g.topic >= self.topics {
                return Err(format!(
                    "bus.topic_guarantees[{i}] = {g}: topic {} out of range (accepted: 0..{})",
                    g.topic, self.topics
                ));
            }
        }
        if !(0.0..=1.0).contains(&self.override_ratio) {
            return Err(format!(
                "bus.override_ratio = {} out of range (accepted: 0..=1)",
                self.override_ratio
            ));
        }
        if self.peer() && self.mix.churn > 0.0 {
            return Err(
                "bus.mix churn needs brokers (accepted: churn=0 with brokers = 0: peer-mode subscriptions are static)"
                    .into(),
            );
        }
        if !self.topic_levels.is_empty() {
            let product = self
                .topic_levels
                .iter()
                .try_fold(1u64, |p, &r| (r >= 1).then_some(p * r as u64).filter(|&p| p <= TOPICS_MAX as u64));
            if self.topic_levels.len() > LEVELS_MAX || product != Some(self.topics as u64) {
                return Err(format!(
                    "bus.topic_levels = {:?} out of range (accepted: 1 to {LEVELS_MAX} levels of 1 or more digits whose product is bus.topics = {})",
                    self.topic_levels, self.topics
                ));
            }
        }
        for (i, f) in self.patterns.iter().enumerate() {
            f.check(&format!("bus.patterns[{i}]"), self.radix())?;
        }
        if !(0.0..=1.0).contains(&self.pattern_ratio) {
            return Err(format!(
                "bus.pattern_ratio = {} out of range (accepted: 0..=1)",
                self.pattern_ratio
            ));
        }
        if self.pattern_ratio > 0.0 && self.patterns.is_empty() {
            return Err(
                "bus.pattern_ratio above 0 needs bus.patterns (accepted: pattern_ratio = 0, or at least one pattern)".into(),
            );
        }
        if self.retry_base.0 == 0 {
            return Err("bus.retry_base must be above 0 (accepted: e.g. 50ms)".into());
        }
        if !(self.retry_factor.is_finite() && (1.0..=100.0).contains(&self.retry_factor)) {
            return Err(format!(
                "bus.retry_factor = {} out of range (accepted: 1..=100)",
                self.retry_factor
            ));
        }
        if self.retry_cap < self.retry_base {
            return Err(format!(
                "bus.retry_cap = {} out of range (accepted: at least bus.retry_base = {})",
                self.retry_cap, self.retry_base
            ));
        }
        if !(0.0..1.0).contains(&self.retry_jitter) {
            return Err(format!(
                "bus.retry_jitter = {} out of range (accepted: 0 to below 1)",
                self.retry_jitter
            ));
        }
        if self.max_attempts == 0 || self.max_attempts > ATTEMPTS_MAX {
            return Err(format!(
                "bus.max_attempts = {} out of range (accepted: 1..={ATTEMPTS_MAX})",
                self.max_attempts
            ));
        }
        if self.dedup_window == 0 {
            return Err("bus.dedup_window must be above 0 (accepted: 1..)".into());
        }
        if self.gap_timeout.0 == 0 {
            return Err("bus.gap_timeout must be above 0 (accepted: e.g. 100ms)".into());
        }
        if self.reorder_max == 0 {
            return Err("bus.reorder_max must be above 0 (accepted: 1..)".into());
        }
        if self.request_timeout.0 == 0 {
            return Err("bus.request_timeout must be above 0 (accepted: e.g. 200ms)".into());
        }
        if self.sample_every.0 == 0 {
            return Err("bus.sample_every must be above 0 (accepted: e.g. 100ms)".into());
        }
        if self.cdf_step.0 == 0 {
            return Err("bus.cdf_step must be above 0 (accepted: e.g. 1ms)".into());
        }
        if self.cdf_points == 0 || self.cdf_points > CDF_POINTS_MAX {
            return Err(format!(
                "bus.cdf_points = {} out of range (accepted: 1..={CDF_POINTS_MAX})",
                self.cdf_points
            ));
        }
        Ok(())
    }
}
