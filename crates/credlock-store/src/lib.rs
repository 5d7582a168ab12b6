#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

mod error;
mod limits;
mod lockout;
mod memory;
mod store;

#[cfg(unix)]
mod file;

pub mod manual;

pub use error::{Error, InvalidPathReason, Operation};
pub use limits::{DEFAULT_LOCK_TIMEOUT, DEFAULT_MAX_LEN};
pub use lockout::LockoutRecord;
pub use memory::MemoryStore;
pub use store::{Store, StoreInfo, StoreKind, StoreLock};

#[cfg(unix)]
pub use file::{FileStore, FileStoreBuilder, ReadOptions, read_checked};
