//! The protocol seam: what a protocol declares ([`Spec`]), the registry the
//! rest of the crate reads ([`Registry`]), and a scenario's protocol
//! settings whatever the protocol ([`ProtocolConfig`]).
//!
//! A protocol is a folder and one line: its folder holds the state machine,
//! messages, configuration and flags, its monitor (properties, metric names
//! and series), derived settings for experiment files, and its step tests;
//! the line registers its `Spec` (built-in protocols in
//! [`crate::protocols`], out-of-tree ones with [`Registry::with`]). Nothing
//! else in the crate names it: `run`, `check`, `list`, `replay`, experiment
//! files, `sweep` and `plot` all work from the registration.
//!
//! The hot loop stays monomorphic (`Simulation<S::Node, S::Monitor>`):
//! dynamic dispatch happens once per run, here.

use crate::engine::{RunReport, Setup, Simulation};
use crate::net::faults::FaultConfig;
use crate::net::NetConfig;
use crate::node::{BehaviourKind, Message, MetricDef, Protocol, TimerTag};
use crate::observe::trace::Tracer;
use crate::observe::{Monitor, Property, SeriesDef};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::any::Any;
use std::fmt::Debug;
use std::marker::PhantomData;
use std::sync::{Arc, OnceLock};

/// What a protocol declares to plug in.
///
/// ```ignore
/// pub struct PaxosSpec;
/// impl Spec for PaxosSpec {
///     const NAME: &'static str = "paxos";
///     const SUMMARY: &'static str = "Single-decree and Multi-Paxos";
///     type Node = Paxos;
///     type Config = PaxosConfig;
///     type Monitor = PaxosMonitor;
///     type Flags = PaxosFlags;
/// }
/// ```
pub trait Spec: Send + Sync + 'static {
    /// The CLI subcommand and the scenario's `[protocol] name`.
    const NAME: &'static str;
    /// One line for `agentsim list` and `--help`.
    const SUMMARY: &'static str;
    /// The sans-IO state machine.
    type Node: Protocol<Config = Self::Config>;
    /// Its settings: the scenario's `[protocol]` table (without `name`).
    type Config: Clone + Debug + Default + PartialEq + Serialize + DeserializeOwned + Send + Sync;
    /// Its properties and metrics.
    type Monitor: Monitor<Self::Node>;
    /// Its own command-line flags, applied onto its configuration
    /// ([`NoFlags`] for none: every setting is still reachable with `--param`).
    #[cfg(feature = "cli")]
    type Flags: Flags<Self::Config>;
    /// Settings an experiment file may derive from others (`[derive]`),
    /// applied by [`Spec::derive`], in this order. None by default.
    const DERIVED: &'static [DerivedDef] = &[];

    /// Checks the settings for a run of `nodes` nodes; the error names the
    /// field (`raft.heartbeat = ...`) and the accepted range.
    fn validate(_cfg: &Self::Config, _nodes: u32) -> Result<(), String> {
        Ok(())
    }

    /// Applies the derived setting `name` (one of [`Spec::DERIVED`]) with
    /// `value` to the configuration and the rest of the scenario.
    fn derive(
        name: &str,
        _value: &toml::Value,
        _cfg: &mut Self::Config,
        _env: &mut DeriveEnv<'_>,
    ) -> Result<(), String> {
        Err(format!(
            "derive.{name}: not a derived setting of {}",
            Self::NAME
        ))
    }

    /// Heap bytes one node's state may hold besides the node itself, in a
    /// run of `nodes` nodes: part of the memory estimate made before a run
    /// ([`crate::engine::limits`]). By default two sets of `nodes` bits (the
    /// vote sets a Raft node keeps); a protocol whose state grows otherwise
    /// says so.
    fn state_bytes_per_node(_cfg: &Self::Config, nodes: u32) -> u64 {
        2 * (nodes as u64).div_ceil(8)
    }
}

/// A derived setting of an experiment file, declared by a protocol.
#[derive(Clone, Copy, Debug, Serialize)]
pub struct DerivedDef {
    /// Its key in `[derive]`.
    pub name: &'static str,
    /// Its value when not given, as a TOML value (`"false"`), or `""` for none
    /// (results show the value in use in a swept column).
    pub default: &'static str,
    /// What it sets, from what.
    pub definition: &'static str,
}

/// What a derived setting may change besides the protocol's configuration.
pub struct DeriveEnv<'a> {
    /// Number of nodes.
    pub nodes: u32,
    /// Links and topology.
    pub net: &'a mut NetConfig,
    /// Faults.
    pub faults: &'a mut FaultConfig,
}

/// A protocol's command-line flags: each overrides its setting.
#[cfg(feature = "cli")]
pub trait Flags<C>: clap::Args + Debug {
    /// Sets the configuration's fields from the flags given.
    fn apply(&self, cfg: &mut C) -> Result<(), String>;
}

/// No flags of its own: the protocol's settings are reachable with
/// `--param KEY=VALUE` and scenario files.
#[cfg(feature = "cli")]
#[derive(clap::Args, Debug, Default)]
pub struct NoFlags {}

#[cfg(feature = "cli")]
impl<C> Flags<C> for NoFlags {
    fn apply(&self, _: &mut C) -> Result<(), String> {
        Ok(())
    }
}

/// A registered protocol, as the generic layers see it (object-safe).
pub trait DynSpec: Send + Sync + 'static {
    /// [`Spec::NAME`].
    fn name(&self) -> &'static str;
    /// [`Spec::SUMMARY`].
    fn summary(&self) -> &'static str;
    /// The monitor's properties.
    fn properties(&self) -> &'static [Property];
    /// The metrics a run reports: the monitor's, then the protocol's counters.
    fn metrics(&self) -> Vec<MetricDef>;
    /// The series facts a run reports.
    fn series(&self) -> &'static [SeriesDef];
    /// The Byzantine behaviours the protocol implements.
    fn behaviours(&self) -> &'static [BehaviourKind];
    /// The message kinds.
    fn message_kinds(&self) -> &'static [&'static str];
    /// The timer names.
    fn timer_names(&self) -> &'static [&'static str];
    /// The derived settings of experiment files.
    fn derived(&self) -> &'static [DerivedDef];
    /// The default configuration.
    fn default_config(&self) -> ProtocolConfig;
    /// A configuration from its fields (a `[protocol]` table without `name`).
    fn config_from(&self, fields: serde_json::Value) -> Result<ProtocolConfig, String>;
    /// [`Spec::validate`].
    fn validate(&self, cfg: &ProtocolConfig, nodes: u32) -> Result<(), String>;
    /// Bytes one node takes in a run of `nodes` nodes: the node and the heap
    /// its state may hold ([`Spec::state_bytes_per_node`]).
    fn node_bytes(&self, cfg: &ProtocolConfig, nodes: u32) -> u64;
    /// [`Spec::derive`].
    fn derive(
        &self,
        name: &str,
        value: &toml::Value,
        cfg: &mut ProtocolConfig,
        env: &mut DeriveEnv<'_>,
    ) -> Result<(), String>;
    /// Runs one simulation of this protocol.
    fn run(&self, setup: &Setup<'_>, cfg: &ProtocolConfig, tracer: Tracer) -> (RunReport, Tracer);
    /// Adds the protocol's flags to a command.
    #[cfg(feature = "cli")]
    fn augment(&self, cmd: clap::Command) -> clap::Command;
    /// Applies the flags found in `m` onto `cfg`.
    #[cfg(feature = "cli")]
    fn apply_flags(&self, m: &clap::ArgMatches, cfg: &mut ProtocolConfig) -> Result<(), String>;
}

struct Registered<S>(PhantomData<fn() -> S>);

impl<S: Spec> Registered<S> {
    fn config<'a>(&self, cfg: &'a ProtocolConfig) -> &'a S::Config {
        cfg.get::<S>().unwrap_or_else(|| {
            panic!(
                "a '{}' configuration handed to protocol '{}'",
                cfg.name(),
                S::NAME
            )
        })
    }
}

impl<S: Spec> DynSpec for Registered<S> {
    fn name(&self) -> &'static str {
        S::NAME
    }
    fn summary(&self) -> &'static str {
        S::SUMMARY
    }
    fn properties(&self) -> &'static [Property] {
        <S::Monitor as Monitor<S::Node>>::properties()
    }
    fn metrics(&self) -> Vec<MetricDef> {
        let mut m = <S::Monitor as Monitor<S::Node>>::metrics().to_vec();
        m.extend_from_slice(<S::Node as Protocol>::COUNTERS);
        m
    }
    fn series(&self) -> &'static [SeriesDef] {
        <S::Monitor as Monitor<S::Node>>::series()
    }
    fn behaviours(&self) -> &'static [BehaviourKind] {
        <S::Node as Protocol>::BEHAVIOURS
    }
    fn message_kinds(&self) -> &'static [&'static str] {
        <<S::Node as Protocol>::Msg as Message>::KINDS
    }
    fn timer_names(&self) -> &'static [&'static str] {
        <<S::Node as Protocol>::Timer as TimerTag>::NAMES
    }
    fn derived(&self) -> &'static [DerivedDef] {
        S::DERIVED
    }
    fn default_config(&self) -> ProtocolConfig {
        ProtocolConfig::of::<S>(S::Config::default())
    }
    fn config_from(&self, fields: serde_json::Value) -> Result<ProtocolConfig, String> {
        let c: S::Config = serde_json::from_value(fields).map_err(|e| e.to_string())?;
        Ok(ProtocolConfig::of::<S>(c))
    }
    fn validate(&self, cfg: &ProtocolConfig, nodes: u32) -> Result<(), String> {
        S::validate(self.config(cfg), nodes)
    }
    fn node_bytes(&self, cfg: &ProtocolConfig, nodes: u32) -> u64 {
        std::mem::size_of::<S::Node>() as u64 + S::state_bytes_per_node(self.config(cfg), nodes)
    }
    fn derive(
        &self,
        name: &str,
        value: &toml::Value,
        cfg: &mut ProtocolConfig,
        env: &mut DeriveEnv<'_>,
    ) -> Result<(), String> {
        let c = cfg
            .get_mut::<S>()
            .expect("a configuration of this protocol");
        S::derive(name, value, c, env)
    }
    fn run(&self, setup: &Setup<'_>, cfg: &ProtocolConfig, tracer: Tracer) -> (RunReport, Tracer) {
        let c = cfg.arc::<S>().unwrap_or_else(|| {
            panic!(
                "a '{}' configuration handed to protocol '{}'",
                cfg.name(),
                S::NAME
            )
        });
        Simulation::<S::Node, S::Monitor>::new(setup, c, tracer).run()
    }
    #[cfg(feature = "cli")]
    fn augment(&self, cmd: clap::Command) -> clap::Command {
        <S::Flags as clap::Args>::augment_args(cmd)
    }
    #[cfg(feature = "cli")]
    fn apply_flags(&self, m: &clap::ArgMatches, cfg: &mut ProtocolConfig) -> Result<(), String> {
        let flags =
            <S::Flags as clap::FromArgMatches>::from_arg_matches(m).map_err(|e| e.to_string())?;
        let c = cfg
            .get_mut::<S>()
            .expect("a configuration of this protocol");
        flags.apply(c)
    }
}

/// A configuration held without its type (see [`ProtocolConfig`]).
trait AnyConfig: Any + Send + Sync + Debug {
    fn as_any(&self) -> &dyn Any;
    fn as_any_mut(&mut self) -> &mut dyn Any;
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
    fn clone_arc(&self) -> Arc<dyn AnyConfig>;
    fn eq_dyn(&self, other: &dyn AnyConfig) -> bool;
    fn erased(&self) -> &dyn erased_serde::Serialize;
}

impl<T: Clone + Debug + PartialEq + Serialize + Send + Sync + 'static> AnyConfig for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
    fn clone_arc(&self) -> Arc<dyn AnyConfig> {
        Arc::new(self.clone())
    }
    fn eq_dyn(&self, other: &dyn AnyConfig) -> bool {
        other.as_any().downcast_ref::<T>() == Some(self)
    }
    fn erased(&self) -> &dyn erased_serde::Serialize {
        self
    }
}

/// A scenario's protocol and its settings, whatever the protocol: the
/// `[protocol]` table (`name` plus the protocol's fields). Cheap to clone.
///
/// It serializes as that table, and deserializes through the installed
/// [`registry`], so a scenario file or a trace names its protocol by name.
#[derive(Clone)]
pub struct ProtocolConfig {
    spec: &'static dyn DynSpec,
    cfg: Arc<dyn AnyConfig>,
}

impl ProtocolConfig {
    /// The settings `cfg` of protocol `S`.
    pub fn of<S: Spec>(cfg: S::Config) -> ProtocolConfig {
        ProtocolConfig {
            spec: Registered::<S>::leak(),
            cfg: Arc::new(cfg),
        }
    }

    /// The protocol's name.
    pub fn name(&self) -> &'static str {
        self.spec.name()
    }

    /// The protocol.
    pub fn spec(&self) -> &'static dyn DynSpec {
        self.spec
    }

    /// The settings, if this is protocol `S`.
    pub fn get<S: Spec>(&self) -> Option<&S::Config> {
        self.cfg.as_any().downcast_ref::<S::Config>()
    }

    /// The settings for changing, if this is protocol `S`.
    pub fn get_mut<S: Spec>(&mut self) -> Option<&mut S::Config> {
        self.get::<S>()?;
        if Arc::get_mut(&mut self.cfg).is_none() {
            self.cfg = self.cfg.clone_arc();
        }
        Arc::get_mut(&mut self.cfg)?
            .as_any_mut()
            .downcast_mut::<S::Config>()
    }

    /// The shared settings, if this is protocol `S`.
    pub fn arc<S: Spec>(&self) -> Option<Arc<S::Config>> {
        self.cfg.clone().into_any().downcast::<S::Config>().ok()
    }

    /// Checks the settings for `nodes` nodes.
    pub fn validate(&self, nodes: u32) -> Result<(), String> {
        self.spec.validate(self, nodes)
    }

    /// The properties of the protocol.
    pub fn properties(&self) -> &'static [Property] {
        self.spec.properties()
    }
}

impl<S: Spec> Registered<S> {
    /// The one `&'static dyn DynSpec` of `S` (a zero-sized value: leaking it
    /// allocates nothing).
    fn leak() -> &'static dyn DynSpec {
        Box::leak(Box::new(Registered::<S>(PhantomData)))
    }
}

impl Debug for ProtocolConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {:?}", self.name(), self.cfg)
    }
}

impl PartialEq for ProtocolConfig {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name() && self.cfg.eq_dyn(&*other.cfg)
    }
}

thread_local! {
    /// The protocol a scenario without a `[protocol]` name is for, while
    /// [`with_default_protocol`] runs.
    static DEFAULT_PROTOCOL: std::cell::Cell<Option<&'static dyn DynSpec>> =
        const { std::cell::Cell::new(None) };
}

/// Runs `f` (which reads scenarios) with `spec` as the protocol of a
/// scenario or `[protocol]` table that names none.
pub fn with_default_protocol<T>(spec: &'static dyn DynSpec, f: impl FnOnce() -> T) -> T {
    let before = DEFAULT_PROTOCOL.with(|d| d.replace(Some(spec)));
    let out = f();
    DEFAULT_PROTOCOL.with(|d| d.set(before));
    out
}

fn default_protocol() -> &'static dyn DynSpec {
    DEFAULT_PROTOCOL.with(|d| d.get()).unwrap_or_else(|| {
        registry()
            .iter()
            .next()
            .expect("the registry holds a protocol")
    })
}

impl Default for ProtocolConfig {
    /// The default settings of the first registered protocol (or of the one
    /// [`with_default_protocol`] names).
    fn default() -> Self {
        default_protocol().default_config()
    }
}

impl Serialize for ProtocolConfig {
    fn serialize<Ser: Serializer>(&self, s: Ser) -> Result<Ser::Ok, Ser::Error> {
        #[derive(Serialize)]
        struct Tagged<'a> {
            name: &'a str,
            #[serde(flatten)]
            cfg: &'a dyn erased_serde::Serialize,
        }
        Tagged {
            name: self.name(),
            cfg: self.cfg.erased(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ProtocolConfig {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut v = serde_json::Value::deserialize(d)?;
        let obj = v
            .as_object_mut()
            .ok_or_else(|| D::Error::custom("protocol must be a table of settings with a name"))?;
        let name = match obj.remove("name") {
            Some(serde_json::Value::String(s)) => s,
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "protocol name {other} is not a text (accepted: {})",
                    registry().names().join(", ")
                )))
            }
            None => default_protocol().name().to_string(),
        };
        let dflt = default_protocol();
        let spec = (dflt.name() == name)
            .then_some(dflt)
            .or_else(|| registry().get(&name))
            .ok_or_else(|| {
                D::Error::custom(format!(
                    "protocol '{name}' unknown (accepted: {})",
                    registry().names().join(", ")
                ))
            })?;
        spec.config_from(v.clone()).map_err(|e| {
            // Name the setting at fault: the first that fails on its own.
            let culprit = v.as_object().and_then(|o| {
                o.iter().find_map(|(k, x)| {
                    let one =
                        serde_json::Value::Object([(k.clone(), x.clone())].into_iter().collect());
                    spec.config_from(one).err().map(|_| k.clone())
                })
            });
            match culprit {
                Some(k) if !e.contains(&format!("`{k}`")) => {
                    D::Error::custom(format!("protocol.{k}: {e}"))
                }
                _ => D::Error::custom(e),
            }
        })
    }
}

/// The protocols the crate knows: the built-in ones, and any an out-of-tree
/// crate adds ([`Registry::with`]).
#[derive(Clone)]
pub struct Registry {
    specs: Vec<&'static dyn DynSpec>,
}

impl Registry {
    /// No protocol.
    pub fn empty() -> Registry {
        Registry { specs: Vec::new() }
    }

    /// The built-in protocols.
    pub fn builtin() -> Registry {
        super::builtin(Registry::empty())
    }

    /// This registry with protocol `S` added (after the others). Panics if a
    /// protocol of the same name is registered: two protocols cannot share
    /// a subcommand.
    pub fn with<S: Spec>(mut self) -> Registry {
        assert!(
            self.get(S::NAME).is_none(),
            "a protocol named '{}' is registered already",
            S::NAME
        );
        self.specs.push(Registered::<S>::leak());
        self
    }

    /// The protocol named `name`.
    pub fn get(&self, name: &str) -> Option<&'static dyn DynSpec> {
        self.specs.iter().copied().find(|s| s.name() == name)
    }

    /// The protocols, in registration order.
    pub fn iter(&self) -> impl Iterator<Item = &'static dyn DynSpec> + '_ {
        self.specs.iter().copied()
    }

    /// Their names, in registration order.
    pub fn names(&self) -> Vec<&'static str> {
        self.specs.iter().map(|s| s.name()).collect()
    }
}

static INSTALLED: OnceLock<Registry> = OnceLock::new();

/// The registry of this process: the one [`install`]ed, or the built-in
/// protocols.
pub fn registry() -> &'static Registry {
    INSTALLED.get_or_init(Registry::builtin)
}

/// Makes `r` the registry of this process, before anything reads it (the
/// CLI entry point [`crate::cli::main_with`] does this). Fails if another
/// registry is in use already.
pub fn install(r: Registry) -> Result<(), String> {
    let names = r.names();
    match INSTALLED.set(r) {
        Ok(()) => Ok(()),
        Err(_) if registry().names() == names => Ok(()),
        Err(_) => Err(format!(
            "a protocol registry is in use already ({}); install yours before anything else runs",
            registry().names().join(", ")
        )),
    }
}
