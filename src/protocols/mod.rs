//! The protocols: one folder each, registered by one line below.
//!
//! A protocol's folder holds everything about it: the sans-IO state machine,
//! its messages and configuration, its flags, its monitor (properties,
//! metrics, series), derived settings for experiment files, and its step
//! tests. Its [`Spec`] ties them together; the line in `protocols!` below
//! registers it, and nothing else in the crate names it. See [`spec`] for
//! the seam, and the README's "Write your own protocol" for an out-of-tree
//! protocol.

pub mod quorum;
pub mod spec;
pub mod voting;

pub use spec::{install, registry, DeriveEnv, DerivedDef, DynSpec, ProtocolConfig, Registry, Spec};
#[cfg(feature = "cli")]
pub use spec::{Flags, NoFlags};

/// Declares the protocol modules and the built-in registry, in `list` order.
macro_rules! protocols {
    ($($module:ident => $spec:ident),* $(,)?) => {
        $(pub mod $module;)*

        /// `r` with the built-in protocols added.
        pub(crate) fn builtin(r: Registry) -> Registry {
            r$(.with::<$module::$spec>())*
        }
    };
}

protocols! {
    raft => RaftSpec,
    gossip => GossipSpec,
    phold => PholdSpec,
    paxos => PaxosSpec,
    om => OmSpec,
    threshold_vote => ThresholdSpec,
    jury => JurySpec,
    contract_net => ContractNetSpec,
    bus => BusSpec,
    bracha => BrachaSpec,
    pbft => PbftSpec,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::run::run_silent;
    use crate::scenario::Scenario;

    /// Every metric a protocol's run reports is declared (with its unit), and
    /// every declared series comes as an array: `list`, experiment files and
    /// plots read the declarations.
    #[test]
    fn every_protocol_reports_only_what_it_declares() {
        for spec in registry().iter() {
            let declared: Vec<&str> = spec.metrics().iter().map(|m| m.name).collect();
            for seed in 0..3 {
                let sc = Scenario {
                    seed,
                    events_max: 200_000,
                    ..Scenario::for_protocol(spec)
                };
                sc.validate().unwrap();
                let r = run_silent(&sc);
                for m in r.metrics.keys() {
                    assert!(
                        declared.contains(&m.as_ref()),
                        "{} reports metric '{m}' it does not declare",
                        spec.name()
                    );
                }
                for s in spec.series() {
                    assert!(
                        r.facts.get(s.name).is_some_and(|v| v.is_array()),
                        "{} declares series '{}' but reports no array",
                        spec.name(),
                        s.name
                    );
                }
            }
            for m in spec.metrics() {
                assert!(
                    !m.unit.is_empty() && !m.definition.is_empty(),
                    "{}: {}",
                    spec.name(),
                    m.name
                );
            }
        }
    }
}
