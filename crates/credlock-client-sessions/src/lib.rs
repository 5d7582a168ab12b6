//! The client-session contract of credlock: session tokens shown once and digests kept,
//! session ids, scopes, records, the [`SessionStore`] trait, the in-memory store, and (feature
//! `conformance`) the suite every store passes.
//!
//! A leaf: no vault, no I/O, no key. A token is `clk_` and 256 random bits, base64url; a store
//! keeps its SHA-256 [`TokenDigest`] and compares digests in constant time. Random bits come
//! from the caller ([`SessionToken::generate`] and [`SessionId::generate`] take the random
//! source), so the crate needs no operating-system access of its own. The vault that mints,
//! validates and revokes sessions is `credlock`'s (`credlock::sessions`); the PostgreSQL
//! store is `credlock-store-postgres`'s (feature `sessions`).
//!
//! ```
//! # mod credlock { pub use credlock_client_sessions as sessions; }
//! use credlock::sessions::{MemorySessionStore, SessionStore, SessionToken, TokenSecret};
//!
//! let fill = |buf: &mut [u8]| -> Result<(), std::convert::Infallible> {
//!     buf.fill(7); // a real caller passes its random source
//!     Ok(())
//! };
//! let (token, secret) = SessionToken::generate(fill)?;
//! assert!(token.expose_secret().starts_with("clk_"));
//! let parsed = TokenSecret::parse(token.expose_secret()).expect("a token it made");
//! assert!(parsed.digest().ct_eq(&secret.digest()));
//! assert!(MemorySessionStore::new().list()?.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

#[cfg(feature = "conformance")]
pub mod conformance;
mod info;
mod scope;
mod sealed_key;
mod store;
mod token;

pub use info::{
    MintedSession, SessionId, SessionInfo, SessionKind, SessionRecord, SessionRequest, from_ms,
    to_ms,
};
pub use scope::{Scope, Scopes};
pub use sealed_key::SealedKey;
pub use store::{MemorySessionStore, SessionStore, SessionStoreError};
pub use token::{SessionToken, TOKEN_PREFIX, TokenDigest, TokenSecret};
