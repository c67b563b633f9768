"""``/data/``: the whole database as one zip of CSV files with a Frictionless ``datapackage.json``.

One file per record type of :mod:`core.registry` (``<key>.csv``, the same columns as the list's CSV and the
backup: the type's Resource), and a `Frictionless Data <https://specs.frictionlessdata.io/>`_ tabular data
package describing each: its fields and their types, the primary key (``slug``) and the foreign keys. All of
it is derived from the registry and the Resources' widgets, never kept by hand:

============================  ===============================================================================
widget (core.importing)       Table Schema field
============================  ===============================================================================
``KeyWidget`` (``slug``)      ``string``, required, unique, the slug pattern; the primary key
``SlugForeignKeyWidget``      ``string`` (a slug) and a foreign key to ``slug`` of the type it names
                              (``""``: the same file, for a parent or a successor)
``SlugManyToManyWidget``      ``string``: slugs joined by ``|`` (pattern); Table Schema has no foreign key
                              for a list, so the referenced file is named in the description
``PartialDateWidget``         ``string`` with the pattern ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``: a date
                              keeps its precision (2019 is the year, not 2019-01-01), which no single date
                              type of Table Schema can hold
``DecimalTextWidget``         ``number`` (exact decimal text, never a float's rounding)
``IntegerTextWidget``         ``integer`` (``version``, an envoy's year joined)
``ChoiceWidget``              ``string`` with an ``enum`` of the codes
anything else                 ``string`` (``aliases``: ``|``-separated)
============================  ===============================================================================

Empty cells are missing values (``missingValues: [""]``). The files are plain UTF-8 without a byte-order mark
(tools, not spreadsheets, read a package), with the lists' formula escaping: text that begins with ``=``, ``+``,
``-``, ``@``, a tab or a carriage return has a ``'`` before it.

The zip is built for each download, in a temporary file (it is spooled to disk past ``SPOOL_BYTES``), from one
snapshot of the database (``REPEATABLE READ`` on PostgreSQL, so the foreign keys of every file agree), and takes
one of the ``EXPORT_CONCURRENCY`` export slots while it is built.
"""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile

from django.core.exceptions import FieldDoesNotExist
from django.db import connection
from django.http import FileResponse, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_safe

from core import registry
from core.csvexport import export_rows
from core.importing import (
    ChoiceWidget,
    DecimalTextWidget,
    IntegerTextWidget,
    KeyWidget,
    PartialDateWidget,
    SlugForeignKeyWidget,
    SlugManyToManyWidget,
)
from core.middleware import export_limiter, too_many_exports_response
from core.records import SLUG_RE
from core.sqlite import read_snapshot

PACKAGE_NAME = "rural-programs-tracker"
DESCRIPTOR = "datapackage.json"
SPOOL_BYTES = 16 * 1024 * 1024
# Table Schema patterns are XML Schema regular expressions: anchored, and without (?: groups.
SLUG_PATTERN = SLUG_RE.pattern.removeprefix("^").removesuffix("$").replace("(?:", "(")
SLUG_LIST_PATTERN = f"{SLUG_PATTERN}(\\|{SLUG_PATTERN})*"
PARTIAL_DATE_PATTERN = r"[0-9]{4}(-[0-9]{2}(-[0-9]{2})?)?"


def file_name(record_type) -> str:
    return f"{record_type.key}.csv"


def type_of_model(model):
    """The registry's record type of ``model``, or None."""
    return next((t for t in registry.record_types() if t.model_class is model), None)


def model_field(model, attribute):
    try:
        return model._meta.get_field(attribute)
    except FieldDoesNotExist:  # a column that is no model field of its own
        return None


def describe_field(record_type, column) -> tuple[dict, dict | None]:
    """The Table Schema field of one export column, and its foreign key (or None)."""
    model, widget = record_type.model_class, column.widget
    name = column.column_name
    described = {"name": name, "type": "string"}
    found = model_field(model, column.attribute)
    if found is not None and getattr(found, "verbose_name", None):
        described["title"] = str(found.verbose_name)
    foreign_key = None
    if isinstance(widget, KeyWidget):
        described["constraints"] = {"required": True, "unique": True, "pattern": SLUG_PATTERN}
    elif isinstance(widget, SlugForeignKeyWidget):
        described["constraints"] = {"pattern": SLUG_PATTERN}
        target = type_of_model(widget.model)
        if target is not None:
            described["description"] = _("The slug of a row of %(file)s.") % {"file": file_name(target)}
            foreign_key = {"fields": name, "reference": {
                "resource": "" if target is record_type else target.key, "fields": "slug"}}
    elif isinstance(widget, SlugManyToManyWidget):
        described["constraints"] = {"pattern": SLUG_LIST_PATTERN}
        target = type_of_model(widget.model)
        if target is not None:
            described["description"] = _("Slugs of rows of %(file)s, separated by |.") % {"file": file_name(target)}
    elif isinstance(widget, PartialDateWidget):
        described["constraints"] = {"pattern": PARTIAL_DATE_PATTERN}
        described["description"] = _("A date with its precision: YYYY, YYYY-MM or YYYY-MM-DD.")
    elif isinstance(widget, DecimalTextWidget):
        described["type"] = "number"
    elif isinstance(widget, IntegerTextWidget):
        described["type"] = "integer"
    elif isinstance(widget, ChoiceWidget):
        described["constraints"] = {"enum": list(widget.codes)}
    return described, foreign_key


def describe_resource(record_type) -> dict:
    """The data package's entry of one record type's file."""
    resource = record_type.resource_class()
    fields, foreign_keys = [], []
    for column in resource.get_export_fields():
        described, foreign_key = describe_field(record_type, column)
        fields.append(described)
        if foreign_key is not None:
            foreign_keys.append(foreign_key)
    schema = {"fields": fields, "primaryKey": ["slug"], "missingValues": [""]}
    if foreign_keys:
        schema["foreignKeys"] = foreign_keys
    meta = record_type.model_class._meta
    return {
        "name": record_type.key,
        "path": file_name(record_type),
        "title": str(meta.verbose_name_plural),
        "profile": "tabular-data-resource",
        "format": "csv",
        "mediatype": "text/csv",
        "encoding": "utf-8",
        "dialect": {"delimiter": ",", "quoteChar": '"', "doubleQuote": True, "header": True},
        "schema": schema,
    }


def describe_package(home_url: str = "") -> dict:
    """The whole ``datapackage.json``: every record type of the registry, in load order."""
    package = {
        "profile": "tabular-data-package",
        "name": PACKAGE_NAME,
        "title": _("Rural Programs Tracker"),
        "description": _(
            "The company's rural programs as the press reported them: funds, programs, counties, envoys and every "
            "figure with the sentence it comes from. One CSV file per record type; rows refer to each other by "
            "slug. Text that begins with =, +, -, @, a tab or a carriage return has a ' before it, so that a "
            "spreadsheet never runs it as a formula."
        ),
        "created": timezone.now().isoformat(timespec="seconds"),
        "resources": [describe_resource(t) for t in registry.record_types()],
    }
    if home_url:
        package["homepage"] = home_url
    return package


def write_csv(target, record_type) -> int:
    """One record type's rows (ordered by slug) in its Resource's columns into the open text file ``target``;
    returns the number of rows. Written by core.csvexport.export_rows, a chunk of records at a time, so memory
    does not grow with them."""
    resource_class = record_type.resource_class
    writer = csv.writer(target, lineterminator="\r\n")
    writer.writerow(resource_class().get_export_headers())
    count = 0
    for row in export_rows(resource_class, record_type.model_class._base_manager.order_by("slug")):
        writer.writerow(row)
        count += 1
    return count


def write_package(output, home_url: str = "") -> dict:
    """The zip of every record type's CSV and ``datapackage.json`` into the binary file ``output``; returns
    the descriptor. All files come from one snapshot of the database."""
    package = describe_package(home_url)
    snapshot = connection.vendor == "postgresql" and not connection.in_atomic_block
    # A read snapshot: on SQLite a DEFERRED transaction, so the zip holds no write lock while it is built.
    with zipfile.ZipFile(output, "w", compression=zipfile.ZIP_DEFLATED) as archive, read_snapshot():
        if snapshot:  # the first statement of the transaction (inside an outer one it is too late)
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        for record_type in registry.record_types():
            with archive.open(file_name(record_type), "w") as raw, io.TextIOWrapper(
                    raw, encoding="utf-8", newline="") as text:
                write_csv(text, record_type)
        archive.writestr(DESCRIPTOR, json.dumps(package, ensure_ascii=False, indent=2) + "\n")
    return package


def zip_name() -> str:
    return f"{PACKAGE_NAME}-{timezone.localdate():%Y-%m-%d}.zip"


@require_safe
def data_package(request):
    """The zip, as a download. A HEAD gets the headers alone (nothing is built)."""
    if request.method == "HEAD":
        response = HttpResponse(content_type="application/zip")
        response["Content-Disposition"] = f'attachment; filename="{zip_name()}"'
        return response
    release = export_limiter().acquire()
    if release is None:
        return too_many_exports_response()
    try:
        # Closed by the FileResponse once it is sent.
        output = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        write_package(output, home_url=request.build_absolute_uri(reverse("home")))
        output.seek(0)
    finally:
        release()
    return FileResponse(output, as_attachment=True, filename=zip_name(), content_type="application/zip")
