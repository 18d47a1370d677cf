//! The manual pages cover every command: a subcommand added to a CLI
//! without reaching its parent's page and a page of its own fails here.

use clap::Command;
use vpsc_docs::{Page, pages, programs, visible};

/// Every visible subcommand under `cmd`, with its page's name.
fn tree(cmd: &Command, prefix: &str, out: &mut Vec<(String, String, String)>) {
    for sub in visible(cmd) {
        let name = format!("{prefix}-{}", sub.get_name());
        out.push((prefix.to_owned(), sub.get_name().to_owned(), name.clone()));
        tree(sub, &name, out);
    }
}

fn page<'a>(pages: &'a [Page], file: &str) -> &'a str {
    &pages
        .iter()
        .find(|p| p.file == file)
        .unwrap_or_else(|| panic!("no page {file}"))
        .text
}

#[test]
fn every_subcommand_is_on_its_parents_page_and_has_its_own() {
    for program in programs() {
        let mut cmd = program.command.clone();
        cmd.build();
        let name = cmd.get_name().to_owned();
        let pages = pages(&program, "2026-12-06").expect("render");
        let mut subs = Vec::new();
        tree(&cmd, &name, &mut subs);
        assert!(subs.len() >= 5, "{name}: {} subcommands", subs.len());
        for (parent, sub, own) in &subs {
            let parent_page = page(&pages, &format!("{parent}.{}", program.section));
            // clap_mangen lists a subcommand by its page name.
            assert!(
                parent_page.contains(&own.replace('-', "\\-")),
                "{parent}'s page does not list `{sub}`"
            );
            page(&pages, &format!("{own}.{}", program.section));
        }
        assert_eq!(pages.len(), subs.len() + 1, "{name}: one page per command");
    }
}

#[test]
fn the_written_sections_survive_on_the_main_pages() {
    for program in programs() {
        let name = program.command.get_name().to_owned();
        let pages = pages(&program, "2026-12-06").expect("render");
        let main = page(&pages, &format!("{name}.{}", program.section));
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH DESCRIPTION",
            ".SH OPTIONS",
            ".SH EXIT STATUS",
            ".SH FILES",
            ".SH EXAMPLES",
            ".SH SEE ALSO",
        ] {
            assert!(main.contains(section), "{name}: no `{section}`");
        }
        assert!(main.contains("2026-12-06"), "{name}: undated");
        assert_eq!(main.matches(".SH DESCRIPTION").count(), 1, "{name}");
    }
}

#[test]
fn plumbing_stays_off_the_pages() {
    let vpsc = programs().remove(0);
    let pages = pages(&vpsc, "2026-12-06").expect("render");
    for hidden in [
        "configure",
        "unconfigure",
        "forget",
        "triggered",
        "withdraw",
    ] {
        assert!(
            !pages.iter().any(|p| p.file == format!("vpsc-{hidden}.1")),
            "`vpsc {hidden}` is plumbing"
        );
    }
}

/// Words of a shell example line up to a pipe or redirection, with
/// double-quoted words kept whole.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut any) = (false, false);
    for c in line.chars() {
        match c {
            '"' => (quoted, any) = (!quoted, true),
            '|' | '>' if !quoted => break,
            ' ' if !quoted => {
                if any {
                    out.push(std::mem::take(&mut word));
                }
                any = false;
            }
            _ => (word.push(c), any = true).1,
        }
    }
    if any {
        out.push(word);
    }
    out
}

fn examples_of(cmd: &Command, path: &str, program: &Command) {
    let help = cmd.clone().render_help().to_string();
    let (_, examples) = help
        .split_once("Examples:\n")
        .unwrap_or_else(|| panic!("`{path} --help` has no example"));
    let lines: Vec<&str> = examples.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty(), "`{path} --help` has no example");
    for line in lines {
        let argv = words(line.trim());
        assert_eq!(argv[0], program.get_name(), "{path}: {line}");
        let matches = program
            .clone()
            .try_get_matches_from(&argv)
            .unwrap_or_else(|e| panic!("{path}: the example `{line}` does not parse: {e}"));
        let mut ran = vec![program.get_name().to_owned()];
        let mut at = &matches;
        while let Some((name, sub)) = at.subcommand() {
            ran.push(name.to_owned());
            at = sub;
        }
        assert!(
            ran.join(" ").starts_with(path),
            "an example of `{path}` runs `{}`: {line}",
            ran.join(" ")
        );
    }
    for sub in visible(cmd) {
        examples_of(sub, &format!("{path} {}", sub.get_name()), program);
    }
}

#[test]
fn every_help_has_an_example_that_parses() {
    for program in programs() {
        let mut cmd = program.command.clone();
        cmd.build();
        examples_of(&cmd, cmd.get_name(), &cmd);
    }
}
