#!/usr/bin/env bash
# Release artifacts in dist/ (docs/install.md, docs/platforms.md):
#   entratool-V-x86_64-unknown-linux-musl.tar.gz, entratool-V-aarch64-unknown-linux-musl.tar.gz
#       fully static binaries (static-pie, no loader), man pages, completions, README, LICENSE, INSTALL
#   entratool-V-x86_64-pc-windows-gnu.zip   entratool.exe (static OpenSSL), the same documents
#   entratool_V-1_amd64.deb                 cargo-deb: /usr/bin/entratool and the two helper links,
#                                           man pages, completions, copyright
#   packaging/ (Homebrew formula, winget manifests filled with the version and checksums), SHA256SUMS
#
#   scripts/release.sh          builds everything
#   scripts/release.sh --test   builds everything, then the artifact tests (tests/release/run.sh all)
#   scripts/release.sh --ci     what .ci/run has time for: the x86_64 musl tarball and the .deb, and
#                               their tests (an empty root; dpkg --root, git, man)
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-build}
case $mode in build | --test | --ci) ;; *) echo "usage: $0 [--test | --ci]" >&2; exit 2 ;; esac
started=$SECONDS
version=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print([p for p in json.load(sys.stdin)["packages"] if p["name"]=="entratool"][0]["version"])')
release_url=${ENTRATOOL_RELEASE_URL:-https://github.com/entratool/entratool/releases/download/v$version}
scripts/deps.sh build
if [ "$mode" = --ci ]; then scripts/cross-env.sh install; else scripts/cross-env.sh install full; fi
command -v cargo-deb >/dev/null || cargo install --locked --quiet cargo-deb@3.8.0
# shellcheck source=cross-env.sh
source scripts/cross-env.sh
step() { echo "release: $* ($((SECONDS - started)) s)"; }

rm -rf dist target/assets
mkdir -p dist target/assets/links target/assets/completions

# The host build: the .deb's binary, and the one that writes man pages and completions from its
# own clap definitions, so they are those of the shipped commands.
cargo build --release --quiet --bin entratool
host=target/release/entratool
"$host" manpages target/assets/man
"$host" completions bash > target/assets/completions/entratool.bash
"$host" completions zsh > target/assets/completions/_entratool
"$host" completions fish > target/assets/completions/entratool.fish
"$host" completions powershell > target/assets/completions/_entratool.ps1
ln -s entratool target/assets/links/git-credential-entratool
ln -s entratool target/assets/links/docker-credential-entratool
step "host build, $(ls target/assets/man | wc -l) man pages, 4 completions"

cat > target/assets/INSTALL.txt <<'EOF'
entratool: put the binary on PATH, then make the names git and docker look for:

    entratool install --dir ~/.local/bin      (Linux, macOS: symlinks)
    entratool.exe install --dir %USERPROFILE%\bin   (Windows: hard links, or copies)

This creates git-credential-entratool and docker-credential-entratool (add --az for the az shim).
Man pages: man/ (copy to /usr/local/share/man/man1). Completions: completions/.
Full guide: docs/install.md in the source, or README.md here.
EOF

# One archive folder: the binary and the documents.
stage() {
  local name=$1 exe=$2 dir=target/assets/stage/$1
  rm -rf "$dir"
  mkdir -p "$dir/man" "$dir/completions"
  cp "$exe" "$dir/"
  cp target/assets/man/*.1 "$dir/man/"
  cp target/assets/completions/* "$dir/completions/"
  cp README.md LICENSE target/assets/INSTALL.txt "$dir/"
  # Every user on the machine reads what is installed from it: documents 0644, the binary 0755.
  find "$dir" -type d -exec chmod 755 {} +
  find "$dir" -type f -exec chmod 644 {} +
  chmod 755 "$dir/$(basename "$exe")"
  echo "$dir"
}

tarball() {
  local arch=$1 name=entratool-$version-$1-unknown-linux-musl
  build_musl "$arch"
  local exe
  exe=$(shipped_musl "$arch")
  stage "$name" "$exe" > /dev/null
  tar -C target/assets/stage --owner=0 --group=0 --sort=name -czf "dist/$name.tar.gz" "$name"
  step "dist/$name.tar.gz"
}

tarball x86_64
if [ "$mode" != --ci ]; then
  tarball aarch64
  build_windows
  name=entratool-$version-x86_64-pc-windows-gnu
  stage "$name" "$(windows_exe)" > /dev/null
  (cd target/assets/stage && rm -f "../../../dist/$name.zip" && zip -qr -X "../../../dist/$name.zip" "$name")
  step "dist/$name.zip"
fi

# The source archive Homebrew builds from on macOS.
git archive --prefix="entratool-$version/" -o "dist/entratool-$version-source.tar.gz" HEAD
cargo deb --no-build --quiet --output dist/ > /dev/null
step "dist/$(cd dist && ls ./*.deb | sed 's|^./||')"

# Packaging manifests with this release's version, addresses and checksums.
# The SHA-256 of dist/$1, or "not-built" (--ci builds neither the aarch64 tarball nor the zip).
sum() { if [ -f "dist/$1" ]; then sha256sum "dist/$1" | cut -d' ' -f1; else echo not-built; fi; }
fill() {
  local template=$1 out=$2 a=entratool-$version windows
  windows=$(sum "$a-x86_64-pc-windows-gnu.zip")
  [ "$windows" = not-built ] || windows=${windows^^} # winget writes checksums in upper case
  mkdir -p "$(dirname "$out")"
  sed -e "s|@VERSION@|$version|g" -e "s|@URL@|$release_url|g" \
    -e "s|@SHA_SOURCE@|$(sum "$a-source.tar.gz")|g" \
    -e "s|@SHA_X86_64_MUSL@|$(sum "$a-x86_64-unknown-linux-musl.tar.gz")|g" \
    -e "s|@SHA_AARCH64_MUSL@|$(sum "$a-aarch64-unknown-linux-musl.tar.gz")|g" \
    -e "s|@SHA_WINDOWS@|$windows|g" \
    "$template" > "$out"
}
fill packaging/homebrew/entratool.rb.in dist/packaging/homebrew/entratool.rb
for f in packaging/winget/*.yaml.in; do
  fill "$f" "dist/packaging/winget/$(basename "$f" .in)"
done
(cd dist && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | sort | xargs sha256sum > SHA256SUMS)
step "dist/SHA256SUMS over $(wc -l < dist/SHA256SUMS) files"

case $mode in
  --test) tests/release/run.sh all ;;
  --ci) tests/release/run.sh ci ;;
esac
step "done"
