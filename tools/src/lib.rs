//! vpsc's manual pages and shell completions, written from the clap
//! definitions of `vpsc`, `vpsc-user` and `vpsc-gen`, so they cannot fall
//! behind the commands. The prose clap cannot know (the description, exit
//! status, environment, files, examples) is written by hand in
//! `debian/man/` and spliced into each program's main page.

pub mod copyright;

use std::io;
use std::path::Path;

use clap::{Command, CommandFactory};
use clap_complete::Shell;
use clap_mangen::Man;

/// A program whose manual and completions are shipped.
pub struct Program {
    /// Its command definition.
    pub command: Command,
    /// Manual section: 1 for user commands, 8 for administration.
    pub section: &'static str,
    /// Hand-written DESCRIPTION section (roff).
    pub description: &'static str,
    /// Hand-written sections after OPTIONS and COMMANDS (roff).
    pub tail: &'static str,
}

/// The three programs vpsc ships.
pub fn programs() -> Vec<Program> {
    vec![
        Program {
            command: vpsc::cli::Cli::command(),
            section: "1",
            description: include_str!("../../debian/man/vpsc.description.roff"),
            tail: include_str!("../../debian/man/vpsc.tail.roff"),
        },
        Program {
            command: vpsc::cli_user::UserCli::command(),
            section: "8",
            description: include_str!("../../debian/man/vpsc-user.description.roff"),
            tail: include_str!("../../debian/man/vpsc-user.tail.roff"),
        },
        Program {
            command: vpsc_gen::cli::Cli::command(),
            section: "1",
            description: include_str!("../../debian/man/vpsc-gen.description.roff"),
            tail: include_str!("../../debian/man/vpsc-gen.tail.roff"),
        },
    ]
}

/// One manual page.
pub struct Page {
    /// File name, e.g. `vpsc-cis-scan.1`.
    pub file: String,
    /// The roff text.
    pub text: String,
}

/// The subcommands a reader is shown (plumbing is hidden, and `help` is
/// clap's own).
pub fn visible(cmd: &Command) -> impl Iterator<Item = &Command> {
    cmd.get_subcommands()
        .filter(|c| !c.is_hide_set() && c.get_name() != "help")
}

fn man(cmd: Command, name: &str, program: &Program, date: &str) -> Man {
    let version = program.command.get_version().unwrap_or_default();
    Man::new(cmd.name(name.to_owned()))
        .section(program.section)
        .date(date)
        .source(format!("vpsc {version}"))
        .manual("vpsc manual")
}

/// The program's main page and one page per visible subcommand, at every
/// depth (`vpsc-cis-scan.1`), dated `date` (YYYY-MM-DD).
pub fn pages(program: &Program, date: &str) -> io::Result<Vec<Page>> {
    let mut root = program.command.clone();
    root.build();
    let name = root.get_name().to_owned();
    let main = man(root.clone(), &name, program, date);
    let mut text = Vec::new();
    main.render_title(&mut text)?;
    main.render_name_section(&mut text)?;
    main.render_synopsis_section(&mut text)?;
    text.extend_from_slice(program.description.as_bytes());
    main.render_options_section(&mut text)?;
    if visible(&root).next().is_some() {
        main.render_subcommands_section(&mut text)?;
    }
    text.extend_from_slice(program.tail.as_bytes());
    let mut out = vec![Page {
        file: format!("{name}.{}", program.section),
        text: String::from_utf8_lossy(&text).into_owned(),
    }];
    sub_pages(&root, &name, program, date, &mut out)?;
    Ok(out)
}

fn sub_pages(
    cmd: &Command,
    prefix: &str,
    program: &Program,
    date: &str,
    out: &mut Vec<Page>,
) -> io::Result<()> {
    for sub in visible(cmd) {
        let name = format!("{prefix}-{}", sub.get_name());
        let mut text = Vec::new();
        man(sub.clone(), &name, program, date).render(&mut text)?;
        out.push(Page {
            file: format!("{name}.{}", program.section),
            text: String::from_utf8_lossy(&text).into_owned(),
        });
        sub_pages(sub, &name, program, date, out)?;
    }
    Ok(())
}

/// Writes `DIR/NAME/man/*` and `DIR/NAME/completions/{bash,zsh,fish}/*`
/// for every program, and `DIR/vpsc-gen/schema/*.schema.json`, for the
/// packages to ship.
pub fn write_all(dir: &Path, date: &str) -> io::Result<()> {
    let schemas = dir.join("vpsc-gen").join("schema");
    std::fs::create_dir_all(&schemas)?;
    for (what, schema) in [
        ("module", vpsc_gen::schema::module()),
        ("profile", vpsc_gen::schema::profile()),
    ] {
        let text = serde_json::to_string_pretty(&schema).map_err(io::Error::other)? + "\n";
        std::fs::write(schemas.join(format!("{what}.schema.json")), text)?;
    }
    for program in programs() {
        let name = program.command.get_name().to_owned();
        let man_dir = dir.join(&name).join("man");
        std::fs::create_dir_all(&man_dir)?;
        for page in pages(&program, date)? {
            std::fs::write(man_dir.join(&page.file), page.text)?;
        }
        for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
            let out = dir.join(&name).join("completions").join(shell.to_string());
            std::fs::create_dir_all(&out)?;
            let mut cmd = program.command.clone();
            clap_complete::generate_to(shell, &mut cmd, &name, &out)?;
        }
    }
    Ok(())
}
