#!/usr/bin/env bash
# Runs every check: formatting, clippy, and all tests (unit, integration
# against the bundled Entra ID emulator, and the real-client tests).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cargo fmt --all -- --check
cargo clippy --all-targets --quiet -- -D warnings
cargo test --all-targets 2>&1
