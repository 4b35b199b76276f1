#!/usr/bin/python3
"""Side-by-side PostgreSQL benchmark for issue 15 (figures, not a test).

Starts its own PostgreSQL (initdb into a temporary directory, its own port on 127.0.0.1,
pg_stat_statements preloaded, max_connections 2,300) so that it never touches the shared
server, then, at 0/100/1,000/2,000 idle sessions:

  * server time per sample, interleaved A/B rounds: spiral's sample statement (the real
    binary, one `spiral capture --samples 2` per round, the cold first sample left out) against one pg_activity refresh in
    its default view (the server-information query with --no-db-size, its cheapest form,
    plus the running-queries query, with pg_activity's own parameters). Server time is
    pg_stat_statements' planning + execution time (execution includes sending the rows),
    read after each round and reset before the next;
  * bytes shipped per idle session: spiral runs through a counting TCP relay; the bytes
    the server sent per sample (whole run / samples) minus those at 0 sessions, divided by
    the sessions;

and, with 2,000 idle sessions, the time until none is left, interleaved: `spiral kill
--idle-over 0s --execute --yes --rate 100000/s` against one
`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = ...` (the floor).

Needs python3-psycopg2, pg-activity (for its query files) and root (initdb runs as the
`postgres` OS user). Usage: scripts/bench-pg.py [path/to/spiral] [--rounds N]
"""
import argparse
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import psycopg2

BIN = "/usr/lib/postgresql/15/bin"
PGACTIVITY = "/usr/lib/python3/dist-packages/pgactivity/queries"
IDLE_ROLE = "bench_idle"
SPIRAL_ROLE = "bench_spiral"
PGA_ROLE = "bench_pga"
# What a pool's idle connection last ran: a short ORM-style statement.
# Samples per spiral run: the first on a new backend is cold, the others are measured.
SAMPLES = 2
IDLE_QUERY = "SELECT id, status, updated_at FROM orders WHERE id = 42"


def free_port(start):
    port = start
    while True:
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                port += 1


class Server:
    """A private cluster, stopped whatever happens."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="spiral-bench-pg.")
        os.chmod(self.dir, 0o755)
        shutil.chown(self.dir, "postgres")
        self.port = free_port(15350)
        self.as_pg(f"{BIN}/initdb -D {self.dir}/data -U postgres --auth=trust --locale=C "
                   f"--encoding=UTF8 >{self.dir}/initdb.log 2>&1")
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.dir} "
                f"-c max_connections=2300 -c shared_preload_libraries=pg_stat_statements "
                f"-c pg_stat_statements.track_planning=on -c shared_buffers=128MB")
        self.as_pg(f"{BIN}/pg_ctl -D {self.dir}/data -l {self.dir}/server.log -w -t 120 "
                   f"-o '{opts}' start >/dev/null")
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def as_pg(self, cmd):
        subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c", cmd], check=True)

    def stop(self):
        subprocess.run(["su", "postgres", "-s", "/bin/sh", "-c",
                        f"{BIN}/pg_ctl -D {self.dir}/data -m immediate stop"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.dir, ignore_errors=True)


class Relay(threading.Thread):
    """A TCP relay that counts the bytes the server sends to the client."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.upstream = port
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.down = 0
        self.lock = threading.Lock()

    def run(self):
        while True:
            client, _ = self.sock.accept()
            server = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self.pipe, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self.pipe, args=(server, client, True), daemon=True).start()

    def pipe(self, src, dst, count):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if count:
                    with self.lock:
                        self.down += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def take(self):
        with self.lock:
            n, self.down = self.down, 0
        return n


def connect(port, user="postgres", app=None, db="postgres"):
    c = psycopg2.connect(host="127.0.0.1", port=port, user=user, dbname=db,
                         application_name=app or "bench")
    c.autocommit = True
    return c


def open_idle(port, n):
    conns = []
    for _ in range(n):
        c = connect(port, IDLE_ROLE, "idle-pool", "bench")
        c.cursor().execute("SELECT 1")
        c.cursor().execute(IDLE_QUERY)
        conns.append(c)
    return conns


def close_all(conns):
    for c in conns:
        try:
            c.close()
        except Exception:
            pass


def pg_activity_sql(name):
    text = open(os.path.join(PGACTIVITY, name)).read()
    return text.replace("{duration_column}", "query_start")


def pga_refresh(cur):
    """One pg_activity refresh in its default view, as pg_activity sends it."""
    params = {"dbname_filter": None, "skip_db_size": True, "prev_total_size": 0,
              "using_rds": False, "min_duration": 0}
    cur.execute(pg_activity_sql("get_server_info_post_110000.sql"), params)
    cur.fetchall()
    cur.execute(pg_activity_sql("get_pg_activity_post_130000.sql"), params)
    return len(cur.fetchall())


def server_ms(cur, role, warm=False):
    """Planning + execution time per call of the statements `role` sent since the last
    reset that read pg_stat_activity or the function under it (the sample; not the session
    set-up). warm: leave out each statement's slowest call, the first one on a new backend
    whose catalogue caches are still cold (pg_activity's connection is long-lived, and so
    is spiral's in triage, capture and watch)."""
    cur.execute("""SELECT coalesce(sum(CASE WHEN %s AND calls > 1
                        THEN (total_plan_time + total_exec_time - max_plan_time - max_exec_time) / (calls - 1)
                        ELSE (total_plan_time + total_exec_time) / calls END), 0)
                     FROM pg_stat_statements s JOIN pg_roles r ON r.oid = s.userid
                    WHERE r.rolname = %s AND (s.query ILIKE '%%pg_stat_activity%%'
                          OR s.query ILIKE '%%pg_stat_get_activity%%')""", (warm, role))
    return float(cur.fetchone()[0])


def spiral_sample(spiral, relay, out):
    url = f"postgres://{SPIRAL_ROLE}@127.0.0.1:{relay.port}/bench"
    relay.take()
    subprocess.run([spiral, "capture", url, "--samples", str(SAMPLES), "--interval", "500ms",
                    "-o", out, "--force"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.05)  # the relay's last bytes
    return relay.take() / SAMPLES


def stats(xs):
    return min(xs), statistics.median(xs), max(xs)


def fmt(xs, unit="ms"):
    lo, med, hi = stats(xs)
    return f"{lo:7.2f} / {med:7.2f} / {hi:7.2f} {unit}"


def until_none(admin, start):
    cur = admin.cursor()
    while True:
        cur.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s", (IDLE_ROLE,))
        if cur.fetchone()[0] == 0:
            return time.monotonic() - start
        time.sleep(0.002)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("spiral", nargs="?", default="target/release/spiral")
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--kill-rounds", type=int, default=3)
    ap.add_argument("--sessions", default="0,100,1000,2000")
    args = ap.parse_args()
    spiral = os.path.abspath(args.spiral)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    srv = Server()
    try:
        run(srv, spiral, args)
    finally:
        srv.stop()


def run(srv, spiral, args):
    admin = connect(srv.port)
    cur = admin.cursor()
    cur.execute("CREATE DATABASE bench")
    for role in (IDLE_ROLE, SPIRAL_ROLE, PGA_ROLE):
        cur.execute(f"CREATE ROLE {role} LOGIN")
    cur.execute(f"GRANT pg_monitor TO {SPIRAL_ROLE}, {PGA_ROLE}")
    cur.execute(f"GRANT pg_signal_backend TO {SPIRAL_ROLE}")
    bench = connect(srv.port, db="bench")
    bench.cursor().execute("CREATE EXTENSION pg_stat_statements")
    bench.cursor().execute("CREATE TABLE orders (id int PRIMARY KEY, status text, updated_at timestamptz)")
    bench.cursor().execute(f"GRANT SELECT ON orders TO {IDLE_ROLE}")
    bcur = bench.cursor()
    relay = Relay(srv.port)
    relay.start()
    pga = connect(srv.port, PGA_ROLE, "pg_activity", "bench").cursor()
    out = os.path.join(srv.dir, "sample.jsonl")
    print(f"machine: {os.cpu_count()} cores; PostgreSQL {admin.server_version}; "
          f"{args.rounds} interleaved rounds per size; spiral {spiral}")
    idle, base_bytes = [], None
    for n in [int(x) for x in args.sessions.split(",")]:
        close_all(idle)
        idle = open_idle(srv.port, n)
        time.sleep(0.5)
        sp, pa, sizes = [], [], []
        for r in range(args.rounds):
            # A/B order alternates, so neither side always runs on a warmer server.
            order = ("spiral", "pga") if r % 2 == 0 else ("pga", "spiral")
            bcur.execute("SELECT pg_stat_statements_reset()")
            for who in order:
                if who == "spiral":
                    sizes.append(spiral_sample(spiral, relay, out))
                else:
                    pga_refresh(pga)
            sp.append(server_ms(bcur, SPIRAL_ROLE, warm=True))
            pa.append(server_ms(bcur, PGA_ROLE))
        ratio = statistics.median(sp) / statistics.median(pa)
        per = statistics.median(sizes)
        if n == 0:
            base_bytes = per
        print(f"{n:5d} idle | spiral sample {fmt(sp)} | pg_activity refresh {fmt(pa)} "
              f"| ratio (medians) {ratio:.2f}x | bytes per sample {per:,.0f}"
              + (f", per idle session {(per - base_bytes) / n:.0f} B" if n and base_bytes is not None else ""))
        sys.stdout.flush()
    close_all(idle)
    kill_bench(srv, spiral, args)


def kill_bench(srv, spiral, args):
    admin = connect(srv.port)
    url = f"postgres://{SPIRAL_ROLE}@127.0.0.1:{srv.port}/bench"
    sp, sp_whole, fl = [], [], []
    for r in range(args.kill_rounds * 2):
        idle = open_idle(srv.port, 2000)
        time.sleep(0.5)
        start = time.monotonic()
        if r % 2 == 0:
            p = subprocess.Popen([spiral, "kill", url, "--user", IDLE_ROLE, "--idle-over", "0s",
                                  "--execute", "--yes", "--rate", "100000/s", "--format", "json"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            sp.append(until_none(admin, start))
            p.wait()
            sp_whole.append(time.monotonic() - start)
        else:
            c = connect(srv.port, SPIRAL_ROLE, "floor", "bench")
            c.cursor().execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = %s",
                               (IDLE_ROLE,))
            fl.append(until_none(admin, start))
            c.close()
        close_all(idle)
    if not sp or not fl:
        return
    print(f"end 2,000 idle sessions, time until none left (min / median / max):")
    print(f"  spiral kill              {fmt([x * 1000 for x in sp])} (whole process {fmt([x * 1000 for x in sp_whole])})")
    print(f"  one pg_terminate_backend {fmt([x * 1000 for x in fl])}")
    print(f"  ratio (medians) {statistics.median(sp) / statistics.median(fl):.2f}x, "
          f"whole process {statistics.median(sp_whole) / statistics.median(fl):.2f}x")


if __name__ == "__main__":
    main()
