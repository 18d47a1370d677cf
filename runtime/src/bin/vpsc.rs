//! `vpsc`: parse, run, render the error, exit.

use clap::Parser;

fn main() {
    let cli = vpsc::cli::Cli::parse();
    init_logging();
    let code = match vpsc::commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            report(&err);
            err.exit_status()
        }
    };
    std::process::exit(code);
}

/// Logs go to stderr; `VPSC_LOG` takes an env-filter (default `info`).
fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VPSC_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .with_target(false)
        .init();
}

fn report(err: &vpsc::Error) {
    eprintln!("vpsc: error: {err}");
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        eprintln!("  caused by: {cause}");
        source = cause.source();
    }
    if let Some(hint) = err.hint() {
        eprintln!("  hint: {hint}");
    }
}
