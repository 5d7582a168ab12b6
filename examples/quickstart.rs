//! The quickstart: a credential vault's whole life on a temporary directory.
//!
//! Run with `cargo run --example quickstart`. It creates a vault with sample credentials,
//! shows the 0600 file, locks it, fails unlocks with wrong passphrases until it is locked out,
//! clears the lockout as an operator would, unlocks it, prints the security report and the
//! unlock time, mints a client session, uses it for a TOTP code and revokes it, creates a
//! recovery key and uses it after "forgetting" the passphrase, and logs out.

#![allow(clippy::print_stdout, reason = "an example prints what it does")]

use std::os::unix::fs::PermissionsExt as _;
use std::time::Instant;

use credlock::secrecy::{ExposeSecret as _, SecretString};
use credlock::sessions::{Scope, SessionRequest};
use credlock::{Credentials, Policy, Vault};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("vault.json");
    println!("credlock quickstart (vault in a temporary directory)\n");

    // 1. A passphrase must pass the policy before it can seal anything.
    let weak = Policy::default().check(SecretString::from("Password1234!"));
    if let Err(violations) = weak {
        println!("1. \"Password1234!\" is refused: {violations}");
    }
    let passphrase = "Tangerine-Rocket-42!";
    let valid = Policy::default().check(SecretString::from(passphrase))?;
    println!("   \"{passphrase}\" is accepted.\n");

    // 2. Seal sample credentials into a new vault.
    let creds = Credentials::new("alice@example.com", SecretString::from("monarch-pw-123"))
        .with_mfa_secret(SecretString::from("JBSWY3DPEHPK3PXP"));
    let started = Instant::now();
    let vault = Vault::create(&path, creds, valid)?;
    let mode = std::fs::metadata(&path)?.permissions().mode() & 0o777;
    println!(
        "2. Created {} in {:.0?}: mode {mode:04o}, {} bytes, status {}.",
        path.display(),
        started.elapsed(),
        std::fs::metadata(&path)?.len(),
        vault.status()
    );
    let text = std::fs::read_to_string(&path)?;
    println!(
        "   On disk (no secret in clear):\n   {}\n",
        text.trim_end().replace('\n', "\n   ")
    );

    // 3. Lock: the key and the credentials leave memory.
    vault.lock();
    if let Err(e) = vault.credentials() {
        println!(
            "3. Locked: status {}; reading the credentials now fails: {e}.\n",
            vault.status()
        );
    }

    // 4. A wrong passphrase is refused; the vault stays locked and the failure is counted,
    //    beside the vault file, so a restart or a second process sees it too. After 5
    //    failures the vault is locked out: attempts are refused without a key derivation.
    for guess in 1..=6 {
        let started = Instant::now();
        match vault.unlock(&SecretString::from(format!("Tangerine-Rocket-4{guess}?"))) {
            Err(e) if e.retry_after_secs().is_some() => println!(
                "4. Guess {guess} refused in {:.0?} with no derivation: {e} \
                 (Retry-After: {} s).",
                started.elapsed(),
                e.retry_after_secs().unwrap_or_default()
            ),
            Err(e) => println!(
                "4. Guess {guess} refused after {:.0?}: {e}; failures so far: {}.",
                started.elapsed(),
                vault.lockout_state()?.failures
            ),
            Ok(()) => println!("4. Guess {guess} unlocked the vault?!"),
        }
    }
    // An operator (the user's admin, say) clears the lockout; no passphrase needed.
    vault.clear_lockout()?;
    println!(
        "   The operator cleared the lockout: {} failures.\n",
        vault.lockout_state()?.failures
    );

    // 5. The right one unlocks it.
    let started = Instant::now();
    vault.unlock(&SecretString::from(passphrase))?;
    let unlock_time = started.elapsed();
    let creds = vault.credentials()?;
    println!(
        "5. Unlocked in {unlock_time:.0?}: email {}, password {} characters, MFA secret {}.\n",
        creds.email(),
        creds.password().expose_secret().chars().count(),
        if creds.mfa_secret().is_some() {
            "present"
        } else {
            "absent"
        }
    );

    // 6. What the application can show on its security page (all of it serialises to JSON).
    let status = vault.security_status();
    if let (Some(kdf), Some(file)) = (&status.kdf, &status.file) {
        println!(
            "6. Security status: {} with {} iterations (read from the file), file mode {}, \
             {} failed attempt(s) so far, lockout after {} failures, idle lock after {} s.",
            kdf.algorithm,
            kdf.iterations,
            file.mode.as_deref().unwrap_or("?"),
            status.failed_attempts,
            status.lockout.as_ref().map_or(0, |l| l.max_attempts),
            status.idle_timeout_secs.unwrap_or_default(),
        );
    }
    println!(
        "   Policy rules: {:?}",
        status
            .policy
            .rules
            .iter()
            .map(|r| r.code)
            .collect::<Vec<_>>()
    );
    println!(
        "   As JSON: {} bytes, e.g. \"state\": {}\n",
        serde_json::to_string(&status)?.len(),
        serde_json::to_value(&status)?["state"]
    );

    // 7. A client session: a token for a script that only needs TOTP codes. The token is
    //    shown once; the vault keeps its SHA-256 digest only.
    let minted = vault.mint_session(SessionRequest::api_token("login-script", Scope::Totp))?;
    let token = minted.token.expose_secret();
    println!(
        "7. Minted session {} ({:?}, scopes {:?}): token {}… ({} characters, shown once).",
        minted.info.id,
        minted.info.kind,
        minted
            .info
            .scopes
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>(),
        &token[..4],
        token.len()
    );
    let code = vault.totp_for(token)?;
    println!(
        "   With it, the TOTP code of the demo secret JBSWY3DPEHPK3PXP: {} ({} s left).",
        code.code().expose_secret(),
        code.seconds_left()
    );
    if let Err(e) = vault.credentials_for(token) {
        println!("   Reading the password with it is refused: {e}.");
    }
    vault.revoke_session(&minted.info.id)?;
    if let Err(e) = vault.totp_for(token) {
        println!(
            "   Revoked; the token is refused now: {e} ({} sessions left).\n",
            vault.sessions()?.len()
        );
    }

    // 8. A recovery key: shown once, written down; the vault keeps only a keyslot it opens.
    let kit = vault.add_recovery_key("printed kit")?;
    println!(
        "8. Recovery key (shown once, write it down): {}",
        kit.display().expose_secret()
    );
    for slot in vault.list_slots()? {
        println!("   Keyslot {}: {} ({})", slot.id, slot.kind, slot.label);
    }
    // The passphrase is forgotten: the recovery key sets a new one, nothing is lost, and the
    // recovery key used is replaced (the data key rotates: the old key opens nothing now).
    vault.lock();
    let new_passphrase = Policy::default().check(SecretString::from("Marmalade-Comet-17?"))?;
    let next_kit = vault.recover(&kit.display(), new_passphrase)?;
    println!(
        "   Recovered with it: status {}, password still {} characters; new recovery key {}…",
        vault.status(),
        vault
            .credentials()?
            .password()
            .expose_secret()
            .chars()
            .count(),
        &next_kit.display().expose_secret()[..4]
    );
    vault.lock();
    if let Err(e) = vault.unlock(&SecretString::from(passphrase)) {
        println!("   The old passphrase is refused now: {e}.");
    }
    vault.unlock(&SecretString::from("Marmalade-Comet-17?"))?;
    println!("   The new one unlocks it.\n");

    // 9. Logout deletes the file and forgets the key.
    vault.logout()?;
    println!(
        "9. Logged out: status {}, file exists: {}.",
        vault.status(),
        path.exists()
    );
    Ok(())
}
