"""What changed: the recent changes to the public records, read from their history (django-simple-history).

Every record type of :mod:`core.registry` keeps a history row for each save and delete (see
core.records.Record). ``/changes/`` lists them newest first: what kind of record, which one, and whether
it was created, changed (with the names of the fields that changed, many-to-many links included) or
deleted; who made a change is never shown. ``type=`` (a registry key, repeatable), ``since=`` and
``until=`` (days, YYYY-MM-DD, both included, in the site's time zone) narrow it; ``format=csv`` gives all
of the matching changes, ``format=json`` a page, as every list does. ``/changes/feed/`` is an Atom feed
of the latest changes (the same filters).

The queries do not grow with the page: one ``UNION ALL`` over the history tables finds the page (and one
counts it), then, for each record type on the page, one query reads its history rows with the id of the
row before each, one the rows before, one the records as they are now (for their pages), and one per
many-to-many field the links of both. See ``tracker/tests/test_changes.py``.
"""

from __future__ import annotations

import csv
import datetime
from collections import defaultdict
from dataclasses import dataclass, field

from django import forms
from django.contrib.syndication.views import Feed
from django.db.models import CharField, OuterRef, Q, Subquery, Value
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext, pgettext_lazy
from django.views import View
from simple_history import utils as history_utils

from core import registry
from core.importing import escape_formula, heavy_columns
from core.listing import (
    CSV_CHUNK_SIZE,
    DEFAULT_PER_PAGE,
    MAX_PER_PAGE,
    BadQuery,
    DayField,
    cached_counts,
    day_start,
    parse_positive,
    query_string,
)
from core.views import READ_ONLY

ACTIONS = {"+": "created", "~": "changed", "-": "deleted"}
ACTION_LABELS = {
    "created": pgettext_lazy("a record was", "created"),
    "changed": pgettext_lazy("a record was", "changed"),
    "deleted": pgettext_lazy("a record was", "deleted"),
}
# Raised or set by every save, or the key itself: never "what changed".
UNSHOWN_FIELDS = {"id", "version", "created_at"}
# The field that names a record when it no longer exists (else its slug).
NAME_FIELDS = ("name", "title")
HEADERS = ["date", "type", "action", "slug", "name", "fields", "url"]
FEED_SIZE = 50


# ---------------------------------------------------------------------------
# What the URL asks for


class ChangesForm(forms.Form):
    since = DayField(required=False)
    until = DayField(required=False)


@dataclass(frozen=True)
class Query:
    """The record types asked for (all when ``type`` is absent) and the days, both included."""

    types: tuple[registry.RecordType, ...]
    since: datetime.date | None = None
    until: datetime.date | None = None

    @property
    def key_parts(self) -> list:
        return ["changes", [t.key for t in self.types], str(self.since or ""), str(self.until or "")]


def read_query(params) -> Query:
    """The filters of ``params``; a value that cannot be understood raises BadQuery naming it."""
    errors = {}
    known = {t.key: t for t in registry.record_types()}
    asked = [key.strip() for value in params.getlist("type") for key in value.split(",") if key.strip()]
    unknown = [key for key in asked if key not in known]
    if unknown:
        errors["type"] = [_("“%(value)s” is not a record type; use one of: %(choices)s.") % {
            "value": unknown[0][:60], "choices": ", ".join(known)}]
    form = ChangesForm(params)
    if not form.is_valid():
        for name, messages in form.errors.items():
            errors[name] = [str(m) for m in messages]
    if errors:
        raise BadQuery(errors)
    since, until = form.cleaned_data["since"], form.cleaned_data["until"]
    if since and until and until < since:
        raise BadQuery({"until": [_("%(until)s is before since=%(since)s.") % {"until": until, "since": since}]})
    types = tuple(t for t in registry.record_types() if t.key in asked) if asked else tuple(registry.record_types())
    return Query(types=types, since=since, until=until)


# ---------------------------------------------------------------------------
# Finding the changes


def history_model(record_type):
    return record_type.model_class.history.model


def matching_rows(query: Query):
    """The history rows ``query`` asks for, newest first, as ``{history_id, history_date, history_type,
    record_type}``: one query over every history table (``UNION ALL``)."""
    parts = []
    for record_type in query.types:
        rows = history_model(record_type).objects.order_by()
        if query.since:
            rows = rows.filter(history_date__gte=day_start(query.since))
        if query.until:
            rows = rows.filter(history_date__lt=day_start(query.until + datetime.timedelta(days=1)))
        parts.append(
            rows.annotate(record_type=Value(record_type.key, output_field=CharField()))
            .values("history_id", "history_date", "history_type", "record_type")
        )
    combined = parts[0].union(*parts[1:], all=True) if len(parts) > 1 else parts[0]
    return combined.order_by("-history_date", "record_type", "-history_id")


@dataclass
class Change:
    """One history row as the public sees it: when, which record, what happened to it."""

    history_id: int
    date: datetime.datetime
    record_type: registry.RecordType
    action: str  # created, changed, deleted
    slug: str
    name: str
    fields: list[str] = field(default_factory=list)  # the changed fields' names (``changed`` only)
    field_labels: list[str] = field(default_factory=list)
    url: str = ""  # the record's page as it is now; empty when the record no longer exists
    guid: str = ""  # the feed entry's id

    @property
    def action_label(self):
        return ACTION_LABELS[self.action]

    @property
    def fields_display(self) -> str:
        """The changed fields' names in the page's language, as a list is written in it."""
        return pgettext("between the items of a list", ", ").join(self.field_labels)

    @property
    def type_label(self):
        return self.record_type.model_class._meta.verbose_name

    @property
    def anchor(self):
        return f"change-{self.record_type.key}-{self.history_id}"

    def as_row(self, absolute=str, escape=True) -> list:
        cells = [
            timezone.localtime(self.date).isoformat(timespec="seconds"), self.record_type.key, self.action,
            self.slug, self.name, "|".join(self.fields), absolute(self.url) if self.url else "",
        ]
        return [escape_formula(c) for c in cells] if escape else cells

    def as_json(self, absolute=str) -> dict:
        item = dict(zip(HEADERS, self.as_row(absolute, escape=False), strict=True))
        item["fields"] = list(self.fields)
        item["url"] = item["url"] or None
        return item


def shown_field(history, name: str) -> str:
    """A date's precision is part of the date: ``start_precision`` changed is ``start`` changed."""
    base = name.removesuffix("_precision")
    if base != name and any(f.name == base for f in history.tracked_fields):
        return base
    return name


def field_changes(history, new, old, links) -> list[str]:
    """The names of the fields (and many-to-many links) that differ between two history rows of a record."""
    changed = []
    for model_field in history.tracked_fields:
        if model_field.name in UNSHOWN_FIELDS:
            continue
        if getattr(new, model_field.attname) != getattr(old, model_field.attname):
            name = shown_field(history, model_field.name)
            if name not in changed:
                changed.append(name)
    for name, by_history in links.items():
        if by_history.get(new.history_id, set()) != by_history.get(old.history_id, set()):
            changed.append(name)
    return changed


def m2m_links(history, history_ids) -> dict[str, dict[int, set]]:
    """``{field: {history_id: {linked pk}}}``: what each history row's many-to-many fields held, one query
    per field."""
    found = {}
    for m2m_field in history._history_m2m_fields:
        rows = getattr(history, m2m_field.name).model.objects.filter(history_id__in=history_ids)
        target = history_utils.get_m2m_reverse_field_name(m2m_field)
        by_history = defaultdict(set)
        for history_id, linked in rows.values_list("history_id", f"{target}_id"):
            by_history[history_id].add(linked)
        found[m2m_field.name] = by_history
    return found


def current_records(model, pks) -> dict:
    """The records as they are now, by primary key, with what their names and pages read (foreign keys)."""
    related = [f.name for f in model._meta.concrete_fields if f.is_relation]
    rows = model._base_manager.filter(pk__in=pks).select_related(*related).defer(*heavy_columns(model), *(
        f"{name}__{column}" for name in related
        for column in heavy_columns(model._meta.get_field(name).related_model)
    ))
    return {obj.pk: obj for obj in rows.order_by()}


def describe(rows) -> list[Change]:
    """``rows`` (from :func:`matching_rows`) as :class:`Change` s, in the same order: a few queries for each
    record type among them, however many rows there are."""
    by_type = defaultdict(list)
    for row in rows:
        by_type[row["record_type"]].append(row["history_id"])
    changes = {}
    for key, ids in by_type.items():
        record_type = registry.get(key)
        model, history = record_type.model_class, history_model(record_type)
        earlier = history.objects.filter(id=OuterRef("id")).filter(
            Q(history_date__lt=OuterRef("history_date"))
            | Q(history_date=OuterRef("history_date"), history_id__lt=OuterRef("history_id"))
        ).order_by("-history_date", "-history_id").values("history_id")[:1]
        found = list(history.objects.filter(history_id__in=ids).annotate(previous_id=Subquery(earlier)).order_by())
        previous_ids = [h.previous_id for h in found if h.history_type == "~" and h.previous_id]
        previous = {h.history_id: h for h in history.objects.filter(history_id__in=previous_ids).order_by()}
        links = m2m_links(history, [h.history_id for h in found] + previous_ids) if previous_ids else {}
        now = current_records(model, {h.id for h in found})
        for h in found:
            obj = now.get(h.id)
            action = ACTIONS.get(h.history_type, "changed")
            names = []
            if action == "changed" and h.previous_id in previous:
                names = field_changes(history, h, previous[h.previous_id], links)
            if obj is not None and action != "deleted":
                name, url = str(obj), obj.get_absolute_url()
            else:
                name = next((getattr(h, f) for f in NAME_FIELDS if getattr(h, f, "")), h.slug)
                url = ""
            changes[key, h.history_id] = Change(
                history_id=h.history_id, date=h.history_date, record_type=record_type, action=action,
                slug=h.slug, name=name, fields=names,
                field_labels=[str(model._meta.get_field(n).verbose_name) for n in names], url=url,
            )
    return [changes[row["record_type"], row["history_id"]] for row in rows]


def latest_changes(query: Query, start: int, size: int) -> list[Change]:
    return describe(list(matching_rows(query)[start: start + size]))


def all_changes(query: Query):
    """Every change ``query`` matches, newest first, read ``CSV_CHUNK_SIZE`` at a time."""
    rows = matching_rows(query)
    start = 0
    while True:
        chunk = list(rows[start: start + CSV_CHUNK_SIZE])
        yield from describe(chunk)
        if len(chunk) < CSV_CHUNK_SIZE:
            return
        start += CSV_CHUNK_SIZE


# ---------------------------------------------------------------------------
# The page, its CSV and JSON, and the feed


class _Echo:
    def write(self, value):
        return value


class ChangesView(View):
    """``/changes/``: a page of changes as HTML, all of them as CSV, a page as JSON."""

    http_method_names = READ_ONLY
    template_name = "changes.html"
    paginate_by = DEFAULT_PER_PAGE

    def get(self, request):
        params = request.GET
        fmt = params.get("format", "").strip() or "html"
        errors = {}
        if fmt not in ("html", "csv", "json"):
            errors["format"] = [_("“%(value)s” is not a format; use csv or json.") % {"value": fmt[:30]}]
            fmt = "html"
        try:
            query = read_query(params)
        except BadQuery as exc:
            query = None
            errors.update(exc.errors)
        for name, default, maximum in (("page", 1, None), ("per_page", self.paginate_by, MAX_PER_PAGE)):
            try:
                setattr(self, name, parse_positive(params, name, default, maximum))
            except BadQuery as exc:
                errors.update(exc.errors)
        if errors:
            return self.bad_request(errors, fmt)
        if fmt != "html" and request.method == "HEAD":
            # Headers only, as the lists answer it: nothing is read or counted (core.listing.export_head).
            content_type = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
            return StreamingHttpResponse([], content_type=content_type)
        if fmt == "csv":
            return self.csv_response(query)
        total = cached_counts(query.key_parts, {"total": matching_rows(query).count})["total"]
        pages = max(1, -(-total // self.per_page))
        if self.page > pages:
            return self.bad_request({"page": [_("There is no page %(page)s; there are %(pages)s.") % {
                "page": self.page, "pages": pages}]}, fmt)
        start = (self.page - 1) * self.per_page
        changes = latest_changes(query, start, self.per_page)
        if fmt == "json":
            return self.json_response(changes, total, pages)
        return TemplateResponse(request, self.template_name, self.context(query, changes, total, pages))

    def context(self, query, changes, total, pages, errors=()):
        params, number = self.request.GET, getattr(self, "page", 1)
        page = None
        if pages is not None:
            page = {
                "number": number, "pages": pages,
                "first": (number - 1) * self.per_page + 1 if changes else 0,
                "last": (number - 1) * self.per_page + len(changes),
                "previous_url": query_string(params, page=number - 1) if number > 1 else None,
                "next_url": query_string(params, page=number + 1) if number < pages else None,
                "first_url": query_string(params, drop=("page",)) if number > 1 else None,
                "last_url": query_string(params, page=pages) if number < pages else None,
            }
        asked = set(params.getlist("type"))
        return {
            "changes": changes, "total": total, "total_exact": True, "page": page, "errors": list(errors),
            "types": [{"key": t.key, "label": t.model_class._meta.verbose_name_plural, "selected": t.key in asked}
                      for t in registry.record_types()],
            "form_values": {name: params.get(name, "") for name in ("since", "until")},
            "csv_url": query_string(params, drop=("page", "format"), format="csv"),
            "json_url": query_string(params, drop=("page", "format"), format="json"),
            "feed_url": reverse("changes_feed") + query_string(params, drop=("page", "format", "per_page")).rstrip("?"),
        }

    def bad_request(self, errors, fmt):
        messages = [{"parameter": name, "value": self.request.GET.get(name, "")[:80], "messages": msgs}
                    for name, msgs in errors.items()]
        if fmt == "json":
            return JsonResponse({"errors": {m["parameter"]: m["messages"] for m in messages}}, status=400,
                                json_dumps_params={"ensure_ascii": False})
        if fmt == "csv":
            body = "\n".join(f"{m['parameter']}: {' '.join(m['messages'])}" for m in messages)
            return HttpResponse(body + "\n", status=400, content_type="text/plain; charset=utf-8")
        self.per_page = getattr(self, "per_page", self.paginate_by)
        context = self.context(None, [], None, None, errors=messages)
        return TemplateResponse(self.request, self.template_name, context, status=400)

    def csv_response(self, query):
        absolute = self.request.build_absolute_uri

        def lines():
            writer = csv.writer(_Echo())
            yield "\ufeff" + writer.writerow(HEADERS)
            for change in all_changes(query):
                yield writer.writerow(change.as_row(absolute))

        response = StreamingHttpResponse((line.encode("utf-8") for line in lines()),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="changes-{timezone.localdate():%Y-%m-%d}.csv"'
        return response

    def json_response(self, changes, total, pages):
        request = self.request

        def page_url(n):
            return request.build_absolute_uri(request.path + query_string(request.GET, page=n))

        return JsonResponse({
            "count": total,
            "next": page_url(self.page + 1) if self.page < pages else None,
            "previous": page_url(self.page - 1) if self.page > 1 else None,
            "results": [change.as_json(request.build_absolute_uri) for change in changes],
        }, json_dumps_params={"ensure_ascii": False})


@dataclass(frozen=True)
class FeedAsked:
    """What one request of the feed asks for (a Feed instance serves every request, so it keeps nothing)."""

    query: Query
    request: object


class ChangesFeed(Feed):
    """``/changes/feed/``: the latest ``FEED_SIZE`` changes as Atom, each entry linking to its record's page
    (a deleted record's entry to its place in ``/changes/``). ``type``, ``since`` and ``until`` as on the page;
    a value that cannot be understood is a 400."""

    feed_type = Atom1Feed
    title = gettext_lazy("Rural Programs Tracker: what changed")
    subtitle = gettext_lazy("Records created, changed and deleted, newest first.")
    item_guid_is_permalink = False

    def __call__(self, request, *args, **kwargs):
        try:
            read_query(request.GET)
        except BadQuery as exc:
            body = "\n".join(f"{name}: {' '.join(messages)}" for name, messages in exc.errors.items())
            return HttpResponse(body + "\n", status=400, content_type="text/plain; charset=utf-8")
        return super().__call__(request, *args, **kwargs)

    def get_object(self, request, *args, **kwargs):
        return FeedAsked(read_query(request.GET), request)

    def link(self, obj):
        return reverse("changes") + query_string(obj.request.GET, drop=("page", "format", "per_page")).rstrip("?")

    def items(self, obj):
        changes = latest_changes(obj.query, 0, FEED_SIZE)
        for change in changes:
            # One entry per change, not per record: a reader merges entries that share an id.
            change.guid = obj.request.build_absolute_uri(reverse("changes") + f"#{change.anchor}")
        return changes

    def item_title(self, item):
        if item.action == "changed" and item.field_labels:
            return _("%(type)s “%(name)s” changed: %(fields)s") % {
                "type": item.type_label, "name": item.name, "fields": item.fields_display}
        return _("%(type)s “%(name)s” %(action)s") % {
            "type": item.type_label, "name": item.name, "action": item.action_label}

    def item_description(self, item):
        when = timezone.localtime(item.date).strftime("%Y-%m-%d %H:%M")
        if not item.url:
            return _("%(when)s. This record no longer exists.") % {"when": when}
        return when

    def item_link(self, item):
        if item.url:
            return item.url
        return reverse("changes") + f"?type={item.record_type.key}#{item.anchor}"

    def item_guid(self, item):
        return item.guid

    def item_pubdate(self, item):
        return item.date

    def item_updateddate(self, item):
        return item.date
