//! The vault: credentials sealed under a passphrase, locked or unlocked.

use std::path::{Path, PathBuf};
use std::time::Instant;

use credlock_crypto::{FernetKey, KdfParams, derive_key};
use credlock_policy::{PolicyViolations, ValidPassphrase};
use credlock_session::{Session, SessionState};
use credlock_store::Store;
use secrecy::{ExposeSecret as _, SecretString};
use zeroize::Zeroizing;

use crate::credentials::Credentials;
use crate::error::Error;
use crate::format::VaultFile;
use crate::options::{Options, VaultBuilder};
use crate::record;
use crate::status::SecurityStatus;

/// A credentials vault: one sealed record in one file, and the session that is locked,
/// unlocked or empty.
///
/// The passphrase is never kept: only the key derived from it, while unlocked, zeroized on
/// [`lock`](Vault::lock), [`logout`](Vault::logout), idle timeout and drop. A restart is
/// always locked.
///
/// ```
/// use credlock::{Credentials, Policy, SessionState, Vault};
/// use credlock::secrecy::{ExposeSecret, SecretString};
///
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("vault.json");
/// # let path_for_test = path.clone();
/// # let open = |p: &std::path::Path| Vault::builder(p).insecure_kdf_iterations(1_000).open();
/// let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
/// let creds = Credentials::new("alice@example.com", SecretString::from("monarch-pw-123"));
///
/// let mut vault = Vault::open(&path)?;           // no credentials yet
/// # let mut vault = open(&path)?;
/// vault.store(creds, pass)?;                     // sealed, written 0600, unlocked
/// vault.lock();
/// assert_eq!(vault.status(), SessionState::Locked);
///
/// let mut vault = Vault::open(&path)?;           // after a restart: locked
/// # let mut vault = open(&path)?;
/// vault.unlock(&SecretString::from("Tangerine-Rocket-42!"))?;
/// assert_eq!(vault.credentials()?.password().expose_secret(), "monarch-pw-123");
/// vault.logout()?;                               // file deleted, key zeroized
/// assert!(!path.exists());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Vault {
    store: Box<dyn Store>,
    options: Options,
    session: Session<FernetKey, Credentials>,
    /// The KDF parameters of the file the in-memory key belongs to (while unlocked).
    params: Option<KdfParams>,
}

impl Vault {
    /// Opens the vault at `path` with the default options: locked if a vault file exists
    /// there, empty otherwise. Nothing is decrypted.
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] if the path or its directory is unusable or unsafe; see
    /// [`VaultBuilder::open`].
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::builder(path).open()
    }

    /// A builder to open the vault at `path` with other options.
    pub fn builder(path: impl AsRef<Path>) -> VaultBuilder {
        VaultBuilder::for_path(path.as_ref().to_path_buf())
    }

    /// Creates a new vault at `path` holding `credentials`, and returns it unlocked.
    ///
    /// # Errors
    ///
    /// [`Error::VaultExists`] if a vault is already there; otherwise as [`Vault::store`].
    pub fn create(
        path: impl AsRef<Path>,
        credentials: Credentials,
        passphrase: ValidPassphrase,
    ) -> Result<Self, Error> {
        let mut vault = Self::open(path)?;
        vault.store(credentials, passphrase)?;
        Ok(vault)
    }

    pub(crate) fn from_parts(store: Box<dyn Store>, options: Options) -> Result<Self, Error> {
        let stored = store.load()?.is_some();
        Ok(Self {
            session: Session::with_options(stored, options.session),
            store,
            options,
            params: None,
        })
    }

    /// The session state now (an unlocked vault idle past its timeout reports `Locked`).
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::{ExposeSecret, SecretString};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// # let mut vault = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// assert_eq!(vault.status(), SessionState::Unlocked);
    /// vault.lock();
    /// assert_eq!(vault.status(), SessionState::Locked);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn status(&self) -> SessionState {
        self.session.state_at(Instant::now())
    }

    /// Checks a new passphrase against this vault's policy.
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::{ExposeSecret, SecretString};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// # let mut vault = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// let violations = vault.check_passphrase(SecretString::from("Password1234!")).unwrap_err();
    /// assert!(violations.contains("common_passphrase"));
    /// assert!(vault.check_passphrase(SecretString::from("Marmalade-Comet-17?")).is_ok());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// Every unmet requirement at once, as [`PolicyViolations`].
    pub fn check_passphrase(
        &self,
        passphrase: SecretString,
    ) -> Result<ValidPassphrase, PolicyViolations> {
        self.options.policy.check(passphrase)
    }

    /// Seals `credentials` under `passphrase` into a new vault and leaves it unlocked.
    ///
    /// # Errors
    ///
    /// [`Error::VaultExists`] if credentials are already stored (use [`Vault::replace`] to
    /// overwrite them on purpose); [`Error::Storage`] if writing fails, in which case nothing
    /// changed; [`Error::Crypto`] if the random source fails.
    pub fn store(
        &mut self,
        credentials: Credentials,
        passphrase: ValidPassphrase,
    ) -> Result<(), Error> {
        self.write_new(credentials, &passphrase, false)
    }

    /// Like [`Vault::store`], but replaces any vault already stored, whatever its passphrase.
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::{ExposeSecret, SecretString};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// # let mut vault = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// let other = Policy::default().check(SecretString::from("Marmalade-Comet-17?"))?;
    /// vault.replace(Credentials::new("bob@example.com", SecretString::from("pw2")), other)?;
    /// assert_eq!(vault.credentials()?.email(), "bob@example.com");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`Vault::store`], without [`Error::VaultExists`].
    pub fn replace(
        &mut self,
        credentials: Credentials,
        passphrase: ValidPassphrase,
    ) -> Result<(), Error> {
        self.write_new(credentials, &passphrase, true)
    }

    pub(crate) fn write_new(
        &mut self,
        credentials: Credentials,
        passphrase: &ValidPassphrase,
        replace: bool,
    ) -> Result<(), Error> {
        let _guard = self.store.lock()?;
        if !replace && self.store.describe().present {
            self.refresh_presence(true);
            return Err(Error::VaultExists { path: self.path() });
        }
        let params = self.options.new_kdf_params()?;
        let key = derive_key(passphrase.expose_secret(), &params)?;
        let token = key.seal(&record::to_bytes(&credentials)?)?;
        self.store.save(&VaultFile { params, token }.to_bytes()?)?;
        self.transition(|s| s.store(key, credentials, Instant::now()));
        self.params = Some(params);
        Ok(())
    }

    /// Unlocks the vault: derives the key from `passphrase` and the parameters in the file,
    /// and opens the record.
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::{ExposeSecret, SecretString};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// # let mut vault = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// # vault.lock();
    /// assert!(matches!(
    ///     vault.unlock(&SecretString::from("wrong")),
    ///     Err(credlock::Error::WrongPassphrase)
    /// ));
    /// vault.unlock(&SecretString::from("Tangerine-Rocket-42!"))?;
    /// assert_eq!(vault.status(), SessionState::Unlocked);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// - [`Error::WrongPassphrase`]: the vault stays locked and the failure counts towards
    ///   the lockout; nothing is written.
    /// - [`Error::LockedOut`]: too many failures; no derivation is attempted.
    /// - [`Error::AlreadyUnlocked`], [`Error::NoCredentials`]: wrong state.
    /// - [`Error::VaultMissing`]: the file was removed behind our back (the vault is now
    ///   empty).
    /// - [`Error::CorruptVault`], [`Error::UnsupportedVersion`],
    ///   [`Error::UnsupportedAlgorithm`], [`Error::KdfParams`]: the file is not a vault this
    ///   version can open; it is left untouched and no derivation is attempted for bad
    ///   parameters.
    /// - [`Error::Storage`]: the file could not be read safely.
    pub fn unlock(&mut self, passphrase: &SecretString) -> Result<(), Error> {
        let now = Instant::now();
        self.transition(|s| s.enforce_idle_timeout(now));
        self.session.check_unlock_allowed(now)?;
        let file = self.read_file()?;
        let (key, plaintext) = self.counting_failures(Self::open_file(&file, passphrase))?;
        let credentials = record::from_bytes(&plaintext)?;
        let session = std::mem::take(&mut self.session);
        match session.unlock(key, credentials, now) {
            Ok(s) => {
                self.session = s;
                self.params = Some(file.params);
                Ok(())
            }
            Err((s, e)) => {
                self.session = s;
                Err(e.into())
            }
        }
    }

    /// Locks the vault: the key and the credentials are dropped and zeroized. Does nothing if
    /// the vault is not unlocked.
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::{ExposeSecret, SecretString};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// # let mut vault = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// vault.lock();
    /// assert_eq!(vault.status(), SessionState::Locked);
    /// assert!(vault.credentials().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn lock(&mut self) {
        self.transition(Session::lock);
        self.params = None;
    }

    /// Logs out: deletes the vault file (with a directory sync) and forgets the key.
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::{ExposeSecret, SecretString};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// # let mut vault = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// vault.logout()?;
    /// assert_eq!(vault.status(), SessionState::NoCredentials);
    /// assert!(!path.exists());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Storage`] if the file could not be deleted; the vault is then locked (the key
    /// is gone either way) and the file is still there.
    pub fn logout(&mut self) -> Result<(), Error> {
        let result = self.store.lock().and_then(|_guard| self.store.delete());
        self.params = None;
        match result {
            Ok(()) => {
                self.transition(Session::logout);
                Ok(())
            }
            Err(e) => {
                self.transition(Session::lock);
                Err(e.into())
            }
        }
    }

    /// The credentials, while unlocked.
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::{ExposeSecret, SecretString};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// # let mut vault = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// let creds = vault.credentials()?;
    /// assert_eq!(creds.email(), "alice@example.com");
    /// assert_eq!(creds.password().expose_secret(), "pw");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Locked`] (also after the idle timeout), [`Error::NoCredentials`].
    pub fn credentials(&self) -> Result<&Credentials, Error> {
        Ok(self.session.record(Instant::now())?)
    }

    /// Replaces the stored credentials while unlocked, re-sealing them with the key in memory
    /// (no passphrase needed).
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::{ExposeSecret, SecretString};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// # let mut vault = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// let newer = Credentials::new("alice@example.com", SecretString::from("new-pw"))
    ///     .with_mfa_secret(SecretString::from("JBSWY3DPEHPK3PXP"));
    /// vault.update_credentials(newer)?;
    /// assert!(vault.credentials()?.mfa_secret().is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Locked`], [`Error::NoCredentials`]: wrong state. [`Error::ChangedElsewhere`]:
    /// another process changed the vault's passphrase since it was unlocked here (nothing is
    /// written, and the vault is locked). [`Error::VaultMissing`]: the file was removed.
    /// [`Error::Storage`]: writing failed; the file and the credentials in memory are
    /// unchanged.
    pub fn update_credentials(&mut self, credentials: Credentials) -> Result<(), Error> {
        let now = Instant::now();
        self.transition(|s| s.enforce_idle_timeout(now));
        self.session.key(now)?;
        let _guard = self.store.lock()?;
        let on_disk = self.read_file()?;
        let Some(params) = self.params.filter(|p| *p == on_disk.params) else {
            self.lock();
            return Err(Error::ChangedElsewhere);
        };
        let token = self
            .session
            .key(now)?
            .seal(&record::to_bytes(&credentials)?)?;
        self.store.save(&VaultFile { params, token }.to_bytes()?)?;
        self.session.replace_record(credentials, now)?;
        Ok(())
    }

    /// Changes the passphrase: checks `old` against the file, then re-seals the same record
    /// under `new` with a fresh salt (and the iteration count of the current options).
    /// Afterwards the vault is unlocked with the new key and `old` no longer opens it.
    /// Works whether the vault is locked or unlocked.
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::{ExposeSecret, SecretString};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// # let mut vault = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// let new = Policy::default().check(SecretString::from("Marmalade-Comet-17?"))?;
    /// vault.change_passphrase(&SecretString::from("Tangerine-Rocket-42!"), new)?;
    /// vault.lock();
    /// assert!(vault.unlock(&SecretString::from("Tangerine-Rocket-42!")).is_err());
    /// vault.unlock(&SecretString::from("Marmalade-Comet-17?"))?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::WrongPassphrase`] if `old` is wrong (counted towards the lockout; nothing
    /// written), [`Error::LockedOut`], [`Error::NoCredentials`], [`Error::VaultMissing`], and
    /// the file and storage errors of [`Vault::unlock`] and [`Vault::store`].
    pub fn change_passphrase(
        &mut self,
        old: &SecretString,
        new: ValidPassphrase,
    ) -> Result<(), Error> {
        let now = Instant::now();
        self.transition(|s| s.enforce_idle_timeout(now));
        if self.session.state() == SessionState::NoCredentials {
            return Err(Error::NoCredentials);
        }
        self.ensure_not_locked_out(now)?;
        let _guard = self.store.lock()?;
        let file = self.read_file()?;
        let (_old_key, plaintext) = self.counting_failures(Self::open_file(&file, old))?;
        let credentials = record::from_bytes(&plaintext)?;
        let params = self.options.new_kdf_params()?;
        let key = derive_key(new.expose_secret(), &params)?;
        // The record's exact bytes are re-sealed: the credentials do not change.
        let token = key.seal(&plaintext)?;
        self.store.save(&VaultFile { params, token }.to_bytes()?)?;
        self.transition(|s| s.store(key, credentials, now));
        self.params = Some(params);
        Ok(())
    }

    /// A report of the vault's real security configuration, read from the file on disk and
    /// the options in force; see [`SecurityStatus`].
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::{ExposeSecret, SecretString};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// # let mut vault = Vault::builder(&path).insecure_kdf_iterations(1_000).open()?;
    /// # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// let report = vault.security_status();
    /// assert_eq!(report.kdf.as_ref().map(|k| k.iterations), Some(1_000));
    /// assert_eq!(report.file.as_ref().and_then(|f| f.mode.as_deref()), Some("0600"));
    /// assert!(report.problems.is_empty());
    /// let json = serde_json::to_string(&report)?; // for a status endpoint
    /// assert!(!json.contains("Tangerine"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn security_status(&self) -> SecurityStatus {
        SecurityStatus::collect(self, Instant::now())
    }

    pub(crate) fn store_ref(&self) -> &dyn Store {
        self.store.as_ref()
    }

    pub(crate) fn options(&self) -> &Options {
        &self.options
    }

    pub(crate) fn session(&self) -> &Session<FernetKey, Credentials> {
        &self.session
    }

    /// Passes `result` through; a wrong passphrase in it counts towards the lockout.
    pub(crate) fn counting_failures<T>(&mut self, result: Result<T, Error>) -> Result<T, Error> {
        if matches!(result, Err(Error::WrongPassphrase)) {
            self.session.record_failed_unlock(Instant::now());
        }
        result
    }

    /// Refuses while failed attempts have locked the vault out.
    pub(crate) fn ensure_not_locked_out(&self, now: Instant) -> Result<(), Error> {
        match self.session.lockout_remaining(now) {
            Some(retry_after) => Err(Error::LockedOut { retry_after }),
            None => Ok(()),
        }
    }

    /// The KDF parameters of the in-memory key, while unlocked.
    pub(crate) fn unlocked_params(&self) -> Option<KdfParams> {
        self.params
            .filter(|_| self.session.key(Instant::now()).is_ok())
    }

    pub(crate) fn path(&self) -> Option<PathBuf> {
        self.store.describe().path
    }

    /// Reads and parses the vault file; no derivation.
    pub(crate) fn read_file(&mut self) -> Result<VaultFile, Error> {
        match self.store.load()? {
            Some(bytes) => VaultFile::parse(&bytes, self.options.acceptance),
            None => {
                self.refresh_presence(false);
                Err(Error::VaultMissing { path: self.path() })
            }
        }
    }

    /// Derives the key of `file` from `passphrase` and opens its token.
    pub(crate) fn open_file(
        file: &VaultFile,
        passphrase: &SecretString,
    ) -> Result<(FernetKey, Zeroizing<Vec<u8>>), Error> {
        let key = derive_key(passphrase.expose_secret(), &file.params)?;
        let plaintext = key.open(&file.token)?;
        Ok((key, plaintext))
    }

    /// Brings the session in line with whether a vault is stored: a file that vanished makes
    /// the vault empty; one that appeared (written by another process) makes an empty vault
    /// locked.
    fn refresh_presence(&mut self, present: bool) {
        match (present, self.session.state()) {
            (false, SessionState::Locked | SessionState::Unlocked) => {
                self.transition(Session::logout);
                self.params = None;
            }
            (true, SessionState::NoCredentials) => {
                let options = *self.session.options();
                self.session = Session::with_options(true, options);
            }
            _ => {}
        }
    }

    fn transition(
        &mut self,
        f: impl FnOnce(Session<FernetKey, Credentials>) -> Session<FernetKey, Credentials>,
    ) {
        self.session = f(std::mem::take(&mut self.session));
    }
}
