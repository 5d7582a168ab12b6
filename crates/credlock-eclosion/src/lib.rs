//! Compatibility with Eclosion's credential storage: import (migrate) into a credlock vault,
//! and export back. It stands above the `credlock` facade and uses only its public API: the
//! passphrase goes through the vault's gate and lockout ([`credlock::migrate`]), and this
//! crate never derives a key itself. [`EclosionExt`] adds the methods to
//! [`Vault`]: `use credlock_eclosion::EclosionExt as _;`.
//!
//! Eclosion's legacy `credentials.json` holds a standard-base64 salt and one Fernet token per
//! field (email, password, MFA secret), all under PBKDF2-HMAC-SHA256 with an implicit
//! 480,000 iterations; an empty string means "no value". Its current SQLite store
//! (`eclosion.db`, table `credentials`, row 1) keeps the same encoding in columns, with the
//! MFA secret NULL when there is none, plus Eclosion's notes key (`notes_key_encrypted`,
//! another token under the same key) and `created_at`/`updated_at`. With the
//! `sqlite` feature, `Vault::import_eclosion_sqlite` reads it and
//! `Vault::export_eclosion_sqlite` writes the credentials back into it (never into a database
//! of its own making: Eclosion starts on none); which Eclosion versions read what credlock
//! writes is in the README's interoperability section.
//!
//! # The MFA secret moves as Eclosion stored it
//!
//! Eclosion stores whatever MFA secret the finance service issued. An import keeps it byte for
//! byte, whatever it is, and never fails because of it: [`ImportReport::mfa_secret_usable`]
//! says whether it gives TOTP codes, [`ImportReport::mfa_secret_problem`] why not (such as
//! "the secret is not base32" for a quoted or escaped secret, or "the secret's base32 length
//! is impossible"), and [`ImportReport::mfa_secret_warning`] whether a usable key is shorter
//! than the 128 bits RFC 4226 asks for (an 8-character base32 secret is 40 bits: it gives the
//! codes `oathtool`, and so Eclosion's login, computes). An export writes the secret back as it
//! was kept. A secret a user types is still checked: `Vault::store` refuses one that is
//! not base32 or an `otpauth://` URI.
//!
//! [`EclosionExt::import_eclosion`] migrates such a file into a
//! credlock vault in one call: it decrypts the fields with the user's passphrase and
//! re-seals them as ONE token under a fresh salt. The original is left untouched unless
//! [`ImportOptions::remove_original`] is set, and is removed only after the new vault is
//! durably written.
//!
//! # Permissions of the file being imported
//!
//! Importing reads a file that another program wrote, so it applies the same safety checks as
//! reading a vault: no symbolic link, a regular file, owned by the current user, at most
//! 1 MiB, **and private permissions (no group or other bits)** — Eclosion itself writes the
//! file 0600, so a wider mode means someone changed it and the secrets inside may have been
//! exposed. The error says so and how to fix it (`chmod 600`). An application that has
//! decided otherwise (a copy checked out by git is 0644, say) can relax only the mode check
//! with [`ImportOptions::allow_shared_mode`]. Eclosion never set a mode on its SQLite
//! database, so the SQLite import does not require one; [`ImportReport::source_mode`] reports
//! the mode found either way.
//!
//! # Reading Eclosion's database without leaving a trace
//!
//! Eclosion keeps its database in WAL mode. Opening such a database, even read-only, makes
//! SQLite create `eclosion.db-wal` and `eclosion.db-shm` beside it unless they exist already.
//! The SQLite import therefore picks the way it opens the database by what it finds, and
//! never writes to it:
//!
//! - a database in rollback-journal mode: `mode=ro` (a reader creates no file);
//! - a WAL database whose `-wal` and `-shm` both exist (Eclosion has it open): `mode=ro`,
//!   which uses them under SQLite's own locks and so sees Eclosion's latest commit;
//! - a WAL database with neither (nobody has it open, and the last connection checkpointed
//!   everything into the main file): `mode=ro&immutable=1`, which reads the main file alone.
//!   Such a read takes no lock, so the files are compared before and after it, and the read
//!   is done again (the way the files then call for) if Eclosion changed them meanwhile;
//! - anything else (a `-wal` left without its `-shm`, after a crash): a private copy of the
//!   database and its `-wal` in a fresh 0700 directory, which SQLite recovers there and which
//!   is deleted afterwards.
//!
//! What the vault keeps of the database is the credentials, and, as opaque extras sealed in
//! the same token, Eclosion's notes key and the row's timestamps, so that a later export
//! restores them; [`ImportReport`] names those columns, and every column and table that was
//! not carried.

#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

mod error;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
mod legacy;
#[cfg(feature = "sqlite")]
mod sqlite;

use std::path::Path;

use credlock::Vault;
use credlock::secrecy::SecretString;

pub use error::Error;
pub use legacy::{ImportOptions, ImportReport};
#[cfg(feature = "sqlite")]
pub use sqlite::DatabaseExportOptions;

/// Eclosion import and export as methods of [`Vault`]: `use credlock_eclosion::EclosionExt as _;`.
///
/// Every method that tests the passphrase goes through the vault's gate and lockout (see
/// [`credlock::migrate`]); a refused attempt derives nothing.
pub trait EclosionExt: sealed::Sealed {
    /// Migrates Eclosion's legacy `credentials.json` into this vault in one call: opens it
    /// with `passphrase`, re-seals the credentials as one token under a fresh salt and the
    /// vault's KDF cost, and leaves the vault unlocked. The passphrase stays the same; the
    /// report says whether it meets this vault's policy. See the
    /// [crate docs](crate) for the permission check on the source.
    ///
    /// ```
    /// use credlock_eclosion::ImportOptions;
    /// use credlock::secrecy::SecretString;
    /// use credlock::{SessionState, Vault};
    /// use credlock_eclosion::EclosionExt as _;
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
    /// assert!(report.mfa_secret_usable && report.mfa_secret_problem.is_none());
    /// assert!(legacy.exists()); // the original is left alone unless asked
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::ImportWouldReplace`] if this vault holds credentials and
    ///   [`ImportOptions::replace_existing`] is not set;
    /// - [`Error::Vault`] with a storage error if the source is missing, a symlink, not a regular file, too
    ///   large, or readable by others;
    /// - [`Error::LegacyUnencrypted`] for a plaintext (`"encrypted": false`) file;
    ///   [`Error::LegacyFormat`] for anything else malformed;
    /// - [`Error::WrongPassphrase`] if the passphrase does not open the file
    ///   (counted towards the lockout), the vault's [`credlock::Error::LockedOut`];
    /// - the storage errors of [`Vault::store`](credlock::Vault::store). The source is never modified, and is removed
    ///   (when asked) only after the new vault is written.
    ///
    /// What the file holds is kept, not refused: an MFA secret that gives no TOTP codes (not
    /// base32, an impossible length, quoted or escaped text) is imported byte for byte with
    /// the email and password, and reported ([`ImportReport::mfa_secret_usable`],
    /// [`ImportReport::mfa_secret_problem`]); a short one is imported and gives codes, with
    /// [`ImportReport::mfa_secret_warning`]. Never [`credlock::Error::InvalidMfaSecret`].
    fn import_eclosion(
        &self,
        legacy: impl AsRef<Path>,
        passphrase: &SecretString,
        options: &ImportOptions,
    ) -> Result<ImportReport, Error>;

    /// Writes the unlocked credentials to `dest` in Eclosion's legacy format (a new file,
    /// written 0600 by atomic replace), readable by Eclosion and by Python's `cryptography`.
    /// `passphrase` must be this vault's passphrase: the legacy file is keyed by it, with the
    /// legacy cost of 480,000 iterations (the vault's own key and salt are reused when its
    /// cost is exactly that; otherwise a fresh salt is drawn).
    ///
    /// # Errors
    ///
    /// [`credlock::Error::Locked`]/[`credlock::Error::NoCredentials`] unless unlocked; [`credlock::Error::WrongPassphrase`]
    /// if `passphrase` is not this vault's (counted towards the lockout);
    /// [`Error::DestinationExists`] if `dest` exists (nothing is written or left behind);
    /// [`Error::Vault`] with a storage error if writing fails.
    fn export_eclosion(
        &self,
        dest: impl AsRef<Path>,
        passphrase: &SecretString,
    ) -> Result<(), Error>;

    /// Migrates the credentials from Eclosion's SQLite database (`eclosion.db`) into this
    /// vault, as [`import_eclosion`](Self::import_eclosion) does for the legacy JSON file. The database is
    /// read without being changed and without creating any file beside it (see the
    /// [crate docs](crate#reading-eclosions-database-without-leaving-a-trace)),
    /// also while Eclosion has it open. Eclosion's notes key and the row's timestamps are
    /// kept in the vault as sealed extras, so [`export_eclosion_sqlite`](Self::export_eclosion_sqlite) restores
    /// them; the report names them, and every table and column that was not carried.
    ///
    /// Eclosion sets no permissions on its database, so no mode is required; the report
    /// gives the mode found. A symbolic link or a non-regular file is refused.
    ///
    /// ```
    /// use credlock::secrecy::SecretString;
    /// use credlock::Vault;
    /// use credlock_eclosion::{EclosionExt as _, ImportOptions};
    ///
    /// # let dir = tempfile::tempdir()?;
    /// # let db = dir.path().join("eclosion.db");
    /// # let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/eclosion/eclosion-current.db");
    /// # std::fs::copy(fixture, &db).map_err(|e| format!("test data file {fixture}: {e}"))?;
    /// let vault = Vault::open(dir.path().join("vault.json"))?;
    /// # let vault = Vault::builder(dir.path().join("vault.json")).insecure_kdf_iterations(1_000).open()?;
    /// let report = vault.import_eclosion_sqlite(
    ///     &db,
    ///     &SecretString::from("Correct-Horse-9-Battery!"),
    ///     &ImportOptions::new(),
    /// )?;
    /// assert!(report.kept_as_extras.contains(&"credentials.notes_key_encrypted".to_owned()));
    /// assert!(report.tables_not_carried.contains(&"notes".to_owned()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`import_eclosion`](Self::import_eclosion), with [`Error::WrongPassphrase`] naming the
    /// database; [`Error::Database`] if it is not an SQLite database, has no
    /// `credentials` table with Eclosion's columns, or no row 1 (Eclosion holds no
    /// credentials); [`Error::InvalidOption`] (`remove_original`) if
    /// [`ImportOptions::remove_original`] is set: Eclosion's database holds its other data
    /// too, so the import never removes it.
    ///
    /// As for the legacy file, the MFA secret is kept byte for byte whatever it is, and
    /// reported rather than refused (see [`import_eclosion`](Self::import_eclosion)): never
    /// [`credlock::Error::InvalidMfaSecret`].
    #[cfg(feature = "sqlite")]
    fn import_eclosion_sqlite(
        &self,
        database: impl AsRef<Path>,
        passphrase: &SecretString,
        options: &ImportOptions,
    ) -> Result<ImportReport, Error>;

    /// Writes the unlocked credentials into Eclosion's SQLite store, `eclosion.db`, as
    /// Eclosion's own `save()` does: the `credentials` row 1 with a standard-base64 salt and
    /// one Fernet token per field under the passphrase's key at Eclosion's 480,000
    /// iterations (the vault's own key and salt when its cost is exactly that), the MFA
    /// secret NULL when there is none, Eclosion's notes key when the vault was imported from
    /// a database that had one, `created_at` as imported (or now) and `updated_at` now.
    ///
    /// `database` must be the database Eclosion made (its `eclosion.db`): the row is written
    /// in one transaction, which refuses a database that already holds credentials unless
    /// [`DatabaseExportOptions::replace_existing`] is set, and the rest of the database is not
    /// touched, so Eclosion starts on it as it did before. The export never makes a new
    /// database: Eclosion v1.3.10 starts on none that holds only its `credentials` table
    /// (its inline start-up stops with "no such table: categories", its Alembic start-up with
    /// "table credentials already exists"), so a missing one is refused with
    /// [`Error::NoEclosionDatabase`], which says to start Eclosion once and export into the
    /// database it creates (see the README's interoperability section).
    ///
    /// `passphrase` must be this vault's passphrase (tested through the lockout, as for
    /// [`export_eclosion`](Self::export_eclosion)). The MFA secret is written as the vault
    /// keeps it (byte for byte as imported).
    ///
    /// ```
    /// use credlock_eclosion::{DatabaseExportOptions, EclosionExt as _, ImportOptions};
    /// use credlock::secrecy::SecretString;
    /// use credlock::{Credentials, Policy, Vault};
    ///
    /// # let dir = tempfile::tempdir()?;
    /// # let open = |p: std::path::PathBuf| Vault::builder(p).insecure_kdf_iterations(1_000).open();
    /// let vault = Vault::open(dir.path().join("vault.json"))?;
    /// # let vault = open(dir.path().join("vault.json"))?;
    /// let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    ///
    /// // The database Eclosion made (here a copy of one Eclosion 1.3.10 wrote), whose
    /// // credentials the export replaces.
    /// let db = dir.path().join("eclosion.db");
    /// # let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/eclosion/eclosion-1.3.10.db");
    /// # std::fs::copy(fixture, &db).map_err(|e| format!("test data file {fixture}: {e}"))?;
    /// let pass = SecretString::from("Tangerine-Rocket-42!");
    /// let options = DatabaseExportOptions::new().replace_existing(true);
    /// vault.export_eclosion_sqlite(&db, &pass, &options)?;
    ///
    /// // No database is made where Eclosion has none.
    /// let err = vault
    ///     .export_eclosion_sqlite(dir.path().join("new.db"), &pass, &options)
    ///     .unwrap_err();
    /// assert!(matches!(err, credlock_eclosion::Error::NoEclosionDatabase { .. }));
    ///
    /// let other = Vault::open(dir.path().join("other.json"))?;
    /// # let other = open(dir.path().join("other.json"))?;
    /// other.import_eclosion_sqlite(&db, &pass, &ImportOptions::new())?;
    /// assert_eq!(other.credentials()?.email(), "alice@example.com");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`credlock::Error::Locked`]/[`credlock::Error::NoCredentials`] unless unlocked; [`credlock::Error::WrongPassphrase`]
    /// if `passphrase` is not this vault's (counted towards the lockout);
    /// [`Error::CredentialsExist`] if the database holds credentials and
    /// `replace_existing` is not set (nothing is written); [`Error::NoEclosionDatabase`] if
    /// there is no file at the path (nothing is made, and the passphrase is not tested);
    /// [`Error::Database`] if the path is not a regular file, not an SQLite database, or its
    /// `credentials` table lacks Eclosion's columns; [`Error::Vault`] with a storage error for
    /// I/O failures.
    #[cfg(feature = "sqlite")]
    fn export_eclosion_sqlite(
        &self,
        database: impl AsRef<Path>,
        passphrase: &SecretString,
        options: &DatabaseExportOptions,
    ) -> Result<(), Error>;
}

impl EclosionExt for Vault {
    fn import_eclosion(
        &self,
        legacy: impl AsRef<Path>,
        passphrase: &SecretString,
        options: &ImportOptions,
    ) -> Result<ImportReport, Error> {
        legacy::import(self, legacy.as_ref(), passphrase, options)
    }

    fn export_eclosion(
        &self,
        dest: impl AsRef<Path>,
        passphrase: &SecretString,
    ) -> Result<(), Error> {
        legacy::export(self, dest.as_ref(), passphrase)
    }

    #[cfg(feature = "sqlite")]
    fn import_eclosion_sqlite(
        &self,
        database: impl AsRef<Path>,
        passphrase: &SecretString,
        options: &ImportOptions,
    ) -> Result<ImportReport, Error> {
        sqlite::import(self, database.as_ref(), passphrase, options)
    }

    #[cfg(feature = "sqlite")]
    fn export_eclosion_sqlite(
        &self,
        database: impl AsRef<Path>,
        passphrase: &SecretString,
        options: &DatabaseExportOptions,
    ) -> Result<(), Error> {
        sqlite::export(self, database.as_ref(), passphrase, options)
    }
}

mod sealed {
    /// Only the vault has these methods.
    pub trait Sealed {}
    impl Sealed for credlock::Vault {}
}
