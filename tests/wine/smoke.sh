#!/usr/bin/env bash
# The Windows build under wine64, against the bundled emulator on loopback (docs/platforms.md):
#   tests/wine/smoke.sh path/to/entratool.exe
# --version; config create with a PFX; get-token and its cache hit; the git helper for a bound URL
# (username and password) and an unbound one (nothing); the docker helper (list, an unbound
# registry); cert info; the private folders it made; then a profile naming a certificate in the
# CurrentUser\My store by thumbprint, as far as wine's CNG goes (the outcome is printed either way).
#
# Wine's schannel fails CA-signed chains (its offline revocation check) and hangs on kept-alive TLS
# replies, so the emulator is reached over loopback http, which entratool allows for tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
exe=$(realpath "${1:?usage: $0 entratool.exe}")
started=$SECONDS

work=$(mktemp -d)
cleanup() {
  kill "${emu_pid:-}" 2>/dev/null || true
  /usr/lib/wine/wineserver -k 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "wine smoke: FAILED: $*" >&2
  exit 1
}

export WINEPREFIX=$work/prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" DISPLAY=
mkdir -p "$work/bin"
cp "$exe" "$work/bin/entratool.exe"
# wine 8 has no bcryptprimitives.dll (ProcessPrng, which Rust's std imports): a stand-in built
# here, beside the .exe, calling RtlGenRandom. Only for wine; Windows 10+ has the real one.
x86_64-w64-mingw32-gcc -shared -O2 -o "$work/bin/bcryptprimitives.dll" tests/wine/bcryptprimitives.c \
  tests/wine/bcryptprimitives.def -ladvapi32
# Debian's wine64 package has the loader alone, off PATH: wine's own programs run through it.
wine=/usr/lib/wine/wine64
"$wine" wineboot -i >/dev/null 2>&1 || true
winpath() { "$wine" winepath -w "$1" 2>/dev/null | tr -d '\r'; }
et() { "$wine" "$work/bin/entratool.exe" "$@"; }

tenant=87654321-4321-4321-4321-cba987654321
client=12345678-1234-1234-1234-123456789abc
openssl req -x509 -newkey rsa:2048 -keyout "$work/key.pem" -out "$work/cert.pem" -days 90 -nodes \
  -subj "/CN=entratool-wine" 2>/dev/null
openssl pkcs12 -export -in "$work/cert.pem" -inkey "$work/key.pem" -out "$work/certificate.pfx" \
  -password pass:wine-password
printf '{"clients": [{"tenant": "%s", "clientId": "%s", "certificates": ["%s"]}]}' \
  "$tenant" "$client" "$work/cert.pem" > "$work/emulator.json"
cargo build --quiet --release -p entra-emulator
target/release/entra-emulator --config "$work/emulator.json" > "$work/emulator.out" &
emu_pid=$!
for _ in $(seq 100); do [ -s "$work/emulator.out" ] && break; sleep 0.1; done
url=$(head -1 "$work/emulator.out" | awk '{print $NF}')
case $url in http://127.0.0.1:*) ;; *) fail "the emulator did not start: $(cat "$work/emulator.out")" ;; esac

ENTRATOOL_CONFIG_DIR=$(winpath "$work/config")
ENTRATOOL_CACHE_DIR=$(winpath "$work/cache")
export ENTRATOOL_CONFIG_DIR ENTRATOOL_CACHE_DIR ENTRATOOL_KEYRING=none ENTRATOOL_CERTIFICATE_PASSWORD=wine-password
unset SSL_CERT_FILE SSL_CERT_DIR

version=$(et --version | tr -d '\r')
echo "$version" | grep -q '^entratool [0-9]' || fail "--version printed: $version"
echo "$version" | grep -q 'x86_64-pc-windows-gnu' || fail "--version does not name the target: $version"
echo "ok: $version"

et config create --name wine --client-id "$client" --tenant-id "$tenant" \
  --certificate "$(winpath "$work/certificate.pfx")" --authority-host "$url" \
  --match https://dev.azure.com/contoso > "$work/create.out" 2>&1 || fail "config create: $(cat "$work/create.out")"
[ -s "$work/config/profiles.json" ] || fail "config create wrote no profiles.json"
echo "ok: config create with a PFX"

token=$(et get-token -p wine | tr -d '\r')
[ "$(echo "$token" | tr -cd '.' | wc -c)" = 2 ] || fail "get-token printed no JWT"
hit=$(ENTRATOOL_TRACE=1 et get-token -p wine 2>&1 >/dev/null | tr -d '\r')
echo "$hit" | grep -q "cache hit" || fail "the second get-token was not a cache hit: $hit"
[ "$(ENTRATOOL_TRACE=1 et get-token -p wine 2>/dev/null | tr -d '\r')" = "$token" ] || fail "the hit gave another token"
echo "ok: get-token, then a cache hit with the same token"

answer=$(printf 'protocol=https\nhost=dev.azure.com\npath=contoso/project/_git/repo\n\n' | et git-credential get | tr -d '\r')
echo "$answer" | grep -q '^username=' || fail "git helper: no username for a bound URL"
password=$(echo "$answer" | sed -n 's/^password=//p')
[ "$(echo "$password" | tr -cd '.' | wc -c)" = 2 ] || fail "git helper: the password is no JWT"
again=$(printf 'protocol=https\nhost=dev.azure.com\npath=contoso/project/_git/repo\n\n' | et git-credential get | tr -d '\r')
[ "$(echo "$again" | sed -n 's/^password=//p')" = "$password" ] || fail "git helper: the second answer is not the cached token"
unbound=$(printf 'protocol=https\nhost=github.com\npath=x\n\n' | et git-credential get | wc -c)
[ "$unbound" = 0 ] || fail "git helper answered $unbound bytes for an unbound host"
echo "ok: git helper (a bound URL answered, an unbound one not)"

list=$(et docker-credential list | tr -d '\r')
[ "$list" = "{}" ] || fail "docker helper list: $list"
if printf 'unbound.azurecr.io' | et docker-credential get > "$work/docker.out" 2>&1; then
  fail "docker helper answered for an unbound registry"
fi
grep -q "credentials not found" "$work/docker.out" || fail "docker helper: $(cat "$work/docker.out")"
echo "ok: docker helper (list; an unbound registry gets 'credentials not found')"

info=$(et cert info -p wine | tr -d '\r')
thumb=$(openssl x509 -in "$work/cert.pem" -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')
echo "$info" | grep -q "$thumb" || fail "cert info does not show thumbprint $thumb: $info"
echo "ok: cert info"

# install: the helper names as hard links (.exe), which git and docker run by name; again: kept.
mkdir -p "$work/helpers"
cp "$work/bin/bcryptprimitives.dll" "$work/helpers/" # the wine-only stand-in, beside these .exe too
et install --dir "$(winpath "$work/helpers")" > "$work/install.out" 2>&1 || fail "install: $(tr -d '\r' < "$work/install.out")"
for helper in git-credential-entratool docker-credential-entratool; do
  [ "$(stat -c %h "$work/helpers/$helper.exe")" -ge 2 ] || [ -s "$work/helpers/$helper.exe" ] || fail "install made no $helper.exe"
done
via_name=$(printf 'protocol=https\nhost=dev.azure.com\npath=contoso/project/_git/repo\n\n' |
  "$wine" "$work/helpers/git-credential-entratool.exe" get | tr -d '\r' | sed -n 's/^password=//p')
[ "$via_name" = "$password" ] || fail "git-credential-entratool.exe did not answer as the git helper"
[ "$("$wine" "$work/helpers/docker-credential-entratool.exe" list | tr -d '\r')" = "{}" ] ||
  fail "docker-credential-entratool.exe did not answer as the docker helper"
et install --dir "$(winpath "$work/helpers")" | tr -d '\r' | grep -q "is already this entratool" || fail "a second install"
echo "ok: install (hard links named .exe answer as the git and docker helpers; a second install keeps them)"

# The folders entratool made pass its own owner-SID and access-list check (doctor), and a folder
# others may write (wine maps mode 0777 to an access list granting Everyone) is refused.
et doctor -p wine > "$work/doctor.out" 2>&1 || true
grep -q "cache folder .* is yours alone" "$work/doctor.out" || fail "doctor: $(tr -d '\r' < "$work/doctor.out")"
chmod 0777 "$work/cache"
if et get-token -p wine > /dev/null 2> "$work/open.err"; then
  fail "a cache folder others may write was used"
fi
grep -q "refusing" "$work/open.err" || fail "the open cache folder: $(tr -d '\r' < "$work/open.err")"
chmod 0700 "$work/cache"
echo "ok: owner and access lists (private folders pass; a folder others may write is refused)"

# The certificate store: import the PFX into CurrentUser\My (tests/wine/import-pfx.c), then a
# profile by thumbprint. Wine's CNG decides how far it goes; the note reports it.
x86_64-w64-mingw32-gcc -municode -O2 -o "$work/bin/import-pfx.exe" tests/wine/import-pfx.c -lcrypt32
# Wine's crypt32 reads the 3DES/SHA-1 PFX of Windows' Export-PfxCertificate, not OpenSSL 3's AES one.
openssl pkcs12 -export -in "$work/cert.pem" -inkey "$work/key.pem" -out "$work/legacy.pfx" -password pass:wine-password \
  -certpbe PBE-SHA1-3DES -keypbe PBE-SHA1-3DES -macalg sha1
if "$wine" "$work/bin/import-pfx.exe" "$(winpath "$work/legacy.pfx")" wine-password > "$work/import.out" 2>&1; then
  if ! et config create --name store --client-id "$client" --tenant-id "$tenant" --certificate-thumbprint "$thumb" \
    --authority-host "$url" > "$work/store.err" 2>&1; then
    echo "note: under wine, config create with the certificate in the store failed: $(tr -d '\r' < "$work/store.err" | head -4)"
  elif store_token=$(et get-token -p store 2> "$work/store.err"); then
    [ "$(echo "$store_token" | tr -d '\r' | tr -cd '.' | wc -c)" = 2 ] || fail "store profile: no JWT"
    echo "ok: a certificate in CurrentUser\\My by thumbprint, signed through CNG"
  else
    echo "note: under wine, get-token with the certificate in the store failed: $(tr -d '\r' < "$work/store.err" | head -4)"
  fi
else
  echo "note: wine could not import the PFX into CurrentUser\\My: $(tr -d '\r' < "$work/import.out")"
fi
echo "wine smoke: passed in $((SECONDS - started)) s"
