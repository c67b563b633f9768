"""The public page cache: anonymous GET pages served from the cache until the data changes.

``PageCacheMiddleware`` (in ``MIDDLEWARE`` after ``XFrameOptionsMiddleware``, so inside
``LocaleMiddleware`` and every middleware that adds a security header or logs the request):

- **What is cached**: the answer to a ``GET`` (a ``HEAD`` is served from the ``GET``'s entry but never
  fills one) of a public path (not ``/admin/``, ``/healthz``, ``/i18n/``), from a request without a
  session cookie (staff see their own pages), outside a database transaction; a 200 that does not
  stream, sets no cookie, renders no CSRF token, reads no session, is no attachment, has no
  ``Cache-Control`` of its own and is at most ``PAGE_CACHE_MAX_BYTES`` long. A 400 (a query that cannot
  be understood), a 404, a CSV or JSON export (they stream), a redirect: never.
- **Key**: the data generation (``core.listing.FACET_GENERATION_KEY`` in the default cache, which every
  process and replica shares and which a committed change to any record moves), the active language
  (``LocaleMiddleware``'s choice: the language cookie, else ``Accept-Language``) and the absolute URL,
  scheme, host, path and query string as received. The generation is read before the page is rendered
  (one indexed ``SELECT`` on the cache table; never a write), so a page rendered while a change commits
  is filed under the old generation and never served after it.
- **Where**: ``CACHES["pages"]``: files in ``SHARED_CACHE_DIR`` that the gunicorn workers of a machine
  share (core/sharedcache.py), or each process's memory without it (runserver, the tests); compressed
  (zlib level 1: a 40 KB list page keeps 8 KB, the 330 KB counties page 48 KB), at most
  ``PAGE_CACHE_ENTRIES`` pages; entries also expire after ``PAGE_CACHE_SECONDS`` (0 turns the cache off),
  for changes made behind Django's back.
- **Headers**: ``ETag`` (a hash of the body, so every process gives the same one), ``Last-Modified``
  (when the entry was rendered), and ``304 Not Modified`` for ``If-None-Match`` / ``If-Modified-Since``
  (Django's ``get_conditional_response``); ``Cache-Control: public, max-age=0, s-maxage=N`` (browsers
  ask again each time and get a 304; the proxy may keep the page ``PAGE_PROXY_SECONDS``);
  ``Vary: Accept-Language, Cookie``; ``X-Page-Cache: hit | miss | bypass``. A public page answered to a
  request with a session cookie gets ``Cache-Control: private``.

``set_language`` is the language switch every page's header posts to. It needs no CSRF token (a token
in the page would make the page different for each visitor, so it could not be shared): a browser's
post from another site (its ``Origin`` or ``Sec-Fetch-Site`` says so) is refused with 403 instead.
"""

from __future__ import annotations

import hashlib
import time
import zlib
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import caches
from django.db import connections
from django.http import HttpResponse, HttpResponseForbidden
from django.urls import reverse
from django.utils import translation
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.http import http_date
from django.views import i18n
from django.views.decorators.csrf import csrf_exempt

from core.listing import request_generation

PAGE_CACHE_HEADER = "X-Page-Cache"
# Set by the middleware itself at every answer, so not kept in an entry.
_OWN_HEADERS = {"etag", "last-modified", "cache-control", "vary", "content-length", PAGE_CACHE_HEADER.lower()}


def page_cache():
    return caches["pages"]


def page_key(request, generation) -> str:
    parts = "\n".join((str(generation), translation.get_language() or "", request.build_absolute_uri()))
    return "page:" + hashlib.sha256(parts.encode()).hexdigest()


def body_etag(content: bytes) -> str:
    return '"' + hashlib.sha256(content).hexdigest()[:32] + '"'


def excluded_prefixes() -> tuple[str, ...]:
    return (reverse("admin:index"), reverse("healthz"), "/i18n/")


def _in_transaction(request) -> bool:
    # What a request sees inside a transaction (ATOMIC_REQUESTS, a test's) may never be committed, and
    # the changes it made move the generation only when they commit: such a page is not shared.
    return any(connection.in_atomic_block for connection in connections.all(initialized_only=True))


def storable(request, response) -> bool:
    """May this freshly rendered answer be given to other anonymous visitors?"""
    if request.method != "GET" or response.status_code != 200 or getattr(response, "streaming", False):
        return False
    if response.cookies or response.has_header("Cache-Control") or response.has_header("Content-Disposition"):
        return False
    if request.META.get("CSRF_COOKIE_NEEDS_UPDATE"):  # a CSRF token was rendered into the page
        return False
    session = getattr(request, "session", None)
    if session is not None and (session.accessed or session.modified):  # the page may depend on who asks
        return False
    return len(response.content) <= settings.PAGE_CACHE_MAX_BYTES


def _answer(request, response, etag: str, rendered: float, state: str):
    """The page, or ``304 Not Modified`` when the browser's copy is still the page."""
    response["ETag"] = etag
    response["Last-Modified"] = http_date(rendered)
    if settings.PAGE_PROXY_SECONDS > 0:
        patch_cache_control(response, public=True, max_age=0, s_maxage=settings.PAGE_PROXY_SECONDS)
    else:
        patch_cache_control(response, public=True, max_age=0)
    patch_vary_headers(response, ("Accept-Language", "Cookie"))
    response = get_conditional_response(request, etag=etag, last_modified=int(rendered), response=response)
    response[PAGE_CACHE_HEADER] = state
    return response


class PageCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response
        self._excluded = None

    def eligible(self, request) -> bool:
        if settings.PAGE_CACHE_SECONDS <= 0 or request.method not in ("GET", "HEAD"):
            return False
        if self._excluded is None:
            self._excluded = excluded_prefixes()
        return not request.path.startswith(self._excluded)

    def __call__(self, request):
        if not self.eligible(request):
            return self.get_response(request)
        if settings.SESSION_COOKIE_NAME in request.COOKIES or _in_transaction(request):
            response = self.get_response(request)
            if request.COOKIES.get(settings.SESSION_COOKIE_NAME) and not response.has_header("Cache-Control"):
                patch_cache_control(response, private=True)
            response[PAGE_CACHE_HEADER] = "bypass"
            return response
        generation = request_generation()
        if generation is None:
            return self.get_response(request)

        key = page_key(request, generation)
        entry = page_cache().get(key)
        if entry is not None:
            packed, headers, etag, rendered = entry
            response = HttpResponse(zlib.decompress(packed), headers=headers)
            return _answer(request, response, etag, rendered, "hit")

        response = self.get_response(request)
        response[PAGE_CACHE_HEADER] = "miss"
        if not storable(request, response):
            return response
        rendered = time.time()
        etag = body_etag(response.content)
        headers = {name: value for name, value in response.items() if name.lower() not in _OWN_HEADERS}
        packed = zlib.compress(response.content, 1)  # about a sixth of the page, in 0.3-2 ms
        page_cache().set(key, (packed, headers, etag, rendered), settings.PAGE_CACHE_SECONDS)
        return _answer(request, response, etag, rendered, "miss")


# ---------------------------------------------------------------------------
# The language switch


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def from_this_site(request) -> bool:
    """False when a browser says the request comes from another site. Without any of the headers
    (not a browser: a script can set any cookie on itself anyway) it is allowed."""
    own = {f"{request.scheme}://{request.get_host()}", *settings.CSRF_TRUSTED_ORIGINS}
    origin = request.META.get("HTTP_ORIGIN")
    if origin is not None:
        return origin in own
    fetch_site = request.META.get("HTTP_SEC_FETCH_SITE")
    if fetch_site is not None:
        return fetch_site in ("same-origin", "none")
    referer = request.META.get("HTTP_REFERER")
    if referer:
        return _origin(referer) in own
    return True


@csrf_exempt
def set_language(request):
    """Django's ``set_language``, without a CSRF token but refusing another site's post."""
    if request.method == "POST" and not from_this_site(request):
        return HttpResponseForbidden("The language can only be switched from this site.\n",
                                     content_type="text/plain; charset=utf-8")
    return i18n.set_language(request)
