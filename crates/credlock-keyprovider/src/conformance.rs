//! The conformance suite every [`KeyProvider`] passes (feature `conformance`).
//!
//! Provider crates call [`conformance`] on any provider and
//! [`conformance_with_known_key`] on one holding a key the test knows (for a token: imported
//! with that key), from their tests. Both panic with a message on the first violation.
//!
//! # Example
//!
//! ```
//! use std::io::Write as _;
//! use std::os::unix::fs::OpenOptionsExt as _;
//! use credlock_keyprovider::conformance::{KNOWN_KEY, conformance, conformance_with_known_key};
//! use credlock_keyprovider::FileKeyProvider;
//!
//! let dir = tempfile::tempdir()?;
//! let path = dir.path().join("pepper");
//! std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?
//!     .write_all(&KNOWN_KEY)?;
//! let p = FileKeyProvider::open(&path)?;
//! conformance(&p);
//! conformance_with_known_key(&p, &KNOWN_KEY);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::{KEY_LEN, KeyProvider, reference_apply};

/// The shared test key: the bytes `00 01 02 .. 1f`.
pub const KNOWN_KEY: [u8; KEY_LEN] = {
    let mut k = [0u8; KEY_LEN];
    let mut i = 0;
    while i < KEY_LEN {
        #[allow(clippy::cast_possible_truncation)] // i < 32
        {
            k[i] = i as u8;
        }
        i += 1;
    }
    k
};

/// The shared test input: the bytes `20 21 22 .. 3f`.
pub const KNOWN_INPUT: [u8; KEY_LEN] = {
    let mut k = [0u8; KEY_LEN];
    let mut i = 0;
    while i < KEY_LEN {
        #[allow(clippy::cast_possible_truncation)] // i < 32
        {
            k[i] = 0x20 + i as u8;
        }
        i += 1;
    }
    k
};

/// `HMAC-SHA256(KNOWN_KEY, DOMAIN || KNOWN_INPUT)`, computed independently of this crate:
///
/// ```sh
/// python3 -c 'import hmac, hashlib; print(hmac.new(bytes(range(32)),
///     b"credlock key provider v1\0" + bytes(range(0x20, 0x40)), hashlib.sha256).hexdigest())'
/// # and
/// { printf "credlock key provider v1\0"; python3 -c 'import sys; sys.stdout.buffer.write(bytes(range(0x20, 0x40)))'; } \
///   | openssl dgst -sha256 -mac HMAC -macopt hexkey:000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
/// ```
///
/// both print `3544e64355f2d841eca59bb0299ba71cfd892f359d560ae391419a60a6c9b8ac`.
pub const KNOWN_ANSWER: [u8; KEY_LEN] = [
    0x35, 0x44, 0xe6, 0x43, 0x55, 0xf2, 0xd8, 0x41, 0xec, 0xa5, 0x9b, 0xb0, 0x29, 0x9b, 0xa7, 0x1c,
    0xfd, 0x89, 0x2f, 0x35, 0x9d, 0x56, 0x0a, 0xe3, 0x91, 0x41, 0x9a, 0x60, 0xa6, 0xc9, 0xb8, 0xac,
];

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The longest run of hex digits in `s`: a key or an output printed in hex would show as a run
/// of 64.
fn longest_hex_run(s: &str) -> usize {
    let (mut best, mut run) = (0, 0);
    for c in s.chars() {
        if c.is_ascii_hexdigit() {
            run += 1;
            best = best.max(run);
        } else {
            run = 0;
        }
    }
    best
}

/// Checks the contract on any provider: deterministic, distinct inputs give distinct
/// outputs, the output is not the input, the identity's text is `kind:key_id` and neither it
/// nor `Debug` holds anything key-like (a run of 32 or more hex digits, an output in hex or as
/// a byte list), and concurrent calls from several threads agree.
///
/// # Panics
///
/// On the first violation, with a message naming it (the test fails).
pub fn conformance(p: &dyn KeyProvider) {
    let inputs: [[u8; KEY_LEN]; 4] = [[0u8; KEY_LEN], [0xff; KEY_LEN], KNOWN_INPUT, {
        let mut one = [0u8; KEY_LEN];
        one[31] = 1;
        one
    }];
    let mut outputs = Vec::new();
    for input in &inputs {
        let a = p.apply(input).expect("apply failed");
        let b = p.apply(input).expect("apply failed the second time");
        assert_eq!(*a, *b, "apply is not deterministic");
        assert_ne!(*a, *input, "apply returned its input");
        assert_ne!(*a, [0u8; KEY_LEN], "apply returned zeros");
        outputs.push(*a);
    }
    for i in 0..outputs.len() {
        for j in i + 1..outputs.len() {
            assert_ne!(
                outputs[i], outputs[j],
                "distinct inputs gave the same output"
            );
        }
    }

    let id = p.identity();
    assert!(!id.kind.is_empty(), "identity has an empty kind");
    assert!(!id.key_id.is_empty(), "identity has an empty key id");
    assert_eq!(id.to_string(), format!("{}:{}", id.kind, id.key_id));
    let debug = format!("{p:?}");
    let alt_debug = format!("{p:#?}");
    for text in [id.to_string(), debug.clone(), alt_debug.clone()] {
        assert!(
            longest_hex_run(&text) < 32,
            "identity or Debug holds a key-like hex string: {text}"
        );
        for out in &outputs {
            assert!(
                !text.contains(&hex(out)),
                "identity or Debug shows an output"
            );
            assert!(
                !text.contains(&format!("{:?}", &out[..8])),
                "identity or Debug shows an output's bytes"
            );
        }
    }

    // Send + Sync in practice: concurrent calls agree with the sequential ones.
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let input = inputs[t % inputs.len()];
                s.spawn(move || {
                    (0..8)
                        .map(|_| *p.apply(&input).expect("concurrent apply failed"))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        for (t, h) in handles.into_iter().enumerate() {
            let got = h.join().expect("a concurrent apply panicked");
            for out in got {
                assert_eq!(out, outputs[t % inputs.len()], "concurrent apply disagrees");
            }
        }
    });
}

/// Checks that `p`, holding `key`, computes the shared construction: its output equals
/// [`reference_apply`] under `key` on several inputs, [`reference_apply`] itself matches the
/// independent vector ([`KNOWN_ANSWER`]), and for `key == KNOWN_KEY` the provider gives
/// [`KNOWN_ANSWER`] on [`KNOWN_INPUT`]. Also checks that neither the identity nor `Debug`
/// shows the key.
///
/// # Panics
///
/// On the first violation (the test fails).
pub fn conformance_with_known_key(p: &dyn KeyProvider, key: &[u8; KEY_LEN]) {
    assert_eq!(
        *reference_apply(&KNOWN_KEY, &KNOWN_INPUT),
        KNOWN_ANSWER,
        "the reference construction does not match the independent vector"
    );
    for input in [KNOWN_INPUT, [0u8; KEY_LEN], [0xa5; KEY_LEN]] {
        let got = p.apply(&input).expect("apply failed");
        assert_eq!(
            *got,
            *reference_apply(key, &input),
            "the provider's output differs from HMAC-SHA256(key, DOMAIN || input)"
        );
    }
    if *key == KNOWN_KEY {
        assert_eq!(*p.apply(&KNOWN_INPUT).expect("apply failed"), KNOWN_ANSWER);
    }
    let texts = [
        p.identity().to_string(),
        format!("{p:?}"),
        format!("{p:#?}"),
    ];
    for text in texts {
        assert!(!text.contains(&hex(key)), "identity or Debug shows the key");
        assert!(
            !text.contains(&hex(key).to_uppercase()),
            "identity or Debug shows the key"
        );
        assert!(
            !text.contains(&format!("{:?}", &key[..8])),
            "identity or Debug shows the key's bytes"
        );
    }
}
