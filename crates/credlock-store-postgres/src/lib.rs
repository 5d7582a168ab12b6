#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

mod lock;
mod pool;
mod schema;
mod set;
mod store;
#[cfg(feature = "test-server")]
pub mod testing;

pub use postgres;
pub use set::{PostgresStoreSet, PostgresStoreSetBuilder};
pub use store::PostgresStore;
