//! Vault options and their builder.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use credlock_crypto::{KdfParams, Salt};
use credlock_policy::Policy;
use credlock_session::{LockoutPolicy, SessionOptions};
use credlock_store::{FileStore, Store};

use crate::audit::{AuditSink, Auditor};
use crate::clock::Clock;
use crate::config::Options;
use crate::derivation::{DerivationEvent, Deriver};
use crate::error::Error;
use crate::format::Acceptance;
use crate::idle_clock::FakeClock;
use crate::sessions::{SessionStore, Sessions};
use crate::status::{SecurityStatus, ShowPath};
use crate::vault::Vault;

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
    deriver: Deriver,
    clock: Clock,
    audit_id: Option<String>,
    audit_sinks: Vec<Arc<dyn AuditSink>>,
    tracing_audit: bool,
    audit_fail_closed: bool,
    sessions: Sessions,
    idle_sweeper: bool,
}

#[derive(Debug)]
enum Target {
    Path(PathBuf),
    Store(Box<dyn Store>),
}

impl Target {
    fn open(self) -> Result<Box<dyn Store>, Error> {
        Ok(match self {
            Self::Path(path) => Box::new(FileStore::open(path)?),
            Self::Store(store) => store,
        })
    }
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
            deriver: Deriver::default(),
            clock: Clock::default(),
            audit_id: None,
            audit_sinks: Vec::new(),
            tracing_audit: true,
            audit_fail_closed: false,
            sessions: Sessions::default(),
            idle_sweeper: false,
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

    /// Calls `observer` in the deriving thread just before and just after every key
    /// derivation (unlock, store, passphrase change, import, export), with the stage and the
    /// iteration count, never a secret: for metrics (how many derivations, how long), and for
    /// tests that must know a derivation is running. The observer should return quickly; a
    /// derivation waits for it.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use credlock::{Credentials, DerivationStage, Policy, Vault};
    /// use credlock::secrecy::SecretString;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let counter = Arc::clone(&started);
    /// let vault = Vault::builder(dir.path().join("vault.json"))
    ///     .insecure_kdf_iterations(1_000)
    ///     .on_key_derivation(move |e| {
    ///         if e.stage == DerivationStage::Started {
    ///             counter.fetch_add(1, Ordering::SeqCst);
    ///         }
    ///     })
    ///     .open()?;
    /// let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// vault.lock();
    /// let _ = vault.unlock(&SecretString::from("wrong"));
    /// assert_eq!(started.load(Ordering::SeqCst), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn on_key_derivation(
        mut self,
        observer: impl Fn(DerivationEvent) + Send + Sync + 'static,
    ) -> Self {
        self.deriver = Deriver::observed(Arc::new(observer));
        self
    }

    /// **Insecure**: the wall clock the persisted lockout and the audit trail read, instead
    /// of the system clock. For tests of clock jumps; an app that sets it can shorten or
    /// lengthen every lockout.
    pub fn insecure_wall_clock(
        mut self,
        clock: impl Fn() -> std::time::SystemTime + Send + Sync + 'static,
    ) -> Self {
        self.clock = Clock::injected(Arc::new(clock));
        self
    }

    /// The identifier audit events name this vault by (a user id, say). Default: the vault
    /// file's name (never its full path), or `memory` for a memory store.
    pub fn audit_id(mut self, id: impl Into<String>) -> Self {
        self.audit_id = Some(id.into());
        self
    }

    /// Also sends audit events to `sink` (for example a
    /// [`JsonLinesSink`](crate::audit::JsonLinesSink)); may be called several times.
    /// `tracing` events on target `credlock::audit` are on by default.
    pub fn audit_to(mut self, sink: impl AuditSink + 'static) -> Self {
        self.audit_sinks.push(Arc::new(sink));
        self
    }

    /// No `tracing` audit events (only the sinks added with [`VaultBuilder::audit_to`]).
    pub fn without_tracing_audit(mut self) -> Self {
        self.tracing_audit = false;
        self
    }

    /// Fail-closed auditing: an operation whose audit event cannot be recorded returns
    /// [`Error::AuditFailed`] (an unlock is then undone; a write that already happened
    /// stands). By default a failing sink is reported through `tracing` and ignored.
    pub fn audit_fail_closed(mut self) -> Self {
        self.audit_fail_closed = true;
        self
    }

    /// Where client sessions and API tokens are kept: a [`MemorySessionStore`] by default
    /// (nothing survives a restart). See [`SessionStore`] for what a shared store must do.
    ///
    /// [`MemorySessionStore`]: crate::sessions::MemorySessionStore
    pub fn session_store(mut self, store: impl SessionStore + 'static) -> Self {
        self.sessions = Sessions::new(Arc::new(store));
        self
    }

    /// Lock the vault **at** its idle deadline rather than at the next call: the process's
    /// idle sweeper (one background thread shared by every vault that asks for it, stopped
    /// when the last of them is dropped) zeroizes the key when the idle timeout runs out,
    /// revokes the sessions and audits the idle lock. Without it, an idle-expired key is
    /// dropped by the next call on the vault.
    pub fn idle_sweeper(mut self) -> Self {
        self.idle_sweeper = true;
        self
    }

    /// **Insecure**, for tests: every clock of the vault (the idle lock's, the session
    /// expiries', the persisted lockout's, the audit trail's) from a [`FakeClock`], which
    /// moves only when told. Replaces [`VaultBuilder::insecure_wall_clock`].
    pub fn insecure_clock(mut self, clock: FakeClock) -> Self {
        self.clock = Clock::fake(clock);
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
        let (acceptance, iterations) = self.kdf_cost()?;
        let (options, target) = self.into_parts(acceptance, iterations);
        Vault::from_parts(target.open()?, options)
    }

    /// A [`SecurityStatus`] for the vault these options would open, whether or not it can be
    /// opened: for a file readable by others, owned by someone else, a symbolic link or a
    /// corrupt file, the report names the problem (with a stable code) instead of failing.
    /// Nothing is decrypted or written.
    ///
    /// ```
    /// use std::os::unix::fs::PermissionsExt;
    /// use credlock::{Credentials, Policy, Vault};
    /// use credlock::secrecy::SecretString;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("vault.json");
    /// let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # let vault = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644))?;
    /// assert!(Vault::open(&path).is_err());
    ///
    /// let report = Vault::builder(&path).inspect();
    /// assert_eq!(report.state, None);
    /// assert_eq!(report.file.as_ref().and_then(|f| f.mode.as_deref()), Some("0644"));
    /// assert_eq!(report.problems[0].code, "insecure_mode");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn inspect(self) -> SecurityStatus {
        let report = |options: &Options, store: Option<&dyn Store>, e: &Error| {
            SecurityStatus::collect(options, store, None, Some(e), ShowPath::No)
        };
        // An unacceptable KDF cost is itself the problem to report; the rest of the report
        // then shows the recommended cost for new vaults.
        let cost = self.kdf_cost();
        let (acceptance, iterations) = cost.as_ref().map_or(
            (Acceptance::Secure, KdfParams::RECOMMENDED_ITERATIONS),
            |c| *c,
        );
        let (options, target) = self.into_parts(acceptance, iterations);
        if let Err(e) = cost {
            return report(&options, None, &e);
        }
        let store = match target.open() {
            Ok(store) => store,
            Err(e) => return report(&options, None, &e),
        };
        if let Err(e) = store.load() {
            return report(&options, Some(store.as_ref()), &e.into());
        }
        match Vault::from_parts(store, options.clone()) {
            Ok(vault) => vault.security_status(),
            Err(e) => report(&options, None, &e),
        }
    }

    /// The KDF acceptance and the checked iteration count for new vaults: checked now, so a
    /// bad option fails at open rather than at the first store.
    fn kdf_cost(&self) -> Result<(Acceptance, u32), Error> {
        let acceptance = if self.insecure {
            Acceptance::InsecureLowCost
        } else {
            Acceptance::Secure
        };
        let params = acceptance.params(self.iterations, Salt::from_bytes([0; 16]))?;
        Ok((acceptance, params.iterations()))
    }

    /// The checked options (with the KDF cost from [`VaultBuilder::kdf_cost`]) and the target.
    fn into_parts(self, acceptance: Acceptance, iterations: u32) -> (Options, Target) {
        let vault_id = self.audit_id.unwrap_or_else(|| match &self.target {
            Target::Path(path) => path.file_name().map_or_else(
                || String::from("vault"),
                |n| n.to_string_lossy().into_owned(),
            ),
            Target::Store(_) => String::from("memory"),
        });
        let mut auditor = Auditor::new(vault_id);
        if !self.tracing_audit {
            auditor.sinks.clear();
        }
        auditor.sinks.extend(self.audit_sinks);
        auditor.fail_closed = self.audit_fail_closed;
        let options = Options {
            policy: self.policy,
            iterations,
            acceptance,
            session: self.session.insecure_without_lockout(),
            lockout: self.session.lockout(),
            deriver: self.deriver,
            clock: self.clock,
            auditor,
            sessions: self.sessions,
            idle_sweeper: self.idle_sweeper,
        };
        (options, self.target)
    }
}

impl Vault {
    /// Opens the vault at `path` with the default options: locked if a vault file exists
    /// there, empty otherwise. Nothing is decrypted.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] if the path or its directory is unusable or unsafe; see
    /// [`VaultBuilder::open`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::builder(path).open()
    }

    /// A builder to open the vault at `path` with other options.
    pub fn builder(path: impl AsRef<Path>) -> VaultBuilder {
        VaultBuilder::for_path(path.as_ref().to_path_buf())
    }
}
