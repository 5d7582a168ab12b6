#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

mod blocklist;
mod classes;
mod context;
mod error;
mod patterns;
mod policy;
mod requirements;
#[cfg(feature = "strength")]
mod strength;
mod valid;

pub use blocklist::BLOCKLIST_LEN;
pub use classes::{Alphabet, CharClass};
pub use error::{PolicyViolations, Violation};
pub use policy::Policy;
pub use requirements::{Requirement, Requirements};
pub use valid::ValidPassphrase;

/// Re-export of the `secrecy` crate, whose [`SecretString`](secrecy::SecretString)
/// and [`ExposeSecret`](secrecy::ExposeSecret) appear in this crate's API.
pub use secrecy;
