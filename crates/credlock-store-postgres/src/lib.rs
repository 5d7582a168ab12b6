#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

mod events;
mod lock;
mod pool;
mod schema;
#[cfg(feature = "sessions")]
mod sessions;
mod set;
mod store;
#[cfg(feature = "test-server")]
pub mod testing;

pub use postgres;
#[cfg(feature = "sessions")]
pub use sessions::{PostgresSessionStore, PostgresSessions};
pub use set::{PostgresStoreSet, PostgresStoreSetBuilder};
pub use store::PostgresStore;
