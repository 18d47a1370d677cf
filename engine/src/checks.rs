//! Verify checks: each answers from the files of the root, without
//! subprocesses, so `vpsc verify` is fast enough to run after every
//! configure and works the same on a chroot as on a live system.

use serde::Serialize;

use crate::accounts::{self, Db};
use crate::breaker::{Breakers, Failure};
use crate::effects;
use crate::root::Root;
use crate::sockets;
use vpsc_contract::plan::{Check, Protocol};

/// Outcome of one check.
#[derive(Debug, Clone, Serialize)]
pub struct CheckResult {
    /// Module the check belongs to.
    pub module: String,
    /// Human label of the check.
    pub check: String,
    /// Whether it holds, or could not be asked.
    pub status: Status,
    /// Evidence: what was found.
    pub detail: String,
}

/// Verdict of a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// It holds.
    Pass,
    /// It does not hold.
    Fail,
    /// Only a running system can answer (a port on a chroot): neither a
    /// pass nor a failure.
    NotEvaluated,
}

impl Status {
    /// Upper-case word for tables.
    pub fn word(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Fail => "FAIL",
            Status::NotEvaluated => "SKIP",
        }
    }
}

impl CheckResult {
    /// Whether the check ran and failed.
    pub fn failed(&self) -> bool {
        self.status == Status::Fail
    }
}

/// How long a port check waits for a service that was just (re)started to
/// bind: `systemctl reload ssh` returns before sshd listens again.
const PORT_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Runs one (rendered) check against `root`; network checks go through
/// `breakers`.
pub fn run(root: &Root, module: &str, check: &Check, breakers: &Breakers<'_>) -> CheckResult {
    if let Check::Reachable { host, port } = check {
        let (pass, detail) = match reachable(breakers, host, port) {
            Ok(addr) => (true, format!("{host}:{port} accepts connections ({addr})")),
            Err(e) => (false, e.to_string()),
        };
        return CheckResult {
            module: module.to_owned(),
            check: check.label(),
            status: if pass { Status::Pass } else { Status::Fail },
            detail,
        };
    }
    if let Check::PortListening {
        port,
        protocol,
        loopback_only,
    } = check
    {
        let (status, detail) = port_listening(root, port, *protocol, *loopback_only);
        return CheckResult {
            module: module.to_owned(),
            check: check.label(),
            status,
            detail,
        };
    }
    let (pass, detail) = match check {
        Check::CommandPresent { name } => match find_command(root, name) {
            Some(p) => (true, format!("found {p}")),
            None => (
                false,
                format!("`{name}` is not on PATH ({})", crate::root::ROOT_PATH),
            ),
        },
        Check::FileContains { path, text } => match root.read_to_string(path) {
            Ok(content) => match content.lines().position(|l| l.contains(text.as_str())) {
                Some(i) => (true, format!("{path}:{} contains it", i + 1)),
                None if content.contains(text.as_str()) => (true, format!("{path} contains it")),
                None => (false, format!("{path} does not contain {text:?}")),
            },
            Err(e) => (false, format!("cannot read {path}: {e}")),
        },
        Check::UnitEnabled { name } => {
            if effects::unit_is_enabled(root, name) {
                (true, format!("{name} is enabled"))
            } else {
                (
                    false,
                    format!("{name} is not enabled (no link in /etc/systemd/system/*.wants)"),
                )
            }
        }
        Check::Sysctl { key, value } => {
            let (found, source) = if root.is_live() {
                let p = format!("/proc/sys/{}", key.replace('.', "/"));
                (
                    std::fs::read_to_string(&p)
                        .ok()
                        .map(|v| v.trim().to_owned()),
                    "running kernel",
                )
            } else {
                (effects::sysctl_persisted(root, key), "sysctl.d files")
            };
            match found {
                Some(v) if normalise_ws(&v) == normalise_ws(value) => {
                    (true, format!("{key} = {v} ({source})"))
                }
                Some(v) => (false, format!("{key} = {v}, expected {value} ({source})")),
                None => (false, format!("{key} is not set ({source})")),
            }
        }
        Check::PackageInstalled { name } => match package_status(root, name) {
            // Trigger states still count as installed: dpkg satisfies
            // Depends with them, and mid-transaction they are normal.
            Some(s)
                if s.split(' ').nth(1) == Some("ok")
                    && ["installed", "triggers-pending", "triggers-awaited"]
                        .contains(&s.rsplit(' ').next().unwrap_or("")) =>
            {
                (true, format!("{name}: {s}"))
            }
            Some(s) => (false, format!("{name}: {s}")),
            None => (false, format!("{name} is not known to dpkg")),
        },
        Check::GroupMember { group, user } => match effects::group_members(root, group) {
            Some(members) if members.iter().any(|m| m == user) => {
                (true, format!("{user} is in {group}"))
            }
            Some(members) => (
                false,
                format!("{group} has members [{}], not {user}", members.join(", ")),
            ),
            None => (false, format!("group {group} does not exist")),
        },
        Check::Symlink { path, target } => match root.read_link(path) {
            Ok(t) if t == std::path::Path::new(target) => (true, format!("{path} -> {target}")),
            Ok(t) => (
                false,
                format!("{path} -> {}, expected {target}", t.display()),
            ),
            Err(e) => (false, format!("{path} is not a symbolic link: {e}")),
        },
        Check::PackageAbsent { name } => match package_status(root, name) {
            Some(s)
                if s.ends_with(" installed") || s.contains(" unpacked") || s.contains("half-") =>
            {
                (false, format!("{name}: {s}"))
            }
            Some(s) => (true, format!("{name}: {s}")),
            None => (true, format!("{name} is not known to dpkg")),
        },
        Check::GroupExists { name } => match effects::group_members(root, name) {
            Some(_) => (true, format!("group {name} exists")),
            None => (false, format!("group {name} does not exist")),
        },
        Check::FileMode {
            path,
            owner,
            group,
            mode,
        } => file_mode(root, path, owner, group, mode),
        Check::AuthorizedKey { user } => authorized_key(root, user),
        Check::PortListening { .. } | Check::Reachable { .. } => {
            unreachable!("answered above")
        }
    };
    CheckResult {
        module: module.to_owned(),
        check: check.label(),
        status: if pass { Status::Pass } else { Status::Fail },
        detail,
    }
}

/// How long one TCP connection attempt may take.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Connects to `host:port` under the breaker `net:host:port`. The network
/// namespace is the host's even under `--root`, so this is asked anyway.
fn reachable(
    breakers: &Breakers<'_>,
    host: &str,
    port: &str,
) -> crate::error::Result<std::net::SocketAddr> {
    use std::net::{TcpStream, ToSocketAddrs};
    let port = vpsc_contract::plan::parse_port(port).map_err(|p| crate::error::Error::Invalid {
        what: p.what,
        hint: "fix the port parameter".into(),
    })?;
    let key = format!("net:{host}:{port}");
    breakers.call(&key, &format!("connecting to {host}:{port}"), || {
        let addrs = (host, port)
            .to_socket_addrs()
            .map_err(|e| Failure::Transient(format!("cannot resolve {host}: {e}")))?;
        let mut last = format!("{host} has no address");
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(_) => return Ok(addr),
                Err(e) => last = format!("{addr}: {e}"),
            }
        }
        Err(Failure::Transient(last))
    })
}

/// Asks the kernel who listens on the port, waiting up to [`PORT_WAIT`]
/// for a service that is still starting.
fn port_listening(
    root: &Root,
    port: &str,
    protocol: Protocol,
    loopback_only: bool,
) -> (Status, String) {
    // Where packages may not start services (chroot, --root tree,
    // policy-rc.d saying no), nothing is expected to listen yet.
    if !root.may_start_services() {
        return (
            Status::NotEvaluated,
            format!(
                "{protocol}/{port}: only a running system that may start services can answer (chroot, --root tree or policy-rc.d)"
            ),
        );
    }
    let port = match vpsc_contract::plan::parse_port(port) {
        Ok(p) => p,
        Err(e) => return (Status::Fail, e.what),
    };
    let deadline = std::time::Instant::now() + PORT_WAIT;
    loop {
        let found = match sockets::listeners(std::path::Path::new("/proc/net"), protocol, port) {
            Ok(found) => found,
            Err(e) => return (Status::Fail, format!("cannot read /proc/net: {e}")),
        };
        let shown = || {
            found
                .iter()
                .map(|a| a.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if !found.is_empty() && loopback_only && !found.iter().all(sockets::is_loopback) {
            return (
                Status::Fail,
                format!(
                    "{protocol}/{port} is reachable from other hosts: listening on {}",
                    shown()
                ),
            );
        }
        if !found.is_empty() {
            return (
                Status::Pass,
                format!("{protocol}/{port} listening on {}", shown()),
            );
        }
        if std::time::Instant::now() >= deadline {
            return (
                Status::Fail,
                format!(
                    "nothing listens on {protocol}/{port} (waited {} s); is the service running?",
                    PORT_WAIT.as_secs()
                ),
            );
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}

/// Owner, group and mode of a file, names resolved through the root's
/// passwd and group files.
fn file_mode(root: &Root, path: &str, owner: &str, group: &str, mode: &str) -> (bool, String) {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let Ok(meta) = root.symlink_metadata(path) else {
        return (false, format!("{path} does not exist"));
    };
    let found = format!(
        "{}:{} {:04o}",
        accounts::name_of(root, Db::Passwd, meta.uid()),
        accounts::name_of(root, Db::Group, meta.gid()),
        meta.permissions().mode() & 0o7777
    );
    let wanted = format!("{owner}:{group} {mode}");
    (
        found == wanted,
        format!("{path} is {found}, expected {wanted}"),
    )
}

/// Whether `user` can log in with a key: sshd's default
/// `AuthorizedKeysFile` (`~/.ssh/authorized_keys`) holds a public key line.
fn authorized_key(root: &Root, user: &str) -> (bool, String) {
    let Some(home) = accounts::account(root, user).ok().flatten().map(|a| a.home) else {
        return (false, format!("user {user} does not exist"));
    };
    let file = format!("{}/.ssh/authorized_keys", home.trim_end_matches('/'));
    let Ok(text) = root.read_to_string(&file) else {
        return (false, format!("{file} does not exist or cannot be read"));
    };
    // A key line is `[options] type base64 [comment]`; options never start
    // with a key type, so looking for the type token is enough.
    let keys = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter(|l| {
            l.split_whitespace().any(|t| {
                t.starts_with("ssh-") || t.starts_with("ecdsa-sha2-") || t.starts_with("sk-")
            })
        })
        .count();
    if keys == 0 {
        (false, format!("{file} holds no public key"))
    } else {
        (true, format!("{file} holds {keys} key(s)"))
    }
}

fn normalise_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn find_command(root: &Root, name: &str) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    crate::root::ROOT_PATH.split(':').find_map(|dir| {
        let p = format!("{dir}/{name}");
        root.metadata(&p)
            .ok()
            .filter(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            .map(|_| p)
    })
}

/// The installed version of `name` as dpkg-query reports it.
pub fn package_version(root: &Root, name: &str) -> Option<String> {
    let mut argv = root.dpkg_tool("dpkg-query");
    argv.extend([
        "--show".into(),
        "--showformat=${db:Status-Abbrev} ${Version}".into(),
        "--".into(),
        name.to_owned(),
    ]);
    let out = Root::new("/").run(&argv).ok()?;
    // `ii ` then the version: only an installed package has one that counts.
    let (status, version) = out.trim().split_once(' ')?;
    status.starts_with("ii").then(|| version.trim().to_owned())
}

/// The `Status:` of `name` as dpkg-query reports it, if dpkg knows it.
/// dpkg's database is read only through dpkg's tools (lintian:
/// uses-dpkg-database-directly), so the on-disk format is dpkg's business.
pub fn package_status(root: &Root, name: &str) -> Option<String> {
    let mut argv = root.dpkg_tool("dpkg-query");
    argv.extend([
        "--show".into(),
        "--showformat=${Status}".into(),
        "--".into(),
        name.to_owned(),
    ]);
    Root::new("/")
        .run(&argv)
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}
