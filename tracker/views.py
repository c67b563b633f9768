"""The site as a whole: the home page (counts of every public list, the largest figures, a search across
them), the timeline of every record's dated events, and the health check."""

import csv

from django.db import connection
from django.db.models import Count
from django.db.utils import DatabaseError
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from django.views.generic import TemplateView

from core import registry
from core.importing import escape_formula
from core.listing import (
    DEFAULT_PER_PAGE,
    FORMATS,
    MAX_PER_PAGE,
    MAX_Q_LENGTH,
    BadQuery,
    cached_counts,
    parse_positive,
    query_string,
    search_notices,
)
from core.presenting import linked_only
from core.search import search, search_terms
from core.views import READ_ONLY
from programs.models import Indicator, Outcome
from programs.services import indicator_charts as draw_charts
from programs.templatetags.indicators import HEADLINE_LIMIT
from tracker import timeline


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
        if not q:  # the overview's figures (ties newest first) and headline series: their keys, kept like the counts
            wanted["largest"] = lambda: list(
                Outcome.objects.largest_in("元").order_by("-value", "-pk").values_list("pk", flat=True)[:6])
            wanted["headline"] = headline_indicators
        counts = cached_counts(["home", " ".join(terms)], wanted)
        lists = []
        for record_type in lists_shown:
            key = record_type.key
            item = {"key": key, "label": record_type.label, "url": reverse(record_type.list_url),
                    "count": counts[key]}
            if q:
                item["matches"] = counts[f"{key}-matches"]
            lists.append(item)
        context = {"lists": lists, "q": q, "notices": notices, "largest": [], "headline": []}
        if not q:
            context["largest"] = in_order(
                linked_only(Outcome.objects.all(), "program", "fund", "county", "source"), counts["largest"])
            context["headline"] = draw_charts(indicators=in_order(linked_only(Indicator.objects.all()),
                                                                  counts["headline"]))
        return super().get_context_data(**context, **kwargs)


def in_order(queryset, pks) -> list:
    """The rows of ``queryset`` whose keys are ``pks``, in that order (one query)."""
    found = {row.pk: row for row in queryset.filter(pk__in=pks)} if pks else {}
    return [found[pk] for pk in pks if pk in found]


def headline_indicators() -> list[int]:
    """The home page's headline series: the keys of the ``HEADLINE_LIMIT`` indicators whose figures with a
    value give the most dates (then the most values, then by name), among those with two dates at least (a
    line, not one point that several articles repeat), as ``{% headline_charts %}`` chooses them.

    Counted on the outcomes alone, from their partial index of (indicator, period end) where both indicator
    and value are set (Outcome.Meta), rather than on every indicator joined to its outcomes and grouped by
    all of its columns: 1.2 s to 0.1 s at 500,000 outcomes; the home page keeps the answer like its counts.
    """
    rows = (
        Outcome.objects.filter(indicator__isnull=False, value__isnull=False)
        .values("indicator")
        .annotate(date_count=Count("period_end", distinct=True), value_count=Count("*"))  # *: read off the index
        .filter(date_count__gte=2)
        .order_by("-date_count", "-value_count", "indicator__name", "indicator")
        .values_list("indicator", flat=True)[:HEADLINE_LIMIT]
    )
    return list(rows)


class _Echo:
    def write(self, value):
        return value


class TimelineView(TemplateView):
    """``/timeline/``: the dated events of the funds, programs, envoys and articles (tracker.timeline), one
    page at a time; ``format=csv`` all of them, ``format=json`` a page, the same rows in the same order.
    A value that cannot be understood is a 400 naming it, as on the lists."""

    template_name = "timeline.html"
    http_method_names = READ_ONLY

    def get(self, request, *args, **kwargs):
        params = request.GET
        fmt = params.get("format", "").strip() or "html"
        form = timeline.TimelineForm(params)
        errors = {}
        if fmt not in FORMATS:
            errors["format"] = [_("“%(value)s” is not a format; use csv or json.") % {"value": fmt[:30]}]
            fmt = "html"
        if not form.is_valid():
            errors.update({name: [str(m) for m in messages] for name, messages in form.errors.items()})
        number = per_page = None
        try:
            number = parse_positive(params, "page", 1)
        except BadQuery as exc:
            errors.update(exc.errors)
        try:
            per_page = parse_positive(params, "per_page", DEFAULT_PER_PAGE, MAX_PER_PAGE)
        except BadQuery as exc:
            errors.update(exc.errors)
        if errors:
            return self.bad_request(form, errors, fmt)
        if fmt != "html" and request.method == "HEAD":  # headers only: nothing read or counted
            return self.csv_response([]) if fmt == "csv" else StreamingHttpResponse([], content_type="application/json")

        # What the events depend on, counted once per set of filters and data generation, like a list's total.
        unsorted = form.timeline()
        known = cached_counts(form.key_parts(), {"counts": unsorted.count_by_precision,
                                                 "articles": unsorted.articles_about})
        counts = known["counts"]
        events = form.timeline(**known)
        if fmt == "csv":
            return self.csv_response(events.all())
        total = sum(sum(groups) for groups in counts.values())
        pages = max(1, -(-total // per_page))
        if number > pages:
            return self.bad_request(form, {"page": [_("There is no page %(page)s; there are %(pages)s.") % {
                "page": number, "pages": pages}]}, fmt)
        rows = events.page((number - 1) * per_page, per_page)
        if fmt == "json":
            return self.json_response(rows, total, number, pages)
        page = {
            "number": number, "pages": pages,
            "first": (number - 1) * per_page + 1 if rows else 0, "last": (number - 1) * per_page + len(rows),
            "previous_url": query_string(params, page=number - 1) if number > 1 else None,
            "next_url": query_string(params, page=number + 1) if number < pages else None,
            "first_url": query_string(params, drop=("page",)) if number > 1 else None,
            "last_url": query_string(params, page=pages) if number < pages else None,
        }
        context = self.get_context_data(form=form, events=rows, total=total, page=page, total_exact=True,
                                        per_page=per_page)
        return self.render_to_response(context)

    def get_context_data(self, **kwargs):
        params = self.request.GET
        form = kwargs["form"]
        choices = cached_counts(["timeline-choices"], {"choices": timeline.filter_choices})["choices"]
        selected = form.cleaned_data if form.is_bound and not form.errors else {}
        filters = []
        for name in form.FILTERS:
            options = list(choices[name])
            chosen = selected.get(name)
            if chosen is not None and chosen.slug not in {slug for slug, _label in options}:
                options.append((chosen.slug, chosen.name))
            filters.append({"name": name, "label": form.fields[name].label, "options": options,
                            "value": params.get(name, "")})
        descending = params.get("sort", "") == "-date"
        return super().get_context_data(
            filters=filters, descending=descending, errors=kwargs.pop("errors", []),
            csv_url=query_string(params, drop=("page", "format"), format="csv"),
            json_url=query_string(params, drop=("page", "format"), format="json"),
            date_sort_url=query_string(params, drop=("page",), sort="date" if descending else "-date"),
            per_page_choices=[20, 50, 100, 200], **kwargs,
        )

    def bad_request(self, form, errors, fmt):
        messages = [{"parameter": name, "value": self.request.GET.get(name, "")[:80], "messages": found}
                    for name, found in errors.items()]
        if fmt == "json":
            return JsonResponse({"errors": {m["parameter"]: m["messages"] for m in messages}}, status=400)
        if fmt == "csv":
            body = "\n".join(f"{m['parameter']}: {' '.join(m['messages'])}" for m in messages)
            return HttpResponse(body + "\n", status=400, content_type="text/plain; charset=utf-8")
        context = self.get_context_data(form=form, errors=messages, events=[], per_page=DEFAULT_PER_PAGE)
        return TemplateResponse(self.request, self.get_template_names(), context, status=400)

    def csv_response(self, events):
        """UTF-8 with a byte-order mark, a header, one row per event, streamed; cells escaped as the
        lists' are (core.importing.escape_formula)."""
        absolute = self.request.build_absolute_uri
        writer = csv.writer(_Echo())

        def lines():
            yield "\ufeff" + writer.writerow(timeline.COLUMNS)
            for event in events:
                row = timeline.export_row(event, absolute)
                yield writer.writerow([escape_formula(row[name]) for name in timeline.COLUMNS])

        response = StreamingHttpResponse((line.encode("utf-8") for line in lines()),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="timeline-{timezone.localdate():%Y-%m-%d}.csv"'
        return response

    def json_response(self, events, total, number, pages):
        request = self.request

        def page_url(n):
            return request.build_absolute_uri(request.path + query_string(request.GET, page=n))

        return JsonResponse(
            {
                "count": total,
                "next": page_url(number + 1) if number < pages else None,
                "previous": page_url(number - 1) if number > 1 else None,
                "results": [timeline.export_row(event, request.build_absolute_uri) for event in events],
            },
            json_dumps_params={"ensure_ascii": False},
        )
