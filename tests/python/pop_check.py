"""Checks an Azure Arc signed HTTP request (SHR) and the token request's
req_cnf with PyJWT and cryptography, libraries nobody here wrote: the RFC 7638
thumbprint recomputed from the key's own numbers, the RS256 signature by the
key in cnf.jwk, and the access token bound (cnf.kid) to that same key.

Usage: pop_check.py SHR REQ_CNF
Prints the SHR's header and payload (without the access token) as one JSON
line; exits non-zero on the first surprise.
"""
import base64
import hashlib
import json
import sys

import jwt  # PyJWT, installed with msal
from jwt.algorithms import RSAAlgorithm


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def uint(n):
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


shr, req_cnf = sys.argv[1:3]
parts = shr.split(".")
assert len(parts) == 3 and all("=" not in p for p in parts), "three base64url parts without padding"
header = jwt.get_unverified_header(shr)
assert header == {"typ": "pop", "alg": "RS256", "kid": header["kid"]}, header
unverified = json.loads(unb64url(parts[1]))
jwk = unverified["cnf"]["jwk"]
public = RSAAlgorithm.from_jwk(json.dumps(jwk))
numbers = public.public_numbers()
assert public.key_size == 2048, public.key_size
canonical = json.dumps({"e": b64url(uint(numbers.e)), "kty": "RSA", "n": b64url(uint(numbers.n))},
                       separators=(",", ":"), sort_keys=True)
thumbprint = b64url(hashlib.sha256(canonical.encode()).digest())
assert header["kid"] == thumbprint == jwk["kid"], (header, jwk["kid"], thumbprint)
assert jwk["alg"] == "RS256" and jwk["kty"] == "RSA", jwk
payload = jwt.decode(shr, key=public, algorithms=["RS256"], options={"verify_aud": False, "verify_exp": False})
assert set(payload) == {"at", "ts", "u", "cnf", "nonce"}, sorted(payload)
assert isinstance(payload["ts"], int) and len(payload["nonce"]) >= 16, payload
cnf = json.loads(unb64url(req_cnf))
assert cnf == {"kid": thumbprint, "xms_ksl": "sw"}, cnf
at = jwt.decode(payload["at"], options={"verify_signature": False})
assert at["cnf"]["kid"] == thumbprint, at.get("cnf")
del payload["at"]
print(json.dumps({"header": header, "payload": payload}))
