//! Binary package control files (deb-control(5)), built with the
//! `debian-control` crate so field order and folding follow Debian's rules.

use debian_control::lossless::Binary;

use crate::profile::raw::RawConfig;
use crate::profile::{Module, Profile, Source};

/// Virtual package every profile provides and conflicts with, so apt
/// allows only one profile at a time (Policy §7.6.2 idiom).
pub const PROFILE_VIRTUAL: &str = "vpsc-profile";

/// Folds a synopsis and extended description into a `Description:` value.
fn description(synopsis: &str, long: &str) -> String {
    let paras: Vec<String> = long
        .trim()
        .split("\n\n")
        .map(|p| p.lines().map(str::trim_end).collect::<Vec<_>>().join("\n"))
        .collect();
    format!("{synopsis}\n{}", paras.join("\n.\n"))
}

/// Field order of binary control files as dpkg-gencontrol writes them
/// (deb-control(5)); `debian-control`'s own order is that of source
/// packages' debian/control, which lacks Version and Installed-Size.
const FIELD_ORDER: &[&str] = &[
    "Package",
    "Version",
    "Architecture",
    "Multi-Arch",
    "Maintainer",
    "Installed-Size",
    "Depends",
    "Recommends",
    "Suggests",
    "Conflicts",
    "Provides",
    "Section",
    "Priority",
    "Homepage",
    "Description",
];

fn set(b: &mut Binary, key: &str, value: &str) {
    b.as_mut_deb822()
        .set_with_field_order(key, value, FIELD_ORDER);
}

fn common(b: &mut Binary, package: &str, version: &str, config: &RawConfig, installed_size: u64) {
    set(b, "Package", package);
    set(b, "Version", version);
    set(b, "Architecture", "all");
    set(b, "Maintainer", &config.maintainer);
    set(b, "Installed-Size", &installed_size.to_string());
    set(b, "Priority", "optional");
    set(b, "Multi-Arch", "foreign");
}

/// Control file of `vpsc-mod-<name>`.
pub fn module_control(
    m: &Module,
    config: &RawConfig,
    installed_size: u64,
    versions: &dyn Fn(&str) -> String,
) -> String {
    let mut b = Binary::new();
    common(&mut b, &m.package(), &m.version, config, installed_size);
    let mut depends = vec![format!("vpsc-runtime (>= {})", m.plan().runtime_needed())];
    depends.extend(
        m.depends
            .iter()
            .map(|d| format!("vpsc-mod-{d} (>= {})", versions(d))),
    );
    let has = |k: &str| m.effects.iter().any(|e| e.item.key().starts_with(k));
    // Tools the runtime calls for these effects, so apt brings them.
    if has("unit:") {
        depends.push("systemd".into());
    }
    if has("group:") {
        depends.push("passwd".into());
    }
    if let Some(vendor) = &m.vendor {
        depends.push(format!("vpsc-source-{vendor}"));
    }
    depends.extend(m.packages.iter().cloned());
    set(&mut b, "Depends", &depends.join(", "));
    if !m.suggests.is_empty() {
        set(&mut b, "Suggests", &m.suggests.join(", "));
    }
    set(&mut b, "Section", &m.section);
    b.set_description(Some(&description(&m.description, &m.long_description)));
    set(&mut b, "Homepage", &config.homepage);
    b.to_string()
}

/// Control file of the `vpsc-profile-<name>` metapackage: core modules in
/// `Depends:`, the rest in `Recommends:` (docs/packaging.md §4).
pub fn profile_control(
    p: &Profile,
    config: &RawConfig,
    installed_size: u64,
    versions: &dyn Fn(&str) -> String,
) -> String {
    let mut b = Binary::new();
    common(&mut b, &p.package(), &p.version, config, installed_size);
    let rel = |name: &str| format!("vpsc-mod-{name} (>= {})", versions(name));
    let mut depends = vec![format!(
        "vpsc-runtime (>= {})",
        vpsc_contract::plan::PROFILE_RUNTIME
    )];
    depends.extend(p.modules.iter().filter(|m| m.core).map(|m| rel(&m.name)));
    let recommends: Vec<String> = p
        .modules
        .iter()
        .filter(|m| !m.core)
        .map(|m| rel(&m.name))
        .collect();
    set(&mut b, "Depends", &depends.join(", "));
    if !recommends.is_empty() {
        set(&mut b, "Recommends", &recommends.join(", "));
    }
    set(&mut b, "Conflicts", PROFILE_VIRTUAL);
    set(&mut b, "Provides", PROFILE_VIRTUAL);
    set(&mut b, "Section", "metapackages");
    let long = format!(
        "{}\n\nThis metapackage depends on the core modules of the profile and\nrecommends the others, so removing a recommended module keeps the\nprofile installed.",
        p.long_description.trim()
    );
    b.set_description(Some(&description(&p.description, &long)));
    set(&mut b, "Homepage", &config.homepage);
    b.to_string()
}

/// Control file of `vpsc-source-<vendor>`: a keyring and a `.sources`
/// file, no maintainer scripts.
pub fn source_control(s: &Source, config: &RawConfig, installed_size: u64) -> String {
    let mut b = Binary::new();
    common(&mut b, &s.package(), &s.version, config, installed_size);
    if !s.conflicts.is_empty() {
        set(&mut b, "Conflicts", &s.conflicts.join(", "));
    }
    set(&mut b, "Section", "admin");
    let whose = if s.package == crate::archive::PACKAGE {
        "vpsc's signing keys"
    } else {
        "the vendor's signing key"
    };
    let long = format!(
        "{}\n\nInstalls {whose} as\n{}\nand the apt source\n{}.\nThen run `apt update`.",
        s.long_description.trim(),
        s.keyring.path,
        s.sources_file.path
    );
    b.set_description(Some(&description(&s.description, &long)));
    set(&mut b, "Homepage", &config.homepage);
    b.to_string()
}
