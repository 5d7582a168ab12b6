"""Prints the RFC 6238 TOTP code (HMAC-SHA1, 6 digits, 30 s) of a base32 secret at a time.

Usage: totp.py UNIX_TIME < secret
The secret is read from standard input as a user would paste it (spaces, lowercase, no
padding). Only Python's standard library is used.
"""

import base64
import hashlib
import hmac
import struct
import sys

secret = sys.stdin.read().replace(" ", "").upper()
secret += "=" * (-len(secret) % 8)
key = base64.b32decode(secret)
counter = int(sys.argv[1]) // 30
mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
offset = mac[-1] & 0x0F
value = (struct.unpack(">I", mac[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
print(f"{value:06d}")
