"""SQLite, the embedded default, holds many readers and a writer at once (issue 14; settings.py's SQLite
options and core/sqlite.py).

- No public page writes: for every kind of public page (home, lists with filters, searches, details,
  CSV and JSON, the zip, the timeline, the changes and their feed, error pages), anonymous or logged in,
  CaptureQueriesContext sees no INSERT, UPDATE, DELETE or REPLACE.
- No public page holds SQLite's write lock, on a SQLite file with generated data: before each statement
  a page runs, another connection can still take the write lock at once.
- Readers in several processes and threads, and a writer saving records, all at once on one SQLite file:
  every page answers as it does on a quiet database, and every save succeeds.
- A search's first use of its FTS5 table on a new connection, interrupted by the facet time limit at any
  point, is an ordinary interruption, never ``vtable constructor failed``.

The last three run Django in subprocesses on a SQLite file (the test database is in memory).
"""

import json
import re
import sqlite3
import subprocess
import sys

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.testing.config import ROOT
from core.testing.processes import django_env, result_of, run_django

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.IGNORECASE)


# ---------------------------------------------------------------------------
# No writes, seen by the test client


def public_pages(world) -> list[str]:
    details = [row.get_absolute_url() for row in world.values() if hasattr(row, "get_absolute_url")]
    county, fund, program = world["puan"].slug, world["tuopin"].slug, world["dianshang"].slug
    return sorted(set(details)) + [
        "/",
        "/programs/", "/programs/?area=dianshang&sort=-start", f"/programs/?fund={fund}&sort=counties",
        f"/programs/?province={world['guizhou'].slug}&year_from=2017", "/programs/?per_page=1&page=2",
        "/programs/?q=脫貧", "/programs/?q=县", "/outcomes/?q=縣", "/counties/?q=县", "/envoys/?q=特派员",
        "/sources/?q=脱贫", "/funds/?q=基金", "/indicators/?q=销售",
        f"/outcomes/?county={county}&sort=-value", f"/outcomes/?program={program}", "/envoys/?role=tepaiyuan",
        "/funds/", "/sources/?script=traditional", "/counties/", "/indicators/", "/indicators/?disputed=1",
        f"/programs/?county={county}&format=csv", "/outcomes/?format=csv", "/programs/?format=json&q=县",
        f"/programs/{program}/?format=json",
        "/timeline/", "/changes/", "/changes/feed/", "/data/", "/api/", "/openapi.json", "/sitemap.xml",
        "/robots.txt", "/healthz",
        "/funds/?page=abc", "/programs/?year_from=20x9", "/programs/no-such-program/", "/no-such-page/",
    ]


def writes_of(client, url) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    assert response.status_code < 500, url
    return [query["sql"][:200] for query in queries.captured_queries if WRITE.match(query["sql"])]


@pytest.mark.django_db
def test_no_public_page_writes_to_the_database(client, world):
    for url in public_pages(world):
        # Twice: the first fills the in-memory caches, the second is served from them.
        assert writes_of(client, url) == [], url
        assert writes_of(client, url) == [], url


@pytest.mark.django_db
def test_no_public_page_writes_for_a_logged_in_editor_either(editor_client, world):
    # A logged-in session is read on every page; only an admin page may renew it (SessionRenewMiddleware).
    editor_client.get("/admin/")
    for url in public_pages(world):
        assert writes_of(editor_client, url) == [], url


# ---------------------------------------------------------------------------
# A SQLite file with generated data, and Django run on it in subprocesses


@pytest.fixture(scope="module")
def sqlite_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("sqlite-concurrency") / "tracker.sqlite3"
    env = django_env(path)
    for command in (["migrate", "--noinput", "-v0"], ["generate_demo", "--programs", "1500", "--no-progress"]):
        result = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
    return path


def first_slugs(path) -> dict[str, str]:
    tables = {"program": "programs_program", "fund": "programs_fund", "outcome": "programs_outcome",
              "source": "programs_source", "indicator": "programs_indicator", "county": "counties_county",
              "province": "counties_province", "envoy": "envoys_envoy"}
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        return {kind: db.execute(f"SELECT slug FROM {table} ORDER BY id LIMIT 1").fetchone()[0]
                for kind, table in tables.items()}


def file_pages(path) -> list[str]:
    s = first_slugs(path)
    return [
        "/", f"/programs/{s['program']}/", f"/funds/{s['fund']}/", f"/outcomes/{s['outcome']}/",
        f"/sources/{s['source']}/", f"/indicators/{s['indicator']}/", f"/counties/{s['county']}/",
        f"/envoys/{s['envoy']}/",
        "/programs/", "/programs/?area=dianshang&sort=-start", f"/programs/?fund={s['fund']}&sort=counties",
        f"/programs/?province={s['province']}&year_from=2018", "/programs/?area=jiaoyu&page=3",
        f"/counties/?province={s['province']}", f"/outcomes/?county={s['county']}", "/envoys/?role=tepaiyuan",
        "/funds/", "/funds/?page=2", "/sources/?script=simplified", "/indicators/",
        "/programs/?q=脫貧", "/programs/?q=县", "/outcomes/?q=縣", "/counties/?q=县", "/envoys/?q=村小二",
        "/sources/?q=电商",
        f"/programs/?county={s['county']}&format=csv", f"/outcomes/?county={s['county']}&format=csv",
        "/programs/?format=json&q=县", "/timeline/", "/changes/", "/changes/feed/", "/data/", "/healthz",
    ]


# Before each statement a page runs, a second connection tries to take the write lock without waiting.
LOCK_PROBE = r"""
import json, re, sqlite3, sys
from django.db import connection
from django.test import Client

WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE|REPLACE)\b", re.I)
probe = sqlite3.connect(connection.settings_dict["NAME"], timeout=0, isolation_level=None)
found = []

def probe_lock(execute, sql, params, many, context):
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        found.append(f"write lock held before {sql[:100]!r}: {exc}")
    if WRITE.match(sql):
        found.append(f"writes: {sql[:100]!r}")
    return execute(sql, params, many, context)

client, results = Client(), {}
for url in json.loads(sys.argv[1]):
    found = []
    with connection.execute_wrapper(probe_lock):
        response = client.get(url)
        if response.streaming:
            b"".join(response.streaming_content)
    results[url] = {"status": response.status_code, "problems": found}
print(json.dumps(results))
"""


def test_no_public_page_holds_the_write_lock(sqlite_file):
    results = result_of(run_django(sqlite_file, LOCK_PROBE, json.dumps(file_pages(sqlite_file))))
    assert {url: result for url, result in results.items() if result["problems"] or result["status"] >= 500} == {}


READERS = r"""
import json, random, sys, threading, time
from django.db import connection
from django.test import Client

urls, seconds, threads = json.loads(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])
outcomes = {}  # url -> {status or exception: count}
lock = threading.Lock()

def read(index):
    client, rng = Client(), random.Random(index)
    stop_at = time.monotonic() + seconds
    while True:
        for url in (urls if seconds == 0 else [rng.choice(urls)]):
            try:
                response = client.get(url)
                if response.streaming:
                    b"".join(response.streaming_content)
                outcome = str(response.status_code)
            except Exception as exc:  # the test client re-raises a view's exception
                outcome = f"{type(exc).__name__}: {exc}"[:300]
            with lock:
                counts = outcomes.setdefault(url, {})
                counts[outcome] = counts.get(outcome, 0) + 1
        if time.monotonic() >= stop_at:
            break
    connection.close()

workers = [threading.Thread(target=read, args=(index,)) for index in range(threads)]
for worker in workers:
    worker.start()
for worker in workers:
    worker.join()
print(json.dumps(outcomes))
"""

WRITER = r"""
import json, sys, time
from django.apps import apps
from django.db import transaction

seconds = float(sys.argv[1])
Program, Organization, County = (apps.get_model(label) for label in
                                 ("programs.Program", "programs.Organization", "counties.County"))
saved, errors, step = 0, [], 0
# As many as there are: a small generated file has fewer counties than programs.
programs, counties = min(200, Program.objects.count()), min(50, County.objects.count())
stop_at = time.monotonic() + seconds
while time.monotonic() < stop_at:
    step += 1
    try:
        with transaction.atomic():
            program = Program.objects.order_by("id")[step % programs]
            program.summary = f"修改 {step}"
            program.save()
            county = County.objects.order_by("id")[step % counties]
            county.aliases = f"别名{step}"
            county.save()
        organization = Organization.objects.create(name=f"并发测试{step}", slug=f"bingfa-ceshi-{step}")
        organization.delete()
        saved += 1
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}"[:300])
    time.sleep(0.02)
print(json.dumps({"saved": saved, "errors": errors}))
"""


def test_readers_and_a_writer_at_once_on_a_sqlite_file(sqlite_file):
    pages = file_pages(sqlite_file)
    quiet = result_of(run_django(sqlite_file, READERS, json.dumps(pages), "0", "1"))
    expected = {url: next(iter(counts)) for url, counts in quiet.items()}
    assert all(len(counts) == 1 for counts in quiet.values()), quiet
    assert all(status.isdigit() and int(status) < 500 for status in expected.values()), expected

    seconds = 12
    # The writer's busy timeout is short: a reader that took the write lock would make a save fail.
    writer = run_django(sqlite_file, WRITER, str(seconds), DB_BUSY_TIMEOUT="3")
    # No export limit: a 429 ("not now", EXPORT_CONCURRENCY per process) is no lock problem, and four threads
    # that each ask for exports would meet it.
    readers = [run_django(sqlite_file, READERS, json.dumps(pages), str(seconds), "4", EXPORT_CONCURRENCY="0")
               for _ in range(3)]
    written = result_of(writer)
    read = [result_of(process) for process in readers]

    assert written["errors"] == [] and written["saved"] > 0, written
    unexpected = {}
    for counts in read:
        for url, outcomes in counts.items():
            for outcome, count in outcomes.items():
                if outcome != expected[url]:
                    unexpected.setdefault(url, {})[outcome] = count
    assert unexpected == {}
    assert sum(sum(outcomes.values()) for counts in read for outcomes in counts.values()) >= len(pages)


# A new connection, then a search whose progress handler interrupts it after ``k`` callbacks every ``n``
# SQLite steps: the handler core.listing.query_time_limit installs, firing at every possible point.
FTS_INTERRUPTED = r"""
import json
from django.db import OperationalError, connection

SEARCH = ("SELECT id FROM programs_outcome WHERE id IN "
          "(SELECT rowid FROM programs_outcome_fts WHERE programs_outcome_fts MATCH '\"县\"') LIMIT 1")
outcomes = {}
for n in (1, 3, 10, 50, 200, 1000):
    for k in range(30):
        connection.close()
        connection.ensure_connection()
        calls = [0]

        def handler():
            calls[0] += 1
            return int(calls[0] > k)

        connection.connection.set_progress_handler(handler, n)
        try:
            with connection.cursor() as cursor:
                cursor.execute(SEARCH)
                cursor.fetchall()
            outcome = "ok"
        except OperationalError as exc:
            outcome = str(exc)
        finally:
            connection.connection.set_progress_handler(None, 0)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
print(json.dumps(outcomes))
"""


def test_an_interrupted_first_search_never_fails_the_fts_constructor(sqlite_file):
    outcomes = result_of(run_django(sqlite_file, FTS_INTERRUPTED))
    assert set(outcomes) == {"ok", "interrupted"}, outcomes
