//! The sealed record: the canonical serialisation of [`Credentials`] inside the one token.
//!
//! `{"email":…,"mfa_secret":…,"password":…}`: keys sorted, no spaces, UTF-8, `mfa_secret`
//! `null` when absent. Unknown fields are refused rather than dropped, so a record written by a
//! newer version is never silently re-sealed without its new fields (a writer that adds
//! fields also raises the file format version).

use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::credentials::Credentials;
use crate::error::Error;

#[derive(Serialize)]
struct RecordOut<'a> {
    email: &'a str,
    mfa_secret: Option<&'a str>,
    password: &'a str,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordIn {
    email: Zeroizing<String>,
    mfa_secret: Option<Zeroizing<String>>,
    password: Zeroizing<String>,
}

/// The canonical bytes of a record, in a buffer zeroized on drop.
pub(crate) fn to_bytes(creds: &Credentials) -> Result<Zeroizing<Vec<u8>>, Error> {
    let out = RecordOut {
        email: creds.email(),
        mfa_secret: creds.mfa_secret().map(|s| s.expose_secret()),
        password: creds.password().expose_secret(),
    };
    // Room for the worst-case escaping, so the buffer never reallocates (a reallocation
    // would leave an unzeroized copy behind).
    let len = out.email.len() + out.password.len() + out.mfa_secret.map_or(0, str::len);
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
    Ok(match rec.mfa_secret {
        Some(mfa) => creds.with_mfa_secret(SecretString::from(mfa.as_str())),
        None => creds,
    })
}
