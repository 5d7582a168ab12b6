//! The embedded blocklist of common and breached passphrases, and how it is matched.

use std::collections::HashSet;
use std::sync::LazyLock;

use zeroize::Zeroizing;

/// 30,000 common passwords, one per line, lower case. Source and licence in
/// `data/README.md` and the crate docs.
const PASSWORDS: &str = include_str!("../data/common-passwords.txt");
/// 2,983 common first names and surnames (not already in `PASSWORDS`), one per line.
const NAMES: &str = include_str!("../data/common-names.txt");

/// Number of entries in the embedded blocklist (30,000 passwords and 2,983 names).
///
/// # Example
///
/// ```
/// assert_eq!(credlock_policy::BLOCKLIST_LEN, 32_983);
/// ```
pub const BLOCKLIST_LEN: usize = 32_983;

static SET: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    PASSWORDS
        .lines()
        .chain(NAMES.lines())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
});

/// Whether `passphrase` is on the blocklist, matched as described in the crate docs:
/// case-insensitively, as a whole, after stripping trailing (and then leading) digits,
/// punctuation, symbols and spaces, and after undoing common letter-for-digit
/// substitutions (`p@ssw0rd` → `password`).
pub(crate) fn is_blocked(passphrase: &str) -> bool {
    let lower = Zeroizing::new(passphrase.to_lowercase());
    let not_alnum = |c: char| !c.is_alphanumeric();
    let not_alpha = |c: char| !c.is_alphabetic();

    // `Qwerty123!` -> `qwerty123`, then `Password1234!` -> `password`.
    let trimmed_punct = lower.trim_end_matches(not_alnum);
    let trimmed_all = lower.trim_end_matches(not_alpha);
    let candidates = [
        lower.as_str(),
        trimmed_punct,
        trimmed_punct.trim_start_matches(not_alnum),
        trimmed_all,
        trimmed_all.trim_start_matches(not_alpha),
    ];
    candidates.iter().any(|c| {
        !c.is_empty()
            && (SET.contains(c)
                || SET.contains(unleet(c, 'i').as_str())
                || SET.contains(unleet(c, 'l').as_str()))
    })
}

/// Undoes common substitutions; `one` is what `1` stands for (`i` or `l`).
fn unleet(s: &str, one: char) -> Zeroizing<String> {
    Zeroizing::new(
        s.chars()
            .map(|c| match c {
                '0' => 'o',
                '1' => one,
                '3' => 'e',
                '4' | '@' => 'a',
                '5' | '$' => 's',
                '7' | '+' => 't',
                '!' | '|' => 'i',
                other => other,
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_size_and_shape() {
        assert_eq!(SET.len(), BLOCKLIST_LEN);
        assert!(
            SET.iter()
                .all(|e| *e == e.to_lowercase() && !e.contains(char::is_whitespace))
        );
    }

    #[test]
    fn issue_examples_are_blocked() {
        for p in [
            "Password1234!",
            "Summer2024!!!",
            "password",
            "PASSWORD",
            "P@ssw0rd1234!",
            "Pa55word!!",
            "Qwerty123!",
            "123456789!",
            "!!Password2024",
            "1Iloveyou!",
            "Letmein 2024!",
            "Jennifer-1985!",
            "Michael2019!!",
            "Smith#1234",
        ] {
            assert!(is_blocked(p), "{p}");
        }
    }

    #[test]
    fn good_passphrases_are_not_blocked() {
        for p in [
            "Correct-Horse-9-Battery!",
            "Tr0ub4dor&3-staple",
            "vault kettle 42 Orchid!",
            "Zebra£Lantern7",
            "",
            "!!!",
        ] {
            assert!(!is_blocked(p), "{p}");
        }
    }
}
