//! Gossip parameters: one validated [`GossipConfig`] per run, written in the
//! `[protocol]` table of a scenario (`name = "gossip"`) or set by flags
//! (`agentsim run gossip --help`).
//!
//! Every enum is spelled in kebab-case in files and flags; every parse error is
//! one line naming the field and the accepted values.

use crate::time::Dur;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Largest fanout accepted (peers contacted per round).
pub const FANOUT_MAX: u32 = 32;
/// Largest `k` accepted (the rumor counter is a byte).
pub const K_MAX: u32 = 255;
/// Largest number of keys accepted (keys are 16-bit ids in messages).
pub const KEYS_MAX: u32 = 65_535;
/// Largest number of writes per writer (the write count is a 16-bit field of a node).
pub const WRITES_MAX: u32 = 65_535;

/// What spreads updates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// Rumor mongering (Demers et al. §1.4): infective nodes spread their hot
    /// update until they lose interest (see [`Removal`]). With `removal = never`
    /// this is the simple epidemic of Pittel (push) and Karp et al. (push-pull).
    #[default]
    Rumor,
    /// Anti-entropy (Demers et al. §1.3): every node periodically reconciles its
    /// whole key-value state (or a window of `keys_per_exchange` keys) with a peer.
    AntiEntropy,
}

/// Which way an exchange carries updates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// The caller sends what it has.
    #[default]
    Push,
    /// The caller asks for what it lacks.
    Pull,
    /// Both, in one contact.
    PushPull,
}

/// When nodes gossip.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Timing {
    /// Synchronous rounds, as the theory assumes: every node gossips at the same
    /// instants `r * period`; with latency below the period, messages arrive within
    /// the round. Round `r` is `[r * period, (r+1) * period)`.
    #[default]
    Sync,
    /// Each node on its own phase: the first round at a uniform offset in
    /// `[0, period)`, then every `period ± jitter`.
    Async,
}

/// What counts toward losing interest in a rumor (Demers et al. §1.4, "blind vs feedback").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InterestLoss {
    /// Only unnecessary contacts count: the recipient already knew the rumor.
    #[default]
    Feedback,
    /// Every contact counts, whatever the recipient knew.
    Blind,
}

/// How an infective node loses interest (Demers et al. §1.4, "counter vs coin").
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Removal {
    /// Never: infective forever (the simple epidemic; rumor spreading of Pittel
    /// and Karp et al.).
    #[default]
    Never,
    /// After `k` counted contacts; with feedback, `k` consecutive ones (a
    /// necessary contact starts the count again, as the paper's traffic bounds
    /// imply); blind, any `k` contacts.
    Counter,
    /// At each counted contact, with probability `1/k`.
    Coin,
}

/// How an infective node answers pulls in rumor mongering (`direction = pull`
/// or the pull half of `push-pull`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PullRule {
    /// Demers et al. 1987, §1.4, the rules of their Table 3: an infective callee
    /// sends its update to every caller, whatever the caller holds (the traffic
    /// counts each); the caller's answer tells it whether the caller needed it;
    /// its counter moves once per cycle: "if any recipient needed the update
    /// then the counter is reset; if all recipients did not need the update
    /// then one is added to the counter".
    #[default]
    Paper,
    /// An optimization that is NOT the paper's model: the request carries the
    /// caller's version, the callee sends the update only to callers that lack
    /// it, and counts every caller that already had it (a caller that lacked it
    /// restarts the counter). Fewer update messages, and a different residue.
    Versioned,
}

/// When writers write.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WriteTiming {
    /// Write `i` (1-based) of every writer at `i * write_every`.
    #[default]
    Scheduled,
    /// Gaps drawn from an exponential distribution with mean `write_every`.
    Random,
}

/// Deliberately broken behaviours, selected by `variant`, for seeing the
/// property checkers catch bugs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GossipVariant {
    /// The protocol as the papers state it.
    #[default]
    Correct,
    /// A node that learns an update stores a value no writer wrote ("no invention").
    Invent,
    /// A received entry replaces the local one whenever they differ, so older
    /// versions overwrite newer ones ("convergence").
    OlderWins,
}

macro_rules! kebab_enum {
    ($ty:ty, $field:literal, [$(($name:literal, $v:expr)),+ $(,)?]) => {
        impl $ty {
            /// Every value with its name, as the setting spells it.
            pub const ALL: &'static [(&'static str, $ty)] = &[$(($name, $v)),+];
            /// The name of the value, as the setting spells it.
            pub fn as_str(self) -> &'static str {
                Self::ALL.iter().find(|(_, v)| *v == self).map(|(n, _)| *n).unwrap_or("?")
            }
        }
        impl FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, String> {
                Self::ALL
                    .iter()
                    .find(|(n, _)| *n == s.trim())
                    .map(|(_, v)| *v)
                    .ok_or_else(|| {
                        let names: Vec<&str> = Self::ALL.iter().map(|(n, _)| *n).collect();
                        format!(concat!($field, " '{}' unknown (accepted: {})"), s, names.join(", "))
                    })
            }
        }
        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

kebab_enum!(
    Mode,
    "gossip.mode",
    [("rumor", Mode::Rumor), ("anti-entropy", Mode::AntiEntropy)]
);
kebab_enum!(
    Direction,
    "gossip.direction",
    [
        ("push", Direction::Push),
        ("pull", Direction::Pull),
        ("push-pull", Direction::PushPull)
    ]
);
kebab_enum!(
    Timing,
    "gossip.timing",
    [("sync", Timing::Sync), ("async", Timing::Async)]
);
kebab_enum!(
    InterestLoss,
    "gossip.interest_loss",
    [
        ("feedback", InterestLoss::Feedback),
        ("blind", InterestLoss::Blind)
    ]
);
kebab_enum!(
    Removal,
    "gossip.removal",
    [
        ("never", Removal::Never),
        ("counter", Removal::Counter),
        ("coin", Removal::Coin)
    ]
);
kebab_enum!(
    PullRule,
    "gossip.pull_rule",
    [("paper", PullRule::Paper), ("versioned", PullRule::Versioned)]
);
kebab_enum!(
    WriteTiming,
    "gossip.write_timing",
    [
        ("scheduled", WriteTiming::Scheduled),
        ("random", WriteTiming::Random)
    ]
);
kebab_enum!(
    GossipVariant,
    "gossip.variant",
    [
        ("correct", GossipVariant::Correct),
        ("invent", GossipVariant::Invent),
        ("older-wins", GossipVariant::OlderWins),
    ]
);

impl Direction {
    /// Whether the caller sends its own updates.
    pub fn pushes(self) -> bool {
        matches!(self, Direction::Push | Direction::PushPull)
    }
    /// Whether the caller asks for the peer's updates.
    pub fn pulls(self) -> bool {
        matches!(self, Direction::Pull | Direction::PushPull)
    }
}

/// The parameters of a gossip run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GossipConfig {
    /// Rumor mongering or anti-entropy.
    pub mode: Mode,
    /// Push, pull or push-pull (of the rumor mongering, or of anti-entropy in that mode).
    pub direction: Direction,
    /// Peers contacted per round, chosen uniformly without replacement among the
    /// node's topology neighbours (every other node on the complete graph).
    pub fanout: u32,
    /// Time between a node's rounds.
    pub period: Dur,
    /// Synchronous rounds or each node on its own phase.
    pub timing: Timing,
    /// `async` only: each later round comes `period ± jitter` after the last (uniform).
    pub jitter: Dur,
    /// Nodes `0..informed` hold the first update (key 0, version 1) at time 0.
    pub informed: u32,
    /// Rumor mongering: which contacts count toward losing interest.
    pub interest_loss: InterestLoss,
    /// Rumor mongering: never, after `k` counted contacts, or with probability `1/k` at each.
    pub removal: Removal,
    /// Rumor mongering: the `k` of the counter or the coin.
    pub k: u32,
    /// Rumor mongering with pull or push-pull: how an infective node answers
    /// pulls and counts them (the paper's rule, or the versioned optimization).
    pub pull_rule: PullRule,
    /// Rumor mongering: run anti-entropy as a backup every `backup_period` (0s: off).
    pub backup_period: Dur,
    /// Direction of the backup anti-entropy.
    pub backup_direction: Direction,
    /// Keys in every node's store (rumor mongering spreads the updates of one key).
    pub keys: u32,
    /// Anti-entropy: keys reconciled per exchange, a window starting at a random
    /// key (0: the whole store).
    pub keys_per_exchange: u32,
    /// Nodes `0..writers` write.
    pub writers: u32,
    /// Writes per writer (0: no writes besides the first update of `informed`).
    pub writes: u32,
    /// Interval between a writer's writes (fixed, or the mean of random gaps).
    pub write_every: Dur,
    /// Scheduled or random write times.
    pub write_timing: WriteTiming,
    /// A deliberately broken behaviour, or `correct` (the default).
    pub variant: GossipVariant,
}

impl Default for GossipConfig {
    fn default() -> Self {
        GossipConfig {
            mode: Mode::Rumor,
            direction: Direction::Push,
            fanout: 1,
            period: Dur::from_ms(100),
            timing: Timing::Sync,
            jitter: Dur::ZERO,
            informed: 1,
            interest_loss: InterestLoss::Feedback,
            removal: Removal::Never,
            k: 1,
            pull_rule: PullRule::Paper,
            backup_period: Dur::ZERO,
            backup_direction: Direction::PushPull,
            keys: 1,
            keys_per_exchange: 0,
            writers: 1,
            writes: 0,
            write_every: Dur::from_ms(1000),
            write_timing: WriteTiming::Scheduled,
            variant: GossipVariant::Correct,
        }
    }
}

impl GossipConfig {
    /// Checks every field against the node count; the error names the field and the accepted range.
    pub fn validate(&self, nodes: u32) -> Result<(), String> {
        if !(1..=FANOUT_MAX).contains(&self.fanout) {
            return Err(format!(
                "gossip.fanout = {} out of range (accepted: 1..={FANOUT_MAX})",
                self.fanout
            ));
        }
        if self.period.0 == 0 {
            return Err(
                "gossip.period must be above 0 (accepted: a positive duration such as 100ms)"
                    .into(),
            );
        }
        if self.jitter >= self.period {
            return Err(format!(
                "gossip.jitter = {} out of range (accepted: below the period {})",
                self.jitter, self.period
            ));
        }
        if self.jitter.0 > 0 && self.timing == Timing::Sync {
            return Err(format!(
                "gossip.jitter = {} does nothing with synchronous rounds (accepted: with timing = \"async\" / --timing async)",
                self.jitter
            ));
        }
        if self.informed > nodes {
            return Err(format!(
                "gossip.informed = {} out of range (accepted: 0..={nodes}, the node count)",
                self.informed
            ));
        }
        if !(1..=K_MAX).contains(&self.k) {
            return Err(format!(
                "gossip.k = {} out of range (accepted: 1..={K_MAX})",
                self.k
            ));
        }
        if self.pull_rule == PullRule::Versioned
            && (self.mode != Mode::Rumor || !self.direction.pulls())
        {
            return Err(format!(
                "gossip.pull_rule = versioned applies to rumor mongering with direction pull or push-pull only (accepted: paper with mode {} and direction {})",
                self.mode, self.direction
            ));
        }
        if self.backup_period.0 > 0 && self.mode != Mode::Rumor {
            return Err(format!(
                "gossip.backup_period = {} applies to mode rumor only (accepted: 0s with mode anti-entropy)",
                self.backup_period
            ));
        }
        if !(1..=KEYS_MAX).contains(&self.keys) {
            return Err(format!(
                "gossip.keys = {} out of range (accepted: 1..={KEYS_MAX})",
                self.keys
            ));
        }
        if self.mode == Mode::Rumor && self.keys != 1 {
            return Err(format!(
                "gossip.keys = {} out of range for mode rumor (accepted: 1; rumor mongering spreads the updates of one key, use mode anti-entropy for more)",
                self.keys
            ));
        }
        if self.keys_per_exchange > self.keys {
            return Err(format!(
                "gossip.keys_per_exchange = {} out of range (accepted: 0..={}, 0 meaning all keys)",
                self.keys_per_exchange, self.keys
            ));
        }
        if self.writers > nodes {
            return Err(format!(
                "gossip.writers = {} out of range (accepted: 0..={nodes}, the node count)",
                self.writers
            ));
        }
        if self.writes > WRITES_MAX {
            return Err(format!(
                "gossip.writes = {} out of range (accepted: 0..={WRITES_MAX})",
                self.writes
            ));
        }
        if self.writes > 0 && self.write_every.0 == 0 {
            return Err("gossip.write_every must be above 0 when writes > 0 (accepted: a positive duration such as 1s)".into());
        }
        Ok(())
    }

    /// The number of writes the run is expected to make (besides the initial update).
    pub fn writes_expected(&self) -> u64 {
        self.writers as u64 * self.writes as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_round_trip_and_errors_name_the_field() {
        for (name, v) in Direction::ALL {
            assert_eq!(name.parse::<Direction>().unwrap(), *v);
            assert_eq!(v.to_string(), *name);
        }
        let e = "sideways".parse::<Direction>().unwrap_err();
        assert!(
            e.contains("gossip.direction") && e.contains("push-pull"),
            "{e}"
        );
        let e = "maybe".parse::<Removal>().unwrap_err();
        assert!(e.contains("gossip.removal") && e.contains("counter"), "{e}");
    }

    #[test]
    fn validation_names_field_and_range() {
        let bad = |f: fn(&mut GossipConfig), needle: &str| {
            let mut c = GossipConfig::default();
            f(&mut c);
            let e = c.validate(10).unwrap_err();
            assert!(e.contains(needle), "{e}");
            assert!(e.contains("accepted"), "{e}");
        };
        bad(|c| c.fanout = 0, "gossip.fanout");
        bad(|c| c.k = 0, "gossip.k");
        bad(|c| c.informed = 11, "gossip.informed");
        bad(|c| c.keys = 2, "gossip.keys");
        bad(|c| c.jitter = Dur::from_ms(100), "gossip.jitter");
        bad(|c| c.period = Dur::ZERO, "gossip.period");
        bad(|c| c.pull_rule = PullRule::Versioned, "gossip.pull_rule");
        bad(
            |c| {
                c.mode = Mode::AntiEntropy;
                c.keys = 4;
                c.keys_per_exchange = 5
            },
            "gossip.keys_per_exchange",
        );
        GossipConfig::default().validate(10).unwrap();
    }

    #[test]
    fn toml_spelling() {
        let c: GossipConfig = toml::from_str(
            "mode = \"anti-entropy\"\ndirection = \"push-pull\"\nkeys = 8\nperiod = \"50ms\"\n",
        )
        .unwrap();
        assert_eq!(c.mode, Mode::AntiEntropy);
        assert_eq!(c.direction, Direction::PushPull);
        assert_eq!(c.period, Dur::from_ms(50));
        assert!(toml::from_str::<GossipConfig>("fanot = 2").is_err());
    }
}
