//! An opener of vault files written from the format's documentation alone (`credlock::format`,
//! version 3), independent of the crate's code: the tests that look for keys in memory, audit
//! trails or databases learn the data key from it, and it checks that the documented format is
//! the one written.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::panic)]

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE;
use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hkdf::Hkdf;
use sha2::Sha256;

/// The passphrase's KDF output for a `kdf` object of versions 2 and 3 (PBKDF2 only, at the
/// test costs).
pub fn passphrase_key(kdf: &serde_json::Value, passphrase: &str) -> [u8; 32] {
    assert_eq!(
        kdf["algorithm"], "pbkdf2-hmac-sha256",
        "the tests' vaults use PBKDF2"
    );
    let salt = URL_SAFE.decode(kdf["salt"].as_str().unwrap()).unwrap();
    let params = credlock_crypto::KdfParams::insecure_low_cost(
        kdf["iterations"].as_u64().unwrap(),
        credlock_crypto::Salt::from_slice(&salt).unwrap(),
    )
    .unwrap();
    let key = credlock_crypto::derive_key(passphrase, &params).unwrap();
    key.expose_secret_bytes().try_into().unwrap()
}

fn b64(v: &serde_json::Value) -> Vec<u8> {
    URL_SAFE.decode(v.as_str().unwrap()).unwrap()
}

/// The data key of a version-3 file, opened through its passphrase slot as the format's
/// documentation describes it.
pub fn data_key(file: &serde_json::Value, passphrase: &str) -> [u8; 32] {
    assert_eq!(file["version"], 3);
    let slot = file["slots"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["kind"] == "passphrase")
        .unwrap();
    let derived = passphrase_key(&slot["kdf"], passphrase);
    // KEK = HKDF-SHA256(KDF output, no salt, info "credlock keyslot v3 kek passphrase").
    let mut kek = [0u8; 32];
    Hkdf::<Sha256>::new(None, &derived)
        .expand(b"credlock keyslot v3 kek passphrase", &mut kek)
        .unwrap();
    // The private key: nonce(24) ‖ XChaCha20-Poly1305, AAD "credlock keyslot v3 private key "
    // ‖ kind ‖ 0 ‖ public key.
    let public = b64(&slot["public_key"]);
    let wrapped = b64(&slot["private_key"]);
    let mut aad = b"credlock keyslot v3 private key passphrase\0".to_vec();
    aad.extend_from_slice(&public);
    let (nonce, sealed) = wrapped.split_at(24);
    let scalar = XChaCha20Poly1305::new(&kek.into())
        .decrypt(
            &XNonce::try_from(nonce).unwrap(),
            Payload {
                msg: sealed,
                aad: &aad,
            },
        )
        .unwrap();
    let secret = p256::SecretKey::from_slice(&scalar).unwrap();
    // The data key: ephemeral public key(33) ‖ nonce(24) ‖ XChaCha20-Poly1305 under
    // HKDF-SHA256(ECDH, info "credlock keyslot v3 data key wrap" ‖ ephemeral ‖ slot public),
    // AAD the slot's binding (canonical JSON).
    let wrapped = b64(&slot["data_key"]);
    let (ephemeral, rest) = wrapped.split_at(33);
    let (nonce, sealed) = rest.split_at(24);
    let shared = secret.diffie_hellman(&p256::PublicKey::from_sec1_bytes(ephemeral).unwrap());
    let mut info = b"credlock keyslot v3 data key wrap".to_vec();
    info.extend_from_slice(ephemeral);
    info.extend_from_slice(&public);
    let mut wrap_key = [0u8; 32];
    Hkdf::<Sha256>::new(None, shared.raw_secret_bytes().as_slice())
        .expand(&info, &mut wrap_key)
        .unwrap();
    let kdf = &slot["kdf"];
    let source = format!(
        "{}:i={}:{}:{}",
        kdf["algorithm"].as_str().unwrap(),
        kdf["iterations"],
        kdf["salt"].as_str().unwrap(),
        kdf["normalization"].as_str().unwrap()
    );
    let binding = serde_json::json!({
        "format": "credlock keyslot v3",
        "vault_id": file["vault_id"],
        "epoch": file["epoch"],
        "id": slot["id"],
        "kind": slot["kind"],
        "label": slot["label"],
        "created_ms": slot["created_ms"],
        "source": source,
        "public_key": slot["public_key"],
    });
    // serde_json's `json!` sorts keys; the binding is in declaration order, so it is built
    // by hand in that order.
    let binding = format!(
        "{{\"format\":{},\"vault_id\":{},\"epoch\":{},\"id\":{},\"kind\":{},\"label\":{},\"created_ms\":{},\"source\":{},\"public_key\":{}}}",
        binding["format"],
        binding["vault_id"],
        binding["epoch"],
        binding["id"],
        binding["kind"],
        binding["label"],
        binding["created_ms"],
        binding["source"],
        binding["public_key"]
    );
    let key = XChaCha20Poly1305::new(&wrap_key.into())
        .decrypt(
            &XNonce::try_from(nonce).unwrap(),
            Payload {
                msg: sealed,
                aad: binding.as_bytes(),
            },
        )
        .unwrap();
    key.try_into().unwrap()
}

/// The record's bytes of a version-3 file, opened with `passphrase`.
pub fn record(file: &serde_json::Value, passphrase: &str) -> Vec<u8> {
    let key = credlock_crypto::FernetKey::from_bytes(&data_key(file, passphrase));
    key.open(file["token"].as_str().unwrap()).unwrap().to_vec()
}

/// Every key a passphrase gives for `file`: the KDF output, and for version 3 the data key.
pub fn keys(file: &serde_json::Value, passphrase: &str) -> Vec<[u8; 32]> {
    if file["version"] == 3 {
        let slot = file["slots"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["kind"] == "passphrase")
            .unwrap();
        vec![
            passphrase_key(&slot["kdf"], passphrase),
            data_key(file, passphrase),
        ]
    } else {
        vec![passphrase_key(&file["kdf"], passphrase)]
    }
}
