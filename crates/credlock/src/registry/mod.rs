//! Many users: a [`Registry`] of vaults, one per [`UserId`], over one [`StoreSet`] (a
//! directory of files, an SQLite database, a PostgreSQL database shared by replicas).
//!
//! See the [crate docs](crate#many-users) for an example, and
//! [`Registry`] for what is shared between replicas and what is not.

mod admin;
mod replicas;
mod session_stores;
mod user_id;

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use credlock_session::SessionState;
use credlock_store::{MemoryStore, Watch};

pub use admin::LockedOutUser;
pub use credlock_store::{FileStoreSet, MemoryStoreSet, StoreSet};
#[cfg(feature = "postgres")]
pub use credlock_store_postgres::{PostgresStoreSet, PostgresStoreSetBuilder};
#[cfg(feature = "sqlite")]
pub use credlock_store_sqlite::SqliteStoreSet;
pub use session_stores::SessionStoreSet;
pub use user_id::{InvalidUserId, UserId};

use crate::builder::VaultBuilder;
use crate::error::Error;
use crate::vault::Vault;

/// How every user's vault is configured: applied to each user's [`VaultBuilder`].
type Configure = dyn Fn(VaultBuilder) -> VaultBuilder + Send + Sync;

/// The vaults a registry holds, by user.
type Open = Mutex<HashMap<UserId, Arc<Vault>>>;

/// The vaults of many users, over one [`StoreSet`]: open it once, share it (`Send + Sync`,
/// `Arc<Registry>` in an app), and ask it for a user's vault.
///
/// - **Lazy**: opening a registry reads nothing per user; a user's vault is opened (one read
///   of its record) the first time [`vault`](Self::vault) is asked for it, and kept, so
///   every request for that user gets the same `Arc<Vault>` and sees it unlocked or locked.
///   10,000 users cost nothing until used (see the benchmark figures in `benches/`).
/// - **Ids**: [`UserId`] is validated (charset, length, no path characters, case folded), so
///   no id names anything outside its own record.
/// - **Admin**: [`users`](Self::users), [`locked_out`](Self::locked_out) (with deadlines),
///   [`clear_lockout`](Self::clear_lockout) and [`remove_user`](Self::remove_user), audited.
/// - **Replicas**: registries in several processes over one shared store (PostgreSQL) share
///   each user's record and lockout exactly: a wrong guess counted by one is seen by all, a
///   passphrase changed on one is the one the others test at their next unlock, and
///   concurrent writes are compare-and-swaps, so none is lost. An unlocked vault is unlocked
///   only in the process that unlocked it; with the opt-in
///   [`shared_sessions`](RegistryBuilder::shared_sessions), a session token minted on one
///   replica is served by every replica.
/// - **Replicas hear each other** (over a set that carries announcements: PostgreSQL): a
///   [`lock`](Vault::lock), [`logout`](Vault::logout), [`reset`](Vault::reset), passphrase
///   change, [`replace`](Vault::replace), [`remove_user`](Self::remove_user) or
///   [`revoke_all_sessions`](Vault::revoke_all_sessions) on one replica reaches every other
///   registry at once (milliseconds): the vault it holds for that user drops its key and the
///   sessions it keeps (only the sessions, for a revocation), or becomes empty for a logout
///   or a reset. Nothing echoes back, and the idle lock stays each replica's own. A registry
///   whose listening connection was cut off acts on what it missed once it is back, before
///   anything new, and locks every vault it holds if it cannot get back within 10 s (see
///   `PostgresStoreSet`, feature `postgres`).
///
/// Every method that touches storage **blocks** (as [`Vault`]'s do); call it through
/// `tokio::task::spawn_blocking` in an async app.
///
/// ```
/// use credlock::registry::MemoryStoreSet;
/// use credlock::{Credentials, Policy, Registry, SessionState, UserId};
/// use credlock::secrecy::SecretString;
///
/// let registry = Registry::builder(MemoryStoreSet::new())
///     .vault_options(|b| b.insecure_kdf_iterations(1_000))
///     .open()?;
/// let alice = UserId::new("alice@example.com")?;
/// let vault = registry.vault(&alice)?;
/// let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
/// vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
/// assert_eq!(registry.vault(&alice)?.status(), SessionState::Unlocked); // the same vault
/// assert_eq!(registry.users()?, vec![alice]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Registry {
    set: Arc<dyn StoreSet>,
    configure: Box<Configure>,
    /// A vault over an empty memory store, built with the same options: its checked options
    /// are the registry's, and it audits the registry's own events (as vault `registry`).
    admin: Vault,
    open: Arc<Open>,
    /// Each user's shared session store, if asked for.
    shared_sessions: Option<Arc<dyn SessionStoreSet>>,
    /// What the other replicas announce, heard while this is held (for a set that carries
    /// announcements).
    _watch: Option<Watch>,
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("set", &self.set)
            .field("open_vaults", &self.vaults().len())
            .finish_non_exhaustive()
    }
}

/// Options for a [`Registry`]; from [`Registry::builder`].
#[must_use = "call .open() to open the registry"]
pub struct RegistryBuilder {
    set: Arc<dyn StoreSet>,
    configure: Box<Configure>,
    shared_sessions: Option<Arc<dyn SessionStoreSet>>,
}

impl fmt::Debug for RegistryBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistryBuilder")
            .field("set", &self.set)
            .finish_non_exhaustive()
    }
}

impl RegistryBuilder {
    /// How each user's vault is configured (policy, KDF cost, lockout, idle timeout, audit
    /// sinks): `configure` gets the user's [`VaultBuilder`], already given the user's store
    /// and an audit id equal to the user id, and returns it changed. It is applied once per
    /// user, when that user's vault is first opened, and once at [`open`](Self::open) (which
    /// checks it, and uses it for the registry's own audit events).
    ///
    /// ```
    /// use std::time::Duration;
    /// use credlock::Registry;
    /// use credlock::registry::MemoryStoreSet;
    ///
    /// let registry = Registry::builder(MemoryStoreSet::new())
    ///     .vault_options(|b| b.idle_timeout(Duration::from_secs(300)))
    ///     .open()?;
    /// # let _ = registry;
    /// # Ok::<(), credlock::Error>(())
    /// ```
    pub fn vault_options(
        mut self,
        configure: impl Fn(VaultBuilder) -> VaultBuilder + Send + Sync + 'static,
    ) -> Self {
        self.configure = Box::new(configure);
        self
    }

    /// **Opt-in, for replicas**: every user's vault keeps its sessions in `sessions`, shared
    /// by the replicas, with the vault key sealed under each session's token (see
    /// [`VaultBuilder::shared_sessions`] and
    /// [shared sessions](crate::sessions#shared-sessions-opt-in-for-replicas)): a replica
    /// where the user's vault is locked serves their tokens without the passphrase. Without
    /// it, sessions stay in the process that minted them.
    pub fn shared_sessions(mut self, sessions: impl SessionStoreSet + 'static) -> Self {
        self.shared_sessions = Some(Arc::new(sessions));
        self
    }

    /// Opens the registry. Reads nothing per user. Over a set that carries announcements
    /// (PostgreSQL), starts hearing the other replicas' (see [`Registry`]).
    ///
    /// # Errors
    ///
    /// As [`VaultBuilder::open`] for the configured options (an iteration count out of
    /// bounds, say); [`Error::Storage`] if the set could not start watching.
    pub fn open(self) -> Result<Registry, Error> {
        let admin = (self.configure)(VaultBuilder::with_store(MemoryStore::new()))
            .audit_id("registry")
            .open()?;
        let open = Arc::new(Open::default());
        let watch = self.set.watch(replicas::listener(Arc::downgrade(&open)))?;
        Ok(Registry {
            set: self.set,
            configure: self.configure,
            admin,
            open,
            shared_sessions: self.shared_sessions,
            _watch: watch,
        })
    }
}

impl Registry {
    /// A registry over `set` with the default vault options.
    ///
    /// ```
    /// use credlock::Registry;
    /// use credlock::registry::FileStoreSet;
    ///
    /// let dir = tempfile::tempdir()?;
    /// let registry = Registry::open(FileStoreSet::open(dir.path().join("vaults"))?)?;
    /// assert!(registry.users()?.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`RegistryBuilder::open`].
    pub fn open(set: impl StoreSet + 'static) -> Result<Self, Error> {
        Self::builder(set).open()
    }

    /// A builder for a registry over `set`.
    pub fn builder(set: impl StoreSet + 'static) -> RegistryBuilder {
        RegistryBuilder {
            set: Arc::new(set),
            configure: Box::new(|b| b),
            shared_sessions: None,
        }
    }

    /// The vault of `user`: opened on first use (one read of the user's record; nothing is
    /// written), then the same `Arc<Vault>` every time. A user with no record gets an empty
    /// vault ([`SessionState::NoCredentials`]), ready for
    /// [`Vault::store`].
    ///
    /// # Errors
    ///
    /// As [`VaultBuilder::open`]: [`Error::Storage`] if the user's record cannot be read
    /// safely.
    pub fn vault(&self, user: &UserId) -> Result<Arc<Vault>, Error> {
        if let Some(v) = self.vaults().get(user) {
            return Ok(Arc::clone(v));
        }
        // Opened outside the map's lock (it reads storage); a racing opener's vault is
        // dropped in favour of the one that got in first.
        let vault = Arc::new(self.open_vault(user)?);
        Ok(Arc::clone(
            self.vaults().entry(user.clone()).or_insert(vault),
        ))
    }

    fn open_vault(&self, user: &UserId) -> Result<Vault, Error> {
        let store = self.set.store(user.key())?;
        let mut builder = (self.configure)(VaultBuilder::with_store(store));
        if let Some(sessions) = &self.shared_sessions {
            builder = builder.shared_sessions_in(sessions.for_user(user));
        }
        builder.audit_id(user.as_str()).open()
    }

    /// How many users' vaults this registry holds in memory now.
    #[must_use]
    pub fn open_vaults(&self) -> usize {
        self.vaults().len()
    }

    /// Drops the in-memory vaults that are not unlocked and not in use elsewhere (no other
    /// `Arc` to them), to bound memory in a long-running app; returns how many. They are
    /// opened again on next use.
    pub fn evict_idle(&self) -> usize {
        let mut vaults = self.vaults();
        let before = vaults.len();
        vaults.retain(|_, v| Arc::strong_count(v) > 1 || v.status() == SessionState::Unlocked);
        before - vaults.len()
    }

    fn vaults(&self) -> MutexGuard<'_, HashMap<UserId, Arc<Vault>>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
