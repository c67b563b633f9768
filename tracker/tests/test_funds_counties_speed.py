"""The funds and counties lists' fast paths show what the slow ones showed.

/funds/ counts each fund's programs with COUNT(*) (an index-only scan on PostgreSQL); /counties/ builds the
list beside its map in Python and keeps the whole map per data generation. Speed is measured by the
benchmarks; these tests hold the rows, the HTML and the cache's freshness.
"""

import re

import pytest
from django.db.models import Count
from django.template import Context, Template
from django.utils import translation

from core.listing import new_data_generation
from counties import maps
from counties.maps import county_map
from counties.models import County
from counties.views import CountyListView
from programs.filtersets import funds_with_counts
from programs.models import Fund
from programs.views import FundListView

pytestmark = pytest.mark.django_db


def test_fund_counts_are_the_programs_of_each_fund(world, make_fund):
    make_fund(slug="kong-jijin", name="空基金")
    expected = dict(Fund.objects.annotate(n=Count("programs")).values_list("slug", "n"))
    assert any(expected.values()) and 0 in expected.values()  # the world has funds with and without programs
    fast = dict(FundListView.queryset.values_list("slug", "program_count"))
    assert fast == expected
    assert fast == dict(funds_with_counts().values_list("slug", "program_count"))
    assert "COUNT(*)" in str(FundListView.queryset.query)


def test_county_counts_are_the_programs_of_each_county(world, make_county):
    make_county(slug="kong-xian", name="空县")
    expected = dict(County.objects.annotate(n=Count("programs")).values_list("slug", "n"))
    assert any(expected.values()) and 0 in expected.values()
    assert dict(CountyListView.queryset.values_list("slug", "program_count")) == expected
    assert {p.slug: p.programs for p in county_map(County.objects.all()).points} == expected
    assert str(CountyListView.queryset.query).count("COUNT(*)") == 1


def test_funds_page_sorted_by_programs_lists_the_same_rows(client, world, make_fund):
    make_fund(slug="kong-jijin", name="空基金")
    rows = client.get("/funds/?format=json&per_page=200&sort=-programs").json()["results"]
    expected = sorted(funds_with_counts(), key=lambda f: (-f.program_count, f.pk))
    assert [r["slug"] for r in rows] == [f.slug for f in expected]


# The list beside the map as counties/county_map.html drew it before it was built in Python.
OLD_LIST = Template(
    '{% load i18n %}{% for point in county_map.points %}<li><a href="{{ point.url }}">{{ point.label }}</a>'
    '{% if point.x is None %} ({% translate "not on the map: no coordinates" %}){% endif %}</li>{% endfor %}'
)


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_map_list_is_the_html_the_template_drew(world, make_county, language):
    make_county(slug="wuzuobiao", name="无坐标<县>", latitude=None, longitude=None)
    with translation.override(language):
        drawn = county_map(County.objects.all())
        assert any(p.x is None for p in drawn.points) and any(p.programs for p in drawn.points)
        assert str(drawn.list_html) == OLD_LIST.render(Context({"county_map": drawn}))
    assert "无坐标&lt;县&gt;" in drawn.list_html
    assert all(p.url == f"/counties/{p.slug}/" for p in drawn.points)


def map_list(client, path="/counties/"):
    html = client.get(path, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    return re.search(r'<ul class="visually-hidden map-list">(.*?)</ul>', html, re.S).group(1)


def test_counties_map_is_kept_until_the_data_changes(client, world, make_program, monkeypatch):
    drawn = []
    monkeypatch.setattr(maps, "county_points", lambda qs, real=maps.county_points: drawn.append(1) or real(qs))
    first = map_list(client)
    assert map_list(client, "/counties/?sort=-name&page=1") == first  # another sort: the same map, not drawn again
    assert len(drawn) == 1

    county = County.objects.order_by("pk").first()
    before = re.search(rf'<a href="/counties/{county.slug}/">[^<]*: (\d+) program', first).group(1)
    make_program(slug="xin-xiangmu", name="新项目").counties.add(county)
    assert map_list(client) == first  # not committed: the same generation
    new_data_generation()
    assert len(drawn) == 1
    after = re.search(rf'<a href="/counties/{county.slug}/">[^<]*: (\d+) program', map_list(client)).group(1)
    assert int(after) == int(before) + 1
    assert len(drawn) == 2


def test_a_filtered_list_has_its_own_map(client, world):
    everything = map_list(client)
    province = County.objects.order_by("pk").first().province
    one_province = map_list(client, f"/counties/?province={province.slug}")
    assert one_province != everything
    assert one_province.count("<li>") == County.objects.filter(province=province).count()
