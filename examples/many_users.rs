//! Many users: one `Registry` over one SQLite database, a vault per user id.
//!
//! Run with `cargo run --example many_users`. It opens a registry in a temporary directory,
//! gives three users a vault each, shows that ids are validated and folded to lowercase,
//! locks one user out with wrong guesses, lists the locked-out users as an operator would,
//! clears that lockout and removes a user. The file store works the same way
//! (`FileStoreSet::open(dir)` instead of `SqliteStoreSet::open(dir)`).
//!
//! The vaults use a low KDF cost (`insecure_kdf_iterations`) so that the example runs at
//! once; an app keeps the default 480,000 iterations.

#![allow(clippy::print_stdout, reason = "an example prints what it does")]

use credlock::registry::SqliteStoreSet;
use credlock::secrecy::SecretString;
use credlock::{Credentials, Policy, Registry, UserId};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let registry = Registry::builder(SqliteStoreSet::open(dir.path().join("vaults"))?)
        .vault_options(|vault| vault.insecure_kdf_iterations(1_000))
        .open()?;
    println!("registry open: {} vaults in memory", registry.open_vaults());

    for (id, email) in [
        ("Alice@Example.com", "alice@example.com"),
        ("bob", "bob@example.com"),
        ("carol-42", "carol@example.com"),
    ] {
        let user = UserId::new(id)?;
        let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
        let vault = registry.vault(&user)?;
        vault.store(Credentials::new(email, SecretString::from("pw")), pass)?;
        vault.lock();
        println!("stored a vault for {id:?} as user {user}");
    }
    for bad in ["../etc/passwd", "a b", ""] {
        if let Err(e) = UserId::new(bad) {
            println!("{bad:?} is refused: {e}");
        }
    }

    let bob = UserId::new("bob")?;
    for _ in 0..5 {
        let _ = registry
            .vault(&bob)?
            .unlock(&SecretString::from("a wrong guess"));
    }
    for locked in registry.locked_out()? {
        println!(
            "locked out: {} after {} failures, for {} s more",
            locked.user,
            locked.state.failures,
            locked.state.retry_after_secs.unwrap_or(0)
        );
    }
    registry.clear_lockout(&bob)?;
    registry
        .vault(&bob)?
        .unlock(&SecretString::from("Tangerine-Rocket-42!"))?;
    println!("bob's lockout cleared, and bob unlocked");

    registry.remove_user(&UserId::new("carol-42")?)?;
    let users: Vec<String> = registry.users()?.iter().map(ToString::to_string).collect();
    println!("users now: {}", users.join(", "));
    Ok(())
}
