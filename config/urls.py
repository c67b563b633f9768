"""The URL map: public lists and details per app, the admin, health and language switching."""

from django.conf.urls.i18n import i18n_patterns  # noqa: F401  (kept out: URLs stay language-free)
from django.contrib import admin
from django.urls import include, path

from config import views

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("", include("programs.urls")),
    path("", include("counties.urls")),
    path("", include("envoys.urls")),
]

# Error pages (config/errors.py): a database that does not answer gives 503, not 500.
handler400 = "config.errors.bad_request"
handler403 = "config.errors.permission_denied"
handler404 = "config.errors.page_not_found"
handler500 = "config.errors.server_error"
