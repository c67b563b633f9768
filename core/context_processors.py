"""What every public page's frame needs: the lists to link to, and where the language switch returns."""

from core import registry
from core.links import list_url


def site(request):
    path = request.path
    items = []
    for record_type in registry.public_lists():
        url = list_url(record_type.list_url)
        items.append({"key": record_type.key, "url": url, "label": record_type.label,
                      "current": path.startswith(url)})
    return {"nav_lists": items, "return_to": request.get_full_path()}
