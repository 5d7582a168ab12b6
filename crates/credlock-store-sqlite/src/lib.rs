#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

mod db;
mod lock;
mod schema;
mod set;
mod store;

pub use set::SqliteStoreSet;
pub use store::SqliteStore;
