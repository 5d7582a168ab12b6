//! Lowercase hexadecimal, for MAC tags.

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends `bytes` to `out` as lowercase hex digits, two per byte.
pub(crate) fn push_lower(out: &mut String, bytes: &[u8]) {
    out.reserve(2 * bytes.len());
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_lowercase_digits_per_byte() {
        let mut out = String::from("x=");
        push_lower(&mut out, &[0x00, 0x0f, 0xa5, 0xff]);
        assert_eq!(out, "x=000fa5ff");
    }
}
