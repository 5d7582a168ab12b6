//! Keyslots (format version 3): every slot opens the same record, a slot altered or moved
//! is refused, rotation retires secrets, the recovery key, a second device, crashes around
//! slot writes, and the lockout for every slot kind.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
#[path = "common/v3.rs"]
mod v3;

use std::path::Path;
use std::sync::atomic::Ordering;

use common::{OTHER_PASS, PASS, creds, secret, temp_vault, valid};
use credlock::audit::MemorySink;
use credlock::secrecy::{ExposeSecret as _, SecretString};
use credlock::sessions::{Scope, SessionRequest};
use credlock::{
    Error, LockoutPolicy, MAX_SLOTS, MemoryStore, RecoveryKey, SessionState, SlotKind, Store,
    Vault, VaultBuilder,
};
use credlock_audit::EventKind;
use proptest::prelude::*;

const THIRD_PASS: &str = "Lantern-Harbor-58#";

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn write_json(path: &Path, v: &serde_json::Value) {
    std::fs::write(path, serde_json::to_vec_pretty(v).unwrap()).unwrap();
}

/// A stored vault (unlocked) with a recovery key.
fn with_kit(path: &Path) -> (Vault, RecoveryKey) {
    let v = common::open(path);
    v.store(creds(), valid(PASS)).unwrap();
    let kit = v.add_recovery_key("printed kit").unwrap();
    (v, kit)
}

#[test]
fn a_new_vault_has_keyslots_and_every_slot_opens_the_same_record() {
    let (_dir, path) = temp_vault();
    let (v, kit) = with_kit(&path);
    let device = [42u8; 32];
    v.add_secret_slot("laptop", &device).unwrap();
    let file = json(&path);
    assert_eq!(file["version"], 3);
    assert_eq!(file["slots"].as_array().unwrap().len(), 3);
    // The documented format, opened by the tests' own reader.
    let record = v3::record(&file, PASS);
    assert!(
        String::from_utf8(record)
            .unwrap()
            .contains("monarch-pw-123")
    );

    let slots = v.list_slots().unwrap();
    let kinds: Vec<_> = slots.iter().map(|s| (s.kind, s.label.as_str())).collect();
    assert_eq!(
        kinds,
        [
            (SlotKind::Passphrase, "passphrase"),
            (SlotKind::RecoveryKey, "printed kit"),
            (SlotKind::Secret, "laptop"),
        ]
    );
    // Listing holds no secret.
    let listed = format!("{slots:?}");
    assert!(!listed.contains(kit.display().expose_secret()));

    v.lock();
    v.unlock_with_secret(&device).unwrap();
    assert_eq!(v.credentials().unwrap(), creds());
    v.lock();
    v.unlock(&secret(PASS)).unwrap();
    assert_eq!(v.credentials().unwrap(), creds());
    assert!(
        v.list_slots().unwrap()[0].last_used_at.is_some(),
        "the passphrase slot's last use is noted"
    );
}

#[test]
fn a_slot_relabelled_or_moved_from_another_vault_is_refused_as_corrupt_not_as_a_guess() {
    let (_dir, path) = temp_vault();
    let (v, _kit) = with_kit(&path);
    v.lock();
    let original = json(&path);
    let (_d2, other_path) = temp_vault();
    let (other, _) = with_kit(&other_path);
    drop(other);
    let other = json(&other_path);

    let mut relabelled = original.clone();
    relabelled["slots"][0]["label"] = "mine now".into();
    let mut moved = original.clone();
    moved["slots"][0] = other["slots"][0].clone();
    let mut other_id = original.clone();
    other_id["vault_id"] = other["vault_id"].clone();
    let mut older_epoch = original.clone();
    older_epoch["epoch"] = 7.into();
    let mut token = original.clone();
    token["token"] = other["token"].clone();
    for (name, bad) in [
        ("relabelled", relabelled),
        ("moved from another vault", moved),
        ("another vault's id", other_id),
        ("another epoch", older_epoch),
        ("another vault's token", token),
    ] {
        write_json(&path, &bad);
        let err = v.unlock(&secret(PASS)).unwrap_err();
        assert!(matches!(err, Error::CorruptVault { .. }), "{name}: {err:?}");
        assert_eq!(v.status(), SessionState::Locked, "{name}");
        assert_eq!(json(&path), bad, "{name}: the file was changed");
    }
    write_json(&path, &original);
    v.unlock(&secret(PASS)).unwrap();
}

#[test]
fn malformed_slots_are_refused_before_any_derivation() {
    let (_dir, path) = temp_vault();
    let (v, _kit) = with_kit(&path);
    drop(v);
    let original = json(&path);
    let slot = original["slots"][1].clone();
    let mut too_many = original.clone();
    let slots = too_many["slots"].as_array_mut().unwrap();
    while slots.len() <= MAX_SLOTS {
        let mut s = slot.clone();
        s["id"] = format!("slt_{:016x}", slots.len()).into();
        slots.push(s);
    }
    let mut two_passphrases = original.clone();
    let mut second = original["slots"][0].clone();
    second["id"] = "slt_00000000000000ff".into();
    two_passphrases["slots"]
        .as_array_mut()
        .unwrap()
        .push(second);
    let mut none = original.clone();
    none["slots"].as_array_mut().unwrap().remove(0);
    let mut duplicate = original.clone();
    duplicate["slots"][1]["id"] = original["slots"][0]["id"].clone();
    let mut kind = original.clone();
    kind["slots"][1]["kind"] = "fingerprint".into();
    let mut point = original.clone();
    point["slots"][0]["public_key"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA".into();
    let mut short = original.clone();
    short["slots"][0]["private_key"] = "AAAA".into();
    let mut long_label = original.clone();
    long_label["slots"][1]["label"] = "x".repeat(65).into();
    let mut salt_on_passphrase = original.clone();
    salt_on_passphrase["slots"][0]["salt"] = "AAAAAAAAAAAAAAAAAAAAAA==".into();
    let mut absurd = original.clone();
    absurd["slots"][0]["kdf"]["iterations"] = 1_000_000_000_000u64.into();
    for (name, bad) in [
        ("33 slots", too_many),
        ("two passphrase slots", two_passphrases),
        ("no passphrase slot", none),
        ("duplicate ids", duplicate),
        ("unknown kind", kind),
        ("not a point", point),
        ("short private key", short),
        ("label too long", long_label),
        ("a salt on a passphrase slot", salt_on_passphrase),
        ("absurd iterations", absurd),
    ] {
        write_json(&path, &bad);
        let (builder, derivations) = common::counting_derivations(common::builder(&path));
        let v = builder.open().unwrap();
        let err = v.unlock(&secret(PASS)).unwrap_err();
        assert!(
            matches!(err, Error::CorruptVault { .. } | Error::KdfParams(_)),
            "{name}: {err:?}"
        );
        assert_eq!(derivations.load(Ordering::SeqCst), 0, "{name}: derived");
        assert_eq!(v.lockout_state().unwrap().failures, 0, "{name}: counted");
    }
}

#[test]
fn rotation_retires_old_secrets_on_new_files_and_old_files_open_only_with_their_own() {
    let (dir, path) = temp_vault();
    let (v, kit) = with_kit(&path);
    let copy_1 = dir.path().join("copy-1.json");
    std::fs::copy(&path, &copy_1).unwrap();

    // A passphrase change: a new data key; the recovery key is kept, re-wrapped.
    v.change_passphrase(&secret(PASS), valid(OTHER_PASS))
        .unwrap();
    let after_change = json(&path);
    assert_eq!(after_change["epoch"], 2);
    assert_ne!(
        v3::data_key(&json(&copy_1), PASS),
        v3::data_key(&after_change, OTHER_PASS),
        "the data key rotated"
    );
    // Removing the recovery key: another rotation.
    let kit_id = v.list_slots().unwrap()[1].id.clone();
    v.remove_slot(&kit_id).unwrap();
    assert_eq!(json(&path)["epoch"], 3);
    assert_eq!(v.list_slots().unwrap().len(), 1);

    // The new file: the old passphrase and the removed kit open nothing.
    v.lock();
    assert!(matches!(
        v.unlock(&secret(PASS)),
        Err(Error::WrongPassphrase)
    ));
    assert!(matches!(
        v.recover(&kit.display(), valid(THIRD_PASS)),
        Err(Error::WrongPassphrase)
    ));
    // The old copy opens with its own secrets, and gives only the old data key, which
    // opens nothing written since.
    let old = common::open(&copy_1);
    old.unlock(&secret(PASS)).unwrap();
    let old_key = v3::data_key(&json(&copy_1), PASS);
    let new_token = json(&path)["token"].as_str().unwrap().to_owned();
    assert!(
        credlock_crypto::FernetKey::from_bytes(&old_key)
            .open(&new_token)
            .is_err()
    );
    v.unlock(&secret(OTHER_PASS)).unwrap();
}

#[test]
fn a_writer_holding_a_stale_epoch_gets_changed_elsewhere_never_an_overwrite() {
    let (_dir, path) = temp_vault();
    let (a, _kit) = with_kit(&path);
    let b = common::open(&path);
    b.unlock(&secret(PASS)).unwrap();
    let kit_id = b.list_slots().unwrap()[1].id.clone();
    b.remove_slot(&kit_id).unwrap();
    let newer = credlock::Credentials::new("stale@example.com", secret("pw"));
    assert!(matches!(
        a.update_credentials(newer),
        Err(Error::ChangedElsewhere)
    ));
    assert_eq!(a.status(), SessionState::Locked);
    assert!(matches!(a.add_recovery_key("late"), Err(Error::Locked)));
    a.unlock(&secret(PASS)).unwrap();
    assert_eq!(a.credentials().unwrap(), creds());
}

#[test]
fn recovery_is_gated_non_destructive_and_replaces_the_key_used() {
    let (_dir, path) = temp_vault();
    let trail = MemorySink::new();
    let (builder, derivations) =
        common::counting_derivations(common::builder(&path).audit_to(trail.clone()));
    let v = builder.open().unwrap();
    v.store(creds(), valid(PASS)).unwrap();
    let kit = v.add_recovery_key("printed kit").unwrap();
    let minted = v
        .mint_session(SessionRequest::client("old browser"))
        .unwrap();
    v.lock();
    derivations.store(0, Ordering::SeqCst);

    // Not a recovery key at all: refused before the gate, nothing counted.
    assert!(matches!(
        v.recover(&secret("not-a-key"), valid(OTHER_PASS)),
        Err(Error::MalformedRecoveryKey { .. })
    ));
    assert_eq!(v.lockout_state().unwrap().failures, 0);
    // A well-formed wrong key: counted, audited, no KDF.
    let wrong = RecoveryKey::parse("0000-0000-0000-0000-0000-0000-0000-0000").unwrap();
    assert!(matches!(
        v.recover(&wrong.display(), valid(OTHER_PASS)),
        Err(Error::WrongPassphrase)
    ));
    assert_eq!(v.lockout_state().unwrap().failures, 1);
    assert_eq!(derivations.load(Ordering::SeqCst), 0);
    // A new passphrase the policy refuses: nothing written.
    let before = std::fs::read(&path).unwrap();
    assert!(matches!(
        v.recover(
            &kit.display(),
            credlock::ValidPassphrase::insecure_unchecked(secret("alice@example.com1"))
        ),
        Err(Error::Policy(_))
    ));
    assert_eq!(std::fs::read(&path).unwrap(), before);

    // A session alive when the recovery happens is revoked by it.
    v.unlock(&secret(PASS)).unwrap();
    let live = v
        .mint_session(SessionRequest::client("old browser"))
        .unwrap();
    v.validate_session(live.token.expose_secret(), Scope::Totp)
        .unwrap();
    // As a person types it: lower case, spaces, O for 0.
    let typed = kit
        .display()
        .expose_secret()
        .to_lowercase()
        .replace('-', " ")
        .replace('0', "o");
    let next = v.recover(&secret(&typed), valid(OTHER_PASS)).unwrap();
    assert_eq!(v.status(), SessionState::Unlocked);
    assert_eq!(v.credentials().unwrap(), creds(), "nothing lost");
    assert_eq!(v.lockout_state().unwrap().failures, 0);
    assert!(
        v.validate_session(live.token.expose_secret(), Scope::Totp)
            .is_err(),
        "sessions are revoked"
    );
    assert!(
        v.validate_session(minted.token.expose_secret(), Scope::Totp)
            .is_err()
    );
    let slots = v.list_slots().unwrap();
    assert_eq!(
        slots.iter().map(|s| s.kind).collect::<Vec<_>>(),
        [SlotKind::Passphrase, SlotKind::RecoveryKey]
    );
    assert_eq!(slots[1].label, "printed kit");
    let kinds: Vec<_> = trail.events().iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&EventKind::Recovered));
    assert!(kinds.contains(&EventKind::KeyRotated));

    // The used key is spent; the old passphrase is gone; the new ones work.
    v.lock();
    assert!(matches!(
        v.recover(&kit.display(), valid(THIRD_PASS)),
        Err(Error::WrongPassphrase)
    ));
    assert!(matches!(
        v.unlock(&secret(PASS)),
        Err(Error::WrongPassphrase)
    ));
    v.unlock(&secret(OTHER_PASS)).unwrap();
    v.lock();
    v.recover(&next.display(), valid(THIRD_PASS)).unwrap();
    v.lock();
    v.unlock(&secret(THIRD_PASS)).unwrap();
}

/// The lockout holds for every slot kind: five wrong secrets of any kind lock every kind
/// out, and a refused attempt runs nothing.
#[test]
fn the_lockout_covers_every_slot_kind() {
    for kind in ["passphrase", "recovery_key", "secret"] {
        let (_dir, path) = temp_vault();
        let (v, kit) = with_kit(&path);
        v.add_secret_slot("device", &[9u8; 32]).unwrap();
        v.lock();
        let (builder, derivations) = common::counting_derivations(
            common::builder(&path).lockout(
                LockoutPolicy::new(
                    5,
                    std::time::Duration::from_secs(60),
                    std::time::Duration::from_secs(3600),
                )
                .unwrap(),
            ),
        );
        let v = builder.open().unwrap();
        let wrong = RecoveryKey::parse("ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ-ZZZZ").unwrap();
        let attempt = |v: &Vault| -> Error {
            match kind {
                "passphrase" => v.unlock(&secret("Wrong-Guess-123!")).unwrap_err(),
                "recovery_key" => v.recover(&wrong.display(), valid(OTHER_PASS)).unwrap_err(),
                _ => v.unlock_with_secret(&[8u8; 32]).unwrap_err(),
            }
        };
        for _ in 0..5 {
            assert!(matches!(attempt(&v), Error::WrongPassphrase), "{kind}");
        }
        let derived = derivations.load(Ordering::SeqCst);
        assert!(matches!(attempt(&v), Error::LockedOut { .. }), "{kind}");
        // Every kind is locked out now, the right secrets too, and nothing is derived.
        assert!(matches!(
            v.unlock(&secret(PASS)),
            Err(Error::LockedOut { .. })
        ));
        assert!(matches!(
            v.recover(&kit.display(), valid(OTHER_PASS)),
            Err(Error::LockedOut { .. })
        ));
        assert!(matches!(
            v.unlock_with_secret(&[9u8; 32]),
            Err(Error::LockedOut { .. })
        ));
        assert_eq!(derivations.load(Ordering::SeqCst), derived, "{kind}");
    }
}

#[test]
fn a_second_device_signs_in_while_the_first_keeps_its_session() {
    let (_dir, path) = temp_vault();
    let trail = MemorySink::new();
    let (builder, derivations) =
        common::counting_derivations(common::builder(&path).audit_to(trail.clone()));
    let v = builder.open().unwrap();
    v.store(creds(), valid(PASS)).unwrap();
    v.lock();
    let first = v
        .sign_in(&secret(PASS), SessionRequest::client("desktop"))
        .unwrap();
    // Unlocked: a second sign-in is not a 409, it proves the passphrase (one derivation).
    let before = derivations.load(Ordering::SeqCst);
    let second = v
        .sign_in(&secret(PASS), SessionRequest::client("phone"))
        .unwrap();
    assert_eq!(derivations.load(Ordering::SeqCst), before + 1);
    for minted in [&first, &second] {
        v.validate_session(minted.token.expose_secret(), Scope::Manage)
            .unwrap();
    }
    // A wrong passphrase is counted and changes nothing.
    assert!(matches!(
        v.sign_in(&secret("Wrong-Guess-123!"), SessionRequest::client("thief")),
        Err(Error::WrongPassphrase)
    ));
    assert_eq!(v.lockout_state().unwrap().failures, 1);
    assert_eq!(v.status(), SessionState::Unlocked);
    v.validate_session(first.token.expose_secret(), Scope::Manage)
        .unwrap();
    assert_eq!(
        trail
            .events()
            .iter()
            .filter(|e| e.kind == EventKind::SignedIn)
            .count(),
        2
    );
}

#[test]
fn parallel_sign_ins_take_turns_and_each_counts() {
    let (_dir, path) = temp_vault();
    let v = std::sync::Arc::new(common::stored(&path));
    v.unlock(&secret(PASS)).unwrap();
    let wrong: Vec<_> = (0..4)
        .map(|_| {
            let v = std::sync::Arc::clone(&v);
            std::thread::spawn(move || {
                v.sign_in(&secret("Wrong-Guess-123!"), SessionRequest::client("x"))
                    .unwrap_err()
            })
        })
        .collect();
    for t in wrong {
        assert!(matches!(t.join().unwrap(), Error::WrongPassphrase));
    }
    assert_eq!(v.lockout_state().unwrap().failures, 4);
}

#[test]
fn an_old_vault_moves_to_keyslots_at_its_next_unlock_unless_kept_eclosion_compatible() {
    let (_dir, path) = temp_vault();
    let legacy = common::builder(&path)
        .keep_eclosion_compatible_kdf()
        .open()
        .unwrap();
    legacy.store(creds(), valid(PASS)).unwrap();
    legacy.lock();
    assert_eq!(json(&path)["version"], 1);
    // Kept Eclosion-compatible: an unlock leaves it as it is, and slots need version 3.
    legacy.unlock(&secret(PASS)).unwrap();
    assert_eq!(json(&path)["version"], 1);
    assert!(matches!(
        legacy.add_recovery_key("kit"),
        Err(Error::NoKeyslots { version: 1 })
    ));
    drop(legacy);

    let trail = MemorySink::new();
    let v = common::builder(&path)
        .audit_to(trail.clone())
        .open()
        .unwrap();
    v.unlock(&secret(PASS)).unwrap();
    assert_eq!(json(&path)["version"], 3);
    assert!(
        trail
            .events()
            .iter()
            .any(|e| e.kind == EventKind::KdfUpgraded && e.operation == Some("format_upgrade"))
    );
    // The key in memory is the new data key: writes work, and a recovery key can be added.
    v.update_credentials(creds()).unwrap();
    let kit = v.add_recovery_key("kit").unwrap();
    v.lock();
    v.recover(&kit.display(), valid(OTHER_PASS)).unwrap();
    assert_eq!(v.credentials().unwrap(), creds());
}

/// A memory store that runs `before_write` at each compare-and-swap, before it: a fault
/// injected there (an error returned instead of the write), or another writer landing
/// between a read and a write.
#[derive(Clone)]
struct Hooked {
    inner: MemoryStore,
    before_write: std::sync::Arc<dyn Fn() -> Result<(), credlock_store::Error> + Send + Sync>,
}

impl std::fmt::Debug for Hooked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hooked")
    }
}

impl Store for Hooked {
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
        (self.before_write)()?;
        self.inner.replace_if(expected, bytes)
    }
}

/// Every slot write (add, remove with its rotation, passphrase change, recovery), crashed
/// before it lands or after: the file stored is the old one or the new one, and each opens
/// with its own secrets.
#[test]
fn a_crash_around_slot_writes_leaves_the_old_file_or_the_new_and_both_open() {
    type Step = fn(&Vault, &RecoveryKey) -> Result<(), Error>;
    let steps: [(&str, Step, &str); 4] = [
        (
            "add a recovery key",
            |v, _| v.add_recovery_key("second").map(|_| ()),
            PASS,
        ),
        (
            "remove a slot",
            |v, _| {
                let id = v.list_slots()?[1].id.clone();
                v.remove_slot(&id)
            },
            PASS,
        ),
        (
            "change the passphrase",
            |v, _| v.change_passphrase(&secret(PASS), valid(OTHER_PASS)),
            OTHER_PASS,
        ),
        (
            "recover",
            |v, kit| {
                v.lock();
                v.recover(&kit.display(), valid(OTHER_PASS)).map(|_| ())
            },
            OTHER_PASS,
        ),
    ];
    for (name, step, new_pass) in steps {
        for crash in [true, false] {
            let inner = MemoryStore::new();
            let writes_left = std::sync::Arc::new(std::sync::atomic::AtomicI32::new(i32::MAX));
            let left = std::sync::Arc::clone(&writes_left);
            let store = Hooked {
                inner: inner.clone(),
                // A crash before the write, once no write is left.
                before_write: std::sync::Arc::new(move || {
                    if left.fetch_sub(1, Ordering::SeqCst) <= 0 {
                        return Err(credlock_store::Error::Unavailable {
                            path: "memory".into(),
                            backend: "fault injection",
                            op: "replace",
                            source: "the write failed".into(),
                        });
                    }
                    Ok(())
                }),
            };
            let v = VaultBuilder::with_store(store)
                .insecure_kdf_iterations(common::TEST_ITERATIONS)
                .open()
                .unwrap();
            v.store(creds(), valid(PASS)).unwrap();
            let kit = v.add_recovery_key("kit").unwrap();
            let before = inner.load().unwrap().unwrap();
            if crash {
                writes_left.store(0, Ordering::SeqCst);
                assert!(step(&v, &kit).is_err(), "{name}: the crash is reported");
                assert_eq!(inner.load().unwrap().unwrap(), before, "{name}: changed");
            } else {
                step(&v, &kit).unwrap();
            }
            // Whatever is stored opens with the secrets it should.
            let reopened = VaultBuilder::with_store(inner.clone())
                .insecure_kdf_iterations(common::TEST_ITERATIONS)
                .keep_eclosion_compatible_kdf()
                .open()
                .unwrap();
            let pass = if crash { PASS } else { new_pass };
            reopened.unlock(&secret(pass)).unwrap();
            assert_eq!(reopened.credentials().unwrap(), creds(), "{name}");
        }
    }
}

#[test]
fn slot_inputs_are_checked() {
    let (_dir, path) = temp_vault();
    let (v, _) = with_kit(&path);
    assert!(matches!(
        v.add_recovery_key(""),
        Err(Error::InvalidSlotLabel { .. })
    ));
    assert!(matches!(
        v.add_secret_slot("short", &[1u8; 15]),
        Err(Error::InvalidSecret { .. })
    ));
    let passphrase_slot = v.list_slots().unwrap()[0].id.clone();
    assert!(matches!(
        v.remove_slot(&passphrase_slot),
        Err(Error::PassphraseSlotRequired)
    ));
    let unknown = credlock::SlotId::parse("slt_0000000000000000").unwrap();
    assert!(matches!(v.remove_slot(&unknown), Err(Error::SlotNotFound)));
    for _ in 2..MAX_SLOTS {
        v.add_secret_slot("device", &[3u8; 16]).unwrap();
    }
    assert!(matches!(
        v.add_recovery_key("one too many"),
        Err(Error::TooManySlots { max: MAX_SLOTS })
    ));
    v.lock();
    assert!(matches!(v.add_recovery_key("locked"), Err(Error::Locked)));
    assert!(matches!(
        v.unlock_with_secret(&[1u8; 16]),
        Err(Error::WrongPassphrase)
    ));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]

    /// Any mix of slots: each opens the same record; after a rotation that removes some,
    /// the removed ones open nothing on the new file, and the old file still opens with all.
    #[test]
    fn any_slot_opens_the_same_record_and_removed_ones_nothing_after(
        secrets in proptest::collection::vec(any::<[u8; 16]>(), 1..5),
        remove in any::<prop::sample::Index>(),
    ) {
        let (dir, path) = temp_vault();
        let v = common::open(&path);
        v.store(creds(), valid(PASS)).unwrap();
        let mut distinct = secrets.clone();
        distinct.sort_unstable();
        distinct.dedup();
        for s in &distinct {
            v.add_secret_slot("device", s).unwrap();
        }
        let old = dir.path().join("old.json");
        std::fs::copy(&path, &old).unwrap();
        for s in &distinct {
            v.lock();
            v.unlock_with_secret(s).unwrap();
            prop_assert_eq!(v.credentials().unwrap(), creds());
        }
        let gone = remove.index(distinct.len());
        let id = v.list_slots().unwrap()[gone + 1].id.clone();
        v.remove_slot(&id).unwrap();
        v.lock();
        let old_vault = common::open(&old);
        for (i, s) in distinct.iter().enumerate() {
            let on_new = v.unlock_with_secret(s);
            if i == gone {
                prop_assert!(matches!(on_new, Err(Error::WrongPassphrase)));
            } else {
                on_new.unwrap();
                v.lock();
            }
            old_vault.unlock_with_secret(s).unwrap();
            old_vault.lock();
        }
        drop(SecretString::from("unused"));
    }
}

/// A version-3 file written by this version (`testdata/vault-v3`) opens with each of its
/// slots, through the library and through the tests' own reader of the documented format.
#[test]
fn the_checked_in_version_3_file_opens_with_each_of_its_slots() {
    let (dir, path) = temp_vault();
    std::fs::copy(common::testdata("vault-v3/vault.json"), &path).unwrap();
    common::set_mode(&path, 0o600);
    let file = json(&path);
    let record = String::from_utf8(v3::record(&file, PASS)).unwrap();
    assert!(record.contains("monarch-pw-123"));

    let v = common::open(&path);
    v.unlock(&secret(PASS)).unwrap();
    assert_eq!(v.credentials().unwrap(), creds());
    v.lock();
    v.unlock_with_secret(&[0x42u8; 32]).unwrap();
    v.lock();
    let kit = std::fs::read_to_string(common::testdata("vault-v3/recovery-key.txt")).unwrap();
    v.recover(&secret(kit.trim()), valid(OTHER_PASS)).unwrap();
    assert_eq!(v.credentials().unwrap(), creds());
    drop(dir);
}

type Hook = std::sync::Arc<std::sync::Mutex<Option<Box<dyn FnOnce() + Send>>>>;

/// An unlock elsewhere notes its slot's last use; a passphrase change, a recovery or a slot
/// removal that read the file before it is not refused for that (it is no change of keys),
/// and nothing the unlock wrote is lost.
#[test]
fn a_last_use_noted_elsewhere_does_not_refuse_a_rotation() {
    for step in ["change_passphrase", "recover", "remove_slot"] {
        let inner = MemoryStore::new();
        let hook: Hook = std::sync::Arc::new(std::sync::Mutex::new(None));
        let first = std::sync::Arc::clone(&hook);
        let v = VaultBuilder::with_store(Hooked {
            inner: inner.clone(),
            before_write: std::sync::Arc::new(move || {
                // At the first compare-and-swap, the other writer goes first.
                let other = first.lock().unwrap().take();
                if let Some(other) = other {
                    other();
                }
                Ok(())
            }),
        })
        .insecure_kdf_iterations(common::TEST_ITERATIONS)
        .open()
        .unwrap();
        v.store(creds(), valid(PASS)).unwrap();
        let kit = v.add_recovery_key("kit").unwrap();
        let other = VaultBuilder::with_store(inner.clone())
            .insecure_kdf_iterations(common::TEST_ITERATIONS)
            .open()
            .unwrap();
        *hook.lock().unwrap() = Some(Box::new(move || {
            // An unlock elsewhere: it notes the passphrase slot's last use (a write).
            other.unlock(&secret(PASS)).unwrap();
        }) as Box<dyn FnOnce() + Send>);
        let before = inner.read().unwrap().unwrap().version;
        match step {
            "change_passphrase" => v
                .change_passphrase(&secret(PASS), valid(OTHER_PASS))
                .unwrap(),
            "recover" => {
                v.recover(&kit.display(), valid(OTHER_PASS)).unwrap();
            }
            _ => {
                let id = v.list_slots().unwrap()[1].id.clone();
                v.remove_slot(&id).unwrap();
            }
        }
        assert!(
            hook.lock().unwrap().is_none(),
            "{step}: the other writer ran"
        );
        let after = inner.read().unwrap().unwrap().version;
        assert_ne!(before, after, "{step}");
        let file: serde_json::Value =
            serde_json::from_slice(&inner.load().unwrap().unwrap()).unwrap();
        assert_eq!(file["epoch"], 2, "{step}: rotated once");
    }
}

/// "Sign out everywhere" revokes every session even when the rotation it asks for cannot be
/// made (the file damaged behind the vault's back): the failure is audited, not returned.
#[test]
fn revoking_every_session_survives_a_rotation_that_fails() {
    let (_dir, path) = temp_vault();
    let trail = MemorySink::new();
    let v = common::builder(&path)
        .audit_to(trail.clone())
        .open()
        .unwrap();
    v.store(creds(), valid(PASS)).unwrap();
    let minted = v.mint_session(SessionRequest::client("browser")).unwrap();
    std::fs::write(&path, b"{\"format\": \"credlock-vault\", \"version\": 3}").unwrap();
    assert_eq!(v.revoke_all_sessions().unwrap(), 1);
    assert!(
        v.validate_session(minted.token.expose_secret(), Scope::Totp)
            .is_err()
    );
    assert!(
        trail
            .events()
            .iter()
            .any(|e| e.kind == EventKind::KeyRotated
                && e.outcome == credlock_audit::Outcome::Failure)
    );
}
