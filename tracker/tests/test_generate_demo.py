"""``generate_demo``: deterministic, shaped like the real data, searchable, and careful with other rows."""

import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from core.search import build_search_text, search_tokens
from counties.models import County, Prefecture, Province
from envoys.models import Envoy, Posting
from programs.models import Fund, Indicator, Organization, Outcome, Program, Source
from programs.printed import value_agrees
from tracker.demo import DEMO_PREFIX, generate_demo

pytestmark = pytest.mark.django_db

MODELS = [Province, Prefecture, County, Fund, Organization, Source, Program, Indicator, Outcome, Envoy, Posting]


def snapshot():
    return {
        "programs": list(Program.objects.order_by("slug").values_list(
            "slug", "name", "area", "fund__slug", "start", "summary", "search_text")),
        "outcomes": list(Outcome.objects.order_by("slug").values_list(
            "slug", "metric", "value", "value_printed", "quote", "program__slug", "source__slug")),
        "counties": list(County.objects.order_by("slug").values_list("slug", "name", "prefecture__slug")),
        "links": sorted(Program.counties.through.objects.values_list("program__slug", "county__slug")),
        "postings": list(Posting.objects.order_by("slug").values_list("slug", "county__slug", "title")),
    }


def run(*args):
    out = io.StringIO()
    call_command("generate_demo", *args, "--no-progress", stdout=out, stderr=io.StringIO())
    return out.getvalue()


def test_the_same_seed_gives_the_same_rows_and_a_rerun_replaces_them():
    run("--programs", "40", "--seed", "7")
    first = snapshot()
    run("--programs", "40", "--seed", "7")
    assert snapshot() == first
    run("--programs", "40", "--seed", "8")
    assert snapshot()["programs"] != first["programs"]
    assert Program.objects.count() == 40


def test_rows_have_the_shape_of_the_real_data():
    output = run("--programs", "60", "--seed", "3")
    assert "rows generated (seed 3)" in output
    assert Program.objects.count() == 60
    assert Outcome.objects.count() == 300  # five figures per program
    assert Source.objects.exists() and Envoy.objects.exists() and Posting.objects.exists()
    for model in MODELS:
        assert not model.objects.exclude(slug__startswith=DEMO_PREFIX).exists(), model
    names = list(Program.objects.values_list("name", flat=True))
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in name) for name in names)
    assert Program.objects.filter(counties__isnull=False).distinct().count() == 60  # each in some county
    county = County.objects.select_related("prefecture__province").first()
    assert county.prefecture.province == county.province
    for outcome in Outcome.objects.select_related("source"):
        assert outcome.quote and outcome.quote in outcome.source.text
        assert outcome.value_printed in outcome.quote
        assert value_agrees(outcome.value, outcome.value_printed, outcome.unit) is None, outcome.slug
    # a county's figures of one metric are one indicator's series, in its unit
    assert Indicator.objects.exists()
    for outcome in Outcome.objects.filter(indicator__isnull=False).select_related("indicator"):
        assert outcome.county_id == outcome.indicator.county_id and outcome.unit in outcome.indicator.unit_list
        assert outcome.metric in outcome.indicator.name


def test_search_text_of_bulk_rows_is_what_a_save_would_write():
    generate_demo(programs=50, seed=11)
    for model in MODELS:
        for record in model.objects.all()[:200]:
            assert record.search_text == build_search_text(record), (model.__name__, record.slug)
            assert record.search_tokens == search_tokens(record.search_text), (model.__name__, record.slug)


def test_seed_records_are_allowed_and_never_changed():
    # guizhou-sheng is a slug of seeds/data/provinces.yaml: a record `make run` loads.
    seed_province = Province.objects.create(name="贵州省", slug="guizhou-sheng")
    before = (seed_province.version, seed_province.updated_at)
    run("--programs", "30")
    seed_province.refresh_from_db()
    assert (seed_province.version, seed_province.updated_at) == before
    # The generator refers to the seed province instead of writing a second 贵州省.
    assert Province.objects.filter(name="贵州省").count() == 1


def test_refuses_beside_other_records_unless_forced(make_program):
    mine = make_program(name="别人的项目", slug="bieren-de-xiangmu")
    with pytest.raises(CommandError, match="--force"):
        run("--programs", "20")
    assert not Program.objects.filter(slug__startswith=DEMO_PREFIX).exists()
    run("--programs", "20", "--force")
    assert Program.objects.filter(slug__startswith=DEMO_PREFIX).count() == 20
    run("--programs", "10", "--force")
    assert Program.objects.filter(slug__startswith=DEMO_PREFIX).count() == 10
    mine.refresh_from_db()
    assert mine.version == 1 and Program.objects.count() == 11


def test_rejects_a_nonsense_count():
    with pytest.raises(CommandError):
        run("--programs", "0")


def test_every_generated_row_has_the_index_terms_a_save_would_write():
    # The generator puts each row's terms together from its fragments' terms (and a figure's from its
    # quote's): every row is checked here, not a sample.
    generate_demo(programs=120, seed=13)
    for model in [Program, Outcome, Source, Indicator]:
        rows = list(model.objects.values_list("slug", "search_text", "search_tokens"))
        assert rows, model
        for slug, text, tokens in rows:
            assert tokens == search_tokens(text), (model.__name__, slug)


def schema():
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("SELECT type, name, sql FROM sqlite_master WHERE type IN ('index', 'trigger', 'table') "
                           "AND name NOT LIKE 'sqlite_stat%' ORDER BY type, name")  # ANALYZE's statistics
        else:
            cursor.execute("SELECT 'index', indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                           "ORDER BY indexname")
        return cursor.fetchall()


def test_indexes_and_search_triggers_are_back_after_the_load_and_the_index_answers(client):
    # The load takes secondary indexes and the search index's triggers down and puts them back from
    # their SQL; the search index is fed a batch at a time.
    before = schema()
    run("--programs", "80", "--seed", "4")
    assert schema() == before
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            for model in [Program, Outcome, Source, Indicator]:
                table = f"{model._meta.db_table}_fts"
                cursor.execute(f"INSERT INTO {table} ({table}, rank) VALUES ('integrity-check', 1)")
    program = Program.objects.order_by("pk").last()
    assert f'href="/programs/{program.slug}/"' in client.get("/programs/", {"q": program.name}).content.decode()
    outcome = Outcome.objects.filter(program=program).first()
    assert " " not in outcome.quote
    assert f'href="/outcomes/{outcome.slug}/"' in client.get("/outcomes/", {"q": outcome.quote}).content.decode()
    # the triggers work again: a saved change is found at once
    program.name = "独一无二的测试项目"
    program.save()
    assert f'href="/programs/{program.slug}/"' in client.get("/programs/", {"q": "独一无二"}).content.decode()


def test_a_failure_in_the_writer_thread_leaves_nothing_behind(monkeypatch):
    from tracker import demo

    original = demo._Generator._insert

    def failing(self, model, *args):
        if model is Outcome:
            raise RuntimeError("disk full")
        return original(self, model, *args)

    monkeypatch.setattr(demo._Generator, "_insert", failing)
    before = schema()
    with pytest.raises(RuntimeError, match="disk full"):
        generate_demo(programs=30, seed=1)
    for model in MODELS:
        assert not model.objects.filter(slug__startswith=DEMO_PREFIX).exists(), model
    assert schema() == before


def test_the_bigger_sqlite_page_cache_is_given_back():
    """generate_demo writes with a 256 MiB page cache on SQLite, and leaves its connection as it found it."""
    if connection.vendor != "sqlite":
        pytest.skip("a page cache size is SQLite's (PostgreSQL has no per-connection one)")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = cursor.fetchone()[0]
        generate_demo(programs=5, seed=1)
        cursor.execute("PRAGMA cache_size")
        assert cursor.fetchone()[0] == before


BULK_PRAGMAS = r"""
import json
from django.db import connection
from tracker import demo

connection.ensure_connection()
def pragmas(db=connection):
    return [db.connection.execute(f"PRAGMA {name}").fetchone()[0]
            for name in ("mmap_size", "journal_mode", "synchronous")]

during = []
restore = demo._Generator._restore
def watch(self, tables):
    during.append(pragmas(self.db))  # in the writer thread, on the connection it was lent
    return restore(self, tables)
demo._Generator._restore = watch
before = pragmas()
demo.generate_demo(programs=40, seed=1)
print(json.dumps({"before": before, "during": during[0], "after": pragmas()}))
"""


def test_a_sqlite_file_is_loaded_through_a_memory_map_and_its_settings_come_back(tmp_path):
    """On a SQLite file (the test database is in memory: no map, no journal) the load reads the file
    through a memory map, with a rollback journal and no syncs; the connection's settings are its own again after."""
    import subprocess
    import sys

    from core.testing.config import ROOT
    from core.testing.processes import django_env, result_of, run_django
    from tracker.demo import BULK_MMAP_SIZE

    path = tmp_path / "demo.sqlite3"
    result = subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT,
                            env=django_env(path), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    result = result_of(run_django(path, BULK_PRAGMAS))
    mmap_size, journal, synchronous = result["before"]
    assert mmap_size < BULK_MMAP_SIZE and journal == "wal"
    assert result["during"][0] > mmap_size  # BULK_MMAP_SIZE, or the most this SQLite maps
    assert result["during"][1:] == ["delete", 0]
    assert result["after"] == result["before"]


def test_rows_written_in_many_small_statements_are_the_same_rows(monkeypatch):
    """SQLite gets INSERTs of up to BATCH rows each (the rest of a batch in a shorter one): with a
    tiny BATCH the many full statements and the short ones write the very same rows."""
    from tracker import demo

    generate_demo(programs=30, seed=5)
    first = snapshot()
    monkeypatch.setattr(demo, "BATCH", 7)
    generate_demo(programs=30, seed=5)
    assert snapshot() == first
    assert Outcome.objects.count() == 150
