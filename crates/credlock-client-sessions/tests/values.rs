//! The values of the session contract: ids and tokens spelled exactly from their random
//! bits, requests that keep what they were asked, scope sets that know when they are empty.

#![allow(clippy::unwrap_used)]

use std::convert::Infallible;
use std::time::Duration;

use credlock_client_sessions::{
    Scope, Scopes, SessionId, SessionKind, SessionRequest, SessionToken, TokenSecret,
};

/// A random source that yields `0x00, 0x11, 0x22, …`.
fn counting(buf: &mut [u8]) -> Result<(), Infallible> {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = u8::try_from(i % 16).unwrap() * 0x11;
    }
    Ok(())
}

#[test]
fn an_id_is_its_random_bits_in_lowercase_hex() {
    let id = SessionId::generate(counting).unwrap();
    assert_eq!(id.as_str(), "ses_00112233445566778899aabbccddeeff");
    assert_eq!(SessionId::parse(id.as_str()), Some(id));
    let fill_fails = |_: &mut [u8]| Err("no randomness");
    assert_eq!(SessionId::generate(fill_fails), Err("no randomness"));
}

#[test]
fn a_token_carries_exactly_its_random_bits() {
    let (token, secret) = SessionToken::generate(counting).unwrap();
    let mut expected = [0u8; 32];
    counting(&mut expected).unwrap();
    assert_eq!(secret.expose_secret_bytes(), &expected);
    let parsed = TokenSecret::parse(token.expose_secret()).unwrap();
    assert_eq!(parsed.expose_secret_bytes(), &expected);
    assert!(parsed.digest().ct_eq(&secret.digest()));
}

#[test]
fn a_request_keeps_what_it_was_asked() {
    let client = SessionRequest::client("Firefox on Linux")
        .with_idle_timeout(Duration::from_secs(60))
        .expires_in(Duration::from_secs(3600));
    assert_eq!(client.kind(), SessionKind::Client);
    assert_eq!(client.label(), "Firefox on Linux");
    assert_eq!(client.scope_set(), Scopes::ALL);
    assert_eq!(client.lifetime(), Some(Duration::from_secs(3600)));
    assert_eq!(client.idle_timeout(), Some(Duration::from_secs(60)));

    // An API token has no idle expiry, whatever it is asked.
    let bot = SessionRequest::api_token("bot", Scope::Totp)
        .with_idle_timeout(Duration::from_secs(60))
        .without_expiry();
    assert_eq!(bot.kind(), SessionKind::ApiToken);
    assert_eq!(bot.label(), "bot");
    assert_eq!(bot.scope_set(), Scopes::from(Scope::Totp));
    assert_eq!(bot.idle_timeout(), None);
    assert_eq!(bot.lifetime(), None);
    assert_eq!(
        SessionRequest::api_token("bot", Scope::Totp).lifetime(),
        Some(SessionRequest::API_TOKEN_LIFETIME)
    );
}

#[test]
fn a_scope_set_knows_when_it_is_empty() {
    assert!(Scopes::default().is_empty());
    assert!(!Scopes::from(Scope::Totp).is_empty());
    assert!(!Scopes::ALL.is_empty());
    let none = SessionRequest::client("x").scopes(Scopes::default());
    assert!(none.scope_set().is_empty());
}
