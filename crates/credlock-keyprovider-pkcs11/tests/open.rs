//! `open` without a token: delegation of the other kinds, and the errors found before any
//! token is reached.
#![allow(clippy::unwrap_used, reason = "test code")]

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;

use credlock_keyprovider::{ProviderError, ProviderErrorKind, parse_spec};

#[test]
fn other_kinds_open_through_the_contract_crate() {
    let e = credlock_keyprovider_pkcs11::open(&parse_spec("file:/nonexistent/pepper").unwrap())
        .unwrap_err();
    assert_eq!(
        e,
        ProviderError::KeyNotFound {
            provider: "file:/nonexistent/pepper".into()
        }
    );
}

#[test]
fn a_missing_pin_file_is_pin_missing() {
    let spec = parse_spec(
        "pkcs11:module=/nonexistent/libpkcs11.so;token=t;key=k;pin-file=/nonexistent/pin",
    )
    .unwrap();
    let e = credlock_keyprovider_pkcs11::open(&spec).unwrap_err();
    assert!(matches!(e, ProviderError::PinMissing { .. }), "{e:?}");
    assert!(e.to_string().contains("/nonexistent/pin"), "{e}");
}

#[test]
fn a_missing_module_is_module_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let pin = dir.path().join("pin");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&pin)
        .unwrap()
        .write_all(b"1234\n")
        .unwrap();
    let spec = parse_spec(&format!(
        "pkcs11:module=/nonexistent/libpkcs11.so;token=t;key=k;pin-file={}",
        pin.display()
    ))
    .unwrap();
    let e = credlock_keyprovider_pkcs11::open(&spec).unwrap_err();
    assert!(matches!(e, ProviderError::ModuleNotFound { .. }), "{e:?}");
    assert_eq!(e.kind(), ProviderErrorKind::KeyNotFound);
    assert!(!e.is_retryable());
    assert!(e.to_string().contains("/nonexistent/libpkcs11.so"), "{e}");
    assert!(!e.to_string().contains("1234"), "{e}");
}
