"""Public list and detail pages for envoys."""

from django.views.generic import DetailView, ListView

from envoys.models import Envoy


class EnvoyListView(ListView):
    model = Envoy
    template_name = "envoys/envoy_list.html"
    paginate_by = 50


class EnvoyDetailView(DetailView):
    model = Envoy
    template_name = "envoys/envoy_detail.html"
