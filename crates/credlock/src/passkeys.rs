//! Unlock with a passkey (feature `passkeys`): keyslots opened by the WebAuthn **PRF**
//! extension's output, verified on the server side by `credlock-webauthn`.
//!
//! A passkey slot holds the WebAuthn credential (its id, public key and signature counter:
//! no secret), a 32-byte PRF salt, and the data key wrapped under a key from the
//! authenticator's PRF output for that salt (HKDF-SHA256, like any secret slot). A PRF output
//! is accepted only from a **verified assertion** for the same credential and a challenge this
//! vault issued (single use, five minutes), with user verification; outputs shorter than 32
//! bytes or all zero are refused. Every unlock asks the authenticator for the current salt and
//! a fresh one (`prf.eval.first`, `prf.eval.second`), and the slot is re-wrapped under the
//! second in the same write as the new signature counter: a PRF output seen once opens nothing
//! after the next unlock. The test of the PRF output goes through the vault's one gate and the
//! lockout, as a passphrase does; a response that does not verify is refused before, uncounted.
//! A vault always keeps its passphrase slot (a passkey cannot be the only way in), and
//! removing a passkey ([`Vault::remove_slot`]) rotates the data key.
//!
//! The three ceremonies each take two steps, with a [`PasskeyCeremony`] the server keeps
//! between them (it never leaves the server; each is used once):
//!
//! 1. adding a passkey (unlocked): [`Vault::passkey_registration_options`] →
//!    `navigator.credentials.create` → [`Vault::passkey_enrolment_options`] (the
//!    registration verified; `prf` must be enabled) → `navigator.credentials.get` →
//!    [`Vault::add_passkey`] (the first PRF output wraps the data key);
//! 2. unlocking: [`Vault::passkey_unlock_options`] → `navigator.credentials.get` →
//!    [`Vault::unlock_with_passkey`].
//!
//! ```
//! use credlock::passkeys::webauthn::{RelyingParty, SoftwareAuthenticator};
//! use credlock::{Credentials, Policy, SessionState, Vault};
//! use credlock::secrecy::SecretString;
//! # let dir = tempfile::tempdir()?;
//! # let vault = Vault::builder(dir.path().join("vault.json")).insecure_kdf_iterations(1_000).open()?;
//! # let pass = Policy::default().check(SecretString::from("Tangerine-Rocket-42!"))?;
//! # vault.store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)?;
//! let rp = RelyingParty::new("localhost", "credlock", ["http://localhost:8080"]);
//! let mut browser = SoftwareAuthenticator::new("localhost"); // a real browser in an app
//! let origin = "http://localhost:8080";
//!
//! let (options, ceremony) = vault.passkey_registration_options(&rp, "alice")?;
//! let created = browser.register(&options, origin)?;
//! let (options, ceremony) = vault.passkey_enrolment_options(&rp, ceremony, created.to_string().as_bytes())?;
//! let asserted = browser.assert(&options, origin)?;
//! vault.add_passkey(&rp, ceremony, asserted.to_string().as_bytes(), "security key")?;
//!
//! vault.lock();
//! let (options, ceremony) = vault.passkey_unlock_options(&rp)?;
//! let asserted = browser.assert(&options, origin)?;
//! vault.unlock_with_passkey(&rp, ceremony, asserted.to_string().as_bytes())?;
//! assert_eq!(vault.status(), SessionState::Unlocked);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::time::{Duration, Instant};

use credlock_audit::{EventKind, Outcome};
use credlock_crypto::fill_random;
use credlock_webauthn::{
    AssertionResponse, Challenge, CredentialId, PrfSalts, RegisteredCredential,
    RegistrationResponse, RelyingParty, UserHandle, UserVerification, WebauthnError,
    creation_options, request_options_by_credential, verify_assertion, verify_registration,
};
use serde_json::Value;

/// The WebAuthn types the passkey ceremonies take and give (the `credlock-webauthn` crate).
pub use credlock_webauthn as webauthn;

use crate::error::Error;
use crate::format::VaultFile;
use crate::keyslot::{Kek, NewSlot, PRF_SALT_LEN, SLOT_SALT_LEN, SlotId, SlotKind, SlotSource};
use crate::vault::Vault;
use crate::vault::gate::Attempt;

/// How long a ceremony's challenge stays good.
pub const CEREMONY_TTL: Duration = Duration::from_secs(300);

/// The server's side of one passkey ceremony, between the options it sent and the browser's
/// answer. Single use (each step consumes it); expires after [`CEREMONY_TTL`]. Holds no
/// secret; never send it to the browser.
pub struct PasskeyCeremony {
    challenge: Challenge,
    issued: Instant,
    step: Step,
}

enum Step {
    Register,
    Enrol {
        credential: Box<RegisteredCredential>,
        prf_salt: [u8; PRF_SALT_LEN],
    },
    Unlock {
        /// Per passkey slot: its id and the salt it moves to.
        next: Vec<(SlotId, CredentialId, [u8; PRF_SALT_LEN])>,
    },
}

impl fmt::Debug for PasskeyCeremony {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let step = match self.step {
            Step::Register => "register",
            Step::Enrol { .. } => "enrol",
            Step::Unlock { .. } => "unlock",
        };
        f.debug_struct("PasskeyCeremony")
            .field("step", &step)
            .finish_non_exhaustive()
    }
}

fn refused(e: &WebauthnError) -> Error {
    Error::Passkey {
        reason: e.to_string(),
        client_fault: e.is_client_fault(),
    }
}

fn out_of_order(expected: &'static str) -> Error {
    Error::Passkey {
        reason: format!("the ceremony is not at its {expected} step"),
        client_fault: true,
    }
}

fn random<const N: usize>() -> Result<[u8; N], Error> {
    let mut bytes = [0u8; N];
    fill_random(&mut bytes)?;
    Ok(bytes)
}

impl PasskeyCeremony {
    /// A ceremony at `step`, issued `now` (on the vault's idle clock, which tests can fake).
    fn new(step: Step, now: Instant) -> Result<Self, Error> {
        Ok(Self {
            challenge: Challenge::random().map_err(|e| refused(&e))?,
            issued: now,
            step,
        })
    }

    /// Refuses a ceremony older than [`CEREMONY_TTL`] at `now`.
    fn check_fresh(&self, now: Instant) -> Result<(), Error> {
        if now.saturating_duration_since(self.issued) > CEREMONY_TTL {
            return Err(refused(&WebauthnError::ChallengeExpired));
        }
        Ok(())
    }
}

/// A passkey slot as the file holds it: its id, label, credential and PRF salt.
struct PasskeySlot {
    id: SlotId,
    label: String,
    salt: [u8; SLOT_SALT_LEN],
    prf_salt: [u8; PRF_SALT_LEN],
    credential: RegisteredCredential,
}

fn passkey_slots(file: &VaultFile) -> Vec<PasskeySlot> {
    let Some(keyring) = &file.keyring else {
        return Vec::new();
    };
    keyring
        .slots
        .iter()
        .filter_map(|slot| match &slot.source {
            SlotSource::Passkey {
                salt,
                prf_salt,
                credential,
            } => Some(PasskeySlot {
                id: slot.id.clone(),
                label: slot.label.clone(),
                salt: *salt,
                prf_salt: *prf_salt,
                credential: serde_json::from_str(credential).ok()?,
            }),
            _ => None,
        })
        .collect()
}

/// A passkey slot for `credential` at `prf_salt`, whose PRF output there is `output`.
fn passkey_slot(
    label: &str,
    credential: &RegisteredCredential,
    prf_salt: [u8; PRF_SALT_LEN],
    output: &[u8; 32],
) -> Result<NewSlot, Error> {
    let salt = random::<SLOT_SALT_LEN>()?;
    let credential = serde_json::to_string(credential).map_err(|_| Error::CorruptVault {
        reason: "a passkey credential could not be serialised",
    })?;
    Ok(NewSlot {
        kind: SlotKind::Passkey,
        label: label.to_owned(),
        source: SlotSource::Passkey {
            salt,
            prf_salt,
            credential,
        },
        provider: None,
        kek: Kek::from_secret(SlotKind::Passkey, output, &salt)?,
    })
}

impl Vault {
    /// Adding a passkey, step 1 (unlocked): the options for `navigator.credentials.create`
    /// (ES256, the PRF extension asked for, the vault's passkeys excluded), and the ceremony
    /// to keep for step 2.
    ///
    /// # Errors
    ///
    /// [`Error::Locked`], [`Error::NoCredentials`]; [`Error::NoKeyslots`]; the file's errors.
    pub fn passkey_registration_options(
        &self,
        rp: &RelyingParty,
        user_name: &str,
    ) -> Result<(Value, PasskeyCeremony), Error> {
        self.touch()?;
        let file = self.read_file()?;
        if file.keyring.is_none() {
            return Err(Error::NoKeyslots {
                version: file.version(),
            });
        }
        let exclude: Vec<CredentialId> = passkey_slots(&file)
            .into_iter()
            .map(|s| s.credential.id)
            .collect();
        let ceremony = PasskeyCeremony::new(Step::Register, self.now())?;
        let user = UserHandle::random().map_err(|e| refused(&e))?;
        let options = creation_options(rp, &user, user_name, &ceremony.challenge, &exclude);
        Ok((options, ceremony))
    }

    /// Adding a passkey, step 2: verifies the browser's registration response (its JSON as
    /// posted); the credential must have the PRF extension enabled. Returns the options for
    /// `navigator.credentials.get` that ask its first PRF output, and the ceremony for
    /// step 3.
    ///
    /// # Errors
    ///
    /// [`Error::Passkey`] for a response that does not verify, a credential without PRF, a
    /// ceremony expired or at another step; [`Error::Locked`].
    pub fn passkey_enrolment_options(
        &self,
        rp: &RelyingParty,
        ceremony: PasskeyCeremony,
        registration: &[u8],
    ) -> Result<(Value, PasskeyCeremony), Error> {
        self.touch()?;
        ceremony.check_fresh(self.now())?;
        if !matches!(ceremony.step, Step::Register) {
            return Err(out_of_order("registration"));
        }
        let response = RegistrationResponse::from_json(registration).map_err(|e| refused(&e))?;
        let credential =
            verify_registration(rp, &response, &ceremony.challenge).map_err(|e| refused(&e))?;
        if !credential.prf_enabled {
            return Err(refused(&WebauthnError::PrfMissing));
        }
        let prf_salt = random::<PRF_SALT_LEN>()?;
        let next = PasskeyCeremony::new(
            Step::Enrol {
                credential: Box::new(credential),
                prf_salt,
            },
            self.now(),
        )?;
        let Step::Enrol { credential, .. } = &next.step else {
            return Err(out_of_order("enrolment"));
        };
        let options = request_options_by_credential(
            rp,
            &[(credential.id.clone(), PrfSalts::new(prf_salt, None))],
            &next.challenge,
            UserVerification::Required,
        );
        Ok((options, next))
    }

    /// Adding a passkey, step 3: verifies the assertion, and adds a passkey slot wrapping the
    /// data key under its PRF output. Audited as `slot_added` (operation `passkey`).
    ///
    /// # Errors
    ///
    /// [`Error::Passkey`] (nothing added); then as
    /// [`Vault::add_recovery_key`](crate::Vault::add_recovery_key).
    pub fn add_passkey(
        &self,
        rp: &RelyingParty,
        ceremony: PasskeyCeremony,
        assertion: &[u8],
        label: &str,
    ) -> Result<SlotId, Error> {
        self.touch()?;
        ceremony.check_fresh(self.now())?;
        let Step::Enrol {
            credential,
            prf_salt,
        } = ceremony.step
        else {
            return Err(out_of_order("enrolment"));
        };
        let mut credential = *credential;
        let response = AssertionResponse::from_json(assertion).map_err(|e| refused(&e))?;
        let verified = verify_assertion(rp, &response, &credential, &ceremony.challenge, true)
            .map_err(|e| refused(&e))?;
        let prf = verified.require_prf().map_err(|e| refused(&e))?;
        credential.record(&verified);
        let id =
            self.add_slot_unlocked(|| passkey_slot(label, &credential, prf_salt, &prf.first))?;
        self.audit(EventKind::SlotAdded, Outcome::Success, |e| {
            e.slot(id.as_str()).operation("passkey")
        })?;
        Ok(id)
    }

    /// Unlocking with a passkey, step 1: the options for `navigator.credentials.get` naming
    /// every passkey of the vault, each with its current PRF salt and a fresh next one, and
    /// the ceremony for step 2.
    ///
    /// # Errors
    ///
    /// [`Error::SlotNotFound`] if the vault has no passkey; the file's errors.
    pub fn passkey_unlock_options(
        &self,
        rp: &RelyingParty,
    ) -> Result<(Value, PasskeyCeremony), Error> {
        let file = self.read_file()?;
        let slots = passkey_slots(&file);
        if slots.is_empty() {
            return Err(Error::SlotNotFound);
        }
        let mut next = Vec::with_capacity(slots.len());
        let mut allow = Vec::with_capacity(slots.len());
        for slot in slots {
            let salt = random::<PRF_SALT_LEN>()?;
            allow.push((
                slot.credential.id.clone(),
                PrfSalts::new(slot.prf_salt, Some(salt)),
            ));
            next.push((slot.id, slot.credential.id, salt));
        }
        let ceremony = PasskeyCeremony::new(Step::Unlock { next }, self.now())?;
        let options = request_options_by_credential(
            rp,
            &allow,
            &ceremony.challenge,
            UserVerification::Required,
        );
        Ok((options, ceremony))
    }

    /// Unlocking with a passkey, step 2: verifies the assertion (signature, challenge,
    /// origin, RP id, user presence and verification, counter) against the credential its
    /// slot records, then tests the first PRF output through the gate (counted against the
    /// lockout; a wrong one is [`Error::WrongPassphrase`]), unlocks, and re-wraps the slot
    /// under the second PRF output with the new counter (so the first opens nothing any
    /// more). Returns the slot used.
    ///
    /// # Errors
    ///
    /// [`Error::Passkey`] for a response that does not verify (nothing counted); then as
    /// [`Vault::unlock`]. If the slot cannot be re-wrapped (a write failing), the unlock
    /// stands, the slot keeps its salt, and the failure is audited.
    pub fn unlock_with_passkey(
        &self,
        rp: &RelyingParty,
        ceremony: PasskeyCeremony,
        assertion: &[u8],
    ) -> Result<SlotId, Error> {
        ceremony.check_fresh(self.now())?;
        let Step::Unlock { next } = ceremony.step else {
            return Err(out_of_order("unlock"));
        };
        let response = AssertionResponse::from_json(assertion).map_err(|e| refused(&e))?;
        let claimed = response.claimed_credential_id().map_err(|e| refused(&e))?;
        let Some((id, _, next_salt)) = next.into_iter().find(|(_, c, _)| *c == claimed) else {
            return Err(refused(&WebauthnError::WrongCredential));
        };
        let file = self.read_file()?;
        let slot = passkey_slots(&file)
            .into_iter()
            .find(|s| s.id == id)
            .ok_or(Error::SlotNotFound)?;
        let mut credential = slot.credential;
        // A response that does not verify tests no secret: refused before the gate.
        let verified = verify_assertion(rp, &response, &credential, &ceremony.challenge, true)
            .map_err(|e| refused(&e))?;
        let prf = verified.require_prf().map_err(|e| refused(&e))?;
        let Some(second) = prf.second.as_ref() else {
            return Err(refused(&WebauthnError::PrfMissing));
        };
        let kek = Kek::from_secret(SlotKind::Passkey, prf.first.as_slice(), &slot.salt)?;
        let used = self.unlock_through_slot(Attempt::UnlockWithPasskey, |file| {
            file.open_slot_with(&id, &kek)
        })?;
        credential.record(&verified);
        let rewrapped = self.update_keyring_unlocked(|keyring, key, now_ms| {
            keyring.remake(
                &id,
                passkey_slot(&slot.label, &credential, next_salt, second)?,
                key,
                now_ms,
            )
        });
        if rewrapped.is_err() {
            let _ = self.audit(EventKind::KeyRotated, Outcome::Failure, |e| {
                e.slot(id.as_str()).operation("passkey_salt")
            });
        }
        Ok(used.unwrap_or(id))
    }
}
