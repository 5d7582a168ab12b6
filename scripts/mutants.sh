#!/usr/bin/env bash
# Mutation testing, one crate at a time: scripts/mutants.sh CRATE [cargo-mutants args...]
#
#   scripts/mutants.sh credlock-crypto
#   scripts/mutants.sh credlock-store --file crates/credlock-store/src/file/read.rs
#   scripts/mutants.sh credlock --list          # what would be tried
#
# The configuration (exclusions and their reasons, timeouts) is .cargo/mutants.toml. Results go
# to target/mutants/CRATE/mutants.out, or MUTANTS_OUT/mutants.out (caught.txt, missed.txt,
# timeout.txt, unviable.txt). One job at a time: each mutant is built and tested in a copy of the tree, with
# a build directory shared between runs (target/mutants/build) so dependencies build once.
# MUTANTS_JOBS=N runs N side by side (tests that wait on disks and child processes leave the
# CPU idle), each building in its own copy.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ $# -lt 1 ]; then
  sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
  exit 2
fi
crate=$1
shift
features=()

if ! command -v cargo-mutants >/dev/null; then
  echo "cargo-mutants is missing: cargo install cargo-mutants --locked" >&2
  exit 1
fi

# What each crate is measured on, and with which features.
case "$crate" in
  credlock)
    # The vault format and the sealed record: the rest of the facade composes the leaves and
    # is measured through them; pass --file to measure more of it.
    defaults=(--file crates/credlock/src/format.rs --file crates/credlock/src/vault/record.rs)
    ;;
  credlock-store | credlock-policy)
    # The store's conformance suite and the policy's strength estimate are features.
    defaults=()
    features=(--all-features)
    ;;
  credlock-crypto | credlock-session | credlock-audit)
    defaults=()
    ;;
  *)
    defaults=()
    ;;
esac
# Explicit --file arguments replace the defaults.
for arg in "$@"; do
  if [ "$arg" = "--file" ] || [ "$arg" = "-f" ]; then
    defaults=()
  fi
done

# Two runs of one crate side by side need two results folders.
out=${MUTANTS_OUT:-target/mutants/$crate}
mkdir -p "$out"
# No debug info: linking the test binaries is most of a mutant's build.
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-0}"
# The store's SIGKILL test kills its writer 100 times instead of 1000: a save that can tear
# shows within a hundred kills, and the full run stays in the test suite.
export CREDLOCK_STORE_CRASH_KILLS="${CREDLOCK_STORE_CRASH_KILLS:-100}"
jobs=${MUTANTS_JOBS:-1}
if [ "$jobs" = 1 ]; then
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(pwd)/target/mutants/build}"
else
  # Side by side, each job builds in its own copy of the tree: cargo names a workspace
  # crate's artifacts by their path inside the workspace, so jobs sharing a target directory
  # would overwrite each other's mutants between the build and the test.
  unset CARGO_TARGET_DIR
fi
exec cargo mutants \
  --package "$crate" \
  --jobs "$jobs" \
  --output "$out" \
  "${features[@]}" \
  "${defaults[@]}" \
  "$@"
