//! [`MemoryStore`]: a [`Store`] in process memory, for tests of upper layers.

use std::io;
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::limits::{DEFAULT_LOCK_TIMEOUT, DEFAULT_MAX_LEN, check_data_len};
use crate::{
    Error, LockoutRecord, Operation, Store, StoreInfo, StoreKind, StoreLock, Version, Versioned,
    WriteOutcome,
};

/// A [`Store`] that keeps the bytes in memory, for tests of the layers above.
///
/// Clones share the same bytes and the same lock, so a test can keep one clone to inspect or
/// tamper with what the code under test saved. It applies the same rules to data as
/// [`FileStore`](crate::FileStore) (no empty data, a size cap, an exclusive lock with a
/// timeout), and can be told to fail saves, to test error paths. Errors name the placeholder
/// path [`MemoryStore::PATH`].
///
/// # Example
///
/// ```
/// use credlock_store::{MemoryStore, Store};
///
/// # fn main() -> Result<(), credlock_store::Error> {
/// let store = MemoryStore::new();
/// let inspector = store.clone();
/// store.save(b"sealed")?;
/// assert_eq!(inspector.contents().as_deref(), Some(&b"sealed"[..]));
/// inspector.set_contents(Some(b"tampered".to_vec()));
/// assert_eq!(store.load()?.as_deref(), Some(&b"tampered"[..]));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
struct Shared {
    state: Mutex<State>,
    lock_released: Condvar,
}

#[derive(Debug)]
struct State {
    bytes: Option<Vec<u8>>,
    lockout: LockoutRecord,
    /// Bumped by every write of the bytes (the compare-and-swap version).
    version: u64,
    /// Bumped by every write of the lockout state.
    lockout_version: u64,
    locked: bool,
    fail_saves: Option<io::ErrorKind>,
    max_len: usize,
    lock_timeout: Duration,
}

impl Default for State {
    fn default() -> Self {
        Self {
            bytes: None,
            lockout: LockoutRecord::default(),
            version: 0,
            lockout_version: 0,
            locked: false,
            fail_saves: None,
            max_len: DEFAULT_MAX_LEN,
            lock_timeout: DEFAULT_LOCK_TIMEOUT,
        }
    }
}

impl MemoryStore {
    /// The placeholder path that errors from a memory store name.
    pub const PATH: &'static str = "<memory>";

    /// An empty store.
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_store::{MemoryStore, Store};
    ///
    /// assert_eq!(MemoryStore::new().load().unwrap(), None);
    /// ```
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The stored bytes, without any check.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(credlock_store::MemoryStore::new().contents(), None);
    /// ```
    #[must_use]
    pub fn contents(&self) -> Option<Vec<u8>> {
        self.state().bytes.clone()
    }

    /// Replaces the stored bytes without any check (to plant empty, oversized or tampered
    /// data).
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_store::{Error, MemoryStore, Store};
    ///
    /// let store = MemoryStore::new();
    /// store.set_contents(Some(Vec::new()));
    /// assert!(matches!(store.load(), Err(Error::Empty { .. })));
    /// ```
    pub fn set_contents(&self, bytes: Option<Vec<u8>>) {
        let mut state = self.state();
        state.bytes = bytes;
        state.version += 1;
    }

    /// Makes every following [`save`](Store::save) fail with [`Error::Io`] (or the variant
    /// matching `kind`, e.g. [`Error::StorageFull`]) and keep the old bytes; `None` ends that.
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_store::{Error, MemoryStore, Store};
    ///
    /// let store = MemoryStore::new();
    /// store.fail_saves(Some(std::io::ErrorKind::StorageFull));
    /// assert!(matches!(store.save(b"x"), Err(Error::StorageFull { .. })));
    /// store.fail_saves(None);
    /// assert!(store.save(b"x").is_ok());
    /// ```
    pub fn fail_saves(&self, kind: Option<io::ErrorKind>) {
        self.state().fail_saves = kind;
    }

    /// Sets the size cap (default [`DEFAULT_MAX_LEN`](crate::DEFAULT_MAX_LEN)) for all clones.
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_store::{Error, MemoryStore, Store};
    ///
    /// let store = MemoryStore::new();
    /// store.set_max_len(4);
    /// assert!(matches!(store.save(b"12345"), Err(Error::DataTooLarge { .. })));
    /// ```
    pub fn set_max_len(&self, max_len: usize) {
        self.state().max_len = max_len;
    }

    /// Sets how long [`lock`](Store::lock) waits (default
    /// [`DEFAULT_LOCK_TIMEOUT`](crate::DEFAULT_LOCK_TIMEOUT)) for all clones.
    ///
    /// # Example
    ///
    /// ```
    /// use std::time::Duration;
    /// use credlock_store::{Error, MemoryStore, Store};
    ///
    /// let store = MemoryStore::new();
    /// store.set_lock_timeout(Duration::ZERO);
    /// let _held = store.lock().unwrap();
    /// assert!(matches!(store.clone().lock(), Err(Error::LockTimeout { .. })));
    /// ```
    pub fn set_lock_timeout(&self, timeout: Duration) {
        self.state().lock_timeout = timeout;
    }

    /// Whether the lock is held now (by any clone).
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_store::{MemoryStore, Store};
    ///
    /// let store = MemoryStore::new();
    /// let guard = store.lock().unwrap();
    /// assert!(store.is_locked());
    /// drop(guard);
    /// assert!(!store.is_locked());
    /// ```
    #[must_use]
    pub fn is_locked(&self) -> bool {
        self.state().locked
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // No code path panics while holding the mutex; if a caller's panic poisoned it anyway,
        // the data is still consistent (every update is a single assignment).
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn path() -> &'static Path {
        Path::new(Self::PATH)
    }

    /// The stored bytes, refused as a file store would refuse them.
    fn checked(state: &State) -> Result<Option<Vec<u8>>, Error> {
        match &state.bytes {
            None => Ok(None),
            Some(bytes) if bytes.is_empty() => Err(Error::Empty {
                path: Self::path().to_path_buf(),
            }),
            Some(bytes) if bytes.len() > state.max_len => Err(Error::TooLarge {
                path: Self::path().to_path_buf(),
                len: u64::try_from(bytes.len()).unwrap_or(u64::MAX),
                max: u64::try_from(state.max_len).unwrap_or(u64::MAX),
            }),
            Some(bytes) => Ok(Some(bytes.clone())),
        }
    }

    /// The failure injected by [`fail_saves`](Self::fail_saves), if any.
    fn fail_if_asked(state: &State) -> Result<(), Error> {
        match state.fail_saves {
            Some(kind) => Err(Error::from_io(
                Self::path(),
                Operation::Write,
                io::Error::new(kind, "injected failure (MemoryStore::fail_saves)"),
            )),
            None => Ok(()),
        }
    }
}

impl Store for MemoryStore {
    fn load(&self) -> Result<Option<Vec<u8>>, Error> {
        Self::checked(&self.state())
    }

    fn save(&self, bytes: &[u8]) -> Result<(), Error> {
        let mut state = self.state();
        check_data_len(Self::path(), bytes, state.max_len)?;
        if let Some(kind) = state.fail_saves {
            return Err(Error::from_io(
                Self::path(),
                Operation::Write,
                io::Error::new(kind, "injected failure (MemoryStore::fail_saves)"),
            ));
        }
        state.bytes = Some(bytes.to_vec());
        state.version += 1;
        Ok(())
    }

    fn delete(&self) -> Result<(), Error> {
        let mut state = self.state();
        state.bytes = None;
        state.version += 1;
        state.lockout = LockoutRecord::default();
        state.lockout_version += 1;
        Ok(())
    }

    fn lock(&self) -> Result<StoreLock, Error> {
        let start = Instant::now();
        let mut state = self.state();
        let timeout = state.lock_timeout;
        while state.locked {
            let waited = start.elapsed();
            let Some(left) = timeout.checked_sub(waited).filter(|d| !d.is_zero()) else {
                return Err(Error::LockTimeout {
                    path: Self::path().to_path_buf(),
                    waited,
                });
            };
            state = self
                .shared
                .lock_released
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        state.locked = true;
        drop(state);
        Ok(StoreLock::new(
            StoreKind::Memory,
            MemoryGuard {
                shared: Arc::clone(&self.shared),
            },
        ))
    }

    fn load_lockout(&self) -> Result<LockoutRecord, Error> {
        Ok(self.state().lockout)
    }

    fn save_lockout(&self, record: &LockoutRecord) -> Result<(), Error> {
        let mut state = self.state();
        if let Some(kind) = state.fail_saves {
            return Err(Error::from_io(
                Self::path(),
                Operation::Write,
                io::Error::new(kind, "injected failure (MemoryStore::fail_saves)"),
            ));
        }
        state.lockout = *record;
        state.lockout_version += 1;
        Ok(())
    }

    fn read(&self) -> Result<Option<Versioned<Vec<u8>>>, Error> {
        let state = self.state();
        let version = Version::new(state.version);
        Ok(Self::checked(&state)?.map(|b| Versioned::new(b, version)))
    }

    fn create(&self, bytes: &[u8]) -> Result<WriteOutcome, Error> {
        let mut state = self.state();
        check_data_len(Self::path(), bytes, state.max_len)?;
        if state.bytes.is_some() {
            return Ok(WriteOutcome::Conflict);
        }
        Self::fail_if_asked(&state)?;
        state.bytes = Some(bytes.to_vec());
        state.version += 1;
        Ok(WriteOutcome::Written(Version::new(state.version)))
    }

    fn replace_if(&self, expected: Version, bytes: &[u8]) -> Result<WriteOutcome, Error> {
        let mut state = self.state();
        check_data_len(Self::path(), bytes, state.max_len)?;
        if state.bytes.is_none() || state.version != expected.get() {
            return Ok(WriteOutcome::Conflict);
        }
        Self::fail_if_asked(&state)?;
        state.bytes = Some(bytes.to_vec());
        state.version += 1;
        Ok(WriteOutcome::Written(Version::new(state.version)))
    }

    fn read_lockout(&self) -> Result<Versioned<LockoutRecord>, Error> {
        let state = self.state();
        Ok(Versioned::new(
            state.lockout,
            Version::new(state.lockout_version),
        ))
    }

    fn replace_lockout_if(
        &self,
        expected: Version,
        record: &LockoutRecord,
    ) -> Result<WriteOutcome, Error> {
        let mut state = self.state();
        if state.lockout_version != expected.get() {
            return Ok(WriteOutcome::Conflict);
        }
        Self::fail_if_asked(&state)?;
        state.lockout = *record;
        state.lockout_version += 1;
        Ok(WriteOutcome::Written(Version::new(state.lockout_version)))
    }

    fn reset_lockout(&self) -> Result<(), Error> {
        self.save_lockout(&LockoutRecord::default())
    }

    fn describe(&self) -> StoreInfo {
        let present = self.state().bytes.is_some();
        StoreInfo::new(StoreKind::Memory, None, None, present)
    }
}

/// Releases the memory lock when dropped.
#[derive(Debug)]
struct MemoryGuard {
    shared: Arc<Shared>,
}

impl Drop for MemoryGuard {
    fn drop(&mut self) {
        self.shared
            .state
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .locked = false;
        self.shared.lock_released.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    #[test]
    fn every_change_behind_a_reader_makes_its_write_conflict() {
        let store = MemoryStore::new();
        store.save(b"a").unwrap();
        // Bytes planted by the test seam count as a write by someone else.
        let seen = store.read().unwrap().unwrap();
        store.set_contents(Some(b"planted".to_vec()));
        assert_eq!(
            store.replace_if(seen.version, b"b").unwrap(),
            WriteOutcome::Conflict
        );
        assert_eq!(store.contents().unwrap(), b"planted");

        // A lockout saved or cleared by a delete behind a reader's back.
        let record = LockoutRecord::new(3, None);
        let seen = store.read_lockout().unwrap();
        store.save_lockout(&record).unwrap();
        assert_eq!(
            store
                .replace_lockout_if(seen.version, &LockoutRecord::new(9, None))
                .unwrap(),
            WriteOutcome::Conflict
        );
        let seen = store.read_lockout().unwrap();
        assert_eq!(seen.value, record);
        store.delete().unwrap();
        assert_eq!(
            store.replace_lockout_if(seen.version, &record).unwrap(),
            WriteOutcome::Conflict
        );
        assert_eq!(store.load_lockout().unwrap(), LockoutRecord::default());
    }

    #[test]
    fn injected_failures_reach_every_write() {
        let store = MemoryStore::new();
        store.fail_saves(Some(io::ErrorKind::StorageFull));
        assert!(matches!(store.create(b"x"), Err(Error::StorageFull { .. })));
        assert_eq!(store.contents(), None);
        store.fail_saves(None);
        let WriteOutcome::Written(v) = store.create(b"x").unwrap() else {
            panic!("create conflicted on an empty store");
        };
        store.fail_saves(Some(io::ErrorKind::Other));
        assert!(matches!(store.replace_if(v, b"y"), Err(Error::Io { .. })));
        let lockout = store.read_lockout().unwrap();
        assert!(matches!(
            store.replace_lockout_if(lockout.version, &LockoutRecord::new(1, None)),
            Err(Error::Io { .. })
        ));
        assert_eq!(store.contents().unwrap(), b"x");
        assert_eq!(store.load_lockout().unwrap(), LockoutRecord::default());
    }

    #[test]
    fn the_size_cap_admits_exactly_max_len() {
        let store = MemoryStore::new();
        store.set_max_len(4);
        store.set_contents(Some(b"1234".to_vec()));
        assert_eq!(store.load().unwrap().unwrap(), b"1234");
        store.set_contents(Some(b"12345".to_vec()));
        assert!(matches!(store.load(), Err(Error::TooLarge { .. })));
    }

    #[test]
    fn a_held_lock_is_waited_for_until_the_timeout_set() {
        let store = MemoryStore::new();
        let timeout = Duration::from_millis(20);
        store.set_lock_timeout(timeout);
        let _held = store.lock().unwrap();
        // The waiter waits the whole timeout (not zero, not the 10 s default) and says so.
        match store.clone().lock() {
            Err(Error::LockTimeout { waited, .. }) => {
                assert!(waited >= timeout, "gave up after {waited:?}");
                assert!(waited < DEFAULT_LOCK_TIMEOUT / 2, "waited {waited:?}");
            }
            other => panic!("expected a lock timeout, got {other:?}"),
        }
    }

    #[test]
    fn lock_excludes_other_threads_and_loses_no_update() {
        let store = MemoryStore::new();
        store.save(b"0").unwrap();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let store = store.clone();
                thread::spawn(move || {
                    for _ in 0..200 {
                        let _guard = store.lock().unwrap();
                        let n: u32 = String::from_utf8(store.load().unwrap().unwrap())
                            .unwrap()
                            .parse()
                            .unwrap();
                        store.save((n + 1).to_string().as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(store.load().unwrap().unwrap(), b"800");
    }

    #[test]
    fn oversized_contents_are_refused_on_load() {
        let store = MemoryStore::new();
        store.set_max_len(3);
        store.set_contents(Some(b"1234".to_vec()));
        assert!(matches!(
            store.load(),
            Err(Error::TooLarge { len: 4, max: 3, .. })
        ));
    }

    #[test]
    fn failed_save_keeps_old_bytes_and_delete_is_idempotent() {
        let store = MemoryStore::new();
        store.save(b"old").unwrap();
        store.fail_saves(Some(io::ErrorKind::Other));
        let err = store.save(b"new").unwrap_err();
        assert!(
            matches!(
                err,
                Error::Io {
                    op: Operation::Write,
                    ..
                }
            ),
            "{err}"
        );
        assert_eq!(store.contents().unwrap(), b"old");
        store.delete().unwrap();
        store.delete().unwrap();
        assert_eq!(store.load().unwrap(), None);
        assert!(!store.describe().present);
    }
}
