#!/usr/bin/env bash
# Writes packaging/hot-path.order: the functions the hot-path commands run, in the
# order they first run, then those of a cold fetch, for the linker to lay out
# side by side (build.rs).
# Run it after changes to the hot path or to dependencies (a stale file only
# loses effect: the linker skips names it does not know); then check with
# scripts/bench.sh that a hit's peak RSS and page faults went down.
# Needs valgrind (lackey traces which code runs) and the linker's map, which
# this release build writes.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind > /dev/null || { echo "hot-path-order.sh: needs valgrind (apt-get install valgrind)" >&2; exit 1; }
export ENTRATOOL_LINK_MAP="$PWD/target/release/entratool.map"
. scripts/sandbox.sh

. scripts/hot-path-inputs.sh

traces=()
trace() { # NAME INPUT COMMAND...: the code one hot-path command runs
  local name=$1 input=$2; shift 2
  valgrind --tool=lackey --trace-superblocks=yes --log-file="$work/$name.trace" "$@" < "$input" > /dev/null
  traces+=("$work/$name.trace")
}
# The most frequent first: kubectl's exec plugin and get-token hits.
trace hit /dev/null "$bin/entratool" get-token -p demo --output exec-credential
trace get-token /dev/null "$bin/entratool" get-token -p demo
trace az /dev/null "$links/az" account get-access-token -o json
trace git-get "$work/git.in" "$links/git-credential-entratool" get
trace docker-get "$work/docker.in" "$links/docker-credential-entratool" get
trace git-store "$work/git.in" "$links/git-credential-entratool" store
trace git-erase "$work/git-other.in" "$links/git-credential-entratool" erase
trace docker-store "$work/docker-store.in" "$links/docker-credential-entratool" store
trace version /dev/null "$bin/entratool" --version
# Azure Arc's exec plugin: a PoP hit (the key read, one signature). Its first run fetches the PoP token.
arm=/subscriptions/00000000-0000-0000-0000-000000000001/resourceGroups/rg/providers/Microsoft.Kubernetes/connectedClusters/demo
"$bin/entratool" get-token -p demo --output exec-credential --pop-claims "u=$arm" > /dev/null
trace pop /dev/null "$bin/entratool" get-token -p demo --output exec-credential --pop-claims "u=$arm"
# Then a cold fetch (certificate, assertion, TLS, the cache write): after the
# hits, so it does not spread them apart, but together, so it faults in fewer pages.
trace cold /dev/null "$bin/entratool" get-token -p demo --force-refresh

python3 scripts/hot_path_order.py "$ENTRATOOL_LINK_MAP" "${traces[@]}" > "$work/hot-path.order"
mv "$work/hot-path.order" packaging/hot-path.order
echo "== packaging/hot-path.order: $(wc -l < packaging/hot-path.order) functions; rebuild (cargo build --release) to apply"
