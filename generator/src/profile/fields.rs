//! Checks of single fields every kind of file shares: file name against
//! `name:`, versions, modes, item keys, descriptions, Debian relations and
//! CIS waivers.

use std::path::Path;

use super::locate;
use crate::error::{Error, Location, Result};

pub(super) fn check_file_name(path: &Path, source: &str, name: &str) -> Result<()> {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    vpsc_contract::names::module(name)
        .map_err(|e| Error::invalid(locate::find(path, source, name, 1), e.what, None))?;
    if name == vpsc_contract::names::CIS_JOURNAL {
        return Err(Error::invalid(
            locate::find(path, source, name, 1),
            format!(
                "module name `{name}` is reserved: `vpsc cis remediate` journals its changes under it"
            ),
            Some("choose another name, e.g. `cis-<purpose>`".into()),
        ));
    }
    if name == vpsc_contract::names::TWO_FACTOR_JOURNAL {
        return Err(Error::invalid(
            locate::find(path, source, name, 1),
            format!(
                "module name `{name}` is reserved: `vpsc-user 2fa enforce` journals its changes under it"
            ),
            Some("choose another name".into()),
        ));
    }
    if stem != name {
        return Err(Error::invalid(
            locate::find(path, source, name, 1),
            format!("name `{name}` does not match the file name `{stem}.yaml`"),
            Some(format!(
                "rename the file to `{name}.yaml` or the name to `{stem}`"
            )),
        ));
    }
    Ok(())
}

pub(super) fn check_version(path: &Path, source: &str, version: &str) -> Result<()> {
    let ok = version.parse::<debversion::Version>().is_ok()
        && version.starts_with(|c: char| c.is_ascii_digit())
        && !version.contains(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            locate::find(path, source, version, 1),
            format!("version `{version}` is not a valid Debian version"),
            Some("use digits and dots, e.g. `1.2.0` (deb-version(7))".into()),
        ))
    }
}

pub(super) fn parse_mode(path: &Path, source: &str, mode: Option<&str>) -> Result<u32> {
    let Some(text) = mode else { return Ok(0o644) };
    let parsed = (text.len() == 4 && text.starts_with('0'))
        .then(|| u32::from_str_radix(text, 8).ok())
        .flatten();
    parsed.ok_or_else(|| {
        Error::invalid(
            locate::find(path, source, text, 1),
            format!("mode `{text}` is not a four-digit octal mode"),
            Some("quote it as a string, e.g. mode: \"0644\"".into()),
        )
    })
}

/// Serde's flattening (how `when:` sits beside an effect) ignores keys it
/// does not know, so each list item is checked here: one kind plus the
/// keys every item may carry.
pub(super) fn check_item_keys(path: &Path, source: &str) -> Result<()> {
    let Ok(doc) = serde_norway::from_str::<serde_norway::Value>(source) else {
        return Ok(());
    };
    for (list, extra) in [
        ("effects", &["when"][..]),
        ("verify", &["when"][..]),
        ("require", &["when", "hint"][..]),
    ] {
        let Some(items) = doc.get(list).and_then(|v| v.as_sequence()) else {
            continue;
        };
        for item in items {
            let Some(map) = item.as_mapping() else {
                continue;
            };
            let kinds: Vec<&str> = map
                .keys()
                .filter_map(|k| k.as_str())
                .filter(|k| !extra.contains(k))
                .collect();
            if kinds.len() > 1 {
                return Err(Error::invalid(
                    locate::find(path, source, kinds[1], 1),
                    format!(
                        "an entry of `{list}` has the keys `{}`; only one kind and {} may appear together",
                        kinds.join("`, `"),
                        extra
                            .iter()
                            .map(|e| format!("`{e}`"))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    ),
                    Some("check the spelling; each kind goes in its own list entry".into()),
                ));
            }
        }
    }
    Ok(())
}

/// A module's CIS waivers name rules the runtime has, under the benchmark
/// that numbers them so, and say why.
pub(super) fn check_cis_waivers(
    waivers: &[vpsc_contract::plan::CisWaiver],
    at: &dyn Fn(&str) -> Location,
) -> Result<()> {
    let rules = vpsc_contract::cis::rule_ids()
        .map_err(|e| Error::invalid(at("cis_waivers"), e.what, None))?;
    for w in waivers {
        if w.id.is_empty() || w.reason.trim().is_empty() {
            return Err(Error::invalid(
                at("cis_waivers"),
                "a CIS waiver needs `id: {debian12: …, debian13: …}` and a reason",
                None,
            ));
        }
        for (benchmark, id) in &w.id {
            if !rules.iter().any(|r| r.id.get(benchmark) == Some(id)) {
                return Err(Error::invalid(
                    at(id),
                    format!(
                        "CIS waiver names rule {id}, which {} does not have",
                        benchmark.title()
                    ),
                    Some(
                        "`vpsc cis scan --benchmark debian12|debian13 --level 2` lists the rules"
                            .into(),
                    ),
                ));
            }
        }
    }
    Ok(())
}

/// Policy §3.4: a synopsis under 80 characters without a trailing period,
/// and a non-empty extended description.
pub(super) fn check_description(
    path: &Path,
    source: &str,
    synopsis: &str,
    long: &str,
) -> Result<()> {
    let at = locate::find(path, source, "description", 1);
    if synopsis.is_empty()
        || synopsis.len() > 79
        || synopsis.ends_with('.')
        || synopsis.contains('\n')
    {
        return Err(Error::invalid(
            at,
            format!(
                "description {synopsis:?} must be one line under 80 characters without a final period"
            ),
            Some(
                "Policy §3.4.1: the synopsis is a noun phrase, e.g. `hardened OpenSSH server`"
                    .into(),
            ),
        ));
    }
    if long.trim().is_empty() {
        return Err(Error::invalid(
            locate::find(path, source, "long_description", 1),
            "long_description is empty",
            Some("lintian's extended-description-is-empty: say what the package does in a sentence or two".to_owned()),
        ));
    }
    Ok(())
}

/// One `Depends:` entry: alternatives allowed, each a valid package name
/// with an optional version constraint.
pub(super) fn check_relation(rel: &str) -> std::result::Result<(), vpsc_contract::Invalid> {
    // Names first: the relation parser's messages for a bad name are
    // about tokens, not about what the user wrote.
    for alt in rel.split('|') {
        let name = alt
            .trim()
            .split(|c: char| c.is_whitespace() || c == '(' || c == ':')
            .next()
            .unwrap_or("");
        vpsc_contract::names::package(name)?;
        if alt.contains('(') {
            let inner = alt
                .split_once('(')
                .map(|(_, r)| r.trim_end().trim_end_matches(')'))
                .unwrap_or("");
            let (op, version) = inner.trim().split_at(
                inner
                    .trim()
                    .find(|c: char| c.is_ascii_alphanumeric())
                    .unwrap_or(inner.trim().len()),
            );
            if !["<<", "<=", "=", ">=", ">>"].contains(&op.trim())
                || version.trim().parse::<debversion::Version>().is_err()
            {
                return Err(vpsc_contract::Invalid::new(format!(
                    "`{}` has an invalid version constraint `({inner})`: use one of << <= = >= >> and a Debian version",
                    alt.trim()
                )));
            }
        }
    }
    let relations: debian_control::lossless::relations::Relations = rel
        .parse()
        .map_err(|e: String| format!("`{rel}` is not a Debian relation: {e}"))?;
    let entries: Vec<_> = relations.entries().collect();
    if entries.len() != 1 {
        return Err(vpsc_contract::Invalid::new(format!(
            "`{rel}` holds {} relations; write one per list entry",
            entries.len()
        )));
    }
    for r in entries[0].relations() {
        let name = r
            .try_name()
            .ok_or_else(|| format!("`{rel}` has an entry without a package name"))?;
        vpsc_contract::names::package(&name)?;
    }
    Ok(())
}
