"""A facet that takes too long to count is offered without counts; the time limit cancels for real."""

import contextlib
import re

import pytest
from django.db import connection

from core import listing
from core.listing import QueryTimedOut, query_time_limit
from programs.filtersets import ProgramFilterSet

pytestmark = pytest.mark.django_db

SLOW_SQL = {
    "sqlite": (
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000000) SELECT count(*) FROM n"
    ),
    "postgresql": "SELECT pg_sleep(2)",
}


def setting():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW statement_timeout")
            return cursor.fetchone()[0]
    return None


def test_the_limit_cancels_a_slow_query_and_leaves_the_connection_as_it_was():
    before = setting()
    with pytest.raises(QueryTimedOut), query_time_limit(50), connection.cursor() as cursor:
        cursor.execute(SLOW_SQL[connection.vendor])
    assert setting() == before
    with connection.cursor() as cursor:  # the connection (and the test's transaction) still work
        cursor.execute("SELECT 1")
        assert cursor.fetchone()[0] == 1


def test_a_quick_query_under_the_limit_is_untouched():
    before = setting()
    with query_time_limit(5000), connection.cursor() as cursor:
        cursor.execute("SELECT 2")
        assert cursor.fetchone()[0] == 2
    assert setting() == before


def area_select(html):
    return re.search(r'<select[^>]*name="area".*?</select>', html, re.S).group(0)


def test_a_facet_past_its_limit_offers_the_whole_lists_choices_without_counts(client, make_program, monkeypatch):
    make_program(slug="a", name="甲电商", area="dianshang")
    make_program(slug="b", name="乙", area="chanye")

    @contextlib.contextmanager
    def always_late(milliseconds):
        if milliseconds:
            raise QueryTimedOut
        yield

    monkeypatch.setattr(listing, "query_time_limit", always_late)
    select = area_select(client.get("/programs/?q=电商", HTTP_ACCEPT_LANGUAGE="en").content.decode())
    # Both areas of the whole list are offered, with no counts (the count under q= was cut off).
    assert 'value="dianshang"' in select and 'value="chanye"' in select
    assert not re.search(r"\(\d+\)", select)
    # The whole list's counts were counted without a limit, and are shown on its own page.
    whole = area_select(client.get("/programs/", HTTP_ACCEPT_LANGUAGE="en").content.decode())
    assert "(1)" in whole


# ---------------------------------------------------------------------------
# The total is bounded the same way


@contextlib.contextmanager
def whole_counts_are_slow(milliseconds):
    """As if counting every matching row ran past the limit, while a count that stops early does not."""
    def wrapper(execute, sql, params, many, context):
        if milliseconds and sql.lstrip().upper().startswith("SELECT COUNT(*)") and " LIMIT " not in sql.upper():
            raise QueryTimedOut
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield


def count_line(html):
    return re.search(r'<p class="count"[^>]*>([^<]*)</p>', html).group(1)


def five_programs(make_program):
    for n in range(5):
        make_program(slug=f"p{n}", name=f"项目{n}", area="dianshang")


def test_a_total_past_its_limit_says_more_than_and_the_pages_still_work(client, make_program, monkeypatch):
    five_programs(make_program)
    monkeypatch.setattr(listing, "query_time_limit", whole_counts_are_slow)
    monkeypatch.setattr(listing, "COUNT_FLOOR", 2)

    first = client.get("/programs/?per_page=2", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert count_line(first) == "more than 2 records"
    assert "Showing 1–2 of more than 2" in first and "page 1<" in first and "page 1 of" not in first
    # next by keyset (tracker/tests/test_keyset.py); no last link
    assert re.search(r'href="\?per_page=2&amp;after=[\w-]+" rel="next"', first) and "last »</span>" in first
    # The area facet (quick) still has its counts.
    assert re.search(r'<option value="dianshang"[^>]*>[^<]*\(5\)', first)

    second = client.get("/programs/?per_page=2&page=2", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert count_line(second) == "more than 4 records" and 'rel="next"' in second
    third = client.get("/programs/?per_page=2&page=3", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert count_line(third) == "5 records"  # the last page knows where the list ends
    assert "Showing 5–5 of 5" in third and 'rel="next"' not in third
    fourth = client.get("/programs/?per_page=2&page=4", HTTP_ACCEPT_LANGUAGE="en")
    assert fourth.status_code == 400 and "There is no page 4." in fourth.content.decode()

    # A count of up to COUNT_FLOOR rows that finds fewer is exact.
    monkeypatch.setattr(listing, "COUNT_FLOOR", 10)
    listing.new_data_generation()
    assert count_line(client.get("/programs/?per_page=2", HTTP_ACCEPT_LANGUAGE="en").content.decode()) == "5 records"


def test_when_no_count_is_quick_the_page_still_pages_and_the_json_counts_exactly(client, make_program, monkeypatch):
    five_programs(make_program)

    @contextlib.contextmanager
    def always_late(milliseconds):
        if milliseconds:
            raise QueryTimedOut
        yield

    monkeypatch.setattr(listing, "query_time_limit", always_late)
    html = client.get("/programs/?per_page=2", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert count_line(html) == "more than 2 records" and 'rel="next"' in html
    # The JSON's count is exact: it is an export, limited by EXPORT_CONCURRENCY, and its contract is a number.
    data = client.get("/programs/?per_page=2&format=json", HTTP_ACCEPT_LANGUAGE="en").json()
    assert data["count"] == 5 and "page=2" in data["next"]
    # ... and the exact count it made is what the next page view shows.
    assert count_line(client.get("/programs/?per_page=2", HTTP_ACCEPT_LANGUAGE="en").content.decode()) == "5 records"


# ---------------------------------------------------------------------------
# The facets of one page share a budget; a facet that is the only filter reads the unfiltered counts


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def monotonic(self):
        return self.now


def test_the_facets_of_a_page_share_the_page_budget(client, make_program, monkeypatch, settings):
    make_program(slug="a", name="甲电商", area="dianshang")
    settings.FACET_TIME_LIMIT_MS = 200
    settings.FACET_PAGE_LIMIT_MS = 300
    clock = FakeClock()
    monkeypatch.setattr(listing.time, "monotonic", clock.monotonic)
    given = []

    @contextlib.contextmanager
    def each_count_takes_150_ms(milliseconds):
        given.append(milliseconds)
        yield
        clock.now += 0.150

    monkeypatch.setattr(listing, "query_time_limit", each_count_takes_150_ms)
    # Each facet counted by itself (on PostgreSQL some are counted together: test_a_count_of_several_facets_...).
    monkeypatch.setattr(listing.ListFilterSet, "combined_facets", lambda self, *args: {})
    html = client.get("/programs/?q=电商", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # The facets first: the first gets its 200 ms, the second what is left of the page's 300 (150); then the
    # budget is spent and no other facet is counted under q=. Each is offered with the whole list's choices,
    # counted once without a limit (the zeros). Then the list's total, with its own 200 ms.
    assert given[:2] == [200, 150]
    assert set(given[2:-1]) <= {0}
    assert given[-1] == 200
    assert 'value="dianshang"' in area_select(html)


def test_without_a_time_limit_there_is_no_page_budget(make_program, monkeypatch, settings):
    settings.FACET_TIME_LIMIT_MS = 0
    settings.FACET_PAGE_LIMIT_MS = 300
    clock = FakeClock()
    monkeypatch.setattr(listing.time, "monotonic", clock.monotonic)
    assert listing.facet_time_limit(True, None) == 0
    settings.FACET_TIME_LIMIT_MS = 200
    assert listing.facet_time_limit(True, clock.now + 0.5) == 200
    assert listing.facet_time_limit(True, clock.now + 0.05) == 50
    with pytest.raises(QueryTimedOut):
        listing.facet_time_limit(True, clock.now)


def test_a_count_of_several_facets_at_once_may_take_their_time_within_the_page_budget(settings, monkeypatch):
    settings.FACET_TIME_LIMIT_MS = 200
    clock = FakeClock()
    monkeypatch.setattr(listing.time, "monotonic", clock.monotonic)
    assert listing.facet_time_limit(True, None, share=3) == 600
    assert listing.facet_time_limit(True, clock.now + 0.3, share=3) == 300
    assert listing.facet_time_limit(False, clock.now + 0.3, share=3) == 300  # no limit of its own: the page's


def test_a_facet_that_is_the_only_filter_is_read_from_the_unfiltered_counts(
    client, make_program, monkeypatch
):
    make_program(slug="a", name="甲", area="dianshang")
    make_program(slug="b", name="乙", area="chanye")
    client.get("/programs/")  # the whole list's counts, cached
    counted = []

    @contextlib.contextmanager
    def record(milliseconds):
        counted.append(milliseconds)
        yield

    monkeypatch.setattr(listing, "query_time_limit", record)
    monkeypatch.setattr(listing.ListFilterSet, "combined_facets", lambda self, *args: {})  # one count a facet
    html = client.get("/programs/?area=dianshang", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    select = area_select(html)
    # Every area is offered with its count over the whole list (what the area facet counts under no other
    # filter), the chosen one selected.
    assert re.search(r'value="chanye"[^>]*>[^<]*\(1\)', select)
    assert re.search(r'value="dianshang"[^>]*selected[^>]*>[^<]*\(1\)', select)
    # Counted afresh under area=: the other facets and the total, not the area facet itself.
    n_facets = sum(1 for f in ProgramFilterSet.base_filters.values() if getattr(f, "facet", False))
    assert len([ms for ms in counted if ms]) == (n_facets - 1) + 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_the_limit_is_set_and_reset_without_a_transaction():
    """A page view runs in autocommit: the limit is the session's, set for the block and RESET after it, with
    no transaction (BEGIN, COMMIT) and no read of the setting first; a cancelled statement changes nothing."""
    from django.test.utils import CaptureQueriesContext

    assert not connection.in_atomic_block
    before = setting()
    with CaptureQueriesContext(connection) as queries, query_time_limit(5000), connection.cursor() as cursor:
        cursor.execute("SELECT 3")
    sent = [q["sql"] for q in queries.captured_queries]
    assert not any(word in sql for sql in sent for word in ("SHOW", "BEGIN", "COMMIT")), sent
    assert setting() == before
    with pytest.raises(QueryTimedOut), query_time_limit(50), connection.cursor() as cursor:
        cursor.execute(SLOW_SQL["postgresql"])
    assert setting() == before


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_pages_limits_share_one_reset_and_a_block_without_a_limit_gets_the_connections_own():
    from django.test.utils import CaptureQueriesContext

    before = setting()
    seen = []
    with CaptureQueriesContext(connection) as queries, listing.time_limits_batched():
        with query_time_limit(4000), connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            seen.append(setting())
        with pytest.raises(QueryTimedOut), query_time_limit(50), connection.cursor() as cursor:
            cursor.execute(SLOW_SQL["postgresql"])
        with query_time_limit(0):  # no limit (the whole list's counts): the connection's own value
            seen.append(setting())
        with query_time_limit(3000):
            seen.append(setting())
    assert seen == ["4s", before, "3s"]
    assert setting() == before  # put back at the end of the batch
    resets = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("RESET")]
    assert len(resets) == 2  # before the block without a limit, and at the end: not after every block
