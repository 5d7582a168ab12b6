//! The portable PBKDF2 path and the Fernet code on inputs small enough for an interpreter:
//! `.ci/run` runs this file under Miri (which cannot execute the SIMD and asm chains, so the
//! portable one is what it checks).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use credlock_crypto::hazmat::{self, Backend};
use credlock_crypto::{FernetKey, KdfParams, Salt, derive_key, insecure};

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 7914 §11, the first PBKDF2-HMAC-SHA256 vector (one iteration, 64 bytes):
/// <https://www.rfc-editor.org/rfc/rfc7914#section-11>.
const RFC7914_C1: &str = "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
                          49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783";

#[test]
fn the_portable_path_gives_the_rfc_7914_answer() {
    let mut out = [0u8; 64];
    hazmat::pbkdf2_hmac_sha256_with(Backend::Portable, b"passwd", b"salt", 1, &mut out)
        .expect("the portable backend is always available");
    assert_eq!(hex(&out), RFC7914_C1);
}

#[test]
fn the_portable_path_agrees_with_the_pbkdf2_crate_on_a_few_iterations() {
    for (password, salt, iterations, len) in [
        (&b"p"[..], &b"s"[..], 2, 32),
        (
            b"a longer passphrase than one block of sixty-four bytes, for the HMAC key",
            b"salt",
            3,
            40,
        ),
        (b"x", b"", 1, 1),
    ] {
        let mut ours = vec![0u8; len];
        hazmat::pbkdf2_hmac_sha256_with(Backend::Portable, password, salt, iterations, &mut ours)
            .expect("the portable backend is always available");
        let mut reference = vec![0u8; len];
        pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations, &mut reference);
        assert_eq!(
            hex(&ours),
            hex(&reference),
            "{iterations} iterations, {len} bytes"
        );
    }
}

#[test]
fn a_low_cost_key_seals_and_opens() {
    let params = KdfParams::insecure_low_cost(2, Salt::from_bytes([3; 16])).unwrap();
    let key = derive_key("Tangerine-Rocket-42!", &params).unwrap();
    let again = derive_key("Tangerine-Rocket-42!", &params).unwrap();
    assert_eq!(key.expose_secret_bytes(), again.expose_secret_bytes());
    let token = key.seal(b"alice@example.com").unwrap();
    assert_eq!(again.open(&token).unwrap().as_slice(), b"alice@example.com");
    let other = derive_key("Tangerine-Rocket-43!", &params).unwrap();
    assert!(other.open(&token).is_err());
}

#[test]
fn fernet_round_trips_and_refuses_every_tampered_byte_of_a_short_token() {
    let key = FernetKey::from_bytes(&[0x42; 32]);
    for plaintext in [&b""[..], b"x", b"exactly sixteen!", b"seventeen bytes!!"] {
        let token = insecure::seal_with_time_and_iv(&key, plaintext, 1_767_225_600, &[7; 16]);
        assert_eq!(key.open(&token).unwrap().as_slice(), plaintext);
    }
    let token = insecure::seal_with_time_and_iv(&key, b"x", 1_767_225_600, &[7; 16]);
    let mut bytes = URL_SAFE.decode(token).unwrap();
    // Under Miri every ninth byte (the version, the timestamp, the IV, the ciphertext and the
    // MAC each get at least one); natively every byte.
    let step = if cfg!(miri) { 9 } else { 1 };
    for i in (0..bytes.len()).step_by(step) {
        bytes[i] ^= 0x01;
        let tampered = URL_SAFE.encode(&bytes);
        assert!(
            key.open(&tampered).is_err(),
            "byte {i} changed and still opened"
        );
        bytes[i] ^= 0x01;
    }
    assert!(key.open(&URL_SAFE.encode(&bytes)).is_ok());
}

#[test]
fn the_portable_lanes_agree_with_the_portable_single_chain() {
    use credlock_crypto::hazmat::{Lanes, Pbkdf2Job};
    // Five derivations on four lanes: a full group, then one alone; counts that differ, so
    // a group ends when its shortest chain does.
    let passwords: [&[u8]; 5] = [b"a", b"bb", &[7u8; 65], b"dddd", b"e"];
    let counts = [2u32, 3, 1, 2, 4];
    let mut outs = [[0u8; 32]; 5];
    let mut jobs: Vec<Pbkdf2Job<'_>> = passwords
        .iter()
        .zip(counts)
        .zip(outs.iter_mut())
        .map(|((p, c), out)| Pbkdf2Job::new(p, b"salt", c, out))
        .collect();
    hazmat::pbkdf2_hmac_sha256_many_with(Lanes::Portable, &mut jobs)
        .expect("the portable lanes are always available");
    for ((password, count), out) in passwords.iter().zip(counts).zip(outs) {
        let mut alone = [0u8; 32];
        hazmat::pbkdf2_hmac_sha256_with(Backend::Portable, password, b"salt", count, &mut alone)
            .expect("the portable backend is always available");
        assert_eq!(out, alone, "{password:?} × {count}");
    }
}
