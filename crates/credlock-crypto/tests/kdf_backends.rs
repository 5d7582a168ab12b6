//! The fast PBKDF2-HMAC-SHA256 on every backend this CPU runs, forced one by one through
//! the hidden `hazmat::pbkdf2_hmac_sha256_with` switch: differential property tests against
//! the RustCrypto `pbkdf2` crate, edge cases, and every PBKDF2 vector in
//! `testdata/pyca-interop/`.

mod common;

use common::interop::vectors;
use common::{hex, unhex};
use credlock_crypto::hazmat::{self, Backend, BackendUnavailable};
use proptest::prelude::*;

/// The backends this CPU runs, plus `Auto`.
fn backends() -> Vec<Backend> {
    let mut out = Backend::available();
    out.push(Backend::Auto);
    out
}

/// The RustCrypto `pbkdf2` crate over `sha2`: the reference implementation.
fn reference(password: &[u8], salt: &[u8], iterations: u32, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    pbkdf2::pbkdf2_hmac::<sha2::Sha256>(password, salt, iterations.max(1), &mut out);
    out
}

fn ours(backend: Backend, password: &[u8], salt: &[u8], iterations: u32, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    hazmat::pbkdf2_hmac_sha256_with(backend, password, salt, iterations, &mut out)
        .expect("an available backend");
    out
}

#[test]
fn portable_sha2_and_auto_are_always_available() {
    for backend in [Backend::Auto, Backend::Sha2, Backend::Portable] {
        assert!(backend.is_available(), "{backend:?}");
    }
    assert!(Backend::available().contains(&Backend::detected()));
}

#[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
#[test]
fn detection_prefers_sha_ni_then_avx2_bmi2() {
    let sha_ni = std::is_x86_feature_detected!("sha")
        && std::is_x86_feature_detected!("ssse3")
        && std::is_x86_feature_detected!("sse4.1");
    let bmi2 = std::is_x86_feature_detected!("avx2")
        && std::is_x86_feature_detected!("bmi1")
        && std::is_x86_feature_detected!("bmi2");
    assert_eq!(Backend::ShaNi.is_available(), sha_ni);
    assert_eq!(Backend::Avx2Bmi2.is_available(), bmi2);
    let expected = if sha_ni {
        Backend::ShaNi
    } else if bmi2 {
        Backend::Avx2Bmi2
    } else {
        Backend::Portable
    };
    assert_eq!(Backend::detected(), expected);
}

#[test]
fn an_unavailable_backend_is_an_error_and_leaves_the_output_alone() {
    for backend in Backend::ALL {
        let mut out = [0xaa; 32];
        let result = hazmat::pbkdf2_hmac_sha256_with(backend, b"pw", b"salt", 2, &mut out);
        let mut state = [0u32; 8];
        let compress = hazmat::sha256_compress_with(backend, &mut state, &[0; 64], 1);
        if backend.is_available() {
            assert_eq!(result, Ok(()));
            assert_eq!(compress, Ok(()));
        } else {
            let error: BackendUnavailable = result.unwrap_err();
            assert_eq!(error.backend(), backend);
            assert_eq!(compress.map_err(|e| e.backend()), Err(backend));
            assert_eq!(out, [0xaa; 32]);
            assert!(error.to_string().contains(backend.name()));
        }
    }
}

#[test]
fn block_functions_agree_with_sha2() {
    let mut block = [0u8; 64];
    for (i, byte) in block.iter_mut().enumerate() {
        *byte = u8::try_from(i * 37 % 251).unwrap();
    }
    for count in [0, 1, 2, 5] {
        let mut expected = [0x6a09_e667u32; 8];
        for _ in 0..count {
            sha2::block_api::compress256(&mut expected, core::slice::from_ref(&block));
        }
        for backend in Backend::available() {
            let mut state = [0x6a09_e667u32; 8];
            hazmat::sha256_compress_with(backend, &mut state, &block, count).unwrap();
            assert_eq!(state, expected, "{backend:?}, {count} blocks");
        }
    }
}

#[test]
fn edge_cases_match_the_reference_on_every_backend() {
    let long = [0x5a_u8; 200];
    // Salt lengths around the padding boundary of the first HMAC block (salt + 4-byte
    // index: 55 fits one block with its padding, 56 does not), passwords around the HMAC
    // block size (longer than 64 bytes is hashed first), output lengths around 32.
    let mut cases: Vec<(&[u8], &[u8], u32, usize)> = vec![
        (b"", b"", 1, 32),
        (b"password", b"salt", 0, 32),
        (b"password", b"salt", 1, 0),
        (b"password", b"salt", 2, 1),
        (b"password", b"salt", 4096, 32),
    ];
    for salt_len in [0, 50, 51, 52, 55, 56, 59, 60, 63, 64, 65, 100, 119, 120] {
        cases.push((b"pw", &long[..salt_len], 3, 32));
    }
    for password_len in [0, 1, 55, 56, 63, 64, 65, 127, 128, 129, 200] {
        cases.push((&long[..password_len], b"salt", 3, 32));
    }
    for len in [1, 16, 31, 32, 33, 63, 64, 65, 96, 97, 200] {
        cases.push((b"pw", b"salt", 3, len));
    }
    for backend in backends() {
        for &(password, salt, iterations, len) in &cases {
            assert_eq!(
                hex(&ours(backend, password, salt, iterations, len)),
                hex(&reference(password, salt, iterations, len)),
                "{backend:?}: password {} bytes, salt {} bytes, {iterations} iterations, \
                 {len}-byte output",
                password.len(),
                salt.len(),
            );
        }
    }
}

#[test]
fn zero_iterations_is_one_on_every_backend() {
    for backend in backends() {
        assert_eq!(
            ours(backend, b"pw", b"salt", 0, 40),
            ours(backend, b"pw", b"salt", 1, 40),
            "{backend:?}"
        );
    }
}

#[test]
fn the_public_function_is_the_auto_backend() {
    let mut public = [0u8; 50];
    hazmat::pbkdf2_hmac_sha256(b"pw", b"salt", 77, &mut public);
    assert_eq!(public.to_vec(), ours(Backend::Auto, b"pw", b"salt", 77, 50));
    assert_eq!(public.to_vec(), reference(b"pw", b"salt", 77, 50));
}

/// Each available backend gives the `pbkdf2` crate's output.
fn every_backend_matches(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    len: usize,
) -> Result<(), TestCaseError> {
    let expected = hex(&reference(password, salt, iterations, len));
    for backend in backends() {
        let got = hex(&ours(backend, password, salt, iterations, len));
        prop_assert_eq!(&got, &expected, "{:?}", backend);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn every_backend_matches_the_pbkdf2_crate(
        password in proptest::collection::vec(any::<u8>(), 0..200),
        salt in proptest::collection::vec(any::<u8>(), 0..100),
        iterations in 1u32..2000,
        len in 1usize..100,
    ) {
        every_backend_matches(&password, &salt, iterations, len)?;
    }

    #[test]
    fn every_backend_matches_on_few_iterations_and_long_outputs(
        password in proptest::collection::vec(any::<u8>(), 0..200),
        salt in proptest::collection::vec(any::<u8>(), 0..100),
        iterations in 0u32..4,
        len in 1usize..300,
    ) {
        every_backend_matches(&password, &salt, iterations, len)?;
    }
}

/// Every PBKDF2 vector in `testdata/pyca-interop/` (Python `cryptography` at 480,000
/// iterations, and RFC 7914 section 11) on one backend.
fn shared_vectors_on(backend: Backend) {
    if !backend.is_available() {
        return;
    }
    let v = vectors();
    assert_eq!(v.pbkdf2_sha256.len(), 5);
    assert_eq!(v.rfc7914_pbkdf2_sha256.len(), 2);
    for e in &v.pbkdf2_sha256 {
        let key = ours(
            backend,
            &unhex(&e.passphrase_utf8_hex),
            &unhex(&e.salt_hex),
            u32::try_from(e.iterations).expect("a u32 iteration count"),
            e.dklen,
        );
        assert_eq!(hex(&key), e.derived_key_hex, "{backend:?}: {}", e.id);
    }
    for r in &v.rfc7914_pbkdf2_sha256 {
        let key = ours(
            backend,
            r.password.as_bytes(),
            r.salt.as_bytes(),
            r.iterations,
            r.dklen,
        );
        assert_eq!(
            hex(&key),
            r.derived_key_hex,
            "{backend:?}: RFC 7914 {:?}",
            r.password
        );
    }
}

#[test]
fn shared_vectors_on_sha_ni() {
    shared_vectors_on(Backend::ShaNi);
}

#[test]
fn shared_vectors_on_avx2_bmi2() {
    shared_vectors_on(Backend::Avx2Bmi2);
}

#[test]
fn shared_vectors_on_sha2() {
    shared_vectors_on(Backend::Sha2);
}

#[test]
fn shared_vectors_on_portable() {
    shared_vectors_on(Backend::Portable);
}

#[test]
fn shared_vectors_on_auto() {
    shared_vectors_on(Backend::Auto);
}
