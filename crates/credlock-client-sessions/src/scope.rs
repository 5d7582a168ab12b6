//! What a session may do.

use core::fmt;

use serde::Serialize;

/// One thing a client session or API token may do.
///
/// | scope              | allows                                                          |
/// |--------------------|-----------------------------------------------------------------|
/// | `ReadCredentials`  | reading the credentials (email, password, MFA secret), and TOTP codes, since whoever reads the secret can make them |
/// | `Totp`             | the current TOTP code only: what an automation that logs in needs |
/// | `Manage`           | changing the passphrase, updating the credentials, logging out, and managing sessions |
///
/// `Manage` does not include reading: an admin token that rotates other tokens need not see
/// the password.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Read the credentials, and TOTP codes.
    ReadCredentials,
    /// TOTP codes only.
    Totp,
    /// Change the passphrase, update the credentials, log out, manage sessions.
    Manage,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Self; 3] = [Self::ReadCredentials, Self::Totp, Self::Manage];

    /// The stable `snake_case` name.
    ///
    /// ```
    /// # mod credlock { pub use credlock_client_sessions as sessions; }
    /// assert_eq!(credlock::sessions::Scope::Totp.as_str(), "totp");
    /// ```
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ReadCredentials => "read_credentials",
            Self::Totp => "totp",
            Self::Manage => "manage",
        }
    }

    const fn bit(self) -> u8 {
        match self {
            Self::ReadCredentials => 1,
            Self::Totp => 2,
            Self::Manage => 4,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of [`Scope`]s.
///
/// ```
/// # mod credlock { pub use credlock_client_sessions as sessions; }
/// use credlock::sessions::{Scope, Scopes};
///
/// let read = Scopes::from(Scope::ReadCredentials);
/// assert!(read.allows(Scope::Totp)); // reading the secret implies its codes
/// assert!(!read.allows(Scope::Manage));
/// assert!(!Scopes::from(Scope::Totp).allows(Scope::ReadCredentials));
/// assert!(Scopes::ALL.allows(Scope::Manage));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Scopes(u8);

impl Scopes {
    /// No scope at all.
    pub const NONE: Self = Self(0);
    /// Every scope: what the user's own browser session gets.
    pub const ALL: Self = Self(7);

    /// This set with `scope` added.
    #[must_use]
    pub const fn with(self, scope: Scope) -> Self {
        Self(self.0 | scope.bit())
    }

    /// Whether `scope` is in the set.
    #[must_use]
    pub const fn contains(self, scope: Scope) -> bool {
        self.0 & scope.bit() != 0
    }

    /// Whether the set allows `scope`: it contains it, or (for [`Scope::Totp`]) contains
    /// [`Scope::ReadCredentials`].
    #[must_use]
    pub const fn allows(self, scope: Scope) -> bool {
        self.contains(scope)
            || (matches!(scope, Scope::Totp) && self.contains(Scope::ReadCredentials))
    }

    /// Whether the set is empty.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The scopes in the set.
    pub fn iter(self) -> impl Iterator<Item = Scope> {
        Scope::ALL.into_iter().filter(move |s| self.contains(*s))
    }

    /// The set as a bit mask (for a store): `read_credentials` = 1, `totp` = 2, `manage` = 4.
    #[must_use]
    pub const fn bits(self) -> u8 {
        self.0
    }

    /// The set from [`Scopes::bits`]; unknown bits are dropped.
    #[must_use]
    pub const fn from_bits(bits: u8) -> Self {
        Self(bits & Self::ALL.0)
    }
}

impl From<Scope> for Scopes {
    fn from(scope: Scope) -> Self {
        Self::NONE.with(scope)
    }
}

impl<const N: usize> From<[Scope; N]> for Scopes {
    fn from(scopes: [Scope; N]) -> Self {
        scopes.into_iter().fold(Self::NONE, Self::with)
    }
}

impl Serialize for Scopes {
    /// As a list of names: `["read_credentials", "totp"]`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_shows_as_its_name() {
        assert_eq!(Scope::ReadCredentials.to_string(), "read_credentials");
        assert_eq!(Scope::Totp.to_string(), "totp");
        assert_eq!(Scope::Manage.to_string(), "manage");
    }

    #[test]
    fn a_set_adds_idempotently_and_lists_in_order() {
        let set = Scopes::NONE
            .with(Scope::Manage)
            .with(Scope::Totp)
            .with(Scope::Manage);
        assert!(set.contains(Scope::Manage) && set.contains(Scope::Totp));
        assert!(!set.contains(Scope::ReadCredentials));
        assert_eq!(set.iter().collect::<Vec<_>>(), [Scope::Totp, Scope::Manage]);
        assert_eq!(Scopes::ALL.iter().count(), 3);
        assert_eq!(Scopes::NONE.iter().count(), 0);
    }

    #[test]
    fn bits_round_trip_and_unknown_bits_are_dropped() {
        assert_eq!(Scopes::from(Scope::ReadCredentials).bits(), 1);
        assert_eq!(Scopes::from(Scope::Totp).bits(), 2);
        assert_eq!(Scopes::from(Scope::Manage).bits(), 4);
        assert_eq!(Scopes::ALL.bits(), 7);
        for bits in 0..=7 {
            assert_eq!(Scopes::from_bits(bits).bits(), bits);
        }
        assert_eq!(Scopes::from_bits(0b1111_1010), Scopes::from([Scope::Totp]));
        assert_eq!(Scopes::from_bits(0b1000_0000), Scopes::NONE);
    }
}
