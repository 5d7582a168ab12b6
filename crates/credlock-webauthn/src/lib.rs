#![forbid(unsafe_code)]
#![deny(rustdoc::broken_intra_doc_links)]
#![doc = include_str!("../README.md")]

mod assertion;
mod auth_data;
mod cbor;
mod challenge;
mod client_data;
mod cose;
mod credential;
mod encoding;
mod error;
pub mod limits;
mod options;
mod prf;
mod registration;
mod response;
#[cfg(feature = "software-authenticator")]
mod soft;

pub use assertion::{VerifiedAssertion, verify_assertion};
pub use challenge::{Challenge, Challenges, Purpose};
pub use credential::{CredentialId, CredentialPublicKey, RegisteredCredential, UserHandle};
pub use error::WebauthnError;
pub use options::{
    UserVerification, creation_options, request_options, request_options_by_credential,
};
pub use prf::{PrfOutputs, PrfSalts, hmac_secret_salt};
pub use registration::verify_registration;
pub use response::{AssertionResponse, RegistrationResponse};
pub use rp::RelyingParty;
#[cfg(feature = "software-authenticator")]
pub use soft::{CounterMode, Knobs, PrfMode, SoftwareAuthenticator};

mod rp;
