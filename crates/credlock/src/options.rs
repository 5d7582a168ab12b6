//! Vault options and their builder.

use std::path::PathBuf;
use std::time::Duration;

use credlock_crypto::{KdfParams, Salt};
use credlock_policy::Policy;
use credlock_session::{LockoutPolicy, SessionOptions};
use credlock_store::{FileStore, Store};

use crate::error::Error;
use crate::format::Acceptance;
use crate::vault::Vault;

/// The checked options of an open vault.
#[derive(Debug, Clone)]
pub(crate) struct Options {
    pub(crate) policy: Policy,
    /// Iteration count for new vaults and passphrase changes.
    pub(crate) iterations: u32,
    pub(crate) acceptance: Acceptance,
    pub(crate) session: SessionOptions,
}

impl Options {
    /// Fresh KDF parameters for a new vault or a new passphrase.
    pub(crate) fn new_kdf_params(&self) -> Result<KdfParams, Error> {
        self.acceptance
            .params(u64::from(self.iterations), Salt::random()?)
    }
}

/// Builds a [`Vault`] with options other than the defaults.
///
/// The defaults are safe: Eclosion's passphrase rules plus a blocklist ([`Policy::default`]),
/// 480,000 PBKDF2 iterations for new vaults, lockout after 5 failed unlocks with a doubling
/// delay from 30 s up to 15 min, and an idle lock after 15 minutes.
///
/// ```
/// use std::time::Duration;
/// use credlock::{Policy, Vault};
///
/// let dir = tempfile::tempdir()?;
/// let vault = Vault::builder(dir.path().join("vault.json"))
///     .policy(Policy::nist_800_63b())
///     .kdf_iterations(600_000)
///     .idle_timeout(Duration::from_secs(300))
///     .open()?;
/// assert_eq!(vault.status(), credlock::SessionState::NoCredentials);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
#[must_use]
pub struct VaultBuilder {
    target: Target,
    policy: Policy,
    iterations: u64,
    insecure: bool,
    session: SessionOptions,
}

#[derive(Debug)]
enum Target {
    Path(PathBuf),
    Store(Box<dyn Store>),
}

impl VaultBuilder {
    pub(crate) fn for_path(path: PathBuf) -> Self {
        Self::new(Target::Path(path))
    }

    /// A builder for a vault kept in the given store (a [`MemoryStore`](crate::MemoryStore)
    /// in tests, or an application's own [`Store`]).
    pub fn with_store(store: impl Store + 'static) -> Self {
        Self::new(Target::Store(Box::new(store)))
    }

    fn new(target: Target) -> Self {
        Self {
            target,
            policy: Policy::default(),
            iterations: u64::from(KdfParams::RECOMMENDED_ITERATIONS),
            insecure: false,
            session: SessionOptions::default(),
        }
    }

    /// The passphrase policy, reported by [`Vault::security_status`] and applied by
    /// [`Vault::check_passphrase`].
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// PBKDF2 iterations for new vaults and passphrase changes (checked by
    /// [`VaultBuilder::open`] against 100,000..=10,000,000). Existing vaults keep the count
    /// recorded in their file until their passphrase changes.
    pub fn kdf_iterations(mut self, iterations: u32) -> Self {
        self.iterations = u64::from(iterations);
        self.insecure = false;
        self
    }

    /// **Insecure**: any iteration count from 1, for new vaults *and* for reading vaults.
    /// For tests that cannot afford 480,000 iterations per operation; a vault made this way
    /// is cheap to brute-force. Never use it in an application.
    pub fn insecure_kdf_iterations(mut self, iterations: u32) -> Self {
        self.iterations = u64::from(iterations);
        self.insecure = true;
        self
    }

    /// The failed-unlock lockout policy.
    pub fn lockout(mut self, policy: LockoutPolicy) -> Self {
        self.session = self.session.with_lockout(policy);
        self
    }

    /// **Insecure**: no lockout after failed unlocks (failures are still counted).
    pub fn insecure_without_lockout(mut self) -> Self {
        self.session = self.session.insecure_without_lockout();
        self
    }

    /// Lock the vault after this long without use.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.session = self.session.with_idle_timeout(timeout);
        self
    }

    /// Never lock the vault for idleness.
    pub fn without_idle_timeout(mut self) -> Self {
        self.session = self.session.without_idle_timeout();
        self
    }

    /// Opens the vault: [`SessionState::Locked`](crate::SessionState::Locked) if credentials
    /// are stored, [`SessionState::NoCredentials`](crate::SessionState::NoCredentials)
    /// otherwise. Nothing is decrypted and nothing is written (a file store creates a missing
    /// directory with mode 0700 and removes temporary files left by a crash).
    ///
    /// # Errors
    ///
    /// [`Error::KdfParams`] for an iteration count out of bounds; [`Error::Storage`] if the
    /// path or its directory is unusable or unsafe (a symlink, a directory, a file readable by
    /// others, a group-writable directory, …), with a message saying how to fix it.
    pub fn open(self) -> Result<Vault, Error> {
        let acceptance = if self.insecure {
            Acceptance::InsecureLowCost
        } else {
            Acceptance::Secure
        };
        // Checks the count now, so a bad option fails at open rather than at the first store.
        let iterations = acceptance
            .params(self.iterations, Salt::from_bytes([0; 16]))?
            .iterations();
        let store: Box<dyn Store> = match self.target {
            Target::Path(path) => Box::new(FileStore::open(path)?),
            Target::Store(store) => store,
        };
        let options = Options {
            policy: self.policy,
            iterations,
            acceptance,
            session: self.session,
        };
        Vault::from_parts(store, options)
    }
}
