"""azure-identity's credentials with no stored secret, a client nobody here
wrote, against entra-emulator: proof that the emulator's federation, OIDC and
managed identity endpoints speak the protocol as Microsoft's SDK does.

Usage: identity_check.py CASE [ARGS...]; the environment carries the rest
(AZURE_AUTHORITY_HOST, SYSTEM_OIDCREQUESTURI, AZURE_POD_IDENTITY_AUTHORITY_HOST,
IDENTITY_ENDPOINT, REQUESTS_CA_BUNDLE). Prints one JSON line: the token's
claims, or the error's text.
"""
import json
import os
import sys

import jwt  # PyJWT, installed with msal
from azure.core.exceptions import ClientAuthenticationError
from azure.identity import AzurePipelinesCredential, ManagedIdentityCredential, WorkloadIdentityCredential

case, args = sys.argv[1], sys.argv[2:]
scope = args[0]
authority = os.environ.get("AZURE_AUTHORITY_HOST")
tenant, client = os.environ.get("AZURE_TENANT_ID"), os.environ.get("AZURE_CLIENT_ID")

if case == "workload-identity":
    cred = WorkloadIdentityCredential(tenant_id=tenant, client_id=client, token_file_path=args[1],
                                      authority=authority, disable_instance_discovery=True)
elif case == "azure-pipelines":
    cred = AzurePipelinesCredential(tenant_id=tenant, client_id=client, service_connection_id=args[1],
                                    system_access_token=args[2], authority=authority,
                                    disable_instance_discovery=True)
elif case == "managed-identity":
    cred = ManagedIdentityCredential(client_id=args[1]) if len(args) > 1 else ManagedIdentityCredential()
else:
    sys.exit(f"unknown case {case}")

try:
    token = cred.get_token(scope)
    claims = jwt.decode(token.token, options={"verify_signature": False})
    print(json.dumps({"ok": True, "claims": claims, "expires_on": token.expires_on}))
except ClientAuthenticationError as e:
    print(json.dumps({"ok": False, "error": str(e)}))
