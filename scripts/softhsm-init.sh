#!/usr/bin/env bash
# Creates a throwaway SoftHSM2 token for the PKCS#11 key provider's tests, and prints the
# environment variables to export:
#
#     eval "$(scripts/softhsm-init.sh)"
#     CREDLOCK_REQUIRE_SOFTHSM=1 cargo test -p credlock-keyprovider-pkcs11
#
# The token lives in a new directory (under $TMPDIR, or under the directory given as the first
# argument) with its own softhsm2.conf, so it touches no system token. Its user PIN and SO PIN
# are random, made fresh each run; they are test values, printed for the tests to read.
set -euo pipefail

if ! command -v softhsm2-util >/dev/null; then
  echo "softhsm2-util not found: apt-get install -y softhsm2" >&2
  exit 1
fi

module=""
for candidate in /usr/lib/softhsm/libsofthsm2.so /usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so \
  /usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so /usr/local/lib/softhsm/libsofthsm2.so; do
  if [ -f "$candidate" ]; then
    module="$candidate"
    break
  fi
done
if [ -z "$module" ]; then
  echo "libsofthsm2.so not found" >&2
  exit 1
fi

parent="${1:-${TMPDIR:-/tmp}}"
mkdir -p "$parent"
base="$(mktemp -d "$parent/credlock-softhsm.XXXXXX")"
mkdir "$base/tokens"
chmod 700 "$base" "$base/tokens"
conf="$base/softhsm2.conf"
cat >"$conf" <<CONF
directories.tokendir = $base/tokens
objectstore.backend = file
log.level = ERROR
slots.removable = false
CONF

pin="$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
so_pin="$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
SOFTHSM2_CONF="$conf" softhsm2-util --init-token --free --label credlock \
  --so-pin "$so_pin" --pin "$pin" >/dev/null

printf 'export SOFTHSM2_CONF=%q\n' "$conf"
printf 'export CREDLOCK_PKCS11_MODULE=%q\n' "$module"
printf 'export CREDLOCK_PKCS11_TOKEN=%q\n' credlock
printf 'export CREDLOCK_PKCS11_PIN=%q\n' "$pin"
