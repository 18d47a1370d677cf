//! The check kinds a CIS rule is written in, by the names the rule files
//! give them (`{sysctl: {…}}`). Each kind is defined, validated and judged
//! in the module of the configuration it reads; this module only names
//! them, and holds the kinds that combine other checks.

use serde::{Deserialize, Serialize};
use vpsc_contract::Invalid;

use crate::accounts::Accounts;
use crate::aide::AideRules;
use crate::audit_rules::AuditRules;
use crate::auditd::AuditdValue;
use crate::check::Check;
use crate::cmdline::KernelCmdline;
use crate::cron::CronJob;
use crate::dconf::{Dconf, DconfLocked, WaylandOff, XdmcpOff};
use crate::facts::Facts;
use crate::files::{FileAccess, FilePresent, FilesAccess};
use crate::firewall::iptables::{FirewallOpenPorts, IptablesLoopback, IptablesPolicy};
use crate::firewall::nft::Nftables;
use crate::firewall::ufw::{UfwDefault, UfwLoopback};
use crate::firewall::utility::{FirewallActive, FirewallOff, FirewallSingle, Utility, in_use};
use crate::host::{
    ApparmorEnabled, ApparmorProfiles, AptOption, Banner, CoreLimit, DotFiles, InteractiveHomes,
    MtaLocalOnly, Wireless,
};
use crate::journald::JournaldValue;
use crate::logfiles::LogFiles;
use crate::logindefs::LoginDefs;
use crate::modprobe::KernelModuleUnavailable;
use crate::mounts::{MountOption, SeparatePartition};
use crate::packages::{self, NotInUse, PackageAbsent, PackageInstalled, PackageVersion};
use crate::pam::{Pam, PamSetting, SuRestricted};
use crate::rsyslog::RsyslogProperty;
use crate::shell::{DefaultUmask, RootPath, RootUmask, ShellTimeout};
use crate::sshd::Sshd;
use crate::sudoers::{Sudoers, SudoersTagAbsent, SudoersValue};
use crate::sysctl::Sysctl;
use crate::timesync::{
    ChronyServers, ChronyUser, Coredump, GrubPassword, TimeSyncSingle, TimesyncdServers,
};
use crate::units::Unit;
use crate::verdict::verdict;
use crate::walk::{Owned, WorldWritable};

pub use crate::verdict::{CisStatus, Evidence, Verdict};

/// One check. Externally tagged, as the module checks: `{sysctl: {…}}`;
/// a kind without fields is a plain name (`manual`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum CisCheck {
    /// A person must judge it: always reported as manual.
    Manual,
    /// A kernel module cannot be loaded.
    KernelModuleUnavailable(KernelModuleUnavailable),
    /// A kernel parameter has a value, persisted and running.
    Sysctl(Sysctl),
    /// A Debian package is not installed.
    PackageAbsent(PackageAbsent),
    /// A Debian package is installed.
    PackageInstalled(PackageInstalled),
    /// A service is not in use.
    NotInUse(NotInUse),
    /// A file's mode, owner and group, when it exists.
    FileAccess(FileAccess),
    /// An sshd keyword's effective value.
    Sshd(Sshd),
    /// A module line of a PAM stack.
    Pam(Pam),
    /// A setting of a PAM module as it takes effect.
    PamSetting(PamSetting),
    /// No sudoers user specification carries a tag.
    SudoersTagAbsent(SudoersTagAbsent),
    /// A numeric sudoers `Defaults` option as it applies to everyone.
    SudoersValue(SudoersValue),
    /// `su` is limited to the members of an empty group.
    SuRestricted,
    /// The umask a login shell ends up with.
    DefaultUmask(DefaultUmask),
    /// The umasks of root's shell files.
    RootUmask(RootUmask),
    /// Login shells time out.
    ShellTimeout(ShellTimeout),
    /// A banner file shows no OS information.
    Banner(Banner),
    /// Core dumps are limited to 0 for everyone.
    CoreLimit,
    /// Interactive users' homes.
    InteractiveHomes,
    /// Interactive users' dot files.
    DotFiles,
    /// The mail transfer agent listens on loopback only.
    MtaLocalOnly,
    /// Loaded AppArmor profiles are enforcing.
    ApparmorProfiles(ApparmorProfiles),
    /// No wireless interface.
    Wireless,
    /// AppArmor is enabled in the running kernel.
    ApparmorEnabled,
    /// An APT option's value.
    AptOption(AptOption),
    /// As `file_access`, but the file must exist.
    FilePresent(FilePresent),
    /// Exactly one time synchronisation daemon starts at boot.
    TimeSyncSingle,
    /// systemd-timesyncd has servers set.
    TimesyncdServers,
    /// chrony has a server or pool.
    ChronyServers,
    /// chronyd runs as `_chrony`.
    ChronyUser,
    /// GRUB's configuration sets a superuser with a password.
    GrubPassword,
    /// A GNOME system setting.
    Dconf(Dconf),
    /// A GNOME system setting is locked.
    DconfLocked(DconfLocked),
    /// GDM's XDMCP is not enabled.
    XdmcpOff,
    /// GDM offers no Wayland session.
    WaylandOff,
    /// root's PATH is safe.
    RootPath,
    /// An installed package is at least a version.
    PackageVersion(PackageVersion),
    /// A systemd-coredump setting.
    Coredump(Coredump),
    /// A check that applies only where a package is installed.
    WhenInstalled(WhenInstalled),
    /// At least one check holds.
    AnyOf(AnyOf),
    /// A setting of `/etc/login.defs`.
    LoginDefs(LoginDefs),
    /// A sudoers `Defaults` option as it applies to everyone.
    Sudoers(Sudoers),
    /// A property of the account databases.
    Accounts(Accounts),
    /// No file or directory anyone may write.
    WorldWritable,
    /// Every file has a known owner and group.
    Owned,
    /// A directory is a separate mount.
    SeparatePartition(SeparatePartition),
    /// A separate mount carries an option.
    MountOption(MountOption),
    /// Every check holds.
    AllOf(AllOf),
    /// Exactly one firewall utility is in use.
    FirewallSingle,
    /// A check that applies only where a utility is the firewall in use.
    WhenFirewall(WhenFirewall),
    /// A firewall utility is in use.
    FirewallActive(FirewallActive),
    /// A firewall utility is not installed, or turned off.
    FirewallOff(FirewallOff),
    /// A ufw default policy is deny or reject.
    UfwDefault(UfwDefault),
    /// ufw's loopback rules.
    UfwLoopback,
    /// A property of the nftables ruleset.
    Nftables(Nftables),
    /// The persisted ip(6)tables rules default to DROP.
    IptablesPolicy(IptablesPolicy),
    /// The persisted ip(6)tables loopback rules.
    IptablesLoopback(IptablesLoopback),
    /// Every port listened on has a firewall rule.
    FirewallOpenPorts(FirewallOpenPorts),
    /// A check that applies only where another holds.
    OnlyIf(OnlyIf),
    /// A systemd unit is (or is not) enabled and active.
    Unit(Unit),
    /// A journald setting's effective value.
    Journald(JournaldValue),
    /// A property of rsyslog's configuration.
    Rsyslog(RsyslogProperty),
    /// A setting of `/etc/audit/auditd.conf`.
    AuditdConf(AuditdValue),
    /// Audit rules loaded at boot (and running).
    AuditRules(AuditRules),
    /// A kernel parameter on the boot command line.
    KernelCmdline(KernelCmdline),
    /// Modes and owners of the files some globs name.
    FilesAccess(FilesAccess),
    /// The files under a log directory, by class.
    LogFiles(LogFiles),
    /// AIDE checks some paths with some attributes.
    AideRules(AideRules),
    /// Some cron job runs a program.
    CronJob(CronJob),
}

impl CisCheck {
    /// Checks names and values the rule file gives.
    pub fn validate(&self) -> Result<(), Invalid> {
        self.kind().validate()
    }

    /// Judges the check against the facts.
    pub fn judge(&self, f: &Facts<'_>) -> Verdict {
        self.kind().judge(f)
    }

    /// The definition of the kind, which validates and judges it.
    fn kind(&self) -> &dyn Check {
        match self {
            CisCheck::Manual => &Manual,
            CisCheck::KernelModuleUnavailable(c) => c,
            CisCheck::Sysctl(c) => c,
            CisCheck::PackageAbsent(c) => c,
            CisCheck::PackageInstalled(c) => c,
            CisCheck::NotInUse(c) => c,
            CisCheck::FileAccess(c) => c,
            CisCheck::Sshd(c) => c,
            CisCheck::Pam(c) => c,
            CisCheck::PamSetting(c) => c,
            CisCheck::SudoersTagAbsent(c) => c,
            CisCheck::SudoersValue(c) => c,
            CisCheck::SuRestricted => &SuRestricted,
            CisCheck::DefaultUmask(c) => c,
            CisCheck::RootUmask(c) => c,
            CisCheck::ShellTimeout(c) => c,
            CisCheck::Banner(c) => c,
            CisCheck::CoreLimit => &CoreLimit,
            CisCheck::InteractiveHomes => &InteractiveHomes,
            CisCheck::DotFiles => &DotFiles,
            CisCheck::MtaLocalOnly => &MtaLocalOnly,
            CisCheck::ApparmorProfiles(c) => c,
            CisCheck::Wireless => &Wireless,
            CisCheck::ApparmorEnabled => &ApparmorEnabled,
            CisCheck::AptOption(c) => c,
            CisCheck::FilePresent(c) => c,
            CisCheck::TimeSyncSingle => &TimeSyncSingle,
            CisCheck::TimesyncdServers => &TimesyncdServers,
            CisCheck::ChronyServers => &ChronyServers,
            CisCheck::ChronyUser => &ChronyUser,
            CisCheck::GrubPassword => &GrubPassword,
            CisCheck::Dconf(c) => c,
            CisCheck::DconfLocked(c) => c,
            CisCheck::XdmcpOff => &XdmcpOff,
            CisCheck::WaylandOff => &WaylandOff,
            CisCheck::RootPath => &RootPath,
            CisCheck::PackageVersion(c) => c,
            CisCheck::Coredump(c) => c,
            CisCheck::WhenInstalled(c) => c,
            CisCheck::AnyOf(c) => c,
            CisCheck::LoginDefs(c) => c,
            CisCheck::Sudoers(c) => c,
            CisCheck::Accounts(c) => c,
            CisCheck::WorldWritable => &WorldWritable,
            CisCheck::Owned => &Owned,
            CisCheck::SeparatePartition(c) => c,
            CisCheck::MountOption(c) => c,
            CisCheck::AllOf(c) => c,
            CisCheck::FirewallSingle => &FirewallSingle,
            CisCheck::WhenFirewall(c) => c,
            CisCheck::FirewallActive(c) => c,
            CisCheck::FirewallOff(c) => c,
            CisCheck::UfwDefault(c) => c,
            CisCheck::UfwLoopback => &UfwLoopback,
            CisCheck::Nftables(c) => c,
            CisCheck::IptablesPolicy(c) => c,
            CisCheck::IptablesLoopback(c) => c,
            CisCheck::FirewallOpenPorts(c) => c,
            CisCheck::OnlyIf(c) => c,
            CisCheck::Unit(c) => c,
            CisCheck::Journald(c) => c,
            CisCheck::Rsyslog(c) => c,
            CisCheck::AuditdConf(c) => c,
            CisCheck::AuditRules(c) => c,
            CisCheck::KernelCmdline(c) => c,
            CisCheck::FilesAccess(c) => c,
            CisCheck::LogFiles(c) => c,
            CisCheck::AideRules(c) => c,
            CisCheck::CronJob(c) => c,
        }
    }
}

/// A person must judge it: always reported as manual.
#[derive(Debug, Clone, Copy)]
pub struct Manual;

impl Check for Manual {
    fn judge(&self, _: &Facts<'_>) -> Verdict {
        verdict(
            CisStatus::Manual,
            vec![Evidence::said("to be judged by a person")],
        )
    }
}

/// Not applicable unless `package` is installed; then `check` decides.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhenInstalled {
    /// Debian package.
    pub package: String,
    /// The check.
    pub check: Box<CisCheck>,
}

impl Check for WhenInstalled {
    fn validate(&self) -> Result<(), Invalid> {
        vpsc_contract::names::package(&self.package)?;
        self.check.validate()
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        match packages::installed(f.root(), &self.package) {
            Some(_) => self.check.judge(f),
            None => verdict(
                CisStatus::Notapplicable,
                vec![Evidence::said(format!("{} is not installed", self.package))],
            ),
        }
    }
}

/// At least one check holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AnyOf(pub Vec<CisCheck>);

impl Check for AnyOf {
    fn validate(&self) -> Result<(), Invalid> {
        if self.0.is_empty() {
            return Err("any_of is empty".into());
        }
        self.0.iter().try_for_each(CisCheck::validate)
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        let verdicts: Vec<Verdict> = self.0.iter().map(|c| c.judge(f)).collect();
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
}

/// Every check holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AllOf(pub Vec<CisCheck>);

impl Check for AllOf {
    fn validate(&self) -> Result<(), Invalid> {
        if self.0.is_empty() {
            return Err("all_of is empty".into());
        }
        self.0.iter().try_for_each(CisCheck::validate)
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        let verdicts: Vec<Verdict> = self.0.iter().map(|c| c.judge(f)).collect();
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
        // Checks of one file share findings (auditd refusing its file):
        // each is said once.
        let mut evidence: Vec<Evidence> = Vec::new();
        for e in verdicts.into_iter().flat_map(|v| v.evidence) {
            if !evidence.contains(&e) {
                evidence.push(e);
            }
        }
        verdict(worst, evidence)
    }
}

/// Not applicable unless `utility` is the firewall in use; then `check`
/// decides.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhenFirewall {
    /// The utility.
    pub utility: Utility,
    /// The check.
    pub check: Box<CisCheck>,
}

impl Check for WhenFirewall {
    fn validate(&self) -> Result<(), Invalid> {
        self.check.validate()
    }

    fn judge(&self, f: &Facts<'_>) -> Verdict {
        match in_use(f.root(), self.utility) {
            (true, _) => self.check.judge(f),
            (false, mut evidence) => {
                evidence.push(Evidence::said(format!(
                    "{} is not the firewall in use",
                    self.utility.name()
                )));
                verdict(CisStatus::Notapplicable, evidence)
            }
        }
    }
}

/// `check` applies only where `when` holds, and is notapplicable where it
/// fails (CIS's rsyslog and journald subsections apply only where that
/// logging system is the chosen one).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OnlyIf {
    /// The condition.
    pub when: Box<CisCheck>,
    /// The check that applies under it.
    pub check: Box<CisCheck>,
}

impl Check for OnlyIf {
    fn validate(&self) -> Result<(), Invalid> {
        self.when.validate()?;
        self.check.validate()
    }

    /// `check` where `when` holds; notapplicable where it does not. Where
    /// `when` cannot be told (not evaluated), a passing check still passes,
    /// and anything else is not evaluated.
    fn judge(&self, f: &Facts<'_>) -> Verdict {
        let condition = self.when.judge(f);
        match condition.status {
            CisStatus::Pass => self.check.judge(f),
            CisStatus::Fail | CisStatus::Notapplicable => {
                let mut evidence = vec![Evidence::said("does not apply here:")];
                evidence.extend(condition.evidence);
                verdict(CisStatus::Notapplicable, evidence)
            }
            CisStatus::Error => condition,
            _ => {
                let v = self.check.judge(f);
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
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<CisCheck, serde_norway::Error> {
        serde_norway::with::singleton_map_recursive::deserialize(
            serde_norway::Deserializer::from_str(yaml),
        )
    }

    #[test]
    fn rule_files_name_kinds_as_maps_and_fieldless_kinds_as_words() {
        assert!(matches!(parse("manual"), Ok(CisCheck::Manual)));
        assert!(matches!(
            parse("{sysctl: {key: kernel.x, value: '1'}}"),
            Ok(CisCheck::Sysctl(Sysctl { .. }))
        ));
        assert!(matches!(
            parse("{all_of: [manual, {any_of: [core_limit]}]}"),
            Ok(CisCheck::AllOf(AllOf(list))) if list.len() == 2
        ));
        assert!(matches!(
            parse("{rsyslog: forwarding_tls}"),
            Ok(CisCheck::Rsyslog(RsyslogProperty::ForwardingTls))
        ));
        let typo = parse("{sysctl: {key: kernel.x, value: '1', vaule: '2'}}");
        assert!(
            typo.as_ref()
                .is_err_and(|e| e.to_string().contains("unknown field `vaule`")),
            "{typo:?}"
        );
        assert!(parse("{when_installed: {package: x, check: manual, extra: 1}}").is_err());
    }
}
