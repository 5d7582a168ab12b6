//! Compatibility with Eclosion's credential storage: import (migrate) and export.
//!
//! Eclosion's legacy `credentials.json` holds a standard-base64 salt and one Fernet token per
//! field (email, password, MFA secret), all under PBKDF2-HMAC-SHA256 with an implicit
//! 480,000 iterations; an empty string means "no value". Its current SQLite store
//! (`eclosion.db`, table `credentials`, row 1) keeps the same encoding in columns.
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

mod legacy;
#[cfg(feature = "eclosion-sqlite")]
mod sqlite;

#[cfg(fuzzing)]
pub(crate) use legacy::parse_json as parse_legacy_json;
pub use legacy::{ImportOptions, ImportReport};
