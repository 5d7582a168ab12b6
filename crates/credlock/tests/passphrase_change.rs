//! A passphrase change leaves the vault as it found it: unlocked with the new key, or locked
//! (a vault nobody unlocked gets no key in memory, and no state where nobody can lock it).

#![allow(clippy::unwrap_used)]

mod common;

use common::{OTHER_PASS, PASS, secret, stored, temp_vault, valid};
use credlock::{Error, SessionState};

#[test]
fn a_locked_vault_stays_locked_after_its_passphrase_changes() {
    let (_dir, path) = temp_vault();
    let vault = stored(&path);
    vault.lock();
    vault
        .change_passphrase(&secret(PASS), valid(OTHER_PASS))
        .unwrap();
    assert_eq!(vault.status(), SessionState::Locked);
    assert!(matches!(vault.credentials(), Err(Error::Locked)));
    assert!(matches!(vault.touch(), Err(Error::Locked)));
    // The new passphrase opens it, the old one no longer does.
    assert!(matches!(
        vault.unlock(&secret(PASS)),
        Err(Error::WrongPassphrase)
    ));
    vault.unlock(&secret(OTHER_PASS)).unwrap();
    assert_eq!(vault.credentials().unwrap().email(), "alice@example.com");
}

#[test]
fn an_unlocked_vault_stays_unlocked_with_the_new_key() {
    let (_dir, path) = temp_vault();
    let vault = stored(&path);
    vault.unlock(&secret(PASS)).unwrap();
    vault
        .change_passphrase(&secret(PASS), valid(OTHER_PASS))
        .unwrap();
    assert_eq!(vault.status(), SessionState::Unlocked);
    assert_eq!(vault.credentials().unwrap().email(), "alice@example.com");
    vault.lock();
    vault.unlock(&secret(OTHER_PASS)).unwrap();
}
