"""A URLconf for tracker/tests/test_links.py: the site mounted under /elsewhere/."""

from django.urls import include, path

urlpatterns = [path("elsewhere/", include("config.urls"))]
