#!/usr/bin/env bash
# Runs the tests sized for Miri under it: the portable PBKDF2 path and the Fernet code
# (credlock-crypto), and the store's pure helpers (key and path names). Needs nightly with Miri:
#   rustup +nightly component add miri rust-src
# Isolation is off because sealing reads the real-time clock and paths are made absolute.
set -euo pipefail
cd "$(dirname "$0")/.."
export MIRIFLAGS="${MIRIFLAGS:--Zmiri-disable-isolation}"
# Property tests: a few cases each, which the interpreter finishes in seconds.
export PROPTEST_CASES="${PROPTEST_CASES:-8}"

cargo +nightly miri test -p credlock-crypto --test small_sizes --test clock_salt_and_names
cargo +nightly miri test -p credlock-crypto --lib fernet::
cargo +nightly miri test -p credlock-store --lib -- key:: file::paths::
