"""The public page cache (core/pagecache.py): anonymous pages come from memory until the data changes.

These tests commit (``transaction=True``): a change becomes visible when its transaction commits, and a
request running inside a transaction (the other tests') never uses the cache, so the usual rolled-back
``world`` would show nothing. Each test builds the world itself; the cache starts empty (core.testing).
"""

import logging

import pytest
from django.db import connection, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.http import http_date

from core.listing import new_data_generation
from core.pagecache import storable
from core.testing.world import build_world

pytestmark = pytest.mark.django_db(transaction=True)

LIST = "/programs/"
DETAIL = "/programs/dianshangtuopin/"
SECURITY_HEADERS = ("Content-Security-Policy", "Permissions-Policy", "X-Frame-Options", "Referrer-Policy",
                    "X-Content-Type-Options", "Cross-Origin-Opener-Policy", "Strict-Transport-Security",
                    "Content-Language", "Content-Type", "Vary", "Cache-Control", "ETag", "Last-Modified")


@pytest.fixture
def w():
    return build_world()


def state(response):
    return response.get("X-Page-Cache")


def writes(queries):
    return [q["sql"] for q in queries if q["sql"].lstrip().split()[0].upper() in {"INSERT", "UPDATE", "DELETE"}]


# ---------------------------------------------------------------------------
# Hits and misses


@pytest.mark.parametrize("path", [LIST, DETAIL, "/", "/counties/?province=guizhou-sheng", DETAIL + "?format=json"])
def test_the_second_request_is_a_hit_with_the_same_body(client, w, path):
    first = client.get(path)
    second = client.get(path)
    assert first.status_code == second.status_code == 200
    assert (state(first), state(second)) == ("miss", "hit")
    assert second.content == first.content
    assert second["ETag"] == first["ETag"] and second["Last-Modified"] == first["Last-Modified"]


def test_a_hit_carries_every_header_a_fresh_page_does_and_is_logged(client, w, caplog):
    first = client.get(DETAIL, secure=True)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="tracker.request"):
        second = client.get(DETAIL, secure=True)
    assert state(second) == "hit"
    for name in SECURITY_HEADERS:
        assert second.get(name) == first.get(name), name
    assert second["Strict-Transport-Security"] and "default-src 'self'" in second["Content-Security-Policy"]
    assert second["X-Frame-Options"] == "DENY"
    assert second["X-Request-ID"] != first["X-Request-ID"]
    logged = [r for r in caplog.records if r.name == "tracker.request"]
    assert len(logged) == 1 and logged[0].request["path"] == DETAIL and logged[0].request["status"] == 200


def test_caching_headers(client, w, settings):
    settings.PAGE_PROXY_SECONDS = 7
    response = client.get(LIST)
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert directives == {"public", "max-age=0", "s-maxage=7"}
    vary = {v.strip() for v in response["Vary"].split(",")}
    assert {"Accept-Language", "Cookie"} <= vary
    assert response["ETag"].startswith('"') and len(response["ETag"]) == 34


def test_a_committed_model_change_shows_at_once(client, w):
    assert "电商脱贫" in client.get(DETAIL).content.decode()
    assert state(client.get(DETAIL)) == "hit"
    program = w["dianshang"]
    with transaction.atomic():
        program.summary = "一个新的摘要"
        program.save()
    after = client.get(DETAIL)
    assert state(after) == "miss" and "一个新的摘要" in after.content.decode()
    listed = client.get(LIST)
    assert state(listed) == "miss"  # every page, not only the changed record's


def test_a_change_saved_through_the_admin_shows_at_once(client, admin_client, w):
    from core.testing.admin import admin_url, form_data
    from programs.models import Program

    old = client.get(DETAIL).content.decode()
    assert state(client.get(DETAIL)) == "hit"
    url = admin_url(Program, "change", w["dianshang"].pk)
    data = form_data(admin_client.get(url))
    data["summary"] = "管理员改过的摘要"
    assert admin_client.post(url, data).status_code == 302
    after = client.get(DETAIL)
    assert state(after) == "miss"
    assert "管理员改过的摘要" in after.content.decode() and after.content.decode() != old


def test_a_new_generation_from_another_process_drops_every_page(client, w):
    client.get(LIST)
    assert state(client.get(LIST)) == "hit"
    new_data_generation()  # what a commit in another process or replica does
    assert state(client.get(LIST)) == "miss"


def test_a_rolled_back_change_keeps_the_pages(client, w):
    client.get(DETAIL)
    with pytest.raises(RuntimeError), transaction.atomic():
        w["dianshang"].summary = "不会提交"
        w["dianshang"].save()
        raise RuntimeError
    assert state(client.get(DETAIL)) == "hit"


# ---------------------------------------------------------------------------
# What the key holds


def test_each_language_has_its_own_entry(client, w):
    chinese = client.get(LIST, HTTP_ACCEPT_LANGUAGE="zh-hans")
    english = client.get(LIST, HTTP_ACCEPT_LANGUAGE="en")
    assert state(english) == "miss"
    assert '<html lang="zh-Hans">' in chinese.content.decode() and '<html lang="en">' in english.content.decode()
    assert client.get(LIST, HTTP_ACCEPT_LANGUAGE="en").content == english.content
    assert client.get(LIST, HTTP_ACCEPT_LANGUAGE="zh-hans").content == chinese.content
    # the remembered choice (the language cookie) wins over Accept-Language, in the cache too
    switched = client.post("/i18n/setlang/", {"language": "en", "next": LIST})
    assert switched.status_code == 302
    remembered = client.get(LIST, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert state(remembered) == "hit" and remembered.content == english.content


def test_a_query_string_variant_is_another_entry(client, w):
    plain = client.get(LIST)
    sorted_ = client.get(LIST + "?sort=-name")
    assert state(sorted_) == "miss" and sorted_.content != plain.content
    assert state(client.get(LIST + "?sort=-name")) == "hit"
    assert state(client.get(LIST + "?sort=-name&q=")) == "miss"


def test_each_host_has_its_own_entry(client, w):
    # the page names its own address (og:url)
    here = client.get(DETAIL)
    there = client.get(DETAIL, HTTP_HOST="localhost")
    assert state(there) == "miss" and b"http://localhost/programs/" in there.content
    assert b"http://localhost/" not in here.content


# ---------------------------------------------------------------------------
# Conditional requests


def test_if_none_match_gives_304(client, w):
    etag = client.get(LIST)["ETag"]
    again = client.get(LIST, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    assert client.get(LIST, HTTP_IF_NONE_MATCH='"something-else"').status_code == 200


def test_if_none_match_gives_304_after_a_change_that_leaves_the_page_alone(client, w):
    etag = client.get(DETAIL)["ETag"]
    new_data_generation()
    again = client.get(DETAIL, HTTP_IF_NONE_MATCH=etag)
    assert state(again) == "miss" and again.status_code == 304  # rendered again: the same body


def test_if_modified_since_gives_304(client, w):
    first = client.get(LIST)
    assert client.get(LIST, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"]).status_code == 304
    assert client.get(LIST, HTTP_IF_MODIFIED_SINCE=http_date(0)).status_code == 200


def test_a_changed_page_is_not_304(client, w):
    etag = client.get(DETAIL)["ETag"]
    with transaction.atomic():
        w["dianshang"].summary = "又一个摘要"
        w["dianshang"].save()
    after = client.get(DETAIL, HTTP_IF_NONE_MATCH=etag)
    assert after.status_code == 200 and after["ETag"] != etag


def test_head_is_served_from_the_get_entry_but_never_fills_one(client, w):
    head = client.head(DETAIL)
    assert head.status_code == 200 and state(head) == "miss" and head.content == b""
    got = client.get(DETAIL)
    assert state(got) == "miss"
    head = client.head(DETAIL)
    assert state(head) == "hit" and head.content == b"" and head["ETag"] == got["ETag"]


# ---------------------------------------------------------------------------
# What is never cached


def test_staff_never_get_nor_fill_cached_pages(client, admin_client, w):
    staff = admin_client.get(LIST)
    assert state(staff) == "bypass" and "private" in staff["Cache-Control"]
    assert state(client.get(LIST)) == "miss"  # the staff's page was not kept
    assert state(client.get(LIST)) == "hit"
    assert state(admin_client.get(LIST)) == "bypass"  # nor served the visitors'


def test_a_csv_export_is_not_cached(client, w):
    for _ in range(2):
        response = client.get(LIST + "?format=csv")
        assert response.streaming and state(response) == "miss"
        assert "Cache-Control" not in response and "ETag" not in response
        b"".join(response.streaming_content)


def test_a_bad_query_is_not_cached(client, w):
    for _ in range(2):
        response = client.get(LIST + "?page=abc")
        assert response.status_code == 400 and state(response) == "miss" and "ETag" not in response


def test_a_missing_page_is_not_cached(client, w):
    for _ in range(2):
        response = client.get("/programs/no-such-program/")
        assert response.status_code == 404 and state(response) == "miss"


@pytest.mark.parametrize("path", ["/healthz", "/admin/login/"])
def test_health_and_admin_are_left_alone(client, w, path):
    for _ in range(2):
        assert state(client.get(path)) is None


def test_the_cache_can_be_turned_off(client, w, settings):
    settings.PAGE_CACHE_SECONDS = 0
    client.get(LIST)
    response = client.get(LIST)
    assert state(response) is None and "ETag" not in response


def test_an_answer_setting_a_cookie_or_reading_the_session_is_not_kept(rf, w):
    from django.contrib.sessions.backends.db import SessionStore
    from django.http import HttpResponse

    request = rf.get(LIST)
    request.session = SessionStore()
    assert storable(request, HttpResponse("page"))
    with_cookie = HttpResponse("page")
    with_cookie.set_cookie("csrftoken", "x")
    assert not storable(request, with_cookie)
    request.META["CSRF_COOKIE_NEEDS_UPDATE"] = True
    assert not storable(request, HttpResponse("page"))
    del request.META["CSRF_COOKIE_NEEDS_UPDATE"]
    request.session.get("anything")
    assert not storable(request, HttpResponse("page"))


def test_public_pages_carry_no_csrf_token_nor_cookie(client, w):
    response = client.get(LIST)
    assert b"csrfmiddlewaretoken" not in response.content and not response.cookies


@pytest.mark.django_db(transaction=False)
def test_a_request_inside_a_transaction_does_not_use_the_cache(client, world):
    client.get(LIST)
    assert state(client.get(LIST)) == "bypass"


# ---------------------------------------------------------------------------
# Nothing is written, hit or miss


@pytest.mark.parametrize("path", [LIST, DETAIL, "/", LIST + "?q=电商&sort=-name", "/programs/?page=abc"])
def test_a_public_get_writes_nothing(client, w, path):
    with CaptureQueriesContext(connection) as missed:
        client.get(path)
    with CaptureQueriesContext(connection) as hit:
        client.get(path)
    assert writes(missed.captured_queries) == [] and writes(hit.captured_queries) == []
    if path != "/programs/?page=abc":
        assert len(hit.captured_queries) == 1  # the generation, on the cache table


# ---------------------------------------------------------------------------
# The language switch needs no token, and refuses another site


def test_the_language_switch_works_without_a_token(w):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post("/i18n/setlang/", {"language": "en", "next": LIST},
                            HTTP_ORIGIN="http://testserver", HTTP_SEC_FETCH_SITE="same-origin")
    assert response.status_code == 302 and response["Location"] == LIST
    assert response.cookies["django_language"].value == "en"


@pytest.mark.parametrize("headers", [
    {"HTTP_ORIGIN": "https://evil.example"},
    {"HTTP_ORIGIN": "null"},
    {"HTTP_SEC_FETCH_SITE": "cross-site"},
    {"HTTP_REFERER": "https://evil.example/page"},
])
def test_the_language_switch_refuses_another_site(w, headers):
    browser = Client(enforce_csrf_checks=True)
    response = browser.post("/i18n/setlang/", {"language": "en", "next": LIST}, **headers)
    assert response.status_code == 403 and "django_language" not in response.cookies
