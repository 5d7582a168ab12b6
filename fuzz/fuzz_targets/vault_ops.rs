//! Random sequences of vault operations, with the file tampered with in between: no panic,
//! the state always agrees with what is stored, a wrong passphrase never unlocks, and only
//! an unlocked vault's logout (or an explicit reset) deletes the record.
#![no_main]

use arbitrary::Arbitrary;
use credlock::secrecy::SecretString;
use credlock::{Credentials, MemoryStore, SessionState, ValidPassphrase, VaultBuilder};
use libfuzzer_sys::fuzz_target;

const PASSES: [&str; 3] = ["Tangerine-Rocket-42!", "Marmalade-Comet-17?", "x"];

#[derive(Arbitrary, Debug)]
enum Op {
    Store(u8, bool),
    Unlock(u8),
    Lock,
    Logout,
    Reset,
    ClearLockout,
    Update(String),
    ChangePassphrase(u8, u8),
    Tamper(Vec<u8>),
    FlipByte(u16),
    Status,
}

fn pass(i: u8) -> SecretString {
    SecretString::from(PASSES[usize::from(i) % PASSES.len()])
}

fuzz_target!(|ops: Vec<Op>| {
    let store = MemoryStore::new();
    let Ok(vault) = VaultBuilder::with_store(store.clone())
        .insecure_kdf_iterations(1)
        .insecure_without_lockout()
        .open()
    else {
        return;
    };
    // Index of the passphrase the stored vault was sealed with, when we know it.
    let mut sealed_with: Option<u8> = None;
    for op in ops.into_iter().take(32) {
        match op {
            Op::Store(i, replace) => {
                let creds = Credentials::new("a@example.com", SecretString::from("pw"));
                let p = ValidPassphrase::insecure_unchecked(pass(i));
                let r = if replace {
                    vault.replace(creds, p)
                } else {
                    vault.store(creds, p)
                };
                if r.is_ok() {
                    sealed_with = Some(i % 3);
                }
            }
            Op::Unlock(i) => {
                if vault.unlock(&pass(i)).is_ok() {
                    if let Some(s) = sealed_with {
                        assert_eq!(s, i % 3, "a wrong passphrase unlocked the vault");
                    }
                }
            }
            Op::Lock => vault.lock(),
            Op::Logout => {
                let was_unlocked = vault.status() == SessionState::Unlocked;
                match vault.logout() {
                    Ok(()) if was_unlocked => {
                        assert!(store.contents().is_none());
                        sealed_with = None;
                    }
                    Ok(()) => assert_eq!(vault.status(), SessionState::NoCredentials),
                    // Only an unlocked vault may delete its record.
                    Err(_) => assert!(!was_unlocked || store.contents().is_some()),
                }
            }
            Op::Reset => {
                if vault.reset().is_ok() {
                    assert!(store.contents().is_none());
                    assert_eq!(vault.status(), SessionState::NoCredentials);
                    sealed_with = None;
                }
            }
            Op::ClearLockout => {
                if vault.clear_lockout().is_ok() {
                    assert_eq!(vault.lockout_state().map(|s| s.failures).ok(), Some(0));
                }
            }
            Op::Update(email) => {
                let _ =
                    vault.update_credentials(Credentials::new(email, SecretString::from("pw2")));
            }
            Op::ChangePassphrase(old, new) => {
                let r = vault
                    .change_passphrase(&pass(old), ValidPassphrase::insecure_unchecked(pass(new)));
                if r.is_ok() {
                    sealed_with = Some(new % 3);
                }
            }
            Op::Tamper(bytes) => {
                store.set_contents(Some(bytes));
                sealed_with = None;
            }
            Op::FlipByte(at) => {
                if let Some(mut bytes) = store.contents() {
                    let i = usize::from(at) % bytes.len().max(1);
                    if let Some(b) = bytes.get_mut(i) {
                        *b ^= 0x01;
                    }
                    store.set_contents(Some(bytes));
                    sealed_with = None;
                }
            }
            Op::Status => {
                let _ = vault.security_status();
            }
        }
        if vault.status() == SessionState::Unlocked {
            assert!(vault.credentials().is_ok());
        } else {
            assert!(vault.credentials().is_err());
        }
    }
});
