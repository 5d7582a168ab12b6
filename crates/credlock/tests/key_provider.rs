//! A key provider's pepper in the passphrase slot: a copy of the vault file opens nothing
//! without the provider, a missing, wrong or failing provider is a typed error that counts
//! nothing, a slow one never hangs an unlock, providers are added to existing vaults at their
//! next unlock and removed on request, and Eclosion exports still work.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
#[path = "common/v3.rs"]
mod v3;

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use common::{OTHER_PASS, PASS, creds, secret, temp_vault, valid};
use credlock::audit::MemorySink;
use credlock::keyprovider::{
    FileKeyProvider, KeyProvider, ProviderError, ProviderIdentity, WithTimeout, Zeroizing,
};
use credlock::{Error, ErrorKind, Vault, VaultBuilder};
use credlock_audit::EventKind;
use credlock_eclosion::EclosionExt as _;

fn key_file(dir: &Path, name: &str, byte: u8) -> Arc<FileKeyProvider> {
    let path = dir.join(name);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .unwrap()
        .write_all(&[byte; 32])
        .unwrap();
    Arc::new(FileKeyProvider::open(&path).unwrap())
}

fn with(path: &Path, provider: Option<Arc<dyn KeyProvider>>) -> VaultBuilder {
    let b = common::builder(path);
    match provider {
        Some(p) => b.key_provider(p),
        None => b,
    }
}

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[test]
fn a_copy_of_the_file_opens_nothing_without_the_provider_and_counts_nothing() {
    let (dir, path) = temp_vault();
    let pepper = key_file(dir.path(), "pepper", 7);
    let v = with(&path, Some(pepper.clone())).open().unwrap();
    v.store(creds(), valid(PASS)).unwrap();
    let kit = v.add_recovery_key("kit").unwrap();
    drop(v);
    let file = json(&path);
    let slot = &file["slots"][0];
    assert_eq!(slot["kind"], "passphrase");
    let identity = slot["key_provider"]["id"].as_str().unwrap().to_owned();
    assert!(identity.starts_with("file:"), "{identity}");

    // Offline, with the passphrase and the documented format, but without the pepper: the
    // passphrase slot does not open.
    let offline = std::panic::catch_unwind(|| v3::data_key(&file, PASS));
    assert!(offline.is_err(), "the passphrase alone opened the slot");

    // Through the library: a typed error naming the provider, nothing derived or counted.
    let (builder, derivations) = common::counting_derivations(with(&path, None));
    let thief = builder.open().unwrap();
    match thief.unlock(&secret(PASS)) {
        Err(Error::KeyProviderMissing { needed }) => assert_eq!(needed, identity),
        other => panic!("{other:?}"),
    }
    let wrong_key = key_file(dir.path(), "other-pepper", 8);
    let (builder, derivations2) = common::counting_derivations(with(&path, Some(wrong_key)));
    let wrong = builder.open().unwrap();
    let err = wrong.unlock(&secret(PASS)).unwrap_err();
    assert!(matches!(err, Error::KeyProviderMismatch { .. }), "{err:?}");
    assert!(!err.to_string().contains(PASS));
    for (v, d) in [(&thief, &derivations), (&wrong, &derivations2)] {
        assert!(matches!(
            v.change_passphrase(&secret(PASS), valid(OTHER_PASS)),
            Err(Error::KeyProviderMissing { .. } | Error::KeyProviderMismatch { .. })
        ));
        assert_eq!(d.load(Ordering::SeqCst), 0);
        assert_eq!(v.lockout_state().unwrap().failures, 0);
    }
    // With the provider, the passphrase opens it; a wrong one is a counted guess.
    let v = with(&path, Some(pepper)).open().unwrap();
    assert!(matches!(
        v.unlock(&secret("Wrong-Guess-123!")),
        Err(Error::WrongPassphrase)
    ));
    v.unlock(&secret(PASS)).unwrap();
    assert_eq!(v.credentials().unwrap(), creds());
    let status = v.security_status();
    assert_eq!(status.key_provider.as_deref(), Some(identity.as_str()));
    assert_eq!(
        status.cipher.unwrap().key_provider.as_deref(),
        Some(identity.as_str())
    );
    // The recovery key needs no provider (it is 160 random bits, not a guessable secret).
    v.lock();
    thief.recover(&kit.display(), valid(OTHER_PASS)).unwrap();
}

/// A provider the test controls: its answers, and whether it blocks until released.
#[derive(Debug)]
struct Fake {
    key: u8,
    fail: Mutex<Option<ProviderError>>,
    gate: Mutex<Option<mpsc::Receiver<()>>>,
}

impl Fake {
    fn new(key: u8) -> Self {
        Self {
            key,
            fail: Mutex::new(None),
            gate: Mutex::new(None),
        }
    }
}

impl KeyProvider for Fake {
    fn identity(&self) -> ProviderIdentity {
        ProviderIdentity::new("fake", "pepper")
    }
    fn apply(&self, input: &[u8; 32]) -> Result<Zeroizing<[u8; 32]>, ProviderError> {
        if let Some(rx) = self.gate.lock().unwrap().as_ref() {
            // Blocks until the test releases it (or drops the sender).
            let _ = rx.recv();
        }
        if let Some(e) = self.fail.lock().unwrap().take() {
            return Err(e);
        }
        Ok(credlock::keyprovider::reference_apply(
            &[self.key; 32],
            input,
        ))
    }
}

#[test]
fn a_failing_or_hanging_provider_is_a_typed_retryable_error_that_counts_nothing() {
    let (_dir, path) = temp_vault();
    let fake = Arc::new(Fake::new(3));
    let v = with(&path, Some(fake.clone())).open().unwrap();
    v.store(creds(), valid(PASS)).unwrap();
    v.lock();

    *fake.fail.lock().unwrap() = Some(ProviderError::Unavailable {
        provider: "fake:pepper".into(),
        reason: "the token was removed".into(),
    });
    let err = v.unlock(&secret(PASS)).unwrap_err();
    assert!(
        matches!(err, Error::KeyProvider(ref e) if e.is_retryable()),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::KeyProvider);
    assert_eq!(err.kind().http_status(), 503);
    assert_eq!(v.lockout_state().unwrap().failures, 0);

    // Hanging: behind `WithTimeout`, the unlock returns a typed `TimedOut` once the deadline
    // passes; the provider is released afterwards.
    let (release, gate) = mpsc::channel();
    *fake.gate.lock().unwrap() = Some(gate);
    let bounded: Arc<dyn KeyProvider> =
        Arc::new(WithTimeout::with_limits(fake.clone(), Duration::from_millis(50), 4).unwrap());
    let slow = with(&path, Some(bounded)).open().unwrap();
    let err = slow.unlock(&secret(PASS)).unwrap_err();
    assert!(
        matches!(err, Error::KeyProvider(ProviderError::TimedOut { .. })),
        "{err:?}"
    );
    assert_eq!(slow.lockout_state().unwrap().failures, 0);
    drop(release);
    *fake.gate.lock().unwrap() = None;
    v.unlock(&secret(PASS)).unwrap();
}

#[test]
fn a_provider_is_added_at_the_next_unlock_and_removed_on_request() {
    let (dir, path) = temp_vault();
    let v = common::open(&path);
    v.store(creds(), valid(PASS)).unwrap();
    drop(v);
    assert!(json(&path)["slots"][0]["key_provider"].is_null());

    let pepper = key_file(dir.path(), "pepper", 9);
    let trail = MemorySink::new();
    let v = with(&path, Some(pepper.clone()))
        .audit_to(trail.clone())
        .open()
        .unwrap();
    v.unlock(&secret(PASS)).unwrap();
    assert!(json(&path)["slots"][0]["key_provider"]["id"].is_string());
    assert!(
        trail
            .events()
            .iter()
            .any(|e| e.kind == EventKind::KdfUpgraded && e.operation == Some("key_provider"))
    );
    // From now on the provider is needed.
    assert!(matches!(
        with(&path, None).open().unwrap().unlock(&secret(PASS)),
        Err(Error::KeyProviderMissing { .. })
    ));
    // Eclosion exports still work (derived from the passphrase given, without the pepper).
    v.export_eclosion(dir.path().join("export.json"), &secret(PASS))
        .unwrap();

    // Removing it: the passphrase proven (a wrong one is counted), the slot re-made.
    assert!(matches!(
        v.remove_key_provider(&secret("Wrong-Guess-123!")),
        Err(Error::WrongPassphrase)
    ));
    v.remove_key_provider(&secret(PASS)).unwrap();
    assert!(json(&path)["slots"][0]["key_provider"].is_null());
    drop(v);
    let plain = with(&path, None).open().unwrap();
    plain.unlock(&secret(PASS)).unwrap();
    assert_eq!(plain.credentials().unwrap(), creds());
}

#[test]
fn a_provider_and_eclosion_compatibility_are_refused_together() {
    let (dir, path) = temp_vault();
    let pepper = key_file(dir.path(), "pepper", 1);
    let err = with(&path, Some(pepper))
        .keep_eclosion_compatible_kdf()
        .open()
        .unwrap_err();
    assert!(matches!(
        err,
        Error::InvalidOption {
            name: "key_provider"
        }
    ));
}

/// The file provider's own checks hold through the facade: a key file readable by others is
/// refused when the provider is opened, with a typed error and no secret.
#[test]
fn an_unsafe_key_file_is_refused() {
    let (dir, _path) = temp_vault();
    let path = dir.path().join("loose");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o644)
        .open(&path)
        .unwrap()
        .write_all(&[5u8; 32])
        .unwrap();
    let err = FileKeyProvider::open(&path).unwrap_err();
    assert!(matches!(err, ProviderError::Permissions { .. }), "{err:?}");
    drop(Vault::builder(dir.path().join("v.json")));
}

/// A PostgreSQL dump: the record of a vault stored through a registry with a provider, taken
/// out of the database, opens nothing offline without the provider (the passphrase right),
/// and opens with it.
#[cfg(feature = "postgres")]
#[test]
fn a_postgresql_dump_opens_nothing_without_the_provider() {
    use credlock::registry::PostgresStoreSet;
    use credlock::{MemoryStore, Registry, Store, UserId};
    use credlock_store_postgres::testing::TestServer;

    let Some(server) = TestServer::shared() else {
        return;
    };
    let config = server.database();
    let (dir, _) = temp_vault();
    let pepper = key_file(dir.path(), "pepper", 11);
    let set = PostgresStoreSet::builder(config.clone()).open().unwrap();
    let p: Arc<dyn KeyProvider> = pepper.clone();
    let registry = Registry::builder(set)
        .vault_options(move |b| {
            b.insecure_kdf_iterations(common::TEST_ITERATIONS)
                .without_tracing_audit()
                .key_provider(p.clone())
        })
        .open()
        .unwrap();
    let user = UserId::new("pepper@example.com").unwrap();
    registry
        .vault(&user)
        .unwrap()
        .store(creds(), valid(PASS))
        .unwrap();
    let mut client = config
        .connect(credlock_store_postgres::postgres::NoTls)
        .unwrap();
    let dump: Vec<u8> = client
        .query_one(
            "SELECT record FROM credlock_records WHERE key = $1",
            &[&user.as_str()],
        )
        .unwrap()
        .get(0);
    let file: serde_json::Value = serde_json::from_slice(&dump).unwrap();
    assert!(std::panic::catch_unwind(|| v3::data_key(&file, PASS)).is_err());
    let offline = MemoryStore::new();
    offline.save(&dump).unwrap();
    let copy = VaultBuilder::with_store(offline.clone())
        .insecure_kdf_iterations(common::TEST_ITERATIONS)
        .open()
        .unwrap();
    assert!(matches!(
        copy.unlock(&secret(PASS)),
        Err(Error::KeyProviderMissing { .. })
    ));
    let with_pepper = VaultBuilder::with_store(offline)
        .insecure_kdf_iterations(common::TEST_ITERATIONS)
        .key_provider(pepper)
        .open()
        .unwrap();
    with_pepper.unlock(&secret(PASS)).unwrap();
    assert_eq!(with_pepper.credentials().unwrap(), creds());
}
