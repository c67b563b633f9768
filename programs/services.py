"""The rules of a figure that cross records, as plain functions every write path calls; and the reads
that compare the figures of one indicator (its series, where sources disagree, what is restated).

The admin's forms and the import run the rules through the models' ``rule_errors`` (``Outcome``, ``Fund``),
``load_seeds --check`` through the same methods on unsaved rows, and the article intake before it
creates an outcome. Each returns ``{field: message}``, empty when the rule holds.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from django.db.models import F
from django.utils.translation import gettext as _

from core.presenting import linked_only, series_figure
from programs.printed import value_agrees


def check_figure(*, value, unit: str, value_printed: str, skip=frozenset()) -> dict:
    """The exact value and unit agree with the printed form (``3037亿元`` is 303700000000 元)."""
    if skip & {"value", "value_printed", "unit"} or not value_printed:
        return {}
    wrong = value_agrees(value, value_printed, unit)
    return {"value": wrong} if wrong else {}


def check_quote(*, quote: str, value_printed: str, source_text: str | None, source_label: str,
                skip=frozenset()) -> dict:
    """The quote occurs verbatim in its source's text, and the printed form occurs in the quote."""
    errors = {}
    if not skip & {"source", "quote"} and source_text and quote and quote not in source_text:
        errors["quote"] = _("The quote is not verbatim in the source %(source)s: “%(quote)s”") % {
            "source": source_label, "quote": quote[:40]}
    if not skip & {"quote", "value_printed"} and quote and value_printed and value_printed not in quote:
        errors["value_printed"] = _("The printed form “%(printed)s” does not occur in the quote.") % {
            "printed": value_printed}
    return errors


def check_outcome(*, outcome, skip=frozenset()) -> dict:
    """Every rule of one figure: it belongs to a program, fund or county; its value agrees with its printed
    form; its quote is verbatim in its source and holds the printed form."""
    skip = set(skip)
    errors = {}
    owners = ("program", "fund", "county")
    if not skip & set(owners) and all(
        getattr(outcome, f"{name}_id") is None and getattr(outcome, name, None) is None for name in owners
    ):
        errors["program"] = _("The figure belongs to nothing: give a program, fund or county.")
    errors.update(check_figure(value=outcome.value, unit=outcome.unit, value_printed=outcome.value_printed,
                               skip=skip))
    source = getattr(outcome, "source", None)  # None when not given yet
    for field, message in check_quote(
        quote=outcome.quote, value_printed=outcome.value_printed,
        source_text=source.text if source is not None else None,
        source_label=source.slug if source is not None else "", skip=skip,
    ).items():
        errors.setdefault(field, message)
    for field, message in check_indicator_unit(outcome=outcome, skip=skip).items():
        errors.setdefault(field, message)
    return errors


def check_indicator_unit(*, outcome, skip=frozenset()) -> dict:
    """An outcome of an indicator is in one of the indicator's units, so that its value (in base units)
    sits on the indicator's axis: 万人次 and 人次 are one axis, 人次 and 户 are not."""
    if skip & {"unit", "indicator"} or (outcome.indicator_id is None and getattr(outcome, "indicator", None) is None):
        return {}
    indicator = outcome.indicator
    if outcome.unit in indicator.unit_list:
        return {}
    return {"unit": _("The unit “%(unit)s” does not fit the indicator %(indicator)s, whose units are %(units)s.") % {
        "unit": outcome.unit, "indicator": indicator.slug, "units": "、".join(indicator.unit_list)}}


def check_commitment(*, fund, skip=frozenset()) -> dict:
    """A fund's exact commitment agrees with its printed form (always yuan, so the unit is not compared)."""
    if {"commitment", "commitment_printed"} & set(skip) or not fund.commitment_printed or fund.commitment is None:
        return {}
    wrong = value_agrees(fund.commitment, fund.commitment_printed, "元")
    if wrong and "unit" not in wrong:
        return {"commitment": _("commitment: %(problem)s") % {"problem": wrong}}
    return {}


# ---------------------------------------------------------------------------
# An indicator's figures compared: series, disagreements (报道不一致), restatements


@dataclass
class Series:
    """One indicator's figures as its page shows them.

    ``outcomes``: every figure, in the order of the series (period end, or as-of date, then start, then
    the source's date). ``points``: those with a value and a date, as the chart draws them.
    ``disagreements``: groups of figures of one kind and period whose sources give different values (each
    group whole, in source order). ``restates``: ``{outcome pk: the earlier outcome}`` for a figure that a
    later article prints again with the same value and period. ``disputed``: pks of figures in a group.
    """

    indicator: object
    outcomes: list
    points: list = dataclass_field(default_factory=list)
    disagreements: list[list] = dataclass_field(default_factory=list)
    restates: dict = dataclass_field(default_factory=dict)

    @property
    def disputed(self) -> set:
        return {o.pk for group in self.disagreements for o in group}

    @property
    def rows(self) -> list[dict]:
        """Each figure with its marks, as the page lists them: ``outcome``, ``disputed`` (in a group reported
        differently), ``restates`` (the earlier figure it prints again, or None)."""
        disputed = self.disputed
        return [{"outcome": o, "disputed": o.pk in disputed, "restates": self.restates.get(o.pk)}
                for o in self.outcomes]


def series_rows(*, indicators) -> dict:
    """``{indicator pk: [outcomes in series order]}`` for ``indicators`` (rows or pks), their sources
    selected, in one query."""
    from programs.models import Outcome

    keys = [getattr(i, "pk", i) for i in indicators]
    found: dict = {key: [] for key in keys}
    if not keys:
        return found
    rows = linked_only(Outcome.objects.filter(indicator__in=keys), "source").order_by(
        F("period_end").asc(nulls_last=True), F("period_start").asc(nulls_first=True),
        F("source__published").asc(nulls_last=True), "pk",
    )
    for outcome in rows:
        found[outcome.indicator_id].append(outcome)
    return found


def read_series(*, indicator) -> Series:
    """The figures of ``indicator`` compared with each other (one query)."""
    outcomes = series_rows(indicators=[indicator])[indicator.pk]
    return compare_figures(indicator=indicator, outcomes=outcomes)


def compare_figures(*, indicator, outcomes: list) -> Series:
    """The disagreements and restatements among ``outcomes`` (one indicator's, in series order).

    The same rule as ``Outcome.objects.disagreeing()`` in SQL: two figures of one kind and period
    (``Outcome.comparison_key``) from different sources with different values disagree. Two with the same
    value restate: the one from the later article (by publication date, compared at the precision both
    give) restates the earlier; when the order is not known (both of 2021, one undated) neither does.
    """
    series = Series(indicator=indicator, outcomes=outcomes,
                    points=[o for o in outcomes if o.value is not None and (o.period_end or o.period_start)])
    groups = defaultdict(list)
    for outcome in outcomes:
        if outcome.comparison_key is not None:
            groups[outcome.comparison_key].append(outcome)
    for group in groups.values():
        if any(a.source_id != b.source_id and a.value != b.value for a in group for b in group):
            series.disagreements.append(sorted(group, key=lambda o: (_published(o.source), o.pk)))
        for outcome in group:
            earlier = [o for o in group if o.source_id != outcome.source_id and o.value == outcome.value
                       and published_before(o.source, outcome.source)]
            if earlier:
                series.restates[outcome.pk] = min(earlier, key=lambda o: (_published(o.source), o.pk))
    return series


_DEPTH = {"year": 1, "month": 2, "day": 3}


def _published(source) -> tuple:
    if source.published is None:
        return (9999,)
    depth = _DEPTH.get(source.published_precision, 3)
    return (source.published.year, source.published.month, source.published.day)[:depth]


def published_before(first, second) -> bool:
    """Whether article ``first`` is known to be older than ``second``: both dated and, at the precision both
    give, ``first`` comes first (2021-03 is not known to be before 2021)."""
    if first.published is None or second.published is None:
        return False
    depth = min(len(_published(first)), len(_published(second)))
    return _published(first)[:depth] < _published(second)[:depth]


def indicator_figure(*, series: Series, width=640, height=260, labels=True) -> dict | None:
    """The chart of one indicator's series (``includes/series_chart.html`` draws it; see
    ``core.presenting.series_figure``), with ``indicator`` and ``series`` added; figures reported
    differently are marked. None when no figure has a value and a date."""
    indicator = series.indicator
    title = _("%(indicator)s over time, in %(unit)s") % {"indicator": indicator.name, "unit": indicator.base_unit}
    chart = series_figure(series.points, title=title, key=indicator.slug, marked=series.disputed,
                          width=width, height=height, labels=labels)
    if chart is not None:
        chart.update(indicator=indicator, series=series)
    return chart


def indicator_charts(*, indicators, width=360, height=170) -> list[dict]:
    """Small charts of ``indicators`` (rows; their figures are read in one query), for a program's, fund's,
    county's or the home page: ``templates/includes/indicator_chart.html`` draws each. Indicators with
    nothing to draw are left out."""
    indicators = list(indicators)
    rows = series_rows(indicators=indicators)
    charts = []
    for indicator in indicators:
        series = compare_figures(indicator=indicator, outcomes=rows[indicator.pk])
        chart = indicator_figure(series=series, width=width, height=height, labels=False)
        if chart is not None:
            charts.append(chart)
    return charts
