//! The login pending slot: credentials checked by `/auth/login`, waiting for this client's
//! `/auth/set-passphrase`, and the check against the finance service.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use credlock::Credentials;
use credlock::secrecy::{ExposeSecret as _, SecretString};

/// What a client sent to `/auth/login`.
pub(crate) struct LoginAttempt {
    pub(crate) email: String,
    pub(crate) password: SecretString,
    pub(crate) mfa_secret: Option<SecretString>,
}

impl fmt::Debug for LoginAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginAttempt")
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

impl LoginAttempt {
    fn into_credentials(self) -> Credentials {
        let creds = Credentials::new(self.email, self.password);
        match self.mfa_secret {
            Some(mfa) if !mfa.expose_secret().is_empty() => creds.with_mfa_secret(mfa),
            _ => creds,
        }
    }
}

/// The real service the credentials are for (Monarch Money, for Eclosion): `/auth/login`
/// asks it whether they work before anything is stored. It runs on the blocking pool.
pub(crate) trait FinanceService: Send + Sync + fmt::Debug + 'static {
    /// `Ok` if the service accepts the credentials, or why not (shown to the user).
    ///
    /// # Errors
    ///
    /// The reason the service refused them, in words for the user.
    fn check(&self, login: &LoginAttempt) -> Result<(), String>;
}

/// The demo's finance service: accepts every login.
#[derive(Debug, Default)]
pub(crate) struct AcceptAll;

impl FinanceService for AcceptAll {
    fn check(&self, _login: &LoginAttempt) -> Result<(), String> {
        Ok(())
    }
}

/// Credentials waiting for a passphrase, one slot per client cookie, each for a short while.
/// Never process-global: one client's login can only be completed by the same client.
#[derive(Debug)]
pub(crate) struct PendingLogins {
    ttl: Duration,
    slots: Mutex<HashMap<String, (Instant, Credentials)>>,
}

/// At most this many slots; past it, expired ones are dropped, then the oldest.
const MAX_SLOTS: usize = 1_000;

impl PendingLogins {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            slots: Mutex::new(HashMap::new()),
        }
    }

    /// Holds `login` for `client`, replacing what it held.
    pub(crate) fn put(&self, client: &str, login: LoginAttempt) {
        let now = Instant::now();
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots.retain(|_, (at, _)| now.duration_since(*at) < self.ttl);
        if slots.len() >= MAX_SLOTS
            && let Some(oldest) = slots
                .iter()
                .min_by_key(|(_, (at, _))| *at)
                .map(|(k, _)| k.clone())
        {
            slots.remove(&oldest);
        }
        slots.insert(client.to_owned(), (now, login.into_credentials()));
    }

    /// A copy of `client`'s pending credentials, if any and not expired.
    pub(crate) fn get(&self, client: &str) -> Option<Credentials> {
        let slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        slots
            .get(client)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, creds)| creds.duplicate())
    }

    /// Drops `client`'s slot (its credentials are zeroized).
    pub(crate) fn take(&self, client: &str) {
        self.slots
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(client);
    }
}
