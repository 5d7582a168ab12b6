//! Live interop with Python's `cryptography`: Rust seals, Python opens, and the reverse, with
//! fresh random passphrases, salts and records on every run, at the full 480,000 iterations.
//!
//! Needs a Python with `cryptography` installed; `.ci/run` makes one and runs
//! `CREDLOCK_PYTHON=.venv/bin/python cargo test -p credlock-crypto --test python_live -- --ignored`.

#![allow(clippy::unwrap_used, reason = "test helpers fail loudly")]

use std::io::Write as _;
use std::process::{Command, Stdio};

mod common;

use common::{hex, unhex};
use credlock_crypto::{KdfParams, Salt, derive_key};
use serde::Deserialize;
use serde_json::json;

const ROUNDS: usize = 3;

#[derive(Deserialize)]
struct Reply {
    cryptography: String,
    opened: Vec<String>,
    sealed: Vec<Sealed>,
}

#[derive(Deserialize)]
struct Sealed {
    passphrase: String,
    salt_hex: String,
    iterations: u64,
    plaintext_hex: String,
    token: String,
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).unwrap();
    b
}

/// A random passphrase with ASCII, non-ASCII and 4-byte UTF-8 characters.
fn random_passphrase() -> String {
    let alphabet: Vec<char> = "abcXYZ019-_ !äöüßé€✓🔐".chars().collect();
    random_bytes::<24>()
        .iter()
        .map(|b| alphabet[usize::from(*b) % alphabet.len()])
        .collect()
}

fn random_record() -> String {
    let r = random_bytes::<12>();
    json!({
        "email": format!("{}@example.com", hex(&r[..4])),
        "password": format!("pw-{}-Pässwörd", hex(&r[4..10])),
        "mfa_secret": hex(&r[10..]),
    })
    .to_string()
}

#[test]
#[ignore = "needs CREDLOCK_PYTHON pointing at a Python with `cryptography`; .ci/run sets it"]
fn rust_and_python_open_each_others_tokens() {
    let python = std::env::var("CREDLOCK_PYTHON").expect(
        "set CREDLOCK_PYTHON to a Python interpreter that has the `cryptography` package \
         (`.ci/run` creates one in .venv)",
    );
    let iterations = u64::from(KdfParams::RECOMMENDED_ITERATIONS);

    // Rust seals.
    let mut to_open = Vec::new();
    let mut expected = Vec::new();
    for _ in 0..ROUNDS {
        let passphrase = random_passphrase();
        let params = KdfParams::new(iterations, Salt::random().unwrap()).unwrap();
        let record = random_record();
        let token = derive_key(&passphrase, &params)
            .unwrap()
            .seal(record.as_bytes())
            .unwrap();
        to_open.push(json!({
            "passphrase": passphrase,
            "salt_hex": hex(params.salt().as_bytes()),
            "iterations": iterations,
            "token": token,
        }));
        expected.push(hex(record.as_bytes()));
    }

    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/python/live_interop.py");
    let mut child = Command::new(&python)
        .arg(script)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    let request = json!({ "to_open": to_open, "to_seal": ROUNDS, "iterations": iterations });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.to_string().as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "the Python peer failed: {}",
        output.status
    );
    let reply: Reply = serde_json::from_slice(&output.stdout).unwrap();

    // Python opened what Rust sealed.
    assert_eq!(reply.opened, expected);

    // Rust opens what Python sealed.
    assert_eq!(reply.sealed.len(), ROUNDS);
    for s in &reply.sealed {
        let params =
            KdfParams::new(s.iterations, Salt::from_slice(&unhex(&s.salt_hex)).unwrap()).unwrap();
        let key = derive_key(&s.passphrase, &params).unwrap();
        assert_eq!(hex(&key.open(&s.token).unwrap()), s.plaintext_hex);
        assert!(
            String::from_utf8(unhex(&s.plaintext_hex))
                .unwrap()
                .contains("@example.com")
        );
    }
    eprintln!(
        "live interop with cryptography {}: {ROUNDS} Rust->Python and {ROUNDS} Python->Rust",
        reply.cryptography
    );
}
