//! [`Snapshot`]s of a running guest: the same scope and the same
//! comparison as a chroot's, recorded by `find` and `sha256sum` inside the
//! guest (the disk of a running machine cannot be read from outside).

use super::Vm;
use crate::{Accounts, Content, Entry, Kind, Snapshot};
use std::collections::BTreeMap;

/// Lists the scope's entries as NUL-separated fields: type, mode, uid, gid,
/// path, link target. Absent scope entries are left out, as the host-side
/// snapshot does.
const LIST: &str = r#"set --; for p in SCOPE; do if [ -e "$p" ] || [ -L "$p" ]; then set -- "$@" "$p"; fi; done; find "$@" -printf '%y\0%m\0%U\0%G\0%p\0%l\0'"#;

/// SHA-256 of every regular file in scope, `HASH  PATH` NUL-terminated.
const HASH: &str = r#"set --; for p in SCOPE; do if [ -e "$p" ]; then set -- "$@" "$p"; fi; done; find "$@" -type f -print0 | xargs -0 -r sha256sum -z"#;

impl Vm {
    /// Records [`Snapshot::SCOPE`] (and the trees `extra`) inside the guest.
    pub fn snapshot(&self, extra: &[&str]) -> Snapshot {
        let scope: Vec<String> = Snapshot::SCOPE
            .iter()
            .chain(extra)
            .map(|rel| format!("/{rel}"))
            .collect();
        let scope = scope.join(" ");
        let listing = self.run_bytes(&LIST.replace("SCOPE", &scope));
        let hashes = self.run_bytes(&HASH.replace("SCOPE", &scope));
        let mut digests = BTreeMap::new();
        for record in hashes.split(|b| *b == 0).filter(|r| !r.is_empty()) {
            let record = String::from_utf8_lossy(record);
            let (hash, path) = record
                .split_once("  ")
                .unwrap_or_else(|| panic!("bad sha256sum record {record:?}"));
            digests.insert(path.to_owned(), hash.to_owned());
        }
        let fields: Vec<String> = listing
            .split(|b| *b == 0)
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        let mut entries = BTreeMap::new();
        for record in fields.chunks_exact(6) {
            let [kind, mode, uid, gid, path, target] = record else {
                unreachable!("chunks of six")
            };
            let number = |s: &str, radix| {
                u32::from_str_radix(s, radix).unwrap_or_else(|e| panic!("bad field {s:?}: {e}"))
            };
            let (kind, content) = match kind.as_str() {
                "f" => (
                    Kind::File,
                    Content::Sha256(
                        digests
                            .get(path)
                            .unwrap_or_else(|| panic!("no digest of {path}"))
                            .clone(),
                    ),
                ),
                "d" => (Kind::Dir, Content::None),
                "l" => (Kind::Symlink, Content::Target(target.clone())),
                "p" => (Kind::Fifo, Content::None),
                "s" => (Kind::Socket, Content::None),
                // find(1) cannot print a device's number; no package ships
                // device nodes in the scope, so the type must do.
                "c" => (Kind::CharDevice, Content::Device(0)),
                "b" => (Kind::BlockDevice, Content::Device(0)),
                other => panic!("unknown file type {other:?} of {path}"),
            };
            entries.insert(
                path.trim_start_matches('/').to_owned(),
                Entry {
                    kind,
                    mode: number(mode, 8),
                    uid: number(uid, 10),
                    gid: number(gid, 10),
                    content,
                },
            );
        }
        let texts: BTreeMap<String, String> =
            ["etc/passwd", "etc/group", "etc/shadow", "etc/gshadow"]
                .into_iter()
                .map(|rel| (rel.to_owned(), self.run_ok(&format!("cat /{rel}"))))
                .collect();
        Snapshot::from_parts(entries, Accounts::from_texts(&texts))
    }

    fn run_bytes(&self, script: &str) -> Vec<u8> {
        let output = self.run(script);
        assert!(
            output.status.success(),
            "snapshot command failed: {script}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        output.stdout
    }
}
