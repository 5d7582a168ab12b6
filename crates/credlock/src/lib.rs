#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

pub mod audit;
mod clock;
mod config;
mod credentials;
pub mod crypto;
mod derivation;
pub mod eclosion;
mod error;
mod extras;
pub mod format;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
mod gate;
pub mod hardening;
mod idle_clock;
mod kdf_plan;
mod lockout;
mod operator;
mod options;
mod record;
pub mod registry;
pub mod sessions;
mod state;
mod status;
mod sweeper;
pub mod totp;
mod upgrade;
mod vault;

pub use credentials::Credentials;
pub use derivation::{DerivationEvent, DerivationStage};
pub use error::{CryptoError, Error, ErrorKind, StorageError, StorageKind};
pub use idle_clock::FakeClock;
pub use lockout::{LockoutState, MAX_CONSECUTIVE_FAILURES};
pub use options::VaultBuilder;
pub use registry::{InvalidUserId, Registry, UserId};
pub use status::{
    AuditStatus, CipherStatus, FileStatus, KdfStatus, KdfTarget, LockoutStatus, Problem,
    SecurityStatus,
};
pub use vault::Vault;

pub use credlock_crypto::{Argon2Cost, Argon2Limits};
pub use credlock_policy::{Policy, PolicyViolations, Requirements, ValidPassphrase, Violation};
pub use credlock_session::{LockoutPolicy, SessionOptions, SessionState};
pub use credlock_store::{MemoryStore, Store};
pub use secrecy;
