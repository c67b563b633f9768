"""The fast CSV writer (core.csvexport): byte for byte what the Resource writes, at a fixed number of queries
per chunk, for every public list (run on SQLite and, with DATABASE_URL, on PostgreSQL)."""

import csv
import datetime
import io
import random
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve, reverse

from core import listing, registry
from core.csvexport import csv_lines, export_plan, export_rows, plan_rows, resource_csv_lines
from core.importing import RecordResource, TextField
from core.listing import sort_filter_of
from counties.models import County
from envoys.models import Envoy
from programs.models import Fund, Outcome, Program

pytestmark = pytest.mark.django_db

# The one column a plan leaves to its Resource: a county's designations (a field of its own kind, in counties/).
BY_RESOURCE = {"counties": ["designations"]}

HOSTILE = [
    "=SUM(A1:A2)", "+86 10 1234 5678", "-5", "-5 元", "-0.25", "+1e5", "@cmd", "\tTab", "\rCR", "\r\nCRLF", "=",
    "-", "'=already quoted", '"quoted", with a comma', "line one\nline two", "a,b;c\td", "臺灣貧困縣的傳統寫法",
    "🌾 乡村 🚜", " leading space", "trailing space ", "", "普通",
]


def both(resource_class, queryset):
    """The fast writer's text and the Resource's, for the same queryset."""
    return "".join(csv_lines(resource_class, queryset)), "".join(resource_csv_lines(resource_class, queryset))


def list_paths():
    return [(t.key, reverse(t.list_url)) for t in registry.public_lists()]


def sort_queries(path):
    """``sort=key`` and ``sort=-key`` for every sort the list offers."""
    sort = sort_filter_of(resolve(path).func.view_class.filterset_class)
    keys = sorted(sort.orders) if sort is not None else []
    return [f"sort={direction}{key}" for key in keys for direction in ("", "-")]


@pytest.fixture
def reference(monkeypatch):
    """The view's CSV also written by the Resource, from the very queryset the view passes (filtered, sorted)."""
    written = []

    def both_ways(resource_class, queryset):
        written.append("".join(resource_csv_lines(resource_class, queryset)))
        return csv_lines(resource_class, queryset)

    monkeypatch.setattr(listing, "csv_lines", both_ways)
    return written


def view_csv(client, url, reference):
    response = client.get(url)
    assert response.status_code == 200, url
    body = b"".join(response.streaming_content)
    assert len(reference) == 1
    return body, reference.pop().encode("utf-8")


# ---------------------------------------------------------------------------
# Every public list takes the fast path


def test_every_public_list_has_a_plan():
    for record_type in registry.public_lists():
        plan = export_plan(record_type.resource_class)
        assert not plan.whole_resource, record_type.key
        assert plan.headers == record_type.resource_class().get_export_headers()
        assert plan.resource_columns == BY_RESOURCE.get(record_type.key, []), record_type.key


@pytest.mark.parametrize("key,path", list_paths())
def test_a_planned_list_never_calls_the_resource_per_record(client, world, monkeypatch, key, path):
    calls = []
    export_field = RecordResource.export_field

    def spy(self, field, instance, **kwargs):
        calls.append(field.column_name)
        return export_field(self, field, instance, **kwargs)

    monkeypatch.setattr(RecordResource, "export_field", spy)
    response = client.get(f"{path}?format=csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"), newline="")))
    assert len(rows) > 1, "the world has records of every list"
    assert set(calls) == set(BY_RESOURCE.get(key, []))


# ---------------------------------------------------------------------------
# Byte-identical to the Resource: the seed data, filtered and sorted


@pytest.mark.parametrize("key,path", list_paths())
def test_every_list_and_every_sort_is_byte_identical_on_the_world(client, world, reference, key, path):
    for query in ["", *sort_queries(path)]:
        fast, old = view_csv(client, f"{path}?{query}&format=csv", reference)
        assert fast == old, f"{path}?{query}"
        assert fast.startswith("\ufeff".encode()) and fast.count(b"\r\n") >= 2


FILTERED = [
    "/programs/?province=guizhou-sheng&area=dianshang", "/programs/?q=脫貧",
    "/programs/?organization=taobaodaxue&sort=fund", "/funds/?area=jiaoyu&sort=-commitment",
    "/outcomes/?unit=元&sort=-value", "/outcomes/?county=puan-xian", "/outcomes/?year_from=2019&sort=period",
    "/sources/?script=traditional", "/counties/?designation=guojiaji-pinkunxian", "/counties/?q=puan",
    "/envoys/?province=guizhou-sheng&sort=-joined_year", "/indicators/?disputed=1",
]


@pytest.mark.parametrize("url", FILTERED)
def test_filtered_lists_are_byte_identical(client, world, reference, url):
    fast, old = view_csv(client, f"{url}&format=csv", reference)
    assert fast == old


def test_every_record_type_is_byte_identical_in_slug_order(world):
    """Backups and the data package write every record type, public list or not, through the same plan."""
    for record_type in registry.record_types():
        queryset = record_type.model_class._base_manager.order_by("slug")
        fast, old = both(record_type.resource_class, queryset)
        assert fast == old, record_type.key
        resource = record_type.resource_class()
        records = record_type.resource_class.prepare_export_queryset(queryset)
        assert list(export_rows(record_type.resource_class, queryset)) == [resource.export_row(r) for r in records]


# ---------------------------------------------------------------------------
# Byte-identical on hostile cells


@pytest.fixture
def hostile(make_fund, make_organization, make_program, make_county, make_source, make_outcome, make_envoy):
    """Records whose every text column holds a hostile cell, with dates of every precision, long decimals and
    many links added in shuffled order."""
    rng = random.Random(14)
    sources = [make_source(slug=slug) for slug in ("s-10", "s-9", "s-1", "s-a", "=source")]
    organizations = [make_organization(slug=slug, name=f"单位{slug}") for slug in
                     ("org-b", "org-a", "org-10", "org-2", "-org", "@org", "org")]
    counties = [make_county(slug=f"county-{n}", latitude=Decimal(f"{n}.123400"), longitude=Decimal("-0.000100"))
                for n in (3, 12, 1, 30)]
    funds = [make_fund(slug="=fund", commitment=Decimal("303700000000.0000")),
             make_fund(slug="fund-b", commitment=Decimal("0.2500")), make_fund(commitment=None)]
    dates = [(None, ""), (datetime.date(2019, 1, 1), "year"), (datetime.date(2019, 6, 1), "month"),
             (datetime.date(2019, 6, 26), "day"), (datetime.date(2020, 2, 29), "")]
    programs = []
    for index, text in enumerate(HOSTILE):
        start, start_precision = dates[index % len(dates)]
        end, end_precision = dates[(index + 2) % len(dates)]
        if start and end and end < start:
            end, end_precision = None, ""
        program = make_program(
            name=f"{text}{index}", aliases="\n".join(HOSTILE[index:index + 3]), summary=text,
            kind=rng.choice(["program", "measure"]), area=rng.choice(["jiaoyu", "dianshang", "qita"]),
            fund=funds[index % 4] if index % 4 < 3 else None, parent=programs[-1] if programs and index % 3 else None,
            start=start, start_precision=start_precision, end=end, end_precision=end_precision,
        )
        for linked, manager in ((organizations, program.organizations), (counties, program.counties),
                                (sources, program.sources)):
            chosen = rng.sample(linked, rng.randint(0, len(linked)))
            manager.add(*chosen)  # in a shuffled order
        programs.append(program)
    values = [Decimal("303700000000.0000"), Decimal("0.2500"), Decimal("-0.0000"), Decimal("1.0000"),
              Decimal("12345678901234.5678"), Decimal("-5"), Decimal("0.0001"), Decimal("100"), None]
    for index, text in enumerate(HOSTILE):
        start, start_precision = dates[(index + 1) % len(dates)]
        make_outcome(
            metric=text, value=values[index % len(values)], unit=text[:20], value_printed=text or "约",
            qualifier=text[:20], quote=text or "引文", note=text,
            program=programs[index] if index % 2 else None, fund=funds[index % 3] if index % 3 else None,
            county=counties[index % 4] if index % 5 or not index % 6 else None, source=sources[index % len(sources)],
            period_start=start, period_start_precision=start_precision,
            period_end=start, period_end_precision=start_precision,
        )
    for index, text in enumerate(HOSTILE):
        envoy = make_envoy(name=f"{text}{index}", nickname=text, batch=text, summary=text,
                           joined_year=[None, 2004, 2019][index % 3])
        envoy.sources.add(*rng.sample(sources, index % len(sources)))
    return {"programs": programs}


HOSTILE_TYPES = ["programs", "funds", "organizations", "counties", "outcomes", "envoys", "sources"]


@pytest.mark.parametrize("key", HOSTILE_TYPES)
def test_hostile_cells_are_byte_identical(hostile, key):
    record_type = registry.get(key)
    model = record_type.model_class
    for order in ("pk", "-slug", "name" if hasattr(model, "name") else "slug"):
        fast, old = both(record_type.resource_class, model._base_manager.order_by(order, "pk"))
        assert fast == old, (key, order)
    assert "'=" in fast or key in ("counties", "organizations")  # a formula was met and escaped


def test_hostile_cells_escaped_quoted_and_exact(hostile):
    """What the fast writer writes, read back: the rules DESIGN.md gives the CSV (not only the same bytes)."""
    text = "".join(csv_lines(registry.get("programs").resource_class, Program.objects.order_by("pk")))
    assert text.startswith("\ufeffslug,name,")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))
    header, rows = rows[0], rows[1:]
    by_summary = {row[header.index("summary")]: row for row in rows}
    assert by_summary["'=SUM(A1:A2)"][header.index("fund")] == "'=fund"
    assert "-5" in by_summary and "'-5 元" in by_summary and "-0.25" in by_summary and "+1e5" in by_summary
    assert "'\tTab" in by_summary and "'\rCR" in by_summary and "line one\nline two" in by_summary
    assert "🌾 乡村 🚜" in by_summary and "臺灣貧困縣的傳統寫法" in by_summary
    starts = {row[header.index("start")] for row in rows}
    assert {"", "2019", "2019-06", "2019-06-26", "2020-02-29"} <= starts
    organizations = [row[header.index("organizations")] for row in rows]
    assert "'-org|@org|org|org-10|org-2|org-a|org-b" in organizations  # every link, sorted, whatever the order added
    values = "".join(csv_lines(registry.get("outcomes").resource_class, Outcome.objects.order_by("pk")))
    assert ",303700000000," in values and ",0.25," in values and ",0.0001," in values and ",-5," in values
    if connection.vendor == "postgresql":  # SQLite keeps a decimal as a float: 15 significant digits
        assert ",12345678901234.5678," in values


def test_hostile_lists_through_the_view_in_every_sort(client, hostile, reference):
    for key in ("programs", "outcomes", "envoys", "funds"):
        path = reverse(registry.get(key).list_url)
        for query in ["", *sort_queries(path)]:
            fast, old = view_csv(client, f"{path}?{query}&format=csv", reference)
            assert fast == old, f"{path}?{query}"


# ---------------------------------------------------------------------------
# Queries per chunk, not per record


def queries_of(resource_class, queryset, chunk_size):
    plan = export_plan(resource_class)
    with CaptureQueriesContext(connection) as queries:
        rows = [row for chunk in plan_rows(plan, queryset, chunk_size=chunk_size) for row in chunk]
    return len(queries), rows


def test_queries_grow_with_the_chunks_not_the_records(hostile):
    resource_class = registry.get("programs").resource_class
    programs = Program.objects.order_by("pk")
    total = programs.count()
    assert total >= 20
    # One read of the rows, then per chunk one query per many-to-many column (3) and at most one more for
    # the slugs of linked records not met before: three chunks cost the same bound for 6 records or all.
    few, rows = queries_of(resource_class, programs.filter(pk__in=[p.pk for p in hostile["programs"][:6]]), 2)
    many, rows_many = queries_of(resource_class, programs, -(-total // 3))
    assert len(rows) == 6 and len(rows_many) == total
    assert 1 + 3 * 3 <= few <= 1 + 3 * 3 * 2 and 1 + 3 * 3 <= many <= 1 + 3 * 3 * 2
    one_chunk, _rows = queries_of(resource_class, programs, total)
    assert one_chunk == 1 + 3 + 3  # every many-to-many column has links here
    each, _rows = queries_of(resource_class, programs, 1)
    assert each > 3 * total  # (a chunk of one record: the chunk is what queries cost)


def test_the_view_reads_a_fixed_number_of_queries(client, hostile):
    def export_queries():
        with CaptureQueriesContext(connection) as queries:
            b"".join(client.get("/programs/?format=csv").streaming_content)
        return len(queries)

    before = export_queries()
    for index in range(30):
        program = Program.objects.create(name=f"又一个项目{index}", slug=f"more-{index}", fund=Fund.objects.first())
        program.counties.add(*County.objects.all())
    assert export_queries() == before


def test_counties_designations_cost_a_fixed_number_of_queries_per_chunk(world):
    resource_class = registry.get("counties").resource_class
    counties = County.objects.order_by("pk")
    one, rows = queries_of(resource_class, counties, 1000)
    two, _rows = queries_of(resource_class, counties, -(-len(rows) // 2))
    assert len(rows) >= 2
    assert two - one == one - 1  # everything but the one read of the rows, again for the second chunk


# ---------------------------------------------------------------------------
# What the plan cannot read is left to the Resource


class DehydratedEnvoyResource(registry.get("envoys").resource_class):
    def dehydrate_nickname(self, envoy):
        return f"={envoy.nickname}"


class WholeRowEnvoyResource(registry.get("envoys").resource_class):
    def export_row(self, instance, escape_formulae=True):
        return [f"@{text}" for text in super().export_row(instance, escape_formulae)]


class PathEnvoyResource(registry.get("envoys").resource_class):
    organization_name = TextField("organization__name", column_name="organization_name")

    class Meta(registry.get("envoys").resource_class.Meta):
        fields = (*registry.get("envoys").resource_class.Meta.fields, "organization_name")


@pytest.mark.parametrize("resource_class,by_resource,whole", [
    (DehydratedEnvoyResource, ["nickname"], False),
    (WholeRowEnvoyResource, [], True),
    (PathEnvoyResource, ["organization_name"], False),
])
def test_columns_without_a_plan_are_written_by_the_resource(world, resource_class, by_resource, whole):
    plan = export_plan(resource_class)
    assert plan.whole_resource is whole
    assert plan.resource_columns == by_resource
    fast, old = both(resource_class, Envoy.objects.order_by("-name", "pk"))
    assert fast == old
    assert fast.count("\r\n") == Envoy.objects.count() + 1

