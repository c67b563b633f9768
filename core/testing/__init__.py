"""Fixtures and rules every test shares.

- ``make_*`` fixtures build one row with sensible defaults; pass keyword arguments to override.
  They are plain helpers, not a factory library (see ../shared/STYLE.md).
- ``editor_client`` / ``viewer_client`` and the admin helpers: ``core.testing.admin``; the one ``world``
  of linked records: ``core.testing.world``; the configuration and deployment helpers:
  ``core.testing.config``. Tests import helpers from these modules, never from another test module.
- This package is part of ``core``: it imports no record app, and finds models by name
  (``apps.get_model("programs.Program")``) when a fixture runs.
- Markers: ``postgres`` tests skip on SQLite and ``browser`` tests skip without Chromium and
  Playwright, except under ``CI=true``, where CI must never pass by skipping them.
"""

import importlib.util
import itertools
import os
from pathlib import Path

import pytest
from django.apps import apps
from hypothesis import settings as hypothesis_settings

from core.records import slugify_zh

# Django's test client is slow enough that hypothesis' per-example deadline only adds flakiness.
hypothesis_settings.register_profile("default", deadline=None)
hypothesis_settings.register_profile("ci", deadline=None, print_blob=True)
hypothesis_settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") == "true" else "default")
)

CHROMIUM = Path("/usr/bin/chromium")

# The suite runs with DEBUG off, as production does, but talks plain HTTP (the test client,
# live_server): without this every request would be redirected to https. Settings are already
# loaded here; SECURE_SSL_REDIRECT=1 in the environment keeps the redirect (tracker/tests/test_security.py
# checks it with override_settings).
if os.environ.get("SECURE_SSL_REDIRECT") is None:
    from django.conf import settings as django_settings

    django_settings.SECURE_SSL_REDIRECT = False


# ---------------------------------------------------------------------------
# Markers: skip locally, fail under CI


def _under_ci() -> bool:
    return os.environ.get("CI") == "true"


def _database_url_is_postgres() -> bool:
    url = os.environ.get("DATABASE_URL", "")
    return url.startswith(("postgres://", "postgresql://", "pgsql://", "postgis://"))


def _browser_missing() -> str:
    missing = []
    if not CHROMIUM.exists():
        missing.append(f"{CHROMIUM} (apt-get install chromium fonts-noto-cjk)")
    if importlib.util.find_spec("playwright") is None:
        missing.append("the playwright package (pip install -r requirements-dev.txt)")
    return " and ".join(missing)


_FAIL_REASON = pytest.StashKey[str]()


def pytest_collection_modifyitems(config, items):
    from django.db import connection

    postgres_reason = None
    if connection.vendor != "postgresql" and not (_under_ci() and _database_url_is_postgres()):
        postgres_reason = (
            f"needs PostgreSQL, this run uses {connection.vendor}: "
            "set DATABASE_URL=postgres://... (make test runs this pass when it is set)"
        )
    browser_missing = _browser_missing()

    for item in items:
        if postgres_reason and item.get_closest_marker("postgres"):
            item.add_marker(pytest.mark.skip(reason=postgres_reason))
        if browser_missing and item.get_closest_marker("browser"):
            if _under_ci():
                item.stash[_FAIL_REASON] = f"CI=true and a browser test cannot run: missing {browser_missing}"
            else:
                item.add_marker(pytest.mark.skip(reason=f"needs a browser: missing {browser_missing}"))


def pytest_runtest_setup(item):
    reason = item.stash.get(_FAIL_REASON, None)
    if reason:
        pytest.fail(reason, pytrace=False)


# ---------------------------------------------------------------------------
# The counts cache lives in process memory (CACHES["counts"]): each test starts with it empty, as
# each test starts with its own database (and its own data generation).


@pytest.fixture(autouse=True)
def _empty_counts_cache():
    from django.core.cache import caches

    caches["counts"].clear()
    caches["pages"].clear()


# ---------------------------------------------------------------------------
# make_* helpers: one row each, unique names by default

_counter = itertools.count(1)


def _defaults(kwargs, name_field, default_name):
    """Fill in a unique name and the pinyin slug unless the caller gave them."""
    if name_field not in kwargs:
        kwargs[name_field] = f"{default_name}{next(_counter)}"
    kwargs.setdefault("slug", slugify_zh(kwargs[name_field]))
    return kwargs


@pytest.fixture
def make_source(db):
    Source = apps.get_model("programs.Source")

    def make(**kwargs):
        kwargs = _defaults(kwargs, "title", "测试文章")
        kwargs.setdefault("text", f"{kwargs['title']}。阿里巴巴脱贫基金投入100亿元。")
        return Source.objects.create(**kwargs)

    return make


@pytest.fixture
def make_fund(db):
    Fund = apps.get_model("programs.Fund")

    def make(**kwargs):
        return Fund.objects.create(**_defaults(kwargs, "name", "测试基金"))

    return make


@pytest.fixture
def make_organization(db):
    Organization = apps.get_model("programs.Organization")

    def make(**kwargs):
        return Organization.objects.create(**_defaults(kwargs, "name", "测试单位"))

    return make


@pytest.fixture
def make_program(db):
    Program = apps.get_model("programs.Program")

    def make(**kwargs):
        return Program.objects.create(**_defaults(kwargs, "name", "测试项目"))

    return make


@pytest.fixture
def make_province(db):
    Province = apps.get_model("counties.Province")

    def make(**kwargs):
        return Province.objects.create(**_defaults(kwargs, "name", "测试省"))

    return make


@pytest.fixture
def make_prefecture(db, make_province):
    Prefecture = apps.get_model("counties.Prefecture")

    def make(**kwargs):
        if "province" not in kwargs:
            kwargs["province"] = make_province()
        return Prefecture.objects.create(**_defaults(kwargs, "name", "测试州"))

    return make


@pytest.fixture
def make_county(db, make_prefecture):
    County = apps.get_model("counties.County")

    def make(**kwargs):
        if "province" not in kwargs:
            kwargs.setdefault("prefecture", make_prefecture())
            kwargs["province"] = kwargs["prefecture"].province
        return County.objects.create(**_defaults(kwargs, "name", "测试县"))

    return make


@pytest.fixture
def make_outcome(db, make_source, make_program):
    """An outcome; it belongs to a new program unless program, fund or county is passed (even None)."""
    Outcome = apps.get_model("programs.Outcome")

    def make(**kwargs):
        if not {"program", "fund", "county"} & kwargs.keys():
            kwargs["program"] = make_program()
        if "source" not in kwargs:
            kwargs["source"] = make_source()
        kwargs.setdefault("metric", "投入资金")
        kwargs.setdefault("value_printed", "100亿元")
        kwargs.setdefault("quote", "阿里巴巴脱贫基金投入100亿元")
        if "slug" not in kwargs:
            kwargs["slug"] = f"outcome-{next(_counter)}"
        return Outcome.objects.create(**kwargs)

    return make


@pytest.fixture
def make_indicator(db):
    """An indicator counted in 元 unless ``base_unit`` (and ``units``) say otherwise."""
    Indicator = apps.get_model("programs.Indicator")

    def make(**kwargs):
        kwargs.setdefault("quantity", "money")
        kwargs.setdefault("base_unit", "元")
        kwargs.setdefault("units", kwargs["base_unit"])
        return Indicator.objects.create(**_defaults(kwargs, "name", "测试指标"))

    return make


@pytest.fixture
def make_envoy(db):
    Envoy = apps.get_model("envoys.Envoy")

    def make(**kwargs):
        return Envoy.objects.create(**_defaults(kwargs, "name", "测试员"))

    return make


@pytest.fixture
def make_posting(db, make_envoy, make_county):
    Posting = apps.get_model("envoys.Posting")

    def make(**kwargs):
        if "envoy" not in kwargs:
            kwargs["envoy"] = make_envoy()
        if "county" not in kwargs:
            kwargs["county"] = make_county()
        if "slug" not in kwargs:
            kwargs["slug"] = f"{kwargs['envoy'].slug}-{kwargs['county'].slug}-{next(_counter)}"
        kwargs.setdefault("title", "副县长")
        return Posting.objects.create(**kwargs)

    return make
