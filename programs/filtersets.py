"""Which programs, funds, indicators, outcomes and sources a public list shows, and in what order.

Filters take slugs (``?county=puan-xian``), so links survive a re-seed; see core/listing.py
for the filter kinds and ../shared/DESIGN.md for the parameters.
"""

from django.db import connections
from django.db.models import Exists, OuterRef
from django.utils.translation import gettext_lazy as _

from core.listing import (
    CodeFilter,
    FlagFilter,
    ListFilterSet,
    SlugFilter,
    SortFilter,
    ValueFilter,
    YearFilter,
    related_count,
)
from counties.models import County, Prefecture, Province
from programs.models import Area, Fund, Indicator, Organization, Outcome, Program, Quantity, Source


class ProgramFilterSet(ListFilterSet):
    fund = SlugFilter(field_name="fund", queryset=Fund.objects.all(), label=_("fund"))
    area = CodeFilter(field_name="area", choices=Area.choices, label=_("area"))
    kind = CodeFilter(field_name="kind", choices=Program.Kind.choices, label=_("kind"))
    organization = SlugFilter(
        field_name="organizations", queryset=Organization.objects.all(), many=True, label=_("operated by")
    )
    province = SlugFilter(
        field_name="counties__province", queryset=Province.objects.all(), many=True, broad=True,
        label=_("province"),
    )
    prefecture = SlugFilter(
        field_name="counties__prefecture", queryset=Prefecture.objects.all(), many=True, label=_("prefecture")
    )
    county = SlugFilter(field_name="counties", queryset=County.objects.all(), many=True, label=_("county"))
    year_from = YearFilter(start="start", end="end", bound="from", open_end=True, label=_("from year"))
    year_to = YearFilter(start="start", end="end", bound="to", label=_("to year"))
    sort = SortFilter(
        orders={
            "name": ("name",),
            "area": ("area",),
            "fund": ("fund__name",),
            "start": ("start",),
            "end": ("end",),
            "counties": ("county_count",),
        },
        default="name",
    )

    class Meta:
        model = Program
        fields = []


def programs_with_counts():
    return Program.objects.select_related("fund").annotate(
        county_count=related_count(Program.counties.through, "program"))


class FundFilterSet(ListFilterSet):
    area = CodeFilter(field_name="programs__area", choices=Area.choices, many=True, label=_("area"))
    province = SlugFilter(
        field_name="programs__counties__province", queryset=Province.objects.all(), many=True,
        label=_("province"),
    )
    county = SlugFilter(
        field_name="programs__counties", queryset=County.objects.all(), many=True, label=_("county")
    )
    year_from = YearFilter(start="founded", end="succeeded_on", bound="from", open_end=True, label=_("from year"))
    year_to = YearFilter(start="founded", end="succeeded_on", bound="to", label=_("to year"))
    sort = SortFilter(
        orders={
            "name": ("name",),
            "founded": ("founded",),
            "commitment": ("commitment",),
            "successor": ("successor__name",),
            "programs": ("program_count",),
        },
        default="founded",
    )

    class Meta:
        model = Fund
        fields = []


def funds_with_counts():
    return Fund.objects.select_related("successor").annotate(program_count=related_count(Program, "fund"))


class OutcomeProvinceFilter(SlugFilter):
    """An outcome's province, through its county. It also says ``county IS NOT NULL`` (which the province
    implies), so that a page in the default sort may be read off the partial index of the outcomes with a
    county (programs.models.Outcome, ``outcome_county_period_idx``) instead of walking every outcome of a
    program or a fund in period order (PostgreSQL: 145,000 of them before a province's first, 530 ms)."""

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        # SQLite keeps to the county index for a join (every outcome of the province read, joined and sorted:
        # 100 ms); a correlated EXISTS makes it walk the partial index in the sort's order (35 ms). PostgreSQL
        # walks the partial index for the join (15 ms) but plans the EXISTS as a semi-join by county (45 ms).
        if getattr(self.parent, "walks_index", False) and connections[qs.db].vendor == "sqlite":
            return qs.filter(county__isnull=False).filter(
                Exists(County.objects.filter(pk=OuterRef("county_id"), province=value))
            )
        return super().filter(qs, value).filter(county__isnull=False)


class OutcomeFilterSet(ListFilterSet):
    program = SlugFilter(field_name="program", queryset=Program.objects.all(), label=_("program"))
    fund = SlugFilter(field_name="fund", queryset=Fund.objects.all(), label=_("fund"))
    county = SlugFilter(field_name="county", queryset=County.objects.all(), label=_("county"))
    province = OutcomeProvinceFilter(
        field_name="county__province", queryset=Province.objects.all(), label=_("province")
    )
    source = SlugFilter(field_name="source", queryset=Source.objects.all(), label=_("source"), label_field="title")
    indicator = SlugFilter(field_name="indicator", queryset=Indicator.objects.all(), label=_("indicator"))
    kind = CodeFilter(field_name="kind", choices=Outcome.Kind.choices, label=_("kind"))
    unit = ValueFilter(field_name="unit", label=_("unit"))
    year_from = YearFilter(start="period_start", end="period_end", bound="from", label=_("from year"))
    year_to = YearFilter(start="period_start", end="period_end", bound="to", label=_("to year"))
    sort = SortFilter(
        orders={
            "metric": ("metric",),
            "value": ("value",),
            "kind": ("kind",),
            "period": ("period_end", "period_start"),
            "program": ("program__name",),
            "fund": ("fund__name",),
            "county": ("county__name",),
            "source": ("source__title",),
        },
        default="-period",
    )

    class Meta:
        model = Outcome
        fields = []


class IndicatorFilterSet(ListFilterSet):
    fund = SlugFilter(field_name="fund", queryset=Fund.objects.all(), label=_("fund"))
    program = SlugFilter(field_name="program", queryset=Program.objects.all(), label=_("program"))
    county = SlugFilter(field_name="county", queryset=County.objects.all(), label=_("county"))
    quantity = CodeFilter(field_name="quantity", choices=Quantity.choices, label=_("quantity"))
    disputed = FlagFilter(yes="disputed", no="undisputed", label=_("sources"),
                          labels=(_("reported differently"), _("no disagreement")))
    sort = SortFilter(
        orders={
            "name": ("name",),
            "quantity": ("quantity",),
            "unit": ("base_unit",),
            "program": ("program__name",),
            "fund": ("fund__name",),
            "county": ("county__name",),
            "outcomes": ("outcome_count",),
        },
        default="name",
    )

    class Meta:
        model = Indicator
        fields = []


def indicators_with_counts():
    """The list's rows: each with how many figures it has and whether its sources disagree (for the page's
    rows only: a total does not compute either)."""
    return Indicator.objects.select_related("fund", "program", "county").annotate(
        outcome_count=related_count(Outcome, "indicator"),
        # indicator__gte, implied by the equality, refers to the row in a way PostgreSQL cannot turn into a
        # hashed subplan: it looks up the page's indicators' figures by index, where with the equality alone it
        # worked out whether every indicator is disputed to show a page of them (BENCHMARKS.md, third pass).
        is_disputed=Exists(
            Outcome.objects.disagreeing().filter(indicator=OuterRef("pk"), indicator__gte=OuterRef("pk"))),
    )


class SourceFilterSet(ListFilterSet):
    publisher = ValueFilter(field_name="publisher", label=_("publisher"))
    script = CodeFilter(field_name="script", choices=Source.Script.choices, label=_("script"))
    program = SlugFilter(
        field_name="outcomes__program", queryset=Program.objects.all(), many=True, label=_("program")
    )
    county = SlugFilter(
        field_name="outcomes__county", queryset=County.objects.all(), many=True, label=_("county")
    )
    year_from = YearFilter(start="published", bound="from", label=_("from year"))
    year_to = YearFilter(start="published", bound="to", label=_("to year"))
    sort = SortFilter(
        orders={
            "title": ("title",),
            "publisher": ("publisher",),
            "published": ("published",),
            "script": ("script",),
            "outcomes": ("outcome_count",),
        },
        default="-published",
    )

    class Meta:
        model = Source
        fields = []


def sources_with_counts():
    return Source.objects.defer("text").annotate(outcome_count=related_count(Outcome, "source"))
