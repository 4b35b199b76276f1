#!/usr/bin/python3
"""Side-by-side benchmark: spiral's MariaDB sample and checked kill against pt-kill's poll
and plain KILL statements (issue 15; a benchmark, not a test).

It starts its OWN MariaDB (mariadb-install-db into a temporary directory, its own port on
127.0.0.1 and its own socket, slow log to a table with long_query_time = 0), so the shared
server on 3306 is never reconfigured or loaded. Then, at 0/100/1,000/2,000 sleeping
connections:

  * spiral's per-sample statements (the texts spiral itself sends, taken from the slow log
    of a short `spiral capture`; on MariaDB two in one request) and pt-kill's poll (`SHOW FULL PROCESSLIST`) run in
    interleaved rounds over one connection each; server time per statement comes from
    the slow log, so client and network costs are left out of both sides alike;
  * at 2,000: `spiral kill --execute` (checked kill) of every sleeping connection, against
    a floor of one plain `KILL CONNECTION n` per connection from one client.

Needs python3-pymysql and percona-toolkit (for the pt-kill line only: its poll is the
statement above). Runs as root or any user that can start mariadbd.

Usage: scripts/bench-mysql.py [path/to/spiral] [--rounds N] [--kill-only]
"""
import os
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import pymysql

SPIRAL = "target/release/spiral"
ROUNDS = 20
LEVELS = [0, 100, 1000, 2000]
PT_POLL = "SHOW FULL PROCESSLIST"


def free_port():
    # Below the ephemeral range (32768+), so no outgoing connection can take it meanwhile.
    for port in range(27400, 27500):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    sys.exit("bench-mysql: no free port in 27400-27499")


class Server:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="spiral-bench-mysql-")
        self.port = free_port()
        self.sock = os.path.join(self.dir, "sock")
        data = os.path.join(self.dir, "data")
        user = ["--user=root"] if os.geteuid() == 0 else []
        subprocess.run(["mariadb-install-db", "--no-defaults", f"--datadir={data}",
                        "--auth-root-authentication-method=socket", "--skip-test-db", *user],
                       check=True, capture_output=True)
        self.proc = subprocess.Popen(
            ["mariadbd", "--no-defaults", f"--datadir={data}", f"--port={self.port}",
             "--bind-address=127.0.0.1", f"--socket={self.sock}", "--max-connections=2600",
             "--skip-name-resolve", "--slow-query-log=1", "--long-query-time=0",
             "--log-output=TABLE", "--log-slow-admin-statements=1",
             "--innodb-buffer-pool-size=64M", "--thread-cache-size=2600",
             f"--log-error={self.dir}/error.log", *user],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            if os.path.exists(self.sock):
                try:
                    self.root().close()
                    break
                except pymysql.err.OperationalError:
                    pass
            time.sleep(0.1)
        else:
            self.stop()
            sys.exit("bench-mysql: the private MariaDB did not start")
        c = self.root()
        cur = c.cursor()
        for user_name, grant in [("bench_idle", None), ("spiral_bench", "PROCESS, CONNECTION ADMIN"),
                                 ("pt_bench", "PROCESS")]:
            cur.execute(f"CREATE USER '{user_name}'@'%'")
            if grant:
                cur.execute(f"GRANT {grant} ON *.* TO '{user_name}'@'%'")
        cur.execute("GRANT SELECT ON mysql.* TO 'spiral_bench'@'%'")
        c.close()

    def root(self):
        return pymysql.connect(unix_socket=self.sock, user="root", autocommit=True)

    def tcp(self, user):
        return pymysql.connect(host="127.0.0.1", port=self.port, user=user, autocommit=True)

    def url(self, user):
        return f"mysql://{user}@127.0.0.1:{self.port}/"

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def server_times(cur, user, text):
    """Server time (ms) of each logged statement of `user` with exactly this text."""
    cur.execute("""SELECT TIME_TO_SEC(query_time) * 1000 + MICROSECOND(query_time) / 1000
                   FROM mysql.slow_log
                   WHERE user_host LIKE %s AND CONVERT(sql_text USING utf8mb4) = %s""",
                (user + "[%", text))
    return [float(r[0]) for r in cur.fetchall()]


def spiral_statements(srv, cur):
    """The statements spiral sends once per sample, in the order it sends them: the texts of
    a short capture that every sample repeated (on MariaDB, SHOW PROCESSLIST and the SELECT
    of the other parts, which go in one request)."""
    cur.execute("TRUNCATE mysql.slow_log")
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([SPIRAL, "capture", srv.url("spiral_bench"), "--samples", "4",
                        "--interval", "500ms", "-o", f"{d}/c.jsonl", "--quiet"],
                       check=True, stdout=subprocess.DEVNULL)
    cur.execute("""SELECT CONVERT(sql_text USING utf8mb4), COUNT(*), MIN(start_time)
                   FROM mysql.slow_log
                   WHERE user_host LIKE 'spiral_bench[%%'
                   GROUP BY sql_text HAVING COUNT(*) >= 4 ORDER BY MIN(start_time)""")
    rows = cur.fetchall()
    if not rows:
        sys.exit("bench-mysql: could not find spiral's per-sample statements in the slow log")
    return [r[0] for r in rows]


def summary(ms):
    return f"min {min(ms):7.2f}  median {statistics.median(ms):7.2f}  max {max(ms):7.2f} ms"


def bench_level(srv, cur, idle, n, statements):
    while len(idle) < n:
        idle.append(srv.tcp("bench_idle"))
    time.sleep(1)
    sp, pt = srv.tcp("spiral_bench").cursor(), srv.tcp("pt_bench").cursor()
    cur.execute("TRUNCATE mysql.slow_log")
    for _ in range(ROUNDS):
        # One statement after the other on one connection: the server time of each is the
        # same as within spiral's multi-statement request, and the slow log times each.
        for statement in statements:
            sp.execute(statement)
            sp.fetchall()
        pt.execute(PT_POLL)
        pt.fetchall()
    # Server time per sample: the sum of its statements, round by round.
    per_statement = [server_times(cur, "spiral_bench", st) for st in statements]
    a = [sum(times) for times in zip(*per_statement)] \
        if all(len(t) == ROUNDS for t in per_statement) else []
    b = server_times(cur, "pt_bench", PT_POLL)
    sp.connection.close()
    pt.connection.close()
    if not a or not b:
        print(f"{n:>5} connections: statements missing from the slow log ({len(a)}, {len(b)})")
        return
    print(f"{n:>5} connections  spiral sample  {summary(a)}")
    print(f"{'':>17}  pt-kill poll   {summary(b)}")
    print(f"{'':>17}  ratio of medians spiral / pt-kill = "
          f"{statistics.median(a) / statistics.median(b):.2f}x")


def bench_kill(srv, idle):
    n = len(idle)
    print(f"\nkill {n} sleeping connections (wall time until the kill statements are done):")
    time.sleep(2)
    c = srv.root()
    cur = c.cursor()
    cur.execute("TRUNCATE mysql.slow_log")
    cur.execute("SELECT UNIX_TIMESTAMP(NOW(6))")
    server_t0 = float(cur.fetchone()[0])
    t0 = time.monotonic()
    subprocess.run([SPIRAL, "kill", srv.url("spiral_bench"), "--user", "bench_idle",
                    "--idle-over", "1s", "--execute", "--yes", "--rate", "100000/s"],
                   check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    spiral_s = time.monotonic() - t0
    # When the last kill statement ended, by the server's clock (slow log: start + duration),
    # from the moment the process was started: the time until none is left, without the
    # reconnect watch that follows (pg side: the same measure in bench-pg.py).
    cur.execute("""SELECT MAX(UNIX_TIMESTAMP(start_time) + TIME_TO_SEC(query_time)
                              + MICROSECOND(query_time) / 1e6),
                          COUNT(*),
                          SUM(TIME_TO_SEC(query_time) * 1000 + MICROSECOND(query_time) / 1000)
                   FROM mysql.slow_log
                   WHERE user_host LIKE 'spiral_bench[%%' AND sql_text LIKE '-- spiral kill%%'""")
    kill_end, kill_statements, kill_server_ms = cur.fetchone()
    cleared_s = float(kill_end) - server_t0 if kill_end is not None else None
    cur.execute("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'bench_idle'")
    left = cur.fetchone()[0]
    for x in idle:
        try:
            x.close()
        except Exception:
            pass
    idle.clear()
    fresh = [srv.tcp("bench_idle") for _ in range(n)]
    time.sleep(2)
    cur.execute("SELECT ID FROM information_schema.PROCESSLIST WHERE USER = 'bench_idle'")
    ids = [r[0] for r in cur.fetchall()]
    k = srv.tcp("spiral_bench").cursor()
    t0 = time.monotonic()
    for i in ids:
        k.execute("KILL CONNECTION %s", (i,))
    floor_s = time.monotonic() - t0
    for x in fresh:
        try:
            x.close()
        except Exception:
            pass
    c.close()
    print(f"  spiral kill (whole process, checked kill): {spiral_s * 1000:8.0f} ms, "
          f"{spiral_s * 1000 / n:.2f} ms per connection ({left} left)")
    if cleared_s is not None:
        print(f"  spiral kill, start until its last kill statement ended: {cleared_s * 1000:8.0f} ms "
              f"({kill_statements} kill statements, {float(kill_server_ms):.0f} ms server time)")
    print(f"  floor, one plain KILL per connection:      {floor_s * 1000:8.0f} ms, "
          f"{floor_s * 1000 / len(ids):.2f} ms per connection")
    print(f"  ratio spiral / floor = {spiral_s / floor_s:.2f}x (whole process)")
    if cleared_s is not None:
        print(f"  ratio spiral / floor = {cleared_s / floor_s:.2f}x (until none left)")


def main():
    global SPIRAL, ROUNDS
    args = sys.argv[1:]
    kill_only = "--kill-only" in args
    if kill_only:
        args.remove("--kill-only")
    if "--rounds" in args:
        i = args.index("--rounds")
        ROUNDS = int(args[i + 1])
        del args[i:i + 2]
    if args:
        SPIRAL = args[0]
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    srv = Server()
    idle = []
    try:
        c = srv.root()
        cur = c.cursor()
        cur.execute("SELECT VERSION()")
        print(f"private MariaDB {cur.fetchone()[0]} on 127.0.0.1:{srv.port}, {os.cpu_count()} cores, "
              f"{ROUNDS} interleaved rounds per level, server time from the slow log")
        if kill_only:
            while len(idle) < LEVELS[-1]:
                idle.append(srv.tcp("bench_idle"))
        else:
            statements = spiral_statements(srv, cur)
            print(f"spiral's sample: {len(statements)} statement(s) in one request")
            for n in LEVELS:
                bench_level(srv, cur, idle, n, statements)
        bench_kill(srv, idle)
        c.close()
    finally:
        for x in idle:
            try:
                x.close()
            except Exception:
                pass
        srv.stop()


if __name__ == "__main__":
    main()
