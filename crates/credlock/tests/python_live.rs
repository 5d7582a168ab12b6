//! Our Eclosion export opened by Python's `cryptography`, as Eclosion itself would; our TOTP
//! code checked against one computed by Python's standard `hmac`.
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

#[test]
#[ignore = "needs CREDLOCK_PYTHON pointing at a Python; .ci/run sets it"]
fn python_hmac_computes_our_totp_code() {
    use std::time::{Duration, UNIX_EPOCH};

    use credlock::secrecy::ExposeSecret as _;

    let python = std::env::var("CREDLOCK_PYTHON")
        .expect("set CREDLOCK_PYTHON to a Python interpreter (`.ci/run` creates one in .venv)");
    // As a user pastes it: lowercase, in groups of four, no padding.
    let pasted = "mfrg gzdf mztw q2lk nnwg 23tp obyx e43u";
    let at = 1_750_000_015_u64;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/totp.py");
    let mut child = Command::new(&python)
        .arg(script)
        .arg(at.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(pasted.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "Python failed: {}", out.status);
    let python_code = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(python_code.len(), 6);

    let (_dir, path) = temp_vault();
    let clock = credlock::FakeClock::starting_at(UNIX_EPOCH + Duration::from_secs(at));
    let v = credlock::Vault::builder(&path)
        .insecure_kdf_iterations(TEST_ITERATIONS)
        .insecure_clock(clock)
        .open()
        .unwrap();
    v.store(
        Credentials::new("alice@example.com", secret("pw")).with_mfa_secret(secret(pasted)),
        valid(PASS),
    )
    .unwrap();
    let code = v.totp().unwrap();
    assert_eq!(code.code().expose_secret(), python_code);
    assert_eq!(code.seconds_left(), 30 - at % 30);
}
