//! Eclosion's SQLite store both ways: the fixture made from Eclosion's current schema imports
//! without leaving anything beside it and with a report naming what was not carried, also
//! while another connection holds the database open in WAL mode; exports to a new and to an
//! existing `eclosion.db` read back to the same credentials and restore the notes key.

#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::panic, reason = "tests fail loudly")]

#[path = "../../credlock/tests/common/mod.rs"]
mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use common::*;
use credlock::audit::{EventKind, MemorySink};
use credlock::secrecy::ExposeSecret as _;
use credlock::{Credentials, ErrorKind, SessionState};
use credlock_eclosion::{DatabaseExportOptions, EclosionExt as _, Error, ImportOptions};
use rusqlite::Connection;

/// The values `testdata/eclosion/make_eclosion_db_fixture.py` sealed into
/// `eclosion-current.db` (its README lists them too; a test checks it does).
const FX_PASS: &str = "Correct-Horse-9-Battery!";
const FX_EMAIL: &str = "carol@example.org";
const FX_PASSWORD: &str = "current-Schema-pw-7";
const FX_MFA: &str = "JBSWY3DPEHPK3PXP";
const FX_NOTES_KEY: &str = "bm90ZXMta2V5LWZvci1jcmVkbG9jay10ZXN0cy0wMQ==";
const FX_CREATED_AT: &str = "2026-02-01 09:30:00.123456";
const FX_UPDATED_AT: &str = "2026-02-14 18:05:42.654321";

/// A copy of a fixture database alone in a fresh directory (so that nothing else is beside
/// it), and that directory.
fn fixture_copy(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("eclosion.db");
    std::fs::copy(testdata(&format!("eclosion/{name}")), &db).unwrap();
    (dir, db)
}

/// A database Eclosion made: a copy of the one Eclosion 1.3.10 wrote (it holds credentials),
/// as `eclosion.db` in `dir`.
fn eclosion_made(dir: &Path) -> PathBuf {
    let db = dir.join("eclosion.db");
    std::fs::copy(testdata("eclosion/eclosion-1.3.10.db"), &db).unwrap();
    db
}

/// Replacing the credentials of a database Eclosion made.
fn replacing() -> DatabaseExportOptions {
    DatabaseExportOptions::new().replace_existing(true)
}

fn listing(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| (*s).to_owned()).collect()
}

/// The vault, in a directory of its own.
fn vault() -> (tempfile::TempDir, credlock::Vault) {
    let (dir, path) = temp_vault();
    let v = open(&path);
    (dir, v)
}

/// The `credentials` row of a database, as text columns.
fn row(db: &Path) -> Vec<Option<String>> {
    let conn = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.query_row(
        "SELECT salt, email_encrypted, password_encrypted, mfa_secret_encrypted, \
         notes_key_encrypted, created_at, updated_at FROM credentials WHERE id = 1",
        [],
        |r| (0..7).map(|i| r.get::<_, Option<String>>(i)).collect(),
    )
    .unwrap()
}

fn create_sql(db: &Path) -> String {
    let conn = Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    conn.query_row(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'credentials'",
        [],
        |r| r.get(0),
    )
    .unwrap()
}

/// Opens a token of an exported database as Eclosion does: the key from the passphrase and
/// the row's standard-base64 salt at 480,000 iterations.
fn eclosion_open(salt_b64: &str, token: &str) -> String {
    use credlock::crypto::{KdfParams, Salt, derive_key};
    let salt = base64::engine::general_purpose::STANDARD
        .decode(salt_b64)
        .unwrap();
    let params = KdfParams::new(480_000, Salt::from_slice(&salt).unwrap()).unwrap();
    let key = derive_key(FX_PASS, &params).unwrap();
    String::from_utf8(key.open(token).unwrap().to_vec()).unwrap()
}

#[test]
fn the_readme_documents_the_current_schema_fixture() {
    let readme = std::fs::read_to_string(testdata("eclosion/README.md")).unwrap();
    for value in [
        FX_PASS,
        FX_EMAIL,
        FX_PASSWORD,
        FX_MFA,
        FX_NOTES_KEY,
        FX_CREATED_AT,
        FX_UPDATED_AT,
        "make_eclosion_db_fixture.py",
    ] {
        assert!(readme.contains(value), "{value} is not in the README");
    }
    // The fixture's table is Eclosion's, as the export writes it.
    assert_eq!(
        create_sql(&testdata("eclosion/eclosion-current.db")),
        create_sql(&testdata("eclosion/eclosion-1.3.10.db"))
    );
}

#[test]
fn the_current_schema_fixture_imports_with_nothing_beside_it_and_a_full_report() {
    let (dir, db) = fixture_copy("eclosion-current.db");
    let before = listing(dir.path());
    let bytes = std::fs::read(&db).unwrap();
    let (_vdir, v) = vault();
    let report = v
        .import_eclosion_sqlite(&db, &secret(FX_PASS), &ImportOptions::new())
        .unwrap();
    assert_eq!(
        listing(dir.path()),
        before,
        "files appeared beside the database"
    );
    assert_eq!(std::fs::read(&db).unwrap(), bytes, "the database changed");
    let c = v.credentials().unwrap();
    assert_eq!(c.email(), FX_EMAIL);
    assert_eq!(c.password().expose_secret(), FX_PASSWORD);
    assert_eq!(c.mfa_secret().unwrap().expose_secret(), FX_MFA);
    assert_eq!(
        report.kept_as_extras,
        strings(&[
            "credentials.notes_key_encrypted",
            "credentials.created_at",
            "credentials.updated_at"
        ])
    );
    assert_eq!(
        report.tables_not_carried,
        strings(&["automation_credentials", "general_notes", "notes"])
    );
    assert!(report.columns_not_carried.is_empty());
    assert!(!report.original_removed);
}

#[test]
fn a_column_beyond_eclosions_own_is_reported_by_name() {
    let (_dir, db) = fixture_copy("eclosion-current.db");
    Connection::open(&db)
        .unwrap()
        .execute_batch("ALTER TABLE credentials ADD COLUMN recovery_hint TEXT;")
        .unwrap();
    let (_vdir, v) = vault();
    let report = v
        .import_eclosion_sqlite(&db, &secret(FX_PASS), &ImportOptions::new())
        .unwrap();
    assert_eq!(
        report.columns_not_carried,
        strings(&["credentials.recovery_hint"])
    );
}

#[test]
fn a_wal_database_nobody_has_open_imports_without_creating_wal_or_shm() {
    // Eclosion 1.3.10's own database: WAL mode, closed cleanly.
    let (dir, db) = fixture_copy("eclosion-1.3.10.db");
    let before = listing(dir.path());
    assert_eq!(before, BTreeSet::from(["eclosion.db".to_owned()]));
    let (_vdir, v) = vault();
    let report = v
        .import_eclosion_sqlite(&db, &secret(FX_PASS), &ImportOptions::new())
        .unwrap();
    assert_eq!(listing(dir.path()), before);
    assert_eq!(v.credentials().unwrap().email(), "alice@example.com");
    assert!(
        report
            .kept_as_extras
            .contains(&"credentials.notes_key_encrypted".to_owned())
    );
    assert!(report.tables_not_carried.contains(&"notes".to_owned()));
    assert!(
        !report
            .tables_not_carried
            .contains(&"credentials".to_owned())
    );
}

/// Makes `db` a WAL database held open by a writer whose latest commit (a new `created_at`)
/// is still only in the `-wal` file. Returns the writer, to keep open.
fn held_open_in_wal_mode(db: &Path, created_at: &str) -> Connection {
    let writer = Connection::open(db).unwrap();
    let mode: String = writer
        .query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    writer
        .execute_batch("PRAGMA wal_autocheckpoint=0;")
        .unwrap();
    writer
        .execute(
            "UPDATE credentials SET created_at = ?1 WHERE id = 1",
            [created_at],
        )
        .unwrap();
    writer
}

#[test]
fn a_database_held_open_in_wal_mode_imports_its_latest_commit_and_creates_nothing() {
    let (dir, db) = fixture_copy("eclosion-current.db");
    let writer = held_open_in_wal_mode(&db, "2026-03-03 03:03:03.030303");
    let before = listing(dir.path());
    assert!(before.contains("eclosion.db-wal") && before.contains("eclosion.db-shm"));
    let (vdir, v) = vault();
    v.import_eclosion_sqlite(&db, &secret(FX_PASS), &ImportOptions::new())
        .unwrap();
    assert_eq!(listing(dir.path()), before, "new files beside the database");
    assert_eq!(v.credentials().unwrap().email(), FX_EMAIL);
    // The commit still only in the WAL was read: the export restores it.
    let out = eclosion_made(vdir.path());
    v.export_eclosion_sqlite(&out, &secret(FX_PASS), &replacing())
        .unwrap();
    assert_eq!(row(&out)[5].as_deref(), Some("2026-03-03 03:03:03.030303"));
    drop(writer);
}

#[test]
fn a_wal_left_without_its_shm_is_read_from_a_private_copy() {
    let (src_dir, src) = fixture_copy("eclosion-current.db");
    let writer = held_open_in_wal_mode(&src, "2026-04-04 04:04:04.040404");
    // A crash leaves the -wal behind; here, a copy of the database and its -wal alone.
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("eclosion.db");
    std::fs::copy(&src, &db).unwrap();
    std::fs::copy(
        src_dir.path().join("eclosion.db-wal"),
        dir.path().join("eclosion.db-wal"),
    )
    .unwrap();
    drop(writer);
    let before = listing(dir.path());
    let wal = std::fs::read(dir.path().join("eclosion.db-wal")).unwrap();
    let (vdir, v) = vault();
    v.import_eclosion_sqlite(&db, &secret(FX_PASS), &ImportOptions::new())
        .unwrap();
    assert_eq!(listing(dir.path()), before);
    assert_eq!(
        std::fs::read(dir.path().join("eclosion.db-wal")).unwrap(),
        wal
    );
    let out = eclosion_made(vdir.path());
    v.export_eclosion_sqlite(&out, &secret(FX_PASS), &replacing())
        .unwrap();
    assert_eq!(row(&out)[5].as_deref(), Some("2026-04-04 04:04:04.040404"));
}

/// Into the database Eclosion made, holding no credentials yet (as after its first start):
/// the row in Eclosion's layout, the rest of the database as it was.
#[test]
fn export_into_the_database_eclosion_made_writes_its_row_and_reads_back() {
    let (dir, path) = temp_vault();
    let trail = MemorySink::new();
    let v = builder(&path).audit_to(trail.clone()).open().unwrap();
    let no_mfa = Credentials::new("bob@example.com", secret("pw-without-mfa"));
    v.store(no_mfa.duplicate(), valid(PASS)).unwrap();
    let out_dir = dir.path().join("state");
    std::fs::create_dir(&out_dir).unwrap();
    let out = eclosion_made(&out_dir);
    let conn = Connection::open(&out).unwrap();
    conn.execute("DELETE FROM credentials", []).unwrap();
    let schema = |c: &Connection| -> Vec<String> {
        c.prepare("SELECT sql FROM sqlite_master ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get::<_, Option<String>>(0))
            .unwrap()
            .map(|r| r.unwrap().unwrap_or_default())
            .collect()
    };
    let before = schema(&conn);
    drop(conn);
    v.export_eclosion_sqlite(&out, &secret(PASS), &DatabaseExportOptions::new())
        .unwrap();
    assert_eq!(
        listing(&out_dir),
        BTreeSet::from(["eclosion.db".to_owned()]),
        "a temporary or journal file was left behind"
    );
    assert_eq!(
        schema(&Connection::open(&out).unwrap()),
        before,
        "the schema changed"
    );
    let r = row(&out);
    assert_eq!(r[3], None, "no MFA secret is NULL");
    assert_eq!(r[4], None, "no notes key is NULL");
    assert_eq!(
        base64::engine::general_purpose::STANDARD
            .decode(r[0].as_deref().unwrap())
            .unwrap()
            .len(),
        16
    );
    let stamp = r[5].as_deref().unwrap();
    assert_eq!(stamp.len(), "2026-02-01 09:30:00.123456".len(), "{stamp}");
    assert_eq!(r[5], r[6], "a new row's created_at and updated_at agree");
    assert!(
        trail
            .events()
            .iter()
            .any(|e| e.kind == EventKind::Exported && e.operation == Some("eclosion_database"))
    );
    // Read back by the importer.
    let (_d, w) = vault();
    let report = w
        .import_eclosion_sqlite(&out, &secret(PASS), &ImportOptions::new())
        .unwrap();
    assert_eq!(w.credentials().unwrap(), no_mfa);
    assert!(!report.had_mfa_secret && !report.mfa_secret_usable);
    assert_eq!(report.mfa_secret_problem, None);
    assert_eq!(report.tables_not_carried.len(), 24);
    // A second export finds the credentials it wrote, and refuses to replace them unasked.
    let err = v
        .export_eclosion_sqlite(&out, &secret(PASS), &DatabaseExportOptions::new())
        .unwrap_err();
    assert!(matches!(err, Error::CredentialsExist { .. }), "{err:?}");
}

#[test]
fn export_into_an_existing_database_refuses_stored_credentials_unless_asked() {
    let (_dir, path) = temp_vault();
    let v = open(&path);
    v.store(creds(), valid(PASS)).unwrap();
    let (db_dir, db) = fixture_copy("eclosion-current.db");
    let before = std::fs::read(&db).unwrap();
    let err = v
        .export_eclosion_sqlite(&db, &secret(PASS), &DatabaseExportOptions::new())
        .unwrap_err();
    assert!(matches!(err, Error::CredentialsExist { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::Conflict);
    let msg = err.to_string();
    assert!(
        msg.contains("Eclosion's database") && msg.contains("replace_existing"),
        "{msg}"
    );
    assert_eq!(std::fs::read(&db).unwrap(), before, "the refusal wrote");
    assert_eq!(
        listing(db_dir.path()),
        BTreeSet::from(["eclosion.db".to_owned()])
    );

    v.export_eclosion_sqlite(
        &db,
        &secret(PASS),
        &DatabaseExportOptions::new().replace_existing(true),
    )
    .unwrap();
    // Eclosion's other tables are still there.
    let conn = Connection::open(&db).unwrap();
    let tables: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 4);
    // An existing database without credentials takes the row without being asked.
    conn.execute("DELETE FROM credentials", []).unwrap();
    drop(conn);
    v.export_eclosion_sqlite(&db, &secret(PASS), &DatabaseExportOptions::new())
        .unwrap();
    let (_d, w) = vault();
    w.import_eclosion_sqlite(&db, &secret(PASS), &ImportOptions::new())
        .unwrap();
    assert_eq!(w.credentials().unwrap(), creds());
}

#[test]
fn export_into_a_database_eclosion_holds_open_in_wal_mode() {
    let (_dir, path) = temp_vault();
    let v = open(&path);
    v.store(creds(), valid(PASS)).unwrap();
    let (_db_dir, db) = fixture_copy("eclosion-current.db");
    let writer = held_open_in_wal_mode(&db, "2026-05-05 05:05:05.050505");
    v.export_eclosion_sqlite(
        &db,
        &secret(PASS),
        &DatabaseExportOptions::new().replace_existing(true),
    )
    .unwrap();
    // The other connection sees the exported row.
    let email_token: String = writer
        .query_row(
            "SELECT email_encrypted FROM credentials WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(email_token.starts_with("gAAAAA"));
    let (_d, w) = vault();
    w.import_eclosion_sqlite(&db, &secret(PASS), &ImportOptions::new())
        .unwrap();
    assert_eq!(w.credentials().unwrap(), creds());
}

#[test]
fn the_notes_key_and_created_at_survive_import_update_and_export() {
    let (_dir, db) = fixture_copy("eclosion-current.db");
    let (vdir, path) = temp_vault();
    // At Eclosion's cost, so the export reuses the vault's key.
    let v = credlock::Vault::builder(&path).open().unwrap();
    v.import_eclosion_sqlite(&db, &secret(FX_PASS), &ImportOptions::new())
        .unwrap();
    // An app changes the password: what the import carried along stays.
    v.update_credentials(
        Credentials::new(FX_EMAIL, secret("a-new-password-1")).with_mfa_secret(secret(FX_MFA)),
    )
    .unwrap();
    v.lock();
    v.unlock(&secret(FX_PASS)).unwrap();
    let out = eclosion_made(vdir.path());
    v.export_eclosion_sqlite(&out, &secret(FX_PASS), &replacing())
        .unwrap();
    let r = row(&out);
    let salt = r[0].as_deref().unwrap();
    assert_eq!(eclosion_open(salt, r[1].as_deref().unwrap()), FX_EMAIL);
    assert_eq!(
        eclosion_open(salt, r[2].as_deref().unwrap()),
        "a-new-password-1"
    );
    assert_eq!(eclosion_open(salt, r[3].as_deref().unwrap()), FX_MFA);
    assert_eq!(eclosion_open(salt, r[4].as_deref().unwrap()), FX_NOTES_KEY);
    assert_eq!(r[5].as_deref(), Some(FX_CREATED_AT));
    assert_ne!(
        r[6].as_deref(),
        Some(FX_UPDATED_AT),
        "updated_at is the export's"
    );
}

#[test]
fn import_errors_name_eclosions_database_and_its_own_options() {
    let (_dir, db) = fixture_copy("eclosion-current.db");
    let (_vdir, v) = vault();

    let err = v
        .import_eclosion_sqlite(
            &db,
            &secret("Wrong-Horse-9-Battery!"),
            &ImportOptions::new(),
        )
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::WrongPassphrase);
    let msg = err.to_string();
    assert!(msg.contains("Eclosion's database"), "{msg}");
    assert!(!msg.contains("vault"), "{msg}");
    // Counted towards the lockout like any other attempt.
    assert_eq!(v.lockout_state().unwrap().failures, 1);

    let err = v
        .import_eclosion_sqlite(
            &db,
            &secret(FX_PASS),
            &ImportOptions::new().remove_original(true),
        )
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidOption {
                name: "remove_original"
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::InvalidOption);
    assert!(db.exists());

    let not_db = db.with_file_name("not.db");
    std::fs::write(
        &not_db,
        b"SQLite? no: just text, long enough to have a header",
    )
    .unwrap();
    let err = v
        .import_eclosion_sqlite(&not_db, &secret(FX_PASS), &ImportOptions::new())
        .unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("Eclosion's database"), "{msg}");
    assert!(
        !msg.contains("credentials file") && !msg.contains("vault"),
        "{msg}"
    );

    let missing = db.with_file_name("gone").join("eclosion.db");
    let err = v
        .import_eclosion_sqlite(&missing, &secret(FX_PASS), &ImportOptions::new())
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Storage(credlock::StorageKind::NotFound)
    );
    let msg = err.to_string();
    assert!(
        msg.contains("gone/eclosion.db") && !msg.contains("vault"),
        "{msg}"
    );

    // A malformed value in the row is the database's fault, and says so.
    let (_dir2, bad) = fixture_copy("eclosion-current.db");
    Connection::open(&bad)
        .unwrap()
        .execute("UPDATE credentials SET salt = 'not base64!'", [])
        .unwrap();
    let err = v
        .import_eclosion_sqlite(&bad, &secret(FX_PASS), &ImportOptions::new())
        .unwrap_err();
    assert!(matches!(err, Error::Database { .. }), "{err:?}");
    assert!(err.to_string().starts_with("Eclosion's database"), "{err}");

    v.import_eclosion_sqlite(&db, &secret(FX_PASS), &ImportOptions::new())
        .unwrap();
    assert_eq!(v.status(), SessionState::Unlocked);
    let err = v
        .import_eclosion_sqlite(&db, &secret(FX_PASS), &ImportOptions::new())
        .unwrap_err();
    assert!(matches!(err, Error::ImportWouldReplace { .. }), "{err:?}");
    assert!(err.to_string().contains("ImportOptions::replace_existing"));
}

#[test]
fn a_wrong_passphrase_for_an_export_writes_nothing_and_counts() {
    let (_dir, path) = temp_vault();
    let v = open(&path);
    v.store(creds(), valid(PASS)).unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    let out = eclosion_made(out_dir.path());
    let before = std::fs::read(&out).unwrap();
    let err = v
        .export_eclosion_sqlite(&out, &secret(OTHER_PASS), &replacing())
        .unwrap_err();
    assert!(
        matches!(err, Error::Vault(credlock::Error::WrongPassphrase)),
        "{err:?}"
    );
    assert_eq!(v.lockout_state().unwrap().failures, 1);
    assert_eq!(std::fs::read(&out).unwrap(), before, "the database changed");
    assert_eq!(
        listing(out_dir.path()),
        BTreeSet::from(["eclosion.db".to_owned()])
    );
    // A destination that is not a regular file is refused before any passphrase test.
    let err = v
        .export_eclosion_sqlite(
            out_dir.path(),
            &secret(OTHER_PASS),
            &DatabaseExportOptions::new(),
        )
        .unwrap_err();
    assert!(matches!(err, Error::Database { .. }), "{err:?}");
    assert_eq!(v.lockout_state().unwrap().failures, 1);
}

#[test]
fn a_notes_key_that_does_not_open_with_the_credentials_key_is_damage_not_a_wrong_passphrase() {
    let (_dir, db) = fixture_copy("eclosion-current.db");
    let conn = Connection::open(&db).unwrap();
    // Another row's token in place of the notes key would open; a foreign one does not.
    let foreign = credlock::crypto::FernetKey::from_bytes(&[9; 32])
        .seal(b"not this key")
        .unwrap();
    conn.execute(
        "UPDATE credentials SET notes_key_encrypted = ?1",
        [foreign.as_str()],
    )
    .unwrap();
    drop(conn);
    let (_vdir, v) = vault();
    let err = v
        .import_eclosion_sqlite(&db, &secret(FX_PASS), &ImportOptions::new())
        .unwrap_err();
    assert!(matches!(err, Error::Database { .. }), "{err:?}");
    assert!(err.to_string().contains("notes key"), "{err}");
    assert_eq!(
        v.status(),
        SessionState::NoCredentials,
        "nothing was imported"
    );
}

/// Eclosion v1.3.10 starts on no database that holds only its `credentials` table (its inline
/// start-up stops with "no such table: categories", its Alembic start-up with "table
/// credentials already exists"), so an export never makes one: it says to export into the
/// database Eclosion made, and leaves nothing behind. Checked before the passphrase is tested.
#[test]
fn an_export_to_a_path_without_a_database_makes_none_and_says_to_use_eclosions() {
    let (_dir, path) = temp_vault();
    let trail = MemorySink::new();
    let v = builder(&path).audit_to(trail.clone()).open().unwrap();
    v.store(creds(), valid(PASS)).unwrap();
    let out_dir = tempfile::tempdir().unwrap();
    for out in [
        out_dir.path().join("eclosion.db"),
        out_dir.path().join("state").join("eclosion.db"),
    ] {
        let err = v
            .export_eclosion_sqlite(&out, &secret(PASS), &DatabaseExportOptions::new())
            .unwrap_err();
        assert!(matches!(err, Error::NoEclosionDatabase { .. }), "{err:?}");
        assert_eq!(
            err.kind(),
            ErrorKind::Storage(credlock::StorageKind::NotFound),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(
            msg.contains(&out.display().to_string())
                && msg.contains("start Eclosion once")
                && msg.contains("export into it"),
            "{msg}"
        );
        assert!(!out.exists());
    }
    assert!(
        listing(out_dir.path()).is_empty(),
        "something was left behind"
    );
    assert_eq!(v.lockout_state().unwrap().failures, 0);
    // Refused before the passphrase was tested: a wrong one is not counted either.
    let err = v
        .export_eclosion_sqlite(
            out_dir.path().join("eclosion.db"),
            &secret(OTHER_PASS),
            &DatabaseExportOptions::new(),
        )
        .unwrap_err();
    assert_eq!(
        err.kind(),
        ErrorKind::Storage(credlock::StorageKind::NotFound)
    );
    assert_eq!(v.lockout_state().unwrap().failures, 0);
    assert!(!trail.events().iter().any(|e| e.kind == EventKind::Exported));
}
