# Sourced after sandbox.sh by bench.sh and hot-path-order.sh: the hot path's
# requests, with every cache they hit warm. Sets $links (git-credential-,
# docker-credential-entratool and az, linked to the binary), $cache_file, and
# in $work: git.in (a bound Azure DevOps URL), git-other.in (an unbound host),
# docker.in and docker-store.in (the emulator as a registry).

"$bin/entratool" get-token -p demo > /dev/null
cache_file=$(ls "$ENTRATOOL_CACHE_DIR"/demo-*.json | head -1)
links="$work/links"; mkdir -p "$links"
"$bin/entratool" install --dir "$links" --az > /dev/null
printf 'capability[]=authtype\nprotocol=https\nhost=dev.azure.com\npath=contoso/p/_git/r\n\n' > "$work/git.in"
printf 'protocol=https\nhost=example.com\npath=x\n\n' > "$work/git-other.in"
printf '%s' "${url#https://}" > "$work/docker.in"
printf '{"ServerURL":"%s","Username":"u","Secret":"s"}' "${url#https://}" > "$work/docker-store.in"
"$links/git-credential-entratool" get < "$work/git.in" > /dev/null
"$links/docker-credential-entratool" get < "$work/docker.in" > /dev/null
