#!/usr/bin/env bash
# Regenerates completions/ and the man page from the clap definition.
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
