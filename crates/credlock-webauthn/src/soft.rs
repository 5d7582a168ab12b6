//! A software authenticator, with the browser's part: it answers the JSON options as
//! `navigator.credentials.create`/`.get` and `toJSON()` would. For tests only.

use core::fmt;

use ciborium::Value as Cbor;
use hmac::{Hmac, KeyInit as _, Mac as _};
use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{DerSignature, SigningKey};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::auth_data::{FLAG_AT, FLAG_BE, FLAG_ED, FLAG_UP, FLAG_UV};
use crate::limits::MAX_USER_HANDLE;
use crate::{CredentialId, CredentialPublicKey, WebauthnError, cose, encoding, hmac_secret_salt};

/// How the software authenticator reports its signature counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CounterMode {
    /// One more for each assertion (registration reports 0).
    Increment,
    /// Always 0, as synced passkeys do.
    AlwaysZero,
    /// This value, whatever came before (to make a counter go back).
    Fixed(u32),
}

/// What the browser returns as PRF results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum PrfMode {
    /// The outputs as a browser computes them.
    Honest,
    /// No PRF results at all (an authenticator without `hmac-secret`).
    Omit,
    /// 32 zero bytes.
    AllZero,
    /// The first 16 bytes of the honest output.
    Short,
}

/// Ways to make the software authenticator misbehave, for tests. The default behaves.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Knobs {
    /// Set the user-present (UP) flag. Default true.
    pub user_present: bool,
    /// Verify the user (UV flag, and the PRF secret for verified use). Default true.
    pub user_verified: bool,
    /// Set the backup-eligible (BE) flag. Default false.
    pub backup_eligible: bool,
    /// The signature counter. Default [`CounterMode::Increment`].
    pub counter: CounterMode,
    /// Sign something else than what is sent, so that the signature is well-formed DER but
    /// does not verify. Default false.
    pub bad_signature: bool,
    /// The PRF results. Default [`PrfMode::Honest`].
    pub prf: PrfMode,
    /// Put SHA-256 of this RP ID in authenticator data instead of the real one.
    pub rp_id_in_auth_data: Option<String>,
    /// Register with `packed` self-attestation instead of `none`. Default false.
    pub packed_self_attestation: bool,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            user_present: true,
            user_verified: true,
            backup_eligible: false,
            counter: CounterMode::Increment,
            bad_signature: false,
            prf: PrfMode::Honest,
            rp_id_in_auth_data: None,
            packed_self_attestation: false,
        }
    }
}

struct SoftCredential {
    id: CredentialId,
    key: SigningKey,
    /// CTAP 2.1 `hmac-secret` keeps two secrets per credential: one used when the user was
    /// verified, one when not.
    prf_secret_uv: Zeroizing<[u8; 32]>,
    prf_secret_no_uv: Zeroizing<[u8; 32]>,
    counter: u32,
    user_handle: Vec<u8>,
}

/// A software authenticator and the browser in front of it, for tests: it turns the
/// options of [`creation_options`](crate::creation_options) and
/// [`request_options`](crate::request_options) into exactly the JSON a browser posts
/// (`PublicKeyCredential.toJSON()`), with attestation `none`, an ES256 key per credential,
/// a signature counter, and the PRF extension as browsers implement it: the output for a
/// salt input `s` is HMAC-SHA256(credential secret, SHA-256(`"WebAuthn PRF"` ‖ 0x00 ‖ `s`))
/// (the browser hashes the salt, see [`hmac_secret_salt`], then the authenticator's
/// `hmac-secret` computes the HMAC), with one secret for user-verified use and another for
/// unverified use, as CTAP 2.1 does.
///
/// Like a browser, it refuses options for another RP ID; unlike one, it does not check the
/// origin it is given against the RP ID, so that tests can post from a wrong origin.
/// [`Knobs`] make it misbehave in other ways.
///
/// # Security
/// Not an authenticator to trust: its keys live in process memory (zeroized on drop).
pub struct SoftwareAuthenticator {
    rp_id: String,
    credentials: Vec<SoftCredential>,
    /// How it misbehaves; [`Knobs::default`] behaves.
    pub knobs: Knobs,
}

impl fmt::Debug for SoftwareAuthenticator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SoftwareAuthenticator")
            .field("rp_id", &self.rp_id)
            .field(
                "credentials",
                &self.credentials.iter().map(|c| &c.id).collect::<Vec<_>>(),
            )
            .field("knobs", &self.knobs)
            .finish_non_exhaustive()
    }
}

const fn refused(reason: &'static str) -> WebauthnError {
    WebauthnError::AuthenticatorRefused { reason }
}

fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, WebauthnError> {
    let mut bytes = Zeroizing::new([0; N]);
    getrandom::fill(bytes.as_mut_slice()).map_err(|_| WebauthnError::Rng)?;
    Ok(bytes)
}

fn str_at<'a>(
    value: &'a Value,
    pointer: &str,
    reason: &'static str,
) -> Result<&'a str, WebauthnError> {
    value
        .pointer(pointer)
        .and_then(Value::as_str)
        .ok_or(refused(reason))
}

fn ids_at(options: &Value, member: &str) -> Vec<String> {
    options
        .get(member)
        .and_then(Value::as_array)
        .map(|list| {
            list.iter()
                .filter_map(|d| d.get("id").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn client_data(kind: &str, challenge: &str, origin: &str) -> Result<Vec<u8>, WebauthnError> {
    // The members in the order browsers write them.
    let text = format!(
        "{{\"type\":{},\"challenge\":{},\"origin\":{},\"crossOrigin\":false}}",
        json!(kind),
        json!(challenge),
        json!(origin)
    );
    Ok(text.into_bytes())
}

impl SoftwareAuthenticator {
    /// An authenticator with no credentials, answering for `rp_id`.
    #[must_use]
    pub fn new(rp_id: impl Into<String>) -> Self {
        Self {
            rp_id: rp_id.into(),
            credentials: Vec::new(),
            knobs: Knobs::default(),
        }
    }

    /// Adds a credential with a known private key and PRF secret, e.g. one from published
    /// test vectors. `prf_secret` is the secret for user-verified use (CTAP 2.1's
    /// `CredRandomWithUV`); the one for unverified use is random.
    ///
    /// # Errors
    /// [`WebauthnError::AuthenticatorRefused`] when `private_key` is not a P-256 scalar,
    /// [`WebauthnError::Rng`] when randomness fails.
    pub fn import_credential(
        &mut self,
        id: CredentialId,
        private_key: &[u8; 32],
        prf_secret: [u8; 32],
        user_handle: &crate::UserHandle,
    ) -> Result<(), WebauthnError> {
        let key =
            SigningKey::from_slice(private_key).map_err(|_| refused("not a P-256 private key"))?;
        self.credentials.push(SoftCredential {
            id,
            key,
            prf_secret_uv: Zeroizing::new(prf_secret),
            prf_secret_no_uv: random()?,
            counter: 0,
            user_handle: user_handle.as_bytes().to_vec(),
        });
        Ok(())
    }

    /// The IDs of the credentials it holds, oldest first.
    #[must_use]
    pub fn credential_ids(&self) -> Vec<CredentialId> {
        self.credentials.iter().map(|c| c.id.clone()).collect()
    }

    fn flags(&self) -> u8 {
        let mut flags = 0;
        if self.knobs.user_present {
            flags |= FLAG_UP;
        }
        if self.knobs.user_verified {
            flags |= FLAG_UV;
        }
        if self.knobs.backup_eligible {
            flags |= FLAG_BE;
        }
        flags
    }

    fn rp_id_hash(&self) -> [u8; 32] {
        let rp_id = self
            .knobs
            .rp_id_in_auth_data
            .as_ref()
            .unwrap_or(&self.rp_id);
        Sha256::digest(rp_id.as_bytes()).into()
    }

    fn sign(&self, key: &SigningKey, auth_data: &[u8], client_data: &[u8]) -> Vec<u8> {
        let mut signed = auth_data.to_vec();
        if self.knobs.bad_signature {
            signed.push(0);
        }
        signed.extend_from_slice(&Sha256::digest(client_data));
        let signature: DerSignature = key.sign(&signed);
        signature.as_bytes().to_vec()
    }

    /// Answers options for `navigator.credentials.create` from `origin`: makes a new
    /// credential and returns the registration response JSON a browser would post.
    ///
    /// # Errors
    /// [`WebauthnError::AuthenticatorRefused`] when the options are for another RP ID, ask
    /// for no ES256 key, lack a challenge or user ID, or exclude a credential it holds;
    /// [`WebauthnError::Rng`] when randomness fails.
    pub fn register(&mut self, options: &Value, origin: &str) -> Result<Value, WebauthnError> {
        if str_at(options, "/rp/id", "no RP ID")? != self.rp_id {
            return Err(refused("options for another RP ID"));
        }
        let challenge = str_at(options, "/challenge", "no challenge")?;
        let user_id = str_at(options, "/user/id", "no user ID")?;
        let user_handle = encoding::decode(user_id, MAX_USER_HANDLE, "user handle")
            .map_err(|_| refused("bad user ID"))?;
        let es256 = options
            .get("pubKeyCredParams")
            .and_then(Value::as_array)
            .is_some_and(|ps| {
                ps.iter()
                    .any(|p| p.get("alg").and_then(Value::as_i64) == Some(-7))
            });
        if !es256 {
            return Err(refused("no ES256 among the parameters"));
        }
        let held = self.credential_ids();
        if ids_at(options, "excludeCredentials")
            .iter()
            .any(|id| held.iter().any(|h| h.to_base64url() == *id))
        {
            return Err(refused("a credential it holds is excluded"));
        }
        let prf = options.pointer("/extensions/prf").is_some();

        let key = loop {
            if let Ok(key) = SigningKey::from_slice(random::<32>()?.as_slice()) {
                break key;
            }
        };
        let id = CredentialId::new(random::<16>()?.to_vec())?;
        let public = CredentialPublicKey::from_verifying_key(*key.verifying_key());

        let client_data = client_data("webauthn.create", challenge, origin)?;
        let mut auth_data = self.rp_id_hash().to_vec();
        let mut flags = self.flags() | FLAG_AT;
        if prf {
            flags |= FLAG_ED;
        }
        auth_data.push(flags);
        auth_data.extend_from_slice(&0u32.to_be_bytes());
        auth_data.extend_from_slice(&[0; 16]);
        let id_len = u16::try_from(id.as_bytes().len()).map_err(|_| refused("credential ID"))?;
        auth_data.extend_from_slice(&id_len.to_be_bytes());
        auth_data.extend_from_slice(id.as_bytes());
        auth_data.extend_from_slice(&cose::encode_es256_key(&public)?);
        if prf {
            let extensions = Cbor::Map(vec![(Cbor::Text("hmac-secret".into()), Cbor::Bool(true))]);
            ciborium::ser::into_writer(&extensions, &mut auth_data)
                .map_err(|_| refused("extensions"))?;
        }

        let att_stmt = if self.knobs.packed_self_attestation {
            let sig = self.sign(&key, &auth_data, &client_data);
            Cbor::Map(vec![
                (Cbor::Text("alg".into()), Cbor::Integer((-7).into())),
                (Cbor::Text("sig".into()), Cbor::Bytes(sig)),
            ])
        } else {
            Cbor::Map(vec![])
        };
        let fmt = if self.knobs.packed_self_attestation {
            "packed"
        } else {
            "none"
        };
        let object = Cbor::Map(vec![
            (Cbor::Text("fmt".into()), Cbor::Text(fmt.into())),
            (Cbor::Text("attStmt".into()), att_stmt),
            (Cbor::Text("authData".into()), Cbor::Bytes(auth_data)),
        ]);
        let mut attestation_object = Vec::new();
        ciborium::ser::into_writer(&object, &mut attestation_object)
            .map_err(|_| refused("attestation object"))?;

        let id_text = id.to_base64url();
        self.credentials.push(SoftCredential {
            id,
            key,
            prf_secret_uv: random()?,
            prf_secret_no_uv: random()?,
            counter: 0,
            user_handle,
        });
        let extensions = if prf {
            json!({ "prf": { "enabled": true } })
        } else {
            json!({})
        };
        Ok(json!({
            "id": id_text,
            "rawId": id_text,
            "type": "public-key",
            "response": {
                "clientDataJSON": encoding::encode(&client_data),
                "attestationObject": encoding::encode(&attestation_object),
                "transports": ["internal"],
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": extensions,
        }))
    }

    /// Answers options for `navigator.credentials.get` from `origin` with the first allowed
    /// credential it holds (or its newest, when the options allow any), and returns the
    /// assertion response JSON a browser would post, with the PRF results for the salts in
    /// `extensions.prf.evalByCredential` (for that credential) or `extensions.prf.eval`.
    ///
    /// # Errors
    /// [`WebauthnError::AuthenticatorRefused`] when the options are for another RP ID, lack
    /// a challenge or carry a salt that is not base64url, or when it holds none of the
    /// allowed credentials.
    pub fn assert(&mut self, options: &Value, origin: &str) -> Result<Value, WebauthnError> {
        if str_at(options, "/rpId", "no RP ID")? != self.rp_id {
            return Err(refused("options for another RP ID"));
        }
        let challenge = str_at(options, "/challenge", "no challenge")?;
        let allowed = ids_at(options, "allowCredentials");
        let index = if allowed.is_empty() {
            self.credentials.len().checked_sub(1)
        } else {
            self.credentials
                .iter()
                .position(|c| allowed.contains(&c.id.to_base64url()))
        }
        .ok_or(refused("none of the allowed credentials"))?;

        let rp_id_hash = self.rp_id_hash();
        let flags = self.flags();
        let knobs = self.knobs.clone();
        let Some(credential) = self.credentials.get_mut(index) else {
            return Err(refused("none of the allowed credentials"));
        };
        credential.counter = match knobs.counter {
            CounterMode::Increment => credential.counter.wrapping_add(1),
            CounterMode::AlwaysZero => 0,
            CounterMode::Fixed(n) => n,
        };
        let counter = credential.counter;
        let id_text = credential.id.to_base64url();

        let salts = options
            .pointer("/extensions/prf/evalByCredential")
            .and_then(|m| m.get(&id_text))
            .or_else(|| options.pointer("/extensions/prf/eval"));
        let secret = if knobs.user_verified {
            &credential.prf_secret_uv
        } else {
            &credential.prf_secret_no_uv
        };
        let prf_result = |member: &str| -> Result<Option<String>, WebauthnError> {
            let Some(salt) = salts.and_then(|s| s.get(member)).and_then(Value::as_str) else {
                return Ok(None);
            };
            let salt =
                encoding::decode(salt, 1024, "PRF salt").map_err(|_| refused("bad PRF salt"))?;
            let mut mac = <Hmac<Sha256>>::new_from_slice(secret.as_slice())
                .map_err(|_| refused("PRF secret"))?;
            mac.update(&hmac_secret_salt(&salt));
            let output = Zeroizing::new(<[u8; 32]>::from(mac.finalize().into_bytes()));
            let output: &[u8] = match knobs.prf {
                PrfMode::AllZero => &[0; 32],
                PrfMode::Short => output.get(..16).unwrap_or_default(),
                PrfMode::Honest | PrfMode::Omit => output.as_slice(),
            };
            Ok(Some(encoding::encode(output)))
        };
        let first = prf_result("first")?;
        let second = prf_result("second")?;
        let extensions = match (first, knobs.prf) {
            (Some(first), mode) if mode != PrfMode::Omit => {
                let mut results = json!({ "first": first });
                if let Some(second) = second {
                    results["second"] = second.into();
                }
                json!({ "prf": { "results": results } })
            }
            _ => json!({}),
        };

        let client_data = client_data("webauthn.get", challenge, origin)?;
        let mut auth_data = rp_id_hash.to_vec();
        auth_data.push(flags);
        auth_data.extend_from_slice(&counter.to_be_bytes());
        let user_handle = encoding::encode(&credential.user_handle);
        let credential = self
            .credentials
            .get(index)
            .ok_or(refused("none of the allowed credentials"))?;
        let signature = self.sign(&credential.key, &auth_data, &client_data);

        Ok(json!({
            "id": id_text,
            "rawId": id_text,
            "type": "public-key",
            "response": {
                "clientDataJSON": encoding::encode(&client_data),
                "authenticatorData": encoding::encode(&auth_data),
                "signature": encoding::encode(&signature),
                "userHandle": user_handle,
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": extensions,
        }))
    }
}
