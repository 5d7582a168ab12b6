//! An async app holding one shared vault: blocking calls on tokio's blocking pool, cheap
//! calls straight from async code, and a lockout turned into a `Retry-After`.
//!
//! Run it with `cargo run --example async_app`.

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::sync::Arc;
use std::time::Instant;

use credlock::secrecy::SecretString;
use credlock::{Credentials, Error, ErrorKind, LockoutPolicy, Policy, SessionState, Vault};

/// What an unlock endpoint would answer: an HTTP status and, when locked out, a Retry-After.
fn http_answer(result: &Result<(), Error>) -> (u16, Option<u64>) {
    match result {
        Ok(()) => (204, None),
        Err(e) => match e.kind() {
            ErrorKind::WrongPassphrase => (401, None),
            ErrorKind::LockedOut => (429, e.retry_after_secs()),
            ErrorKind::Conflict => (409, None),
            _ => (500, None),
        },
    }
}

/// The unlock handler: the key derivation blocks, so it runs on the blocking pool.
async fn unlock(vault: Arc<Vault>, passphrase: SecretString) -> Result<(), Error> {
    tokio::task::spawn_blocking(move || vault.unlock(&passphrase))
        .await
        .expect("the unlock task panicked")
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("vault.json");
    let pass = "Tangerine-Rocket-42!";

    // Open once at start-up and share: 3 failures, then a 30 s delay.
    let vault = Arc::new(
        Vault::builder(&path)
            .lockout(LockoutPolicy::new(
                3,
                std::time::Duration::from_secs(30),
                std::time::Duration::from_secs(900),
            )?)
            .open()?,
    );
    let valid = Policy::default().check(SecretString::from(pass))?;
    let creds = Credentials::new("alice@example.com", SecretString::from("monarch-pw-123"));
    {
        let vault = Arc::clone(&vault);
        tokio::task::spawn_blocking(move || vault.store(creds, valid)).await??;
    }
    vault.lock(); // cheap: called directly
    println!("1. Vault created and locked: {:?}", vault.status());

    // Four clients at once: three wrong guesses and the right one. They take turns on the
    // vault; status() answers at once meanwhile.
    let started = Instant::now();
    let guesses = ["wrong-1", "wrong-2", pass, "wrong-3"];
    let handlers: Vec<_> = guesses
        .iter()
        .map(|g| tokio::spawn(unlock(Arc::clone(&vault), SecretString::from(*g))))
        .collect();
    let status_during = vault.status();
    let status_latency = started.elapsed();
    let mut answers = Vec::new();
    for h in handlers {
        answers.push(http_answer(&h.await?));
    }
    println!(
        "2. Four parallel unlocks answered {answers:?}; status() during them: {status_during:?} \
         after {status_latency:?}"
    );
    println!("   Now: {:?}", vault.status());

    // Lock, then three wrong guesses in a row: the fourth attempt is refused without a
    // derivation, with the wait an HTTP client gets in Retry-After.
    vault.lock();
    for attempt in 1..=4 {
        let result = unlock(Arc::clone(&vault), SecretString::from("guess")).await;
        println!("3. Wrong guess {attempt}: {:?}", http_answer(&result));
    }
    let report = vault.security_status();
    println!(
        "4. Status: {} failed attempts, locked out for {:?} s",
        report.failed_attempts, report.locked_out_for_secs
    );
    assert_eq!(vault.status(), SessionState::Locked);
    Ok(())
}
