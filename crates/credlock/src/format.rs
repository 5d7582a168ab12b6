//! The vault file format, version 1.
//!
//! A vault file is UTF-8 JSON, written `0600` by atomic replace:
//!
//! ```json
//! {
//!   "format": "credlock-vault",
//!   "version": 1,
//!   "kdf": {
//!     "algorithm": "pbkdf2-hmac-sha256",
//!     "iterations": 480000,
//!     "salt": "ABEiM0RVZneImaq7zN3u_w=="
//!   },
//!   "cipher": "fernet",
//!   "token": "gAAAAA…"
//! }
//! ```
//!
//! - `format` and `version` identify the file. A reader refuses any other `format`, and any
//!   `version` it does not know, before reading anything else.
//! - `kdf` records how the key was derived, so the cost can change later without breaking old
//!   files: `algorithm` (only `pbkdf2-hmac-sha256` today), `iterations` (refused outside
//!   100,000..=10,000,000 before any derivation, so a planted file can neither weaken nor hang
//!   the derivation) and `salt` (16 random bytes, padded base64url, fresh for every vault and
//!   every passphrase change). The key is PBKDF2-HMAC-SHA256 of the passphrase's exact UTF-8
//!   bytes, 32 bytes long: bytes 0..16 sign, 16..32 encrypt.
//! - `token` is ONE Fernet token (`0x80 | timestamp | IV | AES-128-CBC | HMAC-SHA256`, padded
//!   base64url) over the canonical JSON of the whole record,
//!   `{"email":…,"mfa_secret":…|null,"password":…}` (keys sorted, no spaces; a record imported
//!   from Eclosion's database also has `"extras"`, opaque values such as Eclosion's notes key,
//!   between `"email"` and `"mfa_secret"`). One token means
//!   fields cannot be swapped between files or records, and whether an MFA secret is stored
//!   is not visible from outside.
//! - Unknown top-level fields are refused. A future writer that adds fields raises `version`.
//!
//! The token opens with Python's `cryptography`:
//! `Fernet(urlsafe_b64encode(PBKDF2HMAC(SHA256(), 32, salt, iterations).derive(passphrase)))`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use credlock_crypto::{KdfAlgorithm, KdfParams, Salt};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The `format` value of a credlock vault file.
pub const FORMAT_NAME: &str = "credlock-vault";
/// The format version this build reads and writes.
pub const FORMAT_VERSION: u64 = 1;
/// The only cipher of version 1.
pub const CIPHER: &str = "fernet";

/// A parsed vault file: checked KDF parameters and the token (not yet opened).
#[derive(Debug)]
pub(crate) struct VaultFile {
    pub(crate) params: KdfParams,
    pub(crate) token: String,
}

#[derive(Deserialize)]
struct Probe {
    format: Option<String>,
    version: Option<serde_json::Value>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileV1 {
    format: String,
    version: u64,
    kdf: KdfV1,
    cipher: String,
    token: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KdfV1 {
    algorithm: String,
    iterations: u64,
    salt: String,
}

/// Which iteration counts a reader accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Acceptance {
    /// `KdfParams::new`: 100,000..=10,000,000.
    Secure,
    /// `KdfParams::insecure_low_cost`: 1..=10,000,000 (tests only).
    InsecureLowCost,
}

impl Acceptance {
    /// KDF parameters with an iteration count checked against these bounds.
    pub(crate) fn params(self, iterations: u64, salt: Salt) -> Result<KdfParams, Error> {
        Ok(match self {
            Self::Secure => KdfParams::new(iterations, salt)?,
            Self::InsecureLowCost => KdfParams::insecure_low_cost(iterations, salt)?,
        })
    }
}

impl VaultFile {
    pub(crate) fn parse(bytes: &[u8], acceptance: Acceptance) -> Result<Self, Error> {
        let probe: Probe = serde_json::from_slice(bytes).map_err(|_| Error::CorruptVault {
            reason: "not JSON, or truncated",
        })?;
        if probe.format.as_deref() != Some(FORMAT_NAME) {
            return Err(Error::CorruptVault {
                reason: "not a credlock vault file (no \"format\": \"credlock-vault\")",
            });
        }
        match probe.version.as_ref().map(serde_json::Value::as_u64) {
            Some(Some(FORMAT_VERSION)) => {}
            Some(Some(found)) => {
                return Err(Error::UnsupportedVersion {
                    found,
                    supported: FORMAT_VERSION,
                });
            }
            _ => {
                return Err(Error::CorruptVault {
                    reason: "missing or malformed \"version\"",
                });
            }
        }
        let file: FileV1 = serde_json::from_slice(bytes).map_err(|_| Error::CorruptVault {
            reason: "fields missing, malformed or unknown for version 1",
        })?;
        // Only PBKDF2-HMAC-SHA256 exists; the `KdfParams` below are built for it.
        if KdfAlgorithm::from_name(&file.kdf.algorithm).is_none() {
            return Err(Error::UnsupportedAlgorithm {
                found: file.kdf.algorithm.chars().take(64).collect(),
            });
        }
        if file.cipher != CIPHER {
            return Err(Error::CorruptVault {
                reason: "unknown cipher (version 1 knows only \"fernet\")",
            });
        }
        let salt = URL_SAFE
            .decode(file.kdf.salt.as_bytes())
            .map_err(|_| Error::CorruptVault {
                reason: "the salt is not padded base64url",
            })?;
        let salt = Salt::from_slice(&salt)?;
        let params = acceptance.params(file.kdf.iterations, salt)?;
        if file.token.is_empty() {
            return Err(Error::CorruptVault {
                reason: "the token is empty",
            });
        }
        Ok(Self {
            params,
            token: file.token,
        })
    }

    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let file = FileV1 {
            format: FORMAT_NAME.to_owned(),
            version: FORMAT_VERSION,
            kdf: KdfV1 {
                algorithm: self.params.algorithm().name().to_owned(),
                iterations: u64::from(self.params.iterations()),
                salt: URL_SAFE.encode(self.params.salt().as_bytes()),
            },
            cipher: CIPHER.to_owned(),
            token: self.token.clone(),
        };
        let mut bytes = serde_json::to_vec_pretty(&file).map_err(|_| Error::CorruptVault {
            reason: "the vault file could not be serialised",
        })?;
        bytes.push(b'\n');
        Ok(bytes)
    }
}
