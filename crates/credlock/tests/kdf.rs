//! The KDF target: calibration to a latency budget, the upgrade on unlock (with its audit
//! event, its crash safety through the store contract, and its off switch), Unicode
//! normalisation (NFC/NFD pairs), and Argon2id vaults end to end.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::{OTHER_PASS, PASS, TEST_ITERATIONS, creds, secret, temp_vault, valid};
use credlock::audit::{AuditEvent, AuditSink, MemorySink};
use credlock::{
    Argon2Cost, Argon2Limits, Error, SessionState, Store, ValidPassphrase, Vault, VaultBuilder,
};
use credlock_audit::{AuditError, EventKind, Outcome};
use credlock_eclosion::{EclosionExt as _, ImportOptions};
use credlock_store::{FileStore, LockoutRecord, StoreInfo, StoreLock};

/// The file's `version` and passphrase `kdf` object (version 3: the passphrase slot's).
fn kdf_of(path: &Path) -> (u64, serde_json::Value) {
    let file: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let version = file["version"].as_u64().unwrap();
    if version < 3 {
        return (version, file["kdf"].clone());
    }
    let slots = file["slots"].as_array().unwrap();
    let slot = slots.iter().find(|s| s["kind"] == "passphrase").unwrap();
    (version, slot["kdf"].clone())
}

fn iterations_of(path: &Path) -> u64 {
    kdf_of(path).1["iterations"].as_u64().unwrap()
}

/// A vault written the way Eclosion derives keys: PBKDF2 over the raw bytes, version 1.
fn eclosion_style(path: &Path, iterations: u32, pass: &str) {
    let v = Vault::builder(path)
        .insecure_kdf_iterations(iterations)
        .keep_eclosion_compatible_kdf()
        .open()
        .unwrap();
    v.store(creds(), ValidPassphrase::insecure_unchecked(secret(pass)))
        .unwrap();
    let (version, kdf) = kdf_of(path);
    assert_eq!(version, 1);
    assert_eq!(kdf["iterations"], iterations);
    assert!(kdf.get("normalization").is_none());
}

fn kinds(trail: &MemorySink) -> Vec<(EventKind, Outcome)> {
    trail.events().iter().map(|e| (e.kind, e.outcome)).collect()
}

#[test]
fn unlock_raises_a_480k_vault_to_the_target_and_audits_it() {
    let (_dir, path) = temp_vault();
    let v = Vault::builder(&path)
        .keep_eclosion_compatible_kdf()
        .open()
        .unwrap();
    v.store(creds(), valid(PASS)).unwrap();
    assert_eq!(iterations_of(&path), 480_000);
    drop(v);

    let trail = MemorySink::new();
    let (builder, derivations) = common::counting_derivations(
        Vault::builder(&path)
            .kdf_iterations(600_000)
            .audit_to(trail.clone()),
    );
    let v = builder.open().unwrap();
    v.unlock(&secret(PASS)).unwrap();
    assert_eq!(v.status(), SessionState::Unlocked);
    let (version, kdf) = kdf_of(&path);
    // Moved to keyslots (version 3) in the same write.
    assert_eq!((version, kdf["iterations"].as_u64()), (3, Some(600_000)));
    assert_eq!(kdf["normalization"], "nfkc");
    // One derivation to test the passphrase, one for the new key; the second is not a
    // passphrase test and is not counted.
    assert_eq!(derivations.load(Ordering::SeqCst), 2);
    assert_eq!(v.lockout_state().unwrap().failures, 0);
    assert!(kinds(&trail).contains(&(EventKind::KdfUpgraded, Outcome::Success)));
    // The vault in memory holds the new key: an update writes under the new parameters.
    v.update_credentials(creds()).unwrap();
    assert_eq!(iterations_of(&path), 600_000);
    // It reopens with the passphrase, and no further upgrade is due.
    v.lock();
    trail.clear();
    v.unlock(&secret(PASS)).unwrap();
    assert!(
        !kinds(&trail)
            .iter()
            .any(|(k, _)| *k == EventKind::KdfUpgraded)
    );
    assert_eq!(derivations.load(Ordering::SeqCst), 3);
}

#[test]
fn a_wrong_passphrase_upgrades_nothing_and_the_off_switch_keeps_the_file() {
    let (_dir, path) = temp_vault();
    eclosion_style(&path, TEST_ITERATIONS, PASS);
    let before = std::fs::read(&path).unwrap();
    let v = common::builder(&path)
        .insecure_kdf_iterations(TEST_ITERATIONS * 3)
        .open()
        .unwrap();
    assert!(matches!(
        v.unlock(&secret(OTHER_PASS)),
        Err(Error::WrongPassphrase)
    ));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    drop(v);
    let kept = common::builder(&path)
        .insecure_kdf_iterations(TEST_ITERATIONS * 3)
        .keep_eclosion_compatible_kdf()
        .open()
        .unwrap();
    kept.unlock(&secret(PASS)).unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), before, "byte for byte");
    let status = kept.security_status();
    assert!(!status.kdf_for_new_vaults.upgrade_on_unlock);
    assert_eq!(status.kdf_for_new_vaults.normalization, "none");
    // An Argon2id target cannot be kept Eclosion-compatible.
    assert!(matches!(
        Vault::builder(&path)
            .kdf_argon2id(Argon2Cost::RECOMMENDED)
            .keep_eclosion_compatible_kdf()
            .open(),
        Err(Error::InvalidOption {
            name: "keep_eclosion_compatible_kdf"
        })
    ));
}

/// Where the simulated crash (a panic that abandons the operation, as a killed process
/// would) happens during the upgrade.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CrashAt {
    /// At the start of the store's `save`, before anything is written.
    BeforeSave,
    /// Half-way through the save: a partial temporary file is left beside the vault.
    MidSave,
    /// After the atomic replace, before `save` returns.
    AfterSave,
    /// After the save returned, when the upgrade is audited.
    AtAudit,
}

/// A file store (the real backend) with a crash injected into the upgrade's write.
#[derive(Debug)]
struct Crashing {
    inner: FileStore,
    at: CrashAt,
    armed: Arc<AtomicBool>,
}

impl Store for Crashing {
    fn load(&self) -> Result<Option<Vec<u8>>, credlock_store::Error> {
        self.inner.load()
    }
    fn save(&self, bytes: &[u8]) -> Result<(), credlock_store::Error> {
        if self.armed.load(Ordering::SeqCst) {
            match self.at {
                CrashAt::BeforeSave => panic!("crash before the save"),
                CrashAt::MidSave => {
                    let path = self.inner.describe().path.unwrap();
                    let temp = path.with_file_name(".vault.json.tmp-0123456789abcdef");
                    std::fs::write(&temp, &bytes[..bytes.len() / 2]).unwrap();
                    panic!("crash in the middle of the save");
                }
                CrashAt::AfterSave => {
                    self.inner.save(bytes)?;
                    panic!("crash after the save");
                }
                CrashAt::AtAudit => {}
            }
        }
        self.inner.save(bytes)
    }
    fn delete(&self) -> Result<(), credlock_store::Error> {
        self.inner.delete()
    }
    fn lock(&self) -> Result<StoreLock, credlock_store::Error> {
        self.inner.lock()
    }
    fn describe(&self) -> StoreInfo {
        self.inner.describe()
    }
    fn load_lockout(&self) -> Result<LockoutRecord, credlock_store::Error> {
        self.inner.load_lockout()
    }
    fn save_lockout(&self, record: &LockoutRecord) -> Result<(), credlock_store::Error> {
        self.inner.save_lockout(record)
    }
}

/// An audit sink that crashes at the upgrade's event.
#[derive(Debug)]
struct CrashAtUpgradeEvent(Arc<AtomicBool>);

impl AuditSink for CrashAtUpgradeEvent {
    fn record(&self, event: &AuditEvent) -> Result<(), AuditError> {
        if self.0.load(Ordering::SeqCst) && event.kind == EventKind::KdfUpgraded {
            panic!("crash at the audit of the upgrade");
        }
        Ok(())
    }
    fn describe(&self) -> String {
        "crashing test sink".into()
    }
}

#[test]
fn a_crash_at_any_point_of_the_upgrade_leaves_a_vault_that_opens() {
    for at in [
        CrashAt::BeforeSave,
        CrashAt::MidSave,
        CrashAt::AfterSave,
        CrashAt::AtAudit,
    ] {
        let (_dir, path) = temp_vault();
        eclosion_style(&path, TEST_ITERATIONS, PASS);
        let armed = Arc::new(AtomicBool::new(false));
        let store = Crashing {
            inner: FileStore::open(&path).unwrap(),
            at,
            armed: Arc::clone(&armed),
        };
        let vault = VaultBuilder::with_store(store)
            .insecure_kdf_iterations(TEST_ITERATIONS * 2)
            .audit_to(CrashAtUpgradeEvent(Arc::clone(&armed)))
            .open()
            .unwrap();
        armed.store(true, Ordering::SeqCst);
        let crashed = catch_unwind(AssertUnwindSafe(|| vault.unlock(&secret(PASS))));
        assert!(crashed.is_err(), "{at:?}: the crash was injected");
        drop(vault);

        // After the "restart": either the old or the new vault, and it opens.
        let iterations = iterations_of(&path);
        let expected_new = matches!(at, CrashAt::AfterSave | CrashAt::AtAudit);
        assert_eq!(
            iterations,
            if expected_new {
                u64::from(TEST_ITERATIONS * 2)
            } else {
                u64::from(TEST_ITERATIONS)
            },
            "{at:?}"
        );
        let reopened = common::builder(&path).open().unwrap();
        reopened.unlock(&secret(PASS)).unwrap();
        assert_eq!(reopened.credentials().unwrap().email(), "alice@example.com");
        // The restart's own unlock (at a target of the old count) finishes the move to NFKC
        // if the crash prevented it, and never lowers a count.
        assert_eq!(iterations_of(&path), iterations, "{at:?}");
        assert_eq!(kdf_of(&path).1["normalization"], "nfkc", "{at:?}");
    }
}

#[test]
fn a_failed_upgrade_write_leaves_the_vault_unlocked_and_unchanged() {
    #[derive(Debug)]
    struct FullDisk(FileStore, Arc<AtomicBool>);
    impl Store for FullDisk {
        fn load(&self) -> Result<Option<Vec<u8>>, credlock_store::Error> {
            self.0.load()
        }
        fn save(&self, bytes: &[u8]) -> Result<(), credlock_store::Error> {
            if self.1.load(Ordering::SeqCst) {
                return Err(credlock_store::Error::StorageFull {
                    path: self.0.describe().path.unwrap(),
                    op: credlock_store::Operation::Write,
                    source: std::io::Error::from_raw_os_error(28), // ENOSPC
                });
            }
            self.0.save(bytes)
        }
        fn delete(&self) -> Result<(), credlock_store::Error> {
            self.0.delete()
        }
        fn lock(&self) -> Result<StoreLock, credlock_store::Error> {
            self.0.lock()
        }
        fn describe(&self) -> StoreInfo {
            self.0.describe()
        }
        fn load_lockout(&self) -> Result<LockoutRecord, credlock_store::Error> {
            self.0.load_lockout()
        }
        fn save_lockout(&self, r: &LockoutRecord) -> Result<(), credlock_store::Error> {
            self.0.save_lockout(r)
        }
    }
    let (_dir, path) = temp_vault();
    eclosion_style(&path, TEST_ITERATIONS, PASS);
    let before = std::fs::read(&path).unwrap();
    let failing = Arc::new(AtomicBool::new(true));
    let trail = MemorySink::new();
    let vault =
        VaultBuilder::with_store(FullDisk(FileStore::open(&path).unwrap(), failing.clone()))
            .insecure_kdf_iterations(TEST_ITERATIONS * 2)
            .audit_to(trail.clone())
            .open()
            .unwrap();
    vault.unlock(&secret(PASS)).unwrap();
    assert_eq!(vault.status(), SessionState::Unlocked);
    assert_eq!(std::fs::read(&path).unwrap(), before);
    assert!(kinds(&trail).contains(&(EventKind::KdfUpgraded, Outcome::Failure)));
    // The next unlock tries again, and succeeds once the disk has room.
    failing.store(false, Ordering::SeqCst);
    vault.lock();
    vault.unlock(&secret(PASS)).unwrap();
    assert_eq!(iterations_of(&path), u64::from(TEST_ITERATIONS * 2));
    assert!(kinds(&trail).contains(&(EventKind::KdfUpgraded, Outcome::Success)));
}

#[test]
fn a_latency_budget_is_calibrated_through_the_probe_seam_and_reported() {
    let (_dir, path) = temp_vault();
    let probes = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&probes);
    // A fake KDF: 1 µs per iteration, so 250 ms fits 250,000 iterations.
    let builder = |path: &Path, counter: Arc<AtomicUsize>| {
        Vault::builder(path)
            .kdf_latency_budget(Duration::from_millis(250))
            .insecure_calibration_timer(move |e| {
                counter.fetch_add(1, Ordering::SeqCst);
                Duration::from_micros(u64::from(e.iterations))
            })
    };
    let v = builder(&path, counter).open().unwrap();
    assert_eq!(
        probes.load(Ordering::SeqCst),
        0,
        "calibrated when needed, not at open"
    );
    v.store(creds(), valid(PASS)).unwrap();
    let after_store = probes.load(Ordering::SeqCst);
    assert!(after_store >= 2);
    assert_eq!(iterations_of(&path), 250_000);
    let status = v.security_status();
    assert_eq!(status.kdf_for_new_vaults.latency_budget_ms, Some(250));
    assert_eq!(status.kdf_for_new_vaults.iterations, 250_000);
    assert_eq!(status.kdf.as_ref().map(|k| k.iterations), Some(250_000));
    // Calibrated once per opened vault.
    let pass = valid(OTHER_PASS);
    v.change_passphrase(&secret(PASS), pass).unwrap();
    assert_eq!(probes.load(Ordering::SeqCst), after_store);
    drop(v);

    // A vault below 90% of the calibrated count is raised at unlock; one within is not.
    let (_d2, low) = temp_vault();
    let plain = Vault::builder(&low).kdf_iterations(200_000).open().unwrap();
    plain.store(creds(), valid(PASS)).unwrap();
    drop(plain);
    let v = builder(&low, Arc::new(AtomicUsize::new(0))).open().unwrap();
    v.unlock(&secret(PASS)).unwrap();
    assert_eq!(iterations_of(&low), 250_000);
    let (_d3, near) = temp_vault();
    let plain = Vault::builder(&near)
        .kdf_iterations(230_000)
        .open()
        .unwrap();
    plain.store(creds(), valid(PASS)).unwrap();
    drop(plain);
    let v = builder(&near, Arc::new(AtomicUsize::new(0)))
        .open()
        .unwrap();
    v.unlock(&secret(PASS)).unwrap();
    assert_eq!(iterations_of(&near), 230_000);
}

/// "Crème-Brûlée-42!" in NFC (precomposed) and NFD (combining accents).
const NFC: &str = "Cr\u{e8}me-Br\u{fb}l\u{e9}e-42!";
const NFD: &str = "Cre\u{300}me-Bru\u{302}le\u{301}e-42!";

#[test]
fn nfc_and_nfd_spellings_open_a_new_vault() {
    assert_ne!(NFC.as_bytes(), NFD.as_bytes());
    for (made_with, opened_with) in [(NFC, NFD), (NFD, NFC)] {
        let (_dir, path) = temp_vault();
        let v = common::open(&path);
        v.store(creds(), valid(made_with)).unwrap();
        v.lock();
        v.unlock(&secret(opened_with)).unwrap();
        assert_eq!(v.lockout_state().unwrap().failures, 0);
        assert_eq!(kdf_of(&path).1["normalization"], "nfkc");
    }
}

#[test]
fn a_raw_byte_vault_needs_its_exact_spelling_until_it_moves_to_nfkc() {
    let (_dir, path) = temp_vault();
    eclosion_style(&path, TEST_ITERATIONS, NFC);
    let v = common::open(&path);
    // Eclosion's rule: the NFD spelling is another passphrase (and counts as a failure).
    assert!(matches!(
        v.unlock(&secret(NFD)),
        Err(Error::WrongPassphrase)
    ));
    assert_eq!(v.lockout_state().unwrap().failures, 1);
    // The exact spelling opens it, and the upgrade moves it to NFKC...
    v.unlock(&secret(NFC)).unwrap();
    assert_eq!(kdf_of(&path), (3, kdf_of(&path).1));
    assert_eq!(kdf_of(&path).1["normalization"], "nfkc");
    // ...after which either spelling opens it.
    v.lock();
    v.unlock(&secret(NFD)).unwrap();
}

#[test]
fn an_import_from_eclosion_keeps_raw_bytes_until_the_next_unlock_or_change() {
    let (dir, path) = temp_vault();
    let source = common::open(&path);
    source.store(creds(), valid(NFC)).unwrap();
    let legacy = dir.path().join("credentials.json");
    source.export_eclosion(&legacy, &secret(NFC)).unwrap();
    drop(source);

    let (_d2, imported) = temp_vault();
    let v = common::open(&imported);
    v.import_eclosion(&legacy, &secret(NFC), &ImportOptions::new())
        .unwrap();
    let (version, kdf) = kdf_of(&imported);
    // Keyslots, with the passphrase slot hashing the raw bytes as Eclosion hashed them.
    assert_eq!(version, 3);
    assert_eq!(kdf["normalization"], "none");
    // A passphrase change moves it to NFKC.
    v.change_passphrase(&secret(NFC), valid(NFD)).unwrap();
    assert_eq!(kdf_of(&imported).1["normalization"], "nfkc");
    v.lock();
    v.unlock(&secret(NFC)).unwrap();
}

#[test]
fn the_policy_sees_the_text_the_kdf_hashes() {
    // Fullwidth letters are the ASCII passphrase under NFKC; the blocklist must see that.
    let fullwidth: String = "Password1234!"
        .chars()
        .map(|c| char::from_u32(u32::from(c) - 0x21 + 0xff01).unwrap())
        .collect();
    let (_dir, path) = temp_vault();
    let v = common::open(&path);
    let passed_elsewhere = ValidPassphrase::insecure_unchecked(secret(&fullwidth));
    match v.store(creds(), passed_elsewhere) {
        Err(Error::Policy(violations)) => assert!(violations.contains("common_passphrase")),
        other => panic!("expected a policy refusal, got {other:?}"),
    }
}

/// A cheap Argon2id cost for tests.
const ARGON_TEST: Argon2Cost = Argon2Cost::new(64, 1, 1);

#[test]
fn an_argon2id_vault_reopens_changes_passphrase_and_exports_to_eclosion() {
    let (dir, path) = temp_vault();
    let argon = |path: &Path| {
        common::builder(path)
            .insecure_kdf_argon2id(ARGON_TEST)
            .open()
            .unwrap()
    };
    let v = argon(&path);
    v.store(creds(), valid(PASS)).unwrap();
    let (version, kdf) = kdf_of(&path);
    assert_eq!(version, 3);
    assert_eq!(kdf["algorithm"], "argon2id");
    assert_eq!(kdf["version"], 19);
    assert_eq!(
        (&kdf["memory_kib"], &kdf["passes"], &kdf["lanes"]),
        (
            &serde_json::json!(64),
            &serde_json::json!(1),
            &serde_json::json!(1)
        )
    );
    assert!(kdf.get("iterations").is_none());
    drop(v);
    let v = argon(&path);
    v.unlock(&secret(PASS)).unwrap();
    v.change_passphrase(&secret(PASS), valid(OTHER_PASS))
        .unwrap();
    v.lock();
    v.unlock(&secret(OTHER_PASS)).unwrap();
    let report = v.security_status();
    let kdf = report.kdf.unwrap();
    assert_eq!(
        (kdf.algorithm, kdf.memory_kib, kdf.iterations),
        ("argon2id", Some(64), 1)
    );
    // The export is PBKDF2 480k over the raw bytes: a credlock import reads it as Eclosion.
    let legacy = dir.path().join("credentials.json");
    v.export_eclosion(&legacy, &secret(OTHER_PASS)).unwrap();
    let legacy_json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&legacy).unwrap()).unwrap();
    assert!(legacy_json["salt"].is_string());
    let (_d2, other) = temp_vault();
    let imported = common::open(&other);
    imported
        .import_eclosion(&legacy, &secret(OTHER_PASS), &ImportOptions::new())
        .unwrap();
    assert_eq!(imported.credentials().unwrap().email(), "alice@example.com");
}

#[test]
fn a_pbkdf2_vault_moves_to_argon2id_on_unlock_and_never_back() {
    let (_dir, path) = temp_vault();
    eclosion_style(&path, TEST_ITERATIONS, PASS);
    let trail = MemorySink::new();
    let v = common::builder(&path)
        .insecure_kdf_argon2id(ARGON_TEST)
        .audit_to(trail.clone())
        .open()
        .unwrap();
    v.unlock(&secret(PASS)).unwrap();
    assert_eq!(kdf_of(&path).1["algorithm"], "argon2id");
    assert!(kinds(&trail).contains(&(EventKind::KdfUpgraded, Outcome::Success)));
    drop(v);
    let before = kdf_of(&path);
    let pbkdf2_target = common::open(&path);
    pbkdf2_target.unlock(&secret(PASS)).unwrap();
    assert_eq!(kdf_of(&path), before, "not moved back to PBKDF2");
}

#[test]
fn out_of_bounds_argon2id_parameters_in_a_file_are_refused_before_any_work() {
    let (_dir, path) = temp_vault();
    let v = Vault::builder(&path)
        .kdf_argon2id(Argon2Cost::MIN)
        .open()
        .unwrap();
    v.store(creds(), valid(PASS)).unwrap();
    drop(v);
    let text = std::fs::read_to_string(&path).unwrap();
    let derived = Arc::new(AtomicUsize::new(0));
    let cases = [
        ("\"memory_kib\": 19456", "\"memory_kib\": 4294967295"),
        ("\"memory_kib\": 19456", "\"memory_kib\": 99999999999"),
        ("\"memory_kib\": 19456", "\"memory_kib\": 1024"),
        ("\"passes\": 2", "\"passes\": 1000000"),
        ("\"passes\": 2", "\"passes\": 1"),
        ("\"lanes\": 1", "\"lanes\": 0"),
        ("\"lanes\": 1", "\"lanes\": 4096"),
    ];
    for (from, to) in cases {
        let planted = text.replace(from, to);
        assert_ne!(planted, text);
        std::fs::write(&path, &planted).unwrap();
        let counter = Arc::clone(&derived);
        let v = Vault::builder(&path)
            .on_key_derivation(move |_| {
                counter.fetch_add(1, Ordering::SeqCst);
            })
            .open()
            .unwrap();
        assert!(
            matches!(v.unlock(&secret(PASS)), Err(Error::KdfParams(_))),
            "{to}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), planted);
    }
    assert_eq!(derived.load(Ordering::SeqCst), 0, "no derivation ran");
    // An app's own, lower cap refuses a file above it.
    std::fs::write(&path, &text).unwrap();
    let tight = Vault::builder(&path)
        .argon2_limits(Argon2Limits::new(19 * 1024, 2).unwrap())
        .open()
        .unwrap();
    tight.unlock(&secret(PASS)).unwrap();
    std::fs::write(&path, text.replace("\"passes\": 2", "\"passes\": 3")).unwrap();
    tight.lock();
    assert!(matches!(
        tight.unlock(&secret(PASS)),
        Err(Error::KdfParams(_))
    ));
    // Other malformed version 2 files.
    for (from, to) in [
        ("\"version\": 19", "\"version\": 16"),
        ("\"normalization\": \"nfkc\"", "\"normalization\": \"nfd\""),
        ("\"passes\": 2", "\"passes\": 2, \"iterations\": 480000"),
        ("\"lanes\": 1,", ""),
    ] {
        let planted = text.replace(from, to);
        assert_ne!(planted, text);
        std::fs::write(&path, &planted).unwrap();
        let v = Vault::builder(&path).open().unwrap();
        assert!(
            matches!(v.unlock(&secret(PASS)), Err(Error::CorruptVault { .. })),
            "{to}"
        );
    }
}

#[test]
fn the_default_argon2id_cost_round_trips() {
    let (_dir, path) = temp_vault();
    let v = Vault::builder(&path)
        .kdf_argon2id(Argon2Cost::RECOMMENDED)
        .open()
        .unwrap();
    v.store(creds(), valid(PASS)).unwrap();
    v.lock();
    v.unlock(&secret(PASS)).unwrap();
    let status = v.security_status();
    assert_eq!(status.kdf_for_new_vaults.algorithm, "argon2id");
    assert_eq!(status.kdf_for_new_vaults.memory_kib, Some(65_536));
    assert_eq!(status.kdf.unwrap().lanes, Some(4));
}

#[test]
fn check_passphrase_judges_the_nfkc_form() {
    let fullwidth: String = "Password1234!"
        .chars()
        .map(|c| char::from_u32(u32::from(c) - 0x21 + 0xff01).unwrap())
        .collect();
    let (_dir, path) = temp_vault();
    let v = common::open(&path);
    let violations = v
        .check_passphrase(secret(&fullwidth), "alice@example.com")
        .unwrap_err();
    assert!(violations.contains("common_passphrase"));
    // Kept Eclosion-compatible, the raw bytes are hashed and judged.
    let raw = common::builder(&path)
        .keep_eclosion_compatible_kdf()
        .open()
        .unwrap();
    assert!(
        raw.check_passphrase(secret(&fullwidth), "alice@example.com")
            .is_ok()
    );
}

#[test]
fn an_argon2id_budget_picks_passes_through_the_probe_seam() {
    let (_dir, path) = temp_vault();
    let v = Vault::builder(&path)
        .kdf_argon2id_latency_budget(19 * 1024, 1, Duration::from_millis(200))
        .insecure_calibration_timer(|e| Duration::from_millis(60 * u64::from(e.iterations)))
        .open()
        .unwrap();
    v.store(creds(), valid(PASS)).unwrap();
    let kdf = kdf_of(&path).1;
    assert_eq!(kdf["algorithm"], "argon2id");
    assert_eq!(
        (kdf["memory_kib"].as_u64(), kdf["passes"].as_u64()),
        (Some(19_456), Some(3))
    );
    let status = v.security_status();
    assert_eq!(status.kdf_for_new_vaults.iterations, 3);
    assert_eq!(status.kdf_for_new_vaults.latency_budget_ms, Some(200));
    v.lock();
    v.unlock(&secret(PASS)).unwrap();
}

#[test]
fn the_upgrade_works_on_any_store_backend() {
    let store = credlock::MemoryStore::new();
    let made = VaultBuilder::with_store(store.clone())
        .insecure_kdf_iterations(TEST_ITERATIONS)
        .keep_eclosion_compatible_kdf()
        .open()
        .unwrap();
    made.store(creds(), valid(PASS)).unwrap();
    drop(made);
    let trail = MemorySink::new();
    let v = VaultBuilder::with_store(store.clone())
        .insecure_kdf_iterations(TEST_ITERATIONS * 2)
        .audit_to(trail.clone())
        .open()
        .unwrap();
    v.unlock(&secret(PASS)).unwrap();
    let file: serde_json::Value = serde_json::from_slice(&store.load().unwrap().unwrap()).unwrap();
    assert_eq!(file["version"], 3);
    let kdf = &file["slots"][0]["kdf"];
    assert_eq!(kdf["iterations"], TEST_ITERATIONS * 2);
    assert_eq!(kdf["normalization"], "nfkc");
    assert!(kinds(&trail).contains(&(EventKind::KdfUpgraded, Outcome::Success)));
}

#[test]
fn an_export_reuses_the_key_only_of_a_vault_at_eclosions_exact_kdf() {
    // Eclosion derives PBKDF2 at 480,000 iterations over the raw bytes: the key that opened
    // such a vault is the legacy key (same salt, no second derivation). Any other vault's key
    // would write a file Eclosion cannot open, so a fresh legacy key is derived for it.
    let salt_of = |path: &Path| kdf_of(path).1["salt"].as_str().unwrap().to_owned();
    for (iterations, reused) in [(480_000, true), (TEST_ITERATIONS, false)] {
        let (dir, path) = temp_vault();
        eclosion_style(&path, iterations, PASS);
        let (builder, derived) = common::counting_derivations(
            Vault::builder(&path)
                .insecure_kdf_iterations(iterations)
                .keep_eclosion_compatible_kdf(),
        );
        let v = builder.open().unwrap();
        v.unlock(&secret(PASS)).unwrap();
        let before = derived.load(Ordering::SeqCst);
        let out = dir.path().join("export.json");
        v.export_eclosion(&out, &secret(PASS)).unwrap();
        let derivations = derived.load(Ordering::SeqCst) - before;
        let legacy: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap();
        let legacy_salt = legacy["salt"].as_str().unwrap();
        if reused {
            assert_eq!(derivations, 1, "the check only");
            // Eclosion's file holds the salt in standard base64; the vault in base64url.
            assert_eq!(
                legacy_salt.replace('+', "-").replace('/', "_"),
                salt_of(&path)
            );
        } else {
            assert_eq!(derivations, 2, "the check, then the legacy key");
            assert_ne!(
                legacy_salt.replace('+', "-").replace('/', "_"),
                salt_of(&path)
            );
        }
        // Either way the file opens at Eclosion's cost.
        let (_d2, other) = temp_vault();
        let w = common::open(&other);
        w.import_eclosion(&out, &secret(PASS), &ImportOptions::new())
            .unwrap();
        assert_eq!(w.credentials().unwrap(), creds(), "{iterations}");
    }
}
