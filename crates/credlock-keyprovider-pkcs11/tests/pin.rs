//! A wrong PIN, in a process of its own: PKCS#11 logs a whole application in at once, so a
//! PIN is only checked while no other provider of the process is logged in to the token.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stderr,
    reason = "test code: helpers outside #[test] functions, and the documented skip message"
)]

mod common;

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;

use credlock_keyprovider::conformance::{KNOWN_ANSWER, KNOWN_INPUT, KNOWN_KEY};
use credlock_keyprovider::{KeyProvider, PinSource, Pkcs11Spec, ProviderError, ProviderKey};
use credlock_keyprovider_pkcs11::{Pkcs11KeyProvider, delete_key, import_key};

/// The only test in this binary: nothing else logs in before the wrong PIN is tried.
#[test]
fn a_wrong_pin_is_refused_and_never_printed_then_the_right_one_works() {
    let Some(t) = common::token() else { return };
    let _token = common::exclusive();
    let label = common::label("pin");
    let dir = tempfile::tempdir().unwrap();
    let wrong = "999999-not-the-pin";
    let pin_file = dir.path().join("wrong-pin");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&pin_file)
        .unwrap()
        .write_all(wrong.as_bytes())
        .unwrap();
    let bad = Pkcs11Spec::new(&t.module, &t.label, &label, PinSource::File(pin_file));
    let e = Pkcs11KeyProvider::open(&bad).unwrap_err();
    assert!(
        matches!(&e, ProviderError::PinRefused { reason, .. } if reason.contains("PinIncorrect")),
        "{e:?}"
    );
    assert!(!e.is_retryable());
    assert!(!e.to_string().contains(wrong), "{e}");
    assert!(!format!("{e:?}").contains(wrong), "{e:?}");

    // The right PIN still works (one wrong try does not lock the token).
    let good = t.spec(&label);
    delete_key(&good).unwrap();
    import_key(&good, &ProviderKey::from_bytes(KNOWN_KEY)).unwrap();
    let p = Pkcs11KeyProvider::open(&good).unwrap();
    assert_eq!(*p.apply(&KNOWN_INPUT).unwrap(), KNOWN_ANSWER);
    delete_key(&good).unwrap();
}
