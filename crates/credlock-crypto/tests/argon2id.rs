//! Argon2id: RFC 9106's test vector, known answers from an independent implementation
//! (`testdata/kdf-argon2id-nfkc/`, made by Python's `cryptography` on OpenSSL), a
//! differential test against RustCrypto's `argon2` with odd parameters, and the bounds.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::{hex, load_json, unhex};
use credlock_crypto::{
    Argon2Cost, Argon2Limits, Error, KdfAlgorithm, KdfParams, Normalization, Salt, derive_key,
};
use proptest::prelude::*;

#[derive(serde::Deserialize)]
struct Vectors {
    argon2id: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    passphrase: String,
    salt_hex: String,
    memory_kib: u32,
    passes: u32,
    lanes: u32,
    key_hex: String,
}

fn salt(hex_text: &str) -> Salt {
    Salt::from_slice(&unhex(hex_text)).unwrap()
}

/// RFC 9106 section 5.3: Argon2id, version 0x13, 32 KiB, 3 passes, 4 lanes, with a secret
/// and associated data (which only the `argon2` crate's own API takes; credlock derives
/// with neither). <https://www.rfc-editor.org/rfc/rfc9106#section-5.3>
#[test]
fn rfc9106_section_5_3() {
    let params = argon2::ParamsBuilder::new()
        .m_cost(32)
        .t_cost(3)
        .p_cost(4)
        .data(argon2::AssociatedData::new(&[0x04; 12]).unwrap())
        .output_len(32)
        .build()
        .unwrap();
    let secret = [0x03; 8];
    let ctx = argon2::Argon2::new_with_secret(
        &secret,
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        params,
    )
    .unwrap();
    let mut tag = [0u8; 32];
    ctx.hash_password_into(&[0x01; 32], &[0x02; 16], &mut tag)
        .unwrap();
    assert_eq!(
        hex(&tag),
        "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"
    );
}

#[test]
fn known_answers_from_openssl() {
    let vectors: Vectors = load_json("kdf-argon2id-nfkc/vectors.json");
    assert_eq!(vectors.argon2id.len(), 8);
    for case in &vectors.argon2id {
        let cost = Argon2Cost::new(case.memory_kib, case.passes, case.lanes);
        let params =
            KdfParams::insecure_argon2id(cost, salt(&case.salt_hex), &Argon2Limits::DEFAULT)
                .unwrap();
        assert_eq!(params.algorithm(), KdfAlgorithm::Argon2id);
        assert_eq!(params.iterations(), case.passes);
        let key = derive_key(&case.passphrase, &params).unwrap();
        assert_eq!(
            hex(key.expose_secret_bytes()),
            case.key_hex,
            "{} KiB, {} passes, {} lanes",
            case.memory_kib,
            case.passes,
            case.lanes
        );
    }
}

#[test]
fn floor_and_recommended_are_accepted_by_the_secure_constructor() {
    let vectors: Vectors = load_json("kdf-argon2id-nfkc/vectors.json");
    let mut seen = 0;
    for case in &vectors.argon2id {
        let cost = Argon2Cost::new(case.memory_kib, case.passes, case.lanes);
        if cost == Argon2Cost::MIN || cost == Argon2Cost::RECOMMENDED {
            let params =
                KdfParams::argon2id(cost, salt(&case.salt_hex), &Argon2Limits::DEFAULT).unwrap();
            let key = derive_key(&case.passphrase, &params).unwrap();
            assert_eq!(hex(key.expose_secret_bytes()), case.key_hex);
            seen += 1;
        }
    }
    assert_eq!(
        seen, 2,
        "the vectors hold the floor and the recommended cost"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// credlock's Argon2id is RustCrypto's `hash_password_into` with no secret and no
    /// associated data, whatever the (small, odd) parameters and the normalisation-stable
    /// passphrase.
    #[test]
    fn matches_the_argon2_crate(
        passphrase in "[ -~]{1,40}",
        salt_bytes in proptest::array::uniform16(any::<u8>()),
        lanes in 1u32..=5,
        extra_kib in 0u32..40,
        passes in 1u32..=4,
    ) {
        let memory_kib = 8 * lanes + extra_kib;
        let cost = Argon2Cost::new(memory_kib, passes, lanes);
        let params = KdfParams::insecure_argon2id(
            cost, Salt::from_bytes(salt_bytes), &Argon2Limits::DEFAULT,
        ).unwrap();
        let ours = derive_key(&passphrase, &params).unwrap();
        let mut theirs = [0u8; 32];
        argon2::Argon2::new(
            argon2::Algorithm::Argon2id,
            argon2::Version::V0x13,
            argon2::Params::new(memory_kib, passes, lanes, Some(32)).unwrap(),
        )
        .hash_password_into(passphrase.as_bytes(), &salt_bytes, &mut theirs)
        .unwrap();
        prop_assert_eq!(ours.expose_secret_bytes(), &theirs[..]);
    }
}

fn refused(cost: Argon2Cost, limits: &Argon2Limits) -> (&'static str, u64, u64, u64) {
    match KdfParams::argon2id(cost, Salt::from_bytes([0; 16]), limits) {
        Err(Error::Argon2ParamOutOfRange {
            param,
            value,
            min,
            max,
        }) => (param, value, min, max),
        other => panic!("expected a refusal for {cost:?}, got {other:?}"),
    }
}

#[test]
fn bounds_are_checked_before_any_allocation() {
    let limits = Argon2Limits::DEFAULT;
    // Below OWASP's floor.
    assert_eq!(
        refused(Argon2Cost::new(19 * 1024 - 1, 2, 1), &limits),
        ("memory_kib", 19_455, 19_456, 1_048_576)
    );
    assert_eq!(
        refused(Argon2Cost::new(19 * 1024, 1, 1), &limits),
        ("passes", 1, 2, 10)
    );
    assert_eq!(
        refused(Argon2Cost::new(19 * 1024, 2, 0), &limits),
        ("lanes", 0, 1, 16)
    );
    assert_eq!(
        refused(Argon2Cost::new(19 * 1024, 2, 17), &limits),
        ("lanes", 17, 1, 16)
    );
    // Above the caps: these would allocate 4 TiB or run for hours if they were not refused
    // before any work; the test finishes at once.
    assert_eq!(
        refused(Argon2Cost::new(u32::MAX, 2, 1), &limits),
        ("memory_kib", u64::from(u32::MAX), 19_456, 1_048_576)
    );
    assert_eq!(
        refused(Argon2Cost::new(19 * 1024, u32::MAX, 1), &limits),
        ("passes", u64::from(u32::MAX), 2, 10)
    );
    // An application's own, lower caps.
    let tight = Argon2Limits::new(32 * 1024, 3).unwrap();
    assert_eq!(
        refused(Argon2Cost::RECOMMENDED, &tight),
        ("memory_kib", 65_536, 19_456, 32_768)
    );
    assert!(
        KdfParams::argon2id(
            Argon2Cost::new(32 * 1024, 3, 1),
            Salt::from_bytes([0; 16]),
            &tight
        )
        .is_ok()
    );
    // Caps below the floor would refuse every vault.
    assert!(matches!(
        Argon2Limits::new(1024, 10),
        Err(Error::Argon2ParamOutOfRange {
            param: "max_memory_kib",
            ..
        })
    ));
    assert!(matches!(
        Argon2Limits::new(1024 * 1024, 1),
        Err(Error::Argon2ParamOutOfRange {
            param: "max_passes",
            ..
        })
    ));
    // The insecure floor still refuses what Argon2 itself cannot run.
    assert!(matches!(
        KdfParams::insecure_argon2id(
            Argon2Cost::new(15, 1, 2),
            Salt::from_bytes([0; 16]),
            &limits
        ),
        Err(Error::Argon2ParamOutOfRange {
            param: "memory_kib",
            ..
        })
    ));
    assert!(matches!(
        KdfParams::insecure_argon2id(Argon2Cost::new(8, 0, 1), Salt::from_bytes([0; 16]), &limits),
        Err(Error::Argon2ParamOutOfRange {
            param: "passes",
            ..
        })
    ));
}

#[test]
fn argon2id_params_keep_their_normalisation_and_fresh_salts() {
    let params = KdfParams::insecure_argon2id(
        Argon2Cost::new(8, 1, 1),
        Salt::from_bytes([9; 16]),
        &Argon2Limits::DEFAULT,
    )
    .unwrap()
    .with_normalization(Normalization::Nfkc);
    let fresh = params.with_fresh_salt().unwrap();
    assert_ne!(fresh.salt(), params.salt());
    assert_eq!(fresh.argon2_cost(), params.argon2_cost());
    assert_eq!(fresh.normalization(), Normalization::Nfkc);
    assert_eq!(
        derive_key("caf\u{e9}", &params).unwrap(),
        derive_key("cafe\u{301}", &params).unwrap()
    );
    assert!(matches!(
        derive_key("", &params),
        Err(Error::EmptyPassphrase)
    ));
}
