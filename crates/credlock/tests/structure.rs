//! The passphrase gate holds by construction: only the gate makes the proof that an attempt
//! was counted, only the gate derives a key from a passphrase under test, and the raw key
//! derivation is called in one place. A new passphrase-taking operation that tried to skip
//! the gate would fail this test.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The source files (relative to `src/`) whose code, comments aside, contains `needle`.
fn files_using(needle: &str) -> Vec<String> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut hits: Vec<String> = files
        .iter()
        .filter(|f| {
            std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .any(|l| l.contains(needle))
        })
        .map(|f| f.strip_prefix(&src).unwrap().display().to_string())
        .collect();
    hits.sort();
    hits
}

#[test]
fn only_the_gate_counts_and_derives_attempts() {
    assert_eq!(
        files_using("Counted::after_counting()"),
        ["vault/gate.rs"],
        "only the gate makes the proof"
    );
    assert_eq!(files_using(".derive_attempt("), ["vault/gate.rs"]);
    assert_eq!(
        files_using(".derive_verified("),
        ["vault/upgrade.rs"],
        "only the KDF upgrade re-derives from a passphrase the gate just verified"
    );
    assert_eq!(
        files_using("derive_key("),
        ["vault/derivation.rs"],
        "the raw key derivation is called in one place"
    );
}
