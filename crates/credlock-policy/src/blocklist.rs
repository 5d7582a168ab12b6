//! The embedded blocklist of common and breached passphrases, and how it is matched.
//!
//! The table is built at compile time: `build.rs` reads `data/common-passwords.txt`
//! (30,000 common passwords) and `data/common-names.txt` (2,983 common first names and
//! surnames not already among the passwords), one entry per line, lower case, and
//! writes them sorted and deduplicated as one static string with a static table of
//! offsets. A lookup is a binary search in that table, so the first check costs what
//! every later one does: nothing is parsed, allocated or hashed at run time. The table
//! holds no pointers, so loading a program that contains it costs no relocations
//! either.

use std::cmp::Ordering;

use zeroize::Zeroizing;

// `static TEXT: &str`, the entries sorted in byte order, deduplicated and concatenated,
// and `static OFFSETS: [u32; BLOCKLIST_LEN + 1]`, where entry `i` is
// `TEXT[OFFSETS[i]..OFFSETS[i + 1]]`.
include!(concat!(env!("OUT_DIR"), "/blocklist.rs"));

/// Number of entries in the embedded blocklist (30,000 passwords and 2,983 names).
///
/// # Example
///
/// ```
/// assert_eq!(credlock_policy::BLOCKLIST_LEN, 32_983);
/// ```
pub const BLOCKLIST_LEN: usize = 32_983;

// The documented count is the count of the table; a change to the data files that
// changes it fails the build until the docs are updated.
const _: () = assert!(
    OFFSETS.len() == BLOCKLIST_LEN + 1,
    "the blocklist table does not have BLOCKLIST_LEN entries: update the docs"
);

/// Entry `i` of the table, for `i < BLOCKLIST_LEN`.
fn entry(i: usize) -> &'static str {
    &TEXT[OFFSETS[i] as usize..OFFSETS[i + 1] as usize]
}

/// Whether `candidate` is an entry of the table, exactly (no normalisation): a binary
/// search, as the entries are sorted in byte order, `str`'s order.
fn contains(candidate: &str) -> bool {
    let (mut low, mut high) = (0, BLOCKLIST_LEN);
    while low < high {
        let mid = low + (high - low) / 2;
        match entry(mid).cmp(candidate) {
            Ordering::Less => low = mid + 1,
            Ordering::Greater => high = mid,
            Ordering::Equal => return true,
        }
    }
    false
}

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
    // Each distinct candidate is looked up once, and its substitutions undone only
    // when it has a character to substitute (otherwise `unleet` returns it unchanged);
    // `1` is read as `l` only when it occurs (otherwise both readings are equal).
    candidates.iter().enumerate().any(|(i, c)| {
        !c.is_empty()
            && !candidates[..i].contains(c)
            && (contains(c)
                || (c.chars().any(|ch| substitute(ch, 'i').is_some())
                    && contains(unleet(c, 'i').as_str()))
                || (c.contains('1') && contains(unleet(c, 'l').as_str())))
    })
}

/// Undoes common substitutions; `one` is what `1` stands for (`i` or `l`).
fn unleet(s: &str, one: char) -> Zeroizing<String> {
    Zeroizing::new(s.chars().map(|c| substitute(c, one).unwrap_or(c)).collect())
}

/// The letter that `c` commonly stands in for, if any; `one` is what `1` stands for.
const fn substitute(c: char, one: char) -> Option<char> {
    match c {
        '0' => Some('o'),
        '1' => Some(one),
        '3' => Some('e'),
        '4' | '@' => Some('a'),
        '5' | '$' => Some('s'),
        '7' | '+' => Some('t'),
        '!' | '|' => Some('i'),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::sync::LazyLock;

    use super::*;

    /// The entries of the data files in file order, parsed at run time as the crate
    /// did before the table was built at compile time.
    fn reference_lines() -> Vec<&'static str> {
        include_str!("../data/common-passwords.txt")
            .lines()
            .chain(include_str!("../data/common-names.txt").lines())
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect()
    }

    /// The reference for the differential tests: the set the crate used to build.
    fn reference() -> HashSet<&'static str> {
        reference_lines().into_iter().collect()
    }

    /// The matching as the crate did it before the table, on the runtime-parsed set:
    /// every candidate looked up as it is and with both readings of the substitutions.
    fn reference_is_blocked(set: &HashSet<&str>, passphrase: &str) -> bool {
        let lower = passphrase.to_lowercase();
        let not_alnum = |c: char| !c.is_alphanumeric();
        let not_alpha = |c: char| !c.is_alphabetic();
        let trimmed_punct = lower.trim_end_matches(not_alnum);
        let trimmed_all = lower.trim_end_matches(not_alpha);
        let candidates = [
            lower.as_str(),
            trimmed_punct,
            trimmed_punct.trim_start_matches(not_alnum),
            trimmed_all,
            trimmed_all.trim_start_matches(not_alpha),
        ];
        let unleet = |s: &str, one: char| -> String {
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
                .collect()
        };
        candidates.iter().any(|c| {
            !c.is_empty()
                && (set.contains(c)
                    || set.contains(unleet(c, 'i').as_str())
                    || set.contains(unleet(c, 'l').as_str()))
        })
    }

    /// The entries of the table, in table order.
    fn entries() -> Vec<&'static str> {
        (0..BLOCKLIST_LEN).map(entry).collect()
    }

    #[test]
    fn table_is_sorted_without_duplicates_and_has_the_documented_length() {
        // The offsets cover all of `TEXT`, in order, with no empty entry, and there are
        // exactly `BLOCKLIST_LEN` entries.
        assert_eq!(OFFSETS.len(), BLOCKLIST_LEN + 1);
        assert_eq!(BLOCKLIST_LEN, 32_983);
        assert_eq!(OFFSETS[0], 0);
        assert_eq!(OFFSETS[BLOCKLIST_LEN] as usize, TEXT.len());
        assert!(OFFSETS.windows(2).all(|w| w[0] < w[1]));
        let entries = entries();
        assert!(entries.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(entries.concat(), TEXT);
    }

    #[test]
    fn entries_are_lower_case_without_whitespace() {
        // The lookup lower-cases the passphrase, so an entry with an upper-case letter
        // could never match; whitespace would be trimmed or stripped before matching.
        for e in entries() {
            assert_eq!(e, e.to_lowercase(), "{e:?}");
            assert!(!e.contains(char::is_whitespace), "{e:?}");
        }
    }

    #[test]
    fn table_agrees_with_a_runtime_parse_of_the_data_files() {
        let reference = reference();
        let entries = entries();
        assert_eq!(reference.len(), entries.len());
        for e in &reference {
            assert!(contains(e), "{e:?} is in the data files but not found");
        }
        for e in &entries {
            assert!(reference.contains(e), "{e:?} is not in the data files");
        }
        // Near misses of every entry: one character more at either end, one less, and
        // upper case. Each is looked up both ways, so that the binary search is tested
        // between every pair of neighbours, not only on hits.
        let mut near_misses = 0;
        for e in &reference {
            let mut shorter = e.chars();
            shorter.next_back();
            for probe in [
                format!("{e}~"),
                format!("{e}\u{0}"),
                format!("0{e}"),
                shorter.as_str().to_owned(),
                e.to_uppercase(),
            ] {
                let expected = reference.contains(probe.as_str());
                assert_eq!(contains(&probe), expected, "{probe:?}");
                near_misses += usize::from(!expected);
            }
        }
        assert!(near_misses > 4 * BLOCKLIST_LEN, "{near_misses}");
        for absent in [
            "",
            " ",
            "Password",
            "password ",
            "correct-horse-9-battery!",
            "zzzzzzzzzz",
            "\u{10ffff}",
        ] {
            assert!(!reference.contains(absent), "{absent:?}");
            assert!(!contains(absent), "{absent:?}");
        }
        // The first and last entries in byte order, and every 1,000th entry of each file.
        assert!(contains(entry(0)) && contains(entry(BLOCKLIST_LEN - 1)));
        for text in [
            include_str!("../data/common-passwords.txt"),
            include_str!("../data/common-names.txt"),
        ] {
            for line in text.lines().step_by(1000) {
                assert!(contains(line), "{line:?}");
            }
        }
    }

    #[test]
    fn matching_agrees_with_the_runtime_parse() {
        // The full matching rules (lower-casing, stripping, substitutions) give the
        // same answer as the former matching on the runtime-parsed set, for every
        // seventh entry decorated in the ways the rules undo, and for the same strings
        // with a letter added.
        let reference = reference();
        let by_reference = |p: &str| reference_is_blocked(&reference, p);
        let (mut probes, mut blocked) = (0, 0);
        for (i, e) in reference_lines().into_iter().enumerate().step_by(7) {
            let mut capitalised = e.chars();
            let first = capitalised
                .next()
                .map(|c| c.to_uppercase().collect::<String>());
            let capitalised = format!("{}{}", first.unwrap_or_default(), capitalised.as_str());
            let leet: String = e
                .chars()
                .map(|c| match c {
                    'o' => '0',
                    'e' => '3',
                    'a' => '@',
                    's' => '$',
                    other => other,
                })
                .collect();
            for p in [
                format!("{capitalised}{i}!"),
                format!("!!{e}2024"),
                format!("{leet}#1"),
                format!("{e}q{i}!"),
            ] {
                let expected = by_reference(&p);
                assert_eq!(is_blocked(&p), expected, "{p:?}");
                probes += 1;
                blocked += usize::from(expected);
            }
        }
        // Both answers occur often: most decorated entries are blocked, most of those
        // with a letter added are not.
        assert!(blocked > probes / 2, "{blocked} of {probes}");
        assert!(blocked < probes * 7 / 8, "{blocked} of {probes}");
    }

    /// The reference set, built once for the property test.
    static REFERENCE: LazyLock<HashSet<&'static str>> = LazyLock::new(reference);

    /// An entry disguised the ways the matching undoes: `leet` picks per character
    /// whether (and how) a letter is replaced by a look-alike digit or symbol.
    fn disguise(entry: &str, upper: &[bool], leet: &[u8]) -> String {
        entry
            .chars()
            .enumerate()
            .map(|(i, c)| {
                let c = match (c, leet.get(i).copied().unwrap_or(0)) {
                    ('o', 1..) => '0',
                    ('e', 1..) => '3',
                    ('a', 1) | ('i', 2) => '@', // `i` -> `@` is not undone: a near miss
                    ('a', 2..) => '4',
                    ('s', 1) => '5',
                    ('s', 2..) => '$',
                    ('t', 1) => '7',
                    ('t', 2..) => '+',
                    ('i', 1) | ('l', 1..) => '1',
                    ('i', 3..) => '!',
                    (c, _) => c,
                };
                if upper.get(i).copied().unwrap_or(false) {
                    c.to_ascii_uppercase()
                } else {
                    c
                }
            })
            .collect()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1024))]

        #[test]
        fn matching_agrees_with_the_former_matching_on_random_input(
            entry in proptest::sample::select(reference_lines()),
            prefix in "[0-9!@#$|+ 1]{0,3}",
            suffix in "[0-9!@#$|+ 1a]{0,5}",
            upper in proptest::collection::vec(proptest::bool::ANY, 20),
            leet in proptest::collection::vec(0u8..4, 20),
            other in "\\PC{0,24}",
        ) {
            let disguised = format!("{prefix}{}{suffix}", disguise(entry, &upper, &leet));
            for p in [disguised.as_str(), other.as_str()] {
                proptest::prop_assert_eq!(is_blocked(p), reference_is_blocked(&REFERENCE, p), "{:?}", p);
            }
        }
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
