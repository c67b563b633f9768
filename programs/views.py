"""Public list and detail pages for programs, funds, outcomes and sources.

Placeholder generic views until the public browsing issue gives them filters and exports.
"""

from django.views.generic import DetailView, ListView

from programs.models import Fund, Outcome, Program, Source


class ProgramListView(ListView):
    queryset = Program.objects.select_related("fund")
    template_name = "programs/program_list.html"
    paginate_by = 50


class ProgramDetailView(DetailView):
    model = Program
    template_name = "programs/program_detail.html"


class FundListView(ListView):
    model = Fund
    template_name = "programs/fund_list.html"
    paginate_by = 50


class FundDetailView(DetailView):
    model = Fund
    template_name = "programs/fund_detail.html"


class OutcomeListView(ListView):
    queryset = Outcome.objects.select_related("program", "fund", "county", "source")
    template_name = "programs/outcome_list.html"
    paginate_by = 50


class OutcomeDetailView(DetailView):
    model = Outcome
    template_name = "programs/outcome_detail.html"


class SourceListView(ListView):
    model = Source
    template_name = "programs/source_list.html"
    paginate_by = 50


class SourceDetailView(DetailView):
    model = Source
    template_name = "programs/source_detail.html"
