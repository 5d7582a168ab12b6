//! The [`SessionStore`] contract as a suite any store is run through: the in-memory store
//! here, PostgreSQL in `credlock-store-postgres`. A new store calls [`conformance`] from its
//! tests (feature `conformance`).

#![allow(
    clippy::unwrap_used,
    clippy::missing_panics_doc,
    reason = "a test suite fails loudly"
)]

use crate::{
    Scope, Scopes, SealedKey, SessionId, SessionKind, SessionRecord, SessionStore, TokenSecret,
};

/// The secret of a token made of 32 bytes `byte`.
#[must_use]
pub fn token(byte: u8) -> TokenSecret {
    use base64::Engine as _;
    let text = format!(
        "clk_{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode([byte; 32])
    );
    TokenSecret::parse(&text).unwrap()
}

/// The session id numbered `n`.
#[must_use]
pub fn id(n: u8) -> SessionId {
    SessionId::parse(&format!("ses_{:032x}", n)).unwrap()
}

/// A record numbered `n` for the token `secret`, with a sealed key `sealed-{n}`.
#[must_use]
pub fn record(n: u8, secret: &TokenSecret) -> SessionRecord {
    SessionRecord {
        id: id(n),
        digest: secret.digest(),
        kind: SessionKind::ApiToken,
        label: format!("token {n}"),
        scopes: Scopes::from(Scope::Totp),
        created_ms: 1_000,
        last_used_ms: 1_000,
        expires_ms: Some(10_000),
        idle_timeout_ms: None,
        sealed_key: Some(SealedKey::from_text(format!("sealed-{n}"))),
    }
}

/// What every store must do.
pub fn conformance(store: &dyn SessionStore) {
    let (a, b) = (token(1), token(2));
    store.insert(record(1, &a), &a).unwrap();
    store.insert(record(2, &b), &b).unwrap();
    assert_eq!(store.list().unwrap().len(), 2);

    // Found by the digest of its token only.
    let found = store.find(&a.digest(), &a).unwrap().unwrap();
    assert_eq!((found.id, found.label.as_str()), (id(1), "token 1"));
    assert_eq!(
        (found.kind, found.scopes, found.created_ms, found.expires_ms),
        (
            SessionKind::ApiToken,
            Scopes::from(Scope::Totp),
            1_000,
            Some(10_000)
        )
    );
    assert_eq!(found.idle_timeout_ms, None);
    assert_eq!(found.sealed_key.unwrap().as_str(), "sealed-1");
    let other = token(3);
    assert!(store.find(&other.digest(), &other).unwrap().is_none());

    // A use moves last_used forward, never back.
    store.touch(&id(1), 5_000).unwrap();
    store.touch(&id(1), 2_000).unwrap();
    assert_eq!(
        store.find(&a.digest(), &a).unwrap().unwrap().last_used_ms,
        5_000
    );
    store.touch(&id(9), 5_000).unwrap(); // unknown: nothing happens

    // Rotation: the old digest is never found again, the new one is.
    let c = token(4);
    let resealed = Some(SealedKey::from_text("sealed-1-rotated"));
    assert!(
        store
            .replace_digest(&id(1), c.digest(), resealed.clone(), &c, 6_000)
            .unwrap()
    );
    assert!(store.find(&a.digest(), &a).unwrap().is_none());
    let rotated = store.find(&c.digest(), &c).unwrap().unwrap();
    assert_eq!((rotated.id, rotated.last_used_ms), (id(1), 6_000));
    assert_eq!(rotated.sealed_key, resealed);
    assert!(
        !store
            .replace_digest(&id(9), a.digest(), None, &a, 6_000)
            .unwrap()
    );

    // Removal is final.
    assert!(store.remove(&id(2)).unwrap());
    assert!(!store.remove(&id(2)).unwrap());
    assert!(store.find(&b.digest(), &b).unwrap().is_none());
    assert_eq!(store.remove_all().unwrap(), 1);
    assert!(store.find(&c.digest(), &c).unwrap().is_none());
    assert!(store.list().unwrap().is_empty());
    assert_eq!(store.remove_all().unwrap(), 0);
}
