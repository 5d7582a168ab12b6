//! The vault file format, versions 1, 2 and 3.
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
//! A version 1 file means PBKDF2 over the raw bytes.
//!
//! ## Version 3: a data key in keyslots
//!
//! ```json
//! {
//!   "format": "credlock-vault",
//!   "version": 3,
//!   "vault_id": "5WGZFgr_YmcJqYhPU16cjQ==",
//!   "epoch": 1,
//!   "cipher": "fernet",
//!   "token": "gAAAAA…",
//!   "slots": [
//!     {
//!       "id": "slt_cffbda8cb7660ead",
//!       "kind": "passphrase",
//!       "label": "passphrase",
//!       "created_ms": 1796527052121,
//!       "last_used_ms": null,
//!       "kdf": { "algorithm": "argon2id", "version": 19, "memory_kib": 65536, "passes": 3,
//!                "lanes": 4, "salt": "…", "normalization": "nfkc" },
//!       "public_key": "AtkhCS60GH7T…",
//!       "private_key": "buAxKr3qm3uQ…",
//!       "data_key": "A305UeXnnKbM…"
//!     },
//!     { "id": "slt_…", "kind": "recovery_key", "label": "printed kit", "created_ms": …,
//!       "last_used_ms": null, "salt": "…", "public_key": "…", "private_key": "…",
//!       "data_key": "…" }
//!   ]
//! }
//! ```
//!
//! - `token` is the same Fernet token over the same record, under a random 256-bit **data
//!   key** instead of the passphrase's key.
//! - `vault_id` (16 random bytes) names the vault; `epoch` (from 1) counts the data keys: every
//!   rotation (a passphrase change, a recovery, a removed slot, revoking every session) seals
//!   the record under a new data key and adds one.
//! - `slots` (1 to 32, exactly one of kind `passphrase`, ids unique) each wrap the data key:
//!   - `id`: `slt_` and 16 lowercase hex digits; `label`: 1 to 64 characters, no control
//!     characters; `created_ms`, `last_used_ms`: milliseconds since the Unix epoch (the last
//!     use is noted by an unlock at most once a minute and is not authenticated).
//!   - `kind` `passphrase` has `kdf` (the version-2 object); the slot's key-encryption key
//!     (KEK) is HKDF-SHA256 (no salt) of the KDF's 32-byte output with the info
//!     `credlock keyslot v3 kek passphrase`. Kinds `recovery_key` and `secret` have `salt` (16
//!     bytes); their KEK is HKDF-SHA256 of the secret with that salt and the info
//!     `credlock keyslot v3 kek ` followed by the kind.
//!   - `public_key`: the slot's P-256 public key, 33 bytes (compressed SEC1).
//!   - `private_key`: a 24-byte nonce ‖ XChaCha20-Poly1305 under the KEK of the private
//!     key's 32-byte scalar, with the associated data `credlock keyslot v3 private key `,
//!     the kind, a zero byte and the public key (72 bytes).
//!   - `data_key`: an ephemeral P-256 public key (33 bytes) ‖ a 24-byte nonce ‖
//!     XChaCha20-Poly1305 of the data key (48 bytes; 105 in all) under HKDF-SHA256 (no salt)
//!     of the ECDH shared secret with the info `credlock keyslot v3 data key wrap` ‖ the
//!     ephemeral public key ‖ the slot's public key. Its associated data is the slot's
//!     **binding**, the JSON object `{"format":"credlock keyslot v3","vault_id":…,"epoch":…,
//!     "id":…,"kind":…,"label":…,"created_ms":…,"source":…,"public_key":…}` in that order,
//!     without spaces, where `source` is `algorithm:i=iterations:salt:normalization` (or
//!     `algorithm:m=…,t=…,p=…:salt:normalization`) for a passphrase slot and `salt:` and the
//!     salt for the others (base64 values as in the file).
//!   - All binary values are padded base64url.
//!
//! Opening a slot takes its secret; wrapping a new data key for a slot takes only its public
//! key, which is how a rotation re-wraps every remaining slot. A slot relabelled, moved from
//! another vault or epoch, or otherwise altered opens no data key even with the right secret
//! (the binding is its associated data) and is reported as [`Error::CorruptVault`], not as a
//! wrong passphrase. `crates/credlock/tests/common/v3.rs` opens a file from this text alone.
//!
//! A reader of this version reads every version. The writer writes version 3, except for a
//! vault kept Eclosion-compatible
//! ([`VaultBuilder::keep_eclosion_compatible_kdf`](crate::VaultBuilder::keep_eclosion_compatible_kdf)),
//! which stays at the **lowest version that can say what it holds**: PBKDF2 over the raw
//! bytes is version 1 (byte for byte the format Eclosion's recipe opens). An unlock moves a
//! vault of version 1 or 2 to version 3 unless it is kept Eclosion-compatible; Eclosion
//! exports are written from the record, whatever the vault's version.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use credlock_crypto::{
    Argon2Cost, Argon2Limits, FernetKey, KdfAlgorithm, KdfParams, Normalization, Salt,
};
use credlock_keyprovider::KeyProvider;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::Error;
#[cfg(feature = "passkeys")]
use crate::keyslot::Kek;
use crate::keyslot::{
    Keyring, MAX_CREDENTIAL_JSON, MAX_SLOTS, PRF_SALT_LEN, PROVIDER_CHECK_LEN, PUBLIC_KEY_LEN,
    ProviderBinding, SLOT_SALT_LEN, Slot, SlotId, SlotKind, SlotSource, VAULT_ID_LEN,
    WRAPPED_DATA_KEY_LEN, WRAPPED_PRIVATE_LEN, check_label, looks_compressed,
};

/// The `format` value of a credlock vault file.
pub const FORMAT_NAME: &str = "credlock-vault";
/// The newest format version this build reads and writes (it reads every version from 1).
pub const FORMAT_VERSION: u64 = 3;
/// The only cipher of versions 1 and 2.
pub const CIPHER: &str = "fernet";
/// The only Argon2 version accepted: 0x13.
pub const ARGON2_VERSION: u32 = 0x13;

/// A parsed vault file: checked KDF parameters and the token (not yet opened), and for
/// version 3 the keyslots.
#[derive(Debug, Clone)]
pub(crate) struct VaultFile {
    /// The passphrase's KDF: the whole key of versions 1 and 2, the passphrase slot's in
    /// version 3.
    pub(crate) params: KdfParams,
    /// The record's Fernet token: under the passphrase's key (versions 1 and 2) or the data
    /// key (version 3).
    pub(crate) token: String,
    /// Version 3's keyslots; `None` for versions 1 and 2.
    pub(crate) keyring: Option<Keyring>,
}

/// Which data key a version-3 file is sealed under: its vault id and key epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RingId {
    pub(crate) vault_id: [u8; VAULT_ID_LEN],
    pub(crate) epoch: u64,
}

/// A record opened by a secret: the key it is sealed under, its canonical bytes, and the
/// slot that opened it (version 3).
pub(crate) struct Opened {
    pub(crate) key: FernetKey,
    pub(crate) plaintext: Zeroizing<Vec<u8>>,
    pub(crate) slot: Option<SlotId>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileV3 {
    format: String,
    version: u64,
    vault_id: String,
    epoch: u64,
    cipher: String,
    token: String,
    slots: Vec<SlotV3>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PasskeyV3 {
    prf_salt: String,
    credential: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyProviderV3 {
    id: String,
    check: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotV3 {
    id: String,
    kind: String,
    label: String,
    created_ms: u64,
    last_used_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    kdf: Option<KdfV2>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    salt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_provider: Option<KeyProviderV3>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    passkey: Option<PasskeyV3>,
    public_key: String,
    private_key: String,
    data_key: String,
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
            Some(Some(3)) => return Self::parse_v3(bytes, acceptance, limits),
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
            keyring: None,
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
        if file.cipher != CIPHER {
            return Err(Error::CorruptVault {
                reason: "unknown cipher (version 2 knows only \"fernet\")",
            });
        }
        let params = kdf_from_v2(&file.kdf, acceptance, limits)?;
        if file.token.is_empty() {
            return Err(Error::CorruptVault {
                reason: "the token is empty",
            });
        }
        Ok(Self {
            params,
            token: file.token,
            keyring: None,
        })
    }

    fn parse_v3(
        bytes: &[u8],
        acceptance: Acceptance,
        limits: &Argon2Limits,
    ) -> Result<Self, Error> {
        let file: FileV3 = serde_json::from_slice(bytes).map_err(|_| Error::CorruptVault {
            reason: "fields missing, malformed or unknown for version 3",
        })?;
        // The cap, before any other work on the slots.
        if file.slots.len() > MAX_SLOTS {
            return Err(Error::CorruptVault {
                reason: "more keyslots than a vault may hold (32)",
            });
        }
        if file.cipher != CIPHER {
            return Err(Error::CorruptVault {
                reason: "unknown cipher (version 3 knows only \"fernet\")",
            });
        }
        if file.token.is_empty() {
            return Err(Error::CorruptVault {
                reason: "the token is empty",
            });
        }
        if file.epoch == 0 {
            return Err(Error::CorruptVault {
                reason: "the key epoch is 0",
            });
        }
        let vault_id: [u8; VAULT_ID_LEN] = decode_exact(&file.vault_id, "the vault id")?;
        let mut slots = Vec::with_capacity(file.slots.len());
        let mut passphrase = None;
        for slot in &file.slots {
            let slot = slot_from_v3(slot, acceptance, limits)?;
            if slots.iter().any(|s: &Slot| s.id == slot.id) {
                return Err(Error::CorruptVault {
                    reason: "two keyslots have the same id",
                });
            }
            if let SlotSource::Kdf(params) = &slot.source {
                if passphrase.is_some() {
                    return Err(Error::CorruptVault {
                        reason: "more than one passphrase slot",
                    });
                }
                passphrase = Some(*params);
            }
            slots.push(slot);
        }
        let params = passphrase.ok_or(Error::CorruptVault {
            reason: "the vault has no passphrase slot",
        })?;
        Ok(Self {
            params,
            token: file.token,
            keyring: Some(Keyring {
                vault_id,
                epoch: file.epoch,
                slots,
            }),
        })
    }

    /// The vault id and key epoch of a version-3 file, to tell whether a key in memory
    /// still belongs to the file stored.
    pub(crate) fn ring_id(&self) -> Option<RingId> {
        self.keyring.as_ref().map(|k| RingId {
            vault_id: k.vault_id,
            epoch: k.epoch,
        })
    }

    /// Opens the record with the KDF output of a passphrase being tested: under it directly
    /// (versions 1 and 2) or through the passphrase slot (version 3).
    /// [`Error::WrongPassphrase`] if it is not the passphrase.
    pub(crate) fn open_with_passphrase_key(
        &self,
        derived: FernetKey,
        provider: Option<&dyn KeyProvider>,
    ) -> Result<Opened, Error> {
        match &self.keyring {
            None => {
                let plaintext = derived.open(&self.token)?;
                Ok(Opened {
                    key: derived,
                    plaintext,
                    slot: None,
                })
            }
            Some(keyring) => {
                let (key, slot) = keyring.open_passphrase(&derived, provider)?;
                self.open_record(key, slot)
            }
        }
    }

    /// Checks, before any attempt is counted or derived, that the key provider the
    /// passphrase slot needs (if any) is `provider`, holding the same key.
    pub(crate) fn check_key_provider(
        &self,
        provider: Option<&dyn KeyProvider>,
    ) -> Result<(), Error> {
        match self
            .keyring
            .as_ref()
            .map(Keyring::passphrase_slot)
            .transpose()?
        {
            Some(Slot {
                provider: Some(binding),
                ..
            }) => binding.verify(provider),
            _ => Ok(()),
        }
    }

    /// The key provider the passphrase slot names, if any (no secret).
    pub(crate) fn key_provider(&self) -> Option<&str> {
        self.keyring
            .as_ref()
            .and_then(|k| k.passphrase_slot().ok())
            .and_then(|s| s.provider.as_ref())
            .map(|p| p.identity.as_str())
    }

    /// Opens the record through a slot of `kind` (not the passphrase's) with `secret`.
    /// [`Error::WrongPassphrase`] if no such slot opens with it; [`Error::NoKeyslots`] for
    /// a file of version 1 or 2.
    pub(crate) fn open_with_secret(&self, kind: SlotKind, secret: &[u8]) -> Result<Opened, Error> {
        let keyring = self.keyring.as_ref().ok_or(Error::NoKeyslots {
            version: self.version(),
        })?;
        let (key, slot) = keyring.open_secret(kind, secret)?;
        self.open_record(key, slot)
    }

    #[cfg(feature = "passkeys")]
    /// Opens the record through the slot `id` with `kek` (a passkey slot, whose KEK comes
    /// from the authenticator's PRF output). [`Error::WrongPassphrase`] if it does not open.
    pub(crate) fn open_slot_with(&self, id: &SlotId, kek: &Kek) -> Result<Opened, Error> {
        let keyring = self.keyring.as_ref().ok_or(Error::NoKeyslots {
            version: self.version(),
        })?;
        let key = keyring.open_slot(id, kek)?;
        self.open_record(key, id.clone())
    }

    /// The record under a data key a slot gave: a token that does not open under it was
    /// altered (the secret was right).
    fn open_record(&self, key: FernetKey, slot: SlotId) -> Result<Opened, Error> {
        let plaintext = key.open(&self.token).map_err(|_| Error::CorruptVault {
            reason: "the record does not open under the data key its keyslot holds",
        })?;
        Ok(Opened {
            key,
            plaintext,
            slot: Some(slot),
        })
    }

    /// The format version this file is written in: 1 for PBKDF2 over the raw bytes, 2 for
    /// anything else.
    pub(crate) fn version(&self) -> u64 {
        if self.keyring.is_some() {
            3
        } else if self.params.algorithm() == KdfAlgorithm::Pbkdf2HmacSha256
            && self.params.normalization() == Normalization::None
        {
            1
        } else {
            2
        }
    }

    pub(crate) fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        match (&self.keyring, self.version()) {
            (Some(keyring), _) => return self.to_bytes_v3(keyring),
            (None, 2) => return self.to_bytes_v2(),
            _ => {}
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
        let file = FileV2 {
            format: FORMAT_NAME.to_owned(),
            version: 2,
            kdf: kdf_to_v2(&self.params),
            cipher: CIPHER.to_owned(),
            token: self.token.clone(),
        };
        finish(&file)
    }

    fn to_bytes_v3(&self, keyring: &Keyring) -> Result<Vec<u8>, Error> {
        let b64 = &URL_SAFE;
        let slots = keyring
            .slots
            .iter()
            .map(|slot| SlotV3 {
                id: slot.id.as_str().to_owned(),
                kind: slot.kind.as_str().to_owned(),
                label: slot.label.clone(),
                created_ms: slot.created_ms,
                last_used_ms: slot.last_used_ms,
                kdf: match &slot.source {
                    SlotSource::Kdf(params) => Some(kdf_to_v2(params)),
                    SlotSource::Salt(_) | SlotSource::Passkey { .. } => None,
                },
                salt: match &slot.source {
                    SlotSource::Salt(salt) | SlotSource::Passkey { salt, .. } => {
                        Some(b64.encode(salt))
                    }
                    SlotSource::Kdf(_) => None,
                },
                passkey: match &slot.source {
                    SlotSource::Passkey {
                        prf_salt,
                        credential,
                        ..
                    } => Some(PasskeyV3 {
                        prf_salt: b64.encode(prf_salt),
                        credential: credential.clone(),
                    }),
                    _ => None,
                },
                key_provider: slot.provider.as_ref().map(|p| KeyProviderV3 {
                    id: p.identity.clone(),
                    check: b64.encode(p.check),
                }),
                public_key: b64.encode(slot.public_key),
                private_key: b64.encode(&slot.private_key),
                data_key: b64.encode(&slot.data_key),
            })
            .collect();
        let file = FileV3 {
            format: FORMAT_NAME.to_owned(),
            version: 3,
            vault_id: b64.encode(keyring.vault_id),
            epoch: keyring.epoch,
            cipher: CIPHER.to_owned(),
            token: self.token.clone(),
            slots,
        };
        finish(&file)
    }
}

/// Decodes padded base64url of exactly `N` bytes.
fn decode_exact<const N: usize>(text: &str, what: &'static str) -> Result<[u8; N], Error> {
    let reason = match what {
        "the vault id" => "the vault id is not 16 bytes of padded base64url",
        "a slot salt" => "a keyslot's salt is not 16 bytes of padded base64url",
        "a public key" => "a keyslot's public key is not 33 bytes of padded base64url",
        "a wrapped private key" => "a keyslot's private key has the wrong length or encoding",
        _ => "a keyslot's data key has the wrong length or encoding",
    };
    let bad = || Error::CorruptVault { reason };
    // Four characters per three bytes, padded: anything longer is refused before decoding.
    if text.len() > N.div_ceil(3) * 4 {
        return Err(bad());
    }
    let bytes = URL_SAFE.decode(text.as_bytes()).map_err(|_| bad())?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| bad())
}

/// One slot of a version-3 file, checked.
fn slot_from_v3(
    slot: &SlotV3,
    acceptance: Acceptance,
    limits: &Argon2Limits,
) -> Result<Slot, Error> {
    let id = SlotId::parse(&slot.id).ok_or(Error::CorruptVault {
        reason: "a keyslot id is malformed",
    })?;
    let kind = SlotKind::from_name(&slot.kind).ok_or(Error::CorruptVault {
        reason: "unknown keyslot kind",
    })?;
    check_label(&slot.label).map_err(|_| Error::CorruptVault {
        reason: "a keyslot label is empty, too long or has control characters",
    })?;
    let source = match (kind, &slot.kdf, &slot.salt, &slot.passkey) {
        (SlotKind::Passphrase, Some(kdf), None, None) => {
            SlotSource::Kdf(kdf_from_v2(kdf, acceptance, limits)?)
        }
        (SlotKind::RecoveryKey | SlotKind::Secret, None, Some(salt), None) => {
            SlotSource::Salt(decode_exact::<SLOT_SALT_LEN>(salt, "a slot salt")?)
        }
        (SlotKind::Passkey, None, Some(salt), Some(passkey)) => {
            if passkey.credential.len() > MAX_CREDENTIAL_JSON
                || passkey.credential.chars().any(char::is_control)
            {
                return Err(Error::CorruptVault {
                    reason: "a passkey slot's credential is too long or has control characters",
                });
            }
            SlotSource::Passkey {
                salt: decode_exact::<SLOT_SALT_LEN>(salt, "a slot salt")?,
                prf_salt: decode_exact::<PRF_SALT_LEN>(&passkey.prf_salt, "a PRF salt")?,
                credential: passkey.credential.clone(),
            }
        }
        _ => {
            return Err(Error::CorruptVault {
                reason: "a keyslot's fields do not match its kind",
            });
        }
    };
    let provider = match (&slot.key_provider, kind) {
        (None, _) => None,
        (Some(p), SlotKind::Passphrase) => {
            if p.id.is_empty() || p.id.len() > 256 || p.id.chars().any(char::is_control) {
                return Err(Error::CorruptVault {
                    reason: "a keyslot's key provider id is empty, too long or has control characters",
                });
            }
            Some(ProviderBinding {
                identity: p.id.clone(),
                check: decode_exact::<PROVIDER_CHECK_LEN>(&p.check, "a provider check")?,
            })
        }
        (Some(_), _) => {
            return Err(Error::CorruptVault {
                reason: "only a passphrase slot names a key provider",
            });
        }
    };
    let public_key: [u8; PUBLIC_KEY_LEN] = decode_exact(&slot.public_key, "a public key")?;
    if !looks_compressed(&public_key) {
        return Err(Error::CorruptVault {
            reason: "a keyslot's public key is not a compressed P-256 point",
        });
    }
    let private_key: [u8; WRAPPED_PRIVATE_LEN] =
        decode_exact(&slot.private_key, "a wrapped private key")?;
    let data_key: [u8; WRAPPED_DATA_KEY_LEN] = decode_exact(&slot.data_key, "a wrapped data key")?;
    Ok(Slot {
        id,
        kind,
        label: slot.label.clone(),
        created_ms: slot.created_ms,
        last_used_ms: slot.last_used_ms,
        source,
        provider,
        public_key,
        private_key: private_key.to_vec(),
        data_key: data_key.to_vec(),
    })
}

/// The `kdf` object of versions 2 and 3, checked against `acceptance` and `limits`.
fn kdf_from_v2(
    kdf: &KdfV2,
    acceptance: Acceptance,
    limits: &Argon2Limits,
) -> Result<KdfParams, Error> {
    let Some(algorithm) = KdfAlgorithm::from_name(&kdf.algorithm) else {
        return Err(Error::UnsupportedAlgorithm {
            found: kdf.algorithm.chars().take(64).collect(),
        });
    };
    let normalization = Normalization::from_name(&kdf.normalization).ok_or(Error::CorruptVault {
        reason: "unknown passphrase normalization (versions 2 and 3 know \"none\" and \"nfkc\")",
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
    Ok(params.with_normalization(normalization))
}

/// The `kdf` object of versions 2 and 3 for `params`.
fn kdf_to_v2(params: &KdfParams) -> KdfV2 {
    let argon2 = params.argon2_cost();
    KdfV2 {
        algorithm: params.algorithm().name().to_owned(),
        iterations: argon2.is_none().then(|| u64::from(params.iterations())),
        version: argon2.map(|_| u64::from(ARGON2_VERSION)),
        memory_kib: argon2.map(|c| u64::from(c.memory_kib())),
        passes: argon2.map(|c| u64::from(c.passes())),
        lanes: argon2.map(|c| u64::from(c.lanes())),
        salt: URL_SAFE.encode(params.salt().as_bytes()),
        normalization: params.normalization().name().to_owned(),
    }
}

fn finish(file: &impl Serialize) -> Result<Vec<u8>, Error> {
    let mut bytes = serde_json::to_vec_pretty(file).map_err(|_| Error::CorruptVault {
        reason: "the vault file could not be serialised",
    })?;
    bytes.push(b'\n');
    Ok(bytes)
}
