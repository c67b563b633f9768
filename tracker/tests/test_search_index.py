"""The search index: it finds exactly what a substring scan finds, it is used, and it follows every write."""

import io
import random

import pytest
import tablib
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from opencc import OpenCC

from core.search import (
    drop_index,
    ensure_index,
    index_terms,
    normalise,
    query_tokens,
    search,
    search_terms,
    search_tokens,
)
from counties.models import County
from envoys.models import Envoy
from programs.models import Fund, Outcome, Program, Source
from programs.resources import ProgramResource
from tracker.demo import generate_demo

MODELS = [Program, Outcome, Source, Fund, County, Envoy]
to_traditional = OpenCC("s2t")


# ---------------------------------------------------------------------------
# The tokens themselves


@pytest.mark.parametrize(("text", "tokens"), [
    ("普安县", "普 普安 安 安县 县"),
    ("县", "县"),
    ("puan", "puan uan an n"),
    ("电商 2019年", "电 电商 商 2019 019 19 9 年"),
    ("县,县城", "县 县城 城"),  # each token once
    ("%—·", ""),
])
def test_tokens_are_bigrams_and_ascii_suffixes(text, tokens):
    assert search_tokens(text) == tokens
    # The terms as a dict (what fill_search_columns merges row by row): the same terms, in the same order.
    assert list(index_terms(text)) == (tokens.split(" ") if tokens else [])


@pytest.mark.parametrize(("term", "needed"), [
    ("县", [("县", False)]),
    ("普安县", [("普安", False), ("安县", False)]),
    ("2019年", [("2019", True), ("年", False)]),
    ("%", []),
])
def test_a_query_term_needs_its_bigrams_and_prefixes(term, needed):
    assert query_tokens(term) == needed


# ---------------------------------------------------------------------------
# Index against scan, over the seed data and generated data


@pytest.fixture(scope="module")
def corpus(django_db_setup, django_db_blocker):
    """The seeds and 150 generated programs, loaded once for the module and rolled back after it."""
    from django.db import transaction

    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            call_command("load_seeds", stdout=io.StringIO())
            generate_demo(programs=150, seed=5)
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def sample_terms(model, rng, count=12):
    """1-, 2- and 3-character substrings of the model's texts, Chinese and pinyin, in both scripts."""
    texts = list(model.objects.values_list("search_text", flat=True)[:400])
    terms = set()
    for _ in range(count):
        text = rng.choice(texts)
        for length in (1, 2, 3):
            start = rng.randrange(max(1, len(text) - length))
            piece = text[start:start + length].strip()
            if piece:
                terms.add(piece)
                terms.add(to_traditional.convert(piece))
    terms |= {"县", "电商", "縣", "電商", "扶贫", "脫貧", "puan", "anx", "2019", "万元", "x", "%", "1.2万亿"}
    return sorted(terms)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_the_index_finds_exactly_what_a_substring_scan_finds(corpus, model):
    rng = random.Random(model.__name__)
    checked = 0
    for term in sample_terms(model, rng):
        found = set(search(model.objects.all(), term).values_list("pk", flat=True))
        if not search_terms(term)[0]:  # no letter or digit (``%``): left out, so the whole table
            assert found == set(model.objects.values_list("pk", flat=True)), term
            continue
        scanned = set(model.objects.filter(search_text__contains=normalise(term)).values_list("pk", flat=True))
        assert found == scanned, (term, sorted(found ^ scanned)[:5])
        checked += bool(scanned)
    assert checked >= 10  # most sampled terms occur: the comparison is not between two empty sets


def test_several_terms_must_all_occur(corpus):
    both = set(search(Program.objects.all(), "电商 县").values_list("pk", flat=True))
    scanned = set(Program.objects.filter(search_text__contains="电商").filter(search_text__contains="县")
                  .values_list("pk", flat=True))
    assert both == scanned and both


def test_a_search_is_one_query_that_goes_through_the_index(corpus):
    with CaptureQueriesContext(connection) as queries:
        list(search(Program.objects.all(), "電商 县").values_list("pk", flat=True))
    if connection.vendor == "sqlite":  # first, whether the term is common in a large table
        planning, query = queries.captured_queries
        assert "max(rowid)" in planning["sql"] and "MATCH" in planning["sql"]
    else:
        [query] = queries.captured_queries
    if connection.vendor == "sqlite":
        assert "programs_program_fts MATCH" in query["sql"]
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN QUERY PLAN " + query["sql"])
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
        assert "VIRTUAL TABLE INDEX" in plan, plan
    else:
        assert '"search_vector" @@' in query["sql"]


@pytest.mark.parametrize("model", [Program, Outcome], ids=lambda m: m.__name__)
def test_a_common_term_walks_the_sort_order_and_finds_the_same_rows(corpus, model, monkeypatch):
    from core import search as search_module

    monkeypatch.setattr(search_module, "COMMON_MIN_ROWS", 0)
    monkeypatch.setattr(search_module, "COMMON_SHARE", 0.0)
    for term in ["县", "电商", "縣城", "puan", "2019年"]:
        queryset = search(model.objects.order_by("slug"), term)
        scanned = model.objects.filter(search_text__contains=normalise(term)).order_by("slug")
        assert list(queryset.values_list("pk", flat=True)) == list(scanned.values_list("pk", flat=True)), term
        if connection.vendor == "sqlite" and scanned.exists():
            assert f'+"{model._meta.db_table}"."id" IN' in str(queryset.query)


@pytest.mark.postgres
def test_postgresql_answers_from_the_gin_index(corpus):
    queryset = search(Program.objects.order_by(), "县")
    sql, params = queryset.values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        # The test tables are small enough to read whole; the question is whether the index can serve.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "programs_program_search_vector_gin" in plan, plan


# ---------------------------------------------------------------------------
# The index follows saves, deletes, imports and a rebuilt table


def pks(model, q):
    return set(search(model.objects.all(), q).values_list("pk", flat=True))


@pytest.mark.django_db
def test_the_index_follows_a_save_an_edit_and_a_delete(make_program):
    program = make_program(name="龙泉茶园计划", slug="longquan-chayuan")
    assert pks(Program, "茶园") == {program.pk} == pks(Program, "茶園") == pks(Program, "chayuan")
    program.name = "龙泉果园计划"
    program.save()
    assert pks(Program, "茶园") == set() and pks(Program, "果园") == {program.pk}
    program.delete()
    assert pks(Program, "果园") == set()


@pytest.mark.django_db
def test_the_index_follows_an_import():
    dataset = tablib.Dataset(headers=["slug", "name", "summary"])
    dataset.append(["yangfeng-hezuoshe", "养蜂合作社", "蜂蜜電商"])
    result = ProgramResource().import_data(dataset, dry_run=False)
    assert not result.has_errors() and not result.has_validation_errors()
    program = Program.objects.get(slug="yangfeng-hezuoshe")
    assert pks(Program, "蜂蜜") == {program.pk} == pks(Program, "电商")
    dataset = tablib.Dataset(headers=["slug", "name", "summary", "version"])
    dataset.append(["yangfeng-hezuoshe", "养蜂合作社", "蜂王浆", "1"])
    assert not ProgramResource().import_data(dataset, dry_run=False).has_validation_errors()
    assert pks(Program, "蜂蜜") == set() and pks(Program, "蜂王") == {program.pk}


@pytest.mark.django_db
def test_a_dropped_index_is_put_back_with_every_row(make_program):
    program = make_program(name="白岩村电商中心", slug="baiyan-dianshang")
    if connection.vendor == "postgresql":  # CREATE INDEX waits for no deferred foreign-key checks
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    drop_index(Program, connection)
    make_program(name="白岩村物流中心", slug="baiyan-wuliu")  # written while the index was gone
    assert ensure_index(Program, connection) is True
    assert ensure_index(Program, connection) is False  # nothing left to do
    assert pks(Program, "白岩") == set(Program.objects.values_list("pk", flat=True))
    assert pks(Program, "电商") == {program.pk}
