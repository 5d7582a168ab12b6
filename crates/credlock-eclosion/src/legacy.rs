//! Eclosion's legacy `credentials.json`: parse, decrypt, migrate, export.

use std::collections::BTreeMap;
use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use credlock::crypto::{FernetKey, KdfParams, Salt};
use credlock::migrate::{ExportKey, MigrationError, Verdict};
use credlock::secrecy::{ExposeSecret as _, SecretString};
use credlock::totp::TotpSecret;
use credlock::{Credentials, StorageError, Vault};
use credlock_store::ReadOptions;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::error::Error;

/// The extra under which the vault keeps Eclosion's notes encryption key (the plaintext of
/// `credentials.notes_key_encrypted`).
pub(crate) const ECLOSION_NOTES_KEY: &str = "eclosion.notes_key";
/// The extra under which the vault keeps the `created_at` of Eclosion's credentials row.
#[cfg(feature = "sqlite")]
pub(crate) const ECLOSION_CREATED_AT: &str = "eclosion.created_at";
/// The extra under which the vault keeps the `updated_at` of Eclosion's credentials row.
#[cfg(feature = "sqlite")]
pub(crate) const ECLOSION_UPDATED_AT: &str = "eclosion.updated_at";

/// Eclosion's PBKDF2 cost, implicit in its files.
pub(crate) const LEGACY_ITERATIONS: u32 = 480_000;

/// Values carried from Eclosion's database as they are (its timestamps), by extra name.
pub(crate) type Extras = BTreeMap<&'static str, Zeroizing<String>>;

/// How an Eclosion import behaves. The default is strict and non-destructive.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ImportOptions {
    /// Remove the original file after the new vault is durably written. Default: keep it.
    pub remove_original: bool,
    /// Replace a credlock vault that already holds credentials. Default: refuse.
    pub replace_existing: bool,
    /// Accept a legacy file with group/other permission bits (see the
    /// [crate docs](crate)). Default: refuse it, as for a vault.
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
    /// Whether the source held an MFA secret. It is kept byte for byte whatever it is: the
    /// fields below say whether it gives TOTP codes.
    pub had_mfa_secret: bool,
    /// Whether the kept MFA secret gives TOTP codes ([`Vault::totp`]): it is base32 (or an
    /// `otpauth://totp/` URI) of at least one byte, as `oathtool` reads it. False when there
    /// is no MFA secret.
    pub mfa_secret_usable: bool,
    /// Why a kept MFA secret gives no codes, in a few words (the TOTP parser's reason, such
    /// as "the secret is not base32"; never the secret). [`Vault::totp`] fails with
    /// [`credlock::Error::InvalidMfaSecret`] and the same reason. The credentials were
    /// imported all the same; the application may ask the user for the secret again (and
    /// store it with [`Vault::update_credentials`]).
    pub mfa_secret_problem: Option<&'static str>,
    /// A warning about an MFA secret that gives codes: set when its key is shorter than the
    /// 128 bits RFC 4226 asks for (the service's codes work, but such a key is easier to
    /// guess; the service may issue a longer one).
    pub mfa_secret_warning: Option<&'static str>,
    /// The length in bits of the key of an MFA secret that gives codes (40 for 8 base32
    /// characters).
    pub mfa_secret_key_bits: Option<usize>,
    /// Whether the (kept) passphrase meets the vault's policy; if not, the application should
    /// ask the user to change it.
    pub passphrase_meets_policy: bool,
    /// The codes of the policy rules the passphrase misses (empty when it meets them).
    pub policy_violations: Vec<&'static str>,
    /// Whether the original was removed.
    pub original_removed: bool,
    /// The columns of Eclosion's database (as `table.column`) whose values the vault keeps
    /// as opaque sealed extras, so that `Vault::export_eclosion_sqlite` (feature
    /// `sqlite`) restores them: `credentials.notes_key_encrypted` (Eclosion's key
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
        plain_extras: Extras::new(),
    })
}

impl LegacyFields {
    /// The legacy key's parameters: 480,000 iterations and the file's salt (PBKDF2 over
    /// the passphrase's raw bytes, as Eclosion derives it).
    pub(crate) fn params(&self) -> Result<KdfParams, Error> {
        KdfParams::new(u64::from(LEGACY_ITERATIONS), self.salt).map_err(|e| Error::Vault(e.into()))
    }

    /// Opens every field with the legacy key the vault's gate derived: a key that does not
    /// open the credentials is a wrong passphrase.
    pub(crate) fn decrypt(&self, key: &FernetKey) -> Result<Credentials, Verdict<Error>> {
        let email = open_field(key, &self.email)?;
        let password = open_field(key, &self.password)?;
        let mfa = open_field(key, &self.mfa_secret)?;
        let mut creds = Credentials::new(email.as_str(), SecretString::from(password.as_str()));
        if !mfa.is_empty() {
            creds = creds.with_mfa_secret(SecretString::from(mfa.as_str()));
        }
        for (name, value) in &self.plain_extras {
            creds = creds.with_extra(name, value);
        }
        if let Some(token) = self.notes_key.as_deref().filter(|t| !t.is_empty()) {
            // The credentials opened with this key, so a notes key that does not is damage,
            // not a wrong passphrase.
            let notes_key = open_field(key, token).map_err(|verdict| match verdict {
                Verdict::WrongKey => Verdict::Foreign(Error::Database {
                    reason: "the notes key does not open with the key that opens the credentials",
                }),
                other => other,
            })?;
            creds = creds.with_extra(ECLOSION_NOTES_KEY, &notes_key);
        }
        Ok(creds)
    }
}

fn open_field(key: &FernetKey, token: &str) -> Result<Zeroizing<String>, Verdict<Error>> {
    if token.is_empty() {
        return Ok(Zeroizing::new(String::new()));
    }
    let bytes = key
        .open(token)
        .map_err(|e| match credlock::Error::from(e) {
            credlock::Error::WrongPassphrase => Verdict::WrongKey,
            other => Verdict::Foreign(Error::Vault(other)),
        })?;
    match std::str::from_utf8(&bytes) {
        Ok(text) => Ok(Zeroizing::new(text.to_owned())),
        Err(_) => Err(Verdict::Foreign(Error::LegacyFormat {
            reason: "a field is not UTF-8 text",
        })),
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
            key.seal(value.as_bytes())
                .map_err(|e| Error::Vault(e.into()))
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

/// [`EclosionExt::import_eclosion`](crate::EclosionExt::import_eclosion).
pub(crate) fn import(
    vault: &Vault,
    legacy: &Path,
    passphrase: &SecretString,
    options: &ImportOptions,
) -> Result<ImportReport, Error> {
    check_import_allowed(vault, options)?;
    // A missing file (or directory) is named as the path given, not with the advice the
    // store gives for a vault's directory.
    std::fs::symlink_metadata(legacy).map_err(|e| storage(legacy, e))?;
    let read = ReadOptions::new().require_private_mode(!options.allow_shared_mode);
    let bytes = credlock_store::read_checked(legacy, &read).map_err(credlock::Error::from)?;
    let fields = parse_json(&bytes)?;
    let mode = file_mode(legacy);
    let source = Source {
        path: legacy,
        mode,
        what: "Eclosion's credentials file",
        database: false,
    };
    import_fields(vault, &fields, &source, passphrase, options)
}

/// Refuses an import over credentials the vault holds unless asked to replace them, before
/// anything is read.
pub(crate) fn check_import_allowed(vault: &Vault, options: &ImportOptions) -> Result<(), Error> {
    vault
        .ensure_importable(options.replace_existing)
        .map_err(would_replace)
}

/// The vault's "a vault is already there", as the import's own option names it.
fn would_replace(e: credlock::Error) -> Error {
    match e {
        credlock::Error::VaultExists { path } => Error::ImportWouldReplace { path },
        other => Error::Vault(other),
    }
}

/// Imports `fields` through the vault's migration joint: the gate derives the legacy key
/// (counted against the lockout) and the fields are opened with it, then sealed in the
/// vault under the same passphrase.
pub(crate) fn import_fields(
    vault: &Vault,
    fields: &LegacyFields,
    source: &Source<'_>,
    passphrase: &SecretString,
    options: &ImportOptions,
) -> Result<ImportReport, Error> {
    let params = fields.params()?;
    vault
        .import_foreign(passphrase, &params, options.replace_existing, |key| {
            fields.decrypt(key)
        })
        .map_err(|e| match e {
            MigrationError::Foreign(e) => source.name_in(e),
            MigrationError::Vault(e) => source.name_in(would_replace(e)),
        })?;
    let creds = vault.credentials()?;
    let had_mfa_secret = creds.mfa_secret().is_some();
    let mfa = MfaSecretReport::of(&creds);
    let copy = SecretString::from(passphrase.expose_secret().to_owned());
    // The passphrase stays the user's Eclosion passphrase: the report says whether it
    // meets the policy, and the import does not refuse it.
    let policy_violations = match vault.check_passphrase(copy, creds.email()) {
        Ok(_) => Vec::new(),
        Err(v) => v.iter().map(credlock::Violation::code).collect(),
    };
    let original_removed = options.remove_original && remove_durably(source.path)?;
    Ok(ImportReport {
        source_mode: source.mode.map(|m| format!("{m:04o}")),
        had_mfa_secret,
        mfa_secret_usable: mfa.usable,
        mfa_secret_problem: mfa.problem,
        mfa_secret_warning: mfa.warning,
        mfa_secret_key_bits: mfa.key_bits,
        passphrase_meets_policy: policy_violations.is_empty(),
        policy_violations,
        original_removed,
        kept_as_extras: Vec::new(),
        columns_not_carried: Vec::new(),
        tables_not_carried: Vec::new(),
    })
}

/// What the import report says of the MFA secret kept.
struct MfaSecretReport {
    usable: bool,
    problem: Option<&'static str>,
    warning: Option<&'static str>,
    key_bits: Option<usize>,
}

/// The warning for a key shorter than RFC 4226's 128 bits.
pub(crate) const SHORT_KEY_WARNING: &str = "the MFA secret's key is shorter than the 128 bits \
     RFC 4226 asks for: it gives the service's codes, but a longer one is harder to guess";

impl MfaSecretReport {
    fn of(creds: &Credentials) -> Self {
        let parsed = creds
            .mfa_secret()
            .map(|s| TotpSecret::parse(s.expose_secret()));
        match parsed {
            None => Self {
                usable: false,
                problem: None,
                warning: None,
                key_bits: None,
            },
            Some(Ok(secret)) => Self {
                usable: true,
                problem: None,
                warning: secret
                    .is_below_rfc4226_minimum()
                    .then_some(SHORT_KEY_WARNING),
                key_bits: Some(secret.key_bits()),
            },
            Some(Err(e)) => Self {
                usable: false,
                problem: Some(e.reason()),
                warning: None,
                key_bits: None,
            },
        }
    }
}

/// [`EclosionExt::export_eclosion`](crate::EclosionExt::export_eclosion).
pub(crate) fn export(vault: &Vault, dest: &Path, passphrase: &SecretString) -> Result<(), Error> {
    vault
        .export_foreign(passphrase, LEGACY_ITERATIONS, None, |proven: &ExportKey| {
            let bytes = export_json(&proven.key, proven.params.salt(), &proven.credentials)?;
            write_new_private(dest, &bytes)
        })
        .map_err(from_migration)
}

/// A migration's failure as this crate's error.
pub(crate) fn from_migration(e: MigrationError<Error>) -> Error {
    match e {
        MigrationError::Foreign(e) => e,
        MigrationError::Vault(e) => Error::Vault(e),
    }
}

/// An I/O failure at `path`, as the vault classifies its own.
pub(crate) fn storage(path: &Path, e: std::io::Error) -> Error {
    Error::Vault(credlock::Error::Storage(StorageError::io(path, e)))
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
            Error::Vault(credlock::Error::WrongPassphrase) => {
                Error::WrongPassphrase { what: self.what }
            }
            Error::LegacyFormat { reason } if self.database => Error::Database { reason },
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
    let io = |e: std::io::Error| storage(dest, e);
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
        .map_err(io)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".credlock-export-")
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(io)?;
    tmp.persist_noclobber(dest).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            exists()
        } else {
            io(e.error)
        }
    })?;
    sync_dir(dir).map_err(io)
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
    let io = |e: std::io::Error| storage(path, e);
    std::fs::remove_file(path).map_err(io)?;
    sync_dir(parent_dir(path)).map_err(io)?;
    Ok(true)
}
