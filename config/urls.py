"""The URL map: public lists and details per app, the admin, health, language switching, sitemap and robots.txt."""

from django.contrib import admin
from django.contrib.sitemaps import views as sitemap_views
from django.urls import include, path

from core import pagecache
from tracker import api, changes, datapackage, sitemaps, views
from tracker.admin import intake_urls

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("changes/", changes.ChangesView.as_view(), name="changes"),
    path("changes/feed/", changes.ChangesFeed(), name="changes_feed"),
    path("data/", datapackage.data_package, name="data"),
    path("timeline/", views.TimelineView.as_view(), name="timeline"),
    path("openapi.json", api.openapi_json, name="openapi"),
    path("api/", api.ApiView.as_view(), name="api"),
    path("robots.txt", sitemaps.robots_txt, name="robots"),
    path("sitemap.xml", sitemap_views.index,
         {"sitemaps": sitemaps.sitemaps(), "sitemap_url_name": "sitemap-section"}, name="sitemap"),
    path("sitemap-<section>.xml", sitemap_views.sitemap, {"sitemaps": sitemaps.sitemaps()}, name="sitemap-section"),
    # The language switch needs no CSRF token, so public pages can be cached (core/pagecache.py).
    path("i18n/setlang/", pagecache.set_language, name="set_language"),
    path("admin/intake/", include(intake_urls)),  # the article intake's screens (tracker/admin.py), in the admin
    path("admin/", admin.site.urls),
    path("", include("programs.urls")),
    path("", include("counties.urls")),
    path("", include("envoys.urls")),
]

# Error pages (core/errors.py): a database that does not answer gives 503, not 500.
handler400 = "core.errors.bad_request"
handler403 = "core.errors.permission_denied"
handler404 = "core.errors.page_not_found"
handler500 = "core.errors.server_error"
