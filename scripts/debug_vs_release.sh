#!/usr/bin/env bash
# Builds a small app outside this workspace that depends on credlock by path, with the
# dev-profile snippet of the guide (crates/credlock/README.md) in its Cargo.toml, in debug
# and in release, and prints one unlock of each KDF in both: PBKDF2-HMAC-SHA256 at 480,000
# iterations and the default Argon2id (64 MiB, 3 passes). Not a timed test: a measurement
# to run by hand, whose figures go in the guide next to the snippet.
#
#   scripts/debug_vs_release.sh            # with the snippet
#   scripts/debug_vs_release.sh --without  # debug without it, for contrast
#   ROUNDS=7 scripts/debug_vs_release.sh   # the median of 7 runs of each build
#
# The app gets this workspace's Cargo.lock (the same dependency versions) and builds offline
# when the registry cache has everything (CARGO_NET_OFFLINE=true to insist). Its target
# directory is its own, unless APP_TARGET_DIR names one.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
with_snippet=1
if [[ "${1:-}" == "--without" ]]; then
    with_snippet=0
fi

app="$(mktemp -d)"
trap 'rm -rf "$app"' EXIT
mkdir -p "$app/src"

snippet="$(awk '
    /^```toml/ { block = ""; inside = 1; next }
    /^```/ && inside { if (block ~ /profile\.dev\.package\.credlock-crypto/) { printf "%s", block; exit } inside = 0; next }
    inside { block = block $0 "\n" }
' "$repo/crates/credlock/README.md")"
if [[ -z "$snippet" ]]; then
    echo "the dev-profile snippet was not found in crates/credlock/README.md" >&2
    exit 1
fi

{
    cat <<TOML
[package]
name = "unlock-timing"
version = "0.0.0"
edition = "2024"
publish = false

# Not a member of any workspace above the temporary directory.
[workspace]

[dependencies]
credlock = { path = "$repo/crates/credlock" }
TOML
    if (( with_snippet )); then
        printf '\n%s' "$snippet"
    fi
} > "$app/Cargo.toml"
cp "$repo/Cargo.lock" "$app/Cargo.lock"

cat > "$app/src/main.rs" <<'RUST'
//! One unlock of each KDF, as an app would call it.
use std::time::Instant;

use credlock::secrecy::SecretString;
use credlock::{Argon2Cost, Credentials, Policy, Vault};

const PASS: &str = "Tangerine-Rocket-42!";

fn unlock_ms(name: &str, builder: impl Fn(&std::path::Path) -> credlock::VaultBuilder) -> f64 {
    let dir = std::env::temp_dir().join(format!("unlock-timing-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    let path = dir.join("vault.json");
    let vault = builder(&path).open().expect("open");
    let pass = Policy::default().check(SecretString::from(PASS)).expect("policy");
    vault
        .store(Credentials::new("alice@example.com", SecretString::from("pw")), pass)
        .expect("store");
    vault.lock();
    let start = Instant::now();
    vault.unlock(&SecretString::from(PASS)).expect("unlock");
    let ms = start.elapsed().as_secs_f64() * 1e3;
    drop(vault);
    let _ = std::fs::remove_dir_all(&dir);
    ms
}

fn main() {
    let profile = if cfg!(debug_assertions) { "debug" } else { "release" };
    let pbkdf2 = unlock_ms("pbkdf2", |p| Vault::builder(p).without_tracing_audit());
    println!("{profile} pbkdf2-480k {pbkdf2:.1}");
    let argon2 = unlock_ms("argon2id", |p| {
        Vault::builder(p)
            .without_tracing_audit()
            .kdf_argon2id(Argon2Cost::RECOMMENDED)
    });
    println!("{profile} argon2id-default {argon2:.1}");
}
RUST

export CARGO_TARGET_DIR="${APP_TARGET_DIR:-$app/target}"
cd "$app"
for profile in debug release; do
    flag=()
    [[ "$profile" == release ]] && flag=(--release)
    echo "building the app ($profile)..." >&2
    cargo build --quiet "${flag[@]}"
done
# ROUNDS=N runs each build N times, alternating, and takes the median (one run by default).
rounds="${ROUNDS:-1}"
results="$app/results"
: > "$results"
for ((i = 0; i < rounds; i++)); do
    "$CARGO_TARGET_DIR/debug/unlock-timing" >> "$results"
    "$CARGO_TARGET_DIR/release/unlock-timing" >> "$results"
done

kind="$( (( with_snippet )) && echo "debug with the dev-profile snippet" || echo "debug WITHOUT the snippet")"
echo "one unlock per KDF, ms, median of $rounds ($kind; $(uname -m)):"
printf '%-18s %10s %10s %8s\n' kdf debug release ratio
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for kdf in pbkdf2-480k argon2id-default; do
    d="$(awk -v k="$kdf" '$1 == "debug" && $2 == k { print $3 }' "$results" | median)"
    r="$(awk -v k="$kdf" '$1 == "release" && $2 == k { print $3 }' "$results" | median)"
    awk -v k="$kdf" -v d="$d" -v r="$r" 'BEGIN { printf "%-18s %10.1f %10.1f %7.2fx\n", k, d, r, d / r }'
done
