"""The app under gunicorn when its PostgreSQL goes away and comes back, and a query that runs too long.

A throwaway PostgreSQL (initdb into a temporary folder, its own port, started and stopped with
pg_ctl) is used, never the machine's shared server. Needs the PostgreSQL server binaries
(/usr/lib/postgresql/*/bin) and, when running as root, the ``postgres`` OS user (initdb refuses
root). Runs in the PostgreSQL pass (``postgres`` marker); skipped locally when it cannot run,
a failure under ``CI=true``.
"""

import glob
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from core.testing.config import ROOT, free_port, start_django

pytestmark = pytest.mark.postgres


def postgres_bin_dir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(found[-1]).parent if found else None


def cannot_run_reason() -> str:
    if postgres_bin_dir() is None:
        return "no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql-15)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no 'postgres' OS user for initdb"
        if shutil.which("runuser") is None:
            return "running as root and runuser is missing"
    return ""


class ThrowawayPostgres:
    """initdb + pg_ctl on a free port in a temporary folder; as the postgres user when we are root."""

    def __init__(self):
        self.bin = postgres_bin_dir()
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="tracker-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.as_postgres = os.geteuid() == 0
        if self.as_postgres:
            entry = pwd.getpwnam("postgres")
            os.chown(self.root, entry.pw_uid, entry.pw_gid)
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def run(self, *args, check=True):
        command = [str(self.bin / args[0]), *args[1:]]
        if self.as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=check)

    def init(self):
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8")

    def start(self):
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.root} -c fsync=off"
        self.run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "-t", "30", "start")

    def stop(self):
        self.run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)

    def remove(self):
        self.stop()
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def throwaway_postgres():
    reason = cannot_run_reason()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true and the fault test cannot run: {reason}", pytrace=False)
        pytest.skip(reason)
    server = ThrowawayPostgres()
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.remove()


def app_settings(database_url: str, **extra) -> dict:
    """The variables the app runs with on the throwaway server: fast connection failures, persistent connections."""
    return dict(DATABASE_URL=database_url, SECRET_KEY="fault-test-only", SECURE_SSL_REDIRECT="0",
                DB_CONNECT_TIMEOUT="2", DB_CONN_MAX_AGE="60", **extra)


def app_environment(database_url: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "DATABASE_URL")}
    env.update(app_settings(database_url), DJANGO_SETTINGS_MODULE="config.settings")
    return env


@pytest.fixture(scope="module")
def gunicorn(throwaway_postgres):
    """The app under gunicorn (one worker, persistent connections) on the throwaway database."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--timeout", "30"],
        cwd=ROOT, env=app_environment(throwaway_postgres.url),
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited: {process.stdout.read()}")
            try:
                urllib.request.urlopen(base + "/healthz", timeout=2)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def get(url):
    """``(status, headers, body)``, also for error statuses."""
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read().decode()


def test_app_answers_503_while_the_database_is_down_and_recovers_without_restart(throwaway_postgres, gunicorn):
    status, _, body = get(gunicorn + "/healthz")
    assert status == 200 and '"ok"' in body
    # This server has no tables, so only pages asked while it is down matter: any page that reads
    # the database (a detail page here) must then be the 503 page, not a 500.

    throwaway_postgres.stop()
    started = time.monotonic()
    status, _, body = get(gunicorn + "/healthz")
    assert status == 503 and "unavailable" in body
    status, headers, body = get(gunicorn + "/programs/some-program/")
    assert status == 503, body[:500]
    assert headers["Retry-After"] == "30"
    assert headers["X-Request-ID"] in body
    assert "Traceback" not in body and "5432" not in body
    assert time.monotonic() - started < 15  # DB_CONNECT_TIMEOUT keeps failures fast

    throwaway_postgres.start()
    deadline = time.monotonic() + 10
    while True:  # the same gunicorn process, never restarted
        status, _, body = get(gunicorn + "/healthz")
        if status == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    assert status == 200 and '"ok"' in body


def test_statement_timeout_cancels_a_long_query(throwaway_postgres):
    code = (
        "import time\n"
        "from django.db import connection\n"
        "from django.db.utils import OperationalError\n"
        "started = time.monotonic()\n"
        "try:\n"
        "    connection.cursor().execute('SELECT pg_sleep(5)')\n"
        "    print('not cancelled')\n"
        "except OperationalError as exc:\n"
        "    print('cancelled', round(time.monotonic() - started, 1), type(exc.__cause__).__name__)\n"
    )
    result = start_django(code, **app_settings(throwaway_postgres.url, DB_STATEMENT_TIMEOUT="1"))
    assert result.returncode == 0, result.stderr
    word, seconds, cause = result.stdout.split()
    assert word == "cancelled" and cause == "QueryCanceled"
    assert float(seconds) < 3


def test_statement_timeout_defaults_to_thirty_seconds(throwaway_postgres):
    code = (
        "from django.db import connection\n"
        "with connection.cursor() as cursor:\n"
        "    cursor.execute('SHOW statement_timeout'); print(cursor.fetchone()[0])\n"
    )
    result = start_django(code, **app_settings(throwaway_postgres.url))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "30s"
