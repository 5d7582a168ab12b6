#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

mod announce;
mod error;
mod key;
mod limits;
mod lockout;
mod memory;
mod set;
mod store;
mod version;

#[cfg(feature = "conformance")]
pub mod conformance;

#[cfg(unix)]
mod file;

pub mod manual;

#[cfg(all(fuzzing, unix))]
pub mod fuzzing;

pub use announce::{Listener, Notice, StoreEvent, Watch};
pub use error::{Error, InvalidKeyReason, InvalidPathReason, Operation};
pub use key::StoreKey;
pub use limits::{DEFAULT_LOCK_TIMEOUT, DEFAULT_MAX_LEN};
pub use lockout::LockoutRecord;
pub use memory::MemoryStore;
pub use set::{MemoryStoreSet, StoreSet};
pub use store::{MAX_CAS_ATTEMPTS, Store, StoreInfo, StoreKind, StoreLock};
pub use version::{Version, Versioned, WriteOutcome};

#[cfg(unix)]
pub use file::{
    FileStore, FileStoreBuilder, FileStoreSet, ReadOptions, open_private_dir, read_checked,
};
