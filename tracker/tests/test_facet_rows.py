"""A facet along foreign keys is counted per group first (SlugFilter.grouped_facet_rows): the same rows,
counts, labels and order as joining every record to its choice (joined_facet_rows), under any filters."""

import contextlib

import pytest

from core.listing import SlugFilter, forward_chain
from core.testing.world import build_world
from counties.filtersets import CountyFilterSet
from envoys.filtersets import EnvoyFilterSet
from programs.filtersets import (
    FundFilterSet,
    IndicatorFilterSet,
    OutcomeFilterSet,
    ProgramFilterSet,
    SourceFilterSet,
)
from tracker.demo import generate_demo

pytestmark = pytest.mark.django_db

FILTERSETS = [ProgramFilterSet, FundFilterSet, OutcomeFilterSet, IndicatorFilterSet, SourceFilterSet,
              CountyFilterSet, EnvoyFilterSet]
QUERIES = [{}, {"q": "县"}, {"q": "电商"}, {"kind": "result"}, {"area": "dianshang"}, {"unit": "元"}]


@pytest.fixture
def demo(django_capture_on_commit_callbacks, make_indicator):
    world = build_world()  # the seed-like records: figures of funds, an indicator of a program
    make_indicator(slug="fund-indicator", name="基金投入", fund=world["fund"])
    with django_capture_on_commit_callbacks(execute=True):
        generate_demo(programs=300, seed=3, force=True)


def filters_where(keep):
    """``(filterset, name)`` of every list's filter that ``keep(filter)`` accepts."""
    for filterset in FILTERSETS:
        for name, flt in filterset.base_filters.items():
            if keep(flt):
                yield filterset, name


def grouped_facets():
    return filters_where(lambda flt: isinstance(flt, SlugFilter) and not flt.many)


def counted_under_each_query(filterset, name):
    """``(data, bound filter, queryset it counts)`` under each of QUERIES the list understands (a county has no
    kind "result")."""
    for data in QUERIES:
        data = {key: value for key, value in data.items() if key in filterset.base_filters}
        fs = filterset(data=data, queryset=filterset._meta.model.objects.all())
        if fs.is_valid():
            yield data, fs.filters[name], fs.unsorted(filterset._meta.model._default_manager.all(), exclude=name)


def test_the_lists_have_facets_along_foreign_keys():
    found = {(f.__name__, name) for f, name in grouped_facets()}
    assert ("OutcomeFilterSet", "program") in found and ("OutcomeFilterSet", "province") in found
    assert ("ProgramFilterSet", "fund") in found


@pytest.mark.parametrize(("filterset", "name"), list(grouped_facets()), ids=lambda x: getattr(x, "__name__", x))
def test_grouped_and_joined_counts_agree(demo, filterset, name):
    checked = 0
    for data, flt, queryset in counted_under_each_query(filterset, name):
        chain = forward_chain(queryset.model, flt.field_name, flt.label_field)
        assert chain is not None
        for limit in (3, 40):
            grouped = flt.grouped_facet_rows(queryset, limit, chain)
            joined = flt.joined_facet_rows(queryset, limit)
            assert grouped == joined, (data, limit)
            checked += bool(grouped)
    assert checked  # not only empty lists compared


def test_a_to_many_path_is_not_grouped():
    assert forward_chain(ProgramFilterSet._meta.model, "counties__province", "name") is None
    assert forward_chain(ProgramFilterSet._meta.model, "fund", "no_such_column") is None


# ---------------------------------------------------------------------------
# A filter across a to-many path reads the link table


def many_filters():
    return filters_where(lambda flt: getattr(flt, "many", False))


@pytest.mark.parametrize(("filterset", "name"), list(many_filters()), ids=lambda x: getattr(x, "__name__", x))
def test_a_to_many_filter_picks_the_records_the_path_links_to_the_value(demo, filterset, name):
    from django.db.models import F as Field

    model = filterset._meta.model
    flt = filterset.base_filters[name]
    values = (model._base_manager.exclude(**{f"{flt.field_name}__isnull": True})
              .values_list(Field(flt.field_name), flat=True).distinct()[:6])
    checked = 0
    for raw in values:
        value = flt.field.queryset.get(pk=raw) if isinstance(flt, SlugFilter) else raw
        expected = set(model._base_manager.filter(**{flt.field_name: value}).values_list("pk", flat=True))
        for walks_index in (False, True):
            fs = filterset(data={}, queryset=model.objects.all())
            fs.walks_index = walks_index
            bound = fs.filters[name]
            assert set(bound.filter(model._base_manager.all(), value).values_list("pk", flat=True)) == expected
        checked += bool(expected)
    assert checked


def joined_code_rows(flt, queryset, limit):
    """CodeFilter's rows as they were counted before: the records joined along the path, distinct ones."""
    from django.db.models import Count
    from django.db.models import F as Field

    labels = dict(flt.extra["choices"])
    rows = (queryset.order_by().values(facet_value=Field(flt.field_name))
            .annotate(n=Count("pk", distinct=True)).order_by("-n", "facet_value")[: limit + 1])
    return [(r["facet_value"], str(labels.get(r["facet_value"], r["facet_value"])), r["n"])
            for r in rows if r["facet_value"]][:limit]


@pytest.mark.parametrize(("filterset", "name"), list(many_filters()), ids=lambda x: getattr(x, "__name__", x))
def test_a_to_many_facet_counted_on_the_link_table_agrees_with_the_joined_count(demo, filterset, name):
    checked = 0
    for data, flt, queryset in counted_under_each_query(filterset, name):
        if not getattr(flt, "facet", False):
            continue
        for limit in (3, 40):
            found = flt.facet_rows(queryset, limit)
            if isinstance(flt, SlugFilter):
                assert found == flt.joined_facet_rows(queryset, limit), (data, limit)
            else:
                assert found == joined_code_rows(flt, queryset, limit), (data, limit)
            checked += bool(found)
    assert checked


# ---------------------------------------------------------------------------
# PostgreSQL: the facets of a page that group by a column of the list's own table are counted in one statement
# (GROUPING SETS, ListFilterSet.combined_facets); they are the rows each facet's own query gives.

COMBINED_QUERIES = QUERIES + [{"q": "县", "area": "dianshang"}, {"kind": "result", "unit": "元"},
                              {"province": "__first__"}, {"q": "电商", "year_from": "2018"}]


def bound(filterset, data):
    from counties.models import Province

    data = dict(data)
    if data.get("province") == "__first__":
        data["province"] = Province.objects.order_by("pk").values_list("slug", flat=True).first()
    data = {key: value for key, value in data.items() if key in filterset.base_filters}
    fs = filterset(data=data, queryset=filterset._meta.model.objects.all())
    return fs if data and fs.is_valid() else None


def facet_rows_of(fs, limit, combined, monkeypatch):
    from core import listing

    with monkeypatch.context() as patch:
        if not combined:
            patch.setattr(listing.ListFilterSet, "combined_facets", lambda self, *args: {})
        return [(f.name, [(c.value, c.label, c.count, c.selected) for c in f.choices])
                for f in fs.count_facets(limit, time_limit=False)]


@pytest.mark.postgres
@pytest.mark.parametrize("filterset", FILTERSETS, ids=lambda x: x.__name__)
def test_facets_counted_together_are_the_facets_counted_one_by_one(demo, filterset, monkeypatch):
    combined_somewhere = 0
    for data in COMBINED_QUERIES:
        fs = bound(filterset, data)
        if fs is None:
            continue
        base = filterset._meta.model._default_manager.all()
        combined_somewhere += len(fs.combined_facets(base, 40, False, None))
        for limit in (2, 40):
            together = facet_rows_of(fs, limit, True, monkeypatch)
            assert together == facet_rows_of(fs, limit, False, monkeypatch), (data, limit)
    if filterset in (ProgramFilterSet, OutcomeFilterSet):
        assert combined_somewhere  # the lists with several column facets do count them together


@pytest.mark.postgres
def test_a_combined_count_past_its_limit_offers_its_facets_without_counts(demo, monkeypatch):
    from core import listing

    fs = bound(OutcomeFilterSet, {"q": "县"})
    base = OutcomeFilterSet._meta.model._default_manager.all()
    names = set(fs.combined_facets(base, 40, False, None))
    assert len(names) >= 2

    @contextlib.contextmanager
    def always_late(milliseconds):
        if milliseconds:
            raise listing.QueryTimedOut
        yield

    monkeypatch.setattr(listing, "query_time_limit", always_late)
    assert fs.combined_facets(base, 40, True, None) == dict.fromkeys(names)
    facets = {f.name: f for f in fs.count_facets(40)}
    for name in names:
        assert facets[name].choices and all(c.count is None for c in facets[name].choices), name


def test_sqlite_counts_each_facet_on_its_own(demo):
    from django.db import connection

    fs = bound(OutcomeFilterSet, {"q": "县"})
    combined = fs.combined_facets(OutcomeFilterSet._meta.model._default_manager.all(), 40, False, None)
    if connection.vendor == "sqlite":
        assert combined == {}
    else:
        assert combined


@pytest.mark.postgres
@pytest.mark.parametrize("path", ["/outcomes/?kind=result&q=县", "/programs/?area=dianshang&year_from=2018"])
def test_the_combined_count_gives_the_page_its_total_too(demo, client, path):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        page = client.get(path, HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    sent = [q["sql"] for q in queries.captured_queries]
    assert any("GROUPING SETS" in sql for sql in sent)
    assert not any('COUNT(*) AS "__count"' in sql for sql in sent), sent  # no count of its own
    fs = page.context["filter"] if "filter" in page.context else page.context["filterset"]
    expected = fs.unsorted(fs._meta.model._default_manager.all()).count()
    assert expected and f"{expected:,} record" in page.content.decode()


@pytest.mark.postgres
def test_facets_across_one_link_table_are_counted_together(demo):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    fs = bound(ProgramFilterSet, {"q": "县", "area": "dianshang"})
    with CaptureQueriesContext(connection) as queries:
        combined = fs.combined_facets(ProgramFilterSet._meta.model._default_manager.all(), 40, False, None)
    # fund and kind over the programs (area is chosen); province, prefecture and county over the county links.
    assert {"fund", "kind", "province", "prefecture", "county"} <= set(combined)
    assert len([q for q in queries.captured_queries if "GROUPING SETS" in q["sql"]]) == 2
    assert any("COUNT(DISTINCT" in q["sql"] and "programs_program_counties" in q["sql"]
               for q in queries.captured_queries)
