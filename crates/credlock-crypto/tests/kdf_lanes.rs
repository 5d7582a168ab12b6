//! Many PBKDF2 derivations side by side (`hazmat::pbkdf2_hmac_sha256_many_with`) on every
//! way this CPU runs them, forced one by one: interleaved SHA-NI chains (2, 3 and 4),
//! AVX2 (8 lanes), AVX-512 (16 lanes, 8 or fewer on AVX2), the portable lanes and one after
//! another. Every batch size from 1 to past two full groups, with mixed iteration counts
//! (groups then end at different times) and output lengths (several chains per
//! derivation), each output checked against the single-chain path and the `pbkdf2` crate.

#![allow(clippy::print_stderr, reason = "tests say which lanes this CPU lacks")]

use credlock_crypto::hazmat::{self, Backend, Lanes, Pbkdf2Job};
use proptest::prelude::*;

/// The lanes this CPU runs, plus `Auto`.
fn lanes() -> Vec<Lanes> {
    let mut out = Lanes::available();
    out.push(Lanes::Auto);
    for missing in Lanes::ALL.iter().filter(|l| !l.is_available()) {
        eprintln!(
            "this CPU cannot run the {} lanes: not tested",
            missing.name()
        );
    }
    out
}

/// One derivation's inputs.
#[derive(Clone, Debug)]
struct Input {
    password: Vec<u8>,
    salt: Vec<u8>,
    iterations: u32,
    len: usize,
}

/// Each input alone on the single-chain path (the detected backend), checked against the
/// `pbkdf2` crate.
fn alone(inputs: &[Input]) -> Vec<Vec<u8>> {
    inputs
        .iter()
        .map(|i| {
            let mut ours = vec![0u8; i.len];
            hazmat::pbkdf2_hmac_sha256(&i.password, &i.salt, i.iterations, &mut ours);
            let mut reference = vec![0u8; i.len];
            pbkdf2::pbkdf2_hmac::<sha2::Sha256>(
                &i.password,
                &i.salt,
                i.iterations.max(1),
                &mut reference,
            );
            assert_eq!(ours, reference, "single chain vs pbkdf2 crate: {i:?}");
            ours
        })
        .collect()
}

fn together(lanes: Lanes, inputs: &[Input]) -> Vec<Vec<u8>> {
    let mut outs: Vec<Vec<u8>> = inputs.iter().map(|i| vec![0u8; i.len]).collect();
    let mut jobs: Vec<Pbkdf2Job<'_>> = inputs
        .iter()
        .zip(outs.iter_mut())
        .map(|(i, out)| Pbkdf2Job::new(&i.password, &i.salt, i.iterations, out))
        .collect();
    hazmat::pbkdf2_hmac_sha256_many_with(lanes, &mut jobs).expect("available lanes");
    outs
}

fn inputs(count: usize, seed: u32) -> Vec<Input> {
    (0..count)
        .map(|k| {
            let k32 = u32::try_from(k).unwrap_or(0) + seed;
            Input {
                // Lengths around the 64-byte HMAC block, so that some keys are hashed first.
                password: vec![b'a' + (k32 % 26) as u8; 1 + (k * 7 + seed as usize) % 80],
                salt: format!("salt-{k}-{seed}").into_bytes(),
                iterations: 1 + (k32 * 37) % 90,
                len: [32, 20, 64, 33, 1][k % 5],
            }
        })
        .collect()
}

#[test]
fn every_batch_size_on_every_lanes_matches_the_single_chain() {
    for lanes in lanes() {
        let width = lanes.width().expect("available");
        for count in 0..=2 * width + 3 {
            let inputs = inputs(count, 3);
            assert_eq!(
                together(lanes, &inputs),
                alone(&inputs),
                "{} lanes, {count} derivations",
                lanes.name()
            );
        }
    }
}

#[test]
fn equal_costs_run_as_full_groups_and_match() {
    // The service's case: every chain 32 bytes at one count, so every group is full.
    for lanes in lanes() {
        let width = lanes.width().expect("available");
        for count in [1, 2, 3, 4, 8, 16, width, 2 * width] {
            let inputs: Vec<Input> = (0..count)
                .map(|k| Input {
                    password: format!("passphrase {k}").into_bytes(),
                    salt: vec![u8::try_from(k).unwrap_or(0); 16],
                    iterations: 1000,
                    len: 32,
                })
                .collect();
            assert_eq!(
                together(lanes, &inputs),
                alone(&inputs),
                "{} lanes, {count} derivations",
                lanes.name()
            );
        }
    }
}

#[test]
fn a_forced_way_this_cpu_lacks_is_refused() {
    for lanes in Lanes::ALL {
        let mut out = [7u8; 32];
        let mut jobs = [Pbkdf2Job::new(b"p", b"s", 1, &mut out)];
        match hazmat::pbkdf2_hmac_sha256_many_with(lanes, &mut jobs) {
            Ok(()) => assert!(lanes.is_available()),
            Err(e) => {
                assert!(!lanes.is_available());
                assert_eq!(e.lanes(), lanes);
                assert_eq!(out, [7u8; 32], "left untouched");
            }
        }
    }
    assert!(Lanes::Auto.is_available());
    assert!(Lanes::available().contains(&Lanes::detected()));
    // The detected single-chain backend is what `Sequential` runs.
    assert!(Backend::available().contains(&Backend::detected()));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn random_batches_match_the_single_chain(
        batch in proptest::collection::vec(
            (
                proptest::collection::vec(any::<u8>(), 0..100),
                proptest::collection::vec(any::<u8>(), 0..70),
                1u32..40,
                1usize..70,
            ),
            0..20,
        )
    ) {
        let inputs: Vec<Input> = batch
            .into_iter()
            .map(|(password, salt, iterations, len)| Input { password, salt, iterations, len })
            .collect();
        let expected = alone(&inputs);
        for lanes in Lanes::available() {
            prop_assert_eq!(together(lanes, &inputs), expected.clone(), "{}", lanes.name());
        }
    }
}
