"""Opens an Eclosion legacy credentials file the way Eclosion does, with Python's
`cryptography`; used by tests/python_live.rs.

Usage: python open_legacy.py FILE   (passphrase on stdin)
Prints {"email", "password", "mfa_secret", "raw_keys"} as JSON.
"""

import base64
import json
import sys

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC


def main() -> None:
    passphrase = sys.stdin.read()
    with open(sys.argv[1], encoding="utf-8") as f:
        text = f.read()
    data = json.loads(text)
    assert data["encrypted"] is True and data["version"] == "1.0"
    salt = base64.b64decode(data["salt"], validate=True)
    assert len(salt) == 16
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=480_000)
    fernet = Fernet(base64.urlsafe_b64encode(kdf.derive(passphrase.encode("utf-8"))))

    def field(name: str) -> str:
        token = data[name]
        return fernet.decrypt(token.encode("ascii")).decode("utf-8") if token else ""

    # The exact layout Eclosion's json.dump(indent=2) writes.
    assert text == json.dumps(data, indent=2), "layout differs from json.dump(indent=2)"
    json.dump({"email": field("email"), "password": field("password"),
               "mfa_secret": field("mfa_secret"), "raw_keys": list(data)}, sys.stdout)


if __name__ == "__main__":
    main()
