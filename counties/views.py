"""Public list and detail pages for counties."""

from django.utils.translation import gettext_lazy as _
from django_filters.views import FilterView

from core.listing import Column, ListExportMixin
from core.presenting import figure_rows, first_rows, linked_only
from core.views import RecordDetailView
from counties.filtersets import CountyFilterSet, counties_with_counts
from counties.maps import county_map
from counties.models import County
from counties.resources import CountyResource


class CountyListView(ListExportMixin, FilterView):
    queryset = counties_with_counts()
    filterset_class = CountyFilterSet
    resource_class = CountyResource
    template_name = "counties/county_list.html"
    list_name = "counties"
    columns = (
        Column(_("name"), sort="name", value="name", link="row"),
        Column(_("kind"), sort="kind", value="get_kind_display"),
        Column(_("prefecture"), sort="prefecture", value="prefecture", link="value"),
        Column(_("province"), sort="province", value="province", link="value"),
        Column(_("division code"), sort="code", value="code", css="nowrap"),
        Column(_("designations"), sort="designations", cell="counties/cells/county_designations.html"),
        Column(_("programs"), sort="programs", value="program_count", css="num"),
    )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if not context.get("errors"):
            context["county_map"] = county_map(self.filterset.qs)  # every county of the filtered list
        return context


class CountyDetailView(RecordDetailView):
    queryset = County.objects.select_related("province", "prefecture")
    template_name = "counties/county_detail.html"

    def get_context_data(self, **kwargs):
        county = self.object
        programs, program_total = first_rows(linked_only(county.programs.all(), "fund").order_by("name"))
        return super().get_context_data(
            designations=list(linked_only(county.designations.all(), "source")),
            programs=programs,
            program_total=program_total,
            postings=list(county.postings.select_related("envoy").order_by("start", "pk")),
            outcomes=list(figure_rows(county.outcomes.all())),
            **kwargs,
        )
