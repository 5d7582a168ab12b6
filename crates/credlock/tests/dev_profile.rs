//! The dev-profile snippet the guide gives apps covers every crate this workspace builds
//! optimised for its own tests: every crate on a key-derivation or cipher path.

#![allow(clippy::unwrap_used)]

use std::collections::BTreeSet;
use std::path::Path;

/// The package names of `[profile.dev.package.NAME]` headers in `text` with `opt-level = 3`.
fn optimised(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut current = None;
    for line in text.lines().map(str::trim) {
        if let Some(name) = line
            .strip_prefix("[profile.dev.package.")
            .and_then(|r| r.strip_suffix(']'))
        {
            current = Some(name.to_owned());
        } else if line.starts_with('[') {
            current = None;
        } else if line.replace(' ', "") == "opt-level=3"
            && let Some(name) = current.take()
        {
            out.insert(name);
        }
    }
    out
}

#[test]
fn the_guides_snippet_optimises_every_crate_the_workspace_does() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = std::fs::read_to_string(dir.join("../../Cargo.toml")).unwrap();
    let guide = std::fs::read_to_string(dir.join("README.md")).unwrap();
    let snippet = guide
        .split("```toml")
        .find(|block| block.contains("[profile.dev.package.credlock-crypto]"))
        .and_then(|block| block.split("```").next())
        .unwrap();
    let mut wanted = optimised(&workspace);
    // The Python-compatible Fernet reference is a dev-dependency of the tests only.
    wanted.remove("fernet");
    assert!(wanted.contains("argon2") && wanted.contains("blake2"));
    assert_eq!(optimised(snippet), wanted);
}
