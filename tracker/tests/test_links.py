"""core.links gives the very links reverse() gives, for every record of every type, with or without a script
prefix; a text that is no slug goes through reverse() (and fails as it does)."""

import pytest
from django.urls import NoReverseMatch, reverse, set_script_prefix

from core import registry
from core.links import list_url, slug_url

pytestmark = pytest.mark.django_db

DETAIL_ROUTES = ["programs:source_detail", "programs:fund_detail", "programs:program_detail",
                 "programs:indicator_detail", "programs:outcome_detail", "counties:county_detail",
                 "envoys:envoy_detail"]


@pytest.fixture
def script_prefix():
    def use(prefix):
        set_script_prefix(prefix)

    yield use
    set_script_prefix("/")


@pytest.mark.parametrize("prefix", ["/", "/tracker/"])
def test_each_route_gives_what_reverse_gives(prefix, script_prefix):
    script_prefix(prefix)
    for route in DETAIL_ROUTES:
        for slug in ("puan-xian", "a", "x_1-2", "A9"):
            assert slug_url(route, slug) == reverse(route, args=[slug]), (route, slug)
    for record_type in registry.public_lists():
        assert list_url(record_type.list_url) == reverse(record_type.list_url)
    assert list_url("programs:program_list").startswith(prefix)


def test_every_record_links_where_reverse_does(world, script_prefix):
    script_prefix("/tracker/")
    checked = 0
    for record in world.values():
        meta = getattr(record, "_meta", None)
        route = f"{meta.app_label}:{meta.model_name}_detail" if meta else None
        if route in DETAIL_ROUTES:
            assert record.get_absolute_url() == reverse(route, args=[record.slug])
            checked += 1
    assert checked >= 5


def test_a_text_that_is_no_slug_goes_through_reverse():
    with pytest.raises(NoReverseMatch):
        slug_url("programs:program_detail", "县 x")
    with pytest.raises(NoReverseMatch):
        slug_url("programs:program_detail", "")


def test_another_urlconf_is_not_served_the_first_ones_routes(settings):
    assert slug_url("programs:program_detail", "a") == "/programs/a/"
    settings.ROOT_URLCONF = "tracker.tests.urls_elsewhere"
    assert slug_url("programs:program_detail", "a") == "/elsewhere/programs/a/"
