//! How large each input may be. Every input is checked against its limit before it is
//! decoded or parsed, so a hostile request costs at most its own size.

/// The whole JSON that the browser posts, for [`RegistrationResponse::from_json`] and
/// [`AssertionResponse::from_json`](crate::AssertionResponse::from_json).
///
/// [`RegistrationResponse::from_json`]: crate::RegistrationResponse::from_json
pub const MAX_RESPONSE_JSON: usize = 16 * 1024;
/// `clientDataJSON`, decoded.
pub const MAX_CLIENT_DATA_JSON: usize = 4 * 1024;
/// The attestation object, decoded.
pub const MAX_ATTESTATION_OBJECT: usize = 4 * 1024;
/// The authenticator data of a registration: it holds the credential ID (up to
/// [`MAX_CREDENTIAL_ID`] bytes) and its public key.
pub const MAX_REGISTRATION_AUTH_DATA: usize = 2 * 1024;
/// The authenticator data of an assertion.
pub const MAX_ASSERTION_AUTH_DATA: usize = 1024;
/// A credential ID (WebAuthn: at most 1023 bytes).
pub const MAX_CREDENTIAL_ID: usize = 1023;
/// A user handle (WebAuthn: at most 64 bytes).
pub const MAX_USER_HANDLE: usize = 64;
/// A DER ECDSA P-256 signature is at most 72 bytes.
pub const MAX_SIGNATURE: usize = 72;
/// A PRF output as `clientExtensionResults` carries it; anything other than 32 bytes is
/// refused.
pub(crate) const MAX_PRF_OUTPUT: usize = 64;
/// A subject (user or vault name) that a challenge is bound to.
pub const MAX_SUBJECT: usize = 256;
