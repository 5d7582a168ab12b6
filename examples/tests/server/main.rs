//! The `server` example driven for real: its router served on an ephemeral loopback port,
//! a real HTTP client (`reqwest`) for the whole flow and every kind of bad request, a bounded
//! load of concurrent wrong unlocks, signed webhooks checked by a receiver, and the page in
//! headless Chromium over WebDriver.

#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stderr,
    missing_docs,
    unreachable_pub,
    reason = "tests: failing loudly is the point, and they report measurements"
)]

#[allow(dead_code, reason = "the tests use part of the server's API")]
#[path = "../../server/app/mod.rs"]
mod app;

mod attacks;
mod binary;
mod browser;
mod common;
mod errors;
mod flow;
mod load;
mod memory;
mod passkeys;
mod recovery;
mod slow;
mod users;
mod webhook;
