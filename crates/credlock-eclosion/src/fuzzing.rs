//! Entry points for the fuzz targets in `fuzz/`, compiled only under `cfg(fuzzing)`.

use credlock::crypto::{FernetKey, Salt};
use credlock::secrecy::ExposeSecret as _;

use crate::legacy::{LegacyFields, export_json, parse_json};
#[cfg(feature = "sqlite")]
use crate::sqlite::read_fields;

/// Parses `data` as Eclosion's legacy file; every outcome must be an `Ok` or a typed error,
/// never a panic.
pub fn parse_untrusted(data: &[u8]) {
    let _ = parse_json(data);
}

/// The legacy keys of the Eclosion fixtures in `testdata/eclosion` (and so of the seeds): the
/// salt of `credentials.json`, `eclosion-current.db` and `eclosion-1.3.10.db`, and
/// PBKDF2-HMAC-SHA256 of their passphrase `Correct-Horse-9-Battery!` over it at 480,000
/// iterations (computed with Python's `hashlib.pbkdf2_hmac`), so that inputs grown from the
/// seeds reach the decryption without a derivation per input.
const FIXTURE_KEYS: [([u8; 16], &str); 3] = [
    (
        [
            0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
            0xee, 0xff,
        ],
        "W3fiauczQXNUnlMdJI7kK7bnkP7ZQm-ekeIC5kQBTlg=",
    ),
    (
        [
            0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2,
            0xe1, 0xf0,
        ],
        "lpUs6wVmwZtAhcI2FOqbDNu_qhk5z5kGO9kU0EmUvL0=",
    ),
    (
        [
            0xac, 0x00, 0xf2, 0x4e, 0x42, 0x44, 0x9e, 0xf3, 0x14, 0x58, 0x65, 0x98, 0x4a, 0xa0,
            0x3d, 0xff,
        ],
        "u4mFiiecB_wQbp3FwtXAriGwHtbm8fraEVvZFdKYoQo=",
    ),
];

/// The legacy key of the fixtures' passphrase under `salt`, if `salt` is a fixture's.
fn fixture_key(salt: &Salt) -> Option<FernetKey> {
    let (_, key) = FIXTURE_KEYS.iter().find(|(s, _)| s == salt.as_bytes())?;
    FernetKey::from_base64url(key).ok()
}

/// Decrypts legacy fields whose salt is a fixture's, and checks that what opens survives an
/// export in Eclosion's legacy format and a parse of that export unchanged.
fn decrypt_legacy(fields: &LegacyFields) {
    let Some(key) = fixture_key(&fields.salt) else {
        return;
    };
    let Ok(creds) = fields.decrypt(&key) else {
        return;
    };
    let exported = export_json(&key, &fields.salt, &creds).expect("opened credentials export");
    let again = parse_json(&exported)
        .expect("an export parses")
        .decrypt(&key)
        .expect("an export opens under its key");
    assert_eq!(again.email(), creds.email());
    assert_eq!(
        again.password().expose_secret(),
        creds.password().expose_secret()
    );
    assert_eq!(
        again.mfa_secret().map(|s| s.expose_secret()),
        creds.mfa_secret().map(|s| s.expose_secret())
    );
}

/// Parses `data` as Eclosion's legacy `credentials.json` and, when its salt is a fixture's,
/// decrypts it: every outcome must be an `Ok` or a typed error.
pub fn eclosion_legacy(data: &[u8]) {
    if let Ok(fields) = parse_json(data) {
        decrypt_legacy(&fields);
    }
}

/// Writes `data` as `eclosion.db` in a fresh directory and reads it as the SQLite import
/// does (decrypting when its salt is a fixture's): a typed error or fields, never a panic,
/// and the read neither changes the file nor creates any file beside it.
#[cfg(feature = "sqlite")]
pub fn eclosion_sqlite(data: &[u8]) {
    let Ok(dir) = tempfile::tempdir() else {
        return;
    };
    let db = dir.path().join("eclosion.db");
    if std::fs::write(&db, data).is_err() {
        return;
    }
    if let Ok(fields) = read_fields(&db) {
        decrypt_legacy(&fields);
    }
    assert_eq!(
        std::fs::read(&db).ok().as_deref(),
        Some(data),
        "the import changed the database"
    );
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("the directory lists")
        .filter_map(|e| e.ok().map(|e| e.file_name()))
        .collect();
    assert_eq!(names, ["eclosion.db"], "the import left files beside it");
}
