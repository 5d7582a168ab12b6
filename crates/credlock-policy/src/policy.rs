//! The configurable policy and its presets.

use std::fmt;

use secrecy::{ExposeSecret, SecretString};

use crate::classes::{is_combining_mark, is_invisible};
use crate::{
    Alphabet, CharClass, PolicyViolations, Requirements, ValidPassphrase, Violation, blocklist,
    context, patterns,
};

/// A passphrase policy: which passphrases may protect a vault.
///
/// Build one from a preset and adjust it with the builder-style setters, then call
/// [`check`](Self::check). Every setter consumes and returns the policy.
///
/// | | [`default`](Self::default) | [`eclosion_compat`](Self::eclosion_compat) | [`nist_800_63b`](Self::nist_800_63b) |
/// | --- | --- | --- | --- |
/// | minimum length | 12 | 12 | 15 |
/// | maximum length | 1024 | 1024 | 1024 |
/// | required classes | upper, lower, digit, special | upper, lower, digit, special | none |
/// | [`Alphabet`] | `Unicode` | `Ascii` | `Unicode` |
/// | blocklist | on | off | on |
/// | repetitive/sequential patterns | refused | allowed | refused |
/// | context words | refused | allowed | refused |
/// | strength minimum | none | none | none |
///
/// Rules that every policy applies, whatever its settings:
///
/// * length is counted in Unicode scalar values ([`str::chars`]), not bytes or UTF-16
///   units; the passphrase is never truncated nor normalised (NFC `é` is 1
///   character, NFD `e` + U+0301 is 2);
/// * a passphrase longer than the maximum is refused with `too_long` alone, before
///   any other rule runs, so a megabyte of input costs only O(maximum) work;
/// * control characters (NUL, tab, line breaks, ...) are refused (`control_character`);
/// * an empty passphrase, or one of only whitespace and invisible characters, is
///   refused (`blank`).
///
/// `Debug` shows the settings but only the number of context words, since they may
/// contain an email address.
///
/// # Example
///
/// ```
/// # mod credlock { pub use credlock_policy::*; }
/// use credlock::{CharClass, Policy};
/// use secrecy::SecretString;
///
/// let policy = Policy::default()
///     .min_length(16)
///     .require(CharClass::Special, false)
///     .context_words(["alice@example.com", "credlock"]);
/// assert!(policy.check(SecretString::from("Orchid kettle 42 lantern")).is_ok());
/// let err = policy.check(SecretString::from("Alice2024Alice")).unwrap_err();
/// assert!(err.contains("too_short"));
/// assert!(err.contains("context_word"));
/// ```
#[derive(Clone)]
pub struct Policy {
    min_length: usize,
    max_length: usize,
    required: [bool; 4],
    alphabet: Alphabet,
    blocklist: bool,
    reject_patterns: bool,
    reject_context: bool,
    context_words: Vec<String>,
    min_strength_score: Option<u8>,
}

impl Policy {
    /// Eclosion's minimum length, used by [`Policy::default`].
    pub const DEFAULT_MIN_LENGTH: usize = 12;
    /// Default maximum length: long enough for any memorable passphrase, short
    /// enough that checking and key derivation stay cheap.
    pub const DEFAULT_MAX_LENGTH: usize = 1024;
    /// Minimum length of the NIST SP 800-63B preset (passwords used as a single factor).
    pub const NIST_MIN_LENGTH: usize = 15;
    /// Highest strength score (zxcvbn scores run from 0 to 4).
    pub const MAX_STRENGTH_SCORE: u8 = 4;

    /// Exactly Eclosion's rule set, for compatibility.
    ///
    /// At least 12 characters, with at least one uppercase letter, one lowercase
    /// letter, one digit and one special character, where the classes are ASCII only
    /// and "special" means one of the 32 ASCII punctuation characters
    /// ([`Alphabet::Ascii`]). The blocklist, pattern and context rules are **off**, as
    /// in Eclosion, so `"Password1234!"` passes.
    ///
    /// Differences from Eclosion, all in the direction of refusing more: length is
    /// counted in characters (Eclosion's web front end counted UTF-16 units, which
    /// are never fewer), there is a maximum length of 1024, and control characters
    /// and blank passphrases are refused. Every passphrase this preset accepts was
    /// therefore accepted by Eclosion. To open an existing Eclosion vault whose
    /// passphrase predates these rules, use
    /// [`ValidPassphrase::insecure_unchecked`].
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::Policy;
    /// use secrecy::SecretString;
    ///
    /// let compat = Policy::eclosion_compat();
    /// assert!(compat.check(SecretString::from("Password1234!")).is_ok());
    /// // `£` is not ASCII punctuation, so Eclosion did not count it as special.
    /// let err = compat.check(SecretString::from("Password1234£")).unwrap_err();
    /// assert!(err.contains("missing_special"));
    /// ```
    #[must_use]
    pub fn eclosion_compat() -> Self {
        Self {
            alphabet: Alphabet::Ascii,
            blocklist: false,
            reject_patterns: false,
            reject_context: false,
            ..Self::default()
        }
    }

    /// The NIST SP 800-63B preset (rev. 4, §3.1.1.2, passwords used as a single
    /// factor): at least 15 characters, no composition rules, blocklist on. Pattern
    /// and context rules stay on, as 800-63B asks verifiers to refuse repetitive or
    /// sequential characters and context-specific words.
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::Policy;
    /// use secrecy::SecretString;
    ///
    /// let nist = Policy::nist_800_63b();
    /// assert!(nist.check(SecretString::from("orchid kettle lantern")).is_ok());
    /// let err = nist.check(SecretString::from("Correct-Horse!")).unwrap_err();
    /// assert_eq!(err.iter().map(|v| v.code()).collect::<Vec<_>>(), ["too_short"]);
    /// ```
    #[must_use]
    pub fn nist_800_63b() -> Self {
        Self {
            min_length: Self::NIST_MIN_LENGTH,
            required: [false; 4],
            ..Self::default()
        }
    }

    /// Sets the minimum length, in characters (Unicode scalar values).
    ///
    /// A minimum above the [maximum](Self::max_length) makes every passphrase fail.
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::Policy;
    /// use secrecy::SecretString;
    ///
    /// let policy = Policy::default().min_length(21);
    /// // 20 characters: too short, and nothing else is wrong with it.
    /// let err = policy.check(SecretString::from("Correct-Horse-9-Bat!")).unwrap_err();
    /// assert_eq!(err.iter().map(|v| v.code()).collect::<Vec<_>>(), ["too_short"]);
    /// assert_eq!(err.to_string(), "passphrase does not meet the policy: At least 21 characters");
    /// // Exactly 21 characters: long enough.
    /// assert!(policy.check(SecretString::from("Correct-Horse-9-Bats!")).is_ok());
    /// // With the default minimum of 12 the same 20 characters pass.
    /// assert!(Policy::default().check(SecretString::from("Correct-Horse-9-Bat!")).is_ok());
    /// ```
    #[must_use]
    pub const fn min_length(mut self, min: usize) -> Self {
        self.min_length = min;
        self
    }

    /// Sets the maximum length, in characters (Unicode scalar values).
    ///
    /// Passphrases are never truncated: a longer one is refused with `too_long`.
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::Policy;
    /// use secrecy::SecretString;
    ///
    /// let policy = Policy::default().max_length(16);
    /// let err = policy.check(SecretString::from("Correct-Horse-9-Battery!")).unwrap_err();
    /// assert_eq!(err.iter().map(|v| v.code()).collect::<Vec<_>>(), ["too_long"]);
    /// ```
    #[must_use]
    pub const fn max_length(mut self, max: usize) -> Self {
        self.max_length = max;
        self
    }

    /// Requires (or stops requiring) at least one character of `class`.
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::{CharClass, Policy};
    /// use secrecy::SecretString;
    ///
    /// let policy = Policy::default().require(CharClass::Special, false);
    /// assert!(policy.check(SecretString::from("Orchid Kettle 42")).is_ok());
    /// ```
    #[must_use]
    pub const fn require(mut self, class: CharClass, required: bool) -> Self {
        self.required[class_index(class)] = required;
        self
    }

    /// Replaces the set of required classes.
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::{CharClass, Policy};
    ///
    /// let policy = Policy::default().required_classes(&[CharClass::Digit]);
    /// assert_eq!(policy.requirements().required_classes, [CharClass::Digit]);
    /// ```
    #[must_use]
    pub fn required_classes(mut self, classes: &[CharClass]) -> Self {
        self.required = [false; 4];
        for &class in classes {
            self.required[class_index(class)] = true;
        }
        self
    }

    /// Chooses which characters the classes contain; see [`Alphabet`].
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::{Alphabet, Policy};
    /// use secrecy::SecretString;
    ///
    /// let ascii = Policy::default().alphabet(Alphabet::Ascii);
    /// assert!(ascii.check(SecretString::from("Orchid-Kettle§42")).is_ok()); // `-` counts
    /// assert!(ascii.check(SecretString::from("OrchidKettle§42")).is_err()); // `§` does not
    /// ```
    #[must_use]
    pub const fn alphabet(mut self, alphabet: Alphabet) -> Self {
        self.alphabet = alphabet;
        self
    }

    /// Turns the blocklist of common and breached passphrases on or off.
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::Policy;
    /// use secrecy::SecretString;
    ///
    /// assert!(Policy::default().check(SecretString::from("Summer2024!!!")).is_err());
    /// let lax = Policy::default().blocklist(false);
    /// assert!(lax.check(SecretString::from("Summer2024!!!")).is_ok());
    /// ```
    #[must_use]
    pub const fn blocklist(mut self, on: bool) -> Self {
        self.blocklist = on;
        self
    }

    /// Turns the refusal of repetitive and sequential passphrases on or off.
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::Policy;
    /// use secrecy::SecretString;
    ///
    /// let err = Policy::default().check(SecretString::from("abcdefghijkl1!A")).unwrap_err();
    /// assert!(err.contains("predictable_pattern"));
    /// let lax = Policy::default().reject_patterns(false);
    /// assert!(lax.check(SecretString::from("abcdefghijkl1!A")).is_ok());
    /// ```
    #[must_use]
    pub const fn reject_patterns(mut self, on: bool) -> Self {
        self.reject_patterns = on;
        self
    }

    /// Turns the refusal of passphrases made mostly of context words on or off.
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::Policy;
    /// use secrecy::SecretString;
    ///
    /// let lax = Policy::default().reject_context(false);
    /// let pass = SecretString::from("Credlock-Vault-1");
    /// assert!(lax.check_with_context(pass, &["credlock"]).is_ok());
    /// ```
    #[must_use]
    pub const fn reject_context(mut self, on: bool) -> Self {
        self.reject_context = on;
        self
    }

    /// Sets the context words kept on the policy (replacing earlier ones): typically
    /// the account's email address and the app name. An email address also
    /// contributes its local part, the pieces of that, and its domain. Words shorter
    /// than 3 characters are ignored.
    ///
    /// A passphrase is refused when at least half of its characters are covered by
    /// (case-insensitive) occurrences of context words, or when nothing but digits,
    /// punctuation and spaces is left once they are removed.
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::Policy;
    /// use secrecy::SecretString;
    ///
    /// let policy = Policy::default().context_words(["alice.smith@example.com", "credlock"]);
    /// let err = policy.check(SecretString::from("Alice.Smith2024!")).unwrap_err();
    /// assert!(err.contains("context_word"));
    /// ```
    #[must_use]
    pub fn context_words<I, S>(mut self, words: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.context_words = words.into_iter().map(Into::into).collect();
        self
    }

    /// Requires a minimum zxcvbn strength score, 0 to 4 (higher values are treated
    /// as 4). Feature `strength`.
    ///
    /// Scores estimate guesses needed by an online-attack model: 0 < 10³, 1 < 10⁶,
    /// 2 < 10⁸, 3 < 10¹⁰, 4 ≥ 10¹⁰. The context words are passed to zxcvbn as user
    /// inputs. zxcvbn rates only the first 100 characters.
    ///
    /// # Security
    ///
    /// zxcvbn copies parts of the passphrase into buffers that are not zeroized.
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::Policy;
    /// use secrecy::SecretString;
    ///
    /// let pass = "Welcome-Home1";
    /// assert!(Policy::default().check(SecretString::from(pass)).is_ok());
    /// let strict = Policy::default().min_strength_score(4);
    /// let err = strict.check(SecretString::from(pass)).unwrap_err();
    /// assert_eq!(err.iter().map(|v| v.code()).collect::<Vec<_>>(), ["too_weak"]);
    /// ```
    #[cfg(feature = "strength")]
    #[must_use]
    pub fn min_strength_score(mut self, score: u8) -> Self {
        self.min_strength_score = Some(score.min(Self::MAX_STRENGTH_SCORE));
        self
    }

    /// Checks `passphrase` against the policy and the policy's own context words.
    ///
    /// On success the passphrase comes back as a [`ValidPassphrase`]; on failure it
    /// is dropped (and zeroized) and every unmet requirement is reported.
    ///
    /// # Errors
    ///
    /// [`PolicyViolations`] listing every unmet requirement, in a fixed order; see
    /// [`Violation`] for the codes.
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::Policy;
    /// use secrecy::SecretString;
    ///
    /// let policy = Policy::default();
    /// assert!(policy.check(SecretString::from("Correct-Horse-9-Battery!")).is_ok());
    ///
    /// let err = policy.check(SecretString::from("correct horse")).unwrap_err();
    /// let messages: Vec<String> = err.iter().map(|v| v.message()).collect();
    /// assert_eq!(messages, [
    ///     "At least 1 uppercase letter",
    ///     "At least 1 number",
    ///     "At least 1 special character",
    /// ]);
    /// ```
    pub fn check(&self, passphrase: SecretString) -> Result<ValidPassphrase, PolicyViolations> {
        self.check_with_context(passphrase, &[])
    }

    /// Like [`check`](Self::check), with extra context words for this call only
    /// (added to those set with [`context_words`](Self::context_words)).
    ///
    /// # Errors
    ///
    /// [`PolicyViolations`] listing every unmet requirement, in a fixed order; see
    /// [`Violation`] for the codes.
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::Policy;
    /// use secrecy::SecretString;
    ///
    /// let policy = Policy::default();
    /// let pass = SecretString::from("Credlock-2024!");
    /// let err = policy.check_with_context(pass, &["bob@example.com", "credlock"]).unwrap_err();
    /// assert!(err.contains("context_word"));
    /// ```
    pub fn check_with_context(
        &self,
        passphrase: SecretString,
        context: &[&str],
    ) -> Result<ValidPassphrase, PolicyViolations> {
        let violations = self.violations(passphrase.expose_secret(), context);
        if violations.is_empty() {
            Ok(ValidPassphrase::accepted(passphrase))
        } else {
            Err(PolicyViolations::new(violations))
        }
    }

    /// The active policy as serialisable data, without secrets or context words.
    ///
    /// # Example
    ///
    /// ```
    /// # mod credlock { pub use credlock_policy::*; }
    /// use credlock::{CharClass, Policy};
    ///
    /// let req = Policy::nist_800_63b().requirements();
    /// assert_eq!(req.min_length, 15);
    /// assert!(req.required_classes.is_empty());
    /// assert!(req.blocklist);
    /// ```
    #[must_use]
    pub fn requirements(&self) -> Requirements {
        Requirements {
            min_length: self.min_length,
            max_length: self.max_length,
            required_classes: self.required_classes_list(),
            alphabet: self.alphabet,
            blocklist: self.blocklist,
            reject_patterns: self.reject_patterns,
            reject_context: self.reject_context,
            min_strength_score: self.min_strength_score,
            rules: Vec::new(),
        }
        .with_rules()
    }

    fn required_classes_list(&self) -> Vec<CharClass> {
        CharClass::ALL
            .into_iter()
            .filter(|&c| self.required[class_index(c)])
            .collect()
    }

    /// Every violation of `s`, in the documented order.
    fn violations(&self, s: &str, extra_context: &[&str]) -> Vec<Violation> {
        // Bounded count: at most max_length + 1 characters are looked at here.
        let len = s.chars().take(self.max_length.saturating_add(1)).count();
        if len > self.max_length {
            return vec![Violation::TooLong {
                max: self.max_length,
            }];
        }

        let mut out = Vec::new();
        if len < self.min_length {
            out.push(Violation::TooShort {
                min: self.min_length,
            });
        }
        if s.chars().any(char::is_control) {
            out.push(Violation::ControlCharacter);
        }
        if s.chars()
            .all(|c| c.is_whitespace() || is_invisible(c) || is_combining_mark(c))
        {
            out.push(Violation::Blank);
        }
        for class in self.required_classes_list() {
            if !s.chars().any(|c| class.contains(c, self.alphabet)) {
                out.push(Violation::MissingClass(class));
            }
        }
        if self.blocklist && blocklist::is_blocked(s) {
            out.push(Violation::Common);
        }
        let context: Vec<&str> = if self.reject_context {
            self.context_words
                .iter()
                .map(String::as_str)
                .chain(extra_context.iter().copied())
                .collect()
        } else {
            Vec::new()
        };
        if context::is_mostly_context(s, context.iter().copied()) {
            out.push(Violation::ContextWord);
        }
        if self.reject_patterns && patterns::is_predictable(s) {
            out.push(Violation::PredictablePattern);
        }
        #[cfg(feature = "strength")]
        if let Some(min_score) = self.min_strength_score
            && crate::strength::score(s, &context) < min_score
        {
            out.push(Violation::TooWeak { min_score });
        }
        out
    }
}

const fn class_index(class: CharClass) -> usize {
    match class {
        CharClass::Uppercase => 0,
        CharClass::Lowercase => 1,
        CharClass::Digit => 2,
        CharClass::Special => 3,
    }
}

/// Eclosion's rules (at least 12 characters with an uppercase letter, a lowercase
/// letter, a digit and a special character) with Unicode-aware classes, plus the
/// blocklist, pattern and context rules. See the table on [`Policy`].
impl Default for Policy {
    fn default() -> Self {
        Self {
            min_length: Self::DEFAULT_MIN_LENGTH,
            max_length: Self::DEFAULT_MAX_LENGTH,
            required: [true; 4],
            alphabet: Alphabet::Unicode,
            blocklist: true,
            reject_patterns: true,
            reject_context: true,
            context_words: Vec::new(),
            min_strength_score: None,
        }
    }
}

impl fmt::Debug for Policy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("min_length", &self.min_length)
            .field("max_length", &self.max_length)
            .field("required_classes", &self.required_classes_list())
            .field("alphabet", &self.alphabet)
            .field("blocklist", &self.blocklist)
            .field("reject_patterns", &self.reject_patterns)
            .field("reject_context", &self.reject_context)
            .field("context_words", &self.context_words.len())
            .field("min_strength_score", &self.min_strength_score)
            .finish()
    }
}
