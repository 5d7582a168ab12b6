//! The passphrase policy on any string: no panic, and what the default accepts meets
//! Eclosion's rules.
#![no_main]

use credlock_policy::Policy;
use credlock_policy::secrecy::SecretString;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: (&str, &str)| {
    let (passphrase, context) = input;
    for policy in [
        Policy::default(),
        Policy::eclosion_compat(),
        Policy::nist_800_63b(),
    ] {
        let _ = policy.check_with_context(SecretString::from(passphrase), &[context]);
    }
    if Policy::default()
        .check(SecretString::from(passphrase))
        .is_ok()
    {
        assert!(passphrase.chars().count() >= 12);
        assert!(passphrase.chars().any(char::is_uppercase));
        assert!(passphrase.chars().any(char::is_lowercase));
        assert!(passphrase.chars().any(|c| c.is_numeric()));
    }
});
