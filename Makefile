# Two commands: `make run` (fresh machine to a running site) and `make test` (the whole suite).
# The virtualenv lives in .venv; each requirements file is installed again only when it is newer
# than its stamp, so a second `make run` reuses what is there.

PYTHON ?= python3.11
VENV   := .venv
PY     := $(VENV)/bin/python

.PHONY: run test bench

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
run: export DEBUG := 1
run: $(VENV)/.installed-run
	$(PY) manage.py migrate --noinput
	$(PY) manage.py createcachetable
	$(PY) manage.py load_seeds
	$(PY) manage.py runserver 127.0.0.1:8000

test: $(VENV)/.installed-test
	PY=$(PY) bash scripts/test.sh

# The scale benchmark (BENCHMARKS.md): 100,000 generated programs in benchmarks/out/bench.sqlite3 (and in
# DATABASE_URL when it names a scratch PostgreSQL database), served by gunicorn, beside Datasette.
# Extra options: make bench BENCH_ARGS="--runs 10" (see benchmarks/bench.py --help).
bench: $(VENV)/.installed-run
	$(PY) benchmarks/bench.py $(BENCH_ARGS)
