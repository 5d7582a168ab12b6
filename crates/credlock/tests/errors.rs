//! Errors an app can act on: every cause printed once in a full chain, a kind to branch on,
//! the storage failure kinds, and the lockout's wait in whole seconds.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::error::Error as _;
use std::os::unix::fs::symlink;
use std::time::Duration;

use common::{PASS, secret, set_mode, stored, temp_vault};
use credlock::{Error, ErrorKind, Policy, StorageKind, Vault};
use credlock_eclosion::{EclosionExt as _, ImportOptions};

/// The chain as anyhow's `{:#}` prints it: the error, then each source.
fn chain(e: &(dyn std::error::Error + 'static)) -> Vec<String> {
    let mut out = vec![e.to_string()];
    let mut next = e.source();
    while let Some(s) = next {
        out.push(s.to_string());
        next = s.source();
    }
    out
}

/// Asserts that no link of the chain repeats an earlier one's text, and returns the chain.
fn assert_each_cause_once(name: &str, e: &Error) -> Vec<String> {
    let links = chain(e);
    for (i, link) in links.iter().enumerate() {
        assert!(!link.trim().is_empty(), "{name}: empty link in {links:?}");
        for earlier in &links[..i] {
            assert!(
                !earlier.contains(link.as_str()),
                "{name}: cause {link:?} is printed twice in {links:?}"
            );
        }
    }
    links
}

/// One error of every kind the file system and the options can produce here.
fn errors() -> Vec<(&'static str, Error, ErrorKind)> {
    let mut out = Vec::new();

    let (dir, path) = temp_vault();
    let v = stored(&path);
    out.push((
        "wrong passphrase",
        v.unlock(&secret("nope")).unwrap_err(),
        ErrorKind::WrongPassphrase,
    ));
    let policy = Policy::default().check(secret("short")).unwrap_err();
    out.push(("policy", Error::from(policy), ErrorKind::PolicyRejected));
    out.push((
        "locked out",
        Error::LockedOut {
            retry_after: Duration::from_millis(1500),
        },
        ErrorKind::LockedOut,
    ));
    out.push((
        "iterations out of bounds",
        Vault::builder(&path).kdf_iterations(5).open().unwrap_err(),
        ErrorKind::InvalidVault,
    ));

    // A file readable by others.
    set_mode(&path, 0o644);
    out.push((
        "insecure mode",
        Vault::open(&path).unwrap_err(),
        ErrorKind::Storage(StorageKind::Refused),
    ));
    set_mode(&path, 0o600);

    // A symbolic link, a FIFO, a corrupt file.
    let link = dir.path().join("link.json");
    symlink(&path, &link).unwrap();
    out.push((
        "symlink",
        Vault::open(&link).unwrap_err(),
        ErrorKind::Storage(StorageKind::Refused),
    ));
    let fifo = dir.path().join("fifo.json");
    rustix_mkfifo(&fifo);
    out.push((
        "fifo",
        Vault::open(&fifo).unwrap_err(),
        ErrorKind::Storage(StorageKind::Refused),
    ));
    let corrupt = dir.path().join("corrupt.json");
    std::fs::write(&corrupt, b"{not json").unwrap();
    set_mode(&corrupt, 0o600);
    let c = common::open(&corrupt);
    out.push((
        "corrupt",
        c.unlock(&secret(PASS)).unwrap_err(),
        ErrorKind::InvalidVault,
    ));
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, b"").unwrap();
    set_mode(&empty, 0o600);
    out.push((
        "empty file",
        Vault::open(&empty).unwrap_err(),
        ErrorKind::Storage(StorageKind::Corrupt),
    ));

    // A directory writable by others, private and shared (sticky).
    for (name, mode) in [("open directory", 0o777), ("sticky directory", 0o1777)] {
        let shared = dir.path().join(format!("d{mode:o}"));
        std::fs::create_dir(&shared).unwrap();
        set_mode(&shared, mode);
        out.push((
            name,
            Vault::open(shared.join("vault.json")).unwrap_err(),
            ErrorKind::Storage(StorageKind::Refused),
        ));
    }

    // An I/O error with an operating-system source: an Eclosion database that is not there.
    #[cfg(feature = "sqlite")]
    {
        let (_d, p) = temp_vault();
        let fresh = common::open(&p);
        out.push((
            "missing database",
            fresh
                .import_eclosion_sqlite(
                    dir.path().join("absent.db"),
                    &secret(PASS),
                    &ImportOptions::new(),
                )
                .map_err(the_vaults)
                .unwrap_err(),
            ErrorKind::Storage(StorageKind::NotFound),
        ));
    }
    let (_d, p) = temp_vault();
    let fresh = common::open(&p);
    out.push((
        "missing legacy file",
        fresh
            .import_eclosion(
                dir.path().join("absent.json"),
                &secret(PASS),
                &ImportOptions::new(),
            )
            .map_err(the_vaults)
            .unwrap_err(),
        ErrorKind::Storage(StorageKind::NotFound),
    ));
    drop(v);
    out
}

/// The vault's error inside an Eclosion import's (a missing file is the vault's storage
/// error).
fn the_vaults(e: credlock_eclosion::Error) -> Error {
    match e {
        credlock_eclosion::Error::Vault(e) => e,
        other => panic!("not the vault's error: {other:?}"),
    }
}

fn rustix_mkfifo(path: &std::path::Path) {
    let status = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .expect("mkfifo(1) is needed for this test");
    assert!(status.success());
}

#[test]
fn full_chains_print_each_cause_once_and_kinds_are_right() {
    for (name, e, kind) in errors() {
        let links = assert_each_cause_once(name, &e);
        assert_eq!(e.kind(), kind, "{name}: {links:?}");
        let rendered = links.join(": ");
        assert!(!rendered.contains(PASS), "{name}: {rendered}");
    }
}

#[cfg(feature = "sqlite")]
#[test]
fn an_os_error_is_a_source_not_part_of_the_message() {
    {
        let (dir, p) = temp_vault();
        let fresh = common::open(&p);
        let e = fresh
            .import_eclosion_sqlite(
                dir.path().join("absent.db"),
                &secret(PASS),
                &ImportOptions::new(),
            )
            .map_err(the_vaults)
            .unwrap_err();
        let links = chain(&e);
        assert_eq!(links.len(), 2, "{links:?}");
        assert!(links[1].contains("No such file"), "{links:?}");
        assert!(!links[0].contains("No such file"), "{links:?}");
        assert_eq!(
            e.storage().and_then(credlock::StorageError::io_kind),
            Some(std::io::ErrorKind::NotFound)
        );
    }
}

#[test]
fn the_policy_error_says_so_once() {
    let e = Error::from(Policy::default().check(secret("short")).unwrap_err());
    let text = e.to_string();
    assert_eq!(
        text.matches("does not meet the policy").count(),
        1,
        "{text}"
    );
    assert!(e.source().is_none());
}

#[test]
fn a_shared_sticky_directory_is_explained_not_fixed() {
    let dir = tempfile::tempdir().unwrap();
    let shared = dir.path().join("tmp");
    std::fs::create_dir(&shared).unwrap();
    set_mode(&shared, 0o1777);
    let e = Vault::open(shared.join("vault.json")).unwrap_err();
    let text = e.to_string();
    assert!(!text.contains("chmod"), "{text}");
    assert!(text.contains("private directory"), "{text}");
    assert_eq!(
        e.storage().map(credlock::StorageError::code),
        Some("directory_insecure")
    );
}

#[test]
fn retry_after_is_whole_seconds_rounded_up() {
    let cases = [
        (Duration::from_millis(1), 1),
        (Duration::from_secs(30), 30),
        (Duration::from_millis(29_001), 30),
        (Duration::from_secs(900), 900),
    ];
    for (wait, secs) in cases {
        let e = Error::LockedOut { retry_after: wait };
        assert_eq!(e.retry_after_secs(), Some(secs), "{wait:?}");
        assert!(e.to_string().contains(&format!("{secs} s")), "{e}");
    }
    assert_eq!(Error::WrongPassphrase.retry_after_secs(), None);
}

#[test]
fn storage_kinds_have_stable_codes() {
    let codes: Vec<_> = [
        StorageKind::NotFound,
        StorageKind::InvalidPath,
        StorageKind::Refused,
        StorageKind::Busy,
        StorageKind::Unavailable,
        StorageKind::Corrupt,
        StorageKind::NoSpace,
        StorageKind::ReadOnly,
        StorageKind::Other,
    ]
    .into_iter()
    .map(StorageKind::code)
    .collect();
    assert_eq!(
        codes,
        [
            "not_found",
            "invalid_path",
            "refused",
            "busy",
            "unavailable",
            "corrupt",
            "no_space",
            "read_only",
            "io"
        ]
    );
}
