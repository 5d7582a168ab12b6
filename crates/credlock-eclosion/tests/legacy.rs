//! Eclosion compatibility: the fixture in `testdata/eclosion/` opens and migrates;
//! exports are in Eclosion's exact layout and read back; the SQLite store imports.

#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

#[path = "../../credlock/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};

use common::*;
use credlock::SessionState;
use credlock::secrecy::ExposeSecret as _;
use credlock_eclosion::{EclosionExt as _, Error, ImportOptions};

/// The test inputs documented in the fixture's README (passphrase and plaintext).
struct Documented {
    passphrase: String,
    email: String,
    password: String,
    mfa_secret: String,
}

fn documented() -> Documented {
    let readme = std::fs::read_to_string(testdata("eclosion/README.md")).unwrap();
    let value = |label: &str| -> String {
        let line = readme
            .lines()
            .find(|l| l.trim_start().starts_with(label))
            .unwrap_or_else(|| panic!("{label:?} not documented in the fixture README"));
        line.split('`').nth(1).unwrap().to_owned()
    };
    Documented {
        passphrase: value("- Passphrase:"),
        email: value("- email"),
        password: value("- password"),
        mfa_secret: value("- mfa_secret"),
    }
}

fn fixture() -> PathBuf {
    testdata("eclosion/credentials.json")
}

/// A private (0600) copy of the fixture in its own directory, as a real install has it.
/// Git checks the fixture out 0644 (it stores no other modes), so the tests never import
/// the checked-out file in place.
fn private_copy(dir: &Path) -> PathBuf {
    let copy = dir.join("credentials.json");
    std::fs::copy(fixture(), &copy).unwrap();
    set_mode(&copy, 0o600);
    copy
}

#[test]
fn the_fixture_opens_with_its_documented_passphrase_and_migrates_in_one_call() {
    let doc = documented();
    let (dir, path) = temp_vault();
    let legacy = private_copy(dir.path());
    let before = std::fs::read(&legacy).unwrap();
    let v = open(&path);
    let report = v
        .import_eclosion(&legacy, &secret(&doc.passphrase), &ImportOptions::new())
        .unwrap();
    assert_eq!(v.status(), SessionState::Unlocked);
    let c = v.credentials().unwrap();
    assert_eq!(c.email(), doc.email);
    assert_eq!(c.password().expose_secret(), doc.password);
    assert_eq!(c.mfa_secret().unwrap().expose_secret(), doc.mfa_secret);
    assert!(report.had_mfa_secret && !report.original_removed);
    assert_eq!(report.source_mode.as_deref(), Some("0600"));
    // The original is untouched.
    assert_eq!(std::fs::read(&legacy).unwrap(), before);
    assert_eq!(mode(&legacy), 0o600);
    // The new vault is a credlock vault that reopens with the same passphrase.
    drop(v);
    let again = open(&path);
    assert_eq!(again.status(), SessionState::Locked);
    again.unlock(&secret(&doc.passphrase)).unwrap();
    assert_eq!(again.credentials().unwrap().email(), doc.email);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("credlock-vault") && !text.contains(&doc.email));
}

#[test]
fn remove_original_deletes_the_legacy_file_only_after_success() {
    let doc = documented();
    let (dir, path) = temp_vault();
    let legacy = private_copy(dir.path());
    let v = open(&path);
    let opts = ImportOptions::new().remove_original(true);
    assert!(matches!(
        v.import_eclosion(&legacy, &secret("Wrong-Passphrase-1!"), &opts),
        Err(Error::WrongPassphrase { .. })
    ));
    assert!(legacy.exists());
    assert_eq!(v.status(), SessionState::NoCredentials);
    let report = v
        .import_eclosion(&legacy, &secret(&doc.passphrase), &opts)
        .unwrap();
    assert!(report.original_removed);
    assert!(!legacy.exists());
}

#[test]
fn the_fixture_as_git_checks_it_out_is_refused_unless_allowed() {
    let doc = documented();
    let (dir, path) = temp_vault();
    let legacy = private_copy(dir.path());
    set_mode(&legacy, 0o644);
    let v = open(&path);
    let err = v
        .import_eclosion(&legacy, &secret(&doc.passphrase), &ImportOptions::new())
        .unwrap_err();
    assert!(
        matches!(err, Error::Vault(credlock::Error::Storage(_))),
        "{err:?}"
    );
    assert!(err.to_string().contains("chmod 600"), "{err}");
    let report = v
        .import_eclosion(
            &legacy,
            &secret(&doc.passphrase),
            &ImportOptions::new().allow_shared_mode(true),
        )
        .unwrap();
    assert_eq!(report.source_mode.as_deref(), Some("0644"));
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn import_refuses_to_overwrite_existing_credentials_unless_asked() {
    let doc = documented();
    let (dir, path) = temp_vault();
    let legacy = private_copy(dir.path());
    let (builder, derived) = counting_derivations(builder(&path));
    let v = builder.open().unwrap();
    v.store(creds(), valid(PASS)).unwrap();
    let before = derived.load(std::sync::atomic::Ordering::SeqCst);
    let err = v
        .import_eclosion(&legacy, &secret(&doc.passphrase), &ImportOptions::new())
        .unwrap_err();
    assert!(matches!(err, Error::ImportWouldReplace { .. }), "{err:?}");
    assert_eq!(
        derived.load(std::sync::atomic::Ordering::SeqCst),
        before,
        "refused before the passphrase is tested (nothing derived, no attempt counted)"
    );
    assert_eq!(err.kind(), credlock::ErrorKind::Conflict);
    // The message points to the import's own option, not to Vault::replace.
    let msg = err.to_string();
    assert!(msg.contains("ImportOptions::replace_existing"), "{msg}");
    assert!(!msg.contains("Vault::replace"), "{msg}");
    v.import_eclosion(
        &legacy,
        &secret(&doc.passphrase),
        &ImportOptions::new().replace_existing(true),
    )
    .unwrap();
    assert_eq!(v.credentials().unwrap().email(), doc.email);
}

#[test]
fn malformed_and_unencrypted_legacy_files_are_refused() {
    let doc = documented();
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture()).unwrap()).unwrap();
    type Check = fn(&Error) -> bool;
    let cases: Vec<(&str, serde_json::Value, Check)> = vec![
        (
            "plaintext variant",
            {
                let mut v = original.clone();
                v["encrypted"] = false.into();
                v["email"] = "alice@example.com".into();
                v
            },
            |e| matches!(e, Error::LegacyUnencrypted),
        ),
        (
            "null salt",
            {
                let mut v = original.clone();
                v["salt"] = serde_json::Value::Null;
                v
            },
            |e| matches!(e, Error::LegacyFormat { .. }),
        ),
        (
            "short salt",
            {
                let mut v = original.clone();
                v["salt"] = "AAAA".into();
                v
            },
            |e| matches!(e, Error::LegacyFormat { .. }),
        ),
        (
            "no email",
            {
                let mut v = original.clone();
                v.as_object_mut().unwrap().remove("email");
                v
            },
            |e| matches!(e, Error::LegacyFormat { .. }),
        ),
        (
            "tampered token",
            {
                let mut v = original.clone();
                let t = v["password"].as_str().unwrap().replace('A', "B");
                v["password"] = t.into();
                v
            },
            |e| matches!(e, Error::WrongPassphrase { .. }),
        ),
        ("not an object", serde_json::json!([1, 2]), |e| {
            matches!(e, Error::LegacyFormat { .. })
        }),
    ];
    for (name, content, check) in cases {
        let (dir, path) = temp_vault();
        let legacy = dir.path().join("credentials.json");
        std::fs::write(&legacy, serde_json::to_vec_pretty(&content).unwrap()).unwrap();
        set_mode(&legacy, 0o600);
        let v = open(&path);
        let err = v
            .import_eclosion(&legacy, &secret(&doc.passphrase), &ImportOptions::new())
            .unwrap_err();
        assert!(check(&err), "{name}: {err:?}");
        assert!(!path.exists(), "{name}: a vault was written");
        assert!(!err.to_string().contains(&doc.passphrase));
    }
}

#[test]
fn encrypted_is_read_with_pythons_truthiness() {
    // Eclosion tests `if data.get("encrypted"):`, so each JSON type is false when empty or
    // zero and true otherwise; a true one imports (the fields are the fixture's).
    let doc = documented();
    let original: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture()).unwrap()).unwrap();
    let falsy = [
        serde_json::json!(null),
        serde_json::json!(false),
        serde_json::json!(0),
        serde_json::json!(0.0),
        serde_json::json!(""),
        serde_json::json!([]),
        serde_json::json!({}),
    ];
    let truthy = [
        serde_json::json!(true),
        serde_json::json!(1),
        serde_json::json!("yes"),
        serde_json::json!([0]),
        serde_json::json!({ "a": 0 }),
    ];
    for (value, encrypted) in falsy
        .iter()
        .map(|v| (v, false))
        .chain(truthy.iter().map(|v| (v, true)))
    {
        let (dir, path) = temp_vault();
        let mut content = original.clone();
        content["encrypted"] = value.clone();
        let legacy = dir.path().join("credentials.json");
        std::fs::write(&legacy, serde_json::to_vec_pretty(&content).unwrap()).unwrap();
        set_mode(&legacy, 0o600);
        let v = open(&path);
        let result = v.import_eclosion(&legacy, &secret(&doc.passphrase), &ImportOptions::new());
        if encrypted {
            result.unwrap();
            assert_eq!(v.credentials().unwrap().email(), doc.email, "{value}");
        } else {
            assert!(
                matches!(result, Err(Error::LegacyUnencrypted)),
                "{value}: {result:?}"
            );
        }
    }
}

#[test]
fn an_empty_mfa_secret_imports_as_none() {
    let doc = documented();
    let mut content: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture()).unwrap()).unwrap();
    content["mfa_secret"] = "".into();
    let (dir, path) = temp_vault();
    let legacy = dir.path().join("credentials.json");
    std::fs::write(&legacy, serde_json::to_vec_pretty(&content).unwrap()).unwrap();
    set_mode(&legacy, 0o600);
    let v = open(&path);
    let report = v
        .import_eclosion(&legacy, &secret(&doc.passphrase), &ImportOptions::new())
        .unwrap();
    assert!(!report.had_mfa_secret);
    assert!(v.credentials().unwrap().mfa_secret().is_none());
}

#[test]
fn export_writes_eclosions_exact_layout_and_reads_back() {
    let doc = documented();
    let (dir, path) = temp_vault();
    // A vault at the legacy cost reuses its key and salt for the export.
    let v = credlock::Vault::builder(&path).open().unwrap();
    v.import_eclosion(
        private_copy(dir.path()),
        &secret(&doc.passphrase),
        &ImportOptions::new(),
    )
    .unwrap();
    let out = dir.path().join("export").join("credentials.json");
    assert!(matches!(
        v.export_eclosion(&out, &secret("Not-The-Passphrase-1")),
        Err(Error::Vault(credlock::Error::WrongPassphrase))
    ));
    assert!(!out.exists());
    v.export_eclosion(&out, &secret(&doc.passphrase)).unwrap();
    assert_eq!(mode(&out), 0o600);
    assert!(matches!(
        v.export_eclosion(&out, &secret(&doc.passphrase)),
        Err(Error::DestinationExists { .. })
    ));

    // Same shape as the fixture: key order, 2-space indent, no trailing newline.
    let ours = std::fs::read_to_string(&out).unwrap();
    let theirs = std::fs::read_to_string(fixture()).unwrap();
    let keys = |s: &str| -> Vec<String> {
        s.lines()
            .filter_map(|l| l.split('"').nth(1).map(str::to_owned))
            .collect()
    };
    assert_eq!(keys(&ours), keys(&theirs));
    assert_eq!(ours.lines().count(), theirs.lines().count());
    assert!(!ours.ends_with('\n') && !theirs.ends_with('\n'));
    let indent =
        |s: &str| s.lines().nth(1).unwrap().len() - s.lines().nth(1).unwrap().trim_start().len();
    assert_eq!(indent(&ours), indent(&theirs));

    // And it imports again.
    let (_d2, path2) = temp_vault();
    let w = open(&path2);
    w.import_eclosion(&out, &secret(&doc.passphrase), &ImportOptions::new())
        .unwrap();
    assert_eq!(
        w.credentials().unwrap().password().expose_secret(),
        doc.password
    );
    assert_eq!(
        w.credentials()
            .unwrap()
            .mfa_secret()
            .unwrap()
            .expose_secret(),
        doc.mfa_secret
    );
}

#[test]
fn export_from_a_vault_with_another_cost_draws_a_fresh_legacy_salt() {
    let (dir, path) = temp_vault();
    let v = open(&path);
    v.store(creds(), valid(PASS)).unwrap();
    let out = dir.path().join("legacy.json");
    v.export_eclosion(&out, &secret(PASS)).unwrap();
    let (_d2, path2) = temp_vault();
    let w = open(&path2);
    w.import_eclosion(&out, &secret(PASS), &ImportOptions::new())
        .unwrap();
    assert_eq!(w.credentials().unwrap(), creds());
    assert!(matches!(
        v.export_eclosion(dir.path().join("x.json"), &secret("Wrong-Pass-1!")),
        Err(Error::Vault(credlock::Error::WrongPassphrase))
    ));
    v.lock();
    assert!(matches!(
        v.export_eclosion(dir.path().join("y.json"), &secret(PASS)),
        Err(Error::Vault(credlock::Error::Locked))
    ));
}

#[test]
fn legacy_errors_name_eclosions_file() {
    let doc = documented();
    let (dir, path) = temp_vault();
    let legacy = private_copy(dir.path());
    let v = open(&path);
    let err = v
        .import_eclosion(
            &legacy,
            &secret("Wrong-Passphrase-1!"),
            &ImportOptions::new(),
        )
        .unwrap_err();
    assert_eq!(err.kind(), credlock::ErrorKind::WrongPassphrase);
    let msg = err.to_string();
    assert!(msg.contains("Eclosion's credentials file"), "{msg}");
    assert!(!msg.contains("vault"), "{msg}");
    assert!(!msg.contains(&doc.passphrase));
    assert_eq!(
        v.lockout_state().unwrap().failures,
        1,
        "counted by the gate"
    );
    // A missing or empty source is named by its path, not as a vault.
    let missing = dir.path().join("missing").join("credentials.json");
    let err = v
        .import_eclosion(&missing, &secret(PASS), &ImportOptions::new())
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("credentials.json") && !msg.contains("vault"),
        "{msg}"
    );
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, b"").unwrap();
    set_mode(&empty, 0o600);
    let err = v
        .import_eclosion(&empty, &secret(PASS), &ImportOptions::new())
        .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("empty.json") && !msg.contains("vault"),
        "{msg}"
    );
}

#[test]
fn a_plaintext_legacy_file_is_told_to_set_a_passphrase_in_eclosion_first() {
    // Eclosion reads a file whose "encrypted" is missing or falsy as plaintext credentials.
    let cases = [
        serde_json::json!({"encrypted": false, "email": "a@example.com", "password": "pw"}),
        serde_json::json!({"email": "a@example.com", "password": "pw", "mfa_secret": ""}),
        serde_json::json!({"encrypted": null, "email": "a@example.com", "password": "pw"}),
        serde_json::json!({"encrypted": 0, "email": 42, "password": ["not", "a", "string"]}),
    ];
    for content in cases {
        let (dir, path) = temp_vault();
        let legacy = dir.path().join("credentials.json");
        std::fs::write(&legacy, serde_json::to_vec(&content).unwrap()).unwrap();
        set_mode(&legacy, 0o600);
        let err = open(&path)
            .import_eclosion(&legacy, &secret(PASS), &ImportOptions::new())
            .unwrap_err();
        assert!(
            matches!(err, Error::LegacyUnencrypted),
            "{content}: {err:?}"
        );
        assert!(
            err.to_string()
                .contains("set a passphrase in Eclosion first"),
            "{err}"
        );
        assert!(!err.to_string().contains("pw"));
    }
}

#[test]
fn an_export_refused_for_an_existing_destination_leaves_nothing_behind() {
    let (dir, path) = temp_vault();
    let v = open(&path);
    v.store(creds(), valid(PASS)).unwrap();
    let out_dir = dir.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("credentials.json");
    std::fs::write(&out, b"{}").unwrap();
    let err = v.export_eclosion(&out, &secret(PASS)).unwrap_err();
    assert!(matches!(err, Error::DestinationExists { .. }), "{err:?}");
    let names: Vec<String> = std::fs::read_dir(&out_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(
        names,
        ["credentials.json"],
        "a lock or temporary file was left"
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"{}");
    // A fresh destination gets the file, 0600, and nothing else.
    std::fs::remove_file(&out).unwrap();
    v.export_eclosion(&out, &secret(PASS)).unwrap();
    assert_eq!(mode(&out), 0o600);
    assert_eq!(std::fs::read_dir(&out_dir).unwrap().count(), 1);
}

#[cfg(feature = "sqlite")]
mod sqlite {
    use super::*;

    /// An `eclosion.db` with Eclosion's `credentials` table, filled from the JSON fixture.
    fn make_db(dir: &Path, mfa_null: bool) -> PathBuf {
        let fx: serde_json::Value =
            serde_json::from_slice(&std::fs::read(fixture()).unwrap()).unwrap();
        let db = dir.join("eclosion.db");
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch(
            "CREATE TABLE credentials (id INTEGER PRIMARY KEY CHECK (id = 1), salt TEXT NOT NULL,
               email_encrypted TEXT NOT NULL, password_encrypted TEXT NOT NULL,
               mfa_secret_encrypted TEXT, notes_key_encrypted TEXT,
               created_at TEXT DEFAULT CURRENT_TIMESTAMP, updated_at TEXT DEFAULT CURRENT_TIMESTAMP);",
        )
        .unwrap();
        let mfa = if mfa_null {
            None
        } else {
            fx["mfa_secret"].as_str()
        };
        conn.execute(
            "INSERT INTO credentials (id, salt, email_encrypted, password_encrypted, mfa_secret_encrypted)
             VALUES (1, ?1, ?2, ?3, ?4)",
            rusqlite::params![
                fx["salt"].as_str().unwrap(),
                fx["email"].as_str().unwrap(),
                fx["password"].as_str().unwrap(),
                mfa
            ],
        )
        .unwrap();
        db
    }

    #[test]
    fn the_sqlite_store_imports() {
        let doc = documented();
        let (dir, path) = temp_vault();
        let db = make_db(dir.path(), false);
        let before = std::fs::read(&db).unwrap();
        let v = open(&path);
        let report = v
            .import_eclosion_sqlite(&db, &secret(&doc.passphrase), &ImportOptions::new())
            .unwrap();
        assert!(report.had_mfa_secret);
        assert_eq!(v.credentials().unwrap().email(), doc.email);
        assert_eq!(
            v.credentials()
                .unwrap()
                .mfa_secret()
                .unwrap()
                .expose_secret(),
            doc.mfa_secret
        );
        assert_eq!(
            std::fs::read(&db).unwrap(),
            before,
            "the database was modified"
        );
    }

    /// The database Eclosion 1.3.10's own code wrote (testdata/eclosion/README.md gives its
    /// passphrase and values) imports with the right credentials.
    #[test]
    fn a_database_written_by_eclosion_itself_imports() {
        let (dir, path) = temp_vault();
        // A private copy: Eclosion's database is in WAL mode, and the original stays as
        // checked in.
        let db = dir.path().join("eclosion.db");
        std::fs::copy(testdata("eclosion/eclosion-1.3.10.db"), &db).unwrap();
        set_mode(&db, 0o600);
        let v = open(&path);
        let report = v
            .import_eclosion_sqlite(
                &db,
                &secret("Correct-Horse-9-Battery!"),
                &ImportOptions::new(),
            )
            .unwrap();
        assert!(report.had_mfa_secret);
        let creds = v.credentials().unwrap();
        assert_eq!(creds.email(), "alice@example.com");
        assert_eq!(creds.password().expose_secret(), "s3cret-Password");
        assert_eq!(
            creds.mfa_secret().unwrap().expose_secret(),
            "JBSWY3DPEHPK3PXP"
        );
        assert!(matches!(
            open(&dir.path().join("other.json")).import_eclosion_sqlite(
                &db,
                &secret("Wrong-Horse-9-Battery!"),
                &ImportOptions::new()
            ),
            Err(Error::WrongPassphrase { .. })
        ));
    }

    #[test]
    fn a_null_mfa_column_is_no_secret_and_bad_databases_are_refused() {
        let doc = documented();
        let (dir, path) = temp_vault();
        let db = make_db(dir.path(), true);
        let v = open(&path);
        v.import_eclosion_sqlite(&db, &secret(&doc.passphrase), &ImportOptions::new())
            .unwrap();
        assert!(v.credentials().unwrap().mfa_secret().is_none());

        let (dir2, path2) = temp_vault();
        let empty = dir2.path().join("eclosion.db");
        rusqlite::Connection::open(&empty)
            .unwrap()
            .execute_batch("CREATE TABLE other (x);")
            .unwrap();
        let w = open(&path2);
        assert!(matches!(
            w.import_eclosion_sqlite(&empty, &secret(&doc.passphrase), &ImportOptions::new()),
            Err(Error::Database { .. })
        ));
        let not_db = dir2.path().join("not.db");
        std::fs::write(
            &not_db,
            b"this is not sqlite at all, just text padding it out",
        )
        .unwrap();
        assert!(matches!(
            w.import_eclosion_sqlite(&not_db, &secret(&doc.passphrase), &ImportOptions::new()),
            Err(Error::Database { .. })
        ));
        let link = dir2.path().join("link.db");
        std::os::unix::fs::symlink(&db, &link).unwrap();
        assert!(
            w.import_eclosion_sqlite(&link, &secret(&doc.passphrase), &ImportOptions::new())
                .is_err()
        );
        assert!(matches!(
            w.import_eclosion_sqlite(&db, &secret("Wrong-Passphrase-1!"), &ImportOptions::new()),
            Err(Error::WrongPassphrase { .. })
        ));
        assert_eq!(w.status(), SessionState::NoCredentials);
    }
}
