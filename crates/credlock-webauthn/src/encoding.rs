//! base64url as WebAuthn's JSON forms use it, with a size check before anything is decoded.

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use crate::WebauthnError;

/// Unpadded base64url out; padded or unpadded base64url in (browsers send it unpadded, some
/// libraries pad it).
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Encodes bytes as unpadded base64url.
pub(crate) fn encode(bytes: &[u8]) -> String {
    B64URL.encode(bytes)
}

/// Decodes base64url text that should hold at most `limit` bytes; longer text is refused
/// before any decoding, so a hostile field costs at most its own length.
pub(crate) fn decode(
    text: &str,
    limit: usize,
    what: &'static str,
) -> Result<Vec<u8>, WebauthnError> {
    // 4 characters per 3 bytes, rounded up, plus up to two padding characters.
    let max_text = limit.div_ceil(3).saturating_mul(4);
    if text.len() > max_text {
        return Err(WebauthnError::TooLarge { what, limit });
    }
    let bytes = B64URL
        .decode(text)
        .map_err(|_| WebauthnError::Malformed { what })?;
    if bytes.len() > limit {
        return Err(WebauthnError::TooLarge { what, limit });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_padding() {
        assert_eq!(encode(b"\xfb\xff"), "-_8");
        assert_eq!(decode("-_8", 2, "x"), Ok(vec![0xfb, 0xff]));
        assert_eq!(decode("-_8=", 2, "x"), Ok(vec![0xfb, 0xff]));
        assert_eq!(
            decode("+/8", 2, "x"),
            Err(WebauthnError::Malformed { what: "x" })
        );
    }

    #[test]
    fn limits_are_exact() {
        let text = encode(&[7; 32]);
        assert_eq!(decode(&text, 32, "x").map(|b| b.len()), Ok(32));
        assert_eq!(
            decode(&text, 31, "x"),
            Err(WebauthnError::TooLarge {
                what: "x",
                limit: 31
            })
        );
        assert_eq!(
            decode(&"A".repeat(1000), 32, "x"),
            Err(WebauthnError::TooLarge {
                what: "x",
                limit: 32
            })
        );
    }
}
