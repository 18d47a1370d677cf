//! `vpsc`: parse, run, render the error, exit.

use clap::Parser;

fn main() {
    let started = std::time::Instant::now();
    let cli = vpsc::cli::Cli::parse();
    vpsc::commands::init_logging();
    let code = match vpsc::commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            vpsc::commands::report("vpsc", &err);
            err.exit_status()
        }
    };
    // How long each call from a maintainer script takes (`VPSC_LOG=debug`):
    // the figure `make bench` sums to show the runtime's share of an install.
    // What it spent waiting for the commands it ran (validators, systemctl)
    // is said apart, so the runtime's own share shows.
    tracing::debug!(
        "{} took {:.1} ms, {:.1} ms of it in commands it ran",
        std::env::args().collect::<Vec<_>>().join(" "),
        started.elapsed().as_secs_f64() * 1000.0,
        vpsc::root::waited().as_secs_f64() * 1000.0
    );
    std::process::exit(code);
}
