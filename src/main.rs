//! The `agentsim` binary: the command line over the built-in protocols.
fn main() {
    let code = agentsim::cli::main_with(agentsim::protocols::Registry::builtin());
    std::process::exit(code);
}
