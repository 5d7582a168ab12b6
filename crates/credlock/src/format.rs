//! The vault file format, versions 1 and 2.
//!
//! A vault file is UTF-8 JSON, written `0600` by atomic replace. Version 1:
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
//!
//! ## Version 2: the passphrase's normalisation, and Argon2id
//!
//! Version 2 is version 1 with two additions to the `kdf` object, and nothing else changed
//! (the cipher, the token and the record are the same):
//!
//! ```json
//! "kdf": {
//!   "algorithm": "pbkdf2-hmac-sha256",
//!   "iterations": 1210000,
//!   "salt": "ABEiM0RVZneImaq7zN3u_w==",
//!   "normalization": "nfkc"
//! }
//! ```
//!
//! ```json
//! "kdf": {
//!   "algorithm": "argon2id",
//!   "version": 19,
//!   "memory_kib": 65536,
//!   "passes": 3,
//!   "lanes": 4,
//!   "salt": "ABEiM0RVZneImaq7zN3u_w==",
//!   "normalization": "nfkc"
//! }
//! ```
//!
//! - `normalization` (required in version 2): `"nfkc"` hashes the passphrase's Unicode NFKC
//!   form (NIST SP 800-63B), so every spelling of "é" (U+00E9, or `e` + U+0301) opens the
//!   vault; `"none"` hashes its exact UTF-8 bytes, as version 1 and Python do.
//! - `algorithm` `argon2id` is Argon2id of RFC 9106 with `version` 19 (0x13, the only one
//!   accepted), `memory_kib`, `passes` and `lanes`, 32 bytes of output, no secret and no
//!   associated data. Its parameters are refused below OWASP's floor (19 MiB, 2 passes,
//!   1 lane) and above the application's caps (by default 1 GiB and 10 passes; lanes at most
//!   16) before any memory is allocated. `iterations` belongs to PBKDF2 only; a field of the
//!   other algorithm is refused.
//!
//! A reader of this version reads both versions; a version 1 file means PBKDF2 over the raw
//! bytes. The writer writes the **lowest version that can say what the file holds**: PBKDF2
//! over the raw bytes is written as version 1 (so such files stay readable by every credlock
//! release, byte for byte the format of a vault kept Eclosion-compatible), anything else as
//! version 2.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use credlock_crypto::{Argon2Cost, Argon2Limits, KdfAlgorithm, KdfParams, Normalization, Salt};
use serde::{Deserialize, Serialize};

use crate::error::Error;

/// The `format` value of a credlock vault file.
pub const FORMAT_NAME: &str = "credlock-vault";
/// The newest format version this build reads and writes (it reads every version from 1).
pub const FORMAT_VERSION: u64 = 2;
/// The only cipher of versions 1 and 2.
pub const CIPHER: &str = "fernet";
/// The only Argon2 version accepted: 0x13.
pub const ARGON2_VERSION: u32 = 0x13;

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

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileV2 {
    format: String,
    version: u64,
    kdf: KdfV2,
    cipher: String,
    token: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KdfV2 {
    algorithm: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    iterations: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    memory_kib: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    passes: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    lanes: Option<u64>,
    salt: String,
    normalization: String,
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

    /// Argon2id parameters checked against these bounds and the caps in `limits`.
    pub(crate) fn argon2(
        self,
        cost: Argon2Cost,
        salt: Salt,
        limits: &Argon2Limits,
    ) -> Result<KdfParams, Error> {
        Ok(match self {
            Self::Secure => KdfParams::argon2id(cost, salt, limits)?,
            Self::InsecureLowCost => KdfParams::insecure_argon2id(cost, salt, limits)?,
        })
    }
}

/// A number from a file that must fit a `u32` for an Argon2 parameter (a larger one is out
/// of every range, and reported as such).
fn argon2_field(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

impl VaultFile {
    /// Parses a file, checking its KDF parameters against `acceptance` and `limits` before
    /// anything else can use them.
    pub(crate) fn parse_with(
        bytes: &[u8],
        acceptance: Acceptance,
        limits: &Argon2Limits,
    ) -> Result<Self, Error> {
        let probe: Probe = serde_json::from_slice(bytes).map_err(|_| Error::CorruptVault {
            reason: "not JSON, or truncated",
        })?;
        if probe.format.as_deref() != Some(FORMAT_NAME) {
            return Err(Error::CorruptVault {
                reason: "not a credlock vault file (no \"format\": \"credlock-vault\")",
            });
        }
        match probe.version.as_ref().map(serde_json::Value::as_u64) {
            Some(Some(1)) => {}
            Some(Some(2)) => return Self::parse_v2(bytes, acceptance, limits),
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
        // Version 1 knows only PBKDF2-HMAC-SHA256; the `KdfParams` below are built for it.
        if KdfAlgorithm::from_name(&file.kdf.algorithm) != Some(KdfAlgorithm::Pbkdf2HmacSha256) {
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

    fn parse_v2(
        bytes: &[u8],
        acceptance: Acceptance,
        limits: &Argon2Limits,
    ) -> Result<Self, Error> {
        let file: FileV2 = serde_json::from_slice(bytes).map_err(|_| Error::CorruptVault {
            reason: "fields missing, malformed or unknown for version 2",
        })?;
        let kdf = &file.kdf;
        let Some(algorithm) = KdfAlgorithm::from_name(&kdf.algorithm) else {
            return Err(Error::UnsupportedAlgorithm {
                found: kdf.algorithm.chars().take(64).collect(),
            });
        };
        if file.cipher != CIPHER {
            return Err(Error::CorruptVault {
                reason: "unknown cipher (version 2 knows only \"fernet\")",
            });
        }
        let normalization =
            Normalization::from_name(&kdf.normalization).ok_or(Error::CorruptVault {
                reason: "unknown passphrase normalization (version 2 knows \"none\" and \"nfkc\")",
            })?;
        let salt = URL_SAFE
            .decode(kdf.salt.as_bytes())
            .map_err(|_| Error::CorruptVault {
                reason: "the salt is not padded base64url",
            })?;
        let salt = Salt::from_slice(&salt)?;
        let params = match (algorithm, kdf) {
            (
                KdfAlgorithm::Pbkdf2HmacSha256,
                KdfV2 {
                    iterations: Some(iterations),
                    version: None,
                    memory_kib: None,
                    passes: None,
                    lanes: None,
                    ..
                },
            ) => acceptance.params(*iterations, salt)?,
            (
                KdfAlgorithm::Argon2id,
                KdfV2 {
                    iterations: None,
                    version: Some(version),
                    memory_kib: Some(memory_kib),
                    passes: Some(passes),
                    lanes: Some(lanes),
                    ..
                },
            ) => {
                if *version != u64::from(ARGON2_VERSION) {
                    return Err(Error::CorruptVault {
                        reason: "unsupported Argon2 version (only 19, 0x13, is accepted)",
                    });
                }
                let cost = Argon2Cost::new(
                    argon2_field(*memory_kib),
                    argon2_field(*passes),
                    argon2_field(*lanes),
                );
                acceptance.argon2(cost, salt, limits)?
            }
            _ => {
                return Err(Error::CorruptVault {
                    reason: "the KDF fields do not match the algorithm",
                });
            }
        };
        if file.token.is_empty() {
            return Err(Error::CorruptVault {
                reason: "the token is empty",
            });
        }
        Ok(Self {
            params: params.with_normalization(normalization),
            token: file.token,
        })
    }

    /// The format version this file is written in: 1 for PBKDF2 over the raw bytes, 2 for
    /// anything else.
    pub(crate) fn version(&self) -> u64 {
        if self.params.algorithm() == KdfAlgorithm::Pbkdf2HmacSha256
            && self.params.normalization() == Normalization::None
        {
            1
        } else {
            2
        }
    }

    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        if self.version() == 2 {
            return self.to_bytes_v2();
        }
        let file = FileV1 {
            format: FORMAT_NAME.to_owned(),
            version: 1,
            kdf: KdfV1 {
                algorithm: self.params.algorithm().name().to_owned(),
                iterations: u64::from(self.params.iterations()),
                salt: URL_SAFE.encode(self.params.salt().as_bytes()),
            },
            cipher: CIPHER.to_owned(),
            token: self.token.clone(),
        };
        finish(&file)
    }

    fn to_bytes_v2(&self) -> Result<Vec<u8>, Error> {
        let params = &self.params;
        let argon2 = params.argon2_cost();
        let file = FileV2 {
            format: FORMAT_NAME.to_owned(),
            version: 2,
            kdf: KdfV2 {
                algorithm: params.algorithm().name().to_owned(),
                iterations: argon2.is_none().then(|| u64::from(params.iterations())),
                version: argon2.map(|_| u64::from(ARGON2_VERSION)),
                memory_kib: argon2.map(|c| u64::from(c.memory_kib())),
                passes: argon2.map(|c| u64::from(c.passes())),
                lanes: argon2.map(|c| u64::from(c.lanes())),
                salt: URL_SAFE.encode(params.salt().as_bytes()),
                normalization: params.normalization().name().to_owned(),
            },
            cipher: CIPHER.to_owned(),
            token: self.token.clone(),
        };
        finish(&file)
    }
}

fn finish(file: &impl Serialize) -> Result<Vec<u8>, Error> {
    let mut bytes = serde_json::to_vec_pretty(file).map_err(|_| Error::CorruptVault {
        reason: "the vault file could not be serialised",
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}
