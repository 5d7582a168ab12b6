//! [`StoreKey`]: the validated name of one store in a [`StoreSet`](crate::StoreSet).

use std::fmt;

use crate::InvalidKeyReason;

/// The name of one store among many (a user id, in the facade's registry), validated so that
/// it can name a file, a database row or a log field without escaping or surprises.
///
/// - **Length**: 1 to [`MAX_LEN`](Self::MAX_LEN) (128) bytes.
/// - **Characters**: ASCII letters, digits, `.`, `_`, `-`, `@` and `+` (so an email address
///   of that alphabet is a valid key). No `/`, `\`, space, control character, NUL or
///   non-ASCII character.
/// - **First character**: a letter or a digit, so no key is `.`, `..`, a hidden file name or
///   an option (`-x`).
/// - **Case**: keys are case-insensitive: ASCII letters are folded to lowercase, so
///   `Alice@Example.com` and `alice@example.com` are one key, on every backend (including a
///   case-insensitive file system). [`as_str`](Self::as_str) gives the folded form.
///
/// # Example
///
/// ```
/// use credlock_store::{InvalidKeyReason, StoreKey};
///
/// assert_eq!(StoreKey::new("Alice@Example.com")?.as_str(), "alice@example.com");
/// assert_eq!(StoreKey::new("../etc/passwd"), Err(InvalidKeyReason::BadCharacter));
/// assert_eq!(StoreKey::new(".hidden"), Err(InvalidKeyReason::BadStart));
/// assert_eq!(StoreKey::new("a/b"), Err(InvalidKeyReason::BadCharacter));
/// assert_eq!(StoreKey::new(""), Err(InvalidKeyReason::Empty));
/// # Ok::<(), InvalidKeyReason>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct StoreKey(String);

impl StoreKey {
    /// The longest key, in bytes.
    pub const MAX_LEN: usize = 128;

    /// Validates `key` and folds it to lowercase.
    ///
    /// # Errors
    ///
    /// The [`InvalidKeyReason`] of the first rule broken.
    ///
    /// # Example
    ///
    /// ```
    /// assert!(credlock_store::StoreKey::new("user-42").is_ok());
    /// ```
    pub fn new(key: &str) -> Result<Self, InvalidKeyReason> {
        let bytes = key.as_bytes();
        let Some(&first) = bytes.first() else {
            return Err(InvalidKeyReason::Empty);
        };
        if bytes.len() > Self::MAX_LEN {
            return Err(InvalidKeyReason::TooLong);
        }
        if !bytes.iter().all(|&b| allowed(b)) {
            return Err(InvalidKeyReason::BadCharacter);
        }
        if !first.is_ascii_alphanumeric() {
            return Err(InvalidKeyReason::BadStart);
        }
        Ok(Self(key.to_ascii_lowercase()))
    }

    /// The key, folded to lowercase.
    ///
    /// # Example
    ///
    /// ```
    /// assert_eq!(credlock_store::StoreKey::new("Bob").unwrap().as_str(), "bob");
    /// ```
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `b` may appear in a key.
fn allowed(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@' | b'+')
}

impl AsRef<StoreKey> for StoreKey {
    fn as_ref(&self) -> &StoreKey {
        self
    }
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StoreKey").field(&self.0).finish()
    }
}

impl fmt::Display for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn a_valid_key_is_a_plain_lowercase_name(s in "\\PC{0,140}|[A-Za-z0-9._@+/\\\\-]{0,140}") {
            if let Ok(k) = StoreKey::new(&s) {
                let k = k.as_str();
                prop_assert!(!k.is_empty() && k.len() <= StoreKey::MAX_LEN);
                prop_assert!(k.bytes().all(|b| allowed(b) && !b.is_ascii_uppercase()));
                prop_assert!(k != "." && k != ".." && !k.starts_with('.') && !k.starts_with('-'));
                let again = StoreKey::new(k).ok();
                prop_assert_eq!(again.as_ref().map(StoreKey::as_str), Some(k));
            }
        }
    }

    #[test]
    fn shows_the_folded_key() {
        let key = StoreKey::new("Alice@Example.com").unwrap();
        assert_eq!(key.to_string(), "alice@example.com");
        assert_eq!(format!("{key:?}"), r#"StoreKey("alice@example.com")"#);
    }

    #[test]
    fn refusals_say_which_rule() {
        for (key, words) in [
            ("", "it is empty"),
            ("a/b", "it holds a character other than"),
            ("-x", "it does not start with an ASCII letter or digit"),
        ] {
            let reason = StoreKey::new(key).unwrap_err().to_string();
            assert!(reason.starts_with(words), "{key:?}: {reason}");
        }
        let long = StoreKey::new(&"a".repeat(129)).unwrap_err();
        assert_eq!(long.to_string(), "it is longer than 128 bytes");
    }

    #[test]
    fn refusals_name_the_rule() {
        assert_eq!(
            StoreKey::new(&"a".repeat(129)),
            Err(InvalidKeyReason::TooLong)
        );
        assert!(StoreKey::new(&"a".repeat(128)).is_ok());
        for bad in ["a b", "a\nb", "a\0b", "é", "a\\b", "a/b", "a:b"] {
            assert_eq!(
                StoreKey::new(bad),
                Err(InvalidKeyReason::BadCharacter),
                "{bad:?}"
            );
        }
        for bad in [".", "..", ".hidden", "-x", "_x", "@x", "+x"] {
            assert_eq!(
                StoreKey::new(bad),
                Err(InvalidKeyReason::BadStart),
                "{bad:?}"
            );
        }
    }
}
