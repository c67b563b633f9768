# Two commands: `make run` (fresh machine to a running site) and `make test` (the lint, then the whole suite);
# `make lint` alone is the quick check before a commit (.pre-commit-config.yaml runs the same three).
# The virtualenv lives in .venv; each requirements file is installed again only when it is newer
# than its stamp, so a second `make run` reuses what is there.

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: run lint test bench

$(PY):
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11 (or run make PYTHON=/path/to/python3.11)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-run: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-test: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# A development server: DEBUG on (so no SECRET_KEY is needed), SQLite unless DATABASE_URL says otherwise.
# The translations are compiled from the .po files first when gettext is installed; without it the committed
# .mo files are used (tracker/tests/test_interface.py holds them equal to the .po files).
run: export DEBUG := 1
run: $(VENV)/.installed-run
	@if command -v msgfmt >/dev/null; then $(PY) manage.py compilemessages --ignore=$(VENV) --verbosity 0; \
	else echo "msgfmt not found (apt-get install gettext): using the committed locale/*/LC_MESSAGES/django.mo"; fi
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py load_seeds
	$(PY) manage.py runserver 127.0.0.1:8000

# ruff (configured in pyproject.toml), Django's system checks, and no model change without its migration.
# Run as the tests run: DEBUG off, a throwaway key unless SECRET_KEY is set; the migration check uses an
# in-memory database, so it leaves no db.sqlite3 behind.
LINT_VARS := SECRET_KEY=$${SECRET_KEY:-test-only-key} DJANGO_SETTINGS_MODULE=config.settings

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	env -u DEBUG -u DATABASE_URL $(LINT_VARS) $(PY) manage.py check
	env -u DEBUG $(LINT_VARS) DATABASE_URL=sqlite://:memory: $(PY) manage.py makemigrations --check --dry-run

# The lint first, so CI (which runs make test) fails on it in seconds; then pytest on SQLite and PostgreSQL.
test: lint
	PY=$(PY) bash scripts/test.sh

# The scale benchmark (BENCHMARKS.md): 100,000 generated programs in benchmarks/out/bench.sqlite3 (and in
# DATABASE_URL when it names a scratch PostgreSQL database), served by gunicorn, beside Datasette.
# Extra options: make bench BENCH_ARGS="--runs 10" (see benchmarks/bench.py --help).
bench: $(VENV)/.installed-run
	$(PY) benchmarks/bench.py $(BENCH_ARGS)
