//! API tests of `credlock-session`, driven with zeroization-logging test types.

#[path = "../common/mod.rs"]
mod common;

mod debug;
mod idle;
mod lockout;
mod transitions;
mod zeroize;
