//! The `agentsim` binary: parse, run, map the outcome to an exit code.
fn main() {
    // Rust ignores SIGPIPE, so printing into a closed pipe (`agentsim list |
    // head -1`) would panic. Like other command-line tools, let the signal end
    // the process quietly instead.
    #[cfg(unix)]
    // SAFETY: called first thing, before any other thread exists; SIG_DFL is a
    // valid disposition for SIGPIPE.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let code = agentsim::cli::main_with_args(std::env::args().collect());
    std::process::exit(code);
}
