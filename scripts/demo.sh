#!/usr/bin/env bash
# The whole flow, offline: build, start the bundled Entra ID emulator, make a
# throwaway certificate and profile in a temporary folder, get a token and
# show its decoded claims. Touches nothing outside the temporary folder.
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/sandbox.sh
"$bin/entratool" cert info -p demo

echo "== entratool get-token -p demo --output json"
"$bin/entratool" get-token -p demo --output json | tee "$work/token.json"

echo "== the access token's claims (entratool token decode: never the token itself)"
"$bin/entratool" get-token -p demo | "$bin/entratool" token decode

echo "== a second call is served from the cache"
time "$bin/entratool" get-token -p demo > /dev/null
echo "== the git helper, for a bound URL (and nothing for an unbound one)"
printf 'protocol=https\nhost=dev.azure.com\npath=contoso/project/_git/repo\n\n' | "$bin/entratool" git-credential get | cut -c1-60
printf 'protocol=https\nhost=github.com\npath=x\n\n' | "$bin/entratool" git-credential get | wc -c

echo "== the docker helper: Entra token traded for an ACR refresh token (the emulator plays the registry)"
printf '%s' "${url#https://}" | "$bin/entratool" docker-credential get | cut -c1-90
"$bin/entratool" cache list
