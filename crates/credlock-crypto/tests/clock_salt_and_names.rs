//! What the public API does with the system clock, fresh salts and zeroized keys, and how
//! salts and algorithm names print.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use credlock_crypto::{FernetKey, KdfAlgorithm, KdfParams, Normalization, Salt, insecure};

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock reads after 1970")
        .as_secs()
}

fn key() -> FernetKey {
    FernetKey::from_bytes(&[0x42; 32])
}

#[test]
fn open_with_ttl_returns_the_plaintext() {
    let key = key();
    let token = key.seal(b"one-time code").unwrap();
    let opened = key.open_with_ttl(&token, Duration::from_secs(300)).unwrap();
    assert_eq!(opened.as_slice(), b"one-time code");
}

#[test]
fn open_with_ttl_reads_the_system_clock() {
    let key = key();
    let iv = [9; 16];
    // Sealed an hour ago: expired for a 60-second TTL, fine for a day.
    let old = insecure::seal_with_time_and_iv(&key, b"x", now_secs() - 3600, &iv);
    assert!(key.open_with_ttl(&old, Duration::from_secs(60)).is_err());
    assert_eq!(
        key.open_with_ttl(&old, Duration::from_secs(86_400))
            .unwrap()
            .as_slice(),
        b"x"
    );
    // Sealed an hour from now: beyond the 60-second skew allowed.
    let future = insecure::seal_with_time_and_iv(&key, b"x", now_secs() + 3600, &iv);
    assert!(
        key.open_with_ttl(&future, Duration::from_secs(86_400))
            .is_err()
    );
    // Without a TTL the time is not checked.
    assert!(key.open(&old).is_ok() && key.open(&future).is_ok());
}

#[test]
fn seal_stamps_the_current_time() {
    let key = key();
    let before = now_secs();
    let token = key.seal(b"x").unwrap();
    // A TTL of 0 at `now` accepts exactly the timestamps in [now, now + 60]: the token's
    // is at least `before`, and not older than a minute past it.
    assert!(insecure::open_at_time(&key, &token, Some(0), before).is_ok());
    assert!(insecure::open_at_time(&key, &token, Some(0), before + 61).is_err());
}

#[test]
fn a_fresh_salt_is_new_and_keeps_the_rest() {
    let salt = Salt::from_bytes([7; 16]);
    let params = KdfParams::insecure_low_cost(1_000, salt)
        .unwrap()
        .with_normalization(Normalization::Nfkc);
    let fresh = params.with_fresh_salt().unwrap();
    assert_ne!(fresh.salt(), params.salt());
    assert_ne!(fresh.salt(), fresh.with_fresh_salt().unwrap().salt());
    assert_eq!(fresh.algorithm(), params.algorithm());
    assert_eq!(fresh.iterations(), params.iterations());
    assert_eq!(fresh.normalization(), params.normalization());
}

#[test]
fn a_salt_debugs_as_lowercase_hex() {
    let salt = Salt::from_bytes(core::array::from_fn(|i| u8::try_from(i * 17).unwrap()));
    assert_eq!(
        format!("{salt:?}"),
        "Salt(00112233445566778899aabbccddeeff)"
    );
}

#[test]
fn an_algorithm_displays_its_stable_name() {
    assert_eq!(
        KdfAlgorithm::Pbkdf2HmacSha256.to_string(),
        "pbkdf2-hmac-sha256"
    );
    assert_eq!(KdfAlgorithm::Argon2id.to_string(), "argon2id");
    for a in [KdfAlgorithm::Pbkdf2HmacSha256, KdfAlgorithm::Argon2id] {
        assert_eq!(KdfAlgorithm::from_name(&a.to_string()), Some(a));
    }
}

#[test]
fn a_zeroized_key_is_all_zeros() {
    use zeroize::Zeroize as _;
    let mut key = FernetKey::from_bytes(&[0x5a; 32]);
    key.zeroize();
    assert_eq!(key.expose_secret_bytes(), &[0u8; 32]);
}
