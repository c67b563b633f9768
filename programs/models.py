"""Articles, funds, organizations, programs and the figures the press reported about them."""

import datetime

from django.db import models
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from core.links import list_url, slug_url
from core.records import AMOUNT, Precision, Record, format_partial_date, period_errors, precision_field


class Source(Record):
    """One news article, as cleaned into ``seeds/articles/``: every figure cites one of these."""

    class Script(models.TextChoices):
        SIMPLIFIED = "simplified", _("simplified")
        TRADITIONAL = "traditional", _("traditional")

    title = models.CharField(_("title"), max_length=300)
    publisher = models.CharField(_("publisher"), max_length=100, blank=True, default="")
    published = models.DateField(_("published"), null=True, blank=True)
    published_precision = precision_field(_("published precision"))
    date_note = models.TextField(
        _("date note"), blank=True, default="",
        help_text=_("How an undated article's date was bounded."),
    )
    script = models.CharField(_("script"), max_length=12, choices=Script.choices, default=Script.SIMPLIFIED)
    file_name = models.CharField(_("cleaned file"), max_length=200, blank=True, default="")
    original_file = models.CharField(_("original file"), max_length=200, blank=True, default="")
    url = models.URLField(_("URL"), max_length=500, blank=True, default="")
    text = models.TextField(_("full text"), blank=True, default="")
    note = models.TextField(_("note"), blank=True, default="")

    SEARCH_FIELDS = ("title", "aliases", "publisher", "text")

    class Meta:
        ordering = ["-published", "title"]
        verbose_name = _("source")
        verbose_name_plural = _("sources")
        indexes = [models.Index(fields=["published"]), models.Index(fields=["publisher"])]

    def __str__(self):
        return self.title

    def get_absolute_url(self):
        return slug_url("programs:source_detail", self.slug)

    @property
    def published_display(self):
        return format_partial_date(self.published, self.published_precision)


class Fund(Record):
    """A fund or foundation that pays for programs, with what it committed and what it became."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    founded = models.DateField(_("founded"), null=True, blank=True)
    founded_precision = precision_field(_("founded precision"))
    commitment = models.DecimalField(_("commitment (yuan)"), null=True, blank=True, **AMOUNT)
    commitment_printed = models.CharField(_("commitment as printed"), max_length=50, blank=True, default="")
    commitment_term = models.CharField(_("commitment term"), max_length=50, blank=True, default="")
    successor = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="predecessors", verbose_name=_("became"),
    )
    succeeded_on = models.DateField(_("became on"), null=True, blank=True)
    succeeded_on_precision = precision_field(_("became on precision"))
    summary = models.TextField(_("summary"), blank=True, default="")
    sources = models.ManyToManyField(Source, blank=True, related_name="funds", verbose_name=_("sources"))

    SEARCH_FIELDS = ("name", "aliases", "summary")

    class Meta:
        ordering = ["founded", "name"]
        verbose_name = _("fund")
        verbose_name_plural = _("funds")
        indexes = [models.Index(fields=["founded"])]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return slug_url("programs:fund_detail", self.slug)

    @property
    def founded_display(self):
        return format_partial_date(self.founded, self.founded_precision)

    @property
    def succeeded_on_display(self):
        return format_partial_date(self.succeeded_on, self.succeeded_on_precision)

    def rule_errors(self, skip=frozenset()):
        from programs.services import check_commitment

        return {**super().rule_errors(skip), **check_commitment(fund=self, skip=skip)}


class Organization(Record):
    """A company unit or an outside partner that runs or co-runs programs."""

    class Kind(models.TextChoices):
        COMPANY_UNIT = "company", _("company unit")
        PARTNER = "partner", _("partner")
        FOUNDATION = "foundation", _("foundation")
        GOVERNMENT = "government", _("government body")
        OTHER = "other", _("other")

    name = models.CharField(_("name"), max_length=100, unique=True)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.COMPANY_UNIT)
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="units", verbose_name=_("part of"),
    )
    summary = models.TextField(_("summary"), blank=True, default="")
    sources = models.ManyToManyField(
        Source, blank=True, related_name="organizations", verbose_name=_("sources")
    )

    SEARCH_FIELDS = ("name", "aliases", "summary")

    class Meta:
        ordering = ["name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")
        indexes = [models.Index(fields=["kind"])]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return list_url("programs:program_list") + f"?organization={self.slug}"


class Area(models.TextChoices):
    """What a program works on: the fund's five directions, then the ones 热土计划 added."""

    EDUCATION = "jiaoyu", _("education (教育)")
    HEALTH = "jiankang", _("health (健康)")
    WOMEN = "nvxing", _("women (女性)")
    ECOLOGY = "shengtai", _("ecology (生态)")
    ECOMMERCE = "dianshang", _("e-commerce (电商)")
    TECHNOLOGY = "keji", _("technology (科技)")
    INDUSTRY = "chanye", _("industry (产业)")
    TALENT = "rencai", _("talent (人才)")
    FINANCE = "jinrong", _("finance (金融)")
    LOGISTICS = "wuliu", _("logistics (物流)")
    TOURISM = "lvyou", _("tourism (旅游)")
    OTHER = "qita", _("other (其他)")


class Program(Record):
    """A program, plan, project, measure or recurring event that a fund or unit runs."""

    class Kind(models.TextChoices):
        PROGRAM = "program", _("program")
        PLAN = "plan", _("plan")
        PROJECT = "project", _("project")
        MEASURE = "measure", _("measure")
        EVENT = "event", _("event")
        PLATFORM = "platform", _("platform")

    name = models.CharField(_("name"), max_length=150, unique=True)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.PROGRAM)
    area = models.CharField(_("area"), max_length=10, choices=Area.choices, default=Area.OTHER)
    fund = models.ForeignKey(
        Fund, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="programs", verbose_name=_("fund"),
    )
    organizations = models.ManyToManyField(
        Organization, blank=True, related_name="programs", verbose_name=_("operated by")
    )
    parent = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="children", verbose_name=_("part of"),
    )
    start = models.DateField(_("start"), null=True, blank=True)
    start_precision = precision_field(_("start precision"))
    end = models.DateField(_("end"), null=True, blank=True)
    end_precision = precision_field(_("end precision"))
    summary = models.TextField(_("summary"), blank=True, default="")
    counties = models.ManyToManyField(
        "counties.County", blank=True, related_name="programs", verbose_name=_("counties")
    )
    sources = models.ManyToManyField(Source, blank=True, related_name="programs", verbose_name=_("sources"))

    SEARCH_FIELDS = ("name", "aliases", "summary")

    class Meta:
        ordering = ["name"]
        verbose_name = _("program")
        verbose_name_plural = _("programs")
        indexes = [
            models.Index(fields=["area"]),
            models.Index(fields=["kind"]),
            models.Index(fields=["start"]),
            models.Index(fields=["end"]),  # the timeline walks programs ended in date order
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(start__isnull=True) | Q(end__gte=models.F("start")),
                name="program_end_not_before_start",
            )
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return slug_url("programs:program_detail", self.slug)

    @property
    def start_display(self):
        return format_partial_date(self.start, self.start_precision)

    @property
    def end_display(self):
        return format_partial_date(self.end, self.end_precision)

    def rule_errors(self, skip=frozenset()):
        return {**super().rule_errors(skip), **period_errors(self.start, self.end, "start", "end", skip)}


class Quantity(models.TextChoices):
    """What an indicator counts: the kind of number its values are."""

    MONEY = "money", pgettext_lazy("quantity", "money")
    PEOPLE = "people", pgettext_lazy("quantity", "people")
    PERSON_TIMES = "person-times", pgettext_lazy("quantity", "person-times")
    HOUSEHOLDS = "households", pgettext_lazy("quantity", "households")
    COUNTIES = "counties", pgettext_lazy("quantity", "counties")
    VILLAGES = "villages", pgettext_lazy("quantity", "villages")
    AREA = "area", pgettext_lazy("quantity", "area")
    TREES = "trees", pgettext_lazy("quantity", "trees")
    SHARE = "share", pgettext_lazy("quantity", "share")
    COUNT = "count", pgettext_lazy("quantity", "count")


class IndicatorQuerySet(models.QuerySet):
    def disputed(self):
        """The indicators two of whose figures are "reported differently" (``OutcomeQuerySet.disagreeing``)."""
        return self.filter(Exists(Outcome.objects.disagreeing().filter(indicator=OuterRef("pk"))))

    def undisputed(self):
        return self.exclude(Exists(Outcome.objects.disagreeing().filter(indicator=OuterRef("pk"))))


class Indicator(Record):
    """What a figure measures, so that one measure can be followed across time and articles: its outcomes
    are its series, their values in its base unit."""

    name = models.CharField(_("name"), max_length=150, unique=True)
    quantity = models.CharField(_("quantity"), max_length=12, choices=Quantity.choices, default=Quantity.COUNT)
    base_unit = models.CharField(_("base unit"), max_length=20)
    units = models.TextField(
        _("units"), blank=True, default="",
        help_text=_("The outcome units that measure in the base unit, one per line, the base unit among them."),
    )
    fund = models.ForeignKey(
        Fund, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="indicators", verbose_name=_("fund"),
    )
    program = models.ForeignKey(
        Program, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="indicators", verbose_name=_("program"),
    )
    county = models.ForeignKey(
        "counties.County", on_delete=models.SET_NULL, null=True, blank=True,
        related_name="indicators", verbose_name=_("county"),
    )
    description = models.TextField(_("description"), blank=True, default="")
    sources = models.ManyToManyField(Source, blank=True, related_name="indicators", verbose_name=_("sources"))

    objects = IndicatorQuerySet.as_manager()
    SEARCH_FIELDS = ("name", "aliases", "description")

    class Meta:
        ordering = ["name"]
        verbose_name = _("indicator")
        verbose_name_plural = _("indicators")
        indexes = [models.Index(fields=["quantity"])]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return slug_url("programs:indicator_detail", self.slug)

    @property
    def unit_list(self) -> list[str]:
        """The outcome units that fit this indicator (the base unit when none are listed)."""
        return [u.strip() for u in self.units.splitlines() if u.strip()] or [self.base_unit]

    def rule_errors(self, skip=frozenset()):
        errors = super().rule_errors(skip)
        listed = [u.strip() for u in self.units.splitlines() if u.strip()]
        if not {"units", "base_unit"} & set(skip) and listed and self.base_unit not in listed:
            errors["units"] = _("The base unit “%(unit)s” is not among the units.") % {"unit": self.base_unit}
        return errors


# Two figures report the same thing when they are of one indicator, of the same kind and of the same period:
# start and end with their precisions (an as-of date is an end without a start). The querysets below and
# ``Outcome.comparison_key`` compare these same fields.
COMPARED_FIELDS = ("kind", "period_start", "period_start_precision", "period_end", "period_end_precision")
NO_DATE = datetime.date(1, 1, 1)  # an empty date, where SQL compares dates (NULL equals nothing)


def _date_keys():
    return {f"{name}_key": Coalesce(name, Value(NO_DATE), output_field=models.DateField())
            for name in ("period_start", "period_end")}


class OutcomeQuerySet(models.QuerySet):
    def largest_in(self, unit):
        return self.filter(unit=unit, value__isnull=False).order_by("-value")

    def disagreeing(self):
        """Figures "reported differently" (报道不一致): another figure of the same indicator, kind and period,
        from another source, gives another value. Figures without a value or a period compare with none."""
        others = (
            Outcome.objects.annotate(**_date_keys())
            .filter(indicator=OuterRef("indicator"), value__isnull=False,
                    **{name: OuterRef(name) for name in ("kind", "period_start_precision", "period_end_precision",
                                                         "period_start_key", "period_end_key")})
            .exclude(source=OuterRef("source"))
            .exclude(value=OuterRef("value"))
        )
        return (
            self.filter(indicator__isnull=False, value__isnull=False)
            .exclude(period_start__isnull=True, period_end__isnull=True)
            .annotate(**_date_keys())
            .filter(Exists(others))
        )

    def disagreeing_with(self, outcome):
        """The figures that give ``outcome``'s measure for its period another value, from another source."""
        if outcome.comparison_key is None:
            return self.none()
        return (self.filter(indicator_id=outcome.indicator_id, value__isnull=False,
                            **{name: getattr(outcome, name) for name in COMPARED_FIELDS})
                .exclude(source_id=outcome.source_id).exclude(value=outcome.value))


class NullsLastIndex(models.Index):
    """An index in the order of a descending sort with empty values last (``F("x").desc(nulls_last=True)``),
    as PostgreSQL reads such a sort. SQLite cannot say ``NULLS LAST`` in an index and does not need to (it
    puts empty values first ascending, so it reads a plain ascending index backwards): there the index is
    on the plain columns, ascending."""

    def create_sql(self, model, schema_editor, using="", **kwargs):
        if schema_editor.connection.vendor != "postgresql":
            plain = models.Index(fields=[e.expression.name for e in self.expressions], name=self.name,
                                 condition=self.condition)
            return plain.create_sql(model, schema_editor, using=using, **kwargs)
        return super().create_sql(model, schema_editor, using=using, **kwargs)


class Outcome(Record):
    """One figure an article reported, exactly as printed, with the sentence it came from."""

    class Kind(models.TextChoices):
        RESULT = "result", _("result")
        TARGET = "target", _("target")
        COMMITMENT = "commitment", _("commitment")
        BASELINE = "baseline", _("baseline")

    metric = models.CharField(_("metric"), max_length=200)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.RESULT)
    value = models.DecimalField(_("value (base units)"), null=True, blank=True, **AMOUNT)
    unit = models.CharField(_("unit"), max_length=20, blank=True, default="")
    value_printed = models.CharField(_("value as printed"), max_length=100)
    qualifier = models.CharField(
        _("qualifier"), max_length=20, blank=True, default="",
        help_text=_("超过, 近, 约, 累计 … exactly as printed."),
    )
    period_start = models.DateField(_("period start"), null=True, blank=True)
    period_start_precision = precision_field(_("period start precision"))
    period_end = models.DateField(
        _("period end / as of"), null=True, blank=True,
        help_text=_("The end of the period, or the as-of date when there is no start."),
    )
    period_end_precision = precision_field(_("period end precision"))
    program = models.ForeignKey(
        Program, on_delete=models.PROTECT, null=True, blank=True,
        related_name="outcomes", verbose_name=_("program"),
    )
    fund = models.ForeignKey(
        Fund, on_delete=models.PROTECT, null=True, blank=True,
        related_name="outcomes", verbose_name=_("fund"),
        db_index=False,  # a partial index instead: outcome_fund_idx, in Meta.indexes
    )
    county = models.ForeignKey(
        "counties.County", on_delete=models.PROTECT, null=True, blank=True,
        related_name="outcomes", verbose_name=_("county"),
    )
    source = models.ForeignKey(
        Source, on_delete=models.PROTECT, related_name="outcomes", verbose_name=_("source")
    )
    quote = models.TextField(_("quote"), help_text=_("Verbatim text of the source the figure comes from."))
    note = models.TextField(_("note"), blank=True, default="")
    indicator = models.ForeignKey(
        Indicator, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="outcomes", verbose_name=_("indicator"),
        help_text=_("What the figure measures: the outcomes of one indicator are its series."),
    )

    objects = OutcomeQuerySet.as_manager()
    SEARCH_FIELDS = ("metric", "value_printed", "quote", "note")

    class Meta:
        ordering = ["-period_end", "metric", "slug"]
        verbose_name = _("outcome")
        verbose_name_plural = _("outcomes")
        indexes = [
            models.Index(fields=["kind"]),
            # The unit facet, and the home page's largest amounts in yuan (unit = '元' by value, descending).
            models.Index(fields=["unit", "value"], name="outcome_unit_value_idx"),
            models.Index(fields=["metric"]),
            models.Index(fields=["value"]),
            # The default sort of /outcomes/ (period, newest first) is read straight off this index.
            models.Index(fields=["period_end", "period_start"], name="programs_outcome_period_idx"),
            models.Index(fields=["period_start"]),
            # /outcomes/?province= in the default sort: the outcomes that have a county (a fifth of them),
            # newest first. Without it PostgreSQL walks the period index past the outcomes of programs and
            # funds (145,000 of 500,000 before the first of a province's: 530 ms; 8 ms with it). The
            # filter says county IS NOT NULL so that the planner may read it (OutcomeProvinceFilter).
            NullsLastIndex(
                F("period_end").desc(nulls_last=True), F("period_start").desc(nulls_last=True), F("id").desc(),
                condition=Q(county__isnull=False), name="outcome_county_period_idx",
            ),
            # The outcomes that name a fund (most figures belong to a program or a county instead). Partial, so
            # that SQLite's statistics count only them: over the whole table ANALYZE saw 166,713 rows a fund
            # (the empty ones), and /outcomes/?fund=…&sort=-value and a fund's page walked the whole value
            # index, 2–6 s at 500,000 outcomes, for a fund of 39 figures. ``fund_id = x`` implies NOT NULL,
            # so both databases read it for the filter.
            models.Index(fields=["fund"], name="outcome_fund_idx", condition=Q(fund__isnull=False)),
            # The home page's headline series (tracker.views.headline_indicators): dates and values counted
            # per indicator off this index, not off the table.
            models.Index(fields=["indicator", "period_end"], name="outcome_indicator_dates_idx",
                         condition=Q(indicator__isnull=False, value__isnull=False)),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(program__isnull=False) | Q(fund__isnull=False) | Q(county__isnull=False),
                name="outcome_belongs_to_something",
            ),
            models.CheckConstraint(condition=~Q(quote=""), name="outcome_quote_not_empty"),
            models.CheckConstraint(condition=~Q(value_printed=""), name="outcome_value_printed_not_empty"),
            models.CheckConstraint(
                condition=Q(period_end__isnull=True)
                | Q(period_start__isnull=True)
                | Q(period_end__gte=models.F("period_start")),
                name="outcome_period_end_not_before_start",
            ),
        ]

    def __str__(self):
        return f"{self.metric}: {self.qualifier}{self.value_printed}"

    def get_absolute_url(self):
        return slug_url("programs:outcome_detail", self.slug)

    @property
    def comparison_key(self):
        """What another figure of the same indicator must share to report the same thing (kind and period),
        or None when this figure compares with none (no indicator, no value or no period)."""
        if self.indicator_id is None or self.value is None or not (self.period_start or self.period_end):
            return None
        return tuple(getattr(self, name) for name in COMPARED_FIELDS)

    @property
    def period_display(self):
        start = format_partial_date(self.period_start, self.period_start_precision)
        end = format_partial_date(self.period_end, self.period_end_precision)
        if start and end:
            return start if start == end else f"{start} – {end}"
        return end or start

    def rule_errors(self, skip=frozenset()):
        from programs.services import check_outcome

        errors = super().rule_errors(skip)
        errors.update(period_errors(self.period_start, self.period_end, "period_start", "period_end", skip))
        for field, message in check_outcome(outcome=self, skip=skip).items():
            errors.setdefault(field, message)
        return errors


__all__ = ["Area", "Fund", "Indicator", "Organization", "Outcome", "Precision", "Program", "Quantity", "Source"]
