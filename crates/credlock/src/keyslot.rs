//! Keyslots: a random data key seals the record, and each slot wraps it (format version 3).
//!
//! A vault of version 3 holds one random 256-bit **data key** (a Fernet key: the record is
//! sealed under it exactly as versions 1 and 2 seal it under the passphrase's key) and up to
//! [`MAX_SLOTS`] **keyslots**, each a way in:
//!
//! | kind            | its secret                        | its key-encryption key (KEK)                               |
//! |-----------------|-----------------------------------|------------------------------------------------------------|
//! | `passphrase`    | the vault's passphrase            | HKDF-SHA256(KDF output, info `credlock keyslot v3 kek passphrase`) |
//! | `recovery_key`  | a 160-bit recovery key            | HKDF-SHA256(secret, slot salt, info `credlock keyslot v3 kek recovery_key`) |
//! | `secret`        | a ≥ 128-bit secret an app holds   | HKDF-SHA256(secret, slot salt, info `credlock keyslot v3 kek secret`) |
//!
//! Each slot holds a P-256 key pair of its own: the **private key** is wrapped under the
//! slot's KEK (XChaCha20-Poly1305, the slot's kind and public key as associated data), and
//! the **data key** is wrapped to the slot's **public key** (an ephemeral P-256 key, ECDH,
//! HKDF-SHA256 bound to both public keys, XChaCha20-Poly1305 with the slot's binding as
//! associated data: the vault's id, the key epoch, the slot's id, kind, label, creation
//! time, KDF parameters or salt, and public key). Opening a slot takes its secret (the KEK
//! opens the private key, which must match the public key, and ECDH opens the data key);
//! re-wrapping a slot for a new data key takes only its public key. That is what lets the
//! data key **rotate** (a passphrase change, a removed slot, a recovery, revoking every
//! session) without every slot's secret: the record is re-sealed under a new key, every
//! remaining slot gets the new key wrapped to its public key, and the epoch goes up. A file
//! copy taken before holds only the old data key, wrapped for the old slots: a retired
//! secret opens that copy and nothing written since.
//!
//! A slot moved to another vault, relabelled or otherwise altered opens no data key even
//! with the right secret (its binding is the associated data of the data key's wrap), and is
//! reported as a corrupt vault, not as a wrong secret.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use credlock_crypto::{FernetKey, KEY_LEN, KdfParams, fill_random};
use hkdf::Hkdf;
use p256::elliptic_curve::sec1::ToSec1Point as _;
use p256::{PublicKey, SecretKey};
use serde::Serialize;
use sha2::Sha256;
use zeroize::Zeroizing;

use credlock_keyprovider::KeyProvider;

use crate::error::Error;

/// The most keyslots a vault holds (LUKS2's bound): checked before any work, when a file is
/// read and when a slot is added.
pub const MAX_SLOTS: usize = 32;
/// The longest label a slot takes, in characters.
pub const MAX_LABEL_CHARS: usize = 64;

pub(crate) const VAULT_ID_LEN: usize = 16;
pub(crate) const SLOT_SALT_LEN: usize = 16;
/// A compressed SEC1 P-256 point.
pub(crate) const PUBLIC_KEY_LEN: usize = 33;
const NONCE_LEN: usize = 24;
const TAG_LEN: usize = 16;
/// The wrapped private key: nonce ‖ ciphertext ‖ tag.
pub(crate) const WRAPPED_PRIVATE_LEN: usize = NONCE_LEN + 32 + TAG_LEN;
/// The wrapped data key: ephemeral public key ‖ nonce ‖ ciphertext ‖ tag.
pub(crate) const WRAPPED_DATA_KEY_LEN: usize = PUBLIC_KEY_LEN + NONCE_LEN + KEY_LEN + TAG_LEN;

const KEK_INFO_PREFIX: &[u8] = b"credlock keyslot v3 kek ";
const PRIVATE_AAD_PREFIX: &[u8] = b"credlock keyslot v3 private key ";
const WRAP_INFO: &[u8] = b"credlock keyslot v3 data key wrap";
const BINDING_FORMAT: &str = "credlock keyslot v3";

/// What opens a keyslot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SlotKind {
    /// The vault's passphrase, through the vault's KDF. A vault has exactly one.
    Passphrase,
    /// A recovery key (an emergency kit), shown once when it was made.
    RecoveryKey,
    /// A random secret of at least 128 bits that an application holds.
    Secret,
    /// A passkey: the WebAuthn PRF output of an authenticator for the slot's current salt
    /// (feature `passkeys`).
    Passkey,
}

impl SlotKind {
    /// The name in the vault file and in audit events.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Passphrase => "passphrase",
            Self::RecoveryKey => "recovery_key",
            Self::Secret => "secret",
            Self::Passkey => "passkey",
        }
    }

    pub(crate) fn from_name(name: &str) -> Option<Self> {
        [
            Self::Passphrase,
            Self::RecoveryKey,
            Self::Secret,
            Self::Passkey,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

impl fmt::Display for SlotKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A keyslot's identifier: `slt_` and 16 lowercase hex digits (64 random bits). Not a
/// secret.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SlotId(String);

impl SlotId {
    /// The identifier as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Parses an identifier; `None` unless it is `slt_` and 16 lowercase hex digits.
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix("slt_")?;
        (hex.len() == 16 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Self(text.to_owned()))
    }

    pub(crate) fn generate() -> Result<Self, Error> {
        let mut bytes = [0u8; 8];
        fill_random(&mut bytes)?;
        let mut text = String::with_capacity(20);
        text.push_str("slt_");
        for b in bytes {
            text.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            text.push(char::from(b"0123456789abcdef"[usize::from(b & 0xf)]));
        }
        Ok(Self(text))
    }
}

impl fmt::Display for SlotId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a keyslot tells without its secret ([`Vault::list_slots`](crate::Vault::list_slots)).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SlotInfo {
    /// Its identifier.
    pub id: SlotId,
    /// What opens it.
    pub kind: SlotKind,
    /// The label it was given.
    pub label: String,
    /// When it was made.
    pub created_at: SystemTime,
    /// When it last opened the vault, if it did.
    pub last_used_at: Option<SystemTime>,
}

fn from_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// Checks a slot's label: 1 to [`MAX_LABEL_CHARS`] characters, no control characters.
pub(crate) fn check_label(label: &str) -> Result<(), Error> {
    let n = label.chars().count();
    if n == 0 || n > MAX_LABEL_CHARS || label.chars().any(char::is_control) {
        return Err(Error::InvalidSlotLabel {
            max_chars: MAX_LABEL_CHARS,
        });
    }
    Ok(())
}

/// Where a slot's KEK comes from, besides its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum SlotSource {
    /// A passphrase slot: the KDF and its parameters.
    Kdf(KdfParams),
    /// A secret slot: the HKDF salt.
    Salt([u8; SLOT_SALT_LEN]),
    /// A passkey slot: the HKDF salt, the PRF salt the authenticator evaluates, and the
    /// WebAuthn credential (its id, public key and counter, as JSON; no secret).
    Passkey {
        salt: [u8; SLOT_SALT_LEN],
        prf_salt: [u8; PRF_SALT_LEN],
        credential: String,
    },
}

/// A passkey slot's PRF salt, in bytes.
pub(crate) const PRF_SALT_LEN: usize = 32;
/// The longest WebAuthn credential a passkey slot records (its JSON), in bytes.
pub(crate) const MAX_CREDENTIAL_JSON: usize = 4096;

/// One slot's key-encryption key, from its secret; zeroized on drop.
pub(crate) struct Kek(Zeroizing<[u8; 32]>);

impl Kek {
    /// The KEK of a passphrase slot, from the passphrase's KDF output.
    pub(crate) fn from_passphrase_key(derived: &FernetKey) -> Result<Self, Error> {
        Self::expand(derived.expose_secret_bytes(), None, SlotKind::Passphrase)
    }

    /// The KEK of a recovery-key or secret slot, from the secret and the slot's salt.
    pub(crate) fn from_secret(
        kind: SlotKind,
        secret: &[u8],
        salt: &[u8; SLOT_SALT_LEN],
    ) -> Result<Self, Error> {
        Self::expand(secret, Some(salt), kind)
    }

    fn expand(ikm: &[u8], salt: Option<&[u8]>, kind: SlotKind) -> Result<Self, Error> {
        let hkdf = Hkdf::<Sha256>::new(salt, ikm);
        let mut okm = Zeroizing::new([0u8; 32]);
        hkdf.expand_multi_info(
            &[KEK_INFO_PREFIX, kind.as_str().as_bytes()],
            okm.as_mut_slice(),
        )
        .map_err(|_| Error::CorruptVault {
            reason: "a keyslot key could not be derived",
        })?;
        Ok(Self(okm))
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&(*self.0).into())
    }
}

/// One keyslot as the file holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) id: SlotId,
    pub(crate) kind: SlotKind,
    pub(crate) label: String,
    pub(crate) created_ms: u64,
    pub(crate) last_used_ms: Option<u64>,
    pub(crate) source: SlotSource,
    /// A passphrase slot whose KEK also needs a key provider: which, and its check value.
    pub(crate) provider: Option<ProviderBinding>,
    /// The slot's public key, compressed SEC1 (checked to be a P-256 point when a data key
    /// is wrapped to it; an unlock does not need it decoded).
    pub(crate) public_key: [u8; PUBLIC_KEY_LEN],
    /// Nonce ‖ the private key's scalar sealed under the KEK.
    pub(crate) private_key: Vec<u8>,
    /// Ephemeral public key ‖ nonce ‖ the data key sealed to `public_key`.
    pub(crate) data_key: Vec<u8>,
}

/// A slot about to be made: its kind, label and source, and the KEK its secret gives.
pub(crate) struct NewSlot {
    pub(crate) kind: SlotKind,
    pub(crate) label: String,
    pub(crate) source: SlotSource,
    pub(crate) provider: Option<ProviderBinding>,
    pub(crate) kek: Kek,
}

/// The length of a key provider's check value.
pub(crate) const PROVIDER_CHECK_LEN: usize = 16;
/// What a key provider's check value is computed over (the SHA-256 of this text).
const PROVIDER_CHECK_INPUT: &[u8] = b"credlock key provider check v1";

/// The key provider a passphrase slot needs: its identity (kind and key id, no secret) and a
/// check value (the first 16 bytes of the provider's output over a fixed input), which tells
/// a provider holding another key from a wrong passphrase before any attempt is counted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ProviderBinding {
    pub(crate) identity: String,
    pub(crate) check: [u8; PROVIDER_CHECK_LEN],
}

impl ProviderBinding {
    /// The binding of `provider`, computing its check value.
    pub(crate) fn of(provider: &dyn KeyProvider) -> Result<Self, Error> {
        Ok(Self {
            identity: provider.identity().to_string(),
            check: provider_check(provider)?,
        })
    }

    /// Checks that `provider` is the one this slot needs, holding the same key: no attempt
    /// is counted and nothing derived when it is not.
    pub(crate) fn verify(&self, provider: Option<&dyn KeyProvider>) -> Result<(), Error> {
        let Some(provider) = provider else {
            return Err(Error::KeyProviderMissing {
                needed: self.identity.clone(),
            });
        };
        let configured = provider.identity().to_string();
        if configured != self.identity {
            return Err(Error::KeyProviderMismatch {
                needed: self.identity.clone(),
                configured,
                reason: "another provider or key id",
            });
        }
        if provider_check(provider)? != self.check {
            return Err(Error::KeyProviderMismatch {
                needed: self.identity.clone(),
                configured,
                reason: "the provider holds another key than the one this vault was sealed with",
            });
        }
        Ok(())
    }
}

/// A provider's check value.
fn provider_check(provider: &dyn KeyProvider) -> Result<[u8; PROVIDER_CHECK_LEN], Error> {
    use sha2::Digest as _;
    let input: [u8; 32] = Sha256::digest(PROVIDER_CHECK_INPUT).into();
    let out = provider.apply(&input).map_err(Error::KeyProvider)?;
    let mut check = [0u8; PROVIDER_CHECK_LEN];
    check.copy_from_slice(&out[..PROVIDER_CHECK_LEN]);
    Ok(check)
}

/// The passphrase's KDF output after the provider's operation, if the slot needs one: the
/// input of the passphrase slot's KEK.
pub(crate) fn peppered(
    derived: &FernetKey,
    provider: Option<&dyn KeyProvider>,
) -> Result<FernetKey, Error> {
    let Some(provider) = provider else {
        return Ok(duplicate_key(derived));
    };
    let input = <&[u8; KEY_LEN]>::try_from(derived.expose_secret_bytes()).map_err(|_| {
        Error::CorruptVault {
            reason: "a derived key has the wrong length",
        }
    })?;
    let out = provider.apply(input).map_err(Error::KeyProvider)?;
    Ok(FernetKey::from_bytes(&out))
}

/// A second handle on `key`, for the moments two owners need it (zeroized on drop, as
/// every [`FernetKey`]).
pub(crate) fn duplicate_key(key: &FernetKey) -> FernetKey {
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    bytes.copy_from_slice(key.expose_secret_bytes());
    FernetKey::from_bytes(&bytes)
}

/// The compressed SEC1 bytes of a public key.
pub(crate) fn public_bytes(key: &PublicKey) -> [u8; PUBLIC_KEY_LEN] {
    let mut out = [0u8; PUBLIC_KEY_LEN];
    out.copy_from_slice(key.to_sec1_point(true).as_bytes());
    out
}

/// Whether `bytes` can be a compressed SEC1 point (its tag byte): the cheap check a file's
/// slots get when it is read; the point itself is checked when it is used.
pub(crate) fn looks_compressed(bytes: &[u8; PUBLIC_KEY_LEN]) -> bool {
    matches!(bytes[0], 0x02 | 0x03)
}

fn random_secret_key() -> Result<SecretKey, Error> {
    loop {
        let mut bytes = Zeroizing::new([0u8; 32]);
        fill_random(bytes.as_mut_slice())?;
        // Zero and values at or above the group order (about 2^-32) are drawn again.
        if let Ok(key) = SecretKey::from_slice(bytes.as_slice()) {
            return Ok(key);
        }
    }
}

fn random_nonce() -> Result<[u8; NONCE_LEN], Error> {
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce)?;
    Ok(nonce)
}

fn private_aad(kind: SlotKind, public: &[u8; PUBLIC_KEY_LEN]) -> Vec<u8> {
    let mut aad = PRIVATE_AAD_PREFIX.to_vec();
    aad.extend_from_slice(kind.as_str().as_bytes());
    aad.push(0);
    aad.extend_from_slice(public);
    aad
}

/// The text that binds a KDF's parameters into a slot.
pub(crate) fn kdf_binding(params: &KdfParams) -> String {
    use base64::Engine as _;
    let salt = base64::engine::general_purpose::URL_SAFE.encode(params.salt().as_bytes());
    let cost = match params.argon2_cost() {
        Some(c) => format!("m={},t={},p={}", c.memory_kib(), c.passes(), c.lanes()),
        None => format!("i={}", params.iterations()),
    };
    format!(
        "{}:{cost}:{salt}:{}",
        params.algorithm().name(),
        params.normalization().name()
    )
}

#[derive(Serialize)]
struct Binding<'a> {
    format: &'static str,
    vault_id: String,
    epoch: u64,
    id: &'a str,
    kind: &'static str,
    label: &'a str,
    created_ms: u64,
    source: String,
    public_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_provider: Option<String>,
}

/// The ECDH key that wraps a data key for `slot_public`, from one side's secret and the
/// other's public key.
fn wrap_cipher(
    secret: &SecretKey,
    other: &PublicKey,
    ephemeral_public: &[u8],
    slot_public: &[u8],
) -> Result<XChaCha20Poly1305, Error> {
    let shared = secret.diffie_hellman(other);
    let hkdf = Hkdf::<Sha256>::new(None, shared.raw_secret_bytes().as_slice());
    let mut okm = Zeroizing::new([0u8; 32]);
    hkdf.expand_multi_info(
        &[WRAP_INFO, ephemeral_public, slot_public],
        okm.as_mut_slice(),
    )
    .map_err(|_| Error::CorruptVault {
        reason: "a keyslot key could not be derived",
    })?;
    Ok(XChaCha20Poly1305::new(&(*okm).into()))
}

const ALTERED: Error = Error::CorruptVault {
    reason: "a keyslot was altered or moved from another vault",
};

impl Slot {
    /// Makes a slot for `new` holding `data_key` of vault `vault_id` at `epoch`.
    pub(crate) fn create(
        new: NewSlot,
        data_key: &FernetKey,
        vault_id: &[u8; VAULT_ID_LEN],
        epoch: u64,
        now_ms: u64,
    ) -> Result<Self, Error> {
        check_label(&new.label)?;
        let secret = random_secret_key()?;
        let public_key = public_bytes(&secret.public_key());
        let nonce = random_nonce()?;
        let scalar = Zeroizing::new(secret.to_bytes());
        let sealed = new
            .kek
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: scalar.as_slice(),
                    aad: &private_aad(new.kind, &public_key),
                },
            )
            .map_err(|_| Error::CorruptVault {
                reason: "a keyslot could not be sealed",
            })?;
        let mut private_key = nonce.to_vec();
        private_key.extend_from_slice(&sealed);
        let mut slot = Self {
            id: SlotId::generate()?,
            kind: new.kind,
            label: new.label,
            created_ms: now_ms,
            last_used_ms: None,
            source: new.source,
            provider: new.provider,
            public_key,
            private_key,
            data_key: Vec::new(),
        };
        slot.wrap(data_key, vault_id, epoch)?;
        Ok(slot)
    }

    /// The associated data of this slot's data-key wrap in vault `vault_id` at `epoch`.
    fn binding(&self, vault_id: &[u8; VAULT_ID_LEN], epoch: u64) -> Result<Vec<u8>, Error> {
        use base64::Engine as _;
        let b64 = &base64::engine::general_purpose::URL_SAFE;
        let source = match &self.source {
            SlotSource::Kdf(params) => kdf_binding(params),
            SlotSource::Salt(salt) => format!("salt:{}", b64.encode(salt)),
            SlotSource::Passkey {
                salt,
                prf_salt,
                credential,
            } => format!(
                "passkey:{}:{}:{credential}",
                b64.encode(salt),
                b64.encode(prf_salt)
            ),
        };
        serde_json::to_vec(&Binding {
            format: BINDING_FORMAT,
            vault_id: b64.encode(vault_id),
            epoch,
            id: self.id.as_str(),
            kind: self.kind.as_str(),
            label: &self.label,
            created_ms: self.created_ms,
            source,
            public_key: b64.encode(self.public_key),
            key_provider: self
                .provider
                .as_ref()
                .map(|p| format!("{}:{}", p.identity, b64.encode(p.check))),
        })
        .map_err(|_| Error::CorruptVault {
            reason: "a keyslot could not be serialised",
        })
    }

    /// Wraps `data_key` to this slot's public key, for vault `vault_id` at `epoch`: needs no
    /// secret of the slot.
    pub(crate) fn wrap(
        &mut self,
        data_key: &FernetKey,
        vault_id: &[u8; VAULT_ID_LEN],
        epoch: u64,
    ) -> Result<(), Error> {
        let slot_public =
            PublicKey::from_sec1_bytes(&self.public_key).map_err(|_| Error::CorruptVault {
                reason: "a keyslot's public key is not a P-256 point",
            })?;
        let ephemeral = random_secret_key()?;
        let ephemeral_public = public_bytes(&ephemeral.public_key());
        let cipher = wrap_cipher(
            &ephemeral,
            &slot_public,
            &ephemeral_public,
            &self.public_key,
        )?;
        let nonce = random_nonce()?;
        let aad = self.binding(vault_id, epoch)?;
        let sealed = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: data_key.expose_secret_bytes(),
                    aad: &aad,
                },
            )
            .map_err(|_| Error::CorruptVault {
                reason: "a keyslot could not be sealed",
            })?;
        let mut wrapped = ephemeral_public.to_vec();
        wrapped.extend_from_slice(&nonce);
        wrapped.extend_from_slice(&sealed);
        self.data_key = wrapped;
        Ok(())
    }

    /// Opens this slot with `kek`: [`Error::WrongPassphrase`] if the KEK opens no private
    /// key (the secret is wrong); a corrupt-vault error if the secret is right but the slot
    /// was altered, or does not belong to vault `vault_id` at `epoch`.
    pub(crate) fn open(
        &self,
        kek: &Kek,
        vault_id: &[u8; VAULT_ID_LEN],
        epoch: u64,
    ) -> Result<FernetKey, Error> {
        let (nonce, sealed) = self
            .private_key
            .split_at_checked(NONCE_LEN)
            .ok_or(ALTERED)?;
        let scalar = Zeroizing::new(
            kek.cipher()
                .decrypt(
                    &XNonce::try_from(nonce).map_err(|_| ALTERED)?,
                    Payload {
                        msg: sealed,
                        aad: &private_aad(self.kind, &self.public_key),
                    },
                )
                .map_err(|_| Error::WrongPassphrase)?,
        );
        // The scalar is authentic: the AEAD under the KEK covers it, with the public key as
        // associated data, so no scalar multiplication is spent checking it against the
        // public key.
        let secret = SecretKey::from_slice(&scalar).map_err(|_| ALTERED)?;
        self.open_data_key(&secret, vault_id, epoch)
    }

    fn open_data_key(
        &self,
        secret: &SecretKey,
        vault_id: &[u8; VAULT_ID_LEN],
        epoch: u64,
    ) -> Result<FernetKey, Error> {
        if self.data_key.len() != WRAPPED_DATA_KEY_LEN {
            return Err(ALTERED);
        }
        let (ephemeral_public, rest) = self.data_key.split_at(PUBLIC_KEY_LEN);
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        let ephemeral = PublicKey::from_sec1_bytes(ephemeral_public).map_err(|_| ALTERED)?;
        let cipher = wrap_cipher(secret, &ephemeral, ephemeral_public, &self.public_key)?;
        let aad = self.binding(vault_id, epoch)?;
        let key = Zeroizing::new(
            cipher
                .decrypt(
                    &XNonce::try_from(nonce).map_err(|_| ALTERED)?,
                    Payload {
                        msg: sealed,
                        aad: &aad,
                    },
                )
                .map_err(|_| ALTERED)?,
        );
        let key = <&[u8; KEY_LEN]>::try_from(key.as_slice()).map_err(|_| ALTERED)?;
        Ok(FernetKey::from_bytes(key))
    }

    /// What the slot tells without its secret.
    pub(crate) fn info(&self) -> SlotInfo {
        SlotInfo {
            id: self.id.clone(),
            kind: self.kind,
            label: self.label.clone(),
            created_at: from_ms(self.created_ms),
            last_used_at: self.last_used_ms.map(from_ms),
        }
    }
}

/// The keyslots of a version-3 vault: its id, the data key's epoch, and the slots.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Keyring {
    pub(crate) vault_id: [u8; VAULT_ID_LEN],
    pub(crate) epoch: u64,
    pub(crate) slots: Vec<Slot>,
}

impl Keyring {
    /// A new vault's keyring: a fresh id, epoch 1, one slot.
    pub(crate) fn create(data_key: &FernetKey, first: NewSlot, now_ms: u64) -> Result<Self, Error> {
        let mut vault_id = [0u8; VAULT_ID_LEN];
        fill_random(&mut vault_id)?;
        let slot = Slot::create(first, data_key, &vault_id, 1, now_ms)?;
        Ok(Self {
            vault_id,
            epoch: 1,
            slots: vec![slot],
        })
    }

    /// The passphrase slot (a parsed keyring has exactly one).
    pub(crate) fn passphrase_slot(&self) -> Result<&Slot, Error> {
        self.slots
            .iter()
            .find(|s| s.kind == SlotKind::Passphrase)
            .ok_or(Error::CorruptVault {
                reason: "the vault has no passphrase slot",
            })
    }

    /// Opens the passphrase slot with the KDF output of the passphrase being tested, and the
    /// key provider if the slot needs one (checked by [`ProviderBinding::verify`] before the
    /// attempt was counted).
    pub(crate) fn open_passphrase(
        &self,
        derived: &FernetKey,
        provider: Option<&dyn KeyProvider>,
    ) -> Result<(FernetKey, SlotId), Error> {
        let slot = self.passphrase_slot()?;
        let input = match &slot.provider {
            Some(_) => peppered(derived, provider)?,
            None => duplicate_key(derived),
        };
        let kek = Kek::from_passphrase_key(&input)?;
        let key = slot.open(&kek, &self.vault_id, self.epoch)?;
        Ok((key, slot.id.clone()))
    }

    /// Opens the first slot of `kind` that `secret` opens: a cheap HKDF per slot of that
    /// kind, no KDF. [`Error::WrongPassphrase`] if none does.
    pub(crate) fn open_secret(
        &self,
        kind: SlotKind,
        secret: &[u8],
    ) -> Result<(FernetKey, SlotId), Error> {
        for slot in self.slots.iter().filter(|s| s.kind == kind) {
            let SlotSource::Salt(salt) = &slot.source else {
                continue;
            };
            let kek = Kek::from_secret(kind, secret, salt)?;
            match slot.open(&kek, &self.vault_id, self.epoch) {
                Err(Error::WrongPassphrase) => {}
                other => return other.map(|key| (key, slot.id.clone())),
            }
        }
        Err(Error::WrongPassphrase)
    }

    #[cfg(feature = "passkeys")]
    /// Opens the slot `id` with `kek` (a passkey slot, whose KEK the caller derived from
    /// the authenticator's PRF output): [`Error::WrongPassphrase`] if it does not open.
    pub(crate) fn open_slot(&self, id: &SlotId, kek: &Kek) -> Result<FernetKey, Error> {
        let slot = self
            .slots
            .iter()
            .find(|s| &s.id == id)
            .ok_or(Error::SlotNotFound)?;
        slot.open(kek, &self.vault_id, self.epoch)
    }

    #[cfg(feature = "passkeys")]
    /// Re-makes the slot `id` from `new` (same id, creation time and position; a new key
    /// pair, source and KEK), holding `data_key`: a passkey slot moving to its next salt.
    pub(crate) fn remake(
        &mut self,
        id: &SlotId,
        new: NewSlot,
        data_key: &FernetKey,
        now_ms: u64,
    ) -> Result<(), Error> {
        let index = self
            .slots
            .iter()
            .position(|s| &s.id == id)
            .ok_or(Error::SlotNotFound)?;
        let old = &self.slots[index];
        let mut slot = Slot::create(new, data_key, &self.vault_id, self.epoch, now_ms)?;
        slot.id = old.id.clone();
        slot.created_ms = old.created_ms;
        slot.last_used_ms = Some(now_ms);
        // The binding names the id and the creation time: wrapped again with them.
        slot.wrap(data_key, &self.vault_id, self.epoch)?;
        self.slots[index] = slot;
        Ok(())
    }

    /// Adds a slot for `new` holding `data_key` (the current one).
    pub(crate) fn add(
        &mut self,
        new: NewSlot,
        data_key: &FernetKey,
        now_ms: u64,
    ) -> Result<SlotId, Error> {
        if self.slots.len() >= MAX_SLOTS {
            return Err(Error::TooManySlots { max: MAX_SLOTS });
        }
        let slot = Slot::create(new, data_key, &self.vault_id, self.epoch, now_ms)?;
        let id = slot.id.clone();
        // The passphrase slot comes first (a listing shows it first).
        if slot.kind == SlotKind::Passphrase {
            self.slots.insert(0, slot);
        } else {
            self.slots.push(slot);
        }
        Ok(id)
    }

    /// The keyring for a new data key: the epoch goes up and every slot `keep` keeps gets
    /// the new key wrapped to its public key (no slot secret needed).
    pub(crate) fn rotated(
        &self,
        new_data_key: &FernetKey,
        keep: impl Fn(&Slot) -> bool,
    ) -> Result<Self, Error> {
        let epoch = self.epoch.checked_add(1).ok_or(Error::CorruptVault {
            reason: "the key epoch is exhausted",
        })?;
        let mut slots = Vec::with_capacity(self.slots.len());
        for slot in self.slots.iter().filter(|s| keep(s)) {
            let mut slot = slot.clone();
            slot.wrap(new_data_key, &self.vault_id, epoch)?;
            slots.push(slot);
        }
        Ok(Self {
            vault_id: self.vault_id,
            epoch,
            slots,
        })
    }

    /// Notes that `id` opened the vault at `now_ms` (nothing cryptographic: the time is not
    /// bound).
    pub(crate) fn mark_used(&mut self, id: &SlotId, now_ms: u64) {
        if let Some(slot) = self.slots.iter_mut().find(|s| &s.id == id) {
            slot.last_used_ms = Some(now_ms);
        }
    }

    /// What every slot tells without its secret.
    pub(crate) fn infos(&self) -> Vec<SlotInfo> {
        self.slots.iter().map(Slot::info).collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use credlock_crypto::Salt;

    use super::*;

    fn params() -> KdfParams {
        KdfParams::insecure_low_cost(1_000, Salt::from_bytes([7; 16])).unwrap()
    }

    fn passphrase_slot(derived: &FernetKey) -> NewSlot {
        NewSlot {
            kind: SlotKind::Passphrase,
            label: "passphrase".into(),
            source: SlotSource::Kdf(params()),
            provider: None,
            kek: Kek::from_passphrase_key(derived).unwrap(),
        }
    }

    fn secret_slot(secret: &[u8]) -> NewSlot {
        let salt = [9; SLOT_SALT_LEN];
        NewSlot {
            kind: SlotKind::RecoveryKey,
            label: "kit".into(),
            source: SlotSource::Salt(salt),
            provider: None,
            kek: Kek::from_secret(SlotKind::RecoveryKey, secret, &salt).unwrap(),
        }
    }

    #[test]
    fn every_slot_opens_the_same_data_key_and_only_with_its_secret() {
        let data = FernetKey::generate().unwrap();
        let derived = FernetKey::generate().unwrap();
        let mut ring = Keyring::create(&data, passphrase_slot(&derived), 1).unwrap();
        ring.add(secret_slot(b"0123456789abcdef0123"), &data, 2)
            .unwrap();
        assert!(ring.open_passphrase(&derived, None).unwrap().0 == data);
        let (key, id) = ring
            .open_secret(SlotKind::RecoveryKey, b"0123456789abcdef0123")
            .unwrap();
        assert!(key == data);
        assert_eq!(id, ring.slots[1].id);
        let other = FernetKey::generate().unwrap();
        assert!(matches!(
            ring.open_passphrase(&other, None),
            Err(Error::WrongPassphrase)
        ));
        assert!(matches!(
            ring.open_secret(SlotKind::RecoveryKey, b"0123456789abcdef0124"),
            Err(Error::WrongPassphrase)
        ));
        // A recovery key is never tried against the passphrase slot, nor the reverse.
        assert!(matches!(
            ring.open_secret(SlotKind::Secret, b"0123456789abcdef0123"),
            Err(Error::WrongPassphrase)
        ));
    }

    #[test]
    fn a_relabelled_or_moved_slot_is_altered_not_a_wrong_secret() {
        let data = FernetKey::generate().unwrap();
        let derived = FernetKey::generate().unwrap();
        let ring = Keyring::create(&data, passphrase_slot(&derived), 1).unwrap();
        let mut relabelled = ring.clone();
        relabelled.slots[0].label = "mine".into();
        assert!(matches!(
            relabelled.open_passphrase(&derived, None),
            Err(Error::CorruptVault { .. })
        ));
        let mut moved = ring.clone();
        moved.vault_id[0] ^= 1;
        assert!(matches!(
            moved.open_passphrase(&derived, None),
            Err(Error::CorruptVault { .. })
        ));
        let mut stale = ring.clone();
        stale.epoch += 1;
        assert!(matches!(
            stale.open_passphrase(&derived, None),
            Err(Error::CorruptVault { .. })
        ));
        // Last use is not bound: the time is for display.
        let mut used = ring.clone();
        used.mark_used(&ring.slots[0].id.clone(), 99);
        assert!(used.open_passphrase(&derived, None).unwrap().0 == data);
    }

    #[test]
    fn rotation_rewraps_kept_slots_without_their_secrets_and_drops_the_others() {
        let data = FernetKey::generate().unwrap();
        let derived = FernetKey::generate().unwrap();
        let mut ring = Keyring::create(&data, passphrase_slot(&derived), 1).unwrap();
        let kit = ring
            .add(secret_slot(b"recovery-secret-20b!"), &data, 2)
            .unwrap();
        let new = FernetKey::generate().unwrap();
        let rotated = ring.rotated(&new, |s| s.id != kit).unwrap();
        assert_eq!(rotated.epoch, 2);
        assert_eq!(rotated.slots.len(), 1);
        assert!(rotated.open_passphrase(&derived, None).unwrap().0 == new);
        // The old keyring still opens the old key only.
        assert!(ring.open_passphrase(&derived, None).unwrap().0 == data);
        assert!(matches!(
            rotated.open_secret(SlotKind::RecoveryKey, b"recovery-secret-20b!"),
            Err(Error::WrongPassphrase)
        ));
    }

    #[test]
    fn the_slot_cap_is_checked_before_any_work() {
        let data = FernetKey::generate().unwrap();
        let derived = FernetKey::generate().unwrap();
        let mut ring = Keyring::create(&data, passphrase_slot(&derived), 1).unwrap();
        for _ in 1..MAX_SLOTS {
            ring.add(secret_slot(b"recovery-secret-20b!"), &data, 2)
                .unwrap();
        }
        assert!(matches!(
            ring.add(secret_slot(b"recovery-secret-20b!"), &data, 2),
            Err(Error::TooManySlots { max: MAX_SLOTS })
        ));
    }

    #[test]
    fn every_wrap_draws_its_own_nonce_and_ephemeral_key() {
        let data = FernetKey::generate().unwrap();
        let derived = FernetKey::generate().unwrap();
        let mut ring = Keyring::create(&data, passphrase_slot(&derived), 1).unwrap();
        ring.add(secret_slot(b"0123456789abcdef0123"), &data, 2)
            .unwrap();
        let (a, b) = (&ring.slots[0], &ring.slots[1]);
        assert_ne!(a.private_key[..NONCE_LEN], b.private_key[..NONCE_LEN]);
        assert_ne!(
            a.data_key[..PUBLIC_KEY_LEN + NONCE_LEN],
            b.data_key[..PUBLIC_KEY_LEN + NONCE_LEN]
        );
        let mut again = a.clone();
        again.wrap(&data, &ring.vault_id, ring.epoch).unwrap();
        assert_ne!(
            again.data_key, a.data_key,
            "a second wrap of the same key differs"
        );
    }

    #[test]
    fn a_slot_tells_its_kind_id_and_times() {
        let data = FernetKey::generate().unwrap();
        let derived = FernetKey::generate().unwrap();
        let mut ring =
            Keyring::create(&data, passphrase_slot(&derived), 1_700_000_000_000).unwrap();
        let id = ring.slots[0].id.clone();
        ring.mark_used(&id, 1_700_000_060_000);
        let info = &ring.infos()[0];
        assert_eq!(info.kind.to_string(), "passphrase");
        assert_eq!(SlotKind::RecoveryKey.to_string(), "recovery_key");
        assert_eq!(info.id.to_string(), id.as_str());
        assert_eq!(
            info.created_at,
            UNIX_EPOCH + Duration::from_millis(1_700_000_000_000)
        );
        assert_eq!(
            info.last_used_at,
            Some(UNIX_EPOCH + Duration::from_millis(1_700_000_060_000))
        );
    }

    #[test]
    fn labels_are_bounded_and_printable() {
        assert!(check_label("kit").is_ok());
        assert!(check_label("").is_err());
        assert!(check_label("a\nb").is_err());
        assert!(check_label(&"é".repeat(MAX_LABEL_CHARS)).is_ok());
        assert!(check_label(&"é".repeat(MAX_LABEL_CHARS + 1)).is_err());
        assert!(SlotId::parse("slt_0123456789abcdef").is_some());
        assert!(SlotId::parse("slt_0123456789ABCDEF").is_none());
        assert!(SlotId::parse("slt_0123").is_none());
        let id = SlotId::generate().unwrap();
        assert_eq!(SlotId::parse(id.as_str()), Some(id));
    }
}
