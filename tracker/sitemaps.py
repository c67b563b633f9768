"""What crawlers read: ``/sitemap.xml`` (an index of one sitemap per record type with a public list, read from
the registry, plus one of the overview and the lists) and ``/robots.txt``.

A record type's sitemap lists every record's page with the time it last changed, ``LIMIT`` addresses a
file (``sitemap-<key>.xml?p=2`` …); the index names every file, so 100,000 programs are 20 files of 5,000.
"""

from __future__ import annotations

from django.contrib.sitemaps import Sitemap
from django.db.models import Max
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.http import require_safe

from core import registry

LIMIT = 5000  # addresses per sitemap file (the protocol allows 50,000; smaller files are cheaper to serve)


class RecordSitemap(Sitemap):
    """Every record of one type: its page and when it last changed."""

    limit = LIMIT

    def __init__(self, record_type: registry.RecordType):
        self.record_type = record_type

    def items(self):
        # get_absolute_url needs the slug only; the rest of a row (an article's text) is never read.
        return self.record_type.model_class.objects.only("pk", "slug", "updated_at").order_by("pk")

    def lastmod(self, record):
        return record.updated_at

    def get_latest_lastmod(self):
        # The index's <lastmod>, from one aggregate instead of Django's default (reading every row).
        return self.record_type.model_class.objects.aggregate(latest=Max("updated_at"))["latest"]


class PageSitemap(Sitemap):
    """The overview and every public list (its first page, unfiltered)."""

    def items(self):
        return ["home"] + [record_type.list_url for record_type in registry.public_lists()]

    def location(self, name):
        return reverse(name)


def sitemaps() -> dict[str, Sitemap]:
    """The sections of the sitemap: ``pages``, then one per public list, named by its registry key."""
    sections: dict[str, Sitemap] = {"pages": PageSitemap()}
    for record_type in registry.public_lists():
        sections[record_type.key] = RecordSitemap(record_type)
    return sections


ROBOTS = """User-agent: *
Allow: /
Disallow: /admin/
Disallow: /i18n/
Disallow: /*format=
Sitemap: {sitemap}
"""


@require_safe
def robots_txt(request):
    """Crawl the public pages, not the admin, the language switch or the CSV/JSON exports (every address
    with ``format=``: the pages show the same data, and exports are limited per process); the sitemap's
    absolute address."""
    body = ROBOTS.format(sitemap=request.build_absolute_uri(reverse("sitemap")))
    return HttpResponse(body, content_type="text/plain; charset=utf-8")
