"""A list page costs the same number of queries at 10 programs as at 10,000."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tracker.demo import generate_demo

pytestmark = pytest.mark.django_db

PAGES = [
    "/programs/?q=县",
    "/programs/?q=电商&sort=-start",
    "/programs/?per_page=5&page=2", "/programs/?area=dianshang",
    "/outcomes/?q=縣",
    "/outcomes/?sort=-value",
    "/funds/",
    "/counties/?q=县",
    "/envoys/",
    "/sources/",
    "/programs/?format=json&q=县",
    "/indicators/", "/indicators/?disputed=1&sort=-outcomes", "/indicators/?format=json&q=县",
]


def query_counts(client, django_capture_on_commit_callbacks, programs):
    with django_capture_on_commit_callbacks(execute=True):  # as if committed: facet counts are stale
        generate_demo(programs=programs, seed=2)
    counts = {}
    for page in PAGES:
        with CaptureQueriesContext(connection) as cold:
            assert client.get(page).status_code == 200, page
        with CaptureQueriesContext(connection) as warm:
            assert client.get(page).status_code == 200, page
        counts[page] = (len(cold.captured_queries), len(warm.captured_queries))
    return counts


def test_queries_per_page_do_not_grow_with_the_data(client, django_capture_on_commit_callbacks, settings):
    # Queries are counted, not timed: without a time limit, a facet or a total that a loaded machine takes
    # longer than FACET_TIME_LIMIT_MS to count is not cut off and answered from the unfiltered counts
    # (more queries at 10,000 programs than at 10, for a reason that is not the data's size).
    # test_facet_time_limit.py holds what the time limit does.
    settings.FACET_TIME_LIMIT_MS = 0
    small = query_counts(client, django_capture_on_commit_callbacks, 10)
    large = query_counts(client, django_capture_on_commit_callbacks, 10_000)
    assert small == large


def test_a_deep_page_shows_the_same_rows_as_a_plain_offset_would(client, django_capture_on_commit_callbacks):
    from core.listing import DEEP_OFFSET, page_rows
    from programs.filtersets import programs_with_counts
    from programs.models import Program

    generate_demo(programs=DEEP_OFFSET + 60, seed=4)
    queryset = programs_with_counts().order_by("-start", "pk")
    start = DEEP_OFFSET + 7
    assert [p.pk for p in page_rows(queryset, start, 20)] == [p.pk for p in queryset[start:start + 20]]
    html = client.get("/programs/?per_page=20&page=51&sort=name").content.decode()
    expected = Program.objects.order_by("name", "pk").values_list("slug", flat=True)[1000:1020]
    assert [f'href="/programs/{slug}/"' in html for slug in expected] == [True] * 20


def test_a_fund_page_lists_the_first_programs_and_links_to_the_rest(client, make_program, make_fund):
    from core.presenting import DETAIL_LIMIT

    fund = make_fund()
    for n in range(DETAIL_LIMIT + 10):
        make_program(slug=f"p{n:03d}", name=f"项目{n:03d}", fund=fund)
    html = client.get(fund.get_absolute_url(), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert html.count('href="/programs/p0') == DETAIL_LIMIT
    assert f"The first {DETAIL_LIMIT} of {DETAIL_LIMIT + 10} programs" in html
    assert f'href="/programs/?fund={fund.slug}"' in html


def test_a_fund_filter_reads_the_funds_few_outcomes_not_the_sort_index(client, make_fund, make_program, make_source):
    """Most figures belong to a program or a county, not to a fund. Over the whole table SQLite's statistics
    saw thousands of rows a fund (the empty ones), and the page walked the whole value index to find a fund's
    few figures (2–6 s at 500,000 outcomes). The fund index is partial, so it counts only those that name one."""
    if connection.vendor != "sqlite":
        pytest.skip("the planner's statistics asked about here are SQLite's (PostgreSQL keeps per-value ones)")
    from programs.models import Outcome

    fund, program, source = make_fund(slug="f"), make_program(), make_source()
    common = {"source": source, "metric": "投入资金", "value_printed": "1元", "quote": "投入资金1元"}
    Outcome.objects.bulk_create(
        [Outcome(slug=f"p{n}", program=program, value=n, **common) for n in range(600)]
        + [Outcome(slug=f"f{n}", fund=fund, value=n, **common) for n in range(3)]
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/outcomes/?fund=f&sort=-value")
    assert response.status_code == 200
    [rows] = [q["sql"] for q in queries.captured_queries
              if '"fund_id" = ' in q["sql"] and 'ORDER BY "programs_outcome"."value" DESC' in q["sql"]]
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + rows)
        plan = " ".join(str(row[-1]) for row in cursor.fetchall())
    assert "outcome_fund_idx" in plan, plan
