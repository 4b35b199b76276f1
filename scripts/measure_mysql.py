#!/usr/bin/python3
"""Measures spiral against a live MariaDB/MySQL (issue figures; nothing here is a test).

  * server time per sample with 1,000 sleeping connections open, spiral side by side with
    `pt-kill --print` polling the same server, both read from the slow query log with
    long_query_time = 0 (every statement and its server time);
  * time from start to the first verdict.

Needs python3-pymysql, percona-toolkit, and root on a test server. It raises
max_connections and turns the slow log on, and puts both back afterwards.

Usage: scripts/measure_mysql.py [path/to/spiral]
"""
import resource
import subprocess
import sys
import tempfile
import time

import pymysql

SPIRAL = sys.argv[1] if len(sys.argv) > 1 else "target/release/spiral"
HOST, PORT = "127.0.0.1", 3306


def root():
    return pymysql.connect(host=HOST, port=PORT, user="root", autocommit=True)


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    a = root()
    cur = a.cursor()
    cur.execute("SELECT @@GLOBAL.max_connections, @@GLOBAL.slow_query_log, @@GLOBAL.long_query_time, @@GLOBAL.log_output")
    max_conn, slow, long_qt, output = cur.fetchone()
    try:
        cur.execute("SET GLOBAL max_connections = 1200")
        for user in ["spiral_measure", "spiral_probe", "pt_probe"]:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
            cur.execute(f"CREATE USER '{user}'@'%'")
        cur.execute("GRANT PROCESS ON *.* TO 'spiral_probe'@'%'")
        cur.execute("GRANT PROCESS ON *.* TO 'pt_probe'@'%'")
        idle = [pymysql.connect(host=HOST, port=PORT, user="spiral_measure") for _ in range(1000)]
        time.sleep(1)
        cur.execute("SET GLOBAL log_output = 'TABLE'")
        cur.execute("SET GLOBAL long_query_time = 0")
        cur.execute("TRUNCATE mysql.slow_log")
        cur.execute("SET GLOBAL slow_query_log = 1")
        samples = 20
        with tempfile.TemporaryDirectory() as d:
            subprocess.run([SPIRAL, "capture", f"mysql://spiral_probe@{HOST}:{PORT}/", "--samples", str(samples),
                            "--interval", "500ms", "-o", f"{d}/c.jsonl", "--quiet"], check=True)
        start = time.monotonic()
        pt = subprocess.run(["pt-kill", "--print", "--busy-time", "3600", "--interval", "0.5",
                             "--run-time", "10", f"h={HOST},P={PORT},u=pt_probe"],
                            capture_output=True, text=True)
        pt_secs = time.monotonic() - start
        cur.execute("SET GLOBAL slow_query_log = 0")
        cur.execute("""SELECT SUBSTRING_INDEX(user_host, '[', 1) AS who, COUNT(*),
                              SUM(TIME_TO_SEC(query_time) + MICROSECOND(query_time) / 1e6),
                              SUM(rows_sent)
                       FROM mysql.slow_log GROUP BY who""")
        rows = {r[0].strip(): r[1:] for r in cur.fetchall()}
        print("with 1,000 sleeping connections open (server time from the slow log, long_query_time = 0):")
        n, t, sent = rows.get("spiral_probe", (0, 0.0, 0))
        # The first sample follows the connect-time statements (session limits, probes).
        print(f"  spiral: {samples} samples, {n} statements in all (connect included), "
              f"{float(t) * 1000 / samples:.2f} ms of server time per sample, {int(sent) // samples} rows sent per sample")
        n2, t2, sent2 = rows.get("pt_probe", (0, 0.0, 0))
        polls = max(1, round(pt_secs / 0.5))
        print(f"  pt-kill --print --interval 0.5 ran {pt_secs:.1f} s (~{polls} polls); its SHOW FULL PROCESSLIST"
              f" does not reach the slow log ({n2} other statements, {float(t2) * 1000:.2f} ms in all)")
        # SHOW statements do not reach the slow log, so time both side by side from a client
        # too: spiral's own sample statement (as logged above) and pt-kill's SHOW FULL
        # PROCESSLIST, each 20 times over one connection.
        cur.execute("""SELECT CONVERT(sql_text USING utf8mb4) FROM mysql.slow_log
                       WHERE user_host LIKE 'spiral_probe%%' GROUP BY sql_text HAVING COUNT(*) >= %s
                       ORDER BY LENGTH(sql_text) DESC LIMIT 1""", (samples,))
        row = cur.fetchone()
        probe = pymysql.connect(host=HOST, port=PORT, user="spiral_probe")
        pc = probe.cursor()
        for label, sql in [("spiral sample statement", row[0] if row else None),
                           ("pt-kill SHOW FULL PROCESSLIST", "SHOW FULL PROCESSLIST")]:
            if not sql:
                continue
            times = []
            for _ in range(20):
                t0 = time.monotonic()
                pc.execute(sql)
                pc.fetchall()
                times.append(time.monotonic() - t0)
            times.sort()
            print(f"  {label}: {times[len(times) // 2] * 1000:.2f} ms round trip (median of 20, rows: {pc.rowcount})")
        probe.close()
        start = time.monotonic()
        p = subprocess.Popen([SPIRAL, "triage", f"mysql://root@{HOST}:{PORT}/", "--samples", "2", "--interval", "3s"],
                             stdout=subprocess.PIPE, text=True)
        first = p.stdout.readline()
        t_first = time.monotonic() - start
        p.communicate()
        print(f"  time to first verdict: {t_first * 1000:.0f} ms (first line: {first.strip()!r})")
        for c in idle:
            c.close()
    finally:
        cur.execute("SET GLOBAL slow_query_log = %s", (slow,))
        cur.execute("SET GLOBAL long_query_time = %s", (long_qt,))
        cur.execute("SET GLOBAL log_output = %s", (output,))
        cur.execute(f"SET GLOBAL max_connections = {int(max_conn)}")
        cur.execute("TRUNCATE mysql.slow_log")
        for user in ["spiral_measure", "spiral_probe", "pt_probe"]:
            cur.execute(f"DROP USER IF EXISTS '{user}'@'%'")
        a.close()


if __name__ == "__main__":
    main()
