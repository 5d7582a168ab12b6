"""Opens an `eclosion.db` the way Eclosion's `CredentialsRepository.load()` and
`get_notes_key()` do (v1.0.27-beta.20260202.1 to v1.3.10: `core/encryption.py`'s
`CredentialEncryption`), with Python's `sqlite3` and `cryptography`; used by
tests/python_live.rs.

Usage: python open_eclosion_db.py DB   (passphrase on stdin)
Prints {"email", "password", "mfa_secret", "mfa_is_null", "notes_key", "created_at",
"updated_at", "create_sql", "wrong_passphrase_refused", "non_canonical_opens"} as JSON.
"""

import base64
import json
import sqlite3
import sys

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def fernet_for(passphrase: str, salt_b64: str) -> Fernet:
    # CredentialEncryption.salt_from_b64 + derive_key
    salt = base64.b64decode(salt_b64.encode("utf-8"))
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=480000)
    return Fernet(base64.urlsafe_b64encode(kdf.derive(passphrase.encode("utf-8"))))


def main() -> None:
    passphrase = sys.stdin.read()
    conn = sqlite3.connect(f"file:{sys.argv[1]}?mode=ro", uri=True)
    row = conn.execute(
        "SELECT salt, email_encrypted, password_encrypted, mfa_secret_encrypted, "
        "notes_key_encrypted, created_at, updated_at FROM credentials"
    ).fetchall()
    create_sql = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'credentials'"
    ).fetchone()[0]
    conn.close()
    assert len(row) == 1, row
    salt, email, password, mfa, notes_key, created_at, updated_at = row[0]
    f = fernet_for(passphrase, salt)
    # CredentialEncryption.decrypt: "" for an empty value.
    dec = lambda t: f.decrypt(t.encode("utf-8")).decode("utf-8") if t else ""
    try:
        fernet_for(passphrase + "x", salt).decrypt(email.encode("utf-8"))
        refused = False
    except InvalidToken:
        refused = True
    # The email token with the unused bits of its last character set: pyca opens it.
    head = email.rstrip("=")
    last = ALPHABET[ALPHABET.index(head[-1]) | 1]
    lenient = head[:-1] + last + email[len(head):]
    json.dump(
        {
            "email": dec(email),
            "password": dec(password),
            "mfa_secret": dec(mfa) if mfa else "",
            "mfa_is_null": mfa is None,
            "notes_key": dec(notes_key) if notes_key else None,
            "created_at": created_at,
            "updated_at": updated_at,
            "create_sql": create_sql,
            "wrong_passphrase_refused": refused,
            "non_canonical_opens": f.decrypt(lenient.encode("utf-8")).decode("utf-8") == dec(email),
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
