//! The error type: every unmet requirement of one check.

use std::fmt;

use serde::ser::{Serialize, SerializeStruct, Serializer};

use crate::CharClass;

/// One unmet requirement.
///
/// Each violation has a stable machine-readable [`code`](Self::code) and an English
/// [`message`](Self::message) phrased as the requirement (Eclosion's wording, e.g.
/// "At least 12 characters"), so that a form can show it next to the field.
///
/// Variants carry only the policy's own limits, never anything derived from the
/// passphrase (not even its length).
///
/// | code | meaning |
/// | --- | --- |
/// | `too_short` | fewer characters than the minimum |
/// | `too_long` | more characters than the maximum (other rules are then not evaluated) |
/// | `control_character` | contains NUL or another control character |
/// | `blank` | empty or whitespace only |
/// | `missing_uppercase` / `missing_lowercase` / `missing_digit` / `missing_special` | a required class is absent |
/// | `common_passphrase` | on the blocklist, possibly after stripping decorations |
/// | `context_word` | mostly made of the account's email or the app name |
/// | `predictable_pattern` | mostly repeated or sequential characters |
/// | `too_weak` | strength estimate below the minimum score (feature `strength`) |
///
/// # Example
///
/// ```
/// # mod credlock { pub use credlock_policy::*; }
/// use credlock::Violation;
///
/// let v = Violation::TooShort { min: 12 };
/// assert_eq!(v.code(), "too_short");
/// assert_eq!(v.message(), "At least 12 characters");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Violation {
    /// Fewer than `min` characters (Unicode scalar values).
    TooShort {
        /// The policy's minimum length.
        min: usize,
    },
    /// More than `max` characters (Unicode scalar values). When this is reported, the
    /// other rules are not evaluated, so that over-long input costs little CPU.
    TooLong {
        /// The policy's maximum length.
        max: usize,
    },
    /// Contains a control character (Unicode general category `Cc`: NUL, tab, line
    /// feed, carriage return, escape, DEL, the C1 controls, ...). Refused by every
    /// policy: such characters are invisible, hard to type again and often mangled
    /// by terminals, forms and the C APIs that the passphrase may pass through.
    ControlCharacter,
    /// Empty, or whitespace only. Refused by every policy.
    Blank,
    /// No character of a required class.
    MissingClass(CharClass),
    /// On the blocklist of common and breached passphrases.
    Common,
    /// Made mostly of a context word (the account's email, the app name, ...).
    ContextWord,
    /// Made mostly of repeated or sequential characters (`aaaa`, `abab`, `abcd`,
    /// `4321`, `qwerty`).
    PredictablePattern,
    /// The strength estimate is below the minimum score (feature `strength`).
    TooWeak {
        /// The policy's minimum score, 0 to 4.
        min_score: u8,
    },
}

impl Violation {
    /// The stable machine-readable code, e.g. `"too_short"`; see the table above.
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::{CharClass, Violation};
    ///
    /// assert_eq!(Violation::MissingClass(CharClass::Uppercase).code(), "missing_uppercase");
    /// assert_eq!(Violation::Common.code(), "common_passphrase");
    /// ```
    #[must_use]
    pub const fn code(&self) -> &'static str {
        match self {
            Self::TooShort { .. } => "too_short",
            Self::TooLong { .. } => "too_long",
            Self::ControlCharacter => "control_character",
            Self::Blank => "blank",
            Self::MissingClass(class) => class.code(),
            Self::Common => "common_passphrase",
            Self::ContextWord => "context_word",
            Self::PredictablePattern => "predictable_pattern",
            Self::TooWeak { .. } => "too_weak",
        }
    }

    /// The English message, phrased as the requirement, e.g. `"At least 1 number"`.
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::{CharClass, Violation};
    ///
    /// assert_eq!(Violation::MissingClass(CharClass::Digit).message(), "At least 1 number");
    /// assert_eq!(Violation::TooLong { max: 1024 }.message(), "At most 1024 characters");
    /// ```
    #[must_use]
    pub fn message(&self) -> String {
        match self {
            Self::TooShort { min } => plural("At least", *min),
            Self::TooLong { max } => plural("At most", *max),
            Self::ControlCharacter => {
                "No control characters (such as NUL, tab or line breaks)".to_owned()
            }
            Self::Blank => "Not empty or only spaces".to_owned(),
            Self::MissingClass(class) => class.message().to_owned(),
            Self::Common => "Not a common or previously breached passphrase".to_owned(),
            Self::ContextWord => "Not mostly your email address or the app name".to_owned(),
            Self::PredictablePattern => {
                "Not mostly repeated or sequential characters (such as aaaa or abcd)".to_owned()
            }
            Self::TooWeak { min_score } => {
                format!("Harder to guess (estimated strength at least {min_score} of 4)")
            }
        }
    }
}

fn plural(prefix: &str, n: usize) -> String {
    if n == 1 {
        format!("{prefix} 1 character")
    } else {
        format!("{prefix} {n} characters")
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message())
    }
}

/// Serialises as `{"code": "...", "message": "..."}`.
impl Serialize for Violation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("Violation", 2)?;
        s.serialize_field("code", self.code())?;
        s.serialize_field("message", &self.message())?;
        s.end()
    }
}

/// Every requirement that a passphrase failed, returned by
/// [`Policy::check`](crate::Policy::check). Never empty.
///
/// Violations come in a fixed order: length, control characters, blank, character
/// classes (uppercase, lowercase, digit, special), blocklist, context words,
/// patterns, strength. Neither `Display` nor `Debug` nor `Serialize` contains any part
/// of the passphrase.
///
/// # Example
///
/// ```
/// # mod credlock { pub use credlock_policy::*; }
/// use credlock::Policy;
/// use secrecy::SecretString;
///
/// let err = Policy::default().check(SecretString::from("short")).unwrap_err();
/// let codes: Vec<&str> = err.iter().map(|v| v.code()).collect();
/// assert_eq!(codes, ["too_short", "missing_uppercase", "missing_digit", "missing_special"]);
/// assert!(err.contains("too_short"));
/// assert!(err.to_string().starts_with("passphrase does not meet the policy: At least 12 characters"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyViolations {
    violations: Vec<Violation>,
}

impl PolicyViolations {
    /// Builds the error; `violations` is non-empty by construction at every call site.
    pub(crate) const fn new(violations: Vec<Violation>) -> Self {
        Self { violations }
    }

    /// The violations, in the order described on the type.
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::{Policy, Violation};
    /// use secrecy::SecretString;
    ///
    /// let err = Policy::nist_800_63b().check(SecretString::from("tiny")).unwrap_err();
    /// assert_eq!(err.iter().next(), Some(&Violation::TooShort { min: 15 }));
    /// ```
    pub fn iter(&self) -> std::slice::Iter<'_, Violation> {
        self.violations.iter()
    }

    /// The violations as a slice.
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::{Policy, Violation};
    /// use secrecy::SecretString;
    ///
    /// let err = Policy::default().check(SecretString::from("")).unwrap_err();
    /// let slice: &[Violation] = err.as_slice();
    /// assert_eq!(slice.len(), 6); // too short, blank, and each of the four classes missing
    /// assert_eq!(slice[..2], [Violation::TooShort { min: 12 }, Violation::Blank]);
    /// ```
    #[must_use]
    pub fn as_slice(&self) -> &[Violation] {
        &self.violations
    }

    /// Whether a violation with this [`code`](Violation::code) is present.
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::Policy;
    /// use secrecy::SecretString;
    ///
    /// let err = Policy::default().check(SecretString::from("Password1234!")).unwrap_err();
    /// assert!(err.contains("common_passphrase"));
    /// assert!(!err.contains("too_short"));
    /// ```
    #[must_use]
    pub fn contains(&self, code: &str) -> bool {
        self.violations.iter().any(|v| v.code() == code)
    }

    /// Consumes the error, returning the violations.
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::{Policy, Violation};
    /// use secrecy::SecretString;
    ///
    /// let err = Policy::nist_800_63b().check(SecretString::from("x")).unwrap_err();
    /// let all: Vec<Violation> = err.into_vec();
    /// assert_eq!(all, [Violation::TooShort { min: 15 }]);
    /// ```
    #[must_use]
    pub fn into_vec(self) -> Vec<Violation> {
        self.violations
    }
}

impl<'a> IntoIterator for &'a PolicyViolations {
    type Item = &'a Violation;
    type IntoIter = std::slice::Iter<'a, Violation>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl IntoIterator for PolicyViolations {
    type Item = Violation;
    type IntoIter = std::vec::IntoIter<Violation>;

    fn into_iter(self) -> Self::IntoIter {
        self.violations.into_iter()
    }
}

impl fmt::Display for PolicyViolations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("passphrase does not meet the policy: ")?;
        for (i, v) in self.violations.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            f.write_str(&v.message())?;
        }
        Ok(())
    }
}

impl std::error::Error for PolicyViolations {}

/// Serialises as a list of `{"code": "...", "message": "..."}` objects.
impl Serialize for PolicyViolations {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.violations.serialize(serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable_and_distinct() {
        let all = [
            Violation::TooShort { min: 12 },
            Violation::TooLong { max: 1024 },
            Violation::ControlCharacter,
            Violation::Blank,
            Violation::MissingClass(CharClass::Uppercase),
            Violation::MissingClass(CharClass::Lowercase),
            Violation::MissingClass(CharClass::Digit),
            Violation::MissingClass(CharClass::Special),
            Violation::Common,
            Violation::ContextWord,
            Violation::PredictablePattern,
            Violation::TooWeak { min_score: 3 },
        ];
        let codes: Vec<&str> = all.iter().map(Violation::code).collect();
        assert_eq!(
            codes,
            [
                "too_short",
                "too_long",
                "control_character",
                "blank",
                "missing_uppercase",
                "missing_lowercase",
                "missing_digit",
                "missing_special",
                "common_passphrase",
                "context_word",
                "predictable_pattern",
                "too_weak",
            ]
        );
    }

    #[test]
    fn eclosion_wording() {
        assert_eq!(
            Violation::TooShort { min: 12 }.message(),
            "At least 12 characters"
        );
        assert_eq!(
            Violation::TooShort { min: 1 }.message(),
            "At least 1 character"
        );
        assert_eq!(
            Violation::MissingClass(CharClass::Uppercase).message(),
            "At least 1 uppercase letter"
        );
        assert_eq!(
            Violation::MissingClass(CharClass::Lowercase).message(),
            "At least 1 lowercase letter"
        );
        assert_eq!(
            Violation::MissingClass(CharClass::Digit).message(),
            "At least 1 number"
        );
        assert_eq!(
            Violation::MissingClass(CharClass::Special).message(),
            "At least 1 special character"
        );
    }

    #[test]
    fn display_and_json() {
        let err = PolicyViolations::new(vec![
            Violation::TooShort { min: 12 },
            Violation::MissingClass(CharClass::Digit),
        ]);
        assert_eq!(
            err.to_string(),
            "passphrase does not meet the policy: At least 12 characters; At least 1 number"
        );
        let json = serde_json::to_string(&err).expect("serialise");
        assert_eq!(
            json,
            r#"[{"code":"too_short","message":"At least 12 characters"},{"code":"missing_digit","message":"At least 1 number"}]"#
        );
    }
}
