//! The state machine itself.

use core::fmt;
use std::time::{Duration, Instant};

use zeroize::ZeroizeOnDrop;

use crate::lockout::LockoutTracker;
use crate::{Error, SessionOptions, SessionState, SessionStatus};

/// The vault's session: which state it is in, the key and decrypted record while unlocked,
/// and the lockout / idle bookkeeping.
///
/// `K` is the key type and `R` the decrypted record; both must zeroize themselves when
/// dropped ([`ZeroizeOnDrop`]), because every transition away from `Unlocked` simply drops
/// them. Neither needs `Debug`: this type's `Debug` shows only the state, the failure count
/// and the options.
///
/// Transitions consume `self` and return the new session (see the
/// [crate docs](crate#transitions)); hold it in a field and move it out with
/// [`core::mem::take`] (the [`Default`] is an empty `NoCredentials` session).
pub struct Session<K: ZeroizeOnDrop, R: ZeroizeOnDrop> {
    inner: Inner<K, R>,
    options: SessionOptions,
    lockout: LockoutTracker,
}

/// The payload-carrying state; only `Unlocked` holds secrets.
enum Inner<K, R> {
    NoCredentials,
    Locked,
    Unlocked(Unlocked<K, R>),
}

struct Unlocked<K, R> {
    key: K,
    record: R,
    /// Last activity (unlock, store, `touch`, `replace_record`), for the idle timeout.
    last_used: Instant,
}

impl<K, R> Unlocked<K, R> {
    fn new(key: K, record: R, now: Instant) -> Self {
        Self {
            key,
            record,
            last_used: now,
        }
    }

    /// Time left before the idle timeout: `None` if there is no timeout, zero once expired.
    fn idle_remaining(&self, timeout: Option<Duration>, now: Instant) -> Option<Duration> {
        let idle = now.saturating_duration_since(self.last_used);
        timeout.map(|t| t.saturating_sub(idle))
    }

    /// Expired once idle for at least the timeout (an earlier `now` counts as not idle).
    fn is_expired(&self, timeout: Option<Duration>, now: Instant) -> bool {
        self.idle_remaining(timeout, now)
            .is_some_and(|left| left.is_zero())
    }

    fn touch(&mut self, now: Instant) {
        self.last_used = self.last_used.max(now);
    }
}

impl<K: ZeroizeOnDrop, R: ZeroizeOnDrop> Session<K, R> {
    /// A session with [`SessionOptions::RECOMMENDED`]: `Locked` if a sealed record is
    /// stored (`stored == true`), else `NoCredentials`.
    ///
    /// ```
    /// use credlock_session::{Session, SessionState};
    /// use zeroize::Zeroizing;
    ///
    /// let s: Session<Zeroizing<[u8; 32]>, Zeroizing<String>> = Session::new(true);
    /// assert_eq!(s.state(), SessionState::Locked);
    /// ```
    #[must_use]
    pub fn new(stored: bool) -> Self {
        Self::with_options(stored, SessionOptions::RECOMMENDED)
    }

    /// Like [`Session::new`], with custom options.
    ///
    /// ```
    /// use credlock_session::{Session, SessionOptions, SessionState};
    /// use zeroize::Zeroizing;
    ///
    /// let opts = SessionOptions::new().without_idle_timeout();
    /// let s: Session<Zeroizing<[u8; 32]>, Zeroizing<String>> = Session::with_options(false, opts);
    /// assert_eq!(s.state(), SessionState::NoCredentials);
    /// assert_eq!(s.options().idle_timeout(), None);
    /// ```
    #[must_use]
    pub fn with_options(stored: bool, options: SessionOptions) -> Self {
        Self {
            inner: if stored {
                Inner::Locked
            } else {
                Inner::NoCredentials
            },
            options,
            lockout: LockoutTracker::default(),
        }
    }

    /// The options this session was built with.
    #[must_use]
    pub const fn options(&self) -> &SessionOptions {
        &self.options
    }

    /// The state as last transitioned, without applying the idle timeout: an idle-expired
    /// session still reports `Unlocked` here until a transition or a `&mut self` method
    /// locks it. Use [`state_at`](Self::state_at) for what reads would see.
    ///
    /// ```
    /// use credlock_session::{Session, SessionState};
    /// use zeroize::Zeroizing;
    ///
    /// let s: Session<Zeroizing<[u8; 32]>, Zeroizing<String>> = Session::default();
    /// assert_eq!(s.state(), SessionState::NoCredentials);
    /// ```
    #[must_use]
    pub const fn state(&self) -> SessionState {
        match self.inner {
            Inner::NoCredentials => SessionState::NoCredentials,
            Inner::Locked => SessionState::Locked,
            Inner::Unlocked(_) => SessionState::Unlocked,
        }
    }

    /// The state at `now` with the idle timeout applied: `Locked` if the session is
    /// unlocked but has been idle too long.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use credlock_session::{Session, SessionOptions, SessionState};
    /// use zeroize::Zeroizing;
    ///
    /// let t0 = Instant::now();
    /// let opts = SessionOptions::new().with_idle_timeout(Duration::from_secs(60));
    /// let s = Session::with_options(false, opts)
    ///     .store(Zeroizing::new([7u8; 32]), Zeroizing::new(String::from("rec")), t0);
    /// assert_eq!(s.state_at(t0 + Duration::from_secs(59)), SessionState::Unlocked);
    /// assert_eq!(s.state_at(t0 + Duration::from_secs(60)), SessionState::Locked);
    /// assert_eq!(s.state(), SessionState::Unlocked);
    /// ```
    #[must_use]
    pub fn state_at(&self, now: Instant) -> SessionState {
        match &self.inner {
            Inner::Unlocked(u) if u.is_expired(self.options.idle_timeout(), now) => {
                SessionState::Locked
            }
            _ => self.state(),
        }
    }

    /// A secret-free snapshot for status reports, at `now`.
    ///
    /// ```
    /// use std::time::Instant;
    /// use credlock_session::{Session, SessionState};
    /// use zeroize::Zeroizing;
    ///
    /// let mut s: Session<Zeroizing<[u8; 32]>, Zeroizing<String>> = Session::new(true);
    /// s.record_failed_unlock(Instant::now());
    /// let status = s.status(Instant::now());
    /// assert_eq!((status.state, status.failed_attempts), (SessionState::Locked, 1));
    /// ```
    #[must_use]
    pub fn status(&self, now: Instant) -> SessionStatus {
        SessionStatus {
            state: self.state_at(now),
            failed_attempts: self.failed_attempts(),
            retry_after: self.lockout.remaining(now),
            idle_remaining: self.idle_remaining(now),
        }
    }

    /// Stores new credentials: any state → `Unlocked` with `key` and `record` (creating the
    /// vault, re-creating it after logout, or changing the passphrase). A previous key and
    /// record are dropped, hence zeroized. Resets the failed-unlock count and any lockout,
    /// since they concerned the replaced credentials. `now` starts the idle clock.
    ///
    /// ```
    /// use std::time::Instant;
    /// use credlock_session::{Session, SessionState};
    /// use zeroize::Zeroizing;
    ///
    /// let s = Session::default()
    ///     .store(Zeroizing::new([1u8; 32]), Zeroizing::new(String::from("rec")), Instant::now());
    /// assert_eq!(s.state(), SessionState::Unlocked);
    /// ```
    #[must_use]
    pub fn store(self, key: K, record: R, now: Instant) -> Self {
        let options = self.options;
        drop(self);
        Self {
            inner: Inner::Unlocked(Unlocked::new(key, record, now)),
            options,
            lockout: LockoutTracker::default(),
        }
    }

    /// `Locked` → `Unlocked` with the freshly derived `key` and decrypted `record`; resets the
    /// failed-unlock count. `now` starts the idle clock.
    ///
    /// The idle timeout is applied first, so an idle-expired session unlocks like a locked
    /// one. On error, `key` and `record` are dropped (zeroized) and the session comes back
    /// unchanged (apart from that idle timeout) with the error.
    ///
    /// ```
    /// use std::time::Instant;
    /// use credlock_session::{Error, Session, SessionState};
    /// use zeroize::Zeroizing;
    ///
    /// let now = Instant::now();
    /// let s = Session::new(true);
    /// let s = s
    ///     .unlock(Zeroizing::new([1u8; 32]), Zeroizing::new(String::from("rec")), now)
    ///     .map_err(|(_, e)| e)?;
    /// assert_eq!(s.state(), SessionState::Unlocked);
    ///
    /// let (s, err) = s
    ///     .unlock(Zeroizing::new([2u8; 32]), Zeroizing::new(String::from("other")), now)
    ///     .unwrap_err();
    /// assert_eq!(err, Error::AlreadyUnlocked);
    /// assert_eq!(s.record(now)?.as_str(), "rec");
    /// # Ok::<(), Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::NoCredentials`] in `NoCredentials`;
    /// - [`Error::AlreadyUnlocked`] in `Unlocked` (not idle-expired);
    /// - [`Error::LockedOut`] while a lockout is running (the facade should have called
    ///   [`check_unlock_allowed`](Self::check_unlock_allowed) before deriving the key; this
    ///   is the backstop).
    #[allow(
        clippy::result_large_err,
        reason = "`Ok` holds the same `Self`, so boxing `Err` would not shrink the `Result`"
    )]
    pub fn unlock(self, key: K, record: R, now: Instant) -> Result<Self, (Self, Error)> {
        let mut this = self.enforce_idle_timeout(now);
        if let Err(e) = this.check_unlock_allowed(now) {
            return Err((this, e));
        }
        this.lockout.reset();
        this.inner = Inner::Unlocked(Unlocked::new(key, record, now));
        Ok(this)
    }

    /// `Unlocked` → `Locked`, dropping (hence zeroizing) key and record. In `Locked` or
    /// `NoCredentials` this does nothing: locking is idempotent, so callers may lock
    /// unconditionally (on exit, on screen lock, ...).
    ///
    /// ```
    /// use std::time::Instant;
    /// use credlock_session::{Error, Session, SessionState};
    /// use zeroize::Zeroizing;
    ///
    /// let now = Instant::now();
    /// let s = Session::default()
    ///     .store(Zeroizing::new([1u8; 32]), Zeroizing::new(String::from("rec")), now)
    ///     .lock();
    /// assert_eq!(s.state(), SessionState::Locked);
    /// assert_eq!(s.key(now).unwrap_err(), Error::Locked);
    /// assert_eq!(s.lock().state(), SessionState::Locked);
    /// ```
    #[must_use]
    pub fn lock(self) -> Self {
        match self.inner {
            Inner::Unlocked(_) => Self {
                inner: Inner::Locked,
                ..self
            },
            Inner::NoCredentials | Inner::Locked => self,
        }
    }

    /// Any state → `NoCredentials`, dropping (hence zeroizing) key and record if unlocked and
    /// resetting the failed-unlock count. Deleting the sealed record is the facade's job.
    ///
    /// ```
    /// use credlock_session::{Session, SessionState};
    /// use zeroize::Zeroizing;
    ///
    /// let s: Session<Zeroizing<[u8; 32]>, Zeroizing<String>> = Session::new(true).logout();
    /// assert_eq!(s.state(), SessionState::NoCredentials);
    /// ```
    #[must_use]
    pub fn logout(self) -> Self {
        let options = self.options;
        drop(self);
        Self::with_options(false, options)
    }

    /// `Unlocked` with an expired idle timeout → `Locked` (dropping key and record);
    /// otherwise unchanged. Call it from a timer, or before deciding what to show.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use credlock_session::{Session, SessionState};
    /// use zeroize::Zeroizing;
    ///
    /// let t0 = Instant::now();
    /// let s = Session::default()
    ///     .store(Zeroizing::new([1u8; 32]), Zeroizing::new(String::from("rec")), t0)
    ///     .enforce_idle_timeout(t0 + Duration::from_secs(15 * 60));
    /// assert_eq!(s.state(), SessionState::Locked);
    /// ```
    #[must_use]
    pub fn enforce_idle_timeout(mut self, now: Instant) -> Self {
        self.expire_if_idle(now);
        self
    }

    /// The key, if unlocked and not idle-expired at `now`. Does not count as activity (it
    /// takes `&self`): call [`touch`](Self::touch) for that.
    ///
    /// ```
    /// use std::time::Instant;
    /// use credlock_session::Session;
    /// use zeroize::Zeroizing;
    ///
    /// let now = Instant::now();
    /// let s = Session::default()
    ///     .store(Zeroizing::new([1u8; 32]), Zeroizing::new(String::from("rec")), now);
    /// assert_eq!(**s.key(now)?, [1u8; 32]);
    /// # Ok::<(), credlock_session::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NoCredentials`] in `NoCredentials`; [`Error::Locked`] in `Locked` or when
    /// idle-expired.
    pub fn key(&self, now: Instant) -> Result<&K, Error> {
        self.unlocked(now).map(|u| &u.key)
    }

    /// The decrypted record, if unlocked and not idle-expired at `now`. Does not count as
    /// activity.
    ///
    /// ```
    /// use std::time::Instant;
    /// use credlock_session::{Error, Session};
    /// use zeroize::Zeroizing;
    ///
    /// let s: Session<Zeroizing<[u8; 32]>, Zeroizing<String>> = Session::new(true);
    /// assert_eq!(s.record(Instant::now()).unwrap_err(), Error::Locked);
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NoCredentials`] in `NoCredentials`; [`Error::Locked`] in `Locked` or when
    /// idle-expired.
    pub fn record(&self, now: Instant) -> Result<&R, Error> {
        self.unlocked(now).map(|u| &u.record)
    }

    /// Replaces the decrypted record while unlocked (after updating the credentials); the
    /// old record is dropped (zeroized). Counts as activity. Applies the idle timeout first:
    /// if it expired, the session locks and `record` is dropped.
    ///
    /// ```
    /// use std::time::Instant;
    /// use credlock_session::Session;
    /// use zeroize::Zeroizing;
    ///
    /// let now = Instant::now();
    /// let mut s = Session::default()
    ///     .store(Zeroizing::new([1u8; 32]), Zeroizing::new(String::from("old")), now);
    /// s.replace_record(Zeroizing::new(String::from("new")), now)?;
    /// assert_eq!(s.record(now)?.as_str(), "new");
    /// # Ok::<(), credlock_session::Error>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::NoCredentials`] in `NoCredentials`; [`Error::Locked`] in `Locked` or when
    /// idle-expired. The session keeps its record.
    pub fn replace_record(&mut self, record: R, now: Instant) -> Result<(), Error> {
        self.expire_if_idle(now);
        match &mut self.inner {
            Inner::NoCredentials => Err(Error::NoCredentials),
            Inner::Locked => Err(Error::Locked),
            Inner::Unlocked(u) => {
                u.record = record;
                u.touch(now);
                Ok(())
            }
        }
    }

    /// Records user activity at `now`, restarting the idle clock. An already idle-expired
    /// session is locked instead: activity cannot revive it. Does nothing unless unlocked.
    /// An earlier `now` than the last activity is ignored.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use credlock_session::{Session, SessionState};
    /// use zeroize::Zeroizing;
    ///
    /// let t0 = Instant::now();
    /// let min = Duration::from_secs(60);
    /// let mut s = Session::default()
    ///     .store(Zeroizing::new([1u8; 32]), Zeroizing::new(String::from("rec")), t0);
    /// s.touch(t0 + 10 * min);
    /// assert_eq!(s.state_at(t0 + 20 * min), SessionState::Unlocked);
    /// ```
    pub fn touch(&mut self, now: Instant) {
        self.expire_if_idle(now);
        if let Inner::Unlocked(u) = &mut self.inner {
            u.touch(now);
        }
    }

    /// Time left before the idle auto-lock: `None` unless unlocked with an idle timeout,
    /// zero once expired.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use credlock_session::Session;
    /// use zeroize::Zeroizing;
    ///
    /// let t0 = Instant::now();
    /// let s = Session::default()
    ///     .store(Zeroizing::new([1u8; 32]), Zeroizing::new(String::from("rec")), t0);
    /// assert_eq!(s.idle_remaining(t0 + Duration::from_secs(60)), Some(Duration::from_secs(14 * 60)));
    /// ```
    #[must_use]
    pub fn idle_remaining(&self, now: Instant) -> Option<Duration> {
        match &self.inner {
            Inner::Unlocked(u) => u.idle_remaining(self.options.idle_timeout(), now),
            Inner::NoCredentials | Inner::Locked => None,
        }
    }

    /// Whether an unlock at `now` would be accepted: call it before the (slow) key
    /// derivation, and skip the derivation on error.
    ///
    /// ```
    /// use std::time::Instant;
    /// use credlock_session::Session;
    /// use zeroize::Zeroizing;
    ///
    /// let s: Session<Zeroizing<[u8; 32]>, Zeroizing<String>> = Session::new(true);
    /// assert!(s.check_unlock_allowed(Instant::now()).is_ok());
    /// ```
    ///
    /// # Errors
    ///
    /// Exactly those of [`unlock`](Self::unlock) at the same `now`:
    /// [`Error::NoCredentials`], [`Error::AlreadyUnlocked`], or
    /// [`Error::LockedOut`] with the time left.
    pub fn check_unlock_allowed(&self, now: Instant) -> Result<(), Error> {
        match self.state_at(now) {
            SessionState::NoCredentials => Err(Error::NoCredentials),
            SessionState::Unlocked => Err(Error::AlreadyUnlocked),
            SessionState::Locked => self.lockout.check(now),
        }
    }

    /// Time left in the current lockout, whatever the state, or `None` if attempts are
    /// accepted. Useful to gate passphrase checks made while unlocked (e.g. before changing
    /// the passphrase).
    ///
    /// ```
    /// use std::time::Instant;
    /// use credlock_session::Session;
    /// use zeroize::Zeroizing;
    ///
    /// let s: Session<Zeroizing<[u8; 32]>, Zeroizing<String>> = Session::new(true);
    /// assert_eq!(s.lockout_remaining(Instant::now()), None);
    /// ```
    #[must_use]
    pub fn lockout_remaining(&self, now: Instant) -> Option<Duration> {
        self.lockout.remaining(now)
    }

    /// Counts a wrong passphrase at `now`, in any state, and starts a lockout if the policy
    /// says so (see the [crate docs](crate#lockout)). Also applies the idle timeout.
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use credlock_session::{Error, Session};
    /// use zeroize::Zeroizing;
    ///
    /// let now = Instant::now();
    /// let mut s: Session<Zeroizing<[u8; 32]>, Zeroizing<String>> = Session::new(true);
    /// for _ in 0..5 {
    ///     s.record_failed_unlock(now);
    /// }
    /// assert_eq!(s.failed_attempts(), 5);
    /// assert_eq!(
    ///     s.check_unlock_allowed(now),
    ///     Err(Error::LockedOut { retry_after: Duration::from_secs(30) })
    /// );
    /// ```
    pub fn record_failed_unlock(&mut self, now: Instant) {
        self.expire_if_idle(now);
        self.lockout.record_failure(self.options.lockout(), now);
    }

    /// Consecutive failed unlock attempts since the last successful unlock, store or logout
    /// (saturating at `u32::MAX`).
    ///
    /// ```
    /// use credlock_session::Session;
    /// use zeroize::Zeroizing;
    ///
    /// let s: Session<Zeroizing<[u8; 32]>, Zeroizing<String>> = Session::new(true);
    /// assert_eq!(s.failed_attempts(), 0);
    /// ```
    #[must_use]
    pub const fn failed_attempts(&self) -> u32 {
        self.lockout.failures()
    }

    fn unlocked(&self, now: Instant) -> Result<&Unlocked<K, R>, Error> {
        match &self.inner {
            Inner::NoCredentials => Err(Error::NoCredentials),
            Inner::Locked => Err(Error::Locked),
            Inner::Unlocked(u) if u.is_expired(self.options.idle_timeout(), now) => {
                Err(Error::Locked)
            }
            Inner::Unlocked(u) => Ok(u),
        }
    }

    /// The `&mut` form of the idle transition: assigning `Locked` drops key and record.
    fn expire_if_idle(&mut self, now: Instant) {
        if let Inner::Unlocked(u) = &self.inner
            && u.is_expired(self.options.idle_timeout(), now)
        {
            self.inner = Inner::Locked;
        }
    }
}

impl<K: ZeroizeOnDrop, R: ZeroizeOnDrop> Default for Session<K, R> {
    /// `NoCredentials` with [`SessionOptions::RECOMMENDED`].
    fn default() -> Self {
        Self::new(false)
    }
}

impl<K: ZeroizeOnDrop, R: ZeroizeOnDrop> fmt::Debug for Session<K, R> {
    /// Shows the state, the failure count and the options; never the key or the record.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Session")
            .field("state", &self.state())
            .field("failed_attempts", &self.failed_attempts())
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}
