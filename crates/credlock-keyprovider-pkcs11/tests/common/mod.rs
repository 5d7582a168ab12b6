//! The SoftHSM2 token the tests use, from the environment `scripts/softhsm-init.sh` prints.

use std::path::PathBuf;

use credlock_keyprovider::{PinSource, Pkcs11Spec};

/// The token to test against.
pub(crate) struct Token {
    pub(crate) module: PathBuf,
    pub(crate) label: String,
}

impl Token {
    /// A spec for the key `key` on this token, with the PIN from `CREDLOCK_PKCS11_PIN`.
    pub(crate) fn spec(&self, key: &str) -> Pkcs11Spec {
        Pkcs11Spec::new(
            &self.module,
            &self.label,
            key,
            PinSource::Env("CREDLOCK_PKCS11_PIN".into()),
        )
    }
}

/// A key label no other test or run uses.
pub(crate) fn label(test: &str) -> String {
    format!("test-{}-{test}", std::process::id())
}

/// The token, or `None` after saying why the test does not run. With
/// `CREDLOCK_REQUIRE_SOFTHSM=1` (as in CI), a missing token fails the test instead.
pub(crate) fn token() -> Option<Token> {
    let require = std::env::var("CREDLOCK_REQUIRE_SOFTHSM").as_deref() == Ok("1");
    let missing = |why: String| {
        assert!(
            !require,
            "CREDLOCK_REQUIRE_SOFTHSM=1 but {why}: run eval \"$(scripts/softhsm-init.sh)\""
        );
        eprintln!(
            "SKIPPED (no SoftHSM2 token: {why}; run eval \"$(scripts/softhsm-init.sh)\", or set \
             CREDLOCK_REQUIRE_SOFTHSM=1 to fail instead)"
        );
        None
    };
    for var in [
        "SOFTHSM2_CONF",
        "CREDLOCK_PKCS11_MODULE",
        "CREDLOCK_PKCS11_PIN",
    ] {
        if std::env::var_os(var).is_none() {
            return missing(format!("{var} is not set"));
        }
    }
    let module = PathBuf::from(std::env::var_os("CREDLOCK_PKCS11_MODULE")?);
    if !module.is_file() {
        return missing(format!("the module {} does not exist", module.display()));
    }
    let label = std::env::var("CREDLOCK_PKCS11_TOKEN").unwrap_or_else(|_| "credlock".into());
    Some(Token { module, label })
}

/// Held by each test of a binary for its whole run: the tests create and destroy token objects
/// directly (with attributes the setup helpers never use) as well as through the helpers, and
/// SoftHSM2's file store does not take concurrent object writes reliably. Concurrent signing is
/// tested inside one test, with many threads.
pub(crate) fn exclusive() -> std::sync::MutexGuard<'static, ()> {
    static TOKEN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TOKEN
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
