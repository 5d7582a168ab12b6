//! Session tokens and ids from clients: a token validates only if it is exactly one that was
//! minted and its scopes allow the request; a minted token changed anywhere never does; a
//! parsed token or id is the canonical text it came from.
#![no_main]

use arbitrary::Arbitrary;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use credlock::secrecy::SecretString;
use credlock::sessions::{Scope, Scopes, SessionId, SessionRequest, TOKEN_PREFIX, TokenSecret};
use credlock::{Credentials, FakeClock, Policy, Vault, VaultBuilder};
use libfuzzer_sys::fuzz_target;

#[derive(Arbitrary, Debug)]
enum Input {
    /// Any text as a token.
    Raw(String, u8),
    /// A minted token with bytes changed, cut or extended.
    Edit {
        which: u8,
        edits: Vec<(u8, u8)>,
        cut: Option<u8>,
        tail: String,
        scope: u8,
    },
    /// Any text as a session id.
    Id(String),
}

struct Fixture {
    vault: Vault,
    minted: Vec<(String, Scopes)>,
}

fn fixture() -> Fixture {
    let vault = VaultBuilder::with_store(credlock::MemoryStore::new())
        .insecure_kdf_iterations(1)
        .insecure_without_lockout()
        // Time stands still: no session expires and the vault never locks for idleness.
        .insecure_clock(FakeClock::new())
        .open()
        .expect("a memory vault opens");
    let pass = Policy::default()
        .check(SecretString::from("Tangerine-Rocket-42!"))
        .expect("the passphrase meets the policy");
    vault
        .store(
            Credentials::new("a@example.com", SecretString::from("pw")),
            pass,
        )
        .expect("credentials are stored");
    let requests = [
        SessionRequest::api_token("read", Scope::ReadCredentials),
        SessionRequest::api_token("totp", Scope::Totp),
        SessionRequest::api_token("manage", Scope::Manage),
        SessionRequest::client("browser"),
    ];
    let minted = requests
        .into_iter()
        .map(|r| {
            let m = vault.mint_session(r).expect("a session is minted");
            (m.token.expose_secret().to_owned(), m.info.scopes)
        })
        .collect();
    Fixture { vault, minted }
}

thread_local! {
    static FIXTURE: Fixture = fixture();
}

fn scope(i: u8) -> Scope {
    Scope::ALL[usize::from(i) % Scope::ALL.len()]
}

fn check(f: &Fixture, token: &str, scope: Scope) {
    if let Some(secret) = TokenSecret::parse(token) {
        let canonical = format!(
            "{TOKEN_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(secret.expose_secret_bytes())
        );
        assert_eq!(canonical, token, "a non-canonical token parsed");
    }
    let result = f.vault.validate_session(token, scope);
    let expected = f
        .minted
        .iter()
        .find(|(t, _)| t == token)
        .map(|(_, scopes)| scopes.allows(scope));
    match expected {
        Some(allowed) => assert_eq!(result.is_ok(), allowed, "{result:?}"),
        None => assert!(result.is_err(), "an unknown token validated"),
    }
}

fuzz_target!(|input: Input| {
    FIXTURE.with(|f| match input {
        Input::Raw(token, s) => check(f, &token, scope(s)),
        Input::Edit {
            which,
            edits,
            cut,
            tail,
            scope: s,
        } => {
            let (token, _) = &f.minted[usize::from(which) % f.minted.len()];
            let mut bytes = token.clone().into_bytes();
            for (pos, byte) in edits.into_iter().take(8) {
                let i = usize::from(pos) % bytes.len();
                bytes[i] = byte;
            }
            if let Some(cut) = cut {
                bytes.truncate(usize::from(cut) % (bytes.len() + 1));
            }
            bytes.extend_from_slice(tail.as_bytes());
            if let Ok(edited) = String::from_utf8(bytes) {
                check(f, &edited, scope(s));
            }
        }
        Input::Id(text) => {
            if let Some(id) = SessionId::parse(&text) {
                assert_eq!(id.as_str(), text);
                let hex = text.strip_prefix("ses_").expect("an id starts with ses_");
                assert!(
                    hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
                );
            }
        }
    })
});
