//! [`parse_spec`]: a provider from one configuration string (`--key-provider SPEC`).

use std::fmt;
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

use crate::file::{self, STRICT, check_credential_name, read_private};
use crate::{FileKeyProvider, KeyProvider, ProviderError};

/// A parsed provider specification; see [`parse_spec`] for the syntax.
///
/// Its `Display` gives the spec back in canonical form (no secret is ever part of a spec).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProviderSpec {
    /// `file:/absolute/path`: a [`FileKeyProvider`].
    File {
        /// The key file.
        path: PathBuf,
    },
    /// `systemd:NAME`: [`FileKeyProvider::from_systemd_credential`].
    Systemd {
        /// The credential's name.
        name: String,
    },
    /// `keyring:SERVICE/USER`: the OS keyring entry of that service and user (feature
    /// `keyring`).
    Keyring {
        /// The entry's service (no `/`).
        service: String,
        /// The entry's user.
        user: String,
    },
    /// `pkcs11:module=...;token=...;key=...;pin-env=...` (crate `credlock-keyprovider-pkcs11`).
    Pkcs11(Pkcs11Spec),
}

/// The PKCS#11 part of a [`ProviderSpec`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Pkcs11Spec {
    /// The PKCS#11 module (shared library), such as `/usr/lib/softhsm/libsofthsm2.so`.
    pub module: PathBuf,
    /// The token's label.
    pub token: String,
    /// The secret key object's label (`CKA_LABEL`).
    pub key: String,
    /// Where the user PIN comes from.
    pub pin: PinSource,
}

impl Pkcs11Spec {
    /// A PKCS#11 spec from its parts (what [`parse_spec`] builds from `pkcs11:...`).
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_keyprovider::{PinSource, Pkcs11Spec, ProviderSpec};
    /// let p = Pkcs11Spec::new(
    ///     "/usr/lib/softhsm/libsofthsm2.so",
    ///     "credlock",
    ///     "pepper",
    ///     PinSource::Env("CREDLOCK_PKCS11_PIN".into()),
    /// );
    /// assert_eq!(
    ///     ProviderSpec::Pkcs11(p).to_string(),
    ///     "pkcs11:module=/usr/lib/softhsm/libsofthsm2.so;token=credlock;key=pepper;pin-env=CREDLOCK_PKCS11_PIN",
    /// );
    /// ```
    #[must_use]
    pub fn new(
        module: impl Into<PathBuf>,
        token: impl Into<String>,
        key: impl Into<String>,
        pin: PinSource,
    ) -> Self {
        Self {
            module: module.into(),
            token: token.into(),
            key: key.into(),
            pin,
        }
    }

    /// The provider's identity text for this spec: `pkcs11:token=TOKEN;key=KEY` (the module's
    /// path is left out: it differs between hosts that hold the same key).
    ///
    /// # Example
    ///
    /// ```
    /// let s = credlock_keyprovider::parse_spec("pkcs11:module=/m.so;token=t;key=k;pin-env=P")?;
    /// let credlock_keyprovider::ProviderSpec::Pkcs11(p) = s else { unreachable!() };
    /// assert_eq!(p.key_id(), "token=t;key=k");
    /// # Ok::<(), credlock_keyprovider::ProviderError>(())
    /// ```
    #[must_use]
    pub fn key_id(&self) -> String {
        format!("token={};key={}", self.token, self.key)
    }
}

/// Where a PKCS#11 user PIN comes from: never the spec itself.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PinSource {
    /// `pin-env=VAR`: the environment variable `VAR`.
    Env(String),
    /// `pin-file=/path`: a file owned by this user with no group/other bits (a trailing
    /// newline is dropped).
    File(PathBuf),
}

impl PinSource {
    /// Reads the PIN. `provider` names the provider in errors.
    ///
    /// # Errors
    ///
    /// [`ProviderError::PinMissing`] if the variable is unset or empty, or the file is missing
    /// or empty; for a file, the errors of [`FileKeyProvider::open`]'s checks.
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_keyprovider::{PinSource, ProviderError};
    /// let e = PinSource::Env("CREDLOCK_NO_SUCH_VARIABLE".into()).read("pkcs11:token=t;key=k");
    /// assert!(matches!(e, Err(ProviderError::PinMissing { .. })));
    /// ```
    pub fn read(&self, provider: &str) -> Result<Zeroizing<String>, ProviderError> {
        let missing = |reason: String| ProviderError::PinMissing {
            provider: provider.into(),
            reason,
        };
        let pin = match self {
            Self::Env(var) => match std::env::var(var) {
                Ok(v) => Zeroizing::new(v),
                Err(std::env::VarError::NotPresent) => {
                    return Err(missing(format!(
                        "the environment variable {var} is not set"
                    )));
                }
                Err(std::env::VarError::NotUnicode(_)) => {
                    return Err(missing(format!(
                        "the environment variable {var} is not valid UTF-8"
                    )));
                }
            },
            Self::File(path) => {
                let (buf, len) = read_private(path, STRICT, file::MAX_PRIVATE_FILE_LEN).map_err(
                    |e| match e {
                        ProviderError::KeyNotFound { .. } => {
                            missing(format!("the PIN file {} does not exist", path.display()))
                        }
                        other => other,
                    },
                )?;
                let text = std::str::from_utf8(&buf[..len]).map_err(|_| {
                    missing(format!("the PIN file {} is not UTF-8", path.display()))
                })?;
                Zeroizing::new(text.strip_suffix('\n').unwrap_or(text).to_owned())
            }
        };
        if pin.is_empty() {
            return Err(missing(format!("{self} is empty")));
        }
        Ok(pin)
    }
}

impl fmt::Display for PinSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Env(var) => write!(f, "pin-env={var}"),
            Self::File(path) => write!(f, "pin-file={}", path.display()),
        }
    }
}

impl fmt::Display for ProviderSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File { path } => write!(f, "file:{}", path.display()),
            Self::Systemd { name } => write!(f, "systemd:{name}"),
            Self::Keyring { service, user } => write!(f, "keyring:{service}/{user}"),
            Self::Pkcs11(p) => write!(
                f,
                "pkcs11:module={};token={};key={};{}",
                p.module.display(),
                p.token,
                p.key,
                p.pin
            ),
        }
    }
}

/// Parses a provider specification, such as a server's `--key-provider SPEC`.
///
/// | spec | provider |
/// | --- | --- |
/// | `file:/etc/credlock/pepper` | [`FileKeyProvider::open`] on that absolute path |
/// | `systemd:pepper` | [`FileKeyProvider::from_systemd_credential`]`("pepper")` |
/// | `keyring:credlock/pepper` | the OS keyring entry of service `credlock`, user `pepper` (feature `keyring`) |
/// | `pkcs11:module=/usr/lib/softhsm/libsofthsm2.so;token=credlock;key=pepper;pin-env=CREDLOCK_PKCS11_PIN` | the secret key labelled `pepper` on the token labelled `credlock` (crate `credlock-keyprovider-pkcs11`) |
///
/// A `pkcs11:` spec has the attributes `module`, `token`, `key` (each once, required) and
/// exactly one of `pin-env=VARIABLE` or `pin-file=/path`, separated by `;`, in any order;
/// values cannot contain `;`. A PIN in the spec itself (`pin=`, `pin-value=`) is refused: a
/// spec ends up in process lists, shell histories and logs.
///
/// # Errors
///
/// [`ProviderError::InvalidSpec`], whose message never repeats the spec's values.
///
/// # Example
///
/// ```
/// use credlock_keyprovider::{parse_spec, PinSource, ProviderSpec};
///
/// let spec = parse_spec(
///     "pkcs11:module=/usr/lib/softhsm/libsofthsm2.so;token=credlock;key=pepper;pin-env=CREDLOCK_PKCS11_PIN",
/// )?;
/// let ProviderSpec::Pkcs11(p) = &spec else { unreachable!() };
/// assert_eq!(p.token, "credlock");
/// assert_eq!(p.pin, PinSource::Env("CREDLOCK_PKCS11_PIN".into()));
///
/// assert!(parse_spec("pkcs11:module=/m.so;token=t;key=k;pin=1234").is_err());
/// assert_eq!(parse_spec("keyring:credlock/pepper")?.to_string(), "keyring:credlock/pepper");
/// # Ok::<(), credlock_keyprovider::ProviderError>(())
/// ```
pub fn parse_spec(spec: &str) -> Result<ProviderSpec, ProviderError> {
    let invalid = |reason: &str| ProviderError::InvalidSpec {
        reason: reason.into(),
    };
    let Some((kind, rest)) = spec.split_once(':') else {
        return Err(invalid(
            "expected KIND:..., with KIND one of file, systemd, keyring, pkcs11",
        ));
    };
    match kind {
        "file" => {
            if !Path::new(rest).is_absolute() {
                return Err(invalid("file: needs an absolute path"));
            }
            Ok(ProviderSpec::File {
                path: PathBuf::from(rest),
            })
        }
        "systemd" => {
            check_credential_name(rest)
                .map_err(|_| invalid("systemd: needs a credential name (a plain file name)"))?;
            Ok(ProviderSpec::Systemd { name: rest.into() })
        }
        "keyring" => match rest.split_once('/') {
            Some((service, user)) if !service.is_empty() && !user.is_empty() => {
                Ok(ProviderSpec::Keyring {
                    service: service.into(),
                    user: user.into(),
                })
            }
            _ => Err(invalid("keyring: needs SERVICE/USER, both non-empty")),
        },
        "pkcs11" => parse_pkcs11(rest).map(ProviderSpec::Pkcs11),
        _ => Err(invalid(
            "unknown kind; expected one of file, systemd, keyring, pkcs11",
        )),
    }
}

fn parse_pkcs11(rest: &str) -> Result<Pkcs11Spec, ProviderError> {
    let invalid = |reason: String| ProviderError::InvalidSpec { reason };
    let (mut module, mut token, mut key, mut pin) = (None, None, None, None);
    for attr in rest.split(';').filter(|a| !a.is_empty()) {
        let Some((name, value)) = attr.split_once('=') else {
            return Err(invalid(
                "pkcs11: attributes are NAME=VALUE separated by ';'".into(),
            ));
        };
        if value.is_empty() {
            return Err(invalid(format!("pkcs11: {name} has no value")));
        }
        let slot = match name {
            "module" => &mut module,
            "token" => &mut token,
            "key" => &mut key,
            "pin-env" | "pin-file" => &mut pin,
            "pin" | "pin-value" | "user-pin" | "so-pin" => {
                return Err(invalid(format!(
                    "pkcs11: a PIN in the spec ({name}=) is refused; use pin-env=VARIABLE or \
                     pin-file=/path"
                )));
            }
            _ => {
                // The name only: a value could be a secret typed in by mistake.
                return Err(invalid(format!("pkcs11: unknown attribute {name:?}")));
            }
        };
        if slot.is_some() {
            return Err(invalid(format!(
                "pkcs11: {} given twice",
                if name.starts_with("pin") {
                    "the PIN source"
                } else {
                    name
                }
            )));
        }
        *slot = Some((name, value));
    }
    let need = |v: Option<(&str, &str)>, name: &str| {
        v.map(|(_, value)| value.to_owned())
            .ok_or_else(|| invalid(format!("pkcs11: {name}= is required")))
    };
    let module = PathBuf::from(need(module, "module")?);
    let token = need(token, "token")?;
    let key = need(key, "key")?;
    let pin = match pin {
        Some(("pin-env", var)) => PinSource::Env(var.into()),
        Some((_, path)) => {
            if !Path::new(path).is_absolute() {
                return Err(invalid("pkcs11: pin-file= needs an absolute path".into()));
            }
            PinSource::File(PathBuf::from(path))
        }
        None => {
            return Err(invalid(
                "pkcs11: a PIN source is required: pin-env=VARIABLE or pin-file=/path".into(),
            ));
        }
    };
    Ok(Pkcs11Spec {
        module,
        token,
        key,
        pin,
    })
}

impl ProviderSpec {
    /// Parses a spec; the same as [`parse_spec`].
    ///
    /// # Errors
    ///
    /// As [`parse_spec`].
    ///
    /// # Example
    ///
    /// ```
    /// let s = credlock_keyprovider::ProviderSpec::parse("systemd:pepper")?;
    /// assert_eq!(s.kind(), "systemd");
    /// # Ok::<(), credlock_keyprovider::ProviderError>(())
    /// ```
    pub fn parse(spec: &str) -> Result<Self, ProviderError> {
        parse_spec(spec)
    }

    /// The spec's kind: `"file"`, `"systemd"`, `"keyring"` or `"pkcs11"`.
    ///
    /// # Example
    ///
    /// ```
    /// let s = credlock_keyprovider::parse_spec("file:/etc/credlock/pepper")?;
    /// assert_eq!(s.kind(), "file");
    /// # Ok::<(), credlock_keyprovider::ProviderError>(())
    /// ```
    #[must_use]
    pub fn kind(&self) -> &'static str {
        match self {
            Self::File { .. } => "file",
            Self::Systemd { .. } => "systemd",
            Self::Keyring { .. } => "keyring",
            Self::Pkcs11(_) => "pkcs11",
        }
    }

    /// Opens the provider this spec names, for the kinds this crate provides: `file`,
    /// `systemd`, and `keyring` with the `keyring` feature (on Linux). For `pkcs11`, call
    /// `credlock_keyprovider_pkcs11::open`, which opens every kind.
    ///
    /// Wrap a provider that may hang in [`WithTimeout`](crate::WithTimeout).
    ///
    /// # Errors
    ///
    /// [`ProviderError::Unsupported`] for a kind this build does not include; otherwise the
    /// provider's own errors at open.
    ///
    /// # Example
    ///
    /// ```
    /// use credlock_keyprovider::{parse_spec, ProviderError};
    /// let spec = parse_spec("pkcs11:module=/m.so;token=t;key=k;pin-env=PIN")?;
    /// assert!(matches!(spec.open(), Err(ProviderError::Unsupported { .. })));
    /// # Ok::<(), ProviderError>(())
    /// ```
    pub fn open(&self) -> Result<Box<dyn KeyProvider>, ProviderError> {
        match self {
            Self::File { path } => Ok(Box::new(FileKeyProvider::open(path)?)),
            Self::Systemd { name } => Ok(Box::new(FileKeyProvider::from_systemd_credential(name)?)),
            Self::Keyring { service, user } => open_keyring(service, user),
            Self::Pkcs11(_) => Err(ProviderError::Unsupported {
                kind: "pkcs11".into(),
                reason: "PKCS#11 tokens are opened by the credlock-keyprovider-pkcs11 crate \
                         (credlock_keyprovider_pkcs11::open)"
                    .into(),
            }),
        }
    }
}

#[cfg(all(feature = "keyring", target_os = "linux"))]
fn open_keyring(service: &str, user: &str) -> Result<Box<dyn KeyProvider>, ProviderError> {
    Ok(Box::new(crate::KeyringKeyProvider::open(service, user)?))
}

#[cfg(not(all(feature = "keyring", target_os = "linux")))]
fn open_keyring(_service: &str, _user: &str) -> Result<Box<dyn KeyProvider>, ProviderError> {
    Err(ProviderError::Unsupported {
        kind: "keyring".into(),
        reason: "build credlock-keyprovider with its `keyring` feature (Linux kernel keyring)"
            .into(),
    })
}
