"""What every admin page shares: file formats that read Excel's encodings, the version check,
dates with precision in forms, and the base ModelAdmin every ``<app>/admin.py`` uses.

The import/export rules themselves (columns, keys, all or nothing) are in
:mod:`core.importing`; this module is the admin side of them.
"""

from __future__ import annotations

import copy
import csv
import hashlib
import io
import itertools
import json
import pickle
import re
import zipfile
import zlib
from collections import Counter
from decimal import Decimal

import tablib
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.models import LogEntry
from django.contrib.admin.utils import flatten
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache, caches
from django.core.cache.backends.db import DatabaseCache
from django.core.exceptions import BadRequest, FieldDoesNotExist, PermissionDenied, ValidationError
from django.db import DEFAULT_DB_ALIAS, connections, models, router
from django.http import HttpResponseRedirect, QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.datastructures import MultiValueDict
from django.utils.decorators import method_decorator
from django.utils.html import conditional_escape, escape
from django.utils.safestring import mark_safe
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from import_export.admin import ImportExportModelAdmin
from import_export.formats import base_formats
from import_export.forms import ImportForm, SelectableFieldsExportForm
from import_export.tmp_storages import CacheStorage
from simple_history.admin import SimpleHistoryAdmin

from core.importing import (
    PREVIEW_ROWS,
    DecimalTextWidget,
    KeptRecord,
    StaleRecordError,
    collection_paused,
    insert_values,
    save_if_unchanged,
    translate_message,
)
from core.records import Record, format_partial_date, parse_partial_date
from core.search import search
from core.sqlite import checkpoint_after_response

# ---------------------------------------------------------------------------
# Reading files: encodings, binary junk, line numbers, limits


class ImportFileError(ValueError):
    """The file cannot be read at all; the message says why, in words for the person importing."""


ENCODINGS = {"utf-8": "UTF-8", "gb18030": "GB18030/GBK"}
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffd]")
MB = 1024 * 1024

TOO_LARGE = _("The file is %(size)s MB; the limit is %(limit)s MB (IMPORT_MAX_FILE_MB). Split it into "
              "smaller files.")
TOO_LARGE_UNPACKED = _("The workbook unpacks to %(size)s MB; the limit is %(limit)s MB "
                       "(IMPORT_MAX_UNPACKED_MB). Keep only the sheet to import, or save it as CSV.")
TOO_MANY_ROWS = _("The file has more than %(limit)s rows below its header; the limit is %(limit)s "
                  "(IMPORT_MAX_ROWS; blank rows count, and so does each record of a JSON file). Split it "
                  "into smaller files.")
TOO_MANY_COLUMNS = _("The file has more than %(limit)s columns; the limit is %(limit)s (IMPORT_MAX_COLUMNS). "
                     "Keep only the columns of the export.")


def check_file_size(size: int) -> None:
    """Refuse a file of more than IMPORT_MAX_FILE_MB, before anything reads it."""
    limit = settings.IMPORT_MAX_FILE_MB
    if size > limit * MB:
        raise ImportFileError(TOO_LARGE % {"size": f"{size / MB:.1f}", "limit": limit})


def decode_text(data: bytes, encoding: str | None = None) -> str:
    """Bytes of a CSV or JSON file → text. ``encoding`` None: UTF-8 (with or without BOM), else GB18030.

    GB18030 is a superset of GBK and GB2312, which is what Excel on a Chinese Windows
    machine writes. A file that is neither, or that holds control bytes (a spreadsheet or
    an image picked by mistake), is refused with :class:`ImportFileError`.
    """
    if isinstance(data, str):
        text = data
    else:
        if data.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
            raise ImportFileError(_("This is a spreadsheet workbook, not a CSV file: choose the XLSX format."))
        candidates = [encoding] if encoding else ["utf-8", "gb18030"]
        text = None
        for candidate in candidates:
            try:
                text = data.decode("utf-8-sig" if candidate == "utf-8" else candidate)
                break
            except UnicodeDecodeError:
                continue
        if text is None:
            if encoding:
                raise ImportFileError(
                    _("The file is not valid %(encoding)s text. Choose another encoding or save the file "
                      "again as CSV UTF-8.") % {"encoding": ENCODINGS.get(encoding, encoding)}
                )
            raise ImportFileError(
                _("The file is not text in UTF-8 or GB18030/GBK, so it cannot be read as CSV. "
                  "Save it from Excel as “CSV UTF-8” (or choose the XLSX format for a workbook).")
            )
    text = text.lstrip("\ufeff")
    if CONTROL_CHARS.search(text):
        raise ImportFileError(
            _("The file holds binary data (control characters), not text; nothing was imported.")
        )
    return text


def control_char(value) -> str | None:
    """The first control character in a cell's value (text, or text anywhere inside a JSON list or
    object), or None. Checked on every value as read, so JSON's ``\\u0007`` escapes are caught too."""
    pending = [value]
    while pending:  # a loop, not recursion: a JSON value may be nested deeply
        item = pending.pop()
        if isinstance(item, str):
            found = CONTROL_CHARS.search(item)
            if found:
                return found.group()
        elif isinstance(item, dict):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, (list, tuple)):
            pending.extend(item)
    return None


def refuse_control_char(char: str, line, column: str):
    where = _("line %(line)s") % {"line": line} if isinstance(line, int) else (line or _("the header"))
    raise ImportFileError(
        _("%(where)s, column “%(column)s” holds a control character (U+%(code)04X), which is not text; "
          "nothing was imported.") % {"where": capfirst(where), "column": column, "code": ord(char)}
    )


def dataset_from_rows(rows, text_checked=False) -> tablib.Dataset:
    """A Dataset from ``(line, cells)`` pairs, the header first. ``line`` is where the row starts in the
    file (a number, or a label such as ``record 3``); the data rows' lines are kept as ``dataset.line_numbers``.

    ``rows`` is read one row at a time, and the file is refused at the first thing over a limit: a header
    of more than IMPORT_MAX_COLUMNS columns (before any row is padded to its width), more than
    IMPORT_MAX_ROWS rows below it, a filled cell beyond the header, a control character in any cell.
    Every check is linear in the size of the file. ``text_checked``: every cell is text (``str``) taken from a
    text that :func:`decode_text` found free of control characters (CSV), so no cell holds one.
    """
    max_rows, max_columns = settings.IMPORT_MAX_ROWS, settings.IMPORT_MAX_COLUMNS
    rows = iter(rows)
    first = next(rows, None)
    if first is None:
        raise ImportFileError(_("The file is empty: it needs a header row and at least one row."))
    header = ["" if h is None else str(h).strip() for h in first[1]]
    while header and not header[-1]:
        header.pop()
    if not any(header):
        raise ImportFileError(_("The first row must be the header (slug, name …); it is empty."))
    if len(header) > max_columns:
        raise ImportFileError(TOO_MANY_COLUMNS % {"limit": max_columns})
    duplicated = sorted(name for name, count in Counter(header).items() if name and count > 1)
    if duplicated:
        raise ImportFileError(_("The header repeats the column(s) %s.") % ", ".join(duplicated))
    for name in header:
        char = control_char(name)
        if char:
            refuse_control_char(char, first[0], name)
    width = len(header)
    search_control = CONTROL_CHARS.search
    dataset = tablib.Dataset(headers=header)
    kept_lines = []
    for count, (line, row) in enumerate(rows, 1):
        if count > max_rows:
            raise ImportFileError(TOO_MANY_ROWS % {"limit": max_rows})
        if (not any(row)) if text_checked else all(cell in (None, "") for cell in row):
            continue  # blank line
        cells = list(row)
        if len(cells) > width:
            if any(cell not in (None, "") for cell in cells[width:]):
                raise ImportFileError(
                    _("Line %(line)s has %(count)s cells but the header has %(width)s columns.")
                    % {"line": line, "count": len(cells), "width": width}
                )
            cells = cells[:width]
        for name, cell in zip(header, () if text_checked else cells, strict=False):  # short rows padded below
            if type(cell) is str:
                found = search_control(cell)
                char = found.group() if found else None
            else:
                char = control_char(cell)
            if char:
                refuse_control_char(char, line, name)
        cells += [""] * (width - len(cells))
        dataset.append(cells)
        kept_lines.append(line)
    dataset.line_numbers = kept_lines
    return dataset


def csv_rows(text: str):
    """``(line, cells)`` for each row of CSV text, read lazily; ``line`` counts multi-line cells."""
    reader = csv.reader(io.StringIO(text, newline=""))
    start = 1
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError(
                _("Line %(line)s cannot be read as CSV: %(error)s") % {"line": start, "error": exc}
            ) from None
        yield start, row
        start = reader.line_num + 1


def read_csv(text: str) -> tablib.Dataset:
    return dataset_from_rows(csv_rows(text))


class CSVImport(base_formats.CSV):
    """CSV read as bytes and decoded here, so the encoding can be detected or chosen."""

    ENCODING = None  # detect
    LABEL = "csv"

    def is_binary(self):
        return True  # kept as bytes in the temporary file; decoded in create_dataset

    def get_read_mode(self):
        return "rb"

    def get_title(self):
        return self.LABEL

    def create_dataset(self, in_stream, **kwargs):
        check_file_size(len(in_stream))
        # decode_text refuses a text with a control character anywhere: no cell needs looking at again.
        return dataset_from_rows(csv_rows(decode_text(in_stream, self.ENCODING)), text_checked=True)


class CSVImportUTF8(CSVImport):
    ENCODING = "utf-8"
    LABEL = "csv (UTF-8)"


class CSVImportGB18030(CSVImport):
    ENCODING = "gb18030"
    LABEL = "csv (GB18030/GBK)"


def not_a_workbook(exc) -> ImportFileError:
    return ImportFileError(
        _("This is not an XLSX workbook (%s). Choose the format that matches the file.") % type(exc).__name__
    )


def sheet_rows(sheet):
    """``(row number, values)`` for each row of a read-only sheet; a damaged sheet is an ImportFileError."""
    rows = sheet.iter_rows(values_only=True)
    for line in itertools.count(1):
        try:
            values = next(rows)
        except StopIteration:
            return
        except Exception as exc:  # openpyxl fails on a damaged sheet in many ways, all "not a workbook"
            raise not_a_workbook(exc) from None
        yield line, values


class XLSXImport(base_formats.XLSX):
    """The first sheet of a workbook; formula cells are read as their formula, never computed.

    The unpacked size of the workbook is checked (IMPORT_MAX_UNPACKED_MB) before openpyxl reads any of
    it; Python's zipfile never unpacks a member past the size the archive declares for it, so the sum
    of the declared sizes bounds what is read. Rows are read one at a time and not padded to the width
    the sheet claims."""

    def create_dataset(self, in_stream, **kwargs):
        import openpyxl

        check_file_size(len(in_stream))
        try:
            with zipfile.ZipFile(io.BytesIO(in_stream)) as archive:
                unpacked = sum(info.file_size for info in archive.infolist())
        except (zipfile.BadZipFile, OSError, ValueError) as exc:
            raise not_a_workbook(exc) from None
        limit = settings.IMPORT_MAX_UNPACKED_MB
        if unpacked > limit * MB:
            raise ImportFileError(TOO_LARGE_UNPACKED % {"size": f"{unpacked / MB:.1f}", "limit": limit})
        try:
            book = openpyxl.load_workbook(io.BytesIO(in_stream), read_only=True, data_only=False)
        except Exception as exc:  # a damaged workbook fails in openpyxl in many ways
            raise not_a_workbook(exc) from None
        try:
            sheet = book.active
            if not hasattr(sheet, "reset_dimensions"):
                raise ImportFileError(_("The first sheet of this workbook holds no table (a chart?)."))
            # The dimensions a sheet declares are not trusted: rows are as wide as their own cells.
            sheet.reset_dimensions()
            return dataset_from_rows(sheet_rows(sheet))
        finally:
            book.close()


class JSONImport(base_formats.JSON):
    """A list of objects, keys as column names (what the JSON export writes)."""

    def is_binary(self):
        return True

    def get_read_mode(self):
        return "rb"

    def create_dataset(self, in_stream, **kwargs):
        check_file_size(len(in_stream))
        text = decode_text(in_stream)
        max_rows, max_columns = settings.IMPORT_MAX_ROWS, settings.IMPORT_MAX_COLUMNS
        objects = 0

        def read_object(pairs):
            # Called for each object as it is parsed: the limits stop a file of many or wide objects early.
            nonlocal objects
            objects += 1
            if objects > max_rows:
                raise ImportFileError(TOO_MANY_ROWS % {"limit": max_rows})
            if len(pairs) > max_columns:
                raise ImportFileError(TOO_MANY_COLUMNS % {"limit": max_columns})
            return dict(pairs)

        try:
            data = json.loads(text, object_pairs_hook=read_object)
        except json.JSONDecodeError as exc:
            raise ImportFileError(_("The file is not valid JSON: %s") % exc) from None
        except RecursionError:
            raise ImportFileError(_("The JSON file is nested too deeply to be a list of records.")) from None
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            raise ImportFileError(_("The JSON file must be a list of objects, one per record."))
        header = {}  # every key, in the order first seen (a dict: linear, however many keys)
        for item in data:
            header.update(dict.fromkeys(item))
            if len(header) > max_columns:
                raise ImportFileError(TOO_MANY_COLUMNS % {"limit": max_columns})
        header = list(header)
        rows = ((f"record {n}", [item.get(key, "") for key in header]) for n, item in enumerate(data, 1))
        return dataset_from_rows(itertools.chain([(None, header)], rows))


class CSVExport(base_formats.CSV):
    """CSV starting with a UTF-8 byte-order mark, so Excel shows Chinese correctly."""

    def export_data(self, dataset, **kwargs):
        return "\ufeff" + dataset.export("csv", **kwargs)


IMPORT_FORMATS = [CSVImport, CSVImportUTF8, CSVImportGB18030, XLSXImport, JSONImport]
EXPORT_FORMATS = [CSVExport, base_formats.XLSX, base_formats.JSON]


# ---------------------------------------------------------------------------
# The uploaded file, from the preview to the confirm

UPLOAD_GONE = _("The upload expired or was already imported: upload the file again.")


class UploadStorage(CacheStorage):
    """Where an upload waits between its preview and its confirm: the shared (database) cache, an hour
    at most. RecordAdmin deletes it as soon as its preview fails or it is imported."""

    CACHE_LIFETIME = 3600

    def save(self, data):
        delete_expired_uploads()
        super().save(data)

    def remove(self) -> bool:
        """Delete the upload; True when this call deleted it (of two confirms of one upload, one gets True)."""
        return cache.delete(self.CACHE_PREFIX + self.name)


def delete_expired_uploads():
    """Delete every upload whose hour is over. The database cache only drops an expired row when that
    key is read again or when the table is full, so abandoned uploads would otherwise stay."""
    backend = caches["default"]
    if not isinstance(backend, DatabaseCache):
        return  # other cache backends drop expired entries themselves
    connection = connections[router.db_for_write(backend.cache_model_class)]
    table = connection.ops.quote_name(backend._table)
    now = connection.ops.adapt_datetimefield_value(timezone.now().replace(microsecond=0))
    with connection.cursor() as cursor:
        for prefix in (UploadStorage.CACHE_PREFIX, KeptRows.CACHE_PREFIX):
            cursor.execute(
                f"DELETE FROM {table} WHERE cache_key LIKE %s AND expires < %s",
                [backend.make_key(prefix) + "%", now],
            )


class KeptRows:
    """The rows a preview checked (core.importing.RecordResource.kept_rows), kept beside their upload for its
    confirm: in the same cache, for the same hour, under the upload's name, with what ties them to it (the
    file's sha256, the user, the resource and the format). They live only on the server: the confirm form names
    the upload, never the rows. :meth:`take` hands them out once, and only when all of that matches."""

    CACHE_PREFIX = "import-kept-rows-"  # swept with the uploads (delete_expired_uploads)

    @classmethod
    def key(cls, name) -> str:
        return cls.CACHE_PREFIX + str(name)

    @staticmethod
    def ties(data, user, model, resource, file_format) -> dict:
        return {"sha256": hashlib.sha256(data).hexdigest(), "user": getattr(user, "pk", None),
                "model": model._meta.label, "resource": str(resource or "0"), "format": str(file_format)}

    @classmethod
    def save(cls, name, ties, rows) -> None:
        packed = zlib.compress(pickle.dumps((ties, rows), protocol=pickle.HIGHEST_PROTOCOL), 1)
        cache.set(cls.key(name), packed, UploadStorage.CACHE_LIFETIME)

    @classmethod
    def take(cls, name, ties):
        """The rows kept for this upload when ``ties`` match those they were kept with, else None; gone after."""
        key = cls.key(name)
        packed = cache.get(key)
        cache.delete(key)
        if packed is None:
            return None
        try:
            kept_ties, rows = pickle.loads(zlib.decompress(packed))
        except Exception:  # a damaged entry is no entry: the rows are checked again
            return None
        return rows if kept_ties == ties and ties["user"] is not None else None

    @classmethod
    def remove(cls, name) -> None:
        cache.delete(cls.key(name))


IMPORT_TYPES = {"new": _("New"), "skip": _("Skipped"), "delete": _("Delete"), "update": _("Update")}


def preview_rows(rows, limit=PREVIEW_ROWS) -> str:
    """The first ``limit`` rows of an import's preview as table rows: each row's kind, then its cells
    (import-export's diff, HTML already). Written here rather than by a template loop (10,000 rows took
    seconds); the page says how many more there are (:func:`preview_context`)."""
    labels = {kind: escape(label) for kind, label in IMPORT_TYPES.items()}
    lines = []
    for row in itertools.islice(rows, limit):
        kind = row.import_type
        cells = "".join(f'<td translate="no">{conditional_escape(cell)}</td>' for cell in row.diff or ())
        lines.append(f'<tr class="{escape(kind)}"><td class="import-type">{labels.get(kind) or escape(kind)}</td>'
                     f"{cells}</tr>")
    return mark_safe("\n".join(lines))


def preview_context(result) -> dict:
    """What the import page shows of a checked file: the first PREVIEW_ROWS rows, how many are not shown,
    and the counts of each kind (every problem is listed by the page whatever the number)."""
    rows = result.valid_rows()
    return {"preview_rows": preview_rows(rows), "preview_more": max(0, len(rows) - PREVIEW_ROWS),
            "preview_counts": {"new": result.totals.get("new", 0), "update": result.totals.get("update", 0),
                               "skip": result.totals.get("skip", 0),
                               "problems": len(getattr(result, "problems", None) or ())}}


class ImportUploadForm(ImportForm):
    """import-export's upload form; a file over IMPORT_MAX_FILE_MB is refused before it is read or kept."""

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        try:
            check_file_size(upload.size)
        except ImportFileError as exc:
            raise ValidationError(str(exc), code="too_large") from None
        return upload


# ---------------------------------------------------------------------------
# Forms: the version the form was loaded with, and dates with their precision


STALE_MESSAGE = _(
    "Someone else changed this record since you opened it (you opened version %(loaded)s; it is now "
    "version %(current)s). Nothing was saved. Open the record again to see their changes, then "
    "make yours."
)

NO_VERSION_MESSAGE = _(
    "This form does not say which version of the record it was opened at, so saving it could "
    "overwrite someone else's change. Nothing was saved. Open the record again, then make your change."
)


def precision_pairs(model) -> list[str]:
    """Names of the date fields that keep a precision beside them (``start`` ↔ ``start_precision``)."""
    names = {f.name for f in model._meta.get_fields()}
    return [
        f.name for f in model._meta.get_fields()
        if isinstance(f, models.DateField) and f"{f.name}_precision" in names
    ]


class PartialDateFormField(forms.CharField):
    """``2019``, ``2019-06`` or ``2019-06-26`` in one box; cleans to ``(date, precision)``."""

    def __init__(self, **kwargs):
        kwargs.setdefault("help_text", _("YYYY, YYYY-MM or YYYY-MM-DD: write only what is known."))
        kwargs["max_length"] = 10
        kwargs.pop("widget", None)
        super().__init__(widget=forms.TextInput(attrs={"size": 10, "placeholder": "YYYY-MM-DD"}), **kwargs)

    def clean(self, value):
        text = super().clean(value)
        try:
            return parse_partial_date(text)
        except ValueError as exc:
            raise ValidationError(translate_message(exc), code="invalid") from None


class RecordForm(forms.ModelForm):
    """ModelForm for every record: carries the version it was loaded with, and partial dates."""

    loaded_version = forms.IntegerField(label=_("Version when opened"), widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in precision_pairs(self._meta.model):
            if name in self.fields:
                self.initial[name] = format_partial_date(
                    getattr(self.instance, name), getattr(self.instance, f"{name}_precision", "")
                )
        for name, field in self.fields.items():
            value = getattr(self.instance, name, None) if isinstance(field, forms.DecimalField) else None
            if isinstance(value, Decimal):
                self.initial[name] = Decimal(exact(value))  # 3000, not 3000.0000
        if "loaded_version" in self.fields:
            if self.instance.pk and isinstance(self.instance, Record):
                self.fields["loaded_version"].initial = self.instance.version
            else:
                self.fields["loaded_version"].initial = None

    def clean(self):
        cleaned = super().clean()
        for name in precision_pairs(self._meta.model):
            value = cleaned.get(name)
            if isinstance(value, tuple):
                cleaned[name], precision = value
                setattr(self.instance, f"{name}_precision", precision)
        if self.instance.pk and isinstance(self.instance, Record):
            loaded = cleaned.get("loaded_version")
            if loaded is None:  # a form that does not say what it was opened at may overwrite anything
                raise ValidationError(NO_VERSION_MESSAGE, code="stale")
            if loaded != self.instance.version:
                raise ValidationError(
                    STALE_MESSAGE % {"loaded": loaded, "current": self.instance.version}, code="stale"
                )
        return cleaned


class PartialDateAdminMixin:
    """Admin and inline pieces: one text box per partial date, no separate precision field."""

    form = RecordForm

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.DateField) and db_field.name in precision_pairs(db_field.model):
            return PartialDateFormField(label=capfirst(db_field.verbose_name), required=not db_field.blank)
        if isinstance(db_field, models.URLField):
            kwargs.setdefault("assume_scheme", "https")
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if issubclass(self.model, Record) and "loaded_version" not in flatten(fields):
            fields.append("loaded_version")  # hidden: the version this form was opened at
        return fields

    def get_exclude(self, request, obj=None):
        exclude = list(super().get_exclude(request, obj) or [])
        return exclude + [f"{name}_precision" for name in precision_pairs(self.model)]


def exact(value) -> str:
    """A Decimal as staff read it: ``3000``, not ``3000.0000``."""
    return DecimalTextWidget().render(value)


def save_record(form, obj):
    """Save one record from a form: a conditional update on the version it was loaded with."""
    loaded = form.cleaned_data.get("loaded_version") if hasattr(form, "cleaned_data") else None
    if obj.pk and isinstance(obj, Record) and loaded is not None and not obj._state.adding:
        save_if_unchanged(obj, expected_version=loaded)
    else:
        obj.save()


# ---------------------------------------------------------------------------
# The export form


class ExportFieldsForm(SelectableFieldsExportForm):
    """import-export's export form, its column boxes named in the page's language: the field's verbose name,
    then the file's column (``名称 (name)``), instead of the column title-cased in English (``Name``)."""

    def _get_field_label(self, resource, field_name: str) -> str:
        field = resource.fields.get(field_name)
        column = field.column_name if field else field_name
        model = resource._meta.model
        attribute = (field.attribute if field else None) or field_name
        try:
            model_field = model._meta.get_field(attribute.split("__")[0])
        except FieldDoesNotExist:  # not a model field: the column alone
            return column
        verbose = getattr(model_field, "verbose_name", None)
        if verbose is None:  # a reverse relation (a county's designations): the related rows' name
            verbose = model_field.related_model._meta.verbose_name_plural
        return f"{capfirst(verbose)} ({column})"


# ---------------------------------------------------------------------------
# The admin site's name (its colours: templates/admin/base_site.html, static/css/admin-site.css)

SITE_NAME = _("Rural Programs Tracker")


def brand_admin_site(site=None) -> None:
    """Name the admin after the site instead of "Django administration"; called by CoreConfig.ready()."""
    site = site or admin.site
    site.site_header = SITE_NAME
    site.site_title = SITE_NAME
    site.index_title = _("Records, imports and staff")


# ---------------------------------------------------------------------------
# The base admin


def refuse_writes(request):
    """History pages only show: any method but GET and HEAD is refused (403), whoever asks."""
    if request.method not in ("GET", "HEAD"):
        raise PermissionDenied


class RecordInlineMixin(PartialDateAdminMixin):
    extra = 0
    show_change_link = True


class RecordTabularInline(RecordInlineMixin, admin.TabularInline):
    pass


class RecordStackedInline(RecordInlineMixin, admin.StackedInline):
    pass


class RecordAdmin(PartialDateAdminMixin, ImportExportModelAdmin, SimpleHistoryAdmin):
    """Base for every record's admin: import/export with the shared Resource, history,
    facet counts, the version check on save, and search that also matches traditional script
    and pinyin through ``search_text``."""

    show_facets = admin.ShowFacets.ALWAYS
    import_formats = IMPORT_FORMATS
    export_formats = EXPORT_FORMATS
    import_template_name = "admin/import_tools/import.html"
    export_form_class = ExportFieldsForm
    import_error_display = ("message",)
    to_encoding = "utf-8"
    list_per_page = 50
    readonly_fields = ("version", "created_at", "updated_at")
    #: many-to-many fields edited through an inline of their through model instead of the form
    m2m_inlines: dict = {}

    # -- search ------------------------------------------------------------

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        term = search_term.strip()
        if term and hasattr(self.model, "SEARCH_FIELDS"):
            results = results | search(queryset, term)
        return results, may_have_duplicates

    # -- saving with the version check --------------------------------------

    def save_model(self, request, obj, form, change):
        obj._history_user = request.user
        if change and not form.has_changed():
            return  # nothing to write; the version stays
        save_record(form, obj)

    def save_formset(self, request, form, formset, change):
        through = self.m2m_inlines.get(formset.model)
        if through:
            # Set the links through the manager so the change is one many-to-many change,
            # which the record's history keeps.
            target = through
            formset.save(commit=False)  # fills new/changed/deleted_objects for the change message
            wanted = [
                f.cleaned_data[target] for f in formset.forms
                if f.cleaned_data and not f.cleaned_data.get("DELETE") and f.cleaned_data.get(target)
            ]
            getattr(form.instance, self._m2m_name(formset.model)).set(wanted)
            return
        instances = formset.save(commit=False)
        for obj in formset.deleted_objects:
            obj.delete()
        forms_by_instance = {id(f.instance): f for f in formset.forms}
        for obj in instances:
            save_record(forms_by_instance.get(id(obj)), obj)
        formset.save_m2m()

    def _m2m_name(self, through):
        for field in self.model._meta.many_to_many:
            if field.remote_field.through is through:
                return field.name
        raise LookupError(through)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except StaleRecordError:
            # Lost the race between the form's check and the save: the transaction was rolled
            # back, so nothing was written.
            messages.error(request, _("Someone else changed this record since you opened it. Nothing was saved; "
                                      "here it is as it is now."))
            return HttpResponseRedirect(request.path)

    # -- history: read-only ------------------------------------------------

    def history_view(self, request, object_id, extra_context=None):
        refuse_writes(request)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        # django-simple-history saves any valid POST to this page after checking only the view
        # permission, and through a form loaded from the old version (so the version check
        # compares the old version with itself). Reverting is done by editing the record.
        refuse_writes(request)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None):
        return True  # no Revert button: the page would refuse the POST anyway

    # -- import -------------------------------------------------------------

    import_form_class = ImportUploadForm

    def upload_storage(self, input_format, name=None):
        return self.get_tmp_storage_class()(
            name=name, read_mode=input_format.get_read_mode(), **self.get_tmp_storage_class_kwargs()
        )

    def write_to_tmp_storage(self, import_file, input_format):
        # One join, where import-export adds chunk after chunk (a copy of the file so far for each).
        storage = self.upload_storage(input_format)
        data = b"".join(import_file.chunks())
        storage.save(data)
        import_file.upload_data = data  # for the ties of the rows its preview keeps (KeptRows)
        return storage

    def import_action(self, request, **kwargs):
        # The upload is kept only for its confirm: when the preview refuses the file (or fails), it goes.
        keep = False
        upload = request.FILES.get("import_file")
        try:
            # The file read, checked and kept (core.importing.collection_paused); the upload and its rows kept in
            # the database cache are not checkpointed before the page goes out (core.sqlite).
            with collection_paused(), checkpoint_after_response(router.db_for_write(self.model), DEFAULT_DB_ALIAS):
                response = super().import_action(request, **kwargs)
                context = getattr(response, "context_data", None) or {}
                keep = bool(context.get("confirm_form"))
                result = context.get("result")
                if result is not None:
                    context.update(preview_context(result))
                kept = getattr(result, "kept", None)
                if keep and kept is not None and getattr(upload, "upload_data", None) is not None:
                    form = context["confirm_form"].initial
                    KeptRows.save(upload.tmp_storage_name, KeptRows.ties(
                        upload.upload_data, request.user, self.model, form.get("resource"), form.get("format")), kept)
            return response
        finally:
            name = getattr(upload, "tmp_storage_name", None)
            if name and not keep:
                self.get_tmp_storage_class()(name=name).remove()
                KeptRows.remove(name)

    @method_decorator(require_POST)
    def process_import(self, request, **kwargs):
        """The confirm step. An upload that expired, was imported already or never existed sends the editor
        back to the import page with a message; a confirm form that the preview did not write is a 400."""
        if not self.has_import_permission(request):
            raise PermissionDenied
        confirm_form = self.create_confirm_form(request)
        if not confirm_form.is_valid():
            raise BadRequest("incomplete confirm form")
        formats = self.get_import_formats()
        try:
            input_format = formats[self._index(confirm_form.cleaned_data["format"], len(formats))]()
            resources = self.get_import_resource_classes(request)
            self._index(confirm_form.cleaned_data.get("resource") or "0", len(resources))
        except ValueError:
            raise BadRequest("unknown import format or resource") from None
        name = confirm_form.cleaned_data["import_file_name"]
        storage = self.upload_storage(input_format, name=name)
        data = storage.read()
        # Taken out of the cache before it is imported: a second confirm of the same upload finds nothing.
        if data is None or storage.remove() is False:
            KeptRows.remove(name)
            return self._back_to_import(request, UPLOAD_GONE)
        # The kept rows read and written (core.importing.collection_paused), checkpointed after the answer.
        with collection_paused(), checkpoint_after_response(router.db_for_write(self.model), DEFAULT_DB_ALIAS):
            return self._confirm_upload(request, confirm_form, input_format, name, data, **kwargs)

    def _confirm_upload(self, request, confirm_form, input_format, name, data, **kwargs):
        # The rows the preview checked, when this user previewed this very file with this resource and format.
        kept = KeptRows.take(name, KeptRows.ties(data, request.user, self.model, confirm_form.cleaned_data.get(
            "resource"), confirm_form.cleaned_data["format"]))
        try:
            # Kept rows need no reading of the file; it is read when they cannot be used (load_dataset).
            dataset = None if kept is not None else input_format.create_dataset(data)
            result = self.process_dataset(dataset, confirm_form, request, kept=kept,
                                          load_dataset=lambda: input_format.create_dataset(data), **kwargs)
        except ImportFileError as exc:  # the format was changed after the preview
            return self._back_to_import(request, str(exc))
        if getattr(result, "problems", None):
            # The rows were checked again and something changed since the preview: nothing was written. The
            # import page lists every problem, as after a preview.
            page_request = copy.copy(request)
            page_request.method, page_request.POST, page_request._files = "GET", QueryDict(), MultiValueDict()
            response = self.import_action(page_request, **kwargs)
            response.context_data.update(result=result, **preview_context(result))
            return response
        return self.process_result(result, request)

    def _create_log_entry(self, user_pk, rows, import_type, action_flag):
        """The admin log of an import: one entry per written row, the columns Django's ``log_actions`` fills, in
        one statement of plain rows (its bulk_create splits SQLite inserts into batches of 999 parameters and
        makes a LogEntry per row)."""
        if len(rows) <= 1 and not any(isinstance(row, KeptRecord) for row in rows):
            return super()._create_log_entry(user_pk, rows, import_type, action_flag)
        content_type = ContentType.objects.get_for_model(self.model, for_concrete_model=False)
        message = f"{import_type} through import_export"  # as import-export writes it
        using = router.db_for_write(LogEntry)
        fields = [LogEntry._meta.get_field(name) for name in (
            "action_time", "user", "content_type", "object_id", "object_repr", "action_flag", "change_message")]
        when = fields[0].get_db_prep_save(timezone.now(), connections[using])
        insert_values(LogEntry, fields, [[when, user_pk, content_type.pk, str(obj.pk), str(obj)[:200], action_flag,
                                          message] for obj in rows], using)

    @staticmethod
    def _index(text: str, length: int) -> int:
        index = int(text)  # ValueError when not a number
        if not 0 <= index < length:
            raise ValueError(text)
        return index

    def _back_to_import(self, request, message):
        messages.error(request, message)
        return HttpResponseRedirect(
            reverse("admin:{}_{}_import".format(*self.get_model_info()), current_app=self.admin_site.name)
        )

    def add_data_read_fail_error_to_form(self, form, e):
        if isinstance(e, ImportFileError):
            form.add_error("import_file", str(e))
        else:
            super().add_data_read_fail_error_to_form(form, e)
