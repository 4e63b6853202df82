#!/usr/bin/env bash
# The whole flow, offline: build, start the bundled Entra ID emulator, make a
# throwaway certificate and profile in a temporary folder, get a token and
# show its decoded claims. Touches nothing outside the temporary folder, and
# never prints a whole token: tokens are shown as their claims, or shortened.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/sandbox.sh
# A token in what a helper printed, replaced by its length: the demo shows the shape, not the secret.
hide() { sed -E 's/(password=|credential=|"Secret":"|"accessToken": ")([A-Za-z0-9._~+\/=-]{20,})/\1<a token, its claims below>/g'; }

echo "== the certificate, as the Azure portal shows it (compare the SHA-1 thumbprint with the app registration)"
"$bin/entratool" cert info -p demo

echo "== entratool get-token -p demo --output json (the token itself hidden here)"
"$bin/entratool" get-token -p demo --output json | hide

echo "== the access token's claims (entratool token decode: never the token itself)"
"$bin/entratool" get-token -p demo | "$bin/entratool" token decode

echo "== a second call is served from the cache: no request, about as fast as starting a process"
time "$bin/entratool" get-token -p demo > /dev/null

echo "== the git helper, for a URL bound to the profile: username and password lines for git"
printf 'protocol=https\nhost=dev.azure.com\npath=contoso/project/_git/repo\n\n' | "$bin/entratool" git-credential get | hide
echo "== ... and for a host no profile is bound to: nothing at all (0 bytes), so git asks its next helper"
printf 'protocol=https\nhost=github.com\npath=x\n\n' | "$bin/entratool" git-credential get | wc -c

echo "== the docker helper: the Entra token traded for an ACR refresh token (the emulator plays the registry)"
printf '%s' "${url#https://}" | "$bin/entratool" docker-credential get | hide
echo
echo "== what is cached (never the tokens themselves)"
"$bin/entratool" cache list
echo "== the same request traced (ENTRATOOL_TRACE=1): what a helper did, never a secret"
ENTRATOOL_TRACE=1 "$bin/entratool" get-token -p demo --force-refresh 2>&1 >/dev/null

echo "== a certificate that rotates itself: a new certificate made, registered on the app through Graph"
echo "   (the app adds its own key, proven with the current certificate), accepted, and the profile switched"
echo "   (the emulator plays Graph and lets the app read its own object; polls 1 s apart here, 5 s by default)"
ENTRATOOL_ROTATION_POLL_MS=1000 "$bin/entratool" cert rotate -p demo --graph-host "$url" --remove-old
echo "== the profile now names the new certificate and its key id; tokens come from it"
"$bin/entratool" config show -p demo
"$bin/entratool" get-token -p demo --force-refresh | "$bin/entratool" token decode | head -3
