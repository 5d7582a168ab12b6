#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

mod provider;
mod setup;

pub use provider::{MAX_IDLE_SESSIONS, Pkcs11KeyProvider};
pub use setup::{delete_key, generate_key, import_key};

use credlock_keyprovider::{KeyProvider, ProviderError, ProviderSpec};

/// Opens the provider any spec names: `pkcs11:` here, every other kind through
/// [`ProviderSpec::open`]. This is the one call a server needs for `--key-provider SPEC`.
///
/// The provider is returned as it is; wrap it in
/// [`WithTimeout`](credlock_keyprovider::WithTimeout) so that a hung device cannot hang an
/// unlock.
///
/// # Errors
///
/// The opened provider's errors (see [`Pkcs11KeyProvider::open`]), or
/// [`ProviderError::Unsupported`] for a kind this build lacks.
///
/// # Example
///
/// ```no_run
/// use credlock_keyprovider::{KeyProvider, WithTimeout, parse_spec};
///
/// let spec = parse_spec(&std::env::args().nth(1).unwrap_or_default())?;
/// let provider = WithTimeout::new(credlock_keyprovider_pkcs11::open(&spec)?)?;
/// println!("key provider: {}", provider.identity());
/// # Ok::<(), credlock_keyprovider::ProviderError>(())
/// ```
pub fn open(spec: &ProviderSpec) -> Result<Box<dyn KeyProvider>, ProviderError> {
    match spec {
        ProviderSpec::Pkcs11(p) => Ok(Box::new(Pkcs11KeyProvider::open(p)?)),
        other => other.open(),
    }
}
