//! The credentials a vault keeps.

use core::fmt;

use secrecy::{ExposeSecret as _, SecretString};
use zeroize::{Zeroize as _, ZeroizeOnDrop};

use crate::extras::Extras;

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
    /// Opaque values carried from an import (see `crate::extras`); empty otherwise.
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
    /// a usable TOTP secret ([`TotpSecret::parse`](crate::totp::TotpSecret::parse)).
    ///
    /// ```
    /// use credlock::Credentials;
    /// use credlock::secrecy::SecretString;
    ///
    /// let ok = Credentials::new("a@example.com", SecretString::from("pw"))
    ///     .with_mfa_secret(SecretString::from("jbsw y3dp ehpk 3pxp"));
    /// assert!(ok.validate().is_ok());
    /// let bad = Credentials::new("a@example.com", SecretString::from("pw"))
    ///     .with_mfa_secret(SecretString::from("not a secret"));
    /// assert!(bad.validate().is_err());
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::InvalidMfaSecret`](crate::Error::InvalidMfaSecret) naming what is wrong.
    pub fn validate(&self) -> Result<(), crate::Error> {
        self.totp_secret().map(|_| ())
    }

    /// The MFA secret parsed as a TOTP secret, if there is one.
    pub(crate) fn totp_secret(&self) -> Result<Option<crate::totp::TotpSecret>, crate::Error> {
        self.mfa_secret
            .as_ref()
            .map(|s| crate::totp::TotpSecret::parse(s.expose_secret()))
            .transpose()
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

    pub(crate) fn extras(&self) -> &Extras {
        &self.extras
    }

    pub(crate) fn with_extras(mut self, extras: Extras) -> Self {
        self.extras = extras;
        self
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
