"""Copies the WebAuthn Level 3 test vectors that credlock-webauthn checks out of the
specification's source (index.bs of the w3c/webauthn repository) into w3c-vectors.json.

    python3 extract.py path/to/index.bs > w3c-vectors.json

Standard library only. Each value is copied as the specification prints it (hex); nothing
is computed here except the hex-to-text of clientDataJSON, kept beside it for reading.
"""

import json
import re
import sys

SECTIONS = {
    "none-es256": "sctn-test-vectors-none-es256",
    "packed-self-es256": "sctn-test-vectors-packed-self-es256",
    "none-es256-crossOrigin": "sctn-test-vectors-none-es256-crossOrigin",
}
FIELDS = ["challenge", "credential_private_key", "aaguid", "credential_id",
          "clientDataJSON", "attestationObject", "authenticatorData", "signature"]


def section(text, anchor):
    start = text.index("{#" + anchor + "}")
    end = text.index("\n## ", start)
    return text[start:end]


def ceremony(block):
    out = {}
    for name in FIELDS:
        m = re.search(r"^" + name + r" = h'([0-9a-f]+)'", block, re.M)
        if m:
            out[name] = m.group(1)
    if "clientDataJSON" in out:
        out["clientDataJSON_text"] = bytes.fromhex(out["clientDataJSON"]).decode()
    return out


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    vectors = {}
    for name, anchor in SECTIONS.items():
        body = section(text, anchor)
        reg, auth = body.split("[=authentication ceremony|Authentication=]")
        vectors[name] = {"registration": ceremony(reg), "authentication": ceremony(auth)}
    prf = text[text.index("{#test-vectors-extensions-prf-ctap}"):]
    prf = prf[:prf.index("END GENERATED CONTENT")]
    grab = lambda n: re.search(n + r" = h'([0-9a-f]+)'", prf).group(1)
    vectors["prf-hmac-secret"] = {
        "authenticator_cred_random": grab("authenticator_cred_random"),
        "prf_eval_first": grab("prf_eval_first"),
        "prf_eval_second": grab("prf_eval_second"),
        "salt1": grab("salt1"),
        "salt2": grab("salt2"),
        "output1": grab("output1"),
        "output2": grab("output2"),
    }
    json.dump(vectors, sys.stdout, indent=2)
    sys.stdout.write("\n")


main()
