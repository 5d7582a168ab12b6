//! Every transition of the vault and every bad input, through the public API.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use std::time::Duration;

use common::*;
use credlock::secrecy::ExposeSecret as _;
use credlock::{Credentials, Error, LockoutPolicy, MemoryStore, SessionState, Vault, VaultBuilder};

#[test]
fn a_new_path_has_no_credentials_and_nothing_is_written() {
    let (dir, path) = temp_vault();
    let vault = open(&path);
    assert_eq!(vault.status(), SessionState::NoCredentials);
    assert!(!path.exists());
    assert!(matches!(vault.credentials(), Err(Error::NoCredentials)));
    drop(dir);
}

#[test]
fn store_lock_unlock_logout_round_trip() {
    let (_dir, path) = temp_vault();
    let vault = open(&path);
    vault.store(creds(), valid(PASS)).unwrap();
    assert_eq!(vault.status(), SessionState::Unlocked);
    assert_eq!(mode(&path), 0o600);
    assert_eq!(vault.credentials().unwrap(), creds());

    vault.lock();
    assert_eq!(vault.status(), SessionState::Locked);
    assert!(matches!(vault.credentials(), Err(Error::Locked)));
    vault.lock(); // idempotent
    assert_eq!(vault.status(), SessionState::Locked);

    vault.unlock(&secret(PASS)).unwrap();
    assert_eq!(vault.status(), SessionState::Unlocked);
    let c = vault.credentials().unwrap();
    assert_eq!(c.email(), "alice@example.com");
    assert_eq!(c.password().expose_secret(), "monarch-pw-123");
    assert_eq!(c.mfa_secret().unwrap().expose_secret(), "JBSWY3DPEHPK3PXP");

    vault.logout().unwrap();
    assert_eq!(vault.status(), SessionState::NoCredentials);
    assert!(!path.exists());
    assert!(std::fs::read_dir(path.parent().unwrap()).unwrap().all(|e| {
        let name = e.unwrap().file_name();
        !name.to_string_lossy().contains(".tmp")
    }));
    vault.logout().unwrap(); // idempotent
}

#[test]
fn a_restart_is_always_locked() {
    let (_dir, path) = temp_vault();
    let vault = open(&path);
    vault.store(creds(), valid(PASS)).unwrap();
    drop(vault);
    let again = open(&path);
    assert_eq!(again.status(), SessionState::Locked);
    again.unlock(&secret(PASS)).unwrap();
    assert_eq!(again.credentials().unwrap(), creds());
}

#[test]
fn create_is_the_one_call_path_and_refuses_an_existing_vault() {
    let (_dir, path) = temp_vault();
    let vault = Vault::create(&path, creds(), valid(PASS)).unwrap();
    assert_eq!(vault.status(), SessionState::Unlocked);
    assert_eq!(vault.security_status().kdf.unwrap().iterations, 480_000);
    assert!(matches!(
        Vault::create(&path, creds(), valid(OTHER_PASS)),
        Err(Error::VaultExists { .. })
    ));
}

#[test]
fn wrong_passphrase_keeps_the_vault_locked_and_writes_nothing() {
    let (_dir, path) = temp_vault();
    let vault = stored(&path);
    let before = std::fs::read(&path).unwrap();
    for (i, wrong) in [
        "Tangerine-Rocket-43!",
        "",
        "tangerine-rocket-42!",
        " Tangerine-Rocket-42!",
    ]
    .into_iter()
    .enumerate()
    {
        assert!(matches!(
            vault.unlock(&secret(wrong)),
            Err(Error::WrongPassphrase)
        ));
        assert_eq!(vault.status(), SessionState::Locked);
        assert_eq!(
            vault.security_status().failed_attempts,
            u32::try_from(i + 1).unwrap()
        );
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    vault.unlock(&secret(PASS)).unwrap();
    assert_eq!(vault.security_status().failed_attempts, 0);
}

#[test]
fn repeated_failures_lock_the_vault_out_even_for_the_right_passphrase() {
    let (_dir, path) = temp_vault();
    let v = builder(&path)
        .lockout(LockoutPolicy::new(3, Duration::from_secs(60), Duration::from_secs(600)).unwrap())
        .open()
        .unwrap();
    v.store(creds(), valid(PASS)).unwrap();
    v.lock();
    for _ in 0..3 {
        assert!(matches!(
            v.unlock(&secret("nope")),
            Err(Error::WrongPassphrase)
        ));
    }
    match v.unlock(&secret(PASS)) {
        Err(Error::LockedOut { retry_after }) => {
            assert!(
                retry_after > Duration::from_secs(50) && retry_after <= Duration::from_secs(60)
            );
        }
        other => panic!("expected LockedOut, got {other:?}"),
    }
    assert!(matches!(
        v.change_passphrase(&secret(PASS), valid(OTHER_PASS)),
        Err(Error::LockedOut { .. })
    ));
    let status = v.security_status();
    assert_eq!(status.failed_attempts, 3);
    let wait = status.locked_out_for_secs.unwrap();
    assert!((51..=60).contains(&wait), "{wait}");
    assert_eq!(v.status(), SessionState::Locked);
}

#[test]
fn wrong_state_calls_are_typed_errors() {
    let (_dir, path) = temp_vault();
    let v = open(&path);
    assert!(matches!(v.unlock(&secret(PASS)), Err(Error::NoCredentials)));
    assert!(matches!(
        v.update_credentials(creds()),
        Err(Error::NoCredentials)
    ));
    assert!(matches!(
        v.change_passphrase(&secret(PASS), valid(OTHER_PASS)),
        Err(Error::NoCredentials)
    ));
    v.lock();
    v.logout().unwrap();
    assert_eq!(v.status(), SessionState::NoCredentials);

    v.store(creds(), valid(PASS)).unwrap();
    assert!(matches!(
        v.unlock(&secret(PASS)),
        Err(Error::AlreadyUnlocked)
    ));
    assert!(matches!(
        v.store(creds(), valid(PASS)),
        Err(Error::VaultExists { .. })
    ));
    v.lock();
    assert!(matches!(v.update_credentials(creds()), Err(Error::Locked)));
    assert!(matches!(v.credentials(), Err(Error::Locked)));
    assert!(matches!(
        v.store(creds(), valid(PASS)),
        Err(Error::VaultExists { .. })
    ));
    assert_eq!(v.status(), SessionState::Locked);
}

#[test]
fn replace_overwrites_on_purpose_and_the_old_passphrase_stops_working() {
    let (_dir, path) = temp_vault();
    let v = stored(&path);
    let other = Credentials::new("bob@example.com", secret("bob-pw"));
    v.replace(other, valid(OTHER_PASS)).unwrap();
    v.lock();
    assert!(matches!(
        v.unlock(&secret(PASS)),
        Err(Error::WrongPassphrase)
    ));
    v.unlock(&secret(OTHER_PASS)).unwrap();
    assert_eq!(v.credentials().unwrap().email(), "bob@example.com");
    assert!(v.credentials().unwrap().mfa_secret().is_none());
}

#[test]
fn update_credentials_reseals_with_the_key_in_memory() {
    let (_dir, path) = temp_vault();
    let v = open(&path);
    v.store(creds(), valid(PASS)).unwrap();
    let salt_before = salt_of(&path);
    let updated = Credentials::new("alice@example.com", secret("new-pw-456"));
    v.update_credentials(updated).unwrap();
    assert_eq!(
        v.credentials().unwrap().password().expose_secret(),
        "new-pw-456"
    );
    assert_eq!(salt_of(&path), salt_before);
    drop(v);
    let again = open(&path);
    again.unlock(&secret(PASS)).unwrap();
    assert_eq!(
        again.credentials().unwrap().password().expose_secret(),
        "new-pw-456"
    );
    assert!(again.credentials().unwrap().mfa_secret().is_none());
}

#[test]
fn change_passphrase_uses_a_fresh_salt_and_keeps_the_record() {
    let (_dir, path) = temp_vault();
    let v = stored(&path);
    let salt_before = salt_of(&path);
    assert!(matches!(
        v.change_passphrase(&secret("wrong"), valid(OTHER_PASS)),
        Err(Error::WrongPassphrase)
    ));
    assert_eq!(salt_of(&path), salt_before);
    assert_eq!(v.status(), SessionState::Locked);

    v.change_passphrase(&secret(PASS), valid(OTHER_PASS))
        .unwrap();
    // Changed while locked: still locked (see `passphrase_change.rs`).
    assert_eq!(v.status(), SessionState::Locked);
    assert_ne!(salt_of(&path), salt_before);
    v.unlock(&secret(OTHER_PASS)).unwrap();
    assert_eq!(v.credentials().unwrap(), creds());
    drop(v);
    let again = open(&path);
    assert!(matches!(
        again.unlock(&secret(PASS)),
        Err(Error::WrongPassphrase)
    ));
    again.unlock(&secret(OTHER_PASS)).unwrap();
    assert_eq!(again.credentials().unwrap(), creds());
    // Also from the unlocked state.
    again
        .change_passphrase(&secret(OTHER_PASS), valid(PASS))
        .unwrap();
    again.lock();
    again.unlock(&secret(PASS)).unwrap();
}

#[test]
fn a_change_by_another_process_is_detected_not_overwritten() {
    let (_dir, path) = temp_vault();
    let a = stored(&path);
    a.unlock(&secret(PASS)).unwrap();
    let b = open(&path);
    b.change_passphrase(&secret(PASS), valid(OTHER_PASS))
        .unwrap();
    let after_b = std::fs::read(&path).unwrap();
    assert!(matches!(
        a.update_credentials(creds()),
        Err(Error::ChangedElsewhere)
    ));
    assert_eq!(a.status(), SessionState::Locked);
    assert_eq!(std::fs::read(&path).unwrap(), after_b);
    a.unlock(&secret(OTHER_PASS)).unwrap();
}

#[test]
fn a_file_deleted_behind_our_back_empties_the_vault() {
    let (_dir, path) = temp_vault();
    let v = stored(&path);
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(
        v.unlock(&secret(PASS)),
        Err(Error::VaultMissing { .. })
    ));
    assert_eq!(v.status(), SessionState::NoCredentials);

    let u = open(&path);
    u.store(creds(), valid(PASS)).unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(matches!(
        u.update_credentials(creds()),
        Err(Error::VaultMissing { .. })
    ));
    assert_eq!(u.status(), SessionState::NoCredentials);
    assert!(!path.exists());
}

/// A vault of format version 1 (kept Eclosion-compatible), locked.
fn stored_v1(path: &std::path::Path) -> Vault {
    let v = builder(path).keep_eclosion_compatible_kdf().open().unwrap();
    v.store(creds(), valid(PASS)).unwrap();
    v.lock();
    v
}

/// One malformed vault file of version 1 per case, with the error it must give. The file
/// is left byte-identical and the vault stays locked.
#[test]
fn corrupt_truncated_and_tampered_files_are_refused_and_left_untouched() {
    type Check = fn(&Error) -> bool;
    type Mutation = Box<dyn Fn(&str) -> String>;
    let cases: Vec<(&str, Mutation, Check)> = vec![
        (
            "truncated to half",
            Box::new(|s| s[..s.len() / 2].to_owned()),
            |e| matches!(e, Error::CorruptVault { .. }),
        ),
        ("not JSON", Box::new(|_| "garbage".to_owned()), |e| {
            matches!(e, Error::CorruptVault { .. })
        }),
        ("token tampered", Box::new(flip_token_char), |e| {
            matches!(e, Error::WrongPassphrase)
        }),
        (
            "token truncated",
            Box::new(|s| s.replace("\"token\": \"gAAAAA", "\"token\": \"gAAA")),
            |e| matches!(e, Error::WrongPassphrase),
        ),
        (
            "future version",
            Box::new(|s| s.replace("\"version\": 1", "\"version\": 4")),
            |e| {
                matches!(
                    e,
                    Error::UnsupportedVersion {
                        found: 4,
                        supported: 3
                    }
                )
            },
        ),
        (
            "version as text",
            Box::new(|s| s.replace("\"version\": 1", "\"version\": \"1\"")),
            |e| matches!(e, Error::CorruptVault { .. }),
        ),
        (
            "other format",
            Box::new(|s| s.replace("credlock-vault", "other-vault")),
            |e| matches!(e, Error::CorruptVault { .. }),
        ),
        (
            "unknown algorithm",
            Box::new(|s| s.replace("pbkdf2-hmac-sha256", "scrypt")),
            |e| matches!(e, Error::UnsupportedAlgorithm { found } if found == "scrypt"),
        ),
        (
            "absurd iterations",
            Box::new(|s| s.replace("\"iterations\": 1000", "\"iterations\": 1000000000000")),
            |e| matches!(e, Error::KdfParams(_)),
        ),
        (
            "zero iterations",
            Box::new(|s| s.replace("\"iterations\": 1000", "\"iterations\": 0")),
            |e| matches!(e, Error::KdfParams(_)),
        ),
        (
            "negative iterations",
            Box::new(|s| s.replace("\"iterations\": 1000", "\"iterations\": -5")),
            |e| matches!(e, Error::CorruptVault { .. }),
        ),
        ("short salt", Box::new(|s| replace_salt(s, "AAAA")), |e| {
            matches!(e, Error::KdfParams(_))
        }),
        (
            "salt not base64",
            Box::new(|s| replace_salt(s, "!!!!")),
            |e| matches!(e, Error::CorruptVault { .. }),
        ),
        (
            "unknown field",
            Box::new(|s| s.replacen('{', "{\"extra\": 1,", 1)),
            |e| matches!(e, Error::CorruptVault { .. }),
        ),
        (
            "unknown cipher",
            Box::new(|s| s.replace("\"fernet\"", "\"aes-gcm\"")),
            |e| matches!(e, Error::CorruptVault { .. }),
        ),
        ("empty token", Box::new(|s| replace_token(s, "")), |e| {
            matches!(e, Error::CorruptVault { .. })
        }),
        (
            "token from another vault",
            Box::new(|s| replace_token(s, &other_vault_token())),
            |e| matches!(e, Error::WrongPassphrase),
        ),
    ];
    for (name, mutate, check) in cases {
        let (_dir, path) = temp_vault();
        let v = stored_v1(&path);
        let original = std::fs::read_to_string(&path).unwrap();
        let bad = mutate(&original);
        assert_ne!(bad, original, "{name}: the mutation changed nothing");
        std::fs::write(&path, &bad).unwrap();
        let err = v.unlock(&secret(PASS)).unwrap_err();
        assert!(check(&err), "{name}: unexpected error {err:?}");
        assert_eq!(v.status(), SessionState::Locked, "{name}");
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            bad,
            "{name}: file modified"
        );
        assert!(!err.to_string().contains(PASS), "{name}");
        assert!(
            !v.security_status().problems.is_empty() || name.contains("token"),
            "{name}"
        );
    }
}

#[test]
fn an_empty_file_and_an_unsafe_file_are_refused() {
    let (_dir, path) = temp_vault();
    let v = stored(&path);
    std::fs::write(&path, b"").unwrap();
    assert!(matches!(v.unlock(&secret(PASS)), Err(Error::Storage(_))));

    let (_dir2, path2) = temp_vault();
    let v2 = stored(&path2);
    set_mode(&path2, 0o644);
    let status = v2.security_status();
    assert_eq!(status.file.as_ref().unwrap().mode.as_deref(), Some("0644"));
    assert_eq!(status.file.as_ref().unwrap().mode_private, Some(false));
    let codes: Vec<_> = status.problems.iter().map(|p| p.code).collect();
    assert_eq!(codes, ["insecure_mode", "insecure_kdf"]);
    assert!(status.problems[0].message.contains("chmod 600"));
    let err = Vault::open(&path2).unwrap_err();
    assert!(matches!(err, Error::Storage(_)));
    assert!(err.to_string().contains("chmod 600"), "{err}");
}

#[test]
fn a_symlink_at_the_vault_path_is_refused_and_its_target_untouched() {
    let (dir, path) = temp_vault();
    let target = dir.path().join("elsewhere.json");
    let v = stored(&target);
    drop(v);
    let before = std::fs::read(&target).unwrap();
    std::os::unix::fs::symlink(&target, &path).unwrap();
    assert!(matches!(open_result(&path), Err(Error::Storage(_))));
    assert_eq!(std::fs::read(&target).unwrap(), before);
}

#[test]
fn idle_timeout_locks_an_unlocked_vault() {
    let (_dir, path) = temp_vault();
    let v = builder(&path)
        .idle_timeout(Duration::from_millis(30))
        .open()
        .unwrap();
    v.store(creds(), valid(PASS)).unwrap();
    std::thread::sleep(Duration::from_millis(60));
    assert_eq!(v.status(), SessionState::Locked);
    assert!(matches!(v.credentials(), Err(Error::Locked)));
    assert!(matches!(v.update_credentials(creds()), Err(Error::Locked)));
    v.unlock(&secret(PASS)).unwrap();
    assert_eq!(v.status(), SessionState::Unlocked);
}

#[test]
fn storage_failures_change_nothing() {
    let store = MemoryStore::new();
    let v = VaultBuilder::with_store(store.clone())
        .insecure_kdf_iterations(TEST_ITERATIONS)
        .open()
        .unwrap();
    store.fail_saves(Some(std::io::ErrorKind::StorageFull));
    let err = v.store(creds(), valid(PASS)).unwrap_err();
    assert!(matches!(err, Error::Storage(_)), "{err:?}");
    assert_eq!(v.status(), SessionState::NoCredentials);
    assert!(store.contents().is_none());

    store.fail_saves(None);
    v.store(creds(), valid(PASS)).unwrap();
    let sealed = store.contents().unwrap();
    store.fail_saves(Some(std::io::ErrorKind::Other));
    assert!(
        v.update_credentials(Credentials::new("x@example.com", secret("x")))
            .is_err()
    );
    assert_eq!(v.credentials().unwrap(), creds());
    assert!(
        v.change_passphrase(&secret(PASS), valid(OTHER_PASS))
            .is_err()
    );
    assert_eq!(store.contents().unwrap(), sealed);
    assert_eq!(v.status(), SessionState::Unlocked);
}

#[test]
fn a_memory_store_vault_reports_no_file() {
    let store = MemoryStore::new();
    let v = VaultBuilder::with_store(store.clone())
        .insecure_kdf_iterations(TEST_ITERATIONS)
        .open()
        .unwrap();
    v.store(creds(), valid(PASS)).unwrap();
    let status = v.security_status();
    assert!(status.file.is_none());
    assert_eq!(status.kdf.unwrap().iterations, TEST_ITERATIONS);
    assert!(status.insecure_kdf_allowed);
}

#[test]
fn kdf_options_are_checked() {
    let (_dir, path) = temp_vault();
    for bad in [0, 99_999, 10_000_001] {
        assert!(matches!(
            Vault::builder(&path).kdf_iterations(bad).open(),
            Err(Error::KdfParams(_))
        ));
    }
    let v = Vault::builder(&path)
        .kdf_iterations(100_000)
        .open()
        .unwrap();
    v.store(creds(), valid(PASS)).unwrap();
    assert_eq!(v.security_status().kdf.unwrap().iterations, 100_000);
    // A vault made with a test cost is refused by a vault opened with secure options.
    let (_dir2, path2) = temp_vault();
    stored(&path2);
    let secure = Vault::open(&path2).unwrap();
    assert!(matches!(
        secure.unlock(&secret(PASS)),
        Err(Error::KdfParams(_))
    ));
}

#[test]
fn security_status_reports_what_is_on_disk() {
    let (_dir, path) = temp_vault();
    let v = open(&path);
    let empty = v.security_status();
    assert!(empty.kdf.is_none());
    assert!(!empty.file.as_ref().unwrap().present);
    v.store(creds(), valid(PASS)).unwrap();
    let s = v.security_status();
    assert_eq!(s.state, Some(SessionState::Unlocked));
    assert!(s.key_in_memory);
    let kdf = s.kdf.as_ref().unwrap();
    assert_eq!(
        (kdf.algorithm, kdf.iterations, kdf.salt_bytes),
        ("pbkdf2-hmac-sha256", TEST_ITERATIONS, 16)
    );
    let file = s.file.as_ref().unwrap();
    assert_eq!(
        (file.mode.as_deref(), file.mode_private, file.present),
        (Some("0600"), Some(true), true)
    );
    assert_eq!(s.policy.min_length, 12);
    let lockout = s.lockout.as_ref().unwrap();
    assert_eq!(
        (
            lockout.max_attempts,
            lockout.base_delay_secs,
            lockout.max_delay_secs
        ),
        (1_000, 1, 1),
        "the test vault's own lockout policy"
    );
    assert_eq!(s.idle_timeout_secs, Some(15 * 60));
    assert!(s.idle_lock_in_secs.is_some_and(|left| left <= 15 * 60));
    let codes: Vec<_> = s.problems.iter().map(|p| p.code).collect();
    assert_eq!(
        codes,
        ["insecure_kdf"],
        "a test vault's cheap KDF is reported"
    );
    assert!(s.file.as_ref().unwrap().path.is_none());
    assert_eq!(
        v.security_status_with_path().file.unwrap().path.as_deref(),
        Some(path.as_path())
    );
    let json = serde_json::to_string(&s).unwrap();
    for secret_text in [PASS, "monarch-pw-123", "JBSWY3DPEHPK3PXP"] {
        assert!(!json.contains(secret_text));
    }
    v.lock();
    assert!(!v.security_status().key_in_memory);
}

#[test]
fn debug_of_every_public_type_shows_no_secret() {
    let (_dir, path) = temp_vault();
    let v = open(&path);
    v.store(creds(), valid(PASS)).unwrap();
    let token = std::fs::read_to_string(&path).unwrap();
    let texts = [
        format!("{v:?}"),
        format!("{v:#?}"),
        format!("{:?}", v.credentials().unwrap()),
        format!("{:#?}", v.credentials().unwrap()),
        format!("{:?}", creds()),
        format!("{:#?}", valid(PASS)),
        format!("{:?}", valid(PASS)),
        format!("{:?}", v.security_status()),
        format!("{:#?}", v.security_status()),
        format!("{:?}", builder(&path)),
        format!("{:#?}", secret(PASS)),
        format!("{:?}", Error::WrongPassphrase),
    ];
    for text in &texts {
        for s in [PASS, "monarch-pw-123", "JBSWY3DPEHPK3PXP"] {
            assert!(!text.contains(s), "{s:?} leaked in {text}");
        }
        assert!(
            !text.contains(&token[token.find("gAAAA").unwrap()..][..40]),
            "token leaked"
        );
    }
}

fn open_result(path: &std::path::Path) -> Result<Vault, Error> {
    builder(path).open()
}

/// The passphrase's salt: the file's (version 1 and 2) or its passphrase slot's (version 3).
fn salt_of(path: &std::path::Path) -> String {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    if v["version"] == 3 {
        let slots = v["slots"].as_array().unwrap();
        let slot = slots.iter().find(|s| s["kind"] == "passphrase").unwrap();
        return slot["kdf"]["salt"].as_str().unwrap().to_owned();
    }
    v["kdf"]["salt"].as_str().unwrap().to_owned()
}

fn replace_salt(text: &str, salt: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
    v["kdf"]["salt"] = salt.into();
    serde_json::to_string_pretty(&v).unwrap()
}

fn replace_token(text: &str, token: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
    v["token"] = token.into();
    serde_json::to_string_pretty(&v).unwrap()
}

fn flip_token_char(text: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(text).unwrap();
    let token = v["token"].as_str().unwrap().to_owned();
    let mut chars: Vec<char> = token.chars().collect();
    let i = chars.len() / 2;
    chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
    v["token"] = chars.into_iter().collect::<String>().into();
    serde_json::to_string_pretty(&v).unwrap()
}

fn other_vault_token() -> String {
    let (_dir, path) = temp_vault();
    stored_v1(&path);
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    v["token"].as_str().unwrap().to_owned()
}

#[test]
fn a_vault_can_move_between_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<Vault>();
    let (_dir, path) = temp_vault();
    let v = stored(&path);
    let v2 = std::thread::spawn(move || {
        v.unlock(&secret(PASS)).unwrap();
        v
    })
    .join()
    .unwrap();
    assert_eq!(v2.status(), SessionState::Unlocked);
}

/// A file store whose compare-and-swap loses to another writer the first `losses` times.
#[derive(Debug)]
struct Contending {
    inner: credlock_store::FileStore,
    losses: u32,
    /// Shared with the test, which reads it.
    calls: std::sync::Arc<std::sync::atomic::AtomicU32>,
}

impl credlock::Store for Contending {
    fn load(&self) -> Result<Option<Vec<u8>>, credlock_store::Error> {
        self.inner.load()
    }
    fn save(&self, bytes: &[u8]) -> Result<(), credlock_store::Error> {
        self.inner.save(bytes)
    }
    fn delete(&self) -> Result<(), credlock_store::Error> {
        self.inner.delete()
    }
    fn lock(&self) -> Result<credlock_store::StoreLock, credlock_store::Error> {
        self.inner.lock()
    }
    fn describe(&self) -> credlock_store::StoreInfo {
        self.inner.describe()
    }
    fn load_lockout(&self) -> Result<credlock_store::LockoutRecord, credlock_store::Error> {
        self.inner.load_lockout()
    }
    fn save_lockout(
        &self,
        record: &credlock_store::LockoutRecord,
    ) -> Result<(), credlock_store::Error> {
        self.inner.save_lockout(record)
    }
    fn read(&self) -> Result<Option<credlock_store::Versioned<Vec<u8>>>, credlock_store::Error> {
        self.inner.read()
    }
    fn create(&self, bytes: &[u8]) -> Result<credlock_store::WriteOutcome, credlock_store::Error> {
        self.inner.create(bytes)
    }
    fn replace_if(
        &self,
        expected: credlock_store::Version,
        bytes: &[u8],
    ) -> Result<credlock_store::WriteOutcome, credlock_store::Error> {
        let call = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
        if call <= self.losses {
            return Ok(credlock_store::WriteOutcome::Conflict);
        }
        self.inner.replace_if(expected, bytes)
    }
}

#[test]
fn an_update_retries_lost_compare_and_swaps_then_gives_up_with_a_typed_error() {
    use std::sync::atomic::Ordering;

    use credlock::StorageKind;
    use credlock_store::MAX_CAS_ATTEMPTS;

    let newer = || Credentials::new("bob@example.com", secret("newer-pw"));
    for (losses, writes) in [
        (0, true),
        (MAX_CAS_ATTEMPTS - 1, true),
        // One more loss than the limit, so that a retry count that never grows would end
        // (written on the next call) instead of looping.
        (MAX_CAS_ATTEMPTS + 1, false),
    ] {
        let (_dir, path) = temp_vault();
        stored(&path);
        // An unlock notes its slot's last use (at most once a minute): done here, so that
        // the unlock below writes nothing and every compare-and-swap counted is the update's.
        open(&path).unlock(&secret(PASS)).unwrap();
        let before = std::fs::read(&path).unwrap();
        let calls = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
        let v = VaultBuilder::with_store(Contending {
            inner: credlock_store::FileStore::open(&path).unwrap(),
            losses,
            calls: std::sync::Arc::clone(&calls),
        })
        .insecure_kdf_iterations(TEST_ITERATIONS)
        .open()
        .unwrap();
        v.unlock(&secret(PASS)).unwrap();
        let result = v.update_credentials(newer());
        let calls = calls.load(Ordering::SeqCst);
        if writes {
            result.unwrap();
            assert_eq!(calls, losses + 1, "one write after {losses} lost races");
            assert_eq!(v.credentials().unwrap(), newer());
            let reopened = open(&path);
            reopened.unlock(&secret(PASS)).unwrap();
            assert_eq!(reopened.credentials().unwrap(), newer());
        } else {
            let Err(Error::Storage(e)) = result else {
                panic!("expected a storage error, got {result:?}");
            };
            assert_eq!(e.kind(), StorageKind::Busy);
            assert_eq!(calls, MAX_CAS_ATTEMPTS, "gave up after the limit");
            let message = e.to_string();
            assert!(
                message.contains(&format!("{:?}", path)),
                "names the store: {message}"
            );
            assert!(
                message.contains(&format!("{MAX_CAS_ATTEMPTS} update attempts")),
                "{message}"
            );
            assert_eq!(std::fs::read(&path).unwrap(), before, "nothing written");
            assert_eq!(v.credentials().unwrap(), creds(), "memory unchanged");
        }
    }
}

#[test]
fn a_vault_stored_by_another_process_is_found_locked_not_overwritten() {
    let (_dir, path) = temp_vault();
    let here = open(&path);
    assert_eq!(here.status(), SessionState::NoCredentials);
    // Another process (another `Vault` on the same file) stores first.
    let there = open(&path);
    there.store(creds(), valid(PASS)).unwrap();
    let written = std::fs::read(&path).unwrap();

    let other = Credentials::new("mallory@example.com", secret("x"));
    assert!(matches!(
        here.store(other, valid(OTHER_PASS)),
        Err(Error::VaultExists { .. })
    ));
    assert_eq!(std::fs::read(&path).unwrap(), written, "not overwritten");
    assert_eq!(
        here.status(),
        SessionState::Locked,
        "it knows a vault is stored"
    );
    here.unlock(&secret(PASS)).unwrap();
    assert_eq!(here.credentials().unwrap(), creds());
}
