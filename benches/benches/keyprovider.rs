//! Criterion: one `KeyProvider::apply` (HMAC-SHA256 over the domain string and a 32-byte
//! input) for the file, kernel keyring and PKCS#11 (SoftHSM2) providers, and the file
//! provider behind `WithTimeout` (the hop to its worker thread and back).
//!
//! The keyring group needs a session keyring of the process's own (a login session, a
//! systemd service, or `keyctl session -`); the PKCS#11 group needs the variables that
//! `scripts/softhsm-init.sh` prints. A group that cannot run says why and is left out:
//!
//! ```sh
//! eval "$(scripts/softhsm-init.sh)"
//! keyctl session - cargo bench -p credlock-benches --bench keyprovider
//! ```
#![allow(
    clippy::print_stderr,
    reason = "a bench says which groups it leaves out"
)]

use std::hint::black_box;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;

use credlock_keyprovider::{
    FileKeyProvider, KeyProvider, KeyringKeyProvider, PinSource, Pkcs11Spec, ProviderKey,
    WithTimeout, reference_apply,
};
use credlock_keyprovider_pkcs11::{Pkcs11KeyProvider, delete_key, import_key};
use criterion::{Criterion, criterion_group, criterion_main};

const KEY: [u8; 32] = [0x42; 32];

fn bench_one(c: &mut Criterion, name: &str, p: &dyn KeyProvider) {
    // Only meaningful if the provider computes the shared construction.
    assert_eq!(
        *p.apply(&[1; 32]).expect("apply"),
        *reference_apply(&KEY, &[1; 32])
    );
    c.bench_function(&format!("keyprovider/apply/{name}"), |b| {
        b.iter(|| p.apply(black_box(&[7u8; 32])).expect("apply"));
    });
}

fn providers(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("pepper");
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(&KEY))
        .expect("key file");
    let file = FileKeyProvider::open(&path).expect("file provider");
    bench_one(c, "file", &file);
    let timed =
        WithTimeout::new(FileKeyProvider::open(&path).expect("file provider")).expect("worker");
    bench_one(c, "file_with_timeout", &timed);

    let service = format!("credlock-bench-{}", std::process::id());
    match KeyringKeyProvider::store_key(&service, "pepper", &ProviderKey::from_bytes(KEY)) {
        Ok(()) => {
            let keyring = KeyringKeyProvider::open(&service, "pepper").expect("keyring");
            bench_one(c, "keyring", &keyring);
            let _ = KeyringKeyProvider::delete_key(&service, "pepper");
        }
        Err(e) => eprintln!("keyring group left out: {e} (run under `keyctl session -`)"),
    }

    match (
        std::env::var_os("CREDLOCK_PKCS11_MODULE"),
        std::env::var_os("SOFTHSM2_CONF"),
    ) {
        (Some(module), Some(_)) => {
            let token =
                std::env::var("CREDLOCK_PKCS11_TOKEN").unwrap_or_else(|_| "credlock".into());
            let spec = Pkcs11Spec::new(
                module,
                token,
                format!("bench-{}", std::process::id()),
                PinSource::Env("CREDLOCK_PKCS11_PIN".into()),
            );
            let _ = delete_key(&spec);
            import_key(&spec, &ProviderKey::from_bytes(KEY)).expect("import into the token");
            let hsm = Pkcs11KeyProvider::open(&spec).expect("pkcs11 provider");
            bench_one(c, "pkcs11_softhsm2", &hsm);
            let timed =
                WithTimeout::new(Pkcs11KeyProvider::open(&spec).expect("pkcs11")).expect("worker");
            bench_one(c, "pkcs11_softhsm2_with_timeout", &timed);
            let _ = delete_key(&spec);
        }
        _ => eprintln!("pkcs11 group left out: eval \"$(scripts/softhsm-init.sh)\" first"),
    }
}

criterion_group!(benches, providers);
criterion_main!(benches);
