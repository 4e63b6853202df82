#!/usr/bin/env bash
# The release artifacts in dist/, taken as a user takes them (docs/install.md), against the bundled
# emulator on loopback (https, with a throwaway CA):
#   tests/release/run.sh ci    the x86_64 static binary alone in an empty root gets a token; the
#                              .deb's contents; the .deb installed with dpkg --root, its
#                              git-credential-entratool answering git; man finds the pages;
#                              sha256sum -c SHA256SUMS
#   tests/release/run.sh all   also: the aarch64 binary under qemu-aarch64 (--version, a fetch and
#                              a cache hit); the .deb installed with dpkg -i in a clean Debian root
#                              made by debootstrap, answering git there; the Windows zip's
#                              entratool.exe under wine (tests/wine/smoke.sh)
set -euo pipefail
cd "$(dirname "$0")/../.."
mode=${1:?usage: $0 ci|all}
root=$PWD
started=$SECONDS
version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
work=$(mktemp -d)
cleanup() {
  kill "${emu_pid:-}" 2>/dev/null || true
  umount -l "$work/debian/proc" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "release test: FAILED: $*" >&2
  exit 1
}
ok() { echo "ok: $* ($((SECONDS - started)) s)"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else unshare --user --map-root-user "$@"; fi; }

tenant=87654321-4321-4321-4321-cba987654321
client=12345678-1234-1234-1234-123456789abc

# The emulator over https (its certificate signed by a throwaway CA), the app's certificate, a PFX.
cargo build --quiet --release -p entra-emulator
. scripts/emulator-tls.sh
emulator_tls "$work" "entratool release test CA"
openssl req -x509 -newkey rsa:2048 -keyout "$work/key.pem" -out "$work/cert.pem" -days 90 -nodes \
  -subj "/CN=entratool-release" 2>/dev/null
openssl pkcs12 -export -in "$work/cert.pem" -inkey "$work/key.pem" -out "$work/certificate.pfx" -password pass:pw
printf '{"clients": [{"tenant": "%s", "clientId": "%s", "certificates": ["%s"]}]}' \
  "$tenant" "$client" "$work/cert.pem" > "$work/emulator.json"
target/release/entra-emulator --config "$work/emulator.json" --tls-cert "$work/tls.pem" --tls-key "$work/tls.key" \
  > "$work/emulator.out" &
emu_pid=$!
for _ in $(seq 100); do [ -s "$work/emulator.out" ] && break; sleep 0.1; done
url=$(head -1 "$work/emulator.out" | awk '{print $NF}')
case $url in https://localhost:*) ;; *) fail "the emulator did not start: $(cat "$work/emulator.out")" ;; esac
unset SSL_CERT_FILE SSL_CERT_DIR

# What every user reads once the archive is installed as INSTALL.txt says: files 0644, folders and
# the binary 0755 (a 0600 man page would be unreadable to all but its installer).
archive_modes() {
  local dir=$1 bad
  bad=$(find "$dir" \( -type d ! -perm 755 \) -o \( -type f ! -name entratool ! -name entratool.exe ! -perm 644 \) \
    -o \( -type f \( -name entratool -o -name entratool.exe \) ! -perm 755 \))
  [ -z "$bad" ] || fail "archive files with the wrong mode: $(stat -c '%a %n' $bad | tr '\n' ' ')"
}

# A root holding only what a user would COPY into a scratch image: the binary, a CA bundle (the
# system store's place, /etc/ssl/certs/ca-certificates.crt) and the PFX, plus the /etc/hosts a
# container runtime writes (the emulator is "localhost"). No libc, no loader.
empty_root() {
  local arch=x86_64 r=$work/empty
  tar -C "$work" -xzf "dist/entratool-$version-$arch-unknown-linux-musl.tar.gz"
  mkdir -p "$r/etc/ssl/certs" "$r/tmp"
  cp "$work/entratool-$version-$arch-unknown-linux-musl/entratool" "$r/entratool"
  cp "$work/ca.pem" "$r/etc/ssl/certs/ca-certificates.crt"
  cp "$work/certificate.pfx" "$r/certificate.pfx"
  printf '127.0.0.1 localhost\n' > "$r/etc/hosts"
  [ -z "$(find "$r" -name 'ld-*' -o -name 'libc*')" ] || fail "the empty root holds a loader or libc"
  file "$r/entratool" | grep -q 'static-pie linked' || fail "not a static PIE: $(file "$r/entratool")"
  archive_modes "$work/entratool-$version-$arch-unknown-linux-musl"
  local run=(env -i HOME=/tmp ENTRATOOL_CONFIG_DIR=/config ENTRATOOL_CACHE_DIR=/cache ENTRATOOL_KEYRING=none
    ENTRATOOL_CERTIFICATE_PASSWORD=pw "$(command -v chroot)" "$r" /entratool)
  as_root "${run[@]}" config create --name scratch --client-id "$client" --tenant-id "$tenant" \
    --certificate /certificate.pfx --authority-host "$url" > "$work/empty.out" 2>&1 ||
    fail "config create in the empty root: $(cat "$work/empty.out")"
  local token
  token=$(as_root "${run[@]}" get-token -p scratch) || fail "get-token in the empty root"
  [ "$(tr -cd '.' <<<"$token" | wc -c)" = 2 ] || fail "get-token in the empty root printed no JWT"
  # The bundle file is the trust store: without the CA in it, the same fetch is refused.
  : > "$r/etc/ssl/certs/ca-certificates.crt"
  if as_root "${run[@]}" get-token -p scratch --force-refresh > /dev/null 2>&1; then
    fail "the empty root fetched without its CA bundle"
  fi
  ok "the static x86_64 binary, alone in an empty root, got a token over TLS (and none without the CA bundle)"
}

deb_contents() {
  local deb
  deb=$(ls dist/entratool_"$version"-*_amd64.deb)
  dpkg-deb -c "$deb" > "$work/deb.list"
  for path in ./usr/bin/entratool ./usr/share/man/man1/entratool.1.gz ./usr/share/man/man1/entratool-get-token.1.gz \
    ./usr/share/man/man1/entratool-config.1.gz ./usr/share/bash-completion/completions/entratool \
    ./usr/share/zsh/vendor-completions/_entratool ./usr/share/fish/vendor_completions.d/entratool.fish \
    ./usr/share/doc/entratool/copyright; do
    grep -q " $path\$" "$work/deb.list" || fail "the .deb lacks $path"
  done
  for helper in git-credential-entratool docker-credential-entratool; do
    grep -q " ./usr/bin/$helper -> entratool\$" "$work/deb.list" || fail "the .deb's $helper is not a link to entratool"
  done
  dpkg-deb -f "$deb" Depends | grep -q libc6 || fail "the .deb names no libc6 dependency"
  ok "the .deb holds the binary, the two helper links, man pages, completions and the copyright"
}

# dpkg --root: the package into a temporary root, then git asks its helper there.
deb_dpkg_root() {
  local deb r=$work/dpkgroot
  deb=$(realpath dist/entratool_"$version"-*_amd64.deb)
  mkdir -p "$r/var/lib/dpkg/info" "$r/var/lib/dpkg/updates"
  : > "$r/var/lib/dpkg/status"
  : > "$r/var/lib/dpkg/available"
  # An empty package database: libc6 is "missing" there, so dependencies are not enforced.
  dpkg --root="$r" --force-depends --force-script-chrootless --log=/dev/null -i "$deb" > "$work/dpkg.out" 2>&1 ||
    fail "dpkg --root -i: $(cat "$work/dpkg.out")"
  local cfg=$work/dpkgroot-config
  export ENTRATOOL_CONFIG_DIR=$cfg ENTRATOOL_CACHE_DIR=$work/dpkgroot-cache ENTRATOOL_KEYRING=none
  export ENTRATOOL_CERTIFICATE_PASSWORD=pw SSL_CERT_FILE=$work/ca.pem
  "$r/usr/bin/entratool" config create --name deb --client-id "$client" --tenant-id "$tenant" \
    --certificate "$work/certificate.pfx" --authority-host "$url" --match https://dev.azure.com/contoso > /dev/null
  local answer
  answer=$(printf 'protocol=https\nhost=dev.azure.com\npath=contoso/project/_git/repo\n\n' |
    git -c credential.helper= -c "credential.helper=$r/usr/bin/git-credential-entratool" -c credential.useHttpPath=true \
      -c credential.interactive=never credential fill 2>&1) || true
  grep -q '^password=ey' <<<"$answer" || fail "git credential fill through the .deb's helper: $answer"
  unset ENTRATOOL_CONFIG_DIR ENTRATOOL_CACHE_DIR ENTRATOOL_KEYRING ENTRATOOL_CERTIFICATE_PASSWORD SSL_CERT_FILE
  man -M "$r/usr/share/man" -w entratool-get-token | grep -q 'entratool-get-token.1.gz' || fail "man does not find the page"
  man -M "$r/usr/share/man" entratool 2> /dev/null | grep -q 'entratool' || fail "man entratool shows nothing"
  ok "the .deb installed (dpkg --root); git got a token from its git-credential-entratool; man finds the pages"
}

checksums() {
  (cd dist && sha256sum --quiet -c SHA256SUMS) || fail "sha256sum -c SHA256SUMS"
  for a in dist/*.tar.gz dist/*.deb dist/*.zip dist/packaging/homebrew/entratool.rb; do
    [ -e "$a" ] || continue
    grep -q " ${a#dist/}\$" dist/SHA256SUMS || fail "SHA256SUMS does not list ${a#dist/}"
  done
  ok "sha256sum -c SHA256SUMS"
}

aarch64_qemu() {
  local name=entratool-$version-aarch64-unknown-linux-musl
  tar -C "$work" -xzf "dist/$name.tar.gz"
  local exe=$work/$name/entratool
  file "$exe" | grep -q 'ARM aarch64.*static-pie linked' || fail "not a static aarch64 PIE: $(file "$exe")"
  qemu-aarch64 "$exe" --version | grep -q "aarch64-unknown-linux-musl" || fail "aarch64 --version"
  export ENTRATOOL_CONFIG_DIR=$work/arm-config ENTRATOOL_CACHE_DIR=$work/arm-cache ENTRATOOL_KEYRING=none
  export ENTRATOOL_CERTIFICATE_PASSWORD=pw SSL_CERT_FILE=$work/ca.pem
  qemu-aarch64 "$exe" config create --name arm --client-id "$client" --tenant-id "$tenant" \
    --certificate "$work/certificate.pfx" --authority-host "$url" > /dev/null
  local first second
  first=$(qemu-aarch64 "$exe" get-token -p arm)
  second=$(ENTRATOOL_TRACE=1 qemu-aarch64 "$exe" get-token -p arm 2> "$work/arm.trace")
  grep -q "cache hit" "$work/arm.trace" || fail "aarch64: the second get-token was no cache hit"
  [ "$first" = "$second" ] || fail "aarch64: the hit gave another token"
  unset ENTRATOOL_CONFIG_DIR ENTRATOOL_CACHE_DIR ENTRATOOL_KEYRING ENTRATOOL_CERTIFICATE_PASSWORD SSL_CERT_FILE
  ok "the aarch64 binary under qemu-aarch64: --version, a fetch and a cache hit"
}

# A clean Debian root (debootstrap, minbase + git and man-db), the .deb installed with dpkg -i there.
deb_debootstrap() {
  local r=$work/debian deb
  deb=$(realpath dist/entratool_"$version"-*_amd64.deb)
  local cached=target/release-test/debian-bookworm.tar
  if [ ! -s "$cached" ]; then
    mkdir -p target/release-test
    debootstrap --variant=minbase --include=git,man-db bookworm "$work/debootstrap" http://deb.debian.org/debian > /dev/null
    tar -C "$work/debootstrap" -cf "$cached" .
    rm -rf "$work/debootstrap"
  fi
  mkdir -p "$r"
  tar -C "$r" -xf "$cached"
  cp "$deb" "$r/tmp/entratool.deb"
  cp "$work/certificate.pfx" "$r/tmp/"
  # debootstrap writes no /etc/hosts (the emulator is "localhost"), and minbase has no
  # ca-certificates: the bundle holds the test CA alone.
  printf '127.0.0.1 localhost\n' > "$r/etc/hosts"
  mkdir -p "$r/etc/ssl/certs"
  cat "$work/ca.pem" >> "$r/etc/ssl/certs/ca-certificates.crt"
  mount -t proc proc "$r/proc"
  chroot "$r" dpkg -i /tmp/entratool.deb > /dev/null || fail "dpkg -i in the Debian root"
  chroot "$r" env -i PATH=/usr/bin:/bin HOME=/root ENTRATOOL_KEYRING=none ENTRATOOL_CERTIFICATE_PASSWORD=pw \
    entratool config create --name deb --client-id "$client" --tenant-id "$tenant" --certificate /tmp/certificate.pfx \
    --authority-host "$url" --match https://dev.azure.com/contoso > /dev/null || fail "config create in the Debian root"
  local answer
  answer=$(printf 'protocol=https\nhost=dev.azure.com\npath=contoso/project/_git/repo\n\n' |
    chroot "$r" env -i PATH=/usr/bin:/bin HOME=/root ENTRATOOL_KEYRING=none ENTRATOOL_CERTIFICATE_PASSWORD=pw \
      git -c credential.helper=entratool -c credential.useHttpPath=true -c credential.interactive=never \
      credential fill 2>&1) || true
  grep -q '^password=ey' <<<"$answer" || fail "git in the Debian root: $answer"
  chroot "$r" man -w entratool | grep -q entratool.1.gz || fail "man -w entratool in the Debian root"
  umount -l "$r/proc"
  ok "dpkg -i in a clean Debian root (debootstrap); git there got a token from git-credential-entratool"
}

windows_zip() {
  local name=entratool-$version-x86_64-pc-windows-gnu
  (cd "$work" && unzip -q "$root/dist/$name.zip")
  [ -f "$work/$name/entratool.exe" ] || fail "the zip has no entratool.exe"
  tests/wine/smoke.sh "$work/$name/entratool.exe"
  ok "the Windows zip's entratool.exe under wine"
}

empty_root
deb_contents
deb_dpkg_root
checksums
if [ "$mode" = all ]; then
  aarch64_qemu
  deb_debootstrap
  windows_zip
fi
echo "release test ($mode): passed in $((SECONDS - started)) s"
