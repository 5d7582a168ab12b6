//! Assertion (WebAuthn §7.2): a registered passkey signs a challenge, and the PRF outputs
//! come back with it.

use p256::ecdsa::Signature;
use p256::ecdsa::signature::Verifier as _;
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::auth_data::{AuthData, Ceremony};
use crate::client_data::ClientData;
use crate::limits::{
    MAX_ASSERTION_AUTH_DATA, MAX_CLIENT_DATA_JSON, MAX_CREDENTIAL_ID, MAX_PRF_OUTPUT, MAX_SIGNATURE,
};
use crate::response::PrfResultsJson;
use crate::{
    AssertionResponse, Challenge, CredentialId, PrfOutputs, RegisteredCredential, RelyingParty,
    WebauthnError, encoding,
};

/// A verified assertion: what to store (the counter) and the PRF outputs.
#[derive(Debug)]
#[non_exhaustive]
pub struct VerifiedAssertion {
    /// The credential that signed.
    pub credential_id: CredentialId,
    /// Its new signature counter, to store ([`RegisteredCredential::record`]).
    pub new_sign_count: u32,
    /// Whether the authenticator verified the user (UV).
    pub user_verified: bool,
    /// The PRF outputs, when the browser returned any (see [`PrfOutputs`]).
    pub prf: Option<PrfOutputs>,
}

impl VerifiedAssertion {
    /// The PRF outputs, or [`WebauthnError::PrfMissing`] when the browser returned none
    /// (the authenticator does not support PRF, or the options asked for none).
    ///
    /// # Errors
    /// [`WebauthnError::PrfMissing`].
    pub fn require_prf(&self) -> Result<&PrfOutputs, WebauthnError> {
        self.prf.as_ref().ok_or(WebauthnError::PrfMissing)
    }
}

fn prf_output(text: &str) -> Result<Zeroizing<[u8; 32]>, WebauthnError> {
    let bytes = Zeroizing::new(encoding::decode(text, MAX_PRF_OUTPUT, "PRF output")?);
    if bytes.len() < 32 {
        return Err(WebauthnError::PrfTooShort);
    }
    let mut out = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return Err(WebauthnError::Malformed { what: "PRF output" });
    }
    out.copy_from_slice(&bytes);
    if out.iter().all(|&b| b == 0) {
        return Err(WebauthnError::PrfAllZero);
    }
    Ok(out)
}

fn prf_outputs(results: &PrfResultsJson) -> Result<PrfOutputs, WebauthnError> {
    let first = prf_output(&results.first)?;
    let second = results.second.as_ref().map(|s| prf_output(s)).transpose()?;
    Ok(PrfOutputs { first, second })
}

/// Verifies an assertion by `credential` against the challenge issued for it, and returns
/// the new counter and the PRF outputs.
///
/// Checks, in this order: the credential type (`public-key`, when given); `id` (and
/// `rawId`) name `credential`; `clientDataJSON` (at most 4 KiB) is a `webauthn.get` for
/// `expected`, from one of `rp.origins`, not cross-origin; the authenticator data (at most
/// 1 KiB) is for `rp.id`, with user presence, with user verification when `require_uv`, and
/// no attested credential data; the DER signature verifies with the credential's key over
/// `authenticatorData || SHA-256(clientDataJSON)`; the signature counter increased (WebAuthn
/// §7.2 step 22: when either the stored or the new counter is non-zero, the new one must be
/// greater); then the PRF outputs, if any, are each exactly 32 bytes and not all zero.
///
/// **The PRF outputs are only returned from an assertion that passed every check.** Use
/// [`VerifiedAssertion::require_prf`] when they are needed. For a passkey keyslot, call it
/// with `require_uv` true: the authenticator's PRF differs with and without user
/// verification.
///
/// # Errors
/// The [`WebauthnError`] variant of the first check that fails.
///
/// ```
/// # #[cfg(feature = "software-authenticator")] {
/// use credlock_webauthn::*;
/// let rp = RelyingParty::new("localhost", "credlock", ["http://localhost:8080"]);
/// let origin = "http://localhost:8080";
/// let mut authenticator = SoftwareAuthenticator::new("localhost");
/// let c = Challenge::random()?;
/// let posted = authenticator.register(&creation_options(&rp, &UserHandle::random()?, "alice", &c, &[]), origin)?;
/// let mut credential = verify_registration(&rp, &RegistrationResponse::from_value(posted)?, &c)?;
///
/// let c = Challenge::random()?;
/// let salts = PrfSalts::new([1; 32], Some([2; 32]));
/// let options = request_options(&rp, &[credential.id.clone()], &c, &salts);
/// let posted = authenticator.assert(&options, origin)?;
/// let assertion = AssertionResponse::from_json(posted.to_string().as_bytes())?;
/// let verified = verify_assertion(&rp, &assertion, &credential, &c, true)?;
/// let prf = verified.require_prf()?;
/// assert!(prf.second.is_some());
/// credential.record(&verified);
///
/// // The same response again: the challenge no longer matches what the server expects,
/// // and even with it, the counter did not move.
/// assert_eq!(
///     verify_assertion(&rp, &assertion, &credential, &c, true).map(|_| ()),
///     Err(WebauthnError::CounterRegressed { stored: 1, received: 1 })
/// );
/// # }
/// # Ok::<(), credlock_webauthn::WebauthnError>(())
/// ```
pub fn verify_assertion(
    rp: &RelyingParty,
    response: &AssertionResponse,
    credential: &RegisteredCredential,
    expected: &Challenge,
    require_uv: bool,
) -> Result<VerifiedAssertion, WebauthnError> {
    if response.kind.as_deref().is_some_and(|k| k != "public-key") {
        return Err(WebauthnError::WrongType);
    }
    let id = CredentialId::from_base64url(&response.id)?;
    if let Some(raw_id) = &response.raw_id {
        let raw = encoding::decode(raw_id, MAX_CREDENTIAL_ID, "rawId")?;
        if raw != id.as_bytes() {
            return Err(WebauthnError::Malformed { what: "rawId" });
        }
    }
    if id != credential.id {
        return Err(WebauthnError::WrongCredential);
    }

    let client_data_json = encoding::decode(
        &response.response.client_data_json,
        MAX_CLIENT_DATA_JSON,
        "clientDataJSON",
    )?;
    ClientData::parse(&client_data_json)?.check("webauthn.get", expected, rp)?;

    let auth_data_bytes = encoding::decode(
        &response.response.authenticator_data,
        MAX_ASSERTION_AUTH_DATA,
        "authenticator data",
    )?;
    let auth_data = AuthData::parse(&auth_data_bytes, Ceremony::Assertion, rp)?;
    if require_uv && !auth_data.user_verified() {
        return Err(WebauthnError::UserNotVerified);
    }

    let signature = encoding::decode(&response.response.signature, MAX_SIGNATURE, "signature")?;
    let signature = Signature::from_der(&signature).map_err(|_| WebauthnError::BadSignature)?;
    let mut signed = auth_data_bytes;
    signed.extend_from_slice(&Sha256::digest(&client_data_json));
    credential
        .public_key
        .verifying_key()
        .verify(&signed, &signature)
        .map_err(|_| WebauthnError::BadSignature)?;

    let (stored, received) = (credential.sign_count, auth_data.sign_count);
    if (stored != 0 || received != 0) && received <= stored {
        return Err(WebauthnError::CounterRegressed { stored, received });
    }

    let prf = response
        .client_extension_results
        .prf
        .as_ref()
        .and_then(|p| p.results.as_ref())
        .map(prf_outputs)
        .transpose()?;
    Ok(VerifiedAssertion {
        credential_id: id,
        new_sign_count: received,
        user_verified: auth_data.user_verified(),
        prf,
    })
}
