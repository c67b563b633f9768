"""The OpenAPI 3.1 description of the public JSON (``/openapi.json``), generated, never written by hand.

Everything comes from what serves the JSON, so the description cannot drift from it:

- the **paths**: every record type of the registry with a public list (``core.registry.public_lists``);
  its list URL and, by the kit's naming (``programs:program_detail``), its detail URL, reversed; the list
  view behind the list URL, found through the URL resolver (core imports no record app);
- the **parameters**: the list view's FilterSet, filter by filter (``q``, each slug, choice, value and
  year filter, ``sort`` with the keys of its SortFilter), read from the form field each filter parses
  its value with; ``page``, ``per_page`` (with the view's maximum) and ``format``, which the list view
  itself reads (core.listing.ListExportMixin);
- the **result schema** of each record type: its Resource's export columns (every value is text, see
  core.importing; a column's pattern or choices come from its widget and model field), ``url``, and
  what the Resource's ``json_extras`` add (``json_extras_schema``); the list envelope
  ``{"count", "next", "previous", "results"}`` of ../shared/DESIGN.md.

The descriptions are in English whatever the page's language (one document for every reader; the
``/api/`` page explains it in both languages). Building it reads no database row.
"""

from __future__ import annotations

import inspect

from django import forms
from django.urls import resolve, reverse
from django.utils import translation

from core import registry
from core.importing import (
    AliasesWidget,
    ChoiceWidget,
    DecimalTextWidget,
    IntegerTextWidget,
    KeyWidget,
    PartialDateWidget,
    SlugForeignKeyWidget,
    SlugManyToManyWidget,
)
from core.listing import (
    FORMATS,
    PAGE_KEY,
    DayField,
    SearchFilter,
    SlugChoiceField,
    SortField,
    YearField,
    json_key,
)
from core.records import SLUG_RE

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1"  # changes when a column or parameter is taken away or changes meaning

SLUG = SLUG_RE.pattern.removeprefix("^").removesuffix("$")
PARTIAL_DATE = r"\d{4}(?:-\d{2}(?:-\d{2})?)?"
DECIMAL = r"-?\d+(?:\.\d+)?"
INTEGER = r"-?\d+"
SLUG_PLACEHOLDER = "slug-placeholder"  # reversed into a detail URL, then replaced by ``{slug}``


def pattern(body: str, empty: bool) -> str:
    """An anchored regular expression for ``body``, also matching the empty text when ``empty``."""
    return f"^(?:{body})?$" if empty else f"^(?:{body})$"


def english(text) -> str:
    with translation.override("en"):
        return str(text)


def describe_model(model) -> str:
    """The model's docstring (what one row means), unless it is Django's generated one."""
    doc = inspect.getdoc(model) or ""
    return "" if doc.startswith(f"{model.__name__}(") else " ".join(doc.split())


# ---------------------------------------------------------------------------
# Columns


def model_field(model, attribute):
    try:
        return model._meta.get_field(attribute)
    except Exception:  # a column that is not a model field (a computed one)
        return None


def choice_text(choices) -> str:
    return "; ".join(f"{code}: {english(label)}" for code, label in choices if code != "")


def column_schema(model, field) -> dict:
    """The JSON Schema of one export column: always a string, narrowed by what its widget writes."""
    widget = field.widget
    found = model_field(model, field.attribute) if field.attribute else None
    empty = found is None or found.null or found.blank or getattr(found, "many_to_many", False)
    schema: dict = {"type": "string"}
    if found is not None and hasattr(found, "verbose_name"):
        schema["title"] = english(found.verbose_name)
    notes = []
    if isinstance(widget, KeyWidget):
        schema["pattern"] = pattern(SLUG, False)
        notes.append("The record's slug, its stable key.")
    elif isinstance(widget, AliasesWidget):
        notes.append("Other names, separated by |.")
    elif isinstance(widget, ChoiceWidget):
        schema["enum"] = list(widget.codes) + ([""] if empty and "" not in widget.codes else [])
        if found is not None and found.choices:
            notes.append(f"A code: {choice_text(found.choices)}.")
    elif isinstance(widget, DecimalTextWidget):
        schema["pattern"] = pattern(DECIMAL, empty)
        notes.append("An exact decimal written as text (never a float), in base units.")
    elif isinstance(widget, IntegerTextWidget):
        schema["pattern"] = pattern(INTEGER, empty)
        notes.append("A whole number written as text.")
    elif isinstance(widget, PartialDateWidget):
        schema["pattern"] = pattern(PARTIAL_DATE, empty)
        notes.append("A date with its precision: 2019, 2019-06 or 2019-06-26.")
    elif isinstance(widget, SlugManyToManyWidget):
        schema["pattern"] = pattern(rf"{SLUG}(?:\|{SLUG})*", True)
        notes.append(f"Slugs of {english(widget.model._meta.verbose_name_plural)}, separated by |.")
    elif isinstance(widget, SlugForeignKeyWidget):
        schema["pattern"] = pattern(SLUG, empty)
        notes.append(f"The slug of a {english(widget.model._meta.verbose_name)}.")
    if found is not None and getattr(found, "help_text", "") and not isinstance(widget, AliasesWidget):
        notes.append(english(found.help_text))
    if empty and "pattern" not in schema and "enum" not in schema and notes:
        notes.append("Empty when not known.")
    if notes:
        schema["description"] = " ".join(notes)
    return schema


def columns_schema(resource_class, columns: dict[str, str]) -> dict:
    """An object of some of ``resource_class``'s export columns (``{key in the object: column}``), each described
    as in its record's own schema, and ``url``: for a Resource's ``json_extras_schema`` whose extras repeat
    another record's columns (an indicator's series repeats its figures')."""
    model = resource_class._meta.model
    fields = resource_class().fields
    properties = {key: column_schema(model, fields[column]) for key, column in columns.items()}
    properties[PAGE_KEY] = {"type": "string", "format": "uri"}
    return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}


def record_schema(record_type) -> dict:
    """The JSON object of one record: its Resource's export columns, ``url`` and the Resource's extras."""
    model = record_type.model_class
    resource_class = record_type.resource_class
    resource = resource_class()
    properties = {}
    for field in resource.get_export_fields():
        properties[json_key(resource_class, field.column_name)] = column_schema(model, field)
    properties[PAGE_KEY] = {"type": "string", "format": "uri", "description": "The record's page (add ?format=json)."}
    properties.update(resource_class.json_extras_schema())
    schema = {
        "type": "object",
        "title": english(model._meta.verbose_name),
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }
    if describe_model(model):
        schema["description"] = describe_model(model)
    return schema


def detail_links(record_type, public_models) -> dict:
    """OpenAPI links from a record to the records its slug columns name (those with a public page)."""
    links = {}
    for field in record_type.resource_class().get_export_fields():
        widget = field.widget
        if isinstance(widget, SlugForeignKeyWidget) and widget.model._meta.label in public_models:
            target = public_models[widget.model._meta.label]
            links[field.column_name] = {
                "operationId": detail_operation_id(target),
                "parameters": {"slug": f"$response.body#/{field.column_name}"},
                "description": f"The {english(widget.model._meta.verbose_name)} named in {field.column_name}.",
            }
    return links


# ---------------------------------------------------------------------------
# Parameters


def filter_schema(flt) -> dict:
    """The JSON Schema of one filter's value, from the form field it is parsed with."""
    field = flt.field
    if isinstance(field, SortField):
        keys = list(field.keys)
        schema = {"type": "string", "enum": keys + [f"-{key}" for key in keys]}
        default = getattr(flt, "default", None)
        if default:
            schema["default"] = default
        return schema
    if isinstance(field, YearField):
        return {"type": "integer", "minimum": 1000, "maximum": 9999}
    if isinstance(field, (DayField, forms.DateField)):
        return {"type": "string", "format": "date"}
    if isinstance(field, SlugChoiceField):
        return {"type": "string", "pattern": pattern(SLUG, False), "maxLength": 120}
    if isinstance(field, forms.ModelChoiceField):
        return {"type": "string"}
    if isinstance(field, (forms.NullBooleanField, forms.BooleanField)):
        return {"type": "string", "enum": ["1", "0", "true", "false"]}
    if isinstance(field, forms.ChoiceField):
        return {"type": "string", "enum": [str(code) for code, _label in field.choices if code != ""]}
    if isinstance(field, forms.IntegerField):
        schema = {"type": "integer"}
        if field.min_value is not None:
            schema["minimum"] = field.min_value
        if field.max_value is not None:
            schema["maximum"] = field.max_value
        return schema
    if isinstance(field, forms.DateField):
        return {"type": "string", "format": "date"}
    schema = {"type": "string"}
    if getattr(field, "max_length", None):
        schema["maxLength"] = field.max_length
    return schema


def filter_description(name, flt) -> str:
    field = flt.field
    label = english(flt.label) if flt.label else name
    if isinstance(flt, SearchFilter):
        return ("Search over names, aliases and descriptions: every word must occur; a simplified or a "
                "traditional query finds the same records.")
    if isinstance(field, SortField):
        return "The order: a column's key, with - for descending. Ties are broken by the record's key."
    if isinstance(field, YearField):
        if getattr(flt, "bound", "from") == "from":
            return f"{label}: the records whose dates reach into this year or later."
        return f"{label}: the records whose dates reach into this year or earlier."
    if isinstance(field, (DayField, forms.DateField)):
        return f"{label}: a day, YYYY-MM-DD."
    if isinstance(field, SlugChoiceField):
        return f"{label}: the slug of a {english(field.queryset.model._meta.verbose_name)}; an unknown slug is a 400."
    if isinstance(field, forms.ChoiceField) and not isinstance(field, forms.ModelChoiceField):
        return f"{label}: {choice_text(field.choices)}."
    return f"{label}: an exact value."


def list_parameters(view_class) -> list[dict]:
    parameters = [{
        "name": "format", "in": "query", "required": True,
        "schema": {"type": "string", "enum": [f for f in FORMATS if f != "html"]},
        "description": ("json: one page of the list, as below. csv: every matching row (not one page), "
                        "UTF-8 with a byte-order mark. Without format the address is the HTML page."),
    }]
    for name, flt in view_class.filterset_class.base_filters.items():
        parameters.append({
            "name": name, "in": "query", "required": False,
            "schema": filter_schema(flt), "description": filter_description(name, flt),
        })
    parameters += [
        {"name": "page", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "default": 1},
         "description": "The page (json); a page past the last is a 400. Follow next rather than counting."},
        {"name": "after", "in": "query", "required": False,
         "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]*$"},
         "description": ("A cursor (opaque): the records after the one it names, in the same sort and filters, "
                         "as fast at the 2,000th page as at the second. next carries it; a cursor this list did "
                         "not make, or one of another sort, is a 400. Not used with format=csv (all rows).")},
        {"name": "per_page", "in": "query", "required": False,
         "schema": {"type": "integer", "minimum": 1, "maximum": view_class.max_per_page,
                    "default": view_class.paginate_by},
         "description": "Records per page (json)."},
    ]
    return parameters


# ---------------------------------------------------------------------------
# The document


def list_operation_id(record_type) -> str:
    return f"list_{record_type.key}"


def detail_operation_id(record_type) -> str:
    return f"get_{record_type.model_class._meta.model_name}"


def schema_name(record_type) -> str:
    return record_type.model_class.__name__


def list_view_class(record_type):
    return resolve(reverse(record_type.list_url)).func.view_class


def detail_path(record_type) -> str:
    return reverse(record_type.detail_url, kwargs={"slug": SLUG_PLACEHOLDER}).replace(SLUG_PLACEHOLDER, "{slug}")


ERRORS = {
    "type": "object",
    "description": "What could not be understood: each parameter with its messages, in the page's language.",
    "properties": {
        "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
    },
    "required": ["errors"],
    "additionalProperties": False,
}


def envelope(name) -> dict:
    page_link = {"type": ["string", "null"], "format": "uri"}
    return {
        "type": "object",
        "description": "One page of a list.",
        "properties": {
            "count": {"type": "integer", "minimum": 0, "description": "How many records match, on every page."},
            "next": {**page_link, "description": ("The next page's address (null on the last page): the same query "
                                                   "with after=, a cursor past this page's last record.")},
            "previous": {**page_link, "description": "The previous page's address (null on the first page)."},
            "results": {"type": "array", "items": {"$ref": f"#/components/schemas/{name}"}},
        },
        "required": ["count", "next", "previous", "results"],
        "additionalProperties": False,
    }


def error_response(description) -> dict:
    return {
        "description": description,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Errors"}},
            "text/plain": {"schema": {"type": "string"}},
        },
    }


DESCRIPTION = """\
The public records of the Rural Programs Tracker as JSON (and CSV).

Every list answers `?format=json` with one page, `{"count", "next", "previous", "results"}`: follow `next` \
until it is null to read a whole list. `?format=csv` gives every matching row at once. Filters take slugs \
and combine with AND; an unknown parameter is ignored; a value that cannot be understood is a 400 naming \
the parameter. Every detail page answers `?format=json` with the same object as its row in the list.

Every value of a record is text, as in the CSV: exact decimals (never floats), dates with their precision \
(`2019`, `2019-06`, `2019-06-26`), `""` when not known, lists of slugs separated by `|`."""


def build_openapi(server_url: str = "") -> dict:
    """The OpenAPI 3.1 document of every public list and detail; ``server_url``: the site's root
    (``https://example.org``), or empty for paths relative to wherever the document is served."""
    record_types = registry.public_lists()
    public_models = {t.model: t for t in record_types}
    paths, schemas = {}, {}
    for record_type in record_types:
        view_class = list_view_class(record_type)
        name = schema_name(record_type)
        label = english(record_type.label)
        schemas[name] = record_schema(record_type)
        schemas[f"{name}List"] = envelope(name)
        paths[reverse(record_type.list_url)] = {"get": {
            "operationId": list_operation_id(record_type),
            "tags": [record_type.key],
            "summary": f"{label}: the list, filtered, sorted and paged",
            "parameters": list_parameters(view_class),
            "responses": {
                "200": {
                    "description": f"One page of {label.lower()} (json) or all of them (csv).",
                    "content": {
                        "application/json": {"schema": {"$ref": f"#/components/schemas/{name}List"}},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                "400": error_response("A parameter could not be understood (json: as below; csv: plain text)."),
            },
        }}
        detail = {
            "description": f"One {english(record_type.model_class._meta.verbose_name)}.",
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
        links = detail_links(record_type, public_models)
        if links:
            detail["links"] = links
        paths[detail_path(record_type)] = {"get": {
            "operationId": detail_operation_id(record_type),
            "tags": [record_type.key],
            "summary": f"{label}: one record",
            "parameters": [
                {"name": "slug", "in": "path", "required": True,
                 "schema": {"type": "string", "pattern": pattern(SLUG, False)},
                 "description": "The record's slug (the slug column of its row in the list)."},
                {"name": "format", "in": "query", "required": True, "schema": {"type": "string", "enum": ["json"]},
                 "description": "json: the record (without format the address is the HTML page)."},
            ],
            "responses": {
                "200": detail,
                "400": {"description": "An unknown format.",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Errors"}}}},
                "404": {"description": "No public record has this slug (an HTML page)."},
            },
        }}
    schemas["Errors"] = ERRORS
    document = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "Rural Programs Tracker",
            "version": API_VERSION,
            "description": DESCRIPTION,
        },
        "paths": paths,
        "components": {"schemas": schemas},
        "tags": [{"name": t.key, "description": english(t.label)} for t in record_types],
    }
    if server_url:
        document["servers"] = [{"url": server_url.rstrip("/")}]
    return document

