//! Process hardening, in a child process whose `RLIMIT_MEMLOCK` was lowered first (and,
//! when run as root, without `CAP_IPC_LOCK`): memory locking is refused and reported, the
//! rest is done, nothing fails.

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
    if std::env::var_os("CREDLOCK_HARDEN_CHILD").is_none() {
        return false;
    }
    let small = Rlimit {
        current: Some(64 * 1024),
        maximum: Some(64 * 1024),
    };
    setrlimit(Resource::Memlock, small).unwrap();
    let mut caps = capabilities(None).unwrap();
    if caps.effective.contains(CapabilitySet::IPC_LOCK) {
        caps.effective.remove(CapabilitySet::IPC_LOCK);
        set_capabilities(None, caps).unwrap();
    }

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
    true
}

#[test]
#[ignore = "helper process run by hardening_reports_a_refusal_and_fails_nothing"]
fn harden_child_entry_point() {
    assert!(
        child_main(),
        "run only as a child, with CREDLOCK_HARDEN_CHILD set"
    );
}

#[test]
fn hardening_reports_a_refusal_and_fails_nothing() {
    let out = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "harden_child_entry_point",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("CREDLOCK_HARDEN_CHILD", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("HARDENING-CHILD-OK"),
        "the child failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
