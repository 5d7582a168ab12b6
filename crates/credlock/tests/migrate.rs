//! The migration joint's own surface: its errors keep their cause and message, and what an
//! exporter is handed shows no secret.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::error::Error as _;

use std::sync::atomic::Ordering;

use common::{PASS, counting_derivations, creds, secret, stored, temp_vault, valid};
use credlock::crypto::{KdfParams, Salt};
use credlock::migrate::{MigrationError, Verdict};
use credlock::secrecy::ExposeSecret as _;
use credlock::{Error, StorageError};

#[test]
fn a_migration_error_shows_the_vaults_message_and_keeps_its_cause() {
    let io = std::io::Error::other("disk says no");
    let vault = Error::Storage(StorageError::io(std::path::Path::new("/srv/x"), io));
    let expected = (vault.to_string(), vault.source().map(ToString::to_string));
    let e: MigrationError<std::io::Error> = vault.into();
    assert_eq!(e.to_string(), expected.0);
    assert_eq!(e.source().map(ToString::to_string), expected.1);
    assert!(e.source().is_some());

    let foreign: MigrationError<std::fmt::Error> = MigrationError::Foreign(std::fmt::Error);
    assert_eq!(foreign.to_string(), std::fmt::Error.to_string());
    assert!(foreign.source().is_none());
}

#[test]
fn what_an_exporter_is_handed_shows_no_secret() {
    let (_dir, path) = temp_vault();
    let vault = stored(&path);
    vault.unlock(&secret(PASS)).unwrap();
    let shown = vault
        .export_foreign(&secret(PASS), 100_000, None, |proven| {
            assert_eq!(proven.params.iterations(), 100_000);
            assert_eq!(
                proven.credentials.password().expose_secret(),
                "monarch-pw-123"
            );
            Ok::<_, std::fmt::Error>(format!("{proven:?}"))
        })
        .unwrap();
    assert!(shown.starts_with("ExportKey"), "{shown}");
    assert!(shown.contains("alice@example.com"), "{shown}");
    assert!(!shown.contains("monarch-pw-123"), "{shown}");
    assert!(!shown.contains("JBSWY3DPEHPK3PXP"), "{shown}");
}

#[test]
fn an_import_over_stored_credentials_is_refused_before_any_derivation() {
    let (_dir, path) = temp_vault();
    let (builder, derivations) = counting_derivations(common::builder(&path));
    let vault = builder.open().unwrap();
    vault.store(creds(), valid(PASS)).unwrap();
    let before = derivations.load(Ordering::SeqCst);
    assert!(matches!(
        vault.ensure_importable(false),
        Err(Error::VaultExists { .. })
    ));
    vault.ensure_importable(true).unwrap();
    let params = KdfParams::new(100_000, Salt::random().unwrap()).unwrap();
    let refused = vault.import_foreign(&secret(PASS), &params, false, |_| {
        Err::<credlock::Credentials, _>(Verdict::<std::fmt::Error>::WrongKey)
    });
    assert!(matches!(
        refused,
        Err(MigrationError::Vault(Error::VaultExists { .. }))
    ));
    assert_eq!(
        derivations.load(Ordering::SeqCst),
        before,
        "nothing derived"
    );
    assert_eq!(
        vault.lockout_state().unwrap().failures,
        0,
        "nothing counted"
    );
}
