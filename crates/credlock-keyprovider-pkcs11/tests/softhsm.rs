//! The PKCS#11 provider against a real SoftHSM2 token (`scripts/softhsm-init.sh`).
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stderr,
    reason = "test code: helpers outside #[test] functions, and the documented skip message"
)]

mod common;

use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::sync::Arc;
use std::time::Duration;

use credlock_keyprovider::conformance::{
    KNOWN_ANSWER, KNOWN_INPUT, KNOWN_KEY, conformance, conformance_with_known_key,
};
use credlock_keyprovider::{
    FileKeyProvider, KeyProvider, PinSource, Pkcs11Spec, ProviderError, ProviderErrorKind,
    ProviderKey, ProviderSpec, WithTimeout, parse_spec, reference_apply,
};
use credlock_keyprovider_pkcs11::{Pkcs11KeyProvider, delete_key, generate_key, import_key};

#[test]
fn imported_known_key_gives_the_shared_vector_and_matches_a_file() {
    let Some(t) = common::token() else { return };
    let _token = common::exclusive();
    let spec = t.spec(&common::label("known"));
    delete_key(&spec).unwrap();
    import_key(&spec, &ProviderKey::from_bytes(KNOWN_KEY)).unwrap();
    let p = Pkcs11KeyProvider::open(&spec).unwrap();
    assert_eq!(*p.apply(&KNOWN_INPUT).unwrap(), KNOWN_ANSWER);
    conformance(&p);
    conformance_with_known_key(&p, &KNOWN_KEY);
    assert_eq!(
        p.identity().to_string(),
        format!("pkcs11:token={};key={}", t.label, spec.key)
    );
    let debug = format!("{p:?}");
    assert!(debug.contains("[REDACTED]"), "{debug}");
    assert!(!debug.contains(&std::env::var("CREDLOCK_PKCS11_PIN").unwrap()));

    // The same key in a file gives the same outputs: a key can move between providers.
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
    let file = FileKeyProvider::open(&path).unwrap();
    for input in [[0u8; 32], [0xff; 32], [0x5a; 32]] {
        assert_eq!(*p.apply(&input).unwrap(), *file.apply(&input).unwrap());
    }
    assert_eq!(delete_key(&spec).unwrap(), 1);
}

#[test]
fn a_generated_key_never_leaves_the_token() {
    let Some(t) = common::token() else { return };
    let _token = common::exclusive();
    let spec = t.spec(&common::label("generated"));
    delete_key(&spec).unwrap();
    generate_key(&spec).unwrap();
    let p = Pkcs11KeyProvider::open(&spec).unwrap();
    conformance(&p);
    assert_ne!(*p.apply(&KNOWN_INPUT).unwrap(), KNOWN_ANSWER);
    // A second key under the same label is refused.
    let e = generate_key(&spec).unwrap_err();
    assert!(matches!(e, ProviderError::Malformed { .. }), "{e:?}");
    let e = import_key(&spec, &ProviderKey::from_bytes([1; 32])).unwrap_err();
    assert!(matches!(e, ProviderError::Malformed { .. }), "{e:?}");
    delete_key(&spec).unwrap();
}

#[test]
fn concurrent_callers_each_get_the_right_answer() {
    let Some(t) = common::token() else { return };
    let _token = common::exclusive();
    let spec = t.spec(&common::label("concurrent"));
    delete_key(&spec).unwrap();
    import_key(&spec, &ProviderKey::from_bytes([0x11; 32])).unwrap();
    let p = Arc::new(Pkcs11KeyProvider::open(&spec).unwrap());
    std::thread::scope(|s| {
        for thread in 0..8u8 {
            let p = Arc::clone(&p);
            s.spawn(move || {
                for i in 0..40u8 {
                    let input = [thread.wrapping_mul(41) ^ i; 32];
                    assert_eq!(
                        *p.apply(&input).unwrap(),
                        *reference_apply(&[0x11; 32], &input)
                    );
                }
            });
        }
    });
    delete_key(&spec).unwrap();
}

#[test]
fn the_spec_string_opens_it_and_with_timeout_wraps_it() {
    let Some(t) = common::token() else { return };
    let _token = common::exclusive();
    let key = common::label("spec");
    let spec = t.spec(&key);
    delete_key(&spec).unwrap();
    import_key(&spec, &ProviderKey::from_bytes(KNOWN_KEY)).unwrap();
    let text = format!(
        "pkcs11:module={};token={};key={key};pin-env=CREDLOCK_PKCS11_PIN",
        t.module.display(),
        t.label
    );
    let parsed = parse_spec(&text).unwrap();
    assert_eq!(parsed, ProviderSpec::Pkcs11(spec.clone()));
    let p = WithTimeout::with_limits(
        credlock_keyprovider_pkcs11::open(&parsed).unwrap(),
        Duration::from_secs(5),
        4,
    )
    .unwrap();
    assert_eq!(*p.apply(&KNOWN_INPUT).unwrap(), KNOWN_ANSWER);
    conformance_with_known_key(&p, &KNOWN_KEY);
    delete_key(&spec).unwrap();
}

#[test]
fn missing_key_token_module_and_pin_are_typed() {
    let Some(t) = common::token() else { return };
    let _token = common::exclusive();
    let e = Pkcs11KeyProvider::open(&t.spec(&common::label("absent"))).unwrap_err();
    assert!(matches!(e, ProviderError::KeyNotFound { .. }), "{e:?}");
    assert!(e.to_string().contains("absent"), "{e}");

    let mut other = t.spec("pepper");
    other.token = "no-such-token".into();
    let e = Pkcs11KeyProvider::open(&other).unwrap_err();
    assert!(matches!(e, ProviderError::TokenNotFound { .. }), "{e:?}");
    assert!(e.to_string().contains("no-such-token"), "{e}");

    let mut other = t.spec("pepper");
    other.module = "/nonexistent/libpkcs11.so".into();
    let e = Pkcs11KeyProvider::open(&other).unwrap_err();
    assert!(matches!(e, ProviderError::ModuleNotFound { .. }), "{e:?}");
    assert_eq!(e.kind(), ProviderErrorKind::KeyNotFound);

    let mut other = t.spec("pepper");
    other.pin = PinSource::Env("CREDLOCK_TEST_NO_SUCH_PIN_VARIABLE".into());
    let e = Pkcs11KeyProvider::open(&other).unwrap_err();
    assert!(matches!(e, ProviderError::PinMissing { .. }), "{e:?}");
}

#[test]
fn a_key_that_could_leave_the_token_is_refused() {
    use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
    use cryptoki::object::{Attribute, KeyType, ObjectClass};
    use cryptoki::session::UserType;
    use cryptoki::types::AuthPin;

    let Some(t) = common::token() else { return };
    let _token = common::exclusive();
    // Load the module through the provider first, so this process initialises it once.
    let _ = Pkcs11KeyProvider::open(&t.spec("initialise-only"));
    let ctx = Pkcs11::new(&t.module).unwrap();
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(
            cryptoki::error::RvError::CryptokiAlreadyInitialized,
            _,
        )) => {}
        Err(e) => panic!("{e}"),
    }
    let slot = ctx
        .get_slots_with_initialized_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label().trim_end() == t.label)
        .unwrap();
    let session = ctx.open_rw_session(slot).unwrap();
    let pin = AuthPin::from(std::env::var("CREDLOCK_PKCS11_PIN").unwrap());
    match session.login(UserType::User, Some(&pin)) {
        Ok(())
        | Err(cryptoki::error::Error::Pkcs11(cryptoki::error::RvError::UserAlreadyLoggedIn, _)) => {
        }
        Err(e) => panic!("{e}"),
    }
    let cases: [(&str, Vec<Attribute>, &str); 3] = [
        (
            "extractable",
            vec![
                Attribute::Sensitive(true),
                Attribute::Extractable(true),
                Attribute::Sign(true),
            ],
            "extractable",
        ),
        (
            "not-sensitive",
            vec![
                Attribute::Sensitive(false),
                Attribute::Extractable(false),
                Attribute::Sign(true),
            ],
            "not sensitive",
        ),
        (
            "no-sign",
            vec![
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Sign(false),
            ],
            "may not sign",
        ),
    ];
    for (name, flags, expect) in cases {
        let label = common::label(name);
        let spec = t.spec(&label);
        delete_key(&spec).unwrap();
        let mut template = vec![
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::GENERIC_SECRET),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Value(vec![0x22; 32]),
        ];
        template.extend(flags);
        session.create_object(&template).unwrap();
        let e = Pkcs11KeyProvider::open(&spec).unwrap_err();
        assert!(
            matches!(&e, ProviderError::Malformed { reason, .. } if reason.contains(expect)),
            "{name}: {e:?}"
        );
        delete_key(&spec).unwrap();
    }

    // A 16-byte key is refused too: the same 32-byte key must work in every provider.
    let label = common::label("short");
    let spec = t.spec(&label);
    delete_key(&spec).unwrap();
    session
        .create_object(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::KeyType(KeyType::GENERIC_SECRET),
            Attribute::Token(true),
            Attribute::Private(true),
            Attribute::Sensitive(true),
            Attribute::Extractable(false),
            Attribute::Sign(true),
            Attribute::Label(label.as_bytes().to_vec()),
            Attribute::Value(vec![0x22; 16]),
        ])
        .unwrap();
    let e = Pkcs11KeyProvider::open(&spec).unwrap_err();
    assert!(matches!(e, ProviderError::Malformed { .. }), "{e:?}");
    delete_key(&spec).unwrap();

    // Two keys under one label: ambiguous, refused.
    let label = common::label("twice");
    let spec = t.spec(&label);
    delete_key(&spec).unwrap();
    for _ in 0..2 {
        session
            .create_object(&[
                Attribute::Class(ObjectClass::SECRET_KEY),
                Attribute::KeyType(KeyType::GENERIC_SECRET),
                Attribute::Token(true),
                Attribute::Private(true),
                Attribute::Sensitive(true),
                Attribute::Extractable(false),
                Attribute::Sign(true),
                Attribute::Label(label.as_bytes().to_vec()),
                Attribute::Value(vec![0x22; 32]),
            ])
            .unwrap();
    }
    let e = Pkcs11KeyProvider::open(&spec).unwrap_err();
    assert!(
        matches!(&e, ProviderError::Malformed { reason, .. } if reason.contains("2 secret keys")),
        "{e:?}"
    );
    assert_eq!(delete_key(&spec).unwrap(), 2);
}

#[test]
fn a_spec_with_a_pin_file_works() {
    let Some(t) = common::token() else { return };
    let _token = common::exclusive();
    let dir = tempfile::tempdir().unwrap();
    let pin_file = dir.path().join("pin");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&pin_file)
        .unwrap()
        .write_all(format!("{}\n", std::env::var("CREDLOCK_PKCS11_PIN").unwrap()).as_bytes())
        .unwrap();
    let label = common::label("pin-file");
    let spec = Pkcs11Spec::new(&t.module, &t.label, &label, PinSource::File(pin_file));
    delete_key(&spec).unwrap();
    import_key(&spec, &ProviderKey::from_bytes(KNOWN_KEY)).unwrap();
    let p = Pkcs11KeyProvider::open(&spec).unwrap();
    assert_eq!(*p.apply(&KNOWN_INPUT).unwrap(), KNOWN_ANSWER);
    delete_key(&spec).unwrap();
}
