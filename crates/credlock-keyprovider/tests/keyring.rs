//! The keyring provider against the real Linux kernel keyring (keyutils): no D-Bus, works
//! headless.
//!
//! Storing a key links it into the user's persistent keyring, which the kernel allows only to
//! a process that possesses it through a session keyring of its own. A login shell or a
//! systemd service has one; a container's or CI's process often has none. So the tests that
//! store keys (`session_*`, ignored when run directly) run in a child process started by
//! `keyctl session -` (package keyutils), which gives the child a fresh session keyring.
#![cfg(all(feature = "keyring", target_os = "linux"))]
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: helpers outside #[test] functions"
)]

use credlock_keyprovider::conformance::{
    KNOWN_ANSWER, KNOWN_INPUT, KNOWN_KEY, conformance, conformance_with_known_key,
};
use credlock_keyprovider::{KeyProvider, KeyringKeyProvider, ProviderError, ProviderKey};

/// A service name no other test or run uses.
fn service(test: &str) -> String {
    format!("credlock-test-{}-{test}", std::process::id())
}

#[test]
#[ignore = "run in a fresh session keyring by in_a_session_keyring"]
fn session_stored_key_round_trips_and_passes_conformance() {
    let svc = service("round-trip");
    KeyringKeyProvider::store_key(&svc, "pepper", &ProviderKey::from_bytes(KNOWN_KEY)).unwrap();
    let p = KeyringKeyProvider::open(&svc, "pepper").unwrap();
    assert_eq!(*p.apply(&KNOWN_INPUT).unwrap(), KNOWN_ANSWER);
    assert_eq!(p.identity().to_string(), format!("keyring:{svc}/pepper"));
    assert!(format!("{p:?}").contains("[REDACTED]"));
    conformance(&p);
    conformance_with_known_key(&p, &KNOWN_KEY);

    // Replacing the key changes what a new open reads; the open provider keeps its key.
    KeyringKeyProvider::store_key(&svc, "pepper", &ProviderKey::from_bytes([0x55; 32])).unwrap();
    let q = KeyringKeyProvider::open(&svc, "pepper").unwrap();
    conformance_with_known_key(&q, &[0x55; 32]);
    assert_eq!(*p.apply(&KNOWN_INPUT).unwrap(), KNOWN_ANSWER);

    KeyringKeyProvider::delete_key(&svc, "pepper").unwrap();
    let e = KeyringKeyProvider::open(&svc, "pepper").unwrap_err();
    assert!(matches!(e, ProviderError::KeyNotFound { .. }), "{e:?}");
}

#[test]
fn a_missing_entry_is_key_not_found() {
    let svc = service("missing");
    let e = KeyringKeyProvider::open(&svc, "nobody").unwrap_err();
    assert_eq!(
        e,
        ProviderError::KeyNotFound {
            provider: format!("keyring:{svc}/nobody")
        }
    );
    let e = KeyringKeyProvider::delete_key(&svc, "nobody").unwrap_err();
    assert!(matches!(e, ProviderError::KeyNotFound { .. }), "{e:?}");
}

#[test]
#[ignore = "run in a fresh session keyring by in_a_session_keyring"]
fn session_a_secret_of_the_wrong_length_is_malformed() {
    use keyring_core::api::CredentialStoreApi as _;
    let svc = service("short");
    let store = linux_keyutils_keyring_store::Store::new().unwrap();
    let entry = store.build(&svc, "pepper", None).unwrap();
    entry.set_secret(&[7u8; 31]).unwrap();
    let e = KeyringKeyProvider::open(&svc, "pepper").unwrap_err();
    assert!(matches!(e, ProviderError::Malformed { .. }), "{e:?}");
    assert!(e.to_string().contains("31 bytes"), "{e}");
    entry
        .set_secret(b"a passphrase, not a key, of some length")
        .unwrap();
    let e = KeyringKeyProvider::open(&svc, "pepper").unwrap_err();
    assert!(!e.to_string().contains("passphrase"), "{e}");
    entry.delete_credential().unwrap();
}

#[test]
#[ignore = "run in a fresh session keyring by in_a_session_keyring"]
fn session_the_spec_opens_the_same_key() {
    let svc = service("spec");
    KeyringKeyProvider::store_key(&svc, "pepper", &ProviderKey::from_bytes(KNOWN_KEY)).unwrap();
    let p = credlock_keyprovider::parse_spec(&format!("keyring:{svc}/pepper"))
        .unwrap()
        .open()
        .unwrap();
    assert_eq!(*p.apply(&KNOWN_INPUT).unwrap(), KNOWN_ANSWER);
    KeyringKeyProvider::delete_key(&svc, "pepper").unwrap();
}

#[test]
fn in_a_session_keyring() {
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new("keyctl")
        .args(["session", "-"])
        .arg(&exe)
        .args(["session_", "--ignored", "--test-threads=1"])
        .output();
    let out = match out {
        Ok(out) => out,
        Err(e) => panic!(
            "cannot run keyctl ({e}): install keyutils (apt-get install -y keyutils); the \
             keyring tests need `keyctl session -`"
        ),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("3 passed; 0 failed"), "{stdout}");
}
