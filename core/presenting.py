"""Small pieces of presentation that are too fiddly for a template: figure charts and quote marks
(both return HTML already escaped, so templates only print them), the rows a detail page lists, and the
cells of a list's table.
"""

from __future__ import annotations

import inspect
import zlib
from collections import defaultdict
from decimal import Decimal
from functools import partialmethod

from django.db.models import F, Value
from django.db.models.functions import Concat
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from core.charts import Point, series_chart
from core.importing import heavy_columns, related_model
from core.records import format_partial_date

# ---------------------------------------------------------------------------
# Charts: one metric reported at several dates, drawn server-side as SVG


def _when(outcome):
    if outcome.period_end:
        return outcome.period_end, format_partial_date(outcome.period_end, outcome.period_end_precision)
    if outcome.period_start:
        return outcome.period_start, format_partial_date(outcome.period_start, outcome.period_start_precision)
    return None, ""


def figure_charts(outcomes) -> list[dict]:
    """For each (metric, unit) with values at two or more dates: ``{metric, unit, svg, points}``.

    ``points`` are the outcomes in date order, so the numbers can also be shown as a table. A figure of an
    indicator is left out: its indicator's chart draws it, on the same page, with the other articles' values.
    """
    groups = defaultdict(list)
    for outcome in outcomes:
        when, _label = _when(outcome)
        if outcome.value is not None and when is not None and getattr(outcome, "indicator_id", None) is None:
            groups[(outcome.metric, outcome.unit)].append(outcome)
    charts = []
    for (metric, unit), points in groups.items():
        points.sort(key=lambda o: (_when(o)[0], o.pk))
        if len({_when(o)[0] for o in points}) < 2:
            continue
        charts.append({"metric": metric, "unit": unit, "points": points, "svg": svg_chart(metric, unit, points)})
    return charts


def svg_chart(metric, unit, points, width=640, height=260):
    """A line chart of ``points`` (outcomes with value and date); the y axis starts at zero."""
    left, right, top, bottom = 16, 16, 28, 44
    dates = [_when(o)[0] for o in points]
    first, last = min(dates).toordinal(), max(dates).toordinal()
    span = max(last - first, 1)
    top_value = max(o.value for o in points) or Decimal(1)

    def x(o):
        return left + (width - left - right) * (_when(o)[0].toordinal() - first) / span

    def y(o):
        return top + (height - top - bottom) * float(1 - o.value / top_value)

    title = _("%(metric)s over time") % {"metric": metric}
    chart_id = f"chart-{zlib.crc32(f'{metric}|{unit}'.encode()):08x}"
    parts = [
        format_html(
            '<svg class="chart" viewBox="0 0 {} {}" role="img" aria-labelledby="{}" xmlns="http://www.w3.org/2000/svg">',
            width, height, chart_id,
        ),
        format_html('<title id="{}">{}</title>', chart_id, title),
        format_html(
            '<line class="chart-axis" x1="{}" y1="{}" x2="{}" y2="{}"/>',
            left, height - bottom, width - right, height - bottom,
        ),
    ]
    coords = " ".join(f"{x(o):.1f},{y(o):.1f}" for o in points)
    parts.append(format_html('<polyline class="chart-line" points="{}"/>', coords))
    for index, o in enumerate(points):
        cx, cy = x(o), y(o)
        anchor = "start" if index == 0 and len(points) > 1 else "end" if index == len(points) - 1 else "middle"
        cx, cy, label_y = f"{cx:.1f}", f"{cy:.1f}", f"{max(cy - 10, 14):.1f}"
        parts.append(format_html('<circle class="chart-point" cx="{}" cy="{}" r="5"/>', cx, cy))
        parts.append(format_html(
            '<text class="chart-value" x="{}" y="{}" text-anchor="{}">{}{}</text>',
            cx, label_y, anchor, o.qualifier, o.value_printed,
        ))
        parts.append(format_html(
            '<text class="chart-date" x="{}" y="{}" text-anchor="{}">{}</text>',
            cx, height - bottom + 20, anchor, _when(o)[1],
        ))
    parts.append(mark_safe("</svg>"))
    return mark_safe("".join(parts))


# ---------------------------------------------------------------------------
# Series charts: one indicator's figures on one axis (core.charts draws, templates/includes/series_chart.html)


def figure_point(outcome, marked=False) -> Point | None:
    """An outcome as a point of its series: at its period's end (or its as-of date, or, with only a start,
    its start), with its value in base units, labelled as printed. None without a value or a date."""
    when, precision = outcome.period_end, outcome.period_end_precision
    if when is None:
        when, precision = outcome.period_start, outcome.period_start_precision
    if when is None or outcome.value is None:
        return None
    return Point(when=when, precision=precision, value=outcome.value,
                 label=f"{outcome.qualifier}{outcome.value_printed}", key=outcome.slug, marked=marked)


def series_figure(outcomes, *, title, key, marked=(), width=640, height=260, labels=True) -> dict | None:
    """What ``includes/series_chart.html`` draws for ``outcomes`` (one series, in order): ``id``, ``title``,
    ``geometry`` (core.charts.series_chart), ``labels`` (print each value beside its point) and ``rows``
    (the outcomes drawn, for the table of the same numbers). ``marked``: pks drawn as reported differently.
    None when no outcome has a value and a date."""
    rows, points = [], []
    for outcome in outcomes:
        point = figure_point(outcome, marked=outcome.pk in marked)
        if point is not None:
            rows.append(outcome)
            points.append(point)
    if not points:
        return None
    return {"id": f"series-{key}", "title": title, "labels": labels, "rows": rows,
            "geometry": series_chart(points, width=width, height=height)}


# ---------------------------------------------------------------------------
# Quotes: every outcome's sentence marked in its article


def highlight_quotes(text, outcomes):
    """The article ``text`` escaped, each outcome's quote wrapped in ``<mark id="quote-<slug>">``.

    A quote is found at its first occurrence. Quotes that overlap (two figures from one sentence)
    share one mark: it carries the first outcome's id, the others get an anchor just before it,
    and a numbered link to each outcome follows the mark.
    """
    spans = []
    for outcome in outcomes:
        start = text.find(outcome.quote) if outcome.quote else -1
        if start >= 0:
            spans.append((start, start + len(outcome.quote), outcome))
    spans.sort(key=lambda s: (s[0], -s[1], s[2].pk))
    groups = []
    for start, end, outcome in spans:
        if groups and start < groups[-1][1]:
            groups[-1][1] = max(groups[-1][1], end)
            groups[-1][2].append(outcome)
        else:
            groups.append([start, end, [outcome]])
    # Plain joins of escaped texts: what format_html gave for these texts (tracker/tests/test_views.py), without
    # its work per call (two calls or more a figure of the article).
    html, position = [], 0
    for start, end, members in groups:
        html.append(escape(text[position:start]))
        for other in members[1:]:
            html.append(f'<span class="quote-anchor" id="quote-{escape(other.slug)}"></span>')
        first = members[0]
        html.append(f'<mark class="quote" id="quote-{escape(first.slug)}"><a href="{escape(first.get_absolute_url())}" '
                    f'title="{escape(str(first))}">{escape(text[start:end])}</a></mark>')
        if len(members) > 1:
            for number, member in enumerate(members, 1):
                html.append(f'<a class="quote-ref" href="{escape(member.get_absolute_url())}" '
                            f'title="{escape(str(member))}">[{number}]</a>')
        position = end
    html.append(escape(text[position:]))
    return mark_safe("".join(html))


# ---------------------------------------------------------------------------
# Rows a page only names and links to


def linked_only(queryset, *related):
    """``queryset`` joined to the foreign keys ``related``, without the columns a page that only names and
    links these rows never reads: the derived search columns and an article's text, the widest columns
    (a source's search text holds its whole article again). The same columns the exports leave behind.
    """
    model = queryset.model
    heavy = heavy_columns(model)
    for path in related:
        heavy += [f"{path}__{name}" for name in heavy_columns(related_model(model, path))]
    return queryset.select_related(*related).defer(*heavy)


def figure_rows(outcomes):
    """A detail page's figures (``outcomes`` a queryset) as its outcome table and charts show them, by metric and date.

    They print the outcome and its source's title and link: the program, fund and county are not joined.
    """
    # Sorted by an expression of the metric rather than the column: a record's figures are at most some tens of
    # thousands (a fund's programs'), quick to sort, where walking the whole metric index of 500,000 figures for
    # the first 50 is not (PostgreSQL chose to, for a fund's programs' figures).
    return linked_only(outcomes, "source").order_by(Concat(F("metric"), Value("")), "period_end", "pk")


DETAIL_LIMIT = 50
"""How many linked rows a detail page lists before it points to the filtered list instead."""


def first_rows(queryset, limit=DETAIL_LIMIT) -> tuple[list, int]:
    """The first ``limit`` rows of ``queryset`` and how many there are in all (one query when they all fit).

    A fund at scale has thousands of programs: its page lists the first ones and links to the
    filtered list, so a detail page stays the size of a page.
    """
    rows = list(queryset[: limit + 1])
    if len(rows) <= limit:
        return rows, len(rows)
    return rows[:limit], queryset.count()


# ---------------------------------------------------------------------------
# A list's cells (core.listing.Column.cell, drawn by the table_rows tag in core/templatetags/browsing.py):
# Python, not a template per cell, because they run for every row of every page


_CHOICES: dict = {}
NOT_A_CHOICE = object()


def choice_label(record, name):
    """``record.<name>()`` where ``name`` is a ``get_<field>_display`` Django made for the model: the same
    text, from the field's choices translated once per process and language (Django's own method makes
    every label of the field hashable on every call, which translates each of them: about 80 µs a call).
    ``NOT_A_CHOICE`` when the model has no such generated method (its own ``get_…_display``, or none)."""
    key = (type(record), name, get_language())
    found = _CHOICES.get(key)
    if found is None:
        method = inspect.getattr_static(type(record), name, None)
        field = (method.keywords or {}).get("field") if isinstance(method, partialmethod) else None
        if field is None or getattr(method.func, "__name__", "") != "_get_FIELD_display":
            found = (None, None)
        else:
            found = (field.attname, {make_hashable(k): str(v) for k, v in field.flatchoices})
        _CHOICES[key] = found
    attname, choices = found
    if attname is None:
        return NOT_A_CHOICE
    value = getattr(record, attname)
    return force_str(choices.get(make_hashable(value), value), strings_only=True)


def display(record, field) -> str:
    """``record.get_<field>_display()``, through :func:`choice_label`."""
    name = f"get_{field}_display"
    found = choice_label(record, name)
    return getattr(record, name)() if found is NOT_A_CHOICE else found


def cell_value(row, path):
    """What a list's column shows (core.listing.Column.value): ``path`` read from ``row`` the way a template
    variable is (``"get_kind_display"``, ``"fund"``: methods are called); None when the path is empty or
    passes through an empty relation."""
    if not path:
        return None
    value = row
    for name in path.split("."):
        if value is None:
            return None
        if name.startswith("get_") and name.endswith("_display"):
            found = choice_label(value, name)
            if found is not NOT_A_CHOICE:
                value = found
                continue
        value = getattr(value, name)
        if callable(value) and not getattr(value, "do_not_call_in_templates", False):
            value = value()
    return value


def record_link(record, absent="—"):
    """A link to ``record``'s page named by the record (what ``{{ record|link_or_dash }}`` prints); ``absent``
    when there is no record (None or "")."""
    if record is None or record == "":
        return absent
    return format_html('<a href="{}">{}</a>', record.get_absolute_url(), record)
