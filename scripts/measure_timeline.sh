#!/usr/bin/env bash
# Measures `spiral timeline` and `spiral report` on generated captures of a day (17,280
# samples 5 s apart, the leak of tests/support/leak.rs repeating) and of a tenth of a day:
# wall time and peak resident memory (/usr/bin/time -v). Memory should not grow with the
# capture beyond the compact per-sample figures (~150 bytes a sample).
#   scripts/measure_timeline.sh [SAMPLES]
set -euo pipefail
cd "$(dirname "$0")/.."
samples="${1:-17280}"
cargo build --release --quiet --bin spiral --example long_capture
bin=target/release/spiral
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
measure() { # label, command...
    local label="$1"; shift
    /usr/bin/time -v "$@" >/dev/null 2>"$dir/time.txt" || true
    local wall rss
    wall="$(grep 'Elapsed (wall clock)' "$dir/time.txt" | awk '{print $NF}')"
    rss="$(grep 'Maximum resident set size' "$dir/time.txt" | awk '{print $NF}')"
    printf '%-34s wall %8s   peak RSS %6.1f MiB\n' "$label" "$wall" "$(echo "$rss / 1024" | bc -l)"
}
for n in $((samples / 10)) "$samples"; do
    target/release/examples/long_capture "$dir/c$n.jsonl" "$n" 5 >/dev/null
    size="$(du -m "$dir/c$n.jsonl" | cut -f1)"
    echo "capture: $n samples, ${size} MB"
    measure "  timeline --format json" "$bin" --format json timeline "$dir/c$n.jsonl"
    measure "  timeline (text)" "$bin" timeline "$dir/c$n.jsonl"
    measure "  report -o" "$bin" report "$dir/c$n.jsonl" -o "$dir/r$n.html" --force
    echo "  report size: $(du -k "$dir/r$n.html" | cut -f1) KB"
    measure "  triage --replay (for comparison)" "$bin" triage --replay "$dir/c$n.jsonl"
done
