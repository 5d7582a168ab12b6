//! TOTP: the RFC 6238 appendix B vectors, secrets as users paste them, and the check made
//! when credentials are stored.

#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

mod common;

use std::time::{Duration, UNIX_EPOCH};

use common::*;
use credlock::secrecy::ExposeSecret as _;
use credlock::totp::TotpSecret;
use credlock::{Credentials, Error, ErrorKind, FakeClock, SessionState};

#[derive(serde::Deserialize)]
struct Vectors {
    vectors: Vec<Vector>,
}

#[derive(serde::Deserialize)]
struct Vector {
    time: u64,
    algorithm: String,
    secret_base32: String,
    digits: u8,
    period: u64,
    code: String,
}

fn vectors() -> Vec<Vector> {
    let text = std::fs::read_to_string(testdata("totp/rfc6238.json")).unwrap();
    serde_json::from_str::<Vectors>(&text).unwrap().vectors
}

#[test]
fn rfc_6238_appendix_b() {
    let vectors = vectors();
    assert_eq!(vectors.len(), 18);
    for v in vectors {
        let uri = format!(
            "otpauth://totp/RFC6238:test?secret={}&algorithm={}&digits={}&period={}",
            v.secret_base32, v.algorithm, v.digits, v.period
        );
        let secret = TotpSecret::parse(&uri).unwrap();
        let code = secret.code_at(UNIX_EPOCH + Duration::from_secs(v.time));
        assert_eq!(
            code.code().expose_secret(),
            v.code,
            "{} at {}",
            v.algorithm,
            v.time
        );
        assert_eq!(code.seconds_left(), 30 - v.time % 30);
        if v.algorithm == "SHA1" {
            // The bare secret means SHA-1, 6 digits, 30 s: the code's last six digits.
            let plain = TotpSecret::parse(&v.secret_base32.to_lowercase()).unwrap();
            let code = plain.code_at(UNIX_EPOCH + Duration::from_secs(v.time));
            assert_eq!(code.code().expose_secret(), &v.code[2..]);
        }
    }
}

#[test]
fn the_vault_gives_the_code_of_its_clock_and_counts_it_as_activity() {
    let (_d, path) = temp_vault();
    // 1111111109 s: "07081804" in 8 digits, "081804" in 6.
    let clock = FakeClock::starting_at(UNIX_EPOCH + Duration::from_secs(1_111_111_109));
    let v = builder(&path)
        .insecure_clock(clock.clone())
        .idle_timeout(Duration::from_secs(600))
        .open()
        .unwrap();
    let creds = Credentials::new("alice@example.com", secret("pw"))
        .with_mfa_secret(secret("gezd gnbv gy3t qojq gezd gnbv gy3t qojq"));
    v.store(creds, valid(PASS)).unwrap();
    let code = v.totp().unwrap();
    assert_eq!(code.code().expose_secret(), "081804");
    assert_eq!(code.seconds_left(), 1);
    clock.advance(Duration::from_secs(500));
    v.totp().unwrap();
    clock.advance(Duration::from_secs(500));
    assert_eq!(v.status(), SessionState::Unlocked);
    v.lock();
    assert!(matches!(v.totp(), Err(Error::Locked)));
}

#[test]
fn no_mfa_secret_is_a_typed_error() {
    let (_d, path) = temp_vault();
    let v = builder(&path).open().unwrap();
    v.store(Credentials::new("a@example.com", secret("pw")), valid(PASS))
        .unwrap();
    let err = v.totp().unwrap_err();
    assert!(matches!(err, Error::NoMfaSecret));
    assert_eq!(err.kind(), ErrorKind::NoCredentials);
}

#[test]
fn an_invalid_secret_is_refused_when_stored_and_nothing_changes() {
    let bad =
        || Credentials::new("alice@example.com", secret("pw")).with_mfa_secret(secret("1234 5678"));
    let (_d, path) = temp_vault();
    let v = builder(&path).open().unwrap();
    let err = v.store(bad(), valid(PASS)).unwrap_err();
    assert!(matches!(err, Error::InvalidMfaSecret { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::InvalidCredentials);
    assert!(
        !err.to_string().contains("1234"),
        "no secret in the message"
    );
    assert!(!path.exists(), "nothing was written");

    v.store(creds(), valid(PASS)).unwrap();
    assert!(matches!(
        v.update_credentials(bad()),
        Err(Error::InvalidMfaSecret { .. })
    ));
    assert!(matches!(
        v.replace(bad(), valid(OTHER_PASS)),
        Err(Error::InvalidMfaSecret { .. })
    ));
    assert_eq!(
        v.credentials().unwrap(),
        creds(),
        "the stored credentials are kept"
    );
    v.lock();
    v.unlock(&secret(PASS)).unwrap();
    assert_eq!(v.credentials().unwrap(), creds());
}

/// What `oathtool --totp -b` (and the Python `oathtool` package Eclosion's login uses)
/// accepts gives codes: here an 8-character base32 secret (5 bytes, 40 bits), whose code at
/// 2026-01-01T00:00:00Z both give as 695745.
#[test]
fn a_short_secret_typed_by_the_user_is_stored_and_gives_oathtools_code() {
    let (_d, path) = temp_vault();
    let clock = FakeClock::starting_at(UNIX_EPOCH + Duration::from_secs(1_767_225_600));
    let v = builder(&path).insecure_clock(clock).open().unwrap();
    let creds =
        Credentials::new("alice@example.com", secret("pw")).with_mfa_secret(secret("jbsw y3dp"));
    v.store(creds, valid(PASS)).unwrap();
    assert_eq!(v.totp().unwrap().code().expose_secret(), "695745");
}

/// The migration joint moves a foreign record's MFA secret as it was, even one that gives no
/// codes; `totp` then says why, and `store` still refuses such a secret typed by a user.
#[test]
fn an_import_keeps_an_mfa_secret_the_parser_refuses_and_totp_says_why() {
    use credlock::crypto::{KdfParams, Salt};
    use credlock::migrate::Verdict;

    let (_d, path) = temp_vault();
    let v = builder(&path).open().unwrap();
    let foreign = KdfParams::insecure_low_cost(1_000, Salt::from_slice(&[7; 16]).unwrap()).unwrap();
    v.import_foreign(&secret(PASS), &foreign, false, |_key| {
        Ok::<_, Verdict<std::convert::Infallible>>(
            Credentials::new("alice@example.com", secret("pw"))
                .with_mfa_secret(secret("NFDSECRET")),
        )
    })
    .unwrap();
    assert_eq!(
        v.credentials()
            .unwrap()
            .mfa_secret()
            .unwrap()
            .expose_secret(),
        "NFDSECRET"
    );
    let err = v.totp().unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidMfaSecret {
                reason: "the secret's base32 length is impossible"
            }
        ),
        "{err:?}"
    );
    assert!(!err.to_string().contains("NFDSECRET"));
    // Kept across a lock and an unlock.
    v.lock();
    v.unlock(&secret(PASS)).unwrap();
    assert!(matches!(v.totp(), Err(Error::InvalidMfaSecret { .. })));

    let (_d2, other) = temp_vault();
    let w = builder(&other).open().unwrap();
    let typed =
        Credentials::new("alice@example.com", secret("pw")).with_mfa_secret(secret("NFDSECRET"));
    assert!(matches!(
        w.store(typed, valid(PASS)),
        Err(Error::InvalidMfaSecret { .. })
    ));
    assert!(!other.exists());
}
