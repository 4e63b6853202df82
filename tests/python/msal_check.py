"""MSAL Python, a reference client nobody here wrote, against entra-emulator.

Usage: msal_check.py URL TENANT CLIENT PFX PFX_PASSWORD KEY_PEM SHA1_THUMBPRINT SECRET
Prints one JSON line per case; exits non-zero on the first surprise.
"""
import json
import sys

import jwt  # PyJWT, installed with msal
import msal

url, tenant, client, pfx, pfx_password, key_pem, sha1, secret = sys.argv[1:9]
authority = f"{url}/{tenant}"
scope = ["https://graph.microsoft.com/.default"]


def app(credential):
    # A fresh app per case: MSAL would otherwise reuse its cached token (and assertion).
    return msal.ConfidentialClientApplication(
        client, authority=authority, client_credential=credential, instance_discovery=False
    )


def report(case, result):
    print(json.dumps({"case": case, "ok": "access_token" in result,
                      "error_codes": result.get("error_codes"), "error": result.get("error")}), flush=True)
    return result


def must_succeed(case, result):
    report(case, result)
    if "access_token" not in result:
        sys.exit(f"{case}: expected a token, got {result}")
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    if claims.get("appid") != client or claims.get("aud") != "https://graph.microsoft.com":
        sys.exit(f"{case}: unexpected claims {claims}")


# 1. Certificate from a PFX: MSAL's PS256 + x5t#S256 path.
must_succeed("pfx-ps256", app({"private_key_pfx_path": pfx, "passphrase": pfx_password}).acquire_token_for_client(scopes=scope))

# 2. PEM key with a SHA-1 thumbprint: RS256 + x5t.
key = open(key_pem).read()
must_succeed("pem-rs256", app({"private_key": key, "thumbprint": sha1}).acquire_token_for_client(scopes=scope))

# 3. Client secret.
must_succeed("secret", app(secret).acquire_token_for_client(scopes=scope))

# 4. A tampered assertion: valid signature over other claims.
import time, uuid
now = int(time.time())
endpoint = f"{url}/{tenant}/oauth2/v2.0/token"
good = jwt.encode({"aud": endpoint, "iss": client, "sub": client, "jti": str(uuid.uuid4()), "nbf": now, "iat": now,
                   "exp": now + 600}, key, algorithm="RS256", headers={"x5t": jwt.utils.base64url_encode(bytes.fromhex(sha1)).decode()})
head, body, sig = good.split(".")
forged_claims = jwt.utils.base64url_encode(json.dumps({"aud": endpoint, "iss": client, "sub": client,
    "jti": str(uuid.uuid4()), "nbf": now, "iat": now, "exp": now + 600, "extra": "x"}).encode()).decode()
tampered = f"{head}.{forged_claims}.{sig}"
r = report("tampered", app({"client_assertion": tampered}).acquire_token_for_client(scopes=scope))
if r.get("error_codes") != [700027]:
    sys.exit(f"tampered: expected AADSTS700027, got {r}")

# 5. The untampered one is accepted once, and its replay is refused.
must_succeed("handmade", app({"client_assertion": good}).acquire_token_for_client(scopes=scope))
r = report("replay", app({"client_assertion": good}).acquire_token_for_client(scopes=scope))
if "access_token" in r:
    sys.exit("replay: a reused jti was accepted")

# 6. An assertion valid for an hour is outside the allowed time range.
long = jwt.encode({"aud": endpoint, "iss": client, "sub": client, "jti": str(uuid.uuid4()), "nbf": now, "iat": now,
                   "exp": now + 3600}, key, algorithm="RS256", headers={"x5t": jwt.utils.base64url_encode(bytes.fromhex(sha1)).decode()})
r = report("too-long", app({"client_assertion": long}).acquire_token_for_client(scopes=scope))
if r.get("error_codes") != [700024]:
    sys.exit(f"too-long: expected AADSTS700024, got {r}")
print("msal-check: all cases as expected")
