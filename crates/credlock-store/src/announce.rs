//! Announcements: what one holder of a key's store tells every other holder (other
//! processes, other replicas) that happened to the key, so that they stop serving what it
//! ended: [`StoreEvent`], [`Store::announce`](crate::Store::announce),
//! [`StoreSet::watch`](crate::StoreSet::watch), [`Notice`] and [`Watch`].
//!
//! The store keeps what is durable (the sealed record, the lockout state), and every holder
//! sees it at its next read. What a holder keeps in memory (an unlocked key, the client
//! sessions it minted) no read reaches: a lock on one replica leaves the key in memory on
//! another until something tells it. Announcements are that something. A backend that
//! several processes share ([`PostgresStoreSet`] in `credlock-store-postgres`) carries
//! them; the default, for stores that one process uses, carries nothing.
//!
//! [`PostgresStoreSet`]: https://docs.rs/credlock-store-postgres

use std::any::Any;
use std::fmt;

use crate::StoreKey;

/// Something that happened to a key's vault that every other holder of the key must act on.
///
/// ```
/// use credlock_store::StoreEvent;
///
/// assert_eq!(StoreEvent::Locked.as_str(), "locked");
/// assert_eq!(StoreEvent::parse("passphrase_changed"), Some(StoreEvent::PassphraseChanged));
/// assert_eq!(StoreEvent::parse("made-up"), None);
/// for event in StoreEvent::ALL {
///     assert_eq!(StoreEvent::parse(event.as_str()), Some(*event));
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StoreEvent {
    /// The vault was locked on request: every holder drops the key and its sessions.
    Locked,
    /// The user logged out: the record is gone, and with it every key and session.
    LoggedOut,
    /// The record was deleted without a passphrase (a reset, a user removed).
    Reset,
    /// The passphrase changed: a key held elsewhere belongs to the old one.
    PassphraseChanged,
    /// The record was replaced by new credentials under a new passphrase.
    Replaced,
    /// A record was created for a key that had none.
    Created,
    /// Every client session was revoked ("sign out everywhere"); keys stay.
    SessionsRevoked,
    /// The credentials were updated under the same passphrase (same key, new record): a
    /// holder of the key re-reads the record with it.
    CredentialsUpdated,
}

impl StoreEvent {
    /// Every event, in declaration order.
    pub const ALL: &'static [Self] = &[
        Self::Locked,
        Self::LoggedOut,
        Self::Reset,
        Self::PassphraseChanged,
        Self::Replaced,
        Self::Created,
        Self::SessionsRevoked,
        Self::CredentialsUpdated,
    ];

    /// A short lowercase name, stable across versions (what a backend sends).
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Locked => "locked",
            Self::LoggedOut => "logged_out",
            Self::Reset => "reset",
            Self::PassphraseChanged => "passphrase_changed",
            Self::Replaced => "replaced",
            Self::Created => "created",
            Self::SessionsRevoked => "sessions_revoked",
            Self::CredentialsUpdated => "credentials_updated",
        }
    }

    /// The event named `name` by [`as_str`](Self::as_str); `None` for a name this version
    /// does not know (one a newer version sent).
    #[must_use]
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|e| e.as_str() == name)
    }
}

impl fmt::Display for StoreEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a watcher hears: given to the listener of [`StoreSet::watch`](crate::StoreSet::watch).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Notice {
    /// Another holder announced `event` for `key`.
    Announced {
        /// The key the event happened to.
        key: StoreKey,
        /// What happened.
        event: StoreEvent,
    },
    /// Another holder announced, for `key`, an event this version does not know (a newer
    /// version sent it). A listener that cannot tell what it means treats it as the
    /// strongest: it drops what it holds for the key (an unlocked key, client sessions).
    Unrecognised {
        /// The key the event happened to.
        key: StoreKey,
    },
    /// Announcements may have been lost, for any key: the watcher was cut off for longer
    /// than the backend keeps what it missed. A listener treats every key as if it had been
    /// locked elsewhere.
    Missed,
}

/// The listener a [`StoreSet::watch`](crate::StoreSet::watch) calls, on a thread of the
/// backend's, once per notice, in the order the backend received them. It should return
/// quickly: the next notice waits for it.
pub type Listener = Box<dyn Fn(Notice) + Send + Sync>;

/// A running watch, from [`StoreSet::watch`](crate::StoreSet::watch): the listener is called
/// until this is dropped.
#[must_use = "the watch stops as soon as it is dropped"]
pub struct Watch {
    _inner: Box<dyn Any + Send + Sync>,
}

impl Watch {
    /// Wraps an implementation's handle, which must stop calling the listener when dropped.
    ///
    /// ```
    /// let watch = credlock_store::Watch::new(());
    /// assert_eq!(format!("{watch:?}"), "Watch { .. }");
    /// ```
    pub fn new<H: Send + Sync + 'static>(handle: H) -> Self {
        Self {
            _inner: Box::new(handle),
        }
    }
}

impl fmt::Debug for Watch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Watch").finish_non_exhaustive()
    }
}
