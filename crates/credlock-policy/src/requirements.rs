//! The active policy as data, for a status endpoint or a sign-up form.

use serde::Serialize;

use crate::{Alphabet, CharClass, Violation};

/// A serialisable description of a [`Policy`](crate::Policy), returned by
/// [`Policy::requirements`](crate::Policy::requirements).
///
/// It contains no secret and no personal data: the policy's context words (which may
/// include an email address) are not part of it, only whether they are checked.
///
/// # Example
///
/// ```
/// # mod credlock { pub use credlock_policy::*; }
/// use credlock::Policy;
///
/// let req = Policy::default().requirements();
/// assert_eq!(req.min_length, 12);
/// let json = serde_json::to_value(&req)?;
/// assert_eq!(json["required_classes"], serde_json::json!(["uppercase", "lowercase", "digit", "special"]));
/// assert_eq!(json["blocklist"], true);
/// assert_eq!(json["rules"][0]["message"], "At least 12 characters");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Requirements {
    /// Minimum length in characters (Unicode scalar values).
    pub min_length: usize,
    /// Maximum length in characters (Unicode scalar values).
    pub max_length: usize,
    /// The classes of which at least one character is required.
    pub required_classes: Vec<CharClass>,
    /// Which characters the classes contain.
    pub alphabet: Alphabet,
    /// Whether the blocklist of common and breached passphrases is checked.
    pub blocklist: bool,
    /// Whether repetitive and sequential passphrases are refused.
    pub reject_patterns: bool,
    /// Whether passphrases made mostly of context words are refused.
    pub reject_context: bool,
    /// Minimum strength score (0–4), if a strength estimate is required.
    pub min_strength_score: Option<u8>,
    /// Every rule as a code and an English message, in the order in which violations
    /// are reported; the codes are those of [`Violation::code`], so a form can tick
    /// rules off as the check reports them met.
    pub rules: Vec<Requirement>,
}

/// One rule of a policy: a stable code and its English message.
///
/// # Example
///
/// ```
/// # mod credlock { pub use credlock_policy::*; }
/// use credlock::Policy;
///
/// let rules = Policy::eclosion_compat().requirements().rules;
/// let texts: Vec<&str> = rules.iter().map(|r| r.message.as_str()).collect();
/// assert!(texts.contains(&"At least 1 special character"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Requirement {
    /// Stable machine-readable code, equal to the [`Violation::code`] reported when
    /// the rule is not met.
    pub code: &'static str,
    /// English message phrased as the requirement.
    pub message: String,
}

impl From<&Violation> for Requirement {
    fn from(v: &Violation) -> Self {
        Self {
            code: v.code(),
            message: v.message(),
        }
    }
}

impl Requirements {
    /// Fills [`rules`](Self::rules) from the other fields.
    pub(crate) fn with_rules(mut self) -> Self {
        let mut violations = Vec::new();
        if self.min_length > 0 {
            violations.push(Violation::TooShort {
                min: self.min_length,
            });
        }
        violations.push(Violation::TooLong {
            max: self.max_length,
        });
        violations.push(Violation::ControlCharacter);
        violations.push(Violation::Blank);
        violations.extend(
            self.required_classes
                .iter()
                .copied()
                .map(Violation::MissingClass),
        );
        if self.blocklist {
            violations.push(Violation::Common);
        }
        if self.reject_context {
            violations.push(Violation::ContextWord);
        }
        if self.reject_patterns {
            violations.push(Violation::PredictablePattern);
        }
        if let Some(min_score) = self.min_strength_score {
            violations.push(Violation::TooWeak { min_score });
        }
        self.rules = violations.iter().map(Requirement::from).collect();
        self
    }
}
