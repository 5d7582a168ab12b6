#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

// Ground: values and clocks; they import nothing from the vault or above.
pub mod audit;
mod clock;
mod credentials;
pub mod crypto;
mod error;
pub mod format;
pub mod hardening;
mod idle_clock;
mod keyslot;
mod recovery_key;

// The vault: its story (`vault.rs`) over its machinery (`vault/`).
mod vault;

// Faces: capabilities added to the vault from above; the vault never calls them.
mod builder;
pub mod migrate;
#[cfg(feature = "tokio")]
pub mod nonblocking;
mod operator;
#[cfg(feature = "passkeys")]
pub mod passkeys;
pub mod registry;
pub mod sessions;
mod slots;
mod status;
#[cfg(feature = "axum")]
pub mod web;

#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
#[cfg(test)]
mod sweeper_tests;

/// Key providers: a pepper the vault file never holds (the `credlock-keyprovider` crate; see
/// [`VaultBuilder::key_provider`]).
pub use credlock_keyprovider as keyprovider;

/// TOTP codes (RFC 6238) from an MFA secret as users paste it (the `credlock-totp` crate).
pub use credlock_totp as totp;

pub use builder::VaultBuilder;
pub use credentials::Credentials;
pub use error::{CryptoError, Error, ErrorKind, StorageError, StorageKind};
pub use idle_clock::FakeClock;
pub use keyslot::{MAX_LABEL_CHARS, MAX_SLOTS, SlotId, SlotInfo, SlotKind};
pub use recovery_key::RecoveryKey;
pub use registry::{InvalidUserId, Registry, UserId};
pub use slots::{MAX_SECRET_BYTES, MIN_SECRET_BYTES};
pub use status::{
    AuditStatus, CipherStatus, FileStatus, KdfStatus, KdfTarget, LockoutStatus, Problem,
    SecurityStatus,
};
pub use vault::Vault;
pub use vault::derivation::{DerivationEvent, DerivationStage};
pub use vault::lockout::{LockoutState, MAX_CONSECUTIVE_FAILURES};

pub use credlock_crypto::{Argon2Cost, Argon2Limits};
pub use credlock_policy::{
    Alphabet, CharClass, Policy, PolicyViolations, Requirements, ValidPassphrase, Violation,
};
pub use credlock_session::{LockoutPolicy, SessionOptions, SessionState};
pub use credlock_store::{MemoryStore, Store};
pub use secrecy;
