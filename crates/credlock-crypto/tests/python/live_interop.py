"""Live interop peer for tests/python_live.rs, run with a Python that has `cryptography`.

Reads a JSON request on stdin:
  {"to_open": [{"passphrase", "salt_hex", "iterations", "token"}], "to_seal": N, "iterations": I}
opens each token with a key derived by cryptography's PBKDF2HMAC, seals N fresh random records
under fresh random passphrases and salts, and writes
  {"opened": [plaintext_hex], "sealed": [{"passphrase", "salt_hex", "iterations", "plaintext_hex", "token"}]}
on stdout.
"""

import base64
import json
import os
import secrets
import sys

import cryptography
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC


def fernet(passphrase: str, salt: bytes, iterations: int) -> Fernet:
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=iterations)
    return Fernet(base64.urlsafe_b64encode(kdf.derive(passphrase.encode("utf-8"))))


def main() -> None:
    req = json.load(sys.stdin)
    opened = [
        fernet(r["passphrase"], bytes.fromhex(r["salt_hex"]), r["iterations"])
        .decrypt(r["token"].encode("ascii"))
        .hex()
        for r in req["to_open"]
    ]
    sealed = []
    for _ in range(req["to_seal"]):
        passphrase = secrets.token_urlsafe(15) + "-Ünï-✓-" + secrets.choice(["🔐", "ß", "€"])
        salt = os.urandom(16)
        record = json.dumps(
            {"email": secrets.token_hex(4) + "@example.com",
             "password": secrets.token_urlsafe(12) + "é",
             "mfa_secret": base64.b32encode(os.urandom(10)).decode()},
            sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        token = fernet(passphrase, salt, req["iterations"]).encrypt(record)
        sealed.append({"passphrase": passphrase, "salt_hex": salt.hex(),
                       "iterations": req["iterations"], "plaintext_hex": record.hex(),
                       "token": token.decode("ascii")})
    json.dump({"cryptography": cryptography.__version__, "opened": opened, "sealed": sealed},
              sys.stdout)


if __name__ == "__main__":
    main()
