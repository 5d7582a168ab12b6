#![doc = include_str!("../README.md")]
#![deny(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

mod argon2id;
mod error;
mod fernet;
pub mod hazmat;
pub mod insecure;
mod kdf;
mod key;
mod normalization;
mod params;
mod pbkdf2_fast;
mod service;

pub use argon2id::{Argon2Cost, Argon2Limits};
pub use error::{Error, RandomError, fill_random};
pub use kdf::{derive_key, derive_key_from_bytes};
pub use key::{FernetKey, KEY_LEN};
pub use normalization::Normalization;
pub use params::{KdfAlgorithm, KdfParams, SALT_LEN, Salt};
pub use service::{DerivationService, derive_key_batched};

pub use secrecy;
pub use zeroize;
