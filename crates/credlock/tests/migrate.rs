//! The migration joint's own surface: its errors keep their cause and message, and what an
//! exporter is handed shows no secret.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::error::Error as _;

use common::{PASS, secret, stored, temp_vault};
use credlock::migrate::MigrationError;
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
