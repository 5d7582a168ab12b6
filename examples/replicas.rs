//! Replicas: two registries on one PostgreSQL database share each user's lockout, see each
//! other's passphrase changes, and never lose an update.
//!
//! Needs a PostgreSQL database you may create tables in:
//!
//! ```sh
//! CREDLOCK_PG="host=/run/postgresql user=$USER dbname=credlock_demo" \
//!     cargo run --example replicas
//! ```
//!
//! The two "replicas" here are two registries in one process, each with connections of its
//! own, as two processes would have. The vaults use a low KDF cost
//! (`insecure_kdf_iterations`) so that the example runs at once.

#![allow(clippy::print_stdout, reason = "an example prints what it does")]

use credlock::registry::PostgresStoreSet;
use credlock::secrecy::SecretString;
use credlock::{Credentials, Error, Policy, Registry, UserId};

fn replica(conninfo: &str) -> Result<Registry, Box<dyn std::error::Error>> {
    let set = PostgresStoreSet::builder(conninfo.parse()?).open()?;
    Ok(Registry::builder(set)
        .vault_options(|vault| vault.insecure_kdf_iterations(1_000))
        .open()?)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Ok(conninfo) = std::env::var("CREDLOCK_PG") else {
        println!("set CREDLOCK_PG to a PostgreSQL connection string to run this example");
        return Ok(());
    };
    let a = replica(&conninfo)?;
    let b = replica(&conninfo)?;
    let user = UserId::new("replica-demo")?;
    a.remove_user(&user)?; // a clean start

    let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
    let on_a = a.vault(&user)?;
    on_a.store(
        Credentials::new("demo@example.com", SecretString::from("pw")),
        pass,
    )?;
    on_a.lock(); // unlocked only here; a replica that tests a passphrase starts locked
    println!("stored on replica A");

    // Wrong guesses spread over both replicas count together.
    for i in 0..5 {
        let on = if i % 2 == 0 { &a } else { &b };
        let guess = on
            .vault(&user)?
            .unlock(&SecretString::from("a wrong guess"));
        assert!(matches!(guess, Err(Error::WrongPassphrase)), "{guess:?}");
    }
    let refused = b
        .vault(&user)?
        .unlock(&SecretString::from("Tangerine-Rocket-42!"));
    println!(
        "after 5 wrong guesses over both, replica B refuses: {}",
        matches!(refused, Err(Error::LockedOut { .. }))
    );
    a.clear_lockout(&user)?;

    // A passphrase change on A is what B tests at its next unlock.
    let new = Policy::default().check(SecretString::from("Marmalade-Comet-17?"))?;
    a.vault(&user)?
        .change_passphrase(&SecretString::from("Tangerine-Rocket-42!"), new)?;
    b.vault(&user)?
        .unlock(&SecretString::from("Marmalade-Comet-17?"))?;
    println!("replica B unlocked with the passphrase set on replica A");
    a.remove_user(&user)?;
    Ok(())
}
