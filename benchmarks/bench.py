"""``make bench``: the project at 100,000 programs, side by side with Datasette on the same SQLite file.

What it does (every step timed, every server stopped at the end, whatever happens):

1. Generates the data: ``migrate`` then ``generate_demo --programs 100000 --seed 1`` into a fresh SQLite
   file, ``benchmarks/out/bench.sqlite3``; and, when ``DATABASE_URL`` names a PostgreSQL database, into
   that database too. Use a **scratch** database for this: generate_demo replaces its own earlier rows and
   refuses to run beside any other record. Then ``ANALYZE`` (``VACUUM (ANALYZE)`` on PostgreSQL), as
   autovacuum would soon do there.
2. Serves the project under gunicorn through gunicorn.conf.py (one gthread process, so the worker's memory is
   one process's; DEBUG off; the page cache on unless ``--no-page-cache``)
   on a free loopback port and measures over HTTP from this process: list pages (after a warm-up, the
   median and 95th percentile of repeated requests), the full CSV export (time, and the growth of the
   worker's resident memory, sampled from /proc while the file downloads) and an admin import of
   10,000 outcome rows, driven as a staff user does it (log in, upload, preview, confirm).
3. Serves the same SQLite file with Datasette (installed into ``benchmarks/.venv-datasette`` from
   ``benchmarks/requirements-datasette.txt``, for the benchmark only) and measures the closest
   equivalent table pages and its streamed full CSV.
4. Prints the figures and the project/Datasette ratio, and writes them to ``benchmarks/out/`` as JSON and
   Markdown (the figures in BENCHMARKS.md come from there).

Options: ``--runs`` / ``--warmup`` (default 30 and 3), ``--programs``, ``--skip-generate`` (measure the
data already there), ``--only sqlite|postgresql``, ``--no-datasette``, ``--at REV`` (measure the project as
committed at REV, exported with ``git archive`` into ``benchmarks/out/``, instead of the working tree).
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime
import http.client
import json
import os
import platform
import re
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import uuid
from pathlib import Path

from common import (
    ROOT,
    BenchError,
    Server,
    free_port,
    gunicorn_command,
    gunicorn_env,
    loopback_env,
    percentile,
    status_kb,
)

BENCH = ROOT / "benchmarks"
OUT = BENCH / "out"
HELPER = BENCH / "bench_django.py"
DATASETTE_VENV = BENCH / ".venv-datasette"
DATASETTE_REQUIREMENTS = BENCH / "requirements-datasette.txt"

HTTP_TIMEOUT = 120  # seconds, for any one request (the CSV and the import get longer, below)
SLOW_TIMEOUT = 900
SUPERUSER = "bench"
PASSWORD = "bench-" + uuid.uuid4().hex

PAGE_BUDGET_S = 10  # timed requests of one page stop after this long (at least MIN_RUNS of them)
MIN_RUNS = 3
CSV_BUDGET_S = 60

TARGET_LIST_P95_MS = 50  # issue 14: list pages p95 ≤ 50 ms, the province filter included
TARGET_CSV_GROWTH_MB = 50
TARGET_IMPORT_ROWS_PER_S = 5000  # issue 14: preview + confirm of 10,000 outcome rows
TARGET_GENERATE_S = 45  # issue 14: generate_demo --programs 100000 ≤ 45 s
TARGET_CSV_RATIO = 0.5  # issue 14: the full CSV of programs in ≤ 0.5× Datasette's time on the same file


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


# ---------------------------------------------------------------------------
# Processes


def run(cmd, *, env, cwd, timeout=1800, what=None):
    """Run a command to completion; raise BenchError with its output if it fails."""
    started = time.perf_counter()
    result = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise BenchError(f"{what or cmd[0]} failed (exit {result.returncode}):\n{result.stdout[-3000:]}"
                         f"\n{result.stderr[-3000:]}")
    return result.stdout, elapsed


def serve(name, cmd, **kwargs) -> Server:
    server = Server(name, cmd, **kwargs)
    log(f"{name} listening on 127.0.0.1:{server.port} (pid {server.pid}, log {server.log_path})")
    return server


# ---------------------------------------------------------------------------
# HTTP (standard library; one connection reused while the server keeps it open)


class Client:
    def __init__(self, port, timeout=HTTP_TIMEOUT):
        self.port, self.timeout = port, timeout
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
        self.cookies = {}

    def close(self):
        self.conn.close()

    def send(self, method, path, body=None, headers=None, timeout=None, sink=None):
        """One request; returns (status, headers, body bytes or byte count if ``sink``)."""
        headers = dict(headers or {})
        headers.setdefault("Host", f"127.0.0.1:{self.port}")
        headers.setdefault("Accept-Encoding", "identity")
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        self.conn.timeout = timeout or self.timeout
        if self.conn.sock is not None:
            self.conn.sock.settimeout(self.conn.timeout)
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                break
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()  # the server closed a kept-alive connection; reconnect once
                if attempt == 2:
                    raise
        if sink is None:
            data = response.read()
        else:
            data = 0
            while chunk := response.read(1 << 16):
                data += len(chunk)
                sink(chunk)
        for value in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = value.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        if response.will_close:
            self.conn.close()
        return response.status, response.headers, data


def measure_page(client, path, runs, warmup, budget_s=PAGE_BUDGET_S):
    """Median and p95 of ``runs`` timed requests after ``warmup`` untimed ones.

    A slow page (over a second) gets one warm-up, and its timed requests stop once ``budget_s`` seconds
    are spent (at least MIN_RUNS of them), so one slow page cannot take the whole benchmark's time; the
    number of runs is reported with the figures.
    """
    first_ms = None
    for _ in range(warmup):
        started = time.perf_counter()
        status, _, body = client.send("GET", path)
        if status != 200:
            raise BenchError(f"GET {path} answered {status}: {body[:300]!r}")
        if first_ms is None:  # the first request of this URL since the server started (nothing cached)
            first_ms = (time.perf_counter() - started) * 1000
        if time.perf_counter() - started > 1:
            break
    times = []
    spent = time.perf_counter()
    while len(times) < runs:
        started = time.perf_counter()
        status, _, body = client.send("GET", path)
        times.append((time.perf_counter() - started) * 1000)
        if status != 200:
            raise BenchError(f"GET {path} answered {status}")
        if len(times) >= MIN_RUNS and time.perf_counter() - spent > budget_s:
            break
    return {"path": path, "median_ms": statistics.median(times), "p95_ms": percentile(times, 0.95),
            "min_ms": min(times), "max_ms": max(times), "runs": len(times), "bytes": len(body), "first_ms": first_ms}


# ---------------------------------------------------------------------------
# Memory of a process, from /proc


class RssSampler(threading.Thread):
    def __init__(self, pid, interval=0.01):
        super().__init__(daemon=True)
        self.pid, self.interval = pid, interval
        self.peak_kb = status_kb(pid)
        self.halt = threading.Event()

    def run(self):
        while not self.halt.is_set():
            with contextlib.suppress(OSError, BenchError):
                self.peak_kb = max(self.peak_kb, status_kb(self.pid))
            time.sleep(self.interval)

    def finish(self):
        self.halt.set()
        self.join()
        return self.peak_kb


def measure_download(client, path, pid, runs):
    """Time a full download (first byte, last byte) and the server process's peak RSS growth during it."""
    results = []
    spent = time.perf_counter()
    for index in range(runs + 1):  # the first is the warm-up; slow downloads stop after CSV_BUDGET_S
        # (and one slower than CSV_BUDGET_S is timed once, its warm-up counted)
        if index > 1 and time.perf_counter() - spent > CSV_BUDGET_S:
            break
        before_kb, hwm_before = status_kb(pid), status_kb(pid, "VmHWM")
        sampler = RssSampler(pid)
        sampler.start()
        first = []
        # the warm-up's file, to count rows; closed below, once the download ends
        copy = open(OUT / "download.csv", "wb") if index == 0 else None  # noqa: SIM115

        def sink(chunk, first=first, copy=copy):
            if not first:
                first.append(time.perf_counter())
            if copy:
                copy.write(chunk)

        started = time.perf_counter()
        try:
            status, headers, size = client.send("GET", path, timeout=SLOW_TIMEOUT, sink=sink)
        finally:
            peak_kb = sampler.finish()
            if copy:
                copy.close()
        elapsed = time.perf_counter() - started
        if status != 200:
            raise BenchError(f"GET {path} answered {status}")
        result = {
            "seconds": elapsed, "first_byte_s": (first[0] - started) if first else None, "bytes": size,
            "rss_before_mb": before_kb / 1024, "rss_peak_mb": peak_kb / 1024,
            "rss_growth_mb": (peak_kb - before_kb) / 1024,
            "hwm_growth_mb": (status_kb(pid, "VmHWM") - hwm_before) / 1024,
        }
        if index:
            results.append(result)
        else:
            warm = result
            with open(OUT / "download.csv", encoding="utf-8-sig", newline="") as stream:
                rows = sum(1 for _ in csv.reader(stream)) - 1  # records, not lines: cells may hold newlines
            (OUT / "download.csv").unlink()
            if elapsed > CSV_BUDGET_S:  # a download this slow is its own warm-up: time it once only
                results.append(result)
                break
    if not results:  # --csv-runs 0: the warm-up is the one download timed
        results.append(warm)
    times = [r["seconds"] for r in results]
    return {
        "path": path, "runs": len(results), "median_s": statistics.median(times), "max_s": max(times),
        "first_byte_s": statistics.median(r["first_byte_s"] for r in results), "bytes": results[0]["bytes"],
        "rows": rows, "rss_before_mb": results[0]["rss_before_mb"],
        "rss_growth_mb": max(r["rss_growth_mb"] for r in [warm] + results),
        "rss_growth_warm_mb": max(r["rss_growth_mb"] for r in results),
        "rss_peak_mb": max(r["rss_peak_mb"] for r in [warm] + results),
    }


def measure_pages_and_csv(client, label, pages, csv_path, pid, args, *, project):
    """Each of ``pages`` (name, path), then the full CSV at ``csv_path``, logged as they are measured."""
    measured = {}
    for name, path in pages:
        measured[name] = page = measure_page(client, path, args.runs, args.warmup)
        log(f"{label}: {name:<26} median {page['median_ms']:7.1f} ms  p95 {page['p95_ms']:7.1f} ms"
            + (f"  (first request {page['first_ms']:.0f} ms)" if project else ""))
    log(f"{label}: full CSV")
    csv_result = measure_download(client, csv_path, pid, args.csv_runs)
    log(f"{label}: full CSV {csv_result['median_s']:.2f} s, {csv_result['rows']} rows, "
        + ("worker " if project else "") + f"RSS +{csv_result['rss_growth_mb']:.1f} MB")
    return {"pages": measured, "csv": csv_result}


# ---------------------------------------------------------------------------
# The project


def project_env(database_url):
    return loopback_env(database_url, "bench-" + uuid.uuid4().hex, SECURE_HSTS_SECONDS="0",
                        DJANGO_SUPERUSER_PASSWORD=PASSWORD, PYTHONUNBUFFERED="1")


def django(args, *, env, cwd, what=None, timeout=1800):
    # Commands (migrate, generate_demo) run without the app's 30 s PostgreSQL statement timeout: deleting
    # the previous run's 100,000 generated programs can take longer than that. The server keeps it.
    env = dict(env, DB_STATEMENT_TIMEOUT="0")
    return run([sys.executable, *args], env=env, cwd=cwd, what=what or " ".join(args[:2]), timeout=timeout)


def helper(*args, env, cwd, what):
    """A command of bench_django.py; returns its output."""
    return run([sys.executable, str(HELPER), *args], env=env, cwd=cwd, what=what)[0]


def read_info(env, cwd):
    return json.loads(helper("info", env=env, cwd=cwd, what="reading slugs"))


def generate(label, env, cwd, programs):
    log(f"{label}: migrate")
    _, migrate_s = django(["manage.py", "migrate", "--noinput"], env=env, cwd=cwd)
    log(f"{label}: generate_demo --programs {programs} --seed 1")
    out, generate_s = django(["manage.py", "generate_demo", "--programs", str(programs), "--seed", "1",
                              "--no-progress"], env=env, cwd=cwd, what="generate_demo")
    reported = re.search(r"(\d+) rows generated .* in ([\d.]+) s", out)
    rows = int(reported.group(1)) if reported else None
    log(f"{label}: {rows} rows in {generate_s:.1f} s (command wall time; migrate {migrate_s:.1f} s)")
    return {"migrate_s": migrate_s, "generate_s": generate_s, "analyze_s": analyze(label, env, cwd),
            "generate_reported_s": float(reported.group(2)) if reported else None, "rows": rows}


def analyze(label, env, cwd):
    """ANALYZE (on PostgreSQL VACUUM (ANALYZE)) after the bulk load. generate_demo leaves the tables without
    planner statistics and, on PostgreSQL, without a visibility map, which autovacuum builds a little later
    (SQLite gathers statistics only on request); without them the minutes after a load are measured
    with other plans than a running site has."""
    _, seconds = django([str(HELPER), "analyze"], env=env, cwd=cwd, what="ANALYZE")
    log(f"{label}: ANALYZE in {seconds:.1f} s")
    return seconds


def project_pages(info):
    fund, area, province = info["fund"]["slug"], info["area"], info["province"]["slug"]
    quote = urllib.parse.quote
    return [
        ("first page", "/programs/"),
        ("filter: fund + area", f"/programs/?fund={fund}&area={area}"),
        ("filter: province", f"/programs/?province={province}"),
        ("search q=县", "/programs/?q=" + quote("县")),
        ("search q=电商", "/programs/?q=" + quote("电商")),
        ("sort by start, descending", "/programs/?sort=-start"),
        ("page 500", "/programs/?page=500"),
        ("indicators", "/indicators/"),
        ("indicators: disputed", "/indicators/?disputed=1"),
        ("indicators, JSON with values", "/indicators/?format=json"),
        ("timeline, oldest first", "/timeline/"),
        ("timeline, newest first", "/timeline/?sort=-date"),
        ("timeline: fund", f"/timeline/?fund={fund}"),
    ]


def admin_login(client):
    status, _, body = client.send("GET", "/admin/login/?next=/admin/")
    if status != 200:
        raise BenchError(f"GET /admin/login/ answered {status}")
    token = csrf_token(body)
    form = urllib.parse.urlencode({"csrfmiddlewaretoken": token, "username": SUPERUSER, "password": PASSWORD,
                                   "next": "/admin/"})
    status, _, body = client.send("POST", "/admin/login/?next=/admin/", body=form, headers={
        "Content-Type": "application/x-www-form-urlencoded", "Referer": f"http://127.0.0.1:{client.port}/admin/login/"})
    if status != 302 or "sessionid" not in client.cookies:
        raise BenchError(f"admin login failed ({status}); is the account locked by axes? {body[:300]!r}")


def csrf_token(html: bytes) -> str:
    found = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    if not found:
        raise BenchError("no CSRF token in the page")
    return found.group(1).decode()


def hidden_inputs(html: bytes) -> dict:
    fields = {}
    for tag in re.findall(rb"<input[^>]*>", html):
        if b'type="hidden"' not in tag:
            continue
        name = re.search(rb'name="([^"]+)"', tag)
        value = re.search(rb'value="([^"]*)"', tag)
        if name:
            fields[name.group(1).decode()] = value.group(1).decode() if value else ""
    return fields


def multipart(fields: dict, files: dict):
    boundary = "----bench" + uuid.uuid4().hex
    parts = []
    for name, value in fields.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode())
    for name, (filename, content, content_type) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
                     f"Content-Type: {content_type}\r\n\r\n".encode() + content + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def admin_import(port, env, cwd, rows):
    """Upload, preview and confirm ``rows`` new outcomes through /admin/, as a staff user does."""
    csv_path = OUT / f"import-{rows}.csv"
    helper("import-csv", str(csv_path), str(rows), env=env, cwd=cwd, what="writing the import file")
    content = csv_path.read_bytes()
    client = Client(port, timeout=SLOW_TIMEOUT)
    try:
        admin_login(client)
        url = "/admin/programs/outcome/import/"
        status, _, page = client.send("GET", url)
        if status != 200:
            raise BenchError(f"GET {url} answered {status}")
        body, content_type = multipart(
            {"csrfmiddlewaretoken": csrf_token(page), "format": "0", "resource": "0"},
            {"import_file": (csv_path.name, content, "text/csv")},
        )
        started = time.perf_counter()
        status, _, preview = client.send("POST", url, body=body, headers={"Content-Type": content_type})
        preview_s = time.perf_counter() - started
        if status != 200 or b"process_import" not in preview:
            problems = re.findall(rb"<td>line \d+</td><td>[^<]*</td><td>[^<]*</td>", preview)[:5]
            raise BenchError(f"the import preview was refused ({status}): {problems or preview[:300]!r}; "
                             f"see {OUT / 'gunicorn-*.log'}")
        form = hidden_inputs(preview.split(b"process_import", 1)[1])
        confirm_url = "/admin/programs/outcome/process_import/"
        data = urllib.parse.urlencode({key: form[key] for key in (
            "csrfmiddlewaretoken", "import_file_name", "original_file_name", "format", "resource") if key in form})
        started = time.perf_counter()
        status, _, body = client.send("POST", confirm_url, body=data, headers={
            "Content-Type": "application/x-www-form-urlencoded"})
        confirm_s = time.perf_counter() - started
        if status != 302:
            raise BenchError(f"the import confirmation answered {status}: {body[:300]!r}; see {OUT / 'gunicorn-*.log'}")
    finally:
        client.close()
    imported = json.loads(helper("count-imported", env=env, cwd=cwd, what="counting imported rows"))["imported"]
    if imported != rows:
        raise BenchError(f"{imported} rows imported, {rows} expected")
    total = preview_s + confirm_s
    return {"rows": rows, "bytes": len(content), "preview_s": preview_s, "confirm_s": confirm_s,
            "total_s": total, "rows_per_s": rows / total, "confirm_rows_per_s": rows / confirm_s}


def bench_project(label, database_url, cwd, args):
    env = project_env(database_url)
    result = {"database": label}
    if not args.skip_generate:
        result["generate"] = generate(label, env, cwd, args.programs)
    else:
        django(["manage.py", "migrate", "--noinput"], env=env, cwd=cwd)  # the code may be newer than the data
        result["analyze_s"] = analyze(label, env, cwd)
    helper("superuser", SUPERUSER, env=env, cwd=cwd, what="creating the superuser")
    result["info"] = info = read_info(env, cwd)
    port = free_port()
    # gunicorn.conf.py as production runs it, with one process (so the worker's memory is one process's) and
    # its threads; --no-page-cache measures every page rendered afresh (PAGE_CACHE_SECONDS=0).
    served_env = gunicorn_env(env, workers=1, graceful_timeout=5)
    if args.no_page_cache:
        served_env["PAGE_CACHE_SECONDS"] = "0"
    server = serve(f"gunicorn ({label})", gunicorn_command(port), env=served_env, cwd=cwd, port=port,
                   ready_path="/healthz", log_path=OUT / f"gunicorn-{label}.log")
    try:
        pid = server.worker_pid()
        client = Client(port)
        try:
            result.update(measure_pages_and_csv(client, label, project_pages(info), "/programs/?format=csv", pid,
                                                args, project=True))
        finally:
            client.close()
        if args.import_rows:
            log(f"{label}: admin import of {args.import_rows} outcome rows")
            result["import"] = imp = admin_import(port, env, cwd, args.import_rows)
            log(f"{label}: import preview {imp['preview_s']:.1f} s + confirm {imp['confirm_s']:.1f} s "
                f"= {imp['rows_per_s']:.0f} rows/s")
        result["worker_rss_end_mb"] = status_kb(pid) / 1024
    finally:
        server.stop()
    return result


# ---------------------------------------------------------------------------
# Datasette


def datasette_python():
    python = DATASETTE_VENV / "bin" / "python"
    probe = subprocess.run([str(python), "-c", "import datasette"], capture_output=True) if python.exists() else None
    if probe is not None and probe.returncode == 0:
        return python
    log(f"installing Datasette into {DATASETTE_VENV.relative_to(ROOT)}")
    # A copied virtualenv can hold its python links as plain files; take them away and make them again.
    for name in ("python", "python3", f"python{sys.version_info.major}.{sys.version_info.minor}"):
        link = DATASETTE_VENV / "bin" / name
        if link.exists() and not link.is_symlink() and not os.access(link, os.X_OK):
            link.unlink()
    subprocess.run([sys.executable, "-m", "venv", str(DATASETTE_VENV)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "-r", str(DATASETTE_REQUIREMENTS)], check=True)
    return python


def datasette_next_token(client, base, offset):
    """Datasette's keyset token that starts a page right after row ``offset`` of ``base`` (walked once)."""
    token, seen = None, 0
    while seen < offset:
        size = min(1000, offset - seen)
        path = f"{base}.json?_sort=name&_size={size}" + (f"&_next={urllib.parse.quote(token)}" if token else "")
        status, _, body = client.send("GET", path)
        if status != 200:
            raise BenchError(f"GET {path} answered {status}")
        data = json.loads(body)
        seen += len(data["rows"])
        token = data["next"]
    return token


def bench_datasette(sqlite_path, info, args):
    python = datasette_python()
    version = subprocess.run([str(python), "-c", "import datasette; print(datasette.__version__)"],
                             capture_output=True, text=True).stdout.strip()
    port = free_port()
    server = serve("datasette", [
        str(python), "-m", "datasette", "serve", str(sqlite_path), "-h", "127.0.0.1", "-p", str(port),
        "--setting", "max_csv_mb", "0",  # no cap on the streamed CSV
    ], env=dict(os.environ), cwd=OUT, port=port, ready_path="/-/versions.json", log_path=OUT / "datasette.log")
    result = {"version": version}
    try:
        client = Client(port)
        try:
            db = sqlite_path.stem
            base = f"/{db}/programs_program"
            fund_id, province_id, area = info["fund"]["id"], info["province"]["id"], info["area"]
            in_province = (
                "id in (select pc.program_id from programs_program_counties pc join counties_county c "
                f"on c.id = pc.county_id where c.province_id = {province_id})"
            )
            quote = urllib.parse.quote
            token = datasette_next_token(client, base, 499 * 50)
            pages = [
                ("first page", f"{base}?_sort=name&_size=50"),
                ("filter: fund + area", f"{base}?fund_id={fund_id}&area={area}&_sort=name&_size=50"),
                ("filter: province", f"{base}?_where={quote(in_province)}&_sort=name&_size=50"),
                ("search q=县", f"{base}?search_text__contains={quote('县')}&_sort=name&_size=50"),
                ("search q=电商", f"{base}?search_text__contains={quote('电商')}&_sort=name&_size=50"),
                ("sort by start, descending", f"{base}?_sort_desc=start&_size=50"),
                ("page 500", f"{base}?_sort=name&_size=50&_next={quote(token)}"),
            ]
            result.update(measure_pages_and_csv(client, "datasette", pages, f"{base}.csv?_stream=on&_size=max",
                                                server.worker_pid(), args, project=False))
        finally:
            client.close()
    finally:
        server.stop()
    return result


# ---------------------------------------------------------------------------
# The machine, the report


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal:"))
    postgres = None
    if shutil.which("psql") and os.environ.get("DATABASE_URL", "").startswith("postgres"):
        with contextlib.suppress(Exception):
            postgres = subprocess.run(["psql", os.environ["DATABASE_URL"], "-Atc", "show server_version"],
                                      capture_output=True, text=True, timeout=10).stdout.strip() or None
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_gb": round(mem_kb / 1024 / 1024, 1),
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version, "postgresql": postgres,
            "os": platform.platform(), "load_average_start": os.getloadavg()}


def verdict(met, how):
    return ("met" if met else "MISSED") + (f" ({how})" if how else "")


def report(results) -> str:
    lines = []
    m = results["machine"]
    lines.append(f"Machine: {m['cores']} cores ({m['cpu']}), {m['ram_gb']} GB RAM, Python {m['python']}, "
                 f"SQLite {m['sqlite']}" + (f", PostgreSQL {m['postgresql']}" if m["postgresql"] else "")
                 + f"; load average {m['load_average_start'][0]:.1f} at the start, "
                 f"{results['load_average_end'][0]:.1f} at the end (other work on the machine makes figures "
                 f"noisier). Project at {results['revision']}. "
                 f"Up to {results['runs']} timed requests per page (project / "
                 f"Datasette) after up to {results['warmup']} warm-up requests; a page slower than a second gets one "
                 f"warm-up and at least {MIN_RUNS} timed requests within about {PAGE_BUDGET_S} s.")
    datasette = results.get("datasette")
    for project in results["projects"]:
        label = project["database"]
        lines.append("")
        lines.append(f"### {label}")
        if "generate" in project:
            g = project["generate"]
            lines.append("")
            lines.append(f"Generation: {g['rows']:,} rows (100,000 programs) in {g['generate_s']:.1f} s "
                         f"(`generate_demo` wall time; migrate {g['migrate_s']:.1f} s, then ANALYZE "
                         f"{g.get('analyze_s', 0):.1f} s): "
                         + (verdict(g["generate_s"] <= TARGET_GENERATE_S, f"target ≤ {TARGET_GENERATE_S} s")
                            if label == "sqlite" else f"the ≤ {TARGET_GENERATE_S} s target is for SQLite"))
        lines.append("")
        lines.append("| page | runs | project first request | project median | project p95 | Datasette median "
                     f"| Datasette p95 | p95 ratio | target: p95 ≤ {TARGET_LIST_P95_MS} ms and ≤ Datasette |")
        lines.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
        for name, page in project["pages"].items():
            other = datasette["pages"].get(name) if datasette else None
            runs = f"{page['runs']}" + (f" / {other['runs']}" if other else "")
            first = f"{page['first_ms']:.0f} ms" if page.get("first_ms") is not None else ""
            cells = [name, runs, first, f"{page['median_ms']:.1f} ms", f"{page['p95_ms']:.1f} ms"]
            if other:
                ratio = page["p95_ms"] / other["p95_ms"]
                cells += [f"{other['median_ms']:.1f} ms", f"{other['p95_ms']:.1f} ms", f"{ratio:.2f}"]
                ok = page["p95_ms"] <= TARGET_LIST_P95_MS and page["p95_ms"] <= other["p95_ms"]
            else:
                cells += ["", "", ""]
                ok = page["p95_ms"] <= TARGET_LIST_P95_MS
            over = page["p95_ms"] - TARGET_LIST_P95_MS
            cells.append("met" if ok else "MISSED" + (f" by {over:.0f} ms" if over > 0 else " (slower than Datasette)"))
            lines.append("| " + " | ".join(cells) + " |")
        c = project["csv"]
        lines.append("")
        other = datasette["csv"] if datasette else None
        text = (f"Full CSV (`/programs/?format=csv`, {c['rows']:,} rows, {c['bytes'] / 1e6:.1f} MB): "
                f"median {c['median_s']:.2f} s (first byte {c['first_byte_s'] * 1000:.0f} ms), worker RSS "
                f"{c['rss_before_mb']:.0f} MB before, peak growth {c['rss_growth_mb']:.1f} MB")
        if other:
            text += (f"; Datasette's streamed CSV ({other['rows']:,} rows, {other['bytes'] / 1e6:.1f} MB): "
                     f"median {other['median_s']:.2f} s, RSS growth {other['rss_growth_mb']:.1f} MB; ratio "
                     f"{c['median_s'] / other['median_s']:.2f}")
        ok_mem = c["rss_growth_mb"] < TARGET_CSV_GROWTH_MB
        timing = (verdict(c["median_s"] <= TARGET_CSV_RATIO * other["median_s"],
                          f"≤ {TARGET_CSV_RATIO}× Datasette's time") if other
                  else "not compared (no Datasette in this run)")
        lines.append(text + ". Time: " + timing + "; memory: "
                     + verdict(ok_mem, f"growth < {TARGET_CSV_GROWTH_MB} MB") + ".")
        if "import" in project:
            i = project["import"]
            lines.append("")
            lines.append(f"Admin import of {i['rows']:,} outcome rows ({i['bytes'] / 1e6:.1f} MB CSV, over HTTP as "
                         f"a staff user): preview {i['preview_s']:.1f} s + confirm {i['confirm_s']:.1f} s = "
                         f"{i['total_s']:.1f} s, {i['rows_per_s']:.0f} rows/s end to end "
                         f"({i['confirm_rows_per_s']:.0f} rows/s for the confirm step alone): "
                         + verdict(i["rows_per_s"] >= TARGET_IMPORT_ROWS_PER_S,
                                   f"target ≥ {TARGET_IMPORT_ROWS_PER_S} rows/s") + ".")
    return "\n".join(lines) + "\n"


def revision(cwd):
    if cwd != ROOT:  # an exported commit (--at)
        return cwd.name.removeprefix("src-")
    with contextlib.suppress(Exception):
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True).stdout.strip()
        return rev + (" + uncommitted changes" if dirty else "")
    return "unknown"


def export_revision(rev) -> Path:
    commit = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    target = OUT / f"src-{commit}"
    if not (target / "manage.py").exists():
        target.mkdir(parents=True, exist_ok=True)
        archive = subprocess.Popen(["git", "archive", commit], cwd=ROOT, stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", str(target)], stdin=archive.stdout, check=True)
        if archive.wait() != 0:
            raise BenchError(f"git archive {commit} failed")
    return target


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--programs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30, help="timed requests per page (default 30)")
    parser.add_argument("--warmup", type=int, default=3, help="warm-up requests per page (default 3)")
    parser.add_argument("--csv-runs", type=int, default=3,
                        help="timed full-CSV downloads (default 3, after one warm-up)")
    parser.add_argument("--import-rows", type=int, default=10_000, help="outcome rows to import (0: skip)")
    parser.add_argument("--skip-generate", action="store_true", help="measure the data already generated")
    parser.add_argument("--only", choices=["sqlite", "postgresql"], help="one database only")
    parser.add_argument("--no-datasette", action="store_true")
    parser.add_argument("--no-page-cache", action="store_true",
                        help="PAGE_CACHE_SECONDS=0: pages rendered afresh (default: repeats come from the page cache)")
    parser.add_argument("--at", metavar="REV", help="measure the project as committed at REV (git archive)")
    args = parser.parse_args(argv)

    OUT.mkdir(parents=True, exist_ok=True)
    cwd = export_revision(args.at) if args.at else ROOT
    sqlite_path = OUT / "bench.sqlite3"
    targets = []
    if args.only != "postgresql":
        targets.append(("sqlite", f"sqlite:///{sqlite_path}"))
    database_url = os.environ.get("DATABASE_URL", "")
    if database_url.startswith(("postgres://", "postgresql://")) and args.only != "sqlite":
        targets.append(("postgresql", database_url))
    elif args.only == "postgresql":
        raise BenchError("--only postgresql needs DATABASE_URL=postgres://… naming a scratch database")

    results = {"started": datetime.datetime.now().isoformat(timespec="seconds"), "revision": revision(cwd),
               "machine": machine(), "runs": args.runs, "warmup": args.warmup, "projects": []}
    log(f"project at {results['revision']} ({cwd}); {results['machine']['cores']} cores")
    started = time.monotonic()
    name = "-".join(label for label, _ in targets) or "datasette"
    partial = OUT / f"results-{name}.partial.json"  # what was measured so far, should a later step fail
    for label, url in targets:
        if label == "sqlite" and not args.skip_generate:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{sqlite_path}{suffix}").unlink(missing_ok=True)
        results["projects"].append(bench_project(label, url, cwd, args))
        partial.write_text(json.dumps(results, indent=2, ensure_ascii=False))
    if not args.no_datasette:
        if not sqlite_path.exists():
            raise BenchError(f"{sqlite_path} does not exist: run once without --only postgresql first")
        info = next((p["info"] for p in results["projects"] if p["database"] == "sqlite"), None)
        if info is None:
            info = read_info(project_env(f"sqlite:///{sqlite_path}"), cwd)
        results["datasette"] = bench_datasette(sqlite_path, info, args)
    results["elapsed_s"] = time.monotonic() - started
    results["load_average_end"] = os.getloadavg()

    partial.unlink(missing_ok=True)
    (OUT / f"results-{name}.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    text = report(results)
    (OUT / f"results-{name}.md").write_text(text)
    print()
    print(text)
    log(f"done in {results['elapsed_s'] / 60:.1f} min; results in {OUT.relative_to(ROOT)}/results-{name}.{{md,json}}")


def interrupted(signum, frame):
    raise KeyboardInterrupt  # so every server is stopped on the way out


if __name__ == "__main__":
    # Also when started in the background, where a shell ignores SIGINT for its children.
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        main()
    except BenchError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
