"""The views every record app's detail pages share (the list/export view is core.listing)."""

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.generic import DetailView

from core import registry
from core.listing import json_records

READ_ONLY = ["get", "head", "options"]


class RecordDetailView(DetailView):
    """One record's public page: read-only, like every public page.

    ``?format=json`` answers the record as one object, the same object as its row in the list's JSON
    ``results`` (the Resource's export columns, ``url`` and the Resource's extras; see
    core.listing.json_records): the registry names the Resource of the view's model.
    """

    http_method_names = READ_ONLY

    def get(self, request, *args, **kwargs):
        fmt = request.GET.get("format", "").strip()
        if not fmt or fmt == "html":
            return super().get(request, *args, **kwargs)
        if fmt != "json":
            message = _("“%(value)s” is not a format of this page; use json.") % {"value": fmt[:30]}
            return JsonResponse(
                {"errors": {"format": [message]}}, status=400, json_dumps_params={"ensure_ascii": False}
            )
        queryset = self.get_queryset()
        resource_class = registry.for_model(queryset.model).resource_class
        self.object = self.get_object(resource_class.prepare_export_queryset(queryset))
        record = json_records(resource_class, [self.object], request.build_absolute_uri)[0]
        return JsonResponse(record, json_dumps_params={"ensure_ascii": False})
