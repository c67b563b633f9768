"""Indicator charts on the pages of other records: ``{% load indicators %}``.

- ``{% indicator_charts program %}`` (or a fund, or a county): small charts of the indicators scoped to the
  record (``Indicator.fund`` / ``program`` / ``county``, as ``/indicators/?program=`` filters them), the
  longest series first (most dates, then most values), at most ``CHART_LIMIT``, with a link to the filtered
  list when there are more;
- ``{% headline_charts %}``: the home page's headline series, the ``HEADLINE_LIMIT`` longest series among
  those with values at two dates at least (a line, not one point that several articles repeat).

They are tags rather than view code so that the county page, whose app sits below programs and may not
import it, draws them the same way as the program and fund pages. Each costs two queries, however many
indicators and figures there are: the indicators with their counts, then all their figures
(``programs.services.indicator_charts``).
"""

from django import template
from django.db.models import Count, Q
from django.urls import reverse

from core.presenting import linked_only
from programs.models import Fund, Indicator, Program
from programs.services import indicator_charts as draw_charts

register = template.Library()

CHART_LIMIT = 8
HEADLINE_LIMIT = 4


def _longest_series_first():
    """Indicators with how many dates and values their figures give, the longest series first: the dates
    count before the values, so a figure that five articles repeat for one date is no long series."""
    valued = Q(outcomes__value__isnull=False)
    return linked_only(Indicator.objects.all()).annotate(
        date_count=Count("outcomes__period_end", filter=valued, distinct=True),
        value_count=Count("outcomes", filter=valued),
    ).order_by("-date_count", "-value_count", "name")


def scope_of(record) -> str:
    """The filter of ``/indicators/`` that names ``record``: ``program``, ``fund`` or ``county``."""
    if isinstance(record, Program):
        return "program"
    if isinstance(record, Fund):
        return "fund"
    if record._meta.label == "counties.County":
        return "county"
    raise TypeError(f"indicators have no scope of {record._meta.label}")


@register.inclusion_tag("includes/indicator_charts.html")
def indicator_charts(record):
    scope = scope_of(record)
    rows = list(_longest_series_first().filter(**{scope: record})[: CHART_LIMIT + 1])
    more = len(rows) > CHART_LIMIT
    return {
        "charts": draw_charts(indicators=rows[:CHART_LIMIT]),
        "more_url": f"{reverse('programs:indicator_list')}?{scope}={record.slug}" if more else "",
    }


@register.inclusion_tag("includes/indicator_charts.html")
def headline_charts():
    rows = _longest_series_first().filter(date_count__gte=2)[:HEADLINE_LIMIT]
    return {"charts": draw_charts(indicators=rows), "more_url": reverse("programs:indicator_list"), "headline": True}
