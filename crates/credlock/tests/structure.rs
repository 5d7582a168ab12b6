//! The facade's structure holds by construction, and this test keeps it:
//!
//! - The passphrase gate: only the gate makes the proof that an attempt was counted, only
//!   the gate derives a key from a passphrase under test, and the raw key derivation is
//!   called in one place. A new passphrase-taking operation that tried to skip the gate would
//!   fail here; so would an importer above the facade that derived a key itself.
//! - One direction: values and clocks at the bottom (the ground) import nothing above them;
//!   the vault's machinery under `vault/` never names the vault or anything above it; the
//!   vault's story (`vault.rs`) never names a face and calls no method a face defines; `impl
//!   Vault` lives only in `vault.rs`, the builder and the faces; imports are at the top of a
//!   file, not inline paths in its code.

#![allow(clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The faces: they add capabilities to the vault from above, and the vault never calls them.
const FACES: [&str; 10] = [
    "builder.rs",
    "migrate.rs",
    "nonblocking.rs",
    "operator.rs",
    "passkeys.rs",
    "registry/",
    "sessions.rs",
    "slots.rs",
    "status.rs",
    "web.rs",
];

/// The ground: values and clocks, which import nothing from the vault or above.
const GROUND: [&str; 10] = [
    "audit.rs",
    "clock.rs",
    "credentials.rs",
    "crypto.rs",
    "error.rs",
    "format.rs",
    "hardening.rs",
    "idle_clock.rs",
    "keyslot.rs",
    "recovery_key.rs",
];

/// Module paths of everything above the ground.
const ABOVE_GROUND: [&str; 12] = [
    "crate::nonblocking",
    "crate::vault",
    "crate::Vault",
    "crate::builder",
    "crate::migrate",
    "crate::operator",
    "crate::passkeys",
    "crate::registry",
    "crate::sessions",
    "crate::slots",
    "crate::status",
    "crate::web",
];

/// Module paths of the faces (and of what stands above them).
const FACE_PATHS: [&str; 11] = [
    "crate::builder",
    "crate::migrate",
    "crate::nonblocking",
    "crate::operator",
    "crate::registry",
    "crate::sessions",
    "crate::status",
    "crate::fuzzing",
    "crate::sweeper_tests",
    "crate::VaultBuilder",
    "crate::web",
];

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

fn src_of(manifest_dir: &Path) -> PathBuf {
    manifest_dir.join("src")
}

fn facade_src() -> PathBuf {
    src_of(Path::new(env!("CARGO_MANIFEST_DIR")))
}

/// Every source file under `src`, relative to it, with its code lines (comments and doc
/// comments left out).
fn code_files(src: &Path) -> Vec<(String, Vec<String>)> {
    let mut files = Vec::new();
    sources(src, &mut files);
    let mut out: Vec<(String, Vec<String>)> = files
        .iter()
        .map(|f| {
            let code = std::fs::read_to_string(f)
                .unwrap()
                .lines()
                .filter(|l| !l.trim_start().starts_with("//"))
                .map(str::to_owned)
                .collect();
            (f.strip_prefix(src).unwrap().display().to_string(), code)
        })
        .collect();
    out.sort();
    out
}

/// The source files (relative to `src/`) whose code, comments aside, contains `needle`.
fn files_using_in(src: &Path, needle: &str) -> Vec<String> {
    code_files(src)
        .into_iter()
        .filter(|(_, code)| code.iter().any(|l| l.contains(needle)))
        .map(|(name, _)| name)
        .collect()
}

fn files_using(needle: &str) -> Vec<String> {
    files_using_in(&facade_src(), needle)
}

fn is_face(name: &str) -> bool {
    FACES
        .iter()
        .any(|f| name == *f || (f.ends_with('/') && name.starts_with(f)))
}

fn is_machinery(name: &str) -> bool {
    name.starts_with("vault/")
}

/// The lines of `code` that are not part of an import (`use`, `pub use`, `pub(crate) use`,
/// over one line or several).
fn outside_imports(code: &[String]) -> Vec<&String> {
    let mut in_import = false;
    let mut out = Vec::new();
    for line in code {
        let t = line.trim_start();
        let starts = ["use ", "pub use ", "pub(crate) use ", "pub(super) use "]
            .iter()
            .any(|p| t.starts_with(p));
        if starts || in_import {
            in_import = !t.trim_end().ends_with(';');
        } else {
            out.push(line);
        }
    }
    out
}

/// The names of the functions defined in `lines`.
fn fns_defined(lines: &[String]) -> BTreeSet<String> {
    lines
        .iter()
        .filter_map(|l| {
            let t = l.trim_start();
            let rest = t
                .strip_prefix("pub fn ")
                .or_else(|| t.strip_prefix("pub(crate) fn "))
                .or_else(|| t.strip_prefix("pub(super) fn "))
                .or_else(|| t.strip_prefix("fn "))
                .or_else(|| t.strip_prefix("pub const fn "))
                .or_else(|| t.strip_prefix("const fn "))?;
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect()
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
    // `fuzzing.rs` is compiled only for the fuzz targets (`cfg(fuzzing)`): it derives the
    // key of a file the fuzzer made, to reach the slot code behind it.
    assert_eq!(
        files_using("derive_key("),
        ["fuzzing.rs", "vault/derivation.rs"],
        "the raw key derivation is called in one place (and by the fuzz harness)"
    );
}

#[test]
fn the_eclosion_importer_never_derives_a_key_itself() {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../credlock-eclosion");
    let src = src_of(&crate_dir);
    for needle in [
        "derive_key",
        "derive_new",
        "derive_attempt",
        "derive_verified",
        "pbkdf2",
        "argon2",
        "Deriver",
        "credlock_crypto",
    ] {
        assert_eq!(
            files_using_in(&src, needle),
            Vec::<String>::new(),
            "credlock-eclosion must not use `{needle}`: keys come from the vault's gate"
        );
    }
    // It opens foreign records only through the migration joint.
    assert!(!files_using_in(&src, ".import_foreign(").is_empty());
    assert!(!files_using_in(&src, ".export_foreign(").is_empty());
    // And it depends on no key-derivation crate.
    let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
    let dependencies = manifest
        .split("[dependencies]")
        .nth(1)
        .unwrap()
        .split("\n[")
        .next()
        .unwrap();
    for krate in ["credlock-crypto", "pbkdf2", "argon2", "hmac", "sha2"] {
        assert!(
            !dependencies.contains(krate),
            "credlock-eclosion must not depend on {krate}"
        );
    }
}

#[test]
fn the_ground_imports_nothing_from_above() {
    for (name, code) in code_files(&facade_src()) {
        if !GROUND.contains(&name.as_str()) {
            continue;
        }
        for line in &code {
            for above in ABOVE_GROUND {
                assert!(
                    !line.contains(above),
                    "{name} is ground and names {above}: {line}"
                );
            }
        }
    }
}

#[test]
fn the_machinery_never_names_the_vault_or_a_face() {
    let mut checked = 0;
    for (name, code) in code_files(&facade_src()) {
        if !is_machinery(&name) {
            continue;
        }
        checked += 1;
        for line in &code {
            for face in FACE_PATHS {
                assert!(!line.contains(face), "{name} names a face ({face}): {line}");
            }
            let names_vault = line
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|w| w == "Vault");
            assert!(!names_vault, "{name} names the vault above it: {line}");
        }
    }
    assert!(checked >= 9, "the machinery was found ({checked} files)");
}

#[test]
fn the_story_names_no_face() {
    let files = code_files(&facade_src());
    let (_, story) = files.iter().find(|(n, _)| n == "vault.rs").unwrap();
    for line in story {
        for face in FACE_PATHS {
            assert!(
                !line.contains(face),
                "vault.rs names a face ({face}): {line}"
            );
        }
    }
}

#[test]
fn impl_vault_lives_only_in_the_story_the_builder_and_the_faces() {
    let mut places = BTreeSet::new();
    for (name, code) in code_files(&facade_src()) {
        let implements = code.iter().any(|l| {
            let Some(rest) = l.trim_start().strip_prefix("impl ") else {
                return false;
            };
            let ty = rest.split([' ', '{', '<']).next().unwrap_or_default();
            ty == "Vault" || ty.ends_with("::Vault")
        });
        if implements {
            places.insert(name.clone());
            assert!(
                name == "vault.rs" || is_face(&name),
                "{name} adds methods to Vault; only vault.rs, the builder and the faces may"
            );
        }
    }
    assert!(places.contains("vault.rs") && places.contains("sessions.rs"));
}

/// The names of the functions defined in `impl Vault` blocks of `code`.
fn vault_methods(code: &[String]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut depth: Option<i64> = None;
    for line in code {
        let t = line.trim_start();
        if depth.is_none() {
            let opens = t.strip_prefix("impl ").is_some_and(|rest| {
                let ty = rest.split([' ', '{', '<']).next().unwrap_or_default();
                ty == "Vault" || ty.ends_with("::Vault")
            });
            if opens {
                depth = Some(0);
            } else {
                continue;
            }
        }
        out.extend(fns_defined(std::slice::from_ref(line)));
        let d = depth.get_or_insert(0);
        *d += i64::try_from(line.matches('{').count()).unwrap();
        *d -= i64::try_from(line.matches('}').count()).unwrap();
        if *d <= 0 && line.contains('}') {
            depth = None;
        }
    }
    out
}

#[test]
fn the_story_calls_no_method_a_face_defines() {
    let files = code_files(&facade_src());
    let mut below = BTreeSet::new();
    let mut faces = BTreeSet::new();
    for (name, code) in &files {
        if name == "vault.rs" || is_machinery(name) {
            below.extend(fns_defined(code));
        } else if is_face(name) {
            faces.extend(vault_methods(code));
        }
    }
    let face_only: Vec<_> = faces.difference(&below).cloned().collect();
    for expected in ["mint_session", "open", "security_status", "import_foreign"] {
        assert!(
            face_only.iter().any(|f| f == expected),
            "{expected} is a face's: {face_only:?}"
        );
    }
    let (_, story) = files.iter().find(|(n, _)| n == "vault.rs").unwrap();
    for line in story {
        for f in &face_only {
            for call in [
                format!("self.{f}("),
                format!("Self::{f}("),
                format!("Vault::{f}("),
            ] {
                assert!(
                    !line.contains(&call),
                    "vault.rs calls `{f}`, which a face defines: {line}"
                );
            }
        }
    }
}

#[test]
fn imports_are_at_the_top_not_inline_paths() {
    for (name, code) in code_files(&facade_src()) {
        for line in outside_imports(&code) {
            assert!(
                !line.contains("crate::") && !line.contains("super::"),
                "{name} names a module path inline; import it at the top: {line}"
            );
        }
    }
}

/// The leaf crates whose rustdoc examples speak in the facade's paths: an example on an item
/// the facade re-exports is written with `credlock::` paths (what an app depending only on
/// `credlock` writes), and runs in the leaf's own doc tests through a hidden first line that
/// stands a module `credlock` in for the facade (`# mod credlock { pub use credlock_audit as
/// audit; }`).
const LEAVES_SPEAKING_FACADE: [&str; 6] = [
    "credlock-audit",
    "credlock-client-sessions",
    "credlock-crypto",
    "credlock-policy",
    "credlock-session",
    "credlock-totp",
];

/// What the facade re-exports from the leaves and `secrecy`: (module path, name), the module
/// "" for the crate root; a name `*` for a whole crate re-exported as a module.
fn facade_reexports() -> BTreeSet<(String, String)> {
    let src = facade_src();
    let mut out = BTreeSet::new();
    for (file, module) in [
        ("lib.rs", ""),
        ("audit.rs", "audit"),
        ("crypto.rs", "crypto"),
        ("sessions.rs", "sessions"),
        ("registry/mod.rs", "registry"),
    ] {
        let text = std::fs::read_to_string(src.join(file)).unwrap();
        for statement in text.split(';') {
            let Some(rest) = statement.trim().rsplit("pub use ").next() else {
                continue;
            };
            if !statement.contains("pub use ") {
                continue;
            }
            let rest = rest.trim();
            if let Some((_, alias)) = rest.split_once(" as ") {
                out.insert((alias.trim().to_owned(), "*".to_owned()));
            } else if rest == "secrecy" {
                out.insert((module.to_owned(), "secrecy".to_owned()));
            } else if let Some((krate, names)) = rest.split_once("::")
                && krate.starts_with("credlock_")
            {
                for name in names.trim_matches(|c| "{} \n".contains(c)).split(',') {
                    let name = name.trim();
                    if !name.is_empty() {
                        out.insert((module.to_owned(), name.to_owned()));
                    }
                }
            }
        }
    }
    out
}

/// The code blocks of a file's doc comments, as (first line, code).
fn doc_blocks(text: &str) -> Vec<(usize, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        let Some(doc) = t.strip_prefix("///").or_else(|| t.strip_prefix("//!")) else {
            continue;
        };
        let doc = doc.strip_prefix(' ').unwrap_or(doc);
        if doc.starts_with("```") {
            match current.take() {
                Some(block) => blocks.push(block),
                None => current = Some((i + 1, String::new())),
            }
        } else if let Some((_, code)) = current.as_mut() {
            code.push_str(doc);
            code.push('\n');
        }
    }
    blocks
}

#[test]
fn leaf_examples_in_facade_paths_name_only_what_the_facade_re_exports() {
    let exported = facade_reexports();
    let modules: BTreeSet<&str> = exported.iter().map(|(m, _)| m.as_str()).collect();
    let mut checked = 0;
    for leaf in LEAVES_SPEAKING_FACADE {
        let mut files = Vec::new();
        sources(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(leaf)
                .join("src"),
            &mut files,
        );
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (line, code) in doc_blocks(&text) {
                if !code.contains("# mod credlock") {
                    continue;
                }
                checked += 1;
                let place = format!("{}:{line}", file.display());
                for path in code.split("credlock::").skip(1) {
                    let path: String = path
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || "_:{}, \n".contains(*c))
                        .collect();
                    let segments: Vec<&str> = path.split("::").collect();
                    let (module, names) = match segments.as_slice() {
                        [first, rest @ ..] if modules.contains(first) && !rest.is_empty() => {
                            (*first, rest[0])
                        }
                        // The module itself (a tracing target, say).
                        [first] if modules.contains(first) => continue,
                        [first, ..] => ("", *first),
                        [] => continue,
                    };
                    if exported.contains(&(module.to_owned(), "*".to_owned())) {
                        continue;
                    }
                    let names = names.split('}').next().unwrap_or_default();
                    for name in names.trim_start_matches('{').split(',') {
                        let name = name
                            .trim()
                            .split([' ', ':', '\n'])
                            .next()
                            .unwrap_or_default();
                        if name.is_empty() || name == "self" {
                            continue;
                        }
                        let shown = if module.is_empty() {
                            name.to_owned()
                        } else {
                            format!("{module}::{name}")
                        };
                        assert!(
                            exported.contains(&(module.to_owned(), name.to_owned())),
                            "{place}: the example names credlock::{shown}, which the facade \
                             does not re-export"
                        );
                    }
                }
            }
        }
    }
    assert!(checked >= 100, "the examples were found ({checked})");
}
