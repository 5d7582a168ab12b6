//! The validated passphrase newtype.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

/// A passphrase that a [`Policy`](crate::Policy) accepted.
///
/// Parse, don't validate: the only ways to get one are [`Policy::check`],
/// [`Policy::check_with_context`] and the deliberately named
/// [`ValidPassphrase::insecure_unchecked`]. APIs that create a vault or change its
/// passphrase take this type, so an unchecked passphrase cannot reach them by
/// accident.
///
/// The passphrase stays in a [`SecretString`], zeroized on drop. `Debug` is redacted;
/// there is no `Display`, `Clone` or `Serialize`. Read it with
/// [`ExposeSecret::expose_secret`].
///
/// [`Policy::check`]: crate::Policy::check
/// [`Policy::check_with_context`]: crate::Policy::check_with_context
///
/// # Example
///
/// ```
/// # mod credlock { pub use credlock_policy::*; }
/// use credlock::Policy;
/// use secrecy::{ExposeSecret, SecretString};
///
/// let valid = Policy::default().check(SecretString::from("Correct-Horse-9-Battery!"))?;
/// assert_eq!(valid.expose_secret(), "Correct-Horse-9-Battery!");
/// assert_eq!(format!("{valid:?}"), "ValidPassphrase([REDACTED])");
/// # Ok::<(), credlock::PolicyViolations>(())
/// ```
pub struct ValidPassphrase(SecretString);

impl ValidPassphrase {
    /// Crate-internal constructor, called only after a policy accepted `secret`.
    pub(crate) const fn accepted(secret: SecretString) -> Self {
        Self(secret)
    }

    /// Wraps `passphrase` **without checking it against any policy**.
    ///
    /// # Security
    ///
    /// This bypasses every rule of this crate. It exists for two cases only:
    ///
    /// * importing an existing vault (for example an Eclosion vault) whose passphrase
    ///   was accepted by another system long ago, which the user must still be able
    ///   to type;
    /// * tests that need a passphrase quickly.
    ///
    /// For a passphrase that a user chooses now, use [`Policy::check`](crate::Policy::check).
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::ValidPassphrase;
    /// use secrecy::{ExposeSecret, SecretString};
    ///
    /// // An old vault's passphrase that today's policy would refuse.
    /// let legacy = ValidPassphrase::insecure_unchecked(SecretString::from("hunter2"));
    /// assert_eq!(legacy.expose_secret(), "hunter2");
    /// ```
    #[must_use]
    pub const fn insecure_unchecked(passphrase: SecretString) -> Self {
        Self(passphrase)
    }

    /// Consumes the wrapper, returning the inner [`SecretString`].
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::Policy;
    /// use secrecy::{ExposeSecret, SecretString};
    ///
    /// let valid = Policy::default().check(SecretString::from("Correct-Horse-9-Battery!"))?;
    /// let secret: SecretString = valid.into_secret();
    /// assert_eq!(secret.expose_secret(), "Correct-Horse-9-Battery!");
    /// # Ok::<(), credlock::PolicyViolations>(())
    /// ```
    #[must_use]
    pub fn into_secret(self) -> SecretString {
        self.0
    }
}

impl ExposeSecret<str> for ValidPassphrase {
    fn expose_secret(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for ValidPassphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ValidPassphrase([REDACTED])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_is_redacted() {
        let v = ValidPassphrase::insecure_unchecked(SecretString::from("s3cr3t-value"));
        let dbg = format!("{v:?} {v:#?}");
        assert!(!dbg.contains("s3cr3t"));
        assert!(dbg.contains("REDACTED"));
    }
}
