//! Each kind of bad input gets its typed error, never a panic, and no secret in the message.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    reason = "test helpers fail loudly"
)]

use aes::cipher::{BlockModeEncrypt as _, KeyIvInit as _};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE, URL_SAFE_NO_PAD};
use credlock_crypto::{
    Error, FernetKey, KdfAlgorithm, KdfParams, Salt, derive_key, derive_key_from_bytes, insecure,
};
use hmac::{KeyInit as _, Mac as _};

const KEY: [u8; 32] = [
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26,
    27, 28, 29, 30, 31, 32,
];

fn key() -> FernetKey {
    FernetKey::from_bytes(&KEY)
}

/// A token whose MAC is right but whose body is built by hand, so that the checks after the
/// MAC (block size, padding) are reached.
fn signed_token(version: u8, iv: [u8; 16], ciphertext: &[u8]) -> String {
    let mut data = vec![version];
    data.extend_from_slice(&1_700_000_000u64.to_be_bytes());
    data.extend_from_slice(&iv);
    data.extend_from_slice(ciphertext);
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&KEY[..16]).unwrap();
    mac.update(&data);
    data.extend_from_slice(&mac.finalize().into_bytes());
    URL_SAFE.encode(data)
}

fn assert_invalid(token: &str) {
    assert!(
        matches!(key().open(token), Err(Error::InvalidToken)),
        "{token:?} was not rejected"
    );
}

#[test]
fn malformed_base64_is_rejected() {
    let good = key().seal(b"secret").unwrap();
    assert_invalid("%%%%");
    assert_invalid(&good.replace('=', ""));
    assert_invalid(&format!("{good}="));
    assert_invalid(&format!(" {good}"));
    assert_invalid(&format!("{good}\n"));
    // Standard-alphabet and unpadded encodings of the same bytes are not what pyca emits.
    let raw = URL_SAFE.decode(&good).unwrap();
    if STANDARD.encode(&raw) != good {
        assert_invalid(&STANDARD.encode(&raw));
    }
    assert_invalid(&URL_SAFE_NO_PAD.encode(&raw));
}

#[test]
fn short_tokens_are_rejected() {
    assert_invalid("");
    for len in 0..(1 + 8 + 16 + 16 + 32) {
        assert_invalid(&URL_SAFE.encode(vec![0x80; len]));
    }
}

#[test]
fn wrong_version_byte_is_rejected_even_with_a_valid_mac() {
    let ct = aes_cbc_raw(&[0u8; 16]);
    assert!(key().open(&signed_token(0x80, [0; 16], &ct)).is_err()); // bad padding, but reached
    for version in [0x00, 0x7f, 0x81, 0xff] {
        assert_invalid(&signed_token(version, [0; 16], &ct));
    }
}

#[test]
fn non_block_multiple_ciphertext_is_rejected() {
    for len in [1, 15, 17, 31, 33] {
        assert_invalid(&signed_token(0x80, [0; 16], &vec![0xAA; len]));
    }
}

#[test]
fn bad_padding_is_rejected() {
    // A block that decrypts to bytes ending in 0x00, and one ending in 0x11 (> 16).
    for last in [0x00u8, 0x11, 0xff] {
        let mut block = [0x42u8; 16];
        block[15] = last;
        assert_invalid(&signed_token(0x80, [0; 16], &aes_cbc_raw(&block)));
    }
    // Inconsistent padding bytes: ...0x01 0x02.
    let mut block = [0x42u8; 16];
    block[14] = 0x01;
    block[15] = 0x02;
    assert_invalid(&signed_token(0x80, [0; 16], &aes_cbc_raw(&block)));
}

#[test]
fn wrong_key_is_rejected() {
    let token = key().seal(b"secret").unwrap();
    // Any change to the signing half fails the MAC.
    for i in 0..16 {
        let mut other = KEY;
        other[i] ^= 1;
        assert!(matches!(
            FernetKey::from_bytes(&other).open(&token),
            Err(Error::InvalidToken)
        ));
    }
    // A key whose signing half is right but whose encryption half is wrong passes the MAC
    // (Fernet authenticates with the signing half only), so it yields either a padding error
    // or garbage, never the plaintext. Keys derived from a passphrase change both halves.
    for i in 16..32 {
        let mut other = KEY;
        other[i] ^= 1;
        match FernetKey::from_bytes(&other).open(&token) {
            Err(Error::InvalidToken) => {}
            Ok(garbage) => assert_ne!(garbage.as_slice(), b"secret"),
            Err(e) => panic!("unexpected error {e:?}"),
        }
    }
}

#[test]
fn ttl_expiry_and_future_skew_are_rejected_only_when_a_ttl_is_asked_for() {
    let token = insecure::seal_with_time_and_iv(&key(), b"x", 1_000_000, &[3; 16]);
    assert!(insecure::open_at_time(&key(), &token, Some(10), 1_000_010).is_ok());
    assert!(insecure::open_at_time(&key(), &token, Some(10), 1_000_011).is_err());
    assert!(insecure::open_at_time(&key(), &token, Some(10), 999_940).is_ok());
    assert!(insecure::open_at_time(&key(), &token, Some(10), 999_939).is_err());
    // No TTL: no time check at all, whatever the clock says.
    assert!(insecure::open_at_time(&key(), &token, None, 0).is_ok());
    assert!(insecure::open_at_time(&key(), &token, None, u64::MAX).is_ok());
    let far_future = insecure::seal_with_time_and_iv(&key(), b"x", u64::MAX, &[3; 16]);
    assert!(key().open(&far_future).is_ok());
    assert!(insecure::open_at_time(&key(), &far_future, Some(u64::MAX), 0).is_err());
}

#[test]
fn absurd_iteration_counts_are_refused() {
    let salt = Salt::from_bytes([9; 16]);
    for n in [0, 1, 99_999, 10_000_001, u64::from(u32::MAX), u64::MAX] {
        assert!(
            matches!(KdfParams::new(n, salt), Err(Error::IterationsOutOfRange { iterations, .. }) if iterations == n),
            "{n} accepted"
        );
    }
    for n in [0, 10_000_001, u64::MAX] {
        assert!(
            KdfParams::insecure_low_cost(n, salt).is_err(),
            "{n} accepted"
        );
    }
    assert_eq!(
        KdfParams::new(100_000, salt).unwrap().iterations(),
        KdfParams::MIN_ITERATIONS
    );
    assert_eq!(
        KdfParams::new(10_000_000, salt).unwrap().iterations(),
        KdfParams::MAX_ITERATIONS
    );
    assert_eq!(
        KdfParams::insecure_low_cost(1, salt).unwrap().iterations(),
        1
    );
    let p = KdfParams::recommended(salt);
    assert_eq!(
        (p.iterations(), p.algorithm()),
        (480_000, KdfAlgorithm::Pbkdf2HmacSha256)
    );
}

#[test]
fn bad_salt_lengths_are_refused() {
    for len in [0, 8, 15, 17, 32] {
        assert!(matches!(
            Salt::from_slice(&vec![0; len]),
            Err(Error::SaltLength { actual, expected: 16 }) if actual == len
        ));
    }
}

#[test]
fn empty_passphrase_is_refused() {
    let params = KdfParams::insecure_low_cost(1, Salt::from_bytes([0; 16])).unwrap();
    assert!(matches!(
        derive_key("", &params),
        Err(Error::EmptyPassphrase)
    ));
    assert!(matches!(
        derive_key_from_bytes(b"", &params),
        Err(Error::EmptyPassphrase)
    ));
}

#[test]
fn malformed_keys_are_refused() {
    for text in [
        "",
        "short",
        "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4", // no padding
        "cw/0x689RpI+jtRR7oE8h/eQsKImvJapLeSbXpwF4e4=", // standard alphabet
        "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=A", // too long
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", // 36 bytes
    ] {
        assert!(
            matches!(FernetKey::from_base64url(text), Err(Error::MalformedKey)),
            "{text}"
        );
    }
}

#[test]
fn no_secret_in_debug_or_errors() {
    let params = KdfParams::insecure_low_cost(1, Salt::from_bytes([0; 16])).unwrap();
    let key = derive_key("hunter2-very-secret", &params).unwrap();
    let b64 = secrecy::ExposeSecret::expose_secret(&key.to_base64url()).to_owned();
    for text in [format!("{key:?}"), format!("{key:#?}")] {
        assert_eq!(text.trim(), "FernetKey([REDACTED])");
        assert!(!text.contains(&b64));
    }
    let token = key.seal(b"the plaintext").unwrap();
    let err = FernetKey::from_bytes(&[0; 32]).open(&token).unwrap_err();
    for text in [err.to_string(), format!("{err:?}")] {
        assert!(!text.contains(&token) && !text.contains("plaintext") && !text.contains("hunter2"));
    }
    let secret_text = format!("{:?}", key.to_base64url());
    assert!(!secret_text.contains(&b64));
}

#[test]
fn keys_compare_by_value() {
    assert_eq!(key(), FernetKey::from_bytes(&KEY));
    assert_ne!(key(), FernetKey::from_bytes(&[0; 32]));
    let text = key().to_base64url();
    assert_eq!(
        FernetKey::from_base64url(secrecy::ExposeSecret::expose_secret(&text)).unwrap(),
        key()
    );
}

fn aes_cbc_raw(blocks: &[u8]) -> Vec<u8> {
    let mut buf = blocks.to_vec();
    let enc =
        cbc::Encryptor::<aes::Aes128>::new((&KEY[16..]).try_into().unwrap(), (&[0u8; 16]).into());
    enc.encrypt_padded::<aes::cipher::block_padding::NoPadding>(&mut buf, blocks.len())
        .unwrap()
        .to_vec()
}
