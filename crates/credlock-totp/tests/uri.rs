//! `otpauth://` URIs name their algorithm explicitly too: `SHA1` is the default spelled out.

#![allow(clippy::unwrap_used)]

use std::time::{Duration, UNIX_EPOCH};

use credlock_totp::{TotpAlgorithm, TotpSecret};
use secrecy::ExposeSecret as _;

#[test]
fn an_explicit_sha1_is_the_default_algorithm() {
    let implicit = TotpSecret::parse("otpauth://totp/Bank:alice?secret=JBSWY3DPEHPK3PXP").unwrap();
    let explicit =
        TotpSecret::parse("otpauth://totp/Bank:alice?secret=JBSWY3DPEHPK3PXP&algorithm=SHA1")
            .unwrap();
    assert_eq!(explicit.algorithm(), TotpAlgorithm::Sha1);
    let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    assert_eq!(
        explicit.code_at(at).code().expose_secret(),
        implicit.code_at(at).code().expose_secret()
    );
}
