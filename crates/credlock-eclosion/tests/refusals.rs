//! What an Eclosion import refuses, and in which order: over credentials it may not replace
//! before reading anything or deriving a key; a damaged field of the legacy file named as the
//! file's (not the database's); and the vault's lockout surfacing with its wait.

#![allow(clippy::unwrap_used, clippy::panic)]

#[path = "../../credlock/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};

use base64::Engine as _;
use common::{PASS, counting_derivations, creds, secret, temp_vault, testdata, valid};
use credlock::crypto::{KdfParams, Salt, derive_key};
use credlock::{ErrorKind, LockoutPolicy};
use credlock_eclosion::{EclosionExt as _, Error, ImportOptions};

/// The fixtures' Eclosion passphrase (testdata/eclosion/README.md).
const ECLOSION_PASS: &str = "Correct-Horse-9-Battery!";

fn private(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join(name);
    std::fs::write(&path, bytes).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path
}

#[test]
fn an_import_over_stored_credentials_is_refused_before_reading_or_deriving() {
    let (dir, path) = temp_vault();
    let (builder, derivations) = counting_derivations(common::builder(&path));
    let vault = builder.open().unwrap();
    vault.store(creds(), valid(PASS)).unwrap();
    vault.lock();
    let before = derivations.load(std::sync::atomic::Ordering::SeqCst);

    // A malformed file: the refusal to replace comes first, nothing is read.
    let broken = private(dir.path(), "credentials.json", b"{ not json");
    let err = vault
        .import_eclosion(&broken, &secret(ECLOSION_PASS), &ImportOptions::new())
        .unwrap_err();
    assert!(matches!(err, Error::ImportWouldReplace { .. }), "{err:?}");

    // A good file: refused without deriving its key or counting an attempt.
    let good = private(
        dir.path(),
        "good.json",
        &std::fs::read(testdata("eclosion/credentials.json")).unwrap(),
    );
    let err = vault
        .import_eclosion(&good, &secret(ECLOSION_PASS), &ImportOptions::new())
        .unwrap_err();
    assert!(matches!(err, Error::ImportWouldReplace { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(
        derivations.load(std::sync::atomic::Ordering::SeqCst),
        before
    );
    assert_eq!(vault.lockout_state().unwrap().failures, 0);
}

#[test]
fn a_damaged_field_of_the_legacy_file_is_named_as_the_files() {
    // A field that opens under the right key but is not UTF-8.
    let salt = [7u8; 16];
    let params = KdfParams::new(480_000, Salt::from_slice(&salt).unwrap()).unwrap();
    let key = derive_key(ECLOSION_PASS, &params).unwrap();
    let seal = |bytes: &[u8]| key.seal(bytes).unwrap();
    let file = serde_json::json!({
        "encrypted": true,
        "version": "1.0",
        "salt": base64::engine::general_purpose::STANDARD.encode(salt),
        "email": seal(b"alice@example.com"),
        "password": seal(&[0xff, 0xfe, 0x00]),
        "mfa_secret": "",
    });
    let (dir, path) = temp_vault();
    let legacy = private(dir.path(), "credentials.json", file.to_string().as_bytes());
    let vault = common::open(&path);
    let err = vault
        .import_eclosion(&legacy, &secret(ECLOSION_PASS), &ImportOptions::new())
        .unwrap_err();
    assert!(matches!(err, Error::LegacyFormat { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::InvalidVault);
}

#[test]
fn the_vaults_lockout_comes_back_with_its_wait() {
    let (dir, path) = temp_vault();
    let vault = common::builder(&path)
        .lockout(LockoutPolicy::default())
        .open()
        .unwrap();
    let legacy = private(
        dir.path(),
        "credentials.json",
        &std::fs::read(testdata("eclosion/credentials.json")).unwrap(),
    );
    let mut last = None;
    for _ in 0..6 {
        last = Some(
            vault
                .import_eclosion(&legacy, &secret("wrong-guess"), &ImportOptions::new())
                .unwrap_err(),
        );
    }
    let err = last.unwrap();
    assert!(
        matches!(err, Error::Vault(credlock::Error::LockedOut { .. })),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::LockedOut);
    assert!(err.retry_after_secs().is_some_and(|s| s >= 1), "{err:?}");
    let wrong = Error::WrongPassphrase {
        what: "Eclosion's credentials file",
    };
    assert_eq!(wrong.retry_after_secs(), None);
}
