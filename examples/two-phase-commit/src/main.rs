//! With arguments: the whole agentsim command line, with `2pc` beside the
//! built-in protocols (`run 2pc`, `check 2pc`, `sweep`, `plot`, `replay`,
//! `list`). Without: a self-check that ends in asserts — safety over many
//! faulty seeds, the broken setting caught, a sweep's files.
//!
//! ```text
//! cargo run --release -p two-phase-commit                       # the self-check
//! cargo run --release -p two-phase-commit -- check 2pc --seeds 0..1000 --arrivals every:100ms \
//!     --submissions 20 --target node:0 --loss 0.1 --crash-mttf 2s
//! ```

use agentsim::engine::setup::{Arrivals, Target};
use agentsim::prelude::*;
use agentsim::run::check::check_seeds;
use two_phase_commit::{Config, TwoPcSpec, ATOMICITY, COMMIT_VALIDITY};

fn registry() -> Registry {
    Registry::builtin().with::<TwoPcSpec>()
}

fn main() {
    if std::env::args().len() > 1 {
        std::process::exit(agentsim::cli::main_with(registry()));
    }
    agentsim::protocols::install(registry()).expect("no registry in use yet");
    self_check();
}

/// A faulty scenario: loss, duplication, crashes of every node, storage writes.
fn faulty(cfg: Config) -> Scenario {
    let mut sc = Scenario {
        nodes: 5,
        time_max: Dur(20 * SEC),
        protocol: ProtocolConfig::of::<TwoPcSpec>(cfg),
        ..Scenario::default()
    };
    sc.workload.arrivals = Arrivals::Every(Dur::from_ms(50));
    sc.workload.count = 30;
    sc.workload.target = Target::Node(0);
    sc.net.loss_ratio = 0.1;
    sc.net.dup_ratio = 0.05;
    sc.faults.crash_mttf = Some(Dur(2 * SEC));
    sc.faults.crash_mttr = Dur::from_ms(200);
    sc.faults.heal_at = Some(Dur(3 * SEC));
    sc.storage.delay = Some("1ms..5ms".parse().expect("a latency"));
    sc.validate().expect("a valid scenario");
    sc
}

fn self_check() {
    let seeds = 0..2000;
    let ok = check_seeds(&faulty(Config::default()), seeds.clone(), None).expect("threads");
    println!(
        "2pc: {} seeds with loss, duplication, crashes and slow storage: {} failures",
        ok.runs,
        ok.failures.len()
    );
    assert_eq!(ok.runs, 2000);
    assert!(ok.failures.is_empty(), "{:#?}", ok.failures);
    assert!(ok.undecided.is_empty(), "{:#?}", ok.undecided);

    let broken = Config {
        commit_on_timeout: true,
        ..Config::default()
    };
    let caught = check_seeds(&faulty(broken), seeds, None).expect("threads");
    let names: Vec<&str> = caught.failures.iter().map(|f| f.property).collect();
    println!("2pc with commit_on_timeout: caught {names:?}");
    for f in &caught.failures {
        println!(
            "  {} in {} of {} seeds, first seed {}: {}",
            f.property, f.runs, caught.runs, f.first_seed, f.first_detail
        );
    }
    assert!(names.contains(&COMMIT_VALIDITY) || names.contains(&ATOMICITY));

    // The same protocol through the experiment pipeline.
    let exp = agentsim::experiment::Experiment::from_file(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/experiment.toml"
    )))
    .expect("the example's experiment file");
    let out = std::env::temp_dir().join(format!("two-phase-commit-{}", std::process::id()));
    let opts = agentsim::experiment::SweepOptions {
        out: out.clone(),
        jobs: None,
        shard: None,
        progress: false,
        max_runs: None,
        replace: false,
    };
    let r = agentsim::experiment::sweep(&exp, &opts).expect("the sweep runs");
    assert_eq!(r.runs, 120);
    let runs = std::fs::read_to_string(out.join("runs.csv")).expect("runs.csv");
    assert_eq!(runs.lines().count(), 121);
    println!("2pc sweep: {} runs into runs.csv and summary.csv", r.runs);
    let _ = std::fs::remove_dir_all(&out);
}
