#!/usr/bin/env bash
# The whole suite, as `make test` runs it after `make lint` (ruff, manage.py check, makemigrations --check):
# pytest on SQLite and, beside it, pytest again on PostgreSQL when DATABASE_URL names one. With CI=true the
# PostgreSQL pass is required.
# Extra arguments go to both pytest runs (scripts/test.sh -k healthz).
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
# Tests run as production does, with DEBUG off, so they need a key; this one is never used anywhere else.
unset DEBUG
export SECRET_KEY=${SECRET_KEY:-test-only-key}
export DJANGO_SETTINGS_MODULE=config.settings

pg_url=${DATABASE_URL:-}
is_postgres=false
case "$pg_url" in
  postgres://* | postgresql://* | pgsql://* | postgis://*) is_postgres=true ;;
esac

ci=false
[ "${CI:-}" = "true" ] && ci=true

die() {
  printf '\n==> FAILED: %s\n\n' "$*" >&2
  exit 1
}

can_reach_postgres() {
  DATABASE_URL=$pg_url PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-10} "$PY" - <<'PY'
import sys

import django
from django.db import connection

django.setup()
try:
    connection.ensure_connection()
except Exception as exc:  # whatever the driver raises, say it plainly
    print(f"    {exc.__class__.__name__}: {str(exc).strip()}", file=sys.stderr)
    sys.exit(1)
PY
}

# Decide about PostgreSQL first, so CI fails in seconds rather than after the SQLite pass.
pg_skip_reason=""
if $is_postgres; then
  if ! can_reach_postgres; then
    $ci && die "CI=true but PostgreSQL at DATABASE_URL cannot be reached (see the error above). Start it (.ci/run does) or fix DATABASE_URL."
    pg_skip_reason="DATABASE_URL names PostgreSQL but it cannot be reached"
  fi
else
  if $ci; then
    if [ -z "$pg_url" ]; then
      die "CI=true requires the PostgreSQL pass, but DATABASE_URL is unset. Set DATABASE_URL=postgres://user@host:5432/db (.ci/run does)."
    fi
    die "CI=true requires the PostgreSQL pass, but DATABASE_URL does not name PostgreSQL (postgres://...)."
  fi
  pg_skip_reason="DATABASE_URL does not name PostgreSQL"
fi

if [ -n "$pg_skip_reason" ]; then
  echo "==> pytest on SQLite"
  env -u DATABASE_URL "$PY" -m pytest "$@"
  printf '\n==> PostgreSQL pass SKIPPED: %s.\n    Run it with DATABASE_URL=postgres://postgres@127.0.0.1:5432/test make test\n' "$pg_skip_reason"
  exit 0
fi

# Both passes, side by side: each is one Python process, so on a machine of two cores or more the two take
# about as long as the longer one (CI's whole run stays well under its 20 minutes). The PostgreSQL pass
# writes to a log that is printed after the SQLite pass; either failing fails the run.
pg_log=$(mktemp "${TMPDIR:-/tmp}/pytest-postgresql.XXXXXX")
echo "==> pytest on PostgreSQL, in the background (its output follows the SQLite pass)"
DATABASE_URL=$pg_url "$PY" -m pytest -p no:cacheprovider "$@" >"$pg_log" 2>&1 &
pg_pid=$!
# `|| true`: under `set -e` a failed kill (the pass has already ended, the usual case) would make the trap
# itself end the script with status 1 after both passes succeeded.
trap 'kill "$pg_pid" 2>/dev/null || true; rm -f "$pg_log"' EXIT

echo "==> pytest on SQLite"
sqlite_status=0
env -u DATABASE_URL "$PY" -m pytest "$@" || sqlite_status=$?

pg_status=0
wait "$pg_pid" || pg_status=$?
echo "==> pytest on PostgreSQL (the log of the background pass)"
cat "$pg_log"

[ "$sqlite_status" -eq 0 ] || die "the SQLite pass failed (exit $sqlite_status; its output is above the PostgreSQL log)"
[ "$pg_status" -eq 0 ] || die "the PostgreSQL pass failed (exit $pg_status; its output is just above)"
