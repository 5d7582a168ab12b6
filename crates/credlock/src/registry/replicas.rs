//! Replicas hear each other: what another replica announces for a user (through the store
//! set's [`StoreSet::watch`](credlock_store::StoreSet::watch)) reaches the vault this
//! registry holds for that user, if it holds one.

use std::sync::{Arc, Mutex, PoisonError, Weak};

use credlock_store::{Listener, Notice};

use super::{Held, UserId};

/// The listener a registry gives its set: it holds the registry's vaults weakly, so a
/// registry dropped is simply no longer told anything.
pub(super) fn listener(open: Weak<Mutex<Held>>) -> Listener {
    Box::new(move |notice| hear(&open, notice))
}

/// Hands `notice` to the vaults it concerns: the user's, for an announcement; every one
/// held, when announcements were missed. The map's lock is not held while they act.
fn hear(open: &Weak<Mutex<Held>>, notice: Notice) {
    let Some(open) = open.upgrade() else {
        return;
    };
    let held = open.lock().unwrap_or_else(PoisonError::into_inner);
    let vaults = &held.vaults;
    let (targets, event) = match notice {
        Notice::Announced { key, event } => (
            vaults
                .get(&UserId::from_key(key))
                .map(|kept| Arc::clone(&kept.vault))
                .into_iter()
                .collect(),
            Some(event),
        ),
        Notice::Unrecognised { key } => (
            vaults
                .get(&UserId::from_key(key))
                .map(|kept| Arc::clone(&kept.vault))
                .into_iter()
                .collect(),
            None,
        ),
        // Missed, or a notice this version does not know: whatever it was, nothing held
        // may outlive it.
        _ => (
            vaults
                .values()
                .map(|kept| Arc::clone(&kept.vault))
                .collect::<Vec<_>>(),
            None,
        ),
    };
    drop(held);
    for vault in targets {
        vault.hear(event);
    }
}
