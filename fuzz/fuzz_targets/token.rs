//! Fernet tokens: no input opens under a fixed key by accident, and none panics.
#![no_main]

use credlock_crypto::{FernetKey, insecure};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, u64, u64)| {
    let (token, ttl, now) = input;
    let key = FernetKey::from_bytes(&[7; 32]);
    let opened = key.open(token);
    let timed = insecure::open_at_time(&key, token, Some(ttl), now);
    // A token that opens with a TTL also opens without one.
    if timed.is_ok() {
        assert!(opened.is_ok());
    }
    let _ = FernetKey::from_base64url(token);
});
