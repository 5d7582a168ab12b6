//! Eclosion's legacy `credentials.json`: parse, decrypt, migrate, export.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use credlock_crypto::{FernetKey, KdfParams, Salt};
use credlock_policy::ValidPassphrase;
use credlock_session::SessionState;
use credlock_store::{FileStore, ReadOptions, Store as _};
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::audit::{EventKind, Outcome};
use crate::credentials::Credentials;
use crate::error::Error;
use crate::gate::Attempt;
use crate::vault::Vault;

/// How an Eclosion import behaves. The default is strict and non-destructive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportOptions {
    /// Remove the original file after the new vault is durably written. Default: keep it.
    pub remove_original: bool,
    /// Replace a credlock vault that already holds credentials. Default: refuse.
    pub replace_existing: bool,
    /// Accept a legacy file with group/other permission bits (see the
    /// [module docs](crate::eclosion)). Default: refuse it, as for a vault.
    pub allow_shared_mode: bool,
}

impl ImportOptions {
    /// The strict, non-destructive defaults.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Remove the original after a successful import.
    #[must_use]
    pub const fn remove_original(mut self, on: bool) -> Self {
        self.remove_original = on;
        self
    }

    /// Replace existing credlock credentials.
    #[must_use]
    pub const fn replace_existing(mut self, on: bool) -> Self {
        self.replace_existing = on;
        self
    }

    /// Accept a legacy file readable by others.
    #[must_use]
    pub const fn allow_shared_mode(mut self, on: bool) -> Self {
        self.allow_shared_mode = on;
        self
    }
}

/// What an import found and did. Holds no secret.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct ImportReport {
    /// The permission bits of the source, in octal (`"0600"`).
    pub source_mode: Option<String>,
    /// Whether the source held an MFA secret.
    pub had_mfa_secret: bool,
    /// Whether the (kept) passphrase meets the vault's policy; if not, the application should
    /// ask the user to change it.
    pub passphrase_meets_policy: bool,
    /// The codes of the policy rules the passphrase misses (empty when it meets them).
    pub policy_violations: Vec<&'static str>,
    /// Whether the original was removed.
    pub original_removed: bool,
}

/// The fields of a legacy file: tokens, or `""` for "no value".
#[derive(Debug)]
pub(crate) struct LegacyFields {
    pub(crate) salt: Salt,
    pub(crate) email: String,
    pub(crate) password: String,
    pub(crate) mfa_secret: String,
}

#[derive(Deserialize)]
struct LegacyJson {
    encrypted: Option<bool>,
    salt: Option<String>,
    email: Option<String>,
    password: Option<String>,
    mfa_secret: Option<String>,
}

/// Eclosion's PBKDF2 cost, implicit in its files.
const LEGACY_ITERATIONS: u64 = 480_000;

pub(crate) fn parse_json(bytes: &[u8]) -> Result<LegacyFields, Error> {
    let raw: LegacyJson = serde_json::from_slice(bytes).map_err(|_| Error::LegacyFormat {
        reason: "not a JSON object with string fields",
    })?;
    match raw.encrypted {
        Some(true) => {}
        Some(false) => return Err(Error::LegacyUnencrypted),
        None => {
            return Err(Error::LegacyFormat {
                reason: "no \"encrypted\" field",
            });
        }
    }
    let salt = raw.salt.ok_or(Error::LegacyFormat {
        reason: "no salt: Eclosion has no credentials stored",
    })?;
    fields(&salt, raw.email, raw.password, raw.mfa_secret)
}

pub(crate) fn fields(
    salt: &str,
    email: Option<String>,
    password: Option<String>,
    mfa_secret: Option<String>,
) -> Result<LegacyFields, Error> {
    let salt = STANDARD.decode(salt).map_err(|_| Error::LegacyFormat {
        reason: "the salt is not standard base64",
    })?;
    let salt = Salt::from_slice(&salt).map_err(|_| Error::LegacyFormat {
        reason: "the salt is not 16 bytes",
    })?;
    Ok(LegacyFields {
        salt,
        email: email.ok_or(Error::LegacyFormat {
            reason: "no email field",
        })?,
        password: password.ok_or(Error::LegacyFormat {
            reason: "no password field",
        })?,
        mfa_secret: mfa_secret.unwrap_or_default(),
    })
}

impl LegacyFields {
    /// Derives the legacy key (480,000 iterations) and opens every field.
    /// The legacy key's parameters: 480,000 iterations and the file's salt.
    fn params(&self) -> Result<KdfParams, Error> {
        Ok(KdfParams::new(LEGACY_ITERATIONS, self.salt)?)
    }

    /// Opens every field with the legacy key.
    fn decrypt(&self, key: &FernetKey) -> Result<Credentials, Error> {
        let email = open_field(key, &self.email)?;
        let password = open_field(key, &self.password)?;
        let mfa = open_field(key, &self.mfa_secret)?;
        let creds = Credentials::new(email.as_str(), SecretString::from(password.as_str()));
        Ok(if mfa.is_empty() {
            creds
        } else {
            creds.with_mfa_secret(SecretString::from(mfa.as_str()))
        })
    }
}

fn open_field(key: &FernetKey, token: &str) -> Result<Zeroizing<String>, Error> {
    if token.is_empty() {
        return Ok(Zeroizing::new(String::new()));
    }
    let bytes = key.open(token)?;
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(Error::LegacyFormat {
            reason: "a field is not UTF-8 text",
        }),
    }
}

/// The legacy file for `creds`, exactly as Eclosion's `json.dump(indent=2)` writes it (keys
/// in Eclosion's order, no trailing newline).
pub(crate) fn export_json(
    key: &FernetKey,
    salt: &Salt,
    creds: &Credentials,
) -> Result<Vec<u8>, Error> {
    let seal = |value: &str| -> Result<String, Error> {
        if value.is_empty() {
            Ok(String::new())
        } else {
            Ok(key.seal(value.as_bytes())?)
        }
    };
    let fields = [
        ("salt", STANDARD.encode(salt.as_bytes())),
        ("email", seal(creds.email())?),
        ("password", seal(creds.password().expose_secret())?),
        (
            "mfa_secret",
            seal(creds.mfa_secret().map_or("", |s| s.expose_secret()))?,
        ),
    ];
    let mut out = String::from("{\n  \"encrypted\": true,\n  \"version\": \"1.0\"");
    for (name, value) in fields {
        let value = serde_json::to_string(&value).map_err(|_| Error::LegacyFormat {
            reason: "a field could not be serialised",
        })?;
        out.push_str(&format!(",\n  \"{name}\": {value}"));
    }
    out.push_str("\n}");
    Ok(out.into_bytes())
}

impl Vault {
    /// Migrates Eclosion's legacy `credentials.json` into this vault in one call: opens it
    /// with `passphrase`, re-seals the credentials as one token under a fresh salt and the
    /// vault's KDF cost, and leaves the vault unlocked. The passphrase stays the same; the
    /// report says whether it meets this vault's policy. See the
    /// [module docs](crate::eclosion) for the permission check on the source.
    ///
    /// ```
    /// use credlock::eclosion::ImportOptions;
    /// use credlock::secrecy::SecretString;
    /// use credlock::{SessionState, Vault};
    ///
    /// # let dir = tempfile::tempdir()?;
    /// # let legacy = dir.path().join("credentials.json");
    /// # let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/eclosion/credentials.json");
    /// # std::fs::copy(fixture, &legacy).map_err(|e| format!("test data file {fixture}: {e}"))?;
    /// # std::fs::set_permissions(&legacy, std::os::unix::fs::PermissionsExt::from_mode(0o600))?;
    /// let vault = Vault::open(dir.path().join("vault.json"))?;
    /// let report = vault.import_eclosion(
    ///     &legacy,
    ///     &SecretString::from("Correct-Horse-9-Battery!"),
    ///     &ImportOptions::new(),
    /// )?;
    /// assert_eq!(vault.status(), SessionState::Unlocked);
    /// assert!(report.had_mfa_secret && !report.original_removed);
    /// assert!(legacy.exists()); // the original is left alone unless asked
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::VaultExists`] if this vault holds credentials and
    ///   [`ImportOptions::replace_existing`] is not set;
    /// - [`Error::Storage`] if the source is missing, a symlink, not a regular file, too
    ///   large, or readable by others;
    /// - [`Error::LegacyUnencrypted`] for a plaintext (`"encrypted": false`) file;
    ///   [`Error::LegacyFormat`] for anything else malformed;
    /// - [`Error::WrongPassphrase`] (counted towards the lockout), [`Error::LockedOut`];
    /// - the storage errors of [`Vault::store`]. The source is never modified, and is removed
    ///   (when asked) only after the new vault is written.
    pub fn import_eclosion(
        &self,
        legacy: impl AsRef<Path>,
        passphrase: &SecretString,
        options: &ImportOptions,
    ) -> Result<ImportReport, Error> {
        let legacy = legacy.as_ref();
        self.check_import_allowed(options)?;
        let read = ReadOptions::new().require_private_mode(!options.allow_shared_mode);
        let bytes = credlock_store::read_checked(legacy, &read)?;
        let fields = parse_json(&bytes)?;
        let mode = file_mode(legacy);
        self.import_fields(&fields, mode, legacy, passphrase, options)
    }

    pub(crate) fn check_import_allowed(&self, options: &ImportOptions) -> Result<(), Error> {
        if !options.replace_existing && self.status() != SessionState::NoCredentials {
            return Err(Error::VaultExists { path: self.path() });
        }
        Ok(())
    }

    pub(crate) fn import_fields(
        &self,
        fields: &LegacyFields,
        source_mode: Option<u32>,
        source: &Path,
        passphrase: &SecretString,
        options: &ImportOptions,
    ) -> Result<ImportReport, Error> {
        let creds =
            self.test_passphrase(Attempt::Import, passphrase, &fields.params()?, |key| {
                fields.decrypt(&key)
            })?;
        let had_mfa_secret = creds.mfa_secret().is_some();
        let copy = || SecretString::from(passphrase.expose_secret().to_owned());
        let policy_violations = match self.check_passphrase(copy(), creds.email()) {
            Ok(_) => Vec::new(),
            Err(v) => v.iter().map(credlock_policy::Violation::code).collect(),
        };
        // The passphrase stays the user's Eclosion passphrase: the report says whether it
        // meets the policy, and the import does not refuse it.
        let pass = ValidPassphrase::insecure_unchecked(copy());
        self.write_sealed(creds, &pass, options.replace_existing)?;
        self.audit(EventKind::Imported, Outcome::Success, |e| e)?;
        let original_removed = options.remove_original && remove_durably(source)?;
        Ok(ImportReport {
            source_mode: source_mode.map(|m| format!("{m:04o}")),
            had_mfa_secret,
            passphrase_meets_policy: policy_violations.is_empty(),
            policy_violations,
            original_removed,
        })
    }

    /// Writes the unlocked credentials to `dest` in Eclosion's legacy format (a new file,
    /// written 0600 by atomic replace), readable by Eclosion and by Python's `cryptography`.
    /// `passphrase` must be this vault's passphrase: the legacy file is keyed by it, with the
    /// legacy cost of 480,000 iterations (the vault's own key and salt are reused when its
    /// cost is exactly that; otherwise a fresh salt is drawn).
    ///
    /// # Errors
    ///
    /// [`Error::Locked`]/[`Error::NoCredentials`] unless unlocked; [`Error::WrongPassphrase`]
    /// if `passphrase` is not this vault's (counted towards the lockout);
    /// [`Error::DestinationExists`] if `dest` exists; [`Error::Storage`] if writing fails.
    pub fn export_eclosion(
        &self,
        dest: impl AsRef<Path>,
        passphrase: &SecretString,
    ) -> Result<(), Error> {
        let dest = dest.as_ref();
        self.expire_idle();
        let (creds, params) = {
            let state = self.shared().state();
            let creds = state.session.record(self.now())?.duplicate();
            (creds, state.params.ok_or(Error::Locked)?)
        };
        let key = self.test_passphrase(Attempt::Export, passphrase, &params, |key| {
            let state = self.shared().state();
            // A lock() that landed during the derivation wins; it is not a wrong guess.
            let current = state
                .session
                .key(self.now())
                .map_err(|_| Error::Interrupted)?;
            if &key == current {
                Ok(key)
            } else {
                Err(Error::WrongPassphrase)
            }
        })?;
        let legacy = if u64::from(params.iterations()) == LEGACY_ITERATIONS {
            (key, *params.salt())
        } else {
            // The passphrase is proven right: derive the legacy key under a fresh salt.
            let params = KdfParams::new(LEGACY_ITERATIONS, Salt::random()?)?;
            let proven = ValidPassphrase::insecure_unchecked(SecretString::from(
                passphrase.expose_secret().to_owned(),
            ));
            (
                self.options().deriver.derive_new(&proven, &params)?,
                *params.salt(),
            )
        };
        let bytes = export_json(&legacy.0, &legacy.1, &creds)?;
        let store = FileStore::open(dest)?;
        let _guard = store.lock()?;
        if store.describe().present {
            return Err(Error::DestinationExists {
                path: dest.to_path_buf(),
            });
        }
        store.save(&bytes)?;
        self.audit(EventKind::Exported, Outcome::Success, |e| e)
    }
}

pub(crate) fn file_mode(path: &Path) -> Option<u32> {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

/// Removes `path` and syncs its directory, so the removal survives a crash.
fn remove_durably(path: &Path) -> Result<bool, Error> {
    let storage = |e: std::io::Error| Error::Storage(crate::error::StorageError::io(path, e));
    std::fs::remove_file(path).map_err(storage)?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(storage)?;
    Ok(true)
}
