//! Versions for optimistic concurrency: [`Version`], [`Versioned`] and [`WriteOutcome`].

/// The version of a stored record or lockout state, for compare-and-swap writes
/// ([`Store::replace_if`](crate::Store::replace_if),
/// [`Store::replace_lockout_if`](crate::Store::replace_lockout_if)).
///
/// Opaque to callers: compare it, hand it back, never compute with it. A database backend
/// keeps a counter column bumped by every write; the file store uses a digest of the stored
/// bytes, which is as good for compare-and-swap here because a writer computes its new value
/// from the content it read: a change back to the very same bytes (the only thing a digest
/// cannot see) leaves the writer's input as it was.
///
/// # Example
///
/// ```
/// use credlock_store::Version;
///
/// assert_eq!(Version::new(7).get(), 7);
/// assert_ne!(Version::of_bytes(b"a"), Version::of_bytes(b"b"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Version(u64);

impl Version {
    /// A version from a backend's counter.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(credlock_store::Version::new(1), credlock_store::Version::new(1));
    /// ```
    #[must_use]
    pub const fn new(value: u64) -> Self {
        Self(value)
    }

    /// The version of some content, for backends without a counter: a 64-bit FNV-1a digest
    /// of the bytes (stable across processes, platforms and releases).
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_store::Version;
    /// assert_eq!(Version::of_bytes(b""), Version::new(0xcbf2_9ce4_8422_2325));
    /// // The FNV-1a test vectors.
    /// assert_eq!(Version::of_bytes(b"a"), Version::new(0xaf63_dc4c_8601_ec8c));
    /// assert_eq!(Version::of_bytes(b"foobar"), Version::new(0x8594_4171_f739_67e8));
    /// ```
    #[must_use]
    pub fn of_bytes(bytes: &[u8]) -> Self {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        Self(h)
    }

    /// The number behind the version (to store it in a database column).
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(credlock_store::Version::new(3).get(), 3);
    /// ```
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }
}

/// A value read from a store with the version it had.
///
/// # Example
///
/// ```
/// use credlock_store::{MemoryStore, Store};
///
/// # fn main() -> Result<(), credlock_store::Error> {
/// let store = MemoryStore::new();
/// store.create(b"v1")?;
/// let read = store.read()?.expect("stored");
/// assert_eq!(read.value, b"v1");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Versioned<T> {
    /// The value.
    pub value: T,
    /// Its version.
    pub version: Version,
}

impl<T> Versioned<T> {
    /// Pairs a value with its version.
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_store::{Version, Versioned};
    /// let v = Versioned::new(5_u8, Version::new(1));
    /// assert_eq!(v.value, 5);
    /// ```
    #[must_use]
    pub const fn new(value: T, version: Version) -> Self {
        Self { value, version }
    }
}

/// The outcome of a conditional write ([`Store::create`](crate::Store::create),
/// [`Store::replace_if`](crate::Store::replace_if),
/// [`Store::replace_lockout_if`](crate::Store::replace_lockout_if)).
///
/// A conflict is not an error: the caller reads again and decides (retry, or report that the
/// value changed elsewhere). Nothing was written.
///
/// # Example
///
/// ```
/// use credlock_store::{MemoryStore, Store, WriteOutcome};
///
/// # fn main() -> Result<(), credlock_store::Error> {
/// let store = MemoryStore::new();
/// assert!(matches!(store.create(b"a")?, WriteOutcome::Written(_)));
/// assert_eq!(store.create(b"b")?, WriteOutcome::Conflict);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a conflict means nothing was written"]
#[non_exhaustive]
pub enum WriteOutcome {
    /// The value was written; this is its new version.
    Written(Version),
    /// The stored value was not the expected one (or, for a create, something was stored):
    /// nothing was written.
    Conflict,
}

impl WriteOutcome {
    /// The new version, if the write happened.
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_store::{Version, WriteOutcome};
    /// assert_eq!(WriteOutcome::Conflict.written(), None);
    /// assert_eq!(WriteOutcome::Written(Version::new(2)).written(), Some(Version::new(2)));
    /// ```
    #[must_use]
    pub const fn written(self) -> Option<Version> {
        match self {
            Self::Written(v) => Some(v),
            Self::Conflict => None,
        }
    }
}
