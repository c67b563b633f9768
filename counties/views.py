"""Public list and detail pages for counties."""

from django.views.generic import DetailView
from django_filters.views import FilterView

from config.listing import ListExportMixin
from config.presenting import first_rows
from counties.filtersets import CountyFilterSet, counties_with_counts
from counties.models import County
from counties.resources import CountyResource


class CountyListView(ListExportMixin, FilterView):
    queryset = counties_with_counts()
    filterset_class = CountyFilterSet
    resource_class = CountyResource
    template_name = "counties/county_list.html"
    list_name = "counties"


class CountyDetailView(DetailView):
    queryset = County.objects.select_related("province", "prefecture")
    template_name = "counties/county_detail.html"
    http_method_names = ["get", "head", "options"]

    def get_context_data(self, **kwargs):
        county = self.object
        programs, program_total = first_rows(
            county.programs.select_related("fund").defer("search_text", "search_tokens").order_by("name"))
        return super().get_context_data(
            designations=list(county.designations.select_related("source")),
            programs=programs,
            program_total=program_total,
            postings=list(county.postings.select_related("envoy").order_by("start", "pk")),
            outcomes=list(
                county.outcomes.select_related("program", "fund", "source").order_by("metric", "period_end", "pk")
            ),
            **kwargs,
        )
