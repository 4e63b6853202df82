# Sourced by demo.sh and bench.sh: a temporary folder with a throwaway
# certificate, the bundled emulator trusting it, and an entratool profile
# `demo` pointing at it, bound to https://dev.azure.com/contoso (git) and to
# the emulator's own host:port as a registry (it also answers ACR's
# /oauth2/exchange). Sets $bin, $work, $url; cleans up on exit.

scripts/deps.sh build
# The first build compiles OpenSSL and takes minutes on 2 cores: cargo shows its progress.
echo "== building (release)"
cargo build --release --workspace --bins
bin="$PWD/target/release"
work=$(mktemp -d)
trap 'kill "${emu_pid:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
# entratool, the emulator and the helpers' names (git-credential-entratool, …) on PATH, as after an install.
"$bin/entratool" install --dir "$work/bin" > /dev/null
export PATH="$work/bin:$bin:$PATH"

tenant=87654321-4321-4321-4321-cba987654321
client=12345678-1234-1234-1234-123456789abc
# The app registration's Object ID (what `cert rotate` proves ownership of).
object_id=0b1ec7a1-0000-4000-8000-0000000de305
export ENTRATOOL_CONFIG_DIR="$work/config" ENTRATOOL_CACHE_DIR="$work/cache"
export ENTRATOOL_KEYRING=none ENTRATOOL_CERTIFICATE_PASSWORD=demo-password

echo "== a throwaway certificate (as the certificate guide shows)"
openssl req -x509 -newkey rsa:2048 -keyout "$work/key.pem" -out "$work/cert.pem" \
  -days 730 -nodes -subj "/CN=entratool-demo" 2>/dev/null
openssl pkcs12 -export -in "$work/cert.pem" -inkey "$work/key.pem" \
  -out "$work/certificate.pfx" -password "pass:$ENTRATOOL_CERTIFICATE_PASSWORD"
# The .pfx holds the key now: no unencrypted copy stays beside it (doctor would flag one).
rm "$work/key.pem"

echo "== a throwaway CA and TLS certificate for the emulator (https, as Entra ID)"
. scripts/emulator-tls.sh
emulator_tls "$work" "entratool demo CA"
export SSL_CERT_FILE="$work/ca.pem"

echo "== the emulator, with the certificate registered on the app"
cat > "$work/emulator.json" <<JSON
{"clients": [{"tenant": "$tenant", "clientId": "$client", "objectId": "$object_id", "graphRead": true, "certificates": ["$work/cert.pem"]}]}
JSON
"$bin/entra-emulator" --config "$work/emulator.json" --tls-cert "$work/tls.pem" --tls-key "$work/tls.key" \
  > "$work/emulator.out" &
emu_pid=$!
for _ in $(seq 50); do [ -s "$work/emulator.out" ] && break; sleep 0.1; done
url=$(head -1 "$work/emulator.out" | awk '{print $NF}')
echo "   $url"
# Profiles without --authority-host use the emulator too, as the Azure SDKs read this variable.
export AZURE_AUTHORITY_HOST="$url"

echo "== entratool config create"
"$bin/entratool" config create --name demo --client-id "$client" --tenant-id "$tenant" \
  --certificate "$work/certificate.pfx" --authority-host "$url" \
  --match https://dev.azure.com/contoso --match "${url#https://}"
