"""Django run in a subprocess on a SQLite file (the test database is in memory, without a write-ahead log):
tracker/tests/test_sqlite_concurrency.py and test_sqlite_checkpoint.py."""

import json
import os
import subprocess
import sys

from core.testing.config import ROOT


def django_env(path, **extra) -> dict[str, str]:
    """The environment of a Django process on the SQLite file ``path``, DEBUG off, quiet."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DB_", "GUNICORN_"))}
    env.update(DATABASE_URL=f"sqlite:///{path}", SECRET_KEY="sqlite-concurrency-test", DEBUG="0",
               ALLOWED_HOSTS="testserver", SECURE_SSL_REDIRECT="0", SECURE_COOKIES="0", LOG_LEVEL="CRITICAL",
               DJANGO_SETTINGS_MODULE="config.settings", **extra)
    return env


def run_django(path, code, *args, timeout=300, **env):
    """Start ``code`` after ``django.setup()`` in a new interpreter; returns the process."""
    return subprocess.Popen([sys.executable, "-c", "import django; django.setup()\n" + code, *args], cwd=ROOT,
                            env=django_env(path, **env), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def result_of(process, timeout=300):
    """The JSON the process printed last; it must have ended well."""
    stdout, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr[-4000:]
    return json.loads(stdout.strip().splitlines()[-1])
