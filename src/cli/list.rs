//! `agentsim list`: every protocol with its properties, metrics (unit and
//! definition), series, parameters and defaults, and the scenario defaults.

use super::exit;
use crate::protocols::registry;
use crate::run::RunError;
use crate::scenario::Scenario;
use serde::Serialize;

/// One protocol, as `list --json` prints it.
#[derive(Serialize)]
struct Listed {
    name: &'static str,
    summary: &'static str,
    properties: &'static [crate::observe::Property],
    metrics: Vec<crate::node::MetricDef>,
    series: &'static [crate::observe::SeriesDef],
    message_kinds: &'static [&'static str],
    timers: &'static [&'static str],
    behaviours: Vec<&'static str>,
    derived: &'static [crate::protocols::DerivedDef],
    defaults: serde_json::Value,
}

/// `agentsim list [--json]`.
pub fn list_cmd(json: bool) -> Result<i32, RunError> {
    let listed: Vec<Listed> = registry()
        .iter()
        .map(|p| {
            let mut defaults =
                serde_json::to_value(p.default_config()).expect("defaults serialise");
            if let Some(o) = defaults.as_object_mut() {
                o.remove("name");
            }
            Listed {
                name: p.name(),
                summary: p.summary(),
                properties: p.properties(),
                metrics: p.metrics(),
                series: p.series(),
                message_kinds: p.message_kinds(),
                timers: p.timer_names(),
                behaviours: p.behaviours().iter().map(|b| b.name()).collect(),
                derived: p.derived(),
                defaults,
            }
        })
        .collect();
    let mut sc = toml::Table::try_from(Scenario::default()).expect("defaults serialise");
    sc.remove("protocol");
    if json {
        let v = serde_json::json!({
            "protocols": listed,
            "scenario_defaults": serde_json::to_value(&sc).expect("defaults serialise"),
        });
        println!("{v}");
        return Ok(exit::OK);
    }
    println!("protocols:");
    // One column width for every protocol's names: the longest of all.
    let w = listed
        .iter()
        .flat_map(|p| {
            (p.properties.iter().map(|x| x.name.chars().count()))
                .chain(p.metrics.iter().map(|m| m.name.chars().count()))
                .chain(p.series.iter().map(|s| s.name.chars().count()))
        })
        .max()
        .unwrap_or(0);
    for (p, spec) in listed.iter().zip(registry().iter()) {
        println!("\n  {} — {}", p.name, p.summary);
        println!("  properties:");
        for prop in p.properties {
            println!(
                "    {:<w$}  {:<10}  {}",
                prop.name,
                prop.kind.as_str(),
                prop.description
            );
        }
        if !p.metrics.is_empty() {
            println!("  metrics (unit: definition):");
            for m in &p.metrics {
                println!("    {:<w$}  {}: {}", m.name, m.unit, m.definition);
            }
        }
        if !p.series.is_empty() {
            println!("  series (unit: definition):");
            for s in p.series {
                println!("    {:<w$}  {}: {}", s.name, s.unit, s.definition);
            }
        }
        println!("  messages: {}", p.message_kinds.join(", "));
        if !p.behaviours.is_empty() {
            println!("  Byzantine behaviours: {}", p.behaviours.join(", "));
        }
        if !p.derived.is_empty() {
            println!("  derived settings of experiment files ([derive]):");
            for d in p.derived {
                println!("    {}: {}", d.name, d.definition);
            }
        }
        println!(
            "  parameters ([protocol] table of a scenario file, or --param KEY=VALUE; flags in `agentsim run {} --help`):",
            p.name
        );
        let toml = toml::to_string(&spec.default_config()).expect("defaults serialise");
        for line in toml.lines() {
            println!("    {line}");
        }
    }
    println!("\nscenario defaults (every protocol):");
    for line in toml::to_string(&sc).expect("defaults serialise").lines() {
        println!("    {line}");
    }
    println!(
        "    # off unless set: faults.heal_at (default time_max/2 when a random process is on),"
    );
    println!("    # faults.crash_mttf, faults.crash_max_down, faults.partition_mtbf, faults.leader_crashes,");
    println!("    # workload.stop, storage.delay, adversary.behaviour");
    Ok(exit::OK)
}
