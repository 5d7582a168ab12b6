//! Import from Eclosion's SQLite store (`eclosion.db`, table `credentials`, row `id = 1`).

use std::path::Path;

use rusqlite::{Connection, OpenFlags, OptionalExtension as _};
use secrecy::SecretString;

use super::legacy::{ImportOptions, ImportReport, fields, file_mode};
use crate::error::Error;
use crate::vault::Vault;

impl Vault {
    /// Migrates the credentials from Eclosion's SQLite database (`eclosion.db`) into this
    /// vault, as [`Vault::import_eclosion`] does for the legacy JSON file. The database is
    /// opened read-only and never modified; [`ImportOptions::remove_original`] is not applied
    /// to a database (it holds Eclosion's other data too) and is refused.
    ///
    /// Eclosion sets no permissions on its database, so no mode is required; the report
    /// gives the mode found. A symbolic link or a non-regular file is refused.
    ///
    /// # Errors
    ///
    /// As [`Vault::import_eclosion`]; [`Error::LegacyFormat`] if the database has no
    /// `credentials` row 1 with the expected columns, or `remove_original` was asked for.
    pub fn import_eclosion_sqlite(
        &self,
        database: impl AsRef<Path>,
        passphrase: &SecretString,
        options: &ImportOptions,
    ) -> Result<ImportReport, Error> {
        let database = database.as_ref();
        if options.remove_original {
            return Err(Error::LegacyFormat {
                reason: "remove_original does not apply to Eclosion's database",
            });
        }
        self.check_import_allowed(options)?;
        let meta = std::fs::symlink_metadata(database)
            .map_err(|e| Error::Storage(crate::error::StorageError::io(database, e)))?;
        if !meta.file_type().is_file() {
            return Err(Error::LegacyFormat {
                reason: "the database path is a symbolic link or not a regular file",
            });
        }
        let conn = Connection::open_with_flags(
            database,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|_| Error::LegacyFormat {
            reason: "the database cannot be opened",
        })?;
        let row = conn
            .query_row(
                "SELECT salt, email_encrypted, password_encrypted, mfa_secret_encrypted \
                 FROM credentials WHERE id = 1",
                [],
                |r| {
                    Ok((
                        r.get::<_, Option<String>>(0)?,
                        r.get::<_, Option<String>>(1)?,
                        r.get::<_, Option<String>>(2)?,
                        r.get::<_, Option<String>>(3)?,
                    ))
                },
            )
            .optional()
            .map_err(|_| Error::LegacyFormat {
                reason: "no readable `credentials` table with Eclosion's columns",
            })?;
        let Some((salt, email, password, mfa)) = row else {
            return Err(Error::LegacyFormat {
                reason: "the `credentials` table has no row 1: Eclosion has no credentials stored",
            });
        };
        let salt = salt.ok_or(Error::LegacyFormat {
            reason: "no salt: Eclosion has no credentials stored",
        })?;
        let fields = fields(&salt, email, password, mfa)?;
        self.import_fields(&fields, file_mode(database), database, passphrase, options)
    }
}
