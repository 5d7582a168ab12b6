#!/usr/bin/env python3
"""Generate Argon2id and NFKC-normalised PBKDF2 known-answer vectors with pyca/cryptography.

Argon2id (version 0x13, 32-byte output, no secret, no associated data) comes from
`cryptography.hazmat.primitives.kdf.argon2.Argon2id`, which runs OpenSSL's Argon2 (an
implementation independent of RustCrypto's `argon2`). NFKC comes from Python's `unicodedata`
and PBKDF2-HMAC-SHA256 from pyca's `PBKDF2HMAC`. The RFC 9106 section 5.3 vector (with secret
and associated data) is recomputed here too, as a check that the generator's Argon2id is right.

Every input is fixed below; re-running gives identical vectors (only "generator" can change).

Usage:
    python3 generate.py            # writes vectors.json next to this file
    python3 generate.py --check    # regenerates and compares with the existing file
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import unicodedata
from pathlib import Path

import cryptography
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

RFC9106_TAG = "0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659"

# (passphrase, salt byte, memory KiB, passes, lanes): odd and edge parameters, the OWASP
# floor, and RFC 9106's second recommended option.
ARGON2ID = [
    ("correct horse battery staple", 0x01, 8, 1, 1),
    ("correct horse battery staple", 0x01, 9, 1, 1),
    ("p", 0x02, 24, 3, 3),
    ("Tangerine-Rocket-42!", 0x03, 37, 5, 2),
    ("Tangerine-Rocket-42!", 0x03, 1031, 2, 7),
    ("Pässwörd ☃ 𝄞", 0x04, 256, 2, 1),
    ("Tangerine-Rocket-42!", 0x05, 19 * 1024, 2, 1),
    ("Tangerine-Rocket-42!", 0x06, 64 * 1024, 3, 4),
]

# (passphrase as typed, salt byte, iterations): each hashed after NFKC normalisation.
NFKC = [
    ("caf\u00e9", 0x11, 1000),        # NFC
    ("cafe\u0301", 0x11, 1000),       # NFD of the same word: same key
    ("\uff30\uff41\uff53\uff53", 0x12, 1000),  # fullwidth "Pass"
    ("\ufb01sh \u2460", 0x13, 1000),  # ligature fi, circled digit one
    ("Tangerine-Rocket-42!", 0x14, 1000),       # already NFKC
]


def argon2id(password: bytes, salt: bytes, m: int, t: int, p: int, **extra) -> bytes:
    return Argon2id(salt=salt, length=32, iterations=t, lanes=p, memory_cost=m, **extra).derive(password)


def build() -> dict:
    rfc = argon2id(b"\x01" * 32, b"\x02" * 16, 32, 3, 4, secret=b"\x03" * 8, ad=b"\x04" * 12).hex()
    assert rfc == RFC9106_TAG, "the generator's Argon2id does not reproduce RFC 9106 section 5.3"
    return {
        "generator": {
            "script": "testdata/kdf-argon2id-nfkc/generate.py",
            "python": platform.python_version(),
            "cryptography": cryptography.__version__,
            "unicode": unicodedata.unidata_version,
        },
        "argon2id": [
            {
                "passphrase": pw,
                "salt_hex": bytes([s]).hex() * 16,
                "memory_kib": m,
                "passes": t,
                "lanes": p,
                "key_hex": argon2id(pw.encode("utf-8"), bytes([s]) * 16, m, t, p).hex(),
            }
            for pw, s, m, t, p in ARGON2ID
        ],
        "pbkdf2_nfkc": [
            {
                "passphrase": pw,
                "normalized": unicodedata.normalize("NFKC", pw),
                "salt_hex": bytes([s]).hex() * 16,
                "iterations": n,
                "key_hex": PBKDF2HMAC(hashes.SHA256(), 32, bytes([s]) * 16, n)
                .derive(unicodedata.normalize("NFKC", pw).encode("utf-8"))
                .hex(),
            }
            for pw, s, n in NFKC
        ],
    }


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    out = Path(__file__).with_name("vectors.json")
    data = build()
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    if args.check:
        old = json.loads(out.read_text(encoding="utf-8"))
        old.pop("generator"); data.pop("generator")
        if old != data:
            print("vectors.json differs from a fresh run", file=sys.stderr)
            return 1
        print("vectors.json matches")
        return 0
    out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
