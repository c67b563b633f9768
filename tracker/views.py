"""The site as a whole: the home page (counts of every public list, the largest figures, a search across
them) and the health check."""

from django.db import connection
from django.db.utils import DatabaseError
from django.http import JsonResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django.views.generic import TemplateView

from core import registry
from core.listing import MAX_Q_LENGTH, cached_counts, search_notices
from core.presenting import linked_only
from core.search import search, search_terms
from core.views import READ_ONLY
from programs.models import Outcome


@never_cache
@require_safe
def healthz(request):
    """200 with a small JSON body when the database answers, 503 when it does not."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return JsonResponse(
            {"status": "error", "database": "unavailable", "detail": exc.__class__.__name__},
            status=503,
        )
    return JsonResponse({"status": "ok", "database": connection.vendor})


class HomeView(TemplateView):
    """What the site is, how much it holds, the largest figures, and a search across every list."""

    template_name = "home.html"
    http_method_names = READ_ONLY

    def get_context_data(self, **kwargs):
        q = self.request.GET.get("q", "").replace("\x00", "")[:MAX_Q_LENGTH].strip()
        terms = search_terms(q)[0]
        notices = search_notices(q)
        if not terms:  # nothing to search for (``q=%``): the plain overview
            q = ""
        lists_shown = registry.public_lists()
        wanted = {}
        for record_type in lists_shown:
            key, model = record_type.key, record_type.model_class
            wanted[key] = model.objects.count
            if q:
                wanted[f"{key}-matches"] = lambda model=model: search(model.objects.all(), q).count()
        # Counted once per search (and per data generation) for every visitor, like the lists' totals.
        counts = cached_counts(["home", " ".join(terms)], wanted)
        lists = []
        for record_type in lists_shown:
            key = record_type.key
            item = {"key": key, "label": record_type.label, "url": reverse(record_type.list_url),
                    "count": counts[key]}
            if q:
                item["matches"] = counts[f"{key}-matches"]
            lists.append(item)
        largest = linked_only(Outcome.objects.largest_in("元"), "program", "fund", "county", "source")[:6]
        return super().get_context_data(lists=lists, q=q, notices=notices, largest=list(largest), **kwargs)
