//! The fast PBKDF2-HMAC-SHA256 on every backend this CPU runs, forced one by one through
//! the hidden `hazmat::pbkdf2_hmac_sha256_with` switch: known answers, differential property
//! tests against the RustCrypto `pbkdf2` crate, edge cases, and every PBKDF2 vector in
//! `testdata/pyca-interop/`.

#![allow(
    clippy::print_stderr,
    reason = "tests say which backends this CPU lacks"
)]

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

/// Published PBKDF2-HMAC-SHA256 answers, independent of every implementation here: RFC 7914
/// section 11 (c = 1), and the RFC 6070 inputs run with HMAC-SHA256 instead of HMAC-SHA1
/// (their SHA-256 answers are widely published and reproduced by other libraries).
const KNOWN: [(&[u8], &[u8], u32, &str); 6] = [
    (
        b"passwd",
        b"salt",
        1,
        "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
         49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783",
    ),
    (
        b"password",
        b"salt",
        1,
        "120fb6cffcf8b32c43e7225256c4f837a86548c92ccc35480805987cb70be17b",
    ),
    (
        b"password",
        b"salt",
        2,
        "ae4d0c95af6b46d32d0adff928f06dd02a303f8ef3c251dfd6e2d85a95474c43",
    ),
    (
        b"password",
        b"salt",
        4096,
        "c5e478d59288c841aa530db6845c4c8d962893a001ce4e11a4963873aa98134a",
    ),
    (
        b"passwordPASSWORDpassword",
        b"saltSALTsaltSALTsaltSALTsaltSALTsalt",
        4096,
        "348c89dbcbd32b2f32d814b8116e84cf2b17347ebc1800181c4e2a1fb8dd53e1c635518c7dac47e9",
    ),
    (
        b"pass\0word",
        b"sa\0lt",
        4096,
        "89b69d0516f829893c696226650a8687",
    ),
];

#[test]
fn every_available_backend_gives_the_known_answers_as_the_portable_path_and_the_reference_do() {
    for (password, salt, iterations, expected) in KNOWN {
        let len = expected.len() / 2;
        let what = format!("{password:?} / {salt:?}, {iterations} iterations");
        assert_eq!(
            hex(&reference(password, salt, iterations, len)),
            expected,
            "reference: {what}"
        );
        assert_eq!(
            hex(&ours(Backend::Portable, password, salt, iterations, len)),
            expected,
            "portable: {what}"
        );
        for backend in backends() {
            assert_eq!(
                hex(&ours(backend, password, salt, iterations, len)),
                expected,
                "{backend:?}: {what}"
            );
        }
    }
}

#[test]
fn the_selected_backend_is_one_this_cpu_runs() {
    let available = Backend::available();
    // The portable path and `sha2`'s block function run on every CPU.
    assert!(available.contains(&Backend::Portable), "{available:?}");
    assert!(available.contains(&Backend::Sha2), "{available:?}");
    assert!(Backend::Auto.is_available());
    for backend in Backend::ALL {
        assert_eq!(
            backend.is_available(),
            available.contains(&backend),
            "{backend:?}"
        );
    }
    let selected = Backend::detected();
    assert_ne!(
        selected,
        Backend::Auto,
        "`detected` names a concrete backend"
    );
    assert!(
        available.contains(&selected),
        "{selected:?} selected but not available ({available:?})"
    );
    let missing: Vec<Backend> = Backend::ALL
        .into_iter()
        .filter(|b| !b.is_available())
        .collect();
    eprintln!("selected {selected:?}; available {available:?}; not on this CPU {missing:?}");
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
/// iterations, and RFC 7914 section 11) on one backend; on a CPU without the backend,
/// checks that forcing it is refused instead, and says so.
fn testdata_vectors_on(backend: Backend) {
    if !backend.is_available() {
        let mut out = [0u8; 32];
        let refused = hazmat::pbkdf2_hmac_sha256_with(backend, b"pw", b"salt", 1, &mut out);
        assert_eq!(refused.map_err(|e| e.backend()), Err(backend));
        eprintln!("{backend:?} is not available on this CPU: its vectors were not run");
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
fn testdata_vectors_on_sha_ni() {
    testdata_vectors_on(Backend::ShaNi);
}

#[test]
fn testdata_vectors_on_avx2_bmi2() {
    testdata_vectors_on(Backend::Avx2Bmi2);
}

#[test]
fn testdata_vectors_on_sha2() {
    testdata_vectors_on(Backend::Sha2);
}

#[test]
fn testdata_vectors_on_portable() {
    testdata_vectors_on(Backend::Portable);
}

#[test]
fn testdata_vectors_on_auto() {
    testdata_vectors_on(Backend::Auto);
}

/// Iteration counts for the chain: 1 and 2 (no chained compression, one), odd and even
/// counts, small and up to a few thousand.
fn iteration_counts() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(1u32),
        Just(2u32),
        (0u32..1500).prop_map(|n| 2 * n + 1),
        (1u32..1500).prop_map(|n| 2 * n),
        1u32..5000,
    ]
}

/// Random passwords, salts and iteration counts (1, 2, odd, even) on every backend this CPU
/// runs, each against the `pbkdf2` crate; the test prints the backends it ran and checks that
/// they are exactly the available ones, so a backend missing here cannot go unnoticed.
#[test]
fn random_iteration_counts_match_the_pbkdf2_crate_on_every_available_backend() {
    use proptest::test_runner::{Config, TestRunner};
    use std::cell::RefCell;

    let ran: RefCell<Vec<Backend>> = RefCell::new(Vec::new());
    let counts: RefCell<(usize, usize, usize)> = RefCell::new((0, 0, 0));
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    let strategy = (
        proptest::collection::vec(any::<u8>(), 0..100),
        proptest::collection::vec(any::<u8>(), 0..80),
        iteration_counts(),
        prop_oneof![Just(32usize), 1usize..70],
    );
    runner
        .run(&strategy, |(password, salt, iterations, len)| {
            let expected = hex(&reference(&password, &salt, iterations, len));
            for backend in Backend::available() {
                let got = hex(&ours(backend, &password, &salt, iterations, len));
                prop_assert_eq!(
                    &got,
                    &expected,
                    "{:?}, {} iterations, {}-byte output",
                    backend,
                    iterations,
                    len
                );
                if !ran.borrow().contains(&backend) {
                    ran.borrow_mut().push(backend);
                }
            }
            let mut c = counts.borrow_mut();
            match iterations {
                1 => c.0 += 1,
                2 => c.1 += 1,
                n if n % 2 == 1 => c.2 += 1,
                _ => {}
            }
            Ok(())
        })
        .expect("every available backend matches the `pbkdf2` crate");
    let ran = ran.into_inner();
    let (ones, twos, odd) = counts.into_inner();
    eprintln!(
        "random iteration counts ran on {ran:?} (detected: {:?}; not on this CPU: {:?}); \
         cases with 1 iteration: {ones}, 2: {twos}, other odd counts: {odd}",
        Backend::detected(),
        Backend::ALL
            .into_iter()
            .filter(|b| !b.is_available())
            .collect::<Vec<_>>(),
    );
    assert_eq!(ran, Backend::available(), "every available backend ran");
    assert!(ran.contains(&Backend::Portable), "{ran:?}");
    assert!(ones > 0 && twos > 0 && odd > 0, "{ones} {twos} {odd}");
}
