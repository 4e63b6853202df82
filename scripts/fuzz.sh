#!/usr/bin/env bash
# Runs every cargo-fuzz target for a bounded time (FUZZ_SECONDS, default 60)
# from a copy of the seed corpus in fuzz/corpus; fails on the first crash,
# whose input libFuzzer leaves in fuzz/artifacts/<target>/. Needs the nightly
# toolchain (on this project's machines) and installs cargo-fuzz if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}
command -v cargo-fuzz > /dev/null || cargo install cargo-fuzz --locked --quiet
targets=$(cd fuzz && cargo +nightly fuzz list)
cargo +nightly fuzz build --release > /dev/null 2>&1 || cargo +nightly fuzz build --release
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
for t in $targets; do
  mkdir -p "$work/$t"; cp -r fuzz/corpus/"$t"/. "$work/$t/"
  out=$(cargo +nightly fuzz run --release "$t" "$work/$t" -- -max_total_time="$seconds" -print_final_stats=1 2>&1) || {
    printf '%s\n' "$out" | tail -40
    echo "fuzz: $t crashed (input in fuzz/artifacts/$t/)" >&2
    exit 1
  }
  runs=$(printf '%s\n' "$out" | sed -n 's/^stat::number_of_executed_units: *//p' | tail -1)
  cov=$(printf '%s\n' "$out" | grep -o 'cov: [0-9]*' | tail -1)
  echo "fuzz: $t: ${runs:-?} runs in ${seconds} s, ${cov:-cov: ?}, no crash"
done
