//! The checked configuration of an open vault, made by the builder.

use std::sync::Arc;

use credlock_crypto::KdfParams;
use credlock_keyprovider::KeyProvider;
use credlock_policy::Policy;
use credlock_session::{LockoutPolicy, SessionOptions};
use credlock_store::{Store, Version};

use super::client_sessions::Sessions;
use super::derivation::Deriver;
use super::kdf_plan::KdfPlan;
use super::state::Shared;
use crate::audit::Auditor;
use crate::clock::Clock;
use crate::error::Error;
use crate::format::{Acceptance, VaultFile};

/// The checked options of an open vault.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) policy: Policy,
    pub(crate) acceptance: Acceptance,
    /// The session's options; its own in-memory lockout is off (the persisted one rules).
    pub(crate) session: SessionOptions,
    /// The failed-passphrase lockout, applied to the state the store keeps.
    pub(crate) lockout: Option<LockoutPolicy>,
    pub(crate) deriver: Deriver,
    pub(crate) clock: Clock,
    pub(crate) auditor: Auditor,
    /// The key derivation for new vaults, passphrase changes and upgrades on unlock.
    pub(crate) kdf: KdfPlan,
    /// Where client sessions are kept.
    pub(crate) sessions: Sessions,
    /// Whether the process's idle sweeper watches this vault.
    pub(crate) idle_sweeper: bool,
    /// The key provider every passphrase slot also needs, if any.
    pub(crate) key_provider: Option<Arc<dyn KeyProvider>>,
}

impl Options {
    /// Fresh KDF parameters for a new vault or a new passphrase.
    pub(crate) fn new_kdf_params(&self) -> Result<KdfParams, Error> {
        self.kdf.new_params(&self.deriver)
    }

    /// The key provider, if configured.
    pub(crate) fn provider(&self) -> Option<&dyn KeyProvider> {
        self.key_provider.as_deref()
    }

    /// Whether vaults get keyslots (format version 3): new ones are written so and older
    /// ones move there at their next unlock, unless kept Eclosion-compatible.
    pub(crate) fn keyslots(&self) -> bool {
        self.kdf.upgrade
    }

    /// Parses a vault file under these options' bounds.
    pub(crate) fn parse(&self, bytes: &[u8]) -> Result<VaultFile, Error> {
        VaultFile::parse_with(bytes, self.acceptance, &self.kdf.limits)
    }

    /// Reads and parses the vault record in `store` with its version, for a compare-and-swap
    /// write; a record gone is [`Error::VaultMissing`] (and `shared` learns it).
    pub(crate) fn read(
        &self,
        store: &dyn Store,
        shared: &Shared,
    ) -> Result<(VaultFile, Version), Error> {
        match store.read()? {
            Some(read) => Ok((self.parse(&read.value)?, read.version)),
            None => {
                shared.state().refresh_presence(false);
                Err(Error::VaultMissing {
                    path: store.describe().path,
                })
            }
        }
    }
}
