//! The sealed record: the canonical serialisation of [`Credentials`] inside the one token.
//!
//! `{"email":…,"mfa_secret":…,"password":…}`: keys sorted, no spaces, UTF-8, `mfa_secret`
//! `null` when absent. Unknown fields are refused rather than dropped, so a record written by a
//! newer version is never silently re-sealed without its new fields.
//!
//! A record imported from Eclosion's database may also hold `"extras"` (between `"email"` and
//! `"mfa_secret"` in key order): an object of opaque text values by name (Eclosion's notes key
//! and the timestamps of its credentials row, see `crate::extras`), which a later export
//! restores. The field is omitted when there are none, so every other record is byte for byte
//! what earlier versions wrote and read. A version of credlock from before `extras` refuses a
//! record that has them (as not a credentials record) rather than dropping them.

use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use std::collections::BTreeMap;

use crate::credentials::Credentials;
use crate::credentials::Extras;
use crate::error::Error;

#[derive(Serialize)]
struct RecordOut<'a> {
    email: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    extras: BTreeMap<&'a str, &'a str>,
    mfa_secret: Option<&'a str>,
    password: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordIn {
    email: Zeroizing<String>,
    #[serde(default)]
    extras: BTreeMap<String, Zeroizing<String>>,
    mfa_secret: Option<Zeroizing<String>>,
    password: Zeroizing<String>,
}

/// The canonical bytes of a record, in a buffer zeroized on drop.
pub(crate) fn to_bytes(creds: &Credentials) -> Result<Zeroizing<Vec<u8>>, Error> {
    let out = RecordOut {
        email: creds.email(),
        extras: creds
            .extras()
            .0
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect(),
        mfa_secret: creds.mfa_secret().map(|s| s.expose_secret()),
        password: creds.password().expose_secret(),
    };
    // Room for the worst-case escaping, so the buffer never reallocates (a reallocation
    // would leave an unzeroized copy behind).
    let extras_len: usize = out.extras.iter().map(|(k, v)| k.len() + v.len() + 6).sum();
    let len =
        out.email.len() + out.password.len() + out.mfa_secret.map_or(0, str::len) + extras_len;
    let mut buf = Zeroizing::new(Vec::with_capacity(64 + 6 * len));
    serde_json::to_writer(&mut *buf, &out).map_err(|_| Error::CorruptVault {
        reason: "the record could not be serialised",
    })?;
    Ok(buf)
}

/// Parses the record opened from a token.
pub(crate) fn from_bytes(bytes: &[u8]) -> Result<Credentials, Error> {
    let rec: RecordIn = serde_json::from_slice(bytes).map_err(|_| Error::CorruptVault {
        reason: "the sealed record is not a credentials record",
    })?;
    let creds = Credentials::new(
        rec.email.as_str(),
        SecretString::from(rec.password.as_str()),
    );
    let creds = match rec.mfa_secret {
        Some(mfa) => creds.with_mfa_secret(SecretString::from(mfa.as_str())),
        None => creds,
    };
    Ok(creds.with_extras(Extras(rec.extras)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use super::*;

    fn creds() -> Credentials {
        Credentials::new("alice@example.com", SecretString::from("pw"))
    }

    #[test]
    fn a_record_without_extras_is_the_canonical_bytes_of_before() {
        let bytes = to_bytes(&creds()).unwrap();
        assert_eq!(
            bytes.as_slice(),
            br#"{"email":"alice@example.com","mfa_secret":null,"password":"pw"}"#
        );
        assert!(from_bytes(&bytes).unwrap().extras().is_empty());
    }

    #[test]
    fn extras_are_sealed_in_key_order_and_read_back() {
        let mut extras = Extras::default();
        extras.insert("eclosion.notes_key", "nk");
        extras.insert("eclosion.created_at", "2026-01-01 00:00:00.000000");
        let bytes = to_bytes(&creds().with_extras(extras)).unwrap();
        assert_eq!(
            bytes.as_slice(),
            br#"{"email":"alice@example.com","extras":{"eclosion.created_at":"2026-01-01 00:00:00.000000","eclosion.notes_key":"nk"},"mfa_secret":null,"password":"pw"}"#
        );
        let back = from_bytes(&bytes).unwrap();
        assert_eq!(back.extras().get("eclosion.notes_key"), Some("nk"));
        assert_eq!(to_bytes(&back).unwrap().as_slice(), bytes.as_slice());
    }

    #[test]
    fn the_buffer_is_reserved_for_the_worst_case_and_never_regrown() {
        // Control characters are escaped as `\u00XX`: six bytes for one, the worst case.
        let (email, password, mfa) = ("\u{1}".repeat(5), "\u{2}".repeat(7), "\u{3}".repeat(3));
        let (key, value) = ("k\u{4}", "\u{5}".repeat(11));
        let mut extras = Extras::default();
        extras.insert(key, &value);
        let worst = Credentials::new(email.as_str(), SecretString::from(password.as_str()))
            .with_mfa_secret(SecretString::from(mfa.as_str()))
            .with_extras(extras);
        let bytes = to_bytes(&worst).unwrap();
        assert_eq!(from_bytes(&bytes).unwrap().email(), email);
        // The reservation: 64 bytes of structure and six per byte of every field, the
        // extras with six bytes of quotes and separators each.
        let reserved = 64 + 6 * (5 + 7 + 3 + (key.len() + value.len() + 6));
        assert!(bytes.len() <= reserved);
        assert_eq!(bytes.capacity(), reserved, "the buffer was regrown");
    }
}
