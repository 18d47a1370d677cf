//! `vpsc-vm`: the VM harness for people. `make try` and `make bench` call it.
//!
//! ```text
//! vpsc-vm try   --profile server --dist dist   # boot, install, print the ssh command, wait
//! vpsc-vm bench --profile server --dist dist   # power-on to SSH, install time, vpsc's share
//! ```

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Instant;
use vpsc_e2e::vm::{Image, Vm, VmOptions};

const USAGE: &str = "usage: vpsc-vm try|bench --profile NAME --dist DIR";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(action), options) = args
        .split_first()
        .map_or((None, &[][..]), |(a, o)| (Some(a.as_str()), o))
    else {
        fail(USAGE);
    };
    let mut profile = "server".to_owned();
    let mut dist = PathBuf::from("dist");
    let mut it = options.iter();
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .unwrap_or_else(|| fail(&format!("{flag} needs a value\n{USAGE}")));
        match flag.as_str() {
            "--profile" => profile.clone_from(value),
            "--dist" => dist = PathBuf::from(value),
            _ => fail(&format!("unknown option {flag}\n{USAGE}")),
        }
    }
    if !dist.join("dists").is_dir() {
        fail(&format!(
            "{} is not an apt repository (no dists/): run `make demo` first",
            dist.display()
        ));
    }
    match action {
        "try" => try_profile(&profile, dist),
        "bench" => bench(&profile, dist),
        _ => fail(USAGE),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("vpsc-vm: {message}");
    std::process::exit(2);
}

/// Boots `profile`'s image with `dist` attached and installs the profile;
/// returns the machine and the install's output.
fn boot_and_install(profile: &str, dist: PathBuf, install_env: &str) -> (Vm, f64, f64, String) {
    let image = Image::for_profile(profile);
    let started = Instant::now();
    let vm = Vm::boot(
        &image,
        VmOptions {
            repo: Some(dist),
            ports: vec![80, 3389],
            name: format!("try-{profile}"),
        },
    );
    let boot = started.elapsed().as_secs_f64();
    vm.update_repo_lists();
    let started = Instant::now();
    let output = vm.run_ok(&format!(
        "{install_env} DEBIAN_FRONTEND=noninteractive apt-get install -y -q vpsc-profile-{profile} 2>&1"
    ));
    (vm, boot, started.elapsed().as_secs_f64(), output)
}

/// `make try`: a throw-away VM with the profile installed, until Enter.
fn try_profile(profile: &str, dist: PathBuf) {
    let (mut vm, boot, install, _) = boot_and_install(profile, dist, "");
    // The security module may have moved sshd: follow it.
    let port = vm
        .run_ok("ss -Htlnp | sed -n 's/.*:\\([0-9]*\\) .*\"sshd\".*/\\1/p' | head -n1")
        .trim()
        .parse()
        .unwrap_or(22);
    if port != 22 {
        vm.use_ssh_port(port);
    }
    println!(
        "booted in {boot:.0} s ({:?}), vpsc-profile-{profile} installed in {install:.0} s",
        vm.accel()
    );
    println!("enter it with:\n  {}", vm.ssh_command_line());
    println!("press Enter here to power it off (everything in it is thrown away)");
    let _ = std::io::stdin().lock().lines().next();
    vm.poweroff();
}

/// `make bench`: figures only.
fn bench(profile: &str, dist: PathBuf) {
    let (mut vm, boot, install, output) = boot_and_install(profile, dist, "VPSC_LOG=debug");
    // vpsc logs "ARGS took N ms, M ms of it in commands it ran" at debug
    // level as it exits.
    let mut calls = 0;
    let (mut runtime_ms, mut commands_ms) = (0.0, 0.0);
    for line in output.lines() {
        let Some((_, figures)) = line.rsplit_once(" took ") else {
            continue;
        };
        let mut numbers = figures
            .split(|c: char| !(c.is_ascii_digit() || c == '.'))
            .filter_map(|w| w.parse::<f64>().ok());
        if let (Some(total), Some(waited)) = (numbers.next(), numbers.next()) {
            calls += 1;
            runtime_ms += total;
            commands_ms += waited;
        }
    }
    println!("accelerator: {:?}", vm.accel());
    println!("power-on to SSH: {boot:.1} s");
    println!("apt-get install vpsc-profile-{profile} in the VM: {install:.1} s");
    println!(
        "vpsc calls: {calls}, {:.2} s in all, {:.2} % of the install",
        runtime_ms / 1000.0,
        runtime_ms / 10.0 / install
    );
    println!(
        "  of which in commands vpsc ran (validators, systemctl, dpkg tools): {:.2} s",
        commands_ms / 1000.0
    );
    let own = runtime_ms - commands_ms;
    println!(
        "  vpsc's own work: {:.2} s, {:.2} % of the install (target: at most 2 %)",
        own / 1000.0,
        own / 10.0 / install
    );
    health_bench(&vm);
    vm.poweroff();
}

/// `vpsc health` and `vpsc metrics write` on the booted host with the
/// profile installed, timed inside the guest so SSH is not counted, with
/// vpsc's own split of each call. Under TCG every process start costs
/// tens of milliseconds, so the 200 ms target is judged at the CPU's own
/// speed by bench/server-host; these figures show the emulated machine.
fn health_bench(vm: &Vm) {
    const RUNS: u32 = 20;
    // The timer writes into node-exporter's directory; the bench calls it
    // as the timer does, after one warm-up call of each.
    for (what, command) in [
        ("vpsc health", "vpsc health"),
        ("vpsc metrics write", "vpsc metrics write"),
        ("both", "vpsc health; vpsc metrics write"),
    ] {
        let script = format!(
            "{{ {command}; }} >/dev/null 2>&1; s=$(date +%s%N); for i in $(seq {RUNS}); do {command}; done >/dev/null 2>&1; e=$(date +%s%N); echo $(( (e - s) / {RUNS} / 1000 ))"
        );
        let micros: f64 = vm.run_ok(&script).trim().parse().unwrap_or(f64::NAN);
        println!(
            "{what}: {:.1} ms per call, mean of {RUNS} (emulated CPU; bench/server-host times it natively)",
            micros / 1000.0
        );
    }
    let log = vm.run_ok("VPSC_LOG=debug vpsc health 2>&1 >/dev/null | grep ' took ' || true");
    println!("  {}", log.trim());
}
