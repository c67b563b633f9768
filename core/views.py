"""The views every record app's detail pages share (the list/export view is core.listing)."""

from django.views.generic import DetailView

READ_ONLY = ["get", "head", "options"]


class RecordDetailView(DetailView):
    """One record's public page: read-only, like every public page."""

    http_method_names = READ_ONLY
