//! The crypto layer credlock is built on, for code that handles Fernet tokens and
//! passphrase-derived keys itself: PBKDF2-HMAC-SHA256 key derivation ([`derive_key`],
//! [`KdfParams`], [`Salt`]) and Fernet sealing and opening ([`FernetKey::seal`],
//! [`FernetKey::open`], [`FernetKey::open_with_ttl`]), byte-compatible with Python's
//! `cryptography` (pyca).
//!
//! This is the way to migrate pyca `Fernet` code without a second dependency: a vault is the
//! better home for credentials, but tokens and keys that an application keeps elsewhere
//! (Eclosion's notes, say) move over call for call.
//!
//! | pyca `cryptography`                                                    | `credlock::crypto`                          |
//! |------------------------------------------------------------------------|---------------------------------------------|
//! | `PBKDF2HMAC(SHA256(), 32, salt, 480_000).derive(p.encode())` + `urlsafe_b64encode` + `Fernet(...)` | [`derive_key`]`(p, &`[`KdfParams::new`]`(480_000, salt)?)` |
//! | `Fernet(key)` from a urlsafe-base64 key                                 | [`FernetKey::from_base64url`]               |
//! | `Fernet.generate_key()`                                                  | [`FernetKey::generate`]                     |
//! | `f.encrypt(data)`                                                        | [`FernetKey::seal`]                         |
//! | `f.decrypt(token)`                                                       | [`FernetKey::open`]                         |
//! | `f.decrypt(token, ttl)`                                                  | [`FernetKey::open_with_ttl`]                |
//! | `InvalidToken`                                                           | [`Error::InvalidToken`]                     |
//!
//! Where pyca and credlock differ, and why, is listed in the crate documentation of
//! `credlock-crypto` ("Exactly as pyca, and where not"): in short, tokens open exactly as
//! pyca opens them, including a last base64 character with non-zero unused bits; a token
//! with characters outside the base64url alphabet, which pyca skips, is refused.
//!
//! ```
//! use credlock::crypto::{derive_key, FernetKey, KdfParams, Salt};
//!
//! // Python (Eclosion's core/encryption.py):
//! //   kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=480000)
//! //   f = Fernet(base64.urlsafe_b64encode(kdf.derive(passphrase.encode("utf-8"))))
//! //   token = f.encrypt(b"alice@example.com")
//! //   f.decrypt(token)
//! let salt = Salt::from_bytes(*b"\x00\x11\x22\x33\x44\x55\x66\x77\x88\x99\xaa\xbb\xcc\xdd\xee\xff");
//! let key = derive_key("Correct-Horse-9-Battery!", &KdfParams::new(480_000, salt)?)?;
//! // The same key as pyca's (the value in testdata/eclosion/README.md).
//! use credlock::secrecy::ExposeSecret as _;
//! assert_eq!(
//!     key.to_base64url().expose_secret(),
//!     "W3fiauczQXNUnlMdJI7kK7bnkP7ZQm-ekeIC5kQBTlg="
//! );
//! let token = key.seal(b"alice@example.com")?;
//! assert_eq!(key.open(&token)?.as_slice(), b"alice@example.com");
//!
//! // A key kept as pyca's urlsafe-base64 text.
//! let same = FernetKey::from_base64url("W3fiauczQXNUnlMdJI7kK7bnkP7ZQm-ekeIC5kQBTlg=")?;
//! assert_eq!(same.open(&token)?.as_slice(), b"alice@example.com");
//! # Ok::<(), credlock::crypto::Error>(())
//! ```

pub use credlock_crypto::{
    Argon2Cost, Argon2Limits, Error, FernetKey, KEY_LEN, KdfAlgorithm, KdfParams, Normalization,
    SALT_LEN, Salt, derive_key, derive_key_from_bytes,
};
