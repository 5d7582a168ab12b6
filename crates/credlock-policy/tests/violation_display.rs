//! A violation prints its message: what `Display` shows an app's user.

use credlock_policy::Policy;
use secrecy::SecretString;

#[test]
fn a_violation_displays_its_message() {
    let violations = Policy::default()
        .check(SecretString::from("short"))
        .unwrap_err();
    assert!(violations.iter().count() > 0);
    for v in violations.iter() {
        assert!(!v.message().is_empty());
        assert_eq!(v.to_string(), v.message());
    }
}
