#!/usr/bin/env bash
# Fails when a Unix-only API is used anywhere in src/ but src/platform/unix.rs.
#
# spiral must build for the Windows jump hosts many on-call engineers work from, and no
# Windows toolchain can be installed on the machines that build and test it, so nothing
# would catch a stray Unix call by compiling. The rule instead: every call that exists on
# Unix alone lives in src/platform/unix.rs (with its twin in src/platform/windows.rs), and
# src/platform/mod.rs picks one with cfg. This script enforces the rule; .ci/run runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

pattern='std::os::unix|std::os::fd|tokio::signal::unix|\blibc::|\bnix::|use libc\b'
hits=$(grep -rnE "$pattern" src --include='*.rs' | grep -v '^src/platform/unix\.rs:' || true)
if [ -n "$hits" ]; then
    echo "Unix-only APIs outside src/platform/unix.rs (move them behind src/platform):" >&2
    echo "$hits" >&2
    exit 1
fi
# The platform module must keep choosing its files by cfg.
grep -q '^#\[cfg(unix)\]$' src/platform/mod.rs && grep -q '^#\[cfg(windows)\]$' src/platform/mod.rs \
    || { echo "src/platform/mod.rs no longer gates unix.rs/windows.rs with cfg" >&2; exit 1; }
# libc may only be a Unix dependency.
if awk '/^\[dependencies\]/{d=1;next} /^\[/{d=0} d && /^libc *=/' Cargo.toml | grep -q .; then
    echo "libc is an unconditional dependency: move it under [target.'cfg(unix)'.dependencies]" >&2
    exit 1
fi
echo "portable: no Unix-only API outside src/platform/unix.rs"
