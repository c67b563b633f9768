"""scripts/test.sh, the body of `make test`: its exit status is the verdict CI reads.

Run with a stand-in for Python that answers every call (the PostgreSQL probe and both pytest passes) with
the exit status a test chooses, so the script's own logic is checked in a second, without running pytest.
"""

import os
import subprocess
import textwrap

import pytest

from core.testing.config import ROOT

SCRIPT = ROOT / "scripts" / "test.sh"


@pytest.fixture
def fake_python(tmp_path):
    """A PY that exits with $FAKE_SQLITE for the SQLite pass (no DATABASE_URL), $FAKE_PG for the other."""
    path = tmp_path / "python"
    path.write_text(
        textwrap.dedent(
            """\
            #!/bin/sh
            if [ -z "${DATABASE_URL:-}" ]; then exit "${FAKE_SQLITE:-0}"; fi
            case "$*" in *pytest*) exit "${FAKE_PG:-0}" ;; esac
            exit 0
            """
        )
    )
    path.chmod(0o755)
    return path


def run(fake_python, tmp_path, **env):
    environ = {
        "PATH": os.environ["PATH"],
        "PY": str(fake_python),
        "CI": "true",
        "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
        "TMPDIR": str(tmp_path),
        **env,
    }
    return subprocess.run(["bash", str(SCRIPT)], env=environ, capture_output=True, text=True, timeout=60)


def test_both_passes_green_is_exit_0_and_leaves_no_log(fake_python, tmp_path):
    # The EXIT trap once ended the script with 1 under `set -e` when its kill found the pass already over.
    done = run(fake_python, tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "FAILED" not in done.stderr
    assert not list(tmp_path.glob("pytest-postgresql.*"))


@pytest.mark.parametrize(
    ("env", "says"),
    [({"FAKE_SQLITE": "1"}, "the SQLite pass failed"), ({"FAKE_PG": "1"}, "the PostgreSQL pass failed")],
)
def test_either_pass_failing_fails_the_run(fake_python, tmp_path, env, says):
    done = run(fake_python, tmp_path, **env)
    assert done.returncode == 1
    assert says in done.stderr


def test_ci_without_postgresql_fails_at_once(fake_python, tmp_path):
    done = run(fake_python, tmp_path, DATABASE_URL="sqlite:///x.sqlite3")
    assert done.returncode == 1
    assert "CI=true requires the PostgreSQL pass" in done.stderr


def test_without_postgresql_locally_the_sqlite_pass_decides(fake_python, tmp_path):
    done = run(fake_python, tmp_path, CI="", DATABASE_URL="")
    assert done.returncode == 0
    assert "PostgreSQL pass SKIPPED" in done.stdout
