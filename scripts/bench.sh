#!/usr/bin/env bash
# Speed and memory of the hot path, against the bundled emulator:
#  - cache-hit get-token (whole process) beside a process that only reads a
#    small file (cat), with hyperfine;
#  - peak RSS of a cache hit, with /usr/bin/time;
#  - a cold fetch: local CPU cost (PFX load + signing) beside the emulator
#    round trip (ENTRATOOL_TIMING=1 prints both).
# Figures go to docs/performance.md by hand, with the machine they came from.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/sandbox.sh

"$bin/entratool" get-token -p demo > /dev/null   # warm the cache
printf 'x%.0s' $(seq 1500) > "$work/small.txt"

echo "== cache hit vs reading a small file"
hyperfine -N --warmup 20 --runs 300 --export-markdown "$work/hit.md" \
  "cat $work/small.txt" \
  "$bin/entratool get-token -p demo" \
  "$bin/entratool get-token -p demo --output exec-credential"
cat "$work/hit.md"

echo "== helpers on a cache hit (each behind sh for its stdin, as is the baseline)"
printf 'capability[]=authtype\nprotocol=https\nhost=dev.azure.com\npath=contoso/p/_git/r\n\n' > "$work/git.in"
printf '%s' "${url#https://}" > "$work/docker.in"
"$bin/entratool" git-credential get < "$work/git.in" > /dev/null
"$bin/entratool" docker-credential get < "$work/docker.in" > /dev/null
hyperfine -N --warmup 20 --runs 300 --export-markdown "$work/helpers.md" \
  "sh -c 'exec cat < $work/small.txt'" \
  "sh -c 'exec $bin/entratool git-credential get < $work/git.in'" \
  "sh -c 'exec $bin/entratool docker-credential get < $work/docker.in'"
cat "$work/helpers.md"

echo "== peak RSS of a cache hit (KiB)"
for i in 1 2 3; do
  /usr/bin/time -f '%M' "$bin/entratool" get-token -p demo 2>&1 >/dev/null | tail -1
done
echo "docker get:"; /usr/bin/time -f '%M' "$bin/entratool" docker-credential get < "$work/docker.in" 2>&1 >/dev/null | tail -1

echo "== cold fetch: local work vs emulator round trip (10 runs)"
for i in $(seq 10); do
  ENTRATOOL_TIMING=1 "$bin/entratool" get-token -p demo --force-refresh 2>&1 >/dev/null | grep timing
done
hyperfine -N --warmup 2 --runs 30 "$bin/entratool get-token -p demo --force-refresh"
