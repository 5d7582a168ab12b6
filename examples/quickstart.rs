//! The quickstart: derive a vault key from a passphrase, seal a credential record, open it.
//!
//! Run with `cargo run --example quickstart`.

#![allow(clippy::print_stdout, reason = "an example prints what it does")]

use std::time::Instant;

use credlock_crypto::{KdfParams, derive_key};

fn main() -> Result<(), credlock_crypto::Error> {
    let params = KdfParams::generate()?;
    println!(
        "KDF: {} with {} iterations and a fresh random 16-byte salt",
        params.algorithm(),
        params.iterations()
    );

    let started = Instant::now();
    let key = derive_key("Correct-Horse-9-Battery!", &params)?;
    println!(
        "derived the vault key in {:.0?}: {key:?}",
        started.elapsed()
    );

    let record = br#"{"email":"alice@example.com","password":"monarch-pw-123"}"#;
    let started = Instant::now();
    let token = key.seal(record)?;
    println!(
        "sealed a {}-byte record in {:.0?}",
        record.len(),
        started.elapsed()
    );
    println!("token: {}...", &token[..24]);

    let started = Instant::now();
    let opened = key.open(&token)?;
    println!(
        "opened it again in {:.0?}: {} bytes, identical: {}",
        started.elapsed(),
        opened.len(),
        opened.as_slice() == record
    );
    Ok(())
}
