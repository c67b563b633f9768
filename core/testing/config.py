"""What the configuration tests share: the project root and the variables settings.py reads."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# os.environ.get("X"), os.environ["X"], os.getenv("X"), env_bool("X"), env_list("X"), env_<any>("X")
ENV_READ = re.compile(
    r"""(?:os\.environ\.get|os\.getenv|os\.environ\.setdefault|os\.environ\[|\benv_\w+)\(?\s*["']([A-Z][A-Z0-9_]*)["']"""
)


def read_env_example() -> dict[str, str]:
    """``NAME=value`` lines of .env.example (comments and blank lines skipped)."""
    values = {}
    for line in (ROOT / ".env.example").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            name, _, value = line.partition("=")
            values[name.strip()] = value.strip()
    return values


@pytest.fixture(scope="session")
def root():
    return ROOT


@pytest.fixture(scope="session")
def settings_env_vars() -> set[str]:
    """Every environment variable config/settings.py reads, found in its source."""
    names = set(ENV_READ.findall((ROOT / "config" / "settings.py").read_text(encoding="utf-8")))
    # The four DESIGN.md names; if the pattern ever stops finding them, the tests must say so.
    assert {"DATABASE_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"} <= names, names
    return names


@pytest.fixture(scope="session")
def env_example() -> dict[str, str]:
    return read_env_example()
