//! Our Eclosion exports (the legacy file and the SQLite database) opened by Python's
//! `cryptography`, as Eclosion itself would; our TOTP code checked against one computed by
//! Python's standard `hmac`.
//!
//! `.ci/run` sets `CREDLOCK_PYTHON` to a Python with `cryptography` and runs the ignored tests.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use credlock_eclosion::EclosionExt as _;
use std::io::Write as _;
use std::process::{Command, Stdio};

use common::*;
use credlock::Credentials;

fn python_open(file: &std::path::Path, passphrase: &str) -> serde_json::Value {
    python_run("open_legacy.py", file, passphrase)
}

fn python_run(script: &str, file: &std::path::Path, passphrase: &str) -> serde_json::Value {
    let python = std::env::var("CREDLOCK_PYTHON").expect(
        "set CREDLOCK_PYTHON to a Python interpreter that has the `cryptography` package \
         (`.ci/run` creates one in .venv)",
    );
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/python")
        .join(script);
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

/// Our `eclosion.db` exports, into databases Eclosion made, opened as Eclosion's
/// `CredentialsRepository` does (`tests/python/open_eclosion_db.py`): the credentials, NULL
/// for no MFA secret, the notes key restored, Eclosion's `CREATE TABLE` text; and pyca opens
/// a token whose last character carries non-zero unused bits, as credlock does.
#[cfg(feature = "sqlite")]
#[test]
#[ignore = "needs CREDLOCK_PYTHON pointing at a Python with `cryptography`; .ci/run sets it"]
fn python_cryptography_opens_our_eclosion_database_exports() {
    use credlock::secrecy::ExposeSecret as _;
    use credlock_eclosion::{DatabaseExportOptions, ImportOptions};
    let fixture_sql = {
        let conn = rusqlite::Connection::open_with_flags(
            testdata("eclosion/eclosion-current.db"),
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .unwrap();
        conn.query_row(
            "SELECT sql FROM sqlite_master WHERE name = 'credentials'",
            [],
            |r| r.get::<_, String>(0),
        )
        .unwrap()
    };

    // A vault without an MFA secret, at a low cost, into the database Eclosion 1.3.10 made,
    // emptied of its credentials (as after Eclosion's first start).
    let pass = "Pässwörd-Ünïcode-🔐-42";
    let (dir, path) = temp_vault();
    let v = open(&path);
    let plain = Credentials::new("bob+tag@example.com", secret("pw with spaces & ünïcode ✓"));
    v.store(
        plain.duplicate(),
        credlock::ValidPassphrase::insecure_unchecked(secret(pass)),
    )
    .unwrap();
    let db = dir.path().join("eclosion.db");
    std::fs::copy(testdata("eclosion/eclosion-1.3.10.db"), &db).unwrap();
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute("DELETE FROM credentials", [])
        .unwrap();
    v.export_eclosion_sqlite(&db, &secret(pass), &DatabaseExportOptions::new())
        .unwrap();
    let got = python_run("open_eclosion_db.py", &db, pass);
    assert_eq!(got["email"], plain.email());
    assert_eq!(got["password"], plain.password().expose_secret());
    assert_eq!(got["mfa_is_null"], true);
    assert_eq!(got["notes_key"], serde_json::Value::Null);
    assert_eq!(got["created_at"], got["updated_at"]);
    assert_eq!(got["create_sql"], fixture_sql.as_str());
    assert_eq!(got["wrong_passphrase_refused"], true);
    assert_eq!(got["non_canonical_opens"], true);

    // The current-schema fixture imported, then exported into a copy of the database
    // Eclosion 1.3.10 wrote (replacing its row): the notes key and created_at come back.
    let (dir, path) = temp_vault();
    let v = open(&path);
    let source = dir.path().join("source.db");
    std::fs::copy(testdata("eclosion/eclosion-current.db"), &source).unwrap();
    let fx_pass = "Correct-Horse-9-Battery!";
    v.import_eclosion_sqlite(&source, &secret(fx_pass), &ImportOptions::new())
        .unwrap();
    let db = dir.path().join("eclosion.db");
    std::fs::copy(testdata("eclosion/eclosion-1.3.10.db"), &db).unwrap();
    v.export_eclosion_sqlite(
        &db,
        &secret(fx_pass),
        &DatabaseExportOptions::new().replace_existing(true),
    )
    .unwrap();
    let got = python_run("open_eclosion_db.py", &db, fx_pass);
    assert_eq!(got["email"], "carol@example.org");
    assert_eq!(got["password"], "current-Schema-pw-7");
    assert_eq!(got["mfa_secret"], "JBSWY3DPEHPK3PXP");
    assert_eq!(got["mfa_is_null"], false);
    assert_eq!(
        got["notes_key"],
        "bm90ZXMta2V5LWZvci1jcmVkbG9jay10ZXN0cy0wMQ=="
    );
    assert_eq!(got["created_at"], "2026-02-01 09:30:00.123456");
    assert_eq!(got["wrong_passphrase_refused"], true);
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
