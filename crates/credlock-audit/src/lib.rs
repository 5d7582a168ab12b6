#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

mod error;
mod event;
mod hashing;
mod hex;
mod memory;
mod sink;
mod time;
mod tracing_sink;
pub mod webhook;

#[cfg(unix)]
mod jsonl;

pub use error::{AuditError, RandomError};
pub use event::{AuditContext, AuditEvent, EventKind, MAX_FIELD_CHARS, Outcome, sanitize};
pub use hashing::{HASHED_PREFIX, HashingKey, HashingSink, MIN_HASHING_KEY_BYTES, hash_value};
pub use memory::{FailingSink, MemorySink};
pub use sink::AuditSink;
pub use tracing_sink::{TRACING_TARGET, TracingSink};

#[cfg(unix)]
pub use jsonl::{DEFAULT_KEEP, DEFAULT_MAX_BYTES, JsonLinesBuilder, JsonLinesSink};
