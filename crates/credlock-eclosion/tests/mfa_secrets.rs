//! Every MFA secret Eclosion stored moves: a secret credlock's TOTP parser refuses is kept
//! byte for byte (the import reports why it gives no codes), a short one gives the codes
//! Eclosion's login sends (the report warns it is short), and an export writes it back as it
//! was.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

#[path = "../../credlock/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, UNIX_EPOCH};

use common::*;
use credlock::crypto::FernetKey;
use credlock::secrecy::ExposeSecret as _;
use credlock::{Credentials, ErrorKind, FakeClock, Vault};
use credlock_eclosion::{EclosionExt as _, ImportOptions};

/// `testdata/eclosion/credentials.json`'s passphrase and Fernet key (its README).
const LEGACY_PASS: &str = "Correct-Horse-9-Battery!";
const LEGACY_KEY: &str = "W3fiauczQXNUnlMdJI7kK7bnkP7ZQm-ekeIC5kQBTlg=";

/// 2026-01-01T00:00:00Z, when `oathtool` (both the C tool and the Python package Eclosion's
/// login uses) gives 695745 for `JBSWY3DP` (testdata/eclosion/README.md).
const CODE_TIME: u64 = 1_767_225_600;

/// MFA secrets an Eclosion user may have stored that credlock's TOTP parser (and `oathtool`)
/// refuses, each with the reason `Vault::totp` gives.
const UNPARSEABLE: [(&str, &str); 6] = [
    // Nine base32 letters: no whole number of bytes.
    ("NFDSECRET", "the secret's base32 length is impossible"),
    // Quoted, as pasted from a JSON or shell snippet.
    ("\"JBSWY3DPEHPK3PXP\"", "the secret is not base32"),
    // An escape left in the text.
    ("JBSWY3DP\\u0045HPK3PXP", "the secret is not base32"),
    // A digit zero where base32 has only the letter O.
    ("JBSWY3DPEHPK3PX0", "the secret is not base32"),
    // Not ASCII, in NFD (e + combining acute accent): kept as these exact bytes.
    ("NFDSE\u{301}CRET", "the secret is not base32"),
    // Spaces only.
    ("   ", "the secret is empty"),
];

/// A private copy of the legacy fixture whose `mfa_secret` is `mfa`, sealed under the
/// fixture's key as Eclosion would have sealed it.
fn legacy_with_mfa(dir: &Path, mfa: &str) -> PathBuf {
    let key = FernetKey::from_base64url(LEGACY_KEY).unwrap();
    let mut content: serde_json::Value =
        serde_json::from_slice(&std::fs::read(testdata("eclosion/credentials.json")).unwrap())
            .unwrap();
    content["mfa_secret"] = key.seal(mfa.as_bytes()).unwrap().into();
    let legacy = dir.join("credentials.json");
    std::fs::write(&legacy, serde_json::to_vec_pretty(&content).unwrap()).unwrap();
    set_mode(&legacy, 0o600);
    legacy
}

fn vault_at(path: &Path, time: u64) -> Vault {
    builder(path)
        .insecure_clock(FakeClock::starting_at(
            UNIX_EPOCH + Duration::from_secs(time),
        ))
        .open()
        .unwrap()
}

#[test]
fn mfa_secrets_the_totp_parser_refuses_are_imported_byte_for_byte_and_exported_as_they_were() {
    for (mfa, reason) in UNPARSEABLE {
        let (dir, path) = temp_vault();
        let legacy = legacy_with_mfa(dir.path(), mfa);
        let v = open(&path);
        let imported = v.import_eclosion(&legacy, &secret(LEGACY_PASS), &ImportOptions::new());
        let report = imported.unwrap_or_else(|e| panic!("{mfa:?}: {e:?}"));
        // The report says the secret was kept, gives no codes, and why.
        assert!(report.had_mfa_secret, "{mfa:?}");
        assert!(!report.mfa_secret_usable, "{mfa:?}");
        assert_eq!(report.mfa_secret_problem, Some(reason), "{mfa:?}");
        assert_eq!(report.mfa_secret_warning, None, "{mfa:?}");
        assert_eq!(report.mfa_secret_key_bits, None, "{mfa:?}");
        let shown = serde_json::to_string(&report).unwrap();
        assert!(mfa.trim().is_empty() || !shown.contains(mfa), "{shown}");
        let c = v.credentials().unwrap();
        assert_eq!(c.email(), "alice@example.com", "{mfa:?}");
        assert_eq!(c.password().expose_secret(), "monarch-pw-123", "{mfa:?}");
        assert_eq!(c.mfa_secret().unwrap().expose_secret(), mfa);
        // No code, and a typed error naming why (never the secret).
        let err = v.totp().unwrap_err();
        assert!(
            matches!(err, credlock::Error::InvalidMfaSecret { reason: r } if r == reason),
            "{mfa:?}: {err:?}"
        );
        assert_eq!(err.kind(), ErrorKind::InvalidCredentials);
        // Kept across a lock and an unlock, and written back by an export as it was.
        v.lock();
        v.unlock(&secret(LEGACY_PASS)).unwrap();
        assert_eq!(
            v.credentials()
                .unwrap()
                .mfa_secret()
                .unwrap()
                .expose_secret(),
            mfa
        );
        let out = dir.path().join("exported.json");
        v.export_eclosion(&out, &secret(LEGACY_PASS)).unwrap();
        let exported: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        let salt = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            exported["salt"].as_str().unwrap(),
        )
        .unwrap();
        let params = credlock::crypto::KdfParams::new(
            480_000,
            credlock::crypto::Salt::from_slice(&salt).unwrap(),
        )
        .unwrap();
        let key = credlock::crypto::derive_key(LEGACY_PASS, &params).unwrap();
        let opened = key
            .open(exported["mfa_secret"].as_str().unwrap())
            .unwrap()
            .to_vec();
        assert_eq!(opened, mfa.as_bytes(), "the export changed {mfa:?}");
    }
}

#[test]
fn an_update_keeps_an_imported_secret_it_leaves_alone_and_refuses_a_new_bad_one() {
    let (dir, path) = temp_vault();
    let legacy = legacy_with_mfa(dir.path(), "NFDSECRET");
    let v = open(&path);
    v.import_eclosion(&legacy, &secret(LEGACY_PASS), &ImportOptions::new())
        .unwrap();
    // The app changes the password and leaves the MFA secret as it was: accepted.
    v.update_credentials(
        Credentials::new("alice@example.com", secret("a-new-password-1"))
            .with_mfa_secret(secret("NFDSECRET")),
    )
    .unwrap();
    assert_eq!(
        v.credentials().unwrap().password().expose_secret(),
        "a-new-password-1"
    );
    // A new secret typed by the user is checked: one that is not base32 is refused.
    let err = v
        .update_credentials(
            Credentials::new("alice@example.com", secret("a-new-password-1"))
                .with_mfa_secret(secret("not base32!")),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            credlock::Error::InvalidMfaSecret {
                reason: "the secret is not base32"
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        v.credentials()
            .unwrap()
            .mfa_secret()
            .unwrap()
            .expose_secret(),
        "NFDSECRET"
    );
    // A new, usable one replaces it and gives codes.
    v.update_credentials(
        Credentials::new("alice@example.com", secret("a-new-password-1"))
            .with_mfa_secret(secret("JBSWY3DP")),
    )
    .unwrap();
    assert_eq!(v.totp().unwrap().code().expose_secret().len(), 6);
}

#[test]
fn an_eight_character_secret_gives_the_code_oathtool_gives() {
    let (dir, path) = temp_vault();
    let legacy = legacy_with_mfa(dir.path(), "JBSWY3DP");
    let v = vault_at(&path, CODE_TIME);
    let report = v
        .import_eclosion(&legacy, &secret(LEGACY_PASS), &ImportOptions::new())
        .unwrap();
    assert_eq!(v.totp().unwrap().code().expose_secret(), "695745");
    assert!(report.mfa_secret_usable);
    assert_eq!(report.mfa_secret_problem, None);
    assert_eq!(report.mfa_secret_key_bits, Some(40));
    let warning = report.mfa_secret_warning.unwrap();
    assert!(
        warning.contains("128 bits") && warning.contains("RFC 4226"),
        "{warning}"
    );
}

#[test]
fn a_secret_of_128_bits_or_more_gives_codes_without_a_warning() {
    // 32 base32 characters: 20 bytes, 160 bits (RFC 4226's recommended length).
    let long = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ";
    let (dir, path) = temp_vault();
    let legacy = legacy_with_mfa(dir.path(), long);
    let v = open(&path);
    let report = v
        .import_eclosion(&legacy, &secret(LEGACY_PASS), &ImportOptions::new())
        .unwrap();
    assert!(report.mfa_secret_usable);
    assert_eq!(
        (report.mfa_secret_key_bits, report.mfa_secret_warning),
        (Some(160), None)
    );
    // The 80-bit secret of the fixture is usable, and below RFC 4226's 128 bits.
    let (dir, path) = temp_vault();
    let legacy = legacy_with_mfa(dir.path(), "JBSWY3DPEHPK3PXP");
    let v = open(&path);
    let report = v
        .import_eclosion(&legacy, &secret(LEGACY_PASS), &ImportOptions::new())
        .unwrap();
    assert!(report.mfa_secret_usable && report.mfa_secret_warning.is_some());
    assert_eq!(report.mfa_secret_key_bits, Some(80));
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;

    /// `eclosion-1.3.10-short-mfa.db`: Eclosion 1.3.10's own `CredentialsManager.save()`
    /// stored an 8-character MFA secret (testdata/eclosion/README.md).
    const SHORT_EMAIL: &str = "dave@example.net";
    const SHORT_PASSWORD: &str = "short-Mfa-pw-8";
    const SHORT_MFA: &str = "JBSWY3DP";

    fn fixture_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("eclosion.db");
        std::fs::copy(testdata(&format!("eclosion/{name}")), &db).unwrap();
        (dir, db)
    }

    #[test]
    fn the_readme_documents_the_short_mfa_fixture() {
        let readme = std::fs::read_to_string(testdata("eclosion/README.md")).unwrap();
        for value in [
            "eclosion-1.3.10-short-mfa.db",
            "make_eclosion_short_mfa_db.py",
            SHORT_EMAIL,
            SHORT_PASSWORD,
            SHORT_MFA,
            "695745",
            "1767225600",
        ] {
            assert!(readme.contains(value), "{value} is not in the README");
        }
    }

    #[test]
    fn eclosions_database_with_an_eight_character_secret_imports_and_gives_eclosions_code() {
        let (dir, db) = fixture_copy("eclosion-1.3.10-short-mfa.db");
        let bytes = std::fs::read(&db).unwrap();
        let (_vdir, path) = temp_vault();
        let v = vault_at(&path, CODE_TIME);
        let report = v
            .import_eclosion_sqlite(&db, &secret(LEGACY_PASS), &ImportOptions::new())
            .unwrap();
        assert!(report.had_mfa_secret && report.mfa_secret_usable);
        assert_eq!(report.mfa_secret_key_bits, Some(40));
        assert!(report.mfa_secret_warning.is_some());
        let c = v.credentials().unwrap();
        assert_eq!(c.email(), SHORT_EMAIL);
        assert_eq!(c.password().expose_secret(), SHORT_PASSWORD);
        assert_eq!(c.mfa_secret().unwrap().expose_secret(), SHORT_MFA);
        // The code Eclosion's login sends at that time (its sanitiser, then oathtool).
        assert_eq!(v.totp().unwrap().code().expose_secret(), "695745");
        assert_eq!(std::fs::read(&db).unwrap(), bytes, "the database changed");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "files appeared beside the database"
        );
    }

    #[test]
    fn an_unparseable_secret_in_eclosions_database_is_imported_and_exported_as_it_was() {
        let (_dir, db) = fixture_copy("eclosion-current.db");
        let salt = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            "Dx4tPEtaaXiHlqW0w9Lh8A==",
        )
        .unwrap();
        let params = credlock::crypto::KdfParams::new(
            480_000,
            credlock::crypto::Salt::from_slice(&salt).unwrap(),
        )
        .unwrap();
        let key = credlock::crypto::derive_key(LEGACY_PASS, &params).unwrap();
        let odd = "\"JBSWY3DPEHPK3PXP\"";
        rusqlite::Connection::open(&db)
            .unwrap()
            .execute(
                "UPDATE credentials SET mfa_secret_encrypted = ?1",
                [key.seal(odd.as_bytes()).unwrap()],
            )
            .unwrap();
        let (vdir, path) = temp_vault();
        let v = open(&path);
        let report = v
            .import_eclosion_sqlite(&db, &secret(LEGACY_PASS), &ImportOptions::new())
            .unwrap();
        assert!(report.had_mfa_secret && !report.mfa_secret_usable);
        assert_eq!(report.mfa_secret_problem, Some("the secret is not base32"));
        assert_eq!(
            v.credentials()
                .unwrap()
                .mfa_secret()
                .unwrap()
                .expose_secret(),
            odd
        );
        // Back into a database Eclosion made (a copy of the 1.3.10 fixture): as it was.
        let out = vdir.path().join("eclosion.db");
        std::fs::copy(testdata("eclosion/eclosion-1.3.10.db"), &out).unwrap();
        v.export_eclosion_sqlite(
            &out,
            &secret(LEGACY_PASS),
            &credlock_eclosion::DatabaseExportOptions::new().replace_existing(true),
        )
        .unwrap();
        let (salt, token): (String, String) = rusqlite::Connection::open(&out)
            .unwrap()
            .query_row(
                "SELECT salt, mfa_secret_encrypted FROM credentials WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        let salt =
            base64::Engine::decode(&base64::engine::general_purpose::STANDARD, salt).unwrap();
        let params = credlock::crypto::KdfParams::new(
            480_000,
            credlock::crypto::Salt::from_slice(&salt).unwrap(),
        )
        .unwrap();
        let key = credlock::crypto::derive_key(LEGACY_PASS, &params).unwrap();
        assert_eq!(key.open(&token).unwrap().to_vec(), odd.as_bytes());
    }
}
