"""Public list and detail pages for envoys."""

from django.utils.translation import gettext_lazy as _
from django_filters.views import FilterView

from core.listing import Column, ListExportMixin
from core.presenting import figure_rows, linked_only
from core.views import RecordDetailView
from envoys import cells
from envoys.filtersets import EnvoyFilterSet, envoys_with_postings
from envoys.models import Envoy
from envoys.resources import EnvoyResource
from programs.models import Outcome


class EnvoyListView(ListExportMixin, FilterView):
    queryset = envoys_with_postings()
    filterset_class = EnvoyFilterSet
    resource_class = EnvoyResource
    template_name = "envoys/envoy_list.html"
    list_name = "envoys"
    columns = (
        Column(_("name"), sort="name", value="name", link="row"),
        Column(_("nickname"), sort="nickname", value="nickname"),
        Column(_("role"), sort="role", value="get_role_display"),
        Column(_("joined"), sort="joined_year", value="joined_year", css="num"),
        Column(_("batch"), sort="batch", value="batch"),
        Column(_("counties"), sort="counties", cell=cells.envoy_counties),
    )


class EnvoyDetailView(RecordDetailView):
    queryset = Envoy.objects.select_related("organization")
    template_name = "envoys/envoy_detail.html"

    def get_context_data(self, **kwargs):
        envoy = self.object
        postings = list(envoy.postings.select_related("county__province").order_by("start", "pk"))
        return super().get_context_data(
            postings=postings,
            outcomes=list(
                figure_rows(Outcome.objects.filter(county__in=[p.county_id for p in postings]))
                .order_by("county__name", "metric", "pk")
            ),
            sources=list(linked_only(envoy.sources.all())),
            **kwargs,
        )
