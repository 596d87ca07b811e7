//! The bus's command-line flags: each overrides its `[protocol]` setting.
//! (`--fifo` is the network's per-link FIFO; the bus's ordering is `--fifo-order`.)

use super::config::{
    BusConfig, BusVariant, Guarantee, Mix, QueuePolicy, TopicFilter, TopicGuarantee, TopicSkew,
};
use crate::protocols::Flags;
use crate::time::Dur;
use clap::Args;

/// A whole number within `lo..=hi`, the error naming the bus field.
fn bounded(field: &'static str, lo: u32, hi: u32) -> impl Fn(&str) -> Result<u32, String> + Clone {
    move |s: &str| {
        let v: u64 = s
            .parse()
            .map_err(|_| format!("bus.{field} '{s}' is not a whole number (accepted: {lo}..={hi})"))?;
        if (lo as u64..=hi as u64).contains(&v) {
            Ok(v as u32)
        } else {
            Err(format!("bus.{field} = {v} out of range (accepted: {lo}..={hi})"))
        }
    }
}

/// A number within `lo..=hi` (or below `hi` when `open`), the error naming the field.
fn ratio(field: &'static str, lo: f64, hi: f64, open: bool) -> impl Fn(&str) -> Result<f64, String> + Clone {
    move |s: &str| {
        let v: f64 = s
            .parse()
            .map_err(|_| format!("bus.{field} '{s}' is not a number"))?;
        let ok = v.is_finite() && v >= lo && if open { v < hi } else { v <= hi };
        if ok {
            Ok(v)
        } else {
            let range = if open { format!("{lo} to below {hi}") } else { format!("{lo}..={hi}") };
            Err(format!("bus.{field} = {v} out of range (accepted: {range})"))
        }
    }
}

/// The bus's flags; each overrides its setting of the `[protocol]` table.
#[derive(Args, Debug, Clone, Default)]
pub struct BusFlags {
    /// Brokers (nodes 0..N; topic t served by broker t mod N); 0: brokerless peer mode [default: 1].
    #[arg(long, value_name = "N", value_parser = bounded("brokers", 0, u32::MAX))]
    pub brokers: Option<u32>,
    /// Number of topics, 1..=65535 [default: 4].
    #[arg(long, value_name = "N", value_parser = bounded("topics", 1, super::config::TOPICS_MAX))]
    pub topics: Option<u32>,
    /// Topic popularity: uniform | zipf:s=X [default: uniform].
    #[arg(long, value_name = "SKEW")]
    pub topic_skew: Option<TopicSkew>,
    /// Initial subscribers per topic [default: 2].
    #[arg(long, value_name = "N")]
    pub subscribers_per_topic: Option<u32>,
    /// The last N clients also subscribe to every topic [default: 0].
    #[arg(long, value_name = "N")]
    pub wildcard_subscribers: Option<u32>,
    /// Hierarchical topic names: digits per level, most significant first, their product the topics (e.g. 4,8) [default: one level].
    #[arg(long, value_name = "R,R,..", value_delimiter = ',', value_parser = bounded("topic_levels", 1, super::config::TOPICS_MAX))]
    pub topic_levels: Vec<u32>,
    /// A pattern clients may subscribe to at run time, MQTT style: 2/+, 0/# (repeatable).
    #[arg(long = "pattern", value_name = "FILTER")]
    pub patterns: Vec<TopicFilter>,
    /// Fraction of churn submissions that toggle a pattern, 0..=1 [default: 0].
    #[arg(long, value_name = "R", value_parser = ratio("pattern_ratio", 0.0, 1.0, false))]
    pub pattern_ratio: Option<f64>,
    /// What submissions do, by weight: publish=W,request=W,direct=W,broadcast=W,churn=W [default: publish=1].
    #[arg(long, value_name = "MIX")]
    pub mix: Option<Mix>,
    /// at-most-once | at-least-once | exactly-once: every topic's guarantee [default: at-least-once].
    #[arg(long, value_name = "G")]
    pub guarantee: Option<Guarantee>,
    /// A topic's own guarantee, TOPIC=G (repeatable).
    #[arg(long = "topic-guarantee", value_name = "T=G")]
    pub topic_guarantees: Vec<TopicGuarantee>,
    /// Fraction of messages that override their topic's guarantee, 0..=1 [default: 0].
    #[arg(long, value_name = "R", value_parser = ratio("override_ratio", 0.0, 1.0, false))]
    pub override_ratio: Option<f64>,
    /// The guarantee of overriding messages [default: exactly-once].
    #[arg(long, value_name = "G")]
    pub override_guarantee: Option<Guarantee>,
    /// Per-publisher, per-topic FIFO delivery (sequence numbers, reorder buffer).
    #[arg(long)]
    pub fifo_order: bool,
    /// A FIFO gap is skipped after this long [default: 100ms].
    #[arg(long, value_name = "DUR")]
    pub gap_timeout: Option<Dur>,
    /// Most early messages buffered per FIFO stream [default: 64].
    #[arg(long, value_name = "N", value_parser = bounded("reorder_max", 1, u32::MAX))]
    pub reorder_max: Option<u32>,
    /// First retry wait [default: 50ms].
    #[arg(long, value_name = "DUR")]
    pub retry_base: Option<Dur>,
    /// Growth of each retry wait, 1..=100 [default: 2].
    #[arg(long, value_name = "X", value_parser = ratio("retry_factor", 1.0, 100.0, false))]
    pub retry_factor: Option<f64>,
    /// Longest retry wait [default: 1s].
    #[arg(long, value_name = "DUR")]
    pub retry_cap: Option<Dur>,
    /// Waits drawn in [d × (1 − J), d], 0 to below 1 [default: 0.2].
    #[arg(long, value_name = "J", value_parser = ratio("retry_jitter", 0.0, 1.0, true))]
    pub retry_jitter: Option<f64>,
    /// Attempts per message and hop, 1..=255 [default: 5].
    #[arg(long, value_name = "N", value_parser = bounded("max_attempts", 1, super::config::ATTEMPTS_MAX))]
    pub max_attempts: Option<u32>,
    /// Ids a receiver remembers [default: 1024].
    #[arg(long, value_name = "N", value_parser = bounded("dedup_window", 1, u32::MAX))]
    pub dedup_window: Option<u32>,
    /// The dedup window does not survive a crash.
    #[arg(long)]
    pub dedup_volatile: bool,
    /// A request unanswered this long times out [default: 200ms].
    #[arg(long, value_name = "DUR")]
    pub request_timeout: Option<Dur>,
    /// Deliveries a broker may queue, 0 for no limit [default: 0].
    #[arg(long, value_name = "N")]
    pub queue_capacity: Option<u32>,
    /// drop-newest | drop-oldest | refuse [default: drop-newest].
    #[arg(long, value_name = "POLICY")]
    pub queue_policy: Option<QueuePolicy>,
    /// Time a broker takes per delivery sent [default: 0s].
    #[arg(long, value_name = "DUR")]
    pub service_time: Option<Dur>,
    /// Unacknowledged deliveries per subscriber, 0 for no limit [default: 0].
    #[arg(long, value_name = "N")]
    pub prefetch: Option<u32>,
    /// Time a client takes to process a delivery [default: 0s].
    #[arg(long, value_name = "DUR")]
    pub consume_time: Option<Dur>,
    /// The first N clients are slow consumers [default: 0].
    #[arg(long, value_name = "N")]
    pub slow_consumers: Option<u32>,
    /// A slow consumer's processing time [default: 10ms].
    #[arg(long, value_name = "DUR")]
    pub slow_consume_time: Option<Dur>,
    /// Interval of the queue_len and retry_traffic series [default: 100ms].
    #[arg(long, value_name = "DUR")]
    pub sample_every: Option<Dur>,
    /// Step of the latency_cdf series [default: 1ms].
    #[arg(long, value_name = "DUR")]
    pub cdf_step: Option<Dur>,
    /// Points of the latency_cdf series, 1..=100000 [default: 200].
    #[arg(long, value_name = "N", value_parser = bounded("cdf_points", 1, super::config::CDF_POINTS_MAX))]
    pub cdf_points: Option<u32>,
    /// correct | forget-dedup | ack-before-store | no-backoff (deliberately broken variants).
    #[arg(long, value_name = "VARIANT")]
    pub variant: Option<BusVariant>,
}

impl Flags<BusConfig> for BusFlags {
    fn apply(&self, cfg: &mut BusConfig) -> Result<(), String> {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { cfg.$f = v; } )* };
        }
        set!(
            brokers,
            topics,
            topic_skew,
            subscribers_per_topic,
            wildcard_subscribers,
            mix,
            pattern_ratio,
            guarantee,
            override_ratio,
            override_guarantee,
            gap_timeout,
            reorder_max,
            retry_base,
            retry_factor,
            retry_cap,
            retry_jitter,
            max_attempts,
            dedup_window,
            request_timeout,
            queue_capacity,
            queue_policy,
            service_time,
            prefetch,
            consume_time,
            slow_consumers,
            slow_consume_time,
            sample_every,
            cdf_step,
            cdf_points,
            variant
        );
        if !self.topic_levels.is_empty() {
            cfg.topic_levels = self.topic_levels.clone();
        }
        if !self.patterns.is_empty() {
            cfg.patterns = self.patterns.clone();
        }
        if !self.topic_guarantees.is_empty() {
            cfg.topic_guarantees = self.topic_guarantees.clone();
        }
        cfg.fifo |= self.fifo_order;
        if self.dedup_volatile {
            cfg.dedup_durable = false;
        }
        Ok(())
    }
}
