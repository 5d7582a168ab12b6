//! Every entry of `testdata/pyca-interop/python-cryptography.json`, made by Python's
//! `cryptography`: PBKDF2 keys (480,000 iterations), tokens byte for byte, every
//! `checks[]` expectation, and the RFC 7914 PBKDF2-HMAC-SHA256 vectors.

mod common;

use common::interop::vectors;
use common::{hex, unhex};
use credlock_crypto::{Error, FernetKey, KdfParams, Salt, derive_key, hazmat, insecure};

#[test]
fn pbkdf2_entries_match_python_at_full_cost() {
    let v = vectors();
    assert_eq!(v.pbkdf2_sha256.len(), 5);
    for e in &v.pbkdf2_sha256 {
        assert_eq!(
            hex(e.passphrase.as_bytes()),
            e.passphrase_utf8_hex,
            "{}",
            e.id
        );
        assert_eq!(e.passphrase.chars().count(), e.passphrase_chars, "{}", e.id);
        assert_eq!(e.passphrase.len(), e.passphrase_utf8_bytes, "{}", e.id);
        assert_eq!(e.dklen, 32, "{}", e.id);
        let params =
            KdfParams::new(e.iterations, Salt::from_slice(&unhex(&e.salt_hex)).unwrap()).unwrap();
        let key = derive_key(&e.passphrase, &params).unwrap();
        assert_eq!(
            hex(key.expose_secret_bytes()),
            e.derived_key_hex,
            "{}",
            e.id
        );
        assert_eq!(
            secrecy::ExposeSecret::expose_secret(&key.to_base64url()),
            e.fernet_key,
            "{}",
            e.id
        );
    }
    eprintln!("pyca KDF entries: {}", v.pbkdf2_sha256.len());
}

#[test]
fn nfc_and_nfd_spellings_give_different_keys_as_in_python() {
    let v = vectors();
    let get = |id: &str| v.pbkdf2_sha256.iter().find(|e| e.id == id).unwrap();
    let (nfc, nfd) = (get("kdf-non-ascii-nfc"), get("kdf-non-ascii-nfd"));
    assert_eq!(nfc.salt_hex, nfd.salt_hex);
    assert_ne!(nfc.passphrase, nfd.passphrase);
    assert_ne!(nfc.derived_key_hex, nfd.derived_key_hex);
}

#[test]
fn tokens_are_byte_exact_and_every_check_matches_python() {
    let v = vectors();
    let mut checks = 0;
    for t in &v.fernet_tokens {
        let key = FernetKey::from_base64url(&t.fernet_key).unwrap();
        let iv: [u8; 16] = unhex(&t.iv_hex).try_into().unwrap();
        let plaintext = unhex(&t.plaintext_hex);
        let sealed = insecure::seal_with_time_and_iv(&key, &plaintext, t.timestamp, &iv);
        assert_eq!(sealed, t.token, "{}", t.id);
        for c in &t.checks {
            let key = match &c.fernet_key {
                Some(k) => FernetKey::from_base64url(k).unwrap(),
                None => FernetKey::from_base64url(&t.fernet_key).unwrap(),
            };
            let token = c.token.as_deref().unwrap_or(&t.token);
            let result = match c.ttl {
                None => key.open(token),
                Some(ttl) => {
                    insecure::open_at_time(&key, token, Some(ttl), c.current_time.unwrap())
                }
            };
            match c.expect.as_str() {
                "ok" => assert_eq!(
                    result.unwrap().as_slice(),
                    plaintext,
                    "{}: {}",
                    t.id,
                    c.desc
                ),
                "invalid" => assert!(
                    matches!(result, Err(Error::InvalidToken)),
                    "{}: {} should be invalid",
                    t.id,
                    c.desc
                ),
                other => panic!("unknown expectation {other:?}"),
            }
            checks += 1;
        }
    }
    assert_eq!(v.fernet_tokens.len(), 8);
    eprintln!("pyca tokens: {}, checks: {checks}", v.fernet_tokens.len());
}

#[test]
fn rfc7914_vectors() {
    let v = vectors();
    assert_eq!(v.rfc7914_pbkdf2_sha256.len(), 2);
    for r in &v.rfc7914_pbkdf2_sha256 {
        let mut out = vec![0u8; r.dklen];
        hazmat::pbkdf2_hmac_sha256(
            r.password.as_bytes(),
            r.salt.as_bytes(),
            r.iterations,
            &mut out,
        );
        assert_eq!(hex(&out), r.derived_key_hex, "{} / {}", r.password, r.salt);
    }
}

/// The token with the lowest unused bit of its last base64 character set, or `None` when the
/// token has no unused bits (a length that is a multiple of 3 bytes, no padding).
fn with_unused_bit_set(token: &str) -> Option<String> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let last = token.trim_end_matches('=').len().checked_sub(1)?;
    if last + 1 == token.len() {
        return None;
    }
    let index = ALPHABET.iter().position(|&c| c == token.as_bytes()[last])?;
    let mut out = token.as_bytes().to_vec();
    out[last] = ALPHABET[index | 1];
    String::from_utf8(out).ok().filter(|t| t != token)
}

/// pyca decodes tokens with Python's `base64.urlsafe_b64decode`, which ignores the unused
/// bits of the last character: credlock opens such a token as pyca does, and every canonical
/// token as before.
#[test]
fn pyca_tokens_open_with_canonical_and_non_canonical_last_characters() {
    let v = vectors();
    let mut non_canonical = 0;
    for t in &v.fernet_tokens {
        let key = FernetKey::from_base64url(&t.fernet_key).unwrap();
        let plaintext = unhex(&t.plaintext_hex);
        assert_eq!(
            key.open(&t.token).unwrap().as_slice(),
            plaintext,
            "{}",
            t.id
        );
        if let Some(lenient) = with_unused_bit_set(&t.token) {
            assert_eq!(
                key.open(&lenient).unwrap().as_slice(),
                plaintext,
                "{}",
                t.id
            );
            non_canonical += 1;
        }
    }
    assert!(non_canonical > 0, "no vector token has unused bits to set");
}
