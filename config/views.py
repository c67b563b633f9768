"""Views shared by every app: the home page and the health check (the list/export mixin is config.listing)."""

from django.db import connection
from django.db.utils import DatabaseError
from django.http import JsonResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django.views.generic import DetailView, TemplateView

from config.context_processors import LISTS
from config.listing import MAX_Q_LENGTH, cached_counts, search_notices
from config.presenting import linked_only
from config.search import search, search_terms
from counties.models import County
from envoys.models import Envoy
from programs.models import Fund, Outcome, Program, Source

READ_ONLY = ["get", "head", "options"]


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
    models = {"programs": Program, "funds": Fund, "counties": County, "envoys": Envoy,
              "outcomes": Outcome, "sources": Source}

    def get_context_data(self, **kwargs):
        q = self.request.GET.get("q", "").replace("\x00", "")[:MAX_Q_LENGTH].strip()
        terms = search_terms(q)[0]
        notices = search_notices(q)
        if not terms:  # nothing to search for (``q=%``): the plain overview
            q = ""
        wanted = {}
        for key, model in self.models.items():
            wanted[key] = model.objects.count
            if q:
                wanted[f"{key}-matches"] = lambda model=model: search(model.objects.all(), q).count()
        # Counted once per search (and per data generation) for every visitor, like the lists' totals.
        counts = cached_counts(["home", " ".join(terms)], wanted)
        lists = []
        for key, url_name, label in LISTS:
            item = {"key": key, "label": label, "url": reverse(url_name), "count": counts[key]}
            if q:
                item["matches"] = counts[f"{key}-matches"]
            lists.append(item)
        largest = linked_only(Outcome.objects.largest_in("元"), "program", "fund", "county", "source")[:6]
        return super().get_context_data(lists=lists, q=q, notices=notices, largest=list(largest), **kwargs)


class RecordDetailView(DetailView):
    """One record's public page: read-only, like every public page."""

    http_method_names = READ_ONLY
