//! [`KeyringKeyProvider`]: the key as a secret in the OS keyring (Linux: the kernel keyring).

use std::fmt;

use keyring_core::api::CredentialStoreApi as _;
use keyring_core::{Entry, Error as KeyringError};
use zeroize::Zeroizing;

use crate::{KEY_LEN, KeyProvider, ProviderError, ProviderIdentity, ProviderKey};

/// A 32-byte key stored as a secret in the OS keyring, read once at open; the HMAC runs in
/// this process.
///
/// On Linux the store is the kernel keyring (keyutils, through the keyring crate family's
/// `linux-keyutils-keyring-store`): no D-Bus or desktop secret service, so it works headless
/// and in CI. The entry of service `S` and user `U` is the `user` key described
/// `keyring:U@S`, found through the session keyring and linked into the user's persistent
/// keyring. The kernel keyring lives in memory: it is empty after a reboot, so something must
/// put the key back at boot (a unit that runs [`KeyringKeyProvider::store_key`] from a
/// credential, or an operator). The stored secret is the 32 raw key bytes.
///
/// Storing needs a session keyring of the process's own (a login session, a systemd
/// service, `keyctl session -`); without one the kernel refuses the link into the persistent
/// keyring and [`KeyringKeyProvider::store_key`] returns [`ProviderError::Unavailable`].
///
/// # Example
///
/// ```no_run
/// use credlock_keyprovider::{KeyProvider, KeyringKeyProvider, ProviderKey};
///
/// KeyringKeyProvider::store_key("credlock", "pepper", &ProviderKey::from_bytes([7u8; 32]))?;
/// let p = KeyringKeyProvider::open("credlock", "pepper")?;
/// assert_eq!(p.identity().to_string(), "keyring:credlock/pepper");
/// # Ok::<(), credlock_keyprovider::ProviderError>(())
/// ```
pub struct KeyringKeyProvider {
    key: ProviderKey,
    service: String,
    user: String,
}

fn key_id(service: &str, user: &str) -> String {
    format!("{service}/{user}")
}

fn entry(service: &str, user: &str) -> Result<Entry, ProviderError> {
    let provider = format!("keyring:{}", key_id(service, user));
    let store = linux_keyutils_keyring_store::Store::new().map_err(|e| map_err(&provider, &e))?;
    store
        .build(service, user, None)
        .map_err(|e| map_err(&provider, &e))
}

/// Maps a keyring error without ever printing secret data (the `BadEncoding` and
/// `BadDataFormat` variants carry the secret's bytes: only their names are used).
fn map_err(provider: &str, e: &KeyringError) -> ProviderError {
    let provider = provider.to_owned();
    match e {
        KeyringError::NoEntry => ProviderError::KeyNotFound { provider },
        KeyringError::NoStorageAccess(inner) => ProviderError::Unavailable {
            provider,
            reason: format!("the keyring refused access ({inner})"),
        },
        KeyringError::PlatformFailure(inner) => ProviderError::Unavailable {
            provider,
            reason: format!("keyring failure ({inner})"),
        },
        KeyringError::BadEncoding(_) | KeyringError::BadDataFormat(..) => {
            ProviderError::Malformed {
                provider,
                reason: "the keyring entry's secret is not in the expected format".into(),
            }
        }
        KeyringError::Invalid(attr, reason) => ProviderError::Malformed {
            provider,
            reason: format!("the keyring rejected {attr}: {reason}"),
        },
        KeyringError::TooLong(attr, limit) => ProviderError::Malformed {
            provider,
            reason: format!("{attr} is longer than the keyring's limit of {limit}"),
        },
        KeyringError::Ambiguous(items) => ProviderError::Malformed {
            provider,
            reason: format!("{} keyring entries match", items.len()),
        },
        _ => ProviderError::Unavailable {
            provider,
            reason: "keyring error".into(),
        },
    }
}

impl KeyringKeyProvider {
    /// Reads the key of `service`/`user` from the keyring.
    ///
    /// # Errors
    ///
    /// [`ProviderError::KeyNotFound`] if there is no such entry;
    /// [`ProviderError::Malformed`] if its secret is not exactly 32 bytes;
    /// [`ProviderError::Unavailable`] if the keyring cannot be reached.
    ///
    /// # Example
    ///
    /// See [`KeyringKeyProvider`].
    pub fn open(service: &str, user: &str) -> Result<Self, ProviderError> {
        let provider = format!("keyring:{}", key_id(service, user));
        let secret = Zeroizing::new(
            entry(service, user)?
                .get_secret()
                .map_err(|e| map_err(&provider, &e))?,
        );
        let key = ProviderKey::from_slice(&secret).ok_or_else(|| ProviderError::Malformed {
            provider: provider.clone(),
            reason: format!(
                "the keyring entry holds {} bytes, not a 32-byte key",
                secret.len()
            ),
        })?;
        Ok(Self {
            key,
            service: service.into(),
            user: user.into(),
        })
    }

    /// Setup: stores `key` as the secret of `service`/`user`, replacing any previous one.
    ///
    /// # Errors
    ///
    /// [`ProviderError::Unavailable`] if the keyring cannot be reached or refuses the write.
    ///
    /// # Example
    ///
    /// See [`KeyringKeyProvider`].
    pub fn store_key(service: &str, user: &str, key: &ProviderKey) -> Result<(), ProviderError> {
        let provider = format!("keyring:{}", key_id(service, user));
        entry(service, user)?
            .set_secret(key.expose())
            .map_err(|e| map_err(&provider, &e))
    }

    /// Setup: deletes the entry of `service`/`user`.
    ///
    /// # Errors
    ///
    /// [`ProviderError::KeyNotFound`] if there is no such entry;
    /// [`ProviderError::Unavailable`] if the keyring cannot be reached.
    ///
    /// # Example
    ///
    /// ```no_run
    /// credlock_keyprovider::KeyringKeyProvider::delete_key("credlock", "pepper")?;
    /// # Ok::<(), credlock_keyprovider::ProviderError>(())
    /// ```
    pub fn delete_key(service: &str, user: &str) -> Result<(), ProviderError> {
        let provider = format!("keyring:{}", key_id(service, user));
        entry(service, user)?
            .delete_credential()
            .map_err(|e| map_err(&provider, &e))
    }
}

impl KeyProvider for KeyringKeyProvider {
    fn identity(&self) -> ProviderIdentity {
        ProviderIdentity::new("keyring", key_id(&self.service, &self.user))
    }

    fn apply(&self, input: &[u8; KEY_LEN]) -> Result<Zeroizing<[u8; KEY_LEN]>, ProviderError> {
        Ok(self.key.apply(input))
    }
}

impl fmt::Debug for KeyringKeyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyringKeyProvider")
            .field("service", &self.service)
            .field("user", &self.user)
            .field("key", &self.key)
            .finish()
    }
}
