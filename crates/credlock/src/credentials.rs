//! The credentials a vault keeps, and the opaque extras an import carried along.
//!
//! Extras are values that belong to the user's data in the application a vault was imported
//! from (Eclosion's notes key and the timestamps of its credentials row), kept inside the one
//! token so that a later export restores them. credlock never interprets them: each is a
//! name (not secret) and a text value (treated as secret: zeroized on drop, never shown by
//! `Debug`).

use core::fmt;
use std::collections::BTreeMap;

use credlock_totp::TotpSecret;
use secrecy::{ExposeSecret as _, SecretString};
use zeroize::{Zeroize as _, ZeroizeOnDrop, Zeroizing};

use crate::error::Error;

/// A user's third-party credentials: an account email, a password and an optional TOTP/MFA
/// secret.
///
/// The password and the MFA secret are [`SecretString`]s, zeroized on drop; the email is
/// zeroized on drop too. `Debug` shows the email but never the secrets.
///
/// ```
/// use credlock::Credentials;
/// use credlock::secrecy::{ExposeSecret, SecretString};
///
/// let creds = Credentials::new("alice@example.com", SecretString::from("monarch-pw-123"))
///     .with_mfa_secret(SecretString::from("JBSWY3DPEHPK3PXP"));
/// assert_eq!(creds.password().expose_secret(), "monarch-pw-123");
/// assert!(!format!("{creds:?}").contains("monarch-pw-123"));
/// ```
pub struct Credentials {
    email: String,
    password: SecretString,
    mfa_secret: Option<SecretString>,
    /// Opaque values carried from an import (see the module docs); empty otherwise.
    extras: Extras,
}

impl Credentials {
    /// Credentials without an MFA secret.
    #[must_use]
    pub fn new(email: impl Into<String>, password: SecretString) -> Self {
        Self {
            email: email.into(),
            password,
            mfa_secret: None,
            extras: Extras::default(),
        }
    }

    /// The same credentials with a TOTP/MFA secret.
    #[must_use]
    pub fn with_mfa_secret(mut self, mfa_secret: SecretString) -> Self {
        self.mfa_secret = Some(mfa_secret);
        self
    }

    /// The account email.
    #[must_use]
    pub fn email(&self) -> &str {
        &self.email
    }

    /// The account password.
    #[must_use]
    pub fn password(&self) -> &SecretString {
        &self.password
    }

    /// The TOTP/MFA secret, if one is stored.
    #[must_use]
    pub fn mfa_secret(&self) -> Option<&SecretString> {
        self.mfa_secret.as_ref()
    }

    /// Checks what can be checked before the credentials are stored: an MFA secret must be
    /// a usable TOTP secret ([`TotpSecret::parse`](credlock_totp::TotpSecret::parse)): base32
    /// or an `otpauth://totp/` URI. A short key is usable (it gives the service's codes);
    /// [`TotpSecret::is_below_rfc4226_minimum`](credlock_totp::TotpSecret::is_below_rfc4226_minimum)
    /// tells an application to warn about it.
    ///
    /// [`Vault::store`](crate::Vault::store) and [`Vault::replace`](crate::Vault::replace)
    /// apply this check to what a user typed; an import keeps the MFA secret the other
    /// application stored even when it fails it (see
    /// [`Vault::import_foreign`](crate::Vault::import_foreign)).
    ///
    /// ```
    /// use credlock::Credentials;
    /// use credlock::secrecy::SecretString;
    ///
    /// let ok = Credentials::new("a@example.com", SecretString::from("pw"))
    ///     .with_mfa_secret(SecretString::from("jbsw y3dp ehpk 3pxp"));
    /// assert!(ok.validate().is_ok());
    /// let short = Credentials::new("a@example.com", SecretString::from("pw"))
    ///     .with_mfa_secret(SecretString::from("JBSWY3DP"));
    /// assert!(short.validate().is_ok());
    /// let bad = Credentials::new("a@example.com", SecretString::from("pw"))
    ///     .with_mfa_secret(SecretString::from("not a secret!"));
    /// assert!(bad.validate().is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidMfaSecret`](crate::Error::InvalidMfaSecret) naming what is wrong.
    pub fn validate(&self) -> Result<(), Error> {
        self.totp_secret().map(|_| ())
    }

    /// [`Credentials::validate`], unless the MFA secret is the one `current` (the stored
    /// credentials these replace) holds: a secret kept from an import is not typed anew.
    pub(crate) fn validate_unless_kept_from(&self, current: Option<&Self>) -> Result<(), Error> {
        let kept = current
            .and_then(Self::mfa_secret)
            .map(|s| s.expose_secret());
        if kept.is_some() && self.mfa_secret().map(|s| s.expose_secret()) == kept {
            return Ok(());
        }
        self.validate()
    }

    /// The MFA secret parsed as a TOTP secret, if there is one.
    pub(crate) fn totp_secret(&self) -> Result<Option<TotpSecret>, Error> {
        self.mfa_secret
            .as_ref()
            .map(|s| TotpSecret::parse(s.expose_secret()))
            .transpose()
            .map_err(Error::from)
    }

    /// A copy with its own secret buffers (each zeroized on drop).
    #[must_use]
    pub fn duplicate(&self) -> Self {
        Self {
            email: self.email.clone(),
            password: copy_secret(&self.password),
            mfa_secret: self.mfa_secret.as_ref().map(copy_secret),
            extras: self.extras.duplicate(),
        }
    }

    /// The same credentials carrying the opaque value `value` under `name` (see the module
    /// docs): what an importer keeps of the application it migrates from (Eclosion's notes
    /// key, say), sealed with the credentials and restored by its export. The value is
    /// treated as a secret (zeroized on drop, never shown by `Debug`); the name is not.
    ///
    /// ```
    /// use credlock::Credentials;
    /// use credlock::secrecy::SecretString;
    ///
    /// let creds = Credentials::new("a@example.com", SecretString::from("pw"))
    ///     .with_extra("eclosion.notes_key", "notes-key-bits");
    /// assert_eq!(creds.extra("eclosion.notes_key"), Some("notes-key-bits"));
    /// assert_eq!(creds.extra("other"), None);
    /// assert!(!format!("{creds:?}").contains("notes-key-bits"));
    /// ```
    #[must_use]
    pub fn with_extra(mut self, name: &str, value: &str) -> Self {
        self.extras.insert(name, value);
        self
    }

    /// The opaque value kept under `name`, if any (see [`Credentials::with_extra`]).
    #[must_use]
    pub fn extra(&self, name: &str) -> Option<&str> {
        self.extras.get(name)
    }

    pub(crate) fn extras(&self) -> &Extras {
        &self.extras
    }

    pub(crate) fn with_extras(mut self, extras: Extras) -> Self {
        self.extras = extras;
        self
    }

    /// These credentials with the extras of `current` (the record they replace), when they
    /// bring none of their own: an app that updates the password does not drop what an
    /// import carried along.
    pub(crate) fn keeping_extras_of(self, current: Option<&Self>) -> Self {
        match current {
            Some(current) if self.extras.is_empty() && !current.extras.is_empty() => {
                let extras = current.extras.duplicate();
                self.with_extras(extras)
            }
            _ => self,
        }
    }
}

fn copy_secret(s: &SecretString) -> SecretString {
    SecretString::from(s.expose_secret().to_owned())
}

impl Drop for Credentials {
    fn drop(&mut self) {
        // The secrets zeroize themselves; the email is personal data, so it goes too.
        self.email.zeroize();
    }
}

impl ZeroizeOnDrop for Credentials {}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("email", &self.email)
            .field("password", &"[REDACTED]")
            .field(
                "mfa_secret",
                &self.mfa_secret.as_ref().map(|_| "[REDACTED]"),
            )
            .finish()
    }
}

/// Compares the email, the password and the MFA secret; values carried along from an
/// Eclosion import (its notes key, its timestamps) are not part of the comparison.
impl PartialEq for Credentials {
    fn eq(&self, other: &Self) -> bool {
        self.email == other.email
            && self.password.expose_secret() == other.password.expose_secret()
            && self.mfa_secret.as_ref().map(|s| s.expose_secret())
                == other.mfa_secret.as_ref().map(|s| s.expose_secret())
    }
}

/// Named opaque values, in name order (so the sealed record stays canonical).
#[derive(Default, PartialEq, Eq)]
pub(crate) struct Extras(pub(crate) BTreeMap<String, Zeroizing<String>>);

impl Extras {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(|v| v.as_str())
    }

    pub(crate) fn insert(&mut self, name: &str, value: &str) {
        self.0
            .insert(name.to_owned(), Zeroizing::new(value.to_owned()));
    }

    /// A copy with its own buffers (each zeroized on drop).
    pub(crate) fn duplicate(&self) -> Self {
        Self(
            self.0
                .iter()
                .map(|(k, v)| (k.clone(), Zeroizing::new(v.as_str().to_owned())))
                .collect(),
        )
    }
}

impl fmt::Debug for Extras {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn creds(email: &str, password: &str, mfa: Option<&str>) -> Credentials {
        let c = Credentials::new(email, SecretString::from(password));
        match mfa {
            Some(m) => c.with_mfa_secret(SecretString::from(m)),
            None => c,
        }
    }

    #[test]
    fn equal_only_when_email_password_and_mfa_secret_all_are() {
        let base = creds("a@example.com", "pw", Some("JBSWY3DP"));
        assert_eq!(base, creds("a@example.com", "pw", Some("JBSWY3DP")));
        for other in [
            creds("b@example.com", "pw", Some("JBSWY3DP")),
            creds("a@example.com", "other", Some("JBSWY3DP")),
            creds("a@example.com", "pw", Some("KRSXG5CT")),
            creds("a@example.com", "pw", None),
        ] {
            assert_ne!(base, other);
            assert_ne!(other, base);
        }
    }

    #[test]
    fn debug_shows_the_email_and_redacts_the_secrets() {
        let text = format!("{:?}", creds("a@example.com", "hunter2", Some("JBSWY3DP")));
        assert_eq!(
            text,
            r#"Credentials { email: "a@example.com", password: "[REDACTED]", mfa_secret: Some("[REDACTED]") }"#
        );
        let text = format!("{:?}", creds("a@example.com", "hunter2", None));
        assert!(text.ends_with("mfa_secret: None }"), "{text}");
    }
}
