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
