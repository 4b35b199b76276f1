#!/usr/bin/python3
"""Measures what the metadata-lock pile-up costs spiral's sampling (issue 12 figures; not a
test).

Stages the pile-up on a live MariaDB (a sleeping transaction that read table t, an ALTER
TABLE t waiting, WAITERS SELECTs queued behind it) among IDLE sleeping connections, then
takes spiral samples three ways and reads every statement and its server time from the
slow log (long_query_time = 0):

  * quiet: no one waits for a metadata lock, so the lock list must never be read;
  * pile-up, metadata_lock_info plugin loaded: one extra statement per sample;
  * pile-up, no plugin: holders inferred from the sample itself, no extra statement.

Needs python3-pymysql and root on a test server. Holds the machine-wide live-test lock,
raises max_connections, turns the slow log on, may install the plugin, and puts all of it
back afterwards.

Usage: scripts/measure_mdl.py [path/to/spiral]
"""
import fcntl
import resource
import subprocess
import sys
import tempfile
import threading
import time

import pymysql

SPIRAL = sys.argv[1] if len(sys.argv) > 1 else "target/release/spiral"
HOST, PORT = "127.0.0.1", 3306
DB, USER, PROBE = "spiral_mdl_measure", "spiral_mdl_app", "spiral_mdl_probe"
IDLE, WAITERS, SAMPLES = 500, 200, 10


def connect(user="root", db=None):
    return pymysql.connect(host=HOST, port=PORT, user=user, database=db, autocommit=True)


def background(sql):
    """Runs a statement that will wait, on its own connection and thread."""
    c = connect(USER, DB)

    def run():
        try:
            cur = c.cursor()
            cur.execute("SET SESSION lock_wait_timeout = 120")
            cur.execute(sql)
        except Exception:
            pass  # killed or closed at cleanup: expected

    t = threading.Thread(target=run, daemon=True)
    t.start()
    return c


def sample_cost(cur, label):
    """Takes SAMPLES samples and prints the server time per sample and the statements."""
    cur.execute("TRUNCATE mysql.slow_log")
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([SPIRAL, "capture", f"mysql://{PROBE}@{HOST}:{PORT}/", "--samples", str(SAMPLES),
                        "--interval", "500ms", "-o", f"{d}/c.jsonl", "--quiet"], check=True)
    cur.execute("""SELECT CASE WHEN sql_text LIKE '%%mdl_locks%%' THEN 'lock list'
                               WHEN sql_text LIKE '%%UNION ALL%%' THEN 'sample'
                               ELSE 'connect' END AS what,
                          COUNT(*), SUM(TIME_TO_SEC(query_time) + MICROSECOND(query_time) / 1e6)
                   FROM mysql.slow_log WHERE user_host LIKE %s GROUP BY what""", (PROBE + "%",))
    rows = {r[0]: (r[1], float(r[2])) for r in cur.fetchall()}
    n, t = rows.get("sample", (0, 0.0))
    ln, lt = rows.get("lock list", (0, 0.0))
    print(f"  {label}: sample statement {t * 1000 / max(n, 1):.2f} ms per sample ({n} sent); "
          f"lock-list statement {ln} sent, {lt * 1000 / max(ln, 1):.2f} ms each")


def main():
    lock = open("/tmp/spiral-live-tests.lock", "a")
    fcntl.flock(lock, fcntl.LOCK_EX)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    a = connect()
    cur = a.cursor()
    cur.execute("SELECT @@GLOBAL.max_connections, @@GLOBAL.slow_query_log, @@GLOBAL.long_query_time, @@GLOBAL.log_output")
    max_conn, slow, long_qt, output = cur.fetchone()
    cur.execute("SELECT COUNT(*) FROM information_schema.PLUGINS WHERE PLUGIN_NAME = 'METADATA_LOCK_INFO' AND PLUGIN_STATUS = 'ACTIVE'")
    had_plugin = cur.fetchone()[0] > 0
    held = []
    try:
        cur.execute(f"SET GLOBAL max_connections = {IDLE + WAITERS + 100}")
        cur.execute(f"DROP DATABASE IF EXISTS {DB}")
        cur.execute(f"CREATE DATABASE {DB}")
        cur.execute(f"CREATE TABLE {DB}.t (id int PRIMARY KEY, v int) ENGINE=InnoDB")
        cur.execute(f"INSERT INTO {DB}.t VALUES (1, 0)")
        for user in [USER, PROBE]:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
            cur.execute(f"CREATE USER '{user}'@'%'")
        cur.execute(f"GRANT ALL ON {DB}.* TO '{USER}'@'%'")
        cur.execute(f"GRANT PROCESS ON *.* TO '{PROBE}'@'%'")
        held += [connect(USER, DB) for _ in range(IDLE)]
        cur.execute("SET GLOBAL log_output = 'TABLE'")
        cur.execute("SET GLOBAL long_query_time = 0")
        cur.execute("SET GLOBAL slow_query_log = 1")
        print(f"MariaDB, {IDLE} sleeping connections (server time from the slow log):")
        sample_cost(cur, "quiet, nobody waits")

        holder = connect(USER, DB)
        held.append(holder)
        hc = holder.cursor()
        hc.execute("BEGIN")
        hc.execute("SELECT * FROM t")
        held.append(background("ALTER TABLE t ADD COLUMN c INT"))
        time.sleep(0.5)
        held += [background("SELECT * FROM t") for _ in range(WAITERS)]
        time.sleep(2)
        cur.execute(f"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE STATE = 'Waiting for table metadata lock' AND DB = '{DB}'")
        print(f"  staged: {cur.fetchone()[0]} sessions waiting for the metadata lock")
        sample_cost(cur, "pile-up, no plugin (inferred)")
        if not had_plugin:
            cur.execute("INSTALL SONAME 'metadata_lock_info'")
        try:
            sample_cost(cur, "pile-up, metadata_lock_info loaded")
        finally:
            if not had_plugin:
                cur.execute("UNINSTALL SONAME 'metadata_lock_info'")
    finally:
        for c in held:
            try:
                c.close()
            except Exception:
                pass
        cur.execute("SET GLOBAL slow_query_log = %s", (slow,))
        cur.execute("SET GLOBAL long_query_time = %s", (long_qt,))
        cur.execute("SET GLOBAL log_output = %s", (output,))
        cur.execute(f"SELECT ID FROM information_schema.PROCESSLIST WHERE USER IN ('{USER}', '{PROBE}')")
        for (pid,) in cur.fetchall():
            try:
                cur.execute(f"KILL {int(pid)}")
            except pymysql.MySQLError:
                pass
        cur.execute(f"SET GLOBAL max_connections = {int(max_conn)}")
        cur.execute("TRUNCATE mysql.slow_log")
        cur.execute(f"DROP DATABASE IF EXISTS {DB}")
        for user in [USER, PROBE]:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
        a.close()


if __name__ == "__main__":
    main()
