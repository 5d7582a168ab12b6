//! The security report.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use credlock_policy::Requirements;
use credlock_session::{LockoutPolicy, SessionState};
use credlock_store::{Store, StoreKind};
use serde::Serialize;

use crate::error::{Error, ceil_secs};
use crate::format::{Acceptance, CIPHER};
use crate::hardening::{self, HardeningReport};
use crate::vault::Vault;
use crate::vault::config::Options;
use crate::vault::kdf_plan::algorithm_of;
use crate::vault::lockout::LockoutState;
use crate::vault::state::State;

/// What a vault's security actually is, for a status page or an audit log: every field is
/// read from the vault file on disk, the vault's state in memory, or the options in force;
/// none is fixed text. Holds no secret, and no absolute path unless asked for
/// ([`Vault::security_status_with_path`](crate::Vault::security_status_with_path)).
///
/// Also available for a vault that cannot be opened
/// ([`VaultBuilder::inspect`](crate::VaultBuilder::inspect)): the report then names why in
/// [`problems`](SecurityStatus::problems).
///
/// Serialises to JSON with [`serde`]; durations are whole seconds, with `_secs` in the name.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct SecurityStatus {
    /// The session state now (after applying the idle timeout); `None` when no vault could be
    /// opened (see [`problems`](SecurityStatus::problems)).
    pub state: Option<SessionState>,
    /// Whether a derived key is in memory now. An idle-expired key is dropped before the
    /// report is made, so this is never `true` for a vault that reports itself locked.
    pub key_in_memory: bool,
    /// The sealed record's cipher, read from the vault file when it can be parsed.
    pub cipher: Option<CipherStatus>,
    /// The key derivation recorded in the vault file, when it can be parsed.
    pub kdf: Option<KdfStatus>,
    /// The key derivation new vaults and passphrase changes will use.
    pub kdf_for_new_vaults: KdfTarget,
    /// Whether the vault accepts low, insecure KDF costs (a test configuration).
    pub insecure_kdf_allowed: bool,
    /// The vault file as it is on disk, for vaults kept in a file.
    pub file: Option<FileStatus>,
    /// The passphrase policy in force.
    pub policy: Requirements,
    /// The failed-passphrase lockout policy, if on.
    pub lockout: Option<LockoutStatus>,
    /// Consecutive failed passphrase attempts now, as the store keeps them (shared by every
    /// process and surviving restarts).
    pub failed_attempts: u32,
    /// Seconds until a passphrase attempt is allowed again (rounded up), while locked out
    /// for a time.
    pub locked_out_for_secs: Option<u64>,
    /// Whether attempts are refused until an operator clears the lockout.
    pub locked_out_until_cleared: bool,
    /// Where audit events go.
    pub audit: AuditStatus,
    /// The idle timeout after which an unlocked vault locks itself, in seconds, if on.
    pub idle_timeout_secs: Option<u64>,
    /// Seconds left before the idle lock, while unlocked with an idle timeout.
    pub idle_lock_in_secs: Option<u64>,
    /// Problems found (an unreadable, unsafe or invalid file; a cheap test configuration);
    /// empty when all is well.
    pub problems: Vec<Problem>,
    /// What [`harden_process`](crate::hardening::harden_process) achieved for this process,
    /// if it was called.
    pub hardening: Option<HardeningReport>,
    /// The key provider configured for this vault's passphrase slots (kind and key id, no
    /// secret), if any; the one the file needs is
    /// [`CipherStatus::key_provider`].
    pub key_provider: Option<String>,
}

/// One problem in a [`SecurityStatus`].
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[non_exhaustive]
pub struct Problem {
    /// A stable code: `insecure_mode`, `wrong_owner`, `symlink`, `not_regular_file`,
    /// `directory_insecure`, `corrupt`, `unsupported_version`, `insecure_kdf`, … (see
    /// [`StorageError::code`](crate::StorageError::code) for the storage codes).
    pub code: &'static str,
    /// What is wrong and what to do, in words (no secret, no file contents).
    pub message: String,
}

/// The cipher of the sealed record.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct CipherStatus {
    /// The cipher named in the file: `fernet`.
    pub name: &'static str,
    /// What it is made of.
    pub construction: &'static str,
    /// The file's format version.
    pub format_version: u64,
    /// Version 3: how many keyslots open the data key (the passphrase, recovery keys,
    /// secrets); `None` for versions 1 and 2, where the passphrase's key seals the record.
    pub keyslots: Option<usize>,
    /// Version 3: the data key's epoch (1 for a new vault, one more at every rotation).
    pub key_epoch: Option<u64>,
    /// The key provider the passphrase slot needs (kind and key id, e.g.
    /// `pkcs11:token=credlock;key=pepper`), if any.
    pub key_provider: Option<String>,
}

/// Key-derivation parameters read from the vault file.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct KdfStatus {
    /// The algorithm's stable name.
    pub algorithm: &'static str,
    /// The iteration count in the file (for Argon2id: its passes).
    pub iterations: u32,
    /// The salt's length in bytes.
    pub salt_bytes: usize,
    /// Argon2id's memory in KiB (`None` for PBKDF2).
    pub memory_kib: Option<u32>,
    /// Argon2id's lanes (`None` for PBKDF2).
    pub lanes: Option<u32>,
    /// How the passphrase is normalised before hashing: `none` (its exact bytes, as
    /// Eclosion) or `nfkc`.
    pub normalization: &'static str,
}

/// The key derivation the vault's options ask for.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct KdfTarget {
    /// The algorithm's stable name.
    pub algorithm: &'static str,
    /// The iteration count (for Argon2id: its passes). Under a latency budget, the count
    /// calibrated on this machine (measured when first needed, possibly by this report).
    pub iterations: u32,
    /// Argon2id's memory in KiB (`None` for PBKDF2).
    pub memory_kib: Option<u32>,
    /// Argon2id's lanes (`None` for PBKDF2).
    pub lanes: Option<u32>,
    /// The passphrase normalisation of new vaults: `nfkc`, or `none` when kept
    /// Eclosion-compatible.
    pub normalization: &'static str,
    /// The latency budget the cost is calibrated to, in milliseconds, if one was set.
    pub latency_budget_ms: Option<u64>,
    /// Whether a successful unlock re-seals a weaker vault at this target.
    pub upgrade_on_unlock: bool,
}

impl KdfTarget {
    fn of(options: &Options) -> Self {
        let plan = &options.kdf;
        // A budget not yet calibrated is calibrated now; a calibration that fails (its
        // probe could not derive) leaves nothing calibrated, and reports no target.
        let target = plan.target(&options.deriver).ok();
        let argon2 = target.and_then(|t| t.argon2_cost());
        Self {
            algorithm: algorithm_of(plan.cost).name(),
            iterations: target.map_or(0, |t| t.iterations()),
            memory_kib: argon2.map(|c| c.memory_kib()),
            lanes: argon2.map(|c| c.lanes()),
            normalization: plan.normalization.name(),
            latency_budget_ms: plan
                .cost
                .budget()
                .map(|b| u64::try_from(b.as_millis()).unwrap_or(u64::MAX)),
            upgrade_on_unlock: plan.upgrade,
        }
    }
}

/// The vault file on disk.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct FileStatus {
    /// Its path, only when the report was asked to include it.
    pub path: Option<PathBuf>,
    /// Whether it exists.
    pub present: bool,
    /// Its permission bits in octal (`"0600"`), read from disk now.
    pub mode: Option<String>,
    /// Whether only the owner can read and write it.
    pub mode_private: Option<bool>,
}

/// The audit trail's configuration.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct AuditStatus {
    /// Each sink, described (`tracing (credlock::audit)`, a JSON Lines file, …).
    pub sinks: Vec<String>,
    /// Whether an operation fails when its event cannot be recorded.
    pub fail_closed: bool,
}

/// The lockout policy.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct LockoutStatus {
    /// Failures allowed before the first delay.
    pub max_attempts: u32,
    /// The first delay, in seconds.
    pub base_delay_secs: u64,
    /// The longest delay, in seconds.
    pub max_delay_secs: u64,
}

impl From<LockoutPolicy> for LockoutStatus {
    fn from(p: LockoutPolicy) -> Self {
        Self {
            max_attempts: p.max_attempts(),
            base_delay_secs: ceil_secs(p.base_delay()),
            max_delay_secs: ceil_secs(p.max_delay()),
        }
    }
}

/// Whether the report names the vault's absolute path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ShowPath {
    No,
    Yes,
}

/// A secret-free snapshot of the in-memory state, taken under the state lock.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Snapshot {
    state: SessionState,
    idle_remaining: Option<Duration>,
}

impl Snapshot {
    /// Applies the idle timeout (dropping an expired key) and reads the state.
    pub(crate) fn take(state: &mut State, now: Instant) -> Self {
        state.expire_idle(now);
        let status = state.session.status(now);
        Self {
            state: status.state,
            idle_remaining: (status.state == SessionState::Unlocked)
                .then_some(status.idle_remaining)
                .flatten(),
        }
    }
}

fn problem(code: &'static str, message: impl Into<String>) -> Problem {
    Problem {
        code,
        message: message.into(),
    }
}

/// The problem an error stands for.
pub(crate) fn problem_of(e: &Error) -> Problem {
    let code = match e {
        Error::Storage(s) => s.code(),
        Error::CorruptVault { .. } => "corrupt",
        Error::UnsupportedVersion { .. } => "unsupported_version",
        Error::UnsupportedAlgorithm { .. } => "unsupported_algorithm",
        Error::KdfParams(_) => "kdf_out_of_bounds",
        _ => "error",
    };
    problem(code, e.to_string())
}

impl SecurityStatus {
    /// The report for an open vault (`snapshot`) or for one that could not be opened
    /// (`snapshot == None`, with `open_error` saying why).
    pub(crate) fn collect(
        options: &Options,
        store: Option<&dyn Store>,
        snapshot: Option<Snapshot>,
        open_error: Option<&Error>,
        show_path: ShowPath,
    ) -> Self {
        let mut problems: Vec<Problem> = open_error.map(problem_of).into_iter().collect();
        let mut kdf = None;
        let mut cipher = None;
        if let Some(store) = store {
            match store
                .load()
                .map_err(Error::from)
                .and_then(|b| b.map(|b| options.parse(&b)).transpose())
            {
                Ok(Some(file)) => {
                    let argon2 = file.params.argon2_cost();
                    kdf = Some(KdfStatus {
                        algorithm: file.params.algorithm().name(),
                        iterations: file.params.iterations(),
                        salt_bytes: file.params.salt().as_bytes().len(),
                        memory_kib: argon2.map(|c| c.memory_kib()),
                        lanes: argon2.map(|c| c.lanes()),
                        normalization: file.params.normalization().name(),
                    });
                    cipher = Some(CipherStatus {
                        name: CIPHER,
                        construction: "AES-128-CBC + HMAC-SHA256 (encrypt-then-MAC), one token",
                        format_version: file.version(),
                        keyslots: file.keyring.as_ref().map(|k| k.slots.len()),
                        key_epoch: file.keyring.as_ref().map(|k| k.epoch),
                        key_provider: file.key_provider().map(str::to_owned),
                    });
                }
                Ok(None) => {}
                // The same failure as the one that stopped the vault from opening.
                Err(e) if open_error.is_some_and(|o| problem_of(o) == problem_of(&e)) => {}
                Err(e) => problems.push(problem_of(&e)),
            }
        }
        let file = store
            .map(|s| s.describe())
            .filter(|info| info.kind == StoreKind::File)
            .map(|info| FileStatus {
                path: info.path.filter(|_| show_path == ShowPath::Yes),
                present: info.present,
                mode: info.mode.map(|m| format!("{m:04o}")),
                mode_private: info.mode.map(|m| m & 0o077 == 0),
            });
        let insecure_kdf_allowed = options.acceptance == Acceptance::InsecureLowCost;
        if insecure_kdf_allowed {
            problems.push(problem(
                "insecure_kdf",
                "the vault accepts insecure low KDF costs (a test configuration): a vault made \
                 this way is cheap to brute-force",
            ));
        }
        let lockout_state = match store.map(Store::load_lockout) {
            Some(Ok(record)) => Some(LockoutState::of(&record, options.clock.now_ms())),
            Some(Err(e)) => {
                problems.push(problem_of(&e.into()));
                None
            }
            None => None,
        };
        let lockout = options.lockout;
        if lockout.is_none() {
            problems.push(problem(
                "no_lockout",
                "failed passphrase attempts never lock the vault out (a test configuration)",
            ));
        }
        let state = snapshot.map(|s| s.state);
        Self {
            state,
            key_in_memory: state == Some(SessionState::Unlocked),
            cipher,
            kdf,
            kdf_for_new_vaults: KdfTarget::of(options),
            insecure_kdf_allowed,
            file,
            policy: options.policy.requirements(),
            lockout: lockout.map(LockoutStatus::from),
            failed_attempts: lockout_state.as_ref().map_or(0, |l| l.failures),
            locked_out_for_secs: lockout_state.as_ref().and_then(|l| l.retry_after_secs),
            locked_out_until_cleared: lockout_state.is_some_and(|l| l.until_cleared),
            audit: AuditStatus {
                sinks: options.auditor.describe(),
                fail_closed: options.auditor.fail_closed,
            },
            idle_timeout_secs: options.session.idle_timeout().map(ceil_secs),
            idle_lock_in_secs: snapshot.and_then(|s| s.idle_remaining).map(ceil_secs),
            problems,
            hardening: hardening::last_report(),
            key_provider: options.provider().map(|p| p.identity().to_string()),
        }
    }
}

impl Vault {
    /// A report of the vault's real security configuration, read from the file on disk, the
    /// state in memory and the options in force; see [`SecurityStatus`]. The vault's path is
    /// left out (use [`Vault::security_status_with_path`] to include it). Applies the idle
    /// timeout first, so an expired key is dropped, not reported.
    ///
    /// ```
    /// use credlock::{Credentials, Policy, SessionState, Vault};
    /// use credlock::secrecy::{ExposeSecret, SecretString};
    /// # let dir = tempfile::tempdir()?;
    /// # let path = dir.path().join("vault.json");
    /// let vault = Vault::builder(&path).kdf_iterations(100_000).open()?;
    /// let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    /// vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
    /// let report = vault.security_status();
    /// assert_eq!(report.kdf.as_ref().map(|k| k.iterations), Some(100_000));
    /// assert_eq!(report.file.as_ref().and_then(|f| f.mode.as_deref()), Some("0600"));
    /// assert!(report.problems.is_empty());
    /// let json = serde_json::to_string(&report)?; // for a status endpoint
    /// assert!(!json.contains("Tangerine") && !json.contains(dir.path().to_str().unwrap()));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn security_status(&self) -> SecurityStatus {
        self.report(ShowPath::No)
    }

    /// [`Vault::security_status`], with the vault file's absolute path in
    /// [`FileStatus::path`](crate::FileStatus::path) (for an operator, not for clients).
    #[must_use]
    pub fn security_status_with_path(&self) -> SecurityStatus {
        self.report(ShowPath::Yes)
    }

    fn report(&self, show_path: ShowPath) -> SecurityStatus {
        // An idle lock that falls due now is applied (and audited) before the report.
        self.expire_idle();
        let snapshot = Snapshot::take(&mut self.shared().state(), self.now());
        SecurityStatus::collect(
            self.options(),
            Some(self.backend()),
            Some(snapshot),
            None,
            show_path,
        )
    }
}
