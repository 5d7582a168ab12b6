//! The session stores of many users: one per user, for shared sessions across replicas.

use core::fmt;
use std::sync::Arc;

use credlock_client_sessions::SessionStore;
#[cfg(feature = "postgres")]
use credlock_store_postgres::PostgresSessions;

use super::UserId;

/// The session stores of many users, one per user: what
/// [`RegistryBuilder::shared_sessions`](super::RegistryBuilder::shared_sessions) takes, such
/// as [`PostgresSessions`](crate::sessions#shared-sessions-opt-in-for-replicas) (feature
/// `postgres`).
pub trait SessionStoreSet: Send + Sync + fmt::Debug {
    /// The store of `user`'s sessions: it sees, lists and removes only theirs.
    fn for_user(&self, user: &UserId) -> Arc<dyn SessionStore>;
}

#[cfg(feature = "postgres")]
impl SessionStoreSet for PostgresSessions {
    fn for_user(&self, user: &UserId) -> Arc<dyn SessionStore> {
        Arc::new(self.user(user))
    }
}
