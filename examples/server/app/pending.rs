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

/// Credentials waiting for a passphrase, one slot per user and client cookie, each for a
/// short while. Never process-global: one client's login can only be completed by the same
/// client (holding the id `/auth/login` gave it).
///
/// Bounded twice: at most [`PER_USER`] slots for one user (a client filling them evicts
/// only that user's oldest), and at most [`MAX_SLOTS`] in all (past it, expired slots go,
/// then the oldest).
#[derive(Debug)]
pub(crate) struct PendingLogins {
    ttl: Duration,
    slots: Mutex<HashMap<String, Vec<Slot>>>,
}

/// One client's pending login.
#[derive(Debug)]
struct Slot {
    client: String,
    at: Instant,
    credentials: Credentials,
}

/// At most this many slots for one user.
pub(crate) const PER_USER: usize = 4;
/// At most this many slots in all.
pub(crate) const MAX_SLOTS: usize = 1_000;

impl PendingLogins {
    pub(crate) fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            slots: Mutex::new(HashMap::new()),
        }
    }

    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Slot>>> {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds `login` for `client` of `user` (a case-folded user key), replacing what that
    /// client held.
    pub(crate) fn put(&self, user: &str, client: &str, login: LoginAttempt) {
        let now = Instant::now();
        let mut slots = self.slots();
        let ttl = self.ttl;
        slots.retain(|_, list| {
            list.retain(|s| now.duration_since(s.at) < ttl);
            !list.is_empty()
        });
        let list = slots.entry(user.to_owned()).or_default();
        list.retain(|s| s.client != client);
        if list.len() >= PER_USER {
            // The oldest is first.
            list.remove(0);
        }
        list.push(Slot {
            client: client.to_owned(),
            at: now,
            credentials: login.into_credentials(),
        });
        if slots.values().map(Vec::len).sum::<usize>() > MAX_SLOTS {
            let oldest = slots
                .iter()
                .filter_map(|(u, list)| list.first().map(|s| (s.at, u.clone())))
                .min();
            if let Some((_, u)) = oldest
                && let Some(list) = slots.get_mut(&u)
            {
                list.remove(0);
                if list.is_empty() {
                    slots.remove(&u);
                }
            }
        }
    }

    /// A copy of the pending credentials of `client` of `user`, if any and not expired.
    pub(crate) fn get(&self, user: &str, client: &str) -> Option<Credentials> {
        let slots = self.slots();
        slots
            .get(user)?
            .iter()
            .find(|s| s.client == client && s.at.elapsed() < self.ttl)
            .map(|s| s.credentials.duplicate())
    }

    /// Drops the slot of `client` of `user` (its credentials are zeroized).
    pub(crate) fn take(&self, user: &str, client: &str) {
        let mut slots = self.slots();
        if let Some(list) = slots.get_mut(user) {
            list.retain(|s| s.client != client);
            if list.is_empty() {
                slots.remove(user);
            }
        }
    }

    /// How many slots `user` holds (expired ones included until the next `put`).
    #[cfg(test)]
    fn held_by(&self, user: &str) -> usize {
        self.slots().get(user).map_or(0, Vec::len)
    }
}

#[cfg(test)]
mod tests {
    use credlock::secrecy::SecretString;

    use super::*;

    fn login(email: &str) -> LoginAttempt {
        LoginAttempt {
            email: email.to_owned(),
            password: SecretString::from("pw"),
            mfa_secret: None,
        }
    }

    #[test]
    fn one_user_cannot_evict_another_users_pending_login() {
        let pending = PendingLogins::new(Duration::from_secs(300));
        pending.put("victim", "v-client", login("victim@example.com"));
        for i in 0..100 {
            pending.put("attacker", &format!("client-{i}"), login("a@example.com"));
        }
        assert_eq!(pending.held_by("attacker"), PER_USER);
        let creds = pending.get("victim", "v-client").unwrap();
        assert_eq!(creds.email(), "victim@example.com");
        // The newest of the attacker's are kept.
        assert!(pending.get("attacker", "client-99").is_some());
        assert!(pending.get("attacker", "client-0").is_none());
        // A slot is one client's: another client of the same user sees nothing.
        assert!(pending.get("victim", "other-client").is_none());
        pending.take("victim", "v-client");
        assert!(pending.get("victim", "v-client").is_none());
    }

    #[test]
    fn past_the_total_bound_the_oldest_slot_goes() {
        let pending = PendingLogins::new(Duration::from_secs(300));
        for i in 0..=MAX_SLOTS {
            pending.put(&format!("user-{i}"), "c", login("u@example.com"));
        }
        assert!(pending.get("user-0", "c").is_none(), "the oldest went");
        assert!(pending.get("user-1", "c").is_some());
        assert!(pending.get(&format!("user-{MAX_SLOTS}"), "c").is_some());
    }
}
