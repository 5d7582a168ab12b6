//! An async app holding one shared vault through `credlock::nonblocking`: every call that
//! derives or touches storage runs on tokio's blocking pool behind a bound, `status()` is a
//! plain call, and an error becomes an HTTP answer (status, stable code, `Retry-After`) through
//! `credlock::web`.
//!
//! Run it with `cargo run --example async_app`.

#![allow(clippy::print_stdout, clippy::unwrap_used, missing_docs)]

use std::time::{Duration, Instant};

use axum::response::IntoResponse as _;
use credlock::nonblocking;
use credlock::secrecy::SecretString;
use credlock::{Credentials, Error, LockoutPolicy, Policy, SessionState, Vault};

/// What an unlock endpoint answers: an HTTP status, the error's stable code, and the
/// `Retry-After` header when locked out (all from the error's own response).
fn http_answer(result: Result<(), Error>) -> (u16, Option<&'static str>, Option<String>) {
    match result {
        Ok(()) => (204, None, None),
        Err(e) => {
            let code = e.kind().code();
            let response = e.into_response();
            let retry = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            (response.status().as_u16(), Some(code), retry)
        }
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("vault.json");
    let pass = "Tangerine-Rocket-42!";

    // Open once at start-up and share (a clone is cheap): 3 failures, then a 30 s delay.
    let vault = nonblocking::Vault::new(
        Vault::builder(&path)
            .lockout(LockoutPolicy::new(
                3,
                Duration::from_secs(30),
                Duration::from_secs(900),
            )?)
            .open()?,
    );
    let valid = Policy::default().check(SecretString::from(pass))?;
    let creds = Credentials::new("alice@example.com", SecretString::from("monarch-pw-123"));
    vault.store(creds, valid).await?;
    vault.lock().await;
    println!("1. Vault created and locked: {:?}", vault.status());

    // Four clients at once: three wrong guesses and the right one. They take turns on the
    // vault; status() answers at once meanwhile.
    let started = Instant::now();
    let guesses = ["wrong-1", "wrong-2", pass, "wrong-3"];
    let handlers: Vec<_> = guesses
        .iter()
        .map(|g| {
            let vault = vault.clone();
            let guess = SecretString::from(*g);
            tokio::spawn(async move { vault.unlock(guess).await })
        })
        .collect();
    let status_during = vault.status();
    let status_latency = started.elapsed();
    let mut answers = Vec::new();
    for h in handlers {
        answers.push(http_answer(h.await?));
    }
    println!(
        "2. Four parallel unlocks answered {answers:?}; status() during them: {status_during:?} \
         after {status_latency:?}"
    );
    println!("   Now: {:?}", vault.status());

    // Lock, then wrong guesses in a row: the fourth attempt is refused without a derivation,
    // with the wait an HTTP client gets in Retry-After.
    vault.lock().await;
    for attempt in 1..=4 {
        let result = vault.unlock(SecretString::from("guess")).await;
        println!("3. Wrong guess {attempt}: {:?}", http_answer(result));
    }
    let report = vault.security_status().await;
    println!(
        "4. Status: {} failed attempts, locked out for {:?} s",
        report.failed_attempts, report.locked_out_for_secs
    );
    assert_eq!(vault.status(), SessionState::Locked);
    Ok(())
}
