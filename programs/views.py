"""Public list and detail pages for programs, funds, indicators, outcomes and sources.

Lists are configuration over core.listing.ListExportMixin (their table's columns included); details
gather what a page links to.
"""

from django.utils.translation import gettext_lazy as _
from django_filters.views import FilterView

from core.listing import Column, ListExportMixin, related_count
from core.presenting import figure_charts, figure_rows, first_rows, highlight_quotes, linked_only
from core.search import derived_columns
from core.views import RecordDetailView
from counties.maps import county_map
from counties.models import County
from programs import cells
from programs.filtersets import (
    FundFilterSet,
    IndicatorFilterSet,
    OutcomeFilterSet,
    ProgramFilterSet,
    SourceFilterSet,
    indicators_with_counts,
    programs_with_counts,
    sources_with_counts,
)
from programs.models import Fund, Indicator, Outcome, Program, Source
from programs.resources import (
    FundResource,
    IndicatorResource,
    OutcomeResource,
    ProgramResource,
    SourceResource,
)
from programs.services import indicator_figure, read_series


class ProgramListView(ListExportMixin, FilterView):
    queryset = programs_with_counts()
    filterset_class = ProgramFilterSet
    resource_class = ProgramResource
    template_name = "programs/program_list.html"
    list_name = "programs"
    columns = (
        Column(_("name"), sort="name", cell=cells.program_name),
        Column(_("area"), sort="area", cell=cells.program_area),
        Column(_("fund"), sort="fund", value="fund", link="value"),
        Column(_("start"), sort="start", value="start_display", css="nowrap"),
        Column(_("end"), sort="end", value="end_display", css="nowrap"),
        Column(_("counties"), sort="counties", value="county_count", css="num"),
    )


class ProgramDetailView(RecordDetailView):
    queryset = Program.objects.select_related("fund", "parent")
    template_name = "programs/program_detail.html"

    def get_context_data(self, **kwargs):
        program = self.object
        counties = list(program.counties.select_related("province", "prefecture"))
        map_of_counties = county_map(program.counties.all())
        outcomes = list(figure_rows(program.outcomes.all()))
        return super().get_context_data(
            counties=counties,
            organizations=list(program.organizations.all()),
            children=list(program.children.all()),
            # envoys posted to the program's counties (envoys sits above programs: reached through the relation)
            postings=list(
                County.postings.rel.related_model.objects.filter(county__in=counties)
                .select_related("envoy", "county").order_by("start", "pk")
            ),
            outcomes=outcomes,
            charts=figure_charts(outcomes),
            sources=list(linked_only(program.sources.all())),
            county_map=map_of_counties,
            **kwargs,
        )


class FundListView(ListExportMixin, FilterView):
    # COUNT(*), not COUNT(id): PostgreSQL then answers each fund's count from the fund_id index alone (an
    # index-only scan, 20 ms for 25 funds at 100,000 programs) instead of reading every program row of the
    # fund from the table to check its id (190 ms). Same numbers: a program's id is never NULL.
    queryset = Fund.objects.select_related("successor").annotate(
        program_count=related_count(Program, "fund", counted="*")
    )
    filterset_class = FundFilterSet
    resource_class = FundResource
    template_name = "programs/fund_list.html"
    list_name = "funds"
    columns = (
        Column(_("name"), sort="name", value="name", link="row"),
        Column(_("founded"), sort="founded", value="founded_display", css="nowrap"),
        Column(_("commitment"), sort="commitment", cell=cells.fund_commitment, css="num"),
        Column(_("became"), sort="successor", value="successor", link="value"),
        Column(_("programs"), sort="programs", value="program_count", css="num"),
    )


class FundDetailView(RecordDetailView):
    queryset = Fund.objects.select_related("successor")
    template_name = "programs/fund_detail.html"

    def get_context_data(self, **kwargs):
        fund = self.object
        outcomes = list(figure_rows(fund.outcomes.all()))
        programs, program_total = first_rows(linked_only(fund.programs.all()).order_by("name"))
        program_outcomes, program_outcome_total = first_rows(
            figure_rows(Outcome.objects.filter(program__fund=fund).exclude(fund=fund))
        )
        return super().get_context_data(
            programs=programs,
            program_total=program_total,
            predecessors=list(fund.predecessors.all()),
            outcomes=outcomes,
            program_outcomes=program_outcomes,
            program_outcome_total=program_outcome_total,
            charts=figure_charts(outcomes),
            sources=list(linked_only(fund.sources.all())),
            county_map=county_map(County.objects.filter(programs__fund=fund)),  # where its programs work
            **kwargs,
        )


class IndicatorListView(ListExportMixin, FilterView):
    queryset = indicators_with_counts()
    filterset_class = IndicatorFilterSet
    resource_class = IndicatorResource
    template_name = "programs/indicator_list.html"
    list_name = "indicators"
    columns = (
        Column(_("name"), sort="name", cell=cells.indicator_name),
        Column(_("quantity"), sort="quantity", value="get_quantity_display"),
        Column(_("unit"), sort="unit", value="base_unit"),
        Column(_("program"), sort="program", value="program", link="value"),
        Column(_("fund"), sort="fund", value="fund", link="value"),
        Column(_("county"), sort="county", value="county", link="value"),
        Column(_("figures"), sort="outcomes", value="outcome_count", css="num"),
    )


class IndicatorDetailView(RecordDetailView):
    queryset = linked_only(Indicator.objects.all(), "fund", "program", "county")
    template_name = "programs/indicator_detail.html"

    def get_context_data(self, **kwargs):
        series = read_series(indicator=self.object)
        return super().get_context_data(
            series=series,
            chart=indicator_figure(series=series),
            sources=list(linked_only(self.object.sources.all())),
            **kwargs,
        )


class OutcomeListView(ListExportMixin, FilterView):
    queryset = linked_only(Outcome.objects.all(), "program", "fund", "county", "source")
    filterset_class = OutcomeFilterSet
    resource_class = OutcomeResource
    template_name = "programs/outcome_list.html"
    list_name = "outcomes"
    columns = (
        Column(_("metric"), sort="metric", value="metric", link="row"),
        Column(_("value"), sort="value", cell=cells.outcome_value, css="num"),
        Column(_("kind"), sort="kind", value="get_kind_display"),
        Column(_("period"), sort="period", value="period_display", css="nowrap"),
        Column(_("program"), sort="program", value="program", link="value"),
        Column(_("fund"), sort="fund", value="fund", link="value"),
        Column(_("county"), sort="county", value="county", link="value"),
        Column(_("source"), sort="source", cell=cells.outcome_source),
    )


class OutcomeDetailView(RecordDetailView):
    queryset = linked_only(Outcome.objects.select_related("county__province"), "program", "fund", "source", "indicator")
    template_name = "programs/outcome_detail.html"

    def get_context_data(self, **kwargs):
        return super().get_context_data(
            disagreeing=list(linked_only(Outcome.objects.disagreeing_with(self.object), "source").order_by("pk")),
            **kwargs,
        )


class SourceListView(ListExportMixin, FilterView):
    queryset = sources_with_counts()
    filterset_class = SourceFilterSet
    resource_class = SourceResource
    template_name = "programs/source_list.html"
    list_name = "sources"
    columns = (
        Column(_("title"), sort="title", value="title", link="row"),
        Column(_("publisher"), sort="publisher", value="publisher"),
        Column(_("published"), sort="published", value="published_display", css="nowrap"),
        Column(_("script"), sort="script", value="get_script_display"),
        Column(_("figures"), sort="outcomes", value="outcome_count", css="num"),
    )


class SourceDetailView(RecordDetailView):
    queryset = Source.objects.defer(*derived_columns(Source))  # the article is printed; its search columns are not
    template_name = "programs/source_detail.html"

    def get_context_data(self, **kwargs):
        outcomes = list(self.object.outcomes.order_by("pk"))  # the page prints each figure, not what it is for
        return super().get_context_data(
            outcomes=outcomes,
            article=highlight_quotes(self.object.text, outcomes),
            **kwargs,
        )
