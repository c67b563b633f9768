"""Links to records, without a ``reverse()`` for each one.

A list page links every row (and its program, fund, county, source …): about ninety ``reverse()`` calls for a
page of fifty figures, each walking the URL resolver's patterns. The route of a record is the same for every
slug, so it is reversed once per route, with a placeholder in place of the slug, and each link is that route
with the slug put in. A slug is what the ``<slug:>`` converter takes (ASCII letters, digits, ``-`` and ``_``),
which ``reverse()`` would neither quote nor refuse, so the link is the very text ``reverse()`` gives; anything
else (which no saved record has: core.records checks slugs) goes through ``reverse()`` itself, and raises as
it would.

The routes are kept per URLconf (``ROOT_URLCONF``, or a request's own ``urlconf``) and without the script prefix,
which is put in front of each link as ``reverse()`` puts it (a site served under ``/tracker/``).
"""

from __future__ import annotations

import re

from django.conf import settings
from django.core.signals import setting_changed
from django.urls import get_script_prefix, get_urlconf, reverse

SLUG_ARG = re.compile(r"[-a-zA-Z0-9_]+")
_PLACEHOLDER = "slug0placeholder0"
_routes: dict[tuple, tuple[str, str]] = {}


def _route(viewname: str) -> tuple[str, str]:
    """The text of ``viewname``'s route before and after its slug, without the script prefix."""
    key = (get_urlconf() or settings.ROOT_URLCONF, viewname)
    found = _routes.get(key)
    if found is None:
        url = reverse(viewname, args=[_PLACEHOLDER])
        prefix = get_script_prefix()
        if url.startswith(prefix):
            url = "/" + url[len(prefix):]
        before, _sep, after = url.rpartition(_PLACEHOLDER)
        found = _routes[key] = (before, after)
    return found


def slug_url(viewname: str, slug: str) -> str:
    """``reverse(viewname, args=[slug])`` for a route whose one argument is a slug."""
    if not SLUG_ARG.fullmatch(slug or ""):
        return reverse(viewname, args=[slug])
    before, after = _route(viewname)
    return f"{get_script_prefix()[:-1]}{before}{slug}{after}"


def list_url(viewname: str) -> str:
    """``reverse(viewname)`` for a route without arguments."""
    key = (get_urlconf() or settings.ROOT_URLCONF, viewname, None)
    found = _routes.get(key)
    if found is None:
        url = reverse(viewname)
        prefix = get_script_prefix()
        found = _routes[key] = ("/" + url[len(prefix):] if url.startswith(prefix) else url, "")
    return f"{get_script_prefix()[:-1]}{found[0]}"


def _forget(setting, **kwargs):
    if setting == "ROOT_URLCONF":
        _routes.clear()


setting_changed.connect(_forget, dispatch_uid="core.links.forget")
