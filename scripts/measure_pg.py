#!/usr/bin/python3
"""Measures spiral against a live PostgreSQL (issue figures; nothing here is a test).

  * server time per sample with 1,000 idle connections open, spiral's sample query side by
    side with pg_activity's refresh queries (EXPLAIN ANALYZE execution time, median of 20);
  * time from start to the first verdict;
  * time to end 2,000 idle sessions with `spiral kill`, and how many connections spiral used.

Needs python3-psycopg2 and a superuser URL on a test server. It raises max_connections
(restarting the cluster) and puts it back afterwards.

Usage: scripts/measure_pg.py [postgres://postgres@127.0.0.1:5432/test] [path/to/spiral]
"""
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import threading
import time

import psycopg2

URL = sys.argv[1] if len(sys.argv) > 1 else "postgres://postgres@127.0.0.1:5432/test"
SPIRAL = sys.argv[2] if len(sys.argv) > 2 else "target/release/spiral"
ROLE = "spiral_measure"
PGACTIVITY = "/usr/lib/python3/dist-packages/pgactivity/queries"


def admin():
    c = psycopg2.connect(URL)
    c.autocommit = True
    return c


def restart():
    cluster = sorted(os.listdir("/etc/postgresql"))[0]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", cluster, "main", "restart"], check=True)
    for _ in range(60):
        try:
            admin().close()
            return
        except psycopg2.OperationalError:
            time.sleep(0.5)


def explain_ms(cur, sql, runs=20):
    times = []
    for _ in range(runs):
        cur.execute("EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + sql)
        plan = cur.fetchone()[0][0]
        times.append(plan["Execution Time"] + plan.get("Planning Time", 0.0))
    return statistics.median(times)


def pg_activity_sql(name):
    text = open(os.path.join(PGACTIVITY, name)).read()
    text = text.replace("{duration_column}", "query_start")
    text = text.replace("%(min_duration)s", "0").replace("%(dbname_filter)s", "NULL")
    return re.sub(r"--[^\n]*", "", text).strip().rstrip(";")


def open_idle(n, app):
    conns = []
    for _ in range(n):
        c = psycopg2.connect(URL, user=ROLE, application_name=app)
        c.autocommit = True
        c.cursor().execute("SELECT 1")
        conns.append(c)
    return conns


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    a = admin()
    cur = a.cursor()
    cur.execute("SHOW max_connections")
    original = int(cur.fetchone()[0])
    a.close()
    if original < 2200:
        a = admin()
        a.cursor().execute("ALTER SYSTEM SET max_connections = 2200")
        a.close()
        restart()
    try:
        a = admin()
        cur = a.cursor()
        cur.execute(f"DROP ROLE IF EXISTS {ROLE}")
        cur.execute(f"CREATE ROLE {ROLE} LOGIN")
        idle = open_idle(1000, "idle-pool")
        time.sleep(1)
        sample = open("queries/postgres/sample.sql").read()
        sample = re.sub(r"--[^\n]*", "", sample).strip()
        spiral_ms = explain_ms(cur, sample)
        act_ms = explain_ms(cur, pg_activity_sql("get_pg_activity_post_130000.sql"))
        blk_ms = explain_ms(cur, pg_activity_sql("get_blocking_post_090600.sql"))
        print(f"with {len(idle)} idle connections open:")
        print(f"  spiral sample (one statement, all sessions incl. idle): {spiral_ms:.2f} ms")
        print(f"  pg_activity activity query (non-idle only):             {act_ms:.2f} ms")
        print(f"  pg_activity blocking query:                             {blk_ms:.2f} ms")
        print(f"  pg_activity refresh (activity + blocking):              {act_ms + blk_ms:.2f} ms")

        # Time to the first verdict: the table format prints a first look after sample 1.
        start = time.monotonic()
        p = subprocess.Popen([SPIRAL, "triage", URL, "--samples", "2", "--interval", "3s"],
                             stdout=subprocess.PIPE, text=True)
        first = p.stdout.readline()
        t_first = time.monotonic() - start
        p.communicate()
        t_all = time.monotonic() - start
        print(f"  time to first verdict: {t_first * 1000:.0f} ms (first line: {first.strip()!r}); "
              f"full triage with 2 samples 3 s apart: {t_all:.2f} s")
        for c in idle:
            c.close()

        # Ending 2,000 idle sessions.
        idle = open_idle(2000, "leaky-worker")
        time.sleep(1)
        peak = [0]
        stop = threading.Event()

        def watch_spiral_connections():
            w = admin()
            wc = w.cursor()
            while not stop.is_set():
                wc.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'spiral'")
                peak[0] = max(peak[0], wc.fetchone()[0])
                time.sleep(0.05)
            w.close()

        t = threading.Thread(target=watch_spiral_connections)
        t.start()
        for rate in ["100000/s", "100/s"]:
            if rate == "100/s":
                for c in idle:
                    c.close()
                idle = open_idle(2000, "leaky-worker")
                time.sleep(1)
            start = time.monotonic()
            out = subprocess.run([SPIRAL, "kill", URL, "--user", ROLE, "--idle-over", "0s", "--execute",
                                  "--yes", "--rate", rate, "--format", "json"],
                                 capture_output=True, text=True)
            elapsed = time.monotonic() - start
            report = json.loads(out.stdout)
            killed = sum(1 for x in report["actions"] if x["outcome"] == "killed")
            print(f"kill of 2,000 idle sessions at --rate {rate}: {killed} ended in {elapsed:.2f} s "
                  f"(kill phase {report['seconds']:.2f} s, then a 2 s look for reconnects)")
        stop.set()
        t.join()
        print(f"  connections spiral held at any moment: {peak[0]}")
        for c in idle:
            try:
                c.close()
            except Exception:
                pass
        cur.execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{ROLE}'")
        cur.execute(f"DROP ROLE IF EXISTS {ROLE}")
        a.close()
    finally:
        if original < 2200:
            a = admin()
            a.cursor().execute("ALTER SYSTEM RESET max_connections")
            a.close()
            restart()


if __name__ == "__main__":
    main()
