"""Settings come from the environment only: a missing key stops start-up, DATABASE_URL picks the engine."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.testing.config import ROOT, start_django

PRINT_DATABASE = (
    "import json; from django.conf import settings; "
    "db = settings.DATABASES['default']; print(json.dumps({'ENGINE': db['ENGINE'], 'NAME': str(db['NAME'])}))"
)


def test_debug_off_without_secret_key_is_a_clear_startup_error():
    result = start_django()
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


def test_empty_secret_key_counts_as_missing():
    result = start_django(SECRET_KEY="", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_debug_on_starts_without_a_secret_key():
    result = start_django(DEBUG="1")
    assert result.returncode == 0, result.stderr


def test_postgres_database_url_selects_postgresql():
    result = start_django(
        PRINT_DATABASE, SECRET_KEY="x", DATABASE_URL="postgres://tracker:pw@db.example:5432/tracker"
    )
    assert result.returncode == 0, result.stderr
    database = json.loads(result.stdout)
    assert database == {"ENGINE": "django.db.backends.postgresql", "NAME": "tracker"}


def test_unset_database_url_selects_a_sqlite_file_inside_the_project():
    result = start_django(PRINT_DATABASE, SECRET_KEY="x")
    assert result.returncode == 0, result.stderr
    database = json.loads(result.stdout)
    assert database["ENGINE"] == "django.db.backends.sqlite3"
    path = Path(database["NAME"])
    assert path.is_absolute() and path.parent == ROOT


def test_the_sqlite_file_is_ignored_by_git():
    ignored = subprocess.run(
        ["git", "check-ignore", "-q", "db.sqlite3"], cwd=ROOT, capture_output=True
    )
    if ignored.returncode == 128:
        pytest.skip("not a git checkout")
    assert ignored.returncode == 0, "db.sqlite3 must be in .gitignore"


def test_every_variable_settings_read_is_in_env_example(settings_env_vars, env_example):
    missing = settings_env_vars - env_example.keys()
    assert not missing, f"add to .env.example: {sorted(missing)}"


def test_env_example_holds_no_real_secret(env_example):
    assert env_example.get("SECRET_KEY", "") in {"", "change-me"}


@pytest.mark.parametrize("command", [
    ["load_seeds", "--check"], ["propose_figures", "seeds/articles/000_63d2b1451f750324.txt"],
])
def test_read_only_commands_run_without_a_secret_key(command):
    """DESIGN.md's read-only commands work on a fresh checkout with nothing set; others still refuse."""
    environment = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DATABASE_URL"}}
    result = subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=environment,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    refused = subprocess.run([sys.executable, "manage.py", "load_seeds"], cwd=ROOT, env=environment,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and "SECRET_KEY" in refused.stderr
