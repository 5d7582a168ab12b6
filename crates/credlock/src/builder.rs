//! Vault options and their builder.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use credlock_client_sessions::SessionStore;
use credlock_crypto::{Argon2Cost, Argon2Limits, KdfParams, Normalization};
use credlock_keyprovider::KeyProvider;
use credlock_policy::{Policy, ValidPassphrase};
use credlock_session::{LockoutPolicy, SessionOptions};
use credlock_store::{FileStore, Store};

use crate::audit::{AuditSink, Auditor};
use crate::clock::Clock;
use crate::credentials::Credentials;
use crate::error::Error;
use crate::format::Acceptance;
use crate::idle_clock::FakeClock;
use crate::status::{SecurityStatus, ShowPath};
use crate::vault::Vault;
use crate::vault::client_sessions::Sessions;
use crate::vault::config::Options;
use crate::vault::derivation::{DerivationEvent, Deriver};
use crate::vault::kdf_plan::{Cost, KdfPlan};

/// Builds a [`Vault`] with options other than the defaults.
///
/// The defaults are safe: Eclosion's passphrase rules plus a blocklist ([`Policy::default`]),
/// 480,000 PBKDF2 iterations over the passphrase's NFKC form for new vaults (a vault below
/// the target is raised to it at its next unlock), lockout after 5 failed unlocks with a
/// doubling delay from 30 s up to 15 min, and an idle lock after 15 minutes.
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
    insecure: bool,
    session: SessionOptions,
    deriver: Deriver,
    clock: Clock,
    audit_id: Option<String>,
    audit_sinks: Vec<Arc<dyn AuditSink>>,
    tracing_audit: bool,
    audit_fail_closed: bool,
    kdf: Cost,
    argon2_limits: Argon2Limits,
    eclosion_compatible: bool,
    sessions: Sessions,
    idle_sweeper: bool,
    key_provider: Option<Arc<dyn KeyProvider>>,
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

    /// A builder for a vault kept in `store`, already boxed (a registry's user store).
    pub(crate) fn with_boxed_store(store: Box<dyn Store>) -> Self {
        Self::new(Target::Store(store))
    }

    fn new(target: Target) -> Self {
        Self {
            target,
            policy: Policy::default(),
            insecure: false,
            session: SessionOptions::default(),
            deriver: Deriver::default(),
            clock: Clock::default(),
            audit_id: None,
            audit_sinks: Vec::new(),
            tracing_audit: true,
            audit_fail_closed: false,
            kdf: Cost::Pbkdf2(KdfParams::RECOMMENDED_ITERATIONS),
            argon2_limits: Argon2Limits::DEFAULT,
            eclosion_compatible: false,
            sessions: Sessions::default(),
            idle_sweeper: false,
            key_provider: None,
        }
    }

    /// The passphrase policy, reported by [`Vault::security_status`] and applied by
    /// [`Vault::check_passphrase`].
    pub fn policy(mut self, policy: Policy) -> Self {
        self.policy = policy;
        self
    }

    /// PBKDF2 iterations for new vaults and passphrase changes (checked by
    /// [`VaultBuilder::open`] against 100,000..=10,000,000; default 480,000, Eclosion's
    /// count). An existing vault with fewer is raised to this count at its next unlock
    /// (see [`VaultBuilder::keep_eclosion_compatible_kdf`]).
    pub fn kdf_iterations(mut self, iterations: u32) -> Self {
        self.kdf = Cost::Pbkdf2(iterations);
        self.insecure = false;
        self
    }

    /// **Insecure**: any iteration count from 1, for new vaults *and* for reading vaults
    /// (and Argon2id costs from 8 KiB and 1 pass when reading). For tests that cannot afford
    /// 480,000 iterations per operation; a vault made this way is cheap to brute-force.
    /// Never use it in an application.
    pub fn insecure_kdf_iterations(mut self, iterations: u32) -> Self {
        self.kdf = Cost::Pbkdf2(iterations);
        self.insecure = true;
        self
    }

    /// PBKDF2 at as many iterations as fit in `budget` on this machine, instead of a fixed
    /// count (as LUKS's `--iter-time` and KeePassXC's "benchmark" do). The count is measured
    /// once per opened vault, when first needed (the first new vault, passphrase change or
    /// upgrade check, or [`Vault::security_status`]), with a few short derivations (about
    /// 50 ms); it is rounded to 10,000 and clamped to 100,000..=10,000,000, and recorded in
    /// each vault file as usual. A vault whose count is below 90% of it (the margin absorbs
    /// measurement noise) is raised at its next unlock.
    ///
    /// ```
    /// use std::time::Duration;
    /// use credlock::{Credentials, Policy, Vault};
    /// use credlock::secrecy::SecretString;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let vault = Vault::builder(dir.path().join("vault.json"))
    ///     .kdf_latency_budget(Duration::from_millis(250))
    /// #   .insecure_calibration_timer(|e| Duration::from_nanos(500 * u64::from(e.iterations)))
    ///     .open()?;
    /// let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// let report = vault.security_status();
    /// assert_eq!(report.kdf_for_new_vaults.latency_budget_ms, Some(250));
    /// let iterations = report.kdf.map(|k| k.iterations).unwrap_or_default();
    /// assert!((100_000..=10_000_000).contains(&iterations) && iterations % 10_000 == 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kdf_latency_budget(mut self, budget: Duration) -> Self {
        self.kdf = Cost::Pbkdf2Within(budget);
        self
    }

    /// Argon2id at `cost` for new vaults and passphrase changes, instead of PBKDF2 (checked
    /// by [`VaultBuilder::open`] against OWASP's floor, [`Argon2Cost::MIN`], and the caps of
    /// [`VaultBuilder::argon2_limits`]). Vaults made this way do not open in Eclosion, but
    /// `credlock-eclosion`'s `export_eclosion` still writes a file Eclosion reads. PBKDF2 vaults move to
    /// Argon2id at their next unlock.
    ///
    /// ```
    /// use credlock::{Argon2Cost, Vault};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let vault = Vault::builder(dir.path().join("vault.json"))
    ///     .kdf_argon2id(Argon2Cost::RECOMMENDED)
    ///     .open()?;
    /// let target = vault.security_status().kdf_for_new_vaults;
    /// assert_eq!((target.algorithm, target.memory_kib, target.iterations), ("argon2id", Some(65_536), 3));
    /// // Below OWASP's floor (19 MiB, 2 passes): refused when the vault is opened.
    /// let weak = Vault::builder(dir.path().join("weak.json"))
    ///     .kdf_argon2id(Argon2Cost::new(4 * 1024, 1, 1))
    ///     .open();
    /// assert!(matches!(weak, Err(credlock::Error::KdfParams(_))));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn kdf_argon2id(mut self, cost: Argon2Cost) -> Self {
        self.kdf = Cost::Argon2id(cost);
        self.insecure = false;
        self
    }

    /// **Insecure**: Argon2id at any cost from 8 KiB and 1 pass, for new vaults and for
    /// reading vaults (and PBKDF2 from 1 iteration when reading). For tests only.
    pub fn insecure_kdf_argon2id(mut self, cost: Argon2Cost) -> Self {
        self.kdf = Cost::Argon2id(cost);
        self.insecure = true;
        self
    }

    /// Argon2id at `memory_kib` KiB and `lanes` lanes, with as many passes as fit in
    /// `budget` on this machine (at least OWASP's 2, at most the cap), measured as for
    /// [`VaultBuilder::kdf_latency_budget`] with three one-pass probes.
    pub fn kdf_argon2id_latency_budget(
        mut self,
        memory_kib: u32,
        lanes: u32,
        budget: Duration,
    ) -> Self {
        self.kdf = Cost::Argon2idWithin {
            memory_kib,
            lanes,
            budget,
        };
        self
    }

    /// The most memory and passes accepted for Argon2id, from a vault file or these options
    /// (default [`Argon2Limits::DEFAULT`]: 1 GiB, 10 passes). A file asking for more is
    /// refused with [`Error::KdfParams`] before any memory is allocated.
    pub fn argon2_limits(mut self, limits: Argon2Limits) -> Self {
        self.argon2_limits = limits;
        self
    }

    /// Keeps the key derivation of new vaults as Eclosion computes it: PBKDF2-HMAC-SHA256 of
    /// the passphrase's exact UTF-8 bytes (no Unicode normalisation), at the count of
    /// [`VaultBuilder::kdf_iterations`] (480,000 by default), written as a version 1 file;
    /// and **no upgrade on unlock**. For applications whose vault files other tools derive
    /// keys for the way Eclosion does. [`VaultBuilder::open`] refuses it together with an
    /// Argon2id target ([`Error::InvalidOption`]).
    ///
    /// ```
    /// use credlock::Vault;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let vault = Vault::builder(dir.path().join("vault.json"))
    ///     .keep_eclosion_compatible_kdf()
    ///     .open()?;
    /// let target = vault.security_status().kdf_for_new_vaults;
    /// assert_eq!((target.iterations, target.normalization), (480_000, "none"));
    /// assert!(!target.upgrade_on_unlock);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn keep_eclosion_compatible_kdf(mut self) -> Self {
        self.eclosion_compatible = true;
        self
    }

    /// **Insecure**: times latency-budget calibration probes with `timer` (given each probe's
    /// iteration count, or passes for Argon2id) instead of running them. For tests of the
    /// calibration; a wrong timer gives a wrong cost.
    pub fn insecure_calibration_timer(
        mut self,
        timer: impl Fn(DerivationEvent) -> Duration + Send + Sync + 'static,
    ) -> Self {
        self.deriver = self.deriver.with_probe_timer(Arc::new(timer));
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
        self.deriver = Deriver::observed(Arc::new(observer)).with_timer_of(&self.deriver);
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

    /// **Opt-in, for replicas**: keeps sessions in `store`, shared by every replica, with the
    /// vault key sealed into each session's row under a key derived from its token, so that
    /// a replica where the vault is locked serves the token
    /// ([`Vault::credentials_for`](crate::Vault::credentials_for),
    /// [`Vault::totp_for`](crate::Vault::totp_for)) without the passphrase. A lock, a logout
    /// or a revocation on any replica removes the rows. See
    /// [shared sessions](crate::sessions#shared-sessions-opt-in-for-replicas) for the
    /// trade-off; a [`Registry`](crate::Registry) sets this per user through
    /// [`RegistryBuilder::shared_sessions`](crate::registry::RegistryBuilder::shared_sessions).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use credlock::sessions::{MemorySessionStore, Scope, SessionRequest};
    /// use credlock::secrecy::SecretString;
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// // In an app, a PostgreSQL store shared by the replicas (`sessions::PostgresSessions`).
    /// let store = Arc::new(MemorySessionStore::new());
    /// let a = Vault::builder(&path).shared_sessions(Arc::clone(&store))
    /// #   .insecure_kdf_iterations(1_000)
    ///     .open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # a.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// let minted = a.mint_session(SessionRequest::api_token("bot", Scope::ReadCredentials))?;
    /// let token = minted.token.expose_secret();
    ///
    /// let b = Vault::builder(&path).shared_sessions(store) // another replica: locked
    /// #   .insecure_kdf_iterations(1_000)
    ///     .open()?;
    /// assert_eq!(b.status(), SessionState::Locked);
    /// assert_eq!(b.credentials_for(token)?.email(), "alice@example.com");
    /// assert_eq!(b.status(), SessionState::Locked); // the key was used, not kept
    /// a.lock(); // removes the user's sessions for every replica
    /// assert!(b.credentials_for(token).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn shared_sessions(self, store: impl SessionStore + 'static) -> Self {
        self.shared_sessions_in(Arc::new(store))
    }

    /// [`VaultBuilder::shared_sessions`] with a store already shared.
    pub(crate) fn shared_sessions_in(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.sessions = Sessions::shared(store);
        self
    }

    /// A second secret the vault file never holds: every passphrase slot's key-encryption
    /// key also needs `provider`'s operation (HMAC-SHA256 under a key the provider keeps,
    /// over the KDF's output), so an offline guess at the passphrase needs the provider for
    /// every guess, and a copy of the file (a backup, a database dump) opens nothing without
    /// it. Providers: a key file or a systemd credential
    /// ([`FileKeyProvider`](crate::keyprovider::FileKeyProvider)), the OS keyring (feature
    /// `keyring` of `credlock-keyprovider`), a PKCS#11 token or HSM
    /// (`credlock-keyprovider-pkcs11`); wrap a remote one in
    /// [`WithTimeout`](crate::keyprovider::WithTimeout) so a provider that hangs never hangs
    /// an unlock.
    ///
    /// The slot records the provider's identity (kind and key id, no secret) and a check
    /// value, and a vault opened without it, or with another provider or key, answers
    /// [`Error::KeyProviderMissing`] or [`Error::KeyProviderMismatch`] before any attempt is
    /// counted or derived. A vault whose passphrase slot does not need the provider yet gets
    /// it at its next unlock (audited as `kdf_upgraded`, operation `key_provider`); to stop
    /// using one, call [`Vault::remove_key_provider`](crate::Vault::remove_key_provider) and
    /// then open the vault without it. Needs keyslots: refused with
    /// [`VaultBuilder::keep_eclosion_compatible_kdf`] (Eclosion exports still work: they are
    /// derived from the passphrase given).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use credlock::keyprovider::FileKeyProvider;
    /// use credlock::{Credentials, Error, Policy, Vault};
    /// use credlock::secrecy::SecretString;
    /// # let dir = tempfile::tempdir()?;
    /// # let key_path = dir.path().join("pepper");
    /// # { use std::io::Write as _; use std::os::unix::fs::OpenOptionsExt as _;
    /// #   std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&key_path)?.write_all(&[7u8; 32])?; }
    /// let pepper = Arc::new(FileKeyProvider::open(&key_path)?);   // e.g. $CREDENTIALS_DIRECTORY/pepper
    /// let path = dir.path().join("vault.json");
    /// let vault = Vault::builder(&path).insecure_kdf_iterations(1_000).key_provider(pepper).open()?;
    /// let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// drop(vault);
    /// // A copy of the file without the provider opens nothing, and no attempt is counted.
    /// let thief = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// assert!(matches!(
    ///     thief.unlock(&SecretString::from("Tangerine-Rocket-42!")),
    ///     Err(Error::KeyProviderMissing { .. })
    /// ));
    /// assert_eq!(thief.lockout_state()?.failures, 0);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn key_provider(mut self, provider: Arc<dyn KeyProvider>) -> Self {
        self.key_provider = Some(provider);
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
        let plan = self.kdf_plan()?;
        let (options, target) = self.into_parts(plan);
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
        let cost = self.kdf_plan();
        let plan = cost.as_ref().map_or_else(
            |_| {
                KdfPlan::new(
                    Cost::Pbkdf2(KdfParams::RECOMMENDED_ITERATIONS),
                    Normalization::Nfkc,
                    true,
                    Argon2Limits::DEFAULT,
                    Acceptance::Secure,
                )
            },
            Clone::clone,
        );
        let (options, target) = self.into_parts(plan);
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

    /// The KDF plan for new vaults and upgrades, checked now, so a bad option fails at open
    /// rather than at the first store (a latency budget is calibrated later, when needed).
    fn kdf_plan(&self) -> Result<KdfPlan, Error> {
        let acceptance = if self.insecure {
            Acceptance::InsecureLowCost
        } else {
            Acceptance::Secure
        };
        let argon2 = matches!(self.kdf, Cost::Argon2id(_) | Cost::Argon2idWithin { .. });
        if self.eclosion_compatible && argon2 {
            return Err(Error::InvalidOption {
                name: "keep_eclosion_compatible_kdf",
            });
        }
        if self.eclosion_compatible && self.key_provider.is_some() {
            return Err(Error::InvalidOption {
                name: "key_provider",
            });
        }
        let normalization = if self.eclosion_compatible {
            Normalization::None
        } else {
            Normalization::Nfkc
        };
        let plan = KdfPlan::new(
            self.kdf,
            normalization,
            !self.eclosion_compatible,
            self.argon2_limits,
            acceptance,
        );
        plan.check()?;
        Ok(plan)
    }

    /// The checked options (with the KDF plan from [`VaultBuilder::kdf_plan`]) and the target.
    fn into_parts(self, plan: KdfPlan) -> (Options, Target) {
        let acceptance = plan.acceptance;
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
            acceptance,
            session: self.session.insecure_without_lockout(),
            lockout: self.session.lockout(),
            deriver: self.deriver,
            clock: self.clock,
            auditor,
            kdf: plan,
            sessions: self.sessions,
            idle_sweeper: self.idle_sweeper,
            key_provider: self.key_provider,
        };
        (options, self.target)
    }
}

impl Vault {
    /// Creates a new vault at `path` holding `credentials`, and returns it unlocked.
    ///
    /// # Errors
    ///
    /// [`Error::VaultExists`] if a vault is already there; otherwise as [`Vault::store`].
    pub fn create(
        path: impl AsRef<Path>,
        credentials: Credentials,
        passphrase: ValidPassphrase,
    ) -> Result<Self, Error> {
        let vault = Self::open(path)?;
        vault.store(credentials, passphrase)?;
        Ok(vault)
    }

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
