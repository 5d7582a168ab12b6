//! Property tests: round trips, tamper and truncation resistance, no panics, and the `fernet`
//! crate as an independent oracle in both directions.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use credlock_crypto::{Error, FernetKey, insecure};
use proptest::prelude::*;
use secrecy::ExposeSecret as _;

fn key_from(bytes: [u8; 32]) -> FernetKey {
    FernetKey::from_bytes(&bytes)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn seal_open_round_trip(key in any::<[u8; 32]>(), plaintext in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let key = key_from(key);
        let token = key.seal(&plaintext).unwrap();
        let opened = key.open(&token).unwrap();
        prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
    }

    #[test]
    fn any_single_bit_flip_is_rejected(
        key in any::<[u8; 32]>(),
        plaintext in proptest::collection::vec(any::<u8>(), 0..200),
        bit in any::<prop::sample::Index>(),
    ) {
        let key = key_from(key);
        let token = key.seal(&plaintext).unwrap();
        let mut raw = URL_SAFE.decode(&token).unwrap();
        let i = bit.index(raw.len() * 8);
        raw[i / 8] ^= 1 << (i % 8);
        let tampered = URL_SAFE.encode(&raw);
        prop_assert!(matches!(key.open(&tampered), Err(Error::InvalidToken)));
    }

    #[test]
    fn any_truncation_is_rejected(
        key in any::<[u8; 32]>(),
        plaintext in proptest::collection::vec(any::<u8>(), 0..200),
        cut in any::<prop::sample::Index>(),
    ) {
        let key = key_from(key);
        let token = key.seal(&plaintext).unwrap();
        // Truncating the decoded bytes (re-encoded) and the text itself.
        let raw = URL_SAFE.decode(&token).unwrap();
        let short = URL_SAFE.encode(&raw[..cut.index(raw.len())]);
        prop_assert!(matches!(key.open(&short), Err(Error::InvalidToken)));
        prop_assert!(matches!(key.open(&token[..cut.index(token.len())]), Err(Error::InvalidToken)));
    }

    #[test]
    fn no_string_makes_open_panic(key in any::<[u8; 32]>(), token in ".*", ttl in any::<u64>(), now in any::<u64>()) {
        let key = key_from(key);
        prop_assert!(key.open(&token).is_err());
        prop_assert!(insecure::open_at_time(&key, &token, Some(ttl), now).is_err());
    }

    #[test]
    fn no_base64_payload_makes_open_panic(key in any::<[u8; 32]>(), raw in proptest::collection::vec(any::<u8>(), 0..200), ttl in any::<u64>(), now in any::<u64>()) {
        let key = key_from(key);
        let token = URL_SAFE.encode(&raw);
        prop_assert!(key.open(&token).is_err());
        prop_assert!(insecure::open_at_time(&key, &token, Some(ttl), now).is_err());
    }

    #[test]
    fn extreme_timestamps_and_ttls_never_overflow(key in any::<[u8; 32]>(), ts in any::<u64>(), ttl in any::<u64>(), now in any::<u64>()) {
        let key = key_from(key);
        let token = insecure::seal_with_time_and_iv(&key, b"x", ts, &[7; 16]);
        let expected_ok = u128::from(ts) + u128::from(ttl) >= u128::from(now)
            && u128::from(now) + 60 >= u128::from(ts);
        prop_assert_eq!(insecure::open_at_time(&key, &token, Some(ttl), now).is_ok(), expected_ok);
        prop_assert!(key.open(&token).is_ok());
    }

    #[test]
    fn our_tokens_open_with_the_fernet_crate(key in any::<[u8; 32]>(), plaintext in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let ours = key_from(key);
        let oracle = fernet::Fernet::new(ours.to_base64url().expose_secret()).unwrap();
        let token = ours.seal(&plaintext).unwrap();
        prop_assert_eq!(oracle.decrypt(&token).unwrap(), plaintext);
    }

    #[test]
    fn fernet_crate_tokens_open_with_ours(key in any::<[u8; 32]>(), plaintext in proptest::collection::vec(any::<u8>(), 0..1024)) {
        let ours = key_from(key);
        let oracle = fernet::Fernet::new(ours.to_base64url().expose_secret()).unwrap();
        let token = oracle.encrypt(&plaintext);
        let opened = ours.open(&token).unwrap();
        prop_assert_eq!(opened.as_slice(), plaintext.as_slice());
    }
}
