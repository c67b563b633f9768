"""The county map: China's provinces drawn server-side as SVG, a point per county sized by its programs.

The outline is ``counties/data/china/provinces.json`` (from the npm package echarts 4.9.0, Apache-2.0,
simplified by ``scripts/make_china_outline.py``), shipped in the project and read once per process; nothing
is fetched at run time. The projection is plain equirectangular, its x axis shortened by the cosine of
36°N so that China keeps its usual shape. A county is placed by its ``latitude`` and ``longitude`` (from the
division table, ``counties.divisions``); one without them is named in the list beside the map, not drawn.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path

from django.urls import reverse
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from core.listing import related_count

OUTLINE = Path(__file__).resolve().parent / "data" / "china" / "provinces.json"
WEST, EAST, SOUTH, NORTH = 73.0, 135.5, 17.5, 54.0
X_SCALE = math.cos(math.radians(36))
WIDTH = 800
SCALE = WIDTH / ((EAST - WEST) * X_SCALE)
HEIGHT = round((NORTH - SOUTH) * SCALE)


def project(longitude, latitude) -> tuple[float, float]:
    """Where a place is drawn: x from the west edge, y from the north edge, in the map's units."""
    return (float(longitude) - WEST) * X_SCALE * SCALE, (NORTH - float(latitude)) * SCALE


@cache
def province_paths() -> tuple[tuple[str, str], ...]:
    """``(name, SVG path data)`` of every province, projected once per process."""
    document = json.loads(OUTLINE.read_text(encoding="utf-8"))
    paths = []
    for province in document["provinces"]:
        rings = []
        for ring in province["rings"]:
            points = [project(lon, lat) for lon, lat in ring]
            rings.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in points) + "Z")
        if rings:
            paths.append((province["name"], "".join(rings)))
    return tuple(paths)


@dataclass(frozen=True)
class Point:
    """One county on the map."""

    slug: str
    name: str
    province: str
    programs: int
    x: float | None  # None: no coordinates, so not drawn
    y: float | None
    url: str  # the county's page (counties:county_detail)

    @property
    def radius(self) -> float:
        """3 for a county without programs, growing with the square root of their number (area ∝ count)."""
        return min(3 + 2.2 * math.sqrt(self.programs), 16)

    @cached_property  # read twice a point (the list and the drawing); frozen: kept in the instance's __dict__
    def label(self) -> str:
        return ngettext("%(county)s: %(count)s program", "%(county)s: %(count)s programs", self.programs) % {
            "county": self.name, "count": self.programs}


@dataclass(frozen=True)
class CountyMap:
    """What a page shows: the SVG, and the counties as a list (all of them, drawn or not)."""

    svg: SafeString
    points: list[Point]
    list_html: SafeString  # the <li> of every point, for the list beside the map (see list_items)

    @property
    def unplaced(self) -> list[Point]:
        return [p for p in self.points if p.x is None]



def list_items(points: list[Point]) -> SafeString:
    """The ``<li>`` of every county for the list beside the map (``counties/county_map.html``), built here
    rather than by a template loop (2,500 counties: a fifth of the time)."""
    # What format_html_join gives for these plain texts (each escaped), without its per-row format_html (a
    # fund's page lists some thousand counties).
    unplaced = escape(" ({})".format(_("not on the map: no coordinates")))
    return mark_safe("".join(  # noqa: S308 (every part escaped)
        f'<li><a href="{escape(p.url)}">{escape(p.label)}</a>{unplaced if p.x is None else ""}</li>' for p in points))


def county_points(counties) -> list[Point]:
    """The counties of the queryset ``counties``, each with its number of programs, by name (one query)."""
    from counties.models import County

    rows = (
        County.objects.filter(pk__in=counties.order_by().values("pk"))
        .annotate(program_count=related_count(County.programs.through, "county", counted="*"))  # index only
        .order_by("name", "pk")
        .values_list("slug", "name", "province__name", "program_count", "latitude", "longitude")
    )
    # One reverse() for all of them: a slug is ASCII letters, digits, '-' and '_' (the <slug:> converter), which
    # reverse() would not quote, so the URL of each county is the pattern's with its slug in place.
    before, _sep, after = reverse("counties:county_detail", args=["SLUG"]).rpartition("SLUG")
    points = []
    for slug, name, province, programs, latitude, longitude in rows:
        x = y = None
        if latitude is not None and longitude is not None:
            x, y = project(longitude, latitude)
        points.append(Point(slug, name, province, programs, x, y, f"{before}{slug}{after}"))
    return points


def county_map(counties, *, title: str = "") -> CountyMap | None:
    """The map of the queryset ``counties`` (a page's filtered list, a program's counties …), or None when
    it is empty."""
    points = county_points(counties)
    if not points:
        return None
    return CountyMap(svg=draw(points, title=title or _("Map of the counties")), points=points,
                     list_html=list_items(points))


def draw(points: list[Point], *, title: str) -> SafeString:
    """The SVG: provinces, then the points, largest first so that a small one is never hidden under a large
    one. The drawing is for the eye (``aria-hidden``; its links are not in the tab order): the list beside it
    (``counties/county_map.html``) carries the same links for keyboards and screen readers."""
    provinces = format_html_join(
        "", '<path class="map-province" d="{}"><title>{}</title></path>', ((d, name) for name, d in province_paths())
    )
    placed = sorted((p for p in points if p.x is not None), key=lambda p: (-p.radius, p.name))
    dots = mark_safe("".join(  # noqa: S308 (every part escaped, as format_html_join would)
        f'<a href="{escape(p.url)}" tabindex="-1"><circle class="map-point{"" if p.programs else " map-point-empty"}" '
        f'cx="{p.x:.1f}" cy="{p.y:.1f}" r="{p.radius:.1f}" data-county="{escape(p.slug)}"><title>{escape(p.label)}'
        "</title></circle></a>" for p in placed))
    return format_html(
        '<svg class="county-map" viewBox="0 0 {} {}" xmlns="http://www.w3.org/2000/svg" aria-hidden="true" '
        'focusable="false"><title>{}</title><g class="map-provinces">{}</g><g class="map-points">{}</g></svg>',
        WIDTH, HEIGHT, title, provinces, dots,
    )
