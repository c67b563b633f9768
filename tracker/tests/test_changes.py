"""What changed: ``/changes/`` (HTML, CSV, JSON), its Atom feed, and ``since=`` on every list."""

import csv
import datetime
import io
from urllib.parse import urlsplit

import feedparser
import pytest
from django.core.cache import caches
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from core import registry
from core.testing.admin import admin_url, form_data
from counties.models import County
from envoys.models import Posting
from programs.models import Fund, Program

pytestmark = pytest.mark.django_db


@pytest.fixture
def public():
    """Someone who is not logged in (the editor's client is another browser)."""
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def get_json(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code, response.content[:300])
    return response.json()


def read_csv(response):
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body.removeprefix("\ufeff"))))


def path_of(url):
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def edit_in_admin(editor_client, obj, **changes):
    url = admin_url(type(obj), "change", obj.pk)
    data = form_data(editor_client.get(url))
    data.update(changes)
    response = editor_client.post(url, data)
    assert response.status_code == 302, response.content[:2000]


def move_history(model, days):
    """Every history row of ``model`` ``days`` into the past (as if it had been made then)."""
    for row in model.history.all():
        model.history.filter(history_id=row.history_id).update(
            history_date=row.history_date - datetime.timedelta(days=days))


# ---------------------------------------------------------------------------
# The list of changes


def test_an_admin_edit_is_listed_first_with_its_fields_and_a_link_that_resolves(editor_client, public, world):
    fund = world["fund"]
    edit_in_admin(editor_client, fund, summary="新的简介", commitment_term="五年")
    data = get_json(public, "/changes/?format=json")
    first = data["results"][0]
    assert (first["type"], first["action"], first["slug"], first["name"]) == ("funds", "changed", fund.slug, fund.name)
    assert first["fields"] == ["commitment_term", "summary"]
    assert public.get(path_of(first["url"])).status_code == 200
    assert path_of(first["url"]) == fund.get_absolute_url()


def test_who_made_a_change_is_never_shown(editor_client, public, world):
    edit_in_admin(editor_client, world["fund"], summary="新的简介")
    pages = [public.get("/changes/").content.decode(), public.get("/changes/?format=json").content.decode(),
             b"".join(public.get("/changes/?format=csv").streaming_content).decode(),
             public.get("/changes/feed/").content.decode()]
    assert world["fund"].history.first().history_user.username == "editor"
    for page in pages:
        assert "editor" not in page


def test_created_changed_and_deleted_read_as_such(public, world):
    program = world["dianshang"]
    program.summary = "新的"
    program.save()
    program.counties.remove(world["dushan"])
    gone = world["jiankang"]
    gone.delete()
    results = get_json(public, "/changes/?format=json&type=programs&per_page=5")["results"]
    assert [(r["slug"], r["action"], r["fields"]) for r in results[:3]] == [
        (gone.slug, "deleted", []), (program.slug, "changed", ["counties"]), (program.slug, "changed", ["summary"]),
    ]
    assert results[0]["url"] is None and results[0]["name"] == "健康保险"
    created = [r for r in get_json(public, "/changes/?format=json&type=programs&per_page=200")["results"]
               if r["slug"] == gone.slug and r["action"] == "created"]
    assert created and created[0]["url"] is None  # an earlier change of a record deleted since: no link
    page = public.get("/changes/?type=programs").content.decode()
    assert "deleted since" in page and "Deleted" in page and f'href="{program.get_absolute_url()}"' in page


def test_a_date_and_its_precision_are_one_field(public, world):
    program = world["cunbo"]
    program.start_precision = "year"
    program.save()
    assert get_json(public, "/changes/?format=json&type=programs")["results"][0]["fields"] == ["start"]


def test_type_since_and_until_narrow_the_list(public, world):
    world["fund"].summary = "今天"
    world["fund"].save()
    move_history(Program, days=10)
    today = timezone.localdate()
    programs = get_json(public, "/changes/?format=json&type=programs&per_page=200")
    assert programs["count"] == Program.history.count() and {r["type"] for r in programs["results"]} == {"programs"}
    both = get_json(public, "/changes/?format=json&type=programs&type=funds")["count"]
    assert both == Program.history.count() + Fund.history.count()
    since = get_json(public, f"/changes/?format=json&type=programs,funds&since={today:%Y-%m-%d}")
    assert since["count"] == Fund.history.count()
    ten_days_ago = today - datetime.timedelta(days=10)
    until = get_json(public, f"/changes/?format=json&type=programs&type=funds&until={ten_days_ago:%Y-%m-%d}")
    assert until["count"] == Program.history.count()
    assert get_json(public, f"/changes/?format=json&since={today + datetime.timedelta(days=1):%Y-%m-%d}")["count"] == 0


@pytest.mark.parametrize("query, parameter", [
    ("type=nothing", "type"), ("since=2024-13-01", "since"), ("until=yesterday", "until"),
    ("since=2024-05-02&until=2024-05-01", "until"), ("page=abc", "page"), ("per_page=0", "per_page"),
    ("page=99", "page"),
])
def test_a_value_that_cannot_be_understood_is_a_400_naming_it(public, world, query, parameter):
    data = get_json(public, f"/changes/?{query}&format=json", 400)
    assert list(data["errors"]) == [parameter] and data["errors"][parameter][0]
    page = public.get(f"/changes/?{query}")
    assert page.status_code == 400 and f"{parameter}=" in page.content.decode()
    # The CSV has every row, whatever the page (as the lists' CSV): only a page past the end is no error there.
    assert public.get(f"/changes/?{query}&format=csv").status_code == (200 if query == "page=99" else 400)
    # The feed has no pages: only its filters can be wrong.
    feed_status = 400 if parameter in ("type", "since", "until") else 200
    assert public.get(f"/changes/feed/?{query}").status_code == feed_status


def test_an_unknown_format_is_a_400(public, world):
    assert public.get("/changes/?format=xml").status_code == 400


def test_csv_holds_every_change_as_json_pages_through_them(public, world):
    world["jiankang"].name = "=HYPERLINK(1)"
    world["jiankang"].save()
    rows = read_csv(public.get("/changes/?format=csv"))
    assert rows[0] == ["date", "type", "action", "slug", "name", "fields", "url"]
    pages, url = [], "/changes/?format=json&per_page=7"
    while url:
        data = get_json(public, path_of(url))
        pages += data["results"]
        url = data["next"]
    assert len(rows) - 1 == len(pages) == data["count"] == sum(
        t.model_class.history.count() for t in registry.record_types())
    assert [(r[1], r[3], r[2]) for r in rows[1:]] == [(p["type"], p["slug"], p["action"]) for p in pages]
    assert rows[1][4] == "'=HYPERLINK(1)" and pages[0]["name"] == "=HYPERLINK(1)"  # formula escaped in the CSV only
    assert rows[1][6] == pages[0]["url"]


def test_the_page_links_its_csv_json_and_feed_with_the_same_filters(public, world):
    page = public.get("/changes/?type=funds&since=2020-01-01").content.decode()
    assert 'href="?type=funds&amp;since=2020-01-01&amp;format=csv"' in page
    assert 'href="/changes/feed/?type=funds&amp;since=2020-01-01"' in page
    assert 'type="application/atom+xml"' in page


def changes_json_queries(client):
    caches["counts"].clear()  # counted again each time (the tests' writes never commit a new generation)
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/changes/?format=json&per_page=200&type=programs,counties,postings")
    assert response.status_code == 200
    return len(captured), len(response.json()["results"])


def test_queries_do_not_grow_with_the_changes(public, world, make_program, make_county, make_posting):
    def changes(n):
        """Each kind of change of three record types, ``n`` times: created, changed (fields, links), deleted."""
        for _ in range(n):
            program = make_program()
            program.counties.add(make_county())
            program.summary = "改"
            program.save()
            make_posting(county=world["puan"]).delete()

    changes(1)
    few, rows_few = changes_json_queries(public)
    changes(40)
    many, rows_many = changes_json_queries(public)
    assert (rows_few, rows_many) == (sum(m.history.count() for m in (Program, County, Posting)) - 40 * 6, 200)
    assert many == few < 20


# ---------------------------------------------------------------------------
# The feed


def test_the_feed_parses_lists_a_change_made_in_the_test_and_its_links_resolve(editor_client, public, world):
    fund = world["fund"]
    edit_in_admin(editor_client, fund, summary="新的简介")
    world["jiankang"].delete()
    response = public.get("/changes/feed/")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/atom+xml")
    feed = feedparser.parse(response.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10" and feed.feed.title
    assert len(feed.entries) == min(50, sum(t.model_class.history.count() for t in registry.record_types()))
    first = feed.entries[0]
    assert "健康保险" in first.title and "deleted" in first.title
    mine = next(e for e in feed.entries if fund.name in e.title and "changed" in e.title)
    assert path_of(mine.link) == fund.get_absolute_url() and "summary" in mine.title
    assert len({e.id for e in feed.entries}) == len(feed.entries)  # one entry per change, not per record
    for entry in feed.entries:
        assert public.get(path_of(entry.link)).status_code == 200, entry.link


def test_the_feed_takes_the_same_filters(public, world):
    feed = feedparser.parse(public.get("/changes/feed/?type=envoys").content)
    assert feed.entries and all("/envoys/" in e.link for e in feed.entries)
    assert len(feed.entries) == min(50, registry.get("envoys").model_class.history.count())


def test_the_feed_reads_in_chinese(world):
    feed = feedparser.parse(Client(HTTP_ACCEPT_LANGUAGE="zh-hans").get("/changes/feed/").content)
    assert feed.feed.title == "乡村项目追踪:最近的变动"
    assert any("已创建" in e.title for e in feed.entries)


# ---------------------------------------------------------------------------
# since= on every list


@pytest.mark.parametrize("key", [t.key for t in registry.public_lists()])
def test_since_on_every_list_gives_the_records_changed_since_then(public, world, request, key):
    record_type = registry.get(key)
    model = record_type.model_class
    while model._base_manager.count() < 2:  # a list the world leaves (nearly) empty
        request.getfixturevalue(f"make_{model._meta.model_name}")()
    url = reverse(record_type.list_url)
    last_year = timezone.now() - datetime.timedelta(days=365)
    model._base_manager.update(updated_at=last_year)
    changed = model._base_manager.order_by("pk").first()
    changed.save()
    today = timezone.localdate()
    data = get_json(public, f"{url}?format=json&since={today:%Y-%m-%d}")
    assert data["count"] == 1 and data["results"][0]["slug"] == changed.slug
    all_of_them = get_json(public, f"{url}?format=json&since={last_year:%Y-%m-%d}")["count"]
    assert all_of_them == model._base_manager.count() > 1
    assert get_json(public, f"{url}?format=json&since={today + datetime.timedelta(days=1):%Y-%m-%d}")["count"] == 0
    rows = read_csv(public.get(f"{url}?format=csv&since={today:%Y-%m-%d}"))
    assert [row[0] for row in rows[1:]] == [changed.slug]


@pytest.mark.parametrize("value", ["yesterday", "2024-02-30", "2024-5-1", "20240501"])
def test_a_bad_since_is_a_400_with_a_message(public, world, value):
    data = get_json(public, f"/programs/?format=json&since={value}", 400)
    assert "is not a date (YYYY-MM-DD" in data["errors"]["since"][0]
    assert public.get(f"/programs/?since={value}").status_code == 400


def test_a_list_page_shows_its_since_filter(public, world):
    page = public.get("/programs/?since=2000-01-01").content.decode()
    assert "Changed since: <strong>2000-01-01</strong>" in page
    assert "Changed since" not in public.get("/programs/").content.decode()


# ---------------------------------------------------------------------------
# In a browser


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_changes_page_and_the_downloads_in_a_browser(live_server, chromium_page):
    from core.testing.browser import screenshot
    from core.testing.world import build_world

    w = build_world()
    w["dianshang"].summary = "新的简介"
    w["dianshang"].save()
    page = chromium_page
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="最近的变动").click()
    page.wait_for_url("**/changes/")
    first = page.locator("tbody tr").first
    assert "电商脱贫" in first.inner_text() and "简介" in first.inner_text()
    assert page.locator("link[type='application/atom+xml']").count() == 1
    screenshot(page, "changes-1280")
    page.select_option("#f-type", "funds")  # the filter submits itself
    page.wait_for_url("**type=funds**")
    kinds = page.locator("tbody tr td:nth-child(3)").all_inner_texts()
    assert kinds and set(kinds) == {"基金"}
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "changes-390")
    page.goto(f"{live_server.url}/")
    with page.expect_download() as download:
        page.get_by_role("link", name="整个数据库").click()
    assert download.value.suggested_filename.endswith(".zip")
    assert not page.console_errors, page.console_errors

