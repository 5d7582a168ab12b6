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
use std::time::{Duration, Instant};

use credlock_session::SessionState;
use credlock_store::{MemoryStore, Store, Watch};

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
use crate::status::SecurityStatus;
use crate::vault::Vault;

/// The default [`RegistryBuilder::max_open_vaults`].
pub const DEFAULT_MAX_OPEN_VAULTS: usize = 10_000;
/// The default [`RegistryBuilder::evict_after`]: 15 minutes.
pub const DEFAULT_EVICT_AFTER: Duration = Duration::from_secs(15 * 60);
/// How often, at most, the registry looks for vaults to let go of (unless it is full).
const SWEEP_EVERY: Duration = Duration::from_secs(10);

/// How every user's vault is configured: applied to each user's [`VaultBuilder`], with the
/// user's id (`None` for the registry's own options, at [`RegistryBuilder::open`]).
type Configure = dyn Fn(VaultBuilder, Option<&UserId>) -> VaultBuilder + Send + Sync;

/// The vaults of many users, over one [`StoreSet`]: open it once, share it (`Send + Sync`,
/// `Arc<Registry>` in an app), and ask it for a user's vault.
///
/// - **Lazy**: opening a registry reads nothing per user; a user's vault is opened (one read
///   of its record) the first time [`vault`](Self::vault) is asked for it, and kept, so
///   every request for that user gets the same `Arc<Vault>` and sees it unlocked or locked.
///   10,000 users cost nothing until used (see the benchmark figures in `benches/`).
/// - **Bounded**: [`existing_vault`](Self::existing_vault) answers for a user without a
///   record without opening or keeping anything, so requests naming unknown users cost no
///   memory. Vaults kept are let go of when nothing needs them: an empty one (no record)
///   at once, a locked one after [`evict_after`](RegistryBuilder::evict_after) unused
///   (default 15 minutes), the least recently used first once
///   [`max_open_vaults`](RegistryBuilder::max_open_vaults) are held (default 10,000). An
///   unlocked vault, or one the app still holds an `Arc` to, is never let go of; a vault let
///   go of is opened again (locked) when next asked for.
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
    open: Arc<Mutex<Held>>,
    /// Each user's shared session store, if asked for.
    shared_sessions: Option<Arc<dyn SessionStoreSet>>,
    /// What the other replicas announce, heard while this is held (for a set that carries
    /// announcements).
    _watch: Option<Watch>,
    max_open_vaults: usize,
    evict_after: Duration,
}

/// The vaults a registry holds in memory, and when it last looked for some to let go of.
struct Held {
    vaults: HashMap<UserId, Kept>,
    last_sweep: Instant,
}

/// A vault held, and when it was last asked for.
struct Kept {
    vault: Arc<Vault>,
    last_used: Instant,
}

impl Held {
    /// The vault of `user` if held, marked as used at `now`.
    fn use_at(&mut self, user: &UserId, now: Instant) -> Option<Arc<Vault>> {
        let kept = self.vaults.get_mut(user)?;
        kept.last_used = now;
        Some(Arc::clone(&kept.vault))
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("set", &self.set)
            .field("open_vaults", &self.held().vaults.len())
            .field("max_open_vaults", &self.max_open_vaults)
            .field("evict_after", &self.evict_after)
            .finish_non_exhaustive()
    }
}

/// Options for a [`Registry`]; from [`Registry::builder`].
#[must_use = "call .open() to open the registry"]
pub struct RegistryBuilder {
    set: Arc<dyn StoreSet>,
    configure: Box<Configure>,
    shared_sessions: Option<Arc<dyn SessionStoreSet>>,
    max_open_vaults: usize,
    evict_after: Duration,
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
        self,
        configure: impl Fn(VaultBuilder) -> VaultBuilder + Send + Sync + 'static,
    ) -> Self {
        self.vault_options_for_user(move |builder, _| configure(builder))
    }

    /// As [`vault_options`](Self::vault_options), with the [`UserId`] of the vault being
    /// opened, so options may differ per user (a stricter policy for operators, a longer
    /// idle timeout for a service account). At [`open`](Self::open) the user is `None`: those
    /// are the registry's own options, the ones it checks, reports
    /// ([`Registry::security_status`]) and audits its own events with.
    ///
    /// ```
    /// use std::time::Duration;
    /// use credlock::{Registry, UserId};
    /// use credlock::registry::MemoryStoreSet;
    ///
    /// let registry = Registry::builder(MemoryStoreSet::new())
    ///     .vault_options_for_user(|b, user| match user.map(UserId::as_str) {
    ///         Some("ops") => b.idle_timeout(Duration::from_secs(60)),
    ///         _ => b.idle_timeout(Duration::from_secs(600)),
    ///     })
    ///     .open()?;
    /// let ops = registry.vault(&UserId::new("ops")?)?;
    /// assert_eq!(ops.security_status().idle_timeout_secs, Some(60));
    /// assert_eq!(registry.security_status().idle_timeout_secs, Some(600));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn vault_options_for_user(
        mut self,
        configure: impl Fn(VaultBuilder, Option<&UserId>) -> VaultBuilder + Send + Sync + 'static,
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

    /// At most this many vaults are held in memory (default [`DEFAULT_MAX_OPEN_VAULTS`]).
    /// When the registry is full, the least recently used vaults that are neither unlocked
    /// nor in use are let go of; if every vault is unlocked or in use, asking for another
    /// user's vault fails with [`Error::TooManyOpenVaults`] until one is let go of. Size it
    /// above the number of users unlocked at once.
    pub fn max_open_vaults(mut self, max: usize) -> Self {
        self.max_open_vaults = max;
        self
    }

    /// A locked vault nothing holds is let go of once it has not been asked for this long
    /// (default [`DEFAULT_EVICT_AFTER`], 15 minutes), measured on the vaults' idle clock. Its
    /// lockout is kept in the store, so letting it go loses nothing; it is opened again
    /// (one read) when next asked for.
    pub fn evict_after(mut self, idle: Duration) -> Self {
        self.evict_after = idle;
        self
    }

    /// Opens the registry. Reads nothing per user. Over a set that carries announcements
    /// (PostgreSQL), starts hearing the other replicas' (see [`Registry`]).
    ///
    /// # Errors
    ///
    /// As [`VaultBuilder::open`] for the configured options (an iteration count out of
    /// bounds, say); [`Error::InvalidOption`] for a `max_open_vaults` of 0;
    /// [`Error::Storage`] if the set could not start watching.
    pub fn open(self) -> Result<Registry, Error> {
        if self.max_open_vaults == 0 {
            return Err(Error::InvalidOption {
                name: "max_open_vaults",
            });
        }
        let admin = (self.configure)(VaultBuilder::with_store(MemoryStore::new()), None)
            .audit_id("registry")
            .open()?;
        let open = Arc::new(Mutex::new(Held {
            vaults: HashMap::new(),
            last_sweep: admin.now(),
        }));
        let watch = self.set.watch(replicas::listener(Arc::downgrade(&open)))?;
        Ok(Registry {
            set: self.set,
            configure: self.configure,
            admin,
            open,
            shared_sessions: self.shared_sessions,
            max_open_vaults: self.max_open_vaults,
            evict_after: self.evict_after,
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
            configure: Box::new(|b, _| b),
            shared_sessions: None,
            max_open_vaults: DEFAULT_MAX_OPEN_VAULTS,
            evict_after: DEFAULT_EVICT_AFTER,
        }
    }

    /// The vault of `user`: opened on first use (one read of the user's record; nothing is
    /// written), then the same `Arc<Vault>` every time while it is held (see the
    /// [bounds](Registry)). A user with no record gets an empty vault
    /// ([`SessionState::NoCredentials`]), ready for [`Vault::store`]; it is let go of once
    /// nothing holds it. To answer a request for a user who may not exist, use
    /// [`existing_vault`](Self::existing_vault).
    ///
    /// # Errors
    ///
    /// As [`VaultBuilder::open`]: [`Error::Storage`] if the user's record cannot be read
    /// safely; [`Error::TooManyOpenVaults`] if the registry is full of vaults it cannot let
    /// go of.
    pub fn vault(&self, user: &UserId) -> Result<Arc<Vault>, Error> {
        if let Some(v) = self.held().use_at(user, self.admin.now()) {
            return Ok(v);
        }
        let store = self.set.store(user.key())?;
        self.keep(user, self.open_vault(user, store)?)
    }

    /// The vault of `user` if they have a record, or if their vault is held; `None` for a
    /// user without a record, for whom nothing is opened or kept (one look at the store: a
    /// file's metadata, one database query). Requests naming unknown users then cost no
    /// memory, however many there are.
    ///
    /// ```
    /// use credlock::registry::MemoryStoreSet;
    /// use credlock::{Credentials, Policy, Registry, UserId};
    /// use credlock::secrecy::SecretString;
    ///
    /// let registry = Registry::builder(MemoryStoreSet::new())
    ///     .vault_options(|b| b.insecure_kdf_iterations(1_000))
    ///     .open()?;
    /// let dave = UserId::new("dave")?;
    /// assert!(registry.existing_vault(&dave)?.is_none());
    /// assert_eq!(registry.open_vaults(), 0);
    /// let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// registry.vault(&dave)?.store(Credentials::new("dave@example.com", SecretString::from("pw")), pass)?;
    /// assert!(registry.existing_vault(&dave)?.is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Registry::vault`].
    pub fn existing_vault(&self, user: &UserId) -> Result<Option<Arc<Vault>>, Error> {
        if let Some(v) = self.held().use_at(user, self.admin.now()) {
            return Ok(Some(v));
        }
        let store = self.set.store(user.key())?;
        if !store.describe().present {
            return Ok(None);
        }
        self.keep(user, self.open_vault(user, store)?).map(Some)
    }

    /// What every user's vault is opened with (the policy, the key derivation of new vaults,
    /// the lockout, the idle timeout, the audit sinks), and nothing about any user: the
    /// report of an empty vault with the registry's options. For a status page that must
    /// not tell whether a user exists.
    #[must_use]
    pub fn security_status(&self) -> SecurityStatus {
        self.admin.security_status()
    }

    /// Holds `vault` for `user`, unless a racing opener's is held already (then that one is
    /// returned and `vault` dropped); lets vaults go first if a look is due or the registry
    /// is full.
    fn keep(&self, user: &UserId, vault: Vault) -> Result<Arc<Vault>, Error> {
        let now = self.admin.now();
        let sweep_due = {
            let held = self.held();
            held.vaults.len() >= self.max_open_vaults
                || now.saturating_duration_since(held.last_sweep) >= SWEEP_EVERY
        };
        if sweep_due {
            self.sweep(now, self.evict_after);
        }
        let mut held = self.held();
        if let Some(v) = held.use_at(user, now) {
            return Ok(v);
        }
        if held.vaults.len() >= self.max_open_vaults {
            return Err(Error::TooManyOpenVaults {
                max: self.max_open_vaults,
            });
        }
        let vault = Arc::new(vault);
        held.vaults.insert(
            user.clone(),
            Kept {
                vault: Arc::clone(&vault),
                last_used: now,
            },
        );
        Ok(vault)
    }

    fn open_vault(&self, user: &UserId, store: Box<dyn Store>) -> Result<Vault, Error> {
        let mut builder = (self.configure)(VaultBuilder::with_boxed_store(store), Some(user));
        if let Some(sessions) = &self.shared_sessions {
            builder = builder.shared_sessions_in(sessions.for_user(user));
        }
        builder.audit_id(user.as_str()).open()
    }

    /// How many users' vaults this registry holds in memory now.
    #[must_use]
    pub fn open_vaults(&self) -> usize {
        self.held().vaults.len()
    }

    /// Whether the vault of `user` is held in memory now (nothing is opened).
    #[must_use]
    pub fn is_open(&self, user: &UserId) -> bool {
        self.held().vaults.contains_key(user)
    }

    /// Drops now every vault held that is not unlocked and not in use elsewhere (no other
    /// `Arc` to it), however recently used; returns how many. They are opened again on next
    /// use. The registry also does this by itself (see the [bounds](Registry)).
    pub fn evict_idle(&self) -> usize {
        self.sweep(self.admin.now(), Duration::ZERO)
    }

    /// Lets go of the vaults nothing needs: empty ones, locked ones unused for `idle`, and,
    /// while the registry is full, the least recently used of the rest that are neither
    /// unlocked nor in use. Returns how many went.
    fn sweep(&self, now: Instant, idle: Duration) -> usize {
        // The vaults no one else holds, looked at outside the registry's lock: a status
        // applies the idle timeout, which may audit an idle lock.
        let unheld: Vec<(UserId, Arc<Vault>)> = {
            let mut held = self.held();
            held.last_sweep = now;
            held.vaults
                .iter()
                .filter(|(_, k)| Arc::strong_count(&k.vault) == 1)
                .map(|(u, k)| (u.clone(), Arc::clone(&k.vault)))
                .collect()
        };
        let mut candidates: Vec<(UserId, bool)> = unheld
            .iter()
            .filter_map(|(user, vault)| match vault.status() {
                SessionState::Unlocked => None,
                state => Some((user.clone(), state == SessionState::NoCredentials)),
            })
            .collect();
        drop(unheld);
        let mut held = self.held();
        let before = held.vaults.len();
        // Still unheld and without a key: a vault unlocked since it was looked at stays.
        let still_free = |k: &Kept| Arc::strong_count(&k.vault) == 1 && !k.vault.holds_key();
        candidates.retain(|(user, empty)| {
            let Some(kept) = held.vaults.get(user) else {
                return false;
            };
            if !still_free(kept) {
                return false;
            }
            if *empty || now.saturating_duration_since(kept.last_used) >= idle {
                held.vaults.remove(user);
                return false;
            }
            true
        });
        if held.vaults.len() >= self.max_open_vaults {
            candidates.sort_by_key(|(user, _)| held.vaults.get(user).map(|k| k.last_used));
            for (user, _) in candidates {
                if held.vaults.len() < self.max_open_vaults {
                    break;
                }
                if held.vaults.get(&user).is_some_and(still_free) {
                    held.vaults.remove(&user);
                }
            }
        }
        before - held.vaults.len()
    }

    fn held(&self) -> MutexGuard<'_, Held> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
