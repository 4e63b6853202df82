#!/usr/bin/env bash
# Runs every check: formatting, clippy, the release build's exploit mitigations, and all tests
# (unit, integration against the bundled Entra ID emulator, and the real-client tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo fmt --all -- --check
# The layers of docs/architecture.md: nothing below calls up, no import cycle.
python3 scripts/check_layers.py --self-test
python3 scripts/check_layers.py --docs docs/architecture.md src
# Error messages say what went wrong; the remedy is kept apart (hint: …).
python3 scripts/check_messages.py --self-test
python3 scripts/check_messages.py src
cargo clippy --workspace --all-targets --quiet -- -D warnings
# The Windows and macOS code, clippy-checked for their targets (docs/platforms.md).
scripts/cross-check.sh
# The binary users get, whose exploit mitigations a test reads (scripts/hardening-check.sh), and
# its link map: the hot-path layout file must still name the functions of this link.
ENTRATOOL_LINK_MAP="$PWD/target/release/entratool.map" cargo build --release --quiet --bin entratool
python3 scripts/hot_path_order.py --check target/release/entratool.map packaging/hot-path.order
cargo test --workspace --all-targets 2>&1
# The release artifacts that fit CI's time, taken as a user takes them (docs/install.md): the static
# x86_64 binary alone in an empty root, the .deb installed and answering git, man, SHA256SUMS.
# The rest (aarch64 under qemu, debootstrap, the Windows zip under wine) is `scripts/release.sh --test`.
# (With the same link map setting as the build above, so the release binary is not linked again.)
ENTRATOOL_LINK_MAP="$PWD/target/release/entratool.map" scripts/release.sh --ci
# Fuzzing: every target for a bounded time (docs/reliability.md); always under CI.
if [ "${CI:-}" = true ] || [ -n "${FUZZ_SECONDS:-}" ]; then
  scripts/fuzz.sh
fi
