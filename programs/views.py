"""Public list and detail pages for programs, funds, outcomes and sources.

Lists are configuration over config.listing.ListExportMixin; details gather what a page links to.
"""

from django.views.generic import DetailView
from django_filters.views import FilterView

from config.listing import ListExportMixin
from config.presenting import figure_charts, first_rows, highlight_quotes
from envoys.models import Posting
from programs.filtersets import (
    FundFilterSet,
    OutcomeFilterSet,
    ProgramFilterSet,
    SourceFilterSet,
    funds_with_counts,
    programs_with_counts,
    sources_with_counts,
)
from programs.models import Fund, Outcome, Program, Source
from programs.resources import FundResource, OutcomeResource, ProgramResource, SourceResource

OUTCOME_RELATED = ("program", "fund", "county", "source")


class ProgramListView(ListExportMixin, FilterView):
    queryset = programs_with_counts()
    filterset_class = ProgramFilterSet
    resource_class = ProgramResource
    template_name = "programs/program_list.html"
    list_name = "programs"


class ProgramDetailView(DetailView):
    queryset = Program.objects.select_related("fund", "parent")
    template_name = "programs/program_detail.html"
    http_method_names = ["get", "head", "options"]

    def get_context_data(self, **kwargs):
        program = self.object
        counties = list(program.counties.select_related("province", "prefecture"))
        outcomes = list(program.outcomes.select_related(*OUTCOME_RELATED).order_by("metric", "period_end", "pk"))
        return super().get_context_data(
            counties=counties,
            organizations=list(program.organizations.all()),
            children=list(program.children.all()),
            postings=list(
                Posting.objects.filter(county__in=counties).select_related("envoy", "county").order_by("start", "pk")
            ),
            outcomes=outcomes,
            charts=figure_charts(outcomes),
            sources=list(program.sources.defer("text")),
            **kwargs,
        )


class FundListView(ListExportMixin, FilterView):
    queryset = funds_with_counts()
    filterset_class = FundFilterSet
    resource_class = FundResource
    template_name = "programs/fund_list.html"
    list_name = "funds"


class FundDetailView(DetailView):
    queryset = Fund.objects.select_related("successor")
    template_name = "programs/fund_detail.html"
    http_method_names = ["get", "head", "options"]

    def get_context_data(self, **kwargs):
        fund = self.object
        outcomes = list(
            Outcome.objects.filter(fund=fund).select_related(*OUTCOME_RELATED).order_by("metric", "period_end", "pk")
        )
        programs, program_total = first_rows(fund.programs.defer("search_text", "search_tokens").order_by("name"))
        program_outcomes, program_outcome_total = first_rows(
            Outcome.objects.filter(program__fund=fund).exclude(fund=fund)
            .select_related(*OUTCOME_RELATED).defer("source__text").order_by("metric", "period_end", "pk")
        )
        return super().get_context_data(
            programs=programs,
            program_total=program_total,
            predecessors=list(fund.predecessors.all()),
            outcomes=outcomes,
            program_outcomes=program_outcomes,
            program_outcome_total=program_outcome_total,
            charts=figure_charts(outcomes),
            sources=list(fund.sources.defer("text")),
            **kwargs,
        )


class OutcomeListView(ListExportMixin, FilterView):
    queryset = Outcome.objects.select_related(*OUTCOME_RELATED).defer("source__text")
    filterset_class = OutcomeFilterSet
    resource_class = OutcomeResource
    template_name = "programs/outcome_list.html"
    list_name = "outcomes"


class OutcomeDetailView(DetailView):
    queryset = Outcome.objects.select_related("program", "fund", "county__province", "source")
    template_name = "programs/outcome_detail.html"
    http_method_names = ["get", "head", "options"]


class SourceListView(ListExportMixin, FilterView):
    queryset = sources_with_counts()
    filterset_class = SourceFilterSet
    resource_class = SourceResource
    template_name = "programs/source_list.html"
    list_name = "sources"


class SourceDetailView(DetailView):
    model = Source
    template_name = "programs/source_detail.html"
    http_method_names = ["get", "head", "options"]

    def get_context_data(self, **kwargs):
        outcomes = list(self.object.outcomes.select_related("program", "fund", "county").order_by("pk"))
        return super().get_context_data(
            outcomes=outcomes,
            article=highlight_quotes(self.object.text, outcomes),
            **kwargs,
        )
