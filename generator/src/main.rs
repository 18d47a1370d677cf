//! `vpsc-gen`: parse, run, render the error, exit.

use clap::Parser;

fn main() {
    let cli = vpsc_gen::cli::Cli::parse();
    let code = match vpsc_gen::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("vpsc-gen: error: {err}");
            let mut source = std::error::Error::source(&err);
            while let Some(cause) = source {
                eprintln!("  caused by: {cause}");
                source = cause.source();
            }
            if let Some(hint) = err.hint() {
                eprintln!("  hint: {hint}");
            }
            err.exit_status()
        }
    };
    std::process::exit(code);
}
