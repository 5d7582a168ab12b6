//! The security report for vaults that cannot be opened: it names why, with a stable code.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::os::unix::fs::symlink;

use common::{set_mode, stored, temp_vault};
use credlock::{SessionState, Vault};

fn codes(report: &credlock::SecurityStatus) -> Vec<&'static str> {
    report.problems.iter().map(|p| p.code).collect()
}

#[test]
fn a_file_open_to_others_is_reported_not_failed() {
    let (_dir, path) = temp_vault();
    stored(&path);
    set_mode(&path, 0o644);
    assert!(Vault::open(&path).is_err());
    let report = Vault::builder(&path).inspect();
    assert_eq!(report.state, None);
    assert!(!report.key_in_memory);
    assert_eq!(codes(&report), ["insecure_mode"]);
    assert!(report.problems[0].message.contains("chmod 600"));
    let file = report.file.unwrap();
    assert_eq!(
        (file.mode.as_deref(), file.mode_private),
        (Some("0644"), Some(false))
    );
    assert!(file.path.is_none(), "the path is left out unless asked for");
}

#[test]
fn a_foreign_owner_is_reported() {
    let (_dir, path) = temp_vault();
    stored(&path);
    let foreign = if is_root() {
        // Root gives a vault away to `nobody`.
        let ok = std::process::Command::new("chown")
            .args(["65534", path.to_str().unwrap()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "chown failed");
        path
    } else {
        // Anyone else: a root-owned file in a root-owned directory is not ours.
        std::path::PathBuf::from("/etc/passwd")
    };
    let report = Vault::builder(&foreign).inspect();
    assert_eq!(report.state, None);
    assert_eq!(codes(&report)[0], "wrong_owner", "{:?}", report.problems);
}

fn is_root() -> bool {
    let out = std::process::Command::new("id").arg("-u").output().unwrap();
    String::from_utf8_lossy(&out.stdout).trim() == "0"
}

#[test]
fn a_symlink_and_a_corrupt_file_are_reported() {
    let (dir, path) = temp_vault();
    stored(&path);
    let original = std::fs::read(&path).unwrap();
    let link = dir.path().join("link.json");
    symlink(&path, &link).unwrap();
    assert_eq!(codes(&Vault::builder(&link).inspect()), ["symlink"]);

    // A version-1 file with a field missing.
    std::fs::write(&path, b"{\"format\": \"credlock-vault\", \"version\": 1}").unwrap();
    assert_eq!(
        codes(&common::builder(&path).inspect()),
        ["corrupt", "insecure_kdf"]
    );
    std::fs::write(&path, &original).unwrap();

    // A KDF this version does not know.
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    v["slots"][0]["kdf"]["algorithm"] = "scrypt".into();
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
    let report = common::builder(&path).inspect();
    assert_eq!(codes(&report), ["unsupported_algorithm", "insecure_kdf"]);

    std::fs::write(&path, b"{\"format\": \"credlock-vault\", \"version\": 9}").unwrap();
    let report = common::builder(&path).inspect();
    assert_eq!(report.state, Some(SessionState::Locked));
    assert_eq!(codes(&report), ["unsupported_version", "insecure_kdf"]);
    assert!(report.kdf.is_none() && report.cipher.is_none());
}

#[test]
fn a_healthy_vault_inspects_like_its_status() {
    let (_dir, path) = temp_vault();
    stored(&path);
    let report = common::builder(&path).inspect();
    assert_eq!(report.state, Some(SessionState::Locked));
    assert_eq!(codes(&report), ["insecure_kdf"]);
    // The same file under the secure bounds: its cost is reported as out of bounds.
    let secure = Vault::builder(&path).inspect();
    assert_eq!(codes(&secure), ["kdf_out_of_bounds"]);
    assert_eq!(
        report.kdf.map(|k| k.iterations),
        Some(common::TEST_ITERATIONS)
    );
    assert_eq!(
        report.cipher.map(|c| (c.name, c.format_version)),
        Some(("fernet", 3)),
        "a new vault has keyslots, which take version 3"
    );
}

#[test]
fn an_idle_expired_key_is_dropped_before_the_report() {
    let (_dir, path) = temp_vault();
    let trail = credlock::audit::MemorySink::new();
    let vault = common::builder(&path)
        .audit_to(trail.clone())
        .idle_timeout(std::time::Duration::ZERO)
        .open()
        .unwrap();
    vault
        .store(common::creds(), common::valid(common::PASS))
        .unwrap();
    let report = vault.security_status();
    assert_eq!(report.state, Some(SessionState::Locked));
    assert!(!report.key_in_memory);
    assert_eq!(
        trail.kinds().last(),
        Some(&credlock::audit::EventKind::IdleLocked),
        "the idle lock the report applied is audited"
    );
}

#[test]
fn an_unacceptable_kdf_option_is_reported_not_failed() {
    let (_dir, path) = temp_vault();
    stored(&path);
    let report = Vault::builder(&path).kdf_iterations(5).inspect();
    assert_eq!(report.state, None);
    assert_eq!(codes(&report), ["kdf_out_of_bounds"]);
    assert_eq!(
        report.kdf_for_new_vaults.iterations, 480_000,
        "the recommended cost stands in"
    );
}
