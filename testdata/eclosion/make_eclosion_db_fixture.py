#!/usr/bin/env python3
"""Build (and check) `eclosion-current.db`: Eclosion's current credentials store, made with
Python's sqlite3 from Eclosion's CREATE TABLE statements, sealed with pyca `cryptography`
exactly as Eclosion's `CredentialsRepository.save()` does.

Sealing, as Eclosion's `core/encryption.py`: PBKDF2HMAC(SHA256, length 32, 16-byte salt,
480000 iterations) over the UTF-8 passphrase, urlsafe-base64 of that is the `Fernet` key;
each non-empty value is `Fernet(key).encrypt(value.encode())` (an empty MFA secret or notes
key is stored as NULL); the salt is standard base64. To make the file a known-answer vector,
the salt, the IVs and the Fernet timestamp are pinned: the tokens are made by pyca's own
`Fernet._encrypt_from_parts(data, time, iv)`, the method `Fernet.encrypt` calls with a random
IV and the current time.

The check at the end reads the row back as Eclosion's `CredentialsRepository.load()` and
`get_notes_key()` do, and makes sure a wrong passphrase is refused.

Usage: python3 make_eclosion_db_fixture.py [--out DIR]
"""

from __future__ import annotations

import argparse
import base64
import sqlite3
import sys
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC

FILE_NAME = "eclosion-current.db"
PASSPHRASE = "Correct-Horse-9-Battery!"
VALUES = {
    "email": "carol@example.org",
    "password": "current-Schema-pw-7",
    "mfa_secret": "JBSWY3DPEHPK3PXP",
    "notes_key": "bm90ZXMta2V5LWZvci1jcmVkbG9jay10ZXN0cy0wMQ==",
}
CREATED_AT = "2026-02-01 09:30:00.123456"
UPDATED_AT = "2026-02-14 18:05:42.654321"
SALT = bytes.fromhex("0f1e2d3c4b5a69788796a5b4c3d2e1f0")
FERNET_TIME = 1770888600  # 2026-02-12T09:30:00Z
IVS = {
    "email": bytes.fromhex("d0" * 16),
    "password": bytes.fromhex("d1" * 16),
    "mfa_secret": bytes.fromhex("d2" * 16),
    "notes_key": bytes.fromhex("d3" * 16),
}
ITERATIONS = 480_000

# Eclosion's schema (v1.3.10, commit 6de2a48, as SQLAlchemy's create_all() emits it and
# SQLite keeps it in sqlite_master): the credentials table, and three of its other tables so
# that an importer has tables to report as not carried.
SCHEMA = [
    """CREATE TABLE credentials (
\tid INTEGER NOT NULL, 
\tsalt TEXT NOT NULL, 
\temail_encrypted TEXT NOT NULL, 
\tpassword_encrypted TEXT NOT NULL, 
\tmfa_secret_encrypted TEXT, 
\tnotes_key_encrypted TEXT, 
\tcreated_at DATETIME NOT NULL, 
\tupdated_at DATETIME NOT NULL, 
\tPRIMARY KEY (id), 
\tCONSTRAINT single_row_credentials CHECK (id = 1)
)""",
    """CREATE TABLE automation_credentials (
\tid INTEGER NOT NULL, 
\tsalt TEXT NOT NULL, 
\temail_encrypted TEXT NOT NULL, 
\tpassword_encrypted TEXT NOT NULL, 
\tmfa_secret_encrypted TEXT, 
\tconsent_acknowledged BOOLEAN NOT NULL, 
\tconsent_timestamp DATETIME, 
\tcreated_at DATETIME NOT NULL, 
\tPRIMARY KEY (id), 
\tCONSTRAINT single_row_automation CHECK (id = 1)
)""",
    """CREATE TABLE general_notes (
\tmonth_key VARCHAR(10) NOT NULL, 
\tid VARCHAR(36) NOT NULL, 
\tcontent_encrypted TEXT NOT NULL, 
\tsalt TEXT NOT NULL, 
\tcreated_at DATETIME NOT NULL, 
\tupdated_at DATETIME NOT NULL, 
\tPRIMARY KEY (month_key)
)""",
    """CREATE TABLE notes (
\tid VARCHAR(36) NOT NULL, 
\tcategory_type VARCHAR(20) NOT NULL, 
\tcategory_id VARCHAR(100) NOT NULL, 
\tcategory_name VARCHAR(255) NOT NULL, 
\tgroup_id VARCHAR(100), 
\tgroup_name VARCHAR(255), 
\tmonth_key VARCHAR(10) NOT NULL, 
\tcontent_encrypted TEXT NOT NULL, 
\tsalt TEXT NOT NULL, 
\tcreated_at DATETIME NOT NULL, 
\tupdated_at DATETIME NOT NULL, 
\tPRIMARY KEY (id)
)""",
]


def derive_key(passphrase: str, salt: bytes) -> bytes:
    """Eclosion's `derive_key`."""
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=ITERATIONS)
    return base64.urlsafe_b64encode(kdf.derive(passphrase.encode("utf-8")))


def seal(f: Fernet, name: str) -> str | None:
    value = VALUES[name]
    if not value:
        return None
    # What Fernet.encrypt(data) does, with the IV and time pinned.
    return f._encrypt_from_parts(value.encode("utf-8"), FERNET_TIME, IVS[name]).decode("utf-8")


def build(path: Path) -> None:
    if path.exists():
        path.unlink()
    f = Fernet(derive_key(PASSPHRASE, SALT))
    conn = sqlite3.connect(path)
    with conn:
        for statement in SCHEMA:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO credentials (id, salt, email_encrypted, password_encrypted, "
            "mfa_secret_encrypted, notes_key_encrypted, created_at, updated_at) "
            "VALUES (1, ?, ?, ?, ?, ?, ?, ?)",
            (
                base64.b64encode(SALT).decode("utf-8"),
                seal(f, "email"),
                seal(f, "password"),
                seal(f, "mfa_secret"),
                seal(f, "notes_key"),
                CREATED_AT,
                UPDATED_AT,
            ),
        )
    conn.execute("VACUUM")
    conn.close()


def load(path: Path, passphrase: str) -> dict[str, str]:
    """As Eclosion's CredentialsRepository.load() and get_notes_key()."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    row = conn.execute(
        "SELECT salt, email_encrypted, password_encrypted, mfa_secret_encrypted, "
        "notes_key_encrypted, created_at, updated_at FROM credentials WHERE id = 1"
    ).fetchone()
    conn.close()
    f = Fernet(derive_key(passphrase, base64.b64decode(row[0].encode("utf-8"))))
    dec = lambda t: f.decrypt(t.encode("utf-8")).decode("utf-8") if t else ""
    return {
        "email": dec(row[1]),
        "password": dec(row[2]),
        "mfa_secret": dec(row[3]),
        "notes_key": dec(row[4]),
        "created_at": row[5],
        "updated_at": row[6],
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=".", help="directory to write the database into")
    args = ap.parse_args()
    path = Path(args.out) / FILE_NAME
    build(path)
    got = load(path, PASSPHRASE)
    assert got == {**VALUES, "created_at": CREATED_AT, "updated_at": UPDATED_AT}, got
    try:
        load(path, PASSPHRASE.lower())
    except InvalidToken:
        pass
    else:
        raise AssertionError("a wrong passphrase opened the database")
    print(f"wrote {path}; read back as Eclosion does: OK; wrong passphrase refused: OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
