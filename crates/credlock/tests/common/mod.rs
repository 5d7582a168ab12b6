//! Helpers shared by the facade's integration tests.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};

use credlock::secrecy::SecretString;
use credlock::{Credentials, LockoutPolicy, ValidPassphrase, Vault, VaultBuilder};

/// A cheap KDF cost so that tests do not spend 480,000 iterations per operation.
pub const TEST_ITERATIONS: u32 = 1_000;
pub const PASS: &str = "Tangerine-Rocket-42!";
pub const OTHER_PASS: &str = "Marmalade-Comet-17?";

pub fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

pub fn valid(s: &str) -> ValidPassphrase {
    credlock::Policy::default().check(secret(s)).unwrap()
}

pub fn creds() -> Credentials {
    Credentials::new("alice@example.com", secret("monarch-pw-123"))
        .with_mfa_secret(secret("JBSWY3DPEHPK3PXP"))
}

pub fn builder(path: &Path) -> VaultBuilder {
    Vault::builder(path).insecure_kdf_iterations(TEST_ITERATIONS)
}

/// `builder` with an observer that counts the key derivations started, and the count.
pub fn counting_derivations(
    builder: VaultBuilder,
) -> (VaultBuilder, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = std::sync::Arc::clone(&count);
    let builder = builder.on_key_derivation(move |e| {
        if e.stage == credlock::DerivationStage::Started {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    });
    (builder, count)
}

/// A vault that never locks out (for tests that fail many unlocks on purpose).
pub fn open(path: &Path) -> Vault {
    builder(path)
        .lockout(
            LockoutPolicy::new(
                1_000,
                std::time::Duration::from_secs(1),
                std::time::Duration::from_secs(1),
            )
            .unwrap(),
        )
        .open()
        .unwrap()
}

/// A fresh directory and a vault path inside it.
pub fn temp_vault() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("vault.json");
    (dir, path)
}

/// A stored, locked vault.
pub fn stored(path: &Path) -> Vault {
    let v = open(path);
    v.store(creds(), valid(PASS)).unwrap();
    v.lock();
    v
}

/// The path of one file under the repository's `testdata/` folder (`../../testdata` from
/// this crate's manifest directory). Panics, naming the full path, if the file is missing:
/// the data is part of the repository, so a test never skips for want of it.
pub fn testdata(relative: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("the crate sits at crates/<name> in the repository");
    let path = root.join("testdata").join(relative);
    assert!(
        path.is_file(),
        "test data file missing: {} (it is checked in under testdata/; see testdata/README.md)",
        path.display()
    );
    path
}

pub fn set_mode(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::symlink_metadata(path)
        .unwrap()
        .permissions()
        .mode()
        & 0o7777
}
