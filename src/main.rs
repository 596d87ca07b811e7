//! The `agentsim` binary: parse, run, map the outcome to an exit code.
fn main() {
    let code = agentsim::cli::main_with_args(std::env::args().collect());
    std::process::exit(code);
}
