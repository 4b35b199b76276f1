#!/usr/bin/env bash
# Replay speed side by side: `spiral triage --replay` against Python's json.loads reading
# the same capture line by line (the floor a user would compare with: parsing the file and
# nothing else). Rounds are interleaved so both see the same machine load; the figures are
# wall times, printed as min/median/max and as a ratio of rates (above 1: spiral reads the
# capture faster than json.loads alone parses it). Nothing here is a test.
#
# Usage: scripts/bench-replay.sh [ROUNDS] [MEGABYTES]   (defaults 5 and 128)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-5}
megabytes=${2:-128}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet --bin spiral --example flood_capture --example long_capture
./target/release/examples/flood_capture "$work/flood.jsonl" "$megabytes" >/dev/null
# A day of 5-second samples of a small leaking pool: many short lines instead of few long ones.
./target/release/examples/long_capture "$work/day.jsonl" 17280 5 >/dev/null

python3 - "$rounds" "$work/flood.jsonl" "$work/day.jsonl" <<'PY'
import json, os, statistics, subprocess, sys, time

rounds = int(sys.argv[1])
files = sys.argv[2:]

def run_spiral(path):
    start = time.perf_counter()
    done = subprocess.run(["./target/release/spiral", "triage", "--replay", path,
                           "--format", "json"], stdout=subprocess.DEVNULL)
    took = time.perf_counter() - start
    # Exit codes 0-2 are verdicts; 3 would mean the replay itself failed.
    if done.returncode > 2:
        sys.exit(f"spiral failed on {path} (exit {done.returncode})")
    return took

def run_python(path):
    # In a fresh interpreter, like spiral's fresh process: start-up is paid by both.
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c",
                    "import json,sys\nfor line in open(sys.argv[1],'rb'): json.loads(line)",
                    path], check=True)
    return time.perf_counter() - start

def fmt(v):
    return f"{min(v):.2f}/{statistics.median(v):.2f}/{max(v):.2f} s"

print(f"machine: {os.cpu_count()} cores, {os.uname().machine}; {rounds} interleaved rounds")
for path in files:
    mb = os.path.getsize(path) / 1e6
    s, p = [], []
    for _ in range(rounds):
        s.append(run_spiral(path))
        p.append(run_python(path))
    ratio = statistics.median(p) / statistics.median(s)
    print(f"{os.path.basename(path)} ({mb:.0f} MB): spiral {fmt(s)}, json.loads {fmt(p)} "
          f"(min/median/max); spiral's rate = {ratio:.2f}x json.loads's")
PY
