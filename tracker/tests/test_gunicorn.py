"""gunicorn.conf.py, run: a long export is neither cut off by the worker timeout nor blocks the site.

One real gunicorn (the project's gunicorn.conf.py, one worker through GUNICORN_WORKERS, a 2 s
GUNICORN_TIMEOUT) serves a SQLite file of 6,000 generated programs. A client with a tiny receive buffer
reads the full outcomes CSV (about 8.6 MB, twice what loopback's socket buffers can hold: Linux lets a
send buffer grow to 4 MB) at 1 MB/s, so the worker's thread is kept writing for seconds past the timeout.
Meanwhile /healthz and a list page are answered at once, the worker is never killed, and the slow client
gets the same bytes as a fast download. A ``sync`` worker (one thread) fails: the arbiter kills its one
process mid-download and the client gets a truncated file.

Also: the file's settings, and the environment overrides the Dockerfile, compose and benchmarks use.
"""

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from core.testing.config import ROOT, free_port

TIMEOUT = 2  # GUNICORN_TIMEOUT for the server under test
SLOW_RATE = 1_000_000  # bytes a second the slow client reads: about 9 s for the whole CSV


def gunicorn_settings(**env) -> dict[str, str]:
    """What ``gunicorn -c gunicorn.conf.py --print-config`` says, with ``env`` over a clean environment."""
    environment = {key: value for key, value in os.environ.items()
                   if not key.startswith("GUNICORN_") and key != "BIND"}
    environment.update(env, SECRET_KEY="print-config-only")
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--print-config", "config.wsgi"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return {key.strip(): value.strip() for key, _, value in
            (line.partition("=") for line in result.stdout.splitlines()) if key.strip()}


def test_the_configuration_and_its_defaults():
    config = gunicorn_settings()
    assert config["worker_class"] == "gthread"
    assert int(config["workers"]) == 2 * os.cpu_count() + 1
    assert 4 <= int(config["threads"]) <= 8
    assert config["bind"] == "['0.0.0.0:8000']"
    # Longer than the database's statement timeout (30 s), shorter than the proxy's read timeout (120 s).
    assert 30 < int(config["timeout"]) < 120
    assert int(config["graceful_timeout"]) > 0 and int(config["keepalive"]) > 0
    assert int(config["max_requests"]) > 0 and 0 < int(config["max_requests_jitter"]) < int(config["max_requests"])
    assert config["worker_tmp_dir"] in {"/dev/shm", "/tmp"}
    assert config["control_socket_disable"] == "True"
    assert config["accesslog"] == "None"  # core.middleware.RequestLogMiddleware logs every request


def test_the_environment_overrides_it():
    config = gunicorn_settings(GUNICORN_WORKERS="3", GUNICORN_THREADS="6", GUNICORN_TIMEOUT="90",
                               GUNICORN_GRACEFUL_TIMEOUT="20", GUNICORN_KEEPALIVE="2",
                               GUNICORN_MAX_REQUESTS="1000", BIND="127.0.0.1:9000", GUNICORN_ACCESSLOG="-")
    assert (config["workers"], config["threads"], config["timeout"]) == ("3", "6", "90")
    assert (config["graceful_timeout"], config["keepalive"]) == ("20", "2")
    assert (config["max_requests"], config["max_requests_jitter"]) == ("1000", "100")
    assert config["bind"] == "['127.0.0.1:9000']"
    assert config["accesslog"] == "-"
    # A blank value (compose's ${NAME:-} with nothing set) counts as unset.
    assert gunicorn_settings(GUNICORN_WORKERS="", BIND="")["bind"] == "['0.0.0.0:8000']"


# ---------------------------------------------------------------------------
# The server


def django_env(database: Path, **extra) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("GUNICORN_", "DB_")) and key != "BIND"}
    env.update(DATABASE_URL=f"sqlite:///{database}", SECRET_KEY="gunicorn-test-only", DEBUG="0",
               ALLOWED_HOSTS="127.0.0.1", SECURE_SSL_REDIRECT="0", SECURE_COOKIES="0", LOG_LEVEL="WARNING", **extra)
    return env


@pytest.fixture(scope="module")
def database(tmp_path_factory):
    path = tmp_path_factory.mktemp("gunicorn") / "tracker.sqlite3"
    for command in (["migrate", "--noinput", "-v0"], ["generate_demo", "--programs", "6000", "--no-progress"]):
        result = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=django_env(path),
                                capture_output=True, text=True, timeout=600)
        assert result.returncode == 0, result.stderr[-3000:]
    return path


def get(port, path, timeout=30) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def worker_pids(master: int) -> set[int]:
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                if (entry / "stat").read_text().rsplit(")", 1)[1].split()[1] == str(master):
                    pids.add(int(entry.name))
    return pids


@pytest.fixture(scope="module")
def server(database, tmp_path_factory):
    """gunicorn -c gunicorn.conf.py config.wsgi, as the Dockerfile runs it, with one worker and a short timeout."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("gunicorn-log") / "gunicorn.log"
    env = django_env(database, BIND=f"127.0.0.1:{port}", GUNICORN_WORKERS="1", GUNICORN_TIMEOUT=str(TIMEOUT),
                     GUNICORN_GRACEFUL_TIMEOUT="5")
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "config.wsgi"],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited at start:\n{log_path.read_text()[-3000:]}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if get(port, "/healthz", timeout=5)[0] == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"gunicorn did not answer within 60 s:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)
        yield {"port": port, "pid": process.pid, "log": log_path}
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


class SlowDownload(threading.Thread):
    """GET ``path`` through a socket with a 4 KB receive buffer, read at ``SLOW_RATE`` bytes a second."""

    def __init__(self, port, path):
        super().__init__(daemon=True)
        self.port, self.path = port, path
        self.status, self.body, self.error, self.seconds = None, b"", None, 0.0

    def run(self):
        started = time.monotonic()
        try:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # before connect: a small window
            sock.settimeout(30)
            sock.connect(("127.0.0.1", self.port))
            conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            conn.sock = sock
            conn.request("GET", self.path)
            response = conn.getresponse()
            self.status = response.status
            chunks, received = [], 0
            while chunk := response.read(4096):
                chunks.append(chunk)
                received += len(chunk)
                ahead = received / SLOW_RATE - (time.monotonic() - started)
                if ahead > 0:
                    time.sleep(ahead)
            self.body = b"".join(chunks)
            conn.close()
        except Exception as exc:  # reported by the test
            self.error = exc
        self.seconds = time.monotonic() - started


def test_a_slow_export_is_not_cut_off_and_does_not_block_other_requests(server):
    port, path = server["port"], "/outcomes/?format=csv"
    status, fast = get(port, path)
    assert status == 200 and len(fast) > 8_000_000, len(fast)  # twice what the socket buffers can hold
    assert get(port, "/programs/?area=jiaoyu")[0] == 200  # warm: the answers below are not first renders
    workers_before = worker_pids(server["pid"])
    assert len(workers_before) == 1

    slow = SlowDownload(port, path)
    slow.start()
    answered = []
    time.sleep(0.5)
    while slow.is_alive():
        for other in ("/healthz", "/programs/?area=jiaoyu"):
            started = time.monotonic()
            status, _ = get(port, other, timeout=10)
            answered.append((other, status, time.monotonic() - started, started))
        time.sleep(0.5)
    slow.join()

    assert slow.error is None, slow.error
    assert slow.status == 200
    # It streamed for well past the worker timeout, and arrived whole.
    assert slow.seconds > 3 * TIMEOUT, slow.seconds
    assert slow.body == fast
    # Other requests were answered all along, within a second, also after the timeout had passed.
    assert len(answered) >= 6 and all(status == 200 for _, status, _, _ in answered), answered
    slowest = max(seconds for _, _, seconds, _ in answered)
    assert slowest < 1.0, answered
    # The one worker was never killed for a timeout, nor replaced.
    assert worker_pids(server["pid"]) == workers_before
    assert "WORKER TIMEOUT" not in server["log"].read_text()
