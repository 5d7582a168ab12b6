//! A vault key wrapped for one shared session, as a store keeps it: opaque text.

use core::fmt;

/// The vault key of a shared session, sealed under a key only the session's token yields:
/// what a shared [`SessionStore`](crate::SessionStore) keeps in the session's row, as text.
/// Useless without the token; this crate neither seals nor opens it (the vault does).
/// `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedKey(String);

impl SealedKey {
    /// A sealed key as a store reads it back.
    #[must_use]
    pub fn from_text(text: impl Into<String>) -> Self {
        Self(text.into())
    }

    /// The sealed key's text, as a store writes it.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SealedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealedKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_round_trips_and_debug_shows_none_of_it() {
        let sealed = SealedKey::from_text("gAAAAA-secret-bits");
        assert_eq!(sealed.as_str(), "gAAAAA-secret-bits");
        assert_eq!(format!("{sealed:?}"), "SealedKey(..)");
    }
}
