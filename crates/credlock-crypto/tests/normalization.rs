//! Unicode normalisation before hashing: NFKC against Python's `unicodedata` + pyca PBKDF2
//! (`testdata/kdf-argon2id-nfkc/`), and NFC/NFD pairs.

#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use common::{hex, load_json, unhex};
use credlock_crypto::{KdfParams, Normalization, Salt, derive_key, derive_key_from_bytes};

#[derive(serde::Deserialize)]
struct Vectors {
    pbkdf2_nfkc: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    passphrase: String,
    normalized: String,
    salt_hex: String,
    iterations: u64,
    key_hex: String,
}

#[test]
fn nfkc_keys_match_python() {
    let vectors: Vectors = load_json("kdf-argon2id-nfkc/vectors.json");
    assert_eq!(vectors.pbkdf2_nfkc.len(), 5);
    for case in &vectors.pbkdf2_nfkc {
        assert_eq!(
            *Normalization::Nfkc.apply(&case.passphrase),
            case.normalized
        );
        let salt = Salt::from_slice(&unhex(&case.salt_hex)).unwrap();
        let params = KdfParams::insecure_low_cost(case.iterations, salt)
            .unwrap()
            .with_normalization(Normalization::Nfkc);
        let key = derive_key(&case.passphrase, &params).unwrap();
        assert_eq!(
            hex(key.expose_secret_bytes()),
            case.key_hex,
            "{:?}",
            case.passphrase
        );
        // The same through the bytes entry point.
        let again = derive_key_from_bytes(case.passphrase.as_bytes(), &params).unwrap();
        assert_eq!(again, key);
    }
}

/// Pairs that look alike and are the same text under NFKC, but different bytes.
const PAIRS: [(&str, &str); 4] = [
    ("caf\u{e9}", "cafe\u{301}"),                     // é: NFC vs NFD
    ("P\u{e4}ssw\u{f6}rd", "Pa\u{308}sswo\u{308}rd"), // ä, ö
    ("\u{212b}ngstr\u{f6}m", "\u{c5}ngstro\u{308}m"), // Angstrom sign vs Å
    ("\u{fb01}sh", "fish"),                           // ligature
];

#[test]
fn nfc_nfd_pairs_derive_one_key_under_nfkc_and_two_raw() {
    let raw = KdfParams::insecure_low_cost(1_000, Salt::from_bytes([7; 16])).unwrap();
    assert_eq!(
        raw.normalization(),
        Normalization::None,
        "raw bytes by default"
    );
    let nfkc = raw.with_normalization(Normalization::Nfkc);
    for (a, b) in PAIRS {
        assert_ne!(a.as_bytes(), b.as_bytes());
        assert_eq!(
            derive_key(a, &nfkc).unwrap(),
            derive_key(b, &nfkc).unwrap(),
            "{a:?}"
        );
        assert_ne!(
            derive_key(a, &raw).unwrap(),
            derive_key(b, &raw).unwrap(),
            "{a:?}"
        );
    }
    // An ASCII passphrase is its own NFKC form: both settings give the same key, so a
    // vault moving from raw bytes to NFKC keeps opening with it.
    assert_eq!(
        derive_key("Tangerine-Rocket-42!", &raw).unwrap(),
        derive_key("Tangerine-Rocket-42!", &nfkc).unwrap()
    );
}

#[test]
fn bytes_that_are_not_utf8_are_hashed_as_they_are() {
    let raw = KdfParams::insecure_low_cost(1_000, Salt::from_bytes([7; 16])).unwrap();
    let nfkc = raw.with_normalization(Normalization::Nfkc);
    let bytes = b"caf\xe9"; // Latin-1, not UTF-8
    assert_eq!(
        derive_key_from_bytes(bytes, &raw).unwrap(),
        derive_key_from_bytes(bytes, &nfkc).unwrap()
    );
}

#[test]
fn names_round_trip() {
    for n in [Normalization::None, Normalization::Nfkc] {
        assert_eq!(Normalization::from_name(n.name()), Some(n));
        assert_eq!(n.to_string(), n.name());
    }
    assert_eq!(Normalization::from_name("NFKC"), None);
    assert_eq!(Normalization::from_name("nfd"), None);
}
