//! Which sudo rules amount to root: least privilege is the default, so a
//! role short of full administration may hold such a rule only when its
//! roles file says so explicitly (`root_equivalent: true`).
//!
//! A rule is root in disguise when the command it allows can run another
//! program or write any file as root: `ALL`; a glob in the command path;
//! a shell, editor, pager or interpreter (each has a shell escape, GTFOBins
//! lists them); or a tool that runs or writes what its arguments say
//! (`docker`, `tee`, `cp`, `find`, `systemctl`, …) when the arguments are
//! open: no arguments given (sudoers then allows any) or a `*` among them.

/// Programs that reach a root shell whatever their arguments.
const ALWAYS: &[&str] = &[
    "sh",
    "bash",
    "dash",
    "zsh",
    "ksh",
    "mksh",
    "fish",
    "csh",
    "tcsh",
    "busybox",
    "su",
    "sudo",
    "sudoedit",
    "doas",
    "runuser",
    "setpriv",
    "env",
    "nice",
    "ionice",
    "nohup",
    "timeout",
    "stdbuf",
    "chroot",
    "unshare",
    "nsenter",
    "xargs",
    "script",
    "expect",
    "screen",
    "tmux",
    "vi",
    "vim",
    "vim.basic",
    "vim.tiny",
    "nvim",
    "view",
    "ex",
    "ed",
    "nano",
    "pico",
    "emacs",
    "joe",
    "mcedit",
    "editor",
    "sensible-editor",
    "less",
    "more",
    "most",
    "pager",
    "sensible-pager",
    "man",
    "python",
    "python3",
    "perl",
    "ruby",
    "node",
    "nodejs",
    "php",
    "lua",
    "irb",
    "awk",
    "gawk",
    "mawk",
    "gdb",
    "strace",
    "ltrace",
    "systemd-run",
    "crontab",
    "at",
    "visudo",
    "passwd",
    "chpasswd",
    "useradd",
    "usermod",
    "groupmod",
    "gpasswd",
    "vpsc-user",
];

/// Programs that run or write what their arguments say: root when the
/// arguments are left open.
const OPEN_ARGS: &[&str] = &[
    "docker",
    "podman",
    "ctr",
    "nerdctl",
    "kubectl",
    "systemctl",
    "journalctl",
    "tee",
    "cp",
    "mv",
    "dd",
    "install",
    "ln",
    "rm",
    "chmod",
    "chown",
    "chgrp",
    "rsync",
    "tar",
    "zip",
    "unzip",
    "sed",
    "find",
    "git",
    "apt",
    "apt-get",
    "aptitude",
    "dpkg",
    "pip",
    "pip3",
    "npm",
    "mount",
    "umount",
    "modprobe",
    "insmod",
    "rmmod",
    "sysctl",
    "ssh",
    "scp",
    "curl",
    "wget",
    "openssl",
    "make",
    "cargo",
    "go",
    "vpsc",
];

/// Why `rule` (a sudo command line of a roles file) amounts to root, or
/// `None` when it is confined.
pub fn root_equivalent(rule: &str) -> Option<String> {
    let mut words = rule.split_whitespace();
    let Some(path) = words.next() else {
        return Some("an empty rule".into());
    };
    let args: Vec<&str> = words.collect();
    if path == "ALL" {
        return Some("`ALL` allows every command".into());
    }
    if path.contains(['*', '?', '[']) {
        return Some(format!(
            "the command path `{path}` is a glob: it matches shells too"
        ));
    }
    let name = path.rsplit('/').next().unwrap_or(path);
    if ALWAYS.contains(&name) {
        return Some(format!(
            "`{name}` can start a root shell whatever its arguments (a shell escape)"
        ));
    }
    if OPEN_ARGS.contains(&name) {
        if args.is_empty() {
            return Some(format!(
                "`{name}` with no arguments in sudoers allows any arguments, and `{name}` runs or writes what they say"
            ));
        }
        if let Some(open) = args.iter().find(|a| a.contains('*')) {
            // What a wildcard adds to systemctl after a fixed verb
            // (`restart *.service`), or to journalctl as the value of `-u`,
            // are more units or options that read, restart or rotate:
            // disruptive, never a shell.
            let fixed: Vec<&&str> = args.iter().take_while(|a| !a.contains('*')).collect();
            let confined = match name {
                "systemctl" => fixed.iter().any(|a| !a.starts_with('-')),
                "journalctl" => fixed.last().is_some_and(|a| **a == "-u" || **a == "--unit"),
                _ => false,
            };
            if !confined {
                return Some(format!(
                    "`{name}` with `{open}` among its arguments runs or writes whatever the caller passes there"
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disguised_root_rules_are_named() {
        for rule in [
            "ALL",
            "/usr/bin/docker *",
            "/usr/bin/docker",
            "/usr/bin/systemctl * *",
            "/usr/bin/systemctl *",
            "/usr/bin/systemctl --no-pager *",
            "/usr/bin/journalctl *",
            "/usr/bin/vim /etc/motd",
            "/usr/bin/tee *",
            "/bin/bash",
            "/usr/bin/*",
            "/usr/bin/env ls",
            "/usr/bin/less /var/log/syslog",
            "/usr/bin/find /srv *",
            "/usr/bin/apt-get",
            "/usr/bin/python3 /opt/x.py",
        ] {
            assert!(root_equivalent(rule).is_some(), "{rule}");
        }
    }

    #[test]
    fn confined_rules_pass() {
        for rule in [
            "/usr/bin/systemctl restart *.service",
            "/usr/bin/journalctl --no-pager -u app-*.service",
            "/usr/bin/systemctl --no-pager status *",
            "/usr/bin/apt-get update",
            "/usr/bin/vpsc audit verify",
            "/usr/bin/tee /etc/motd",
            "/usr/bin/id",
        ] {
            assert_eq!(root_equivalent(rule), None, "{rule}");
        }
    }
}
