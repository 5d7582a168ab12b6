#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

mod error;
mod provider;
mod spec;
mod timeout;

#[cfg(unix)]
mod file;

#[cfg(all(feature = "keyring", target_os = "linux"))]
mod keyring;

#[cfg(feature = "conformance")]
pub mod conformance;

pub use error::{ProviderError, ProviderErrorKind};
pub use provider::{DOMAIN, KEY_LEN, KeyProvider, ProviderIdentity, ProviderKey, reference_apply};
pub use spec::{PinSource, Pkcs11Spec, ProviderSpec, parse_spec};
pub use timeout::{DEFAULT_DEADLINE, DEFAULT_QUEUE, WithTimeout};

#[cfg(unix)]
pub use file::{CREDENTIALS_DIRECTORY, FileKeyProvider, MAX_KEY_FILE_LEN};

#[cfg(all(feature = "keyring", target_os = "linux"))]
pub use keyring::KeyringKeyProvider;

pub use zeroize::Zeroizing;
