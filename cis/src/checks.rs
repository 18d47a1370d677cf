//! The typed check kinds a CIS rule is written in, and how each is judged
//! with evidence (file, line, value).

use std::cell::{OnceCell, RefCell};
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::aide::AideConf;
use super::audit_rules;
use super::auditd::{self, AuditdConf};
use super::augenrules::Loaded;
use super::cmdline::{self, GrubDefaults};
use super::dconf;
use super::firewall;
use super::host;
use super::journald::{self, Journald};
use super::logfiles::{self, LogClass};
use super::logindefs::login_defs_value;
use super::modprobe::{self, Modprobe, ModuleIndex};
use super::pam;
use super::rsyslog::{Rsyslog, RsyslogProperty};
use super::shell;
use super::sshd::{self, SshdConfig};
use super::timesync;
use super::walk::Walk;
use super::{accounts, aide, cron, files, logindefs, mounts, packages, rsyslog, sudoers, units};
use vpsc_contract::Invalid;
use vpsc_engine::root::Root;

/// One check. Externally tagged, as the module checks: `{sysctl: {…}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CisCheck {
    /// A person must judge it: always reported as manual.
    Manual,
    /// The module cannot be loaded: `install NAME /bin/false` and
    /// `blacklist NAME` in modprobe.d, or no kernel ships it; and (on a
    /// running system) it is not loaded.
    KernelModuleUnavailable {
        /// Module name.
        name: String,
    },
    /// A kernel parameter has this value as persisted by the sysctl.d
    /// files that win, and (on a running system) in the running kernel.
    Sysctl {
        /// Dotted key.
        key: String,
        /// Expected value.
        value: String,
    },
    /// A Debian package is not installed.
    PackageAbsent {
        /// Package name.
        name: String,
    },
    /// A Debian package is installed.
    PackageInstalled {
        /// Package name.
        name: String,
    },
    /// A service is not in use: its packages are absent, or its units are
    /// masked where a package is needed by something else.
    NotInUse {
        /// Packages that provide the service.
        packages: Vec<String>,
        /// Its systemd units.
        #[serde(default)]
        units: Vec<String>,
    },
    /// A file's mode grants no more than `max_mode`, with this owner and
    /// group; not applicable when the file does not exist. A `*` in the
    /// last component stands for every matching file (SSH host keys).
    FileAccess {
        /// Absolute path.
        path: String,
        /// Most permissive allowed mode, octal, e.g. "0644".
        max_mode: String,
        /// Owner name.
        owner: String,
        /// Group name.
        group: String,
    },
    /// An sshd keyword's effective value (not applicable without sshd).
    Sshd {
        /// Keyword.
        option: String,
        /// Allowed values (any case); empty: no such constraint.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        one_of: Vec<String>,
        /// Values that fail (any case).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        not: Vec<String>,
        /// Largest allowed number (times in seconds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<u64>,
        /// Smallest allowed number (times in seconds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<u64>,
        /// For MaxStartups: the `start:rate:full` the value must be at
        /// least as strict as in every field (see [`sshd::Startups`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_startups: Option<String>,
        /// For algorithm lists: entries none of which may be in the list
        /// (`*` wildcards allowed).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        excludes: Vec<String>,
        /// For algorithm lists: at least one of these must be in it.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        includes_any: Vec<String>,
    },
    /// A module line of a PAM stack in `/etc/pam.d` (`@include`s
    /// followed): some line of this type and module carries every `with`
    /// argument, and no such line carries a `without` one.
    Pam {
        /// Stack file, e.g. `common-auth`.
        file: String,
        /// auth, account, password or session.
        #[serde(rename = "type")]
        kind: String,
        /// Module file name, e.g. `pam_unix.so`.
        module: String,
        /// Arguments required (`sha512|yescrypt` for either; `remember`
        /// matches `remember=5`).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        with: Vec<String>,
        /// Arguments forbidden.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        without: Vec<String>,
    },
    /// A setting of pam_pwquality, pam_faillock or pam_pwhistory as it
    /// takes effect (its file, overridden by its arguments in the stack,
    /// else its default); fails when the module is not in its stack.
    PamSetting {
        /// Which module.
        module: pam::PamModule,
        /// Setting name, e.g. `minlen`.
        key: String,
        /// Smallest allowed number.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<i64>,
        /// Largest allowed number.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<i64>,
        /// Allowed values.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        one_of: Vec<String>,
        /// Values that fail.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        not: Vec<String>,
        /// A flag (`enforce_for_root`) that must be set.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        flag: bool,
    },
    /// No user specification in sudoers (with its includes) carries this
    /// tag, e.g. `NOPASSWD`.
    SudoersTagAbsent {
        /// Tag name, without the colon.
        tag: String,
    },
    /// A numeric `Defaults` option as it applies to everyone (the last
    /// global setting, else sudo's built-in default).
    SudoersValue {
        /// Option name, e.g. `timestamp_timeout`.
        option: String,
        /// Value when no line sets it (sudo's built-in default).
        default: i64,
        /// Largest allowed value.
        max: i64,
        /// Values that fail whatever `max` says (`-1`: never times out).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        not: Vec<i64>,
    },
    /// `su` is limited to the members of an empty group: pam_wheel.so with
    /// `use_uid` and `group=` in `/etc/pam.d/su` (required or requisite),
    /// and nobody in that group.
    SuRestricted,
    /// The umask a login shell ends up with (see [`shell`]) masks at
    /// least these bits, e.g. `027`.
    DefaultUmask {
        /// Bits that must be masked, octal.
        at_least: String,
    },
    /// No umask in root's `~/.bash_profile` or `~/.bashrc` masks fewer
    /// than these bits.
    RootUmask {
        /// Bits that must be masked, octal.
        at_least: String,
    },
    /// Login shells time out: `TMOUT` set between 1 and `max` seconds
    /// wherever it is set, read-only and exported.
    ShellTimeout {
        /// Longest allowed timeout, seconds.
        max: u64,
    },
    /// A banner file shows no OS information (see [`host::banner`]).
    Banner {
        /// Absolute path, e.g. `/etc/issue`.
        path: String,
    },
    /// Core dumps are limited to 0 for everyone (`* hard core 0`).
    CoreLimit,
    /// Interactive users' homes exist, are theirs and at most 0750.
    InteractiveHomes,
    /// Interactive users' dot files (see [`host::dot_files`]).
    DotFiles,
    /// The mail transfer agent listens on loopback only.
    MtaLocalOnly,
    /// Loaded AppArmor profiles are enforcing (or complaining, when
    /// `complain_ok`); not evaluated off a running system.
    ApparmorProfiles {
        /// Whether complain mode passes too.
        #[serde(default)]
        complain_ok: bool,
    },
    /// No wireless interface; not evaluated off a running system.
    Wireless,
    /// AppArmor is enabled in the running kernel; not evaluated off it.
    ApparmorEnabled,
    /// An APT option's value across apt.conf.d and apt.conf.
    AptOption {
        /// Option, e.g. `APT::Install-Recommends`.
        key: String,
        /// Allowed values (any case).
        one_of: Vec<String>,
    },
    /// As `file_access`, but the file must exist (`/etc/cron.allow`).
    FilePresent {
        /// Absolute path.
        path: String,
        /// Most permissive allowed mode, octal.
        max_mode: String,
        /// Owner name (`a|b` for either).
        owner: String,
        /// Group name (`a|b` for either).
        group: String,
    },
    /// Exactly one time synchronisation daemon starts at boot.
    TimeSyncSingle,
    /// systemd-timesyncd has `NTP=` or `FallbackNTP=` servers set.
    TimesyncdServers,
    /// chrony has a `server` or `pool` line.
    ChronyServers,
    /// chronyd runs as `_chrony`.
    ChronyUser,
    /// GRUB's configuration sets a superuser with a password.
    GrubPassword,
    /// A GNOME system setting in /etc/dconf/db/*.d (see [`dconf`]).
    Dconf {
        /// Key path, e.g. `/org/gnome/login-screen/disable-user-list`.
        key: String,
        /// Allowed values as written (GVariant text).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        one_of: Vec<String>,
        /// Smallest allowed number.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<u64>,
        /// Largest allowed number.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<u64>,
    },
    /// A GNOME system setting is locked against users' changes.
    DconfLocked {
        /// Key path.
        key: String,
    },
    /// GDM's XDMCP is not enabled.
    XdmcpOff,
    /// GDM offers no Wayland session (CIS Debian 13 1.7.11, Xwayland).
    WaylandOff,
    /// root's PATH has no empty, `.` or relative entry, and every
    /// directory in it exists, is root's and writable by nobody else.
    RootPath,
    /// An installed package is at least this version (`dpkg
    /// --compare-versions`); fails when it is not installed.
    PackageVersion {
        /// Package name.
        name: String,
        /// Lowest acceptable version.
        min: String,
    },
    /// A systemd-coredump setting (coredump.conf and its drop-ins).
    Coredump {
        /// Key in `[Coredump]`, e.g. `Storage`.
        key: String,
        /// Allowed values (any case).
        one_of: Vec<String>,
    },
    /// Not applicable unless `package` is installed; then `check` decides.
    WhenInstalled {
        /// Debian package.
        package: String,
        /// The check.
        check: Box<CisCheck>,
    },
    /// At least one check holds.
    AnyOf(Vec<CisCheck>),
    /// A setting of `/etc/login.defs` as shadow's getdef reads it (the
    /// last occurrence wins, quotes stripped; see `login_defs_value`).
    LoginDefs {
        /// Key, e.g. `PASS_MAX_DAYS`.
        key: String,
        /// Allowed values, compared exactly: shadow compares with strcmp,
        /// so `sha512` is no ENCRYPT_METHOD (it falls back to DES).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        one_of: Vec<String>,
        /// Largest allowed number.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max: Option<u64>,
        /// Smallest allowed number.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<u64>,
    },
    /// A `Defaults` option across `/etc/sudoers` and what it includes
    /// (`@includedir /etc/sudoers.d`), as sudo applies it to everyone: the
    /// last global setting wins, scoped ones (`Defaults:alice`) do not
    /// count (see [`sudoers`]).
    Sudoers {
        /// Option name (`use_pty`; `logfile` is set by `logfile=…`), or
        /// `!name` for the option turned off (`!authenticate`).
        option: String,
        /// Whether it must hold (true) or must not (false).
        present: bool,
    },
    /// A property of the account databases (`/etc/passwd`, `/etc/group`,
    /// `/etc/shadow`).
    Accounts {
        /// Which property.
        property: AccountsProperty,
    },
    /// No regular file anyone may write, and no directory anyone may write
    /// without the sticky bit, on the local filesystems.
    WorldWritable,
    /// Every file on the local filesystems has a known owner and group.
    Owned,
    /// A directory is a separate mount.
    SeparatePartition {
        /// Mount point.
        path: String,
    },
    /// A separate mount carries an option; not applicable when the
    /// directory is not a separate mount (its own rule says so).
    MountOption {
        /// Mount point.
        path: String,
        /// Option, e.g. `nodev`.
        option: String,
    },
    /// Every check holds.
    AllOf(Vec<CisCheck>),
    /// Exactly one of ufw, nftables and iptables-persistent is the
    /// firewall in use (see [`firewall::in_use`]).
    FirewallSingle,
    /// Not applicable unless `utility` is the firewall in use; then
    /// `check` decides.
    WhenFirewall {
        /// The utility.
        utility: firewall::Utility,
        /// The check.
        check: Box<CisCheck>,
    },
    /// `utility` is in use: enabled at boot (ufw also switched on).
    FirewallActive {
        /// The utility.
        utility: firewall::Utility,
    },
    /// `utility` is not installed, or turned off (see [`firewall::off`]).
    FirewallOff {
        /// The utility.
        utility: firewall::Utility,
    },
    /// A ufw default policy (/etc/default/ufw) is deny or reject.
    UfwDefault {
        /// Incoming, outgoing or routed.
        direction: firewall::Direction,
    },
    /// ufw accepts loopback traffic on lo and drops 127.0.0.0/8 and ::1
    /// elsewhere.
    UfwLoopback,
    /// A property of the nftables ruleset: the running one on a live
    /// system, else what /etc/nftables.conf loads (in a fresh network
    /// namespace, never the host's).
    Nftables {
        /// The property.
        property: firewall::NftProperty,
    },
    /// The persisted ip(6)tables rules default to DROP.
    IptablesPolicy {
        /// IPv4 (rules.v4) or IPv6 (rules.v6).
        family: firewall::Family,
    },
    /// The persisted ip(6)tables rules accept loopback traffic on lo and
    /// drop its addresses elsewhere.
    IptablesLoopback {
        /// IPv4 (rules.v4) or IPv6 (rules.v6).
        family: firewall::Family,
    },
    /// Every port listened on beyond loopback has a rule of `utility`;
    /// not evaluated off a running system.
    FirewallOpenPorts {
        /// The utility.
        utility: firewall::Utility,
    },
    /// `check` applies only where `when` holds, and is notapplicable
    /// where it fails (CIS's rsyslog and journald subsections apply only
    /// where that logging system is the chosen one).
    OnlyIf {
        /// The condition.
        when: Box<CisCheck>,
        /// The check that applies under it.
        check: Box<CisCheck>,
    },
    /// A systemd unit is (or is not) enabled and active (see
    /// [`units`]); whether it is active is asked only on a running system.
    Unit {
        /// Unit name.
        name: String,
        /// Whether it must start at boot (static counts) or must not.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        enabled: Option<bool>,
        /// Whether it must be running or must not.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        active: Option<bool>,
    },
    /// A journald setting's effective value across journald.conf and its
    /// drop-ins (see [`journald`]).
    Journald {
        /// Key, e.g. `Storage`.
        key: String,
        /// Allowed values (`yes`/`no` for booleans).
        one_of: Vec<String>,
    },
    /// A property of rsyslog's configuration and what it includes.
    Rsyslog(RsyslogProperty),
    /// A setting of `/etc/audit/auditd.conf` as auditd reads it.
    AuditdConf {
        /// Key, e.g. `max_log_file_action`.
        key: String,
        /// Allowed values (actions in lower case).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        one_of: Vec<String>,
        /// Smallest allowed number.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<u64>,
    },
    /// Audit rules loaded at boot from /etc/audit/rules.d as augenrules
    /// builds them (and, on a running system, `auditctl -l`), compared
    /// after normalization (see [`audit_rules`]).
    AuditRules {
        /// Rules that must be loaded; `{uid_min}` is login.defs' UID_MIN,
        /// `{sudo_logfile}` sudo's `Defaults logfile`.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        rules: Vec<String>,
        /// A rule every setuid or setgid file needs, `{path}` its path.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_each_setid_file: Option<String>,
        /// The last `-e` must be `-e 2`.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        immutable: bool,
        /// `-c` must come before the first rule.
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        continue_on_error: bool,
    },
    /// A kernel parameter on the command line GRUB boots with (and, on a
    /// running system, /proc/cmdline), see [`cmdline`].
    KernelCmdline {
        /// Parameter name.
        param: String,
        /// Allowed values (any case).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        one_of: Vec<String>,
        /// Smallest allowed number.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        min: Option<u64>,
    },
    /// The files some globs name have at most a mode, one of some owners,
    /// one of some groups (each optional; see [`files`]).
    FilesAccess {
        /// Globs; `{audit_log_dir}` is the directory of auditd's log.
        paths: Vec<String>,
        /// Most permissive allowed mode.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_mode: Option<String>,
        /// Allowed owners, `root|syslog`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        owner: Option<String>,
        /// Allowed groups.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        group: Option<String>,
    },
    /// Every file under a log directory has the access of its class, in
    /// one walk (see [`logfiles`]).
    LogFiles {
        /// The directory.
        dir: String,
        /// Classes by file name; the last matches everything else.
        classes: Vec<LogClass>,
    },
    /// AIDE checks these paths with at least these attributes (see
    /// [`aide`]).
    AideRules {
        /// Paths of the files.
        paths: Vec<String>,
        /// Attributes, e.g. `sha512`.
        attributes: Vec<String>,
    },
    /// Some cron job runs a program with one of some arguments (see
    /// [`cron`]).
    CronJob {
        /// Program base names.
        programs: Vec<String>,
        /// Arguments, one of which must follow the program.
        arguments: Vec<String>,
    },
}

/// Properties of the account databases a rule can require.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountsProperty {
    /// Every account's password lives in /etc/shadow (`x` in passwd).
    Shadowed,
    /// No /etc/shadow password field is empty.
    NoEmptyPasswords,
    /// Every primary GID in /etc/passwd is a group of /etc/group.
    GroupsExist,
    /// The shadow group has no members.
    ShadowGroupEmpty,
    /// No UID is used twice.
    UniqueUids,
    /// No GID is used twice.
    UniqueGids,
    /// No user name is used twice.
    UniqueUserNames,
    /// No group name is used twice.
    UniqueGroupNames,
    /// root is the only account with UID 0.
    RootOnlyUid0,
    /// root is the only account with primary GID 0.
    RootOnlyGid0,
    /// root is the only group with GID 0.
    RootOnlyGroupGid0,
    /// root has a password or is locked, never an empty one.
    RootAccessControlled,
    /// System accounts (UID below login.defs' UID_MIN, and nobody) other
    /// than root, sync, shutdown and halt have no login shell.
    SystemAccountsNoShell,
    /// Accounts other than root without a login shell are locked (`!` or
    /// `*` in /etc/shadow, what `passwd -S` shows as L).
    NoShellAccountsLocked,
    /// /etc/shells lists no nologin.
    NologinNotAShell,
    /// No account's last password change lies in the future.
    PasswordChangesInPast,
    /// Accounts with a password are disabled at most 45 days after it
    /// expires: `INACTIVE` in /etc/default/useradd for new ones, the
    /// seventh /etc/shadow field for existing ones.
    InactiveLock,
}

/// Outcome of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CisStatus {
    /// Compliant.
    Pass,
    /// Not compliant.
    Fail,
    /// A person must judge it.
    Manual,
    /// Does not apply here (no sshd, no such file).
    Notapplicable,
    /// Only a running system can answer.
    NotEvaluated,
    /// The check itself could not run.
    Error,
    /// Failed, but covered by a waiver that has not expired.
    Waived,
}

/// What was found, where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// File it was read from, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Line in that file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The finding.
    pub value: String,
}

impl Evidence {
    /// A finding not tied to a file.
    pub(crate) fn said(value: impl Into<String>) -> Evidence {
        Evidence {
            file: None,
            line: None,
            value: value.into(),
        }
    }

    /// A finding in `file` (at `line`, when it is not 0).
    pub(crate) fn at(file: &str, line: usize, value: impl Into<String>) -> Evidence {
        Evidence {
            file: Some(file.to_owned()),
            line: (line > 0).then_some(line),
            value: value.into(),
        }
    }
}

/// A verdict with its evidence.
#[derive(Debug, Clone)]
pub struct Verdict {
    /// Status.
    pub status: CisStatus,
    /// Evidence.
    pub evidence: Vec<Evidence>,
}

/// A verdict of `status` with `evidence`.
pub(super) fn verdict(status: CisStatus, evidence: Vec<Evidence>) -> Verdict {
    Verdict { status, evidence }
}

/// What a scan reads once and every rule shares.
pub struct Facts<'r> {
    root: &'r Root,
    live: bool,
    sshd: OnceCell<Result<Option<SshdConfig>, String>>,
    modprobe: OnceCell<Modprobe>,
    modules: OnceCell<ModuleIndex>,
    walk: OnceCell<Walk>,
    nft_live: OnceCell<firewall::Nft>,
    nft_persisted: OnceCell<firewall::Nft>,
    journald: OnceCell<Journald>,
    rsyslog: OnceCell<Rsyslog>,
    auditd: OnceCell<AuditdConf>,
    audit_rules: OnceCell<Loaded>,
    running_rules: OnceCell<Result<Loaded, String>>,
    grub: OnceCell<GrubDefaults>,
    aide: OnceCell<AideConf>,
    active: RefCell<BTreeMap<String, Result<String, String>>>,
}

impl<'r> Facts<'r> {
    /// Facts of `root`; the running kernel is asked only on a live system.
    pub fn new(root: &'r Root) -> Facts<'r> {
        Facts {
            root,
            live: root.is_live(),
            sshd: OnceCell::new(),
            modprobe: OnceCell::new(),
            modules: OnceCell::new(),
            walk: OnceCell::new(),
            nft_live: OnceCell::new(),
            nft_persisted: OnceCell::new(),
            journald: OnceCell::new(),
            rsyslog: OnceCell::new(),
            auditd: OnceCell::new(),
            audit_rules: OnceCell::new(),
            running_rules: OnceCell::new(),
            grub: OnceCell::new(),
            aide: OnceCell::new(),
            active: RefCell::new(BTreeMap::new()),
        }
    }

    /// The root scanned.
    pub(super) fn root(&self) -> &'r Root {
        self.root
    }

    /// Whether the root is the running system.
    pub(super) fn live(&self) -> bool {
        self.live
    }

    /// The one walk of the local filesystems.
    pub(super) fn walk(&self) -> &Walk {
        self.walk.get_or_init(|| Walk::run(self.root))
    }

    /// journald's effective configuration.
    pub(super) fn journald(&self) -> &Journald {
        self.journald.get_or_init(|| Journald::load(self.root))
    }

    /// rsyslog's configuration.
    pub(super) fn rsyslog(&self) -> &Rsyslog {
        self.rsyslog.get_or_init(|| Rsyslog::load(self.root))
    }

    /// auditd.conf.
    pub(super) fn auditd(&self) -> &AuditdConf {
        self.auditd.get_or_init(|| AuditdConf::load(self.root))
    }

    /// The audit rules loaded at boot.
    pub(super) fn audit_rules(&self) -> &Loaded {
        self.audit_rules
            .get_or_init(|| Loaded::from_disk(self.root))
    }

    /// The running audit rules (live systems only).
    pub(super) fn running_rules(&self) -> Result<&Loaded, &str> {
        self.running_rules
            .get_or_init(|| Loaded::running(self.root))
            .as_ref()
            .map_err(String::as_str)
    }

    /// GRUB's defaults.
    pub(super) fn grub(&self) -> &GrubDefaults {
        self.grub.get_or_init(|| GrubDefaults::load(self.root))
    }

    /// AIDE's configuration.
    pub(super) fn aide(&self) -> &AideConf {
        self.aide.get_or_init(|| AideConf::load(self.root))
    }

    /// `systemctl is-active UNIT` on the live system, asked once.
    pub(super) fn is_active(&self, unit: &str) -> Result<String, String> {
        self.active
            .borrow_mut()
            .entry(unit.to_owned())
            .or_insert_with(|| units::is_active(self.root, unit))
            .clone()
    }

    /// UID_MIN of /etc/login.defs (1000 when unset, shadow's default).
    pub(super) fn uid_min(&self) -> u32 {
        let text = self
            .root
            .read_to_string("/etc/login.defs")
            .unwrap_or_default();
        login_defs_value(&text, "UID_MIN")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(1000)
    }
}

impl CisCheck {
    /// Checks names and values the rule file gives.
    pub fn validate(&self) -> Result<(), Invalid> {
        match self {
            CisCheck::Sysctl { key, value } => {
                vpsc_contract::names::sysctl_key(key)?;
                vpsc_contract::names::sysctl_value(value)
            }
            CisCheck::PackageAbsent { name } | CisCheck::PackageInstalled { name } => {
                vpsc_contract::names::package(name)
            }
            CisCheck::NotInUse { packages, units } => {
                packages
                    .iter()
                    .try_for_each(|p| vpsc_contract::names::package(p))?;
                units.iter().try_for_each(|u| vpsc_contract::names::unit(u))
            }
            CisCheck::FileAccess { max_mode, .. } => vpsc_contract::plan::parse_mode(max_mode)
                .map(drop)
                .map_err(|p| Invalid::new(p.what)),
            CisCheck::Sshd {
                option,
                max_startups: Some(limit),
                ..
            } => {
                if !option.eq_ignore_ascii_case("MaxStartups") {
                    return Err(Invalid::new(format!(
                        "max_startups is for MaxStartups, not {option}"
                    )));
                }
                sshd::Startups::parse(limit).map(drop).ok_or_else(|| {
                    Invalid::new(format!("max_startups {limit:?} is not start:rate:full"))
                })
            }
            CisCheck::Sudoers { option, .. } => {
                let name = option.strip_prefix('!').unwrap_or(option);
                if !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                    Ok(())
                } else {
                    Err(Invalid::new(format!(
                        "sudoers option {option:?} is not a Defaults name or !name"
                    )))
                }
            }
            CisCheck::Pam { kind, module, .. } => {
                if !["auth", "account", "password", "session"].contains(&kind.as_str()) {
                    return Err(Invalid::new(format!(
                        "PAM type {kind:?} is not auth, account, password or session"
                    )));
                }
                if module.ends_with(".so") {
                    Ok(())
                } else {
                    Err(Invalid::new(format!(
                        "PAM module {module:?} is not a .so file name"
                    )))
                }
            }
            CisCheck::DefaultUmask { at_least } | CisCheck::RootUmask { at_least } => {
                shell::parse_umask(at_least)
                    .map(drop)
                    .ok_or_else(|| Invalid::new(format!("umask {at_least:?} is not octal")))
            }
            CisCheck::FilePresent { max_mode, .. } => vpsc_contract::plan::parse_mode(max_mode)
                .map(drop)
                .map_err(|p| Invalid::new(p.what)),
            CisCheck::WhenInstalled { package, check } => {
                vpsc_contract::names::package(package)?;
                check.validate()
            }
            CisCheck::AnyOf(list) if list.is_empty() => Err("any_of is empty".into()),
            CisCheck::AnyOf(list) => list.iter().try_for_each(CisCheck::validate),
            CisCheck::AllOf(list) if list.is_empty() => Err("all_of is empty".into()),
            CisCheck::AllOf(list) => list.iter().try_for_each(CisCheck::validate),
            CisCheck::WhenFirewall { check, .. } => check.validate(),
            CisCheck::OnlyIf { when, check } => {
                when.validate()?;
                check.validate()
            }
            CisCheck::Unit {
                name,
                enabled,
                active,
            } => {
                vpsc_contract::names::unit(name)?;
                if enabled.is_none() && active.is_none() {
                    Err(Invalid::new(format!(
                        "unit {name}: say enabled, active or both"
                    )))
                } else {
                    Ok(())
                }
            }
            CisCheck::Journald { key, one_of } => {
                if !journald::known(key) {
                    Err(Invalid::new(format!(
                        "journald key {key} is not one the scanner reads"
                    )))
                } else if one_of.is_empty() || !one_of.iter().all(|v| journald::valid_value(key, v))
                {
                    Err(Invalid::new(format!(
                        "journald {key}: one_of {one_of:?} are not values of it"
                    )))
                } else {
                    Ok(())
                }
            }
            CisCheck::Rsyslog(property) => property.validate().map_err(Invalid::new),
            CisCheck::AuditdConf { key, one_of, min } => {
                if !auditd::known(key) {
                    Err(Invalid::new(format!(
                        "auditd.conf key {key} is not one the scanner knows the default of"
                    )))
                } else if one_of.is_empty() && min.is_none() {
                    Err(Invalid::new(format!(
                        "auditd.conf {key}: say one_of or min"
                    )))
                } else {
                    Ok(())
                }
            }
            CisCheck::AuditRules {
                rules,
                for_each_setid_file,
                immutable,
                continue_on_error,
            } => {
                if rules.is_empty()
                    && for_each_setid_file.is_none()
                    && !immutable
                    && !continue_on_error
                {
                    return Err("audit_rules requires nothing".into());
                }
                audit_rules::validate(rules, for_each_setid_file.as_deref()).map_err(Invalid::new)
            }
            CisCheck::KernelCmdline { param, one_of, min } => {
                let name = !param.is_empty()
                    && param
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
                if !name {
                    Err(Invalid::new(format!(
                        "{param:?} is not a kernel parameter name"
                    )))
                } else if one_of.is_empty() && min.is_none() {
                    Err(Invalid::new(format!(
                        "kernel parameter {param}: say one_of or min"
                    )))
                } else {
                    Ok(())
                }
            }
            CisCheck::FilesAccess {
                paths,
                max_mode,
                owner,
                group,
            } => {
                if paths.is_empty() || paths.iter().any(|p| !p.starts_with(['/', '{'])) {
                    return Err("files_access needs absolute paths".into());
                }
                if max_mode.is_none() && owner.is_none() && group.is_none() {
                    return Err("files_access requires nothing".into());
                }
                max_mode.as_deref().map_or(Ok(()), |m| {
                    vpsc_contract::plan::parse_mode(m)
                        .map(drop)
                        .map_err(|p| Invalid::new(p.what))
                })
            }
            CisCheck::LogFiles { classes, .. } => logfiles::validate(classes).map_err(Invalid::new),
            CisCheck::AideRules { paths, attributes }
                if paths.is_empty() || attributes.is_empty() =>
            {
                Err("aide_rules needs paths and attributes".into())
            }
            CisCheck::CronJob {
                programs,
                arguments,
            } if programs.is_empty() || arguments.is_empty() => {
                Err("cron_job needs programs and arguments".into())
            }
            _ => Ok(()),
        }
    }

    /// Judges the check against the facts.
    pub fn judge(&self, f: &Facts<'_>) -> Verdict {
        match self {
            CisCheck::Manual => verdict(
                CisStatus::Manual,
                vec![Evidence::said("to be judged by a person")],
            ),
            CisCheck::KernelModuleUnavailable { name } => module_unavailable(f, name),
            CisCheck::Sysctl { key, value } => sysctl(f, key, value),
            CisCheck::PackageAbsent { name } => match packages::installed(f.root, name) {
                Some(s) => verdict(
                    CisStatus::Fail,
                    vec![Evidence::said(format!("{name}: {s}"))],
                ),
                None => verdict(
                    CisStatus::Pass,
                    vec![Evidence::said(format!("{name} is not installed"))],
                ),
            },
            CisCheck::PackageInstalled { name } => match packages::installed(f.root, name) {
                Some(s) => verdict(
                    CisStatus::Pass,
                    vec![Evidence::said(format!("{name}: {s}"))],
                ),
                None => verdict(
                    CisStatus::Fail,
                    vec![Evidence::said(format!("{name} is not installed"))],
                ),
            },
            CisCheck::NotInUse { packages, units } => packages::not_in_use(f, packages, units),
            CisCheck::FileAccess {
                path,
                max_mode,
                owner,
                group,
            } => files::file_access(f.root, path, max_mode, owner, group),
            CisCheck::Sshd {
                option,
                one_of,
                not,
                max,
                min,
                max_startups,
                excludes,
                includes_any,
            } => {
                let mut v = sshd_option(
                    f,
                    option,
                    one_of,
                    not,
                    (*max, *min),
                    max_startups.as_deref(),
                );
                if v.status == CisStatus::Pass && (!excludes.is_empty() || !includes_any.is_empty())
                {
                    algorithm_list(f, option, excludes, includes_any, &mut v);
                }
                v
            }
            CisCheck::Pam {
                file,
                kind,
                module,
                with,
                without,
            } => pam::pam_line(f.root, file, kind, module, with, without),
            CisCheck::PamSetting {
                module,
                key,
                min,
                max,
                one_of,
                not,
                flag,
            } => pam::pam_setting(f.root, *module, key, (*min, *max), one_of, not, *flag),
            CisCheck::SudoersTagAbsent { tag } => sudoers::sudoers_tag_absent(f.root, tag),
            CisCheck::SudoersValue {
                option,
                default,
                max,
                not,
            } => sudoers::sudoers_value(f.root, option, *default, *max, not),
            CisCheck::SuRestricted => pam::su_restricted(f.root),
            CisCheck::Banner { path } => host::banner(f.root, path),
            CisCheck::CoreLimit => host::core_limit(f.root),
            CisCheck::TimeSyncSingle => timesync::single(f.root),
            CisCheck::TimesyncdServers => timesync::timesyncd_servers(f.root),
            CisCheck::ChronyServers => timesync::chrony_servers(f.root),
            CisCheck::ChronyUser => timesync::chrony_user(f.root),
            CisCheck::GrubPassword => timesync::grub_password(f.root),
            CisCheck::Dconf {
                key,
                one_of,
                min,
                max,
            } => dconf::setting(f.root, key, one_of, *min, *max),
            CisCheck::DconfLocked { key } => dconf::locked(f.root, key),
            CisCheck::XdmcpOff => dconf::xdmcp_off(f.root),
            CisCheck::WaylandOff => dconf::wayland_off(f.root),
            CisCheck::RootPath => shell::root_path(f.root),
            CisCheck::PackageVersion { name, min } => packages::package_version(f.root, name, min),
            CisCheck::Coredump { key, one_of } => timesync::coredump(f.root, key, one_of),
            CisCheck::InteractiveHomes => host::homes(f.root),
            CisCheck::DotFiles => host::dot_files(f.root),
            CisCheck::MtaLocalOnly => host::mta_local_only(f.root, f.live),
            CisCheck::ApparmorProfiles { complain_ok } => {
                host::apparmor_profiles(f.live, *complain_ok)
            }
            CisCheck::Wireless => host::wireless(f.live),
            CisCheck::ApparmorEnabled => host::apparmor_enabled(f.live),
            CisCheck::AptOption { key, one_of } => host::apt_option(f.root, key, one_of),
            CisCheck::FilePresent {
                path,
                max_mode,
                owner,
                group,
            } => {
                if f.root.exists(path) {
                    files::file_access(f.root, path, max_mode, owner, group)
                } else {
                    verdict(
                        CisStatus::Fail,
                        vec![Evidence::at(path, 0, "does not exist")],
                    )
                }
            }
            CisCheck::WhenInstalled { package, check } => {
                match packages::installed(f.root, package) {
                    Some(_) => check.judge(f),
                    None => verdict(
                        CisStatus::Notapplicable,
                        vec![Evidence::said(format!("{package} is not installed"))],
                    ),
                }
            }
            CisCheck::DefaultUmask { at_least } => shell::default_umask(f.root, at_least),
            CisCheck::RootUmask { at_least } => shell::root_umask(f.root, at_least),
            CisCheck::ShellTimeout { max } => shell::shell_timeout(f.root, *max),
            CisCheck::LoginDefs {
                key,
                one_of,
                max,
                min,
            } => logindefs::judge(f.root, key, one_of, *max, *min),
            CisCheck::Sudoers { option, present } => {
                sudoers::defaults_option(f.root, option, *present)
            }
            CisCheck::Accounts { property } => accounts::judge(f.root, *property),
            CisCheck::SeparatePartition { path } => match mounts::find(f.root, path) {
                Some(m) => verdict(
                    CisStatus::Pass,
                    vec![Evidence::said(format!("{path} is mounted: {}", m.source))],
                ),
                None => verdict(
                    CisStatus::Fail,
                    vec![Evidence::said(format!("{path} is not a separate mount"))],
                ),
            },
            CisCheck::MountOption { path, option } => match mounts::find(f.root, path) {
                Some(m) => verdict(
                    if m.options.iter().any(|o| o == option) {
                        CisStatus::Pass
                    } else {
                        CisStatus::Fail
                    },
                    vec![Evidence::said(format!(
                        "{path} options {} ({})",
                        m.options.join(","),
                        m.source
                    ))],
                ),
                None => verdict(
                    CisStatus::Notapplicable,
                    vec![Evidence::said(format!("{path} is not a separate mount"))],
                ),
            },
            CisCheck::WorldWritable => {
                let w = f.walk();
                let listed = w
                    .world_writable_files
                    .iter()
                    .map(|p| format!("{p}: file writable by anyone"))
                    .chain(
                        w.world_writable_dirs
                            .iter()
                            .map(|p| format!("{p}: directory writable by anyone, no sticky bit")),
                    );
                from_walk(w, listed.collect())
            }
            CisCheck::Owned => {
                let w = f.walk();
                let listed = w
                    .unowned
                    .iter()
                    .map(|p| format!("{p}: owner is no account"))
                    .chain(
                        w.ungrouped
                            .iter()
                            .map(|p| format!("{p}: group is no group")),
                    );
                from_walk(w, listed.collect())
            }
            CisCheck::FirewallSingle => firewall::single(f.root),
            CisCheck::WhenFirewall { utility, check } => match firewall::in_use(f.root, *utility) {
                (true, _) => check.judge(f),
                (false, mut evidence) => {
                    evidence.push(Evidence::said(format!(
                        "{} is not the firewall in use",
                        utility.name()
                    )));
                    verdict(CisStatus::Notapplicable, evidence)
                }
            },
            CisCheck::FirewallActive { utility } => firewall::active(f.root, *utility),
            CisCheck::FirewallOff { utility } => firewall::off(f.root, *utility),
            CisCheck::UfwDefault { direction } => firewall::ufw_default(f.root, *direction),
            CisCheck::UfwLoopback => firewall::ufw_loopback(f.root),
            CisCheck::Nftables { property } => {
                let persisted = || {
                    f.nft_persisted
                        .get_or_init(|| firewall::nft_persisted(f.root))
                };
                let ruleset = if *property == firewall::NftProperty::Persisted || !f.live {
                    persisted()
                } else {
                    f.nft_live.get_or_init(|| firewall::nft_live(f.root))
                };
                firewall::nft_judge(ruleset, *property)
            }
            CisCheck::IptablesPolicy { family } => firewall::iptables_policy(f.root, *family),
            CisCheck::IptablesLoopback { family } => firewall::iptables_loopback(f.root, *family),
            CisCheck::FirewallOpenPorts { utility } => {
                firewall::open_ports(f.root, f.live, *utility)
            }
            CisCheck::AllOf(list) => {
                let verdicts: Vec<Verdict> = list.iter().map(|c| c.judge(f)).collect();
                let worst = [
                    CisStatus::Error,
                    CisStatus::Fail,
                    CisStatus::NotEvaluated,
                    CisStatus::Manual,
                    CisStatus::Pass,
                ]
                .into_iter()
                .find(|s| verdicts.iter().any(|v| v.status == *s))
                .unwrap_or(CisStatus::Notapplicable);
                // Checks of one file share findings (auditd refusing its
                // file): each is said once.
                let mut evidence: Vec<Evidence> = Vec::new();
                for e in verdicts.into_iter().flat_map(|v| v.evidence) {
                    if !evidence.contains(&e) {
                        evidence.push(e);
                    }
                }
                verdict(worst, evidence)
            }
            CisCheck::AnyOf(list) => {
                let verdicts: Vec<Verdict> = list.iter().map(|c| c.judge(f)).collect();
                let best = [
                    CisStatus::Pass,
                    CisStatus::NotEvaluated,
                    CisStatus::Manual,
                    CisStatus::Error,
                    CisStatus::Fail,
                ]
                .into_iter()
                .find(|s| verdicts.iter().any(|v| v.status == *s))
                .unwrap_or(CisStatus::Notapplicable);
                verdict(
                    best,
                    verdicts.into_iter().flat_map(|v| v.evidence).collect(),
                )
            }
            CisCheck::OnlyIf { when, check } => only_if(f, when, check),
            CisCheck::Unit {
                name,
                enabled,
                active,
            } => units::judge(f, name, *enabled, *active),
            CisCheck::Journald { key, one_of } => journald::judge(f, key, one_of),
            CisCheck::Rsyslog(property) => rsyslog::judge(f, property),
            CisCheck::AuditdConf { key, one_of, min } => auditd::judge(f, key, one_of, *min),
            CisCheck::AuditRules {
                rules,
                for_each_setid_file,
                immutable,
                continue_on_error,
            } => audit_rules::judge(
                f,
                rules,
                for_each_setid_file.as_deref(),
                *immutable,
                *continue_on_error,
            ),
            CisCheck::KernelCmdline { param, one_of, min } => {
                cmdline::judge(f, param, one_of, *min)
            }
            CisCheck::FilesAccess {
                paths,
                max_mode,
                owner,
                group,
            } => files::judge(
                f,
                paths,
                max_mode.as_deref(),
                owner.as_deref(),
                group.as_deref(),
            ),
            CisCheck::LogFiles { dir, classes } => logfiles::judge(f, dir, classes),
            CisCheck::AideRules { paths, attributes } => aide::judge(f, paths, attributes),
            CisCheck::CronJob {
                programs,
                arguments,
            } => cron::judge(f, programs, arguments),
        }
    }
}

/// `check` where `when` holds; notapplicable where it does not. Where
/// `when` cannot be told (not evaluated), a passing check still passes,
/// and anything else is not evaluated.
fn only_if(f: &Facts<'_>, when: &CisCheck, check: &CisCheck) -> Verdict {
    let condition = when.judge(f);
    match condition.status {
        CisStatus::Pass => check.judge(f),
        CisStatus::Fail | CisStatus::Notapplicable => {
            let mut evidence = vec![Evidence::said("does not apply here:")];
            evidence.extend(condition.evidence);
            verdict(CisStatus::Notapplicable, evidence)
        }
        CisStatus::Error => condition,
        _ => {
            let v = check.judge(f);
            if v.status == CisStatus::Pass {
                v
            } else {
                let mut evidence = condition.evidence;
                evidence.extend(v.evidence);
                verdict(CisStatus::NotEvaluated, evidence)
            }
        }
    }
}

/// Judges an algorithm list (Ciphers, MACs, KexAlgorithms) entry by entry.
fn algorithm_list(
    f: &Facts<'_>,
    option: &str,
    excludes: &[String],
    includes_any: &[String],
    v: &mut Verdict,
) {
    let Some(Ok(Some(config))) = f.sshd.get().map(|r| r.as_ref()) else {
        return;
    };
    let Some(setting) = config.get(option) else {
        return;
    };
    let list: Vec<&str> = setting.value.split(',').collect();
    let weak: Vec<&str> = list
        .iter()
        .copied()
        .filter(|a| excludes.iter().any(|p| sshd::wildcard(p, a)))
        .collect();
    if !weak.is_empty() {
        v.status = CisStatus::Fail;
        v.evidence.push(Evidence::said(format!(
            "{option} offers {}",
            weak.join(", ")
        )));
    }
    if !includes_any.is_empty() && !list.iter().any(|a| includes_any.iter().any(|w| w == a)) {
        v.status = CisStatus::Fail;
        v.evidence.push(Evidence::said(format!(
            "{option} offers none of {}",
            includes_any.join(", ")
        )));
    }
}

fn module_unavailable(f: &Facts<'_>, name: &str) -> Verdict {
    let conf = f.modprobe.get_or_init(|| Modprobe::load(f.root));
    let index = f.modules.get_or_init(|| ModuleIndex::load(f.root));
    let mut evidence = Vec::new();
    if f.live {
        let loaded = std::fs::read_to_string("/proc/modules").unwrap_or_default();
        if loaded
            .lines()
            .any(|l| l.split_whitespace().next() == Some(modprobe::canonical(name).as_str()))
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
    let disabled = install.is_some_and(modprobe::install_disables) && blacklist.is_some();
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

fn sysctl(f: &Facts<'_>, key: &str, want: &str) -> Verdict {
    let mut evidence = Vec::new();
    let mut ok = true;
    match vpsc_engine::effects::sysctl_persisted_at(f.root, key) {
        Some((value, file, line)) => {
            ok &= value == want;
            evidence.push(Evidence::at(&file, line, format!("{key} = {value}")));
        }
        None => {
            ok = false;
            evidence.push(Evidence::said(format!(
                "{key} is not set in any sysctl.d file"
            )));
        }
    }
    if f.live {
        let running = std::fs::read_to_string(format!("/proc/sys/{}", key.replace('.', "/")))
            .map(|v| v.trim().to_owned())
            .unwrap_or_default();
        ok &= running == want;
        evidence.push(Evidence::at(
            &format!("/proc/sys/{}", key.replace('.', "/")),
            0,
            format!("running {key} = {running}"),
        ));
    }
    verdict(if ok { CisStatus::Pass } else { CisStatus::Fail }, evidence)
}

fn sshd_option(
    f: &Facts<'_>,
    option: &str,
    one_of: &[String],
    not: &[String],
    (max, min): (Option<u64>, Option<u64>),
    max_startups: Option<&str>,
) -> Verdict {
    let config = match f.sshd.get_or_init(|| SshdConfig::load(f.root)) {
        Ok(Some(c)) => c,
        Ok(None) => {
            return verdict(
                CisStatus::Notapplicable,
                vec![Evidence::said(
                    "no /etc/ssh/sshd_config: sshd is not installed",
                )],
            );
        }
        Err(e) => return verdict(CisStatus::Error, vec![Evidence::said(e.clone())]),
    };
    let Some(setting) = config.get(option) else {
        return verdict(
            CisStatus::Fail,
            vec![Evidence::said(format!("{option} is not set"))],
        );
    };
    let value = setting.value.clone();
    let mut evidence = vec![match &setting.file {
        Some(file) => Evidence::at(file, setting.line, format!("{option} {value}")),
        None => Evidence::said(format!("{option} {value} (OpenSSH default)")),
    }];
    let lower = value.to_ascii_lowercase();
    let mut ok = one_of.is_empty() || one_of.iter().any(|v| v.eq_ignore_ascii_case(&lower));
    ok &= !not.iter().any(|v| v.eq_ignore_ascii_case(&lower));
    if max.is_some() || min.is_some() {
        match sshd::seconds(&lower) {
            Some(n) => {
                ok &= max.is_none_or(|m| n <= m) && min.is_none_or(|m| n >= m);
            }
            None => ok = false,
        }
    }
    if let Some(limit) = max_startups.and_then(sshd::Startups::parse) {
        // Every field counts: 10:30:100, OpenSSH's default, starts
        // dropping at 10 but lets 100 unauthenticated connections in.
        match sshd::Startups::parse(&value) {
            Some(s) if s.at_least_as_strict_as(&limit) => {}
            Some(s) => {
                ok = false;
                evidence.push(Evidence::said(format!(
                    "start {} (at most {}), rate {}% (at least {}% unless start is full), full {} (at most {})",
                    s.start, limit.start, s.rate, limit.rate, s.full, limit.full
                )));
            }
            None => {
                ok = false;
                evidence.push(Evidence::said(format!(
                    "{value:?} is not a MaxStartups value sshd accepts"
                )));
            }
        }
    }
    verdict(if ok { CisStatus::Pass } else { CisStatus::Fail }, evidence)
}

/// A verdict from a walk: what was found is the evidence of a failure.
fn from_walk(w: &Walk, found: Vec<String>) -> Verdict {
    if found.is_empty() {
        verdict(
            CisStatus::Pass,
            vec![Evidence::said(format!("{} files looked at", w.files))],
        )
    } else {
        verdict(
            CisStatus::Fail,
            found.into_iter().map(Evidence::said).collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn login_defs_values_are_read_as_shadow_reads_them() {
        let text = "PASS_MAX_DAYS 99999\n  PASS_MAX_DAYS\t\"90\"  \n# PASS_MAX_DAYS 1\n\
                    ENCRYPT_METHOD \"SHA512\" trailing\nPASS_WARN_AGE 7 # a week\nUMASK\n";
        assert_eq!(
            login_defs_value(text, "PASS_MAX_DAYS"),
            Some((2, "90".into()))
        );
        assert_eq!(
            login_defs_value(text, "ENCRYPT_METHOD"),
            Some((4, "SHA512".into()))
        );
        assert_eq!(
            login_defs_value(text, "PASS_WARN_AGE"),
            Some((5, "7 # a week".into()))
        );
        assert_eq!(
            login_defs_value(text, "UMASK"),
            None,
            "a name alone sets nothing"
        );
        assert_eq!(login_defs_value(text, "pass_max_days"), None);
    }

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
        let check = |n: &str| CisCheck::KernelModuleUnavailable { name: n.into() }.judge(&f);
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
        let usb = CisCheck::KernelModuleUnavailable {
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
        let modes = CisCheck::FileAccess {
            path: "/etc/modprobe.d/cis.conf".into(),
            max_mode: "0644".into(),
            owner: "root".into(),
            group: "root".into(),
        };
        assert!(modes.validate().is_ok());
    }
}
