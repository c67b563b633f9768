"""The one gunicorn configuration: the Dockerfile, docker-compose.yml, ``make bench`` and ``benchmarks/load.py``
all run ``gunicorn -c gunicorn.conf.py config.wsgi``, so every measurement uses what production runs.

The environment may override (a blank value counts as unset):

    BIND                      address to listen on             default 0.0.0.0:8000
    GUNICORN_WORKERS          processes                        default 2 × cores + 1
    GUNICORN_THREADS          threads per process              default 4
    GUNICORN_TIMEOUT          seconds a silent worker lives    default 60
    GUNICORN_GRACEFUL_TIMEOUT seconds to finish on a restart   default 30
    GUNICORN_KEEPALIVE        seconds an idle keep-alive lasts default 5
    GUNICORN_MAX_REQUESTS     requests before a worker recycles default 2000 (0: never), ± 10 % jitter
    GUNICORN_ACCESSLOG        "-" for gunicorn's own access log on stdout; default off (the app logs
                              every request itself: core.middleware.RequestLogMiddleware)
    SHARED_CACHE_DIR          where the worker processes share their page and count caches (config/settings.py)
                              default: rural-tracker-cache-<hash of DATABASE_URL> in the temporary folder;
                              "none": each process keeps its own in memory

Why ``gthread``: each worker process runs a main loop that accepts connections, hands each request to one of
its threads, and tells the master it is alive once a second (``Worker.notify()`` in the loop of
``gunicorn/workers/gthread.py``, ``ThreadWorker.run``). A thread streaming a long CSV export does not stop
that loop, so ``timeout`` never cuts an export off; it only restarts a worker whose main loop is stuck. And
while one thread streams to a slow client, the process's other threads keep answering (a ``sync`` worker
would be busy for the whole download). ``EXPORT_CONCURRENCY`` (default 2) keeps exports from taking every
thread. tracker/tests/test_gunicorn.py runs this file with one worker and a 2 s timeout and checks both.
"""

import hashlib
import multiprocessing
import os
import tempfile


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    try:
        return int(value)
    except ValueError:
        raise SystemExit(f"gunicorn.conf.py: {name} must be a whole number, not {value!r}") from None


# Set here, in the master, before any worker loads Django: every worker reads the same folder, so a page or a
# count one of them made serves all of them. One folder per database, so two sites on one machine never share.
if not os.environ.get("SHARED_CACHE_DIR", "").strip():
    _database = os.environ.get("DATABASE_URL", "").strip() or "sqlite-default"
    os.environ["SHARED_CACHE_DIR"] = os.path.join(
        tempfile.gettempdir(), "rural-tracker-cache-" + hashlib.sha256(_database.encode()).hexdigest()[:12]
    )

wsgi_app = "config.wsgi:application"  # the command line's config.wsgi wins when it names one
bind = [os.environ.get("BIND", "").strip() or "0.0.0.0:8000"]

worker_class = "gthread"
# Two cores measured: 5 × 4 (BENCHMARKS.md "Load"). Each process is about 150 MB under load.
workers = env_int("GUNICORN_WORKERS", 2 * multiprocessing.cpu_count() + 1)
threads = env_int("GUNICORN_THREADS", 4)

# Longer than the database's statement timeout (DB_STATEMENT_TIMEOUT, 30 s), shorter than the proxy's read
# timeout (deploy/nginx.conf, 120 s): a slow query fails in the app first. With gthread it never ends a stream.
timeout = env_int("GUNICORN_TIMEOUT", 60)
graceful_timeout = env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
keepalive = env_int("GUNICORN_KEEPALIVE", 5)

# Recycles each worker now and then (memory a large page took is given back); the jitter keeps the
# processes from all restarting at once.
max_requests = env_int("GUNICORN_MAX_REQUESTS", 2000)
max_requests_jitter = max_requests // 10

# The heartbeat files: in memory when the machine has /dev/shm (a disk-backed /tmp can stall the heartbeat
# and get a healthy worker killed); the compose service has a read-only root and an in-memory /tmp.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else "/tmp"

# gunicorn 25+ would otherwise create a control socket under $XDG_RUNTIME_DIR or $HOME/.gunicorn/ (the
# compose service's file system is read-only there). Nothing here uses gunicornc.
control_socket_disable = True

# The app writes one JSON line per request (with its request id); gunicorn's errors go to stderr.
accesslog = os.environ.get("GUNICORN_ACCESSLOG", "").strip() or None
errorlog = "-"
