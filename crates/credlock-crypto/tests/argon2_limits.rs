//! Argon2id's cost and the caps an application sets on it read back what was set.

use credlock_crypto::{Argon2Cost, Argon2Limits};

#[test]
fn with_passes_changes_the_passes_only() {
    let cost = Argon2Cost::new(64 * 1024, 3, 2);
    let more = cost.with_passes(5);
    assert_eq!(more.passes(), 5);
    assert_eq!(more.memory_kib(), cost.memory_kib());
    assert_eq!(more.lanes(), cost.lanes());
    assert_eq!(more.with_passes(3), cost);
}

#[test]
fn limits_read_back_what_was_set() {
    let limits = Argon2Limits::new(256 * 1024, 4).unwrap();
    assert_eq!(limits.max_memory_kib(), 262_144);
    assert_eq!(limits.max_passes(), 4);
    let default = Argon2Limits::default();
    assert_eq!(default.max_memory_kib(), 1024 * 1024);
    assert_eq!(default.max_passes(), 10);
}
