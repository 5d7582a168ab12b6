//! Compatibility with Eclosion's credential storage: import (migrate) and export.
//!
//! Eclosion's legacy `credentials.json` holds a standard-base64 salt and one Fernet token per
//! field (email, password, MFA secret), all under PBKDF2-HMAC-SHA256 with an implicit
//! 480,000 iterations; an empty string means "no value". Its current SQLite store
//! (`eclosion.db`, table `credentials`, row 1) keeps the same encoding in columns, with the
//! MFA secret NULL when there is none, plus Eclosion's notes key (`notes_key_encrypted`,
//! another token under the same key) and `created_at`/`updated_at`. With the
//! `eclosion-sqlite` feature, `Vault::import_eclosion_sqlite` reads it and
//! `Vault::export_eclosion_sqlite` writes it; which Eclosion versions read what credlock
//! writes is in the README's interoperability section.
//!
//! [`Vault::import_eclosion`](crate::Vault::import_eclosion) migrates such a file into a
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

mod legacy;
#[cfg(feature = "eclosion-sqlite")]
mod sqlite;

#[cfg(fuzzing)]
pub(crate) use legacy::parse_json as parse_legacy_json;
pub use legacy::{ImportOptions, ImportReport};
#[cfg(fuzzing)]
pub(crate) use legacy::{LegacyFields, export_json as export_legacy_json};
#[cfg(feature = "eclosion-sqlite")]
pub use sqlite::DatabaseExportOptions;
#[cfg(all(fuzzing, feature = "eclosion-sqlite"))]
pub(crate) use sqlite::read_fields as read_database_fields;
