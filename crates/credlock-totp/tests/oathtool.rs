//! `oathtool`'s rules: every base32 key it accepts gives its codes here, however short, and
//! the spellings it refuses are refused here too.
//!
//! - `testdata/totp/oathtool.json`: codes computed by both OATH Toolkit's
//!   `oathtool --totp -b` and the Python `oathtool` package (which Eclosion's login uses),
//!   kept in the repository; always run.
//! - A differential run against the `oathtool` program on generated keys and spellings. It
//!   needs `oathtool` on the `PATH` (Debian: `apt-get install oathtool`); without it the test
//!   says loudly that it did not run, and fails when `CREDLOCK_REQUIRE_OATHTOOL=1`, as in CI.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    missing_docs,
    reason = "tests fail loudly"
)]
#![allow(clippy::print_stderr, reason = "a test that cannot run says so")]
#![allow(
    clippy::cast_possible_truncation,
    reason = "the generator takes bytes and indices from 64-bit numbers on purpose"
)]

use std::path::Path;
use std::process::Command;
use std::time::{Duration, UNIX_EPOCH};

use credlock_totp::TotpSecret;
use secrecy::ExposeSecret as _;

fn vectors() -> serde_json::Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/totp/oathtool.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "test data missing: {} ({e}); it is checked in under testdata/",
            path.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

fn code_at(secret: &TotpSecret, time: u64) -> String {
    secret
        .code_at(UNIX_EPOCH + Duration::from_secs(time))
        .code()
        .expose_secret()
        .to_owned()
}

#[test]
fn codes_computed_by_both_oathtools_are_ours() {
    let v = vectors();
    let codes = v["codes"].as_array().unwrap();
    assert_eq!(codes.len(), 250);
    for c in codes {
        let text = c["secret"].as_str().unwrap();
        let secret = TotpSecret::parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        let key_hex = c["key_hex"].as_str().unwrap();
        assert_eq!(secret.key_bits(), key_hex.len() * 4, "{text:?}");
        assert_eq!(
            secret.is_below_rfc4226_minimum(),
            key_hex.len() * 4 < 128,
            "{text:?}"
        );
        let time = c["time"].as_u64().unwrap();
        assert_eq!(
            code_at(&secret, time),
            c["code"].as_str().unwrap(),
            "{text:?} at {time}"
        );
    }
    // The shortest keys, as a user reads them: 1 byte, 5 bytes.
    assert!(codes.iter().any(|c| c["secret"] == "AA"));
    assert!(codes.iter().any(|c| c["secret"] == "JBSWY3DP"));
}

#[test]
fn spellings_both_oathtools_refuse_are_refused() {
    let v = vectors();
    let refused = v["refused_by_both"].as_array().unwrap();
    assert!(refused.len() >= 10);
    for text in refused {
        let text = text.as_str().unwrap();
        assert!(TotpSecret::parse(text).is_err(), "{text:?} was accepted");
    }
}

/// A small deterministic generator (xorshift64*), so that a failure can be run again.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn base32(bytes: &[u8]) -> String {
    let mut out = String::new();
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// `oathtool --totp -b --now @TIME -w 3 -- TEXT`: the codes of four steps from `time`, or
/// `None` if it refuses the text.
fn oathtool(text: &str, time: u64) -> Option<Vec<String>> {
    let out = Command::new("oathtool")
        .args(["--totp", "-b", "-w", "3", "--now"])
        .arg(format!("@{time}"))
        .arg("--")
        .arg(text)
        .output()
        .unwrap();
    out.status.success().then(|| {
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    })
}

fn oathtool_present() -> bool {
    let found = Command::new("oathtool")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        let required = std::env::var("CREDLOCK_REQUIRE_OATHTOOL").is_ok_and(|v| v == "1");
        assert!(
            !required,
            "CREDLOCK_REQUIRE_OATHTOOL=1 but the `oathtool` program is not on the PATH \
             (Debian: apt-get install oathtool)"
        );
        eprintln!(
            "\n*** NOT RUN: the differential test against `oathtool` needs the `oathtool` \
             program (Debian: apt-get install oathtool); CREDLOCK_REQUIRE_OATHTOOL=1 makes its \
             absence a failure ***\n"
        );
    }
    found
}

#[test]
fn agrees_with_the_oathtool_program_on_generated_keys_and_spellings() {
    if !oathtool_present() {
        return;
    }
    let mut rng = Rng(0x5eed_0a7b_c0de_2026);
    let mut accepted = 0;
    // Keys of every length from 1 to 64 bytes, typed in mixed case with spaces.
    for len in 1..=64usize {
        let key: Vec<u8> = (0..len).map(|_| (rng.next() >> 56) as u8).collect();
        let mut text = String::new();
        for (i, c) in base32(&key).chars().enumerate() {
            if i > 0 && rng.below(5) == 0 {
                text.push(' ');
            }
            text.push(if rng.below(2) == 0 {
                c.to_ascii_lowercase()
            } else {
                c
            });
        }
        let time = 30 + rng.below(1 << 34);
        let theirs = oathtool(&text, time).unwrap_or_else(|| panic!("oathtool refused {text:?}"));
        let ours = TotpSecret::parse(&text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        assert_eq!(ours.key_bits(), len * 8);
        for (step, code) in theirs.iter().enumerate() {
            assert_eq!(
                &code_at(&ours, time + 30 * step as u64),
                code,
                "{text:?} at {time}"
            );
        }
        accepted += 1;
    }
    // Random spellings, some not base32: accepted by both or refused by both. (credlock also
    // reads `=` padding anywhere at the end, dashes, tabs and newlines, which oathtool does not,
    // and refuses the empty key, which oathtool takes: none of them is generated here.)
    let (mut agreed_accepting, mut agreed_refusing) = (0, 0);
    let chars: Vec<char> = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567abcxyz 0189!\"\\"
        .chars()
        .collect();
    for _ in 0..400 {
        let len = 1 + rng.below(20) as usize;
        let text: String = (0..len)
            .map(|_| chars[rng.below(chars.len() as u64) as usize])
            .collect();
        if text.trim().is_empty() {
            continue;
        }
        let time = 30 + rng.below(1 << 34);
        match (oathtool(&text, time), TotpSecret::parse(&text)) {
            (Some(theirs), Ok(ours)) => {
                for (step, code) in theirs.iter().enumerate() {
                    assert_eq!(&code_at(&ours, time + 30 * step as u64), code, "{text:?}");
                }
                agreed_accepting += 1;
            }
            (None, Err(_)) => agreed_refusing += 1,
            (theirs, ours) => panic!("{text:?}: oathtool {theirs:?}, credlock {ours:?}"),
        }
    }
    assert_eq!(accepted, 64);
    // Both outcomes were compared often enough to mean something.
    assert!(
        agreed_accepting >= 30 && agreed_refusing >= 100,
        "accepted {agreed_accepting}, refused {agreed_refusing}"
    );
}
