//! Repetitive and sequential passphrases (`aaaaaaaaaaaa`, `abcdefghijkl1!A`).
//!
//! A character is *predictable* when it lies in one of these runs, compared after
//! simple lower-casing:
//!
//! * a run of 3 or more identical characters (`aaa`);
//! * a block of 2 or more copies of a unit of 2 to [`MAX_PERIOD`] characters
//!   (`abab`, `Aa1!Aa1!`, `passwordpassword`);
//! * a run of 3 or more letters or digits whose code points go up or down by one
//!   (`abc`, `XYZ`, `4321`);
//! * a run of 4 or more keys along a keyboard row (`qwer`, `asdf`, `7890`).
//!
//! The passphrase is refused when at least half of its characters are predictable.
//! Cost is linear in the length (at most `MAX_PERIOD` passes).

use zeroize::Zeroizing;

/// Longest repeated unit that is looked for.
const MAX_PERIOD: usize = 32;

/// Keyboard rows, looked for forwards and backwards.
const ROWS: [&str; 4] = ["1234567890", "qwertyuiop", "asdfghjkl", "zxcvbnm"];

/// Simple case folding that keeps one char per char, so positions line up.
pub(crate) fn fold(c: char) -> char {
    let mut lower = c.to_lowercase();
    match (lower.next(), lower.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// Whether at least half of `passphrase`'s characters are predictable.
pub(crate) fn is_predictable(passphrase: &str) -> bool {
    let chars: Zeroizing<Vec<char>> = Zeroizing::new(passphrase.chars().map(fold).collect());
    let n = chars.len();
    if n == 0 {
        return false;
    }
    let count = predictable(&chars).iter().filter(|&&m| m).count();
    count * 2 >= n
}

/// Which of `chars` (folded) lie in a predictable run.
fn predictable(chars: &[char]) -> Vec<bool> {
    let mut marked = vec![false; chars.len()];
    mark_repeats(chars, &mut marked);
    mark_sequences(chars, &mut marked);
    mark_keyboard_runs(chars, &mut marked);
    marked
}

fn mark_range(marked: &mut [bool], start: usize, end: usize) {
    if let Some(slice) = marked.get_mut(start..end) {
        slice.fill(true);
    }
}

/// Runs where `c[i] == c[i - p]`: the block `[start - p, end)` is periodic with period
/// `p`. For `p == 1` a block of 3 counts; for larger `p` the unit must appear twice.
fn mark_repeats(c: &[char], marked: &mut [bool]) {
    let n = c.len();
    for p in 1..=MAX_PERIOD.min(n / 2) {
        let min_run = if p == 1 { 2 } else { p };
        let mut i = p;
        while i < n {
            if c[i] != c[i - p] {
                i += 1;
                continue;
            }
            let start = i;
            while i < n && c[i] == c[i - p] {
                i += 1;
            }
            if i - start >= min_run {
                mark_range(marked, start - p, i);
            }
        }
    }
}

/// Runs of 3 or more alphanumerics whose code points step by +1 or by -1.
fn mark_sequences(c: &[char], marked: &mut [bool]) {
    let step = |a: char, b: char| -> i64 {
        if a.is_alphanumeric() && b.is_alphanumeric() {
            i64::from(u32::from(b)) - i64::from(u32::from(a))
        } else {
            0
        }
    };
    let n = c.len();
    let mut i = 1;
    while i < n {
        let d = step(c[i - 1], c[i]);
        if d != 1 && d != -1 {
            i += 1;
            continue;
        }
        let start = i - 1;
        while i < n && step(c[i - 1], c[i]) == d {
            i += 1;
        }
        if i - start >= 3 {
            mark_range(marked, start, i);
        }
    }
}

/// Runs of 4 or more consecutive keys of one keyboard row, either direction.
fn mark_keyboard_runs(c: &[char], marked: &mut [bool]) {
    for row in ROWS {
        let fwd: Vec<char> = row.chars().collect();
        let rev: Vec<char> = row.chars().rev().collect();
        for keys in [fwd, rev] {
            let next_key = |a: char, b: char| {
                keys.iter()
                    .position(|&k| k == a)
                    .and_then(|pos| keys.get(pos + 1))
                    .is_some_and(|&k| k == b)
            };
            let n = c.len();
            let mut i = 1;
            while i < n {
                if !next_key(c[i - 1], c[i]) {
                    i += 1;
                    continue;
                }
                let start = i - 1;
                while i < n && next_key(c[i - 1], c[i]) {
                    i += 1;
                }
                if i - start >= 4 {
                    mark_range(marked, start, i);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `^` under each predictable character, `.` under the others.
    fn mask(p: &str) -> String {
        let chars: Vec<char> = p.chars().map(fold).collect();
        predictable(&chars)
            .iter()
            .map(|&m| if m { '^' } else { '.' })
            .collect()
    }

    #[test]
    fn runs_are_marked_from_their_first_character_to_their_last() {
        for (p, want) in [
            ("aaaxq", "^^^.."),
            ("xqaaa", "..^^^"),
            ("aaxq", "...."),
            ("abcxq", "^^^.."),
            ("xqcba", "..^^^"),
            ("qabz", "...."),
            // A step to or from a character that is not a letter or digit is no step.
            ("89:xq", "....."),
            ("/01xq", "....."),
            ("xabab", ".^^^^"),
            ("qwerx", "^^^^."),
            ("xqwer", ".^^^^"),
            ("rewqx", "^^^^."),
            ("qwex", "...."),
            ("xyqwx", "....."),
            ("aszxqwx", "......."),
        ] {
            assert_eq!(mask(p), want, "{p}");
        }
    }

    #[test]
    fn refused() {
        for p in [
            "aaaaaaaaaaaa",
            "abcdefghijkl1!A",
            "Aa1!Aa1!Aa1!",
            "ZYXWVUTSRQPO9!",
            "1234567890ab",
            "qwertyuiop1!",
            "Poiuytrewq!1",
            "passwordpassword",
            "            ",
            "!!!!!!!!!!!!Ab1",
        ] {
            assert!(is_predictable(p), "{p}");
        }
    }

    #[test]
    fn accepted() {
        for p in [
            "Correct-Horse-9-Battery!",
            "Password1234!",
            "Tr0ub4dor&3-staple",
            "Mississippi-River-77!",
            "vault kettle 42 Orchid!",
            "Zebra£Lantern7",
            "",
            "a",
        ] {
            assert!(!is_predictable(p), "{p}");
        }
    }

    #[test]
    fn fold_keeps_positions() {
        assert_eq!(fold('A'), 'a');
        assert_eq!(fold('İ'), 'İ'); // lower-cases to two chars: kept as is
        assert_eq!(fold('Σ'), 'σ');
    }
}
