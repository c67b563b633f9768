"""The error pages (``handler400`` … ``handler500`` in config/urls.py).

A database that does not answer is not a bug of ours: the 500 handler turns a database
connection or timeout error, wherever it was raised (a view, a middleware, a template), into a
503 page with ``Retry-After``. 500 and 503 pages render without the request's context
processors, so they never touch the database themselves; if even that fails, a plain page is sent.
"""

import logging
import sys

from django.db.utils import InterfaceError, OperationalError
from django.http import HttpResponse
from django.template import loader
from django.views.decorators.csrf import requires_csrf_token

from core.middleware import request_id_var

logger = logging.getLogger("tracker.errors")

#: Errors that mean "the database is down, unreachable or cancelled the query": retrying later helps.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30


def _render(template_name, status, context, request=None, fallback=""):
    try:
        body = loader.get_template(template_name).render(context, request)
    except Exception:  # the error page must not fail in turn
        logger.exception("could not render %s", template_name)
        body = f"<!doctype html><title>{status}</title><h1>{status}</h1><p>{fallback}</p>"
    return HttpResponse(body, status=status)


@requires_csrf_token
def bad_request(request, exception=None):
    # Django passes an exception instance, whose text may be internal: the page does not show it.
    return _render("400.html", 400, {}, request, "Bad request")


@requires_csrf_token
def permission_denied(request, exception=None):
    return _render("403.html", 403, {}, request, "Not allowed")


@requires_csrf_token
def page_not_found(request, exception=None):
    return _render("404.html", 404, {"request_path": request.path}, request, "Page not found")


def is_database_unavailable(exc) -> bool:
    while exc is not None:
        if isinstance(exc, DATABASE_UNAVAILABLE):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


@requires_csrf_token
def server_error(request):
    """500, or 503 when the exception being handled says the database is unavailable."""
    context = {"request_id": request_id_var.get()}
    if is_database_unavailable(sys.exc_info()[1]):
        context["retry_after"] = RETRY_AFTER_SECONDS
        response = _render("503.html", 503, context, fallback="The database is not answering; try again soon.")
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
        return response
    return _render("500.html", 500, context, fallback="Server error")
