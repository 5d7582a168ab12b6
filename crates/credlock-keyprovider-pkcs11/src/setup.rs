//! Setup helpers: put a key into a token ([`import_key`], [`generate_key`]) or remove it
//! ([`delete_key`]).

use credlock_keyprovider::{KEY_LEN, Pkcs11Spec, ProviderError, ProviderKey};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass};
use cryptoki::session::Session;
use cryptoki::types::AuthPin;
use zeroize::Zeroize as _;

use crate::provider::{find_keys, find_token, load_module, map_ck, session};

/// Setup calls of one process run one at a time: SoftHSM2's file store has been seen to
/// answer `CKR_GENERAL_ERROR` to token objects created and destroyed from several threads at
/// once, and setup is rare enough that nothing is lost by queueing it.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static SETUP: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SETUP
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The attributes of a provider key: a token object, private, sensitive, not extractable, not
/// copyable, allowed to sign and verify, 32 bytes.
fn key_template(label: &str) -> Vec<Attribute> {
    vec![
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::GENERIC_SECRET),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Copyable(false),
        Attribute::Sign(true),
        Attribute::Verify(true),
        Attribute::Label(label.as_bytes().to_vec()),
    ]
}

fn rw_session(spec: &Pkcs11Spec) -> Result<(Session, String), ProviderError> {
    let provider = format!("pkcs11:{}", spec.key_id());
    let pin = AuthPin::from(spec.pin.read(&provider)?.as_str());
    let ctx = load_module(&spec.module, &provider)?;
    let slot = find_token(&ctx, &spec.token, &provider)?;
    let s = session(&ctx, slot, &pin, true, &provider)?;
    if !find_keys(&s, &spec.key, &provider)?.is_empty() {
        return Err(ProviderError::Malformed {
            provider,
            reason: "a secret key with that label already exists; delete it first".into(),
        });
    }
    Ok((s, provider))
}

/// Setup: imports `key` into the token as the secret key labelled `spec.key`
/// (`CKK_GENERIC_SECRET`, `CKA_VALUE` set at creation, then sensitive and not extractable), so
/// that the same key material can also be kept offline or in another provider. Refuses if a
/// key with that label exists.
///
/// # Errors
///
/// As [`Pkcs11KeyProvider::open`](crate::Pkcs11KeyProvider::open), and
/// [`ProviderError::Malformed`] if the label is taken.
///
/// # Security
///
/// The key passes through this process once; prefer [`generate_key`] unless the key must
/// also exist outside the token (a backup, a second token).
///
/// # Example
///
/// ```no_run
/// use credlock_keyprovider::{PinSource, Pkcs11Spec, ProviderKey};
/// let spec = Pkcs11Spec::new(
///     "/usr/lib/softhsm/libsofthsm2.so", "credlock", "pepper",
///     PinSource::Env("CREDLOCK_PKCS11_PIN".into()),
/// );
/// credlock_keyprovider_pkcs11::import_key(&spec, &ProviderKey::from_bytes([7u8; 32]))?;
/// # Ok::<(), credlock_keyprovider::ProviderError>(())
/// ```
pub fn import_key(spec: &Pkcs11Spec, key: &ProviderKey) -> Result<(), ProviderError> {
    let _turn = one_at_a_time();
    let (s, provider) = rw_session(spec)?;
    let mut template = key_template(&spec.key);
    template.push(Attribute::Value(key.expose().to_vec()));
    let created = s.create_object(&template);
    for attr in &mut template {
        if let Attribute::Value(v) = attr {
            v.zeroize();
        }
    }
    created.map(|_| ()).map_err(|e| map_ck(&provider, &e))
}

/// Setup: generates a fresh 32-byte key inside the token (`CKM_GENERIC_SECRET_KEY_GEN`),
/// labelled `spec.key`, sensitive and not extractable: it never exists outside the token.
/// Refuses if a key with that label exists.
///
/// # Errors
///
/// As [`import_key`].
///
/// # Example
///
/// ```no_run
/// use credlock_keyprovider::{PinSource, Pkcs11Spec};
/// let spec = Pkcs11Spec::new(
///     "/usr/lib/softhsm/libsofthsm2.so", "credlock", "pepper",
///     PinSource::Env("CREDLOCK_PKCS11_PIN".into()),
/// );
/// credlock_keyprovider_pkcs11::generate_key(&spec)?;
/// # Ok::<(), credlock_keyprovider::ProviderError>(())
/// ```
pub fn generate_key(spec: &Pkcs11Spec) -> Result<(), ProviderError> {
    let _turn = one_at_a_time();
    let (s, provider) = rw_session(spec)?;
    let mut template = key_template(&spec.key);
    template.push(Attribute::ValueLen((KEY_LEN as u64).into()));
    s.generate_key(&Mechanism::GenericSecretKeyGen, &template)
        .map(|_| ())
        .map_err(|e| map_ck(&provider, &e))
}

/// Setup: destroys every secret key labelled `spec.key` on the token; returns how many.
///
/// # Errors
///
/// As [`Pkcs11KeyProvider::open`](crate::Pkcs11KeyProvider::open) (except a missing key,
/// which is `Ok(0)`).
///
/// # Example
///
/// ```no_run
/// use credlock_keyprovider::{PinSource, Pkcs11Spec};
/// let spec = Pkcs11Spec::new(
///     "/usr/lib/softhsm/libsofthsm2.so", "credlock", "old-pepper",
///     PinSource::Env("CREDLOCK_PKCS11_PIN".into()),
/// );
/// credlock_keyprovider_pkcs11::delete_key(&spec)?;
/// # Ok::<(), credlock_keyprovider::ProviderError>(())
/// ```
pub fn delete_key(spec: &Pkcs11Spec) -> Result<usize, ProviderError> {
    let _turn = one_at_a_time();
    let provider = format!("pkcs11:{}", spec.key_id());
    let pin = AuthPin::from(spec.pin.read(&provider)?.as_str());
    let ctx = load_module(&spec.module, &provider)?;
    let slot = find_token(&ctx, &spec.token, &provider)?;
    let s = session(&ctx, slot, &pin, true, &provider)?;
    let keys = find_keys(&s, &spec.key, &provider)?;
    for key in &keys {
        s.destroy_object(*key).map_err(|e| map_ck(&provider, &e))?;
    }
    Ok(keys.len())
}
