#!/usr/bin/env bash
# Runs every test. Live-database tests run against the local PostgreSQL and MariaDB when
# they answer on 127.0.0.1 (or against SPIRAL_TEST_PG_URL / SPIRAL_TEST_MYSQL_URL when set);
# otherwise they say they were skipped and why. .ci/run also sets SPIRAL_REQUIRE_LIVE=1,
# under which a skipped live test fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${SPIRAL_TEST_PG_URL:-}" ] && command -v pg_isready >/dev/null \
    && pg_isready -q -h 127.0.0.1 -p 5432; then
    export SPIRAL_TEST_PG_URL="postgres://postgres@127.0.0.1:5432/test"
fi
if [ -z "${SPIRAL_TEST_MYSQL_URL:-}" ] && command -v mariadb-admin >/dev/null \
    && mariadb-admin --protocol=tcp -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; then
    export SPIRAL_TEST_MYSQL_URL="mysql://root@127.0.0.1:3306/test"
fi
echo "live PostgreSQL: ${SPIRAL_TEST_PG_URL:-not available}"
echo "live MariaDB:    ${SPIRAL_TEST_MYSQL_URL:-not available}"

cargo test --all-targets "$@"
