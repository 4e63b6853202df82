#!/usr/bin/env bash
# Installs what the build and the tests need on Debian: system packages (as
# root) and the Python virtualenv with MSAL and azure-identity (the reference
# clients). Safe to run again; it only adds what is missing.
# `deps.sh build` installs only what building and the demo need.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(pkg-config libssl-dev openssl perl make gcc)
if [ "${1:-}" != build ]; then
  packages+=(git python3-venv keyutils hyperfine time gnome-keyring dbus-daemon libsecret-tools skopeo binutils util-linux zsh fish)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing Debian packages: ${missing[*]} (run: sudo $0)" >&2
    exit 1
  fi
fi

[ "${1:-}" = build ] && exit 0
if ! .venv/bin/python -c 'import msal, azure.identity' 2>/dev/null; then
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check msal azure-identity
fi
