//! Eclosion's legacy `credentials.json`: parse, decrypt, migrate, export.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use credlock_crypto::{FernetKey, KdfAlgorithm, KdfParams, Normalization, Salt};
use credlock_policy::ValidPassphrase;
use credlock_session::SessionState;
use credlock_store::ReadOptions;
use secrecy::{ExposeSecret as _, SecretString};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::audit::{EventKind, Outcome};
use crate::credentials::Credentials;
use crate::error::Error;
use crate::credentials::{ECLOSION_NOTES_KEY, Extras};
use crate::vault::gate::Attempt;
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
    /// The columns of Eclosion's database (as `table.column`) whose values the vault keeps
    /// as opaque sealed extras, so that `Vault::export_eclosion_sqlite` (feature
    /// `eclosion-sqlite`) restores them: `credentials.notes_key_encrypted` (Eclosion's key
    /// for the user's notes), `credentials.created_at`, `credentials.updated_at`, each when
    /// it holds a value. Empty for the legacy JSON file.
    pub kept_as_extras: Vec<String>,
    /// The columns of Eclosion's `credentials` table (as `credentials.column`) whose values
    /// were not carried into the vault: any column beyond Eclosion's own. `id` and `salt`
    /// frame the row and are not data. Empty for the legacy JSON file.
    pub columns_not_carried: Vec<String>,
    /// The tables of Eclosion's database that were not carried into the vault (everything
    /// but `credentials`: the notes, the automation credentials, the tracker's state…), by
    /// name. They stay in Eclosion's database, which the import never changes. Empty for the
    /// legacy JSON file.
    pub tables_not_carried: Vec<String>,
}

/// The fields of a legacy file: tokens, or `""` for "no value".
#[derive(Debug)]
pub(crate) struct LegacyFields {
    pub(crate) salt: Salt,
    pub(crate) email: String,
    pub(crate) password: String,
    pub(crate) mfa_secret: String,
    /// Eclosion's notes key token (database only): `None` or `""` for none.
    pub(crate) notes_key: Option<String>,
    /// Values kept as they are (the database's timestamps).
    pub(crate) plain_extras: Extras,
}

#[derive(Deserialize)]
struct LegacyJson {
    salt: Option<String>,
    email: Option<String>,
    password: Option<String>,
    mfa_secret: Option<String>,
}

/// Eclosion's PBKDF2 cost, implicit in its files.
const LEGACY_ITERATIONS: u64 = 480_000;

pub(crate) fn parse_json(bytes: &[u8]) -> Result<LegacyFields, Error> {
    let value: serde_json::Value =
        serde_json::from_slice(bytes).map_err(|_| Error::LegacyFormat { reason: "not JSON" })?;
    let Some(object) = value.as_object() else {
        return Err(Error::LegacyFormat {
            reason: "not a JSON object",
        });
    };
    // Eclosion reads a file whose "encrypted" is missing or false (in Python's sense: also
    // null, 0 or "") as plaintext credentials, whatever their shape: so does this check,
    // before any other field is looked at.
    let encrypted = match object.get("encrypted") {
        None | Some(serde_json::Value::Null) => false,
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::Number(n)) => n.as_f64() != Some(0.0),
        Some(serde_json::Value::String(t)) => !t.is_empty(),
        Some(serde_json::Value::Array(a)) => !a.is_empty(),
        Some(serde_json::Value::Object(o)) => !o.is_empty(),
    };
    if !encrypted {
        return Err(Error::LegacyUnencrypted);
    }
    let raw: LegacyJson = serde_json::from_value(value).map_err(|_| Error::LegacyFormat {
        reason: "the salt, email, password and mfa_secret fields are not strings",
    })?;
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
        notes_key: None,
        plain_extras: Extras::default(),
    })
}

impl LegacyFields {
    /// Derives the legacy key (480,000 iterations) and opens every field.
    /// The legacy key's parameters: 480,000 iterations and the file's salt.
    fn params(&self) -> Result<KdfParams, Error> {
        Ok(KdfParams::new(LEGACY_ITERATIONS, self.salt)?)
    }

    /// Opens every field with the legacy key.
    pub(crate) fn decrypt(&self, key: &FernetKey) -> Result<Credentials, Error> {
        let email = open_field(key, &self.email)?;
        let password = open_field(key, &self.password)?;
        let mfa = open_field(key, &self.mfa_secret)?;
        let mut extras = self.plain_extras.duplicate();
        if let Some(token) = self.notes_key.as_deref().filter(|t| !t.is_empty()) {
            // The credentials opened with this key, so a notes key that does not is damage,
            // not a wrong passphrase.
            let notes_key = open_field(key, token).map_err(|e| match e {
                Error::WrongPassphrase => Error::EclosionDatabase {
                    reason: "the notes key does not open with the key that opens the credentials",
                },
                other => other,
            })?;
            extras.insert(ECLOSION_NOTES_KEY, &notes_key);
        }
        let creds = Credentials::new(email.as_str(), SecretString::from(password.as_str()));
        let creds = if mfa.is_empty() {
            creds
        } else {
            creds.with_mfa_secret(SecretString::from(mfa.as_str()))
        };
        Ok(creds.with_extras(extras))
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
    /// - [`Error::ImportWouldReplace`] if this vault holds credentials and
    ///   [`ImportOptions::replace_existing`] is not set;
    /// - [`Error::Storage`] if the source is missing, a symlink, not a regular file, too
    ///   large, or readable by others;
    /// - [`Error::LegacyUnencrypted`] for a plaintext (`"encrypted": false`) file;
    ///   [`Error::LegacyFormat`] for anything else malformed;
    /// - [`Error::EclosionWrongPassphrase`] if the passphrase does not open the file
    ///   (counted towards the lockout), [`Error::LockedOut`];
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
        // A missing file (or directory) is named as the path given, not with the advice the
        // store gives for a vault's directory.
        std::fs::symlink_metadata(legacy)
            .map_err(|e| Error::Storage(crate::error::StorageError::io(legacy, e)))?;
        let read = ReadOptions::new().require_private_mode(!options.allow_shared_mode);
        let bytes = credlock_store::read_checked(legacy, &read)?;
        let fields = parse_json(&bytes)?;
        let mode = file_mode(legacy);
        let source = Source {
            path: legacy,
            mode,
            what: "Eclosion's credentials file",
            database: false,
        };
        self.import_fields(&fields, &source, passphrase, options)
    }

    pub(crate) fn check_import_allowed(&self, options: &ImportOptions) -> Result<(), Error> {
        if !options.replace_existing && self.status() != SessionState::NoCredentials {
            return Err(Error::ImportWouldReplace { path: self.path() });
        }
        Ok(())
    }

    pub(crate) fn import_fields(
        &self,
        fields: &LegacyFields,
        source: &Source<'_>,
        passphrase: &SecretString,
        options: &ImportOptions,
    ) -> Result<ImportReport, Error> {
        let creds = self
            .test_passphrase(Attempt::Import, passphrase, &fields.params()?, |key| {
                fields.decrypt(&key)
            })
            .map_err(|e| source.name_in(e))?;
        let had_mfa_secret = creds.mfa_secret().is_some();
        let copy = || SecretString::from(passphrase.expose_secret().to_owned());
        let policy_violations = match self.check_passphrase(copy(), creds.email()) {
            Ok(_) => Vec::new(),
            Err(v) => v.iter().map(credlock_policy::Violation::code).collect(),
        };
        // The passphrase stays the user's Eclosion passphrase: the report says whether it
        // meets the policy, and the import does not refuse it.
        let pass = ValidPassphrase::insecure_unchecked(copy());
        // Kept as Eclosion hashed it (raw bytes) until an upgrade or a passphrase change.
        let params = self.options().new_kdf_params()?;
        let params = params.with_normalization(Normalization::None);
        self.write_sealed_with(creds, &pass, options.replace_existing, params)
            .map_err(|e| match e {
                // A vault that appeared since the check: the import's own option applies.
                Error::VaultExists { path } => Error::ImportWouldReplace { path },
                other => other,
            })?;
        self.audit(EventKind::Imported, Outcome::Success, |e| e)?;
        let original_removed = options.remove_original && remove_durably(source.path)?;
        Ok(ImportReport {
            source_mode: source.mode.map(|m| format!("{m:04o}")),
            had_mfa_secret,
            passphrase_meets_policy: policy_violations.is_empty(),
            policy_violations,
            original_removed,
            kept_as_extras: Vec::new(),
            columns_not_carried: Vec::new(),
            tables_not_carried: Vec::new(),
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
    /// [`Error::DestinationExists`] if `dest` exists (nothing is written or left behind);
    /// [`Error::Storage`] if writing fails.
    pub fn export_eclosion(
        &self,
        dest: impl AsRef<Path>,
        passphrase: &SecretString,
    ) -> Result<(), Error> {
        let dest = dest.as_ref();
        let (creds, key, salt) = self.legacy_key_for_export(passphrase)?;
        let bytes = export_json(&key, &salt, &creds)?;
        write_new_private(dest, &bytes)?;
        self.audit(EventKind::Exported, Outcome::Success, |e| e)
    }

    /// For an export: the unlocked credentials, and the legacy key (480,000 iterations) and
    /// salt for `passphrase`, once the gate has proven it is this vault's.
    pub(crate) fn legacy_key_for_export(
        &self,
        passphrase: &SecretString,
    ) -> Result<(Credentials, FernetKey, Salt), Error> {
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
        // Eclosion derives PBKDF2 at 480,000 iterations over the raw bytes: only such a key
        // can be reused; any other (Argon2id, another count, NFKC) is derived again.
        Ok(
            if u64::from(params.iterations()) == LEGACY_ITERATIONS
                && params.algorithm() == KdfAlgorithm::Pbkdf2HmacSha256
                && params.normalization() == Normalization::None
            {
                (creds, key, *params.salt())
            } else {
                // The passphrase is proven right: derive the legacy key under a fresh salt.
                let params = KdfParams::new(LEGACY_ITERATIONS, Salt::random()?)?;
                let proven = ValidPassphrase::insecure_unchecked(SecretString::from(
                    passphrase.expose_secret().to_owned(),
                ));
                (
                    creds,
                    self.options().deriver.derive_new(&proven, &params)?,
                    *params.salt(),
                )
            },
        )
    }
}

/// The Eclosion source of an import, for the report and the messages.
pub(crate) struct Source<'a> {
    pub(crate) path: &'a Path,
    pub(crate) mode: Option<u32>,
    /// How messages name it: "Eclosion's credentials file", "Eclosion's database".
    pub(crate) what: &'static str,
    /// Whether it is Eclosion's SQLite database (not the legacy file).
    pub(crate) database: bool,
}

impl Source<'_> {
    /// `e`, naming this source: a wrong passphrase (counted and audited by the gate as such)
    /// says what it did not open, and a format error about the database says "database".
    pub(crate) fn name_in(&self, e: Error) -> Error {
        match e {
            Error::WrongPassphrase => Error::EclosionWrongPassphrase { what: self.what },
            Error::LegacyFormat { reason } if self.database => Error::EclosionDatabase { reason },
            other => other,
        }
    }
}

/// Writes `bytes` to `dest`, which must not exist: a 0600 temporary file in the same
/// directory (created with that mode, no later chmod), synced, then linked into place
/// without replacing anything, and the directory synced. Nothing is left behind when `dest`
/// exists (no lock file, no temporary file). A missing directory is created 0700.
pub(crate) fn write_new_private(dest: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write as _;
    use std::os::unix::fs::DirBuilderExt as _;
    let storage = |e: std::io::Error| Error::Storage(crate::error::StorageError::io(dest, e));
    let exists = || Error::DestinationExists {
        path: dest.to_path_buf(),
    };
    if std::fs::symlink_metadata(dest).is_ok() {
        return Err(exists());
    }
    let dir = parent_dir(dest);
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(storage)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".credlock-export-")
        .tempfile_in(dir)
        .map_err(storage)?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(storage)?;
    tmp.persist_noclobber(dest).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            exists()
        } else {
            storage(e.error)
        }
    })?;
    sync_dir(dir).map_err(storage)
}

pub(crate) fn parent_dir(path: &Path) -> &Path {
    path.parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

pub(crate) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir).and_then(|d| d.sync_all())
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
    sync_dir(parent_dir(path)).map_err(storage)?;
    Ok(true)
}
