#!/usr/bin/env bash
# Speed and memory of entratool, a benchmark (not a test), against the bundled
# emulator on loopback, release build:
#  - the hot path (cache hits of get-token, the exec plugin, the git and
#    docker helpers, the az shim; --version; the store/erase no-ops) in one
#    hyperfine run per stdin, each beside the floor program
#    (examples/floor.rs: read the cache file, print it), with the ratio;
#  - perf stat page faults and peak RSS of a hit and of the floor;
#  - a cold fetch with a system-sized trust store: whole-process CPU and wall.
# The figures of a run go to docs/performance.md by hand, with the machine.
set -euo pipefail
cd "$(dirname "$0")/.."

# hyperfine >= 1.16 for --input (Debian 12 ships 1.15).
hf=hyperfine
if ! hyperfine --help 2>/dev/null | grep -q -- '--input'; then
  [ -x target/tools/bin/hyperfine ] ||
    cargo install hyperfine@1.20.0 --locked --quiet --root target/tools
  hf=target/tools/bin/hyperfine
fi
cargo build --release --quiet --example floor
floor="$PWD/target/release/examples/floor"
. scripts/sandbox.sh

. scripts/hot-path-inputs.sh

ratios() { # hyperfine JSON → the command's mean, median and min, and its ratios to the floor's
  python3 - "$1" <<'PY'
import json, sys
floor, x = json.load(open(sys.argv[1]))["results"]
mean, median = x["mean"] / floor["mean"], x["median"] / floor["median"]
flag = "" if mean <= 1.5 else "  (over 1.5x)"
print(f"| `{x['command'].replace(sys.argv[1].rsplit('/',1)[0], '…')}` | {x['mean']*1e3:.2f} ms | "
      f"{x['median']*1e3:.2f} ms | {x['min']*1e3:.2f} ms | floor {floor['mean']*1e3:.2f} ms | "
      f"{mean:.2f}x{flag} | {median:.2f}x |")
PY
}

run() { # NAME INPUT COMMAND... : one hyperfine run, the floor first
  local name=$1 input=$2; shift 2
  local args=(-N --warmup 30 --runs 500 --export-json "$work/$name.json")
  [ "$input" != - ] && args+=(--input "$input")
  "$hf" "${args[@]}" "$floor $cache_file" "$@" > /dev/null
  ratios "$work/$name.json"
}

echo "== hot path: mean, median, min, the floor's mean in the same run, ratios of the means and medians"
echo "| command | mean | median | min | floor | ratio (means) | ratio (medians) |"
echo "|---|---:|---:|---:|---:|---:|---:|"
# One hyperfine run per command, the floor in each: hyperfine runs a command's 500 runs in a row,
# so a ratio to a floor measured minutes earlier would carry the machine's drift.
run version - "$bin/entratool --version"
run get-token - "$bin/entratool get-token -p demo"
run exec - "$bin/entratool get-token -p demo --output exec-credential"
run az - "$links/az account get-access-token -o json"
run git-get "$work/git.in" "$links/git-credential-entratool get"
run git-store "$work/git.in" "$links/git-credential-entratool store"
run git-erase "$work/git-other.in" "$links/git-credential-entratool erase"
run docker-get "$work/docker.in" "$links/docker-credential-entratool get"
run docker-store "$work/docker-store.in" "$links/docker-credential-entratool store"

echo "== page faults (perf stat, mean of 50) and peak RSS (KiB, max of 5)"
faults() { perf stat -x, -e page-faults -r 50 "$@" 2>&1 >/dev/null | awk -F, '/page-faults/ {print $1}'; }
rss() { for _ in 1 2 3 4 5; do /usr/bin/time -f '%M' "$@" 2>&1 >/dev/null | tail -1; done | sort -n | tail -1; }
printf 'floor:      faults %s, peak RSS %s KiB\n' "$(faults "$floor" "$cache_file")" "$(rss "$floor" "$cache_file")"
printf 'get-token:  faults %s, peak RSS %s KiB\n' "$(faults "$bin/entratool" get-token -p demo)" \
  "$(rss "$bin/entratool" get-token -p demo)"
printf 'exec plugin: faults %s, peak RSS %s KiB\n' \
  "$(faults "$bin/entratool" get-token -p demo --output exec-credential)" \
  "$(rss "$bin/entratool" get-token -p demo --output exec-credential)"

echo "== cold fetch (PFX + PS256 + TLS to the emulator), a system-sized trust store"
# The system's roots plus the demo CA, as a hashed folder (what /etc/ssl/certs is).
store="$work/truststore"; mkdir -p "$store"
ln -s /etc/ssl/certs/*.pem "$store/" 2>/dev/null || true
cp "$work/ca.pem" "$store/entratool-demo-ca.pem"
openssl rehash "$store" 2>/dev/null || c_rehash "$store" > /dev/null
echo "roots in the store: $(ls "$store"/*.pem | wc -l)"
# Whole-process CPU (perf's task-clock: user + sys of every thread), one
# process at a time, 60 of them: the median and quartiles, since this 2-core
# machine's neighbours move single runs by several ms.
cold() {
  for _ in $(seq 60); do
    perf stat -x, -e task-clock "$@" 2>&1 >/dev/null | awk -F, '/task-clock/ {print $1}'
  done | sort -n | awk '{ v[NR] = $1 } END {
    printf "%.1f ms CPU (user+sys), median of %d; quartiles %.1f-%.1f, min %.1f\n",
      v[int((NR + 1) / 2)], NR, v[int(NR / 4)], v[int(3 * NR / 4)], v[1] }'
}
(
  unset SSL_CERT_FILE
  export SSL_CERT_DIR="$store"
  printf 'no SSL_CERT_FILE: the system bundle parsed, the hashed folder looked up: '; cold "$bin/entratool" get-token -p demo --force-refresh
  "$hf" -N --warmup 3 --runs 30 "$bin/entratool get-token -p demo --force-refresh" | grep -E 'Time|Range'
  cat /etc/ssl/certs/ca-certificates.crt "$work/ca.pem" > "$work/bundle.pem"
  unset SSL_CERT_DIR
  export SSL_CERT_FILE="$work/bundle.pem"
  printf 'SSL_CERT_FILE naming a one-file bundle (parsed by native-tls and by OpenSSL): '
  cold "$bin/entratool" get-token -p demo --force-refresh
)
