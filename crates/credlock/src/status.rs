//! The security report.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use credlock_policy::Requirements;
use credlock_session::{LockoutPolicy, SessionState};
use credlock_store::StoreKind;
use serde::Serialize;

use crate::format::{Acceptance, CIPHER, FORMAT_VERSION, VaultFile};
use crate::vault::Vault;

/// What a vault's security actually is, for a status page or an audit log. Computed from the
/// file on disk and the options in force, never from fixed text; holds no secret.
///
/// Serialises to JSON with [`serde`].
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct SecurityStatus {
    /// The session state now.
    pub state: SessionState,
    /// Whether a derived key is in memory (only while unlocked).
    pub key_in_memory: bool,
    /// Whether the passphrase itself is kept anywhere (it never is).
    pub passphrase_stored: bool,
    /// The cipher of the sealed record.
    pub cipher: CipherStatus,
    /// The key derivation recorded in the vault file, when a readable file exists.
    pub kdf: Option<KdfStatus>,
    /// The iteration count new vaults and passphrase changes will use.
    pub kdf_iterations_for_new_vaults: u32,
    /// Whether the vault accepts low, insecure KDF costs (a test configuration).
    pub insecure_kdf_allowed: bool,
    /// The vault file as it is on disk, for vaults kept in a file.
    pub file: Option<FileStatus>,
    /// The vault file format version this build writes.
    pub format_version: u64,
    /// The passphrase policy in force.
    pub policy: Requirements,
    /// The failed-unlock lockout, if on.
    pub lockout: Option<LockoutStatus>,
    /// Consecutive failed unlock attempts.
    pub failed_attempts: u32,
    /// How long until unlocking is allowed again, while locked out.
    pub locked_out_for: Option<Duration>,
    /// The idle timeout after which an unlocked vault locks itself, if on.
    pub idle_timeout: Option<Duration>,
    /// Problems found (an unreadable or invalid file, unsafe permissions); empty when all is
    /// well.
    pub problems: Vec<String>,
}

/// The cipher.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct CipherStatus {
    /// `fernet`.
    pub name: &'static str,
    /// What it is made of.
    pub construction: &'static str,
    /// Whether the whole record is one token (it is, in format version 1).
    pub single_token: bool,
}

/// Key-derivation parameters read from the vault file.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct KdfStatus {
    /// The algorithm's stable name.
    pub algorithm: &'static str,
    /// The iteration count in the file.
    pub iterations: u32,
    /// The salt's length in bytes.
    pub salt_bytes: usize,
}

/// The vault file on disk.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct FileStatus {
    /// Its path.
    pub path: Option<PathBuf>,
    /// Whether it exists.
    pub present: bool,
    /// Its permission bits in octal (`"0600"`), read from disk now.
    pub mode: Option<String>,
    /// Whether only the owner can read and write it.
    pub mode_private: Option<bool>,
}

/// The lockout policy.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct LockoutStatus {
    /// Failures allowed before the first delay.
    pub max_attempts: u32,
    /// The first delay.
    pub base_delay: Duration,
    /// The longest delay.
    pub max_delay: Duration,
}

impl From<LockoutPolicy> for LockoutStatus {
    fn from(p: LockoutPolicy) -> Self {
        Self {
            max_attempts: p.max_attempts(),
            base_delay: p.base_delay(),
            max_delay: p.max_delay(),
        }
    }
}

impl SecurityStatus {
    pub(crate) fn collect(vault: &Vault, now: Instant) -> Self {
        let session = vault.session();
        let options = vault.options();
        let store = vault.store_ref();
        let info = store.describe();
        let mut problems = Vec::new();

        let kdf = match store.load() {
            Ok(Some(bytes)) => match VaultFile::parse(&bytes, options.acceptance) {
                Ok(file) => Some(KdfStatus {
                    algorithm: file.params.algorithm().name(),
                    iterations: file.params.iterations(),
                    salt_bytes: file.params.salt().as_bytes().len(),
                }),
                Err(e) => {
                    problems.push(e.to_string());
                    None
                }
            },
            Ok(None) => None,
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        };
        let file = (info.kind == StoreKind::File).then(|| FileStatus {
            path: info.path.clone(),
            present: info.present,
            mode: info.mode.map(|m| format!("{m:04o}")),
            mode_private: info.mode.map(|m| m & 0o077 == 0),
        });
        if let Some(mode) = info.mode.filter(|m| m & 0o077 != 0) {
            problems.push(format!(
                "the vault file has mode {mode:04o}: others can access it (run chmod 600)"
            ));
        }
        let state = session.state_at(now);
        Self {
            state,
            key_in_memory: state == SessionState::Unlocked,
            passphrase_stored: false,
            cipher: CipherStatus {
                name: CIPHER,
                construction: "AES-128-CBC + HMAC-SHA256 (encrypt-then-MAC)",
                single_token: true,
            },
            kdf,
            kdf_iterations_for_new_vaults: options.iterations,
            insecure_kdf_allowed: options.acceptance == Acceptance::InsecureLowCost,
            file,
            format_version: FORMAT_VERSION,
            policy: options.policy.requirements(),
            lockout: session.options().lockout().map(LockoutStatus::from),
            failed_attempts: session.failed_attempts(),
            locked_out_for: session.lockout_remaining(now),
            idle_timeout: session.options().idle_timeout(),
            problems,
        }
    }
}
