//! The recovery key: 160 random bits in Crockford base32, to be written down once.

use std::fmt;

use credlock_crypto::fill_random;
use secrecy::{ExposeSecret as _, SecretString};
use zeroize::Zeroizing;

use crate::error::Error;

/// The recovery key's random bytes.
pub(crate) const RECOVERY_KEY_BYTES: usize = 20;
/// Its length in Crockford base32 characters, without separators.
const CHARS: usize = 32;
/// Characters per group when shown.
const GROUP: usize = 4;
const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// A recovery key (an emergency kit): 160 random bits shown **once**, as 32 Crockford base32
/// characters in groups of four (`7KQ4-…`), which opens the vault's recovery slot.
///
/// It survives being typed back: case, spaces and dashes do not matter, and `O` reads as
/// `0`, `I` and `L` as `1`. The vault keeps no copy, only a slot the key opens (see
/// [`Vault::recover`](crate::Vault::recover)). `Debug` shows nothing of it.
///
/// ```
/// use credlock::RecoveryKey;
/// use credlock::secrecy::ExposeSecret as _;
///
/// let typed = RecoveryKey::parse("0123 4567 89ab cdef ghjk mnpq rstv wxyz")?;
/// assert_eq!(typed.display().expose_secret(), "0123-4567-89AB-CDEF-GHJK-MNPQ-RSTV-WXYZ");
/// // O for 0, I and L for 1, any case, any separators.
/// let sloppy = RecoveryKey::parse("O123-4567-89AB-CDEF-GHJK-MNPQ-RSTV-WXYZ")?;
/// assert_eq!(sloppy, typed);
/// assert!(RecoveryKey::parse("0123-4567").is_err());
/// assert_eq!(format!("{typed:?}"), "RecoveryKey(..)");
/// # Ok::<(), credlock::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryKey(Zeroizing<[u8; RECOVERY_KEY_BYTES]>);

impl RecoveryKey {
    /// A fresh random recovery key.
    pub(crate) fn generate() -> Result<Self, Error> {
        let mut bytes = Zeroizing::new([0u8; RECOVERY_KEY_BYTES]);
        fill_random(bytes.as_mut_slice())?;
        Ok(Self(bytes))
    }

    /// Reads a recovery key as a person typed it.
    ///
    /// # Errors
    ///
    /// [`Error::MalformedRecoveryKey`] for a character outside Crockford base32 (besides
    /// spaces and dashes) or a length other than 32 characters; the message holds none of
    /// the text.
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.len() > 4 * CHARS {
            return Err(Error::MalformedRecoveryKey { reason: "too long" });
        }
        let mut value = Zeroizing::new([0u8; RECOVERY_KEY_BYTES]);
        let (mut acc, mut bits, mut n, mut out) = (0u16, 0u32, 0usize, 0usize);
        for c in text.chars() {
            let digit = match c.to_ascii_uppercase() {
                ' ' | '-' | '\t' => continue,
                'O' => 0,
                'I' | 'L' => 1,
                u => match ALPHABET.iter().position(|&a| char::from(a) == u) {
                    Some(d) => d,
                    None => {
                        return Err(Error::MalformedRecoveryKey {
                            reason: "a character is not in Crockford base32",
                        });
                    }
                },
            };
            n += 1;
            if n > CHARS {
                return Err(Error::MalformedRecoveryKey {
                    reason: "too many characters (a recovery key has 32)",
                });
            }
            // `digit` < 32 (an index of the 32-character alphabet).
            acc = (acc << 5) | u16::try_from(digit).unwrap_or(0);
            bits += 5;
            if bits >= 8 {
                bits -= 8;
                value[out] = u8::try_from((acc >> bits) & 0xff).unwrap_or(0);
                out += 1;
                acc &= (1 << bits) - 1;
            }
        }
        if n != CHARS {
            return Err(Error::MalformedRecoveryKey {
                reason: "too few characters (a recovery key has 32)",
            });
        }
        Ok(Self(value))
    }

    /// The key as it is shown and written down: 32 characters in groups of four.
    #[must_use]
    pub fn display(&self) -> SecretString {
        let mut text = String::with_capacity(CHARS + CHARS / GROUP);
        let (mut acc, mut bits) = (0u32, 0u32);
        let mut written = 0;
        for &byte in self.0.iter() {
            acc = (acc << 8) | u32::from(byte);
            bits += 8;
            while bits >= 5 {
                bits -= 5;
                if written > 0 && written % GROUP == 0 {
                    text.push('-');
                }
                let index = usize::try_from((acc >> bits) & 31).unwrap_or(0);
                text.push(char::from(ALPHABET[index]));
                written += 1;
                acc &= (1 << bits) - 1;
            }
        }
        SecretString::from(text)
    }

    /// The key's bytes, for the slot's HKDF.
    pub(crate) fn expose_bytes(&self) -> &[u8] {
        self.0.as_slice()
    }
}

impl fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryKey(..)")
    }
}

impl TryFrom<&SecretString> for RecoveryKey {
    type Error = Error;

    fn try_from(text: &SecretString) -> Result<Self, Error> {
        Self::parse(text.expose_secret())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests fail loudly")]

    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn every_key_reads_back_from_its_display_however_typed(bytes in any::<[u8; RECOVERY_KEY_BYTES]>(), lower in any::<bool>()) {
            let key = RecoveryKey(Zeroizing::new(bytes));
            let shown = key.display().expose_secret().to_owned();
            prop_assert_eq!(shown.len(), 39);
            let typed = if lower { shown.to_lowercase().replace('-', " ") } else { shown.replace('-', "") };
            prop_assert!(RecoveryKey::parse(&typed).unwrap() == key);
        }

        #[test]
        fn any_text_gives_a_key_or_a_typed_error(text in ".{0,200}") {
            match RecoveryKey::parse(&text) {
                Ok(key) => prop_assert_eq!(key.display().expose_secret().len(), 39),
                Err(e) => {
                    let malformed = matches!(e, Error::MalformedRecoveryKey { .. });
                    prop_assert!(malformed);
                }
            }
        }
    }

    #[test]
    fn text_longer_than_any_typing_of_a_key_is_refused_before_it_is_read() {
        let spaces = " ".repeat(4 * CHARS + 1);
        assert!(matches!(
            RecoveryKey::parse(&spaces),
            Err(Error::MalformedRecoveryKey { reason: "too long" })
        ));
        // At the bound, the text is read: spaces alone are too few characters.
        assert!(matches!(
            RecoveryKey::parse(&" ".repeat(4 * CHARS)),
            Err(Error::MalformedRecoveryKey {
                reason: "too few characters (a recovery key has 32)"
            })
        ));
    }

    #[test]
    fn generated_keys_differ_and_say_nothing_in_debug() {
        let (a, b) = (
            RecoveryKey::generate().unwrap(),
            RecoveryKey::generate().unwrap(),
        );
        assert!(a != b);
        assert_eq!(format!("{a:?}"), "RecoveryKey(..)");
        assert!(RecoveryKey::parse("U123-4567-89AB-CDEF-GHJK-MNPQ-RSTV-WXYZ").is_err());
    }
}
