"""A facet that takes too long to count is offered without counts; the time limit cancels for real."""

import contextlib
import re

import pytest
from django.db import connection

from config import listing
from config.listing import QueryTimedOut, query_time_limit

pytestmark = pytest.mark.django_db

SLOW_SQL = {
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50000000) SELECT count(*) FROM n",
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
    with pytest.raises(QueryTimedOut):
        with query_time_limit(50):
            with connection.cursor() as cursor:
                cursor.execute(SLOW_SQL[connection.vendor])
    assert setting() == before
    with connection.cursor() as cursor:  # the connection (and the test's transaction) still work
        cursor.execute("SELECT 1")
        assert cursor.fetchone()[0] == 1


def test_a_quick_query_under_the_limit_is_untouched():
    before = setting()
    with query_time_limit(5000):
        with connection.cursor() as cursor:
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
