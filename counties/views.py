"""Public list and detail pages for counties."""

from django.views.generic import DetailView, ListView

from counties.models import County


class CountyListView(ListView):
    queryset = County.objects.select_related("province", "prefecture")
    template_name = "counties/county_list.html"
    paginate_by = 50


class CountyDetailView(DetailView):
    model = County
    template_name = "counties/county_detail.html"
