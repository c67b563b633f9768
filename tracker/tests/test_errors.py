"""Error pages, the request id and the one JSON log line per request.

A small URL map in this module stands in for views that fail: ``settings.ROOT_URLCONF`` points here.
"""

import json
import logging

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.db.utils import OperationalError
from django.http import Http404, HttpResponse
from django.urls import include, path

from core.middleware import JsonFormatter, RequestIdFilter


def boom(request):
    raise RuntimeError("a bug")


def database_down(request):
    raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')


def forbidden(request):
    raise PermissionDenied


def suspicious(request):
    raise SuspiciousOperation("bad")


def missing(request):
    raise Http404("no such record")


def log_something(request):
    logging.getLogger("tracker.test").warning("inside the view")
    return HttpResponse("ok")


urlpatterns = [
    path("boom/", boom),
    path("database-down/", database_down),
    path("forbidden/", forbidden),
    path("suspicious/", suspicious),
    path("missing/", missing),
    path("log/", log_something),
    path("", include("config.urls")),
]
handler400 = "core.errors.bad_request"
handler403 = "core.errors.permission_denied"
handler404 = "core.errors.page_not_found"
handler500 = "core.errors.server_error"


@pytest.fixture
def failing_client(client, settings, db):
    settings.ROOT_URLCONF = __name__
    client.raise_request_exception = False
    return client


def test_urls_use_our_error_handlers():
    from config import urls

    assert urls.handler404 == "core.errors.page_not_found"
    assert urls.handler500 == "core.errors.server_error"


def test_unknown_page_is_our_404_page(client, db):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    html = response.content.decode()
    assert "/no-such-page/" in html
    assert "<html" in html  # the page extends base.html


@pytest.mark.parametrize("url,status", [("/forbidden/", 403), ("/suspicious/", 400), ("/missing/", 404)])
def test_4xx_pages(failing_client, url, status):
    response = failing_client.get(url)
    assert response.status_code == status
    assert "<html" in response.content.decode()


def test_a_bug_is_a_500_page_with_the_request_id(failing_client):
    response = failing_client.get("/boom/")
    assert response.status_code == 500
    request_id = response["X-Request-ID"]
    assert request_id in response.content.decode()
    assert "a bug" not in response.content.decode()  # no internals on the page


def test_database_unavailable_is_a_503_with_retry_after(failing_client):
    response = failing_client.get("/database-down/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    html = response.content.decode()
    assert "5432" not in html  # the driver's message stays in the log
    assert response["X-Request-ID"] in html


def test_each_response_has_a_fresh_request_id(client, db):
    first = client.get("/healthz")["X-Request-ID"]
    second = client.get("/healthz")["X-Request-ID"]
    assert first != second and len(first) == 32


def test_the_proxys_request_id_is_kept_and_junk_is_replaced(client, db):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abcdef0123456789")["X-Request-ID"] == "abcdef0123456789"
    forged = client.get("/healthz", HTTP_X_REQUEST_ID='x" \n{"level": "fake"}')["X-Request-ID"]
    assert forged != 'x" \n{"level": "fake"}' and len(forged) == 32


def request_records(caplog):
    return [r for r in caplog.records if r.name == "tracker.request"]


def test_one_log_line_per_request_with_status_duration_and_id(client, caplog, db):
    with caplog.at_level(logging.INFO, logger="tracker.request"):
        response = client.get("/healthz?x=1", HTTP_X_REQUEST_ID="req-12345678")
    records = request_records(caplog)
    assert len(records) == 1
    fields = records[0].request
    assert fields["method"] == "GET" and fields["path"] == "/healthz" and fields["query"] == "x=1"
    assert fields["status"] == response.status_code == 200
    assert fields["duration_ms"] >= 0
    assert fields["client"] == "127.0.0.1"


def test_log_lines_are_json_and_carry_the_request_id(failing_client, caplog):
    with caplog.at_level(logging.INFO):
        failing_client.get("/log/", HTTP_X_REQUEST_ID="req-abcdefgh")
    formatter, id_filter = JsonFormatter(), RequestIdFilter()
    lines = []
    for record in caplog.records:
        if record.name in ("tracker.test", "tracker.request"):
            lines.append(json.loads(formatter.format(record)))
    view_line = next(line for line in lines if line["logger"] == "tracker.test")
    request_line = next(line for line in lines if line["logger"] == "tracker.request")
    assert view_line["request_id"] == request_line["request_id"] == "req-abcdefgh"
    assert view_line["message"] == "inside the view" and view_line["level"] == "WARNING"
    assert request_line["status"] == 200 and request_line["path"] == "/log/"
    outside = logging.makeLogRecord({"msg": "at start-up"})
    assert id_filter.filter(outside) and outside.request_id == ""  # outside a request: no id


def test_a_500_is_logged_with_its_traceback(failing_client, caplog):
    with caplog.at_level(logging.INFO):
        failing_client.get("/boom/")
    errors = [r for r in caplog.records if r.name == "django.request" and r.levelno >= logging.ERROR]
    assert errors and errors[0].exc_info
    line = json.loads(JsonFormatter().format(errors[0]))
    assert "RuntimeError: a bug" in line["exception"]
    assert request_records(caplog)[0].request["status"] == 500


def test_full_exports_beyond_the_cap_get_429_until_one_finishes(client, settings, db):
    settings.EXPORT_CONCURRENCY = 1
    first = client.get("/programs/?format=csv")  # streamed: holds its slot until closed
    assert first.status_code == 200 and first.streaming
    refused = client.get("/programs/?format=json")
    assert refused.status_code == 429 and refused["Retry-After"] == "5"
    assert client.get("/programs/").status_code == 200  # pages without format= are not limited
    first.close()
    again = client.get("/programs/?format=csv")
    assert again.status_code == 200
    again.close()


def test_head_on_an_export_answers_headers_only_and_takes_no_slot(client, settings, db, monkeypatch):
    """HEAD runs no export (no rows, no count) and holds no slot: two HEADs left open, then a GET export is 200."""
    from core import listing

    settings.EXPORT_CONCURRENCY = 2
    started = []
    csv_rows = listing.ListExportMixin.csv_rows
    cached_counts = listing.cached_counts
    monkeypatch.setattr(listing.ListExportMixin, "csv_rows",
                        lambda self, queryset: started.append("csv rows") or csv_rows(self, queryset))
    monkeypatch.setattr(listing, "cached_counts",
                        lambda *args, **kwargs: started.append("count") or cached_counts(*args, **kwargs))

    heads = [client.head("/outcomes/?format=csv"), client.head("/outcomes/?format=csv"),
             client.head("/programs/?format=json&per_page=200")]  # never read, never closed
    assert [response.status_code for response in heads] == [200, 200, 200]
    assert heads[0]["Content-Type"] == "text/csv; charset=utf-8"
    assert heads[0]["Content-Disposition"].startswith('attachment; filename="outcomes-')
    assert heads[2]["Content-Type"] == "application/json"
    assert started == []
    assert client.head("/outcomes/?format=csv&page=abc").status_code == 400  # still checked

    response = client.get("/outcomes/?format=csv")
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith("\ufeff".encode())  # closed once read
    assert started == ["csv rows"]
    assert client.get("/programs/?format=json").status_code == 200
    for head in heads:
        assert b"".join(head.streaming_content if head.streaming else [head.content]) == b""
