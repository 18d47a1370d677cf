//! Kernel module configuration as modprobe resolves it: `*.conf` files of
//! `/etc/modprobe.d`, `/run/modprobe.d`, `/usr/local/lib/modprobe.d`,
//! `/usr/lib/modprobe.d` and `/lib/modprobe.d`, a file in an earlier
//! directory hiding a same-named one in a later directory (modprobe.d(5)),
//! module names with `-` and `_` equal.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::check::Check;
use crate::facts::{Fact, Facts};
use crate::verdict::{CisStatus, Evidence, Verdict, verdict};
use vpsc_engine::root::Root;

/// Directories in priority order.
const DIRS: [&str; 5] = [
    "/etc/modprobe.d",
    "/run/modprobe.d",
    "/usr/local/lib/modprobe.d",
    "/usr/lib/modprobe.d",
    "/lib/modprobe.d",
];

/// One directive that matters to a rule, with where it is.
#[derive(Debug, Clone)]
pub struct Directive {
    /// `install <cmd…>` or `blacklist`.
    pub what: String,
    /// File.
    pub file: String,
    /// Line.
    pub line: usize,
}

/// The `install` and `blacklist` directives per module.
#[derive(Debug, Default)]
pub struct Modprobe {
    install: BTreeMap<String, Directive>,
    blacklist: BTreeMap<String, Directive>,
}

/// `cramfs` and `usb_storage` for `usb-storage`.
pub fn canonical(name: &str) -> String {
    name.replace('-', "_")
}

impl Modprobe {
    /// Reads every effective modprobe.d file under `root`.
    pub fn load(root: &Root) -> Modprobe {
        let mut files: BTreeMap<String, String> = BTreeMap::new();
        for dir in DIRS.iter().rev() {
            for name in root.read_dir_names(dir).unwrap_or_default() {
                if name.ends_with(".conf") {
                    // Earlier directories (iterated last) win.
                    files.insert(name.clone(), format!("{dir}/{name}"));
                }
            }
        }
        let mut m = Modprobe::default();
        // modprobe reads the files in name order; the first install
        // command for a module is the one it runs.
        for shown in files.into_values() {
            let Ok(text) = root.read_to_string(&shown) else {
                continue;
            };
            for (i, line) in text.lines().enumerate() {
                let mut words = line.split_whitespace();
                let (Some(kind), Some(module)) = (words.next(), words.next()) else {
                    continue;
                };
                let at = Directive {
                    what: line.trim().to_owned(),
                    file: shown.clone(),
                    line: i + 1,
                };
                match kind {
                    "install" => {
                        m.install.entry(canonical(module)).or_insert(at);
                    }
                    "blacklist" => {
                        m.blacklist.entry(canonical(module)).or_insert(at);
                    }
                    _ => {}
                }
            }
        }
        m
    }

    /// The install command for `module`, if one replaces loading it.
    pub fn install(&self, module: &str) -> Option<&Directive> {
        self.install.get(&canonical(module))
    }

    /// The blacklist entry of `module`.
    pub fn blacklist(&self, module: &str) -> Option<&Directive> {
        self.blacklist.get(&canonical(module))
    }
}

/// Whether an install command makes loading fail or do nothing.
pub fn install_disables(directive: &Directive) -> bool {
    let mut words = directive.what.split_whitespace().skip(2);
    matches!(
        words.next(),
        Some("/bin/false" | "/usr/bin/false" | "/bin/true" | "/usr/bin/true")
    )
}

/// Every kernel module file under `/usr/lib/modules` (or `/lib/modules`),
/// by canonical name: a module with no file is not available. One walk
/// serves every rule of a scan. Files are named as seen from the root
/// (`/usr/lib/modules/6.1.0-28-amd64/...`), as the evidence shows them.
#[derive(Debug, Default)]
pub struct ModuleIndex {
    files: BTreeMap<String, String>,
}

impl ModuleIndex {
    /// Walks the kernel trees under `root`.
    pub fn load(root: &Root) -> ModuleIndex {
        let mut index = ModuleIndex::default();
        for base in ["/usr/lib/modules", "/lib/modules"] {
            for k in root.read_dir_names(base).unwrap_or_default() {
                index.walk(root, &format!("{base}/{k}"));
            }
            if !index.files.is_empty() {
                break;
            }
        }
        index
    }

    /// A file of `module`, if any kernel has one.
    pub fn file(&self, module: &str) -> Option<&str> {
        self.files.get(&canonical(module)).map(String::as_str)
    }

    /// Whether no kernel tree was found at all (a container or a bare
    /// chroot), where availability cannot be told from files.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Indexes the modules under host directory `dir`, which the root
    /// sees as `shown`.
    fn walk(&mut self, root: &Root, shown: &str) {
        let Ok(entries) = root.read_dir_names(shown) else {
            return;
        };
        for name in entries {
            let inside = format!("{shown}/{name}");
            if root.symlink_metadata(&inside).is_ok_and(|m| m.is_dir()) {
                self.walk(root, &inside);
                continue;
            }
            if let Some((stem, _)) = name.split_once(".ko") {
                self.files.entry(canonical(stem)).or_insert(inside);
            }
        }
    }
}

impl Fact for Modprobe {
    fn read(root: &Root, _live: bool) -> Modprobe {
        Modprobe::load(root)
    }
}

impl Fact for ModuleIndex {
    fn read(root: &Root, _live: bool) -> ModuleIndex {
        ModuleIndex::load(root)
    }
}

/// The module cannot be loaded: `install NAME /bin/false` and `blacklist
/// NAME` in modprobe.d, or no kernel ships it; and (on a running system)
/// it is not loaded.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KernelModuleUnavailable {
    /// Module name.
    pub name: String,
}

impl Check for KernelModuleUnavailable {
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        let name = self.name.as_str();
        let conf = f.get::<Modprobe>();
        let index = f.get::<ModuleIndex>();
        let mut evidence = Vec::new();
        if f.live() {
            let loaded = std::fs::read_to_string("/proc/modules").unwrap_or_default();
            if loaded
                .lines()
                .any(|l| l.split_whitespace().next() == Some(canonical(name).as_str()))
            {
                evidence.push(Evidence::at(
                    "/proc/modules",
                    0,
                    format!("{name} is loaded"),
                ));
                return verdict(CisStatus::Fail, evidence);
            }
        }
        let install = conf.install(name);
        let blacklist = conf.blacklist(name);
        for d in install.iter().chain(blacklist.iter()) {
            evidence.push(Evidence::at(&d.file, d.line, d.what.clone()));
        }
        let disabled = install.is_some_and(install_disables) && blacklist.is_some();
        if disabled {
            return verdict(CisStatus::Pass, evidence);
        }
        match index.file(name) {
            None if !index.is_empty() => {
                evidence.push(Evidence::said(format!("no kernel ships {name}")));
                verdict(CisStatus::Pass, evidence)
            }
            Some(file) => {
                evidence.push(Evidence::said(format!(
                    "{file} can be loaded: {}",
                    match (install, blacklist) {
                        (None, None) => "no install or blacklist line".to_owned(),
                        (Some(_), None) => "no blacklist line".to_owned(),
                        _ => "no `install NAME /bin/false` line".to_owned(),
                    }
                )));
                verdict(CisStatus::Fail, evidence)
            }
            None => {
                evidence.push(Evidence::said(
                    "no kernel tree under /lib/modules and modprobe.d does not disable it",
                ));
                verdict(CisStatus::Fail, evidence)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_rules_read_every_modprobe_directory() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = Root::new(dir.path());
        let write = |p: &str, t: &str| vpsc_engine::testing::write(dir.path(), p, t);
        write("lib/modules/6.1.0/kernel/fs/cramfs/cramfs.ko.xz", "");
        write(
            "lib/modules/6.1.0/kernel/drivers/usb/storage/usb-storage.ko.xz",
            "",
        );
        write("usr/lib/modprobe.d/cis.conf", "install cramfs /bin/false\n");
        write("etc/modprobe.d/cis.conf", "blacklist cramfs\n");
        write(
            "etc/modprobe.d/usb.conf",
            "install usb_storage /bin/false\nblacklist usb-storage\n",
        );
        let f = Facts::new(&root);
        let check = |n: &str| KernelModuleUnavailable { name: n.into() }.judge(&f);
        // /etc/modprobe.d/cis.conf hides /usr/lib/modprobe.d/cis.conf.
        assert_eq!(
            check("cramfs").status,
            CisStatus::Fail,
            "{:?}",
            check("cramfs")
        );
        assert_eq!(check("usb-storage").status, CisStatus::Pass);
        assert_eq!(
            check("hfsplus").status,
            CisStatus::Pass,
            "no kernel ships it"
        );
        // The module file is named as seen from the root, not the host.
        let usb = KernelModuleUnavailable {
            name: "usb_storage".into(),
        };
        std::fs::remove_file(dir.path().join("etc/modprobe.d/usb.conf")).expect("rm");
        let f = Facts::new(&root);
        let evidence = usb.judge(&f).evidence;
        assert_eq!(
            evidence.last().map(|e| e.value.as_str()),
            Some(
                "/lib/modules/6.1.0/kernel/drivers/usb/storage/usb-storage.ko.xz can be loaded: no install or blacklist line"
            )
        );
        let modes = crate::files::FileAccess {
            path: "/etc/modprobe.d/cis.conf".into(),
            max_mode: "0644".into(),
            owner: "root".into(),
            group: "root".into(),
        };
        assert!(modes.validate().is_ok());
    }
}
