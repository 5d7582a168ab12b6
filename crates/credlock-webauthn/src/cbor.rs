//! One CBOR item at a time, with `ciborium`, telling how many bytes it took.

use ciborium::Value;

use crate::WebauthnError;

/// Decodes the CBOR item at the start of `bytes`; returns it and the bytes after it. The
/// input is bounded by the caller, and `ciborium` bounds the nesting depth.
pub(crate) fn read_item<'a>(
    bytes: &'a [u8],
    what: &'static str,
) -> Result<(Value, &'a [u8]), WebauthnError> {
    let mut rest = bytes;
    let value: Value =
        ciborium::de::from_reader(&mut rest).map_err(|_| WebauthnError::Malformed { what })?;
    Ok((value, rest))
}

/// Decodes exactly one CBOR item filling all of `bytes`.
pub(crate) fn read_whole(bytes: &[u8], what: &'static str) -> Result<Value, WebauthnError> {
    let (value, rest) = read_item(bytes, what)?;
    if !rest.is_empty() {
        return Err(WebauthnError::Malformed { what });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_one_item_and_leaves_the_rest() {
        // {1: 2} followed by 0xff 0x00.
        let bytes = [0xa1, 0x01, 0x02, 0xff, 0x00];
        let (value, rest) = read_item(&bytes, "x").unwrap();
        assert_eq!(
            value,
            Value::Map(vec![(Value::Integer(1.into()), Value::Integer(2.into()))])
        );
        assert_eq!(rest, &[0xff, 0x00]);
        assert_eq!(
            read_whole(&bytes, "x"),
            Err(WebauthnError::Malformed { what: "x" })
        );
        assert!(read_whole(&bytes[..3], "x").is_ok());
    }

    #[test]
    fn truncated_and_hostile_lengths_are_errors() {
        // A byte string claiming 2^32 bytes, with none there.
        assert!(read_item(&[0x5a, 0xff, 0xff, 0xff, 0xff], "x").is_err());
        // An array claiming 2^64-1 items.
        assert!(read_item(&[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], "x").is_err());
        assert!(read_item(&[], "x").is_err());
        // Deep nesting.
        assert!(read_item(&[0x81; 10_000], "x").is_err());
    }
}
