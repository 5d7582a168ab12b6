//! Property tests: no input panics; accepted passphrases meet Eclosion's rules.

use credlock_policy::{Policy, Violation};
use proptest::prelude::*;
use secrecy::{ExposeSecret, SecretString};

/// Characters from every interesting group: ASCII of each class, controls, NUL,
/// whitespace, non-ASCII letters and symbols, combining and invisible characters,
/// emoji and arbitrary scalar values.
fn interesting_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range('a', 'z'),
        2 => proptest::char::range('A', 'Z'),
        2 => proptest::char::range('0', '9'),
        2 => proptest::sample::select(r##"!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~"##.chars().collect::<Vec<_>>()),
        1 => proptest::sample::select(vec!['\0', '\t', '\n', '\r', '\u{1b}', '\u{7f}', '\u{85}']),
        1 => proptest::sample::select(vec![' ', '\u{a0}', '\u{3000}', '\u{200b}', '\u{feff}', '\u{301}', '\u{fe0f}']),
        2 => proptest::sample::select(vec!['é', 'Ä', 'ß', 'Σ', 'σ', 'Ж', '中', '٣', '£', '€', '§', '🦀', 'İ', 'ǅ']),
        1 => any::<char>(),
    ]
}

/// One character of each of Eclosion's classes plus a random tail, so that a good
/// share of the generated passphrases is accepted and the implications below are
/// exercised, not just vacuously true.
fn likely_valid() -> impl Strategy<Value = String> {
    (
        proptest::char::range('A', 'Z'),
        proptest::char::range('a', 'z'),
        proptest::char::range('0', '9'),
        proptest::sample::select(vec!['!', '-', '£', '€', '§', '#']),
        proptest::collection::vec(
            interesting_char().prop_filter("no control", |c| !c.is_control()),
            8..30,
        ),
        any::<proptest::sample::Index>(),
    )
        .prop_map(|(u, l, d, sp, mut tail, at)| {
            let i = at.index(tail.len() + 1);
            tail.splice(i..i, [u, l, d, sp]);
            tail.into_iter().collect()
        })
}

fn passphrase() -> impl Strategy<Value = String> {
    prop_oneof![
        likely_valid(),
        proptest::collection::vec(interesting_char(), 0..40).prop_map(|v| v.into_iter().collect()),
        any::<String>(),
        "\\PC{0,64}",
    ]
}

fn presets() -> [Policy; 4] {
    [
        Policy::default(),
        Policy::eclosion_compat(),
        Policy::nist_800_63b(),
        Policy::default().context_words(["alice.smith@example.com", "credlock"]),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_input_panics(s in passphrase(), ctx in proptest::collection::vec(any::<String>(), 0..3)) {
        let ctx: Vec<&str> = ctx.iter().map(String::as_str).collect();
        for policy in presets() {
            match policy.check_with_context(SecretString::from(s.clone()), &ctx) {
                Ok(valid) => prop_assert_eq!(valid.expose_secret(), s.as_str()),
                Err(err) => {
                    prop_assert!(!err.as_slice().is_empty());
                    let text = err.to_string();
                    prop_assert!(!text.is_empty());
                    for v in &err {
                        prop_assert!(!v.code().is_empty());
                    }
                }
            }
        }
    }

    #[test]
    fn default_accepts_only_what_meets_eclosion_rules(s in passphrase()) {
        if Policy::default().check(SecretString::from(s.clone())).is_ok() {
            // Eclosion's rules with this crate's definitions of the classes.
            prop_assert!(s.chars().count() >= 12);
            prop_assert!(s.chars().count() <= 1024);
            prop_assert!(s.chars().any(char::is_uppercase));
            prop_assert!(s.chars().any(char::is_lowercase));
            prop_assert!(s.chars().any(char::is_numeric));
            prop_assert!(s.chars().any(|c| !c.is_alphabetic() && !c.is_numeric() && !c.is_whitespace()));
            prop_assert!(!s.chars().any(char::is_control));
        }
    }

    #[test]
    fn compat_accepts_only_what_eclosion_accepted(s in passphrase()) {
        if Policy::eclosion_compat().check(SecretString::from(s.clone())).is_ok() {
            // Eclosion exactly: ASCII classes and ASCII punctuation, and at least 12
            // by any way of counting (chars, and UTF-16 units as its web front end did).
            prop_assert!(s.chars().count() >= 12);
            prop_assert!(s.encode_utf16().count() >= 12);
            prop_assert!(s.chars().any(|c| c.is_ascii_uppercase()));
            prop_assert!(s.chars().any(|c| c.is_ascii_lowercase()));
            prop_assert!(s.chars().any(|c| c.is_ascii_digit()));
            prop_assert!(s.chars().any(|c| c.is_ascii_punctuation()));
        }
    }

    #[test]
    fn too_short_iff_fewer_chars_than_minimum(s in passphrase()) {
        let err = Policy::default().check(SecretString::from(s.clone())).err();
        let too_short = err.as_ref().is_some_and(|e| e.iter().any(|v| matches!(v, Violation::TooShort { .. })));
        prop_assert_eq!(too_short, s.chars().count() < 12);
    }
}

/// The generator above does produce accepted passphrases (so the implications are
/// tested on real cases).
#[test]
fn generator_produces_accepted_passphrases() {
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    let mut runner = TestRunner::deterministic();
    let strategy = likely_valid();
    let accepted = (0..200)
        .filter(|_| {
            let s = strategy.new_tree(&mut runner).expect("tree").current();
            Policy::default().check(SecretString::from(s)).is_ok()
        })
        .count();
    assert!(accepted > 50, "only {accepted} of 200 accepted");
}
