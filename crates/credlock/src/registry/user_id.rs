//! [`UserId`]: a validated user id, safe to use as a file name or a row key.

use std::fmt;

use credlock_store::{InvalidKeyReason, StoreKey};

/// A user's id in a [`Registry`](crate::Registry), validated so that no id can escape its
/// place (name another user's file, a file outside the registry's directory, or a hidden
/// file).
///
/// - **Length**: 1 to 128 bytes.
/// - **Characters**: ASCII letters, digits, `.`, `_`, `-`, `@` and `+`, so most email
///   addresses and numeric or UUID ids are valid as they are. No `/`, `\`, space, control
///   character or non-ASCII character: map such ids to one of these (a database id, a hash)
///   before calling.
/// - **First character**: a letter or a digit (so never `.`, `..` or a hidden name).
/// - **Case**: ids are case-insensitive: ASCII letters are folded to lowercase, so
///   `Alice@Example.com` and `alice@example.com` are the same user on every backend
///   (including case-insensitive file systems). [`as_str`](Self::as_str) gives the folded
///   form, which is what [`Registry::users`](crate::Registry::users) lists.
///
/// ```
/// use credlock::UserId;
///
/// assert_eq!(UserId::new("Alice@Example.com")?.as_str(), "alice@example.com");
/// assert!(UserId::new("../bob").is_err());
/// assert!(UserId::new("bob/../../etc").is_err());
/// assert!(UserId::new("").is_err());
/// # Ok::<(), credlock::InvalidUserId>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(StoreKey);

impl UserId {
    /// Validates `id` and folds it to lowercase.
    ///
    /// # Errors
    ///
    /// [`InvalidUserId`], saying which rule `id` breaks (never repeating the id).
    pub fn new(id: &str) -> Result<Self, InvalidUserId> {
        StoreKey::new(id).map(Self).map_err(InvalidUserId)
    }

    /// The id, folded to lowercase.
    #[must_use]
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    pub(crate) fn key(&self) -> &StoreKey {
        &self.0
    }

    pub(crate) fn from_key(key: StoreKey) -> Self {
        Self(key)
    }
}

/// A user's key in the store set (what a per-user store, such as a PostgreSQL session store,
/// is opened for).
impl AsRef<StoreKey> for UserId {
    fn as_ref(&self) -> &StoreKey {
        &self.0
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("UserId").field(&self.as_str()).finish()
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A user id that [`UserId::new`] refused; the message names the rule broken.
///
/// ```
/// let err = credlock::UserId::new("a b").unwrap_err();
/// assert_eq!(err.code(), "bad_character");
/// assert!(err.to_string().contains("ASCII letters"));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvalidUserId(InvalidKeyReason);

impl InvalidUserId {
    /// A stable code: `empty`, `too_long`, `bad_character` or `bad_start`.
    #[must_use]
    pub fn code(&self) -> &'static str {
        match self.0 {
            InvalidKeyReason::Empty => "empty",
            InvalidKeyReason::TooLong => "too_long",
            InvalidKeyReason::BadStart => "bad_start",
            _ => "bad_character",
        }
    }
}

impl fmt::Display for InvalidUserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid user id: {}", self.0)
    }
}

impl std::error::Error for InvalidUserId {}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_user_id_shows_as_itself() {
        let id = UserId::new("alice@example.com").unwrap();
        assert_eq!(id.to_string(), "alice@example.com");
        assert_eq!(format!("{id:?}"), r#"UserId("alice@example.com")"#);
    }

    #[test]
    fn every_refusal_has_its_code() {
        for (id, code) in [
            (String::new(), "empty"),
            ("a".repeat(1_000), "too_long"),
            (String::from(".hidden"), "bad_start"),
            (String::from("a/b"), "bad_character"),
        ] {
            assert_eq!(UserId::new(&id).unwrap_err().code(), code, "{id:?}");
        }
    }
}
