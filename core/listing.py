"""The one list/export machinery every public list uses: filters, facets, sorting, paging, CSV, JSON.

A list view is configuration (see ../shared/STYLE.md)::

    class ProgramListView(ListExportMixin, FilterView):
        queryset = Program.objects.select_related("fund")
        filterset_class = ProgramFilterSet
        resource_class = ProgramResource
        template_name = "programs/program_list.html"   # extends list_base.html
        columns = (Column(_("name"), sort="name", value="name", link="row"), ...)

The FilterSet decides the rows and their order (``q``, slug filters, ``year_from``/``year_to``,
``sort``); the Resource decides the columns of the CSV and JSON; the view's ``columns`` the columns of
the HTML table (its head and every row are drawn from them); the mixin only picks the format.
HTML, CSV and JSON all come from the same ``filterset.qs``, so they cannot disagree; the CSV has
every row (streamed in chunks), the JSON and the HTML one page of it. A HEAD of a CSV or JSON export
gets its headers only: no rows are read, nothing is counted and no export slot is taken.

A value that cannot be understood (``page=abc``, ``year_from=20x9``, an unknown slug or sort
column, ``format=xml``) gives a 400 naming the parameter, in the page's language; unknown
parameters are ignored.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime
import hashlib
import json
import os
import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

try:
    import fcntl
except ImportError:  # not on Windows: counts are then counted without the cross-process lock
    fcntl = None

import django_filters
from django import forms
from django.conf import settings
from django.core.cache import cache, caches
from django.core.exceptions import FieldDoesNotExist, ImproperlyConfigured, ValidationError
from django.core.signals import request_finished, request_started
from django.db import DatabaseError, OperationalError, connections, transaction
from django.db.models import CharField, Count, Exists, F, Func, IntegerField, OuterRef, Q, Subquery, TextField
from django.db.models.functions import Coalesce
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import HttpResponse, JsonResponse, StreamingHttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters.constants import EMPTY_VALUES

from core import registry
from core.csvexport import csv_lines
from core.records import SLUG_RE
from core.search import derived_columns, search, search_is_common, search_terms

FORMATS = ("html", "csv", "json")
DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
MAX_Q_LENGTH = 200
CSV_CHUNK_SIZE = 500
FACET_LIMIT = 40


class BadQuery(Exception):
    """A query-string value that cannot be understood: ``{parameter: [messages]}``."""

    def __init__(self, errors: dict[str, list[str]]):
        self.errors = errors
        super().__init__("; ".join(f"{k}: {' '.join(v)}" for k, v in errors.items()))


# ---------------------------------------------------------------------------
# Form fields: each refuses junk with a message that names the value


class SlugChoiceField(forms.ModelChoiceField):
    """A record named by its slug; an unknown or malformed slug is an error naming it."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        text = str(value).strip()
        if not SLUG_RE.match(text) or len(text) > 120:
            raise ValidationError(
                _("“%(value)s” is not a slug (lowercase letters, digits and hyphens)."),
                code="invalid_choice", params={"value": text[:60]},
            )
        try:
            return self.queryset.get(slug=text)
        except self.queryset.model.DoesNotExist:
            raise ValidationError(
                _("There is no %(what)s with the slug “%(value)s”."),
                code="invalid_choice",
                params={"what": self.queryset.model._meta.verbose_name, "value": text},
            ) from None


class CodeChoiceField(forms.ChoiceField):
    def validate(self, value):
        if value and not self.valid_value(value):
            raise ValidationError(
                _("“%(value)s” is not one of: %(choices)s."),
                code="invalid_choice",
                params={"value": value[:60], "choices": ", ".join(str(k) for k, _label in self.choices if k)},
            )


class YearField(forms.CharField):
    def to_python(self, value):
        text = super().to_python(value).strip()
        if not text:
            return None
        if not re.fullmatch(r"\d{4}", text) or not 1000 <= int(text) <= 9999:
            raise ValidationError(
                _("“%(value)s” is not a year (four digits, such as 2019)."),
                code="invalid", params={"value": text[:60]},
            )
        return int(text)


class DayField(forms.CharField):
    """``2024-05-01``: a day (``since``, ``until``); anything else is an error naming the value."""

    def to_python(self, value):
        text = super().to_python(value).strip()
        if not text:
            return None
        try:
            if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
                raise ValueError(text)
            return datetime.date.fromisoformat(text)
        except ValueError:
            raise ValidationError(
                _("“%(value)s” is not a date (YYYY-MM-DD, such as 2024-05-01)."),
                code="invalid", params={"value": text[:60]},
            ) from None


def day_start(day: datetime.date) -> datetime.datetime:
    """The first moment of ``day`` in the site's time zone (``TIME_ZONE``), as an aware datetime."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


class SortField(forms.CharField):
    def __init__(self, *, keys, **kwargs):
        self.keys = keys
        super().__init__(**kwargs)

    def to_python(self, value):
        text = super().to_python(value).strip()
        if text and text.removeprefix("-") not in self.keys:
            raise ValidationError(
                _("Cannot sort by “%(value)s”; sort by one of: %(choices)s (with - for descending)."),
                code="invalid", params={"value": text[:60], "choices": ", ".join(self.keys)},
            )
        return text


# ---------------------------------------------------------------------------
# Filters


@dataclass
class FacetChoice:
    value: str
    label: str
    count: int | None
    selected: bool = False


@dataclass
class Facet:
    name: str
    label: str
    choices: list[FacetChoice] = field(default_factory=list)
    selected: FacetChoice | None = None


class FacetMixin:
    """A filter whose choices are counted (with the other filters applied) in one query.

    ``many``: the path crosses a to-many relation, so it filters through a subquery (no
    duplicate rows) and counts distinct records. ``broad`` (with ``many``): a choice matches a
    large share of the rows (a province holds a tenth of the programs), so when a page's rows are
    read in the order of an index (``ListFilterSet.walks_index``) the subquery is a correlated
    ``EXISTS``: the database walks the index and stops after a page, where ``IN`` reads every
    match and sorts them (SQLite: 85 ms against 2 ms for a province's first page of 100,000
    programs by name). Counts, and sorts no index serves, keep ``IN`` (an ``EXISTS`` there is
    checked on every row of the table: 300 ms against 60). A narrow choice (one county) keeps
    ``IN`` always: walking an index past the rows that do not match would cost more.
    """

    facet = True

    def __init__(self, *args, many=False, broad=False, **kwargs):
        self.many = many
        self.broad = broad
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        if not self.many:
            return qs.filter(**{self.field_name: value})
        links, key = self.links(qs.model, value)
        if self.broad and getattr(self.parent, "walks_index", False):
            return qs.filter(Exists(links.filter(**{key: OuterRef("pk")})))
        return qs.filter(pk__in=links.values(key))

    def link_path(self, model):
        """``(links, key, path)`` when the path starts with a many-to-many field or a reverse foreign key of
        ``model``: the link rows (``programs_program_counties``; ``envoys_posting``), the column of them holding
        the record's key, and the path from a link to the value; else None."""
        first, _, rest = self.field_name.partition("__")
        try:
            field = model._meta.get_field(first)
        except FieldDoesNotExist:
            return None
        if field.many_to_many and field.concrete:  # Program.counties: the through table
            through = field.remote_field.through
            target = field.m2m_reverse_field_name()
            key = through._meta.get_field(field.m2m_field_name()).attname
            return through._base_manager.all(), key, f"{target}__{rest}" if rest else target
        if field.one_to_many and rest:  # Envoy.postings: the postings, by their envoy
            return field.related_model._base_manager.all(), field.field.attname, rest
        return None

    def links(self, model, value):
        """``(queryset, key)``: the rows that link ``model``'s records to ``value`` along the path, and the column
        of them that holds the record's key. Where the path starts at a link table (:meth:`link_path`), that
        table itself: no join back to the records' own table, a primary-key lookup fewer for each linked record
        (a province's programs), in each of a page's count and facet queries. Else the records themselves."""
        linked = self.link_path(model)
        if linked is None:
            return model._base_manager.filter(**{self.field_name: value}), "pk"
        links, key, path = linked
        return links.filter(**{path: value}), key

    def facet_rows(self, queryset, limit):
        raise NotImplementedError

    def combined_column(self, model) -> str | None:
        """The column of ``model``'s own table this facet groups by when several facets of a page are counted in
        one query (:meth:`ListFilterSet.combined_facets`), or None when it is counted on its own."""
        return None

    def combined_branch(self, model, group: str, limit: int, quote) -> str:
        """The SQL (no parameters) of this facet's rows ``(value, label, n, position)`` read from the grouped rows
        ``g`` of a combined count, ``group`` being its column there, ordered and limited as :meth:`facet_rows`
        does (``position``: the row's place in that order, which a UNION does not keep). ``%(mask)s`` stands for
        the condition that picks this facet's groups in ``g`` (``%(hmask)s``: the same of ``g`` aliased ``h``)."""
        raise NotImplementedError

    def combined_links(self, filtered):
        """``(links, key, path)`` of :meth:`counted_links` when this facet is counted on a link table in a way
        several facets over the same links can share (:meth:`combined_link_branch`), else None."""
        return None

    def combined_rows(self, rows, limit) -> list:
        """:meth:`facet_rows`'s result from the rows of :meth:`combined_branch`."""
        return [(value, label, int(n)) for value, label, n in rows if value][:limit]

    def counted_links(self, queryset):
        """For a path that starts at a link table (:meth:`link_path`): ``(links, key, path)`` with the link rows
        narrowed to ``queryset``'s records; else None. A facet counts these (distinct keys per choice) without
        joining the records."""
        linked = self.link_path(queryset.model)
        if linked is None:
            return None
        links, key, path = linked
        links = links.filter(**{f"{key}__isnull": False})
        if queryset.query.where:
            links = links.filter(**{f"{key}__in": queryset.order_by().values("pk")})
        return links, key, path


class Unindexed(Func):
    """A column grouped by as it is, but written ``+column`` on SQLite: no index of it then orders the rows."""

    template = "%(expressions)s"

    def as_sqlite(self, compiler, connection, **extra_context):
        return super().as_sql(compiler, connection, template="+%(expressions)s", **extra_context)


def grouping(queryset, path):
    """What a facet groups ``queryset`` by: the column at ``path``, hidden from SQLite's choice of index when
    the queryset is filtered. Otherwise SQLite walks the grouped column's index, to get the groups in order
    without sorting, and looks up every row's filters (``/programs/?area=…``'s kind and fund facets ran into
    their time limit), where reading the rows the filters pick by their own index and sorting them is quick.
    Unfiltered, the index walk is the quick way, and is kept."""
    return Unindexed(F(path)) if queryset.query.where else F(path)


def forward_chain(model, path, label_field):
    """The foreign keys ``path`` follows forward from ``model`` (``county__province``: Outcome.county, then
    County.province), when every hop is one and the last model has the columns ``slug`` and ``label_field``;
    else None."""
    chain = []
    for name in path.split("__"):
        try:
            hop = model._meta.get_field(name)
        except FieldDoesNotExist:
            return None
        if not (hop.many_to_one or hop.one_to_one) or not hop.concrete:
            return None
        chain.append(hop)
        model = hop.related_model
    for name in ("slug", label_field):
        try:
            if not model._meta.get_field(name).concrete:
                return None
        except FieldDoesNotExist:
            return None
    return chain


def own_text_column(model, path) -> str | None:
    """``path`` when it is a text column of ``model``'s own table (no join, no to-many path), else None."""
    if "__" in path:
        return None
    try:
        field = model._meta.get_field(path)
    except FieldDoesNotExist:
        return None
    return path if field.concrete and not field.is_relation and isinstance(field, CharField | TextField) else None


class SlugFilter(FacetMixin, django_filters.ModelChoiceFilter):
    """``?county=puan-xian``: the records linked (through ``field_name``) to the record with that slug."""

    field_class = SlugChoiceField

    def __init__(self, *args, label_field="name", **kwargs):
        self.label_field = label_field
        super().__init__(*args, **kwargs)

    def combined_column(self, model):
        if self.many:
            return None
        chain = forward_chain(model, self.field_name, self.label_field)
        return None if chain is None else chain[0].attname

    def combined_branch(self, model, group, limit, quote):
        # grouped_facet_rows's joins and order, from the grouped rows instead of its own GROUP BY.
        chain = forward_chain(model, self.field_name, self.label_field)
        joins = self.chain_joins(chain, f"g.{group}", quote)
        value, label = self.chain_labels(chain, quote)
        narrowed = ""
        if len(chain) == 1:
            # One hop: a group is one choice, so only the groups as large as the (limit + 1)th largest can be shown
            # (ties at that size included, for the order by label): only those are joined to their labels, not the
            # thousands a broad search has (a program a group).
            narrowed = (f" AND g.n >= COALESCE((SELECT h.n FROM g h WHERE h.{group} IS NOT NULL AND "
                        f"%(hmask)s ORDER BY h.n DESC LIMIT 1 OFFSET {int(limit)}), 0)")
        return (f"SELECT {value}, {label}, SUM(g.n), ROW_NUMBER() OVER (ORDER BY SUM(g.n) DESC, {label} ASC) "
                f"FROM g {joins} WHERE g.{group} IS NOT NULL AND %(mask)s{narrowed} "
                f"GROUP BY {value}, {label} ORDER BY 3 DESC, 2 ASC LIMIT {int(limit) + 1}")

    def combined_links(self, filtered):
        counted = self.counted_links(filtered) if self.many else None
        if counted is None or forward_chain(counted[0].model, counted[2], self.label_field) is None:
            return None
        return counted

    def combined_link_branch(self, links_model, path, group, limit, quote):
        # link_facet_rows's join and order, from the grouped link rows.
        value, label, join = self.link_labels(forward_chain(links_model, path, self.label_field)[-1], f"g.{group}",
                                              quote)
        return (f"SELECT {value}, {label}, g.n, ROW_NUMBER() OVER (ORDER BY g.n DESC, {label} ASC) FROM g {join} "
                f"WHERE g.{group} IS NOT NULL AND %(mask)s ORDER BY 3 DESC, 2 ASC LIMIT {int(limit) + 1}")

    def link_labels(self, last, key, quote) -> tuple[str, str, str]:
        """The choices' slug and label columns, and the join from ``key`` (the last hop's value) to their table."""
        target = last.related_model._meta
        value, label = (f"facet.{quote(target.get_field(name).column)}" for name in ("slug", self.label_field))
        return value, label, (f"LEFT OUTER JOIN {quote(target.db_table)} facet "
                              f"ON facet.{quote(last.target_field.column)} = {key}")

    def chain_joins(self, chain, start, quote) -> str:
        """The joins from a key (``start``) along ``chain`` to the choices' table."""
        joins, previous = [], start
        for position, hop in enumerate(chain):
            alias = f"facet_{position}"
            joins.append(f"LEFT OUTER JOIN {quote(hop.related_model._meta.db_table)} {alias} "
                         f"ON {alias}.{quote(hop.target_field.column)} = {previous}")
            if position + 1 < len(chain):
                previous = f"{alias}.{quote(chain[position + 1].column)}"
        return " ".join(joins)

    def chain_labels(self, chain, quote) -> tuple[str, str]:
        """The choices' slug and label columns at the end of the joins of :meth:`chain_joins`."""
        target = chain[-1].related_model._meta
        last = f"facet_{len(chain) - 1}"
        value, label = (f"{last}.{quote(target.get_field(name).column)}" for name in ("slug", self.label_field))
        return value, label

    def facet_rows(self, queryset, limit):
        if self.many:
            counted = self.counted_links(queryset)
            if counted is not None:
                links, key, path = counted
                chain = forward_chain(links.model, path, self.label_field)
                if chain is not None:
                    return self.link_facet_rows(links, key, path, chain[-1], limit)
            return self.joined_facet_rows(queryset, limit)
        chain = forward_chain(queryset.model, self.field_name, self.label_field)
        if chain is None:
            return self.joined_facet_rows(queryset, limit)
        return self.grouped_facet_rows(queryset, limit, chain)

    def link_facet_rows(self, links, key, path, last, limit):
        """The same rows as :meth:`joined_facet_rows` for a to-many path: the link rows (a program's counties)
        counted per choice (distinct records), then joined to the choices' slugs and names, without joining
        the records themselves."""
        connection = connections[links.db]
        quote = connection.ops.quote_name
        inner = links.filter(**{f"{path}__isnull": False}).values(facet_key=F(path)).annotate(
            n=Count(key, distinct=True)).order_by()
        inner_sql, params = inner.query.sql_with_params()
        value, label, join = self.link_labels(last, "g.facet_key", quote)
        sql = f"SELECT {value}, {label}, g.n FROM ({inner_sql}) g {join} ORDER BY 3 DESC, 2 ASC LIMIT {int(limit) + 1}"
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return [(value, label, int(n)) for value, label, n in rows if value][:limit]

    def joined_facet_rows(self, queryset, limit):
        """Every row joined to its choice, counted per choice (distinct records: a to-many path repeats them)."""
        path = self.field_name
        rows = (
            queryset.order_by()
            .values(facet_value=F(f"{path}__slug"), facet_label=F(f"{path}__{self.label_field}"))
            .annotate(n=Count("pk", distinct=True))
            .order_by("-n", "facet_label")[: limit + 1]
        )
        return [(r["facet_value"], r["facet_label"], r["n"]) for r in rows if r["facet_value"]][:limit]

    def grouped_facet_rows(self, queryset, limit, chain):
        """The same rows as :meth:`joined_facet_rows` for a path of foreign keys (``county__province``): the
        records are counted per value of their own foreign-key column first (an index of it serves the
        count, and no row is repeated, so no DISTINCT), and only those groups are joined to their choices."""
        connection = connections[queryset.db]
        quote = connection.ops.quote_name
        # Records without a choice are no row of the facet: left out here, an index of the column that holds
        # only the rows with one (Outcome.fund's) serves the count.
        key = grouping(queryset, chain[0].attname)
        inner = (queryset.order_by().filter(**{f"{chain[0].attname}__isnull": False})
                 .values(facet_key=key).annotate(n=Count("pk")).order_by())
        inner_sql, params = inner.query.sql_with_params()
        joins = self.chain_joins(chain, "g.facet_key", quote)
        value, label = self.chain_labels(chain, quote)
        sql = (f"SELECT {value}, {label}, SUM(g.n) FROM ({inner_sql}) g {joins} "
               f"GROUP BY {value}, {label} ORDER BY 3 DESC, 2 ASC LIMIT {int(limit) + 1}")
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        return [(value, label, int(n)) for value, label, n in rows if value][:limit]

    def label_for(self, value):
        return getattr(value, self.label_field)

    def value_of(self, value):
        return value.slug


class CodeFilter(FacetMixin, django_filters.ChoiceFilter):
    """``?area=dianshang``: a choice code of the field at ``field_name``."""

    field_class = CodeChoiceField

    def combined_column(self, model):
        return None if self.many else own_text_column(model, self.field_name)

    def combined_branch(self, model, group, limit, quote):
        return (f"SELECT g.{group}, NULL, g.n, ROW_NUMBER() OVER (ORDER BY g.n DESC, g.{group} ASC) FROM g "
                f"WHERE %(mask)s ORDER BY g.n DESC, g.{group} ASC LIMIT {int(limit) + 1}")

    def combined_rows(self, rows, limit):
        labels = dict(self.extra["choices"])
        return [(value, str(labels.get(value, value)), int(n)) for value, _label, n in rows if value][:limit]

    def facet_rows(self, queryset, limit):
        labels = dict(self.extra["choices"])
        counted = self.counted_links(queryset) if self.many else None
        if counted is not None:  # the link rows (a county's designations), counted per code
            links, key, path = counted
            rows = links.values(facet_value=F(path)).annotate(n=Count(key, distinct=True))
        else:
            rows = (queryset.order_by().values(facet_value=grouping(queryset, self.field_name))
                    .annotate(n=Count("pk", distinct=self.many)))  # a to-many path repeats records; others do not
        rows = rows.order_by("-n", "facet_value")[: limit + 1]
        return [
            (r["facet_value"], str(labels.get(r["facet_value"], r["facet_value"])), r["n"])
            for r in rows if r["facet_value"]
        ][:limit]

    def label_for(self, value):
        return str(dict(self.extra["choices"]).get(value, value))

    def value_of(self, value):
        return value


class ValueFilter(FacetMixin, django_filters.CharFilter):
    """``?unit=元``: an exact free-text value (no fixed list, so an unknown value simply matches nothing)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("max_length", 100)
        super().__init__(*args, **kwargs)

    def combined_column(self, model):
        return own_text_column(model, self.field_name)

    def combined_branch(self, model, group, limit, quote):
        return (f"SELECT g.{group}, g.{group}, g.n, ROW_NUMBER() OVER (ORDER BY g.n DESC, g.{group} ASC) FROM g "
                f"WHERE %(mask)s ORDER BY g.n DESC, g.{group} ASC LIMIT {int(limit) + 1}")

    def facet_rows(self, queryset, limit):
        rows = (
            queryset.order_by()
            .values(facet_value=grouping(queryset, self.field_name))
            .annotate(n=Count("pk"))
            .order_by("-n", "facet_value")[: limit + 1]
        )
        return [(r["facet_value"], r["facet_value"], r["n"]) for r in rows if r["facet_value"]][:limit]

    def label_for(self, value):
        return value

    def value_of(self, value):
        return value


class FlagFilter(FacetMixin, django_filters.ChoiceFilter):
    """``?disputed=1`` / ``?disputed=0``: the rows a named queryset method picks (``yes``), or those it
    leaves out (``no``), where the rule is one the model's queryset knows (``Indicator.objects.disputed()``),
    not a column. Counted as a facet like any other (two counts)."""

    field_class = CodeChoiceField

    def __init__(self, *args, yes, no, labels, **kwargs):
        self.methods = {"1": yes, "0": no}
        super().__init__(*args, choices=[("1", labels[0]), ("0", labels[1])], **kwargs)

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        return getattr(qs, self.methods[value])()

    def facet_rows(self, queryset, limit):
        labels = dict(self.extra["choices"])
        rows = [(code, str(labels[code]), getattr(queryset, method)().count()) for code, method in self.methods.items()]
        return [row for row in rows if row[2]]

    def label_for(self, value):
        return str(dict(self.extra["choices"]).get(value, value))

    def value_of(self, value):
        return value


class SearchFilter(django_filters.CharFilter):
    """``?q=``: every word must occur, simplified and traditional alike (see core.search)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label", gettext_lazy("Search"))
        kwargs.setdefault("max_length", MAX_Q_LENGTH)
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if not value:
            return qs
        # A page applies q to its rows, its total and each facet: decide the plan once.
        plans = self.__dict__.setdefault("_plans", {})
        if (qs.model, value) not in plans:
            plans[qs.model, value] = search_is_common(qs, value)
        return search(qs, value, common=plans[qs.model, value])


class YearFilter(django_filters.Filter):
    """``year_from`` / ``year_to``: the records whose dates reach into the range.

    A record spans from ``start`` (or ``end`` when there is no start) to ``end`` (or, with no
    end, to today when ``open_end``: a program without an end date is still running).
    Records without any date are left out once a year is asked for.
    """

    field_class = YearField

    def __init__(self, *args, start=None, end=None, bound="from", open_end=False, **kwargs):
        self.start, self.end, self.bound, self.open_end = start, end or start, bound, open_end
        self.start = self.start or self.end
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value is None:
            return qs
        if self.bound == "from":
            first = datetime.date(value, 1, 1)
            condition = Q(**{f"{self.end}__gte": first})
            no_end = Q(**{f"{self.end}__isnull": True})
            if self.open_end:
                condition |= no_end & Q(**{f"{self.start}__isnull": False})
            else:
                condition |= no_end & Q(**{f"{self.start}__gte": first})
        else:
            last = datetime.date(value, 12, 31)
            condition = Q(**{f"{self.start}__lte": last}) | (
                Q(**{f"{self.start}__isnull": True}) & Q(**{f"{self.end}__lte": last})
            )
        return qs.filter(condition)


class SinceFilter(django_filters.Filter):
    """``?since=2024-05-01``: the records changed on or after that day (in the site's time zone), by their
    ``updated_at`` (every save sets it; see core.records.Record). On every list, so its JSON, CSV and page
    agree and its counts are cached under it like any filter."""

    field_class = DayField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("field_name", "updated_at")
        kwargs.setdefault("label", gettext_lazy("changed since"))
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value is None:
            return qs
        return qs.filter(**{f"{self.field_name}__gte": day_start(value)})


class SortFilter(django_filters.Filter):
    """``?sort=name`` / ``?sort=-name``: one of the shown columns; ties broken by primary key, in the
    direction of the sort.

    ``orders`` maps each sort key to the fields or annotations it orders by, ``(path, ...)``; the
    list view's :class:`Column` s name these keys (their labels and cells live there). Empty values
    sort last either way, on SQLite and PostgreSQL alike.
    """

    field_class = SortField

    def __init__(self, *, orders, default, **kwargs):
        self.orders = orders
        self.default = default
        kwargs.setdefault("label", gettext_lazy("Sort by"))
        super().__init__(keys=tuple(orders), **kwargs)

    def order_of(self, value) -> tuple[tuple[str, ...], bool]:
        """The paths a sort ``value`` (``-start``; empty: the default) orders by, and whether it descends."""
        value = value or self.default
        return self.orders[value.removeprefix("-")], value.startswith("-")

    def filter(self, qs, value):
        paths, descending = self.order_of(value)
        order = [F(p).desc(nulls_last=True) if descending else F(p).asc(nulls_last=True) for p in paths]
        # Ties go the way of the sort, so a descending sort reads an index backwards, whole.
        return qs.order_by(*order, "-pk" if descending else "pk")

    def after(self, qs, value, cursor: Cursor) -> list:
        """The rows of ``qs`` (sorted by ``value``) that come after ``cursor``'s row in that order, as
        querysets to read one after the other (each in the sort's order).

        The same order as :meth:`filter`: each path in turn, empty values last in either direction,
        then the primary key in the direction of the sort. For each path with a value, the rows
        beyond it (``>=`` it and then past the tie: a range the database starts from in an index);
        after an empty value only empty values follow. When the first path can be empty, its empty
        rows (which come after every other) are a second queryset, read only once the first runs
        out: an ``OR … IS NULL`` beside the range would make the database walk the index from its
        start instead of seeking to the cursor.
        """
        paths, descending = self.order_of(value)
        op = "lt" if descending else "gt"
        condition = Q(**{f"pk__{op}": cursor.pk})
        for index, (path, found) in reversed(list(enumerate(zip(paths, cursor.values, strict=True)))):
            if found is None:
                condition = Q(**{f"{path}__isnull": True}) & condition
                continue
            condition = Q(**{f"{path}__{op}e": found}) & (Q(**{f"{path}__{op}": found}) | condition)
            if path_nullable(qs, path):
                if index == 0:
                    return [qs.filter(condition), qs.filter(**{f"{path}__isnull": True})]
                condition |= Q(**{f"{path}__isnull": True})
        return [qs.filter(condition)]

    def cursor_for(self, row, value, position) -> str:
        """The cursor of the rows after ``row`` (the ``position``-th row, from 1) in sort ``value``."""
        paths, _descending = self.order_of(value)
        return Cursor(value or self.default, tuple(path_value(row, p) for p in paths), row.pk, position).encode()

    def read_cursor(self, qs, value, text) -> Cursor:
        """``after=``'s cursor for sort ``value``; :class:`BadQuery` when it is not one this sort made."""
        sort = value or self.default
        cursor = Cursor.decode(text)
        if cursor.sort != sort:
            raise BadQuery({"after": [_("This cursor belongs to the sort “%(cursor)s”, not “%(sort)s”; "
                                        "follow the page's own next link.") % {"cursor": cursor.sort[:40],
                                                                                 "sort": sort}]})
        paths, _descending = self.order_of(sort)
        if len(cursor.values) != len(paths):
            raise BadQuery({"after": [Cursor.invalid_message()]})
        values = []
        for path, found in zip(paths, cursor.values, strict=True):
            try:
                values.append(None if found is None else path_field(qs, path).to_python(found))
            except (ValidationError, TypeError, ValueError):
                raise BadQuery({"after": [Cursor.invalid_message()]}) from None
        return Cursor(sort, tuple(values), cursor.pk, cursor.position)


@dataclass(frozen=True)
class Cursor:
    """Where a keyset page starts (``?after=``): the sort, the sort values and the key of the row before
    it, and how many rows came before (for the page's number). In the URL it is opaque: URL-safe
    base64 of JSON, ``[sort, [values], pk, position]``, dates and decimals as ISO text."""

    sort: str
    values: tuple
    pk: int
    position: int

    def encode(self) -> str:
        values = [v if v is None or isinstance(v, (str, int, float)) else str(v) for v in self.values]
        text = json.dumps([self.sort, values, self.pk, self.position], ensure_ascii=False, separators=(",", ":"))
        return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        try:
            raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
            sort, values, pk, position = json.loads(raw.decode())
        except (ValueError, TypeError, UnicodeDecodeError, binascii.Error):
            raise BadQuery({"after": [cls.invalid_message()]}) from None
        if (not isinstance(sort, str) or not isinstance(values, list) or type(pk) is not int
                or type(position) is not int or position < 0
                or not all(v is None or isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in values)):
            raise BadQuery({"after": [cls.invalid_message()]})
        return cls(sort, tuple(values), pk, position)

    @staticmethod
    def invalid_message() -> str:
        return _("This is not a cursor this list made (it was cut short or changed); follow the page's "
                 "next link, or use page.")


def path_field(qs, path):
    """The model field (or annotation's output field) a sort path ends on."""
    if path in qs.query.annotations:
        return qs.query.annotations[path].output_field
    model, found = qs.model, None
    for part in path.split("__"):
        found = model._meta.get_field(part)
        model = found.related_model
    return found.target_field if found.is_relation else found


def path_nullable(qs, path) -> bool:
    """Whether a sort path can be empty (an annotation: assumed so)."""
    if path in qs.query.annotations:
        return True
    model = qs.model
    for part in path.split("__"):
        field = model._meta.get_field(part)
        if field.null:
            return True
        model = field.related_model
    return False


def path_value(row, path):
    """A sort path's value on a row read by the list (its relations are joined): ``fund__name`` → row.fund.name."""
    value = row
    for part in path.split("__"):
        if value is None:
            return None
        value = getattr(value, part)
    return value


class ListFilterSet(django_filters.FilterSet):
    """Base for every public list's FilterSet: ``q``, facets and a sort that always applies."""

    q = SearchFilter()
    since = SinceFilter()

    walks_index = False  # while the page's rows are filtered: they are read in an index's order

    def filter_queryset(self, queryset):
        self.walks_index = self.sort_has_index(queryset)
        try:
            return self.unsorted(queryset, sort=True)
        finally:
            self.walks_index = False

    def sort_has_index(self, queryset) -> bool:
        """Whether the sort's first column is a column of the list's own table that an index leads with."""
        sort = self.sort_filter
        if sort is None:
            return False
        paths, _descending = sort.order_of(self.form.cleaned_data.get("sort"))
        if "__" in paths[0] or paths[0] in queryset.query.annotations:
            return False
        meta = queryset.model._meta
        try:
            field = meta.get_field(paths[0])
        except FieldDoesNotExist:
            return False
        return (field.primary_key or field.unique or field.db_index
                or any(index.fields and index.fields[0].lstrip("-") == field.name for index in meta.indexes))

    def unsorted(self, queryset, exclude=None, sort=False):
        """``queryset`` with every filter except ``exclude`` applied (and the sort only if ``sort``)."""
        for name, value in self.form.cleaned_data.items():
            if name != exclude and (sort or not isinstance(self.filters[name], SortFilter)):
                queryset = self.filters[name].filter(queryset, value)
        return queryset

    @property
    def sort_filter(self) -> SortFilter | None:
        return next((f for f in self.filters.values() if isinstance(f, SortFilter)), None)

    def facet_key_parts(self, exclude=None):
        """What the facet counts depend on: the list, the language and every filter except the sort (and
        except ``exclude``: what one facet's counts depend on, which leave out its own filter)."""
        sort = self.sort_filter
        params = []
        for name, value in self.data.items():
            if name not in self.filters or self.filters[name] is sort or name == exclude:
                continue
            text = str(value).strip()
            if isinstance(self.filters[name], SearchFilter):
                # The terms searched, not the words typed: ``q=%`` is the whole list, ``脫貧`` is ``脱贫``.
                text = " ".join(search_terms(text)[0])
            if text:
                params.append((name, text))
        return [self._meta.model._meta.label, translation.get_language() or "", sorted(params)]

    def count_facets(self, limit, time_limit=True) -> list[Facet]:
        """Each facet's choices with their counts under the other filters, one query per facet
        (the view keeps them in the cache, see :func:`cached_counts`).

        A facet whose count takes longer than ``FACET_TIME_LIMIT_MS`` (default 200, as Datasette's
        ``facet_time_limit_ms``) is cut off and offered with the choices of the unfiltered list,
        without counts, so a rare combination of filters on a large table costs a page a fraction
        of a second, never seconds. The facets of one page also share ``FACET_PAGE_LIMIT_MS``
        (default 300): each is given what is left of it, and once it is spent the remaining facets
        are offered without counts, so a broad search over six facets costs 300 ms, not 6 × 200.
        The unfiltered counts themselves are counted once, without a limit, and cached like any
        other; a facet that is the only filter given is answered from them.
        """
        base = self._meta.model._default_manager.all()
        if self.only_filter(None):  # the whole list: its counts are the unfiltered ones, counted without a limit
            time_limit = False
        page_limit = settings.FACET_PAGE_LIMIT_MS if time_limit and settings.FACET_TIME_LIMIT_MS else 0
        deadline = time.monotonic() + page_limit / 1000 if page_limit else None
        with time_limits_batched():
            return self._count_facets(limit, time_limit, base, deadline)

    def _count_facets(self, limit, time_limit, base, deadline) -> list[Facet]:
        found = []
        combined = self.combined_facets(base, limit, time_limit, deadline)
        for name, flt in self.filters.items():
            if not getattr(flt, "facet", False):
                continue
            selected_value = self.form.cleaned_data.get(name)
            selected = flt.value_of(selected_value) if selected_value not in (None, "") else None
            try:
                if name in combined:
                    if combined[name] is None:
                        raise QueryTimedOut
                    rows = combined[name]
                elif selected is not None and self.only_filter(name):
                    # Under no other filter this facet counts the whole list: the cached unfiltered counts.
                    rows = self.unfiltered_facet_rows(name, limit)
                elif selected is not None:
                    # Its counts leave out its own filter, so every value of it shares them (the province
                    # facet of ?province=…&year_from=2019 is counted once for all provinces): cached apart.
                    # A count cut off by its limit raises before anything is cached.
                    key = f"facet-{name}-{limit}"
                    rows = cached_counts(self.facet_key_parts(exclude=name), {key: lambda name=name, flt=flt: (
                        self.timed_facet_rows(flt, base, name, limit, time_limit, deadline))})[key]
                else:
                    rows = self.timed_facet_rows(flt, base, name, limit, time_limit, deadline)
            except QueryTimedOut:
                rows = [(value, label, None) for value, label, _n in self.unfiltered_facet_rows(name, limit)]
            facet = Facet(name=name, label=str(flt.label))
            for value, label, count in rows:
                facet.choices.append(FacetChoice(str(value), str(label), count, str(value) == selected))
            if selected is not None and not any(c.selected for c in facet.choices):
                facet.choices.append(FacetChoice(selected, str(flt.label_for(selected_value)), None, True))
            facet.selected = next((c for c in facet.choices if c.selected), None)
            found.append(facet)
        return found

    def combined_facets(self, base, limit, time_limit, deadline) -> dict:
        """PostgreSQL: the rows of the facets whose own filter is not chosen, counted together, ``{name: rows}``
        (rows None: their statement ran past its limit). Facets are counted under the same filters, so the
        facets that group by a column of the list's own table are read in one scan of the filtered rows with
        ``GROUPING SETS`` (with the list's total: the empty set), where a query each scanned the rows once per
        facet (a province's programs since 2019: four scans of the programs); so are the facets across one link
        table (a program's province, prefecture and county: one pass over its county links). Each facet's rows
        are then ordered, limited and labelled as its own query does it. Facets alone in their kind are counted
        by themselves. Nothing on SQLite (no ``GROUPING SETS``; its per-facet queries read an index each), nor
        for the whole list (each facet's own query walks an index of its column there, and is counted once)."""
        connection = connections[base.db]
        if connection.vendor != "postgresql" or self.only_filter(None):
            return {}
        model = base.model
        filtered = self.unsorted(base).order_by()
        own, linked = [], defaultdict(list)
        for name, flt in self.filters.items():
            if not getattr(flt, "facet", False) or self.form.cleaned_data.get(name) not in EMPTY_VALUES:
                continue
            column = flt.combined_column(model)
            if column is not None:
                own.append((name, flt, column))
                continue
            counted = flt.combined_links(filtered)
            if counted is not None:
                links, key, path = counted
                linked[(links.model, key)].append((name, flt, path, links))
        found = {}
        if len(own) >= 2:
            inner = filtered.values(**{f"c{index}": F(column) for index, (_n, _f, column) in enumerate(own)})
            found.update(self.run_combined(
                connection, inner, "COUNT(*)", [(n, f) for n, f, _c in own],
                lambda flt, group, quote: flt.combined_branch(model, group, limit, quote),
                limit, time_limit, deadline, total=True))
        for (_model, key), shared in linked.items():
            if len(shared) < 2:
                continue
            links = shared[0][3]
            inner = links.values(combined_key=F(key), **{f"c{index}": F(path)
                                                          for index, (_n, _f, path, _l) in enumerate(shared)})
            paths = {id(flt): path for _name, flt, path, _links in shared}
            found.update(self.run_combined(
                connection, inner, 'COUNT(DISTINCT t."combined_key")', [(n, f) for n, f, _p, _l in shared],
                lambda flt, group, quote, links=links, paths=paths: flt.combined_link_branch(
                    links.model, paths[id(flt)], group, limit, quote),
                limit, time_limit, deadline))
        return found

    def run_combined(self, connection, inner, counted, shared, branch, limit, time_limit, deadline, total=False):
        """One statement counting the facets ``shared`` (``(name, filter)``) over ``inner`` (a values() queryset
        with a column ``c<i>`` for each), ``counted`` (SQL) per group, each facet's rows read by ``branch(filter,
        column, quote)`` (see FacetMixin.combined_branch); with ``total``, the empty grouping set too, kept as
        ``combined_total``. ``{name: rows}``, rows None for each when it ran past its limit."""
        quote = connection.ops.quote_name
        groups = [quote(f"c{index}") for index in range(len(shared))]
        inner_sql, params = inner.query.sql_with_params()
        listed = ", ".join(f"t.{group}" for group in groups)
        full = (1 << len(shared)) - 1
        sets = [f"(t.{group})" for group in groups]
        branches = []
        if total:  # the empty grouping set: every filtered row, the list's total (ListView.known_total)
            sets.append("()")
            branches.append(f"(SELECT -1 AS facet, NULL, NULL, g.n, 1 FROM g WHERE g.gs = {full})")
        for index, ((_name, flt), group) in enumerate(zip(shared, groups, strict=True)):
            mask = full ^ (1 << (len(shared) - 1 - index))  # GROUPING(): a 0 bit for the one column grouped by
            sql = branch(flt, group, quote).replace("%(mask)s", f"g.gs = {mask}").replace("%(hmask)s", f"h.gs = {mask}")
            branches.append(f"(SELECT {index} AS facet, b.* FROM ({sql}) b)")
        sql = (f"WITH g AS (SELECT {listed}, GROUPING({listed}) AS gs, {counted} AS n FROM ({inner_sql}) t "
               f"GROUP BY GROUPING SETS ({', '.join(sets)})) " + " UNION ALL ".join(branches) + " ORDER BY 1, 5")
        try:
            milliseconds = facet_time_limit(time_limit, deadline, share=len(shared))
            with query_time_limit(milliseconds), connection.cursor() as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
        except QueryTimedOut:
            return {name: None for name, _flt in shared}
        found = {name: [] for name, _flt in shared}
        if total:
            self.combined_total = 0  # no row of the empty set: no row matches
        for index, value, label, n, _position in rows:
            if index < 0:
                self.combined_total = int(n)
            else:
                found[shared[index][0]].append((value, label, n))
        return {name: [(value, str(label), count) for value, label, count in flt.combined_rows(found[name], limit)]
                for name, flt in shared}

    combined_total = None  # the list's total, when combined_facets counted it

    def timed_facet_rows(self, flt, base, name, limit, time_limit, deadline) -> list:
        """Facet ``name``'s rows under the other filters, within its time limit (QueryTimedOut past it)."""
        with query_time_limit(facet_time_limit(time_limit, deadline)):
            return [(value, str(label), count)
                    for value, label, count in flt.facet_rows(self.unsorted(base, exclude=name), limit)]

    def only_filter(self, name) -> bool:
        """Whether ``name`` is the only filter given a value (the sort aside; None: whether none is)."""
        sort = self.sort_filter
        return all(value in EMPTY_VALUES for other, value in self.form.cleaned_data.items()
                   if other != name and self.filters[other] is not sort)

    def unfiltered_facet_rows(self, name, limit):
        """``(value, label, count)`` of facet ``name`` on the whole list, from the cache."""
        whole = type(self)(data={}, queryset=self.queryset, request=self.request)
        whole.is_valid()
        key = f"facets-{limit}"
        facets = cached_counts(whole.facet_key_parts(), {key: lambda: whole.count_facets(limit, time_limit=False)})[key]
        facet = next(f for f in facets if f.name == name)
        return [(c.value, c.label, c.count) for c in facet.choices]


# ---------------------------------------------------------------------------
# A time limit for one query


def facet_time_limit(time_limit: bool, deadline: float | None, share: int = 1) -> int:
    """The milliseconds one facet count may take: ``FACET_TIME_LIMIT_MS`` (``share`` times it for a count of
    that many facets at once), cut to what is left of the page's ``deadline`` (a ``time.monotonic()``); raises
    QueryTimedOut when nothing is left. 0: no limit."""
    limit = settings.FACET_TIME_LIMIT_MS * share if time_limit else 0
    if deadline is None:
        return limit
    left = (deadline - time.monotonic()) * 1000
    if left < 1:
        raise QueryTimedOut
    return round(min(limit, left)) if limit else round(left)


class QueryTimedOut(Exception):
    """The query ran past its time limit and was cancelled."""


_TIME_LIMITS = threading.local()  # .set_on: the connection whose session limit is set; .batched: reset later


def reset_time_limit():
    """Give the connection whose ``statement_timeout`` query_time_limit set its own value back (RESET)."""
    connection = getattr(_TIME_LIMITS, "set_on", None)
    _TIME_LIMITS.set_on = None
    if connection is None or connection.connection is None:
        return  # closed: a new connection starts with its own value
    try:
        with connection.cursor() as cursor:
            cursor.execute("RESET statement_timeout")
    except DatabaseError:
        connection.close()  # whatever state it is in, it must not serve another query with a short limit


@contextlib.contextmanager
def time_limits_batched():
    """The query_time_limit blocks inside share one RESET at the end (PostgreSQL, outside a transaction): a page's
    facets cost a round trip each for their limit, instead of a transaction (BEGIN, set_config, COMMIT) each."""
    if getattr(_TIME_LIMITS, "batched", False):
        yield
        return
    _TIME_LIMITS.batched = True
    try:
        yield
    finally:
        _TIME_LIMITS.batched = False
        reset_time_limit()


SQLITE_PROGRESS_STEPS = 1000  # how many SQLite VM steps pass between looks at the clock


@contextlib.contextmanager
def _cancel_is_time_out():
    """PostgreSQL: a statement cancelled by ``statement_timeout`` (query_canceled) raises QueryTimedOut."""
    try:
        yield
    except OperationalError as exc:
        if getattr(exc.__cause__, "sqlstate", None) == "57014":  # query_canceled
            raise QueryTimedOut from exc
        raise


@contextlib.contextmanager
def query_time_limit(milliseconds):
    """Cancel the queries of the block that run past ``milliseconds`` (0: no limit); raises QueryTimedOut.

    PostgreSQL: ``statement_timeout`` set for the block only: outside a transaction on the session, RESET after
    the block (or once after a :func:`time_limits_batched` block: a page's facets); inside one with
    ``set_config(…, true)`` in a savepoint, put back after it. SQLite: a progress handler that interrupts the
    statement.
    """
    if not milliseconds:
        if getattr(_TIME_LIMITS, "set_on", None) is not None:
            reset_time_limit()  # a block without a limit inside time_limits_batched(): the connection's own
        yield
        return
    connection = connections["default"]
    connection.ensure_connection()
    if connection.vendor == "postgresql" and not connection.in_atomic_block:
        # Outside a transaction (a page view): the session's setting, set for the block; a cancelled statement
        # leaves nothing behind in autocommit. Put back (RESET: the value the connection began with) after the
        # block, or once after all the blocks of time_limits_batched().
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('statement_timeout', %s, false)", [f"{int(milliseconds)}ms"])
            _TIME_LIMITS.set_on = connection
            with _cancel_is_time_out():
                yield
        finally:
            if not getattr(_TIME_LIMITS, "batched", False):
                reset_time_limit()
    elif connection.vendor == "postgresql":
        # Inside a transaction the block is a savepoint, and a setting made with set_config(…, true) would
        # outlive it: it is read first and put back after.
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            previous = cursor.fetchone()[0]
        with _cancel_is_time_out(), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [f"{int(milliseconds)}ms"])
            yield
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [previous])
    elif connection.vendor == "sqlite":
        deadline = time.monotonic() + milliseconds / 1000
        raw = connection.connection
        raw.set_progress_handler(lambda: int(time.monotonic() > deadline), SQLITE_PROGRESS_STEPS)
        try:
            yield
        except OperationalError as exc:
            if "interrupted" in str(exc):
                raise QueryTimedOut from exc
            raise
        finally:
            raw.set_progress_handler(None, 0)
    else:
        yield


# ---------------------------------------------------------------------------
# Facet counts in the cache, and counts of related rows for one page


FACET_GENERATION_KEY = "facets:generation"


def cached_counts(key_parts, wanted, exact=()) -> dict:
    """``{name: count()}`` for each ``name: count`` of ``wanted`` (a list's total, its facets), through
    the cache, under ``key_parts`` (what the counts depend on: a FilterSet's ``facet_key_parts()``).

    The counts are kept in ``CACHES["counts"]`` (files the gunicorn workers of a machine share in
    ``SHARED_CACHE_DIR``, else this process's memory), so a page view writes nothing to the
    database; while they are counted, others wanting them wait (:func:`counting`). The total and the
    facets of one set of filters share an entry. Each
    entry carries the data generation it was counted at, read from the database cache every
    process and replica shares: any save, delete or link change in the data apps starts a new
    generation there (after its transaction commits), so counts are never older than the data,
    whichever process made the change. Entries also expire after ``FACET_CACHE_SECONDS``
    (default 300) in case rows are changed behind Django's back. The names in ``exact`` are
    counted again when the entry holds only a bound for them (:class:`MoreThan`).
    """
    digest = hashlib.sha256(json.dumps(key_parts, ensure_ascii=False).encode()).hexdigest()
    key = f"counts:{digest[:40]}"
    generation = request_generation()
    if generation is None:  # no cache table yet: count every time rather than fail the page
        return {name: count() for name, count in wanted.items()}
    store = caches["counts"]

    def known():
        entry = store.get(key)
        values = dict(entry[1]) if entry is not None and entry[0] == generation else {}
        return values, [name for name in wanted
                        if name not in values or (name in exact and isinstance(values[name], MoreThan))]

    values, missing = known()
    if missing:
        with counting(digest):
            values, missing = known()  # counted meanwhile by whoever held the lock
            for name in missing:
                values[name] = wanted[name]()
            if missing:
                store.set(key, (generation, values), settings.FACET_CACHE_SECONDS)
    return {name: values[name] for name in wanted}


COUNT_WAIT_SECONDS = 20
"""How long a request waits for another one counting the same thing before it counts by itself."""
_COUNT_LOCKS = [threading.RLock() for _ in range(64)]


_HELD = threading.local()  # the stripes this thread holds (a count nested in a count may fall on its own)


@contextlib.contextmanager
def counting(digest: str):
    """Held while the counts under ``digest`` (hex) are counted, so that the requests that want them at the
    same moment (a list's first visitors after a change) count them once: the others wait, then read them
    from the cache. Threads of this process wait on a lock; processes sharing ``SHARED_CACHE_DIR`` also on
    a file lock there. Keys share 64 locks (a thread may take its own again: a count that needs another
    count), and nobody waits longer than ``COUNT_WAIT_SECONDS``: past it (or without ``fcntl``), the
    request counts by itself, as it would without a lock. A count nested in another does not wait at all."""
    stripe = int(digest[:8], 16) % len(_COUNT_LOCKS)
    held = getattr(_HELD, "stripes", None)
    if held is None:
        held = _HELD.stripes = set()
    if stripe in held:  # this thread counts under this stripe already, one level up
        yield
        return
    # A count nested in another (a facet's unfiltered choices) never waits: two threads each holding the
    # lock the other wants would otherwise wait for each other.
    wait = 0 if held else COUNT_WAIT_SECONDS
    deadline = time.monotonic() + wait
    lock = _COUNT_LOCKS[stripe]
    locked = lock.acquire(timeout=wait) if wait else lock.acquire(blocking=False)
    held.add(stripe)
    try:
        with _file_lock(f"{stripe:02d}", deadline):
            yield
    finally:
        held.discard(stripe)
        if locked:
            lock.release()


@contextlib.contextmanager
def _file_lock(name: str, deadline: float):
    folder = getattr(settings, "SHARED_CACHE_DIR", "")
    if not folder or fcntl is None:
        yield
        return
    try:
        os.makedirs(os.path.join(folder, "locks"), exist_ok=True)
        handle = open(os.path.join(folder, "locks", name), "a+b")  # noqa: SIM115 (closed below)
    except OSError:  # an unwritable folder: count without the lock rather than fail the page
        yield
        return
    try:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.02)
        yield
    finally:
        handle.close()  # closing it releases the lock


class MoreThan(int):
    """A total known only to be larger than this number: its count ran past its time limit."""


COUNT_FLOOR = 1000


def bounded_count(queryset) -> int:
    """``queryset.count()`` when it takes at most ``FACET_TIME_LIMIT_MS``; else, counted again up to
    ``COUNT_FLOOR`` rows within the same limit, ``MoreThan(COUNT_FLOOR)`` (or the exact count when
    there are fewer), and ``MoreThan(0)`` when even that is too slow. A count of every matching row
    can take seconds on a large table (4 s after the cache expired, in review), for anyone who
    asks for a new combination of filters; the page then says "more than 1,000" and its pages
    still work (see ``ListExportMixin.get``).
    """
    limit = settings.FACET_TIME_LIMIT_MS
    try:
        with query_time_limit(limit):
            return queryset.count()
    except QueryTimedOut:
        pass
    try:
        with query_time_limit(limit):
            # Keys only: a list's per-row counts (correlated subqueries) would be computed for nothing.
            found = queryset.order_by().values("pk")[: COUNT_FLOOR + 1].count()
    except QueryTimedOut:
        return MoreThan(0)
    return found if found <= COUNT_FLOOR else MoreThan(COUNT_FLOOR)


def data_generation():
    """The shared data generation (a committed change to any record moves it), or None when it cannot be
    read (no cache table yet). One read of the database cache; never a write."""
    try:
        return cache.get(FACET_GENERATION_KEY, "0")
    except DatabaseError:
        return None


_request_generation = threading.local()  # .seen: {} in a request ("value" once read), None outside one


def request_generation():
    """:func:`data_generation` as the current request first read it: a public page's page-cache key and all its
    counts are checked against the one generation the request began with, one read of the database cache
    instead of one for each count. Outside a request (a command, a test without one) it is read each time.
    Not for a writer's checks (the import compares generations inside its transaction: data_generation)."""
    seen = getattr(_request_generation, "seen", None)
    if seen is None:
        return data_generation()
    if "value" not in seen:
        seen["value"] = data_generation()
    return seen["value"]


def _request_started(sender, **kwargs):
    _request_generation.seen = {}


def _request_finished(sender, **kwargs):
    _request_generation.seen = None


def new_data_generation():
    """Every cached count, in every process, is out of date from now on (the one write to the cache)."""
    cache.set(FACET_GENERATION_KEY, uuid.uuid4().hex, None)
    seen = getattr(_request_generation, "seen", None)
    if seen is not None:
        seen.pop("value", None)  # a request that changed the data reads the new generation after it


class _NewGeneration:
    """An on-commit callback that starts a new generation once."""

    def __init__(self):
        self.done = False

    def __call__(self):
        self.done = True
        new_data_generation()


def _data_changed(sender, **kwargs):
    if sender._meta.app_label not in registry.record_app_labels():
        return
    connection = connections[kwargs.get("using") or "default"]
    # One new generation per transaction, however many rows it writes (an import of 10,000 rows
    # is one), and none for a transaction that is rolled back.
    pending = (entry[1] for entry in connection.run_on_commit)
    if connection.in_atomic_block and any(isinstance(f, _NewGeneration) and not f.done for f in pending):
        return
    transaction.on_commit(_NewGeneration(), using=connection.alias)


def connect_facet_cache():
    """Called once from ``CoreConfig.ready``."""
    for signal in (post_save, post_delete, m2m_changed):
        signal.connect(_data_changed, dispatch_uid=f"facets_{signal!r}")
    request_started.connect(_request_started, dispatch_uid="core.listing.request_generation_started")
    request_finished.connect(_request_finished, dispatch_uid="core.listing.request_generation_finished")


def related_count(model, to_outer, counted="pk", distinct=False):
    """How many rows of ``model`` point at the outer row through ``to_outer``, as a subquery.

    Unlike ``Count`` over a join, it needs no ``GROUP BY`` of the whole list: the database
    computes it only for the rows of the page (or, when a list is sorted by it, once per row).
    """
    rows = (
        model._base_manager.filter(**{to_outer: OuterRef("pk")}).order_by().values(to_outer)
        .annotate(n=Count(counted, distinct=distinct)).values("n")[:1]
    )
    return Coalesce(Subquery(rows, output_field=IntegerField()), 0)


# ---------------------------------------------------------------------------
# Deep pages

DEEP_OFFSET = 1000


def page_rows(queryset, start, size):
    """Rows ``start`` to ``start + size`` of ``queryset``, in order.

    Past the first ``DEEP_OFFSET`` rows, the rows skipped are walked by their keys alone (one
    query over the sort index, which the database can answer without reading the rows), and only
    the page's rows are then read whole: page 500 costs about what page 5 does, plus one query.
    """
    if start < DEEP_OFFSET:
        return list(queryset[start: start + size])
    keys = list(queryset.values_list("pk", flat=True)[start: start + size])
    found = {row.pk: row for row in queryset.order_by().filter(pk__in=keys)}
    return [found[key] for key in keys if key in found]


# ---------------------------------------------------------------------------
# The table's columns


@dataclass(frozen=True)
class Column:
    """One column of a list's HTML table, declared once on its list view (``columns``): the table head
    and every row are drawn from the same declarations, so they cannot drift apart.

    ``label``: the head's text (a lazy translation). ``sort``: the FilterSet's sort key (a key of its
    :class:`SortFilter`'s ``orders``), or None for a column that does not sort. ``value``: what the
    cell shows, a dotted path read from the row as a template variable is (``"get_kind_display"``,
    ``"fund"``; methods are called), printed as text, or linked: ``link="row"`` to the row's own page,
    ``link="value"`` to the value's (a record; nothing when there is none). ``cell``: instead, for
    what one value cannot say, a function of the row returning the cell's content as HTML (escaped:
    ``format_html`` or ``conditional_escape``), or the name of a template drawing it from ``row``,
    ``value`` and ``column`` (about ten times slower: a template per cell of every row). ``css``: the
    cell's classes (``"num"``, ``"nowrap"``). The first column heads its row (``<th scope="row">``); see
    ``templates/list_base.html`` and the ``table_rows`` tag.
    """

    label: str
    sort: str | None = None
    value: str = ""
    link: str = ""
    cell: str | Callable[[Any], str] = ""
    css: str = ""

    def __post_init__(self):
        if self.link not in ("", "row", "value"):
            raise ImproperlyConfigured(f"Column {self.label!r}: link is 'row', 'value' or empty, not {self.link!r}")


def sort_filter_of(filterset_class) -> SortFilter | None:
    return next((f for f in filterset_class.base_filters.values() if isinstance(f, SortFilter)), None)


# ---------------------------------------------------------------------------
# The view mixin


def query_string(params, drop=(), **updates) -> str:
    """The request's query string without ``drop`` and with ``updates`` (empty values left out)."""
    copy = params.copy()
    for name in drop:
        copy.pop(name, None)
    for name, value in updates.items():
        copy[name] = value
    for name in [k for k, values in copy.lists() if all(v == "" for v in values)]:
        del copy[name]
    text = copy.urlencode()
    return f"?{text}" if text else "?"


PAGE_KEY = "url"  # every record's JSON carries its page under this key (../shared/DESIGN.md)


def json_key(resource_class, column: str) -> str:
    """A column's key in the JSON: its name, except for a column named like the page's key (a source's own
    ``url``, the article's address), which is prefixed with the model's name (``source_url``): neither hides
    the other."""
    return f"{resource_class._meta.model._meta.model_name}_{column}" if column == PAGE_KEY else column


def json_records(resource_class, rows, absolute) -> list[dict]:
    """Each of ``rows`` as its JSON object: the Resource's export columns (text, as in the CSV, without the
    formula escape), its page as ``url`` (made absolute by ``absolute``) and the Resource's ``json_extras``.
    A list's ``results`` and a detail page's ``format=json`` are both made here, so they cannot differ
    (core/openapi.py describes this object)."""
    resource = resource_class()
    keys = [json_key(resource_class, column) for column in resource.get_export_headers()]
    found = []
    for obj, extras in zip(rows, resource_class.json_extras(rows, absolute), strict=True):
        item = dict(zip(keys, resource.export_row(obj, escape_formulae=False), strict=True))
        item[PAGE_KEY] = absolute(obj.get_absolute_url())
        item.update(extras)
        found.append(item)
    return found


def parse_positive(params, name, default, maximum=None) -> int:
    text = params.get(name, "")
    if text.strip() == "":
        return default
    if not re.fullmatch(r"\s*\d{1,9}\s*", text) or int(text) < 1:
        raise BadQuery({name: [_("“%(value)s” is not a whole number of 1 or more.") % {"value": text[:60]}]})
    number = int(text)
    if maximum is not None and number > maximum:
        raise BadQuery({name: [_("At most %(maximum)s.") % {"maximum": maximum}]})
    return number


def search_notices(q) -> list[str]:
    """A visible notice for each word of ``q`` the search leaves out (see core.search.search_terms)."""
    return [
        _("“%(word)s” was left out of the search: a search word needs a letter or a digit.") % {"word": word[:60]}
        for word in search_terms(q)[1]
    ]


class ListExportMixin:
    """One filtered, sorted queryset; HTML one page of it, ``format=csv`` all of it, ``format=json`` a page."""

    resource_class = None
    paginate_by = DEFAULT_PER_PAGE
    max_per_page = MAX_PER_PAGE
    list_name = None  # ``programs``: the CSV file name, the page's key and (through the registry) its heading
    columns: tuple[Column, ...] = ()  # the HTML table's columns, in order
    http_method_names = ["get", "head", "options"]

    def __init_subclass__(cls, **kwargs):
        """A column that sorts by a key its FilterSet does not know is a mistake: refuse it on import."""
        super().__init_subclass__(**kwargs)
        filterset_class = getattr(cls, "filterset_class", None)
        if not cls.columns or filterset_class is None:
            return
        sort = sort_filter_of(filterset_class)
        keys = set(sort.orders) if sort is not None else set()
        unknown = [column.sort for column in cls.columns if column.sort is not None and column.sort not in keys]
        if unknown:
            raise ImproperlyConfigured(
                f"{cls.__name__}: columns sort by {unknown}, which {filterset_class.__name__} has no order for"
            )

    def get_list_name(self):
        return self.list_name or self.request.resolver_match.url_name.removesuffix("_list") + "s"

    def get_heading(self):
        """The page's heading: the list's label in the registry (the navigation's name for it)."""
        return registry.get(self.get_list_name()).label

    def get_filterset_kwargs(self, filterset_class):
        # Always bound, so the default sort applies to the bare URL too.
        return {"data": self.request.GET, "request": self.request, "queryset": self.get_queryset()}

    def get(self, request, *args, **kwargs):
        params = request.GET
        fmt = params.get("format", "").strip() or "html"
        self.object_list = []
        self.filterset = self.get_filterset(self.get_filterset_class())
        errors = {}
        if fmt not in FORMATS:
            errors["format"] = [_("“%(value)s” is not a format; use csv or json.") % {"value": fmt[:30]}]
            fmt = "html"
        if not self.filterset.is_valid():
            for name, messages in self.filterset.form.errors.items():
                errors[name] = [str(m) for m in messages]
        try:
            self.page_number = parse_positive(params, "page", 1)
        except BadQuery as exc:
            errors.update(exc.errors)
        try:
            self.per_page = parse_positive(params, "per_page", self.paginate_by, self.max_per_page)
        except BadQuery as exc:
            errors.update(exc.errors)
        self.cursor = None
        if not errors and fmt != "csv" and params.get("after", "").strip():
            try:
                self.cursor = self.read_cursor(params["after"])
            except BadQuery as exc:
                errors.update(exc.errors)
        if errors:
            return self.bad_request(errors, fmt)

        if fmt != "html" and request.method == "HEAD":
            return self.export_head(fmt)
        queryset = self.filterset.qs
        if fmt == "csv":
            return self.csv_response(queryset)

        # The JSON's count is exact (an export: EXPORT_CONCURRENCY at once); a page's total is
        # counted within FACET_TIME_LIMIT_MS, like its facets (see bounded_count).
        exact = fmt == "json"
        counted = self.filterset.unsorted(self.filterset.queryset)  # the same rows, filtered for a count
        wanted = {}
        if fmt == "html":  # the facets first: counting them together may count the total too (combined_facets)
            wanted[f"facets-{FACET_LIMIT}"] = lambda: self.filterset.count_facets(FACET_LIMIT)
        wanted["total"] = counted.count if exact else lambda: self.known_total(default=lambda: bounded_count(counted))
        counts = cached_counts(self.filterset.facet_key_parts(), wanted, exact=("total",) if exact else ())
        total = counts["total"]
        if self.cursor is not None:
            return self.keyset_page(fmt, queryset, total, counts.get(f"facets-{FACET_LIMIT}"))
        start = (self.page_number - 1) * self.per_page
        shown = queryset.defer(*derived_columns(queryset.model))
        more = False
        if isinstance(total, MoreThan):
            # Not counted exactly: one row past the page says whether there is a next one.
            rows = page_rows(shown, start, self.per_page + 1)
            more = len(rows) > self.per_page
            rows = rows[: self.per_page]
            if not rows and self.page_number > 1:
                return self.bad_request({"page": [_("There is no page %(page)s.") % {"page": self.page_number}]}, fmt)
            total = MoreThan(max(total, start + self.per_page)) if more else start + len(rows)
            pages = None if more else self.page_number
        else:
            pages = max(1, -(-total // self.per_page))
            if self.page_number > pages:
                return self.bad_request(
                    {"page": [_("There is no page %(page)s; there are %(pages)s.") % {
                        "page": self.page_number, "pages": pages}]},
                    fmt,
                )
            if fmt == "json":
                rows = list(self.resource_class.prepare_export_queryset(queryset)[start: start + self.per_page])
                return self.json_response(rows, total, pages, start=start, more=self.page_number < pages)
            rows = page_rows(shown, start, self.per_page)
        context = self.get_context_data(
            object_list=rows, total=total, pages=pages, more=more, facets=counts[f"facets-{FACET_LIMIT}"]
        )
        return self.render_to_response(context)

    # -- Keyset pages (?after=) -------------------------------------------------

    def current_sort(self):
        """The sort value the rows are in (``-start``; the default when the URL names none)."""
        sort = self.filterset.sort_filter
        if sort is None:
            return None
        return (self.filterset.form.cleaned_data.get("sort") if self.filterset.is_valid() else "") or sort.default

    def read_cursor(self, text):
        sort = self.filterset.sort_filter
        if sort is None or not self.filterset.is_valid():
            raise BadQuery({"after": [Cursor.invalid_message()]})
        return sort.read_cursor(self.filterset.qs, self.current_sort(), text)

    def next_cursor(self, rows, start):
        """``after=`` for the page following ``rows`` (the rows from ``start`` on, counted from 0)."""
        sort = self.filterset.sort_filter
        if sort is None or not rows:
            return None
        return sort.cursor_for(rows[-1], self.current_sort(), start + len(rows))

    def known_total(self, default):
        """The list's total as the facets' combined count counted it (PostgreSQL, filtered pages; 0 included), when
        the view's queryset is the whole table it counts; else ``default()`` (it is counted by itself)."""
        total = getattr(self.filterset, "combined_total", None)
        return total if total is not None and not self.filterset.queryset.query.where else default()

    def keyset_page(self, fmt, queryset, total, facets):
        """The page after the cursor: the rows past its row in the sort, read from an index where the sort
        has one, however deep. Its number comes from the cursor (the rows before it when the link was made),
        so first, previous and last still link by ``page``."""
        cursor = self.cursor
        after = self.filterset.sort_filter.after
        start = cursor.position
        self.page_number = start // self.per_page + 1
        if fmt == "json":
            read = self.resource_class.prepare_export_queryset(queryset)
        else:
            read = queryset.defer(*derived_columns(queryset.model))
        found = []
        for part in after(read, self.current_sort(), cursor):
            found += part[: self.per_page + 1 - len(found)]
            if len(found) > self.per_page:
                break
        rows, more = found[: self.per_page], len(found) > self.per_page
        if isinstance(total, MoreThan):
            total = MoreThan(max(total, start + len(rows))) if more else start + len(rows)
        pages = None if isinstance(total, MoreThan) else max(1, -(-total // self.per_page), self.page_number)
        if fmt == "json":
            return self.json_response(rows, total, pages, start=start, more=more)
        context = self.get_context_data(object_list=rows, total=total, pages=pages, more=more, facets=facets,
                                        start=start)
        return self.render_to_response(context)

    # -- HTML -----------------------------------------------------------------

    def get_context_data(self, **kwargs):
        params = self.request.GET
        filterset = self.filterset
        context = {
            "view": self,
            "filterset": filterset,
            "list_name": self.get_list_name(),
            "heading": self.get_heading(),
            "object_list": kwargs.get("object_list", []),
            "errors": kwargs.get("errors", {}),
            "notices": search_notices(params.get("q", "")),
            "facets": kwargs.get("facets", []),
            "total": kwargs.get("total"),
            "csv_url": query_string(params, drop=("page", "after", "format"), format="csv"),
            "json_url": query_string(params, drop=("page", "after", "format"), format="json"),
            "columns": self.table_columns(),
            "form_values": {name: params.get(name, "") for name in filterset.filters},
            "per_page": getattr(self, "per_page", self.paginate_by),
            "per_page_choices": sorted({20, 50, 100, 200, self.paginate_by}),
        }
        if "pages" in kwargs:
            # pages is None when the total was not counted exactly and rows follow this page (more).
            pages, total, number = kwargs["pages"], context["total"], self.page_number
            start = kwargs.get("start", (number - 1) * self.per_page)
            rows = context["object_list"]
            keyset = getattr(self, "cursor", None) is not None
            has_next = kwargs.get("more", False) if keyset or not pages else number < pages
            after = self.next_cursor(rows, start) if has_next else None
            context["page"] = {
                "number": number,
                "pages": pages,
                "first": start + 1 if rows else 0,
                "last": start + len(rows),
                "previous_url": query_string(params, drop=("after",), page=number - 1) if number > 1 else None,
                # The next page by keyset: as fast at page 2,000 as at page 2 (page= still works).
                "next_url": (
                    query_string(params, drop=("page",), after=after) if after
                    else query_string(params, page=number + 1) if has_next else None
                ),
                "first_url": query_string(params, drop=("page", "after")) if number > 1 or keyset else None,
                "last_url": query_string(params, drop=("after",), page=pages) if pages and has_next else None,
            }
            context["total_exact"] = not isinstance(total, MoreThan)
        return context

    def table_columns(self) -> list[dict]:
        """The declared ``columns`` as the table head, the rows and the sort menu use them: each with its
        ``label``, ``key`` (the sort key, or None), ``value``, ``link``, ``cell``, ``css``, ``heads_row``
        (true for the first) and, when it sorts, the current direction (``state``) and the ``url`` that
        sorts by it (the other way when it is the current sort)."""
        sort = self.filterset.sort_filter
        current = ""
        if sort is not None:
            chosen = self.filterset.form.cleaned_data.get("sort") if self.filterset.is_valid() else ""
            current = chosen or sort.default
        params = self.request.GET
        found = []
        for index, column in enumerate(self.columns):
            key = column.sort
            state = "ascending" if key and current == key else "descending" if key and current == f"-{key}" else ""
            target = f"-{key}" if state == "ascending" else key
            found.append({
                "label": column.label, "key": key, "value": column.value, "link": column.link, "cell": column.cell,
                "css": column.css, "heads_row": index == 0,
                "state": state, "url": query_string(params, drop=("page", "after"), sort=target) if key else None,
            })
        return found

    def bad_request(self, errors, fmt):
        messages = [
            {"parameter": name, "value": self.request.GET.get(name, "")[:80], "messages": msgs}
            for name, msgs in errors.items()
        ]
        if fmt == "json":
            return JsonResponse({"errors": {m["parameter"]: m["messages"] for m in messages}}, status=400)
        if fmt == "csv":
            body = "\n".join(f"{m['parameter']}: {' '.join(m['messages'])}" for m in messages)
            return HttpResponse(body + "\n", status=400, content_type="text/plain; charset=utf-8")
        context = self.get_context_data(errors=messages)
        return TemplateResponse(self.request, self.get_template_names(), context, status=400)

    # -- CSV and JSON -----------------------------------------------------------

    def csv_filename(self):
        return f"{self.get_list_name()}-{timezone.localdate():%Y-%m-%d}.csv"

    def csv_rows(self, queryset):
        """BOM and header, then one row per record (core.csvexport)."""
        return csv_lines(self.resource_class, queryset)

    def export_head(self, fmt):
        """HEAD of a CSV or JSON export: its headers, with no rows read or counted (no Content-Length:
        the GET's CSV is streamed; its JSON's length is not known without building it)."""
        if fmt == "csv":
            response = StreamingHttpResponse([], content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = f'attachment; filename="{self.csv_filename()}"'
            return response
        return StreamingHttpResponse([], content_type="application/json")

    def csv_response(self, queryset):
        response = StreamingHttpResponse(
            (line.encode("utf-8") for line in self.csv_rows(queryset)),
            content_type="text/csv; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="{self.csv_filename()}"'
        return response

    def json_response(self, rows, total, pages, *, start, more):
        """One page as JSON; ``next`` follows by keyset (``after=``), ``previous`` by ``page``."""
        request = self.request
        number = self.page_number

        def url(**updates):
            return request.build_absolute_uri(request.path + query_string(request.GET, **updates))

        after = self.next_cursor(rows, start) if more else None
        return JsonResponse(
            {
                "count": total,
                "next": url(drop=("page",), after=after) if after else None,
                "previous": url(drop=("after",), page=number - 1) if number > 1 else None,
                "results": json_records(self.resource_class, rows, request.build_absolute_uri),
            },
            json_dumps_params={"ensure_ascii": False},
        )
