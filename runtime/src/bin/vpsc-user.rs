//! `vpsc-user`: parse, run, render the error, exit.

use clap::Parser;

fn main() {
    let cli = vpsc::cli_user::UserCli::parse();
    vpsc::commands::init_logging();
    let code = match vpsc::commands::user::run(cli) {
        Ok(code) => code,
        Err(err) => {
            vpsc::commands::report("vpsc-user", &err);
            err.exit_status()
        }
    };
    std::process::exit(code);
}
