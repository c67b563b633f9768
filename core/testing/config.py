"""What the tests of the site's configuration and deployment share: the project root, the variables
settings.py reads, a fresh interpreter to start Django in, a free port, and docker-compose.yml."""

import os
import re
import shlex
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

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
def settings_env_vars() -> set[str]:
    """Every environment variable config/settings.py reads, found in its source."""
    names = set(ENV_READ.findall((ROOT / "config" / "settings.py").read_text(encoding="utf-8")))
    # The four DESIGN.md names; if the pattern ever stops finding them, the tests must say so.
    assert {"DATABASE_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS"} <= names, names
    return names


@pytest.fixture(scope="session")
def env_example() -> dict[str, str]:
    return read_env_example()


# ---------------------------------------------------------------------------
# Starting Django elsewhere

# The variables a test controls; everything else in the environment passes through.
CONTROLLED = ("DEBUG", "SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS")


def start_django(code: str = "", **env: str) -> subprocess.CompletedProcess:
    """Run ``django.setup()`` then ``code`` in a fresh interpreter with exactly the given variables set."""
    environment = {k: v for k, v in os.environ.items() if k not in CONTROLLED}
    environment.update(env, DJANGO_SETTINGS_MODULE="config.settings")
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup()\n{code}"],
        cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------
# docker-compose.yml, read as compose reads it

INTERPOLATION = re.compile(r"\$\{(\w+)(?::?-([^}]*))?\}")


def with_defaults(value) -> str:
    """Resolve ``${NAME:-default}`` the way compose does when NAME is unset."""
    return INTERPOLATION.sub(lambda m: m.group(2) or "", str(value))


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text(encoding="utf-8"))


def environment(service) -> dict[str, str]:
    env = service.get("environment", {})
    if isinstance(env, list):  # the "- NAME=value" form
        env = dict(item.partition("=")[::2] for item in env)
    return {name: with_defaults(value) for name, value in env.items()}


def command_words(service) -> list[str]:
    command = service["command"]
    return command if isinstance(command, list) else shlex.split(command)
