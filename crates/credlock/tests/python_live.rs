//! Our Eclosion export opened by Python's `cryptography`, as Eclosion itself would.
//!
//! `.ci/run` sets `CREDLOCK_PYTHON` to a Python with `cryptography` and runs the ignored tests.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use std::io::Write as _;
use std::process::{Command, Stdio};

use common::*;
use credlock::Credentials;

fn python_open(file: &std::path::Path, passphrase: &str) -> serde_json::Value {
    let python = std::env::var("CREDLOCK_PYTHON").expect(
        "set CREDLOCK_PYTHON to a Python interpreter that has the `cryptography` package \
         (`.ci/run` creates one in .venv)",
    );
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/open_legacy.py");
    let mut child = Command::new(&python)
        .arg(script)
        .arg(file)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(passphrase.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "Python could not open the export: {}",
        out.status
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
#[ignore = "needs CREDLOCK_PYTHON pointing at a Python with `cryptography`; .ci/run sets it"]
fn python_cryptography_opens_our_eclosion_export() {
    let pass = "Pässwörd-Ünïcode-🔐-42";
    for (creds, cost) in [
        (creds(), None),
        (
            Credentials::new("bob+tag@example.com", secret("pw with spaces & ünïcode ✓")),
            Some(TEST_ITERATIONS),
        ),
    ] {
        let (dir, path) = temp_vault();
        let v = match cost {
            Some(n) => credlock::Vault::builder(&path)
                .insecure_kdf_iterations(n)
                .open()
                .unwrap(),
            None => credlock::Vault::open(&path).unwrap(),
        };
        v.store(
            creds.duplicate(),
            credlock::ValidPassphrase::insecure_unchecked(secret(pass)),
        )
        .unwrap();
        let out = dir.path().join("credentials.json");
        v.export_eclosion(&out, &secret(pass)).unwrap();
        let got = python_open(&out, pass);
        use credlock::secrecy::ExposeSecret as _;
        assert_eq!(got["email"], creds.email());
        assert_eq!(got["password"], creds.password().expose_secret());
        assert_eq!(
            got["mfa_secret"],
            creds.mfa_secret().map_or("", |s| s.expose_secret())
        );
        assert_eq!(
            got["raw_keys"],
            serde_json::json!([
                "encrypted",
                "version",
                "salt",
                "email",
                "password",
                "mfa_secret"
            ])
        );
    }
}

/// An Argon2id vault, normalising its passphrase to NFKC, exports under Eclosion's KDF:
/// PBKDF2 480k over the exact bytes of the passphrase given (here an NFD spelling).
#[test]
#[ignore = "needs CREDLOCK_PYTHON pointing at a Python with `cryptography`; .ci/run sets it"]
fn python_cryptography_opens_the_export_of_an_argon2id_vault() {
    let nfd = "Cre\u{300}me-Bru\u{302}le\u{301}e-42!";
    let (dir, path) = temp_vault();
    let v = credlock::Vault::builder(&path)
        .insecure_kdf_argon2id(credlock::Argon2Cost::new(64, 1, 1))
        .open()
        .unwrap();
    v.store(
        creds(),
        credlock::ValidPassphrase::insecure_unchecked(secret(nfd)),
    )
    .unwrap();
    let out = dir.path().join("credentials.json");
    v.export_eclosion(&out, &secret(nfd)).unwrap();
    let got = python_open(&out, nfd);
    assert_eq!(got["email"], "alice@example.com");
}
