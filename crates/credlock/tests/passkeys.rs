//! Passkey slots (feature `passkeys`), driven by the software authenticator of
//! `credlock-webauthn` (what a browser posts, byte for byte): registration, unlock, salt
//! rotation, several passkeys, refusals (wrong, short or all-zero PRF output, a replayed
//! challenge, a wrong origin, a tampered signature, a slot moved to another vault), the lockout
//! and removal.

#![allow(clippy::unwrap_used, clippy::panic)]
#![cfg(feature = "passkeys")]

mod common;

use std::path::Path;

use base64::Engine as _;
use common::{PASS, creds, secret, temp_vault, valid};
use credlock::passkeys::webauthn::{PrfMode, RelyingParty, SoftwareAuthenticator};
use credlock::{Error, LockoutPolicy, SessionState, SlotKind, Vault};
use serde_json::Value;

const ORIGIN: &str = "https://vault.example";

fn rp() -> RelyingParty {
    RelyingParty::new("vault.example", "credlock", [ORIGIN])
}

fn stored(path: &Path) -> Vault {
    let v = common::builder(path)
        .lockout(
            LockoutPolicy::new(
                5,
                std::time::Duration::from_secs(60),
                std::time::Duration::from_secs(3600),
            )
            .unwrap(),
        )
        .open()
        .unwrap();
    v.store(creds(), valid(PASS)).unwrap();
    v
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).unwrap()
}

/// Adds a passkey of `device` to the (unlocked) vault.
fn enrol(v: &Vault, device: &mut SoftwareAuthenticator, label: &str) -> credlock::SlotId {
    let (options, ceremony) = v.passkey_registration_options(&rp(), "alice").unwrap();
    let created = device.register(&options, ORIGIN).unwrap();
    let (options, ceremony) = v
        .passkey_enrolment_options(&rp(), ceremony, &bytes(&created))
        .unwrap();
    let asserted = device.assert(&options, ORIGIN).unwrap();
    v.add_passkey(&rp(), ceremony, &bytes(&asserted), label)
        .unwrap()
}

/// One unlock's options and the device's answer.
fn answer(
    v: &Vault,
    device: &mut SoftwareAuthenticator,
) -> (Value, Value, credlock::passkeys::PasskeyCeremony) {
    let (options, ceremony) = v.passkey_unlock_options(&rp()).unwrap();
    let asserted = device.assert(&options, ORIGIN).unwrap();
    (options, asserted, ceremony)
}

fn prf_first(assertion: &Value) -> String {
    assertion["clientExtensionResults"]["prf"]["results"]["first"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[test]
fn a_passkey_unlocks_and_its_salt_rotates_at_every_unlock() {
    let (_dir, path) = temp_vault();
    let v = stored(&path);
    let mut device = SoftwareAuthenticator::new("vault.example");
    let id = enrol(&v, &mut device, "security key");
    let slots = v.list_slots().unwrap();
    assert_eq!(slots.len(), 2);
    assert_eq!(
        (slots[1].kind, slots[1].label.as_str()),
        (SlotKind::Passkey, "security key")
    );
    v.lock();

    let (options, first_answer, ceremony) = answer(&v, &mut device);
    let salts = &options["extensions"]["prf"]["evalByCredential"];
    let salts = salts.as_object().unwrap().values().next().unwrap().clone();
    assert!(salts["second"].is_string(), "every unlock asks a next salt");
    assert_eq!(
        v.unlock_with_passkey(&rp(), ceremony, &bytes(&first_answer))
            .unwrap(),
        id
    );
    assert_eq!(v.status(), SessionState::Unlocked);
    assert_eq!(v.credentials().unwrap(), creds());
    v.lock();

    // The next unlock asks for the salt the last one moved to.
    let (options, mut second_answer, ceremony) = answer(&v, &mut device);
    let now = options["extensions"]["prf"]["evalByCredential"]
        .as_object()
        .unwrap()
        .values()
        .next()
        .unwrap()
        .clone();
    assert_eq!(now["first"], salts["second"]);
    // A genuine, signed assertion carrying the PRF output seen at the last unlock: that
    // output opens nothing now (the PRF results are not signed; the slot is what refuses).
    second_answer["clientExtensionResults"]["prf"]["results"]["first"] =
        prf_first(&first_answer).into();
    assert!(matches!(
        v.unlock_with_passkey(&rp(), ceremony, &bytes(&second_answer)),
        Err(Error::WrongPassphrase)
    ));
    assert_eq!(v.lockout_state().unwrap().failures, 1);
    let (_, third, ceremony) = answer(&v, &mut device);
    v.unlock_with_passkey(&rp(), ceremony, &bytes(&third))
        .unwrap();
    assert_eq!(v.lockout_state().unwrap().failures, 0);
}

#[test]
fn several_passkeys_each_unlock_and_removing_one_rotates_the_key() {
    let (_dir, path) = temp_vault();
    let v = stored(&path);
    let mut laptop = SoftwareAuthenticator::new("vault.example");
    let mut phone = SoftwareAuthenticator::new("vault.example");
    enrol(&v, &mut laptop, "laptop");
    let phone_slot = enrol(&v, &mut phone, "phone");
    for device in [&mut laptop, &mut phone] {
        v.lock();
        let (_, asserted, ceremony) = answer(&v, device);
        v.unlock_with_passkey(&rp(), ceremony, &bytes(&asserted))
            .unwrap();
    }
    let epoch = |p: &Path| -> u64 {
        serde_json::from_slice::<Value>(&std::fs::read(p).unwrap()).unwrap()["epoch"]
            .as_u64()
            .unwrap()
    };
    let before = epoch(&path);
    v.remove_slot(&phone_slot).unwrap();
    assert_eq!(epoch(&path), before + 1);
    v.lock();
    let (options, ceremony) = v.passkey_unlock_options(&rp()).unwrap();
    // The removed passkey is not asked for, and its answer is refused.
    assert!(phone.assert(&options, ORIGIN).is_err());
    drop(ceremony);
    let (_, asserted, ceremony) = answer(&v, &mut laptop);
    v.unlock_with_passkey(&rp(), ceremony, &bytes(&asserted))
        .unwrap();
    // The passphrase slot always stays.
    let passphrase = v.list_slots().unwrap()[0].id.clone();
    assert!(matches!(
        v.remove_slot(&passphrase),
        Err(Error::PassphraseSlotRequired)
    ));
}

#[test]
fn bad_prf_outputs_and_bad_assertions_are_refused_without_counting() {
    let (_dir, path) = temp_vault();
    let v = stored(&path);
    let mut device = SoftwareAuthenticator::new("vault.example");
    enrol(&v, &mut device, "key");
    v.lock();
    let refused = |r: Result<credlock::SlotId, Error>| {
        assert!(matches!(r, Err(Error::Passkey { .. })), "{r:?}");
    };
    for mode in [PrfMode::Short, PrfMode::AllZero, PrfMode::Omit] {
        device.knobs.prf = mode;
        let (_, asserted, ceremony) = answer(&v, &mut device);
        refused(v.unlock_with_passkey(&rp(), ceremony, &bytes(&asserted)));
    }
    device.knobs.prf = PrfMode::Honest;
    // A tampered signature.
    device.knobs.bad_signature = true;
    let (_, asserted, ceremony) = answer(&v, &mut device);
    refused(v.unlock_with_passkey(&rp(), ceremony, &bytes(&asserted)));
    device.knobs.bad_signature = false;
    // A wrong origin.
    let (options, ceremony) = v.passkey_unlock_options(&rp()).unwrap();
    let asserted = device.assert(&options, "https://evil.example").unwrap();
    refused(v.unlock_with_passkey(&rp(), ceremony, &bytes(&asserted)));
    // A replayed answer (another ceremony's challenge).
    let (_, old, old_ceremony) = answer(&v, &mut device);
    drop(old_ceremony);
    let (_, ceremony) = v.passkey_unlock_options(&rp()).unwrap();
    refused(v.unlock_with_passkey(&rp(), ceremony, &bytes(&old)));
    // Garbage.
    let (_, ceremony) = v.passkey_unlock_options(&rp()).unwrap();
    refused(v.unlock_with_passkey(&rp(), ceremony, b"{\"id\": 1}"));
    assert_eq!(
        v.lockout_state().unwrap().failures,
        0,
        "nothing was counted"
    );
    assert_eq!(v.status(), SessionState::Locked);
}

#[test]
fn wrong_prf_outputs_are_guesses_the_lockout_bounds() {
    let (_dir, path) = temp_vault();
    let v = stored(&path);
    let mut device = SoftwareAuthenticator::new("vault.example");
    enrol(&v, &mut device, "key");
    v.lock();
    for i in 0..5u8 {
        let (_, mut asserted, ceremony) = answer(&v, &mut device);
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([i + 1; 32]);
        asserted["clientExtensionResults"]["prf"]["results"]["first"] = forged.into();
        assert!(matches!(
            v.unlock_with_passkey(&rp(), ceremony, &bytes(&asserted)),
            Err(Error::WrongPassphrase)
        ));
    }
    let (_, asserted, ceremony) = answer(&v, &mut device);
    assert!(matches!(
        v.unlock_with_passkey(&rp(), ceremony, &bytes(&asserted)),
        Err(Error::LockedOut { .. })
    ));
    // The passphrase is locked out too: one lockout for every way in.
    assert!(matches!(
        v.unlock(&secret(PASS)),
        Err(Error::LockedOut { .. })
    ));
}

#[test]
fn a_passkey_slot_moved_to_another_vault_is_refused() {
    let (_dir, path) = temp_vault();
    let v = stored(&path);
    let mut device = SoftwareAuthenticator::new("vault.example");
    enrol(&v, &mut device, "key");
    drop(v);
    let (_d2, other_path) = temp_vault();
    let other = stored(&other_path);
    other.lock();
    let mine: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    let mut theirs: Value = serde_json::from_slice(&std::fs::read(&other_path).unwrap()).unwrap();
    theirs["slots"]
        .as_array_mut()
        .unwrap()
        .push(mine["slots"][1].clone());
    std::fs::write(&other_path, serde_json::to_vec(&theirs).unwrap()).unwrap();
    let (_, asserted, ceremony) = answer(&other, &mut device);
    let err = other
        .unlock_with_passkey(&rp(), ceremony, &bytes(&asserted))
        .unwrap_err();
    assert!(matches!(err, Error::CorruptVault { .. }), "{err:?}");
    assert_eq!(other.status(), SessionState::Locked);
}

#[test]
fn a_ceremony_is_used_once_and_in_order() {
    let (_dir, path) = temp_vault();
    let v = stored(&path);
    let mut device = SoftwareAuthenticator::new("vault.example");
    let (options, ceremony) = v.passkey_registration_options(&rp(), "alice").unwrap();
    let created = device.register(&options, ORIGIN).unwrap();
    // A registration answer handed to the last step: refused.
    assert!(matches!(
        v.add_passkey(&rp(), ceremony, &bytes(&created), "key"),
        Err(Error::Passkey { .. })
    ));
    // An unlock before any passkey exists.
    v.lock();
    assert!(matches!(
        v.passkey_unlock_options(&rp()),
        Err(Error::SlotNotFound)
    ));
    assert!(
        format!("{:?}", v.passkey_registration_options(&rp(), "alice").err()).contains("Locked")
    );
}

#[test]
fn a_ceremony_expires_after_five_minutes_on_the_vaults_clock() {
    let (_dir, path) = temp_vault();
    let clock = credlock::FakeClock::new();
    let v = common::builder(&path)
        .insecure_clock(clock.clone())
        .without_idle_timeout()
        .open()
        .unwrap();
    v.store(creds(), valid(PASS)).unwrap();
    let mut device = SoftwareAuthenticator::new("vault.example");
    enrol(&v, &mut device, "key");
    v.lock();
    let (_, asserted, ceremony) = answer(&v, &mut device);
    assert_eq!(
        format!("{ceremony:?}"),
        "PasskeyCeremony { step: \"unlock\", .. }"
    );
    clock.advance(credlock::passkeys::CEREMONY_TTL + std::time::Duration::from_secs(1));
    let err = v
        .unlock_with_passkey(&rp(), ceremony, &bytes(&asserted))
        .unwrap_err();
    assert!(matches!(err, Error::Passkey { .. }), "{err:?}");
    assert_eq!(v.status(), SessionState::Locked);
    // At the limit it is still good.
    let (_, asserted, ceremony) = answer(&v, &mut device);
    clock.advance(credlock::passkeys::CEREMONY_TTL);
    v.unlock_with_passkey(&rp(), ceremony, &bytes(&asserted))
        .unwrap();
}
