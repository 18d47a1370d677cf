//! `vpsc`: parse, run, render the error, exit.

use clap::Parser;

fn main() {
    let cli = vpsc::cli::Cli::parse();
    vpsc::commands::init_logging();
    let code = match vpsc::commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            vpsc::commands::report("vpsc", &err);
            err.exit_status()
        }
    };
    std::process::exit(code);
}
