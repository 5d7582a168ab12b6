//! Replicas hear each other: what another replica announces for a user (through the store
//! set's [`StoreSet::watch`](credlock_store::StoreSet::watch)) reaches the vault this
//! registry holds for that user, if it holds one.

use std::sync::{Arc, PoisonError, Weak};

use credlock_store::{Listener, Notice};

use super::{Open, UserId};

/// The listener a registry gives its set: it holds the registry's vaults weakly, so a
/// registry dropped is simply no longer told anything.
pub(super) fn listener(open: Weak<Open>) -> Listener {
    Box::new(move |notice| hear(&open, notice))
}

/// Hands `notice` to the vaults it concerns: the user's, for an announcement; every one
/// held, when announcements were missed. The map's lock is not held while they act.
fn hear(open: &Weak<Open>, notice: Notice) {
    let Some(open) = open.upgrade() else {
        return;
    };
    let vaults = open.lock().unwrap_or_else(PoisonError::into_inner);
    let (targets, event) = match notice {
        Notice::Announced { key, event } => (
            vaults
                .get(&UserId::from_key(key))
                .cloned()
                .into_iter()
                .collect(),
            Some(event),
        ),
        Notice::Unrecognised { key } => (
            vaults
                .get(&UserId::from_key(key))
                .cloned()
                .into_iter()
                .collect(),
            None,
        ),
        // Missed, or a notice this version does not know: whatever it was, nothing held
        // may outlive it.
        _ => (vaults.values().map(Arc::clone).collect::<Vec<_>>(), None),
    };
    drop(vaults);
    for vault in targets {
        vault.hear(event);
    }
}
