"""Checks a Microsoft Graph proof of possession (addKey/removeKey) with PyJWT,
a library nobody here wrote: the RS256 signature against the certificate that
must have signed it, and the claims and header Graph requires.

Usage: proof_check.py PROOF CERT_PEM OBJECT_ID SHA1_HEX
Prints the decoded header and claims as one JSON line; exits non-zero on the first surprise.
"""
import base64
import hashlib
import json
import sys

import jwt  # PyJWT, installed with msal
from cryptography import x509
from cryptography.hazmat.primitives import serialization

proof, cert_path, object_id, sha1_hex = sys.argv[1:5]
cert = x509.load_pem_x509_certificate(open(cert_path, "rb").read())
public = cert.public_key()

header_b64, payload_b64, _ = proof.split(".")
assert "=" not in header_b64 and "=" not in payload_b64, "padding in the proof"
header = jwt.get_unverified_header(proof)
claims = jwt.decode(
    proof,
    key=public.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
    algorithms=["RS256"],
    audience="00000002-0000-0000-c000-000000000000",
    issuer=object_id,
    options={"require": ["aud", "iss", "nbf", "exp", "jti"]},
)
der = cert.public_bytes(serialization.Encoding.DER)
assert header["alg"] == "RS256" and header["typ"] == "JWT", header
assert header["kid"] == sha1_hex.upper() == hashlib.sha1(der).hexdigest().upper(), header
assert header["x5t"] == base64.urlsafe_b64encode(hashlib.sha1(der).digest()).rstrip(b"=").decode(), header
assert claims["exp"] - claims["nbf"] == 600, claims
print(json.dumps({"header": header, "claims": claims}))
