"""The map's list and drawing are built with plain string joins (counties.maps): the very markup format_html_join
gives for the same points, texts that need escaping included."""

import pytest
from django.utils.html import format_html_join
from django.utils.translation import gettext as _
from django.utils.translation import override

from counties.maps import Point, draw, list_items

POINTS = [
    Point("puan-xian", "普安县", "贵州省", 3, 120.25, 80.5, "/counties/puan-xian/"),
    Point("a-b", 'A & B "<县>"', "省", 1, 10.0, 20.0, "/counties/a-b/?x=1&y=2"),
    Point("empty", "空县", "省", 0, 5.04, 6.06, "/counties/empty/"),
    Point("nowhere", "无坐标县", "省", 7, None, None, "/counties/nowhere/"),
]


def list_items_as_before(points):
    unplaced = " ({})".format(_("not on the map: no coordinates"))
    return format_html_join(
        "", '<li><a href="{}">{}</a>{}</li>', ((p.url, p.label, unplaced if p.x is None else "") for p in points))


def dots_as_before(points):
    placed = sorted((p for p in points if p.x is not None), key=lambda p: (-p.radius, p.name))
    return format_html_join(
        "",
        '<a href="{}" tabindex="-1"><circle class="map-point{}" cx="{}" cy="{}" r="{}" '
        'data-county="{}"><title>{}</title></circle></a>',
        ((p.url, "" if p.programs else " map-point-empty", f"{p.x:.1f}", f"{p.y:.1f}", f"{p.radius:.1f}", p.slug,
          p.label) for p in placed),
    )


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_list_and_the_drawing_are_what_format_html_join_gives(language):
    with override(language):
        assert str(list_items(POINTS)) == str(list_items_as_before(POINTS))
        svg = str(draw(POINTS, title="地图"))
        assert str(dots_as_before(POINTS)) in svg
    assert "A &amp; B &quot;&lt;县&gt;&quot;" in svg and "?x=1&amp;y=2" in svg
