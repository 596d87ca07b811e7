//! Swarm testing (`check --swarm`): each seed also draws its fault mix,
//! which fault kinds are on and at what rate, as TigerBeetle's simulator
//! draws its options from the seed and Groce et al.'s swarm testing (ISSTA
//! 2012) switches features on and off per test. A fixed mix runs every kind
//! at once, at one rate: a bug that needs crashes without partitions (which
//! would mask it) or a high loss rate is then found rarely or never.
//!
//! ```text
//!  seed ──► stream 6 (swarm) ──► FaultMix ──apply──► Scenario ──► run (streams 0..5 as usual)
//!                                   │
//!                                   └──flags──► "agentsim run P ... --loss 0.137 --crash-mttf 812ms --seed S"
//! ```
//!
//! **Kinds** ([`FaultKind`]): `loss` (`--loss`), `dup` (`--dup`), `delay`
//! (`--latency 1ms..X`: a wider spread, so more reordering), `crash`
//! (`--crash-mttf`, `--crash-mttr`), `partition` (`--partition-mtbf`,
//! `--partition-mttr`), `drift` (`--drift-ppm-max`). Each is on with
//! probability [`SwarmBounds::on_ratio`]; when on, ratios are drawn uniformly
//! and means (durations, ppm) log-uniformly within [`SwarmBounds`], then
//! rounded to 3 significant digits, so the printed flags are the exact values
//! run.
//!
//! **Determinism.** The mix comes from its own stream
//! ([`crate::rng::stream::SWARM`]): every kind takes three draws (on, then
//! two values) at fixed positions whatever is on or kept, so a seed's mix
//! is the same on any machine and for any `--jobs`, and the run that follows
//! is exactly the plain run of the drawn scenario: `run` with the drawn
//! flags reproduces it without `--swarm`.
//!
//! **What the user set stays.** A kind whose switch the user set (a flag or
//! a scenario key: `--loss`, `--dup`, `--latency`, `--crash-mttf`,
//! `--partition-mtbf`, `--drift-ppm-max` or `--drift`) is kept as given, even
//! when set to zero (`--loss 0` keeps loss off): the swarm draws only the
//! other kinds ([`Pinned`]). A repair time the user set (`--crash-mttr`,
//! `--partition-mttr`) is kept when the swarm switches its process on.
//!
//! **Healing.** A drawn crash or partition process stops at `heal_at`
//! (default `time_max / 2`), as with fixed mixes, so liveness is judged after
//! the last fault. A `--heal-at` or `--crash-max-down` given while the mix
//! has no process for it is left out of that seed's scenario (and command).

use crate::net::latency::Latency;
use crate::rng::{stream, SimRng};
use crate::scenario::Scenario;
use crate::time::{Dur, DurRange, MS};
use serde::{Serialize, Serializer};
use std::fmt;

/// A kind of fault the swarm switches on or off per seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum FaultKind {
    /// Message loss (`--loss`).
    Loss,
    /// Message duplication (`--dup`).
    Dup,
    /// A wider latency spread, so more reordering (`--latency 1ms..X`).
    Delay,
    /// Random crashes and recoveries (`--crash-mttf`, `--crash-mttr`).
    Crash,
    /// Random partitions (`--partition-mtbf`, `--partition-mttr`).
    Partition,
    /// Clock drift of every node (`--drift-ppm-max`).
    Drift,
}

impl FaultKind {
    /// Every kind, in the order of draws and reports.
    pub const ALL: [FaultKind; 6] = [
        FaultKind::Loss,
        FaultKind::Dup,
        FaultKind::Delay,
        FaultKind::Crash,
        FaultKind::Partition,
        FaultKind::Drift,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            FaultKind::Loss => "loss",
            FaultKind::Dup => "dup",
            FaultKind::Delay => "delay",
            FaultKind::Crash => "crash",
            FaultKind::Partition => "partition",
            FaultKind::Drift => "drift",
        }
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of fault kinds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KindSet(u8);

impl KindSet {
    /// Every kind.
    pub const ALL: KindSet = KindSet(0b11_1111);

    /// Whether `k` is in the set.
    pub fn contains(self, k: FaultKind) -> bool {
        self.0 & k.bit() != 0
    }
    /// Adds `k`.
    pub fn insert(&mut self, k: FaultKind) {
        self.0 |= k.bit();
    }
    /// The kinds in the set, in [`FaultKind::ALL`] order.
    pub fn iter(self) -> impl Iterator<Item = FaultKind> {
        FaultKind::ALL
            .into_iter()
            .filter(move |&k| self.contains(k))
    }
    /// How many kinds are in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }
    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The kinds in `self` but not in `other`.
    pub fn minus(self, other: KindSet) -> KindSet {
        KindSet(self.0 & !other.0)
    }
    /// The names joined with `sep`, or `none`.
    pub fn names(self, sep: &str) -> String {
        if self.is_empty() {
            return "none".into();
        }
        self.iter()
            .map(FaultKind::name)
            .collect::<Vec<_>>()
            .join(sep)
    }
}

impl Serialize for KindSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter().map(FaultKind::name))
    }
}

/// Where the swarm draws: the chance that a kind is on, and the range of
/// each rate when it is. Written (flag `--swarm-bounds`, and in reports) as
/// `on=0.5,loss=0.01..0.3,...`; a key left out keeps its default.
#[derive(Clone, Debug, PartialEq)]
pub struct SwarmBounds {
    /// Probability that each kind is on for a seed, in `0..=1`.
    pub on_ratio: f64,
    /// Loss ratio, drawn uniformly (`0 <= lo <= hi <= 1`).
    pub loss: (f64, f64),
    /// Duplication ratio, drawn uniformly (`0 <= lo <= hi <= 1`).
    pub dup: (f64, f64),
    /// Upper end `X` of the latency `1ms..X` of `delay`, log-uniform (at least 1ms).
    pub latency_max: DurRange,
    /// Mean time to failure of each node, log-uniform.
    pub crash_mttf: DurRange,
    /// Mean time to repair after a crash, log-uniform.
    pub crash_mttr: DurRange,
    /// Mean time between partitions, log-uniform.
    pub partition_mtbf: DurRange,
    /// Mean duration of a partition, log-uniform.
    pub partition_mttr: DurRange,
    /// Bound of every node's clock drift in ppm, log-uniform (`1 <= lo <= hi <= 999999`).
    pub drift_ppm_max: (u32, u32),
}

/// The latency lower bound of a `delay` mix (the default latency's).
pub const LATENCY_MIN: Dur = Dur(MS);

impl Default for SwarmBounds {
    /// Rates that stress without leaving the protocols' models: loss and
    /// duplication up to 30% (TigerBeetle's simulator goes to 30% loss);
    /// latency up to 100ms (the rounds of the synchronous protocols are
    /// 100ms and more); crashes and partitions from several per second to
    /// about one per run; drift up to 1000 ppm, the bound contract net's
    /// leases assume by default.
    fn default() -> Self {
        let r = |lo: u64, hi: u64| DurRange::new(Dur(lo), Dur(hi));
        SwarmBounds {
            on_ratio: 0.5,
            loss: (0.01, 0.3),
            dup: (0.01, 0.3),
            latency_max: r(10 * MS, 100 * MS),
            crash_mttf: r(100 * MS, 10_000 * MS),
            crash_mttr: r(MS, 1_000 * MS),
            partition_mtbf: r(100 * MS, 10_000 * MS),
            partition_mttr: r(10 * MS, 2_000 * MS),
            drift_ppm_max: (10, 1000),
        }
    }
}

/// The keys of a bounds spelling, in order.
const KEYS: [&str; 9] = [
    "on",
    "loss",
    "dup",
    "latency-max",
    "crash-mttf",
    "crash-mttr",
    "partition-mtbf",
    "partition-mttr",
    "drift-ppm-max",
];

impl fmt::Display for SwarmBounds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = |r: &DurRange| format!("{}..{}", r.lo, r.hi);
        write!(
            f,
            "on={},loss={}..{},dup={}..{},latency-max={},crash-mttf={},crash-mttr={},partition-mtbf={},partition-mttr={},drift-ppm-max={}..{}",
            self.on_ratio,
            self.loss.0,
            self.loss.1,
            self.dup.0,
            self.dup.1,
            d(&self.latency_max),
            d(&self.crash_mttf),
            d(&self.crash_mttr),
            d(&self.partition_mtbf),
            d(&self.partition_mttr),
            self.drift_ppm_max.0,
            self.drift_ppm_max.1
        )
    }
}

impl Serialize for SwarmBounds {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl std::str::FromStr for SwarmBounds {
    type Err = String;
    /// `on=0.5,loss=0.01..0.3,crash-mttf=100ms..10s,...`: the defaults with
    /// the keys given; a single value is a range of one (`loss=0.1`).
    fn from_str(s: &str) -> Result<Self, String> {
        let mut b = SwarmBounds::default();
        let mut seen: Vec<&str> = Vec::new();
        for part in s.split(',').filter(|p| !p.trim().is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| {
                format!(
                    "'{part}' is not KEY=VALUE (accepted keys: {})",
                    KEYS.join(", ")
                )
            })?;
            let (k, v) = (k.trim(), v.trim());
            if seen.contains(&k) {
                return Err(format!("key '{k}' given twice (accepted: each once)"));
            }
            seen.push(k);
            let pair = |v: &str| -> (String, String) {
                match v.split_once("..") {
                    Some((lo, hi)) => (lo.trim().to_string(), hi.trim().to_string()),
                    None => (v.to_string(), v.to_string()),
                }
            };
            let ratio = |x: &str| -> Result<f64, String> {
                x.parse::<f64>()
                    .ok()
                    .filter(|r| (0.0..=1.0).contains(r))
                    .ok_or_else(|| {
                        format!("{k}={v}: '{x}' out of range (accepted: a ratio in 0..=1)")
                    })
            };
            let ratios = |v: &str| -> Result<(f64, f64), String> {
                let (lo, hi) = pair(v);
                let (lo, hi) = (ratio(&lo)?, ratio(&hi)?);
                if lo > hi {
                    return Err(format!(
                        "{k}={v}: lower bound above the upper one (accepted: LO..HI with LO <= HI)"
                    ));
                }
                Ok((lo, hi))
            };
            let durs = |v: &str| -> Result<DurRange, String> {
                let (lo, hi) = pair(v);
                let p = |x: &str| x.parse::<Dur>().map_err(|e| format!("{k}={v}: {e}"));
                let (lo, hi) = (p(&lo)?, p(&hi)?);
                if lo.0 == 0 {
                    return Err(format!(
                        "{k}={v}: must be above 0 (accepted: positive durations LO..HI)"
                    ));
                }
                if lo > hi {
                    return Err(format!(
                        "{k}={v}: lower bound above the upper one (accepted: LO..HI with LO <= HI)"
                    ));
                }
                Ok(DurRange::new(lo, hi))
            };
            match k {
                "on" => b.on_ratio = ratio(v)?,
                "loss" => b.loss = ratios(v)?,
                "dup" => b.dup = ratios(v)?,
                "latency-max" => {
                    b.latency_max = durs(v)?;
                    if b.latency_max.lo < LATENCY_MIN {
                        return Err(format!(
                            "{k}={v}: below {LATENCY_MIN}, the latency's lower bound (accepted: {LATENCY_MIN} and above)"
                        ));
                    }
                }
                "crash-mttf" => b.crash_mttf = durs(v)?,
                "crash-mttr" => b.crash_mttr = durs(v)?,
                "partition-mtbf" => b.partition_mtbf = durs(v)?,
                "partition-mttr" => b.partition_mttr = durs(v)?,
                "drift-ppm-max" => {
                    let (lo, hi) = pair(v);
                    let ppm = |x: &str| {
                        x.parse::<u32>()
                            .ok()
                            .filter(|p| (1..=999_999).contains(p))
                            .ok_or_else(|| format!("{k}={v}: '{x}' out of range (accepted: whole ppm in 1..=999999)"))
                    };
                    let (lo, hi) = (ppm(&lo)?, ppm(&hi)?);
                    if lo > hi {
                        return Err(format!("{k}={v}: lower bound above the upper one (accepted: LO..HI with LO <= HI)"));
                    }
                    b.drift_ppm_max = (lo, hi);
                }
                other => {
                    return Err(format!(
                        "unknown key '{other}' (accepted: {})",
                        KEYS.join(", ")
                    ))
                }
            }
        }
        Ok(b)
    }
}

/// What the user set, which the swarm keeps as given.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pinned {
    /// Kinds whose switch was set: never drawn.
    pub kinds: KindSet,
    /// The crash repair time was set: kept when crashes are drawn on.
    pub crash_mttr: bool,
    /// The partition duration was set: kept when partitions are drawn on.
    pub partition_mttr: bool,
}

impl Pinned {
    /// The kinds already on in `sc` (a library caller's rule: what differs
    /// from the defaults is the caller's); the command line pins what its
    /// flags and scenario file name, even at zero.
    pub fn from_scenario(sc: &Scenario) -> Pinned {
        let d = Scenario::default();
        let mut kinds = KindSet::default();
        let f = &sc.faults;
        for (k, on) in [
            (FaultKind::Loss, sc.net.loss_ratio != 0.0),
            (FaultKind::Dup, sc.net.dup_ratio != 0.0),
            (FaultKind::Delay, sc.net.latency != d.net.latency),
            (FaultKind::Crash, f.crash_mttf.is_some()),
            (FaultKind::Partition, f.partition_mtbf.is_some()),
            (
                FaultKind::Drift,
                f.drift_ppm_max != 0 || !f.drift.is_empty(),
            ),
        ] {
            if on {
                kinds.insert(k);
            }
        }
        Pinned {
            kinds,
            crash_mttr: f.crash_mttr != d.faults.crash_mttr,
            partition_mttr: f.partition_mttr != d.faults.partition_mttr,
        }
    }
}

/// One seed's drawn fault mix: the kinds on and the values drawn for them
/// (only for kinds the swarm draws; `None` for the rest).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FaultMix {
    /// Drawn kinds that are on.
    pub on: KindSet,
    /// `--loss`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss_ratio: Option<f64>,
    /// `--dup`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dup_ratio: Option<f64>,
    /// `--latency`.
    #[serde(skip_serializing_if = "Option::is_none", serialize_with = "display")]
    pub latency: Option<Latency>,
    /// `--crash-mttf`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crash_mttf: Option<Dur>,
    /// `--crash-mttr` (when not set by the user).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crash_mttr: Option<Dur>,
    /// `--partition-mtbf`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition_mtbf: Option<Dur>,
    /// `--partition-mttr` (when not set by the user).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition_mttr: Option<Dur>,
    /// `--drift-ppm-max`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift_ppm_max: Option<u32>,
    /// Flags of the base scenario left out because no random process is on
    /// for them in this mix (`--heal-at`, `--crash-max-down`, a repair time).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub cleared: Vec<&'static str>,
}

fn display<S: Serializer>(l: &Option<Latency>, s: S) -> Result<S::Ok, S::Error> {
    match l {
        Some(l) => s.collect_str(l),
        None => s.serialize_none(),
    }
}

impl FaultMix {
    /// The scenario of this mix: `base` with the drawn values set.
    pub fn apply(&self, base: &Scenario) -> Scenario {
        let mut sc = base.clone();
        if let Some(v) = self.loss_ratio {
            sc.net.loss_ratio = v;
        }
        if let Some(v) = self.dup_ratio {
            sc.net.dup_ratio = v;
        }
        if let Some(v) = &self.latency {
            sc.net.latency = v.clone();
        }
        if let Some(v) = self.crash_mttf {
            sc.faults.crash_mttf = Some(v);
        }
        if let Some(v) = self.crash_mttr {
            sc.faults.crash_mttr = v;
        }
        if let Some(v) = self.partition_mtbf {
            sc.faults.partition_mtbf = Some(v);
        }
        if let Some(v) = self.partition_mttr {
            sc.faults.partition_mttr = v;
        }
        if let Some(v) = self.drift_ppm_max {
            sc.faults.drift_ppm_max = v;
        }
        let off = crate::net::faults::FaultConfig::default();
        for &c in &self.cleared {
            match c {
                "--heal-at" => sc.faults.heal_at = None,
                "--crash-max-down" => sc.faults.crash_max_down = None,
                "--crash-mttr" => sc.faults.crash_mttr = off.crash_mttr,
                "--partition-mttr" => sc.faults.partition_mttr = off.partition_mttr,
                _ => unreachable!("only these are cleared"),
            }
        }
        sc
    }

    /// The drawn values as command-line flags, in [`FaultKind::ALL`] order.
    pub fn flags(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut push = |flag: &str, v: Option<String>| {
            if let Some(v) = v {
                out.push(flag.to_string());
                out.push(v);
            }
        };
        push("--loss", self.loss_ratio.map(|v| v.to_string()));
        push("--dup", self.dup_ratio.map(|v| v.to_string()));
        push("--latency", self.latency.as_ref().map(|v| v.to_string()));
        push("--crash-mttf", self.crash_mttf.map(|v| v.to_string()));
        push("--crash-mttr", self.crash_mttr.map(|v| v.to_string()));
        push(
            "--partition-mtbf",
            self.partition_mtbf.map(|v| v.to_string()),
        );
        push(
            "--partition-mttr",
            self.partition_mttr.map(|v| v.to_string()),
        );
        push("--drift-ppm-max", self.drift_ppm_max.map(|v| v.to_string()));
        out
    }
}

/// The swarm of a check: bounds, what is kept, and the base's settings
/// that depend on a random process.
#[derive(Clone, Debug)]
pub struct Swarm {
    /// Where rates are drawn.
    pub bounds: SwarmBounds,
    /// What the user set.
    pub pinned: Pinned,
    base_heal_at: bool,
    base_crash_max_down: bool,
}

impl Swarm {
    /// The swarm over `base`. Refused (one line) when a scenario it can
    /// draw would be invalid: `base` with no drawn kind on, then with every
    /// drawn kind on at the lower bounds and at the upper bounds, are
    /// validated (the checks on these settings are ranges).
    pub fn new(base: &Scenario, bounds: SwarmBounds, pinned: Pinned) -> Result<Swarm, String> {
        let swarm = Swarm {
            bounds,
            pinned,
            base_heal_at: base.faults.heal_at.is_some(),
            base_crash_max_down: base.faults.crash_max_down.is_some(),
        };
        // First the base itself (less what only a drawn process allows):
        // its errors are the user's, said as without --swarm.
        let none = swarm.mix_of([(false, 0.0, 0.0); 6]).apply(base);
        none.validate().map_err(|e| e.to_string())?;
        for (what, u) in [("lower", 0.0), ("upper", 1.0)] {
            let sc = swarm.mix_of([(true, u, u); 6]).apply(base);
            sc.validate().map_err(|e| {
                format!("--swarm: the scenario with every drawn fault kind on at the {what} bounds is refused: {e}")
            })?;
        }
        Ok(swarm)
    }

    /// The kinds this swarm draws (those not pinned).
    pub fn drawn(&self) -> KindSet {
        KindSet::ALL.minus(self.pinned.kinds)
    }

    /// The mix of `seed`, from its own stream.
    pub fn mix(&self, seed: u64) -> FaultMix {
        let mut rng = SimRng::new(seed, stream::SWARM);
        let mut draws = [(false, 0.0, 0.0); 6];
        for d in &mut draws {
            let on = rng.chance(self.bounds.on_ratio);
            *d = (on, rng.unit(), rng.unit());
        }
        self.mix_of(draws)
    }

    /// The mix of one `(on, u1, u2)` triple per kind, `u` in `[0, 1]`.
    fn mix_of(&self, draws: [(bool, f64, f64); 6]) -> FaultMix {
        let b = &self.bounds;
        let mut m = FaultMix {
            on: KindSet::default(),
            loss_ratio: None,
            dup_ratio: None,
            latency: None,
            crash_mttf: None,
            crash_mttr: None,
            partition_mtbf: None,
            partition_mttr: None,
            drift_ppm_max: None,
            cleared: Vec::new(),
        };
        for (k, (on, u1, u2)) in FaultKind::ALL.into_iter().zip(draws) {
            if !on || self.pinned.kinds.contains(k) {
                continue;
            }
            m.on.insert(k);
            match k {
                FaultKind::Loss => m.loss_ratio = Some(uniform_ratio(b.loss, u1)),
                FaultKind::Dup => m.dup_ratio = Some(uniform_ratio(b.dup, u1)),
                FaultKind::Delay => {
                    let hi = log_uniform_dur(b.latency_max, u1).max(LATENCY_MIN);
                    m.latency = Some(Latency::Uniform(DurRange::new(LATENCY_MIN, hi)));
                }
                FaultKind::Crash => {
                    m.crash_mttf = Some(log_uniform_dur(b.crash_mttf, u1));
                    if !self.pinned.crash_mttr {
                        m.crash_mttr = Some(log_uniform_dur(b.crash_mttr, u2));
                    }
                }
                FaultKind::Partition => {
                    m.partition_mtbf = Some(log_uniform_dur(b.partition_mtbf, u1));
                    if !self.pinned.partition_mttr {
                        m.partition_mttr = Some(log_uniform_dur(b.partition_mttr, u2));
                    }
                }
                FaultKind::Drift => {
                    let (lo, hi) = b.drift_ppm_max;
                    let v = round_sig(log_uniform(lo as f64, hi as f64, u1).round() as u64);
                    m.drift_ppm_max = Some((v as u32).clamp(lo, hi));
                }
            }
        }
        let process = |k| m.on.contains(k) || self.pinned.kinds.contains(k);
        if self.base_heal_at && !process(FaultKind::Crash) && !process(FaultKind::Partition) {
            m.cleared.push("--heal-at");
        }
        if self.base_crash_max_down && !process(FaultKind::Crash) {
            m.cleared.push("--crash-max-down");
        }
        // A repair time the user set counts only when its process is on.
        if self.pinned.crash_mttr && !process(FaultKind::Crash) {
            m.cleared.push("--crash-mttr");
        }
        if self.pinned.partition_mttr && !process(FaultKind::Partition) {
            m.cleared.push("--partition-mttr");
        }
        m
    }
}

/// `lo + u (hi - lo)`, to 3 significant digits, within the bounds.
fn uniform_ratio((lo, hi): (f64, f64), u: f64) -> f64 {
    let v = lo + u * (hi - lo);
    // Exact decimal rounding through the formatter (correctly rounded on
    // every platform), so the printed flag is the value run.
    let v: f64 = format!("{v:.2e}")
        .parse()
        .expect("a formatted float parses");
    v.clamp(lo, hi)
}

/// `exp(ln lo + u (ln hi - ln lo))` with the pure-Rust `libm`.
fn log_uniform(lo: f64, hi: f64, u: f64) -> f64 {
    let (a, b) = (libm::log(lo), libm::log(hi));
    libm::exp(a + u * (b - a)).clamp(lo, hi)
}

fn log_uniform_dur(r: DurRange, u: f64) -> Dur {
    let v = log_uniform(r.lo.0 as f64, r.hi.0 as f64, u).round() as u64;
    Dur(round_sig(v).clamp(r.lo.0, r.hi.0))
}

/// `v` rounded to 3 significant digits (half up).
fn round_sig(v: u64) -> u64 {
    let mut p = 1u64;
    while v / p >= 1000 {
        p *= 10;
    }
    if p == 1 {
        return v;
    }
    (v / p + u64::from(v % p >= p / 2)).saturating_mul(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raft() -> Scenario {
        Scenario::for_protocol(crate::protocols::registry().get("raft").unwrap())
    }

    #[test]
    fn rounding_keeps_three_significant_digits() {
        assert_eq!(round_sig(812_345_678), 812_000_000);
        assert_eq!(round_sig(1_235_000), 1_240_000);
        assert_eq!(round_sig(999), 999);
        assert_eq!(round_sig(99_960), 100_000);
        assert_eq!(uniform_ratio((0.01, 0.3), 0.4321), 0.135);
    }

    #[test]
    fn a_seed_draws_the_same_mix_and_seeds_differ() {
        let s = Swarm::new(&raft(), SwarmBounds::default(), Pinned::default()).unwrap();
        assert_eq!(s.mix(7), s.mix(7));
        let mixes: Vec<KindSet> = (0..64).map(|seed| s.mix(seed).on).collect();
        let distinct: std::collections::BTreeSet<u8> = mixes.iter().map(|k| k.0).collect();
        assert!(
            distinct.len() > 20,
            "64 seeds gave {} mixes",
            distinct.len()
        );
        // Each kind is on in about half the seeds.
        for k in FaultKind::ALL {
            let on = (0..2000).filter(|&seed| s.mix(seed).on.contains(k)).count();
            assert!((850..1150).contains(&on), "{} on in {on} of 2000", k.name());
        }
    }

    #[test]
    fn drawn_values_lie_within_the_bounds_and_print_exactly() {
        let b = SwarmBounds::default();
        let s = Swarm::new(&raft(), b.clone(), Pinned::default()).unwrap();
        for seed in 0..500 {
            let m = s.mix(seed);
            if let Some(v) = m.loss_ratio {
                assert!((b.loss.0..=b.loss.1).contains(&v), "{v}");
                assert_eq!(v.to_string().parse::<f64>().unwrap(), v);
            }
            for (v, r) in [
                (m.crash_mttf, b.crash_mttf),
                (m.crash_mttr, b.crash_mttr),
                (m.partition_mtbf, b.partition_mtbf),
                (m.partition_mttr, b.partition_mttr),
            ] {
                if let Some(v) = v {
                    assert!(r.lo <= v && v <= r.hi, "{v} outside {r}");
                    assert_eq!(v.to_string().parse::<Dur>().unwrap(), v);
                }
            }
            if let Some(p) = m.drift_ppm_max {
                assert!((b.drift_ppm_max.0..=b.drift_ppm_max.1).contains(&p));
            }
            // The flags, parsed back by the scenario's own parsers, give the same scenario.
            let sc = m.apply(&raft());
            sc.validate().unwrap();
            let f = m.flags();
            for pair in f.chunks(2) {
                match pair[0].as_str() {
                    "--latency" => assert_eq!(pair[1].parse::<Latency>().unwrap(), sc.net.latency),
                    "--crash-mttf" => {
                        assert_eq!(Some(pair[1].parse::<Dur>().unwrap()), sc.faults.crash_mttf)
                    }
                    _ => {}
                }
            }
        }
    }

    #[test]
    fn a_pinned_kind_is_kept_and_others_draw_the_same() {
        let free = Swarm::new(&raft(), SwarmBounds::default(), Pinned::default()).unwrap();
        let mut base = raft();
        base.net.loss_ratio = 0.2;
        base.faults.crash_mttr = Dur::from_ms(7);
        let pinned = Pinned::from_scenario(&base);
        assert!(pinned.kinds.contains(FaultKind::Loss) && pinned.crash_mttr);
        let kept = Swarm::new(&base, SwarmBounds::default(), pinned).unwrap();
        for seed in 0..200 {
            let (a, b) = (free.mix(seed), kept.mix(seed));
            assert_eq!(b.loss_ratio, None);
            assert_eq!(a.on.minus(KindSet(FaultKind::Loss.bit())), b.on);
            assert_eq!(a.crash_mttf, b.crash_mttf);
            assert_eq!(b.crash_mttr, None);
            let sc = b.apply(&base);
            assert_eq!(sc.net.loss_ratio, 0.2);
            if b.on.contains(FaultKind::Crash) {
                assert_eq!(sc.faults.crash_mttr, Dur::from_ms(7));
            }
        }
    }

    #[test]
    fn a_drawn_process_heals_before_the_liveness_deadline() {
        let base = raft();
        let s = Swarm::new(&base, SwarmBounds::default(), Pinned::default()).unwrap();
        let mut processes = 0;
        for seed in 0..200 {
            let sc = s.mix(seed).apply(&base);
            let t = sc.time_max.0;
            if sc.faults.has_random_process() {
                processes += 1;
                let heal = sc.faults.heal_time(t).unwrap();
                assert!(heal < t && sc.faults.quiet_time(t) + sc.liveness_bound.0 <= t);
            }
        }
        assert!(processes > 100, "{processes}");
    }

    #[test]
    fn heal_at_is_left_out_when_no_process_is_on() {
        let mut base = raft();
        base.faults.heal_at = Some(Dur::from_ms(3000));
        let s = Swarm::new(&base, SwarmBounds::default(), Pinned::default()).unwrap();
        for seed in 0..100 {
            let m = s.mix(seed);
            let sc = m.apply(&base);
            sc.validate().unwrap();
            let on = m.on.contains(FaultKind::Crash) || m.on.contains(FaultKind::Partition);
            assert_eq!(sc.faults.heal_at.is_some(), on);
            assert_eq!(m.cleared.contains(&"--heal-at"), !on);
        }
    }

    #[test]
    fn a_repair_time_set_is_left_out_when_its_process_is_off() {
        let mut base = raft();
        base.faults.crash_mttr = Dur::from_ms(5);
        let pinned = Pinned {
            crash_mttr: true,
            ..Pinned::default()
        };
        let s = Swarm::new(&base, SwarmBounds::default(), pinned).unwrap();
        let mut seen = [false; 2];
        for seed in 0..100 {
            let m = s.mix(seed);
            let sc = m.apply(&base);
            sc.validate().unwrap();
            let on = m.on.contains(FaultKind::Crash);
            seen[on as usize] = true;
            let kept = if on {
                Dur::from_ms(5)
            } else {
                Dur::from_ms(500)
            };
            assert_eq!(sc.faults.crash_mttr, kept);
            assert_eq!(m.cleared.contains(&"--crash-mttr"), !on);
        }
        assert_eq!(seen, [true, true]);
    }

    #[test]
    fn bounds_spellings() {
        let b: SwarmBounds = SwarmBounds::default().to_string().parse().unwrap();
        assert_eq!(b, SwarmBounds::default());
        let b: SwarmBounds = "on=1,loss=0.2".parse().unwrap();
        assert_eq!((b.on_ratio, b.loss), (1.0, (0.2, 0.2)));
        for (bad, says) in [
            ("loss=0.1..1.5", "0..=1"),
            ("loss=0.3..0.1", "LO <= HI"),
            ("on=2", "0..=1"),
            ("crash-mttf=0s..1s", "above 0"),
            ("latency-max=10us..1ms", "1ms"),
            ("drift-ppm-max=0..10", "1..=999999"),
            ("speed=3", "accepted: on, loss"),
            ("loss=0.1,loss=0.2", "twice"),
        ] {
            let e = bad.parse::<SwarmBounds>().unwrap_err();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
