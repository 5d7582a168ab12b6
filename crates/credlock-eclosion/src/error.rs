//! What can go wrong moving credentials between Eclosion and a credlock vault.

use std::path::PathBuf;

use credlock::{ErrorKind, StorageKind};

/// An Eclosion import or export failed. Messages name what is wrong and never a secret;
/// branch on [`Error::kind`] (the same kinds as the vault's) rather than on messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The vault refused or failed: [`credlock::Error::LockedOut`],
    /// [`credlock::Error::Locked`], a storage failure, fail-closed auditing…
    #[error(transparent)]
    Vault(credlock::Error),
    /// The passphrase given does not open Eclosion's file or database (or it was tampered
    /// with). Counted towards the vault's lockout, as any wrong passphrase; [`Error::kind`]
    /// is [`ErrorKind::WrongPassphrase`].
    #[error(
        "the passphrase does not open {what} (or it has been tampered with): use the \
         passphrase set in Eclosion"
    )]
    WrongPassphrase {
        /// What was being opened: "Eclosion's credentials file" or "Eclosion's database".
        what: &'static str,
    },
    /// A legacy (Eclosion) credentials file is not in the expected format.
    #[error("the Eclosion credentials file is not in the expected format ({reason})")]
    LegacyFormat {
        /// What is wrong, without any of the file's contents.
        reason: &'static str,
    },
    /// A legacy (Eclosion) credentials file holds unencrypted credentials; credlock refuses
    /// to read plaintext secrets.
    #[error(
        "the Eclosion credentials file is not encrypted (\"encrypted\": false); credlock \
         refuses to import plaintext credentials: set a passphrase in Eclosion first"
    )]
    LegacyUnencrypted,
    /// Eclosion's SQLite database (`eclosion.db`) is not one credlock can import from or
    /// export to; it was left untouched.
    #[error("Eclosion's database is not usable here ({reason}); it was left untouched")]
    Database {
        /// What is wrong, without any of the database's contents.
        reason: &'static str,
    },
    /// An export into Eclosion's database named a path where there is none. credlock does
    /// not make one: Eclosion starts on no database that holds only its credentials (v1.3.10's
    /// inline start-up stops with "no such table: categories", its Alembic start-up with
    /// "table credentials already exists"), so the way back to Eclosion is an export into the
    /// database Eclosion made. Nothing was written, and the passphrase was not tested.
    /// [`Error::kind`] is [`StorageKind::NotFound`](credlock::StorageKind::NotFound).
    #[error(
        "there is no Eclosion database at {}: credlock writes credentials only into the \
         database Eclosion made (Eclosion cannot start on one holding only its credentials); \
         start Eclosion once so that it creates its database, then export into it",
        path.display()
    )]
    NoEclosionDatabase {
        /// The path given.
        path: PathBuf,
    },
    /// An export destination already exists.
    #[error("{} already exists; choose a new path or remove it first", path.display())]
    DestinationExists {
        /// The destination path.
        path: PathBuf,
    },
    /// An import would replace the credentials the vault already holds, and the import did
    /// not ask to.
    #[error(
        "a vault already exists{}: unlock it, or import over it explicitly \
         (ImportOptions::replace_existing)",
        path.as_ref().map(|p| format!(" at {}", p.display())).unwrap_or_default()
    )]
    ImportWouldReplace {
        /// Where the vault is, if it is a file.
        path: Option<PathBuf>,
    },
    /// Eclosion's database already holds credentials, and the export did not ask to replace
    /// them; nothing was written.
    #[error(
        "Eclosion's database {} already holds credentials; nothing was written: export over \
         them explicitly (DatabaseExportOptions::replace_existing) or choose another database",
        path.display()
    )]
    CredentialsExist {
        /// The database.
        path: PathBuf,
    },
    /// An option that does not apply to this operation.
    #[error("invalid option `{name}`")]
    InvalidOption {
        /// The option's name.
        name: &'static str,
    },
}

impl Error {
    /// What kind of failure this is, in the vault's terms.
    ///
    /// ```
    /// use credlock::ErrorKind;
    /// use credlock_eclosion::Error;
    ///
    /// let e = Error::WrongPassphrase { what: "Eclosion's database" };
    /// assert_eq!(e.kind(), ErrorKind::WrongPassphrase);
    /// assert_eq!(Error::LegacyUnencrypted.kind(), ErrorKind::InvalidVault);
    /// ```
    #[must_use]
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Vault(e) => e.kind(),
            Self::WrongPassphrase { .. } => ErrorKind::WrongPassphrase,
            Self::LegacyFormat { .. } | Self::LegacyUnencrypted | Self::Database { .. } => {
                ErrorKind::InvalidVault
            }
            Self::NoEclosionDatabase { .. } => ErrorKind::Storage(StorageKind::NotFound),
            Self::DestinationExists { .. }
            | Self::ImportWouldReplace { .. }
            | Self::CredentialsExist { .. } => ErrorKind::Conflict,
            Self::InvalidOption { .. } => ErrorKind::InvalidOption,
        }
    }

    /// While the vault is locked out for a time: the wait in whole seconds (see
    /// [`credlock::Error::retry_after_secs`]).
    #[must_use]
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::Vault(e) => e.retry_after_secs(),
            _ => None,
        }
    }
}

impl From<credlock::Error> for Error {
    fn from(e: credlock::Error) -> Self {
        Self::Vault(e)
    }
}
