//! Random sequences of vault operations, with the file tampered with in between: no panic,
//! the state always agrees with what is stored, a wrong passphrase never unlocks, and only
//! an unlocked vault's logout (or an explicit reset) deletes the record. Client sessions: a
//! token validates only while the vault is unlocked, the session live and its scopes allow
//! it; a token changed in one byte, revoked, rotated away, or minted before a lock or before
//! the credentials were replaced never does.
#![no_main]

use arbitrary::Arbitrary;
use credlock::secrecy::SecretString;
use credlock::sessions::{Scope, Scopes, SessionId, SessionRequest};
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
    Mint(bool, u8),
    Validate(u8, u8, Option<(u8, u8)>),
    ValidateRaw(String),
    Revoke(u8),
    RevokeAll,
    Rotate(u8),
    Totp,
    SetMfaSecret(String),
    Touch,
}

/// A token we minted, and whether it should still validate.
struct Minted {
    token: String,
    id: SessionId,
    scopes: Scopes,
    live: bool,
}

fn scope(i: u8) -> Scope {
    Scope::ALL[usize::from(i) % Scope::ALL.len()]
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
    let mut minted: Vec<Minted> = Vec::new();
    for op in ops.into_iter().take(32) {
        let unlocked_before = vault.status() == SessionState::Unlocked;
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
                    if replace {
                        // Replaced credentials end every session granted under the old ones.
                        minted.iter_mut().for_each(|m| m.live = false);
                    }
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
            Op::Mint(api, bits) => {
                let scopes = Scopes::from_bits(bits);
                let request = if api {
                    SessionRequest::api_token("fuzz", scopes)
                } else {
                    SessionRequest::client("fuzz").scopes(scopes)
                };
                match vault.mint_session(request) {
                    Ok(m) => {
                        assert!(unlocked_before && !scopes.is_empty());
                        minted.push(Minted {
                            token: m.token.expose_secret().to_owned(),
                            id: m.info.id,
                            scopes,
                            live: true,
                        });
                    }
                    Err(_) => assert!(!unlocked_before || scopes.is_empty()),
                }
            }
            Op::Validate(i, s, flip) => {
                if let Some(m) = minted.get(usize::from(i) % minted.len().max(1)) {
                    let mut token = m.token.clone().into_bytes();
                    let mut changed = false;
                    if let Some((at, x)) = flip {
                        let at = usize::from(at) % token.len();
                        let new =
                            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                                [usize::from(x) % 64];
                        changed = token[at] != new;
                        token[at] = new;
                    }
                    let token = String::from_utf8(token).unwrap_or_default();
                    let ok = vault.validate_session(&token, scope(s)).is_ok();
                    let expected =
                        !changed && m.live && unlocked_before && m.scopes.allows(scope(s));
                    assert_eq!(ok, expected, "validate: changed={changed} live={}", m.live);
                }
            }
            Op::ValidateRaw(text) => {
                let ok = vault.validate_session(&text, Scope::Totp).is_ok();
                assert!(!ok || minted.iter().any(|m| m.live && m.token == text));
            }
            Op::Revoke(i) => {
                let n = minted.len().max(1);
                if let Some(m) = minted.get_mut(usize::from(i) % n) {
                    assert_eq!(vault.revoke_session(&m.id).ok(), Some(m.live));
                    m.live = false;
                }
            }
            Op::RevokeAll => {
                let live = minted.iter().filter(|m| m.live).count();
                assert_eq!(vault.revoke_all_sessions().ok(), Some(live));
                minted.iter_mut().for_each(|m| m.live = false);
            }
            Op::Rotate(i) => {
                let n = minted.len().max(1);
                if let Some(m) = minted.get_mut(usize::from(i) % n) {
                    match vault.rotate_session(&m.id) {
                        Ok(new) => {
                            assert!(m.live && unlocked_before);
                            m.token = new.token.expose_secret().to_owned();
                        }
                        Err(_) => assert!(!m.live || !unlocked_before),
                    }
                }
            }
            Op::Totp => {
                if vault.totp().is_ok() {
                    assert!(unlocked_before);
                }
            }
            Op::SetMfaSecret(text) => {
                let valid = credlock::totp::TotpSecret::parse(&text).is_ok();
                let creds = Credentials::new("a@example.com", SecretString::from("pw"))
                    .with_mfa_secret(SecretString::from(text));
                if vault.update_credentials(creds).is_ok() {
                    assert!(valid, "an invalid MFA secret was stored");
                }
            }
            Op::Touch => {
                assert_eq!(vault.touch().is_ok(), unlocked_before);
            }
        }
        // The key went (lock, logout, reset, a tampered file): every session went with it.
        if vault.status() != SessionState::Unlocked {
            minted.iter_mut().for_each(|m| m.live = false);
            assert!(vault.sessions().map(|s| s.is_empty()).unwrap_or(false));
        }
        if vault.status() == SessionState::Unlocked {
            assert!(vault.credentials().is_ok());
        } else {
            assert!(vault.credentials().is_err());
        }
    }
});
