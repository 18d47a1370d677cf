//! A hostile local user against `vpsc-user`, run from the host with
//! `--root` on a real Debian 13 chroot: before each command a name the
//! user controls (in their home, a team folder, or a skeleton copied into
//! a home) is planted as a symbolic link, a hard link, a FIFO or a swapped
//! directory aimed at a root-owned file in the tree's `/etc` or at a file
//! outside the tree. Each command must either refuse, naming the link, or
//! write only inside; the victims' bytes, owners and modes, and the
//! directories they live in, are compared before and after every case.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Output;

use vpsc_e2e::{Chroot, require_root, workspace_root};

/// Root's file inside the tree that a planted link aims at.
const ETC_VICTIM: &str = "/etc/vpsc-victim.conf";
/// A valid-looking TOTP secret of root's, for a borrowed second factor.
const ETC_SECRET: &str = "/etc/vpsc-victim-ga";

/// What a case must end in.
enum Expect {
    /// Exit 0.
    Ok,
    /// Exit 2 with `refusing to` and this text on stderr.
    Refused(String),
    /// Exit `code` with this text on stderr.
    Fails(i32, String),
}

/// Bytes, owner and mode of a file, or a directory's owner, mode and
/// names: what a victim must keep. (Not its link count: removing a home
/// rightly unlinks a hard link planted in it.)
#[derive(Debug, PartialEq)]
enum Seen {
    File(Vec<u8>, u32, u32, u32),
    Dir(u32, u32, u32, Vec<String>),
    Missing,
}

fn seen(path: &Path) -> Seen {
    let Ok(m) = std::fs::symlink_metadata(path) else {
        return Seen::Missing;
    };
    if m.is_dir() {
        let mut names: Vec<String> = std::fs::read_dir(path)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        return Seen::Dir(m.uid(), m.gid(), m.mode() & 0o7777, names);
    }
    Seen::File(
        std::fs::read(path).expect("read victim"),
        m.uid(),
        m.gid(),
        m.mode() & 0o7777,
    )
}

struct Lab {
    chroot: Chroot,
    /// A directory outside the tree, with a secret of root's in it.
    outside: tempfile::TempDir,
    vpsc_user: PathBuf,
    /// One line per case: name, what happened.
    log: Vec<String>,
}

impl Lab {
    fn victims(&self) -> Vec<(String, Seen)> {
        let mut paths = vec![
            self.chroot.path(ETC_VICTIM),
            self.chroot.path(ETC_SECRET),
            self.outside.path().to_path_buf(),
            self.outside.path().join("secret"),
        ];
        // /etc itself: owner and mode (its names change with every useradd).
        let etc = std::fs::metadata(self.chroot.path("/etc")).expect("etc");
        paths.retain(|p| p.exists());
        let mut out: Vec<(String, Seen)> = paths
            .iter()
            .map(|p| (p.display().to_string(), seen(p)))
            .collect();
        out.push((
            "/etc (owner, mode)".into(),
            Seen::Dir(etc.uid(), etc.gid(), etc.mode() & 0o7777, Vec::new()),
        ));
        for name in [
            "authorized_keys",
            ".google_authenticator",
            ".gitconfig",
            "projects",
        ] {
            out.push((
                format!("/etc/{name}"),
                seen(&self.chroot.path(format!("/etc/{name}"))),
            ));
        }
        out
    }

    fn uid(&self, user: &str) -> u32 {
        let passwd = std::fs::read_to_string(self.chroot.path("/etc/passwd")).expect("passwd");
        passwd
            .lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f[0] == user).then(|| f[2].parse().expect("uid"))
            })
            .unwrap_or_else(|| panic!("no user {user}"))
    }

    /// Runs the host's vpsc-user on the tree, never longer than a minute
    /// (a FIFO read by root would otherwise hang the test).
    fn vpsc_user(&self, args: &[&str]) -> Output {
        std::process::Command::new("timeout")
            .arg("60")
            .arg(&self.vpsc_user)
            .arg("--root")
            .arg(self.chroot.root())
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("VPSC_LOG", "error")
            .output()
            .expect("run vpsc-user")
    }

    /// One hostile case: the victims must be as they were, and the
    /// command must end as `expect` says.
    fn case(&mut self, name: &str, args: &[&str], expect: Expect) -> Output {
        let before = self.victims();
        let out = self.vpsc_user(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let after = self.victims();
        assert_eq!(before, after, "{name}: a victim changed; stderr: {stderr}");
        let code = out.status.code();
        match &expect {
            Expect::Ok => assert_eq!(code, Some(0), "{name}: {stderr}"),
            Expect::Refused(says) => {
                assert_eq!(code, Some(2), "{name}: {stderr}");
                assert!(stderr.contains("refusing to"), "{name}: {stderr}");
                assert!(
                    stderr.contains(says.as_str()),
                    "{name}: want {says:?} in {stderr}"
                );
            }
            Expect::Fails(want, says) => {
                assert_eq!(code, Some(*want), "{name}: {stderr}");
                assert!(
                    stderr.contains(says.as_str()),
                    "{name}: want {says:?} in {stderr}"
                );
            }
        }
        let first = stderr
            .lines()
            .find(|l| l.contains("error:"))
            .map(|l| l.trim_start_matches("vpsc-user: "))
            .unwrap_or("done");
        let line = format!(
            "{name}: exit {}; victims unchanged; {first}",
            code.unwrap_or(-1)
        );
        eprintln!("hostile: {line}");
        self.log.push(line);
        out
    }

    /// Makes `rel` (inside the tree) a symbolic link to `target`, owned by
    /// `owner` as if they had made it; whatever was there is moved aside.
    fn plant_link(&self, rel: &str, target: &str, owner: u32) {
        let path = self.chroot.path(rel);
        self.move_aside(&path);
        std::os::unix::fs::symlink(target, &path).expect("plant link");
        std::os::unix::fs::lchown(&path, Some(owner), Some(owner)).expect("lchown");
    }

    /// Makes `rel` a hard link to the tree's `target` (as a system without
    /// `fs.protected_hardlinks` lets any user do).
    fn plant_hard_link(&self, rel: &str, target: &str) {
        let path = self.chroot.path(rel);
        self.move_aside(&path);
        std::fs::hard_link(self.chroot.path(target), &path).expect("plant hard link");
    }

    fn plant_fifo(&self, rel: &str, owner: u32) {
        let path = self.chroot.path(rel);
        self.move_aside(&path);
        let ok = std::process::Command::new("mkfifo")
            .arg(&path)
            .status()
            .expect("mkfifo");
        assert!(ok.success());
        std::os::unix::fs::lchown(&path, Some(owner), Some(owner)).expect("lchown");
    }

    fn move_aside(&self, path: &Path) {
        if std::fs::symlink_metadata(path).is_ok() {
            let aside = PathBuf::from(format!("{}.aside", path.display()));
            assert!(
                std::fs::symlink_metadata(&aside).is_err(),
                "{} planted twice",
                path.display()
            );
            std::fs::rename(path, aside).expect("move aside");
        }
    }

    /// Removes what was planted at `rel` and puts back what was there.
    fn restore(&self, rel: &str) {
        let path = self.chroot.path(rel);
        if let Ok(m) = std::fs::symlink_metadata(&path) {
            if m.is_dir() {
                std::fs::remove_dir_all(&path).expect("remove planted dir");
            } else {
                std::fs::remove_file(&path).expect("remove planted");
            }
        }
        let aside = PathBuf::from(format!("{}.aside", path.display()));
        if std::fs::symlink_metadata(&aside).is_ok() {
            std::fs::rename(aside, path).expect("put back");
        }
    }

    fn outside(&self) -> String {
        self.outside.path().display().to_string()
    }

    fn outside_secret(&self) -> String {
        self.outside.path().join("secret").display().to_string()
    }
}

/// A new key pair `/tmp/NAME{,.pub}` in the chroot; the public half's host path.
fn key(chroot: &Chroot, name: &str) -> String {
    let public = format!("/tmp/{name}.pub");
    chroot.ssh_key(&public, name);
    chroot.path(public).display().to_string()
}

fn fingerprint(chroot: &Chroot, name: &str) -> String {
    let out = chroot.run_ok(&["ssh-keygen", "-lf", &format!("/tmp/{name}.pub")]);
    out.split_whitespace()
        .nth(1)
        .expect("fingerprint")
        .to_owned()
}

fn create(lab: &Lab, name: &str, role: &str, extra: &[&str]) {
    let mut args = vec![
        "create",
        name,
        "--full-name",
        name,
        "--email",
        "x@example.org",
        "--role",
        role,
    ];
    args.extend_from_slice(extra);
    let out = lab.vpsc_user(&args);
    assert!(
        out.status.success(),
        "create {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_hostile_user_cannot_redirect_roots_writes() {
    require_root();
    let chroot = Chroot::with_shipped_repo();
    chroot.apt_get_ok(&[
        "install",
        "vpsc-mod-rbac",
        "openssh-client",
        "openssh-server",
        "libpam-google-authenticator",
    ]);
    // sshd -t wants its privilege separation directory (tmpfiles makes it at boot).
    std::fs::create_dir_all(chroot.path("/run/sshd")).expect("privilege separation directory");
    let vpsc_user = workspace_root().join("target/release/vpsc-user");
    assert!(
        vpsc_user.exists(),
        "{} missing: run `make runtime-deb`",
        vpsc_user.display()
    );
    let outside = tempfile::Builder::new()
        .prefix("hostile-outside-")
        .tempdir_in(workspace_root().join("target/e2e-tmp"))
        .expect("outside dir");
    std::fs::write(outside.path().join("secret"), "outside: root's secret\n").expect("secret");
    std::fs::set_permissions(
        outside.path().join("secret"),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod");
    std::fs::write(chroot.path(ETC_VICTIM), "victim: root's secret\n").expect("victim");
    std::fs::set_permissions(
        chroot.path(ETC_VICTIM),
        std::fs::Permissions::from_mode(0o600),
    )
    .expect("chmod");
    let mut lab = Lab {
        chroot,
        outside,
        vpsc_user,
        log: Vec::new(),
    };

    let k1 = key(&lab.chroot, "k1");
    let k2 = key(&lab.chroot, "k2");
    let k3 = key(&lab.chroot, "k3");
    let kb = key(&lab.chroot, "kb");
    let kb2 = key(&lab.chroot, "kb2");
    assert!(lab.vpsc_user(&["team", "create", "web"]).status.success());
    create(
        &lab,
        "alice",
        "developer",
        &["--ssh-key", &k1, "--team", "web", "--enable-2fa"],
    );
    create(&lab, "bob", "admin", &["--ssh-key", &kb, "--enable-2fa"]);
    for name in ["dave", "erin", "frank"] {
        create(&lab, name, "developer", &[]);
    }
    let alice = lab.uid("alice");
    let bob = lab.uid("bob");
    let dave = lab.uid("dave");
    // A valid secret of root's, for bob to borrow.
    std::fs::copy(
        lab.chroot.path("/home/bob/.google_authenticator"),
        lab.chroot.path(ETC_SECRET),
    )
    .expect("copy secret");
    std::fs::set_permissions(
        lab.chroot.path(ETC_SECRET),
        std::fs::Permissions::from_mode(0o400),
    )
    .expect("chmod");
    let etc_victim_target = ETC_VICTIM.to_owned();
    let outside_dir = lab.outside();
    let outside_secret = lab.outside_secret();

    // --- create: the skeleton is copied into the new home by useradd.
    lab.plant_link("/etc/skel/.ssh", "/etc", 0);
    lab.case(
        "create: skeleton ~/.ssh is a link to /etc",
        &[
            "create",
            "carol",
            "--full-name",
            "C",
            "--email",
            "c@example.org",
            "--role",
            "developer",
            "--ssh-key",
            &k2,
        ],
        Expect::Refused(
            "/home/carol/.ssh is a symbolic link (to /etc); repair the home directory first".into(),
        ),
    );
    lab.restore("/etc/skel/.ssh");
    assert!(
        !std::fs::read_to_string(lab.chroot.path("/etc/passwd"))
            .expect("passwd")
            .contains("carol:"),
        "the refused create was taken back"
    );
    lab.plant_link("/etc/skel/.gitconfig", &etc_victim_target, 0);
    lab.case(
        "create: skeleton ~/.gitconfig is a link to /etc/vpsc-victim.conf",
        &[
            "create",
            "carol",
            "--full-name",
            "C",
            "--email",
            "c@example.org",
            "--role",
            "developer",
        ],
        Expect::Ok,
    );
    lab.restore("/etc/skel/.gitconfig");
    let gitconfig =
        std::fs::symlink_metadata(lab.chroot.path("/home/carol/.gitconfig")).expect("gitconfig");
    assert!(
        gitconfig.is_file(),
        "the link was replaced by carol's own file"
    );

    // --- ssh-key add.
    lab.plant_link("/home/alice/.ssh", "/etc", alice);
    lab.case(
        "ssh-key add: ~/.ssh is a link to /etc",
        &["ssh-key", "add", "alice", &k2],
        Expect::Refused(
            "refusing to write /home/alice/.ssh/authorized_keys: /home/alice/.ssh is a symbolic link (to /etc); repair the home directory first".into(),
        ),
    );
    lab.restore("/home/alice/.ssh");
    lab.plant_link("/home/alice/.ssh", &outside_dir, alice);
    lab.case(
        "ssh-key add: ~/.ssh is a link out of the tree",
        &["ssh-key", "add", "alice", &k2],
        Expect::Refused(format!(
            "/home/alice/.ssh is a symbolic link (to {outside_dir})"
        )),
    );
    lab.restore("/home/alice/.ssh");
    lab.plant_link(
        "/home/alice/.ssh/authorized_keys",
        &etc_victim_target,
        alice,
    );
    lab.case(
        "ssh-key add: authorized_keys is a link to /etc/vpsc-victim.conf",
        &["ssh-key", "add", "alice", &k2],
        Expect::Refused(
            "/home/alice/.ssh/authorized_keys is a symbolic link (to /etc/vpsc-victim.conf)".into(),
        ),
    );
    lab.restore("/home/alice/.ssh/authorized_keys");
    lab.plant_link("/home/alice/.ssh/authorized_keys", &outside_secret, alice);
    lab.case(
        "ssh-key add: authorized_keys is a link out of the tree",
        &["ssh-key", "add", "alice", &k2],
        Expect::Refused("authorized_keys is a symbolic link".into()),
    );
    lab.restore("/home/alice/.ssh/authorized_keys");
    lab.plant_hard_link("/home/alice/.ssh/authorized_keys", ETC_VICTIM);
    lab.case(
        "ssh-key add: authorized_keys is a hard link to /etc/vpsc-victim.conf",
        &["ssh-key", "add", "alice", &k2],
        Expect::Refused("hard link".into()),
    );
    lab.restore("/home/alice/.ssh/authorized_keys");
    lab.plant_fifo("/home/alice/.ssh/authorized_keys", alice);
    lab.case(
        "ssh-key add: authorized_keys is a FIFO",
        &["ssh-key", "add", "alice", &k2],
        Expect::Refused("not a regular file".into()),
    );
    lab.restore("/home/alice/.ssh/authorized_keys");
    // The temporary name the old runtime wrote through, and one of ours.
    lab.plant_link(
        "/home/alice/.ssh/.authorized_keys.vpsc-new",
        &etc_victim_target,
        alice,
    );
    lab.plant_link(
        "/home/alice/.ssh/.authorized_keys.vpsc-0123456789abcdef",
        &outside_secret,
        alice,
    );
    lab.case(
        "ssh-key add: the temporary names are links to victims",
        &["ssh-key", "add", "alice", &k2],
        Expect::Ok,
    );
    lab.restore("/home/alice/.ssh/.authorized_keys.vpsc-new");
    lab.restore("/home/alice/.ssh/.authorized_keys.vpsc-0123456789abcdef");
    let keys = lab.chroot.path("/home/alice/.ssh/authorized_keys");
    let meta = std::fs::symlink_metadata(&keys).expect("keys");
    assert!(meta.is_file() && meta.uid() == alice && meta.mode() & 0o777 == 0o600);
    assert_eq!(
        std::fs::read_to_string(&keys)
            .expect("keys")
            .lines()
            .count(),
        2
    );

    // --- ssh-key rotate and revoke.
    lab.plant_link("/home/alice/.ssh", "/etc", alice);
    lab.case(
        "ssh-key rotate: ~/.ssh is a link to /etc",
        &["ssh-key", "rotate", "alice", &k3, "--grace", "1m"],
        Expect::Refused("/home/alice/.ssh is a symbolic link (to /etc)".into()),
    );
    lab.restore("/home/alice/.ssh");
    // Rotations whose grace ends in a minute, for the sweep below.
    assert!(
        lab.vpsc_user(&["ssh-key", "rotate", "alice", &k3, "--grace", "1m"])
            .status
            .success()
    );
    assert!(
        lab.vpsc_user(&["ssh-key", "rotate", "bob", &kb2, "--grace", "1m"])
            .status
            .success()
    );
    let rotated = std::time::Instant::now();
    let fp1 = fingerprint(&lab.chroot, "k1");
    lab.plant_link(
        "/home/alice/.ssh/authorized_keys",
        &etc_victim_target,
        alice,
    );
    lab.case(
        "ssh-key revoke: authorized_keys is a link to /etc/vpsc-victim.conf",
        &["ssh-key", "revoke", "alice", &fp1],
        Expect::Refused("authorized_keys is a symbolic link".into()),
    );
    lab.restore("/home/alice/.ssh/authorized_keys");

    // --- 2fa enroll.
    lab.plant_link(
        "/home/alice/.google_authenticator",
        &etc_victim_target,
        alice,
    );
    lab.case(
        "2fa enroll: ~/.google_authenticator is a link to /etc/vpsc-victim.conf",
        &["2fa", "enroll", "alice"],
        Expect::Refused("/home/alice/.google_authenticator is a symbolic link".into()),
    );
    lab.restore("/home/alice/.google_authenticator");
    lab.plant_hard_link("/home/alice/.google_authenticator", ETC_VICTIM);
    lab.case(
        "2fa enroll: ~/.google_authenticator is a hard link to /etc/vpsc-victim.conf",
        &["2fa", "enroll", "alice"],
        Expect::Refused("hard link".into()),
    );
    lab.restore("/home/alice/.google_authenticator");
    lab.plant_link("/home/alice/.google_authenticator", &outside_secret, alice);
    lab.case(
        "2fa enroll: ~/.google_authenticator is a link out of the tree",
        &["2fa", "enroll", "alice"],
        Expect::Refused("is a symbolic link".into()),
    );
    lab.restore("/home/alice/.google_authenticator");
    lab.plant_link(
        "/home/alice/.google_authenticator.vpsc-new",
        &etc_victim_target,
        alice,
    );
    lab.plant_link(
        "/home/alice/..google_authenticator.vpsc-new",
        &etc_victim_target,
        alice,
    );
    lab.case(
        "2fa enroll: the temporary names are links to /etc/vpsc-victim.conf",
        &["2fa", "enroll", "alice"],
        Expect::Ok,
    );
    lab.restore("/home/alice/.google_authenticator.vpsc-new");
    lab.restore("/home/alice/..google_authenticator.vpsc-new");

    // --- 2fa enforce and relax.
    lab.plant_link("/home/bob/.google_authenticator", ETC_SECRET, bob);
    lab.case(
        "2fa enforce: an admin's factor is a link to root's secret",
        &["2fa", "enforce"],
        Expect::Fails(2, "bob".into()),
    );
    lab.restore("/home/bob/.google_authenticator");
    lab.plant_link("/home/alice/.ssh", "/etc", alice);
    lab.case(
        "2fa enforce: a user's ~/.ssh is a link to /etc",
        &["2fa", "enforce"],
        Expect::Ok,
    );
    lab.case(
        "2fa relax: a user's ~/.ssh is a link to /etc",
        &["2fa", "relax"],
        Expect::Ok,
    );

    // --- temporary access.
    lab.case(
        "temp-access grant: ~/.ssh is a link to /etc",
        &[
            "temp-access",
            "grant",
            "alice",
            "--role",
            "devops",
            "--for",
            "1h",
        ],
        Expect::Ok,
    );
    lab.restore("/home/alice/.ssh");
    lab.plant_link(
        "/home/alice/.google_authenticator",
        &etc_victim_target,
        alice,
    );
    lab.case(
        "temp-access extend: ~/.google_authenticator is a link to /etc/vpsc-victim.conf",
        &[
            "temp-access",
            "extend",
            "alice",
            "--role",
            "devops",
            "--for",
            "2h",
        ],
        Expect::Ok,
    );
    lab.restore("/home/alice/.google_authenticator");

    // --- teams: members own what is in the folder.
    lab.plant_link("/srv/teams/web/shared", &etc_victim_target, alice);
    lab.plant_hard_link("/srv/teams/web/hard", ETC_VICTIM);
    lab.case(
        "team add: the team folder holds links to /etc/vpsc-victim.conf",
        &["team", "add", "web", "dave"],
        Expect::Ok,
    );
    lab.restore("/srv/teams/web/shared");
    lab.restore("/srv/teams/web/hard");
    lab.plant_link("/srv/teams/ops", "/etc", 0);
    lab.case(
        "team create: the folder's name is taken by a link to /etc",
        &["team", "create", "ops"],
        Expect::Refused("/srv/teams/ops is a symbolic link (to /etc)".into()),
    );
    lab.restore("/srv/teams/ops");

    // --- lock and unlock.
    lab.plant_link("/home/alice/.ssh", "/etc", alice);
    lab.case(
        "lock: ~/.ssh is a link to /etc",
        &["lock", "alice"],
        Expect::Ok,
    );
    lab.case(
        "unlock: ~/.ssh is a link to /etc",
        &["unlock", "alice"],
        Expect::Ok,
    );

    // --- the sweep: alice's home is broken, bob's is not; bob is swept.
    let waited = rotated.elapsed();
    if waited < std::time::Duration::from_secs(62) {
        std::thread::sleep(std::time::Duration::from_secs(62) - waited);
    }
    let out = lab.case(
        "temp-access sweep: one user's ~/.ssh is a link to /etc",
        &["temp-access", "sweep"],
        Expect::Fails(1, "alice was not swept".into()),
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("bob"),
        "bob was swept anyway"
    );
    let bob_keys =
        std::fs::read_to_string(lab.chroot.path("/home/bob/.ssh/authorized_keys")).expect("keys");
    assert_eq!(
        bob_keys.lines().count(),
        1,
        "bob's rotated key is gone: {bob_keys}"
    );
    lab.restore("/home/alice/.ssh");
    lab.case(
        "temp-access sweep: repaired",
        &["temp-access", "sweep"],
        Expect::Ok,
    );

    // --- delete.
    lab.plant_link("/home/frank/.ssh", "/etc", lab.uid("frank"));
    lab.plant_link("/home/frank/projects", &outside_dir, lab.uid("frank"));
    lab.case(
        "delete: ~/.ssh and ~/projects are links to /etc and out of the tree",
        &["delete", "frank"],
        Expect::Ok,
    );
    let home = std::fs::symlink_metadata(lab.chroot.path("/home/frank")).expect("home kept");
    assert!(home.is_dir() && home.mode() & 0o777 == 0o700);
    lab.plant_link("/home/dave/leak", &etc_victim_target, dave);
    lab.plant_hard_link("/home/dave/hard", ETC_VICTIM);
    lab.plant_link("/home/dave/projects", "/etc", dave);
    lab.plant_link("/home/dave/out", &outside_dir, dave);
    let out = lab.case(
        "delete --archive: the home holds links to /etc, out of the tree, and a hard link",
        &["--json", "delete", "dave", "--archive"],
        Expect::Ok,
    );
    let deleted: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let archive = deleted["archive"].as_str().expect("archive");
    let listing = lab.chroot.run_ok(&["tar", "-tvzf", archive]);
    assert!(
        listing.contains("dave/leak -> /etc/vpsc-victim.conf"),
        "{listing}"
    );
    assert!(listing.contains("dave/projects -> /etc"), "{listing}");
    assert!(
        !listing.contains("dave/hard"),
        "another owner's hard link is left out: {listing}"
    );
    assert!(!listing.contains("root's secret"), "{listing}");
    assert!(!lab.chroot.path("/home/dave").exists(), "home removed");
    assert!(lab.chroot.path("/etc/passwd").exists());
    lab.plant_link("/home/erin", "/etc", 0);
    lab.case(
        "delete: the home itself is a link to /etc",
        &["delete", "erin", "--archive"],
        Expect::Refused(
            "/home/erin is a symbolic link (to /etc); repair the home directory first".into(),
        ),
    );
    lab.restore("/home/erin");

    eprintln!(
        "hostile cases tried ({}):\n{}",
        lab.log.len(),
        lab.log.join("\n")
    );
    assert!(lab.log.len() >= 25, "{} cases", lab.log.len());
}
