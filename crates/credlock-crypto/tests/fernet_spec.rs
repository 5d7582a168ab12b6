//! Every case of the official Fernet spec vectors in `testdata/fernet-spec/`.

mod common;

use common::{load_json, rfc3339_to_unix};
use credlock_crypto::{Error, FernetKey, insecure};
use serde::Deserialize;

#[derive(Deserialize)]
struct Generate {
    token: String,
    now: String,
    iv: Vec<u8>,
    src: String,
    secret: String,
}

#[derive(Deserialize)]
struct Verify {
    token: String,
    now: String,
    ttl_sec: u64,
    src: String,
    secret: String,
}

#[derive(Deserialize)]
struct Invalid {
    desc: String,
    token: String,
    now: String,
    ttl_sec: u64,
    secret: String,
}

#[test]
fn generate_vectors_are_byte_exact() {
    let cases: Vec<Generate> = load_json("fernet-spec/generate.json");
    assert!(!cases.is_empty());
    for case in &cases {
        let key = FernetKey::from_base64url(&case.secret).unwrap();
        let iv: [u8; 16] = case.iv.as_slice().try_into().unwrap();
        let token = insecure::seal_with_time_and_iv(
            &key,
            case.src.as_bytes(),
            rfc3339_to_unix(&case.now),
            &iv,
        );
        assert_eq!(token, case.token);
    }
    eprintln!("fernet spec generate: {} cases", cases.len());
}

#[test]
fn verify_vectors_open_with_their_ttl_and_without() {
    let cases: Vec<Verify> = load_json("fernet-spec/verify.json");
    assert!(!cases.is_empty());
    for case in &cases {
        let key = FernetKey::from_base64url(&case.secret).unwrap();
        let now = rfc3339_to_unix(&case.now);
        let opened = insecure::open_at_time(&key, &case.token, Some(case.ttl_sec), now).unwrap();
        assert_eq!(opened.as_slice(), case.src.as_bytes());
        assert_eq!(
            key.open(&case.token).unwrap().as_slice(),
            case.src.as_bytes()
        );
    }
    eprintln!("fernet spec verify: {} cases", cases.len());
}

#[test]
fn invalid_vectors_are_all_rejected_with_the_one_opaque_error() {
    let cases: Vec<Invalid> = load_json("fernet-spec/invalid.json");
    assert!(!cases.is_empty());
    for case in &cases {
        let key = FernetKey::from_base64url(&case.secret).unwrap();
        let now = rfc3339_to_unix(&case.now);
        let result = insecure::open_at_time(&key, &case.token, Some(case.ttl_sec), now);
        assert!(
            matches!(result, Err(Error::InvalidToken)),
            "case {:?} was not rejected as InvalidToken",
            case.desc
        );
    }
    eprintln!("fernet spec invalid: {} cases", cases.len());
}
