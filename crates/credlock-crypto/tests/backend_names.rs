//! The PBKDF2 backends' names, which the `kdf-compare` bench prints and errors quote.

use credlock_crypto::hazmat::Backend;

#[test]
fn every_backend_has_its_stable_name() {
    let names: Vec<&str> = [Backend::Auto]
        .into_iter()
        .chain(Backend::ALL)
        .map(Backend::name)
        .collect();
    assert_eq!(names, ["auto", "sha-ni", "avx2-bmi2", "sha2", "portable"]);
}
