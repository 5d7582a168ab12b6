//! Opaque extras sealed with the credentials: values that belong to the user's data in the
//! application a vault was imported from (Eclosion's notes key and the timestamps of its
//! credentials row), kept inside the one token so that a later export restores them.
//!
//! credlock never interprets them: each is a name (not secret) and a text value (treated as
//! secret: zeroized on drop, never shown by `Debug`).

use core::fmt;
use std::collections::BTreeMap;

use zeroize::Zeroizing;

/// Eclosion's notes encryption key (the plaintext of `credentials.notes_key_encrypted`).
pub(crate) const ECLOSION_NOTES_KEY: &str = "eclosion.notes_key";
/// The `created_at` of Eclosion's credentials row, as Eclosion stored it.
#[cfg(feature = "eclosion-sqlite")]
pub(crate) const ECLOSION_CREATED_AT: &str = "eclosion.created_at";
/// The `updated_at` of Eclosion's credentials row, as Eclosion stored it.
#[cfg(feature = "eclosion-sqlite")]
pub(crate) const ECLOSION_UPDATED_AT: &str = "eclosion.updated_at";

/// Named opaque values, in name order (so the sealed record stays canonical).
#[derive(Default, PartialEq, Eq)]
pub(crate) struct Extras(pub(crate) BTreeMap<String, Zeroizing<String>>);

impl Extras {
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    #[cfg(any(test, feature = "eclosion-sqlite"))]
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

impl crate::vault::Vault {
    /// `credentials` with the extras of the record in memory, when it brings none of its own:
    /// an app that updates the password does not drop what an import carried along.
    pub(crate) fn keep_extras(
        &self,
        credentials: crate::credentials::Credentials,
    ) -> crate::credentials::Credentials {
        if !credentials.extras().is_empty() {
            return credentials;
        }
        let state = self.shared().state();
        match state.session.record(self.now()) {
            Ok(current) if !current.extras().is_empty() => {
                credentials.with_extras(current.extras().duplicate())
            }
            _ => credentials,
        }
    }
}
