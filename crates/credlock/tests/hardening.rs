//! Process hardening, in child processes with `RLIMIT_MEMLOCK` lowered: without
//! `CAP_IPC_LOCK` (dropped when run as root), memory locking is refused and reported, the
//! rest is done, nothing fails; with `CAP_IPC_LOCK` kept (root), the whole process is locked.

#![cfg(target_os = "linux")]
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stdout,
    reason = "tests fail loudly; the child reports to its parent on stdout"
)]

mod common;

use std::process::Command;

use common::*;
use credlock::hardening::{HardeningStep, harden_process};
use rustix::process::{
    DumpableBehavior, Resource, Rlimit, dumpable_behavior, getrlimit, setrlimit,
};
use rustix::thread::{CapabilitySet, capabilities, set_capabilities};

fn child_main() -> bool {
    match std::env::var("CREDLOCK_HARDEN_CHILD").as_deref() {
        Ok("limited") => limited_child(),
        Ok("privileged") => privileged_child(),
        _ => return false,
    }
    true
}

/// Drops `CAP_IPC_LOCK` if the process has it (root), so that the limit alone decides.
fn drop_ipc_lock() {
    let mut caps = capabilities(None).unwrap();
    if caps.effective.contains(CapabilitySet::IPC_LOCK) {
        caps.effective.remove(CapabilitySet::IPC_LOCK);
        set_capabilities(None, caps).unwrap();
    }
}

/// With `CAP_IPC_LOCK` (root keeps it), the whole process is locked whatever the limit.
fn privileged_child() {
    let caps = capabilities(None).unwrap();
    if !caps.effective.contains(CapabilitySet::IPC_LOCK) {
        println!("\nHARDENING-CHILD-UNPRIVILEGED the process lacks CAP_IPC_LOCK");
        return;
    }
    lower_memlock();
    let report = harden_process();
    assert_eq!(report.memory_locked, HardeningStep::Done);
    assert!(report.memory_locked.is_done());
    // Memory allocated from now on is locked too (`MCL_FUTURE`), as each page is first
    // touched (`MCL_ONFAULT`): a key derived later stays out of swap.
    let before = locked_kib();
    let touched = std::hint::black_box(vec![1u8; 8 * 1024 * 1024]);
    let after = locked_kib();
    assert!(
        after >= before + 8 * 1024,
        "VmLck {before} kB -> {after} kB after touching 8 MiB"
    );
    drop(touched);
    assert!(report.core_dumps_disabled.is_done());
    let (_dir, path) = temp_vault();
    let vault = builder(&path).open().unwrap();
    vault.store(creds(), valid(PASS)).unwrap();
    let json = serde_json::to_value(vault.security_status()).unwrap();
    assert_eq!(json["hardening"]["memory_locked"]["status"], "done");
    println!("\nHARDENING-CHILD-OK");
}

/// The process's locked memory (`VmLck` in `/proc/self/status`), in KiB.
fn locked_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmLck:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// `RLIMIT_MEMLOCK` down to 64 KiB, soft and hard.
fn lower_memlock() {
    let small = Rlimit {
        current: Some(64 * 1024),
        maximum: Some(64 * 1024),
    };
    setrlimit(Resource::Memlock, small).unwrap();
}

fn limited_child() {
    lower_memlock();
    drop_ipc_lock();

    let (_dir, path) = temp_vault();
    let vault = builder(&path).open().unwrap();
    assert_eq!(vault.security_status().hardening, None, "not hardened yet");

    let report = harden_process();
    assert_eq!(report.core_dumps_disabled, HardeningStep::Done);
    assert_eq!(report.not_dumpable, HardeningStep::Done);
    match &report.memory_locked {
        HardeningStep::Refused(reason) => assert!(reason.contains("65536"), "{reason}"),
        other => panic!("memory locking should be refused: {other:?}"),
    }
    assert!(!report.memory_locked.is_done());
    assert!(!HardeningStep::Unsupported.is_done());
    assert!(report.not_dumpable.is_done());
    // The system state says the same.
    assert_eq!(getrlimit(Resource::Core).current, Some(0));
    assert_eq!(getrlimit(Resource::Core).maximum, Some(0));
    assert_eq!(dumpable_behavior().unwrap(), DumpableBehavior::NotDumpable);
    // The vault's report shows it, and the vault still works.
    assert_eq!(vault.security_status().hardening.as_ref(), Some(&report));
    vault.store(creds(), valid(PASS)).unwrap();
    let json = serde_json::to_value(vault.security_status()).unwrap();
    assert_eq!(json["hardening"]["core_dumps_disabled"]["status"], "done");
    assert_eq!(json["hardening"]["memory_locked"]["status"], "refused");
    println!("\nHARDENING-CHILD-OK");
}

#[test]
#[ignore = "helper process run by hardening_reports_a_refusal_and_fails_nothing"]
fn harden_child_entry_point() {
    assert!(
        child_main(),
        "run only as a child, with CREDLOCK_HARDEN_CHILD set"
    );
}

/// Runs the child entry point with `CREDLOCK_HARDEN_CHILD=mode`; its stdout.
fn run_child(mode: &str) -> String {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "harden_child_entry_point",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CREDLOCK_HARDEN_CHILD", mode)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "the child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn hardening_reports_a_refusal_and_fails_nothing() {
    let stdout = run_child("limited");
    assert!(stdout.contains("HARDENING-CHILD-OK"), "{stdout}");
}

/// The variable (set by `.ci/run`, which runs as root) that turns a missing `CAP_IPC_LOCK`
/// into a failure.
const REQUIRE_ROOT: &str = "CREDLOCK_REQUIRE_ROOT";

#[test]
fn with_cap_ipc_lock_the_process_is_locked_whatever_the_limit() {
    let stdout = run_child("privileged");
    if stdout.contains("HARDENING-CHILD-OK") {
        return;
    }
    let Some(line) = stdout
        .lines()
        .find(|l| l.starts_with("HARDENING-CHILD-UNPRIVILEGED"))
    else {
        panic!("the child reported nothing:\n{stdout}");
    };
    assert!(
        std::env::var(REQUIRE_ROOT).as_deref() != Ok("1"),
        "{line}: run as root, or unset {REQUIRE_ROOT}"
    );
    eprintln!(
        "with_cap_ipc_lock_the_process_is_locked_whatever_the_limit: not run ({line}; needs \
         root; {REQUIRE_ROOT}=1 makes this a failure)"
    );
}
