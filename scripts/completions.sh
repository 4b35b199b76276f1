#!/usr/bin/env bash
# Regenerates completions/ and the man pages (spiral(1) and one page per command,
# spiral-triage(1) etc., in completions/man/) from the clap definition.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --quiet
bin=target/debug/spiral
$bin completions bash > completions/spiral.bash
$bin completions zsh > completions/_spiral
$bin completions fish > completions/spiral.fish
$bin completions powershell > completions/_spiral.ps1
$bin completions elvish > completions/spiral.elv
$bin completions man > completions/spiral.1
mkdir -p completions/man
rm -f completions/man/spiral-*.1
# The commands are the ones the top page refers to.
for cmd in $(grep -o 'spiral\\-[a-z]*(1)' completions/spiral.1 | sed 's/^spiral\\-//; s/(1)$//' | sort -u); do
    $bin completions man "$cmd" > "completions/man/spiral-$cmd.1"
done
