//! Context words: refuse a passphrase made mostly of the account's email or the app name.
//!
//! Each context word is lower-cased and trimmed. A word containing `@` (an email
//! address) also contributes its local part, the pieces of the local part split at
//! `.`, `_`, `-` and `+`, and its domain. Words shorter than [`MIN_WORD`] characters
//! are ignored, and at most [`MAX_WORD`] characters of a word are used.
//!
//! The characters of the passphrase covered by any case-insensitive occurrence of a
//! word are counted; the passphrase is refused when they make up at least half of
//! it, or when what remains contains no letter at all (`Alice2024!!!` with context
//! `alice@example.com`).

use zeroize::Zeroizing;

use crate::patterns::fold;

/// Shorter words are ignored (they would match by chance).
const MIN_WORD: usize = 3;
/// Longer words are cut to this many characters, to bound the cost.
const MAX_WORD: usize = 256;

/// Expands the raw context words into the lower-cased words to look for.
fn expand<'a>(words: impl IntoIterator<Item = &'a str>) -> Vec<Vec<char>> {
    let mut out: Vec<Vec<char>> = Vec::new();
    let mut push = |w: &str| {
        let w: Vec<char> = w.trim().chars().map(fold).take(MAX_WORD).collect();
        if w.len() >= MIN_WORD && !out.contains(&w) {
            out.push(w);
        }
    };
    for word in words {
        push(word);
        if let Some((local, domain)) = word.split_once('@') {
            push(local);
            push(domain);
            for piece in local.split(['.', '_', '-', '+']) {
                push(piece);
            }
        }
    }
    out
}

/// Whether `passphrase` is mostly made of the context `words`.
pub(crate) fn is_mostly_context<'a>(
    passphrase: &str,
    words: impl IntoIterator<Item = &'a str>,
) -> bool {
    let words = expand(words);
    if words.is_empty() {
        return false;
    }
    let chars: Zeroizing<Vec<char>> = Zeroizing::new(passphrase.chars().map(fold).collect());
    let n = chars.len();
    let mut covered = vec![false; n];
    for word in &words {
        if word.len() > n {
            continue;
        }
        for start in 0..=n - word.len() {
            if chars[start..start + word.len()] == word[..] {
                covered[start..start + word.len()].fill(true);
            }
        }
    }
    let count = covered.iter().filter(|&&c| c).count();
    if count == 0 {
        return false;
    }
    let letters_left = chars
        .iter()
        .zip(&covered)
        .any(|(c, &cov)| !cov && c.is_alphabetic());
    count * 2 >= n || !letters_left
}

#[cfg(test)]
mod tests {
    use super::*;

    const CTX: [&str; 2] = ["alice.smith@example.com", "credlock"];

    #[test]
    fn refused() {
        for p in [
            "alice.smith@example.com",
            "Alice.Smith2024!",
            "Smith1234567!",
            "CREDLOCK-credlock-1",
            "MyCredlock2024!",
            "Example.com!!99",
        ] {
            assert!(is_mostly_context(p, CTX), "{p}");
        }
        // A passphrase that is one context word, exactly as long as it.
        assert!(is_mostly_context("Credlock", CTX));
    }

    #[test]
    fn accepted() {
        for p in [
            "Correct-Horse-9-Battery!",
            "credlock-is-a-Horse-9-Battery!",
            "Smithereens-of-glass-4!",
            "",
        ] {
            assert!(!is_mostly_context(p, CTX), "{p}");
        }
        // Short words are ignored.
        assert!(!is_mostly_context("ab-ab-ab-ab-1", ["ab"]));
        assert!(!is_mostly_context("anything", [] as [&str; 0]));
    }
}
