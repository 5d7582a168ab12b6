//! Character classes: which characters count as uppercase, lowercase, digit or special.

use serde::Serialize;

/// A character class that a [`Policy`](crate::Policy) can require at least one of.
///
/// What each class contains depends on the policy's [`Alphabet`].
///
/// # Example
///
/// ```
/// # mod credlock { pub use credlock_policy::*; }
/// use credlock::{Alphabet, CharClass};
///
/// assert!(CharClass::Special.contains('€', Alphabet::Unicode));
/// assert!(!CharClass::Special.contains('€', Alphabet::Ascii));
/// assert_eq!(CharClass::Digit.code(), "missing_digit");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum CharClass {
    /// An uppercase letter (`A`, `Ä`, `Σ`, ...).
    Uppercase,
    /// A lowercase letter (`a`, `ä`, `σ`, ...).
    Lowercase,
    /// A digit (`0`–`9`; with [`Alphabet::Unicode`] also other numerals such as `٣`).
    Digit,
    /// A special character: see [`Alphabet`] for the exact definition.
    Special,
}

impl CharClass {
    /// All classes, in the order in which violations and requirements list them.
    pub const ALL: [Self; 4] = [Self::Uppercase, Self::Lowercase, Self::Digit, Self::Special];

    /// Whether `c` belongs to this class under `alphabet`.
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::{Alphabet, CharClass};
    ///
    /// assert!(CharClass::Uppercase.contains('É', Alphabet::Unicode));
    /// assert!(!CharClass::Uppercase.contains('É', Alphabet::Ascii));
    /// assert!(CharClass::Special.contains('!', Alphabet::Ascii));
    /// ```
    #[must_use]
    pub fn contains(self, c: char, alphabet: Alphabet) -> bool {
        match (alphabet, self) {
            (Alphabet::Unicode, Self::Uppercase) => c.is_uppercase(),
            (Alphabet::Unicode, Self::Lowercase) => c.is_lowercase(),
            (Alphabet::Unicode, Self::Digit) => c.is_numeric(),
            (Alphabet::Unicode, Self::Special) => is_unicode_special(c),
            (Alphabet::Ascii, Self::Uppercase) => c.is_ascii_uppercase(),
            (Alphabet::Ascii, Self::Lowercase) => c.is_ascii_lowercase(),
            (Alphabet::Ascii, Self::Digit) => c.is_ascii_digit(),
            (Alphabet::Ascii, Self::Special) => c.is_ascii_punctuation(),
        }
    }

    /// The stable machine-readable code of the violation "this class is missing",
    /// e.g. `"missing_uppercase"`.
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::CharClass;
    ///
    /// assert_eq!(CharClass::Special.code(), "missing_special");
    /// ```
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Self::Uppercase => "missing_uppercase",
            Self::Lowercase => "missing_lowercase",
            Self::Digit => "missing_digit",
            Self::Special => "missing_special",
        }
    }

    /// The English requirement text, in Eclosion's wording, e.g. `"At least 1 number"`.
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::CharClass;
    ///
    /// assert_eq!(CharClass::Digit.message(), "At least 1 number");
    /// ```
    #[must_use]
    pub const fn message(self) -> &'static str {
        match self {
            Self::Uppercase => "At least 1 uppercase letter",
            Self::Lowercase => "At least 1 lowercase letter",
            Self::Digit => "At least 1 number",
            Self::Special => "At least 1 special character",
        }
    }
}

/// Which characters the [`CharClass`]es contain.
///
/// # [`Alphabet::Unicode`] (the default)
///
/// * uppercase: [`char::is_uppercase`] (Unicode `Uppercase` property);
/// * lowercase: [`char::is_lowercase`] (Unicode `Lowercase` property);
/// * digit: [`char::is_numeric`] (general categories `Nd`, `Nl`, `No`);
/// * **special: any character that is not a letter ([`char::is_alphabetic`]), not a
///   digit ([`char::is_numeric`]) and not whitespace ([`char::is_whitespace`])**, so
///   ASCII punctuation, `£`, `€`, `§`, `°`, emoji and CJK punctuation all count. Three
///   kinds of character are excluded because the user cannot see them as a character
///   of their own: control characters (which every policy refuses anyway), combining
///   marks (so that `é` written as `e` + U+0301, the NFD form, does not count as a
///   special character when the NFC `é` does not), and invisible format characters
///   such as zero-width spaces and variation selectors.
///
/// Letters of scripts without case (Chinese, Arabic, ...) are letters but neither
/// uppercase nor lowercase.
///
/// # [`Alphabet::Ascii`] (Eclosion compatibility)
///
/// `A`–`Z`, `a`–`z`, `0`–`9`, and as special characters only the 32 ASCII punctuation
/// characters ``!"#$%&'()*+,-./:;<=>?@[\]^_`{|}~`` ([`char::is_ascii_punctuation`]),
/// as Eclosion counted them. Every class is a subset of its Unicode counterpart, so a
/// passphrase that passes with `Ascii` also passes the same rules with `Unicode`.
///
/// # Example
///
/// ```
/// # mod credlock { pub use credlock_policy::*; }
/// use credlock::{Alphabet, CharClass};
///
/// for c in ['£', '€', '§', '!', '🦀'] {
///     assert!(CharClass::Special.contains(c, Alphabet::Unicode));
/// }
/// assert!(!CharClass::Special.contains('\u{301}', Alphabet::Unicode)); // combining acute
/// assert!(!CharClass::Special.contains(' ', Alphabet::Unicode));
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Alphabet {
    /// Unicode-aware classes; special = not a letter, digit or whitespace.
    #[default]
    Unicode,
    /// ASCII-only classes; special = the 32 ASCII punctuation characters (Eclosion).
    Ascii,
}

/// Special under [`Alphabet::Unicode`]: not a letter, digit, whitespace, control
/// character, combining mark or invisible format character.
fn is_unicode_special(c: char) -> bool {
    !(c.is_alphabetic()
        || c.is_numeric()
        || c.is_whitespace()
        || c.is_control()
        || is_combining_mark(c)
        || is_invisible(c))
}

/// Combining marks of the blocks that NFD decomposition of Latin, Greek and Cyrillic
/// letters produces, plus the other combining-diacritics blocks and the kana voicing
/// marks. Marks of other scripts are mostly `Alphabetic` already.
pub(crate) fn is_combining_mark(c: char) -> bool {
    matches!(
        c,
        '\u{0300}'..='\u{036F}'
            | '\u{0483}'..='\u{0489}'
            | '\u{1AB0}'..='\u{1AFF}'
            | '\u{1DC0}'..='\u{1DFF}'
            | '\u{20D0}'..='\u{20FF}'
            | '\u{3099}'..='\u{309A}'
            | '\u{FE20}'..='\u{FE2F}'
    )
}

/// Invisible format characters (a subset of Unicode's `Default_Ignorable_Code_Point`):
/// soft hyphen, zero-width space/joiners, direction marks and overrides, word joiner
/// and invisible operators, variation selectors, the BOM and tag characters.
pub(crate) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{061C}'
            | '\u{115F}'..='\u{1160}'
            | '\u{17B4}'..='\u{17B5}'
            | '\u{180B}'..='\u{180F}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{206F}'
            | '\u{3164}'
            | '\u{FE00}'..='\u{FE0F}'
            | '\u{FEFF}'
            | '\u{FFA0}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0000}'..='\u{E0FFF}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unicode_special_examples() {
        for c in ['£', '€', '§', '!', '~', '°', '¿', '«', '→', '🦀', '。'] {
            assert!(CharClass::Special.contains(c, Alphabet::Unicode), "{c:?}");
        }
        // U+00A0 (no-break space) is whitespace; U+0301 a combining mark.
        let not_special = [
            'a', 'Z', 'é', 'ß', 'Σ', '中', '3', '٣', ' ', '\u{A0}', '\t', '\0', '\u{301}',
            '\u{200B}', '\u{FE0F}',
        ];
        for c in not_special {
            assert!(!CharClass::Special.contains(c, Alphabet::Unicode), "{c:?}");
        }
    }

    #[test]
    fn ascii_special_is_exactly_32_punctuation() {
        let specials: String = (0u8..=127)
            .map(char::from)
            .filter(|&c| CharClass::Special.contains(c, Alphabet::Ascii))
            .collect();
        assert_eq!(specials, "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~");
        for c in ['£', '€', '§', '¿', ' '] {
            assert!(!CharClass::Special.contains(c, Alphabet::Ascii));
        }
    }

    #[test]
    fn ascii_classes_are_subsets_of_unicode_classes() {
        for c in (0u8..=127).map(char::from) {
            for class in CharClass::ALL {
                if class.contains(c, Alphabet::Ascii) {
                    assert!(class.contains(c, Alphabet::Unicode), "{class:?} {c:?}");
                }
            }
        }
    }

    #[test]
    fn non_ascii_letters_and_digits() {
        assert!(CharClass::Uppercase.contains('Ä', Alphabet::Unicode));
        assert!(CharClass::Lowercase.contains('ø', Alphabet::Unicode));
        assert!(CharClass::Digit.contains('٣', Alphabet::Unicode));
        assert!(!CharClass::Uppercase.contains('中', Alphabet::Unicode));
        assert!(!CharClass::Lowercase.contains('中', Alphabet::Unicode));
        assert!(!CharClass::Uppercase.contains('Ä', Alphabet::Ascii));
        assert!(!CharClass::Digit.contains('٣', Alphabet::Ascii));
    }
}
