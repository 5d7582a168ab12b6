//! The checked configuration of an open vault, made by the builder.

use credlock_crypto::{KdfParams, Salt};
use credlock_policy::Policy;
use credlock_session::{LockoutPolicy, SessionOptions};

use crate::audit::Auditor;
use crate::clock::Clock;
use crate::derivation::Deriver;
use crate::error::Error;
use crate::format::Acceptance;
use crate::sessions::Sessions;

/// The checked options of an open vault.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) policy: Policy,
    /// Iteration count for new vaults and passphrase changes.
    pub(crate) iterations: u32,
    pub(crate) acceptance: Acceptance,
    /// The session's options; its own in-memory lockout is off (the persisted one rules).
    pub(crate) session: SessionOptions,
    /// The failed-passphrase lockout, applied to the state the store keeps.
    pub(crate) lockout: Option<LockoutPolicy>,
    pub(crate) deriver: Deriver,
    pub(crate) clock: Clock,
    pub(crate) auditor: Auditor,
    /// Where client sessions are kept.
    pub(crate) sessions: Sessions,
    /// Whether the process's idle sweeper watches this vault.
    pub(crate) idle_sweeper: bool,
}

impl Options {
    /// Fresh KDF parameters for a new vault or a new passphrase.
    pub(crate) fn new_kdf_params(&self) -> Result<KdfParams, Error> {
        self.acceptance
            .params(u64::from(self.iterations), Salt::random()?)
    }
}
