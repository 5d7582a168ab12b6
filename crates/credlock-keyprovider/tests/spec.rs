//! `parse_spec`: the syntax, the refusals, and what opening each kind does in this build.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test code: helpers outside #[test] functions"
)]

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::PathBuf;

use credlock_keyprovider::conformance::{KNOWN_ANSWER, KNOWN_INPUT, KNOWN_KEY};
use credlock_keyprovider::{
    PinSource, Pkcs11Spec, ProviderError, ProviderErrorKind, ProviderSpec, parse_spec,
};

#[test]
fn every_kind_parses_and_prints_back() {
    let cases = [
        (
            "file:/run/credentials/app.service/pepper",
            ProviderSpec::File {
                path: PathBuf::from("/run/credentials/app.service/pepper"),
            },
        ),
        (
            "systemd:pepper",
            ProviderSpec::Systemd {
                name: "pepper".into(),
            },
        ),
        (
            "keyring:credlock/pepper",
            ProviderSpec::Keyring {
                service: "credlock".into(),
                user: "pepper".into(),
            },
        ),
        (
            "pkcs11:module=/usr/lib/softhsm/libsofthsm2.so;token=credlock;key=pepper;pin-env=CREDLOCK_PKCS11_PIN",
            ProviderSpec::Pkcs11(Pkcs11Spec::new(
                "/usr/lib/softhsm/libsofthsm2.so",
                "credlock",
                "pepper",
                PinSource::Env("CREDLOCK_PKCS11_PIN".into()),
            )),
        ),
        (
            "pkcs11:module=/m.so;token=t;key=k;pin-file=/etc/credlock/pin",
            ProviderSpec::Pkcs11(Pkcs11Spec::new(
                "/m.so",
                "t",
                "k",
                PinSource::File("/etc/credlock/pin".into()),
            )),
        ),
    ];
    for (text, want) in cases {
        let got = parse_spec(text).unwrap();
        assert_eq!(got, want, "{text}");
        assert_eq!(got.to_string(), text);
        assert_eq!(ProviderSpec::parse(text).unwrap(), want);
    }
    // Attribute order and a trailing ';' do not matter; the canonical form is fixed.
    let spec = parse_spec("pkcs11:pin-env=P;key=k;token=t;module=/m.so;").unwrap();
    assert_eq!(
        spec.to_string(),
        "pkcs11:module=/m.so;token=t;key=k;pin-env=P"
    );
    assert_eq!(spec.kind(), "pkcs11");
    // A user may contain '/', the service may not.
    let ProviderSpec::Keyring { service, user } = parse_spec("keyring:svc/a/b").unwrap() else {
        panic!()
    };
    assert_eq!((service.as_str(), user.as_str()), ("svc", "a/b"));
}

#[test]
fn bad_specs_are_typed_errors_that_never_echo_values() {
    let bad = [
        "",
        "pepper",
        "tpm:pepper",
        "file:relative/path",
        "file:",
        "systemd:",
        "systemd:../x",
        "systemd:a/b",
        "keyring:",
        "keyring:service",
        "keyring:/user",
        "keyring:service/",
        "pkcs11:",
        "pkcs11:token=t;key=k;pin-env=P",
        "pkcs11:module=/m.so;key=k;pin-env=P",
        "pkcs11:module=/m.so;token=t;pin-env=P",
        "pkcs11:module=/m.so;token=t;key=k",
        "pkcs11:module=/m.so;token=t;key=k;pin-env=P;pin-file=/f",
        "pkcs11:module=/m.so;token=t;token=u;key=k;pin-env=P",
        "pkcs11:module=/m.so;token=t;key=k;pin-file=relative",
        "pkcs11:module=/m.so;token=;key=k;pin-env=P",
        "pkcs11:module=/m.so;token;key=k;pin-env=P",
    ];
    for spec in bad {
        let e = parse_spec(spec).unwrap_err();
        assert!(
            matches!(e, ProviderError::InvalidSpec { .. }),
            "{spec:?}: {e:?}"
        );
        assert_eq!(e.kind(), ProviderErrorKind::Configuration);
        assert!(!e.is_retryable());
    }
    // A PIN typed into the spec is refused, and not repeated.
    for pin_attr in ["pin", "pin-value", "user-pin", "so-pin"] {
        let spec = format!("pkcs11:module=/m.so;token=t;key=k;{pin_attr}=s3cr3t-9876");
        let e = parse_spec(&spec).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("refused"), "{msg}");
        assert!(!msg.contains("s3cr3t-9876"), "{msg}");
    }
    let e = parse_spec("pkcs11:module=/m.so;token=t;key=k;pin-env=P;passwd=hunter2").unwrap_err();
    assert!(e.to_string().contains("passwd"), "{e}");
    assert!(!e.to_string().contains("hunter2"), "{e}");
}

#[test]
fn opening_kinds_this_crate_lacks_is_unsupported() {
    let spec = parse_spec("pkcs11:module=/m.so;token=t;key=k;pin-env=P").unwrap();
    let e = spec.open().unwrap_err();
    assert!(
        matches!(&e, ProviderError::Unsupported { kind, .. } if kind == "pkcs11"),
        "{e:?}"
    );
    assert!(e.to_string().contains("credlock-keyprovider-pkcs11"), "{e}");

    let keyring = parse_spec("keyring:credlock-test-absent/none")
        .unwrap()
        .open();
    if cfg!(all(feature = "keyring", target_os = "linux")) {
        // Built with the keyring: the entry does not exist.
        assert!(
            matches!(keyring, Err(ProviderError::KeyNotFound { .. })),
            "{keyring:?}"
        );
    } else {
        assert!(
            matches!(&keyring, Err(ProviderError::Unsupported { kind, .. }) if kind == "keyring"),
            "{keyring:?}"
        );
    }
}

#[test]
fn a_file_spec_opens_a_working_provider() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pepper");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .unwrap()
        .write_all(&KNOWN_KEY)
        .unwrap();
    let p = parse_spec(&format!("file:{}", path.display()))
        .unwrap()
        .open()
        .unwrap();
    assert_eq!(*p.apply(&KNOWN_INPUT).unwrap(), KNOWN_ANSWER);
    assert_eq!(p.identity().to_string(), format!("file:{}", path.display()));
}

#[test]
fn pin_sources_read_the_variable_or_a_private_file() {
    let e = PinSource::Env("CREDLOCK_TEST_SURELY_UNSET_VARIABLE".into())
        .read("pkcs11:token=t;key=k")
        .unwrap_err();
    assert!(matches!(e, ProviderError::PinMissing { .. }), "{e:?}");
    assert!(
        e.to_string()
            .contains("CREDLOCK_TEST_SURELY_UNSET_VARIABLE")
    );
    assert!(e.to_string().contains("pkcs11:token=t;key=k"));

    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &[u8], mode: u32| {
        let path = dir.path().join(name);
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&path)
            .unwrap();
        f.write_all(text).unwrap();
        path
    };
    let good = write("pin", b"123456\n", 0o600);
    assert_eq!(PinSource::File(good).read("p").unwrap().as_str(), "123456");
    let open = write("pin-open", b"123456\n", 0o644);
    let e = PinSource::File(open).read("p").unwrap_err();
    assert!(matches!(e, ProviderError::Permissions { .. }), "{e:?}");
    assert!(!e.to_string().contains("123456"));
    let empty = write("pin-empty", b"\n", 0o600);
    let e = PinSource::File(empty).read("p").unwrap_err();
    assert!(matches!(e, ProviderError::PinMissing { .. }), "{e:?}");
}
