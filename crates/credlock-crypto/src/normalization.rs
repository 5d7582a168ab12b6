//! Unicode normalisation of a passphrase before it is hashed.

use core::fmt;

use unicode_normalization::UnicodeNormalization as _;
use zeroize::Zeroizing;

/// How a passphrase's text is turned into the bytes the KDF hashes.
///
/// The same passphrase can be typed as different code points: "é" is U+00E9 on most
/// keyboards (NFC) but `e` + U+0301 on others (NFD), and "ﬁ" (U+FB01) looks like "fi".
/// NIST SP 800-63B §5.1.1.2 asks verifiers to normalise with NFKC or NFKD before hashing, so
/// that every spelling opens the vault. Python's `passphrase.encode("utf-8")` (Eclosion)
/// does not, so vaults that must stay byte-compatible with it use [`Normalization::None`].
///
/// ```
/// # mod credlock { pub use credlock_crypto as crypto; }
/// use credlock::crypto::Normalization;
/// let nfc = "caf\u{e9}";
/// let nfd = "cafe\u{301}";
/// assert_eq!(*Normalization::Nfkc.apply(nfc), *Normalization::Nfkc.apply(nfd));
/// assert_ne!(*Normalization::None.apply(nfc), *Normalization::None.apply(nfd));
/// assert_eq!(Normalization::from_name("nfkc"), Some(Normalization::Nfkc));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Normalization {
    /// The passphrase's exact UTF-8 bytes, as Python's `cryptography` and Eclosion hash them.
    None,
    /// Unicode Normalization Form KC (compatibility decomposition, then canonical
    /// composition), as NIST SP 800-63B recommends.
    Nfkc,
}

impl Normalization {
    /// The stable name written in vault files: `none` or `nfkc`.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Nfkc => "nfkc",
        }
    }

    /// The normalisation with this stable name, if it is one this crate knows.
    #[must_use]
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::None, Self::Nfkc]
            .into_iter()
            .find(|n| n.name() == name)
    }

    /// The passphrase as the KDF will hash it. The result is zeroized on drop; a passphrase
    /// already in the normal form is copied without re-composition.
    #[must_use]
    pub fn apply(self, passphrase: &str) -> Zeroizing<String> {
        match self {
            Self::Nfkc if !unicode_normalization::is_nfkc(passphrase) => {
                // Sized first, so the buffer never grows and leaves an unzeroized copy behind.
                let len = passphrase.nfkc().map(char::len_utf8).sum();
                let mut out = Zeroizing::new(String::with_capacity(len));
                out.extend(passphrase.nfkc());
                out
            }
            Self::None | Self::Nfkc => Zeroizing::new(passphrase.to_owned()),
        }
    }
}

impl fmt::Display for Normalization {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
