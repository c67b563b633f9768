"""Load test: mixed traffic against gunicorn on PostgreSQL or SQLite, from a second process on loopback.

    .venv/bin/python benchmarks/load.py                      # 60 s, 16 connections, 100,000 programs
    .venv/bin/python benchmarks/load.py --duration 20 --connections 8 --no-setup
    .venv/bin/python benchmarks/load.py --database-url sqlite:////tmp/load.sqlite3   # the embedded default

1. Data (skipped with ``--no-setup``, and skipped by itself when it is already there): PostgreSQL: creates
   the database ``bench_load`` if missing (only ``bench_load*`` names are accepted); SQLite: the file (made
   when missing). Then migrates it, loads the seeds and runs ``generate_demo --programs N`` (seed records are
   allowed beside generated ones, so no ``--force``), and refreshes the planner's statistics (PostgreSQL
   ``VACUUM (ANALYZE)``, SQLite ``ANALYZE``).
2. Starts gunicorn as production runs it: ``gunicorn -c gunicorn.conf.py config.wsgi`` (DEBUG off, plain
   HTTP on 127.0.0.1) as its own process group, with only environment overrides: ``--workers`` and
   ``--threads`` become GUNICORN_WORKERS and GUNICORN_THREADS (unset: the file's defaults, 2 × cores + 1
   processes × 4 threads); waits for ``/healthz``.
3. This process is the client: ``--connections`` threads, each with its own keep-alive
   ``http.client`` connection, send requests back to back (closed loop, no think time): filtered lists
   (35 %), searches in simplified and traditional script (25 %), detail pages (30 %) and filtered CSV
   exports (10 %). ``--warmup`` seconds first, not counted; then ``--duration`` seconds, counted.
4. Prints requests, throughput, latency p50/p95/p99/max overall and per kind, and the outcome counts:
   2xx; 429 (the per-process export limit, EXPORT_CONCURRENCY, saying "not now": counted on its own,
   not an error); errors (any other status, and connection errors or timeouts). ``--json FILE`` also
   writes everything as JSON. Exit status 0 when the target holds (0 errors, p99 ≤ 500 ms), else 1.

Everything is bounded: each request has a client timeout (``--request-timeout``), and a watchdog kills
gunicorn and exits with status 3 after ``--hard-timeout`` seconds whatever happens.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import http.client
import json
import os
import platform
import random
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter, defaultdict
from pathlib import Path

from common import (
    ROOT,
    BenchError,
    Server,
    children,
    gunicorn_command,
    gunicorn_env,
    loopback_env,
    percentile,
    proc_stats,
    status_kb,
)

PYTHON = sys.executable

# A simplified and a traditional spelling of each term: both must find the same records.
SEARCH_TERMS = [
    ("脱贫", "脫貧"), ("电商", "電商"), ("乡村", "鄉村"), ("教育", "教育"), ("热土", "熱土"),
    ("健康", "健康"), ("生态", "生態"), ("女性", "女性"), ("村小二", "村小二"), ("扶贫", "扶貧"),
    ("县", "縣"), ("基金", "基金"),
]
AREAS = ["jiaoyu", "jiankang", "nvxing", "shengtai", "dianshang", "keji", "chanye", "rencai"]
ROLES = ["tepaiyuan", "cunxiaoer", "peixun"]
KIND_WEIGHTS = {"list": 35, "search": 25, "detail": 30, "csv": 10}
DETAIL_LISTS = {"program": "programs", "county": "counties", "envoy": "envoys", "fund": "funds",
                "outcome": "outcomes", "source": "sources"}


# ---------------------------------------------------------------------------
# Data


def server_env(args) -> dict[str, str]:
    env = loopback_env(
        args.database_url, "load-benchmark-only",
        LOG_LEVEL="WARNING",  # the request log line would cost a write per request
        DB_STATEMENT_TIMEOUT=str(args.statement_timeout),
    )
    if args.export_concurrency is not None:
        env["EXPORT_CONCURRENCY"] = str(args.export_concurrency)
    return env


def manage(args, *command: str, timeout: float = 1800) -> str:
    started = time.monotonic()
    result = subprocess.run([PYTHON, "manage.py", *command], cwd=ROOT, env=server_env(args), capture_output=True,
                            text=True, timeout=timeout)
    if result.returncode:
        sys.exit(f"manage.py {' '.join(command)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-4000:]}")
    print(f"  manage.py {' '.join(command)}: {time.monotonic() - started:.1f} s", flush=True)
    return result.stdout


def is_sqlite(args) -> bool:
    return args.database_url.startswith("sqlite:")


def sqlite_path(args) -> Path:
    """The file of ``sqlite:////absolute/path`` (or ``sqlite:///relative`` from the project root)."""
    path = urllib.parse.urlsplit(args.database_url).path[1:]
    if not path or path == ":memory:":
        sys.exit("the load test needs a SQLite file, not an in-memory database: sqlite:////path/to/file.sqlite3")
    return (ROOT / path).resolve()


def database_name(args) -> str:
    return sqlite_path(args).name if is_sqlite(args) else urllib.parse.urlsplit(args.database_url).path.lstrip("/")


def connect(args, dbname: str | None = None):
    """A connection with ``execute(sql).fetchone()``: psycopg (autocommit), or sqlite3 on the file, read-only
    unless ``writable`` (setup's ANALYZE)."""
    if is_sqlite(args):
        import sqlite3

        mode = "rw" if dbname == "writable" else "ro"
        return contextlib.closing(sqlite3.connect(f"file:{sqlite_path(args)}?mode={mode}", uri=True, timeout=30))
    import psycopg

    url = urllib.parse.urlsplit(args.database_url)
    if dbname:
        url = url._replace(path="/" + dbname)
    return psycopg.connect(urllib.parse.urlunsplit(url), autocommit=True, connect_timeout=10)


def setup(args) -> None:
    if is_sqlite(args):
        path = sqlite_path(args)
        if not path.parent.is_dir():
            sys.exit(f"no folder {path.parent} for the SQLite file")
        if not path.exists():
            print(f"  creating {path}", flush=True)
    else:
        name = database_name(args)
        if not name.startswith("bench_load"):
            sys.exit(f"refusing database {name!r}: the load test only creates and fills databases named bench_load*")
        with connect(args, "postgres") as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
                print(f"  created database {name}", flush=True)
    manage(args, "migrate", "--noinput", "-v0")
    with connect(args) as conn:
        sources = conn.execute("SELECT count(*) FROM programs_source").fetchone()[0]
        generated = conn.execute("SELECT count(*) FROM programs_program WHERE slug LIKE 'demo-%'").fetchone()[0]
    if not sources:
        manage(args, "load_seeds")
    if generated != args.programs:
        manage(args, "generate_demo", "--programs", str(args.programs), "--no-progress", timeout=3600)
    else:
        print(f"  {generated} generated programs already there", flush=True)
    if is_sqlite(args):
        # The query planner's statistics, as a database that has been live a while would have them.
        with connect(args, "writable") as conn:
            conn.execute("ANALYZE")
            conn.commit()
        print("  ANALYZE done", flush=True)
        return
    # The steady state of a database that has been live a while: statistics and visibility map up to date,
    # so autovacuum does not start on the freshly generated rows in the middle of the measurement.
    with connect(args) as conn:
        conn.execute("VACUUM (ANALYZE)")
    print("  VACUUM (ANALYZE) done", flush=True)


def sample(args) -> dict[str, list[str]]:
    """Slugs to ask for, drawn once: detail pages and filter values that exist."""
    queries = {
        "program": "SELECT slug FROM programs_program ORDER BY random() LIMIT 400",
        "county": "SELECT slug FROM counties_county ORDER BY random() LIMIT 400",
        "envoy": "SELECT slug FROM envoys_envoy ORDER BY random() LIMIT 200",
        "fund": "SELECT slug FROM programs_fund ORDER BY random() LIMIT 50",
        "outcome": "SELECT slug FROM programs_outcome ORDER BY random() LIMIT 200",
        "source": "SELECT slug FROM programs_source ORDER BY random() LIMIT 100",
        "province": "SELECT slug FROM counties_province ORDER BY random() LIMIT 40",
    }
    with connect(args) as conn:
        slugs = {kind: [row[0] for row in conn.execute(sql)] for kind, sql in queries.items()}
        counts = {
            "programs": conn.execute("SELECT count(*) FROM programs_program").fetchone()[0],
            "outcomes": conn.execute("SELECT count(*) FROM programs_outcome").fetchone()[0],
            "counties": conn.execute("SELECT count(*) FROM counties_county").fetchone()[0],
            "envoys": conn.execute("SELECT count(*) FROM envoys_envoy").fetchone()[0],
        }
    empty = [kind for kind, values in slugs.items() if not values]
    if empty:
        sys.exit(f"no rows to sample for {empty}: run without --no-setup")
    slugs["_counts"] = counts
    # Pages that exist for any area (each has about a tenth of the programs, 50 to a page), at most 10.
    slugs["_max_page"] = max(1, min(10, counts["programs"] // 500))
    return slugs


# ---------------------------------------------------------------------------
# Traffic


def make_request(rng: random.Random, slugs) -> tuple[str, str]:
    """One request of the mix: (kind, path with query)."""
    kind = rng.choices(list(KIND_WEIGHTS), weights=list(KIND_WEIGHTS.values()))[0]
    pick = rng.choice
    if kind == "list":
        path, query = pick([
            ("/programs/", {"area": pick(AREAS)}),
            ("/programs/", {"fund": pick(slugs["fund"]), "sort": pick(["name", "-start", "counties"])}),
            ("/programs/", {"province": pick(slugs["province"]), "year_from": str(rng.randint(2015, 2022))}),
            ("/programs/", {"area": pick(AREAS), "page": str(rng.randint(1, slugs["_max_page"]))}),
            ("/counties/", {"province": pick(slugs["province"])}),
            ("/outcomes/", {"county": pick(slugs["county"])}),
            ("/outcomes/", {"fund": pick(slugs["fund"]), "sort": "-value"}),
            ("/envoys/", {"role": pick(ROLES)}),
            ("/funds/", {}),
            ("/sources/", {"script": pick(["simplified", "traditional"])}),
        ])
    elif kind == "search":
        term = pick(pick(SEARCH_TERMS))  # simplified or traditional, half each
        path = pick(["/programs/", "/programs/", "/outcomes/", "/counties/", "/envoys/", "/sources/"])
        query = {"q": term}
    elif kind == "detail":
        model = pick(["program", "program", "program", "county", "county", "envoy", "fund", "outcome", "source"])
        path, query = f"/{DETAIL_LISTS[model]}/{pick(slugs[model])}/", {}
    else:  # a filtered download, as a reader takes the list they are looking at
        path, query = pick([
            ("/programs/", {"county": pick(slugs["county"])}),
            ("/outcomes/", {"county": pick(slugs["county"])}),
            ("/outcomes/", {"program": pick(slugs["program"])}),
            ("/envoys/", {"county": pick(slugs["county"])}),
        ])
        query = dict(query, format="csv")
    return kind, path + ("?" + urllib.parse.urlencode(query) if query else "")


class Client(threading.Thread):
    """One connection, requests back to back until ``stop_at``; results appended to ``self.results``."""

    def __init__(self, index, args, slugs, stop_at):
        super().__init__(daemon=True, name=f"client-{index}")
        self.args, self.slugs, self.stop_at = args, slugs, stop_at
        self.rng = random.Random(args.seed * 1000 + index)
        # (kind, status or 0 for a connection error, seconds, route)
        self.results: list[tuple[str, int, float, str]] = []
        self.error_samples: list[str] = []
        self.conn = None

    def run(self):
        while time.monotonic() < self.stop_at:
            kind, target = make_request(self.rng, self.slugs)
            while route_of(target) in self.args.exclude_shape:  # drawn again: the mix of the rest stays
                kind, target = make_request(self.rng, self.slugs)
            started = time.perf_counter()
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection("127.0.0.1", self.args.port,
                                                           timeout=self.args.request_timeout)
                self.conn.request("GET", target, headers={"Accept-Language": "zh-hans"})
                response = self.conn.getresponse()
                response.read()
                status = response.status
                if response.will_close:
                    self.conn.close()
                    self.conn = None
            except (OSError, http.client.HTTPException) as exc:
                status = 0
                if len(self.error_samples) < 5:
                    self.error_samples.append(f"{target}: {exc!r}")
                if self.conn is not None:
                    self.conn.close()
                self.conn = None
            elapsed = time.perf_counter() - started
            self.results.append((kind, status, elapsed, route_of(target)))
            if (status >= 400 and status != 429) and len(self.error_samples) < 5:
                self.error_samples.append(f"{target}: HTTP {status}")
        if self.conn is not None:
            self.conn.close()


def route_of(target: str) -> str:
    """The shape of a request without its values: /programs/?area&page, /funds/<slug>/."""
    path, _, query = target.partition("?")
    parts = path.strip("/").split("/")
    shape = "/" + parts[0] + "/" + ("<slug>/" if len(parts) > 1 else "")
    keys = [key for key, _ in urllib.parse.parse_qsl(query)]
    return shape + ("?" + "&".join(keys) if keys else "")


def drive(args, slugs, seconds: float) -> tuple[list[tuple[str, int, float, str]], float, list[str]]:
    stop_at = time.monotonic() + seconds
    clients = [Client(i, args, slugs, stop_at) for i in range(args.connections)]
    started = time.monotonic()
    for client in clients:
        client.start()
    for client in clients:
        client.join(timeout=seconds + args.request_timeout + 30)
    wall = time.monotonic() - started
    results = [result for client in clients for result in client.results]
    samples = [sample for client in clients for sample in client.error_samples]
    return results, wall, samples


# ---------------------------------------------------------------------------
# The server


def start_gunicorn(args, log_path: Path, env: dict[str, str]) -> Server:
    """gunicorn.conf.py as it is, with ``env`` (:func:`gunicorn_env`: only ``--workers`` / ``--threads`` given on
    this command line are passed, as the environment overrides the file reads)."""
    return Server("gunicorn", gunicorn_command(args.port), env=env, cwd=ROOT, port=args.port,
                  ready_path="/healthz", log_path=log_path, ready_timeout=60)


def gunicorn_shape(port: int, env: dict[str, str]) -> dict[str, str]:
    """The workers, threads and worker class gunicorn.conf.py gives with these overrides (for the report)."""
    result = subprocess.run([*gunicorn_command(port), "--print-config"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    shape = {}
    for line in result.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.strip() in {"workers", "threads", "worker_class", "timeout"}:
            shape[key.strip()] = value.strip()
    return shape


def worker_rss_mb(master_pid: int) -> list[float]:
    """Resident memory of each gunicorn worker (the master's children), from /proc."""
    sizes = []
    for pid in children(master_pid):
        with contextlib.suppress(OSError, BenchError):  # a worker that has just exited
            sizes.append(status_kb(pid) / 1024)
    return sizes


def cpu_seconds(master_pid: int, dbname: str) -> dict[str, dict[int, float]]:
    """CPU time (user + system) so far, per process, of the gunicorn master and its workers ("app") and
    of the PostgreSQL backends serving ``dbname`` ("database": the app's connections)."""
    ticks = os.sysconf("SC_CLK_TCK")
    found = {"app": {}, "database": {}}
    for pid, fields in proc_stats():
        # After the command name: state, ppid, …; utime and stime are the 12th and 13th of these.
        used = (int(fields[11]) + int(fields[12])) / ticks
        if pid == master_pid or fields[1] == str(master_pid):
            found["app"][pid] = used
            continue
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if dbname and command.startswith("postgres:") and f" {dbname} 127.0.0.1(" in command:  # client backends only
            found["database"][pid] = used
    return found


class CpuSampler(threading.Thread):
    """Samples ``cpu_seconds`` every second, so that a process that ends during the run (a database
    connection closed after DB_CONN_MAX_AGE) still counts with its last sample."""

    def __init__(self, master_pid, dbname):
        super().__init__(daemon=True)
        self.master_pid, self.dbname, self.stopped = master_pid, dbname, threading.Event()
        self.before = cpu_seconds(master_pid, dbname)
        self.last = {group: dict(values) for group, values in self.before.items()}

    def run(self):
        while not self.stopped.wait(1):
            self.sample()

    def sample(self):
        for group, values in cpu_seconds(self.master_pid, self.dbname).items():
            self.last[group].update(values)

    def used(self) -> tuple[float, float]:
        self.stopped.set()
        self.sample()
        return tuple(sum(value - self.before[group].get(pid, 0.0) for pid, value in self.last[group].items())
                     for group in ("app", "database"))


def machine_busy_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all CPUs together."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    ticks = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / ticks, sum(values) / ticks


class MemorySampler(threading.Thread):
    def __init__(self, master_pid):
        super().__init__(daemon=True)
        self.master_pid, self.peak, self.stopped = master_pid, [], threading.Event()

    def run(self):
        while not self.stopped.wait(2):
            sizes = worker_rss_mb(self.master_pid)
            if sizes and (not self.peak or max(sizes) > max(self.peak)):
                self.peak = sizes


# ---------------------------------------------------------------------------
# Report


def summarize(results, wall: float) -> dict:
    def stats(rows):
        latencies = sorted(row[2] * 1000 for row in rows)
        statuses = Counter(row[1] for row in rows)
        ok = sum(count for status, count in statuses.items() if 200 <= status < 300)
        limited = statuses.get(429, 0)
        return {
            "requests": len(rows),
            "ok": ok,
            "limited_429": limited,
            "errors": len(rows) - ok - limited,
            "connection_errors": statuses.get(0, 0),
            "statuses": {str(status): count for status, count in sorted(statuses.items())},
            "rps": round(len(rows) / wall, 1),
            "p50_ms": round(percentile(latencies, 0.50), 1),
            "p95_ms": round(percentile(latencies, 0.95), 1),
            "p99_ms": round(percentile(latencies, 0.99), 1),
            "max_ms": round(latencies[-1], 1) if latencies else float("nan"),
        }

    by_kind, by_route = defaultdict(list), defaultdict(list)
    for row in results:
        by_kind[row[0]].append(row)
        by_route[row[3]].append(row)
    routes = {route: stats(rows) for route, rows in by_route.items()}
    return {"all": stats(results), **{kind: stats(by_kind[kind]) for kind in KIND_WEIGHTS if by_kind[kind]},
            "_routes": dict(sorted(routes.items(), key=lambda item: -item[1]["p99_ms"]))}


def print_report(summary, args, wall):
    if args.exclude_shape:
        print(f"\nleft out: {', '.join(args.exclude_shape)}")
    print(f"\n{args.duration:g} s at {args.connections} connections (measured {wall:.1f} s), gunicorn "
          f"(gunicorn.conf.py) {args.shape.get('workers', '?')} × {args.shape.get('worker_class', '?')} × "
          f"{args.shape.get('threads', '?')} threads, timeout {args.shape.get('timeout', '?')} s, "
          f"database {'SQLite' if is_sqlite(args) else 'PostgreSQL'}")
    print(f"{'kind':<8} {'requests':>9} {'req/s':>7} {'2xx':>8} {'429':>5} {'errors':>6} "
          f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for kind, row in summary.items():
        if kind.startswith("_"):
            continue
        print(f"{kind:<8} {row['requests']:>9} {row['rps']:>7} {row['ok']:>8} {row['limited_429']:>5} "
              f"{row['errors']:>6} {row['p50_ms']:>8} {row['p95_ms']:>8} {row['p99_ms']:>8} {row['max_ms']:>8}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_load",
                        help="PostgreSQL database to fill and serve (name must start with bench_load), or a "
                             "SQLite file: sqlite:////absolute/path.sqlite3")
    parser.add_argument("--programs", type=int, default=100_000, help="generated programs (default 100000)")
    parser.add_argument("--no-setup", action="store_true", help="use the database as it is")
    parser.add_argument("--duration", type=float, default=60, help="seconds measured (default 60)")
    parser.add_argument("--warmup", type=float, default=10, help="seconds of traffic before measuring (default 10)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument("--workers", type=int, default=None,
                        help="GUNICORN_WORKERS for gunicorn.conf.py (default: the file's, 2 × cores + 1)")
    parser.add_argument("--threads", type=int, default=None,
                        help="GUNICORN_THREADS for gunicorn.conf.py (default: the file's, 4)")
    parser.add_argument("--export-concurrency", type=int, default=None,
                        help="EXPORT_CONCURRENCY for the server (default: the app's default, 2)")
    parser.add_argument("--statement-timeout", type=int, default=30, help="DB_STATEMENT_TIMEOUT (default 30)")
    parser.add_argument("--port", type=int, default=8061)
    parser.add_argument("--seed", type=int, default=1, help="random seed of the request mix")
    parser.add_argument("--request-timeout", type=float, default=30, help="client timeout per request, seconds")
    parser.add_argument("--hard-timeout", type=float, default=5400,
                        help="kill everything and exit 3 after this many seconds (default 5400, setup included)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    parser.add_argument("--exclude-shape", action="append", default=[], metavar="SHAPE",
                        help="leave out requests of this shape, as the report names them (e.g. '/funds/<slug>/'); "
                             "repeatable. To see what the rest of the mix does without one slow page")
    args = parser.parse_args(argv)

    server = None

    def watchdog():
        print(f"\nhard timeout of {args.hard_timeout:g} s reached: stopping", file=sys.stderr, flush=True)
        if server is not None:
            server.stop()
        os._exit(3)

    timer = threading.Timer(args.hard_timeout, watchdog)
    timer.daemon = True
    timer.start()

    if not args.no_setup:
        print("setting up the data …", flush=True)
        setup(args)
    slugs = sample(args)
    print(f"data: {slugs['_counts']}", flush=True)

    log_path = Path(os.environ.get("TMPDIR", "/tmp")) / f"load-gunicorn-{args.port}.log"
    env = gunicorn_env(server_env(args), workers=args.workers, threads=args.threads)  # one empty cache folder
    args.shape = gunicorn_shape(args.port, env)
    server = start_gunicorn(args, log_path, env)
    try:
        if args.warmup > 0:
            print(f"warming up for {args.warmup:g} s …", flush=True)
            drive(args, slugs, args.warmup)
        load_before = os.getloadavg()
        print(f"measuring for {args.duration:g} s (load average before: {load_before[0]:.2f}) …", flush=True)
        sampler = MemorySampler(server.pid)
        sampler.start()
        dbname = "" if is_sqlite(args) else database_name(args)  # SQLite runs inside the workers
        cpu_sampler, machine_before = CpuSampler(server.pid, dbname), machine_busy_seconds()
        cpu_sampler.start()
        results, wall, error_samples = drive(args, slugs, args.duration)
        sampler.stopped.set()
        load_after = os.getloadavg()
        cpu_used, db_cpu_used = cpu_sampler.used()
        machine_after = machine_busy_seconds()
    finally:
        server.stop()
        timer.cancel()

    summary = summarize(results, wall)
    print_report(summary, args, wall)
    print("\nslowest request shapes (by p99):")
    for route, row in list(summary["_routes"].items())[:8]:
        print(f"  {route:<40} {row['requests']:>6} requests  p50 {row['p50_ms']:>8} ms  p99 {row['p99_ms']:>8} ms"
              f"  errors {row['errors']}")
    overall = summary["all"]
    rss = sampler.peak
    if rss:
        print(f"gunicorn worker memory (RSS) at the peak sample: {min(rss):.0f}–{max(rss):.0f} MB per process")
    if error_samples:
        print("first errors:\n  " + "\n  ".join(error_samples[:10]))
    # The machine's other work competes for the same cores; the 1-minute load average at the end covers
    # the measured minute (this run's own gunicorn, PostgreSQL and client included).
    print(f"load average (1 min): {load_before[0]:.2f} before, {load_after[0]:.2f} at the end; {os.cpu_count()} CPUs")
    busy = machine_after[0] - machine_before[0]
    total = machine_after[1] - machine_before[1]
    cpu_per_request = cpu_used / max(1, overall["requests"]) * 1000
    db_per_request = db_cpu_used / max(1, overall["requests"]) * 1000
    database = "SQLite (in the workers)" if is_sqlite(args) else "PostgreSQL"
    print(f"CPU per request: gunicorn {cpu_per_request:.0f} ms, {database} {db_per_request:.0f} ms "
          f"({cpu_used:.1f} s and {db_cpu_used:.1f} s over {overall['requests']} requests); the whole machine was "
          f"{100 * busy / total:.0f} % busy ({busy:.0f} of {total:.0f} CPU s, this client and everything else "
          "running included)")
    met = overall["errors"] == 0 and overall["p99_ms"] <= 500
    print(f"target (0 errors, p99 ≤ 500 ms): {'met' if met else 'missed'}")
    if args.json:
        args.json.write_text(json.dumps({
            "when": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version()},
            "arguments": {key: str(value) for key, value in vars(args).items()},
            "data": slugs["_counts"],
            "wall_seconds": round(wall, 1),
            "load_average_before_after": [round(load_before[0], 2), round(load_after[0], 2)],
            "gunicorn_cpu_seconds": round(cpu_used, 1),
            "gunicorn_cpu_ms_per_request": round(cpu_per_request, 1),
            "postgresql_cpu_seconds": round(db_cpu_used, 1),
            "postgresql_cpu_ms_per_request": round(db_per_request, 1),
            "machine_busy_percent": round(100 * busy / total, 1),
            "summary": summary,
            "worker_rss_mb": [round(size) for size in rss],
            "error_samples": error_samples,
            "met": met,
        }, indent=2, ensure_ascii=False))
    return 0 if met else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:  # gunicorn did not start
        sys.exit(f"load: {exc}")
