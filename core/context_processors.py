"""What every public page's frame needs: the lists to link to, and where the language switch returns."""

from django.urls import reverse

from core import registry


def site(request):
    path = request.path
    items = []
    for record_type in registry.public_lists():
        url = reverse(record_type.list_url)
        items.append({"key": record_type.key, "url": url, "label": record_type.label,
                      "current": path.startswith(url)})
    return {"nav_lists": items, "return_to": request.get_full_path()}
