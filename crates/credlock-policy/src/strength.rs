//! Optional strength estimate (feature `strength`), via the `zxcvbn` crate.

/// The zxcvbn score (0 to 4) of `passphrase`, with `context` as user inputs.
///
/// zxcvbn looks only at the first 100 characters, so its cost is bounded; the
/// passphrase itself is never truncated.
pub(crate) fn score(passphrase: &str, context: &[&str]) -> u8 {
    u8::from(zxcvbn::zxcvbn(passphrase, context).score())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_are_ordered() {
        assert!(score("password", &[]) <= 1);
        assert!(score("Correct-Horse-9-Battery!", &[]) >= 3);
        assert!(score("", &[]) == 0);
    }
}
