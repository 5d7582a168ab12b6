//! Loading the reference vectors checked in under `testdata/` at the repository root.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};

/// The path of one file under the repository's `testdata/` folder (`../../testdata` from
/// this crate's manifest directory). Panics, naming the full path, if the file is missing:
/// the data is part of the repository, so a test never skips for want of it.
pub fn testdata(relative: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the crate sits at crates/<name> in the repository");
    let path = root.join("testdata").join(relative);
    assert!(
        path.is_file(),
        "test data file missing: {} (it is checked in under testdata/; see testdata/README.md)",
        path.display()
    );
    path
}

/// Reads and parses one JSON file under `testdata/`.
pub fn load_json<T: serde::de::DeserializeOwned>(relative: &str) -> T {
    let path = testdata(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read vector file {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("cannot parse vector file {}: {e}", path.display()))
}

/// The schema of `testdata/pyca-interop/python-cryptography.json` (see its README).
pub mod interop {
    use super::load_json;

    #[derive(serde::Deserialize)]
    pub struct Vectors {
        pub pbkdf2_sha256: Vec<Kdf>,
        pub fernet_tokens: Vec<Token>,
        pub rfc7914_pbkdf2_sha256: Vec<Rfc>,
    }

    #[derive(serde::Deserialize)]
    pub struct Kdf {
        pub id: String,
        pub passphrase: String,
        pub passphrase_utf8_hex: String,
        pub passphrase_chars: usize,
        pub passphrase_utf8_bytes: usize,
        pub salt_hex: String,
        pub iterations: u64,
        pub dklen: usize,
        pub derived_key_hex: String,
        pub fernet_key: String,
    }

    #[derive(serde::Deserialize)]
    pub struct Token {
        pub id: String,
        pub fernet_key: String,
        pub timestamp: u64,
        pub iv_hex: String,
        pub plaintext_hex: String,
        pub token: String,
        pub checks: Vec<Check>,
    }

    #[derive(serde::Deserialize)]
    pub struct Check {
        pub desc: String,
        pub ttl: Option<u64>,
        pub current_time: Option<u64>,
        pub fernet_key: Option<String>,
        pub token: Option<String>,
        pub expect: String,
    }

    #[derive(serde::Deserialize)]
    pub struct Rfc {
        pub password: String,
        pub salt: String,
        pub iterations: u32,
        pub dklen: usize,
        pub derived_key_hex: String,
    }

    /// The parsed `testdata/pyca-interop/python-cryptography.json`.
    pub fn vectors() -> Vectors {
        load_json("pyca-interop/python-cryptography.json")
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd-length hex {text:?}");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// Unix seconds of an RFC 3339 time with a numeric offset, as the Fernet spec files use
/// (e.g. `1985-10-26T01:20:00-07:00`).
pub fn rfc3339_to_unix(text: &str) -> u64 {
    let (date, rest) = text.split_once('T').expect("date and time");
    let mut d = date
        .split('-')
        .map(|p| p.parse::<i64>().expect("date field"));
    let (y, m, day) = (d.next().unwrap(), d.next().unwrap(), d.next().unwrap());
    let (time, sign, offset) = if let Some(t) = rest.strip_suffix('Z') {
        (t, 1, "00:00")
    } else {
        let at = rest.rfind(['+', '-']).expect("offset");
        let sign = if &rest[at..=at] == "-" { -1 } else { 1 };
        (&rest[..at], sign, &rest[at + 1..])
    };
    let mut t = time
        .split(':')
        .map(|p| p.parse::<i64>().expect("time field"));
    let (hh, mm, ss) = (t.next().unwrap(), t.next().unwrap(), t.next().unwrap());
    let mut o = offset
        .split(':')
        .map(|p| p.parse::<i64>().expect("offset field"));
    let off = sign * (o.next().unwrap() * 3600 + o.next().unwrap() * 60);
    // Days from civil (Howard Hinnant's algorithm).
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days * 86_400 + hh * 3600 + mm * 60 + ss - off).expect("after 1970")
}

#[test]
fn rfc3339_example_from_the_spec_source_note() {
    // testdata/fernet-spec/SOURCE.md: 1985-10-26T01:20:00-07:00 is 499162800.
    assert_eq!(rfc3339_to_unix("1985-10-26T01:20:00-07:00"), 499_162_800);
    assert_eq!(rfc3339_to_unix("1970-01-01T00:00:00Z"), 0);
}
