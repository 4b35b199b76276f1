#!/usr/bin/env bash
# Measures whether `spiral stalk` memory stays flat: runs it against a live server for a
# while at a fast poll, and prints its resident memory every 10 seconds.
# Usage: scripts/soak-stalk.sh TARGET [MINUTES] [BINARY]
set -euo pipefail
target="$1"; minutes="${2:-5}"; bin="${3:-target/release/spiral}"
dir="$(mktemp -d)"
"$bin" stalk "$target" --when 'blocked>100000' --interval 500ms --for "${minutes}m" -o "$dir" --quiet &
pid=$!
echo "seconds rss_kib"
start=$(date +%s)
while kill -0 "$pid" 2>/dev/null; do
    rss=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
    [ -n "$rss" ] && echo "$(( $(date +%s) - start )) $rss"
    sleep 10
done
wait "$pid"
rm -rf "$dir"
