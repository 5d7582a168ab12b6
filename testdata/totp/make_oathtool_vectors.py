#!/usr/bin/env python3
"""Make `oathtool.json`: TOTP codes for short and odd base32 secrets, each computed by both
OATH Toolkit's `oathtool --totp -b` and the Python `oathtool` package (the one Eclosion's
login uses, through its `monarchmoney` dependency), which must agree; and the spellings both
refuse.

Needs the `oathtool` program (Debian: `apt-get install oathtool`) and a Python with the
`oathtool` package (`pip install oathtool`):

    python3 make_oathtool_vectors.py [--out DIR]

Deterministic: the same tools give the same file.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import subprocess
from pathlib import Path

import oathtool  # the Python package

# Not a time in the first 30 seconds: the Python package reads a counter of 0 as "now".
TIMES = [59, 1111111109, 1767225600, 2000000000, 20000000000]

# Secrets as typed or stored: short ones (1 to 15 bytes), the common 10- and 20-byte ones,
# lower case, spaces, lengths whose last group is partial.
NAMED = [
    "AA",
    "ME",
    "JBSWY3D",
    "JBSWY3DP",
    "jbsw y3dp",
    "JBSWY3DPEH",
    "JBSWY3DPEHPK3PX",
    "JBSWY3DPEHPK3PXP",
    "JBSWY3DPEHPK3PXPJBSWY3DPEH",
    "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
]

# Spellings both tools refuse (no whole number of bytes, a character outside base32,
# padding where it cannot be).
REFUSED = [
    "A",
    "JBS",
    "JBSWY3",
    "NFDSECRET",
    "JBSWY3DPE",
    "JBSWY3DPEHPK3PX0",
    "JBSWY3DPEHPK3PX1",
    "JBSWY3DPEHPK3PX8",
    '"JBSWY3DPEHPK3PXP"',
    "JBSWY3DP\\u0045HPK3PXP",
    "JBSWY3DP=EHPK3PXP",
    "JBSWY3DPEHPK3PXP!",
]


def generated() -> list[str]:
    """One key of each length from 1 to 40 bytes (SHA-256 chains), unpadded base32."""
    out = []
    for n in range(1, 41):
        key = b""
        seed = f"credlock oathtool vector {n}".encode()
        while len(key) < n:
            seed = hashlib.sha256(seed).digest()
            key += seed
        out.append(base64.b32encode(key[:n]).decode().rstrip("="))
    return out


def c_oathtool(secret: str, time: int) -> str | None:
    out = subprocess.run(
        ["oathtool", "--totp", "-b", "--now", f"@{time}", "--", secret],
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() if out.returncode == 0 else None


def py_oathtool(secret: str, time: int) -> str | None:
    try:
        return oathtool.generate_otp(secret, time // 30)
    except Exception:  # noqa: BLE001  (the package raises binascii.Error and others)
        return None


def key_hex(secret: str) -> str:
    text = secret.replace(" ", "").upper()
    return base64.b32decode(text + "=" * (-len(text) % 8)).hex()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=Path(__file__).parent, type=Path)
    args = parser.parse_args()
    version = subprocess.run(["oathtool", "--version"], capture_output=True, text=True)
    codes = []
    for secret in NAMED + generated():
        for time in TIMES:
            c, py = c_oathtool(secret, time), py_oathtool(secret, time)
            assert c is not None and c == py, (secret, time, c, py)
            codes.append({"secret": secret, "key_hex": key_hex(secret), "time": time, "code": c})
    for secret in REFUSED:
        assert c_oathtool(secret, 59) is None, secret
        assert py_oathtool(secret, 59) is None, secret
    doc = {
        "made_by": "make_oathtool_vectors.py",
        "tools": [version.stdout.splitlines()[0], "oathtool (Python package) 2.4.0"],
        "codes": codes,
        "refused_by_both": REFUSED,
    }
    path = args.out / "oathtool.json"
    # One vector a line, so that a change shows as such in a diff.
    lines = ",\n".join("    " + json.dumps(c) for c in doc.pop("codes"))
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    text = text.replace('"made_by"', f'"codes": [\n{lines}\n  ],\n  "made_by"', 1)
    path.write_text(text + "\n")
    print(f"wrote {path}: {len(codes)} codes, {len(REFUSED)} refused spellings")


if __name__ == "__main__":
    main()
