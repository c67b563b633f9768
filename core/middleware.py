"""What wraps every request: a request id and one structured log line, the client's address, and a
cap on concurrent full exports.

- ``RequestLogMiddleware`` (first in ``MIDDLEWARE``): takes the proxy's ``X-Request-ID`` when it
  sent a sane one, else makes one; returns it as ``X-Request-ID``; logs one JSON line per request
  (method, path, status, duration, client, user, request id) on the ``tracker.request`` logger.
  Every other log line written while the request runs carries the same ``request_id``.
- ``client_ip(request)``: the client's address, from ``X-Forwarded-For`` only when
  ``BEHIND_PROXY`` is on (django-axes uses it for its per-address lockout).
- ``ExportLimitMiddleware``: at most ``EXPORT_CONCURRENCY`` ``GET ?format=csv|json`` responses
  stream at once per process; one more gets 429 and ``Retry-After``. A HEAD takes no slot: the list
  views answer it with the headers alone, without running the export.
- ``PermissionsPolicyMiddleware``: a ``Permissions-Policy`` header on every response, denying the
  browser features the site never uses (``settings.PERMISSIONS_POLICY``).
- ``SessionRenewMiddleware``: a logged-in session ends ``SESSION_COOKIE_AGE`` seconds after its last
  renewal; an admin page renews it, at most once every ``SESSION_RENEW_SECONDS``. Public pages never
  touch the session, so they write nothing.
- ``JsonFormatter`` / ``RequestIdFilter``: the log format settings.LOGGING uses.
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import re
import threading
import time
import traceback
import uuid

from django.conf import settings
from django.http import HttpResponse
from django.utils.functional import empty

logger = logging.getLogger("tracker.request")

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

# What we accept from upstream: a proxy's id (nginx $request_id is 32 hex digits), never free text
# that could forge log lines.
REQUEST_ID_RE = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def client_ip(request) -> str:
    """The client's address: the last ``X-Forwarded-For`` hop (the one our proxy appended) when
    ``BEHIND_PROXY`` is on, else the socket's peer."""
    if getattr(settings, "BEHIND_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
        if hops:
            return hops[-1]
    return request.META.get("REMOTE_ADDR", "") or ""


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if REQUEST_ID_RE.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        try:
            response = self.get_response(request)
            status = response.status_code
            response["X-Request-ID"] = request_id
            return response
        finally:
            duration_ms = round((time.perf_counter() - started) * 1000, 1)
            user = getattr(request, "user", None)
            fields = {
                "method": request.method,
                "path": request.path,
                "query": request.META.get("QUERY_STRING", "")[:500],
                "status": status,
                "duration_ms": duration_ms,
                "client": client_ip(request),
                "user": _loaded_user_id(user),
            }
            level = logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO
            logger.log(level, "%s %s %s %.1fms", request.method, request.path, status, duration_ms,
                       extra={"request": fields})
            request_id_var.reset(token)


def _loaded_user_id(user):
    """The user's id, only when something already loaded the user: logging must not cost a query."""
    wrapped = getattr(user, "_wrapped", user)
    if user is None or wrapped is empty or not getattr(wrapped, "is_authenticated", False):
        return None
    return wrapped.pk


# ---------------------------------------------------------------------------
# Headers and sessions


def permissions_policy_header(policy: dict[str, list[str]]) -> str:
    """``{"camera": [], "fullscreen": ["self"]}`` → ``camera=(), fullscreen=(self)``."""
    return ", ".join(f"{feature}=({' '.join(allowed)})" for feature, allowed in policy.items())


class PermissionsPolicyMiddleware:
    """Sets ``Permissions-Policy`` (Django's SecurityMiddleware does not) unless a view set its own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        header = permissions_policy_header(getattr(settings, "PERMISSIONS_POLICY", {}))
        if header and "Permissions-Policy" not in response:
            response["Permissions-Policy"] = header
        return response


SESSION_RENEWED_KEY = "_renewed"  # when an admin page last renewed the session (seconds since the epoch)


class SessionRenewMiddleware:
    """An idle timeout without a session write on every request.

    The session expires ``SESSION_COOKIE_AGE`` seconds after it was last saved (in the database and
    in the cookie's Max-Age). A successful admin request by a logged-in user saves it again when the
    last renewal is ``SESSION_RENEW_SECONDS`` old or more, so the session ends after that long
    without admin use (give or take the renewal interval). Other paths never read the session here.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self._admin_prefix = None

    def admin_prefix(self) -> str:
        if self._admin_prefix is None:
            from django.urls import reverse

            self._admin_prefix = reverse("admin:index")
        return self._admin_prefix

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is None or response.status_code >= 500 or not request.path.startswith(self.admin_prefix()):
            return response
        from django.contrib.auth import SESSION_KEY

        if SESSION_KEY in session:  # logged in (and not just logged out)
            now = time.time()
            if now - session.get(SESSION_RENEWED_KEY, 0) >= settings.SESSION_RENEW_SECONDS:
                session[SESSION_RENEWED_KEY] = now
        return response


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` (empty outside a request) to every log record."""

    def filter(self, record):
        record.request_id = request_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, the request's fields,
    and the traceback when there is one."""

    def format(self, record):
        entry = {
            "time": datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(
                timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "") or request_id_var.get(),
        }
        fields = getattr(record, "request", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        return json.dumps(entry, ensure_ascii=False, default=str)


# ---------------------------------------------------------------------------
# Full exports


class ExportLimiter:
    """A per-process cap on full exports running at once (a non-blocking semaphore).

    ``acquire()`` returns a release function, or None when the cap is reached. The release
    function may be called more than once; only the first call counts.
    """

    def __init__(self, limit: int):
        self.limit = limit
        self._semaphore = threading.BoundedSemaphore(limit) if limit > 0 else None

    def acquire(self):
        if self._semaphore is None:
            return lambda: None
        if not self._semaphore.acquire(blocking=False):
            return None
        released = threading.Event()

        def release():
            if not released.is_set():
                released.set()
                self._semaphore.release()

        return release


_limiters: dict[int, ExportLimiter] = {}
_limiters_lock = threading.Lock()


def export_limiter() -> ExportLimiter:
    """The process's limiter for the current ``EXPORT_CONCURRENCY`` (tests may change the setting)."""
    limit = getattr(settings, "EXPORT_CONCURRENCY", 2)
    with _limiters_lock:
        if limit not in _limiters:
            _limiters[limit] = ExportLimiter(limit)
        return _limiters[limit]


def is_full_export(request) -> bool:
    # Not HEAD: ListExportMixin answers it with headers only (a WSGI server would otherwise run the
    # whole export for a body it then drops, holding a slot all the while).
    return request.method == "GET" and request.GET.get("format") in ("csv", "json")


def too_many_exports_response() -> HttpResponse:
    response = HttpResponse(
        "Too many downloads are running right now. Please try again in a few seconds.\n",
        status=429, content_type="text/plain; charset=utf-8",
    )
    response["Retry-After"] = "5"
    return response


class ExportLimitMiddleware:
    """Holds one export slot from the request until the (streamed) response is closed."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not is_full_export(request):
            return self.get_response(request)
        limiter = export_limiter()
        release = limiter.acquire()
        if release is None:
            logger.warning("export refused: %s concurrent exports running", limiter.limit)
            return too_many_exports_response()
        try:
            response = self.get_response(request)
        except BaseException:
            release()
            raise
        if getattr(response, "streaming", False):
            # The WSGI server calls close() once the last byte is sent or the client went away, read or
            # not (PEP 3333); close() runs every resource closer, the generator's too.
            response._resource_closers.append(release)
        else:
            release()
        return response
