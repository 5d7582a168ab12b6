//! The relying party: the site the passkeys belong to.

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// The relying party (the app's site) as WebAuthn sees it.
///
/// ```
/// use credlock_webauthn::RelyingParty;
/// let rp = RelyingParty::new("localhost", "credlock", ["http://localhost:8080"]);
/// assert_eq!(rp.id, "localhost");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RelyingParty {
    /// The RP ID: the site's registrable domain or a suffix of it, e.g. `example.com` or
    /// `localhost`. Authenticators scope credentials to it; assertions carry its SHA-256.
    pub id: String,
    /// The name the browser shows when creating a passkey.
    pub name: String,
    /// The exact origins (`scheme://host[:port]`) the ceremonies may run on, compared as
    /// strings with the `origin` in `clientDataJSON`.
    pub origins: Vec<String>,
}

impl RelyingParty {
    /// A relying party with its ID, its display name and its allowed origins.
    #[must_use]
    pub fn new(
        id: impl Into<String>,
        name: impl Into<String>,
        origins: impl IntoIterator<Item = impl Into<String>>,
    ) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            origins: origins.into_iter().map(Into::into).collect(),
        }
    }

    /// SHA-256 of the RP ID, as authenticator data carries it.
    pub(crate) fn id_hash(&self) -> [u8; 32] {
        Sha256::digest(self.id.as_bytes()).into()
    }

    pub(crate) fn allows_origin(&self, origin: &str) -> bool {
        self.origins.iter().any(|o| o == origin)
    }
}
