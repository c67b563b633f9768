"""Keyset pages (``?after=``): following next gives exactly the rows ``page=`` gives, in the same order, for
every sort of every list, both ways, ties and empty values included; a cursor that is not one the list made is
a 400 naming ``after``, never a 500. Runs on the database of the run (SQLite, or PostgreSQL with DATABASE_URL):
the two order empty values differently by default, and the keyset must agree with the sort on both.
"""

import base64
import json
import re
from datetime import date
from decimal import Decimal
from html import unescape

import pytest
from django.core.signals import request_finished
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from core import registry
from core.listing import Cursor
from core.testing.world import html_slugs
from tracker.demo import generate_demo

pytestmark = pytest.mark.django_db

NEXT_LINK = re.compile(r'<a href="([^"]*)" rel="next">')


@pytest.fixture
def crowded(world, make_program, make_fund, make_outcome, make_envoy, make_source, make_county, make_indicator):
    """The world, generated rows beside it, and rows made to tie and to leave sort columns empty."""
    generate_demo(programs=25, seed=7, force=True)
    fund = make_fund(name="同名基金")
    for n in range(3):  # ties on every column but the name; no start, no end
        make_program(name=f"并列项目{n}", area="qita", fund=fund)
    make_program(name="无基金项目", area="qita")  # no fund: an empty fund__name
    for _n in range(3):  # ties on value and period; one with no value, no period, nothing linked but a county
        make_outcome(metric="并列指标", value=Decimal("1234.50"), unit="元",
                     period_end=date(2020, 12, 31), period_start=date(2020, 1, 1))
    make_outcome(metric="空值指标", value=None, county=make_county(name="空值县"), unit="")
    make_outcome(metric="只有起点", value=Decimal("7"), period_start=date(2019, 1, 1))
    for n in range(3):
        make_envoy(name=f"并列员{n}", nickname="同名", role="tepaiyuan", batch="")  # no year, no county
    make_source(title="无日期文章")
    make_indicator(name="空指标")


def list_paths():
    return [f"/{t.key}/" for t in registry.public_lists()]


def sort_keys(path):
    from django.urls import resolve

    sort = resolve(path).func.view_class.filterset_class.base_filters["sort"]
    return [key for name in sort.orders for key in (name, f"-{name}")]


def walk_pages(client, url, per_page):
    found, number = [], 1
    while True:
        data = client.get(f"{url}&per_page={per_page}&page={number}").json()
        found += [r["url"] for r in data["results"]]
        if data["next"] is None:
            return found
        number += 1


def walk_keyset(client, url, per_page):
    found, next_url, seen = [], f"{url}&per_page={per_page}", 0
    while next_url:
        response = client.get(next_url)
        assert response.status_code == 200, response.content
        data = response.json()
        found += [r["url"] for r in data["results"]]
        next_url = data["next"]
        if next_url:
            assert "after=" in next_url and not re.search(r"[?&]page=", next_url)
            seen += 1
    return found, seen


@pytest.mark.parametrize("path", ["/programs/", "/funds/", "/outcomes/", "/counties/", "/envoys/", "/sources/",
                                  "/indicators/"])
def test_walking_by_after_gives_the_rows_of_walking_by_page(client, crowded, path):
    assert path in list_paths()
    for key in sort_keys(path):
        url = f"{path}?format=json&sort={key}"
        everything = [r["url"] for r in client.get(f"{url}&per_page=200").json()["results"]]
        per_page = max(1, len(everything) // 5)
        by_page = walk_pages(client, url, per_page)
        by_after, followed = walk_keyset(client, url, per_page)
        assert by_after == by_page == everything, key
        assert followed >= 3, key


def test_the_fixture_has_ties_and_empty_values_in_the_sorted_columns(crowded):
    from envoys.models import Envoy
    from programs.models import Outcome, Program

    assert Program.objects.filter(fund__isnull=True).count() >= 2
    assert Program.objects.filter(start__isnull=True).count() >= 2
    assert Outcome.objects.filter(value=Decimal("1234.50")).count() >= 3
    assert Outcome.objects.filter(value__isnull=True).exists()
    assert Outcome.objects.filter(period_end__isnull=True, period_start__isnull=False).exists()
    assert Envoy.objects.filter(joined_year__isnull=True).count() >= 3


@pytest.mark.parametrize("path,query", [
    ("/programs/", "sort=-start"), ("/programs/", "sort=fund&area=qita"), ("/outcomes/", ""),
    ("/outcomes/", "sort=value"), ("/envoys/", "sort=-joined_year"), ("/counties/", "sort=province"),
])
def test_the_html_next_links_walk_the_same_rows(client, crowded, path, query):
    everything = html_slugs(client.get(f"{path}?{query}&per_page=200"))
    found, url, pages = [], f"{path}?{query}&per_page=3", 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        found += html_slugs(response)
        link = NEXT_LINK.search(response.content.decode())
        url = path + unescape(link.group(1)) if link else None
        pages += 1
    assert found == everything and pages >= 3


def test_a_keyset_page_links_back_by_page_and_says_where_it_is(client, crowded):
    first = client.get("/programs/?sort=name&per_page=5", HTTP_ACCEPT_LANGUAGE="en")
    second_url = "/programs/" + unescape(NEXT_LINK.search(first.content.decode()).group(1))
    assert "after=" in second_url
    second = client.get(second_url, HTTP_ACCEPT_LANGUAGE="en")
    page = second.context["page"]
    assert page["number"] == 2 and page["first"] == 6 and page["last"] == 10
    assert "page=1" in page["previous_url"] and "after" not in page["previous_url"]
    assert "after" not in page["first_url"] and not re.search(r"[?&]page=", page["first_url"])
    assert f"page={page['pages']}" in page["last_url"] and "after" not in page["last_url"]
    assert html_slugs(second) == html_slugs(client.get("/programs/?sort=name&per_page=5&page=2"))
    assert "Showing 6–10 of" in second.content.decode()
    # the export links and the sort headers leave the cursor behind (a CSV is the whole set)
    assert "after" not in second.context["csv_url"] and "after" not in second.context["json_url"]
    assert all("after" not in column["url"] for column in second.context["columns"] if column["url"])


def test_a_csv_ignores_after_and_holds_every_row(client, crowded):
    data = client.get("/programs/?format=json&per_page=3").json()
    after = re.search(r"after=([^&]+)", data["next"]).group(1)
    whole = csv_of(client, "/programs/?format=csv")
    assert csv_of(client, f"/programs/?format=csv&after={after}") == whole
    assert csv_of(client, "/programs/?format=csv&after=not-a-cursor") == whole  # no 400 either: it is not read


def csv_of(client, url) -> bytes:
    """The whole CSV (all rows: after= does not apply to it), its export slot given back."""
    response = client.get(url)
    assert response.status_code == 200
    try:
        return b"".join(response.streaming_content)
    finally:
        # close() sends request_finished, and Django's close_old_connections (connected again once the test
        # client's request has returned) would close the test's connection, which is inside its transaction
        # (PostgreSQL; SQLite's in-memory database is never closed). Only the export slot is to be given back.
        request_finished.disconnect(close_old_connections)
        try:
            response.close()
        finally:
            request_finished.connect(close_old_connections)


def encode(payload) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


BAD_CURSORS = [  # (the page's sort, after=)
    ("name", "abc"), ("name", "!!!!"), ("name", "W10"), ("name", "中"), ("name", encode({"sort": "name"})),
    ("name", encode(["name", ["x"], "7", 0])),  # a key that is not a number
    ("name", encode(["name", ["x"], 7.5, 0])),
    ("name", encode(["name", ["x"], 7, -1])),  # a negative position
    ("name", encode(["name", [], 7, 0])), ("name", encode(["name", ["a", "b"], 7, 0])),  # values for another sort
    ("start", encode(["start", ["20x9-01-01"], 7, 0])),  # not a date
    ("start", encode(["start", [[1]], 7, 0])), ("start", encode(["start", [True], 7, 0])),
    ("counties", encode(["counties", ["many"], 7, 0])),  # not a count
    ("-start", encode(["start", ["2019-01-01"], 7, 0])),  # another sort's cursor
]


@pytest.mark.parametrize("sort,cursor", BAD_CURSORS)
def test_a_cursor_the_list_did_not_make_is_a_400_naming_after(client, world, sort, cursor):
    response = client.get(f"/programs/?format=json&sort={sort}&after={cursor}")
    assert response.status_code == 400, (cursor, response.content)
    assert list(response.json()["errors"]) == ["after"]
    html = client.get(f"/programs/?sort={sort}&after={cursor}", HTTP_ACCEPT_LANGUAGE="en")
    assert html.status_code == 400 and "after" in html.content.decode()


def test_an_empty_after_is_the_first_page(client, world):
    assert rows_of(client.get("/programs/?format=json&after=")) == rows_of(client.get("/programs/?format=json"))


def rows_of(response):
    assert response.status_code == 200
    return [r["url"] for r in response.json()["results"]]


def test_a_cursor_of_another_sort_is_a_400_that_says_so(client, world):
    data = client.get("/programs/?format=json&per_page=2&sort=name").json()
    cursor = re.search(r"after=([^&]+)", data["next"]).group(1)
    response = client.get(f"/programs/?format=json&sort=-start&after={cursor}", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "belongs to the sort “name”" in response.json()["errors"]["after"][0]


def test_a_cursor_is_stable_and_carries_no_more_than_the_sort(client, world):
    one = client.get("/outcomes/?format=json&per_page=2").json()["next"]
    two = client.get("/outcomes/?format=json&per_page=2").json()["next"]
    assert one == two
    cursor = Cursor.decode(re.search(r"after=([^&]+)", one).group(1))
    assert cursor.sort == "-period" and len(cursor.values) == 2 and cursor.position == 2


def test_a_keyset_page_costs_the_queries_of_a_first_page(client, crowded):
    for path, query in [("/programs/", "sort=-start"), ("/outcomes/", "sort=value"), ("/counties/", ""),
                        ("/envoys/", "sort=counties")]:
        first_url = f"{path}?{query}&per_page=3"
        client.get(first_url)
        with CaptureQueriesContext(connection) as first:
            response = client.get(first_url)
        next_url = path + unescape(NEXT_LINK.search(response.content.decode()).group(1))
        client.get(next_url)
        with CaptureQueriesContext(connection) as keyset:
            client.get(next_url)
        assert len(keyset.captured_queries) == len(first.captured_queries), path
        assert not any(" OFFSET " in q["sql"].upper() for q in keyset.captured_queries), path


@pytest.mark.django_db
def test_name_sorted_deep_pages_have_an_index_of_name_and_key_on_postgresql_only():
    # programs/migrations/0013: PostgreSQL reads a deep page's keys from the index alone; SQLite's index on name
    # holds the rowid already, and gets no second index to keep up on every write.
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE %s", ["%_name_id_idx"])
        else:
            cursor.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name LIKE ?",
                           ["%_name_id_idx"])
        found = dict(cursor.fetchall())
    if connection.vendor == "postgresql":
        assert set(found) == {"programs_program_name_id_idx", "programs_indicator_name_id_idx"}
        assert all("(name, id)" in definition for definition in found.values())
    else:
        assert found == {}
