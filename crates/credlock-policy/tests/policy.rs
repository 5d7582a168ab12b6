//! API tests for the passphrase policy: each rule and boundary, the blocklist, the presets.

use credlock_policy::{Alphabet, CharClass, Policy, PolicyViolations, ValidPassphrase, Violation};
use secrecy::{ExposeSecret, SecretString};

fn check(policy: &Policy, s: &str) -> Result<ValidPassphrase, PolicyViolations> {
    policy.check(SecretString::from(s))
}

fn codes(policy: &Policy, s: &str) -> Vec<&'static str> {
    match check(policy, s) {
        Ok(_) => Vec::new(),
        Err(e) => e.iter().map(Violation::code).collect(),
    }
}

fn accepted(policy: &Policy, s: &str) -> bool {
    check(policy, s).is_ok()
}

// ---------------------------------------------------------------- length

#[test]
fn length_boundary_11_and_12() {
    let p = Policy::default();
    assert_eq!(codes(&p, "Orchid-42Kq"), ["too_short"]); // 11
    assert!(accepted(&p, "Orchid-42Kqz")); // 12
}

#[test]
fn nist_length_boundary_14_and_15() {
    let p = Policy::nist_800_63b();
    assert_eq!(codes(&p, "orchid-kettle-"), ["too_short"]); // 14
    assert!(accepted(&p, "orchid-kettle-l")); // 15
}

#[test]
fn length_counts_chars_not_bytes_or_utf16() {
    let p = Policy::default();
    // 12 chars, 24+ bytes: accepted.
    let s = "Ωмега£Лампа7";
    assert_eq!(s.chars().count(), 12);
    assert!(s.len() > 12);
    assert!(accepted(&p, s));
    // 11 chars but 12 UTF-16 units (the emoji is a surrogate pair): too short.
    let s = "Orchid-42K🦀";
    assert_eq!(s.chars().count(), 11);
    assert_eq!(s.encode_utf16().count(), 12);
    assert_eq!(codes(&p, s), ["too_short"]);
}

#[test]
fn nfc_and_nfd_are_counted_as_chars() {
    let p = Policy::default();
    // "Café" NFC: 4 chars; NFD: 5 chars. Pad to exactly the boundary.
    let nfc = "Caf\u{e9}-Orchid9"; // 12 chars
    let nfd = "Cafe\u{301}-Orchid9"; // 13 chars
    assert_eq!(nfc.chars().count(), 12);
    assert_eq!(nfd.chars().count(), 13);
    assert!(accepted(&p, nfc));
    assert!(accepted(&p, nfd));
    let nfc11 = "Caf\u{e9}-Orchd9"; // 11 chars: too short
    let nfd12 = "Cafe\u{301}-Orchd9"; // 12 chars: long enough
    assert_eq!(codes(&p, nfc11), ["too_short"]);
    assert!(accepted(&p, nfd12));
    // The combining mark is not a special character: NFD adds no class.
    assert_eq!(codes(&p, "Cafe\u{301}Orchid99"), ["missing_special"]);
}

#[test]
fn max_length_is_enforced_without_truncation() {
    let p = Policy::default();
    let base = "Orchid-42Kq ";
    let at_max: String = base.chars().cycle().take(1024).collect();
    let over: String = base.chars().cycle().take(1025).collect();
    // at_max is repetitive, so disable patterns to test length alone.
    let lax = Policy::default().reject_patterns(false);
    assert!(accepted(&lax, &at_max));
    assert_eq!(codes(&p, &over), ["too_long"]);
    // A megabyte is refused quickly, with only too_long.
    let huge = "a".repeat(1 << 20);
    assert_eq!(codes(&p, &huge), ["too_long"]);
    // The accepted passphrase is returned whole.
    let v = check(&lax, &at_max).expect("accepted");
    assert_eq!(v.expose_secret().chars().count(), 1024);
}

#[test]
fn min_above_max_refuses_everything() {
    let p = Policy::default().min_length(20).max_length(10);
    // Up to the maximum: too short; above it: too long; no length passes.
    assert_eq!(codes(&p, "Orchid-42K"), ["too_short"]); // 10
    assert_eq!(codes(&p, "Orchid-42Kq"), ["too_long"]); // 11
    assert_eq!(codes(&p, "Orchid-42Kq-lantern-x"), ["too_long"]); // 21
    // Each of them passes the default policy's lengths.
    let lax = Policy::default().min_length(10);
    for s in ["Orchid-42K", "Orchid-42Kq", "Orchid-42Kq-lantern-x"] {
        assert!(accepted(&lax, s), "{s}");
    }
}

// ---------------------------------------------------------------- classes

#[test]
fn each_class_missing_alone() {
    let p = Policy::default();
    assert_eq!(codes(&p, "orchid-42-kettle"), ["missing_uppercase"]);
    assert_eq!(codes(&p, "ORCHID-42-KETTLE"), ["missing_lowercase"]);
    assert_eq!(codes(&p, "Orchid-xx-Kettle"), ["missing_digit"]);
    assert_eq!(codes(&p, "Orchid42Kettle"), ["missing_special"]);
    assert!(accepted(&p, "Orchid-42-Kettle"));
}

#[test]
fn all_violations_reported_at_once_in_order() {
    let p = Policy::default();
    assert_eq!(
        codes(&p, "\u{0}"),
        [
            "too_short",
            "control_character",
            "missing_uppercase",
            "missing_lowercase",
            "missing_digit",
            "missing_special"
        ]
    );
    let err = check(&p, "").expect_err("refused");
    let messages: Vec<String> = err.iter().map(Violation::message).collect();
    assert_eq!(
        messages,
        [
            "At least 12 characters",
            "Not empty or only spaces",
            "At least 1 uppercase letter",
            "At least 1 lowercase letter",
            "At least 1 number",
            "At least 1 special character",
        ]
    );
}

#[test]
fn unicode_specials_count_by_default() {
    let p = Policy::default();
    for special in ['£', '€', '§', '°', '¿', '→', '🦀'] {
        let s = format!("Orchid42Kettle{special}");
        assert!(accepted(&p, &s), "{special}");
    }
    // Whitespace is not special.
    assert_eq!(codes(&p, "Orchid 42 Kettle"), ["missing_special"]);
    // Invisible characters are not special.
    assert_eq!(codes(&p, "Orchid42Kettle\u{200B}"), ["missing_special"]);
}

#[test]
fn non_ascii_letters_count_as_letters() {
    let p = Policy::default();
    assert!(accepted(&p, "Ärger-über-42-Öl"));
    assert!(accepted(&p, "Σοφία-και-42-λόγος"));
    // Caseless script: no uppercase or lowercase.
    assert_eq!(
        codes(&p, "密码是一个很长的句子42!"),
        ["missing_uppercase", "missing_lowercase"]
    );
    // Non-ASCII digits count under the Unicode alphabet.
    assert!(accepted(&p, "Orchid-٤٢-Kettle"));
}

#[test]
fn eclosion_compat_counts_only_ascii() {
    let p = Policy::eclosion_compat();
    assert!(accepted(&p, "Orchid-42-Kettle"));
    assert_eq!(codes(&p, "Orchid42Kettle£"), ["missing_special"]);
    assert_eq!(codes(&p, "Orchid42Kettle€"), ["missing_special"]);
    assert_eq!(codes(&p, "Orchid42Kettle§"), ["missing_special"]);
    assert_eq!(codes(&p, "ärger-über-42-öl"), ["missing_uppercase"]);
    assert_eq!(codes(&p, "Orchid-٤٢-Kettle"), ["missing_digit"]);
    for punct in "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".chars() {
        let s = format!("Orchid42Kettle{punct}");
        assert!(accepted(&p, &s), "{punct}");
    }
}

#[test]
fn class_setters() {
    let p = Policy::default().require(CharClass::Uppercase, false);
    assert!(accepted(&p, "orchid-42-kettle"));
    let p = Policy::default().required_classes(&[]);
    assert!(accepted(&p, "orchid kettle lantern"));
    let p = Policy::default().alphabet(Alphabet::Ascii);
    assert_eq!(codes(&p, "Orchid42Kettle£"), ["missing_special"]);
}

// ---------------------------------------------------------------- bad input

#[test]
fn control_characters_are_refused_by_every_preset() {
    for p in [
        Policy::default(),
        Policy::eclosion_compat(),
        Policy::nist_800_63b(),
    ] {
        for ctl in ['\0', '\t', '\n', '\r', '\u{1b}', '\u{7f}', '\u{85}'] {
            let s = format!("Orchid-42-Kettle-lantern{ctl}");
            assert_eq!(codes(&p, &s), ["control_character"], "{ctl:?} {p:?}");
        }
    }
}

#[test]
fn blank_is_refused_by_every_preset() {
    for p in [
        Policy::default(),
        Policy::eclosion_compat(),
        Policy::nist_800_63b(),
        Policy::default().min_length(0).required_classes(&[]),
    ] {
        for s in [
            "",
            "                ",
            "\u{3000}\u{3000}",
            "\u{200B}\u{200B}",
        ] {
            assert!(codes(&p, s).contains(&"blank"), "{s:?} {p:?}");
        }
    }
}

// ---------------------------------------------------------------- blocklist

#[test]
fn blocklist_issue_examples() {
    let p = Policy::default();
    assert_eq!(codes(&p, "Password1234!"), ["common_passphrase"]);
    assert_eq!(codes(&p, "Summer2024!!!"), ["common_passphrase"]);
    // Case-insensitive and with decorations stripped.
    assert_eq!(
        codes(&p, "PASSWORD1234!"),
        ["missing_lowercase", "common_passphrase"]
    );
    for s in [
        "P@ssw0rd2024!!",
        "Iloveyou123456!",
        "Football#2024",
        "!!Dragon123456",
        "Jennifer-1985!",
        "Michael2019!!",
    ] {
        assert!(codes(&p, s).contains(&"common_passphrase"), "{s}");
    }
    // Eclosion's rules alone accept them.
    let compat = Policy::eclosion_compat();
    assert!(accepted(&compat, "Password1234!"));
    assert!(accepted(&compat, "Summer2024!!!"));
    // So does the default with the blocklist off.
    assert!(accepted(
        &Policy::default().blocklist(false),
        "Password1234!"
    ));
}

#[test]
fn nist_refuses_common_passphrases_without_composition_rules() {
    let p = Policy::nist_800_63b();
    assert!(codes(&p, "password123456789").contains(&"common_passphrase"));
    assert_eq!(codes(&p, "Football-2024!!"), ["common_passphrase"]);
    assert!(accepted(&p, "orchid kettle lantern"));
    assert!(accepted(&p, "ORCHID KETTLE LANTERN"));
}

// ---------------------------------------------------------------- context words

#[test]
fn context_words() {
    let ctx = ["alice.smith@example.com", "credlock"];
    let p = Policy::default();
    let refuse = |s: &str| {
        let r = p.check_with_context(SecretString::from(s), &ctx);
        r.expect_err("refused").contains("context_word")
    };
    assert!(refuse("Alice.Smith2024!"));
    assert!(refuse("Credlock-2024!!"));
    assert!(refuse("Smith1234567!"));
    assert!(refuse("Alice@Example.com1"));
    assert!(
        p.check_with_context(SecretString::from("Credlock-Orchid-Kettle-42"), &ctx)
            .is_ok()
    );
    // Words kept on the policy work the same way.
    let p = Policy::default().context_words(ctx);
    assert!(codes(&p, "Alice.Smith2024!").contains(&"context_word"));
    // The compat preset does not check context words.
    let compat = Policy::eclosion_compat();
    assert!(
        compat
            .check_with_context(SecretString::from("Alice.Smith2024!"), &ctx)
            .is_ok()
    );
}

// ---------------------------------------------------------------- patterns

#[test]
fn repetitive_and_sequential() {
    let p = Policy::default();
    assert!(codes(&p, "aaaaaaaaaaaa").contains(&"predictable_pattern"));
    assert_eq!(codes(&p, "abcdefghijkl1!A"), ["predictable_pattern"]);
    assert_eq!(codes(&p, "Aa1!Aa1!Aa1!"), ["predictable_pattern"]);
    assert!(codes(&p, "Qwertyuiop-9").contains(&"predictable_pattern"));
    assert_eq!(codes(&p, "Zq-Asdfghjkl-9"), ["predictable_pattern"]);
    assert_eq!(codes(&p, "ZYXWVUTSRQ-9a"), ["predictable_pattern"]);
    let nist = Policy::nist_800_63b();
    assert!(codes(&nist, "123456789012345678").contains(&"predictable_pattern"));
    assert_eq!(codes(&nist, "kettle-abcdefghij"), ["predictable_pattern"]);
    assert!(codes(&nist, "               ").contains(&"predictable_pattern"));
    // Eclosion accepted these.
    assert!(accepted(&Policy::eclosion_compat(), "abcdefghijkl1!A"));
}

// ---------------------------------------------------------------- presets & data

#[test]
fn eclosion_fixture_passphrase_is_accepted_by_every_preset() {
    for p in [
        Policy::default(),
        Policy::eclosion_compat(),
        Policy::nist_800_63b(),
    ] {
        assert!(accepted(&p, "Correct-Horse-9-Battery!"), "{p:?}");
    }
}

#[test]
fn requirements_json() {
    let json = serde_json::to_value(Policy::default().requirements()).expect("json");
    assert_eq!(json["min_length"], 12);
    assert_eq!(json["max_length"], 1024);
    assert_eq!(json["alphabet"], "unicode");
    assert_eq!(json["blocklist"], true);
    assert_eq!(json["min_strength_score"], serde_json::Value::Null);
    let rules: Vec<&str> = json["rules"]
        .as_array()
        .expect("array")
        .iter()
        .map(|r| r["message"].as_str().expect("str"))
        .collect();
    assert!(rules.starts_with(&[
        "At least 12 characters",
        "At most 1024 characters",
        "No control characters (such as NUL, tab or line breaks)",
        "Not empty or only spaces",
        "At least 1 uppercase letter",
        "At least 1 lowercase letter",
        "At least 1 number",
        "At least 1 special character",
    ]));

    let compat = serde_json::to_value(Policy::eclosion_compat().requirements()).expect("json");
    assert_eq!(compat["alphabet"], "ascii");
    assert_eq!(compat["blocklist"], false);

    let nist = Policy::nist_800_63b().requirements();
    assert_eq!(nist.min_length, 15);
    assert!(nist.required_classes.is_empty());
    assert!(nist.blocklist);
}

#[test]
fn no_secret_or_context_in_errors_debug_or_requirements() {
    let secret = "Alice.Smith-zq2024!";
    let p = Policy::default().context_words(["alice.smith@example.com"]);
    let err = check(&p, secret).expect_err("refused");
    let dump = format!(
        "{err} {err:?} {} {p:?} {:?}",
        serde_json::to_string(&err).expect("json"),
        p.requirements()
    );
    assert!(!dump.contains("zq2024"));
    assert!(!dump.to_lowercase().contains("alice"));
}

#[test]
fn valid_passphrase_round_trip() {
    let v = check(&Policy::default(), "Correct-Horse-9-Battery!").expect("accepted");
    assert_eq!(format!("{v:?}"), "ValidPassphrase([REDACTED])");
    assert_eq!(v.into_secret().expose_secret(), "Correct-Horse-9-Battery!");
    let legacy = ValidPassphrase::insecure_unchecked(SecretString::from("x"));
    assert_eq!(legacy.expose_secret(), "x");
}

#[test]
fn errors_iterate_and_display() {
    let err = check(&Policy::default(), "short").expect_err("refused");
    let expected = [
        Violation::TooShort { min: 12 },
        Violation::MissingClass(CharClass::Uppercase),
        Violation::MissingClass(CharClass::Digit),
        Violation::MissingClass(CharClass::Special),
    ];
    assert_eq!(err.as_slice(), expected);
    // Every way of reading the violations gives the same ones, in the same order.
    assert!(err.iter().eq(&expected));
    assert!((&err).into_iter().eq(&expected));
    let boxed: Box<dyn std::error::Error> = Box::new(err.clone());
    assert_eq!(
        boxed.to_string(),
        "passphrase does not meet the policy: At least 12 characters; \
         At least 1 uppercase letter; At least 1 number; At least 1 special character"
    );
    assert_eq!(err.clone().into_iter().collect::<Vec<_>>(), expected);
    assert_eq!(err.into_vec(), expected);
}

#[cfg(feature = "strength")]
#[test]
fn strength_minimum() {
    let p = Policy::default().min_strength_score(4);
    assert_eq!(codes(&p, "Welcome-Home1"), ["too_weak"]);
    assert!(accepted(&Policy::default(), "Welcome-Home1"));
    assert!(accepted(&p, "Correct-Horse-9-Battery!"));
    assert_eq!(p.requirements().min_strength_score, Some(4));
    // Out-of-range scores are clamped.
    assert_eq!(
        Policy::default()
            .min_strength_score(9)
            .requirements()
            .min_strength_score,
        Some(4)
    );
}

#[test]
fn a_zero_minimum_lists_no_length_floor() {
    let codes = |p: &Policy| -> Vec<&'static str> {
        p.requirements().rules.iter().map(|r| r.code).collect()
    };
    assert!(!codes(&Policy::default().min_length(0)).contains(&"too_short"));
    assert!(codes(&Policy::default().min_length(1)).contains(&"too_short"));
}

#[test]
fn debug_shows_the_settings_but_not_the_context_words() {
    let policy = Policy::default().context_words(["alice-secret-word"]);
    let shown = format!("{policy:?}");
    assert!(
        shown.starts_with("Policy { min_length: 12, max_length: "),
        "{shown}"
    );
    assert!(shown.contains("context_words: 1"), "{shown}");
    assert!(!shown.contains("alice-secret-word"), "{shown}");
}
