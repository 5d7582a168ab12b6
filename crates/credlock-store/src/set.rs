//! [`StoreSet`]: many stores, one per [`StoreKey`], behind one contract; [`MemoryStoreSet`].

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};

use crate::{
    Error, Listener, LockoutRecord, MemoryStore, Store, StoreInfo, StoreKey, StoreKind, Watch,
};

/// Many [`Store`]s, one per [`StoreKey`] (one per user, in the facade's registry): a
/// directory of files, a database table.
///
/// Handing out a store does no per-key work beyond what the backend needs to address it
/// (nothing is created until something is written), so a set of 10,000 keys costs nothing
/// per key until a key is used. Stores of one key handed out twice (in one process or in
/// several) share the same record and lockout state.
///
/// # Example
///
/// ```
/// use credlock_store::{MemoryStoreSet, Store, StoreKey, StoreSet};
///
/// # fn main() -> Result<(), credlock_store::Error> {
/// let set = MemoryStoreSet::new();
/// let alice = StoreKey::new("alice").expect("valid key");
/// set.store(&alice)?.save(b"sealed")?;
/// assert_eq!(set.store(&alice)?.load()?.as_deref(), Some(&b"sealed"[..]));
/// assert_eq!(set.keys()?, vec![alice]);
/// # Ok(())
/// # }
/// ```
pub trait StoreSet: fmt::Debug + Send + Sync {
    /// The store of `key`.
    ///
    /// # Errors
    ///
    /// Backend errors (for a file set, [`Error::InvalidPath`] and directory errors).
    fn store(&self, key: &StoreKey) -> Result<Box<dyn Store>, Error>;

    /// Every key with a stored record, in ascending order.
    ///
    /// # Errors
    ///
    /// Backend errors (listing the directory, querying the database).
    fn keys(&self) -> Result<Vec<StoreKey>, Error>;

    /// Every key whose lockout state is not the default one (it has failures or a lockout),
    /// with that state, in ascending order of key. A state that cannot be parsed is an error
    /// naming it, not skipped.
    ///
    /// # Errors
    ///
    /// Backend errors, [`Error::LockoutCorrupt`].
    fn lockouts(&self) -> Result<Vec<(StoreKey, LockoutRecord)>, Error>;

    /// Non-secret facts about the set (its directory or database), for a status report.
    fn describe(&self) -> StoreInfo;

    /// Hears what the other holders of this set's keys [announce](Store::announce): calls
    /// `listener` with each [`Notice`](crate::Notice), on a thread of the backend's, until
    /// the returned [`Watch`] is dropped. `Ok(None)` if this set carries no announcements
    /// (the default: a set that one process uses).
    ///
    /// A backend that carries them documents how soon a notice arrives, and what it does
    /// when it was cut off: it hands over what it missed, or says
    /// [`Notice::Missed`](crate::Notice::Missed) when it cannot.
    ///
    /// ```
    /// use credlock_store::{MemoryStoreSet, StoreSet};
    ///
    /// # fn main() -> Result<(), credlock_store::Error> {
    /// let watch = MemoryStoreSet::new().watch(Box::new(|_notice| {}))?;
    /// assert!(watch.is_none()); // one process: nothing to hear
    /// # Ok(())
    /// # }
    /// ```
    ///
    /// # Errors
    ///
    /// The backend's, if it could not start watching.
    fn watch(&self, listener: Listener) -> Result<Option<Watch>, Error> {
        let _ = listener;
        Ok(None)
    }
}

/// A [`StoreSet`] of [`MemoryStore`]s, for tests of upper layers.
///
/// Clones share the same stores.
///
/// # Example
///
/// ```
/// use credlock_store::{MemoryStoreSet, StoreKey, StoreSet};
///
/// let set = MemoryStoreSet::new();
/// assert!(set.keys().unwrap().is_empty());
/// assert!(!set.describe().present);
/// let _bob = set.memory_store(&StoreKey::new("bob")?);
/// assert!(set.describe().present);
/// # Ok::<(), credlock_store::InvalidKeyReason>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryStoreSet {
    stores: std::sync::Arc<Mutex<BTreeMap<StoreKey, MemoryStore>>>,
}

impl MemoryStoreSet {
    /// An empty set.
    ///
    /// # Example
    ///
    /// ```
    /// let set = credlock_store::MemoryStoreSet::new();
    /// # let _ = set;
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The memory store of `key` (created empty on first use), to inspect or tamper with.
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_store::{MemoryStoreSet, StoreKey};
    ///
    /// let set = MemoryStoreSet::new();
    /// let key = StoreKey::new("bob").unwrap();
    /// assert_eq!(set.memory_store(&key).contents(), None);
    /// ```
    #[must_use]
    pub fn memory_store(&self, key: &StoreKey) -> MemoryStore {
        self.stores
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(key.clone())
            .or_default()
            .clone()
    }

    fn snapshot(&self) -> Vec<(StoreKey, MemoryStore)> {
        self.stores
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|(k, s)| (k.clone(), s.clone()))
            .collect()
    }
}

impl StoreSet for MemoryStoreSet {
    fn store(&self, key: &StoreKey) -> Result<Box<dyn Store>, Error> {
        Ok(Box::new(self.memory_store(key)))
    }

    fn keys(&self) -> Result<Vec<StoreKey>, Error> {
        Ok(self
            .snapshot()
            .into_iter()
            .filter(|(_, s)| s.contents().is_some())
            .map(|(k, _)| k)
            .collect())
    }

    fn lockouts(&self) -> Result<Vec<(StoreKey, LockoutRecord)>, Error> {
        let mut out = Vec::new();
        for (key, store) in self.snapshot() {
            let record = store.load_lockout()?;
            if record != LockoutRecord::default() {
                out.push((key, record));
            }
        }
        Ok(out)
    }

    fn describe(&self) -> StoreInfo {
        let present = !self.snapshot().is_empty();
        StoreInfo::new(StoreKind::Memory, None, None, present)
    }
}
