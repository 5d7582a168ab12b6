//! Authenticator data (WebAuthn §6.1): what the authenticator signs.

use crate::{CredentialId, CredentialPublicKey, RelyingParty, WebauthnError, cbor, cose};

pub(crate) const FLAG_UP: u8 = 0x01;
pub(crate) const FLAG_UV: u8 = 0x04;
pub(crate) const FLAG_BE: u8 = 0x08;
pub(crate) const FLAG_BS: u8 = 0x10;
pub(crate) const FLAG_AT: u8 = 0x40;
pub(crate) const FLAG_ED: u8 = 0x80;

const MALFORMED: WebauthnError = WebauthnError::Malformed {
    what: "authenticator data",
};

/// Which ceremony the data comes from: a registration must carry attested credential data,
/// an assertion must not.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ceremony {
    Registration,
    Assertion,
}

pub(crate) struct AttestedCredential {
    pub(crate) aaguid: [u8; 16],
    pub(crate) id: CredentialId,
    pub(crate) public_key: CredentialPublicKey,
}

pub(crate) struct AuthData {
    pub(crate) flags: u8,
    pub(crate) sign_count: u32,
    pub(crate) attested: Option<AttestedCredential>,
}

impl AuthData {
    pub(crate) fn user_present(&self) -> bool {
        self.flags & FLAG_UP != 0
    }

    pub(crate) fn user_verified(&self) -> bool {
        self.flags & FLAG_UV != 0
    }

    pub(crate) fn backup_eligible(&self) -> bool {
        self.flags & FLAG_BE != 0
    }

    /// Parses authenticator data for `rp` and checks what every ceremony checks: the RP ID
    /// hash, then user presence. Nothing may follow the last part.
    pub(crate) fn parse(
        bytes: &[u8],
        ceremony: Ceremony,
        rp: &RelyingParty,
    ) -> Result<Self, WebauthnError> {
        let (rp_id_hash, rest) = bytes.split_at_checked(32).ok_or(MALFORMED)?;
        let (&flags, rest) = rest.split_first().ok_or(MALFORMED)?;
        let (count, mut rest) = rest.split_at_checked(4).ok_or(MALFORMED)?;
        let sign_count = u32::from_be_bytes(count.try_into().map_err(|_| MALFORMED)?);

        // A credential not eligible for backup cannot be backed up.
        if flags & FLAG_BS != 0 && flags & FLAG_BE == 0 {
            return Err(MALFORMED);
        }
        let has_attested = flags & FLAG_AT != 0;
        if has_attested != (ceremony == Ceremony::Registration) {
            return Err(MALFORMED);
        }
        let attested = if has_attested {
            let (aaguid, after) = rest.split_at_checked(16).ok_or(MALFORMED)?;
            let (len, after) = after.split_at_checked(2).ok_or(MALFORMED)?;
            let len = usize::from(u16::from_be_bytes([len[0], len[1]]));
            let (id, after) = after.split_at_checked(len).ok_or(MALFORMED)?;
            let id = CredentialId::new(id.to_vec())?;
            let (key, after) = cbor::read_item(after, "credential public key")?;
            let public_key = cose::es256_key(key)?;
            rest = after;
            Some(AttestedCredential {
                aaguid: aaguid.try_into().map_err(|_| MALFORMED)?,
                id,
                public_key,
            })
        } else {
            None
        };
        if flags & FLAG_ED != 0 {
            let (extensions, after) = cbor::read_item(rest, "authenticator extensions")?;
            if !extensions.is_map() {
                return Err(WebauthnError::Malformed {
                    what: "authenticator extensions",
                });
            }
            rest = after;
        }
        if !rest.is_empty() {
            return Err(MALFORMED);
        }

        if rp_id_hash != rp.id_hash() {
            return Err(WebauthnError::WrongRpId);
        }
        let data = Self {
            flags,
            sign_count,
            attested,
        };
        if !data.user_present() {
            return Err(WebauthnError::UserNotPresent);
        }
        Ok(data)
    }
}
