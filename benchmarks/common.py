"""What ``bench.py`` and ``load.py`` share: serving the project (or Datasette) on loopback in a process group of
its own, reading processes from /proc, and the nearest-rank percentile."""

from __future__ import annotations

import atexit
import contextlib
import http.client
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class BenchError(Exception):
    """A step failed; the message says which and why."""


# ---------------------------------------------------------------------------
# Serving


def loopback_env(database_url, secret_key, **extra) -> dict[str, str]:
    """The environment of the project served over plain HTTP on 127.0.0.1 with DEBUG off."""
    env = dict(os.environ)
    env.update({
        "DATABASE_URL": database_url, "DEBUG": "0", "SECRET_KEY": secret_key,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "0", "SECURE_COOKIES": "0",  # plain HTTP on loopback; the security headers stay on
    }, **extra)
    return env


GUNICORN_CONF = ROOT / "gunicorn.conf.py"


def gunicorn_command(port, *options) -> list[str]:
    """gunicorn as production runs it: the project's gunicorn.conf.py (worker class, threads, timeouts, no
    control socket …), bound to loopback. Tune it through the environment the file reads (GUNICORN_WORKERS,
    GUNICORN_THREADS, GUNICORN_TIMEOUT …, see gunicorn_env) rather than with ``options``, so that what is
    measured is what the Dockerfile and compose run; ``options`` are passed on last for the odd exception."""
    return [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "--bind", f"127.0.0.1:{port}",
            *options, "config.wsgi"]


def gunicorn_env(env: dict[str, str], *, workers=None, threads=None, timeout=None, graceful_timeout=None,
                 keepalive=None, max_requests=None) -> dict[str, str]:
    """``env`` with the overrides gunicorn.conf.py reads (None: the file's default), and an empty folder of its
    own for the workers' shared page and count caches (SHARED_CACHE_DIR, removed when this process ends), so a
    measurement never starts with pages a previous run left for the same database."""
    if not env.get("SHARED_CACHE_DIR"):
        folder = tempfile.mkdtemp(prefix="bench-shared-cache-")
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
        env = {**env, "SHARED_CACHE_DIR": folder}
    overrides = {"GUNICORN_WORKERS": workers, "GUNICORN_THREADS": threads, "GUNICORN_TIMEOUT": timeout,
                 "GUNICORN_GRACEFUL_TIMEOUT": graceful_timeout, "GUNICORN_KEEPALIVE": keepalive,
                 "GUNICORN_MAX_REQUESTS": max_requests}
    return {**env, **{name: str(value) for name, value in overrides.items() if value is not None}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def check_port_free(port):
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            raise BenchError(
                f"port {port} on 127.0.0.1 is busy ({exc}); stop what listens there or try again"
            ) from exc


def http_status(port, path, timeout=5) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


class Server:
    """A server process in its own process group, ready once ``ready_path`` answers below 500; stop() stops the
    group and all."""

    def __init__(self, name, cmd, *, env, cwd, port, ready_path, log_path, ready_timeout=90):
        self.name, self.port, self.log_path = name, port, log_path
        check_port_free(port)
        self.log_file = open(log_path, "w")  # noqa: SIM115 (open while the server runs; closed in stop())
        self.process = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=self.log_file, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.pid = self.process.pid
        deadline = time.monotonic() + ready_timeout
        while True:
            if self.process.poll() is not None:
                self.log_file.flush()
                tail = Path(log_path).read_text(errors="replace")[-3000:]
                busy = " (the port is busy)" if "in use" in tail.lower() else ""
                raise BenchError(f"{name} exited at start{busy}; its log ({log_path}) ends:\n{tail}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if http_status(port, ready_path) < 500:
                    break
            if time.monotonic() > deadline:
                self.stop()
                raise BenchError(f"{name} did not answer on port {port} within {ready_timeout} s; see {log_path}")
            time.sleep(0.2)

    def worker_pid(self) -> int:
        """The process that serves requests: gunicorn's (first) worker, or the server itself."""
        return next(iter(children(self.pid)), self.pid)

    def stop(self):
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.pid, signal.SIGKILL)
                self.process.wait(timeout=15)
        self.log_file.close()


# ---------------------------------------------------------------------------
# Processes, from /proc


def proc_stats():
    """(pid, fields) of every process: the fields of /proc/PID/stat after the command name (state, ppid, …)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        yield int(entry.name), fields


def children(pid) -> list[int]:
    return sorted(child for child, fields in proc_stats() if fields[1] == str(pid))


def status_kb(pid, field="VmRSS") -> int:
    """A field of /proc/PID/status in kB (VmRSS: resident memory now; VmHWM: its peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise BenchError(f"no {field} for pid {pid}")


# ---------------------------------------------------------------------------
# Figures


def percentile(values, fraction):
    """Nearest-rank percentile: the smallest value with at least ``fraction`` of the values at or below it."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]
