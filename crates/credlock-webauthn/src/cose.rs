//! The credential public key in COSE_Key form (RFC 9052/9053), parsed with `coset`.

use ciborium::Value;
use coset::iana::{self, EnumI64 as _};
use coset::{Algorithm, AsCborValue as _, CoseKey, KeyType, Label};

use crate::{CredentialPublicKey, WebauthnError};

const MALFORMED: WebauthnError = WebauthnError::Malformed {
    what: "credential public key",
};

/// An ES256 public key: COSE key type EC2, algorithm ES256 (-7), curve P-256, 32-byte x
/// and y, no private part. Anything else is [`WebauthnError::UnsupportedAlgorithm`] (another
/// key type, curve or algorithm) or [`WebauthnError::Malformed`].
pub(crate) fn es256_key(value: Value) -> Result<CredentialPublicKey, WebauthnError> {
    let key = CoseKey::from_cbor_value(value).map_err(|_| MALFORMED)?;
    if key.kty != KeyType::Assigned(iana::KeyType::EC2) {
        return Err(WebauthnError::UnsupportedAlgorithm);
    }
    if key.alg != Some(Algorithm::Assigned(iana::Algorithm::ES256)) {
        return Err(WebauthnError::UnsupportedAlgorithm);
    }
    let param = |p: iana::Ec2KeyParameter| {
        let label = Label::Int(p.to_i64());
        key.params.iter().find(|(l, _)| *l == label).map(|(_, v)| v)
    };
    if param(iana::Ec2KeyParameter::D).is_some() {
        return Err(MALFORMED);
    }
    match param(iana::Ec2KeyParameter::Crv) {
        Some(Value::Integer(crv))
            if i128::from(*crv) == i128::from(iana::EllipticCurve::P_256.to_i64()) => {}
        Some(Value::Integer(_)) => return Err(WebauthnError::UnsupportedAlgorithm),
        _ => return Err(MALFORMED),
    }
    let (Some(Value::Bytes(x)), Some(Value::Bytes(y))) = (
        param(iana::Ec2KeyParameter::X),
        param(iana::Ec2KeyParameter::Y),
    ) else {
        return Err(MALFORMED);
    };
    if x.len() != 32 || y.len() != 32 {
        return Err(MALFORMED);
    }
    let mut sec1 = Vec::with_capacity(65);
    sec1.push(0x04);
    sec1.extend_from_slice(x);
    sec1.extend_from_slice(y);
    CredentialPublicKey::from_sec1_bytes(&sec1).map_err(|_| MALFORMED)
}

/// The COSE_Key encoding of an ES256 public key, as authenticators put it in authenticator
/// data.
#[cfg(feature = "software-authenticator")]
pub(crate) fn encode_es256_key(key: &CredentialPublicKey) -> Result<Vec<u8>, WebauthnError> {
    use coset::CborSerializable as _;
    let sec1 = key.to_sec1_bytes();
    let (x, y) = sec1.get(1..).unwrap_or_default().split_at(32);
    coset::CoseKeyBuilder::new_ec2_pub_key(iana::EllipticCurve::P_256, x.to_vec(), y.to_vec())
        .algorithm(iana::Algorithm::ES256)
        .build()
        .to_vec()
        .map_err(|_| MALFORMED)
}
