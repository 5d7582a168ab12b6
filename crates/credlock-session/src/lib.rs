#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]

mod error;
mod lockout;
mod options;
mod session;
mod state;

pub use error::Error;
pub use options::{LockoutPolicy, SessionOptions};
pub use session::Session;
pub use state::{SessionState, SessionStatus};
