//! [`Pkcs11KeyProvider`]: HMAC-SHA256 inside a PKCS#11 token.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};

use credlock_keyprovider::{
    DOMAIN, KEY_LEN, KeyProvider, Pkcs11Spec, ProviderError, ProviderIdentity,
};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use cryptoki::types::AuthPin;
use zeroize::{Zeroize as _, Zeroizing};

/// Idle sessions kept for reuse; more concurrent calls open more sessions, and the extra ones
/// are closed after use.
pub const MAX_IDLE_SESSIONS: usize = 8;

/// A provider whose key is a secret key object in a PKCS#11 token: `apply` signs
/// `DOMAIN || input` with `CKM_SHA256_HMAC` in the token, and the key never leaves it.
///
/// At open it loads the module (once per module path and process, then shared), finds the
/// token by label, logs in with the user PIN, and finds the key by label: a secret key
/// (`CKO_SECRET_KEY`) of type `CKK_GENERIC_SECRET` or `CKK_SHA256_HMAC`, 32 bytes, allowed to
/// sign, sensitive and not extractable; any other object is [`ProviderError::Malformed`].
///
/// Calls from several threads each use their own session from a small pool
/// ([`MAX_IDLE_SESSIONS`]); when the token has dropped the session or the login (token
/// re-inserted, session closed, logged out by other code of the process), a call opens one
/// fresh session, logs in again with the PIN kept in zeroizing memory, looks the key up again
/// and tries once more.
///
/// PKCS#11 logs a whole application in at once: while another provider of this process is
/// logged in to the same token, the token does not check this provider's PIN again
/// (`CKR_USER_ALREADY_LOGGED_IN`).
///
/// A PKCS#11 call can block for as long as the device does: wrap the provider in
/// [`WithTimeout`](credlock_keyprovider::WithTimeout).
pub struct Pkcs11KeyProvider {
    ctx: Pkcs11,
    slot: Slot,
    key: Mutex<ObjectHandle>,
    pin: AuthPin,
    token: String,
    label: String,
    module: PathBuf,
    sessions: Mutex<Vec<Session>>,
}

/// The process's loaded modules: a module is loaded and initialised once, and its context is
/// shared (PKCS#11 allows one `C_Initialize` per process and module).
fn modules() -> MutexGuard<'static, HashMap<PathBuf, Pkcs11>> {
    static MODULES: OnceLock<Mutex<HashMap<PathBuf, Pkcs11>>> = OnceLock::new();
    MODULES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Loads and initialises the module at `path`, or returns the context already loaded.
pub(crate) fn load_module(path: &Path, provider: &str) -> Result<Pkcs11, ProviderError> {
    let mut loaded = modules();
    if let Some(ctx) = loaded.get(path) {
        return Ok(ctx.clone());
    }
    let ctx = Pkcs11::new(path).map_err(|e| ProviderError::ModuleNotFound {
        provider: provider.into(),
        reason: match e {
            CkError::LibraryLoading(inner) => format!("{} ({inner})", path.display()),
            other => format!("{} ({other})", path.display()),
        },
    })?;
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => {
            return Err(ProviderError::ModuleNotFound {
                provider: provider.into(),
                reason: format!("{}: C_Initialize failed ({})", path.display(), rv_name(&e)),
            });
        }
    }
    loaded.insert(path.to_path_buf(), ctx.clone());
    Ok(ctx)
}

/// A PKCS#11 error's short name (`PinIncorrect`, `Sign: DeviceRemoved`): never data.
pub(crate) fn rv_name(e: &CkError) -> String {
    match e {
        CkError::Pkcs11(rv, function) => format!("{function:?}: {rv:?}"),
        CkError::LibraryLoading(_) => "library loading".into(),
        CkError::NotSupported => "not supported by the binding".into(),
        CkError::NullFunctionPointer => "function not provided by the module".into(),
        CkError::MissingSymbol(s) => format!("missing symbol {s}"),
        CkError::PinNotSet => "PIN not set".into(),
        _ => "conversion error".into(),
    }
}

/// Maps a PKCS#11 error to the contract's error.
pub(crate) fn map_ck(provider: &str, e: &CkError) -> ProviderError {
    let provider = provider.to_owned();
    let reason = rv_name(e);
    match e {
        CkError::Pkcs11(rv, _) => match rv {
            RvError::PinIncorrect
            | RvError::PinInvalid
            | RvError::PinLenRange
            | RvError::PinExpired
            | RvError::PinLocked
            | RvError::UserPinNotInitialized => ProviderError::PinRefused { provider, reason },
            RvError::TokenNotPresent
            | RvError::TokenNotRecognized
            | RvError::DeviceRemoved
            | RvError::DeviceError
            | RvError::DeviceMemory
            | RvError::SessionClosed
            | RvError::SessionHandleInvalid
            | RvError::SessionCount
            | RvError::UserNotLoggedIn
            | RvError::SlotIdInvalid
            | RvError::HostMemory
            | RvError::CryptokiNotInitialized => ProviderError::Unavailable { provider, reason },
            RvError::KeyHandleInvalid | RvError::ObjectHandleInvalid => {
                ProviderError::KeyNotFound { provider }
            }
            RvError::KeyTypeInconsistent
            | RvError::KeyFunctionNotPermitted
            | RvError::KeySizeRange
            | RvError::MechanismInvalid
            | RvError::TemplateIncomplete
            | RvError::TemplateInconsistent
            | RvError::AttributeValueInvalid => ProviderError::Malformed { provider, reason },
            _ => ProviderError::Failed { provider, reason },
        },
        CkError::LibraryLoading(_) => ProviderError::ModuleNotFound { provider, reason },
        _ => ProviderError::Failed { provider, reason },
    }
}

/// Whether the session or the login is what failed (closed, logged out by other code of the
/// process, token re-inserted; a private key's handle is invalid while logged out): then a
/// fresh session, logged in again, with the key looked up again, may succeed.
fn session_lost(e: &CkError) -> bool {
    matches!(
        e,
        CkError::Pkcs11(
            RvError::SessionClosed
                | RvError::SessionHandleInvalid
                | RvError::UserNotLoggedIn
                | RvError::DeviceRemoved
                | RvError::TokenNotPresent
                | RvError::KeyHandleInvalid
                | RvError::ObjectHandleInvalid,
            _
        )
    )
}

/// The slot holding the initialised token labelled `label`.
pub(crate) fn find_token(ctx: &Pkcs11, label: &str, provider: &str) -> Result<Slot, ProviderError> {
    let slots = ctx
        .get_slots_with_initialized_token()
        .map_err(|e| map_ck(provider, &e))?;
    let mut found = Vec::new();
    for slot in slots {
        let info = ctx.get_token_info(slot).map_err(|e| map_ck(provider, &e))?;
        if info.label().trim_end() == label {
            found.push(slot);
        }
    }
    match found.as_slice() {
        [] => Err(ProviderError::TokenNotFound {
            provider: provider.into(),
        }),
        [slot] => Ok(*slot),
        more => Err(ProviderError::Malformed {
            provider: provider.into(),
            reason: format!("{} tokens carry that label", more.len()),
        }),
    }
}

/// Opens a session on `slot` and logs the user in (an application already logged in to the
/// token is accepted).
pub(crate) fn session(
    ctx: &Pkcs11,
    slot: Slot,
    pin: &AuthPin,
    read_write: bool,
    provider: &str,
) -> Result<Session, ProviderError> {
    let session = if read_write {
        ctx.open_rw_session(slot)
    } else {
        ctx.open_ro_session(slot)
    }
    .map_err(|e| map_ck(provider, &e))?;
    match session.login(UserType::User, Some(pin)) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(session),
        Err(e) => Err(map_ck(provider, &e)),
    }
}

/// The secret key objects labelled `label`.
pub(crate) fn find_keys(
    session: &Session,
    label: &str,
    provider: &str,
) -> Result<Vec<ObjectHandle>, ProviderError> {
    session
        .find_objects(&[
            Attribute::Class(ObjectClass::SECRET_KEY),
            Attribute::Label(label.as_bytes().to_vec()),
        ])
        .map_err(|e| map_ck(provider, &e))
}

/// The one usable key labelled `label`: checks its type, length and flags.
fn find_key(session: &Session, label: &str, provider: &str) -> Result<ObjectHandle, ProviderError> {
    let key = match find_keys(session, label, provider)?.as_slice() {
        [] => {
            return Err(ProviderError::KeyNotFound {
                provider: provider.into(),
            });
        }
        [key] => *key,
        more => {
            return Err(ProviderError::Malformed {
                provider: provider.into(),
                reason: format!("{} secret keys carry that label", more.len()),
            });
        }
    };
    let malformed = |reason: &str| ProviderError::Malformed {
        provider: provider.into(),
        reason: reason.into(),
    };
    let attrs = session
        .get_attributes(
            key,
            &[
                AttributeType::KeyType,
                AttributeType::Sign,
                AttributeType::Sensitive,
                AttributeType::Extractable,
                AttributeType::ValueLen,
            ],
        )
        .map_err(|e| map_ck(provider, &e))?;
    for attr in &attrs {
        match attr {
            Attribute::KeyType(t)
                if *t != KeyType::GENERIC_SECRET && *t != KeyType::SHA256_HMAC =>
            {
                return Err(malformed(
                    "the key is neither CKK_GENERIC_SECRET nor CKK_SHA256_HMAC",
                ));
            }
            Attribute::Sign(false) => return Err(malformed("the key may not sign (CKA_SIGN)")),
            Attribute::Sensitive(false) => {
                return Err(malformed("the key is not sensitive (CKA_SENSITIVE)"));
            }
            Attribute::Extractable(true) => {
                return Err(malformed("the key is extractable (CKA_EXTRACTABLE)"));
            }
            Attribute::ValueLen(len) if u64::from(*len) != KEY_LEN as u64 => {
                return Err(malformed("the key is not 32 bytes long (CKA_VALUE_LEN)"));
            }
            _ => {}
        }
    }
    Ok(key)
}

impl Pkcs11KeyProvider {
    /// Opens the provider a `pkcs11:` spec names, reading the PIN from the spec's source.
    ///
    /// # Errors
    ///
    /// [`ProviderError::PinMissing`] (no PIN in the variable or file),
    /// [`ProviderError::ModuleNotFound`], [`ProviderError::TokenNotFound`],
    /// [`ProviderError::PinRefused`], [`ProviderError::KeyNotFound`],
    /// [`ProviderError::Malformed`] (a key of the wrong type, length or flags, or two keys
    /// with the label), [`ProviderError::Unavailable`].
    ///
    /// # Example
    ///
    /// ```no_run
    /// use credlock_keyprovider::{KeyProvider, ProviderSpec, WithTimeout, parse_spec};
    /// use credlock_keyprovider_pkcs11::Pkcs11KeyProvider;
    ///
    /// let spec = parse_spec(
    ///     "pkcs11:module=/usr/lib/softhsm/libsofthsm2.so;token=credlock;key=pepper;pin-env=CREDLOCK_PKCS11_PIN",
    /// )?;
    /// let ProviderSpec::Pkcs11(p11) = &spec else { unreachable!() };
    /// let provider = WithTimeout::new(Pkcs11KeyProvider::open(p11)?)?;
    /// let kek = provider.apply(&[0u8; 32])?;
    /// # Ok::<(), credlock_keyprovider::ProviderError>(())
    /// ```
    pub fn open(spec: &Pkcs11Spec) -> Result<Self, ProviderError> {
        let provider = format!("pkcs11:{}", spec.key_id());
        let pin = spec.pin.read(&provider)?;
        let pin = AuthPin::from(pin.as_str());
        let ctx = load_module(&spec.module, &provider)?;
        let slot = find_token(&ctx, &spec.token, &provider)?;
        let first = session(&ctx, slot, &pin, false, &provider)?;
        let key = find_key(&first, &spec.key, &provider)?;
        Ok(Self {
            ctx,
            slot,
            key: Mutex::new(key),
            pin,
            token: spec.token.clone(),
            label: spec.key.clone(),
            module: spec.module.clone(),
            sessions: Mutex::new(vec![first]),
        })
    }

    /// The module's path.
    ///
    /// # Example
    ///
    /// ```no_run
    /// use credlock_keyprovider::ProviderSpec;
    /// use credlock_keyprovider_pkcs11::Pkcs11KeyProvider;
    ///
    /// let spec = "pkcs11:module=/usr/lib/softhsm/libsofthsm2.so;token=credlock;key=pepper;pin-env=CREDLOCK_PKCS11_PIN";
    /// let ProviderSpec::Pkcs11(spec) = ProviderSpec::parse(spec)? else {
    ///     return Err("not a PKCS#11 spec".into());
    /// };
    /// let p = Pkcs11KeyProvider::open(&spec)?;
    /// assert_eq!(p.module().to_str(), Some("/usr/lib/softhsm/libsofthsm2.so"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn module(&self) -> &Path {
        &self.module
    }

    fn provider(&self) -> String {
        format!("pkcs11:token={};key={}", self.token, self.label)
    }

    fn pool(&self) -> MutexGuard<'_, Vec<Session>> {
        self.sessions
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn take_session(&self) -> Result<Session, ProviderError> {
        if let Some(s) = self.pool().pop() {
            return Ok(s);
        }
        session(&self.ctx, self.slot, &self.pin, false, &self.provider())
    }

    fn give_back(&self, s: Session) {
        let mut pool = self.pool();
        if pool.len() < MAX_IDLE_SESSIONS {
            pool.push(s);
        }
    }

    fn key(&self) -> ObjectHandle {
        *self
            .key
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn sign(
        &self,
        session: &Session,
        key: ObjectHandle,
        message: &[u8],
    ) -> Result<Zeroizing<[u8; KEY_LEN]>, CkError> {
        let mut mac = Zeroizing::new(session.sign(&Mechanism::Sha256Hmac, key, message)?);
        let mut out = Zeroizing::new([0u8; KEY_LEN]);
        if mac.len() != KEY_LEN {
            mac.zeroize();
            return Err(CkError::Pkcs11(
                RvError::SignatureLenRange,
                cryptoki::context::Function::Sign,
            ));
        }
        out.copy_from_slice(&mac);
        Ok(out)
    }
}

impl KeyProvider for Pkcs11KeyProvider {
    fn identity(&self) -> ProviderIdentity {
        ProviderIdentity::new("pkcs11", format!("token={};key={}", self.token, self.label))
    }

    fn apply(&self, input: &[u8; KEY_LEN]) -> Result<Zeroizing<[u8; KEY_LEN]>, ProviderError> {
        let mut message = Zeroizing::new([0u8; 25 + KEY_LEN]);
        message[..DOMAIN.len()].copy_from_slice(DOMAIN);
        message[DOMAIN.len()..].copy_from_slice(input);
        let session = self.take_session()?;
        match self.sign(&session, self.key(), &message[..]) {
            Ok(out) => {
                self.give_back(session);
                Ok(out)
            }
            Err(e) if session_lost(&e) => {
                // The token dropped the session or the login (re-inserted, closed, logged out
                // by other code): one fresh session, logged in again, the key looked up again,
                // one more try.
                drop(session);
                let fresh = session_retry(self)?;
                let key = find_key(&fresh, &self.label, &self.provider())?;
                *self
                    .key
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = key;
                let out = self
                    .sign(&fresh, key, &message[..])
                    .map_err(|e| map_ck(&self.provider(), &e))?;
                self.give_back(fresh);
                Ok(out)
            }
            Err(e) => Err(map_ck(&self.provider(), &e)),
        }
    }
}

fn session_retry(p: &Pkcs11KeyProvider) -> Result<Session, ProviderError> {
    // Idle sessions are as stale as the one that failed.
    p.pool().clear();
    session(&p.ctx, p.slot, &p.pin, false, &p.provider())
}

impl fmt::Debug for Pkcs11KeyProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pkcs11KeyProvider")
            .field("module", &self.module)
            .field("token", &self.token)
            .field("key", &self.label)
            .field("pin", &"[REDACTED]")
            .finish_non_exhaustive()
    }
}
