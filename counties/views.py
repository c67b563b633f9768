"""Public list and detail pages for counties."""

from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django_filters.views import FilterView

from core.listing import Column, ListExportMixin, cached_counts, related_count
from core.presenting import figure_rows, first_rows, linked_only
from core.views import RecordDetailView
from counties import cells
from counties.filtersets import CountyFilterSet, counties_with_counts
from counties.maps import county_map
from counties.models import County
from counties.resources import CountyResource


class CountyListView(ListExportMixin, FilterView):
    # The programs counted with COUNT(*), which PostgreSQL answers from the county_id index alone (sorted by
    # programs: 95 ms instead of 175 ms, where COUNT(id) reads every link row from the table).
    queryset = counties_with_counts().annotate(
        program_count=related_count(County.programs.through, "county", counted="*")
    )
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
        Column(_("designations"), sort="designations", cell=cells.county_designations),
        Column(_("programs"), sort="programs", value="program_count", css="num"),
    )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if not context.get("errors"):
            context["county_map"] = self.county_map()
        return context

    def county_map(self):
        """The map of every county of the filtered list. It is the same for every request with the same filters
        (whatever the sort or page) and language until the data changes, and drawing 2,500 counties costs more
        than a page should (70 ms), so it is kept per data generation in this process's memory beside the
        list's counts (core.listing.cached_counts)."""
        counties = self.filterset.qs.order_by()
        key_parts = ["counties:map", get_language(), str(counties.query)]
        return cached_counts(key_parts, {"map": lambda: county_map(counties)})["map"]


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
