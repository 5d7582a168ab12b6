//! The provider recovers when the application is logged out of the token behind its back (by
//! other code in the process): one fresh session, logged in again. In a process of its own,
//! since logging out affects every session of the process.
#![allow(
    clippy::unwrap_used,
    clippy::panic,
    clippy::print_stderr,
    reason = "test code: helpers outside #[test] functions, and the documented skip message"
)]

mod common;

use credlock_keyprovider::conformance::{KNOWN_ANSWER, KNOWN_INPUT, KNOWN_KEY};
use credlock_keyprovider::{KeyProvider, ProviderKey};
use credlock_keyprovider_pkcs11::{Pkcs11KeyProvider, delete_key, import_key};
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error, RvError};

#[test]
fn a_logout_by_other_code_is_recovered_from() {
    let Some(t) = common::token() else { return };
    let _token = common::exclusive();
    let spec = t.spec(&common::label("recovery"));
    delete_key(&spec).unwrap();
    import_key(&spec, &ProviderKey::from_bytes(KNOWN_KEY)).unwrap();
    let p = Pkcs11KeyProvider::open(&spec).unwrap();
    assert_eq!(*p.apply(&KNOWN_INPUT).unwrap(), KNOWN_ANSWER);

    // Other code in the process logs the application out of the token.
    let ctx = Pkcs11::new(&t.module).unwrap();
    match ctx.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) | Err(Error::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(e) => panic!("{e}"),
    }
    let slot = ctx
        .get_slots_with_initialized_token()
        .unwrap()
        .into_iter()
        .find(|s| ctx.get_token_info(*s).unwrap().label().trim_end() == t.label)
        .unwrap();
    let other = ctx.open_ro_session(slot).unwrap();
    other.logout().unwrap();
    drop(other);

    for _ in 0..3 {
        assert_eq!(*p.apply(&KNOWN_INPUT).unwrap(), KNOWN_ANSWER);
    }
    delete_key(&spec).unwrap();
}
