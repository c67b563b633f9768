"""A list's CSV, as ``format=csv`` streams it: a BOM and the header, then one line per record.

The Resource (core.importing.RecordResource) defines the columns, their order and how each value is
written; this module writes them without a Resource call per record. From the Resource's export fields it
derives a plan (:func:`export_plan`): which columns to read with ``values_list`` (a foreign key's slug is
joined: ``fund__slug``), which many-to-many slugs to read once per chunk (one query on the through table for
the chunk's records), and how each value becomes text, with the widgets' own rules (``render``). The rows are
then read in chunks from one query that keeps the list's filters and its ORDER BY (a server-side cursor on
PostgreSQL), so memory stays flat and the number of queries grows with the chunks, not the records.

A column the plan does not know (a field of another kind, a ``dehydrate_`` method) is written by the
Resource itself, for that column only, from the chunk's records read in one go with the Resource's joins and
prefetches (a county's designations). A Resource that changes how a row is exported as a whole
(``export_row``/``export_field``) is written the old way, record by record (:func:`resource_csv_lines`).

The output is byte-identical to :func:`resource_csv_lines`: tracker/tests/test_fast_csv.py holds it.
"""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import json
import sqlite3
from dataclasses import dataclass, field

from django.core.exceptions import FieldDoesNotExist
from django.db import connections, models
from django.db.models.functions import Cast
from django.db.models.sql.constants import MULTI

from core.importing import (
    FORMULA_TRIGGERS,
    SEPARATOR,
    AliasesWidget,
    DecimalTextWidget,
    PartialDateField,
    PartialDateWidget,
    RecordResource,
    SlugForeignKeyWidget,
    SlugManyToManyWidget,
    TextField,
    TextWidget,
    VersionField,
    escape_formula,
)
from core.records import format_partial_date

CSV_CHUNK_SIZE = 2000


def _sqlite_has_json() -> bool:
    """Whether this Python's SQLite has the JSON functions (compiled in since 3.38), asked of an in-memory
    database. Not Django's ``features.supports_json_field``: it asks in a transaction, which on the project's
    SQLite (IMMEDIATE transactions) takes the write lock for a moment on every new connection."""
    try:
        with contextlib.closing(sqlite3.connect(":memory:")) as memory:
            memory.execute("SELECT json_each.value FROM json_each('[1]')").fetchall()
    except sqlite3.Error:
        return False
    return True


SQLITE_HAS_JSON = _sqlite_has_json()
"""Records read per chunk: one fetch of the main query, plus one query per many-to-many column."""

_TRIGGERS = frozenset(FORMULA_TRIGGERS)
_PLAIN_FIELDS = (TextField, PartialDateField, VersionField)  # import-export's get_value, nothing added
_VALUE_WIDGETS = (AliasesWidget, DecimalTextWidget)  # render(value) reads the value only


class _Echo:
    def write(self, value):
        return value


# ---------------------------------------------------------------------------
# The plan


@dataclass
class Column:
    """How one CSV column is read and written.

    ``kind``: ``value`` (one selected column, ``render`` makes it text), ``date`` (a date and its precision,
    two selected columns), ``many`` (slugs of a many-to-many, read per chunk) or ``resource`` (the Resource's
    own field, on the chunk's records).
    """

    name: str
    kind: str
    render: object = None  # value -> text
    sources: tuple[str, ...] = ()  # values_list names this column reads (value, date)
    field: object = None  # the model's many-to-many field (many), the import-export field (resource)
    indexes: tuple[int, ...] = ()  # positions of ``sources`` in the selected row
    text: bool = False  # a ``value`` read as text or None (a CharField, a slug): written as it is
    number: bool = False  # a ``value`` that is a whole number or None: str() of it is never a formula


@dataclass
class Plan:
    """A Resource's columns as plain reads; ``whole_resource``: the Resource writes every row itself."""

    resource_class: type
    resource: object  # the instance whose fields the columns are (a ``resource`` column is exported by it)
    headers: list[str]
    columns: list[Column] = field(default_factory=list)
    whole_resource: bool = False

    @property
    def selected(self) -> list[str]:
        names = ["pk"]
        for column in self.columns:
            for source in column.sources:
                if source not in names:
                    names.append(source)
        return names

    @property
    def resource_columns(self) -> list[str]:
        """The columns the Resource writes itself (none when every column is planned)."""
        return [c.name for c in self.columns if c.kind == "resource"]


def _text(value):
    return "" if value is None else str(value)


def _converted(render, converters, connection):
    """``render`` after Django's ``converters`` of the column (``(functions, expression)`` or None)."""
    if converters is None:
        return render
    functions, expression = converters

    def converted(value):
        for function in functions:
            value = function(value, expression, connection)
        return render(value)

    return converted


def _partial_date(render, date_converters, precision_converters, connection):
    """A partial date's text from its two raw cells, as PartialDateField exports it: ``render((date,
    precision))``, or ``format_partial_date`` itself for PartialDateWidget (what its render calls). A date the
    driver already read (SQLite's converter, psycopg) skips Django's converter, which would return it as it is;
    SQLite's ISO text is read by ``date.fromisoformat`` (Django's converter only for a text it cannot read)."""
    to_date = _converted(lambda value: value, date_converters, connection)
    to_precision = _converted(lambda value: value, precision_converters, connection)
    from_text = datetime.date.fromisoformat
    date_class = datetime.date
    plain = render.__func__ is PartialDateWidget.render if hasattr(render, "__func__") else False

    def partial_date(date, precision):
        if date is None:
            return render(None)
        if date.__class__ is not date_class:
            if date.__class__ is str:
                try:
                    date = from_text(date)
                except ValueError:
                    date = to_date(date)
            else:
                date = to_date(date)
        if precision_converters is not None:
            precision = to_precision(precision)
        if plain:
            return format_partial_date(date, precision)
        return render((date, precision))

    return partial_date


def _overrides(resource_class, name) -> bool:
    return getattr(resource_class, name) is not getattr(RecordResource, name)


def _column(resource, resource_field, model) -> Column:
    """The plan of one export field: read as plain values when its kind is known, else by the Resource."""
    name = resource_field.column_name
    by_resource = Column(name, "resource", field=resource_field)
    dehydrate = resource_field.get_dehydrate_method(resource.get_field_name(resource_field))
    if callable(dehydrate) or getattr(resource, dehydrate, None) is not None:
        return by_resource
    if type(resource_field) not in _PLAIN_FIELDS:
        return by_resource
    attribute = resource_field.attribute
    if not attribute or "__" in attribute:
        return by_resource
    try:
        model_field = model._meta.get_field(attribute)
    except FieldDoesNotExist:
        return by_resource
    widget = resource_field.widget
    widget_class = type(widget)

    if type(resource_field) is PartialDateField:
        if widget_class is not PartialDateWidget or not _has_field(model, resource_field.precision_attribute):
            return by_resource
        return Column(name, "date", render=widget.render, sources=(attribute, resource_field.precision_attribute))
    if widget_class is SlugForeignKeyWidget:
        if not (model_field.many_to_one or model_field.one_to_one) or not model_field.concrete:
            return by_resource
        if not _has_field(model_field.related_model, "slug"):
            return by_resource
        return Column(name, "value", render=_text, sources=(f"{attribute}__slug",), text=True)
    if widget_class is SlugManyToManyWidget:
        if not (model_field.many_to_many and model_field.concrete and _has_field(model_field.related_model, "slug")):
            return by_resource
        return Column(name, "many", field=model_field)
    if model_field.is_relation or not model_field.concrete:
        return by_resource
    if widget_class.render is TextWidget.render:
        return Column(name, "value", render=_text, sources=(attribute,),
                      text=isinstance(model_field, (models.CharField, models.TextField)),
                      number=isinstance(model_field, models.IntegerField))
    if widget_class is AliasesWidget:  # most records have none: "" without splitting it
        render = widget.render
        return Column(name, "value", render=lambda value: render(value) if value else "", sources=(attribute,))
    if widget_class in _VALUE_WIDGETS:
        return Column(name, "value", render=widget.render, sources=(attribute,))
    return by_resource


def _has_field(model, name) -> bool:
    """Whether ``model`` has a concrete column ``name`` (``values_list`` can read it)."""
    try:
        return model._meta.get_field(name).concrete
    except FieldDoesNotExist:
        return False


def export_plan(resource_class) -> Plan:
    """How :func:`csv_lines` writes ``resource_class``'s columns (see the module's docstring)."""
    resource = resource_class()
    headers = resource.get_export_headers()
    plan = Plan(resource_class, resource, headers)
    if any(_overrides(resource_class, name) for name in ("export_row", "export_field", "export_resource")):
        plan.whole_resource = True
        return plan
    model = resource_class._meta.model
    plan.columns = [_column(resource, f, model) for f in resource.get_export_fields()]
    selected = plan.selected
    for column in plan.columns:
        column.indexes = tuple(selected.index(source) for source in column.sources)
    return plan


# ---------------------------------------------------------------------------
# Rows

SLUG_CACHE_LIMIT = 100_000
"""Linked records' slugs kept per model during one export; past this many the cache starts again."""


class _Export:
    """One export of ``queryset`` by ``plan``: its rows, a chunk at a time (see :func:`plan_rows`)."""

    def __init__(self, plan: Plan, queryset):
        self.plan = plan
        self.queryset = queryset
        self.connection = connections[queryset.db]
        self.slugs: dict = {}  # {model: {pk: slug}} of linked records, read once per export
        self.many = [c.field for c in plan.columns if c.kind == "many"]
        self.by_resource = [c.field for c in plan.columns if c.kind == "resource"]

    def chunks(self, chunk_size):
        """The texts of the rows, a chunk of ``chunk_size`` records at a time.

        The list's queryset is compiled by Django (its filters, joins and ORDER BY as they are) and read in
        chunks (a server-side cursor on PostgreSQL, as ``QuerySet.iterator`` would), without Django's per-row
        conversion of the values: each column converts its own cells (see :meth:`row_builder`).
        """
        selected = self.plan.selected
        queryset = self.queryset
        if self.connection.vendor == "sqlite":
            # SQLite's driver parses every date column into a date (Django registers the converter) in Python;
            # read as text, the partial dates parse it with date.fromisoformat, in C.
            dates = {c.sources[0] for c in self.plan.columns if c.kind == "date"}
            texts = {name: f"_csv_text_{index}" for index, name in enumerate(selected) if name in dates}
            if texts:
                queryset = queryset.annotate(**{alias: Cast(name, models.TextField()) for name, alias in texts.items()})
                selected = [texts.get(name, name) for name in selected]
        queryset = queryset.values_list(*selected)
        compiler = queryset.query.get_compiler(using=queryset.db)
        chunked = not self.connection.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS")
        results = compiler.execute_sql(MULTI, chunked_fetch=chunked, chunk_size=chunk_size)
        converters = compiler.get_converters([s[0] for s in compiler.select[: compiler.col_count]])
        build = self.row_builder(converters)
        for chunk in results:
            yield self.texts(chunk, build)

    def row_builder(self, converters):
        """A function ``(chunk, many, by_resource) -> rows of texts`` written for this plan: one list display
        per row, each cell inline (a text column as it is, the others through their widget's ``render``),
        each formula-escaped only when it starts with a trigger. ``converters``: Django's ``{index: (functions,
        expression)}`` for the selected columns that need them (SQLite's dates and decimals)."""
        names = {"T": _TRIGGERS, "esc": escape_formula}
        cells = []
        for position, column in enumerate(self.plan.columns):
            if column.kind == "value":
                index = column.indexes[0]
                if column.text and index not in converters:
                    cell = f"row[{index}] or ''"  # None (no linked record) or the text
                elif column.number and index not in converters:
                    cells.append(f"('' if (x := row[{index}]) is None else str(x))")  # -5 is a number, not a formula
                    continue
                else:
                    names[f"R{position}"] = _converted(column.render, converters.get(index), self.connection)
                    cell = f"R{position}(row[{index}])"
            elif column.kind == "date":
                names[f"R{position}"] = _partial_date(column.render, converters.get(column.indexes[0]),
                                                      converters.get(column.indexes[1]), self.connection)
                cell = f"R{position}(row[{column.indexes[0]}], row[{column.indexes[1]}])"
                if getattr(column.render, "__func__", None) is PartialDateWidget.render:
                    cells.append(cell)  # format_partial_date: "", or digits first
                    continue
            elif column.kind == "many":
                cell = f"many[{len([c for c in self.plan.columns[:position] if c.kind == 'many'])}].get(row[0], '')"
            else:
                cell = f"by_resource[row[0]][{len([c for c in self.plan.columns[:position] if c.kind == 'resource'])}]"
            cells.append(f"(esc(x) if (x := {cell}) and x[0] in T else x)")
        defaults = ", ".join(f"{name}={name}" for name in names)
        source = (f"def build(chunk, many, by_resource, {defaults}):\n"
                  f"    return [[{', '.join(cells)}] for row in chunk]\n")
        exec(compile(source, f"<csv plan of {self.plan.resource_class.__name__}>", "exec"), names)  # noqa: S102
        return names["build"]

    def texts(self, chunk, build) -> list[list[str]]:
        """The chunk's rows (tuples of ``plan.selected``) as lists of column texts, formula-escaped."""
        pks = [row[0] for row in chunk]
        many = [self.many_slugs(model_field, pks) for model_field in self.many]
        by_resource = self.resource_texts(pks) if self.by_resource else {}
        return build(chunk, many, by_resource)

    def many_slugs(self, model_field, pks) -> dict:
        """``{pk: "a|b"}``: the sorted slugs each of ``pks`` links to through ``model_field``.

        The links are read from the through table alone, and the slugs of the linked records not read yet by
        their primary keys: joined in one query, SQLite walks the whole linked table for a long ``IN`` list.
        """
        through = model_field.remote_field.through
        source = through._meta.get_field(model_field.m2m_field_name()).attname
        target = through._meta.get_field(model_field.m2m_reverse_field_name()).attname
        links = self.select_in(through, (source, target), source, pks)
        slug_of = self.slugs_of(model_field.related_model, {target_pk for _pk, target_pk in links}).__getitem__
        pairs = [(pk, slug_of(target_pk)) for pk, target_pk in links]
        pairs.sort()  # by record, then slug: each record's slugs come sorted, as the widget writes them
        found: dict = {}
        for pk, slug in pairs:
            found[pk] = f"{found[pk]}{SEPARATOR}{slug}" if pk in found else slug
        return found

    def slugs_of(self, model, pks) -> dict:
        known = self.slugs.setdefault(model, {})
        missing = [pk for pk in pks if pk not in known]
        if missing:
            if len(known) + len(missing) > SLUG_CACHE_LIMIT:
                known.clear()
                missing = list(pks)
            pk = model._meta.pk.attname
            known.update(self.select_in(model, (pk, "slug"), pk, missing))
        return known

    def select_in(self, model, columns, key, values) -> list[tuple]:
        """``SELECT columns FROM model's table WHERE key IN values`` in plain SQL (``columns`` and ``key`` are
        attnames): for a chunk's thousands of keys the ORM's ``__in`` costs more than the query itself."""
        if not values:
            return []
        quote = self.connection.ops.quote_name
        table = quote(model._meta.db_table)
        names = ", ".join(f"{table}.{quote(model._meta.get_field(c).column)}" for c in columns)
        where = f"{table}.{quote(model._meta.get_field(key).column)}"
        # The keys as one parameter: binding and planning a list of thousands costs more than the query.
        vendor = self.connection.vendor
        if vendor == "postgresql":
            sql, params = f"SELECT {names} FROM {table} WHERE {where} = ANY(%s)", [list(values)]
        elif vendor == "sqlite" and SQLITE_HAS_JSON and all(value.__class__ is int for value in values):
            sql = f"SELECT {names} FROM {table} WHERE {where} IN (SELECT value FROM json_each(%s))"
            params = [json.dumps(list(values))]
        else:
            params = list(values)
            sql = f"SELECT {names} FROM {table} WHERE {where} IN ({', '.join(['%s'] * len(params))})"
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()

    def resource_texts(self, pks) -> dict:
        """``{pk: [text, …]}`` of the columns the Resource writes itself, for the records ``pks``: read in one
        go with the Resource's joins and prefetches (and the list's own prefetches, as the old path keeps)."""
        plan, queryset = self.plan, self.queryset
        records = queryset.model._base_manager.using(queryset.db).filter(pk__in=pks).order_by()
        if queryset._prefetch_related_lookups:
            records = records.prefetch_related(*queryset._prefetch_related_lookups)
        records = plan.resource_class.prepare_export_queryset(records)
        export = plan.resource.export_field
        return {record.pk: [export(f, record, escape_formulae=False) for f in self.by_resource]
                for record in records}


def plan_rows(plan: Plan, queryset, chunk_size: int = CSV_CHUNK_SIZE):
    """The rows of ``queryset`` in its order, as lists of formula-escaped texts: one list of rows per chunk
    of ``chunk_size`` records, each chunk a fixed number of queries."""
    return _Export(plan, queryset).chunks(chunk_size)


# ---------------------------------------------------------------------------
# CSV


def csv_lines(resource_class, queryset):
    """The CSV text of ``queryset`` through ``resource_class``'s columns: the BOM and the header line, then the
    lines of each chunk of records as one string (a server writes each piece it is given with its own system
    call: one per chunk, not one per line); from plain rows by the Resource's plan, or through the Resource
    when it has no plan."""
    plan = export_plan(resource_class)
    if plan.whole_resource:
        yield from resource_csv_lines(resource_class, queryset)
        return
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(plan.headers)
    buffer = io.StringIO()
    rows_writer = csv.writer(buffer)
    for rows in plan_rows(plan, queryset):
        rows_writer.writerows(rows)
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def export_rows(resource_class, queryset):
    """Every record of ``queryset``, in its order, as the list of its column texts (formula-escaped), for a
    writer of its own (a backup, the data package): by the Resource's plan, or by the Resource without one.
    The header is ``resource_class().get_export_headers()``."""
    plan = export_plan(resource_class)
    if plan.whole_resource:
        resource = plan.resource
        for record in resource_class.prepare_export_queryset(queryset).iterator(chunk_size=500):
            yield resource.export_row(record)
        return
    for rows in plan_rows(plan, queryset):
        yield from rows


def resource_csv_lines(resource_class, queryset):
    """The same CSV through ``Resource.export_row``, record by record: the reference the fast writer is held
    to, and the path of a Resource without a plan."""
    resource = resource_class()
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow(resource.get_export_headers())
    queryset = resource_class.prepare_export_queryset(queryset)
    for obj in queryset.iterator(chunk_size=500):
        yield writer.writerow(resource.export_row(obj))
