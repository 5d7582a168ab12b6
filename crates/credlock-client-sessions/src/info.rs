//! A session as listed, as asked for, and as stored.

use core::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::scope::Scopes;
use crate::sealed_key::SealedKey;
use crate::token::{SessionToken, TokenDigest};

/// A session's identifier: `ses_` and 32 hex digits, random. Safe to show, log and put in
/// URLs (`DELETE /sessions/{id}`); it cannot be used as a token.
#[derive(Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct SessionId(String);

impl SessionId {
    /// A fresh random identifier, its 128 bits from `fill` (the caller's random source).
    ///
    /// # Errors
    ///
    /// The random source's error.
    pub fn generate<E>(fill: impl FnOnce(&mut [u8]) -> Result<(), E>) -> Result<Self, E> {
        let mut raw = [0u8; 16];
        fill(&mut raw)?;
        let mut id = String::with_capacity(36);
        id.push_str("ses_");
        for b in raw {
            id.push(char::from(HEX[usize::from(b >> 4)]));
            id.push(char::from(HEX[usize::from(b & 15)]));
        }
        Ok(Self(id))
    }

    /// An identifier as an app or a store passes it back (`ses_` and 32 lowercase hex
    /// digits); `None` for anything else.
    ///
    /// ```
    /// # mod credlock { pub use credlock_client_sessions as sessions; }
    /// use credlock::sessions::SessionId;
    /// assert!(SessionId::parse("ses_0123456789abcdef0123456789abcdef").is_some());
    /// assert!(SessionId::parse("clk_0123").is_none());
    /// ```
    #[must_use]
    pub fn parse(text: &str) -> Option<Self> {
        let hex = text.strip_prefix("ses_")?;
        (hex.len() == 32 && hex.bytes().all(|b| HEX.contains(&b))).then(|| Self(text.to_owned()))
    }

    /// The identifier's text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.0)
    }
}

/// A client session (a browser, a script the user runs) or a long-lived API token.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionKind {
    /// A client's session: expires when idle and after an absolute lifetime.
    Client,
    /// An API token for automation: no idle expiry; can be rotated.
    ApiToken,
}

impl SessionKind {
    /// The kind's stable name, as it serialises and as a store writes it: `client` or
    /// `api_token`.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Client => "client",
            Self::ApiToken => "api_token",
        }
    }

    /// The kind named `name` (as [`as_str`](Self::as_str) writes it); `None` for any other
    /// text.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Client, Self::ApiToken]
            .into_iter()
            .find(|k| k.as_str() == name)
    }
}

/// What session to mint: made with [`SessionRequest::client`] or
/// [`SessionRequest::api_token`], then adjusted.
///
/// ```
/// # mod credlock { pub use credlock_client_sessions as sessions; }
/// use std::time::Duration;
/// use credlock::sessions::{Scope, SessionRequest};
///
/// let browser = SessionRequest::client("Firefox on Linux");
/// assert_eq!(browser.idle_timeout(), Some(Duration::from_secs(30 * 60)));
/// let bot = SessionRequest::api_token("billing-bot", Scope::Totp)
///     .expires_in(Duration::from_secs(30 * 24 * 3600));
/// assert_eq!(bot.idle_timeout(), None);
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct SessionRequest {
    kind: SessionKind,
    label: String,
    scopes: Scopes,
    lifetime: Option<Duration>,
    idle_timeout: Option<Duration>,
}

impl SessionRequest {
    /// A client session's default idle expiry: 30 minutes.
    pub const CLIENT_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
    /// A client session's default lifetime: 7 days.
    pub const CLIENT_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
    /// An API token's default lifetime: 90 days.
    pub const API_TOKEN_LIFETIME: Duration = Duration::from_secs(90 * 24 * 3600);

    /// A client session with every scope, labelled `label` (a user agent, say), expiring
    /// after [`CLIENT_IDLE_TIMEOUT`](Self::CLIENT_IDLE_TIMEOUT) idle or
    /// [`CLIENT_LIFETIME`](Self::CLIENT_LIFETIME) in all.
    pub fn client(label: impl Into<String>) -> Self {
        Self {
            kind: SessionKind::Client,
            label: label.into(),
            scopes: Scopes::ALL,
            lifetime: Some(Self::CLIENT_LIFETIME),
            idle_timeout: Some(Self::CLIENT_IDLE_TIMEOUT),
        }
    }

    /// An API token labelled `label` with `scopes`, no idle expiry, and a lifetime of
    /// [`API_TOKEN_LIFETIME`](Self::API_TOKEN_LIFETIME).
    pub fn api_token(label: impl Into<String>, scopes: impl Into<Scopes>) -> Self {
        Self {
            kind: SessionKind::ApiToken,
            label: label.into(),
            scopes: scopes.into(),
            lifetime: Some(Self::API_TOKEN_LIFETIME),
            idle_timeout: None,
        }
    }

    /// Only these scopes.
    pub fn scopes(mut self, scopes: impl Into<Scopes>) -> Self {
        self.scopes = scopes.into();
        self
    }

    /// Expires this long after minting.
    pub fn expires_in(mut self, lifetime: Duration) -> Self {
        self.lifetime = Some(lifetime);
        self
    }

    /// Never expires by age (it is still revoked by a lock, a logout or a revocation).
    pub fn without_expiry(mut self) -> Self {
        self.lifetime = None;
        self
    }

    /// Expires after this long without use (client sessions only; an API token has no idle
    /// expiry and ignores this).
    pub fn with_idle_timeout(mut self, timeout: Duration) -> Self {
        if self.kind == SessionKind::Client {
            self.idle_timeout = Some(timeout);
        }
        self
    }

    /// The idle expiry this request asks for.
    #[must_use]
    pub const fn idle_timeout(&self) -> Option<Duration> {
        self.idle_timeout
    }

    /// The kind of session asked for.
    #[must_use]
    pub const fn kind(&self) -> SessionKind {
        self.kind
    }

    /// The label asked for, as given.
    #[must_use]
    pub fn label(&self) -> &str {
        &self.label
    }

    /// The scopes asked for.
    #[must_use]
    pub const fn scope_set(&self) -> Scopes {
        self.scopes
    }

    /// The lifetime asked for; `None`: no expiry by age.
    #[must_use]
    pub const fn lifetime(&self) -> Option<Duration> {
        self.lifetime
    }
}

/// A session as listed: never its token or the token's digest.
///
/// Times are the vault's wall clock; they serialise as milliseconds since the Unix epoch.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    /// Its identifier.
    pub id: SessionId,
    /// Client session or API token.
    pub kind: SessionKind,
    /// The app's label (a user agent, a token's purpose), at most 200 characters.
    pub label: String,
    /// What it may do.
    pub scopes: Scopes,
    /// When it was minted (or, for a rotated token, first minted).
    #[serde(serialize_with = "unix_ms")]
    pub created_at: SystemTime,
    /// When it was last used (minted, validated, rotated).
    #[serde(serialize_with = "unix_ms")]
    pub last_used_at: SystemTime,
    /// When it expires by age, if it does.
    #[serde(serialize_with = "opt_unix_ms")]
    pub expires_at: Option<SystemTime>,
    /// How long it may stay unused, if it expires when idle.
    #[serde(serialize_with = "opt_secs")]
    pub idle_timeout: Option<Duration>,
}

fn unix_ms<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(to_ms(*t))
}

fn opt_unix_ms<S: serde::Serializer>(t: &Option<SystemTime>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_some(&to_ms(*t)),
        None => s.serialize_none(),
    }
}

fn opt_secs<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_some(&d.as_secs()),
        None => s.serialize_none(),
    }
}

/// Milliseconds since the Unix epoch (0 before it, saturating far after it).
#[must_use]
pub fn to_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// The time `ms` milliseconds after the Unix epoch.
#[must_use]
pub fn from_ms(ms: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(ms)
}

/// A session as a [`SessionStore`](crate::SessionStore) keeps it: the listed fields, the
/// token's digest (never the token), and times in milliseconds since the Unix epoch.
///
/// Its fields are public so that a store can build it from what it reads back.
#[allow(
    clippy::exhaustive_structs,
    reason = "a store outside this crate builds records from its rows"
)]
#[derive(Clone, Debug)]
pub struct SessionRecord {
    /// Its identifier.
    pub id: SessionId,
    /// The SHA-256 digest of its current token.
    pub digest: TokenDigest,
    /// Client session or API token.
    pub kind: SessionKind,
    /// The app's label.
    pub label: String,
    /// What it may do.
    pub scopes: Scopes,
    /// Minted at (ms since the epoch).
    pub created_ms: u64,
    /// Last used at (ms since the epoch).
    pub last_used_ms: u64,
    /// Expires at (ms since the epoch), if it expires by age.
    pub expires_ms: Option<u64>,
    /// Idle expiry in milliseconds, if any.
    pub idle_timeout_ms: Option<u64>,
    /// With shared sessions, the vault key sealed under the token
    /// (`credlock::VaultBuilder::shared_sessions`); `None`
    /// otherwise.
    pub sealed_key: Option<SealedKey>,
}

impl SessionRecord {
    /// Whether the session has expired at `now_ms` (by age, or idle).
    #[must_use]
    pub fn expired_at(&self, now_ms: u64) -> bool {
        self.expires_ms.is_some_and(|e| now_ms >= e)
            || self
                .idle_timeout_ms
                .is_some_and(|idle| now_ms >= self.last_used_ms.saturating_add(idle))
    }

    /// The listed form: no digest.
    #[must_use]
    pub fn info(&self) -> SessionInfo {
        SessionInfo {
            id: self.id.clone(),
            kind: self.kind,
            label: self.label.clone(),
            scopes: self.scopes,
            created_at: from_ms(self.created_ms),
            last_used_at: from_ms(self.last_used_ms),
            expires_at: self.expires_ms.map(from_ms),
            idle_timeout: self.idle_timeout_ms.map(Duration::from_millis),
        }
    }
}

/// A session just minted or rotated: its token (shown once) and its listing.
#[non_exhaustive]
#[derive(Debug)]
pub struct MintedSession {
    /// The token to hand to the client. The vault cannot show it again.
    pub token: SessionToken,
    /// The session as listed.
    pub info: SessionInfo,
}

impl MintedSession {
    /// A minted session: its token, to hand to the client once, and the session as listed.
    #[must_use]
    pub const fn new(token: SessionToken, info: SessionInfo) -> Self {
        Self { token, info }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_id_is_ses_and_exactly_32_lowercase_hex_digits() {
        let good = "ses_0123456789abcdef0123456789abcdef";
        let id = SessionId::parse(good).unwrap();
        assert_eq!((id.as_str(), id.to_string()), (good, good.to_owned()));
        assert_eq!(format!("{id:?}"), format!("SessionId({good})"));
        for bad in [
            "ses_0123456789abcdef0123456789abcde",   // 31 digits
            "ses_0123456789abcdef0123456789abcdef0", // 33
            "ses_0123456789abcdef0123456789abcdeg",  // not hex
            "ses_0123456789ABCDEF0123456789ABCDEF",  // upper case
            "tok_0123456789abcdef0123456789abcdef",
            "",
        ] {
            assert!(SessionId::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn kinds_have_stable_names_that_parse_back() {
        for kind in [SessionKind::Client, SessionKind::ApiToken] {
            assert_eq!(SessionKind::from_name(kind.as_str()), Some(kind));
            assert_eq!(
                serde_json::to_string(&kind).unwrap(),
                format!("\"{}\"", kind.as_str())
            );
        }
        assert_eq!(SessionKind::Client.as_str(), "client");
        assert_eq!(SessionKind::ApiToken.as_str(), "api_token");
        assert_eq!(SessionKind::from_name("Client"), None);
        assert_eq!(SessionKind::from_name(""), None);
    }

    #[test]
    fn the_default_lifetimes_are_as_documented() {
        let day = 24 * 3600;
        assert_eq!(SessionRequest::CLIENT_IDLE_TIMEOUT.as_secs(), 1_800);
        assert_eq!(SessionRequest::CLIENT_LIFETIME.as_secs(), 7 * day);
        assert_eq!(SessionRequest::CLIENT_LIFETIME.as_secs(), 604_800);
        assert_eq!(SessionRequest::API_TOKEN_LIFETIME.as_secs(), 7_776_000);
    }

    #[test]
    fn stored_times_are_milliseconds_since_the_epoch() {
        let t = UNIX_EPOCH + Duration::from_millis(1_735_689_600_123);
        assert_eq!(to_ms(t), 1_735_689_600_123);
        assert_eq!(from_ms(1_735_689_600_123), t);
        assert_eq!(to_ms(UNIX_EPOCH - Duration::from_secs(1)), 0, "before 1970");
    }
}
