"""Production settings: `check --deploy` is clean, every response carries the security headers and a
Content-Security-Policy of 'self' only, and no page we serve (admin included) relies on inline script."""

import re
import secrets

import pytest
from django.urls import reverse

from core.testing.config import start_django

STRONG_KEY = secrets.token_urlsafe(50)


def test_check_deploy_is_clean_with_debug_off():
    result = start_django(
        "from django.core.management import call_command; call_command('check', '--deploy', '--fail-level', 'WARNING')",
        SECRET_KEY=STRONG_KEY, DATABASE_URL="sqlite://:memory:",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_check_deploy_is_clean_behind_a_proxy():
    result = start_django(
        "from django.conf import settings; "
        "assert settings.SECURE_PROXY_SSL_HEADER == ('HTTP_X_FORWARDED_PROTO', 'https'); "
        "from django.core.management import call_command; call_command('check', '--deploy', '--fail-level', 'WARNING')",
        SECRET_KEY=STRONG_KEY, DATABASE_URL="sqlite://:memory:", BEHIND_PROXY="1",
    )
    assert result.returncode == 0, result.stderr + result.stdout


PRINT_SECURITY = (
    "from django.conf import settings as s; "
    "print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS)"
)


def test_https_parts_are_on_by_default_and_can_be_switched_off_for_plain_http():
    on = start_django(PRINT_SECURITY, SECRET_KEY=STRONG_KEY)
    assert on.stdout.split() == ["True", "True", "True", "31536000"], on.stderr
    off = start_django(PRINT_SECURITY, SECRET_KEY=STRONG_KEY, SECURE_SSL_REDIRECT="0", SECURE_COOKIES="0")
    assert off.stdout.split() == ["False", "False", "False", "31536000"], off.stderr
    debug = start_django(PRINT_SECURITY, DEBUG="1")
    assert debug.stdout.split() == ["False", "False", "False", "0"], debug.stderr


def test_plain_http_is_redirected_to_https_when_the_redirect_is_on(client, settings, db):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz")
    assert response.status_code == 301
    assert response["Location"] == "https://testserver/healthz"
    assert client.get("/healthz", secure=True).status_code == 200


def test_behind_the_proxy_forwarded_https_counts_as_https(client, settings, db):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    assert client.get("/healthz", HTTP_X_FORWARDED_PROTO="https").status_code == 200
    assert client.get("/healthz", HTTP_X_FORWARDED_PROTO="http").status_code == 301


def test_security_headers_on_every_response(client, db):
    response = client.get("/healthz", secure=True)
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


def csp_directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def test_content_security_policy_allows_only_this_site(client, db):
    directives = csp_directives(client.get("/healthz"))
    for name in ("default-src", "script-src", "style-src", "font-src", "img-src"):
        assert directives[name] == ["'self'"], name
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    header = " ".join(sum(directives.values(), []))
    assert "unsafe-inline" not in header and "unsafe-eval" not in header


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", re.S)
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=\s*[\"']", re.I)
DATA_SCRIPT = re.compile(r'<script[^>]*type="application/json"', re.I)


def inline_script_problems(html: str) -> list[str]:
    """Inline <script> bodies (JSON data blocks aside) and on*="…" handler attributes."""
    problems = []
    for match in INLINE_SCRIPT.finditer(html):
        tag = html[match.start():html.index(">", match.start()) + 1]
        if not DATA_SCRIPT.match(tag):
            problems.append(tag)
    problems += [html[m.start():m.start() + 60] for m in INLINE_HANDLER.finditer(html)]
    return problems


@pytest.fixture
def superuser_client(client, django_user_model):
    user = django_user_model.objects.create_superuser("root", "root@example.org", "root-password")
    client.force_login(user)
    return client


def public_and_admin_pages():
    return [
        "/",
        "/admin/login/",
        "/admin/",
        "/admin/programs/program/",
        "/admin/programs/program/add/",
        "/admin/programs/outcome/import/",
        "/admin/programs/outcome/export/",
        "/admin/counties/county/",
        "/admin/axes/accessattempt/",
    ]


@pytest.mark.parametrize("path", public_and_admin_pages())
def test_pages_need_no_inline_script(superuser_client, path):
    response = superuser_client.get(path, follow=True)
    assert response.status_code == 200, path
    assert "Content-Security-Policy" in response
    html = response.content.decode()
    # Our own override re-binds import-export's "Select all" handler from a file; its inline
    # attribute stays in the HTML but the policy blocks it (and nothing depends on it any more).
    problems = [p for p in inline_script_problems(html) if "onSelectToggleChange" not in p]
    assert problems == [], problems


def test_export_page_loads_the_script_that_replaces_the_inline_handler(superuser_client):
    html = superuser_client.get("/admin/programs/outcome/export/").content.decode()
    assert "js/admin-csp.js" in html
    assert "import_export/export_selectable_fields.js" in html


def test_every_script_and_stylesheet_is_served_by_this_site(superuser_client):
    html = superuser_client.get(reverse("admin:programs_outcome_import")).content.decode()
    for url in re.findall(r'<(?:script|link)[^>]+(?:src|href)="([^"]+)"', html):
        assert url.startswith("/"), url
        assert not url.startswith("//"), url


# ---------------------------------------------------------------------------
# Permissions-Policy: the browser features the site never uses are denied on every response

NEVER_USED = ("camera", "microphone", "geolocation", "payment", "usb", "serial", "hid", "midi",
              "display-capture", "accelerometer", "gyroscope", "magnetometer", "xr-spatial-tracking")


def permissions_policy(response) -> dict[str, str]:
    header = response["Permissions-Policy"]
    return dict(part.strip().split("=", 1) for part in header.split(",") if part.strip())


@pytest.mark.parametrize("path", ["/healthz", "/", "/admin/login/", "/static/js/admin-csp.js", "/no-such-page/"])
def test_permissions_policy_denies_what_the_site_never_uses(client, db, path):
    response = client.get(path)
    assert response.status_code in (200, 404), path
    policy = permissions_policy(response)
    for feature in NEVER_USED:
        assert policy.get(feature) == "()", (path, feature)


# ---------------------------------------------------------------------------
# Sessions end after a working day without admin use; using the admin keeps them alive; public pages
# never write them


def test_session_idle_timeout_is_a_working_day_and_configurable():
    code = "from django.conf import settings as s; print(s.SESSION_COOKIE_AGE, s.SESSION_EXPIRE_AT_BROWSER_CLOSE)"
    default = start_django(code, SECRET_KEY=STRONG_KEY)
    assert default.stdout.split() == ["28800", "False"], default.stderr
    hour = start_django(code, SECRET_KEY=STRONG_KEY, SESSION_IDLE_MINUTES="60")
    assert hour.stdout.split() == ["3600", "False"], hour.stderr


@pytest.fixture
def logged_in(client, django_user_model):
    """A staff member logged in through the login form; returns (client, their session row)."""
    from django.contrib.sessions.models import Session

    django_user_model.objects.create_user("staff", password="staff-password", is_staff=True)
    response = client.post("/admin/login/?next=/admin/", {"username": "staff", "password": "staff-password"})
    assert response.status_code == 302
    assert response.cookies["sessionid"]["max-age"] == 8 * 3600
    return client, Session.objects.get(session_key=client.cookies["sessionid"].value)


def idle_for(session, hours, settings):
    """Pretend the session was last renewed ``hours`` ago."""
    import datetime
    import time

    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    from core.middleware import SESSION_RENEWED_KEY

    store = SessionStore(session_key=session.session_key)
    store[SESSION_RENEWED_KEY] = time.time() - hours * 3600
    store.save()
    expires = timezone.now() + datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE) - datetime.timedelta(hours=hours)
    Session.objects.filter(pk=session.pk).update(expire_date=expires)
    return expires


def test_a_session_idle_for_a_working_day_is_ended(logged_in, settings):
    client, session = logged_in
    assert client.get("/admin/").status_code == 200
    idle_for(session, 8.01, settings)
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")


def test_using_the_admin_renews_the_session(logged_in, settings):
    from django.contrib.sessions.models import Session
    from django.utils import timezone

    client, session = logged_in
    expires = idle_for(session, 7, settings)
    response = client.get("/admin/")
    assert response.status_code == 200
    renewed = Session.objects.get(pk=session.pk).expire_date
    assert renewed > expires + timezone.timedelta(hours=6.9)
    assert response.cookies["sessionid"]["max-age"] == 8 * 3600
    # Within a few minutes of the last renewal, an admin page does not write the session again.
    again = client.get("/admin/")
    assert "sessionid" not in again.cookies or again.cookies["sessionid"].value == ""
    assert Session.objects.get(pk=session.pk).expire_date == renewed


def test_public_pages_do_not_write_the_session(logged_in, settings, client):
    from django.contrib.sessions.models import Session

    staff, session = logged_in
    expires = idle_for(session, 7, settings)
    for path in ("/", "/programs/", "/healthz"):
        assert staff.get(path).status_code == 200, path
    assert Session.objects.get(pk=session.pk).expire_date == expires
    # Anonymous visitors get no session at all.
    from django.test import Client

    before = Session.objects.count()
    anonymous = Client()
    for path in ("/", "/programs/"):
        assert "sessionid" not in anonymous.get(path).cookies
    assert Session.objects.count() == before
