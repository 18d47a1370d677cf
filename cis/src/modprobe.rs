//! Kernel module configuration as modprobe resolves it: `*.conf` files of
//! `/etc/modprobe.d`, `/run/modprobe.d`, `/usr/local/lib/modprobe.d`,
//! `/usr/lib/modprobe.d` and `/lib/modprobe.d`, a file in an earlier
//! directory hiding a same-named one in a later directory (modprobe.d(5)),
//! module names with `-` and `_` equal.

use std::collections::BTreeMap;

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
